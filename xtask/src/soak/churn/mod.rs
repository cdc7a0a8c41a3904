//! The churn: one thread, raw edge-triggered epoll over the load generator's sockets
//! ([`net`](crate::bench::loadgen::net)), a few hundred connections at a time, each
//! playing one [`Scenario`] to its end and checking every byte it gets back.
//!
//! The population is topped up as connections finish: one chat poster per shard, a
//! wandering number of subscribers, and the rest drawn from a weighted mix (keep-alive,
//! pipelined, half-close, reset, open-and-close, slow, malformed), slow clients capped so
//! that they do not crowd the others out. At the end no new connection starts, the
//! subscribers catch up and leave, and every connection plays its scenario out; one that
//! makes no progress for its whole allowance is an error, so the drain is bounded.
//!
//! Three parts: `client.rs` (one connection's state machine: its scripted steps, or a chat
//! subscriber's or poster's role), `mix.rs` (which scenarios and requests, and the script
//! of each), and here the driver (the epoll loop, the population, the tally).

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::http::StaticFile;
use super::report::{Scenario, Tally};
use super::rng::Rng;
use crate::bench::loadgen::net::{Epoll, READ, Socket, WRITE, source_addr};
use crate::sys;

mod client;
mod mix;

use self::client::{Client, End, Poster, Role, Sub};
use self::mix::script;

/// Connections per source address (127.0.0.1, 127.0.0.2, ...): closing first leaves the
/// client's side in `TIME_WAIT`, so a long soak spreads its ports over many addresses.
const PER_SOURCE: usize = 1_000;
/// How long a connection may go without finishing its scenario (beyond its own pauses).
const ALLOWANCE: Duration = Duration::from_secs(30);
/// How long a leaving subscriber may wait for the messages posted before it left.
const CATCH_UP: Duration = Duration::from_secs(10);

/// What the churn needs to know.
#[derive(Debug, Clone)]
pub struct Config {
    /// The server.
    pub addr: SocketAddrV4,
    /// Its shards (one chat for all).
    pub shards: usize,
    /// Connections at a time.
    pub conns: usize,
    /// The server's header timeout (slow clients are timed by it).
    pub header_timeout: Duration,
    /// The files under its `--root`.
    pub files: Vec<StaticFile>,
    /// The seed of the mix.
    pub seed: u64,
}

/// What the churn shares between its connections.
struct Shared {
    rng: Rng,
    tally: Tally,
    /// The server's shards.
    shards: usize,
    /// The messages posted (sent) so far, in order.
    posted: Vec<String>,
    /// How many had been posted when the last wait for events returned.
    posted_at_wake: usize,
    /// The chat id of message 0, once an event has shown it.
    id_base: Option<u64>,
    /// Whether a poster is posting (one at a time keeps the chat's order known).
    poster_on: bool,
    /// No new connection, subscribers leave, posters stop.
    stopping: bool,
    header_timeout: Duration,
    host: String,
    files: Rc<[StaticFile]>,
    read_buf: Vec<u8>,
}

/// A slot of the connection table; the generation tells a stale event from a live one.
struct Slot {
    generation: u32,
    client: Option<Client>,
}

/// The churn: its connections and what they share.
pub struct Churn {
    addr: SocketAddrV4,
    conns: usize,
    ep: Epoll,
    slots: Vec<Slot>,
    free: Vec<usize>,
    open: usize,
    live: [usize; Scenario::ALL.len()],
    sh: Shared,
    next_source: usize,
    subscribers_target: usize,
    retarget_at: Instant,
}

impl Churn {
    /// A churn against `cfg.addr`; nothing is connected until [`Churn::run`].
    pub fn new(cfg: Config) -> io::Result<Churn> {
        let shards = cfg.shards.max(1);
        // Connecting to 0.0.0.0 reaches the local host; say so explicitly.
        let addr = if cfg.addr.ip().is_unspecified() {
            SocketAddrV4::new(Ipv4Addr::LOCALHOST, cfg.addr.port())
        } else {
            cfg.addr
        };
        Ok(Churn {
            addr,
            conns: cfg.conns.max(4),
            ep: Epoll::new(1024)?,
            slots: Vec::new(),
            free: Vec::new(),
            open: 0,
            live: [0; Scenario::ALL.len()],
            sh: Shared {
                rng: Rng::new(cfg.seed),
                tally: Tally::default(),
                shards,
                posted: Vec::new(),
                posted_at_wake: 0,
                id_base: None,
                poster_on: false,
                stopping: false,
                header_timeout: cfg.header_timeout,
                host: addr.to_string(),
                files: cfg.files.into(),
                read_buf: vec![0; 64 * 1024],
            },
            next_source: 0,
            subscribers_target: 2,
            retarget_at: Instant::now(),
        })
    }

    /// The counts so far.
    pub fn tally(&self) -> &Tally {
        &self.sh.tally
    }

    /// Churns for `duration`, then lets every connection finish. `tick` is called about
    /// once a second with the counts, the connections open and the time churned; an error
    /// from it (or Ctrl-C) ends the run at once (the connections are reset).
    pub fn run(
        &mut self,
        duration: Duration,
        tick: &mut dyn FnMut(&Tally, usize, Duration) -> Result<(), String>,
    ) -> Result<(), String> {
        let start = Instant::now();
        let end = start + duration;
        self.sh.stopping = false;
        let mut next_tick = start + Duration::from_secs(1);
        let result = loop {
            if let Err(e) = sys::check_interrupt() {
                break Err(e);
            }
            let now = Instant::now();
            if !self.sh.stopping && now >= end {
                self.sh.stopping = true;
                for slot in &mut self.slots {
                    if let Some(c) = &mut slot.client {
                        c.wake_at = Some(now);
                    }
                }
            }
            if self.sh.stopping && self.open == 0 {
                break Ok(());
            }
            if now >= next_tick {
                next_tick = now + Duration::from_secs(1);
                if let Err(e) = tick(
                    &self.sh.tally,
                    self.open,
                    now.duration_since(start).min(duration),
                ) {
                    break Err(e);
                }
            }
            if let Err(e) = self.top_up(now) {
                break Err(e);
            }
            let wait = self
                .slots
                .iter()
                .filter_map(|s| s.client.as_ref())
                .filter_map(|c| c.wake_at.map(|w| w.min(c.give_up_at)))
                .min()
                .map_or(Duration::from_millis(50), |w| {
                    w.saturating_duration_since(now)
                })
                .min(Duration::from_millis(50));
            let n = match self.ep.wait(wait) {
                Ok(n) => n,
                Err(e) => break Err(format!("epoll_wait: {e}")),
            };
            self.sh.posted_at_wake = self.sh.posted.len();
            for i in 0..n {
                let (token, events) = self.ep.event(i);
                let (index, generation) = ((token & 0xffff_ffff) as usize, (token >> 32) as u32);
                let Some(slot) = self.slots.get_mut(index) else {
                    continue;
                };
                if slot.generation != generation {
                    continue;
                }
                let Some(client) = slot.client.as_mut() else {
                    continue;
                };
                if let Err(e) = client.on_io(events, &mut self.sh.read_buf) {
                    Self::fail(&mut self.sh.tally, client, e);
                }
                client.ready = true;
            }
            let now = Instant::now();
            for slot in &mut self.slots {
                let Some(client) = slot.client.as_mut() else {
                    continue;
                };
                if client.end.is_some() {
                    continue;
                }
                let due = client.wake_at.is_some_and(|w| now >= w);
                let ready = std::mem::replace(&mut client.ready, false);
                if !due && !ready {
                    if now >= client.give_up_at {
                        let what = client.state();
                        Self::fail(&mut self.sh.tally, client, format!("stuck {what}"));
                    }
                    continue;
                }
                if let Err(e) = client.advance(now, &mut self.sh) {
                    Self::fail(&mut self.sh.tally, client, e);
                }
            }
            for index in 0..self.slots.len() {
                if self.slots[index]
                    .client
                    .as_ref()
                    .is_some_and(|c| c.end.is_some())
                {
                    self.finish(index);
                }
            }
        };
        // Interrupted or failed: reset whatever is still open.
        for index in 0..self.slots.len() {
            if let Some(c) = &mut self.slots[index].client {
                c.end = Some(End::Reset);
                self.finish(index);
            }
        }
        result
    }

    fn fail(tally: &mut Tally, client: &mut Client, e: String) {
        let label = client.scenario.label();
        tally.error(format!("{label}: {e}"));
        client.end = Some(End::Reset);
    }

    /// Removes a connection that ended, closing it as it asked.
    fn finish(&mut self, index: usize) {
        let slot = &mut self.slots[index];
        let Some(client) = slot.client.take() else {
            return;
        };
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(index);
        self.open -= 1;
        self.live[client.scenario as usize] -= 1;
        if let Role::Poster(Poster { owns: true, .. }) = client.role {
            self.sh.poster_on = false;
        }
        match client.end {
            Some(End::Close) => client.sock.close(),
            _ => drop(client.sock),
        }
    }

    /// Starts connections until the population is full again.
    fn top_up(&mut self, now: Instant) -> Result<(), String> {
        if self.sh.stopping {
            return Ok(());
        }
        // Posters: one at a time (each lands on some shard, so posts reach every shard over
        // the run; an extra that comes while one posts leaves at once).
        while self.live[Scenario::Poster as usize] < 1 {
            self.spawn(Scenario::Poster, now)?;
        }
        if now >= self.retarget_at {
            let most = (self.conns / 10).clamp(2, 32);
            self.subscribers_target = self.sh.rng.range(1, most);
            self.retarget_at = now + self.sh.rng.millis(500, 4000);
        }
        while self.live[Scenario::Subscriber as usize] < self.subscribers_target
            && self.open < self.conns
        {
            self.spawn(Scenario::Subscriber, now)?;
        }
        let slow_cap = (self.conns / 32).max(1);
        while self.open < self.conns {
            let mut scenario = mix::draw(&mut self.sh.rng);
            if matches!(scenario, Scenario::SlowInTime | Scenario::SlowTimeout)
                && self.live[scenario as usize] >= slow_cap
            {
                scenario = Scenario::KeepAlive;
            }
            self.spawn(scenario, now)?;
        }
        Ok(())
    }

    /// Opens one connection playing `scenario`.
    fn spawn(&mut self, scenario: Scenario, now: Instant) -> Result<(), String> {
        let source = if self.addr.ip().is_loopback() {
            source_addr(self.next_source, PER_SOURCE)
        } else {
            Ipv4Addr::UNSPECIFIED
        };
        self.next_source += 1;
        let sock = Socket::connect(source, self.addr)
            .map_err(|e| format!("connecting from {source} to {}: {e}", self.addr))?;
        let index = self.free.pop().unwrap_or_else(|| {
            self.slots.push(Slot {
                generation: 0,
                client: None,
            });
            self.slots.len() - 1
        });
        let token = (u64::from(self.slots[index].generation) << 32) | index as u64;
        self.ep
            .add(sock.as_raw_fd(), token, READ | WRITE)
            .map_err(|e| format!("epoll_ctl: {e}"))?;
        let sh = &mut self.sh;
        let mut allowance = ALLOWANCE;
        let role = match scenario {
            Scenario::Subscriber => {
                let stay = sh.rng.millis(200, 6000);
                allowance += stay + CATCH_UP;
                Role::Subscriber(Box::new(Sub::new(now + stay, sh.rng.chance(0.3))))
            }
            Scenario::Poster => {
                let left = sh.rng.range(20, 200) as u32;
                allowance += Duration::from_millis(25) * left;
                Role::Poster(Poster::new(left, now))
            }
            Scenario::SlowInTime | Scenario::SlowTimeout => {
                allowance += 4 * sh.header_timeout;
                Role::Script(script(scenario, sh))
            }
            _ => Role::Script(script(scenario, sh)),
        };
        self.slots[index].client = Some(Client::new(sock, scenario, role, now + allowance));
        self.open += 1;
        self.live[scenario as usize] += 1;
        self.sh.tally.connections += 1;
        self.sh.tally.max_open = self.sh.tally.max_open.max(self.open);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// A server that reads once, answers `answer` to anything, and closes.
    fn fake_server(
        answer: &'static [u8],
    ) -> (SocketAddrV4, Arc<AtomicBool>, std::thread::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let std::net::SocketAddr::V4(addr) = listener.local_addr().unwrap() else {
            unreachable!()
        };
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            while !stopped.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((mut conn, _)) => {
                        conn.set_nonblocking(false).unwrap();
                        conn.set_read_timeout(Some(Duration::from_millis(100)))
                            .unwrap();
                        let mut buf = [0u8; 4096];
                        let _ = conn.read(&mut buf);
                        let _ = conn.write_all(answer);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(1)),
                }
            }
        });
        (addr, stop, thread)
    }

    fn churn_against(addr: SocketAddrV4) -> Tally {
        let mut churn = Churn::new(Config {
            addr,
            shards: 1,
            conns: 8,
            header_timeout: Duration::from_millis(200),
            files: super::super::http::static_files(1),
            seed: 1,
        })
        .unwrap();
        let mut ticks = 0;
        churn
            .run(Duration::from_millis(500), &mut |_, _, _| {
                ticks += 1;
                Ok(())
            })
            .unwrap();
        churn.tally().clone()
    }

    #[test]
    fn a_server_that_answers_wrong_is_caught() {
        let (addr, stop, thread) = fake_server(
            b"HTTP/1.1 200 OK\r\nServer: solo\r\nDate: x\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nno",
        );
        let tally = churn_against(addr);
        stop.store(true, Ordering::SeqCst);
        thread.join().unwrap();
        assert!(tally.connections >= 8, "{tally:?}");
        assert!(tally.errors > 0, "{tally:?}");
        let text = tally.first_errors.join("\n");
        // Every failure names the scenario and what was wrong.
        assert!(
            tally
                .first_errors
                .iter()
                .all(|e| Scenario::ALL.iter().any(|s| e.starts_with(s.label()))),
            "{text}"
        );
        assert!(
            text.contains("Content-Length 2, expected")
                || text.contains("expected 404")
                || text.contains("not application/json")
                || text.contains("expected 408"),
            "{text}"
        );
        // Nothing was counted as a correct response but what was not checked.
        assert_eq!(tally.total_responses(), 0, "{tally:?}");
    }

    #[test]
    fn a_server_that_closes_at_once_is_caught() {
        let (addr, stop, thread) = fake_server(b"");
        let tally = churn_against(addr);
        stop.store(true, Ordering::SeqCst);
        thread.join().unwrap();
        assert!(tally.errors > 0, "{tally:?}");
        let text = tally.first_errors.join("\n");
        assert!(text.contains("closed") || text.contains("reset"), "{text}");
        assert_eq!(tally.total_responses(), 0);
    }
}
