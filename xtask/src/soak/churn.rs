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

use std::collections::VecDeque;
use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::chat::{self, Encoding, EventStream, Subscription};
use super::http::{Body, Expect, Request, StaticFile, check_response, take_json};
use super::report::{Kind, Scenario, ShardStats, Tally};
use super::rng::Rng;
use crate::bench::loadgen::net::{
    Epoll, READ, Socket, WRITE, is_readable, is_writable, source_addr,
};
use crate::sys;

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

/// One step of a scripted connection.
#[derive(Debug)]
enum Step {
    /// Write these bytes (the step ends when the kernel took them all).
    Write(Vec<u8>),
    /// Wait.
    Pause(Duration),
    /// Write these bytes one at a time, `every` apart.
    Trickle {
        bytes: Vec<u8>,
        at: usize,
        every: Duration,
    },
    /// Write one byte every `every` until the server answers `408` or closes; the answer
    /// must not come before the header timeout.
    TooSlow {
        bytes: Vec<u8>,
        at: usize,
        every: Duration,
        first: Option<Instant>,
    },
    /// Read this response.
    Expect(Expect),
    /// Read the end of the stream, nothing before it (a reset will do if `reset_ok`).
    ExpectEof { reset_ok: bool },
    /// `shutdown(SHUT_WR)`.
    ShutdownWrite,
    /// Close in order: the scenario is done.
    Close,
    /// Close with `SO_LINGER` 0: the scenario is done.
    Reset,
}

impl Step {
    fn describe(&self) -> String {
        match self {
            Step::Write(_) => "writing a request".into(),
            Step::Pause(_) => "pausing".into(),
            Step::Trickle { at, bytes, .. } => format!("trickling byte {at} of {}", bytes.len()),
            Step::TooSlow { at, bytes, .. } => {
                format!(
                    "trickling byte {at} of {} past the header timeout",
                    bytes.len()
                )
            }
            Step::Expect(e) => format!("waiting for the response to {}", e.what),
            Step::ExpectEof { .. } => "waiting for the server to close".into(),
            Step::ShutdownWrite => "shutting the write side".into(),
            Step::Close | Step::Reset => "closing".into(),
        }
    }
}

/// A subscriber: which shard, then the stream.
#[derive(Debug)]
struct Sub {
    shard: Option<usize>,
    stream: EventStream,
    log: Option<Subscription>,
    leave_at: Instant,
    /// Messages posted when it decided to leave, and how long it waits for them.
    leaving: Option<(u64, Instant)>,
    reset_at_end: bool,
}

/// A poster: which shard, then one message at a time.
#[derive(Debug)]
struct Poster {
    shard: Option<usize>,
    owns: bool,
    left: u32,
    next_at: Instant,
    waiting: Option<Expect>,
}

#[derive(Debug)]
enum Role {
    Script(VecDeque<Step>),
    Subscriber(Box<Sub>),
    Poster(Poster),
}

/// How a connection ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Close,
    Reset,
}

struct Client {
    sock: Socket,
    scenario: Scenario,
    connected: bool,
    input: Vec<u8>,
    eof: bool,
    reset_by_peer: bool,
    out: Vec<u8>,
    sent: usize,
    /// A write failed with EPIPE or ECONNRESET.
    write_broken: Option<io::Error>,
    role: Role,
    /// The timer of the current step.
    timer: Option<Instant>,
    /// When to look at it again without an event.
    wake_at: Option<Instant>,
    /// When it is declared stuck.
    give_up_at: Instant,
    /// It had an event in this turn of the loop.
    ready: bool,
    end: Option<End>,
}

/// `GET /stats`, asked first by subscribers and posters to learn their shard.
fn stats_request(host: &str) -> Vec<u8> {
    Request::new("GET", "/stats").encode(host)
}

impl Client {
    fn out_pending(&self) -> bool {
        self.sent < self.out.len()
    }

    fn load(&mut self, bytes: Vec<u8>) -> Result<(), String> {
        debug_assert!(!self.out_pending());
        self.out = bytes;
        self.sent = 0;
        self.flush()
    }

    /// Writes what is pending; a broken connection is noted (the step decides whether it
    /// is an error), anything else is an error.
    fn flush(&mut self) -> Result<(), String> {
        while self.connected && self.out_pending() && self.write_broken.is_none() {
            match self.sock.write(&self.out[self.sent..]) {
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
                    ) =>
                {
                    self.write_broken = Some(e);
                }
                Err(e) => return Err(format!("write: {e}")),
            }
        }
        Ok(())
    }

    fn broken(&self) -> Result<(), String> {
        match &self.write_broken {
            Some(e) => Err(format!("write: {e}")),
            None => Ok(()),
        }
    }

    /// Handles readiness: completes the connect, reads everything there is, writes.
    fn on_io(&mut self, events: u32, buf: &mut [u8]) -> Result<(), String> {
        if !self.connected {
            if !(is_writable(events) || is_readable(events)) {
                return Ok(());
            }
            match self.sock.take_error() {
                Ok(None) => self.connected = true,
                Ok(Some(e)) | Err(e) => return Err(format!("connect: {e}")),
            }
        }
        if is_readable(events) && !self.eof {
            loop {
                match self.sock.read(buf) {
                    Ok(0) => {
                        self.eof = true;
                        break;
                    }
                    Ok(n) => self.input.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                        self.eof = true;
                        self.reset_by_peer = true;
                        break;
                    }
                    Err(e) => return Err(format!("read: {e}")),
                }
            }
        }
        self.flush()
    }

    /// Where it is, for a message about it.
    fn state(&self) -> String {
        match &self.role {
            Role::Script(steps) => steps.front().map_or("done".into(), Step::describe),
            Role::Subscriber(s) => match (&s.log, s.leaving) {
                (None, _) => "waiting for the event stream".into(),
                (Some(log), Some((target, _))) => format!(
                    "catching up to message {target} (joined at {}, {} events in)",
                    log.joined, log.received
                ),
                (Some(_), None) => "subscribed".into(),
            },
            Role::Poster(p) => match &p.waiting {
                Some(e) => format!("waiting for the response to {}", e.what),
                None => "between posts".into(),
            },
        }
    }

    /// Moves the scenario on as far as it goes now.
    fn advance(&mut self, now: Instant, sh: &mut Shared) -> Result<(), String> {
        self.wake_at = None;
        if !self.connected {
            return Ok(());
        }
        match std::mem::replace(&mut self.role, Role::Script(VecDeque::new())) {
            Role::Script(mut steps) => {
                let r = self.advance_script(&mut steps, now, sh);
                self.role = Role::Script(steps);
                r
            }
            Role::Subscriber(mut sub) => {
                let r = self.advance_subscriber(&mut sub, now, sh);
                self.role = Role::Subscriber(sub);
                r
            }
            Role::Poster(mut p) => {
                let r = self.advance_poster(&mut p, now, sh);
                self.role = Role::Poster(p);
                r
            }
        }
    }

    fn advance_script(
        &mut self,
        steps: &mut VecDeque<Step>,
        now: Instant,
        sh: &mut Shared,
    ) -> Result<(), String> {
        loop {
            let Some(step) = steps.front_mut() else {
                self.end = Some(End::Close);
                return Ok(());
            };
            match step {
                Step::Write(bytes) => {
                    self.broken()?;
                    if !bytes.is_empty() {
                        if self.out_pending() {
                            return Ok(());
                        }
                        self.load(std::mem::take(bytes))?;
                        self.broken()?;
                    }
                    if self.out_pending() {
                        return Ok(());
                    }
                }
                Step::Pause(d) => {
                    let until = *self.timer.get_or_insert(now + *d);
                    if now < until {
                        self.wake_at = Some(until);
                        return Ok(());
                    }
                    self.timer = None;
                }
                Step::Trickle { bytes, at, every } => {
                    self.broken()?;
                    if self.out_pending() {
                        return Ok(());
                    }
                    if *at < bytes.len() {
                        let due = *self.timer.get_or_insert(now);
                        if now < due {
                            self.wake_at = Some(due);
                            return Ok(());
                        }
                        let byte = vec![bytes[*at]];
                        *at += 1;
                        self.timer = Some(now + *every);
                        self.load(byte)?;
                        self.broken()?;
                        if *at < bytes.len() {
                            self.wake_at = self.timer;
                            return Ok(());
                        }
                    }
                    if self.out_pending() {
                        return Ok(());
                    }
                    self.timer = None;
                }
                Step::TooSlow {
                    bytes,
                    at,
                    every,
                    first,
                } => {
                    let answered = if self.input.is_empty() {
                        if self.eof || self.write_broken.is_some() {
                            sh.tally.slow_closed += 1;
                            true
                        } else {
                            false
                        }
                    } else {
                        let e = Expect::error(
                            Kind::Timeout,
                            "a request trickled past the header timeout".into(),
                            408,
                            "Request Timeout",
                        );
                        let e = Expect { close: true, ..e };
                        match check_response(&self.input, &e)? {
                            Some(n) => {
                                self.input.drain(..n);
                                sh.tally.response(Kind::Timeout);
                                true
                            }
                            None if self.eof => {
                                return Err(format!(
                                    "{}: the connection closed inside the 408",
                                    e.what
                                ));
                            }
                            None => false,
                        }
                    };
                    if answered {
                        let started = first.unwrap_or(now);
                        if now.duration_since(started) < sh.header_timeout {
                            return Err(format!(
                                "a slow client was cut off after {:?}, before the header \
                                 timeout of {:?}",
                                now.duration_since(started),
                                sh.header_timeout
                            ));
                        }
                        self.timer = None;
                    } else {
                        if *at < bytes.len() && !self.out_pending() {
                            let due = *self.timer.get_or_insert(now);
                            if now >= due {
                                first.get_or_insert(now);
                                let byte = vec![bytes[*at]];
                                *at += 1;
                                self.timer = Some(now + *every);
                                self.load(byte)?;
                            }
                            if *at < bytes.len() {
                                self.wake_at = self.timer;
                            }
                        }
                        return Ok(());
                    }
                }
                Step::Expect(e) => match check_response(&self.input, e)? {
                    Some(n) => {
                        self.input.drain(..n);
                        sh.tally.response(e.kind);
                    }
                    None if self.eof => {
                        return Err(format!(
                            "{}: the connection {} after {} byte(s) of the response",
                            e.what,
                            if self.reset_by_peer {
                                "was reset"
                            } else {
                                "closed"
                            },
                            self.input.len()
                        ));
                    }
                    None => return Ok(()),
                },
                Step::ExpectEof { reset_ok } => {
                    if !self.input.is_empty() {
                        return Err(format!(
                            "{} byte(s) after the last response: {:?}",
                            self.input.len(),
                            String::from_utf8_lossy(&self.input[..self.input.len().min(60)])
                        ));
                    }
                    if !self.eof {
                        return Ok(());
                    }
                    if self.reset_by_peer && !*reset_ok {
                        return Err("the server reset the connection instead of closing it".into());
                    }
                }
                Step::ShutdownWrite => {
                    self.broken()?;
                    if self.out_pending() {
                        return Ok(());
                    }
                    self.sock
                        .shutdown_write()
                        .map_err(|e| format!("shutdown: {e}"))?;
                }
                Step::Close | Step::Reset => {
                    if !self.input.is_empty() && matches!(step, Step::Close) {
                        return Err(format!(
                            "{} byte(s) nobody asked for: {:?}",
                            self.input.len(),
                            String::from_utf8_lossy(&self.input[..self.input.len().min(60)])
                        ));
                    }
                    self.end = Some(if matches!(step, Step::Close) {
                        End::Close
                    } else {
                        End::Reset
                    });
                    sh.tally.finished(self.scenario);
                    return Ok(());
                }
            }
            steps.pop_front();
        }
    }

    /// Reads the `/stats` answer that starts a subscriber's or poster's connection.
    fn shard_of(&mut self, sh: &mut Shared) -> Result<Option<usize>, String> {
        let Some((value, n)) = take_json(&self.input, "GET /stats")? else {
            if self.eof {
                return Err("GET /stats: the connection closed before the response".into());
            }
            return Ok(None);
        };
        self.input.drain(..n);
        let stats: ShardStats = serde_json::from_value(value)
            .map_err(|e| format!("GET /stats: unexpected JSON: {e}"))?;
        let shard = usize::try_from(stats.shard).unwrap_or(usize::MAX);
        if shard >= sh.shards {
            return Err(format!(
                "GET /stats: shard {shard} of a server with {} shard(s)",
                sh.shards
            ));
        }
        sh.tally.response(Kind::Stats);
        Ok(Some(shard))
    }

    fn advance_subscriber(
        &mut self,
        s: &mut Sub,
        now: Instant,
        sh: &mut Shared,
    ) -> Result<(), String> {
        self.broken()?;
        let shard = match s.shard {
            Some(shard) => shard,
            None => {
                if self.sent == 0 && self.out.is_empty() {
                    self.load(stats_request(&sh.host))?;
                }
                let Some(shard) = self.shard_of(sh)? else {
                    return Ok(());
                };
                s.shard = Some(shard);
                let request = Request::new("GET", "/chat/events").encode(&sh.host);
                self.load(request)?;
                shard
            }
        };
        if !self.input.is_empty() {
            let bytes = std::mem::take(&mut self.input);
            let events = s.stream.feed(&bytes)?;
            if s.stream.head_seen() && s.log.is_none() {
                s.log = Some(Subscription::new(sh.posted_at_wake as u64));
            }
            let log = s.log.as_mut().expect("events come after the head");
            for event in &events {
                log.on_event(event, &sh.posted, &mut sh.id_base)?;
                sh.tally.response(Kind::SseEvent);
            }
        }
        if self.eof {
            return Err(format!(
                "the event stream was {} while subscribed",
                if self.reset_by_peer {
                    "reset"
                } else {
                    "closed"
                }
            ));
        }
        let Some(log) = &s.log else {
            return Ok(());
        };
        if s.leaving.is_none() && (now >= s.leave_at || sh.stopping) {
            s.leaving = Some((sh.posted.len() as u64, now + CATCH_UP));
        }
        match s.leaving {
            Some((target, deadline)) => {
                if log.caught_up(target) {
                    sh.tally.finished(Scenario::Subscriber);
                    self.end = Some(if s.reset_at_end {
                        End::Reset
                    } else {
                        End::Close
                    });
                } else if now >= deadline {
                    return Err(format!(
                        "subscriber on shard {shard}: joined when {} message(s) were posted, \
                         left when {target} were, but after {CATCH_UP:?} it has only {} event(s) \
                         up to {}",
                        log.joined,
                        log.received,
                        if log.caught_up(1) {
                            "the last in order"
                        } else {
                            "none"
                        }
                    ));
                } else {
                    self.wake_at = Some(deadline);
                }
            }
            None => self.wake_at = Some(s.leave_at),
        }
        Ok(())
    }

    fn advance_poster(
        &mut self,
        p: &mut Poster,
        now: Instant,
        sh: &mut Shared,
    ) -> Result<(), String> {
        self.broken()?;
        let shard = match p.shard {
            Some(shard) => shard,
            None => {
                if self.sent == 0 && self.out.is_empty() {
                    self.load(stats_request(&sh.host))?;
                }
                let Some(shard) = self.shard_of(sh)? else {
                    return Ok(());
                };
                p.shard = Some(shard);
                if sh.poster_on {
                    // Another poster is posting: one at a time keeps the order known.
                    self.end = Some(End::Close);
                    return Ok(());
                }
                sh.poster_on = true;
                p.owns = true;
                shard
            }
        };
        if let Some(e) = &p.waiting {
            match check_response(&self.input, e)? {
                Some(n) => {
                    self.input.drain(..n);
                    sh.tally.response(Kind::ChatSend);
                    p.waiting = None;
                    p.left = p.left.saturating_sub(1);
                    p.next_at = now + sh.rng.millis(2, 25);
                }
                None if self.eof => {
                    return Err(format!(
                        "{}: the connection closed before the response",
                        e.what
                    ));
                }
                None => return Ok(()),
            }
        }
        if !self.input.is_empty() || self.eof {
            return Err(format!(
                "the poster's connection {} unasked",
                if self.eof { "closed" } else { "got bytes" }
            ));
        }
        if sh.stopping || p.left == 0 {
            sh.tally.finished(Scenario::Poster);
            self.end = Some(End::Close);
            return Ok(());
        }
        if now < p.next_at || self.out_pending() {
            self.wake_at = Some(p.next_at);
            return Ok(());
        }
        let k = sh.posted.len();
        let encoding = Encoding::ALL[sh.rng.range(0, Encoding::ALL.len() - 1)];
        let (text, request) = chat::post(shard, k, encoding, &mut sh.rng);
        sh.posted.push(text);
        p.waiting = Some(chat::post_expect(shard, k));
        self.load(request.encode(&sh.host))
    }
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
            const MIX: [(Scenario, u32); 8] = [
                (Scenario::KeepAlive, 30),
                (Scenario::Pipelined, 20),
                (Scenario::HalfClose, 10),
                (Scenario::Reset, 12),
                (Scenario::OpenClose, 6),
                (Scenario::SlowInTime, 3),
                (Scenario::SlowTimeout, 3),
                (Scenario::BadRequest, 4),
            ];
            let weights: Vec<u32> = MIX.iter().map(|&(_, w)| w).collect();
            let mut scenario = MIX[self.sh.rng.weighted(&weights)].0;
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
                Role::Subscriber(Box::new(Sub {
                    shard: None,
                    stream: EventStream::default(),
                    log: None,
                    leave_at: now + stay,
                    leaving: None,
                    reset_at_end: sh.rng.chance(0.3),
                }))
            }
            Scenario::Poster => {
                let left = sh.rng.range(20, 200) as u32;
                allowance += Duration::from_millis(25) * left;
                Role::Poster(Poster {
                    shard: None,
                    owns: false,
                    left,
                    next_at: now,
                    waiting: None,
                })
            }
            Scenario::SlowInTime | Scenario::SlowTimeout => {
                allowance += 4 * sh.header_timeout;
                Role::Script(script(scenario, sh))
            }
            _ => Role::Script(script(scenario, sh)),
        };
        self.slots[index].client = Some(Client {
            sock,
            scenario,
            connected: false,
            input: Vec::new(),
            eof: false,
            reset_by_peer: false,
            out: Vec::new(),
            sent: 0,
            write_broken: None,
            role,
            timer: None,
            wake_at: None,
            give_up_at: now + allowance,
            ready: false,
            end: None,
        });
        self.open += 1;
        self.live[scenario as usize] += 1;
        self.sh.tally.connections += 1;
        self.sh.tally.max_open = self.sh.tally.max_open.max(self.open);
        Ok(())
    }
}

const HELLO: &[u8] = b"Hello, World!";
const JSON: &[u8] = br#"{"message":"Hello, World!"}"#;

/// A request from the everyday mix and the response it must get.
fn pick(sh: &mut Shared) -> (Request, Expect) {
    let rng = &mut sh.rng;
    let ok = |kind, what: &Request, content_type, body: Rc<[u8]>| Expect {
        kind,
        what: what.describe(),
        status: 200,
        content_type: Some(content_type),
        body,
        head_only: false,
        close: false,
        allow: None,
    };
    match rng.weighted(&[25, 15, 20, 8, 10, 10, 5, 7]) {
        0 => {
            let path = if rng.chance(0.2) {
                "/plaintext?q=1"
            } else {
                "/plaintext"
            };
            let mut r = Request::new("GET", path);
            if rng.chance(0.3) {
                r.headers.push(("User-Agent", "solo-soak/1".into()));
                r.headers.push(("Accept", "*/*".into()));
                r.headers
                    .push(("Cookie", "c=".to_string() + &"x".repeat(rng.range(1, 2000))));
            }
            let e = ok(Kind::Plaintext, &r, "text/plain", HELLO.into());
            (r, e)
        }
        1 => {
            let r = Request::new("GET", "/json");
            let e = ok(Kind::Json, &r, "application/json", JSON.into());
            (r, e)
        }
        2 => {
            let f = &sh.files[rng.range(0, sh.files.len() - 1)];
            let path = if f.name == "index.html" && rng.chance(0.5) {
                "/static/".to_string()
            } else {
                format!("/static/{}", f.name)
            };
            let r = Request::new("GET", path);
            let e = ok(Kind::Static, &r, f.content_type, f.body.clone());
            (r, e)
        }
        3 => {
            let (path, content_type, body) = match rng.range(0, 2) {
                0 => ("/plaintext".to_string(), "text/plain", HELLO.into()),
                1 => ("/json".to_string(), "application/json", JSON.into()),
                _ => {
                    let f = &sh.files[rng.range(0, sh.files.len() - 1)];
                    (
                        format!("/static/{}", f.name),
                        f.content_type,
                        f.body.clone(),
                    )
                }
            };
            let r = Request::new("HEAD", path);
            let e = Expect {
                head_only: true,
                ..ok(Kind::Head, &r, content_type, body)
            };
            (r, e)
        }
        4 => {
            let n = rng.range(0, 9999);
            let path = if rng.chance(0.5) {
                format!("/missing/{n}")
            } else {
                format!("/static/missing-{n}.txt")
            };
            let r = Request::new("GET", path);
            let e = Expect::error(Kind::NotFound, r.describe(), 404, "Not Found");
            (r, e)
        }
        5 => {
            let mut r = Request::new(
                "POST",
                if rng.chance(0.5) {
                    "/plaintext"
                } else {
                    "/json"
                },
            );
            r.body = chunked_body(rng, 1, 3000);
            let e = Expect {
                allow: Some("GET, HEAD"),
                ..Expect::error(Kind::NotAllowed, r.describe(), 405, "Method Not Allowed")
            };
            (r, e)
        }
        6 => {
            let mut r = Request::new("POST", format!("/nowhere/{}", rng.range(0, 99)));
            r.body = Body::Sized(vec![b'z'; rng.range(0, 5000)]);
            let e = Expect::error(Kind::NotFound, r.describe(), 404, "Not Found");
            (r, e)
        }
        _ => {
            let mut r = Request::new("POST", "/nowhere");
            r.body = chunked_body(rng, 0, 3000);
            let e = Expect::error(Kind::NotFound, r.describe(), 404, "Not Found");
            (r, e)
        }
    }
}

/// A chunked body of `lo..=hi` bytes in random chunks.
fn chunked_body(rng: &mut Rng, lo: usize, hi: usize) -> Body {
    let len = rng.range(lo, hi);
    let mut chunks = Vec::new();
    let mut left = len;
    while left > 0 {
        let n = rng.range(1, 700).min(left);
        chunks.push(vec![b'a' + (chunks.len() % 26) as u8; n]);
        left -= n;
    }
    Body::Chunked {
        chunks,
        extension: rng.chance(0.3),
        trailer: rng.chance(0.3),
    }
}

/// `req` asking to close, and its expectation saying so.
fn closing((mut r, e): (Request, Expect)) -> (Request, Expect) {
    r.close = true;
    let e = Expect {
        close: true,
        what: format!("{} (Connection: close)", e.what),
        ..e
    };
    (r, e)
}

/// The steps of a scripted scenario.
fn script(scenario: Scenario, sh: &mut Shared) -> VecDeque<Step> {
    let mut steps = VecDeque::new();
    let host = sh.host.clone();
    match scenario {
        Scenario::KeepAlive => {
            let n = sh.rng.range(1, 12);
            for i in 0..n {
                let mut exchange = pick(sh);
                let last = i + 1 == n;
                if last && sh.rng.chance(0.25) {
                    exchange = closing(exchange);
                }
                let (r, e) = exchange;
                let close = e.close;
                steps.push_back(Step::Write(r.encode(&host)));
                steps.push_back(Step::Expect(e));
                if close {
                    steps.push_back(Step::ExpectEof { reset_ok: false });
                    steps.push_back(Step::Close);
                    return steps;
                }
                if sh.rng.chance(0.2) {
                    steps.push_back(Step::Pause(sh.rng.millis(0, 3)));
                }
            }
            steps.push_back(if sh.rng.chance(0.15) {
                Step::Reset
            } else {
                Step::Close
            });
        }
        Scenario::Pipelined => {
            let batches = sh.rng.range(1, 4);
            for b in 0..batches {
                let k = sh.rng.range(2, 16);
                let mut bytes = Vec::new();
                let mut expects = Vec::new();
                let mut close = false;
                for i in 0..k {
                    let mut exchange = pick(sh);
                    if b + 1 == batches && i + 1 == k && sh.rng.chance(0.2) {
                        exchange = closing(exchange);
                        close = true;
                    }
                    bytes.extend(exchange.0.encode(&host));
                    expects.push(exchange.1);
                }
                if sh.rng.chance(0.3) {
                    // In pieces: requests split anywhere, across reads of the server.
                    let pieces = sh.rng.range(2, 6);
                    let mut cuts: Vec<usize> = (1..pieces)
                        .map(|_| sh.rng.range(1, bytes.len() - 1))
                        .collect();
                    cuts.sort_unstable();
                    cuts.dedup();
                    let mut at = 0;
                    for cut in cuts.into_iter().chain([bytes.len()]) {
                        steps.push_back(Step::Write(bytes[at..cut].to_vec()));
                        steps.push_back(Step::Pause(sh.rng.millis(0, 2)));
                        at = cut;
                    }
                } else {
                    steps.push_back(Step::Write(bytes));
                }
                steps.extend(expects.into_iter().map(Step::Expect));
                if close {
                    steps.push_back(Step::ExpectEof { reset_ok: false });
                    steps.push_back(Step::Close);
                    return steps;
                }
            }
            steps.push_back(if sh.rng.chance(0.1) {
                Step::Reset
            } else {
                Step::Close
            });
        }
        Scenario::HalfClose => {
            let k = sh.rng.range(1, 4);
            let mut bytes = Vec::new();
            let mut expects = Vec::new();
            for _ in 0..k {
                let (r, e) = pick(sh);
                bytes.extend(r.encode(&host));
                expects.push(Step::Expect(e));
            }
            steps.push_back(Step::Write(bytes));
            steps.push_back(Step::ShutdownWrite);
            steps.extend(expects);
            steps.push_back(Step::ExpectEof { reset_ok: false });
            steps.push_back(Step::Close);
        }
        Scenario::Reset => {
            match sh.rng.range(0, 4) {
                0 => {}
                1 => {
                    let (r, _) = pick(sh);
                    steps.push_back(Step::Write(r.encode(&host)));
                    steps.push_back(Step::Pause(sh.rng.millis(0, 3)));
                }
                2 => {
                    let bytes = pick(sh).0.encode(&host);
                    let cut = sh.rng.range(1, bytes.len() - 1);
                    steps.push_back(Step::Write(bytes[..cut].to_vec()));
                    steps.push_back(Step::Pause(sh.rng.millis(0, 3)));
                }
                3 => {
                    // Mid-file: the server is still sending when the reset comes.
                    let mut bytes = Request::new("GET", "/static/blob.bin").encode(&host);
                    for _ in 0..sh.rng.range(0, 4) {
                        bytes.extend(pick(sh).0.encode(&host));
                    }
                    steps.push_back(Step::Write(bytes));
                    steps.push_back(Step::Pause(sh.rng.millis(0, 2)));
                }
                _ => {
                    let (r, e) = pick(sh);
                    steps.push_back(Step::Write(r.encode(&host)));
                    steps.push_back(Step::Expect(e));
                    let next = pick(sh).0.encode(&host);
                    let cut = sh.rng.range(1, next.len() - 1);
                    steps.push_back(Step::Write(next[..cut].to_vec()));
                }
            }
            steps.push_back(Step::Reset);
        }
        Scenario::OpenClose => {
            steps.push_back(Step::Pause(sh.rng.millis(0, 50)));
            steps.push_back(Step::Close);
        }
        Scenario::SlowInTime => {
            let (r, e) = if sh.rng.chance(0.5) {
                let r = Request::new("GET", "/json");
                let e = Expect {
                    kind: Kind::Json,
                    what: "GET /json, a byte at a time".into(),
                    status: 200,
                    content_type: Some("application/json"),
                    body: JSON.into(),
                    head_only: false,
                    close: false,
                    allow: None,
                };
                (r, e)
            } else {
                let r = Request::new("GET", "/missing/slowly");
                let e = Expect::error(
                    Kind::NotFound,
                    "GET /missing/slowly, a byte at a time".into(),
                    404,
                    "Not Found",
                );
                (r, e)
            };
            let bytes = r.encode(&host);
            // The whole request in a quarter of the header timeout, at most 20 ms a byte.
            let every =
                (sh.header_timeout / (4 * bytes.len() as u32)).min(Duration::from_millis(20));
            steps.push_back(Step::Trickle {
                bytes,
                at: 0,
                every,
            });
            steps.push_back(Step::Expect(e));
            steps.push_back(Step::Close);
        }
        Scenario::SlowTimeout => {
            let mut r = Request::new("GET", "/plaintext");
            r.headers.push(("X-Slow", "a".repeat(sh.rng.range(10, 40))));
            let bytes = r.encode(&host);
            // The head would end only after three header timeouts.
            let every = (3 * sh.header_timeout / bytes.len() as u32).max(Duration::from_millis(1));
            steps.push_back(Step::TooSlow {
                bytes,
                at: 0,
                every,
                first: None,
            });
            steps.push_back(Step::ExpectEof { reset_ok: true });
            steps.push_back(Step::Close);
        }
        Scenario::BadRequest => {
            if sh.rng.chance(0.3) {
                let (r, e) = pick(sh);
                steps.push_back(Step::Write(r.encode(&host)));
                steps.push_back(Step::Expect(e));
            }
            let bad: &[u8] = match sh.rng.range(0, 3) {
                0 => b"GARBAGE\r\n\r\n",
                1 => b"GET /json HTTP/1.1\r\nHost: h\r\nBad Header Line\r\n\r\n",
                2 => b"GET /json HTTP/1.1\r\nHost: h\r\nContent-Length: abc\r\n\r\n",
                _ => b"POST /json HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n",
            };
            let e = Expect {
                close: true,
                ..Expect::error(
                    Kind::BadRequest,
                    format!("{:?}", String::from_utf8_lossy(&bad[..bad.len().min(24)])),
                    400,
                    "Bad Request",
                )
            };
            steps.push_back(Step::Write(bad.to_vec()));
            steps.push_back(Step::Expect(e));
            steps.push_back(Step::ExpectEof { reset_ok: false });
            steps.push_back(Step::Close);
        }
        Scenario::Subscriber | Scenario::Poster => {
            unreachable!("subscribers and posters are not scripted")
        }
    }
    steps
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

    #[test]
    fn scripts_end_with_a_close_or_a_reset() {
        let mut sh = Shared {
            rng: Rng::new(5),
            tally: Tally::default(),
            shards: 1,
            posted: Vec::new(),
            posted_at_wake: 0,
            id_base: None,
            poster_on: false,
            stopping: false,
            header_timeout: Duration::from_secs(2),
            host: "127.0.0.1:1".into(),
            files: super::super::http::static_files(5).into(),
            read_buf: Vec::new(),
        };
        for scenario in Scenario::ALL {
            if matches!(scenario, Scenario::Subscriber | Scenario::Poster) {
                continue;
            }
            for _ in 0..200 {
                let steps = script(scenario, &mut sh);
                assert!(
                    matches!(steps.back(), Some(Step::Close | Step::Reset)),
                    "{scenario:?}: {steps:?}"
                );
                // A close announced by a response is followed by reading the end.
                for (i, step) in steps.iter().enumerate() {
                    if let Step::Expect(e) = step {
                        if e.close {
                            assert!(matches!(steps.get(i + 1), Some(Step::ExpectEof { .. })));
                        }
                    }
                    if let Step::Write(bytes) = step {
                        assert!(!bytes.is_empty(), "{scenario:?}");
                    }
                }
                if scenario == Scenario::SlowTimeout {
                    let Some(Step::TooSlow { bytes, every, .. }) = steps.front() else {
                        panic!("{steps:?}")
                    };
                    // The head cannot be complete before three header timeouts.
                    assert!(*every * (bytes.len() as u32 - 1) >= 2 * sh.header_timeout);
                }
                if scenario == Scenario::SlowInTime {
                    let Some(Step::Trickle { bytes, every, .. }) = steps.front() else {
                        panic!("{steps:?}")
                    };
                    assert!(*every * (bytes.len() as u32) <= sh.header_timeout / 4);
                }
            }
        }
    }
}
