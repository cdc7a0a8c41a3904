//! Which process a poller belongs to: a counter of `fork`s, bumped in every child.
//!
//! The first [`Poller::new`](crate::Poller::new) registers a `pthread_atfork` child
//! handler that adds one to [`generation`] in the child, right after the fork and before
//! `fork()` returns there. A poller remembers the generation it was created in; a
//! different generation means this process is a fork child of the one that created it,
//! and the poller's descriptors name the parent's objects (an epoll instance and eventfd
//! shared with the parent, a kqueue descriptor that was not inherited at all). Comparing
//! costs one relaxed load, cheap enough for every operation.
//!
//! Only `fork()` (and `std::process::Command`, which execs right after) runs the handlers:
//! a child made by a raw `clone`/`fork` system call, bypassing the C library, is not
//! noticed. On Windows there is no `fork`: the generation stays 0.

use std::io;
#[cfg(unix)]
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// Forks in the ancestry of this process since the handler was registered.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// The current process generation (see the module docs).
#[inline]
pub(crate) fn generation() -> u64 {
    GENERATION.load(Ordering::Relaxed)
}

/// Registers the child handler once per process; later calls return the first outcome.
pub(crate) fn watch() -> io::Result<()> {
    #[cfg(unix)]
    {
        static REGISTERED: OnceLock<i32> = OnceLock::new();
        let errno = *REGISTERED.get_or_init(|| {
            // SAFETY: registers a handler that only does an atomic add (async-signal-safe,
            // as the child of a multithreaded process requires); it stays valid for the
            // life of the process (a plain function).
            unsafe { libc::pthread_atfork(None, None, Some(in_child)) }
        });
        if errno != 0 {
            return Err(io::Error::new(
                io::Error::from_raw_os_error(errno).kind(),
                format!(
                    "solo-poll: cannot register the fork handler (pthread_atfork: {})",
                    io::Error::from_raw_os_error(errno)
                ),
            ));
        }
    }
    Ok(())
}

/// The `pthread_atfork` child handler.
#[cfg(unix)]
extern "C" fn in_child() {
    // Relaxed: the child has one thread now; threads it starts later see this through
    // the thread start's own synchronisation.
    GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// The error of an operation on a poller inherited through `fork`.
pub(crate) fn inherited() -> io::Error {
    io::Error::other(
        "solo-poll: this poller was created before fork() in the parent process; using it \
         here would change the parent's poller (a shared epoll instance and eventfd) or a \
         kqueue this process does not have: call Poller::reinit_after_fork() first",
    )
}
