//! The blocking pool: threads for work that would stall the reactor.
//!
//! Regular files cannot be polled for readiness, DNS lookups and CPU-heavy work block,
//! so solo-io runs them on a small pool of threads, the way libuv serves Node's `fs`.
//! [`unblock`] runs a closure there and gives a future of its result; [`Unblock`]
//! wraps a blocking reader or writer (a file, stdin, stdout) and implements the async
//! I/O traits by moving the object and one reusable buffer to the pool per operation.
//!
//! The pool is shared by the whole process and lies off the hot path: it takes a lock
//! per job. Threads start on demand, up to 64 at once (override with the environment
//! variable `SOLO_BLOCKING_MAX_THREADS`, read once when the pool is first used), and a
//! thread that has been idle for a second exits, so an idle process keeps no pool
//! threads. A finished job wakes the [`Waker`] of whoever awaits it; a reactor's wakers
//! notify its poller when woken from another thread, so the result reaches the
//! reactor's thread without any polling.
//!
//! Three parts, one file each: `pool.rs` (the threads and their queue), `unblock.rs`
//! ([`unblock`] and its future) and `io.rs` ([`Unblock`], the async I/O traits over a
//! blocking object).

use std::sync::{Mutex, MutexGuard, PoisonError};

mod io;
mod pool;
mod unblock;

pub use self::io::Unblock;
#[cfg(unix)]
pub(crate) use self::pool::abandon_orphans;
#[cfg(feature = "metrics")]
pub(crate) use self::pool::metrics;
pub use self::pool::testing;
pub use self::unblock::{Unblocked, unblock};

/// Locks a mutex, ignoring poisoning: no code panics while holding these locks (user
/// code and wakers run with the locks released), so the data is always consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
