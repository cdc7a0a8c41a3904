//! The running server: shards, the accept loop, refusing connections beyond the limit,
//! and graceful shutdown. The connection task itself is in `conn`.
//!
//! # Shards
//!
//! One shard is one thread running one `solo` event loop with its own listener, its own
//! connections, counters and copy of the chat's recent messages. `--threads 1` (the
//! default) runs the only shard on the calling thread; with more, [`solo::shards`] starts
//! one thread per shard, each pinned to a core, each with an `SO_REUSEPORT` listener on
//! the same address so the kernel spreads connections among them. The shards are one
//! service: through solo's shard mesh they share one chat (shard 0 orders the messages,
//! the others mirror them) and answer `/stats` for the whole server (see `mesh`).
//!
//! # Shutdown
//!
//! On Ctrl-C or `SIGTERM` every shard stops accepting (its listener is dropped, after the
//! connections in its backlog are admitted), wakes every connection task once so that idle
//! keep-alive connections and event streams close, lets responses in flight finish (each
//! now ends with `Connection: close`), and returns when its last connection is gone or the
//! grace period is over. A second Ctrl-C during the grace period ends the process at once.
//!
//! No connection is reset: an idle connection reads before it closes, and answers a
//! request that has already arrived (with `Connection: close`); every close shuts the
//! write side first and drains the input for a moment (see `conn`), so a request that
//! crosses the close gets a clean end of stream, never an RST.

mod conn;
#[cfg(feature = "metrics")]
mod dashboard;
mod events;
mod file;
mod mesh;
mod routes;

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, PoisonError};
use std::task::{Poll, Waker};
use std::time::Duration;

use slab::Slab;
use solo::Timer;
use solo::future::{or, poll_fn, yield_now};
use solo::io::{AsyncReadExt, AsyncWriteExt};
use solo::net::{TcpListener, TcpStream};
use solo::signal::{Signal, Signals};
use solo::stream::Stream;

use crate::chat::Hub;
use crate::config::Config;
use crate::files::Root;
use crate::http::{self, Exchange, ResponseWriter, Status};
use crate::stats::Stats;
use mesh::Note;

/// How many recent chat messages each shard keeps (a new subscriber gets them; a
/// subscriber further behind than this skips ahead, and is told how many it missed).
const CHAT_HISTORY: usize = 256;

/// Connections accepted in a row before the accept loop lets other tasks run.
const ACCEPTS_PER_TURN: usize = 64;

/// Why the server could not start (or stopped on an error).
#[derive(Debug)]
pub struct StartError(String);

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

impl StartError {
    fn new(message: impl Into<String>) -> StartError {
        StartError(message.into())
    }
}

/// The size in bytes of one connection's future (the task that serves it adds a header
/// of a few words). Idle, a connection costs this, the task header, the reactor's entry
/// for its socket and a timer: see the crate's README for the measured total.
pub fn connection_future_size() -> usize {
    size_of_output(conn::serve)
}

fn size_of_output<A, F>(_: fn(A) -> F) -> usize {
    std::mem::size_of::<F>()
}

/// Runs the server described by `config` until Ctrl-C or `SIGTERM`, then shuts down
/// gracefully. Prints the address (and, unless quiet, what to try) once every shard
/// listens.
///
/// # Errors
///
/// A [`StartError`] that says what went wrong: the address is in use or cannot be bound,
/// the static root does not exist, the core cannot be pinned, signals cannot be handled.
pub fn run(config: Config) -> Result<(), StartError> {
    let common = Common::new(config)?;
    if common.config.threads <= 1 {
        run_single(common)
    } else {
        run_sharded(common)
    }
}

/// Serves `listener` with `config` on the current thread as one shard, until the future is
/// dropped: the connections, timeouts, files and chat of [`run`], without its signals,
/// pinning, threads or startup message (`config.threads`, `config.cpu` are ignored). For
/// a program that makes its own listener, such as a host of a simulation
/// (`--cfg solo_sim`), whose network is in memory.
///
/// # Errors
///
/// A [`StartError`] if the static root cannot be served.
pub async fn serve(config: Config, listener: TcpListener) -> Result<(), StartError> {
    let common = Common::new(config)?;
    serve_node(&common, solo::shard::Shard::single(), &listener).await;
    Ok(())
}

/// Serves `listener` as the shard `node` of a mesh, until the future is dropped.
async fn serve_node(common: &Common, node: solo::shard::Shard<Note>, listener: &TcpListener) {
    let shard = Rc::new(Shard::new(common, node.mesh().clone()));
    solo::spawn(mesh::run(shard.clone(), node)).detach();
    accept_loop(&shard, listener).await;
}

/// Under simulation (`--cfg solo_sim`): the `n` shards of one server as values instead of
/// threads, each to be served on a simulated host of its own
/// ([`SimulatedShard::serve`]); they form one service over the mesh, as with
/// `--threads n` (one chat, numbered by shard 0).
///
/// # Errors
///
/// A [`StartError`] if the static root cannot be served.
#[cfg(solo_sim)]
pub fn simulated_shards(config: Config, n: usize) -> Result<Vec<SimulatedShard>, StartError> {
    let common = Arc::new(Common::new(config)?);
    Ok(solo::shard::simulated::<Note>(n)
        .into_iter()
        .map(|(node, jobs)| SimulatedShard {
            common: common.clone(),
            node,
            jobs,
        })
        .collect())
}

/// One shard of [`simulated_shards`].
#[cfg(solo_sim)]
pub struct SimulatedShard {
    common: Arc<Common>,
    node: solo::shard::Shard<Note>,
    jobs: solo::shard::JobRunner,
}

#[cfg(solo_sim)]
impl fmt::Debug for SimulatedShard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimulatedShard")
            .field("id", &self.node.id())
            .finish_non_exhaustive()
    }
}

#[cfg(solo_sim)]
impl SimulatedShard {
    /// The shard's index in the mesh.
    pub fn id(&self) -> usize {
        self.node.id()
    }

    /// Serves `listener` as this shard until the future is dropped.
    pub async fn serve(self, listener: TcpListener) {
        solo::spawn(self.jobs).detach();
        serve_node(&self.common, self.node, &listener).await;
    }
}

impl Common {
    fn new(config: Config) -> Result<Common, StartError> {
        let root = match &config.root {
            Some(dir) => Some(Arc::new(Root::new(dir).map_err(|e| {
                StartError::new(format!(
                    "cannot serve static files from {}: {e}",
                    dir.display()
                ))
            })?)),
            None => None,
        };
        Ok(Common {
            body_memory: Arc::new(BodyMemory::new(config.max_body_memory)),
            config: Arc::new(config),
            root,
            baseline_rss: crate::stats::rss_bytes(),
            first_chat_id: mesh::first_chat_id(),
        })
    }
}

/// What every shard starts from.
struct Common {
    config: Arc<Config>,
    /// The memory held by bodies in progress, on every shard.
    body_memory: Arc<BodyMemory>,
    root: Option<Arc<Root>>,
    /// The process's resident memory before any shard started.
    baseline_rss: Option<u64>,
    /// The id of the chat's first message.
    first_chat_id: u64,
}

fn bind_error(addr: SocketAddr, error: &io::Error) -> StartError {
    let hint = match error.kind() {
        io::ErrorKind::AddrInUse => {
            " (is another server running there? pick another port with --addr, or port 0 \
             for any free one)"
        }
        io::ErrorKind::PermissionDenied => " (ports below 1024 need privileges)",
        io::ErrorKind::AddrNotAvailable => " (the address is not one of this machine's)",
        _ => "",
    };
    // The runtime's message already names the address.
    let message = error.to_string();
    if message.contains(&addr.to_string()) {
        StartError::new(format!("{message}{hint}"))
    } else {
        StartError::new(format!("cannot listen on {addr}: {message}{hint}"))
    }
}

fn signals() -> Result<Signals, StartError> {
    Signals::new([Signal::Interrupt, Signal::Terminate])
        .map_err(|e| StartError::new(format!("cannot handle Ctrl-C and SIGTERM: {e}")))
}

fn run_single(common: Common) -> Result<(), StartError> {
    let config = &common.config;
    if let Some(cpu) = config.cpu {
        solo::pin_to_core(cpu)
            .map_err(|e| StartError::new(format!("cannot pin the server to core {cpu}: {e}")))?;
    }
    solo::block_on(async {
        let listener = TcpListener::bind(config.addr)
            .await
            .map_err(|e| bind_error(config.addr, &e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| StartError::new(format!("cannot read the bound address: {e}")))?;
        let signals = signals()?;
        announce(config, addr);
        run_shard(&common, solo::shard::Shard::single(), listener, signals).await;
        Ok(())
    })
}

fn run_sharded(common: Common) -> Result<(), StartError> {
    let config = &common.config;
    if config.cpu.is_some() {
        return Err(StartError::new(
            "--cpu pins the single-threaded server; with --threads N the shards are pinned \
             to cores 0..N-1 (modulo the number of cores)",
        ));
    }
    // Bind the first listener here, so that a busy address is reported before any thread
    // starts and port 0 becomes one port that every shard shares.
    let first =
        TcpListener::bind_reuseport(config.addr).map_err(|e| bind_error(config.addr, &e))?;
    let addr = first
        .local_addr()
        .map_err(|e| StartError::new(format!("cannot read the bound address: {e}")))?;
    let first = first
        .into_std()
        .map_err(|e| StartError::new(format!("cannot hand the listener to shard 0: {e}")))?;
    let first = Mutex::new(Some(first));
    let ready = Barrier::new(config.threads);
    let failure = Mutex::new(None::<String>);
    let shards = config.threads;
    let results = solo::shards(shards, |node: solo::shard::Shard<Note>| {
        let (common, first, ready, failure) = (&common, &first, &ready, &failure);
        let id = node.id();
        async move {
            let setup = (|| {
                let listener = if id == 0 {
                    let std = first.lock().unwrap_or_else(PoisonError::into_inner).take();
                    let std = std.ok_or_else(|| StartError::new("shard 0 has no listener"))?;
                    TcpListener::try_from(std)
                        .map_err(|e| StartError::new(format!("shard 0 cannot listen: {e}")))?
                } else {
                    TcpListener::bind_reuseport(addr).map_err(|e| bind_error(addr, &e))?
                };
                Ok::<_, StartError>((listener, signals()?))
            })();
            if let Err(error) = &setup {
                failure
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get_or_insert_with(|| format!("shard {id}: {error}"));
            }
            // Every shard listens (or one failed) before anyone announces or serves. This
            // blocks the shard's thread, once, before it has anything else to do.
            ready.wait();
            if failure
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .is_some()
            {
                return;
            }
            let Ok((listener, signals)) = setup else {
                return;
            };
            if id == 0 {
                announce(&common.config, addr);
            }
            run_shard(common, node, listener, signals).await;
        }
    });
    if let Some(message) = failure.into_inner().unwrap_or_else(PoisonError::into_inner) {
        return Err(StartError(message));
    }
    results
        .map(drop)
        .map_err(|e| StartError::new(format!("cannot start the shards: {e}")))
}

/// Prints where the server listens, and (unless quiet) what to try.
fn announce(config: &Config, addr: SocketAddr) {
    let threads = match config.threads {
        0 | 1 => "1 thread".to_string(),
        n => format!("{n} threads"),
    };
    println!(
        "solo-server listening on http://{addr} ({threads}, {})",
        solo::reactor::driver()
    );
    if config.quiet {
        return;
    }
    // The address to show in examples: a wildcard address is reached through loopback.
    let mut reach = addr;
    if reach.ip().is_unspecified() {
        reach.set_ip(if addr.is_ipv4() {
            [127, 0, 0, 1].into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    let url = format!("http://{reach}");
    println!("  try:");
    println!("    curl {url}/                  Hello, World!");
    println!("    curl {url}/json");
    println!("    curl {url}/chat              the chat page: open it in two browser windows");
    println!("    curl -N {url}/chat/events    the chat as Server-Sent Events (stays open)");
    println!("    curl -d msg=hello {url}/chat/send");
    println!("    curl {url}/stats             counters, memory per connection");
    #[cfg(feature = "metrics")]
    {
        println!("    curl {url}/metrics           every shard's figures, Prometheus text format");
        println!("    open {url}/dashboard         live charts of every shard");
    }
    println!("    curl {url}/static/           files from the --root directory");
    println!("  bench:");
    println!("    wrk -t1 -c100 -d10s {url}/plaintext");
    println!("    cargo xtask bench            (solo beside tokio and smol)");
    println!("  Ctrl-C stops it gracefully.");
    if config.verbose {
        println!(
            "  memory: a connection's future is {} bytes (plus the task header, the reactor's \
             entry for the socket and a timer entry); idle, it holds no buffer",
            connection_future_size()
        );
    }
    if let Some(limit) = descriptor_limit() {
        let wanted = config.max_connections.saturating_mul(config.threads.max(1));
        if (limit as usize) < wanted {
            println!(
                "  note: this process may open {limit} descriptors (ulimit -n), fewer than \
                 --max-connections allows ({wanted}); raise it with `ulimit -n` for C10k"
            );
        }
    }
}

/// The soft limit on open descriptors, where the OS tells (Linux: `/proc/self/limits`).
fn descriptor_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// What the connections of one shard share.
pub(crate) struct Shard {
    pub(crate) id: usize,
    pub(crate) config: Arc<Config>,
    pub(crate) root: Option<Arc<Root>>,
    pub(crate) stats: Stats,
    /// This shard's copy of the chat's recent messages.
    pub(crate) hub: RefCell<Hub>,
    /// Reaches the other shards (and this one).
    pub(crate) mesh: solo::shard::Mesh<Note>,
    /// The process's resident memory at startup.
    pub(crate) baseline_rss: Option<u64>,
    /// The memory held by bodies in progress, server-wide.
    pub(crate) body_memory: Arc<BodyMemory>,
    /// The heap bytes this shard's thread held when it began serving.
    #[cfg(feature = "metrics")]
    pub(crate) heap_baseline: Cell<Option<i64>>,
    shutting_down: Cell<bool>,
    /// The waker of each open connection's task (registered once, at its first poll), to
    /// wake them all when shutdown begins.
    connections: RefCell<Slab<Waker>>,
    /// The shutdown sequence, waiting for the last connection to close.
    drained: RefCell<Option<Waker>>,
    /// Refused connections being answered now.
    refusing: Cell<usize>,
    /// The accept loop, paused while it could only refuse and `refusing` is at its limit:
    /// woken when a refusal ends or a connection closes.
    accept_paused: RefCell<Option<Waker>>,
}

impl Shard {
    fn new(common: &Common, mesh: solo::shard::Mesh<Note>) -> Shard {
        Shard {
            id: mesh.id(),
            config: common.config.clone(),
            root: common.root.clone(),
            stats: Stats::new(),
            hub: RefCell::new(Hub::new(CHAT_HISTORY, common.first_chat_id)),
            mesh,
            baseline_rss: common.baseline_rss,
            body_memory: common.body_memory.clone(),
            #[cfg(feature = "metrics")]
            heap_baseline: Cell::new(None),
            shutting_down: Cell::new(false),
            connections: RefCell::new(Slab::new()),
            drained: RefCell::new(None),
            refusing: Cell::new(0),
            accept_paused: RefCell::new(None),
        }
    }

    /// Whether the shard is shutting down: answer with `Connection: close`, close idle
    /// connections.
    pub(crate) fn shutting_down(&self) -> bool {
        self.shutting_down.get()
    }

    /// Registers a connection's task to be woken at shutdown; returns its slot.
    pub(crate) fn register(&self, waker: &Waker) -> usize {
        self.connections.borrow_mut().insert(waker.clone())
    }

    /// A connection closed: forgets its waker and, when shutting down, wakes the
    /// shutdown sequence after the last one.
    pub(crate) fn connection_closed(&self, slot: Option<usize>) {
        if let Some(slot) = slot {
            self.connections.borrow_mut().try_remove(slot);
        }
        self.stats.connection_closed();
        self.resume_accepting();
        if self.shutting_down.get() && self.stats.open_connections() == 0 {
            if let Some(waker) = self.drained.borrow_mut().take() {
                waker.wake();
            }
        }
    }

    /// Wakes the accept loop if it paused (room for a connection or a refusal).
    fn resume_accepting(&self) {
        if let Some(waker) = self.accept_paused.borrow_mut().take() {
            waker.wake();
        }
    }

    /// Whether a new connection could only be refused, and no refusal can start now.
    fn only_refusals_and_no_room(&self) -> bool {
        self.stats.open_connections() >= self.config.max_connections as u64
            && self.refusing.get() >= self.config.max_refusing
    }

    /// Starts shutting down and wakes every connection once to notice.
    fn begin_shutdown(&self) {
        self.shutting_down.set(true);
        let wakers: Vec<Waker> = self
            .connections
            .borrow()
            .iter()
            .map(|(_, w)| w.clone())
            .collect();
        for waker in wakers {
            waker.wake();
        }
    }
}

/// The memory that request bodies in progress hold, server-wide (one for all shards),
/// against `--max-body-memory`. Touched only while a body is arriving.
#[derive(Debug)]
pub(crate) struct BodyMemory {
    held: AtomicUsize,
    cap: usize,
}

impl BodyMemory {
    fn new(cap: usize) -> BodyMemory {
        BodyMemory {
            held: AtomicUsize::new(0),
            cap,
        }
    }

    /// Changes a holding of `from` bytes to `to`; `false` (and nothing changed) if that
    /// would take the total beyond the cap.
    pub(crate) fn change(&self, from: usize, to: usize) -> bool {
        if to <= from {
            self.held.fetch_sub(from - to, Ordering::Relaxed);
            return true;
        }
        let more = to - from;
        self.held
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |held| {
                held.checked_add(more).filter(|&total| total <= self.cap)
            })
            .is_ok()
    }
}

/// Serves one shard until a shutdown signal, then shuts it down.
async fn run_shard(
    common: &Common,
    node: solo::shard::Shard<Note>,
    listener: TcpListener,
    mut signals: Signals,
) {
    let shard = Rc::new(Shard::new(common, node.mesh().clone()));
    #[cfg(feature = "metrics")]
    {
        if let Some(threshold) = common.config.long_poll {
            solo::metrics::set_long_poll_threshold(Some(threshold));
        }
        shard.heap_baseline.set(crate::heap::thread_bytes());
    }
    // The chat and `/stats` go on through shutdown, until the shard's thread ends.
    solo::spawn(mesh::run(shard.clone(), node)).detach();
    let signal = or(
        async {
            accept_loop(&shard, &listener).await;
            None
        },
        poll_fn(|cx| Pin::new(&mut signals).poll_next(cx)),
    )
    .await;
    // Dropping the signal listener restores the default action: a second Ctrl-C ends the
    // process at once.
    drop(signals);
    shard.begin_shutdown();
    // Closing a listener resets the connections still in its backlog: serve them instead
    // (their requests are answered with `Connection: close`).
    accept_backlog(&shard, &listener);
    drop(listener);
    let open = shard.stats.open_connections();
    if !shard.config.quiet {
        let why = signal.map_or_else(
            || "signal listener failed".to_string(),
            |s| format!("{s:?}"),
        );
        println!(
            "solo-server: shard {}: {why}: no longer accepting; closing {open} connection{} \
             (grace {:?})",
            shard.id,
            if open == 1 { "" } else { "s" },
            shard.config.shutdown_grace,
        );
    }
    let drained = or(
        poll_fn(|cx| {
            if shard.stats.open_connections() == 0 {
                Poll::Ready(true)
            } else {
                *shard.drained.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        }),
        async {
            Timer::after(shard.config.shutdown_grace).await;
            false
        },
    )
    .await;
    if !drained && !shard.config.quiet {
        println!(
            "solo-server: shard {}: grace period over, dropping {} connections",
            shard.id,
            shard.stats.open_connections()
        );
    }
}

/// Accepts connections forever, one detached task each.
///
/// While every connection slot is taken and `--max-refusing` refusals are in progress it
/// does not accept: clients wait in the kernel's backlog (and, once that is full, their
/// connects are retried by their own kernel), and each gets its `503` when a refusal ends,
/// or is served when a connection closes. A connection is never dropped unanswered.
async fn accept_loop(shard: &Rc<Shard>, listener: &TcpListener) {
    let mut in_a_row = 0;
    loop {
        if shard.only_refusals_and_no_room() {
            poll_fn(|cx| {
                if shard.only_refusals_and_no_room() {
                    *shard.accept_paused.borrow_mut() = Some(cx.waker().clone());
                    Poll::Pending
                } else {
                    Poll::Ready(())
                }
            })
            .await;
        }
        match listener.accept().await {
            Ok((stream, _)) => admit(shard, stream),
            Err(error) => {
                // Out-of-descriptor errors are retried with backoff by `accept` itself;
                // anything else is unexpected: say so and do not spin.
                if !shard.config.quiet {
                    eprintln!("solo-server: shard {}: accept failed: {error}", shard.id);
                }
                Timer::after(Duration::from_millis(100)).await;
            }
        }
        in_a_row += 1;
        if in_a_row == ACCEPTS_PER_TURN {
            in_a_row = 0;
            yield_now().await;
        }
    }
}

/// Admits the connections waiting in the listener's backlog (under simulation, where the
/// listener has no OS socket: polled with a waker that does nothing until it is empty).
#[cfg(solo_sim)]
fn accept_backlog(shard: &Rc<Shard>, listener: &TcpListener) {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    while let Poll::Ready(Ok((stream, _))) = listener.poll_accept(&mut cx) {
        admit(shard, stream);
    }
}

/// Serves `stream`, or refuses it beyond `--max-connections`.
fn admit(shard: &Rc<Shard>, stream: TcpStream) {
    if shard.stats.open_connections() >= shard.config.max_connections as u64 {
        refuse(shard, stream);
    } else {
        // Small responses leave at once; the server batches writes itself.
        let _ = stream.set_nodelay(true);
        solo::spawn(conn::start(stream, shard.clone())).detach();
    }
}

/// Admits the connections waiting in the listener's backlog, without waiting for more:
/// first those the listener already accepted and queued (on the io_uring driver, a
/// multishot accept takes connections ahead of their owner), then the kernel's backlog.
#[cfg(not(solo_sim))]
fn accept_backlog(shard: &Rc<Shard>, listener: &TcpListener) {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    while let Poll::Ready(Ok((stream, _))) = listener.poll_accept(&mut cx) {
        admit(shard, stream);
    }
    // The kernel's backlog is bounded (1024): so is this loop.
    while let Ok((stream, _)) = listener.get_ref().accept() {
        match TcpStream::try_from(stream) {
            Ok(stream) => admit(shard, stream),
            Err(_) => break,
        }
    }
}

/// Answers a connection beyond `--max-connections` with `503` and closes it, in a task of
/// its own bounded in time, so that the client reads the answer before the close. The
/// accept loop keeps these below `--max-refusing` (only the backlog admitted at shutdown
/// may pass it, by at most the backlog's size).
fn refuse(shard: &Rc<Shard>, stream: TcpStream) {
    shard.stats.connection_rejected();
    shard.refusing.set(shard.refusing.get() + 1);
    let shard = shard.clone();
    solo::spawn(async move {
        let _ = solo::timeout(conn::LINGER, refuse_politely(&stream)).await;
        drop(stream);
        shard.refusing.set(shard.refusing.get() - 1);
        shard.resume_accepting();
    })
    .detach();
}

async fn refuse_politely(stream: &TcpStream) -> io::Result<()> {
    let mut out = Vec::with_capacity(256);
    let status = Status::ServiceUnavailable;
    let _ = ResponseWriter::new(&mut out, status, &http::date::now(), Exchange::CLOSE)
        .header("Retry-After", "1")
        .header("Content-Type", "text/plain; charset=utf-8")
        .body(status.text().as_bytes());
    let mut writer = stream;
    writer.write_all(&out).await?;
    stream.shutdown(Shutdown::Write)?;
    // Read what the client sent until it closes, so that closing does not reset the
    // connection (and discard the answer) while its request is unread.
    let mut sink = [0u8; 512];
    let mut reader = stream;
    while reader.read(&mut sink).await? > 0 {}
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// A shard of a server that does not run (no accept loop, no mesh loop), for driving
    /// connection tasks by hand.
    fn idle_shard() -> Rc<Shard> {
        let common = Common {
            config: Arc::new(Config::default()),
            body_memory: Arc::new(BodyMemory::new(1 << 20)),
            root: None,
            baseline_rss: None,
            first_chat_id: 1,
        };
        let node = solo::shard::Shard::<Note>::single();
        Rc::new(Shard::new(&common, node.mesh().clone()))
    }

    /// One poll of a connection produces a bounded amount of output, however much its
    /// client pipelined: a client that pipelines 2,000 requests for the 2 KB chat page
    /// (4 MB of answers) gets at most about `OUTPUT_PER_POLL` of them per turn of the
    /// loop, and every other connection has its turn before it gets more. (It used to
    /// get as much as the socket would take, 256 KiB or more, per read.)
    #[test]
    fn one_poll_of_a_connection_produces_a_bounded_output() {
        solo::block_on(async {
            let shard = idle_shard();
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let mut client =
                std::net::TcpStream::connect(listener.local_addr().unwrap()).expect("connect");
            let (stream, _) = listener.accept().await.unwrap();
            // 62 KB of requests: they fit in the server's socket buffer at once.
            let requests = b"GET /chat HTTP/1.1\r\nHost: t\r\n\r\n".repeat(2000);
            client.write_all(&requests).unwrap();
            stream.readable().await.unwrap();

            let mut task = std::pin::pin!(conn::start(stream, shard.clone()));
            poll_fn(|cx| {
                assert!(task.as_mut().poll(cx).is_pending());
                Poll::Ready(())
            })
            .await;
            // On the io_uring driver what the poll wrote leaves with the loop's next
            // turn (its sends are queued on the ring): let the loop turn, without
            // polling the connection again.
            solo::Timer::after(Duration::from_millis(20)).await;

            // What that poll sent is in the client's socket now (loopback delivers within
            // the send); read it all, with a pause to be sure.
            client
                .set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            let mut sent = 0;
            let mut chunk = vec![0; 1 << 16];
            while let Ok(n @ 1..) = client.read(&mut chunk) {
                sent += n;
            }
            let response = crate::chat::PAGE.len() + 256;
            assert!(sent > 0, "the poll answered nothing");
            assert!(
                sent <= conn::OUTPUT_PER_POLL + response,
                "one poll sent {sent} bytes (at most {} + one response allowed)",
                conn::OUTPUT_PER_POLL
            );
        });
    }

    /// Every idle connection pays for its future: keep it small (a regression here is a
    /// large array or a rare path's state held across an `.await`).
    #[test]
    fn the_connection_future_stays_small() {
        let size = connection_future_size();
        assert!(size <= 160, "a connection's future grew to {size} bytes");
    }
}
