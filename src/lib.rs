//! solo: a small async runtime for one pinned thread.
//!
//! `solo` joins [`solo-executor`](solo_executor) (tasks) with [`solo-io`](solo_io)'s
//! reactor (I/O, timers) on the current thread, and re-exports the toolbox of
//! [`solo-lite`](solo_lite). It plays the role `smol` plays for the smol crates, designed
//! from the start for a single thread: tasks need not be `Send`, the run queue takes no
//! lock, and the reactor belongs to the thread (no global, no helper thread).
//!
//! - [`block_on`] runs a future, the tasks it [`spawn`]s, and the reactor until the future
//!   completes, sleeping in the poller when nothing is ready.
//! - [`shards`] runs one runtime per core, each with a [`Shard`](shard::Shard) handle
//!   that reaches the others through a [`Mesh`](shard::Mesh): typed messages to one shard
//!   or all, closures run on another shard. Servers bind one listener per shard with
//!   `SO_REUSEPORT` ([`net::TcpListener::bind_reuseport`]); [`pin_to_core`] pins a thread,
//!   and [`raise_fd_limit`] lifts the process's descriptor limit to its hard limit.
//! - [`channel`] and [`lock`] (from [`solo-sync`](solo_sync)): channels between tasks of
//!   one thread and between shards, and async locks.
//! - From [`solo-io`](solo_io): [`net`], [`fs`], [`process`] (child processes, reaped
//!   without a helper thread), [`signal`], [`Timer`], [`timeout`] (any future) and
//!   [`io_timeout`], [`unblock`]. Awaiting these under another executor's `block_on`
//!   panics with the fix instead of hanging.
//!
//! # Example
//!
//! ```
//! use solo::net::{TcpListener, TcpStream};
//! use solo::io::{AsyncReadExt, AsyncWriteExt};
//!
//! solo::block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!
//!     // An echo server task.
//!     let server = solo::spawn(async move {
//!         let (mut stream, _) = listener.accept().await?;
//!         let mut buf = [0; 5];
//!         stream.read_exact(&mut buf).await?;
//!         stream.write_all(&buf).await
//!     });
//!
//!     let mut client = TcpStream::connect(addr).await?;
//!     client.write_all(b"hello").await?;
//!     let mut back = [0; 5];
//!     client.read_exact(&mut back).await?;
//!     assert_eq!(&back, b"hello");
//!     server.await
//! })
//! .unwrap();
//! ```
//!
//! # With the ecosystem
//!
//! solo's streams speak `futures-io`, so crates written against those traits
//! (async-tungstenite, futures-rustls, ...) work on them as they are.
//! The cargo feature `hyper` adds the module `solo::hyper`: hyper 1.x's executor, a timer on
//! solo's wheel and the io adapter. Crates written against tokio's io traits (tokio-rustls,
//! tokio-tungstenite) run over `tokio_util::compat`, which needs no tokio runtime:
//! `stream.compat()` turns a solo stream into a tokio `AsyncRead + AsyncWrite`. The
//! README's "With the ecosystem" table lists what runs and how.
//!
//! # The crates
//!
//! Each part is usable alone: [`solo_poll`] (the poller), [`solo_io`] (reactor, `Async`,
//! timers, net, fs), [`solo_executor`] (the executor), [`solo_lite`] (combinators),
//! [`solo_sync`] (channels and locks).

#![deny(clippy::undocumented_unsafe_blocks, unsafe_op_in_unsafe_fn)]

use std::cell::Cell;
use std::future::Future;

mod affinity;
mod fd_limit;
#[cfg(feature = "hyper")]
pub mod hyper;
#[cfg(feature = "metrics")]
pub mod metrics;
pub mod shard;

pub use affinity::pin_to_core;
pub use fd_limit::raise_fd_limit;
#[cfg(feature = "metrics")]
pub use metrics::snapshot as metrics;
pub use shard::shards;
pub use solo_sync::{channel, lock};

pub use solo_executor::{LocalExecutor, Task};
pub use solo_io::{
    Async, TimedOut, Timer, Unblock, fs, io_timeout, net, process, signal, timeout, unblock,
};
pub use solo_lite::{future, io, pin, prelude, ready, stream};

/// The reactor of the current thread: counters ([`reactor::stats`]), the name of the
/// poller backend and of the driver (`SOLO_DRIVER`: epoll or io_uring).
pub mod reactor {
    pub use solo_io::reactor::{EnterGuard, Stats, backend, driver, enter, stats};
}

thread_local! {
    /// The thread's executor. A task woken on another thread wakes the reactor through
    /// the notify hook.
    static EXECUTOR: LocalExecutor<'static> = {
        let notifier = solo_io::reactor::notifier();
        LocalExecutor::with_notify(move || notifier.notify())
    };
    /// How many `block_on` calls are running on this thread.
    static DEPTH: Cell<usize> = const { Cell::new(0) };
}

#[cfg(solo_sim)]
thread_local! {
    /// Under simulation: the executor of the simulated host whose code runs now.
    static SIM_EXECUTOR: std::cell::RefCell<Option<std::rc::Rc<LocalExecutor<'static>>>> =
        const { std::cell::RefCell::new(None) };
}

/// The simulated world (only with `--cfg solo_sim`): see `solo_io::sim` and the
/// `solo-sim` crate.
#[cfg(solo_sim)]
pub use solo_io::sim;

/// The simulation harness's hook (only with `--cfg solo_sim`; used by `solo-sim`).
#[cfg(solo_sim)]
#[doc(hidden)]
pub mod __sim {
    use super::{LocalExecutor, SIM_EXECUTOR};
    use std::rc::Rc;

    /// Makes [`spawn`](crate::spawn) use `ex` (the running simulated host's executor);
    /// returns the previous one.
    pub fn set_executor(
        ex: Option<Rc<LocalExecutor<'static>>>,
    ) -> Option<Rc<LocalExecutor<'static>>> {
        SIM_EXECUTOR.with(|s| std::mem::replace(&mut *s.borrow_mut(), ex))
    }

    thread_local! {
        static PANICS: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
    }

    /// The messages of the panics of tasks spawned on a simulated host since the last call
    /// (the panic itself goes on to the task's awaiter, or is reported by the executor
    /// for a detached task, as without simulation).
    pub fn take_task_panics() -> Vec<String> {
        PANICS.with(|p| std::mem::take(&mut *p.borrow_mut()))
    }

    /// A spawned future whose panic is noted for the harness, then resumed.
    pub(crate) struct Noted<F>(pub(crate) std::pin::Pin<Box<F>>);

    impl<F: std::future::Future> std::future::Future for Noted<F> {
        type Output = F::Output;

        fn poll(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<F::Output> {
            let fut = self.0.as_mut();
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fut.poll(cx))) {
                Ok(poll) => poll,
                Err(payload) => {
                    let message = payload
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_string())
                        .or_else(|| payload.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "(a panic with a non-text payload)".to_string());
                    PANICS.with(|p| p.borrow_mut().push(message));
                    std::panic::resume_unwind(payload)
                }
            }
        }
    }
}

/// Decrements `DEPTH` even when the future panics.
struct Running;

impl Running {
    fn enter() -> Running {
        DEPTH.with(|d| d.set(d.get() + 1));
        Running
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get() - 1));
    }
}

/// Runs `fut` to completion on the current thread, together with every task spawned with
/// [`spawn`] and the thread's reactor.
///
/// Ready tasks run in batches; between batches the reactor is polled without blocking,
/// so a busy task cannot starve I/O or timers. With nothing ready, the thread sleeps in
/// the poller (no busy loop) until I/O, a timer, or a wake from another thread.
///
/// Tasks still unfinished when `fut` completes stay on the thread's executor and continue
/// at the next `block_on`; they are dropped when the thread exits.
///
/// # Examples
///
/// ```
/// let sum = solo::block_on(async {
///     let a = solo::spawn(async { 1 });
///     let b = solo::spawn(async { 2 });
///     a.await + b.await
/// });
/// assert_eq!(sum, 3);
/// ```
pub fn block_on<T>(fut: impl Future<Output = T>) -> T {
    EXECUTOR.with(|ex| {
        let _running = Running::enter();
        solo_io::block_on_with(fut, || {
            ex.try_tick();
            ex.has_ready()
        })
    })
}

/// Spawns a task onto the current thread's executor.
///
/// The future need not be `Send`. The returned [`Task`] is a future of the output;
/// dropping it cancels the task, [`Task::detach`] lets it run unobserved.
///
/// # Panics
///
/// Panics when called outside [`block_on`] (or [`shards`]), where no executor would run
/// the task.
///
/// With the `metrics` feature the caller's location is recorded for the long-poll
/// detector (see the `metrics` module, present with that feature).
#[cfg_attr(feature = "metrics", track_caller)]
pub fn spawn<T: 'static>(fut: impl Future<Output = T> + 'static) -> Task<T> {
    // Under simulation, a task spawned by a simulated host's code is that host's.
    #[cfg(solo_sim)]
    if let Some(ex) = SIM_EXECUTOR.with(|s| s.borrow().clone()) {
        return ex.spawn(__sim::Noted(Box::pin(fut)));
    }
    if DEPTH.with(Cell::get) == 0 {
        panic!(
            "solo::spawn called outside solo::block_on: there is no runtime on this thread \
             to run the task (wrap the code in solo::block_on(async {{ ... }}))"
        );
    }
    #[cfg(feature = "metrics")]
    {
        let location = std::panic::Location::caller();
        EXECUTOR.with(|ex| ex.spawn_at(location, fut))
    }
    #[cfg(not(feature = "metrics"))]
    EXECUTOR.with(|ex| ex.spawn(fut))
}
