//! The load generator: one thread, raw edge-triggered epoll, no runtime.
//!
//! `cargo xtask loadgen http|echo|idle ...` runs one workload against a server and prints
//! its result as one JSON line ([`WindowReport`], or [`IdleEvent`]s for `idle`). `bench`
//! runs it as a child process pinned to CPU 1 (the servers get CPU 0), several children at
//! once when one process cannot hold enough descriptors.
//!
//! - `http`: every connection keeps `--depth` requests in flight (one write per batch, the
//!   next batch as soon as the last response of the previous one is in); requests/s over
//!   the measurement window after a warm-up, and the round-trip time of each batch.
//! - `echo`: every connection sends a `--size`-byte message and waits for it to come back;
//!   messages/s and the round-trip time of each message.
//! - `idle`: opens `--conns` connections and reports how long that took, then waits for
//!   commands on standard input: `wave` sends one request on every connection and reports
//!   the latency of that wave; `close` (or end of input) closes everything and exits.
//!
//! Connections come from source addresses spread over 127.0.0.0/8 (`--per-source`
//! connections per address) and at most `--max-connecting` connects are in flight at once.
//! With `--server-pid`, the server's CPU time (utime + stime from `/proc/PID/stat`) is
//! sampled at the start and end of the window.

use std::io::{BufRead, Write};
use std::net::SocketAddrV4;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};

use super::stats::Histogram;

pub mod chat;
mod engine;
pub mod http;
pub mod net;

/// `cargo xtask loadgen`: run one load-generator workload.
#[derive(Debug, Args)]
pub struct LoadgenArgs {
    #[command(subcommand)]
    workload: LoadgenWorkload,
}

#[derive(Debug, Subcommand)]
enum LoadgenWorkload {
    /// HTTP keep-alive requests, `--depth` in flight per connection; prints a WindowReport.
    Http(HttpArgs),
    /// Echo round trips of `--size` bytes; prints a WindowReport.
    Echo(EchoArgs),
    /// Open idle connections, then obey `wave` / `close` on stdin; prints IdleEvents.
    Idle(IdleArgs),
    /// Server-Sent Events subscribers and one poster at a fixed rate; prints a ChatReport.
    Chat(chat::ChatArgs),
}

/// Where to connect and how.
#[derive(Debug, Clone, Args)]
pub struct Target {
    /// The server's address (IPv4).
    #[arg(long)]
    pub addr: SocketAddrV4,
    /// Number of connections.
    #[arg(long)]
    pub conns: usize,
    /// Global number of this process's first connection (picks its source addresses when
    /// several load generators share one run).
    #[arg(long, default_value_t = 0)]
    pub first_index: usize,
    /// Connections per source address (127.0.0.1, 127.0.0.2, ...).
    #[arg(long, default_value_t = 10_000)]
    pub per_source: usize,
    /// Connects in flight at once.
    #[arg(long, default_value_t = 128)]
    pub max_connecting: usize,
    /// Give up on a connect after this many milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub connect_timeout_ms: u64,
    /// The server's process id, to sample its CPU time over the window.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// The CPUs the server is pinned to (comma-separated), to sample how busy they were
    /// over the window (anything beyond the server's own time is another process competing
    /// with it).
    #[arg(long, value_delimiter = ',')]
    pub server_cpu: Vec<usize>,
}

/// Warm-up and measurement durations.
#[derive(Debug, Clone, Copy, Args)]
pub struct Window {
    /// Load before measuring, in milliseconds.
    #[arg(long, default_value_t = 500)]
    pub warmup_ms: u64,
    /// Measurement window, in milliseconds.
    #[arg(long, default_value_t = 2_000)]
    pub duration_ms: u64,
}

#[derive(Debug, Args)]
struct HttpArgs {
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    window: Window,
    /// Requests in flight per connection (1 = no pipelining).
    #[arg(long, default_value_t = 1)]
    depth: usize,
    /// Request path.
    #[arg(long, default_value = "/plaintext")]
    path: String,
}

#[derive(Debug, Args)]
struct EchoArgs {
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    window: Window,
    /// Message size in bytes.
    #[arg(long, default_value_t = 64)]
    size: usize,
}

#[derive(Debug, Args)]
struct IdleArgs {
    #[command(flatten)]
    target: Target,
    /// Request path for the wave.
    #[arg(long, default_value = "/plaintext")]
    path: String,
    /// How long the wave may take before missing answers count as failures, in ms.
    #[arg(long, default_value_t = 30_000)]
    wave_timeout_ms: u64,
}

/// How opening the connections went.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConnectReport {
    /// Connections asked for.
    pub requested: usize,
    /// Connections established.
    pub connected: usize,
    /// Connects that failed or timed out.
    pub failed: usize,
    /// The first failure, if any.
    pub first_error: Option<String>,
    /// Time to open them all, in seconds.
    pub seconds: f64,
}

/// The result of an `http` or `echo` run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WindowReport {
    /// How opening the connections went.
    pub connect: ConnectReport,
    /// Responses (http) or messages (echo) completed inside the window.
    pub completed: u64,
    /// Connections lost or protocol errors (the whole run).
    pub errors: u64,
    /// The first error, if any.
    pub first_error: Option<String>,
    /// Actual length of the window in seconds.
    pub window_s: f64,
    /// Round-trip times inside the window (a batch for http, a message for echo).
    pub latency: Histogram,
    /// The server's CPU time inside the window, when its pid was given and readable.
    pub server_cpu_s: Option<f64>,
    /// The load generator's own CPU time inside the window.
    pub loadgen_cpu_s: f64,
    /// Busy time (all processes, interrupts, steal) of the server's CPU inside the window,
    /// when `--server-cpu` was given.
    pub server_cpu_busy_s: Option<f64>,
    /// Busy time of the load generator's own CPU inside the window (all processes).
    pub loadgen_cpu_busy_s: Option<f64>,
}

/// The result of a wave of one request per idle connection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WaveReport {
    /// Requests sent.
    pub sent: usize,
    /// Requests answered.
    pub answered: usize,
    /// Requests that failed or went unanswered.
    pub failed: usize,
    /// The first failure, if any.
    pub first_error: Option<String>,
    /// Time from the first request to the last answer, in seconds.
    pub seconds: f64,
    /// Time from each request to its answer.
    pub latency: Histogram,
}

/// One line of output of the `idle` workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum IdleEvent {
    /// All connects are done (established or failed).
    Connected(ConnectReport),
    /// The wave is done.
    Wave(WaveReport),
}

/// Runs `cargo xtask loadgen ...`.
pub fn run(args: LoadgenArgs) -> Result<(), String> {
    crate::sys::raise_fd_limit().map_err(|e| format!("raising the descriptor limit: {e}"))?;
    match args.workload {
        LoadgenWorkload::Http(a) => {
            let host = a.target.addr.to_string();
            let proto = engine::Proto::Http {
                depth: a.depth.max(1),
            };
            let msg = http::request(&a.path, &host).repeat(a.depth.max(1));
            let report =
                engine::run_window(&a.target, a.window, proto, &msg).map_err(|e| e.to_string())?;
            emit(&report)
        }
        LoadgenWorkload::Echo(a) => {
            let size = a.size.max(1);
            let msg: Vec<u8> = (0..size).map(|i| b'a' + (i % 26) as u8).collect();
            let report =
                engine::run_window(&a.target, a.window, engine::Proto::Echo { size }, &msg)
                    .map_err(|e| e.to_string())?;
            emit(&report)
        }
        LoadgenWorkload::Chat(a) => {
            if !(a.rate > 0.0 && a.rate.is_finite()) {
                return Err(format!("--rate must be a positive number, not {}", a.rate));
            }
            let report = chat::run(&a).map_err(|e| e.to_string())?;
            emit(&report)
        }
        LoadgenWorkload::Idle(a) => {
            let mut idle = engine::Idle::connect(&a.target).map_err(|e| e.to_string())?;
            emit(&IdleEvent::Connected(idle.connect_report().clone()))?;
            let request = http::request(&a.path, &a.target.addr.to_string());
            let stdin = std::io::stdin();
            let mut line = String::new();
            loop {
                line.clear();
                if stdin
                    .lock()
                    .read_line(&mut line)
                    .map_err(|e| e.to_string())?
                    == 0
                {
                    return Ok(());
                }
                match line.trim() {
                    "wave" => {
                        let wave = idle
                            .wave(&request, Duration::from_millis(a.wave_timeout_ms))
                            .map_err(|e| e.to_string())?;
                        emit(&IdleEvent::Wave(wave))?;
                    }
                    "close" => return Ok(()),
                    other => return Err(format!("unknown command {other:?} (wave or close)")),
                }
            }
        }
    }
}

fn emit(value: &impl Serialize) -> Result<(), String> {
    let line = serde_json::to_string(value).map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(|e| format!("writing the result: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_round_trip_through_json() {
        let mut r = WindowReport {
            completed: 42,
            window_s: 1.5,
            server_cpu_s: Some(0.5),
            ..Default::default()
        };
        r.latency.record(Duration::from_micros(80));
        r.connect = ConnectReport {
            requested: 2,
            connected: 1,
            failed: 1,
            first_error: Some("refused".into()),
            seconds: 0.1,
        };
        let back: WindowReport = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
        let ev = IdleEvent::Wave(WaveReport {
            sent: 3,
            answered: 3,
            ..Default::default()
        });
        let json = serde_json::to_string(&ev).unwrap();
        assert!(json.starts_with(r#"{"event":"wave""#), "{json}");
        assert_eq!(serde_json::from_str::<IdleEvent>(&json).unwrap(), ev);
    }
}
