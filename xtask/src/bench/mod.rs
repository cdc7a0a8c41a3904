//! `cargo xtask bench`: solo against its peers, side by side, in one run.
//!
//! Every server runs on one thread pinned to CPU 0 and is started fresh for every
//! measurement; the load generator ([`loadgen`], raw epoll) runs pinned to CPU 1. Servers
//! are measured in interleaved rounds (A B C A B C …) so that noise on a shared machine
//! hits them alike, and medians are reported with each server's ratio to solo (or, while
//! solo is unavailable, to the first server measured, and labelled so).
//!
//! Workloads: HTTP keep-alive requests/s (with and without pipelining), echo messages/s
//! with p50/p99 round trips, idle connections (time to open them, server memory per
//! connection, then one request on each and the latency of that wave), and the chat's
//! fan-out (Server-Sent Events subscribers, one poster at a fixed rate: events delivered
//! per second of server CPU and the p50/p99 delivery latency, every delivery checked).
//! Beside throughput, requests (events) per second of the server's own CPU time.
//!
//! Output: a progress bar, a table, JSON (`target/bench/bench.json`, `--json PATH`) and an
//! SVG chart beside the JSON.
//!
//! Module map: [`servers`] (what runs and how), [`suite`] (one measurement), [`loadgen`],
//! [`report`] (medians, ratios, table, JSON), [`svg`], [`sysinfo`] (`/proc`), [`stats`],
//! [`micro`] (`--micro`) and [`wrk`] (`--wrk`).

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::sys;

pub mod loadgen;
pub mod micro;
pub mod report;
pub mod servers;
pub mod stats;
pub mod suite;
pub mod svg;
pub mod sysinfo;
pub mod wrk;

use report::{Report, ServerInfo, ServerResult, Status, Summary, WorkloadReport};
use servers::{Paths, Protocol, ServerSpec};

/// `cargo xtask bench`: the quick suite by default (a few minutes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct BenchArgs {
    /// The long suite: more rounds, longer windows, 1,000-connection cases and a bigger
    /// idle count.
    #[arg(long)]
    pub full: bool,
    /// Seconds, tiny counts: for CI, so that the bench never rots.
    #[arg(long, conflicts_with = "full")]
    pub smoke: bool,
    /// Only these workload families (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub only: Vec<Family>,
    /// Only these servers (comma-separated): solo-server, solo-min, solo-2shards (solo on
    /// its epoll driver, `SOLO_DRIVER=epoll`), solo-server-uring, solo-min-uring (the same
    /// on its io_uring driver, solo-io's default where a ring can be made), tokio, smol,
    /// epoll, uring, monoio, node; also, only when named, solo-nometrics (solo-server
    /// without its metrics feature).
    #[arg(long, value_delimiter = ',')]
    pub servers: Vec<String>,
    /// Where to write the JSON report (the SVG goes beside it) [default: target/bench/bench.json].
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// The larger idle-connection count (100,000 in the full suite; 1,000,000 works too:
    /// when a limit stops the count, the report names it and measures the most it held).
    #[arg(long, value_name = "N")]
    pub idle: Option<usize>,
    /// Cross-check the HTTP figures with `wrk` (apt-get install wrk).
    #[arg(long)]
    pub wrk: bool,
    /// Also run the micro benchmarks (`cargo bench -p solo-benches`) into the report.
    #[arg(long)]
    pub micro: bool,
    /// Rounds per server and workload [default: 1 smoke, 3 quick, 5 full].
    #[arg(long, value_name = "N")]
    pub rounds: Option<usize>,
    /// The chat's offered load in events per second over all subscribers [default: 50,000;
    /// smoke 1,000]. Above what a server can fan out one message at a time, servers that
    /// write several messages at once pull ahead, and the others lag (and fail the check).
    #[arg(long, value_name = "EVENTS_PER_S")]
    pub chat_load: Option<u32>,
}

/// A family of workloads, as named by `--only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// HTTP keep-alive, one request in flight per connection.
    Http,
    /// HTTP keep-alive, 16 pipelined requests in flight per connection.
    HttpPipelined,
    /// TCP echo round trips.
    Echo,
    /// Idle connections, then one wave of requests.
    Idle,
    /// Chat fan-out: Server-Sent Events subscribers, one poster at a fixed rate.
    Chat,
    /// One hyper 1.x service on each runtime (solo, tokio), HTTP/1.1 keep-alive, one
    /// request in flight per connection.
    Hyper,
    /// The same hyper service with 16 pipelined requests in flight per connection.
    HyperPipelined,
}

impl Family {
    /// The protocol its servers speak.
    pub fn protocol(self) -> Protocol {
        match self {
            Family::Echo => Protocol::Echo,
            Family::Chat => Protocol::Chat,
            Family::Http | Family::HttpPipelined | Family::Idle => Protocol::Http,
            Family::Hyper | Family::HyperPipelined => Protocol::Hyper,
        }
    }

    /// Whether its load is HTTP requests on `/plaintext` (keep-alive, maybe pipelined).
    pub fn is_http(self) -> bool {
        matches!(
            self,
            Family::Http | Family::HttpPipelined | Family::Hyper | Family::HyperPipelined
        )
    }
}

/// One workload of a suite.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Workload {
    /// Short name, e.g. `http-pipelined-c100`.
    pub id: String,
    /// Its family.
    pub family: Family,
    /// Connections.
    pub conns: usize,
    /// Requests in flight per connection (HTTP).
    pub depth: usize,
    /// Message size in bytes (echo, chat).
    pub size: usize,
    /// Messages posted per second (chat; 0 otherwise).
    #[serde(skip_serializing_if = "is_zero")]
    pub rate: f64,
    /// One line for humans.
    pub description: String,
}

impl Workload {
    fn http(conns: usize, depth: usize) -> Workload {
        let (family, id, what) = if depth > 1 {
            (
                Family::HttpPipelined,
                format!("http-pipelined-c{conns}"),
                format!("{depth} pipelined requests in flight each"),
            )
        } else {
            (
                Family::Http,
                format!("http-c{conns}"),
                "1 request in flight each".to_string(),
            )
        };
        let description = format!(
            "HTTP keep-alive, {} connections, {what}",
            report::group(conns as f64)
        );
        Workload {
            id,
            family,
            conns,
            depth,
            size: 0,
            rate: 0.0,
            description,
        }
    }

    /// The `hyper` family: [`Workload::http`]'s load on the hyper servers.
    fn hyper(conns: usize, depth: usize) -> Workload {
        let http = Workload::http(conns, depth);
        let family = if depth > 1 {
            Family::HyperPipelined
        } else {
            Family::Hyper
        };
        Workload {
            id: http.id.replacen("http", "hyper", 1),
            family,
            description: http.description.replacen("HTTP", "hyper (HTTP/1.1)", 1),
            ..http
        }
    }

    fn echo(conns: usize, size: usize) -> Workload {
        let description = format!(
            "TCP echo, {} connection(s), {size}-byte messages",
            report::group(conns as f64)
        );
        Workload {
            id: format!("echo-c{conns}"),
            family: Family::Echo,
            conns,
            depth: 1,
            size,
            rate: 0.0,
            description,
        }
    }

    fn idle(conns: usize) -> Workload {
        let description = format!(
            "{} idle connections, then one request on each",
            report::group(conns as f64)
        );
        Workload {
            id: format!("idle-{conns}"),
            family: Family::Idle,
            conns,
            depth: 1,
            size: 0,
            rate: 0.0,
            description,
        }
    }

    /// `subscribers` event streams and one poster offering `events_per_s` events per
    /// second in all (so `events_per_s / subscribers` messages per second).
    fn chat(subscribers: usize, events_per_s: f64, size: usize) -> Workload {
        let rate = events_per_s / subscribers.max(1) as f64;
        let shown = if rate.fract() == 0.0 {
            format!("{rate:.0}")
        } else {
            format!("{rate:.2}")
        };
        let description = format!(
            "chat, {} SSE subscribers, one poster at {shown} msg/s of {size} B \
             ({} events/s offered)",
            report::group(subscribers as f64),
            report::group(events_per_s)
        );
        Workload {
            id: format!("chat-{subscribers}"),
            family: Family::Chat,
            conns: subscribers,
            depth: 1,
            size,
            rate,
            description,
        }
    }
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

/// How long and how often.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    /// `smoke`, `quick` or `full`.
    pub name: &'static str,
    /// Rounds per server and workload.
    pub rounds: usize,
    /// Load before each window.
    pub warmup: Duration,
    /// Measurement window.
    pub duration: Duration,
    /// How long an idle wave may take.
    pub wave_timeout: Duration,
}

/// Echo message size.
const ECHO_SIZE: usize = 64;
/// Pipelining depth.
const PIPELINE: usize = 16;
/// Chat message size (bytes of text).
const CHAT_SIZE: usize = 64;
/// The chat's offered load, events per second over all subscribers: what one core clearly
/// handles with every server measured (Node.js, the slowest, used 40–55% of its core at
/// this load when it was chosen, solo 25–40%), so that no server is saturated and the
/// figure compares the cost of an event rather than who copes with overload.
pub const CHAT_EVENTS_PER_S: f64 = 50_000.0;

/// The profile and workloads `args` ask for.
pub fn plan(args: &BenchArgs) -> Result<(Profile, Vec<Workload>), String> {
    if args.chat_load == Some(0) {
        return Err("--chat-load needs at least one event per second".into());
    }
    let chat_load = args.chat_load.map(f64::from);
    let (profile, mut workloads) = if args.smoke {
        let p = Profile {
            name: "smoke",
            rounds: 1,
            warmup: Duration::from_millis(100),
            duration: Duration::from_millis(300),
            wave_timeout: Duration::from_secs(10),
        };
        let w = vec![
            Workload::http(16, 1),
            Workload::http(16, PIPELINE),
            Workload::echo(1, ECHO_SIZE),
            Workload::echo(16, ECHO_SIZE),
            Workload::idle(args.idle.unwrap_or(500)),
            Workload::chat(20, chat_load.unwrap_or(1_000.0), CHAT_SIZE),
            Workload::hyper(16, 1),
            Workload::hyper(16, PIPELINE),
        ];
        (p, w)
    } else if args.full {
        let p = Profile {
            name: "full",
            rounds: 5,
            warmup: Duration::from_secs(1),
            duration: Duration::from_secs(5),
            wave_timeout: Duration::from_secs(60),
        };
        let w = vec![
            Workload::http(100, 1),
            Workload::http(1000, 1),
            Workload::http(100, PIPELINE),
            Workload::http(1000, PIPELINE),
            Workload::echo(1, ECHO_SIZE),
            Workload::echo(100, ECHO_SIZE),
            Workload::echo(1000, ECHO_SIZE),
            Workload::idle(10_000),
            Workload::idle(args.idle.unwrap_or(100_000)),
            Workload::chat(1_000, chat_load.unwrap_or(CHAT_EVENTS_PER_S), CHAT_SIZE),
            Workload::chat(10_000, chat_load.unwrap_or(CHAT_EVENTS_PER_S), CHAT_SIZE),
            Workload::chat(19_000, chat_load.unwrap_or(CHAT_EVENTS_PER_S), CHAT_SIZE),
            Workload::hyper(100, 1),
            Workload::hyper(1000, 1),
            Workload::hyper(100, PIPELINE),
        ];
        (p, w)
    } else {
        let p = Profile {
            name: "quick",
            rounds: 3,
            warmup: Duration::from_millis(500),
            duration: Duration::from_secs(2),
            wave_timeout: Duration::from_secs(30),
        };
        let mut w = vec![
            Workload::http(100, 1),
            Workload::http(100, PIPELINE),
            Workload::echo(1, ECHO_SIZE),
            Workload::echo(100, ECHO_SIZE),
            Workload::idle(10_000),
        ];
        if let Some(n) = args.idle {
            w.push(Workload::idle(n));
        }
        let load = chat_load.unwrap_or(CHAT_EVENTS_PER_S);
        w.push(Workload::chat(1_000, load, CHAT_SIZE));
        w.push(Workload::chat(10_000, load, CHAT_SIZE));
        w.push(Workload::hyper(100, 1));
        w.push(Workload::hyper(100, PIPELINE));
        (p, w)
    };
    if args.idle == Some(0) {
        return Err("--idle needs at least one connection".into());
    }
    workloads.dedup_by(|a, b| a.id == b.id);
    if !args.only.is_empty() {
        workloads.retain(|w| args.only.contains(&w.family));
    }
    let profile = Profile {
        rounds: args.rounds.unwrap_or(profile.rounds).max(1),
        ..profile
    };
    Ok((profile, workloads))
}

/// Runs `cargo xtask bench`.
pub fn run(args: BenchArgs) -> Result<(), String> {
    let wall = Instant::now();
    sys::install_interrupt_handler().map_err(|e| format!("installing the Ctrl-C handler: {e}"))?;
    // Raised to the hard limit: what is left is all there is.
    let soft = sys::raise_fd_limit().map_err(|e| format!("raising the descriptor limit: {e}"))?;
    let (profile, workloads) = plan(&args)?;
    let specs = servers::select(&args.servers)?;
    let mut notes = Vec::new();
    let paths = Paths::discover()?;
    std::fs::create_dir_all(paths.out.join("logs"))
        .map_err(|e| format!("creating {}: {e}", paths.out.display()))?;
    if soft < 1024 {
        notes.push(format!("descriptor limit is only {soft} (the hard limit)"));
    }

    // Availability per server and protocol, before anything is measured.
    let mut unavailable: Vec<[Option<String>; 4]> = vec![[None, None, None, None]; specs.len()];
    let built = servers::build(&paths, &specs);
    sys::check_interrupt()?;
    if let Some((_, Err(e))) = built.iter().find(|(p, _)| *p == "solo-bench-peers") {
        return Err(format!("the peer servers did not build: {e}"));
    }
    let probe = std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, 1);
    for (spec, reasons) in specs.iter().zip(&mut unavailable) {
        for (protocol, reason) in Protocol::ALL.into_iter().zip(reasons.iter_mut()) {
            let Some(launch) = spec.launch(protocol) else {
                *reason = Some("no such server".into());
                continue;
            };
            if let servers::Program::Cargo { package, .. } = launch.program {
                if let Some((_, Err(e))) = built.iter().find(|(p, _)| *p == package) {
                    *reason = Some(e.clone());
                    continue;
                }
            }
            if let Err(e) = servers::command_for(&paths, &launch, probe) {
                *reason = Some(e);
            }
        }
        if reasons.iter().any(|r| {
            r.as_deref()
                .is_some_and(|r| r.contains("node is not on PATH"))
        }) {
            notes.push(format!("{}: node is not on PATH, skipped", spec.name));
        }
    }
    let wrk = if args.wrk {
        let found = servers::find_on_path("wrk");
        if found.is_none() {
            notes.push("--wrk: wrk is not on PATH (apt-get install -y wrk); no cross-check".into());
        }
        found
    } else {
        None
    };
    let machine = sysinfo::Machine::collect();
    // The xtask itself stays off the servers' CPU.
    if sys::cpus() > 1 {
        let _ = sys::pin_to_cpu(suite::LOADGEN_CPU);
    } else {
        notes.push("only one CPU: servers and load generator share it".into());
    }

    let mut cells: Vec<Vec<suite::Cell>> = workloads
        .iter()
        .map(|_| specs.iter().map(|_| suite::Cell::default()).collect())
        .collect();
    // A server without a program for a workload's protocol is left out of it.
    let serves = |spec: &ServerSpec, w: &Workload| spec.launch(w.family.protocol()).is_some();
    let steps = workloads
        .iter()
        .map(|w| specs.iter().filter(|s| serves(s, w)).count() * profile.rounds)
        .sum::<usize>();
    let bar = progress_bar(steps as u64);
    let ctx = suite::Context {
        paths: &paths,
        profile,
        wrk: wrk.as_deref(),
    };
    for (wi, w) in workloads.iter().enumerate() {
        for round in 0..profile.rounds {
            for (si, spec) in specs.iter().enumerate() {
                sys::check_interrupt()?;
                if !serves(spec, w) {
                    continue;
                }
                let pi = w.family.protocol().index();
                bar.set_message(format!(
                    "{} · {} · round {}/{}",
                    w.id,
                    spec.name,
                    round + 1,
                    profile.rounds
                ));
                if bar.is_hidden() {
                    eprintln!(
                        "xtask: {} {} round {}/{}",
                        w.id,
                        spec.name,
                        round + 1,
                        profile.rounds
                    );
                }
                if unavailable[si][pi].is_none() {
                    let cell = &mut cells[wi][si];
                    match suite::measure(&ctx, spec, w, round, cell) {
                        Ok(sample) => cell.samples.push(sample),
                        Err(suite::Failure::Interrupted) => return Err(sys::INTERRUPTED.into()),
                        Err(suite::Failure::Start(reason)) if cell.samples.is_empty() => {
                            bar.println(format!(
                                "{} unavailable for {}: {reason}",
                                spec.name, w.id
                            ));
                            unavailable[si][pi] = Some(reason);
                        }
                        Err(suite::Failure::Start(reason) | suite::Failure::Run(reason)) => {
                            bar.println(format!(
                                "{} {} round {}: {reason}",
                                w.id,
                                spec.name,
                                round + 1
                            ));
                            cell.failures.push(format!("round {}: {reason}", round + 1));
                        }
                    }
                    for note in cell.notes.drain(..) {
                        if !notes.contains(&note) {
                            notes.push(note);
                        }
                    }
                    if let Some(note) = cell
                        .samples
                        .last()
                        .and_then(|s| s.idle.as_ref()?.limit.clone())
                    {
                        let note = format!("{}: {note}", w.id);
                        if !notes.iter().any(|n| n == &note) {
                            notes.push(note);
                        }
                    }
                }
                bar.inc(1);
            }
        }
    }
    bar.finish_and_clear();

    let micro = if args.micro {
        Some(micro::run(&paths, !args.full)?)
    } else {
        None
    };

    let solo: Vec<&str> = specs.iter().filter(|s| s.solo).map(|s| s.name).collect();
    let workload_reports: Vec<WorkloadReport> = workloads
        .iter()
        .zip(cells)
        .map(|(w, row)| {
            let pi = w.family.protocol().index();
            let results = specs
                .iter()
                .zip(row)
                .enumerate()
                .filter(|(_, (spec, _))| serves(spec, w))
                .map(|(si, (spec, cell))| result_of(spec, cell, unavailable[si][pi].clone()))
                .collect();
            WorkloadReport::new(w.clone(), results, &solo)
        })
        .collect();
    notes.extend(report::caveats(&workload_reports));
    if workloads.iter().any(|w| w.family == Family::Chat) {
        notes.extend(chat_notes(&specs));
    }
    if workloads
        .iter()
        .any(|w| matches!(w.family, Family::Hyper | Family::HyperPipelined))
    {
        notes.push(HYPER_NOTE.into());
    }
    let report = Report {
        schema: 1,
        command: std::iter::once("cargo xtask".to_string())
            .chain(std::env::args().skip(1))
            .collect::<Vec<_>>()
            .join(" "),
        profile: profile.name.into(),
        rounds: profile.rounds,
        warmup_ms: profile.warmup.as_millis() as u64,
        duration_ms: profile.duration.as_millis() as u64,
        started_unix: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            - wall.elapsed().as_secs(),
        elapsed_s: wall.elapsed().as_secs_f64(),
        machine,
        servers: specs
            .iter()
            .zip(&unavailable)
            .map(|(s, [http, echo, chat, hyper])| ServerInfo {
                name: s.name.into(),
                solo: s.solo,
                cores: s.cores,
                http_unavailable: http.clone(),
                echo_unavailable: echo.clone(),
                chat_unavailable: chat.clone(),
                hyper_unavailable: hyper.clone(),
            })
            .collect(),
        workloads: workload_reports,
        micro,
        notes,
    };
    print!("{}", report.table());
    let json = args
        .json
        .clone()
        .unwrap_or_else(|| paths.out.join("bench.json"));
    let svg_path = json.with_extension("svg");
    report.write_json(&json)?;
    std::fs::write(&svg_path, svg::render(&report))
        .map_err(|e| format!("writing {}: {e}", svg_path.display()))?;
    println!("\nJSON: {}\nSVG:  {}", json.display(), svg_path.display());
    let measured = report
        .workloads
        .iter()
        .flat_map(|w| &w.results)
        .any(|r| r.status == Status::Ok);
    if !measured {
        return Err("no server produced a single figure".into());
    }
    if args.smoke {
        let failed = failed_measurements(&report);
        if !failed.is_empty() {
            return Err(format!(
                "smoke run: {} measurement(s) of available servers failed:\n  {}",
                failed.len(),
                failed.join("\n  ")
            ));
        }
    }
    Ok(())
}

/// What the reader of the hyper figures should know.
const HYPER_NOTE: &str = "hyper: one hyper 1.x service (xtask/peers/src/hyper_hello.rs, the same \
     response bytes) served by solo-hyper (solo: solo::hyper's SoloIo and SoloTimer) and by \
     peer-tokio --mode hyper (tokio current_thread: hyper-util's TokioIo and TokioTimer); \
     HTTP/1.1 keep-alive, the header-read timeout armed (hyper's 30 s default once a timer is \
     set); req/CPU-s is the figure to compare";

/// What the reader of the chat figures should know.
fn chat_notes(specs: &[ServerSpec]) -> Vec<String> {
    let mut notes = vec![
        "chat: one poster posts at a fixed rate (open loop) chosen so that no server is saturated; \
         the window is the messages posted in it: ev/s is their events over the time it took to \
         post them, ev/s/CPU-s their events over the server's CPU time (utime + stime, all its \
         threads) from the first post until the last subscriber read the last one, p50/p99 are \
         over every delivery (post sent → event read). Every subscriber must receive every \
         message posted, once, in order, with the same id everywhere, or the round fails \
         (lagged events count as lost)"
            .to_string(),
    ];
    if let Some(s) = specs.iter().find(|s| s.cores > 1 && s.chat.is_some()) {
        let shared = if s.cpus().contains(&suite::LOADGEN_CPU) {
            format!(
                ", so its second shard shares CPU {} with the load generator",
                suite::LOADGEN_CPU
            )
        } else {
            String::new()
        };
        notes.push(format!(
            "chat: {} runs {} shards on CPUs {:?}{shared}; its events/CPU-s counts the CPU time \
             of all its shards, which normalises for the extra core, and its srv CPU is in percent \
             of one core (up to {}%)",
            s.name,
            s.cores,
            s.cpus(),
            s.cores * 100
        ));
    }
    notes
}

/// Measurements that failed on servers that were available (built and started): in a
/// smoke run (CI) they mean the bench or a server has rotted.
fn failed_measurements(report: &Report) -> Vec<String> {
    report
        .workloads
        .iter()
        .flat_map(|w| w.results.iter().map(move |r| (w, r)))
        .filter(|(_, r)| {
            r.status == Status::Failed || (r.status == Status::Ok && r.reason.is_some())
        })
        .map(|(w, r)| {
            format!(
                "{} {}: {}",
                w.workload.id,
                r.server,
                r.reason.as_deref().unwrap_or("failed")
            )
        })
        .collect()
}

fn result_of(spec: &ServerSpec, cell: suite::Cell, unavailable: Option<String>) -> ServerResult {
    let status = if !cell.samples.is_empty() {
        Status::Ok
    } else if unavailable.is_some() {
        Status::Unavailable
    } else {
        Status::Failed
    };
    let reason = match status {
        Status::Unavailable => unavailable,
        _ if cell.failures.is_empty() => None,
        _ => Some(cell.failures.join("; ")),
    };
    ServerResult {
        server: spec.name.into(),
        status,
        reason,
        median: Summary::of(&cell.samples),
        ratio: Default::default(),
        samples: cell.samples,
    }
}

fn progress_bar(len: u64) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) =
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(args: &BenchArgs) -> Vec<String> {
        plan(args).unwrap().1.into_iter().map(|w| w.id).collect()
    }

    #[test]
    fn the_quick_suite_skips_the_thousand_connection_cases() {
        let args = BenchArgs::default();
        assert_eq!(
            ids(&args),
            [
                "http-c100",
                "http-pipelined-c100",
                "echo-c1",
                "echo-c100",
                "idle-10000",
                "chat-1000",
                "chat-10000",
                "hyper-c100",
                "hyper-pipelined-c100"
            ]
        );
        assert_eq!(plan(&args).unwrap().0.rounds, 3);
    }

    #[test]
    fn chat_workloads_offer_the_same_events_per_second() {
        let (_, w) = plan(&BenchArgs {
            only: vec![Family::Chat],
            ..Default::default()
        })
        .unwrap();
        assert_eq!(w.len(), 2);
        for w in &w {
            assert_eq!(w.family.protocol(), Protocol::Chat);
            assert!((w.rate * w.conns as f64 - CHAT_EVENTS_PER_S).abs() < 1e-6);
        }
        assert_eq!((w[0].rate, w[1].rate), (50.0, 5.0));
        assert!(
            w[1].description.contains("10,000 SSE subscribers")
                && w[1].description.contains("at 5 msg/s")
                && w[1].description.contains("50,000 events/s"),
            "{}",
            w[1].description
        );
        let json = serde_json::to_value(&w[0]).unwrap();
        assert_eq!(json["family"], "chat");
        assert_eq!(json["rate"], 50.0);
        // Other families say nothing of a rate.
        let http = serde_json::to_value(Workload::http(1, 1)).unwrap();
        assert!(http.get("rate").is_none());
        let full = ids(&BenchArgs {
            full: true,
            only: vec![Family::Chat],
            ..Default::default()
        });
        assert_eq!(full, ["chat-1000", "chat-10000", "chat-19000"]);
        let (_, w) = plan(&BenchArgs {
            only: vec![Family::Chat],
            chat_load: Some(300_000),
            ..Default::default()
        })
        .unwrap();
        assert_eq!((w[0].rate, w[1].rate), (300.0, 30.0));
        assert!(
            plan(&BenchArgs {
                chat_load: Some(0),
                ..Default::default()
            })
            .is_err()
        );
    }

    #[test]
    fn the_full_suite_adds_them_and_a_bigger_idle_count() {
        let args = BenchArgs {
            full: true,
            ..Default::default()
        };
        let got = ids(&args);
        assert!(got.contains(&"http-c1000".to_string()) && got.contains(&"echo-c1000".to_string()));
        assert!(got.contains(&"idle-100000".to_string()));
        let args = BenchArgs {
            full: true,
            idle: Some(1_000_000),
            rounds: Some(2),
            ..Default::default()
        };
        assert!(ids(&args).contains(&"idle-1000000".to_string()));
        assert_eq!(plan(&args).unwrap().0.rounds, 2);
    }

    #[test]
    fn only_and_idle_narrow_and_extend() {
        let args = BenchArgs {
            only: vec![Family::Idle],
            idle: Some(100_000),
            ..Default::default()
        };
        assert_eq!(ids(&args), ["idle-10000", "idle-100000"]);
        let args = BenchArgs {
            only: vec![Family::HttpPipelined, Family::Echo],
            ..Default::default()
        };
        assert_eq!(ids(&args), ["http-pipelined-c100", "echo-c1", "echo-c100"]);
        let args = BenchArgs {
            idle: Some(10_000),
            ..Default::default()
        };
        assert_eq!(
            ids(&args).iter().filter(|i| i.starts_with("idle")).count(),
            1
        );
        assert!(
            plan(&BenchArgs {
                idle: Some(0),
                ..Default::default()
            })
            .is_err()
        );
    }

    #[test]
    fn smoke_runs_fail_on_failed_measurements_but_not_on_unavailable_servers() {
        let w = Workload::http(16, 1);
        let result = |server: &str, status, reason: Option<&str>| ServerResult {
            server: server.into(),
            status,
            reason: reason.map(String::from),
            median: Summary::default(),
            ratio: Default::default(),
            samples: vec![],
        };
        let report = |results| Report {
            schema: 1,
            command: String::new(),
            profile: "smoke".into(),
            rounds: 1,
            warmup_ms: 0,
            duration_ms: 0,
            started_unix: 0,
            elapsed_s: 0.0,
            machine: Default::default(),
            servers: vec![],
            workloads: vec![WorkloadReport::new(w.clone(), results, &["solo"])],
            micro: None,
            notes: vec![],
        };
        let fine = report(vec![
            result("solo", Status::Unavailable, Some("not built")),
            result("tokio", Status::Ok, None),
        ]);
        assert!(failed_measurements(&fine).is_empty());
        let broken = report(vec![
            result(
                "tokio",
                Status::Failed,
                Some("round 1: the server answered 404"),
            ),
            result(
                "smol",
                Status::Ok,
                Some("round 2: every connection was lost"),
            ),
        ]);
        let failed = failed_measurements(&broken);
        assert_eq!(failed.len(), 2);
        assert!(
            failed[0].starts_with("http-c16 tokio: round 1"),
            "{failed:?}"
        );
    }

    #[test]
    fn the_hyper_family_is_the_http_load_on_the_hyper_servers() {
        let (_, w) = plan(&BenchArgs {
            only: vec![Family::Hyper, Family::HyperPipelined],
            ..Default::default()
        })
        .unwrap();
        let ids: Vec<_> = w.iter().map(|w| w.id.as_str()).collect();
        assert_eq!(ids, ["hyper-c100", "hyper-pipelined-c100"]);
        assert_eq!((w[0].conns, w[0].depth), (100, 1));
        assert_eq!((w[1].conns, w[1].depth), (100, PIPELINE));
        assert!(w.iter().all(|w| w.family.protocol() == Protocol::Hyper));
        assert!(w.iter().all(|w| w.family.is_http()));
        assert!(!Family::Echo.is_http() && Family::HttpPipelined.is_http());
        assert!(
            w[1].description
                .starts_with("hyper (HTTP/1.1) keep-alive, 100 connections"),
            "{}",
            w[1].description
        );
        let serving: Vec<_> = servers::select(&[])
            .unwrap()
            .into_iter()
            .filter(|s| s.launch(Protocol::Hyper).is_some())
            .map(|s| s.name)
            .collect();
        assert_eq!(
            serving,
            ["solo-server", "tokio", servers::SOLO_SERVER_URING]
        );
    }

    #[test]
    fn smoke_is_small_and_short() {
        let (p, w) = plan(&BenchArgs {
            smoke: true,
            ..Default::default()
        })
        .unwrap();
        assert!(p.duration <= Duration::from_secs(1) && p.rounds == 1);
        assert!(w.iter().all(|w| w.conns <= 500));
        assert_eq!(w[1].depth, PIPELINE);
        assert_eq!(w[1].family.protocol(), Protocol::Http);
        assert_eq!(w[2].family.protocol(), Protocol::Echo);
        let chat = w.iter().find(|w| w.family == Family::Chat).unwrap();
        assert!(chat.conns <= 20 && chat.rate > 0.0);
    }

    #[test]
    fn chat_notes_name_the_sharded_server_and_its_shared_cpu() {
        let all = servers::select(&[]).unwrap();
        let notes = chat_notes(&all);
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].contains("open loop") && notes[0].contains("in order"));
        assert!(
            notes[1].contains("solo-2shards") && notes[1].contains("shares CPU 1"),
            "{}",
            notes[1]
        );
        let one = servers::select(&["solo-server".into(), "node".into()]).unwrap();
        assert_eq!(chat_notes(&one).len(), 1);
    }
}
