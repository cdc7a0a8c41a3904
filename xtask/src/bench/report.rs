//! The report: samples per (workload, server), their medians, ratios to the baseline,
//! the table printed at the end and the JSON written under `target/bench/`.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::micro::MicroReport;
use super::stats::median;
use super::sysinfo::Machine;
use super::{Family, Workload};

/// One measurement of one server on one workload in one round.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Sample {
    /// Round number (0-based).
    pub round: usize,
    /// Requests or messages per second (http, echo).
    pub rate: Option<f64>,
    /// Requests or messages per second of the server's CPU time (utime + stime).
    pub per_cpu_s: Option<f64>,
    /// The server's CPU use over the window, percent of one core.
    pub server_cpu_pct: Option<f64>,
    /// The load generator's CPU use over the window, percent of one core.
    pub loadgen_cpu_pct: Option<f64>,
    /// How much of the server's CPU other processes (and interrupts, steal) used over the
    /// window, percent: noise from a shared machine.
    pub others_cpu_pct: Option<f64>,
    /// How much of the load generator's CPU other processes used over the window, percent.
    pub loadgen_others_cpu_pct: Option<f64>,
    /// Median round trip, microseconds (a batch for http, a message for echo).
    pub p50_us: Option<f64>,
    /// 99th-percentile round trip, microseconds.
    pub p99_us: Option<f64>,
    /// Connections lost or protocol errors.
    pub errors: u64,
    /// The first error, if any.
    pub first_error: Option<String>,
    /// `wrk`'s requests/s against a fresh instance of the same server (`--wrk`).
    pub wrk_rate: Option<f64>,
    /// Idle-connection figures (idle workloads only).
    pub idle: Option<IdleSample>,
    /// Chat figures (chat workloads only).
    pub chat: Option<ChatSample>,
}

/// What a chat measurement found besides throughput and latency (which are in
/// [`Sample`]: `rate` is events read per second in the window, `per_cpu_s` events per
/// CPU-second of the server, `p50_us`/`p99_us` delivery latency).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ChatSample {
    /// Subscribers.
    pub subscribers: usize,
    /// Messages posted per second.
    pub msgs_per_s: f64,
    /// Events offered per second: subscribers × messages per second.
    pub offered_per_s: f64,
    /// Messages posted in the whole run, warm-up included.
    pub posted: u64,
    /// Of those, inside the window.
    pub posted_in_window: u64,
    /// Events of the run delivered (every subscriber got every message: subscribers ×
    /// posted).
    pub delivered: u64,
    /// How far the poster fell behind its schedule at worst, ms.
    pub poster_late_ms: f64,
    /// Seconds from the last post until every subscriber had everything.
    pub drain_s: f64,
    /// CPUs the server ran on.
    pub cores: usize,
}

/// What an idle-connection measurement found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IdleSample {
    /// Connections asked for.
    pub requested: usize,
    /// Connections attempted (fewer than requested when a limit stood in the way).
    pub attempted: usize,
    /// Connections the server held (its descriptor count after minus before).
    pub held: usize,
    /// Which limit stopped the count short of `requested`, if one did.
    pub limit: Option<String>,
    /// Seconds until every connection was open and accepted by the server.
    pub connect_s: f64,
    /// Server VmRSS before connecting, KiB.
    pub rss_before_kib: u64,
    /// Server VmRSS with every connection open, KiB.
    pub rss_after_kib: u64,
    /// (after − before) / held, bytes.
    pub bytes_per_conn: f64,
    /// Server VmRSS after the wave, KiB.
    pub rss_after_wave_kib: u64,
    /// Requests of the wave that were answered.
    pub wave_answered: usize,
    /// Requests of the wave that failed or went unanswered.
    pub wave_failed: usize,
    /// Median wave latency, microseconds.
    pub wave_p50_us: Option<f64>,
    /// 99th-percentile wave latency, microseconds.
    pub wave_p99_us: Option<f64>,
    /// Seconds from the first request of the wave to the last answer.
    pub wave_s: f64,
    /// Answers per second of the server's CPU time during the wave.
    pub wave_per_cpu_s: Option<f64>,
}

/// Medians over the rounds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Median requests or messages per second.
    pub rate: Option<f64>,
    /// Median requests or messages per CPU-second of the server.
    pub per_cpu_s: Option<f64>,
    /// Median server CPU use, percent.
    pub server_cpu_pct: Option<f64>,
    /// Median load-generator CPU use, percent.
    pub loadgen_cpu_pct: Option<f64>,
    /// Median CPU use of others on the server's CPU, percent.
    pub others_cpu_pct: Option<f64>,
    /// Median CPU use of others on the load generator's CPU, percent.
    pub loadgen_others_cpu_pct: Option<f64>,
    /// Median p50 round trip, microseconds.
    pub p50_us: Option<f64>,
    /// Median p99 round trip, microseconds.
    pub p99_us: Option<f64>,
    /// Median `wrk` requests/s.
    pub wrk_rate: Option<f64>,
    /// Median connections held (idle).
    pub held: Option<f64>,
    /// Median time to open all connections, seconds (idle).
    pub connect_s: Option<f64>,
    /// Median server memory per idle connection, bytes (idle).
    pub bytes_per_conn: Option<f64>,
    /// Median wave p50, microseconds (idle).
    pub wave_p50_us: Option<f64>,
    /// Median wave p99, microseconds (idle).
    pub wave_p99_us: Option<f64>,
    /// Median answers per CPU-second of the server during the wave (idle).
    pub wave_per_cpu_s: Option<f64>,
    /// Errors over all rounds.
    pub errors: u64,
}

impl Summary {
    /// Medians of every figure over `samples`.
    pub fn of(samples: &[Sample]) -> Summary {
        let med = |f: &dyn Fn(&Sample) -> Option<f64>| {
            median(&samples.iter().filter_map(f).collect::<Vec<_>>())
        };
        let idle = |f: &dyn Fn(&IdleSample) -> Option<f64>| med(&|s| s.idle.as_ref().and_then(f));
        Summary {
            rate: med(&|s| s.rate),
            per_cpu_s: med(&|s| s.per_cpu_s),
            server_cpu_pct: med(&|s| s.server_cpu_pct),
            loadgen_cpu_pct: med(&|s| s.loadgen_cpu_pct),
            others_cpu_pct: med(&|s| s.others_cpu_pct),
            loadgen_others_cpu_pct: med(&|s| s.loadgen_others_cpu_pct),
            p50_us: med(&|s| s.p50_us),
            p99_us: med(&|s| s.p99_us),
            wrk_rate: med(&|s| s.wrk_rate),
            held: idle(&|i| Some(i.held as f64)),
            connect_s: idle(&|i| Some(i.connect_s)),
            bytes_per_conn: idle(&|i| Some(i.bytes_per_conn)),
            wave_p50_us: idle(&|i| i.wave_p50_us),
            wave_p99_us: idle(&|i| i.wave_p99_us),
            wave_per_cpu_s: idle(&|i| i.wave_per_cpu_s),
            errors: samples.iter().map(|s| s.errors).sum(),
        }
    }

    /// The headline figure a workload is compared on: throughput, memory per idle
    /// connection, or (chat, where every server gets the same offered load) events per
    /// CPU-second, else (a window too short to see CPU time) events per second.
    pub fn headline(&self, family: Family) -> Option<f64> {
        match family {
            Family::Idle => self.bytes_per_conn,
            Family::Chat => self.per_cpu_s.or(self.rate),
            _ => self.rate,
        }
    }
}

/// Each figure divided by the baseline server's.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Ratios {
    /// Throughput ratio (higher is better).
    pub rate: Option<f64>,
    /// Throughput per CPU-second ratio (higher is better).
    pub per_cpu_s: Option<f64>,
    /// Memory per idle connection ratio (lower is better).
    pub bytes_per_conn: Option<f64>,
}

/// Whether a server produced figures for a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Measured (possibly with some failed rounds).
    Ok,
    /// Could not be built or started.
    Unavailable,
    /// Started, but every round failed.
    Failed,
}

/// One server's figures on one workload.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerResult {
    /// The server's name.
    pub server: String,
    /// Whether it was measured.
    pub status: Status,
    /// Why it is unavailable or failed, or what went wrong in some rounds.
    pub reason: Option<String>,
    /// Medians over the rounds.
    pub median: Summary,
    /// Medians divided by the baseline's.
    pub ratio: Ratios,
    /// Every round's sample.
    pub samples: Vec<Sample>,
}

/// One workload: its definition and every server's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkloadReport {
    /// The workload.
    #[serde(flatten)]
    pub workload: Workload,
    /// The server the ratios are relative to: solo when it was measured, otherwise the
    /// first server that was.
    pub baseline: Option<String>,
    /// Whether the baseline is solo.
    pub baseline_is_solo: bool,
    /// Per server, in the order they were given.
    pub results: Vec<ServerResult>,
}

impl WorkloadReport {
    /// Fills in the baseline and the ratios from the medians.
    pub fn new(
        workload: Workload,
        mut results: Vec<ServerResult>,
        solo_names: &[&str],
    ) -> WorkloadReport {
        let family = workload.family;
        let base = results
            .iter()
            .filter(|r| r.status == Status::Ok && r.median.headline(family).is_some())
            .min_by_key(|r| !solo_names.contains(&r.server.as_str()))
            .map(|r| (r.server.clone(), r.median.clone()));
        if let Some((_, b)) = &base {
            let ratio = |x: Option<f64>, y: Option<f64>| match (x, y) {
                (Some(x), Some(y)) if y > 0.0 => Some(x / y),
                _ => None,
            };
            for r in &mut results {
                r.ratio = Ratios {
                    rate: ratio(r.median.rate, b.rate),
                    per_cpu_s: ratio(r.median.per_cpu_s, b.per_cpu_s),
                    bytes_per_conn: ratio(r.median.bytes_per_conn, b.bytes_per_conn),
                };
            }
        }
        let baseline_is_solo = base
            .as_ref()
            .is_some_and(|(n, _)| solo_names.contains(&n.as_str()));
        WorkloadReport {
            workload,
            baseline: base.map(|(n, _)| n),
            baseline_is_solo,
            results,
        }
    }
}

/// Availability of one server, per protocol.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerInfo {
    /// The server's name.
    pub name: String,
    /// One of solo's own.
    pub solo: bool,
    /// CPUs it runs on.
    pub cores: usize,
    /// `None` if its HTTP server is available, else why not.
    pub http_unavailable: Option<String>,
    /// `None` if its echo server is available, else why not.
    pub echo_unavailable: Option<String>,
    /// `None` if its chat server is available, else why not.
    pub chat_unavailable: Option<String>,
    /// `None` if its hyper server is available, else why not.
    pub hyper_unavailable: Option<String>,
}

/// Everything one `cargo xtask bench` run measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Format version of this JSON.
    pub schema: u32,
    /// The command line.
    pub command: String,
    /// `smoke`, `quick` or `full`.
    pub profile: String,
    /// Rounds per server and workload.
    pub rounds: usize,
    /// Warm-up before each window, ms.
    pub warmup_ms: u64,
    /// Measurement window, ms.
    pub duration_ms: u64,
    /// Seconds since the Unix epoch at the start.
    pub started_unix: u64,
    /// Wall-clock seconds the run took.
    pub elapsed_s: f64,
    /// The machine.
    pub machine: Machine,
    /// The servers and their availability.
    pub servers: Vec<ServerInfo>,
    /// The figures.
    pub workloads: Vec<WorkloadReport>,
    /// Micro benchmarks (`--micro`).
    pub micro: Option<MicroReport>,
    /// Things the reader should know (skipped servers, limits reached, missing tools).
    pub notes: Vec<String>,
}

impl Report {
    /// Writes the report as pretty JSON, creating the directory if needed.
    pub fn write_json(&self, path: &Path) -> Result<(), String> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        }
        let json = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        std::fs::write(path, json + "\n").map_err(|e| format!("writing {}: {e}", path.display()))
    }

    /// The table printed at the end of a run.
    pub fn table(&self) -> String {
        let mut t = String::new();
        let _ = writeln!(
            t,
            "solo bench: {} profile, {} round(s) per server, medians; {:.0} s",
            self.profile, self.rounds, self.elapsed_s
        );
        let _ = writeln!(t, "machine: {}", self.machine.summary());
        let _ = writeln!(
            t,
            "servers pinned to CPU 0, load generator to CPU 1; interleaved rounds"
        );
        for w in &self.workloads {
            t.push('\n');
            table_workload(&mut t, w);
        }
        if let Some(m) = &self.micro {
            t.push('\n');
            t.push_str(&m.table());
        }
        if !self.notes.is_empty() {
            t.push_str("\nnotes:\n");
            for n in &self.notes {
                let _ = writeln!(t, "  - {n}");
            }
        }
        t
    }
}

/// Load-generator CPU use (percent of its core) from which a figure may be the load
/// generator's limit rather than the server's.
pub const LOADGEN_BOUND_PCT: f64 = 90.0;
/// Share of the server's CPU taken by other processes above which a workload is noisy.
pub const NOISY_PCT: f64 = 10.0;

/// Warnings the figures themselves give: a load generator that ran out of CPU (the figure
/// is then a lower bound for that server), and a server CPU shared with other processes.
pub fn caveats(workloads: &[WorkloadReport]) -> Vec<String> {
    let mut out = Vec::new();
    for w in workloads {
        let bound: Vec<String> = w
            .results
            .iter()
            .filter_map(|r| {
                let pct = r
                    .median
                    .loadgen_cpu_pct
                    .filter(|&p| p >= LOADGEN_BOUND_PCT)?;
                Some(format!("{} ({pct:.0}%)", r.server))
            })
            .collect();
        if !bound.is_empty() {
            out.push(format!(
                "{}: the load generator used ≥{LOADGEN_BOUND_PCT:.0}% of its CPU against {}: those figures may be \
                 its limit, not the server's (lower bounds)",
                w.workload.id,
                bound.join(", ")
            ));
        }
        let samples = || w.results.iter().flat_map(|r| &r.samples);
        let server = median(
            &samples()
                .filter_map(|s| s.others_cpu_pct)
                .collect::<Vec<_>>(),
        );
        let loadgen = median(
            &samples()
                .filter_map(|s| s.loadgen_others_cpu_pct)
                .collect::<Vec<_>>(),
        );
        let noisy: Vec<String> = [("the servers'", server), ("the load generator's", loadgen)]
            .into_iter()
            .filter_map(|(whose, m)| {
                Some(format!(
                    "{:.0}% of {whose} CPU",
                    m.filter(|&m| m > NOISY_PCT)?
                ))
            })
            .collect();
        if !noisy.is_empty() {
            out.push(format!(
                "{}: other processes used {} during the windows (median): a shared, noisy machine; \
                 the per-CPU-second column is the steadier figure",
                w.workload.id,
                noisy.join(" and ")
            ));
        }
    }
    out
}

fn table_workload(t: &mut String, w: &WorkloadReport) {
    let _ = writeln!(t, "{} — {}", w.workload.id, w.workload.description);
    let base = match (&w.baseline, w.baseline_is_solo) {
        (Some(_), true) => "×solo".to_string(),
        (Some(b), false) => format!("×{b}"),
        (None, _) => "×base".to_string(),
    };
    if !w.baseline_is_solo {
        if let Some(b) = &w.baseline {
            let _ = writeln!(t, "  (solo not measured here: ratios are against {b})");
        }
    }
    let idle = w.workload.family == Family::Idle;
    let wrk = w.results.iter().any(|r| r.median.wrk_rate.is_some());
    let unit = unit(w.workload.family);
    let header: Vec<String> = if idle {
        [
            "server",
            "held",
            "connect",
            "RSS/conn",
            &base,
            "wave p50",
            "wave p99",
            "wave req/CPU-s",
            "limit",
        ]
        .map(String::from)
        .to_vec()
    } else {
        let mut h: Vec<String> = [
            "server",
            unit,
            &base,
            &format!("{unit}/CPU-s"),
            &base,
            "p50",
            "p99",
            "srv CPU",
            "lg CPU",
        ]
        .map(String::from)
        .to_vec();
        if wrk {
            h.push("wrk req/s".into());
        }
        h
    };
    let mut rows: Vec<Vec<String>> = vec![header];
    let mut reasons = Vec::new();
    for r in &w.results {
        let m = &r.median;
        if r.status != Status::Ok {
            rows.push(vec![
                r.server.clone(),
                format!("{:?}", r.status).to_lowercase(),
            ]);
            reasons.push(format!(
                "{}: {}",
                r.server,
                r.reason.as_deref().unwrap_or("no reason given")
            ));
            continue;
        }
        let row = if idle {
            let limit = r
                .samples
                .iter()
                .find_map(|s| s.idle.as_ref()?.limit.clone());
            vec![
                r.server.clone(),
                opt(m.held, |v| group(v.round())),
                opt(m.connect_s, |v| fmt_us(v * 1e6)),
                opt(m.bytes_per_conn, |v| format!("{} B", group(v.round()))),
                opt(r.ratio.bytes_per_conn, |v| format!("{v:.2}")),
                opt(m.wave_p50_us, fmt_us),
                opt(m.wave_p99_us, fmt_us),
                opt(m.wave_per_cpu_s, |v| group(v.round())),
                limit.map_or_else(String::new, |_| "yes (see notes)".into()),
            ]
        } else {
            let mut row = vec![
                r.server.clone(),
                opt(m.rate, |v| group(v.round())),
                opt(r.ratio.rate, |v| format!("{v:.2}")),
                opt(m.per_cpu_s, |v| group(v.round())),
                opt(r.ratio.per_cpu_s, |v| format!("{v:.2}")),
                opt(m.p50_us, fmt_us),
                opt(m.p99_us, fmt_us),
                opt(m.server_cpu_pct, |v| format!("{v:.0}%")),
                opt(m.loadgen_cpu_pct, |v| format!("{v:.0}%")),
            ];
            if wrk {
                row.push(opt(m.wrk_rate, |v| group(v.round())));
            }
            row
        };
        rows.push(row);
        if let Some(reason) = &r.reason {
            reasons.push(format!("{}: {reason}", r.server));
        }
    }
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in &rows {
        let mut line = String::from(" ");
        for (c, cell) in row.iter().enumerate() {
            let pad = widths[c].saturating_sub(cell.chars().count());
            if c == 0 || row.len() == 2 {
                let _ = write!(line, " {cell}{}", " ".repeat(pad));
            } else {
                let _ = write!(line, " {}{cell}", " ".repeat(pad));
            }
        }
        let _ = writeln!(t, "{}", line.trim_end());
    }
    for reason in reasons {
        let _ = writeln!(t, "    {reason}");
    }
}

/// The unit of a family's throughput.
pub fn unit(family: Family) -> &'static str {
    match family {
        Family::Echo => "msg/s",
        Family::Chat => "ev/s",
        Family::Http
        | Family::HttpPipelined
        | Family::Idle
        | Family::Hyper
        | Family::HyperPipelined => "req/s",
    }
}

fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map_or_else(|| "-".to_string(), f)
}

/// `1234567` → `1,234,567`.
pub fn group(v: f64) -> String {
    let neg = v < 0.0;
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if neg { format!("-{out}") } else { out }
}

/// Microseconds with a readable unit: `850 µs`, `1.25 ms`, `2.10 s`.
pub fn fmt_us(us: f64) -> String {
    if us >= 1e6 {
        format!("{:.2} s", us / 1e6)
    } else if us >= 1e3 {
        format!("{:.2} ms", us / 1e3)
    } else {
        format!("{us:.0} µs")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload(family: Family) -> Workload {
        Workload {
            id: "http-c100".into(),
            family,
            conns: 100,
            depth: 1,
            size: 0,
            rate: 0.0,
            description: "HTTP keep-alive, 100 connections".into(),
        }
    }

    fn ok(server: &str, rates: &[f64]) -> ServerResult {
        let samples: Vec<Sample> = rates
            .iter()
            .enumerate()
            .map(|(round, &r)| Sample {
                round,
                rate: Some(r),
                per_cpu_s: Some(r * 2.0),
                ..Default::default()
            })
            .collect();
        ServerResult {
            server: server.into(),
            status: Status::Ok,
            reason: None,
            median: Summary::of(&samples),
            ratio: Ratios::default(),
            samples,
        }
    }

    fn unavailable(server: &str) -> ServerResult {
        ServerResult {
            server: server.into(),
            status: Status::Unavailable,
            reason: Some("solo-server exited before listening".into()),
            median: Summary::default(),
            ratio: Ratios::default(),
            samples: vec![],
        }
    }

    #[test]
    fn summaries_are_medians() {
        let r = ok("tokio", &[300.0, 100.0, 200.0]);
        assert_eq!(r.median.rate, Some(200.0));
        assert_eq!(r.median.per_cpu_s, Some(400.0));
        assert_eq!(r.median.p50_us, None);
    }

    #[test]
    fn ratios_are_against_solo_when_it_was_measured() {
        let w = WorkloadReport::new(
            workload(Family::Http),
            vec![ok("tokio", &[50.0]), ok("solo", &[100.0])],
            &["solo"],
        );
        assert_eq!(w.baseline.as_deref(), Some("solo"));
        assert!(w.baseline_is_solo);
        assert_eq!(w.results[0].ratio.rate, Some(0.5));
        assert_eq!(w.results[1].ratio.rate, Some(1.0));
    }

    #[test]
    fn without_solo_the_first_measured_server_is_the_labelled_baseline() {
        let w = WorkloadReport::new(
            workload(Family::Http),
            vec![
                unavailable("solo"),
                ok("tokio", &[200.0]),
                ok("smol", &[100.0]),
            ],
            &["solo"],
        );
        assert_eq!(w.baseline.as_deref(), Some("tokio"));
        assert!(!w.baseline_is_solo);
        assert_eq!(w.results[2].ratio.rate, Some(0.5));
        assert_eq!(w.results[0].ratio.rate, None);
        let mut t = String::new();
        table_workload(&mut t, &w);
        assert!(t.contains("ratios are against tokio"), "{t}");
        assert!(t.contains("×tokio"), "{t}");
        assert!(
            t.contains("unavailable") && t.contains("exited before listening"),
            "{t}"
        );
        assert!(t.contains("200") && t.contains("0.50"), "{t}");
    }

    #[test]
    fn idle_workloads_compare_bytes_per_connection() {
        let mut a = ok("tokio", &[1.0]);
        a.samples[0].idle = Some(IdleSample {
            held: 10_000,
            bytes_per_conn: 800.0,
            ..Default::default()
        });
        a.median = Summary::of(&a.samples);
        let mut b = ok("epoll", &[1.0]);
        b.samples[0].idle = Some(IdleSample {
            held: 9_000,
            bytes_per_conn: 200.0,
            limit: Some("fd limit".into()),
            ..Default::default()
        });
        b.median = Summary::of(&b.samples);
        let w = WorkloadReport::new(workload(Family::Idle), vec![a, b], &["solo"]);
        assert_eq!(w.results[1].ratio.bytes_per_conn, Some(0.25));
        let mut t = String::new();
        table_workload(&mut t, &w);
        assert!(
            t.contains("800 B") && t.contains("10,000") && t.contains("yes (see notes)"),
            "{t}"
        );
    }

    #[test]
    fn writes_json_that_reads_back() {
        let report = Report {
            schema: 1,
            command: "cargo xtask bench --smoke".into(),
            profile: "smoke".into(),
            rounds: 1,
            warmup_ms: 100,
            duration_ms: 300,
            started_unix: 1,
            elapsed_s: 2.0,
            machine: Machine::default(),
            servers: vec![],
            workloads: vec![WorkloadReport::new(
                workload(Family::Http),
                vec![ok("tokio", &[10.0])],
                &["solo"],
            )],
            micro: None,
            notes: vec!["node is not on PATH: skipped".into()],
        };
        let dir = std::env::temp_dir().join(format!("xtask-report-{}", std::process::id()));
        let path = dir.join("nested/report.json");
        report.write_json(&path).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(v["workloads"][0]["id"], "http-c100");
        assert_eq!(v["workloads"][0]["family"], "http");
        assert_eq!(v["workloads"][0]["baseline"], "tokio");
        assert_eq!(v["workloads"][0]["results"][0]["median"]["rate"], 10.0);
        assert_eq!(v["workloads"][0]["results"][0]["status"], "ok");
        assert_eq!(v["notes"][0], "node is not on PATH: skipped");
        assert!(report.table().contains("notes:"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn caveats_flag_a_saturated_load_generator_and_a_shared_cpu() {
        let mut a = ok("tokio", &[100.0]);
        a.samples[0].loadgen_cpu_pct = Some(97.0);
        a.samples[0].others_cpu_pct = Some(40.0);
        a.median = Summary::of(&a.samples);
        let mut b = ok("node", &[10.0]);
        b.samples[0].loadgen_cpu_pct = Some(30.0);
        b.samples[0].others_cpu_pct = Some(35.0);
        b.median = Summary::of(&b.samples);
        let w = WorkloadReport::new(workload(Family::Http), vec![a, b], &["solo"]);
        let c = caveats(&[w]);
        assert_eq!(c.len(), 2, "{c:?}");
        assert!(
            c[0].contains("tokio (97%)") && !c[0].contains("node"),
            "{c:?}"
        );
        assert!(
            c[1].contains("38% of the servers'") && !c[1].contains("load generator's"),
            "{c:?}"
        );
        let calm = WorkloadReport::new(workload(Family::Http), vec![ok("smol", &[1.0])], &["solo"]);
        assert!(caveats(&[calm]).is_empty());
    }

    #[test]
    fn formats_numbers() {
        assert_eq!(group(1_234_567.0), "1,234,567");
        assert_eq!(group(999.0), "999");
        assert_eq!(group(-1000.0), "-1,000");
        assert_eq!(fmt_us(850.0), "850 µs");
        assert_eq!(fmt_us(1_250.0), "1.25 ms");
        assert_eq!(fmt_us(2_100_000.0), "2.10 s");
    }
}
