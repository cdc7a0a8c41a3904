//! The `chat` workload: Server-Sent Events subscribers and one poster at a fixed rate.
//!
//! `--conns` subscribers send `GET /chat/events` and wait for the stream's head. Once every
//! one has it, one more connection posts `POST /chat/send` (form-urlencoded, keep-alive)
//! at `--rate` messages per second on a fixed schedule: open loop, so a late answer
//! does not delay the next post (the posts are then pipelined). Message `seq` of run `run`
//! reads `b<run>-<seq>-<nanos>-xxx…` (`--size` bytes), where `nanos` is when it was sent,
//! in nanoseconds since the load generator started; a subscriber that reads the event
//! thus knows its delivery latency (post sent → event read) and its place in the order.
//! Events of other runs (the history a new subscriber is sent first) are skipped.
//!
//! The warm-up's messages come first (`--warmup-ms` of them at the rate), then the
//! window's (`--duration-ms` of them). The window is whole messages: the server's CPU time
//! is sampled as its first message is posted and again when every subscriber has read its
//! last one, and it counts and times every event of those messages, so its figures are
//! what those messages cost even when a fan-out outlasts the gap between posts. Then
//! posting has stopped; it waits (at most `--drain-ms`) until every subscriber has every
//! message, and checks that each got every message of the run once, in order, never
//! `lagged`, with ids that grow and are the same for a message at every subscriber. A subscriber that misses anything makes the
//! run *incomplete* ([`ChatReport::incomplete`]), which the bench reports as a failure,
//! not as a figure.

use std::fmt::Write as _;
use std::io;
use std::time::{Duration, Instant};

use clap::Args;
use serde::{Deserialize, Serialize};

use super::engine::{CpuWindow, connect_all};
use super::http::{MAX_HEAD, ResponseParser, find_head_end, parse_status};
use super::net::{Epoll, Socket, is_readable, is_writable};
use super::{Target, Window, WindowReport};
use crate::bench::stats::Histogram;

/// The longest message the chat servers take, in bytes of text.
pub const MAX_MESSAGE: usize = 1000;

/// A line of an event stream longer than this is an error, not a reason to buffer forever.
const MAX_LINE: usize = 16 * 1024;

/// Read buffer shared by every connection.
const READ_BUF: usize = 64 * 1024;

/// `cargo xtask loadgen chat`: subscribers, one poster, delivery latency and a delivery
/// check; prints a [`ChatReport`].
#[derive(Debug, Clone, Args)]
pub struct ChatArgs {
    /// Where to connect: `--conns` is the number of subscribers (the poster is one more
    /// connection).
    #[command(flatten)]
    pub target: Target,
    /// Warm-up (posting, not measured) and measurement window.
    #[command(flatten)]
    pub window: Window,
    /// Messages posted per second.
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,
    /// Bytes of text per message (at least the marker's length; at most 1,000).
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// Run marker: events whose text does not start with `b<run>-` are not counted.
    #[arg(long, default_value_t = 1)]
    pub run: u64,
    /// How long to wait after the last post for every subscriber to have every message,
    /// in milliseconds.
    #[arg(long, default_value_t = 5_000)]
    pub drain_ms: u64,
    /// Posts awaiting their answer at once beyond which the server is deemed saturated
    /// (posting stops and the run is incomplete).
    #[arg(long, default_value_t = 1_000)]
    pub max_unanswered: usize,
}

/// The result of a `chat` run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatReport {
    /// The connections (the subscribers and, last, the poster), and the window, which
    /// runs from the posting of its first message until every subscriber has read its
    /// last: `completed` counts the events of the window's messages, `latency` is each
    /// one's delivery latency (post sent → event read), the CPU figures cover the window,
    /// `errors` counts the protocol errors and lost connections of the whole run.
    pub window: WindowReport,
    /// Subscribers asked for.
    pub subscribers: usize,
    /// Subscribers whose stream head arrived before posting started.
    pub subscribed: usize,
    /// Messages posted per second, as scheduled.
    pub rate: f64,
    /// Messages posted in the whole run (warm-up, window).
    pub posted: u64,
    /// Of those, posted inside the window.
    pub posted_in_window: u64,
    /// How long posting the window's messages took by the schedule, in seconds (messages
    /// over rate): the window's events over this is the delivered rate.
    pub posting_window_s: f64,
    /// Events of this run read by subscribers over the whole run.
    pub delivered: u64,
    /// Events a complete run delivers: subscribers × posted.
    pub expected: u64,
    /// Subscribers that missed something: a message missing, repeated or out of order, a
    /// `lagged` event, ids that disagree, a stream that never opened or closed early.
    pub incomplete: usize,
    /// `event: lagged` received (each means lost events).
    pub lagged: u64,
    /// The first problem found, naming the subscriber.
    pub first_problem: Option<String>,
    /// How far the poster fell behind its schedule at worst, in milliseconds.
    pub poster_late_ms: f64,
    /// Seconds from the last post until every subscriber had everything (or the drain
    /// gave up): the fan-out of the last message, and how far delivery trailed.
    pub drain_s: f64,
    /// The drain gave up (`--drain-ms` after the last post) with messages still due: the
    /// server fell that far behind, or lost them.
    pub drain_timed_out: bool,
}

impl ChatReport {
    /// `None` if every subscriber got every message; otherwise one line saying what went
    /// wrong.
    pub fn shortfall(&self) -> Option<String> {
        if self.incomplete == 0 && self.subscribed == self.subscribers && self.posted > 0 {
            return None;
        }
        let mut s = if self.posted == 0 {
            "nothing was posted".to_string()
        } else {
            format!(
                "delivery incomplete: {} of {} subscribers missed messages ({} of {} events \
                 delivered",
                self.incomplete, self.subscribers, self.delivered, self.expected
            )
        };
        if self.posted > 0 {
            if self.lagged > 0 {
                let _ = write!(s, ", {} `lagged`", self.lagged);
            }
            s.push(')');
        }
        if self.subscribed < self.subscribers {
            let _ = write!(
                s,
                "; {} of {} subscribed",
                self.subscribed, self.subscribers
            );
        }
        if let Some(p) = &self.first_problem {
            let _ = write!(s, "; first: {p}");
        }
        Some(s)
    }
}

/// The fields of the event being read.
#[derive(Debug, Default)]
struct Fields {
    id: Option<u64>,
    /// An `id:` line that was not a number.
    bad_id: bool,
    event: Option<Vec<u8>>,
    /// Whether a `data:` line came (only such events are dispatched).
    data: bool,
    /// `(seq, sent_ns)` of this run's marker in the first data line.
    marker: Option<(u64, u64)>,
}

/// One subscriber: its stream parser and what it has received.
struct Sub {
    /// `None` once the stream ended.
    sock: Option<Socket>,
    /// Bytes of an incomplete head or line.
    pending: Vec<u8>,
    head: bool,
    fields: Fields,
    /// Messages of this run received.
    received: u64,
    /// The sequence number it expects next.
    next: u64,
    last_id: Option<u64>,
    /// Something went wrong (recorded in the tally).
    bad: bool,
    /// It was told `lagged` (the server then ends the stream).
    lagged: bool,
}

/// Counts shared by all subscribers.
struct Tally {
    /// `b<run>-`.
    prefix: Vec<u8>,
    begin: Instant,
    /// The sequence numbers of the window's messages: their events are counted and timed.
    window: std::ops::Range<u64>,
    completed: u64,
    latency: Histogram,
    delivered: u64,
    lagged: u64,
    /// The id each message arrived with first (`u64::MAX`: none yet), by sequence number.
    ids: Vec<u64>,
    bad: usize,
    first_problem: Option<String>,
}

impl Tally {
    fn problem(&mut self, sub: &mut Sub, index: usize, what: impl FnOnce() -> String) {
        if !sub.bad {
            sub.bad = true;
            self.bad += 1;
        }
        if self.first_problem.is_none() {
            self.first_problem = Some(format!("subscriber {index}: {}", what()));
        }
    }
}

/// Reads `b<run>-<seq>-<nanos>` (then `-…` or the end) at the start of `text`.
fn parse_marker(text: &[u8], prefix: &[u8]) -> Option<(u64, u64)> {
    let rest = text.strip_prefix(prefix)?;
    let (seq, rest) = leading_number(rest)?;
    let (nanos, rest) = leading_number(rest.strip_prefix(b"-")?)?;
    (rest.is_empty() || rest[0] == b'-').then_some((seq, nanos))
}

fn leading_number(s: &[u8]) -> Option<(u64, &[u8])> {
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 19 {
        return None;
    }
    let n = std::str::from_utf8(&s[..digits]).ok()?.parse().ok()?;
    Some((n, &s[digits..]))
}

/// Checks the head of `GET /chat/events`: `200`, `text/event-stream`, and a body that
/// runs until the connection closes (no length, not chunked), as solo-server sends it.
fn check_head(head: &[u8]) -> Result<(), String> {
    let status = parse_status(head).ok_or_else(|| {
        let shown = String::from_utf8_lossy(&head[..head.len().min(60)]).into_owned();
        format!("GET /chat/events: not an HTTP response: {shown:?}")
    })?;
    if status != 200 {
        return Err(format!("GET /chat/events answered {status}"));
    }
    let mut event_stream = false;
    for line in head.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if name.eq_ignore_ascii_case(b"content-type") {
            event_stream = value
                .get(..17)
                .is_some_and(|v| v.eq_ignore_ascii_case(b"text/event-stream"));
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            return Err(
                "the event stream is chunked; send it until the connection closes \
                        (no Transfer-Encoding), as solo-server does"
                    .into(),
            );
        } else if name.eq_ignore_ascii_case(b"content-length") {
            return Err("the event stream has a Content-Length".into());
        }
    }
    if event_stream {
        Ok(())
    } else {
        Err("GET /chat/events: the answer is not text/event-stream".into())
    }
}

impl Sub {
    /// A subscriber on `sock` (`None`: its connect failed).
    fn new(sock: Option<Socket>) -> Sub {
        Sub {
            sock,
            pending: Vec::new(),
            head: false,
            fields: Fields::default(),
            received: 0,
            next: 0,
            last_id: None,
            bad: false,
            lagged: false,
        }
    }

    /// Reads what the socket has. `Err` ends the stream (the caller closes it).
    fn on_readable(
        &mut self,
        index: usize,
        buf: &mut [u8],
        tally: &mut Tally,
    ) -> Result<(), String> {
        loop {
            let Some(sock) = &self.sock else {
                return Ok(());
            };
            match sock.read(buf) {
                Ok(0) => return Err("the server ended the event stream".into()),
                Ok(n) => {
                    let at = Instant::now();
                    self.feed(&buf[..n], index, at, tally)?;
                    if n < buf.len() {
                        return Ok(());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("read: {e}")),
            }
        }
    }

    /// Takes in bytes read at `at`.
    fn feed(
        &mut self,
        data: &[u8],
        index: usize,
        at: Instant,
        tally: &mut Tally,
    ) -> Result<(), String> {
        if self.pending.is_empty() {
            let used = self.parse(data, index, at, tally)?;
            self.pending.extend_from_slice(&data[used..]);
        } else {
            let mut buf = std::mem::take(&mut self.pending);
            buf.extend_from_slice(data);
            let used = self.parse(&buf, index, at, tally)?;
            buf.drain(..used);
            self.pending = buf;
        }
        Ok(())
    }

    /// Parses the head (first) and every complete line of `buf`; returns the bytes used.
    fn parse(
        &mut self,
        buf: &[u8],
        index: usize,
        at: Instant,
        tally: &mut Tally,
    ) -> Result<usize, String> {
        let mut used = 0;
        if !self.head {
            let Some(end) = find_head_end(buf) else {
                if buf.len() > MAX_HEAD {
                    return Err(format!("an event-stream head larger than {MAX_HEAD} bytes"));
                }
                return Ok(0);
            };
            check_head(&buf[..end])?;
            self.head = true;
            used = end;
        }
        while let Some(nl) = buf[used..].iter().position(|&b| b == b'\n') {
            let line = &buf[used..used + nl];
            used += nl + 1;
            self.line(line.strip_suffix(b"\r").unwrap_or(line), index, at, tally);
        }
        if buf.len() - used > MAX_LINE {
            return Err(format!("an event line longer than {MAX_LINE} bytes"));
        }
        Ok(used)
    }

    fn line(&mut self, line: &[u8], index: usize, at: Instant, tally: &mut Tally) {
        if line.is_empty() {
            self.dispatch(index, at, tally);
            return;
        }
        if line[0] == b':' {
            return;
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(c) => (&line[..c], &line[c + 1..]),
            None => (line, &b""[..]),
        };
        let value = value.strip_prefix(b" ").unwrap_or(value);
        match field {
            b"data" if !self.fields.data => {
                self.fields.data = true;
                self.fields.marker = parse_marker(value, &tally.prefix);
            }
            b"id" => match leading_number(value) {
                Some((id, [])) => self.fields.id = Some(id),
                _ => self.fields.bad_id = true,
            },
            b"event" => self.fields.event = Some(value.to_vec()),
            _ => {}
        }
    }

    /// The blank line: the event is complete.
    fn dispatch(&mut self, index: usize, at: Instant, tally: &mut Tally) {
        let f = std::mem::take(&mut self.fields);
        match f.event.as_deref() {
            None | Some(b"message") => {}
            Some(b"lagged") => {
                tally.lagged += 1;
                self.lagged = true;
                let received = self.received;
                tally.problem(self, index, || {
                    format!(
                        "the server said `lagged` after {received} messages: it fell behind \
                         and lost events"
                    )
                });
                return;
            }
            Some(other) => {
                let other = String::from_utf8_lossy(other).into_owned();
                tally.problem(self, index, || {
                    format!("an unexpected event type {other:?}")
                });
                return;
            }
        }
        let Some((seq, sent_ns)) = f.marker.filter(|_| f.data) else {
            // Another run's message (history), or a ping without data.
            return;
        };
        tally.delivered += 1;
        self.received += 1;
        if tally.window.contains(&seq) {
            tally.completed += 1;
            let now_ns = at.duration_since(tally.begin).as_nanos() as u64;
            tally
                .latency
                .record(Duration::from_nanos(now_ns.saturating_sub(sent_ns)));
        }
        if seq != self.next {
            let next = self.next;
            tally.problem(self, index, || {
                if seq > next {
                    format!("message {seq} arrived where {next} was due (messages lost)")
                } else {
                    format!("message {seq} arrived where {next} was due (repeated or out of order)")
                }
            });
        }
        self.next = self.next.max(seq + 1);
        let Some(id) = f.id.filter(|_| !f.bad_id) else {
            tally.problem(self, index, || {
                format!("message {seq} came without a valid id")
            });
            return;
        };
        if self.last_id.is_some_and(|last| id <= last) {
            let last = self.last_id.unwrap_or(0);
            tally.problem(self, index, || {
                format!("message {seq} has id {id}, not above the previous id {last}")
            });
        }
        self.last_id = Some(id);
        match tally.ids.get(seq as usize).copied() {
            None => tally.problem(self, index, || format!("message {seq} was never posted")),
            Some(u64::MAX) => tally.ids[seq as usize] = id,
            Some(first) if first != id => tally.problem(self, index, || {
                format!(
                    "message {seq} has id {id} here but {first} at another subscriber \
                     (one chat has one order, the same ids everywhere)"
                )
            }),
            Some(_) => {}
        }
    }
}

/// The poster's connection: requests not yet written, answers awaited.
struct Poster {
    sock: Socket,
    out: Vec<u8>,
    written: usize,
    pending: Vec<u8>,
    parser: ResponseParser,
    unanswered: usize,
    host: String,
}

impl Poster {
    /// Queues `POST /chat/send` with `msg=<text>` and writes what the socket takes. The
    /// text must need no percent-encoding.
    fn post(&mut self, text: &str) -> Result<(), String> {
        let body_len = "msg=".len() + text.len();
        self.out
            .extend_from_slice(b"POST /chat/send HTTP/1.1\r\nHost: ");
        self.out.extend_from_slice(self.host.as_bytes());
        self.out.extend_from_slice(
            b"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ",
        );
        self.out.extend_from_slice(body_len.to_string().as_bytes());
        self.out.extend_from_slice(b"\r\n\r\nmsg=");
        self.out.extend_from_slice(text.as_bytes());
        self.unanswered += 1;
        self.flush()
    }

    fn flush(&mut self) -> Result<(), String> {
        while self.written < self.out.len() {
            match self.sock.write(&self.out[self.written..]) {
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("poster: write: {e}")),
            }
        }
        self.out.clear();
        self.written = 0;
        Ok(())
    }

    fn on_readable(&mut self, buf: &mut [u8]) -> Result<(), String> {
        loop {
            match self.sock.read(buf) {
                Ok(0) => return Err("the server closed the poster's connection".into()),
                Ok(n) => {
                    self.pending.extend_from_slice(&buf[..n]);
                    let mut at = 0;
                    while let Some(r) = self.parser.next(&self.pending[at..])? {
                        if !(200..300).contains(&r.status) {
                            return Err(format!("POST /chat/send answered {}", r.status));
                        }
                        if self.unanswered == 0 {
                            return Err("an answer to a post never sent".into());
                        }
                        self.unanswered -= 1;
                        at += r.len;
                    }
                    self.pending.drain(..at);
                    if n < buf.len() {
                        return Ok(());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("poster: read: {e}")),
            }
        }
    }
}

/// The text of message `seq`: the marker padded with `x` to `size` bytes.
fn message(run: u64, seq: u64, sent_ns: u64, size: usize) -> String {
    let mut text = format!("b{run}-{seq}-{sent_ns}-");
    let size = size.min(MAX_MESSAGE);
    if text.len() < size {
        text.extend(std::iter::repeat_n('x', size - text.len()));
    }
    text
}

/// Runs the `chat` workload.
pub fn run(a: &ChatArgs) -> io::Result<ChatReport> {
    let begin = Instant::now();
    let t = &a.target;
    let mut ep = Epoll::new(1024)?;
    let with_poster = Target {
        conns: t.conns + 1,
        ..t.clone()
    };
    let (mut socks, connect) = connect_all(&mut ep, &with_poster)?;
    let poster_sock = socks.pop().flatten();
    let poster_token = t.conns as u64;
    let mut report = ChatReport {
        window: WindowReport {
            connect,
            ..WindowReport::default()
        },
        subscribers: t.conns,
        rate: a.rate,
        ..ChatReport::default()
    };
    let mut errors = 0u64;
    let mut first_error: Option<String> = None;
    let mut error = |e: String| {
        errors += 1;
        first_error.get_or_insert(e);
    };
    let mut tally = Tally {
        prefix: format!("b{}-", a.run).into_bytes(),
        begin,
        window: 0..0,
        completed: 0,
        latency: Histogram::new(),
        delivered: 0,
        lagged: 0,
        ids: Vec::new(),
        bad: 0,
        first_problem: None,
    };
    let mut subs: Vec<Sub> = Vec::with_capacity(t.conns);
    let mut waiting = 0usize;
    let request = format!(
        "GET /chat/events HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n",
        t.addr
    );
    for sock in socks {
        let sock = sock.and_then(|sock| match sock.write(request.as_bytes()) {
            Ok(n) if n == request.len() => {
                waiting += 1;
                Some(sock)
            }
            Ok(_) => {
                error("a short write of GET /chat/events".into());
                None
            }
            Err(e) => {
                error(format!("GET /chat/events: write: {e}"));
                None
            }
        });
        subs.push(Sub::new(sock));
    }
    let mut buf = vec![0u8; READ_BUF];

    // Every stream's head first: only then is every subscriber surely subscribed.
    let deadline = Instant::now()
        + Duration::from_millis(t.connect_timeout_ms)
        + Duration::from_millis(t.conns as u64);
    while waiting > 0 && Instant::now() < deadline {
        let n = ep.wait(
            deadline
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(100)),
        )?;
        for k in 0..n {
            let (token, events) = ep.event(k);
            let i = token as usize;
            if token == poster_token || !is_readable(events) {
                continue;
            }
            let sub = &mut subs[i];
            if sub.sock.is_none() {
                continue;
            }
            let had_head = sub.head;
            let result = sub.on_readable(i, &mut buf, &mut tally);
            if let Err(e) = result {
                sub.sock = None;
                error(e);
            }
            if !had_head && (sub.head || sub.sock.is_none()) {
                waiting -= 1;
            }
        }
    }
    report.subscribed = subs.iter().filter(|s| s.head && s.sock.is_some()).count();
    for (i, sub) in subs.iter_mut().enumerate() {
        if !sub.head {
            tally.problem(sub, i, || "its event stream never opened".into());
        }
    }

    let Some(poster_sock) = poster_sock else {
        error("the poster could not connect".into());
        return Ok(finish(report, &subs, tally, errors, first_error));
    };
    let mut poster = Poster {
        sock: poster_sock,
        out: Vec::new(),
        written: 0,
        pending: Vec::new(),
        parser: ResponseParser::default(),
        unanswered: 0,
        host: t.addr.to_string(),
    };

    // Post on schedule: the warm-up's messages, then the window's; then wait for every
    // delivery. The window is whole messages: it starts as its first message is posted and
    // ends when the last subscriber has read its last message, so that its CPU time is
    // what those messages cost however their fan-out straddles the clock.
    let period = Duration::from_secs_f64(1.0 / a.rate.max(0.001));
    let warmup_posts = (a.window.warmup_ms as f64 / 1e3 * a.rate).ceil() as u64;
    let window_posts = ((a.window.duration_ms as f64 / 1e3 * a.rate).round() as u64).max(1);
    let total_posts = warmup_posts + window_posts;
    tally.window = warmup_posts..total_posts;
    let t0 = Instant::now();
    let mut next_post = t0;
    let mut cpu: Option<CpuWindow> = None;
    let mut started_at = t0;
    let mut posting = true;
    let mut drain_from = None;
    let mut late = Duration::ZERO;
    let mut poster_alive = true;
    let mut drained = false;
    loop {
        let now = Instant::now();
        if posting {
            while next_post <= now && report.posted < total_posts {
                late = late.max(now - next_post);
                let seq = report.posted;
                if seq == warmup_posts {
                    cpu = Some(CpuWindow::start(t));
                    started_at = Instant::now();
                }
                let sent_ns = Instant::now().duration_since(begin).as_nanos() as u64;
                tally.ids.push(u64::MAX);
                report.posted += 1;
                if let Err(e) = poster.post(&message(a.run, seq, sent_ns, a.size)) {
                    error(e);
                    posting = false;
                    break;
                }
                next_post += period;
            }
            if posting && poster.unanswered > a.max_unanswered {
                error(format!(
                    "{} posts unanswered: the server cannot keep up with {} messages/s",
                    poster.unanswered, a.rate
                ));
                posting = false;
            }
            if report.posted == total_posts {
                posting = false;
                report.posted_in_window = window_posts;
                report.posting_window_s = window_posts as f64 * period.as_secs_f64();
            }
            if !posting {
                drain_from = Some(now);
            }
        }
        if let Some(from) = drain_from {
            let everyone = subs
                .iter()
                .all(|s| s.sock.is_none() || s.bad || s.received >= report.posted);
            let timed_out = now >= from + Duration::from_millis(a.drain_ms);
            if (everyone || timed_out) && !drained {
                drained = true;
                report.drain_s = now.duration_since(from).as_secs_f64();
                if let Some(cpu) = cpu.take() {
                    report.window.window_s = now.duration_since(started_at).as_secs_f64();
                    cpu.finish(t, &mut report.window);
                }
            }
            if (everyone && (poster.unanswered == 0 || !poster_alive)) || timed_out {
                report.drain_timed_out = timed_out && !everyone;
                break;
            }
        }
        let wait = if posting {
            next_post.saturating_duration_since(now)
        } else {
            Duration::from_millis(10)
        };
        let n = ep.wait(wait)?;
        for k in 0..n {
            let (token, events) = ep.event(k);
            if token == poster_token {
                if !poster_alive {
                    continue;
                }
                let mut result = Ok(());
                if is_writable(events) {
                    result = poster.flush();
                }
                if result.is_ok() && is_readable(events) {
                    result = poster.on_readable(&mut buf);
                }
                if let Err(e) = result {
                    error(e);
                    poster_alive = false;
                    if posting {
                        posting = false;
                        drain_from = Some(Instant::now());
                    }
                }
                continue;
            }
            let i = token as usize;
            let sub = &mut subs[i];
            if sub.sock.is_none() || !is_readable(events) {
                continue;
            }
            if let Err(e) = sub.on_readable(i, &mut buf, &mut tally) {
                sub.sock = None;
                // After `lagged` the server ends the stream: that is already counted.
                if !sub.lagged {
                    tally.problem(sub, i, || e.clone());
                    error(e);
                }
            }
        }
    }
    report.poster_late_ms = late.as_secs_f64() * 1e3;
    Ok(finish(report, &subs, tally, errors, first_error))
}

/// Fills in the totals and the delivery check at the end of a run.
fn finish(
    mut report: ChatReport,
    subs: &[Sub],
    mut tally: Tally,
    errors: u64,
    first_error: Option<String>,
) -> ChatReport {
    let late = if report.drain_timed_out {
        format!(
            " by the time the drain gave up, {:.1} s after the last post (late or lost)",
            report.drain_s
        )
    } else {
        String::new()
    };
    for (i, sub) in subs.iter().enumerate() {
        if !sub.bad && sub.received < report.posted {
            let (received, posted) = (sub.received, report.posted);
            // `problem` wants the subscriber mutably only to mark it; count it here.
            tally.bad += 1;
            tally.first_problem.get_or_insert_with(|| {
                format!("subscriber {i}: received {received} of {posted} messages{late}")
            });
        }
    }
    report.window.completed = tally.completed;
    report.window.latency = tally.latency;
    report.window.errors = errors;
    report.window.first_error = first_error.or_else(|| report.window.connect.first_error.clone());
    report.delivered = tally.delivered;
    report.expected = report.subscribers as u64 * report.posted;
    report.lagged = tally.lagged;
    report.incomplete = tally.bad;
    report.first_problem = tally.first_problem;
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{SocketAddr, SocketAddrV4, TcpListener, TcpStream};
    use std::sync::{Arc, Mutex};

    const HEAD: &[u8] =
        b"HTTP/1.1 200 OK\r\nServer: solo\r\nDate: x\r\nContent-Type: text/event-stream\r\n\
        Cache-Control: no-cache\r\nConnection: close\r\n\r\n: solo chat: connected\n\n";

    /// How the test server misbehaves.
    #[derive(Clone, Copy, PartialEq)]
    enum Fault {
        None,
        /// Never sends message 3 to the first subscriber.
        DropOne,
        /// Sends a subscriber `lagged` instead of message 2 and ends its stream.
        Lag,
        /// Holds back every message from 10 on for the first subscriber.
        Stall,
    }

    /// A blocking chat server on a thread per connection: subscribers get the head (and
    /// a history message of another run), posts are broadcast to every subscriber.
    fn serve(fault: Fault) -> SocketAddrV4 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let SocketAddr::V4(addr) = listener.local_addr().unwrap() else {
            unreachable!()
        };
        let subs: Arc<Mutex<Vec<Option<TcpStream>>>> = Arc::default();
        std::thread::spawn(move || {
            let next_id = Arc::new(Mutex::new(0u64));
            for s in listener.incoming() {
                let Ok(mut s) = s else { return };
                let (subs, next_id) = (subs.clone(), next_id.clone());
                std::thread::spawn(move || {
                    let (mut buf, mut pending) = ([0u8; 4096], Vec::new());
                    loop {
                        let Ok(n) = s.read(&mut buf) else { return };
                        if n == 0 {
                            return;
                        }
                        pending.extend_from_slice(&buf[..n]);
                        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&pending[..end]).into_owned();
                            if head.starts_with("GET /chat/events") {
                                let mut subs = subs.lock().unwrap();
                                s.write_all(HEAD).unwrap();
                                s.write_all(b"id: 99\ndata: b0-1-2-old\n\n").unwrap();
                                subs.push(Some(s.try_clone().unwrap()));
                                return;
                            }
                            let len: usize = head
                                .lines()
                                .find_map(|l| l.strip_prefix("Content-Length: "))
                                .unwrap()
                                .parse()
                                .unwrap();
                            if pending.len() < end + 4 + len {
                                break;
                            }
                            let body = pending[end + 4..end + 4 + len].to_vec();
                            pending.drain(..end + 4 + len);
                            let text = String::from_utf8(body).unwrap();
                            let text = text.strip_prefix("msg=").unwrap();
                            let mut subs = subs.lock().unwrap();
                            let mut id = next_id.lock().unwrap();
                            let event = format!("id: {}\ndata: {text}\n\n", *id);
                            for (i, sub) in subs.iter_mut().enumerate() {
                                let Some(stream) = sub else { continue };
                                if fault == Fault::DropOne && i == 0 && *id == 3 {
                                    continue;
                                }
                                if fault == Fault::Stall && i == 0 && *id >= 10 {
                                    continue;
                                }
                                if fault == Fault::Lag && i == 0 && *id == 2 {
                                    let _ = stream.write_all(b"event: lagged\ndata: 1\n\n");
                                    let _ = stream.shutdown(std::net::Shutdown::Both);
                                    *sub = None;
                                    continue;
                                }
                                let _ = stream.write_all(event.as_bytes());
                            }
                            *id += 1;
                            s.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
                        }
                    }
                });
            }
        });
        addr
    }

    fn args(addr: SocketAddrV4, conns: usize) -> ChatArgs {
        ChatArgs {
            target: Target {
                addr,
                conns,
                first_index: 0,
                per_source: 2,
                max_connecting: 4,
                connect_timeout_ms: 10_000,
                server_pid: Some(std::process::id()),
                server_cpu: vec![0],
            },
            window: Window {
                warmup_ms: 50,
                duration_ms: 200,
            },
            rate: 100.0,
            size: 40,
            run: 7,
            drain_ms: 5_000,
            max_unanswered: 1_000,
        }
    }

    #[test]
    fn every_subscriber_gets_every_message_and_the_window_counts_them() {
        let r = run(&args(serve(Fault::None), 5)).unwrap();
        assert_eq!(r.shortfall(), None, "{r:?}");
        assert_eq!((r.subscribers, r.subscribed), (5, 5));
        // 50 ms of warm-up and 200 ms of window at 100 messages/s.
        assert_eq!((r.posted, r.posted_in_window), (25, 20), "{r:?}");
        assert!((r.posting_window_s - 0.2).abs() < 1e-9);
        assert_eq!(r.delivered, 5 * r.posted);
        assert_eq!(r.expected, r.delivered);
        // Every event of the window's messages, however late it was read.
        assert_eq!(r.window.completed, 5 * 20);
        assert_eq!(r.window.latency.count(), r.window.completed);
        // From the first post of the window (the 20th is due 190 ms later; a late first
        // post shortens that) to the last read.
        assert!(
            r.window.window_s >= 0.15 && r.window.server_cpu_s.is_some(),
            "{} s",
            r.window.window_s
        );
        assert_eq!((r.window.errors, r.lagged, r.incomplete), (0, 0, 0));
    }

    #[test]
    fn a_missing_message_makes_the_run_incomplete() {
        let r = run(&args(serve(Fault::DropOne), 3)).unwrap();
        assert_eq!(r.incomplete, 1, "{r:?}");
        let why = r.shortfall().unwrap();
        assert!(
            why.contains("1 of 3 subscribers") && why.contains("message 4 arrived where 3 was due"),
            "{why}"
        );
    }

    #[test]
    fn a_drain_that_gives_up_says_so() {
        let mut a = args(serve(Fault::Stall), 2);
        a.drain_ms = 100;
        let r = run(&a).unwrap();
        assert!(r.drain_timed_out && r.drain_s >= 0.1, "{r:?}");
        assert_eq!(r.incomplete, 1);
        assert!(
            r.shortfall()
                .unwrap()
                .contains("received 10 of 25 messages by the time the drain gave up"),
            "{:?}",
            r.shortfall()
        );
        // The window still ended, when the drain gave up.
        assert!(r.window.window_s > 0.0 && r.window.server_cpu_s.is_some());
    }

    #[test]
    fn lagged_is_lost_events() {
        let r = run(&args(serve(Fault::Lag), 2)).unwrap();
        assert_eq!((r.lagged, r.incomplete), (1, 1), "{r:?}");
        assert!(r.shortfall().unwrap().contains("1 `lagged`"));
    }

    fn fed(sub: &mut Sub, tally: &mut Tally, bytes: &[u8], one_at_a_time: bool) {
        let at = Instant::now();
        if one_at_a_time {
            for b in bytes {
                sub.feed(std::slice::from_ref(b), 0, at, tally).unwrap();
            }
        } else {
            sub.feed(bytes, 0, at, tally).unwrap();
        }
    }

    fn tally(posted: usize) -> Tally {
        Tally {
            prefix: b"b7-".to_vec(),
            begin: Instant::now(),
            window: 0..u64::MAX,
            completed: 0,
            latency: Histogram::new(),
            delivered: 0,
            lagged: 0,
            ids: vec![u64::MAX; posted],
            bad: 0,
            first_problem: None,
        }
    }

    #[test]
    fn a_stream_split_anywhere_reads_the_same() {
        let mut stream = HEAD.to_vec();
        stream.extend_from_slice(b"id: 4\r\ndata: b6-0-0-history\r\n\r\n: ping\n\n");
        for seq in 0..3 {
            stream
                .extend_from_slice(format!("id: {}\ndata: b7-{seq}-0-xx\n\n", seq + 10).as_bytes());
        }
        stream.extend_from_slice(b"id: 13\ndata: b7-3-0\ndata: second line\n\n");
        for one_at_a_time in [false, true] {
            let mut t = tally(4);
            let mut sub = Sub::new(None);
            fed(&mut sub, &mut t, &stream, one_at_a_time);
            assert_eq!(
                (sub.received, sub.next, sub.bad),
                (4, 4, false),
                "{:?}",
                t.first_problem
            );
            assert_eq!((t.delivered, t.completed, t.latency.count()), (4, 4, 4));
            assert_eq!(t.ids, [10, 11, 12, 13]);
        }
    }

    #[test]
    fn ids_must_agree_between_subscribers_and_grow() {
        let mut t = tally(2);
        let (mut a, mut b) = (Sub::new(None), Sub::new(None));
        fed(&mut a, &mut t, HEAD, false);
        fed(&mut b, &mut t, HEAD, false);
        fed(
            &mut a,
            &mut t,
            b"id: 0\ndata: b7-0-0\n\nid: 1\ndata: b7-1-0\n\n",
            false,
        );
        fed(&mut b, &mut t, b"id: 5\ndata: b7-0-0\n\n", false);
        assert!(!a.bad && b.bad);
        assert!(
            t.first_problem
                .unwrap()
                .contains("id 5 here but 0 at another")
        );
        let mut t = tally(2);
        let mut c = Sub::new(None);
        fed(&mut c, &mut t, HEAD, false);
        fed(
            &mut c,
            &mut t,
            b"id: 3\ndata: b7-0-0\n\nid: 3\ndata: b7-1-0\n\n",
            false,
        );
        assert!(
            t.first_problem
                .unwrap()
                .contains("not above the previous id 3")
        );
    }

    #[test]
    fn heads_must_be_an_unframed_event_stream() {
        assert!(check_head(HEAD).is_ok());
        let chunked = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert!(check_head(chunked).unwrap_err().contains("chunked"));
        let html = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n";
        assert!(
            check_head(html)
                .unwrap_err()
                .contains("not text/event-stream")
        );
        assert!(
            check_head(b"HTTP/1.1 404 Not Found\r\n\r\n")
                .unwrap_err()
                .contains("404")
        );
        assert!(
            check_head(b"SSH-2.0\r\n\r\n")
                .unwrap_err()
                .contains("not an HTTP")
        );
    }

    #[test]
    fn markers_and_messages() {
        assert_eq!(parse_marker(b"b7-12-345-xxx", b"b7-"), Some((12, 345)));
        assert_eq!(parse_marker(b"b7-12-345", b"b7-"), Some((12, 345)));
        assert_eq!(parse_marker(b"b71-12-345", b"b7-"), None);
        assert_eq!(parse_marker(b"b7-12", b"b7-"), None);
        assert_eq!(parse_marker(b"b7-12-34y", b"b7-"), None);
        assert_eq!(parse_marker(b"hello", b"b7-"), None);
        let m = message(7, 12, 345, 64);
        assert_eq!(m.len(), 64);
        assert_eq!(parse_marker(m.as_bytes(), b"b7-"), Some((12, 345)));
        assert_eq!(message(1, 2, 3, 0), "b1-2-3-");
        assert_eq!(message(1, 2, 3, 5000).len(), MAX_MESSAGE);
    }

    #[test]
    fn a_short_report_says_what_is_missing() {
        let r = ChatReport {
            subscribers: 10,
            subscribed: 10,
            posted: 5,
            delivered: 50,
            expected: 50,
            ..Default::default()
        };
        assert_eq!(r.shortfall(), None);
        let r = ChatReport {
            subscribed: 8,
            delivered: 40,
            incomplete: 2,
            lagged: 1,
            first_problem: Some("subscriber 3: x".into()),
            ..r
        };
        let s = r.shortfall().unwrap();
        assert!(
            s.contains("2 of 10 subscribers")
                && s.contains("40 of 50 events")
                && s.contains("1 `lagged`")
                && s.contains("8 of 10 subscribed")
                && s.contains("first: subscriber 3: x"),
            "{s}"
        );
        let nothing = ChatReport {
            subscribers: 1,
            subscribed: 1,
            ..Default::default()
        };
        assert!(nothing.shortfall().unwrap().contains("nothing was posted"));
    }
}
