//! `cargo xtask soak`: solo-server under hours-long-style churn, then a check that it
//! gave everything back.
//!
//! 1. Builds `solo-server` (release) and starts it pinned to CPU 0 (`--quiet`, a temporary
//!    `--root` with a few files, a 2 s header timeout so slow clients cycle quickly).
//! 2. Warms up with a few seconds of the same churn, waits until `/stats` shows no
//!    connection but the probe asking, and records the server's open descriptors
//!    (`/proc/PID/fd`), resident memory (`VmRSS`) and reactor registrations.
//! 3. Churns for the duration from CPU 1 ([`churn`]): a few hundred connections at a
//!    time opening and closing; keep-alive and pipelined requests over `/plaintext`,
//!    `/json`, `/static/<file>`, `HEAD`s, 404s and chunked `POST`s, every response checked
//!    whole ([`http`]); chat subscribers that come and go while messages are posted, each
//!    checking it got what was posted while it was subscribed, in order ([`chat`]); slow
//!    clients (a byte at a time, some past the header timeout: `408` or a close, never
//!    before the timeout); resets (`SO_LINGER` 0) and half-closes.
//! 4. Stops the load, waits until the server is quiet again, samples it again, sends
//!    `SIGINT` and requires ([`report::verdict`]): every response right, descriptors back
//!    to the start exactly, reactor registrations back, no subscriber left, RSS back within
//!    [`report::rss_allowance_kib`], exit status 0 and no `panicked` in its output.
//!
//! Prints a summary table (also written to `target/soak/summary.txt`; the server's output
//! is in `target/soak/logs/solo-server.log`) and fails on any problem. Ctrl-C stops
//! everything it started.

use std::io::{Read, Write};
use std::net::{SocketAddr, SocketAddrV4, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Args;

use crate::bench::servers::{
    self, Launch, Paths, Program, RunningServer, SERVER_CPU, command_for, free_port,
};
use crate::bench::suite::LOADGEN_CPU;
use crate::bench::sysinfo::{open_fds, rss_kib, status_kib};
use crate::sys;

pub mod chat;
pub mod churn;
pub mod http;
pub mod report;
pub mod rng;

use report::{Exit, Sample, ShardStats, Summary};

/// `cargo xtask soak`: ten minutes by default.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct SoakArgs {
    /// How long to churn, in minutes.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub minutes: u64,
    /// How long to churn, in seconds (short runs); replaces --minutes.
    #[arg(long, value_name = "N")]
    pub seconds: Option<u64>,
    /// Where the server listens (IPv4; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: SocketAddrV4,
    /// The server's threads (`solo-server --threads`); with 1 it is pinned to CPU 0.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub threads: u16,
    /// Connections at a time (each process may hold at most 20,000 descriptors here).
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(8..=10_000))]
    pub conns: u64,
    /// The seed of the random mix (default: from the clock; printed, to replay a run).
    #[arg(long)]
    pub seed: Option<u64>,
}

impl SoakArgs {
    /// How long to churn.
    pub fn duration(&self) -> Duration {
        match self.seconds {
            Some(s) => Duration::from_secs(s),
            None => Duration::from_secs(self.minutes.saturating_mul(60)),
        }
    }
}

/// The server's header timeout during the soak: short, so slow clients come and go.
const HEADER_TIMEOUT: Duration = Duration::from_secs(2);
/// The churn before the start sample: the server's lazily made things (blocking-pool
/// threads, the chat ring, buffers) exist by then.
const WARMUP: Duration = Duration::from_secs(3);
/// How long the server may take to go quiet after the load.
const QUIET_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the descriptors may take to come back once it is quiet (a file closed on
/// the blocking pool).
const SETTLE: Duration = Duration::from_secs(5);
/// How long it may take to exit after `SIGINT` (its shutdown grace is 10 s).
const EXIT_TIMEOUT: Duration = Duration::from_secs(30);

const SOLO: Launch = Launch::new(
    Program::Cargo {
        package: "solo-server",
        bin: "solo-server",
    },
    &["--addr", "{addr}", "--quiet"],
);

/// A temporary `--root` with the soak's files, removed when dropped.
struct TempRoot(PathBuf);

impl TempRoot {
    fn create(files: &[http::StaticFile], seed: u64) -> Result<TempRoot, String> {
        let dir = std::env::temp_dir().join(format!("solo-soak-{}-{seed}", std::process::id()));
        let root = TempRoot(dir);
        std::fs::create_dir_all(&root.0)
            .map_err(|e| format!("creating {}: {e}", root.0.display()))?;
        for f in files {
            let path = root.0.join(f.name);
            std::fs::write(&path, &f.body[..])
                .map_err(|e| format!("writing {}: {e}", path.display()))?;
        }
        Ok(root)
    }
}

impl Drop for TempRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Asks `/stats` on a new connection; returns the answer and the connection (still open).
fn probe_stats(addr: SocketAddrV4) -> Result<(ShardStats, TcpStream), String> {
    let what = "GET /stats (probe)";
    let mut conn = TcpStream::connect_timeout(&SocketAddr::V4(addr), Duration::from_secs(5))
        .map_err(|e| format!("{what}: connecting to {addr}: {e}"))?;
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .and_then(|()| conn.set_write_timeout(Some(Duration::from_secs(10))))
        .map_err(|e| e.to_string())?;
    conn.write_all(&http::Request::new("GET", "/stats").encode(&addr.to_string()))
        .map_err(|e| format!("{what}: {e}"))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some((value, _)) = http::take_json(&buf, what)? {
            let stats = serde_json::from_value(value)
                .map_err(|e| format!("{what}: unexpected JSON: {e}"))?;
            return Ok((stats, conn));
        }
        match conn.read(&mut chunk) {
            Ok(0) => return Err(format!("{what}: closed before the response")),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(format!("{what}: {e}")),
        }
    }
}

/// Waits until every shard has been seen with no connection open but the probe. Returns
/// their stats and the last probe's connection, still open (so that a descriptor count
/// taken now includes it, at the start and at the end alike).
fn wait_quiet(
    addr: SocketAddrV4,
    shards: usize,
    timeout: Duration,
) -> Result<(Vec<ShardStats>, TcpStream), String> {
    let deadline = Instant::now() + timeout;
    let mut quiet: Vec<Option<ShardStats>> = vec![None; shards.max(1)];
    let mut busy = String::new();
    loop {
        sys::check_interrupt()?;
        let (stats, conn) = probe_stats(addr)?;
        let shard = usize::try_from(stats.shard).unwrap_or(usize::MAX);
        let Some(entry) = quiet.get_mut(shard) else {
            return Err(format!("/stats names shard {shard} of {shards}"));
        };
        if stats.open_connections == 1 {
            *entry = Some(stats);
        } else {
            *entry = None;
            busy = format!(
                "shard {shard} still has {} connection(s) besides the probe",
                stats.open_connections.saturating_sub(1)
            );
        }
        if quiet.iter().all(Option::is_some) {
            return Ok((quiet.into_iter().flatten().collect(), conn));
        }
        drop(conn);
        if Instant::now() >= deadline {
            return Err(format!("after {timeout:?}, {busy}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits for quiet and samples the server; with `want_fds`, keeps sampling (at most
/// [`SETTLE`]) until the descriptors match. Returns whether it went quiet, and the sample.
fn settle(
    pid: u32,
    addr: SocketAddrV4,
    shards: usize,
    want_fds: Option<usize>,
) -> Result<(Result<(), String>, Sample), String> {
    let sample = |stats: Vec<ShardStats>| -> Result<Sample, String> {
        Ok(Sample {
            fds: open_fds(pid).ok_or("cannot read the server's /proc/PID/fd")?,
            rss_kib: rss_kib(pid).ok_or("cannot read the server's VmRSS")?,
            shards: stats,
        })
    };
    let (stats, probe) = match wait_quiet(addr, shards, QUIET_TIMEOUT) {
        Ok(quiet) => quiet,
        Err(e) if e == sys::INTERRUPTED => return Err(e),
        Err(e) => return Ok((Err(e), sample(Vec::new())?)),
    };
    let mut last = sample(stats)?;
    drop(probe);
    let deadline = Instant::now() + SETTLE;
    while want_fds.is_some_and(|w| w != last.fds) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        let (stats, probe) = match wait_quiet(addr, shards, QUIET_TIMEOUT) {
            Ok(quiet) => quiet,
            Err(e) if e == sys::INTERRUPTED => return Err(e),
            Err(e) => return Ok((Err(e), last)),
        };
        last = sample(stats)?;
        drop(probe);
    }
    Ok((Ok(()), last))
}

/// The first line of `log` that says `panicked`.
fn panic_line(log: &Path) -> Option<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .find(|l| l.contains("panicked"))
        .map(|l| l.chars().take(300).collect())
}

/// `m:ss`.
fn mmss(d: Duration) -> String {
    format!("{}:{:02}", d.as_secs() / 60, d.as_secs() % 60)
}

/// Runs `cargo xtask soak`.
pub fn run(args: SoakArgs) -> Result<(), String> {
    sys::install_interrupt_handler().map_err(|e| format!("installing the Ctrl-C handler: {e}"))?;
    sys::raise_fd_limit().map_err(|e| format!("raising the descriptor limit: {e}"))?;
    let duration = args.duration();
    if duration.is_zero() {
        return Err("the soak needs a duration above zero".into());
    }
    let paths = Paths::discover()?;
    let paths = Paths {
        out: paths.target.join("soak"),
        ..paths
    };
    std::fs::create_dir_all(paths.out.join("logs"))
        .map_err(|e| format!("creating {}: {e}", paths.out.display()))?;
    for (package, built) in servers::build_packages(&paths, &["solo-server"]) {
        built.map_err(|e| format!("{package}: {e}"))?;
    }
    sys::check_interrupt()?;

    let seed = args.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    let files = http::static_files(seed);
    let root = TempRoot::create(&files, seed)?;
    let addr = if args.addr.port() == 0 {
        SocketAddrV4::new(*args.addr.ip(), free_port()?)
    } else {
        args.addr
    };
    let mut cmd = command_for(&paths, &SOLO, addr)?;
    cmd.arg("--root")
        .arg(&root.0)
        .arg("--header-timeout")
        .arg(format!("{}ms", HEADER_TIMEOUT.as_millis()))
        .arg("--threads")
        .arg(args.threads.to_string());
    let log = paths.log("solo-server");
    let cpu = (args.threads == 1).then_some(SERVER_CPU);
    let mut server = RunningServer::spawn(cmd, addr, cpu, &log, Duration::from_secs(30))
        .map_err(|e| format!("solo-server: {e}"))?;
    let pid = server.pid;
    eprintln!(
        "xtask: soak: solo-server (pid {pid}) on {addr}, {} thread(s); seed {seed}; log {}",
        args.threads,
        log.display()
    );
    // The load side stays off the server's CPU.
    if sys::cpus() > 1 {
        let _ = sys::pin_to_cpu(LOADGEN_CPU);
    }
    let (first, probe) = probe_stats(addr)?;
    drop(probe);
    let shards = usize::try_from(first.shards.max(1)).unwrap_or(1);

    let mut churn = churn::Churn::new(churn::Config {
        addr,
        shards,
        conns: usize::try_from(args.conns).unwrap_or(256),
        header_timeout: HEADER_TIMEOUT,
        files,
        seed,
    })
    .map_err(|e| format!("setting up the load: {e}"))?;

    eprintln!("xtask: soak: warming up for {WARMUP:?}");
    churn.run(WARMUP, &mut |_, _, _| server.check_alive(&log))?;
    let (quiet, start) = settle(pid, addr, shards, None)?;
    quiet.map_err(|e| format!("the server did not go quiet after the warm-up: {e}"))?;
    eprintln!(
        "xtask: soak: start: {} descriptors, RSS {}; churning for {}",
        start.fds,
        report::mib(start.rss_kib),
        mmss(duration)
    );

    let every = (duration / 10).max(Duration::from_secs(10));
    let mut next_report = every;
    let began = Instant::now();
    churn.run(duration, &mut |tally, open, elapsed| {
        server.check_alive(&log)?;
        if elapsed >= next_report {
            next_report += every;
            eprintln!(
                "xtask: soak: {} / {} · {} responses · {} events · {} errors · {open} open · \
                 server RSS {}, {} fds",
                mmss(elapsed),
                mmss(duration),
                crate::bench::report::group(tally.total_responses() as f64),
                crate::bench::report::group(tally.responses(report::Kind::SseEvent) as f64),
                tally.errors,
                rss_kib(pid).map_or("?".into(), report::mib),
                open_fds(pid).map_or("?".into(), |n| n.to_string()),
            );
        }
        Ok(())
    })?;
    let churned = began.elapsed();
    eprintln!("xtask: soak: load stopped; waiting for the server to go quiet");
    let (quiet, end) = settle(pid, addr, shards, Some(start.fds))?;
    let peak_rss_kib = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| status_kib(&s, "VmHWM"))
        .unwrap_or(end.rss_kib);
    let exit = match server.interrupt(EXIT_TIMEOUT) {
        Ok(status) => {
            use std::os::unix::process::ExitStatusExt;
            match (status.code(), status.signal()) {
                (Some(code), _) => Exit::Code(code),
                (None, Some(sig)) => Exit::Signal(sig),
                (None, None) => Exit::Failed(format!("{status}")),
            }
        }
        Err(e) if e == sys::INTERRUPTED => return Err(e),
        Err(e) => Exit::Failed(e),
    };
    drop(server);
    drop(root);

    let summary = Summary {
        churn: churned,
        warmup: WARMUP,
        seed,
        conns: usize::try_from(args.conns).unwrap_or(256),
        threads: args.threads,
        header_timeout: HEADER_TIMEOUT,
        tally: churn.tally().clone(),
        start,
        end,
        peak_rss_kib,
        quiet,
        exit,
        panic_line: panic_line(&log),
    };
    let failures = report::verdict(&summary);
    let text = report::render(&summary, &failures);
    println!("{text}");
    let file = paths.out.join("summary.txt");
    if let Err(e) = std::fs::write(&file, &text) {
        eprintln!("xtask: soak: could not write {}: {e}", file.display());
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the soak failed: {} (summary in {})",
            failures.join("; "),
            file.display()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_duration_comes_from_minutes_or_seconds() {
        let mut a = SoakArgs {
            minutes: 10,
            seconds: None,
            addr: "127.0.0.1:0".parse().unwrap(),
            threads: 1,
            conns: 256,
            seed: None,
        };
        assert_eq!(a.duration(), Duration::from_secs(600));
        a.seconds = Some(5);
        assert_eq!(a.duration(), Duration::from_secs(5));
        assert_eq!(mmss(Duration::from_secs(61)), "1:01");
    }

    #[test]
    fn the_temporary_root_holds_the_files_and_goes_away() {
        let files = http::static_files(5);
        let root = TempRoot::create(&files, 5).unwrap();
        let dir = root.0.clone();
        for f in &files {
            assert_eq!(std::fs::read(dir.join(f.name)).unwrap(), &f.body[..]);
        }
        drop(root);
        assert!(!dir.exists());
    }

    #[test]
    fn finds_a_panic_in_the_log() {
        let dir = std::env::temp_dir().join(format!("xtask-soak-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("server.log");
        std::fs::write(&log, "solo-server listening on http://127.0.0.1:1\n").unwrap();
        assert_eq!(panic_line(&log), None);
        std::fs::write(
            &log,
            "listening\nthread 'main' panicked at crates/server/src/x.rs:1:2:\nboom\n",
        )
        .unwrap();
        assert_eq!(
            panic_line(&log).as_deref(),
            Some("thread 'main' panicked at crates/server/src/x.rs:1:2:")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
