//! What tells the loop that a child exited, one file per mechanism, chosen here:
//!
//! - `pidfd.rs` (Linux, Android): a pidfd registered in the reactor;
//! - `kqueue.rs` (macOS, iOS, the BSDs with solo-poll's kqueue backend): an
//!   `EVFILT_PROC` filter registered in the reactor;
//! - `sigchld.rs` (every Unix, as the fallback): the thread's `SIGCHLD` listener;
//! - `windows.rs`: a thread-pool wait on the process handle.
//!
//! Each provides `Watch::new(&child)` and `Watch::poll_wait(&mut child, cx)`, which polls
//! until the child has exited and returns its status (reaping it on Unix). On Unix
//! `Watch` is an `enum` of the mechanisms this system has: a pidfd or kqueue filter where
//! the kernel grants one, the `SIGCHLD` listener otherwise.

use std::io;

#[cfg(any(target_os = "linux", target_os = "android"))]
mod pidfd;

#[cfg(all(has_kqueue, not(solo_poll_force_poll)))]
mod kqueue;

#[cfg(unix)]
mod sigchld;

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::force_sigchld;
#[cfg(unix)]
pub(crate) use unix::{Watch, orphan};

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub(super) use windows::{Watch, orphan};

/// The error of waiting for child `id`, saying which child and, for `ECHILD`, the usual
/// cause.
pub(super) fn wait_error(id: u32, e: io::Error) -> io::Error {
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::ECHILD) {
        return io::Error::new(
            e.kind(),
            format!(
                "cannot wait for child process {id}: {e}; something else reaped it (a \
                 SIGCHLD handler calling waitpid(-1), or SIGCHLD set to SIG_IGN)"
            ),
        );
    }
    io::Error::new(e.kind(), format!("cannot wait for child process {id}: {e}"))
}
