//! solo-io: a reactor owned by its thread, with `Async<T>`, timers, networking, files and
//! blocking work.
//!
//! This is the role that `async-io`, `async-net`, `async-fs` and `blocking` play for
//! smol, redesigned for one pinned thread:
//!
//! - **No global reactor, no helper thread.** Each thread that does I/O gets its own
//!   reactor (a [`solo_poll::Poller`], a slab of registrations and a timer wheel), created
//!   on first use and driven by [`block_on`] or by an executor through
//!   [`reactor::park`]. Other threads reach it only through [`reactor::Notifier`].
//! - **Registered once, edge-triggered.** A source is added to the poller once, for both
//!   directions; readiness is cached per direction and cleared only by `WouldBlock` (or by
//!   a short read or write on a stream), so a ready socket costs one syscall per
//!   operation and no re-arming. See [`Async`].
//! - **Stale events are harmless.** Registrations carry a generation; an event for a
//!   source already dropped (its descriptor number perhaps reused) is recognised and
//!   dropped.
//! - **Timers on a hierarchical wheel**: O(1) start and cancel, no allocation per timer
//!   in steady state, never early. See [`Timer`] and [`timeout`].
//! - **Files and blocking work on a small pool** ([`unblock`], [`Unblock`], [`fs`]), whose
//!   completions wake the loop, the way libuv serves Node's `fs`.
//!
//! Everything here belongs to the thread that created it: `Async<T>`, `Timer` and the
//! socket types are not `Send`. And they wait on that thread's loop: await them inside
//! [`block_on`] (or `solo::block_on`). Under another executor's `block_on`, where nothing
//! would run the reactor, a task about to wait for I/O or a timer panics with a message
//! naming the fix rather than hanging for ever (work on the pool, [`unblock`], completes
//! anywhere).
//!
//! # `fork`
//!
//! A process that forks can go on using solo-io in the child. The reactor's **first use in
//! the child** (waiting, registering, deregistering, re-arming a source) notices that its
//! poller was inherited ([`solo_poll::Poller::is_inherited`]), creates a new one and
//! registers every live source with it again from its own table, under the same keys; the
//! parent's epoll instance, eventfd and registrations are never touched, whatever the child
//! registers, drops or wakes. It happens on its own rather than through a call the user must
//! remember, because the code that forks is often not the code that owns the runtime (a
//! library, a daemonising step), and forgetting such a call would corrupt the parent
//! silently; the check costs one relaxed load per entry into the reactor. Timers go on as
//! they were (the wheel is the child's copy, the clock is the same). The blocking pool holds
//! its lock across `fork` and starts threads of its own in the child; the jobs it held at the
//! fork, running or queued, run only in the parent (in the child, awaiting one panics with
//! a message that says so, rather than waiting forever or running it twice). Only the forking thread exists in the child, so only its reactor goes on
//! (other threads' reactors, shards included, are not there).
//!
//! # Metrics
//!
//! With the `metrics` feature, `reactor::metrics()` gives this thread's loop utilisation
//! (time blocked in the poller against busy), events per wait, timer lag (a fixed-size
//! log-linear `metrics::Histogram`), timers fired, sources and timers, and
//! `metrics::pool()` the blocking pool's threads and queue (see the `metrics` module).
//!
//! # Example
//!
//! A TCP echo round trip, with a timer racing it:
//!
//! ```
//! use solo_io::net::{TcpListener, TcpStream};
//! use solo_io::{timeout, Timer};
//! use solo_lite::io::{AsyncReadExt, AsyncWriteExt};
//! use std::time::Duration;
//!
//! solo_io::block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let mut client = TcpStream::connect(listener.local_addr()?).await?;
//!     let (mut server, _) = listener.accept().await?;
//!
//!     client.write_all(b"hello").await?;
//!     let mut buf = [0; 5];
//!     timeout(Duration::from_secs(5), server.read_exact(&mut buf)).await??;
//!     assert_eq!(&buf, b"hello");
//!
//!     Timer::after(Duration::from_millis(1)).await;
//!     std::io::Result::Ok(())
//! })
//! .unwrap();
//! ```
//!
//! # Portability
//!
//! Linux and Android use epoll, macOS and the BSDs kqueue, Windows IOCP, other Unixes
//! `poll(2)` (where sources are re-armed per wait instead of edge-triggered). Unix-domain
//! sockets exist on Unix only.

#![deny(clippy::undocumented_unsafe_blocks, unsafe_op_in_unsafe_fn)]
// Under simulation the OS paths (poller dispatch, real sockets, the pool's threads) are
// compiled but never reached.
#![cfg_attr(solo_sim, allow(dead_code))]

mod async_io;
mod async_net;
mod blocking;
mod driver;
#[cfg(solo_fault_injection)]
mod fault;
pub mod fs;
#[cfg(feature = "metrics")]
pub mod metrics;
pub mod net;
pub mod process;
pub mod reactor;
pub mod signal;
#[cfg(solo_sim)]
pub mod sim;
mod sys;
mod timer;
mod wheel;

pub use async_io::{Async, Readiness};
#[doc(hidden)]
pub use blocking::testing as __blocking;
/// Fault injection for tests (only with `--cfg solo_fault_injection`; see `fault.rs`).
#[cfg(solo_fault_injection)]
#[doc(hidden)]
pub mod __fault {
    pub use crate::fault::{Counts, Fault, Op, Rule, clear, counts, inject, ops_on, pending, seed};
}
pub use blocking::{Unblock, Unblocked, unblock};
pub use driver::{block_on, block_on_with};
pub use sys::Source;
pub use timer::{TimedOut, Timer, io_timeout, timeout};

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
