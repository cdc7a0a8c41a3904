//! `/metrics` in the Prometheus text exposition format, and the samples of `/dashboard`'s
//! live feed: both rendered from each shard's figures ([`ShardFigures`]), gathered over the
//! shard mesh the way `/stats` is. Runtime-free: plain data in, text out.
//!
//! # The families
//!
//! Every figure a shard has comes as a family `solo_shard_<name>` with one sample per shard
//! (label `shard="0"`, `shard="1"`, ...); the figures that add up across shards also come as
//! `solo_<name>`, the server's total, without a label (so that `sum(solo_shard_x)` and
//! `solo_x` agree and neither double counts). Process-wide figures (the blocking pool,
//! resident memory) come once, without a label. Times are in seconds, sizes in bytes,
//! counters end in `_total`, as Prometheus names them.
//!
//! A shard that did not answer in time is left out of the per-shard families (and of the
//! totals), and `solo_shard_up{shard="i"}` is 0 for it.

use std::fmt::Write as _;
use std::time::Duration;

use solo::metrics::{EVENTS_PER_WAIT_BUCKETS, Histogram, Metrics};

use crate::stats::Snapshot;

/// The upper bounds of the timer-lag histogram's buckets: powers of four from 1 µs to
/// about 17 s (each a boundary of the runtime's own buckets, so the counts are exact).
pub const LAG_BOUNDS_US: [u64; 13] = [
    1,
    4,
    16,
    64,
    256,
    1 << 10,
    1 << 12,
    1 << 14,
    1 << 16,
    1 << 18,
    1 << 20,
    1 << 22,
    1 << 24,
];

/// One shard's figures at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardFigures {
    /// The server's counters (connections, requests, chat) with the reactor's.
    pub server: Snapshot,
    /// The shard's runtime: executor, reactor, the process's blocking pool.
    pub runtime: Metrics,
    /// Heap bytes the shard's thread holds now (see [`crate::heap`]), if counted.
    pub heap_bytes: Option<i64>,
    /// Heap bytes it held when it started serving.
    pub heap_baseline: Option<i64>,
}

impl ShardFigures {
    /// Heap bytes above the shard's start per open connection of the shard, when counted
    /// and a connection is open.
    pub fn heap_per_connection(&self) -> Option<u64> {
        let grown = self.heap_bytes? - self.heap_baseline?;
        let grown = u64::try_from(grown.max(0)).ok()?;
        grown.checked_div(self.server.open_connections)
    }
}

/// What `/metrics` renders: every shard's figures and the process's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Exposition {
    /// Each shard's figures, by shard; `None` for a shard that did not answer in time.
    pub shards: Vec<Option<ShardFigures>>,
    /// Resident memory now, where it can be read.
    pub rss_bytes: Option<u64>,
    /// Resident memory at startup.
    pub baseline_rss_bytes: Option<u64>,
}

/// A family being written: its name, and whether a header was written.
struct Out<'a> {
    text: &'a mut String,
}

/// One family of a table: its name, kind, help, and how to read it.
type Row<From, To> = (&'static str, Kind, &'static str, fn(&From) -> To);

#[derive(Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        }
    }
}

impl Out<'_> {
    fn header(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &str, value: f64) {
        self.text.push_str(name);
        if !labels.is_empty() {
            let _ = write!(self.text, "{{{labels}}}");
        }
        self.text.push(' ');
        push_float(self.text, value);
        self.text.push('\n');
    }
}

/// Appends `value` the way Prometheus reads it (`+Inf`, `NaN`, plain decimals).
fn push_float(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        let _ = write!(out, "{}", value as i64);
    } else {
        let _ = write!(out, "{value}");
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

impl Exposition {
    fn answered(&self) -> impl Iterator<Item = (usize, &ShardFigures)> {
        self.shards
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|s| (i, s)))
    }

    /// A family per shard (`solo_shard_<name>`) and, with `total`, the server's sum
    /// (`solo_<name>`).
    fn family(
        &self,
        out: &mut Out<'_>,
        name: &str,
        kind: Kind,
        help: &str,
        total: bool,
        value: impl Fn(&ShardFigures) -> f64,
    ) {
        if total {
            let full = format!("solo_{name}");
            out.header(&full, kind.name(), &format!("{help} (all shards)"));
            let sum: f64 = self.answered().map(|(_, s)| value(s)).sum();
            out.sample(&full, "", sum);
        }
        let full = format!("solo_shard_{name}");
        out.header(&full, kind.name(), &format!("{help} (per shard)"));
        for (i, s) in self.answered() {
            out.sample(&full, &format!("shard=\"{i}\""), value(s));
        }
    }

    /// A histogram per shard and, with `total`, the server's (all shards' values merged).
    fn histogram(
        &self,
        out: &mut Out<'_>,
        name: &str,
        help: &str,
        bounds: &[(f64, &str)],
        total: bool,
        buckets: impl Fn(&ShardFigures) -> (Vec<u64>, u64, f64),
    ) {
        let write = |out: &mut Out<'_>,
                     full: &str,
                     label: &str,
                     (counts, count, sum): (Vec<u64>, u64, f64)| {
            let sep = if label.is_empty() { "" } else { "," };
            for ((_, le), n) in bounds.iter().zip(&counts) {
                out.sample(
                    &format!("{full}_bucket"),
                    &format!("{label}{sep}le=\"{le}\""),
                    *n as f64,
                );
            }
            out.sample(
                &format!("{full}_bucket"),
                &format!("{label}{sep}le=\"+Inf\""),
                count as f64,
            );
            out.sample(&format!("{full}_sum"), label, sum);
            out.sample(&format!("{full}_count"), label, count as f64);
        };
        if total {
            let full = format!("solo_{name}");
            out.header(&full, "histogram", &format!("{help} (all shards)"));
            let mut all = (vec![0; bounds.len()], 0, 0.0);
            for (_, s) in self.answered() {
                let (counts, count, sum) = buckets(s);
                for (a, c) in all.0.iter_mut().zip(counts) {
                    *a += c;
                }
                all.1 += count;
                all.2 += sum;
            }
            write(out, &full, "", all);
        }
        let full = format!("solo_shard_{name}");
        out.header(&full, "histogram", &format!("{help} (per shard)"));
        for (i, s) in self.answered() {
            write(out, &full, &format!("shard=\"{i}\""), buckets(s));
        }
    }

    /// Appends the exposition (text format 0.0.4).
    pub fn write(&self, text: &mut String) {
        let mut out = Out { text };
        use Kind::{Counter, Gauge};

        out.header("solo_shards", "gauge", "Shards (threads) of the server");
        out.sample("solo_shards", "", self.shards.len() as f64);
        out.header(
            "solo_shard_up",
            "gauge",
            "1 if the shard answered this scrape in time, 0 if not",
        );
        for (i, s) in self.shards.iter().enumerate() {
            out.sample(
                "solo_shard_up",
                &format!("shard=\"{i}\""),
                f64::from(u8::from(s.is_some())),
            );
        }

        // The server.
        let server: [Row<Snapshot, u64>; 6] = [
            ("connections_open", Gauge, "Connections open now", |s| {
                s.open_connections
            }),
            (
                "connections_accepted_total",
                Counter,
                "Connections accepted",
                |s| s.accepted,
            ),
            (
                "connections_rejected_total",
                Counter,
                "Connections refused with 503 because the shard was full",
                |s| s.rejected,
            ),
            (
                "http_requests_total",
                Counter,
                "HTTP requests answered",
                |s| s.requests,
            ),
            (
                "chat_subscribers",
                Gauge,
                "Chat event-stream subscribers now",
                |s| s.chat_subscribers,
            ),
            (
                "chat_messages_total",
                Counter,
                "Chat messages posted on the shard",
                |s| s.chat_messages,
            ),
        ];
        for (name, kind, help, get) in server {
            self.family(&mut out, name, kind, help, true, |s| get(&s.server) as f64);
        }

        // The executor.
        let executor: [Row<Metrics, u64>; 6] = [
            ("tasks_spawned_total", Counter, "Tasks spawned", |m| {
                m.executor.spawned
            }),
            ("tasks_alive", Gauge, "Unfinished tasks now", |m| {
                m.executor.alive
            }),
            ("task_polls_total", Counter, "Polls of tasks", |m| {
                m.executor.polls
            }),
            (
                "tasks_queued",
                Gauge,
                "Tasks woken and waiting for their poll now",
                |m| m.executor.queued,
            ),
            (
                "remote_wakes_total",
                Counter,
                "Tasks woken from other threads",
                |m| m.executor.remote_wakes,
            ),
            (
                "long_polls_total",
                Counter,
                "Polls longer than the long-poll threshold",
                |m| m.executor.long_polls,
            ),
        ];
        for (name, kind, help, get) in executor {
            self.family(&mut out, name, kind, help, true, |s| get(&s.runtime) as f64);
        }
        self.family(
            &mut out,
            "longest_poll_seconds",
            Gauge,
            "The longest poll measured while the long-poll detector was on",
            false,
            |s| secs(s.runtime.executor.longest_poll),
        );
        self.family(
            &mut out,
            "long_poll_threshold_seconds",
            Gauge,
            "The long-poll threshold (NaN: the detector is off)",
            false,
            |s| {
                s.runtime
                    .executor
                    .long_poll_threshold
                    .map_or(f64::NAN, secs)
            },
        );

        // The reactor.
        let reactor: [Row<Metrics, f64>; 9] = [
            ("reactor_waits_total", Counter, "Waits in the poller", |m| {
                m.reactor.waits as f64
            }),
            (
                "reactor_events_total",
                Counter,
                "Readiness events delivered by the poller",
                |m| m.reactor.events as f64,
            ),
            (
                "reactor_stale_events_total",
                Counter,
                "Events dropped because their source was gone",
                |m| m.reactor.stale_events as f64,
            ),
            (
                "reactor_sources",
                Gauge,
                "Sources registered with the reactor now",
                |m| m.reactor.sources as f64,
            ),
            ("reactor_timers", Gauge, "Timers pending now", |m| {
                m.reactor.timers as f64
            }),
            ("timers_fired_total", Counter, "Timers fired", |m| {
                m.reactor.timers_fired as f64
            }),
            (
                "loop_blocked_seconds_total",
                Counter,
                "Time the event loop spent blocked in the poller",
                |m| secs(m.reactor.blocked),
            ),
            (
                "loop_busy_seconds_total",
                Counter,
                "Time the event loop was not blocked (tasks, timers, I/O)",
                |m| secs(m.reactor.busy()),
            ),
            (
                "poller_reinits_after_fork_total",
                Counter,
                "Times the poller was re-created in a fork child",
                |m| m.reactor.reinits_after_fork as f64,
            ),
        ];
        for (name, kind, help, get) in reactor {
            self.family(&mut out, name, kind, help, true, |s| get(&s.runtime));
        }
        self.family(
            &mut out,
            "loop_uptime_seconds",
            Gauge,
            "Time since the shard's event loop started",
            false,
            |s| secs(s.runtime.reactor.uptime),
        );

        let events_bounds: Vec<(f64, String)> = (0..EVENTS_PER_WAIT_BUCKETS - 1)
            .map(|k| {
                let le = (1u64 << k) - 1;
                (le as f64, le.to_string())
            })
            .collect();
        let events_bounds: Vec<(f64, &str)> = events_bounds
            .iter()
            .map(|(v, s)| (*v, s.as_str()))
            .collect();
        self.histogram(
            &mut out,
            "reactor_events_per_wait",
            "Events returned by each wait in the poller",
            &events_bounds,
            true,
            |s| {
                let b = &s.runtime.reactor.events_per_wait;
                let mut cumulative = Vec::with_capacity(EVENTS_PER_WAIT_BUCKETS - 1);
                let mut seen = 0;
                for n in &b[..EVENTS_PER_WAIT_BUCKETS - 1] {
                    seen += n;
                    cumulative.push(seen);
                }
                (cumulative, b.iter().sum(), s.runtime.reactor.events as f64)
            },
        );

        let lag_bounds: Vec<(f64, String)> = LAG_BOUNDS_US
            .iter()
            .map(|&us| {
                let s = us as f64 / 1e6;
                let mut text = String::new();
                push_float(&mut text, s);
                (s, text)
            })
            .collect();
        let lag_bounds: Vec<(f64, &str)> =
            lag_bounds.iter().map(|(v, s)| (*v, s.as_str())).collect();
        self.histogram(
            &mut out,
            "timer_lag_seconds",
            "How late timers fired (fire time minus deadline)",
            &lag_bounds,
            true,
            |s| lag_buckets(&s.runtime.reactor.timer_lag),
        );

        // Memory.
        self.family(
            &mut out,
            "heap_bytes",
            Gauge,
            "Heap bytes the shard's thread holds (allocated minus freed there)",
            true,
            |s| s.heap_bytes.unwrap_or(0) as f64,
        );
        self.family(
            &mut out,
            "heap_bytes_per_connection",
            Gauge,
            "Heap bytes above the shard's start per open connection of the shard",
            false,
            |s| s.heap_per_connection().map_or(f64::NAN, |b| b as f64),
        );

        // The process.
        let pool = self
            .answered()
            .next()
            .map(|(_, s)| s.runtime.pool)
            .unwrap_or_default();
        let process: [(&str, &str, &str, f64); 6] = [
            (
                "solo_blocking_threads",
                "gauge",
                "Threads of the blocking pool now",
                pool.threads as f64,
            ),
            (
                "solo_blocking_idle_threads",
                "gauge",
                "Blocking-pool threads waiting for work now",
                pool.idle as f64,
            ),
            (
                "solo_blocking_queued_jobs",
                "gauge",
                "Jobs waiting for a blocking-pool thread now",
                pool.queued as f64,
            ),
            (
                "solo_blocking_jobs_completed_total",
                "counter",
                "Jobs the blocking pool finished",
                pool.completed as f64,
            ),
            (
                "solo_blocking_max_threads",
                "gauge",
                "The most threads the blocking pool may run",
                pool.max_threads as f64,
            ),
            (
                "solo_resident_memory_bytes",
                "gauge",
                "Resident memory of the process (NaN where unknown)",
                self.rss_bytes.map_or(f64::NAN, |b| b as f64),
            ),
        ];
        for (name, kind, help, value) in process {
            out.header(name, kind, help);
            out.sample(name, "", value);
        }
    }
}

/// The timer-lag histogram at [`LAG_BOUNDS_US`]: cumulative counts, count, sum in seconds.
pub fn lag_buckets(h: &Histogram) -> (Vec<u64>, u64, f64) {
    let counts = LAG_BOUNDS_US
        .iter()
        .map(|&us| h.count_below(Duration::from_micros(us)))
        .collect();
    (counts, h.count(), secs(h.sum()))
}

/// One sample of the dashboard's feed: each shard's live figures over the interval from
/// `before` to `now` (two gatherings of the same shards), as one line of JSON:
///
/// ```text
/// {"interval_ms":1000,"shards":[{"shard":0,"open":12,"rps":1520.3,"utilisation":0.07,
///   "lag_p50_ms":0.05,"lag_p99_ms":1.1,"heap_per_connection":412}, ...]}
/// ```
///
/// A figure that cannot be told (a shard that did not answer, no timer fired in the
/// interval, no heap counter, no open connection) is `null`.
pub fn write_sample(
    before: &[Option<ShardFigures>],
    now: &[Option<ShardFigures>],
    interval: Duration,
    out: &mut String,
) {
    let _ = write!(
        out,
        "{{\"interval_ms\":{},\"shards\":[",
        interval.as_millis()
    );
    for (i, shard) in now.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{{\"shard\":{i}");
        let earlier = before.get(i).and_then(Option::as_ref);
        let (open, rps, utilisation, p50, p99, heap) = match (shard, earlier) {
            (Some(now), Some(then)) => {
                let window = now
                    .runtime
                    .reactor
                    .uptime
                    .saturating_sub(then.runtime.reactor.uptime);
                let requests = now.server.requests.saturating_sub(then.server.requests);
                let rps = (!window.is_zero()).then(|| requests as f64 / window.as_secs_f64());
                let lag = now
                    .runtime
                    .reactor
                    .timer_lag
                    .since(&then.runtime.reactor.timer_lag);
                let ms = |d: Option<Duration>| d.map(|d| d.as_secs_f64() * 1e3);
                (
                    Some(now.server.open_connections as f64),
                    rps,
                    now.runtime.reactor.utilisation(&then.runtime.reactor),
                    ms(lag.quantile(0.5)),
                    ms(lag.quantile(0.99)),
                    now.heap_per_connection().map(|b| b as f64),
                )
            }
            (Some(now), None) => (
                Some(now.server.open_connections as f64),
                None,
                None,
                None,
                None,
                now.heap_per_connection().map(|b| b as f64),
            ),
            _ => (None, None, None, None, None, None),
        };
        for (name, value) in [
            ("open", open),
            ("rps", rps),
            ("utilisation", utilisation),
            ("lag_p50_ms", p50),
            ("lag_p99_ms", p99),
            ("heap_per_connection", heap),
        ] {
            let _ = write!(out, ",\"{name}\":");
            match value {
                Some(v) if v.is_finite() => {
                    let _ = write!(out, "{}", (v * 1000.0).round() / 1000.0);
                }
                _ => out.push_str("null"),
            }
        }
        out.push('}');
    }
    out.push_str("]}");
}
