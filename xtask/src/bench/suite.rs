//! One measurement: start a fresh server, drive it with load-generator child processes,
//! read its CPU time, memory and descriptors from `/proc`, stop everything.
//!
//! Every child (server, load generator, wrk) is owned by a guard that kills and reaps it
//! when dropped, so an error or Ctrl-C anywhere leaves nothing running.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use super::loadgen::chat::ChatReport;
use super::loadgen::{IdleEvent, WindowReport};
use super::report::{ChatSample, IdleSample, Sample};
use super::servers::{Paths, RunningServer, SERVER_CPU, ServerSpec};
use super::stats::Histogram;
use super::sysinfo::{fd_limit, open_fds, process_cpu_seconds, rss_kib};
use super::{Family, Profile, Workload, wrk};
use crate::sys;

/// The CPU of the load generator (and of the xtask itself).
pub const LOADGEN_CPU: usize = 1;
/// Connections per load-generator process (every process may hold at most 20,000
/// descriptors on this machine).
pub const PER_LOADGEN: usize = 15_000;
/// Connections per source address.
pub const PER_SOURCE: usize = 5_000;
/// Descriptors left free in the server (for its own use while connections arrive).
const FD_MARGIN: u64 = 16;

/// What every measurement needs.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Where things are.
    pub paths: &'a Paths,
    /// How long and how often.
    pub profile: Profile,
    /// `wrk`, when `--wrk` found it.
    pub wrk: Option<&'a Path>,
}

/// The samples and troubles of one (workload, server) pair.
#[derive(Debug, Default)]
pub struct Cell {
    /// One per successful round.
    pub samples: Vec<Sample>,
    /// What went wrong in the other rounds.
    pub failures: Vec<String>,
    /// Side remarks for the report's notes (e.g. a failed wrk cross-check).
    pub notes: Vec<String>,
}

/// Why a measurement produced no sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The server did not start (unavailable, if it never started).
    Start(String),
    /// It started, but the measurement failed.
    Run(String),
    /// Ctrl-C.
    Interrupted,
}

fn run_failure(e: String) -> Failure {
    if e == sys::INTERRUPTED {
        Failure::Interrupted
    } else {
        Failure::Run(e)
    }
}

fn start_failure(e: String) -> Failure {
    if e == sys::INTERRUPTED {
        Failure::Interrupted
    } else {
        Failure::Start(e)
    }
}

fn start_server(
    ctx: &Context<'_>,
    spec: &ServerSpec,
    w: &Workload,
) -> Result<(RunningServer, PathBuf), Failure> {
    let protocol = w.family.protocol();
    let launch = spec
        .launch(protocol)
        .ok_or_else(|| Failure::Start("no such server".into()))?;
    let log = ctx.paths.log(&format!("{}-{}", spec.name, protocol.name()));
    let server = RunningServer::start(ctx.paths, &launch, spec.env, &log, Duration::from_secs(15))
        .map_err(start_failure)?;
    Ok((server, log))
}

/// Measures `spec` on `w` once, on a freshly started server.
pub fn measure(
    ctx: &Context<'_>,
    spec: &ServerSpec,
    w: &Workload,
    round: usize,
    cell: &mut Cell,
) -> Result<Sample, Failure> {
    let (mut server, log) = start_server(ctx, spec, w)?;
    let mut sample = match w.family {
        Family::Idle => measure_idle(ctx, &mut server, w, &log)?,
        Family::Chat => measure_chat(ctx, &server, spec, w, round, &log)?,
        _ => measure_window(ctx, &server, w, &log)?,
    };
    server.check_alive(&log).map_err(Failure::Run)?;
    drop(server);
    sample.round = round;
    if let (Some(wrk_path), true) = (ctx.wrk, w.family.is_http()) {
        match cross_check(ctx, spec, w, wrk_path) {
            Ok(rate) => sample.wrk_rate = Some(rate),
            Err(Failure::Interrupted) => return Err(Failure::Interrupted),
            Err(Failure::Start(e) | Failure::Run(e)) => cell
                .notes
                .push(format!("wrk on {} {}: {e}", w.id, spec.name)),
        }
    }
    Ok(sample)
}

fn cross_check(
    ctx: &Context<'_>,
    spec: &ServerSpec,
    w: &Workload,
    wrk_path: &Path,
) -> Result<f64, Failure> {
    let script = ctx.paths.out.join("pipeline.lua");
    std::fs::write(&script, wrk::PIPELINE_LUA)
        .map_err(|e| Failure::Run(format!("writing {}: {e}", script.display())))?;
    let (server, _log) = start_server(ctx, spec, w)?;
    let args = wrk::args(server.addr, w.conns, w.depth, ctx.profile.duration, &script);
    wrk::run(
        wrk_path,
        &args,
        LOADGEN_CPU,
        ctx.profile.duration + Duration::from_secs(30),
    )
    .map_err(run_failure)
}

/// A load-generator child process; dropping it kills and reaps it.
struct LoadgenProc {
    child: Child,
    stdout: ChildStdout,
    stdin: Option<ChildStdin>,
    buf: Vec<u8>,
    log: PathBuf,
}

impl LoadgenProc {
    fn spawn(args: &[String], log: PathBuf) -> Result<LoadgenProc, Failure> {
        let exe = std::env::current_exe()
            .map_err(|e| Failure::Run(format!("finding the xtask binary: {e}")))?;
        let log_file = std::fs::File::create(&log)
            .map_err(|e| Failure::Run(format!("creating {}: {e}", log.display())))?;
        let mut cmd = Command::new(exe);
        cmd.arg("loadgen")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log_file);
        sys::harden_child(&mut cmd, Some(LOADGEN_CPU));
        let mut child = cmd
            .spawn()
            .map_err(|e| Failure::Run(format!("starting the load generator: {e}")))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let stdin = child.stdin.take();
        Ok(LoadgenProc {
            child,
            stdout,
            stdin,
            buf: Vec::new(),
            log,
        })
    }

    /// The next line of output, waiting at most until `deadline`.
    fn next_line(&mut self, deadline: Instant) -> Result<String, Failure> {
        use std::os::fd::AsRawFd;
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=i).collect();
                return Ok(String::from_utf8_lossy(&line).trim().to_string());
            }
            if sys::interrupted() {
                return Err(Failure::Interrupted);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Failure::Run(
                    "the load generator did not answer in time".into(),
                ));
            }
            let wait = (deadline - now).min(Duration::from_millis(100));
            let ready = sys::wait_readable(&[self.stdout.as_raw_fd()], wait)
                .map_err(|e| Failure::Run(e.to_string()))?;
            if ready[0] {
                let mut chunk = [0u8; 8192];
                match self.stdout.read(&mut chunk) {
                    Ok(0) => {
                        let status = self.child.wait().map_err(|e| Failure::Run(e.to_string()))?;
                        let tail = super::servers::log_tail(&self.log);
                        return Err(Failure::Run(format!(
                            "the load generator exited ({status}): {tail}"
                        )));
                    }
                    Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(Failure::Run(format!("reading the load generator: {e}"))),
                }
            }
        }
    }

    fn send(&mut self, command: &str) -> Result<(), Failure> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| Failure::Run("load generator input closed".into()))?;
        writeln!(stdin, "{command}")
            .and_then(|()| stdin.flush())
            .map_err(|e| Failure::Run(format!("commanding the load generator: {e}")))
    }

    /// Closes its input and waits (at most `timeout`) for it to exit.
    fn finish(mut self, timeout: Duration) -> Result<(), Failure> {
        drop(self.stdin.take());
        let deadline = Instant::now() + timeout;
        loop {
            if sys::interrupted() {
                return Err(Failure::Interrupted);
            }
            match self.child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => {
                    return Err(Failure::Run(format!(
                        "the load generator failed ({status}): {}",
                        super::servers::log_tail(&self.log)
                    )));
                }
                Ok(None) if Instant::now() >= deadline => {
                    return Err(Failure::Run("the load generator did not exit".into()));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => return Err(Failure::Run(e.to_string())),
            }
        }
    }
}

impl Drop for LoadgenProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn measure_window(
    ctx: &Context<'_>,
    server: &RunningServer,
    w: &Workload,
    server_log: &Path,
) -> Result<Sample, Failure> {
    let p = ctx.profile;
    let mut args: Vec<String> = vec![
        if w.family == Family::Echo {
            "echo"
        } else {
            "http"
        }
        .into(),
        "--addr".into(),
        server.addr.to_string(),
        "--conns".into(),
        w.conns.to_string(),
        "--per-source".into(),
        PER_SOURCE.to_string(),
        "--server-pid".into(),
        server.pid.to_string(),
        "--server-cpu".into(),
        SERVER_CPU.to_string(),
        "--warmup-ms".into(),
        p.warmup.as_millis().to_string(),
        "--duration-ms".into(),
        p.duration.as_millis().to_string(),
    ];
    if w.family == Family::Echo {
        args.extend(["--size".into(), w.size.to_string()]);
    } else {
        args.extend(["--depth".into(), w.depth.to_string()]);
    }
    let log = server_log.with_file_name(format!("loadgen-{}.log", w.id));
    let mut lg = LoadgenProc::spawn(&args, log)?;
    let line = lg.next_line(Instant::now() + p.warmup + p.duration + Duration::from_secs(60))?;
    let report: WindowReport = serde_json::from_str(&line)
        .map_err(|e| Failure::Run(format!("unreadable load-generator result: {e}: {line}")))?;
    lg.finish(Duration::from_secs(10))?;
    sample_from_window(&report).map_err(Failure::Run)
}

/// How long the chat load generator waits, after the last post, for every subscriber to
/// have every message.
const CHAT_DRAIN: Duration = Duration::from_secs(5);

fn measure_chat(
    ctx: &Context<'_>,
    server: &RunningServer,
    spec: &ServerSpec,
    w: &Workload,
    round: usize,
    server_log: &Path,
) -> Result<Sample, Failure> {
    let p = ctx.profile;
    let cpus: Vec<String> = spec.cpus().iter().map(usize::to_string).collect();
    let args: Vec<String> = vec![
        "chat".into(),
        "--addr".into(),
        server.addr.to_string(),
        "--conns".into(),
        w.conns.to_string(),
        "--per-source".into(),
        PER_SOURCE.to_string(),
        "--server-pid".into(),
        server.pid.to_string(),
        "--server-cpu".into(),
        cpus.join(","),
        "--warmup-ms".into(),
        p.warmup.as_millis().to_string(),
        "--duration-ms".into(),
        p.duration.as_millis().to_string(),
        "--rate".into(),
        w.rate.to_string(),
        "--size".into(),
        w.size.to_string(),
        "--run".into(),
        (round + 1).to_string(),
        "--drain-ms".into(),
        CHAT_DRAIN.as_millis().to_string(),
    ];
    let log = server_log.with_file_name(format!("loadgen-{}-{}.log", w.id, spec.name));
    let mut lg = LoadgenProc::spawn(&args, log)?;
    let setup = Duration::from_secs(60) + Duration::from_millis(w.conns as u64);
    let line = lg.next_line(Instant::now() + setup + p.warmup + p.duration + CHAT_DRAIN)?;
    let report: ChatReport = serde_json::from_str(&line)
        .map_err(|e| Failure::Run(format!("unreadable load-generator result: {e}: {line}")))?;
    lg.finish(Duration::from_secs(10))?;
    sample_from_chat(&report, &spec.cpus()).map_err(Failure::Run)
}

/// Turns a chat report into a sample; `Err` if it measured nothing or any subscriber
/// missed anything. `cpus`: those the server ran on; when they include the load
/// generator's (a sharded server), the load generator's own time there is not "others".
pub fn sample_from_chat(r: &ChatReport, cpus: &[usize]) -> Result<Sample, String> {
    let shares_loadgen_cpu = cpus.contains(&LOADGEN_CPU);
    if let Some(shortfall) = r.shortfall() {
        let why = r
            .window
            .first_error
            .as_ref()
            .filter(|e| !shortfall.contains(e.as_str()))
            .map_or_else(String::new, |e| format!(" (error: {e})"));
        return Err(format!("{shortfall}{why}"));
    }
    let mut sample = sample_from_window(&r.window)?;
    // The window runs on until the last delivery; the rate delivered is the window's
    // events over the time it took to post them.
    sample.rate =
        (r.posting_window_s > 0.0).then(|| r.window.completed as f64 / r.posting_window_s);
    if shares_loadgen_cpu {
        sample.others_cpu_pct =
            r.window
                .server_cpu_busy_s
                .zip(r.window.server_cpu_s)
                .map(|(busy, own)| {
                    ((busy - own - r.window.loadgen_cpu_s) / r.window.window_s * 100.0)
                        .clamp(0.0, 100.0)
                });
        // Its CPU is the server's too: what else ran there cannot be told apart.
        sample.loadgen_others_cpu_pct = None;
    }
    sample.chat = Some(ChatSample {
        subscribers: r.subscribers,
        msgs_per_s: r.rate,
        offered_per_s: r.rate * r.subscribers as f64,
        posted: r.posted,
        posted_in_window: r.posted_in_window,
        delivered: r.delivered,
        poster_late_ms: r.poster_late_ms,
        drain_s: r.drain_s,
        cores: cpus.len(),
    });
    Ok(sample)
}

fn us(d: Option<Duration>) -> Option<f64> {
    d.map(|d| d.as_secs_f64() * 1e6)
}

/// Turns a load generator's window report into a sample; `Err` if it measured nothing.
pub fn sample_from_window(r: &WindowReport) -> Result<Sample, String> {
    let why = || {
        r.first_error
            .clone()
            .unwrap_or_else(|| "no error reported".into())
    };
    if r.connect.connected == 0 {
        return Err(format!("no connection could be opened: {}", why()));
    }
    if r.completed == 0 || r.window_s <= 0.0 {
        return Err(format!("nothing completed in the window: {}", why()));
    }
    let server_cpu = r.server_cpu_s.filter(|&s| s > 0.0);
    let errors = r.errors + r.connect.failed as u64;
    Ok(Sample {
        rate: Some(r.completed as f64 / r.window_s),
        per_cpu_s: server_cpu.map(|s| r.completed as f64 / s),
        server_cpu_pct: r.server_cpu_s.map(|s| s / r.window_s * 100.0),
        loadgen_cpu_pct: Some(r.loadgen_cpu_s / r.window_s * 100.0),
        others_cpu_pct: r
            .server_cpu_busy_s
            .zip(r.server_cpu_s)
            .map(|(busy, own)| ((busy - own) / r.window_s * 100.0).clamp(0.0, 100.0)),
        loadgen_others_cpu_pct: r
            .loadgen_cpu_busy_s
            .map(|busy| ((busy - r.loadgen_cpu_s) / r.window_s * 100.0).clamp(0.0, 100.0)),
        p50_us: us(r.latency.quantile(0.5)),
        p99_us: us(r.latency.quantile(0.99)),
        errors,
        first_error: (errors > 0).then(why),
        ..Sample::default()
    })
}

/// How many connections a server can take, and which limit says so if fewer than asked.
pub fn idle_target(
    requested: usize,
    fd_soft: u64,
    fds_in_use: u64,
    system_free: Option<u64>,
) -> (usize, Option<String>) {
    let server_room = fd_soft.saturating_sub(fds_in_use + FD_MARGIN) as usize;
    // Every connection costs two descriptors machine-wide: the server's and the client's.
    let system_room = system_free.map_or(usize::MAX, |f| (f.saturating_sub(1024) / 2) as usize);
    if requested <= server_room && requested <= system_room {
        return (requested, None);
    }
    if server_room <= system_room {
        let note = format!(
            "asked for {requested} connections, but a server process may hold at most {fd_soft} descriptors \
             (RLIMIT_NOFILE, which this machine caps for every process): measured the most each server \
             could hold (the limit less the descriptors it had open, less {FD_MARGIN} spare)"
        );
        (server_room, Some(note))
    } else {
        let note = format!(
            "asked for {requested} connections, but the machine-wide file limit (fs.file-max) leaves room for \
             {system_room} (two descriptors each): measured {system_room} instead"
        );
        (system_room, Some(note))
    }
}

fn system_free_files() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/sys/fs/file-nr").ok()?;
    let v: Vec<u64> = text
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect();
    Some(v.get(2)?.saturating_sub(*v.first()?))
}

/// Warms a fresh server up (HTTP load on a few connections for the profile's warm-up
/// time, then closed) so that the idle measurement sees steady-state memory and latency
/// rather than first-use costs (lazy initialisation, a JIT).
fn warm_up(
    ctx: &Context<'_>,
    server: &mut RunningServer,
    server_log: &Path,
) -> Result<(), Failure> {
    let gone = || Failure::Run("the server's /proc entry vanished (did it exit?)".into());
    let before = open_fds(server.pid).ok_or_else(gone)?;
    let args: Vec<String> = vec![
        "http".into(),
        "--addr".into(),
        server.addr.to_string(),
        "--conns".into(),
        "16".into(),
        "--warmup-ms".into(),
        "0".into(),
        "--duration-ms".into(),
        ctx.profile.warmup.as_millis().to_string(),
    ];
    let mut lg = LoadgenProc::spawn(&args, server_log.with_file_name("loadgen-warmup.log"))?;
    let line = lg.next_line(Instant::now() + ctx.profile.warmup + Duration::from_secs(60))?;
    let report: WindowReport = serde_json::from_str(&line)
        .map_err(|e| Failure::Run(format!("unreadable load-generator result: {e}: {line}")))?;
    lg.finish(Duration::from_secs(10))?;
    sample_from_window(&report).map_err(|e| Failure::Run(format!("warm-up: {e}")))?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while open_fds(server.pid).ok_or_else(gone)? > before && Instant::now() < deadline {
        sys::check_interrupt().map_err(|_| Failure::Interrupted)?;
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

fn measure_idle(
    ctx: &Context<'_>,
    server: &mut RunningServer,
    w: &Workload,
    server_log: &Path,
) -> Result<Sample, Failure> {
    let pid = server.pid;
    let gone = || Failure::Run("the server's /proc entry vanished (did it exit?)".into());
    warm_up(ctx, server, server_log)?;
    let base_fds = open_fds(pid).ok_or_else(gone)? as u64;
    let soft = fd_limit(pid).ok_or_else(gone)?;
    let (target, limit) = idle_target(w.conns, soft, base_fds, system_free_files());
    if target == 0 {
        return Err(Failure::Run(
            limit.unwrap_or_else(|| "no room for a single connection".into()),
        ));
    }
    let rss_before = rss_kib(pid).ok_or_else(gone)?;
    let started = Instant::now();
    let mut children = Vec::new();
    for (k, first) in (0..target).step_by(PER_LOADGEN).enumerate() {
        let n = PER_LOADGEN.min(target - first);
        let args: Vec<String> = vec![
            "idle".into(),
            "--addr".into(),
            server.addr.to_string(),
            "--conns".into(),
            n.to_string(),
            "--first-index".into(),
            first.to_string(),
            "--per-source".into(),
            PER_SOURCE.to_string(),
            "--wave-timeout-ms".into(),
            ctx.profile.wave_timeout.as_millis().to_string(),
        ];
        children.push(LoadgenProc::spawn(
            &args,
            server_log.with_file_name(format!("loadgen-{}-{k}.log", w.id)),
        )?);
    }
    let connect_deadline = started + Duration::from_secs(60) + Duration::from_millis(target as u64);
    let (mut connected, mut failed, mut first_error) = (0usize, 0usize, None);
    for child in &mut children {
        let line = child.next_line(connect_deadline)?;
        match serde_json::from_str(&line) {
            Ok(IdleEvent::Connected(c)) => {
                connected += c.connected;
                failed += c.failed;
                if first_error.is_none() {
                    first_error = c.first_error;
                }
            }
            _ => {
                return Err(Failure::Run(format!(
                    "unexpected load-generator output: {line}"
                )));
            }
        }
    }
    // Connected on the client side means "in the backlog"; wait until the server has
    // accepted them (its descriptor count), or it stops growing.
    let want = base_fds + connected as u64;
    let (mut last_change, mut last) = (Instant::now(), 0u64);
    let fds = loop {
        sys::check_interrupt().map_err(|_| Failure::Interrupted)?;
        server.check_alive(server_log).map_err(Failure::Run)?;
        let fds = open_fds(pid).ok_or_else(gone)? as u64;
        if fds != last {
            last = fds;
            last_change = Instant::now();
        }
        if fds >= want
            || last_change.elapsed() > Duration::from_secs(2)
            || started.elapsed() > Duration::from_secs(300)
        {
            break fds;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let connect_s = if fds >= want {
        started.elapsed()
    } else {
        last_change - started
    }
    .as_secs_f64();
    let held = fds.saturating_sub(base_fds) as usize;
    if held == 0 {
        let why = first_error.unwrap_or_else(|| "no error reported".into());
        return Err(Failure::Run(format!(
            "the server held no connections: {why}"
        )));
    }
    let rss_after = rss_kib(pid).ok_or_else(gone)?;

    let cpu0 = process_cpu_seconds(pid);
    for child in &mut children {
        child.send("wave")?;
    }
    let wave_deadline = Instant::now() + ctx.profile.wave_timeout + Duration::from_secs(30);
    let (mut latency, mut answered, mut wave_failed, mut wave_s) = (Histogram::new(), 0, 0, 0.0f64);
    for child in &mut children {
        let line = child.next_line(wave_deadline)?;
        match serde_json::from_str(&line) {
            Ok(IdleEvent::Wave(wave)) => {
                latency.merge(&wave.latency);
                answered += wave.answered;
                wave_failed += wave.failed;
                wave_s = wave_s.max(wave.seconds);
                if first_error.is_none() {
                    first_error = wave.first_error;
                }
            }
            _ => {
                return Err(Failure::Run(format!(
                    "unexpected load-generator output: {line}"
                )));
            }
        }
    }
    let cpu1 = process_cpu_seconds(pid);
    let rss_after_wave = rss_kib(pid).unwrap_or(0);
    for child in &mut children {
        child.send("close")?;
    }
    for child in children {
        child.finish(Duration::from_secs(30))?;
    }
    let wave_cpu = cpu0.zip(cpu1).map(|(a, b)| b - a).filter(|&c| c > 0.0);
    let errors = (failed + wave_failed) as u64;
    Ok(Sample {
        errors,
        first_error: if errors > 0 { first_error } else { None },
        idle: Some(IdleSample {
            requested: w.conns,
            attempted: target,
            held,
            limit,
            connect_s,
            rss_before_kib: rss_before,
            rss_after_kib: rss_after,
            bytes_per_conn: rss_after.saturating_sub(rss_before) as f64 * 1024.0 / held as f64,
            rss_after_wave_kib: rss_after_wave,
            wave_answered: answered,
            wave_failed,
            wave_p50_us: us(latency.quantile(0.5)),
            wave_p99_us: us(latency.quantile(0.99)),
            wave_s,
            wave_per_cpu_s: wave_cpu.map(|c| answered as f64 / c),
        }),
        ..Sample::default()
    })
}

#[cfg(test)]
mod tests {
    use super::super::loadgen::ConnectReport;
    use super::*;

    #[test]
    fn a_window_report_becomes_a_sample() {
        let mut r = WindowReport {
            connect: ConnectReport {
                requested: 100,
                connected: 100,
                ..Default::default()
            },
            completed: 200_000,
            window_s: 2.0,
            server_cpu_s: Some(1.6),
            server_cpu_busy_s: Some(1.8),
            loadgen_cpu_busy_s: Some(1.3),
            loadgen_cpu_s: 1.0,
            ..Default::default()
        };
        for _ in 0..99 {
            r.latency.record(Duration::from_micros(500));
        }
        r.latency.record(Duration::from_millis(5));
        let s = sample_from_window(&r).unwrap();
        assert_eq!(s.rate, Some(100_000.0));
        assert_eq!(s.per_cpu_s, Some(125_000.0));
        assert_eq!(s.server_cpu_pct, Some(80.0));
        assert_eq!(s.loadgen_cpu_pct, Some(50.0));
        assert!((s.others_cpu_pct.unwrap() - 10.0).abs() < 1e-9);
        assert!((s.loadgen_others_cpu_pct.unwrap() - 15.0).abs() < 1e-9);
        assert!((s.p50_us.unwrap() - 500.0).abs() < 10.0);
        assert!((s.p99_us.unwrap() - 500.0).abs() < 10.0);
        assert_eq!((s.errors, s.first_error), (0, None));
    }

    #[test]
    fn a_window_without_results_is_a_failure_with_its_reason() {
        let r = WindowReport {
            connect: ConnectReport {
                requested: 1,
                failed: 1,
                first_error: Some("connect: refused".into()),
                ..Default::default()
            },
            first_error: Some("connect: refused".into()),
            ..Default::default()
        };
        assert!(sample_from_window(&r).unwrap_err().contains("refused"));
        let r = WindowReport {
            connect: ConnectReport {
                requested: 1,
                connected: 1,
                ..Default::default()
            },
            window_s: 1.0,
            errors: 1,
            first_error: Some("the server answered 404".into()),
            ..Default::default()
        };
        assert!(sample_from_window(&r).unwrap_err().contains("404"));
    }

    #[test]
    fn a_chat_report_becomes_a_sample_only_when_complete() {
        let mut r = ChatReport {
            window: WindowReport {
                connect: ConnectReport {
                    requested: 1001,
                    connected: 1001,
                    ..Default::default()
                },
                completed: 100_000,
                window_s: 2.0,
                server_cpu_s: Some(0.5),
                server_cpu_busy_s: Some(1.5),
                loadgen_cpu_s: 0.6,
                loadgen_cpu_busy_s: Some(0.7),
                ..Default::default()
            },
            subscribers: 1000,
            subscribed: 1000,
            rate: 50.0,
            posted: 125,
            posted_in_window: 100,
            posting_window_s: 2.0,
            delivered: 125_000,
            expected: 125_000,
            ..Default::default()
        };
        r.window.latency.record(Duration::from_micros(700));
        let one = sample_from_chat(&r, &[0]).unwrap();
        assert_eq!(one.rate, Some(50_000.0));
        assert_eq!(one.per_cpu_s, Some(200_000.0));
        let chat = one.chat.as_ref().unwrap();
        assert_eq!((chat.offered_per_s, chat.cores), (50_000.0, 1));
        // Other processes on CPU 0: busy 1.5 s, the server's own 0.5 s.
        assert!((one.others_cpu_pct.unwrap() - 50.0).abs() < 1e-9);
        // Two shards on CPUs 0 and 1: the load generator's time there is not "others".
        let two = sample_from_chat(&r, &[0, 1]).unwrap();
        assert!((two.others_cpu_pct.unwrap() - 20.0).abs() < 1e-9);
        assert_eq!(
            (two.loadgen_others_cpu_pct, two.chat.unwrap().cores),
            (None, 2)
        );
        r.incomplete = 600;
        r.delivered = 50_000;
        r.first_problem = Some("subscriber 3: received 0 of 125 messages".into());
        let e = sample_from_chat(&r, &[0, 1]).unwrap_err();
        assert!(
            e.contains("600 of 1000 subscribers") && e.contains("received 0 of 125"),
            "{e}"
        );
    }

    #[test]
    fn idle_targets_respect_the_limits_and_say_which() {
        assert_eq!(
            idle_target(10_000, 20_000, 10, Some(1_000_000)),
            (10_000, None)
        );
        let (n, note) = idle_target(100_000, 20_000, 10, Some(1_000_000));
        assert_eq!(n, 20_000 - 10 - 16);
        assert!(note.unwrap().contains("RLIMIT_NOFILE"));
        let (n, note) = idle_target(100_000, 1_000_000, 10, Some(50_000));
        assert_eq!(n, (50_000 - 1024) / 2);
        assert!(note.unwrap().contains("fs.file-max"));
        assert_eq!(idle_target(5, 10, 8, None).0, 0);
    }
}
