//! `cargo xtask flood`: how long a normal request waits while other clients flood
//! `solo-server` with pipelined work.
//!
//! 1. Builds `solo-server` (release; or takes `--server-bin`) and starts it pinned to CPU 0.
//! 2. Starts the load generator (`cargo xtask loadgen http`, pinned to CPU 1): `--conns`
//!    connections, each keeping `--depth` pipelined requests for `--path` in flight. The
//!    default is the hostile test of issue 20: 500 connections pipelining 4,000 requests of
//!    `/chat` (a 2 KB page; about 170 KB of requests and 9 MB of responses a batch).
//! 3. After a warm-up, a probe on one keep-alive connection sends `GET /plaintext`, one at
//!    a time, for `--seconds`, and times each round trip. It runs on CPU 1 too, and asks
//!    for real-time scheduling (`SCHED_FIFO`, when the system allows it) so that its own
//!    wake-ups on that busy CPU are not counted as the server's delay.
//! 4. Prints the probe's latency (p50, p99, p99.9, max) and the flood's responses per
//!    second; with `--max-p99-ms`, fails when the probe's p99 is above it.
//!
//! A measurement, not a test: run it on a quiet machine, more than once.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Args;

use crate::bench::loadgen::WindowReport;
use crate::bench::loadgen::http::{parse_response, request};
use crate::bench::servers::{self, Launch, Paths, Program, RunningServer, SERVER_CPU, free_port};
use crate::bench::suite::LOADGEN_CPU;
use crate::sys;

/// `cargo xtask flood`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct FloodArgs {
    /// Flooding connections.
    #[arg(long, default_value_t = 500)]
    pub conns: usize,
    /// Requests each flooding connection keeps in flight (one write per batch).
    #[arg(long, default_value_t = 4000)]
    pub depth: usize,
    /// What the flood asks for.
    #[arg(long, default_value = "/chat")]
    pub path: String,
    /// How long the probe measures, in seconds.
    #[arg(long, default_value_t = 6)]
    pub seconds: u64,
    /// The server's threads (`solo-server --threads`); with 1 it is pinned to CPU 0.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub threads: u16,
    /// Fail if the probe's p99 is above this many milliseconds.
    #[arg(long, value_name = "MS")]
    pub max_p99_ms: Option<f64>,
    /// Measure this `solo-server` binary instead of building the workspace's (to compare
    /// with another version).
    #[arg(long, value_name = "PATH")]
    pub server_bin: Option<std::path::PathBuf>,
}

const SOLO: Launch = Launch::new(
    Program::Cargo {
        package: "solo-server",
        bin: "solo-server",
    },
    &["--addr", "{addr}", "--quiet"],
);

/// The flood runs this long before the probe starts (connects, first batches in flight).
const WARMUP: Duration = Duration::from_secs(2);

/// Runs `cargo xtask flood`.
pub fn run(args: FloodArgs) -> Result<(), String> {
    sys::install_interrupt_handler().map_err(|e| format!("installing the Ctrl-C handler: {e}"))?;
    sys::raise_fd_limit().map_err(|e| format!("raising the descriptor limit: {e}"))?;
    let paths = Paths::discover()?;
    let paths = Paths {
        out: paths.target.join("flood"),
        ..paths
    };
    std::fs::create_dir_all(paths.out.join("logs"))
        .map_err(|e| format!("creating {}: {e}", paths.out.display()))?;
    let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, free_port()?);
    let mut cmd = match &args.server_bin {
        Some(bin) => {
            let mut cmd = Command::new(bin);
            cmd.args(["--addr", &addr.to_string(), "--quiet"]);
            cmd
        }
        None => {
            for (package, built) in servers::build_packages(&paths, &["solo-server"]) {
                built.map_err(|e| format!("{package}: {e}"))?;
            }
            servers::command_for(&paths, &SOLO, addr)?
        }
    };
    sys::check_interrupt()?;
    cmd.arg("--threads").arg(args.threads.to_string());
    let log = paths.log("solo-server");
    let cpu = (args.threads == 1).then_some(SERVER_CPU);
    let mut server = RunningServer::spawn(cmd, addr, cpu, &log, Duration::from_secs(30))
        .map_err(|e| format!("solo-server: {e}"))?;

    let flood_ms = (WARMUP + Duration::from_secs(args.seconds + 1)).as_millis();
    let exe = std::env::current_exe().map_err(|e| format!("finding the xtask binary: {e}"))?;
    let mut flood = Command::new(exe);
    flood
        .args(["loadgen", "http", "--addr", &addr.to_string()])
        .args(["--conns", &args.conns.to_string()])
        .args(["--depth", &args.depth.to_string()])
        .args(["--path", &args.path])
        .args(["--warmup-ms", "0", "--duration-ms", &flood_ms.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    sys::harden_child(&mut flood, Some(LOADGEN_CPU));
    eprintln!(
        "xtask: flood: {} connections × {} pipelined GET {} against solo-server ({} thread(s)) \
         on {addr}; probe: GET /plaintext for {} s",
        args.conns, args.depth, args.path, args.threads, args.seconds
    );
    let mut flood = flood
        .spawn()
        .map_err(|e| format!("starting the load generator: {e}"))?;

    std::thread::sleep(WARMUP);
    sys::check_interrupt()?;
    let probed = probe(addr, Duration::from_secs(args.seconds));
    let output = {
        let mut text = String::new();
        if let Some(out) = flood.stdout.as_mut() {
            let _ = out.read_to_string(&mut text);
        }
        let _ = flood.wait();
        text
    };
    server.check_alive(&log)?;
    let _ = server.interrupt(Duration::from_secs(30));
    let probe = probed?;

    let report: WindowReport = output
        .lines()
        .last()
        .ok_or("the load generator printed nothing")
        .and_then(|line| {
            serde_json::from_str(line).map_err(|_| "the load generator's output is not a report")
        })?;
    let per_s = report.completed as f64 / report.window_s.max(1e-9);
    println!(
        "flood: {} responses in {:.1} s ({:.0}/s), {} errors{}",
        report.completed,
        report.window_s,
        per_s,
        report.errors,
        report
            .first_error
            .map_or(String::new(), |e| format!(" (first: {e})"))
    );
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "probe: {} requests{}: p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
        probe.latencies.len(),
        if probe.realtime {
            " (real-time scheduled)"
        } else {
            " (not real-time: its own scheduling delays count too)"
        },
        ms(probe.quantile(0.5)),
        ms(probe.quantile(0.99)),
        ms(probe.quantile(0.999)),
        ms(probe.quantile(1.0)),
    );
    if let Some(limit) = args.max_p99_ms {
        let p99 = ms(probe.quantile(0.99));
        if p99 > limit {
            return Err(format!("the probe's p99 ({p99:.2} ms) is above {limit} ms"));
        }
    }
    Ok(())
}

/// The probe's round trips, sorted.
struct Probe {
    latencies: Vec<Duration>,
    realtime: bool,
}

impl Probe {
    /// The latency at quantile `q` (nearest rank).
    fn quantile(&self, q: f64) -> Duration {
        let n = self.latencies.len();
        if n == 0 {
            return Duration::ZERO;
        }
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
        self.latencies[rank - 1]
    }
}

/// `GET /plaintext` on one connection, one at a time, for `duration`; each round trip
/// timed. Runs on the load generator's CPU, real-time if allowed.
fn probe(addr: SocketAddrV4, duration: Duration) -> Result<Probe, String> {
    std::thread::spawn(move || {
        let _ = sys::pin_to_cpu(LOADGEN_CPU);
        let realtime = sys::set_realtime().is_ok();
        let mut stream = TcpStream::connect_timeout(&SocketAddr::V4(addr), Duration::from_secs(10))
            .map_err(|e| format!("probe: connecting: {e}"))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .and_then(|()| stream.set_nodelay(true))
            .map_err(|e| e.to_string())?;
        let message = request("/plaintext", &addr.to_string());
        let mut latencies = Vec::new();
        let mut buf = Vec::with_capacity(4096);
        let mut chunk = [0u8; 4096];
        let end = Instant::now() + duration;
        while Instant::now() < end {
            sys::check_interrupt()?;
            let sent = Instant::now();
            stream
                .write_all(&message)
                .map_err(|e| format!("probe: sending: {e}"))?;
            buf.clear();
            loop {
                if let Some(response) = parse_response(&buf)? {
                    if response.status != 200 || response.len != buf.len() {
                        return Err(format!(
                            "probe: unexpected answer (status {})",
                            response.status
                        ));
                    }
                    break;
                }
                match stream.read(&mut chunk) {
                    Ok(0) => return Err("probe: the server closed the connection".into()),
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    Err(e) => return Err(format!("probe: reading: {e}")),
                }
            }
            latencies.push(sent.elapsed());
        }
        latencies.sort_unstable();
        Ok(Probe {
            latencies,
            realtime,
        })
    })
    .join()
    .map_err(|_| "the probe thread panicked".to_string())?
}
