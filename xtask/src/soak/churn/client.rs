//! One connection of the churn: the steps of its script, or its role as a chat subscriber
//! or poster, played as its socket allows.

use std::collections::VecDeque;
use std::io;
use std::time::{Duration, Instant};

use crate::bench::loadgen::net::{Socket, is_readable, is_writable};
use crate::soak::chat::{self, Encoding, EventStream, Subscription};
use crate::soak::http::{Expect, Request, check_response, take_json};
use crate::soak::report::{Kind, Scenario, ShardStats};

use super::{CATCH_UP, Shared};

/// One step of a scripted connection.
#[derive(Debug)]
pub(super) enum Step {
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
pub(super) struct Sub {
    shard: Option<usize>,
    stream: EventStream,
    log: Option<Subscription>,
    leave_at: Instant,
    /// Messages posted when it decided to leave, and how long it waits for them.
    leaving: Option<(u64, Instant)>,
    reset_at_end: bool,
}

impl Sub {
    /// A subscriber that leaves at `leave_at` (closing with a reset if `reset_at_end`).
    pub(super) fn new(leave_at: Instant, reset_at_end: bool) -> Sub {
        Sub {
            shard: None,
            stream: EventStream::default(),
            log: None,
            leave_at,
            leaving: None,
            reset_at_end,
        }
    }
}

/// A poster: which shard, then one message at a time.
#[derive(Debug)]
pub(super) struct Poster {
    shard: Option<usize>,
    pub(super) owns: bool,
    left: u32,
    next_at: Instant,
    waiting: Option<Expect>,
}

impl Poster {
    /// A poster of `left` messages, the first at `now`.
    pub(super) fn new(left: u32, now: Instant) -> Poster {
        Poster {
            shard: None,
            owns: false,
            left,
            next_at: now,
            waiting: None,
        }
    }
}

#[derive(Debug)]
pub(super) enum Role {
    Script(VecDeque<Step>),
    Subscriber(Box<Sub>),
    Poster(Poster),
}

/// How a connection ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    Close,
    Reset,
}

pub(super) struct Client {
    pub(super) sock: Socket,
    pub(super) scenario: Scenario,
    connected: bool,
    input: Vec<u8>,
    eof: bool,
    reset_by_peer: bool,
    out: Vec<u8>,
    sent: usize,
    /// A write failed with EPIPE or ECONNRESET.
    write_broken: Option<io::Error>,
    pub(super) role: Role,
    /// The timer of the current step.
    timer: Option<Instant>,
    /// When to look at it again without an event.
    pub(super) wake_at: Option<Instant>,
    /// When it is declared stuck.
    pub(super) give_up_at: Instant,
    /// It had an event in this turn of the loop.
    pub(super) ready: bool,
    pub(super) end: Option<End>,
}

/// `GET /stats`, asked first by subscribers and posters to learn their shard.
pub(super) fn stats_request(host: &str) -> Vec<u8> {
    Request::new("GET", "/stats").encode(host)
}

impl Client {
    /// A connection (still connecting) that plays `role` and is stuck after `give_up_at`.
    pub(super) fn new(sock: Socket, scenario: Scenario, role: Role, give_up_at: Instant) -> Client {
        Client {
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
            give_up_at,
            ready: false,
            end: None,
        }
    }

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
    pub(super) fn on_io(&mut self, events: u32, buf: &mut [u8]) -> Result<(), String> {
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
    pub(super) fn state(&self) -> String {
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
    pub(super) fn advance(&mut self, now: Instant, sh: &mut Shared) -> Result<(), String> {
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
