//! `solo-server`: the C10k demo, HTTP/1.1 and a Server-Sent Events chat on one thread.
//!
//! Run `solo-server --help` for the flags; the crate's README explains what to try.

// The one exception is the counting global allocator below (feature `metrics`):
// `GlobalAlloc` can only be implemented with `unsafe impl`.
#![deny(unsafe_code)]

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use solo_server::config::{Config, parse_duration, parse_size};
use solo_server::http::Limits;

/// The C10k demo: HTTP/1.1 and a Server-Sent Events chat on one thread, holding many
/// thousands of mostly idle connections at a few hundred bytes each.
#[derive(Debug, Parser)]
#[command(name = "solo-server", version)]
struct Cli {
    /// The address to listen on (port 0: any free port, printed at startup).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,

    /// The directory served under /static/ [default: the crate's static/ directory,
    /// else ./static]
    #[arg(long)]
    root: Option<PathBuf>,

    /// Shards: threads with a loop and an SO_REUSEPORT listener each, pinned to cores.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: u16,

    /// Pin the (single-threaded) server to this core.
    #[arg(long, value_name = "K")]
    cpu: Option<usize>,

    /// Longest time from a request's first byte to the end of its head (then 408).
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "DURATION")]
    header_timeout: Duration,

    /// How long a keep-alive connection may wait for its next request.
    #[arg(long, default_value = "60s", value_parser = parse_duration, value_name = "DURATION")]
    idle_timeout: Duration,

    /// Longest time from a request's head to the end of its body (then 408).
    #[arg(long, default_value = "30s", value_parser = parse_duration, value_name = "DURATION")]
    body_timeout: Duration,

    /// Largest header section, e.g. 16KiB (more: 431).
    #[arg(long, default_value = "16KiB", value_parser = parse_size, value_name = "SIZE")]
    max_header_bytes: usize,

    /// Longest request line, e.g. 8KiB (more: 414).
    #[arg(long, default_value = "8KiB", value_parser = parse_size, value_name = "SIZE")]
    max_request_line: usize,

    /// Largest request body, e.g. 1MiB (more: 413).
    #[arg(long, default_value = "1MiB", value_parser = parse_size, value_name = "SIZE")]
    max_body: usize,

    /// Memory all bodies in progress may hold together, all shards (beyond: 503).
    #[arg(long, default_value = "64MiB", value_parser = parse_size, value_name = "SIZE")]
    max_body_memory: usize,

    /// Open connections per shard; beyond it, 503 and close.
    #[arg(long, default_value_t = 50_000, value_name = "N")]
    max_connections: usize,

    /// Refusals (503) in progress per shard; beyond it, accepting pauses until one ends.
    #[arg(long, default_value_t = 1024, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    max_refusing: u32,

    /// Send static files through a buffer instead of sendfile (the fallback of systems
    /// without it; for comparison).
    #[arg(long)]
    no_sendfile: bool,

    /// How long Ctrl-C waits for responses in flight before dropping them.
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "DURATION")]
    shutdown_grace: Duration,

    /// Print only the line with the address.
    #[arg(long, short)]
    quiet: bool,

    /// Also print the memory layout of a connection.
    #[arg(long, short, conflicts_with = "quiet")]
    verbose: bool,

    /// Report a task whose poll holds its shard's thread longer than this (once per task,
    /// on stderr, with where it was spawned), e.g. 10ms; counted in /metrics.
    #[cfg(feature = "metrics")]
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    long_poll: Option<Duration>,
}

/// The default static root: the crate's `static/` when run from the source tree, else
/// `./static`; `None` if neither exists.
fn default_root() -> Option<PathBuf> {
    [
        Path::new(env!("CARGO_MANIFEST_DIR")).join("static"),
        PathBuf::from("static"),
    ]
    .into_iter()
    .find(|dir| dir.is_dir())
}

fn resolve(addr: &str) -> Result<SocketAddr, String> {
    let mut addrs = addr.to_socket_addrs().map_err(|e| {
        format!("cannot use --addr {addr}: {e} (expected host:port, e.g. 127.0.0.1:8080)")
    })?;
    addrs
        .next()
        .ok_or_else(|| format!("--addr {addr} resolves to no address"))
}

fn config(cli: Cli) -> Result<Config, String> {
    let root = match cli.root {
        Some(root) => Some(root),
        None => {
            let found = default_root();
            if found.is_none() && !cli.quiet {
                eprintln!(
                    "solo-server: no static/ directory here; /static/ answers 404 (use --root DIR)"
                );
            }
            found
        }
    };
    Ok(Config {
        addr: resolve(&cli.addr)?,
        root,
        threads: usize::from(cli.threads),
        cpu: cli.cpu,
        header_timeout: cli.header_timeout,
        idle_timeout: cli.idle_timeout,
        body_timeout: cli.body_timeout,
        max_body_memory: cli.max_body_memory,
        limits: Limits {
            max_request_line: cli.max_request_line,
            max_header_bytes: cli.max_header_bytes,
            max_body: cli.max_body,
        },
        max_connections: cli.max_connections,
        max_refusing: cli.max_refusing as usize,
        sendfile: !cli.no_sendfile,
        shutdown_grace: cli.shutdown_grace,
        quiet: cli.quiet,
        verbose: cli.verbose,
        #[cfg(feature = "metrics")]
        long_poll: cli.long_poll,
        #[cfg(not(feature = "metrics"))]
        long_poll: None,
    })
}

/// The system allocator, reporting each allocation's size to the thread's heap counter
/// (`solo_server::heap`): the dashboard's memory per connection of each shard.
#[cfg(feature = "metrics")]
struct Counting;

// SAFETY: every call is forwarded unchanged to the system allocator, which upholds the
// `GlobalAlloc` contract; the counter is a thread-local `Cell` that never allocates.
#[cfg(feature = "metrics")]
#[allow(unsafe_code)]
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        // SAFETY: the caller's `layout` is passed on as received.
        let ptr = unsafe { std::alloc::System.alloc(layout) };
        if !ptr.is_null() {
            solo_server::heap::allocated(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { std::alloc::System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            solo_server::heap::allocated(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        solo_server::heap::freed(layout.size());
        // SAFETY: `ptr` was allocated by `System` with this `layout` (see `alloc`).
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `alloc` and `dealloc`.
        let new = unsafe { std::alloc::System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            solo_server::heap::freed(layout.size());
            solo_server::heap::allocated(new_size);
        }
        new
    }
}

#[cfg(feature = "metrics")]
#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Prints the runtime's long-poll reports (and any other warning through `log`) on stderr.
#[cfg(feature = "metrics")]
struct Stderr;

#[cfg(feature = "metrics")]
impl log::Log for Stderr {
    fn enabled(&self, meta: &log::Metadata<'_>) -> bool {
        meta.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!("solo-server: {}: {}", record.level(), record.args());
        }
    }

    fn flush(&self) {}
}

#[cfg(feature = "metrics")]
static LOGGER: Stderr = Stderr;

fn main() -> ExitCode {
    #[cfg(feature = "metrics")]
    {
        solo_server::heap::enable();
        if log::set_logger(&LOGGER).is_ok() {
            log::set_max_level(log::LevelFilter::Warn);
        }
    }
    let cli = Cli::parse();
    let result =
        config(cli).and_then(|config| solo_server::server::run(config).map_err(|e| e.to_string()));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("solo-server: error: {message}");
            ExitCode::FAILURE
        }
    }
}
