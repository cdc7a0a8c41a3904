//! The chat scenario under simulation, shared by `tests/sim_chat.rs` and the speed bench
//! (`examples/sim-chat-bench.rs`): a server host running the server's own code (`serve`),
//! a poster host, subscriber hosts that follow `/chat/events` and reconnect with
//! `Last-Event-ID`, and seeded partitions and crashes of subscribers.
#![allow(dead_code)]

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use solo::io::{AsyncReadExt, AsyncWriteExt};
use solo::net::{TcpListener, TcpStream};
use solo_server::Config;
use solo_sim::{Fault, Sim};

/// What one subscriber has seen: (id, text) of each message, over all its connections.
pub type Log = Rc<RefCell<Subscriber>>;

#[derive(Default, Debug)]
pub struct Subscriber {
    /// (id, text) of every message received.
    pub seen: Vec<(u64, String)>,
    /// Streams opened.
    pub connects: u32,
}

/// A chat scenario's knobs.
#[derive(Clone, Copy, Debug)]
pub struct Scenario {
    /// Subscriber hosts.
    pub subscribers: usize,
    /// Messages posted.
    pub messages: usize,
    /// Virtual time between two posts.
    pub interval: Duration,
    /// Partitions and crashes injected.
    pub faults: usize,
}

/// The scenario of the tests.
pub const SCENARIO: Scenario = Scenario {
    subscribers: 6,
    messages: 40,
    interval: Duration::from_millis(250),
    faults: 6,
};

/// A seeded generator for the faults' times (splitmix64).
pub fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Posts `text` to the chat over `stream` and waits for the `204`.
pub async fn post(stream: &mut TcpStream, text: &str) -> io::Result<()> {
    let req = format!(
        "POST /chat/send HTTP/1.1\r\nHost: chat\r\nContent-Type: text/plain\r\n\
         Content-Length: {}\r\n\r\n{text}",
        text.len()
    );
    stream.write_all(req.as_bytes()).await?;
    let head = read_head(stream, &mut Vec::new()).await?;
    assert!(head.starts_with("HTTP/1.1 204"), "post answered {head:?}");
    Ok(())
}

/// Reads a response head; what follows it stays in `rest`.
async fn read_head(stream: &mut TcpStream, rest: &mut Vec<u8>) -> io::Result<String> {
    let mut buf = Vec::new();
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            rest.extend_from_slice(&buf[end + 4..]);
            return Ok(String::from_utf8_lossy(&buf[..end]).into_owned());
        }
        let mut chunk = [0; 1024];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// One connection to `/chat/events` of `server:80`: appends each message to `log` until the
/// stream ends.
async fn subscribe(log: &Log) -> io::Result<()> {
    subscribe_to("server:80", log).await
}

/// One connection to `/chat/events` of `addr` (with the `Last-Event-ID` of `log`'s last
/// message): appends each message to `log` until the stream ends.
pub async fn subscribe_to(addr: &str, log: &Log) -> io::Result<()> {
    let mut stream = TcpStream::connect(addr).await?;
    let last = log.borrow().seen.last().map(|(id, _)| *id);
    let last = last.map_or(String::new(), |id| format!("Last-Event-ID: {id}\r\n"));
    let req = format!("GET /chat/events HTTP/1.1\r\nHost: chat\r\n{last}\r\n");
    stream.write_all(req.as_bytes()).await?;
    let mut pending = Vec::new();
    let head = read_head(&mut stream, &mut pending).await?;
    assert!(
        head.starts_with("HTTP/1.1 200"),
        "subscribe answered {head:?}"
    );
    log.borrow_mut().connects += 1;
    loop {
        // Each event ends with a blank line.
        while let Some(end) = pending.windows(2).position(|w| w == b"\n\n") {
            let event = String::from_utf8(pending[..end].to_vec()).unwrap();
            pending.drain(..end + 2);
            let (mut id, mut data, mut name) = (None, None, None);
            for line in event.lines() {
                if let Some(v) = line.strip_prefix("id: ") {
                    id = Some(v.parse::<u64>().unwrap());
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data = Some(v.to_string());
                } else if let Some(v) = line.strip_prefix("event: ") {
                    name = Some(v.to_string());
                }
            }
            assert_eq!(name, None, "an unexpected event: {event:?}");
            if let (Some(id), Some(data)) = (id, data) {
                log.borrow_mut().seen.push((id, data));
            }
        }
        let mut chunk = [0; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        pending.extend_from_slice(&chunk[..n]);
    }
}

/// What a run of the scenario gives.
#[derive(Debug)]
pub struct ChatRun {
    /// Each subscriber's log.
    pub logs: Vec<Subscriber>,
    /// The texts posted, in order.
    pub posted: Vec<String>,
    /// The trace hash.
    pub hash: u64,
    /// The virtual time the run took.
    pub now: Duration,
    /// The network's counters.
    pub net: solo_sim::NetStats,
    /// Tasks polled.
    pub steps: u64,
}

/// Runs the scenario under `seed`, until every subscriber has the last message (at most
/// 600 s of virtual time).
pub fn run_chat(seed: u64, scenario: Scenario) -> ChatRun {
    let mut sim = Sim::new(seed);
    sim.host("server", || async {
        let listener = TcpListener::bind("0.0.0.0:80").await.unwrap();
        let config = Config {
            quiet: true,
            ..Config::default()
        };
        solo_server::server::serve(config, listener).await.unwrap();
    });
    let logs: Vec<Log> = (0..scenario.subscribers).map(|_| Log::default()).collect();
    for (i, log) in logs.iter().enumerate() {
        let log = log.clone();
        sim.host(&format!("sub{i}"), move || {
            let log = log.clone();
            async move {
                loop {
                    // A refused or reset connection, or a stream that ended: again.
                    let _ = subscribe(&log).await;
                    solo::Timer::after(Duration::from_millis(100)).await;
                }
            }
        });
    }
    let posted: Vec<String> = (0..scenario.messages)
        .map(|i| format!("message {i}"))
        .collect();
    let texts = posted.clone();
    sim.host("poster", move || {
        let texts = texts.clone();
        async move {
            // Subscribers connect first.
            solo::Timer::after(Duration::from_secs(1)).await;
            let mut stream = TcpStream::connect("server:80").await.unwrap();
            for text in &texts {
                post(&mut stream, text).await.unwrap();
                solo::Timer::after(scenario.interval).await;
            }
        }
    });
    // Faults at seeded times while messages flow: partitions of a subscriber from the
    // server (up to 20 s: longer than the server's 15 s stall limit, so some streams end
    // and resume with Last-Event-ID) and crashes with a restart a little later.
    let mut rng = seed ^ 0x5EED;
    let span = scenario.interval.as_millis() as u64 * scenario.messages as u64;
    for _ in 0..scenario.faults {
        let who = format!("sub{}", splitmix(&mut rng) % scenario.subscribers as u64);
        let at = Duration::from_millis(1000 + splitmix(&mut rng) % span.max(1));
        let length = Duration::from_millis(500 + splitmix(&mut rng) % 20_000);
        if splitmix(&mut rng) % 2 == 0 {
            sim.at(at, Fault::Partition(who.clone(), "server".into()))
                .at(at + length, Fault::Heal(who, "server".into()));
        } else {
            sim.at(at, Fault::Crash(who.clone()))
                .at(at + length / 4, Fault::Restart(who));
        }
    }
    let last = posted.last().cloned().unwrap();
    let l = logs.clone();
    sim.run_until(Duration::from_secs(600), move |s| {
        s.is_finished("poster")
            && l.iter()
                .all(|log| log.borrow().seen.last().is_some_and(|(_, t)| *t == last))
    });
    let (hash, now, net, steps) = (sim.trace_hash(), sim.now(), sim.net_stats(), sim.steps());
    drop(sim);
    let logs = logs
        .iter()
        .map(|l| std::mem::take(&mut *l.borrow_mut()))
        .collect();
    ChatRun {
        logs,
        posted,
        hash,
        now,
        net,
        steps,
    }
}
