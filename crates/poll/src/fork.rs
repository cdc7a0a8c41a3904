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
use std::sync::atomic::{AtomicU64, Ordering};

/// Forks in the ancestry of this process since the handler was registered.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// The current process generation (see the module docs).
#[inline]
pub(crate) fn generation() -> u64 {
    GENERATION.load(Ordering::Relaxed)
}

/// Where the registration of the handler stands (see [`watch`]).
#[cfg(unix)]
mod state {
    pub(super) const NONE: u8 = 0;
    pub(super) const REGISTERING: u8 = 1;
    pub(super) const REGISTERED: u8 = 2;
    pub(super) const FAILED: u8 = 3;
}

#[cfg(unix)]
static STATE: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(state::NONE);
/// The process that set [`STATE`] to `REGISTERING`.
#[cfg(unix)]
static REGISTRAR: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);
/// `pthread_atfork`'s error, when [`STATE`] is `FAILED`.
#[cfg(unix)]
static ERRNO: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// Registers the child handler once per process; later calls return the first outcome.
///
/// Not a `OnceLock`: a thread that forks while another thread is inside its
/// initialisation leaves the child a lock that no thread will ever release, and the
/// child's first poller would hang. Here a registration that a fork interrupted is seen
/// in the child (the state says "registering", but by another process) and started
/// again. `pthread_atfork` and `fork` exclude each other in the C library, so the handler
/// was either registered before the fork (and then ran in the child, marking the state
/// registered) or not at all.
pub(crate) fn watch() -> io::Result<()> {
    #[cfg(unix)]
    loop {
        match STATE.load(Ordering::Acquire) {
            state::REGISTERED => break,
            state::FAILED => {
                let errno = io::Error::from_raw_os_error(ERRNO.load(Ordering::Relaxed));
                return Err(io::Error::new(
                    errno.kind(),
                    format!(
                        "solo-poll: cannot register the fork handler (pthread_atfork: {errno})"
                    ),
                ));
            }
            state::NONE => {
                // SAFETY: getpid has no preconditions.
                REGISTRAR.store(unsafe { libc::getpid() }, Ordering::Relaxed);
                if STATE
                    .compare_exchange(
                        state::NONE,
                        state::REGISTERING,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    )
                    .is_ok()
                {
                    // SAFETY: registers a handler that only does atomic stores
                    // (async-signal-safe, as the child of a multithreaded process
                    // requires); it stays valid for the life of the process.
                    let errno = unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
                    if errno != 0 {
                        ERRNO.store(errno, Ordering::Relaxed);
                        STATE.store(state::FAILED, Ordering::Release);
                    } else {
                        STATE.store(state::REGISTERED, Ordering::Release);
                    }
                }
            }
            _ => {
                // SAFETY: getpid has no preconditions.
                if REGISTRAR.load(Ordering::Relaxed) != unsafe { libc::getpid() } {
                    // A fork child of a process that was registering: start again here.
                    let _ = STATE.compare_exchange(
                        state::REGISTERING,
                        state::NONE,
                        Ordering::AcqRel,
                        Ordering::Relaxed,
                    );
                } else {
                    std::thread::yield_now();
                }
            }
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
    // This handler runs, so it is registered here, whatever the forking process's
    // registering thread had written down yet.
    STATE.store(state::REGISTERED, Ordering::Relaxed);
}

/// The error of an operation on a poller inherited through `fork`.
pub(crate) fn inherited() -> io::Error {
    io::Error::other(
        "solo-poll: this poller was created before fork() in the parent process; using it \
         here would change the parent's poller (a shared epoll instance and eventfd) or a \
         kqueue this process does not have: call Poller::reinit_after_fork() first",
    )
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// What a fork child finds when its parent forked in the middle of the first
    /// registration (before `pthread_atfork` took effect): "registering", by a process
    /// that is not this one. It must register here instead of waiting for ever.
    #[test]
    fn a_registration_interrupted_by_fork_is_started_again() {
        watch().unwrap();
        // SAFETY: getpid has no preconditions.
        let other = unsafe { libc::getpid() } + 1;
        REGISTRAR.store(other, Ordering::Relaxed);
        STATE.store(state::REGISTERING, Ordering::Release);
        watch().unwrap();
        assert_eq!(STATE.load(Ordering::Acquire), state::REGISTERED);
        // SAFETY: as above.
        assert_eq!(REGISTRAR.load(Ordering::Relaxed), unsafe { libc::getpid() });
    }
}
