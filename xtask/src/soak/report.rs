//! What a soak counts, what it requires at the end, and the summary it prints: pure
//! functions over plain data, so that the verdict can be tested without a server.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Deserialize;

use crate::bench::report::group;

/// The kinds of response (and event) the soak checks, each counted when correct.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `GET /plaintext`: `200`, `Hello, World!`.
    Plaintext,
    /// `GET /json`: `200`, the JSON greeting.
    Json,
    /// `GET /static/...`: `200`, the file's bytes.
    Static,
    /// `HEAD` of a route or a file: the head with its `Content-Length`, no body.
    Head,
    /// A path that does not exist, with or without a body: `404`.
    NotFound,
    /// A chunked `POST` to a `GET` route: `405` with `Allow`.
    NotAllowed,
    /// A malformed request: `400` and close.
    BadRequest,
    /// `POST /chat/send` (plain, form-encoded, chunked): `204`.
    ChatSend,
    /// A slow client past the header timeout: `408` and close.
    Timeout,
    /// An event received by a subscriber: in order, no gap, the text posted.
    SseEvent,
    /// `GET /stats` (subscribers and posters ask which shard they are on): `200` JSON.
    Stats,
}

impl Kind {
    /// Every kind, in table order.
    pub const ALL: [Kind; 11] = [
        Kind::Plaintext,
        Kind::Json,
        Kind::Static,
        Kind::Head,
        Kind::NotFound,
        Kind::NotAllowed,
        Kind::BadRequest,
        Kind::ChatSend,
        Kind::Timeout,
        Kind::Stats,
        Kind::SseEvent,
    ];

    /// Its line in the summary.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Plaintext => "GET /plaintext                 200",
            Kind::Json => "GET /json                      200",
            Kind::Static => "GET /static/<file>             200",
            Kind::Head => "HEAD (routes and files)        200",
            Kind::NotFound => "unknown paths                  404",
            Kind::NotAllowed => "chunked POST to a GET route    405",
            Kind::BadRequest => "malformed requests             400",
            Kind::ChatSend => "POST /chat/send                204",
            Kind::Timeout => "slow past the header timeout   408",
            Kind::Stats => "GET /stats                     200",
            Kind::SseEvent => "chat events received by subscribers",
        }
    }
}

/// What one connection of the churn does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// Requests one at a time on one keep-alive connection.
    KeepAlive,
    /// Batches of pipelined requests, sometimes written in pieces.
    Pipelined,
    /// Requests, then `shutdown(SHUT_WR)`: every response must still arrive.
    HalfClose,
    /// A request (or part of one), then `SO_LINGER` 0 and close: a reset.
    Reset,
    /// Connect and close without a request.
    OpenClose,
    /// A request a byte at a time, inside the header timeout: answered normally.
    SlowInTime,
    /// A request a byte at a time, past the header timeout: `408` or a close.
    SlowTimeout,
    /// A malformed request: `400`.
    BadRequest,
    /// A chat subscriber that comes and goes.
    Subscriber,
    /// The chat poster (one at a time, so the order of messages is known).
    Poster,
}

impl Scenario {
    /// Every scenario, in table order.
    pub const ALL: [Scenario; 10] = [
        Scenario::KeepAlive,
        Scenario::Pipelined,
        Scenario::HalfClose,
        Scenario::Reset,
        Scenario::OpenClose,
        Scenario::SlowInTime,
        Scenario::SlowTimeout,
        Scenario::BadRequest,
        Scenario::Subscriber,
        Scenario::Poster,
    ];

    /// Its line in the summary.
    pub fn label(self) -> &'static str {
        match self {
            Scenario::KeepAlive => "keep-alive, one request at a time",
            Scenario::Pipelined => "pipelined batches (some split)",
            Scenario::HalfClose => "half-closed after the requests",
            Scenario::Reset => "reset (SO_LINGER 0) mid-exchange",
            Scenario::OpenClose => "opened and closed, no request",
            Scenario::SlowInTime => "a byte at a time, in time",
            Scenario::SlowTimeout => "a byte at a time, too slow",
            Scenario::BadRequest => "malformed request",
            Scenario::Subscriber => "chat subscribers (came and went)",
            Scenario::Poster => "chat posters",
        }
    }
}

/// How many errors are kept word for word.
pub const KEPT_ERRORS: usize = 10;

/// The counts of a soak: correct responses by kind, finished connections by scenario,
/// and the errors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    responses: [u64; Kind::ALL.len()],
    scenarios: [u64; Scenario::ALL.len()],
    /// Slow clients past the header timeout that saw only a close (no `408`).
    pub slow_closed: u64,
    /// Connections opened.
    pub connections: u64,
    /// The most connections open at once.
    pub max_open: usize,
    /// Everything that went wrong (a wrong response, a lost event, a stuck client...).
    pub errors: u64,
    /// The first [`KEPT_ERRORS`] errors.
    pub first_errors: Vec<String>,
}

impl Tally {
    /// One more correct response of `kind`.
    pub fn response(&mut self, kind: Kind) {
        self.responses[kind as usize] += 1;
    }

    /// One more connection that played `scenario` to its end.
    pub fn finished(&mut self, scenario: Scenario) {
        self.scenarios[scenario as usize] += 1;
    }

    /// Records an error.
    pub fn error(&mut self, message: String) {
        self.errors += 1;
        if self.first_errors.len() < KEPT_ERRORS {
            self.first_errors.push(message);
        }
    }

    /// Correct responses of `kind`.
    pub fn responses(&self, kind: Kind) -> u64 {
        self.responses[kind as usize]
    }

    /// Connections that played `scenario` to its end.
    pub fn scenarios(&self, scenario: Scenario) -> u64 {
        self.scenarios[scenario as usize]
    }

    /// Correct HTTP responses of every kind (events not included).
    pub fn total_responses(&self) -> u64 {
        Kind::ALL
            .iter()
            .filter(|&&k| k != Kind::SseEvent)
            .map(|&k| self.responses(k))
            .sum()
    }
}

/// One shard's counters from `/stats` (the fields the soak reads).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct ShardStats {
    /// Which shard answered.
    pub shard: u64,
    /// How many shards the server has.
    pub shards: u64,
    /// Connections open in that shard (the probe included).
    pub open_connections: u64,
    /// Event-stream subscribers.
    pub chat_subscribers: u64,
    /// Sources registered with the shard's reactor.
    pub reactor_sources: u64,
    /// Timers armed in the shard's reactor.
    pub reactor_timers: u64,
}

/// The server's resources at one point, while it is quiet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sample {
    /// Entries of `/proc/PID/fd`.
    pub fds: usize,
    /// `VmRSS`, in KiB.
    pub rss_kib: u64,
    /// `/stats` of every shard, by shard number.
    pub shards: Vec<ShardStats>,
}

/// How the server ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this code.
    Code(i32),
    /// A signal killed it.
    Signal(i32),
    /// It could not be stopped or waited for.
    Failed(String),
}

/// Everything the verdict and the summary need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The churn after the warm-up.
    pub churn: Duration,
    /// The warm-up before the start sample.
    pub warmup: Duration,
    /// The seed of the random mix.
    pub seed: u64,
    /// Connections at a time.
    pub conns: usize,
    /// The server's shards.
    pub threads: u16,
    /// The server's header timeout.
    pub header_timeout: Duration,
    /// The counts of warm-up and churn together.
    pub tally: Tally,
    /// Quiet, after the warm-up.
    pub start: Sample,
    /// Quiet again, after the churn.
    pub end: Sample,
    /// `VmHWM` at the end, in KiB.
    pub peak_rss_kib: u64,
    /// Whether the server went quiet after the load (no connection but the probe).
    pub quiet: Result<(), String>,
    /// How it ended after `SIGINT`.
    pub exit: Exit,
    /// The first line of its output that says `panicked`, if any.
    pub panic_line: Option<String>,
}

/// How far above the start the resident set may end, in KiB: the larger of 4 MiB and a
/// tenth of the start.
///
/// Why any slack: memory freed by the server goes back to the allocator, which keeps
/// much of it (glibc's arenas and their top chunks, freed small blocks in its bins) rather
/// than return it to the kernel, and touched pages of the blocking pool's thread stacks
/// stay resident; none of that is a leak. A leak grows with the work done, so over a
/// soak's millions of requests it leaves this bound far behind.
pub fn rss_allowance_kib(start_kib: u64) -> u64 {
    (4 * 1024).max(start_kib / 10)
}

/// A churn at least this long must have exercised every kind and scenario.
pub const FULL_COVERAGE_AFTER: Duration = Duration::from_secs(20);

/// Everything that fails the soak, one line each; empty when it passed.
pub fn verdict(s: &Summary) -> Vec<String> {
    let mut failures = Vec::new();
    let t = &s.tally;
    if t.errors > 0 {
        failures.push(format!(
            "{} error(s) in responses, events or connections; first: {}",
            group(t.errors as f64),
            t.first_errors.first().map_or("?", String::as_str)
        ));
    }
    if t.total_responses() == 0 {
        failures.push("no response was checked at all".into());
    } else if s.churn >= FULL_COVERAGE_AFTER {
        let kinds = Kind::ALL
            .iter()
            .filter(|&&k| t.responses(k) == 0)
            .map(|k| k.label().split("  ").next().unwrap_or("?"));
        let scenarios = Scenario::ALL
            .iter()
            .filter(|&&sc| t.scenarios(sc) == 0)
            .map(|sc| sc.label());
        let missing: Vec<&str> = kinds.chain(scenarios).collect();
        // A slow client past the timeout may see a 408 or only a close; either will do.
        let missing: Vec<&str> = missing
            .into_iter()
            .filter(|m| !(m.starts_with("slow past") && t.slow_closed > 0))
            .collect();
        if !missing.is_empty() {
            failures.push(format!("never exercised: {}", missing.join("; ")));
        }
    }
    if let Err(e) = &s.quiet {
        failures.push(format!("the server did not go quiet after the load: {e}"));
    }
    if s.end.fds != s.start.fds {
        failures.push(format!(
            "open descriptors: {} at the start, {} at the end (must be equal)",
            s.start.fds, s.end.fds
        ));
    }
    let allowance = rss_allowance_kib(s.start.rss_kib);
    if s.end.rss_kib > s.start.rss_kib + allowance {
        failures.push(format!(
            "RSS grew from {} to {}, more than the {} allowed",
            mib(s.start.rss_kib),
            mib(s.end.rss_kib),
            mib(allowance)
        ));
    }
    for end in &s.end.shards {
        if end.chat_subscribers != 0 {
            failures.push(format!(
                "shard {}: {} chat subscriber(s) left after every client went",
                end.shard, end.chat_subscribers
            ));
        }
        match s.start.shards.iter().find(|st| st.shard == end.shard) {
            Some(start) => {
                if (start.reactor_sources, start.reactor_timers)
                    != (end.reactor_sources, end.reactor_timers)
                {
                    failures.push(format!(
                        "shard {}: reactor sources/timers {}/{} at the start, {}/{} at the end",
                        end.shard,
                        start.reactor_sources,
                        start.reactor_timers,
                        end.reactor_sources,
                        end.reactor_timers
                    ));
                }
            }
            None => failures.push(format!("shard {} was not sampled at the start", end.shard)),
        }
    }
    match &s.exit {
        Exit::Code(0) => {}
        Exit::Code(c) => failures.push(format!("the server exited with {c} after SIGINT")),
        Exit::Signal(sig) => failures.push(format!("the server was killed by signal {sig}")),
        Exit::Failed(e) => failures.push(format!("stopping the server: {e}")),
    }
    if let Some(line) = &s.panic_line {
        failures.push(format!("the server panicked: {line}"));
    }
    failures
}

/// KiB as MiB with one decimal.
pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// `m:ss` (or `s.s s` under a minute).
fn clock(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        format!("{s:.1} s")
    } else {
        let whole = d.as_secs();
        format!("{}:{:02} min", whole / 60, whole % 60)
    }
}

/// The summary table, ending with the verdict.
pub fn render(s: &Summary, failures: &[String]) -> String {
    let t = &s.tally;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "soak: {} of churn after {} of warm-up · {} connections at a time · {} server \
         thread(s) · header timeout {} · seed {}",
        clock(s.churn),
        clock(s.warmup),
        s.conns,
        s.threads,
        clock(s.header_timeout),
        s.seed
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<50}{:>14}",
        "responses checked (all correct)", "count"
    );
    for k in Kind::ALL {
        let _ = writeln!(
            out,
            "  {:<48}{:>14}",
            k.label(),
            group(t.responses(k) as f64)
        );
    }
    let _ = writeln!(
        out,
        "  {:<48}{:>14}",
        "total HTTP responses",
        group(t.total_responses() as f64)
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<50}{:>14}",
        "connections, by what they did", "count"
    );
    for sc in Scenario::ALL {
        let mut label = sc.label().to_string();
        if sc == Scenario::SlowTimeout {
            let _ = write!(label, " ({} only a close)", group(t.slow_closed as f64));
        }
        let _ = writeln!(out, "  {:<48}{:>14}", label, group(t.scenarios(sc) as f64));
    }
    let _ = writeln!(
        out,
        "  {:<48}{:>14}",
        "connections opened",
        group(t.connections as f64)
    );
    let _ = writeln!(
        out,
        "  {:<48}{:>14}",
        "most open at once",
        group(t.max_open as f64)
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "{:<50}{:>14}", "errors", group(t.errors as f64));
    for e in &t.first_errors {
        let _ = writeln!(out, "  {e}");
    }
    if t.errors > t.first_errors.len() as u64 {
        let _ = writeln!(
            out,
            "  ... and {} more",
            t.errors - t.first_errors.len() as u64
        );
    }
    let _ = writeln!(out);
    let allowance = rss_allowance_kib(s.start.rss_kib);
    let _ = writeln!(
        out,
        "{:<26}{:>12}{:>12}{:>12}",
        "server", "start", "peak", "end"
    );
    let _ = writeln!(
        out,
        "  {:<24}{:>12}{:>12}{:>12}   must be equal",
        "open descriptors", s.start.fds, "", s.end.fds
    );
    let _ = writeln!(
        out,
        "  {:<24}{:>12}{:>12}{:>12}   end ≤ start + {} (allocator caches)",
        "RSS",
        mib(s.start.rss_kib),
        mib(s.peak_rss_kib),
        mib(s.end.rss_kib),
        mib(allowance)
    );
    let regs = |sample: &Sample| {
        sample
            .shards
            .iter()
            .map(|st| format!("{}/{}", st.reactor_sources, st.reactor_timers))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let _ = writeln!(
        out,
        "  {:<24}{:>12}{:>12}{:>12}   must be equal",
        "reactor sources/timers",
        regs(&s.start),
        "",
        regs(&s.end)
    );
    let exit = match &s.exit {
        Exit::Code(c) => format!("exit code {c}"),
        Exit::Signal(sig) => format!("killed by signal {sig}"),
        Exit::Failed(e) => e.clone(),
    };
    let panics = if s.panic_line.is_some() {
        "a panic in its output"
    } else {
        "no panic in its output"
    };
    let _ = writeln!(out, "  {:<24}{exit} after SIGINT; {panics}", "shutdown");
    let _ = writeln!(out);
    if failures.is_empty() {
        let _ = writeln!(out, "PASS");
    } else {
        let _ = writeln!(out, "FAIL");
        for f in failures {
            let _ = writeln!(out, "  - {f}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(sources: u64, timers: u64, subscribers: u64) -> ShardStats {
        ShardStats {
            shard: 0,
            shards: 1,
            open_connections: 1,
            chat_subscribers: subscribers,
            reactor_sources: sources,
            reactor_timers: timers,
        }
    }

    /// A soak that passed: every kind and scenario seen, resources back where they were.
    fn passing() -> Summary {
        let mut tally = Tally::default();
        for k in Kind::ALL {
            tally.response(k);
        }
        for sc in Scenario::ALL {
            tally.finished(sc);
        }
        tally.connections = 10;
        tally.max_open = 5;
        Summary {
            churn: Duration::from_secs(60),
            warmup: Duration::from_secs(2),
            seed: 7,
            conns: 256,
            threads: 1,
            header_timeout: Duration::from_secs(2),
            tally,
            start: Sample {
                fds: 12,
                rss_kib: 3000,
                shards: vec![shard(3, 1, 0)],
            },
            end: Sample {
                fds: 12,
                rss_kib: 3000 + 4096,
                shards: vec![shard(3, 1, 0)],
            },
            peak_rss_kib: 9000,
            quiet: Ok(()),
            exit: Exit::Code(0),
            panic_line: None,
        }
    }

    #[test]
    fn a_clean_soak_passes_and_says_so() {
        let s = passing();
        assert_eq!(verdict(&s), Vec::<String>::new());
        let text = render(&s, &[]);
        assert!(text.trim_end().ends_with("PASS"), "{text}");
        assert!(text.contains("GET /plaintext"), "{text}");
        assert!(text.contains("reset (SO_LINGER 0)"), "{text}");
        assert!(
            text.contains("2.9 MiB") && text.contains("8.8 MiB"),
            "{text}"
        );
        assert!(
            text.contains("exit code 0 after SIGINT; no panic"),
            "{text}"
        );
        assert!(
            text.contains("1:00 min of churn after 2.0 s of warm-up"),
            "{text}"
        );
    }

    #[test]
    fn the_rss_allowance_is_4_mib_or_a_tenth() {
        assert_eq!(rss_allowance_kib(0), 4096);
        assert_eq!(rss_allowance_kib(3000), 4096);
        assert_eq!(rss_allowance_kib(40960), 4096);
        assert_eq!(rss_allowance_kib(100_000), 10_000);
        let mut s = passing();
        s.end.rss_kib = 3000 + 4097;
        let f = verdict(&s);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(
            f[0].starts_with("RSS grew from 2.9 MiB to 6.9 MiB"),
            "{f:?}"
        );
        // Ending below the start is fine.
        s.end.rss_kib = 100;
        assert!(verdict(&s).is_empty());
    }

    #[test]
    fn descriptors_must_come_back_exactly() {
        for end in [11, 13] {
            let mut s = passing();
            s.end.fds = end;
            let f = verdict(&s);
            assert_eq!(
                f,
                [format!(
                    "open descriptors: 12 at the start, {end} at the end (must be equal)"
                )]
            );
            assert!(render(&s, &f).contains("FAIL\n  - open descriptors"));
        }
    }

    #[test]
    fn errors_fail_and_are_listed() {
        let mut s = passing();
        for i in 0..(KEPT_ERRORS + 3) {
            s.tally
                .error(format!("keep-alive: GET /json: expected 200, got {i}"));
        }
        assert_eq!(s.tally.errors, KEPT_ERRORS as u64 + 3);
        assert_eq!(s.tally.first_errors.len(), KEPT_ERRORS);
        let f = verdict(&s);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].starts_with("13 error(s)") && f[0].ends_with("got 0"),
            "{f:?}"
        );
        let text = render(&s, &f);
        assert!(text.contains("... and 3 more"), "{text}");
    }

    #[test]
    fn leftover_registrations_and_subscribers_fail() {
        let mut s = passing();
        s.end.shards = vec![shard(4, 1, 1)];
        let f = verdict(&s);
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(f[0].contains("1 chat subscriber(s) left"));
        assert!(f[1].contains("3/1 at the start, 4/1 at the end"));
        s.start.shards.clear();
        s.end.shards = vec![shard(3, 1, 0)];
        assert_eq!(verdict(&s), ["shard 0 was not sampled at the start"]);
    }

    #[test]
    fn the_shutdown_must_be_clean() {
        let mut s = passing();
        s.exit = Exit::Code(1);
        s.panic_line = Some("thread 'main' panicked at src/x.rs:1:1".into());
        s.quiet = Err("3 connections still open after 30 s".into());
        let f = verdict(&s);
        assert_eq!(f.len(), 3, "{f:?}");
        assert!(f[0].contains("did not go quiet"));
        assert!(f[1].contains("exited with 1"));
        assert!(f[2].contains("panicked at src/x.rs"));
        s.exit = Exit::Signal(9);
        s.panic_line = None;
        s.quiet = Ok(());
        assert_eq!(verdict(&s), ["the server was killed by signal 9"]);
        s.exit = Exit::Failed("did not exit".into());
        assert_eq!(verdict(&s), ["stopping the server: did not exit"]);
    }

    #[test]
    fn a_long_soak_must_exercise_everything_a_short_one_need_not() {
        let mut s = passing();
        s.tally = Tally::default();
        s.tally.response(Kind::Plaintext);
        let f = verdict(&s);
        assert_eq!(f.len(), 1);
        assert!(f[0].starts_with("never exercised: GET /json;"), "{f:?}");
        assert!(f[0].contains("chat posters"), "{f:?}");
        s.churn = Duration::from_secs(5);
        assert!(verdict(&s).is_empty());
        s.tally = Tally::default();
        assert_eq!(verdict(&s), ["no response was checked at all"]);
    }

    #[test]
    fn slow_clients_may_see_a_close_instead_of_a_408() {
        let mut s = passing();
        s.tally = Tally::default();
        for k in Kind::ALL.iter().filter(|&&k| k != Kind::Timeout) {
            s.tally.response(*k);
        }
        for sc in Scenario::ALL {
            s.tally.finished(sc);
        }
        assert_eq!(verdict(&s).len(), 1);
        s.tally.slow_closed = 1;
        assert!(verdict(&s).is_empty());
        assert!(render(&s, &[]).contains("too slow (1 only a close)"));
    }

    #[test]
    fn stats_parse_from_the_servers_json() {
        let json = r#"{"shard":0,"shards":1,"open_connections":1,"accepted":4,"rejected":0,"requests":4,"chat_subscribers":0,"chat_messages":0,"loop_iterations":14,"reactor_events":12,"reactor_sources":3,"reactor_timers":0,"connection_future_bytes":112,"rss_bytes":3022848,"baseline_rss_bytes":2863104,"bytes_per_connection":null}"#;
        let st: ShardStats = serde_json::from_str(json).unwrap();
        assert_eq!(st, shard(3, 0, 0));
    }
}
