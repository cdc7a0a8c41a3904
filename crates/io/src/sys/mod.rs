//! Platform code: one file per family, selected here and nowhere else.
//!
//! Each file provides the same crate-private set: the [`Source`] trait (what can be
//! registered), `set_nonblocking`, non-blocking TCP `connect`, `SO_REUSEPORT` listeners,
//! `accept` that returns a non-blocking close-on-exec stream in one syscall where the OS
//! allows, vectored stream writes that never raise `SIGPIPE`, and `sendfile` (a file to a
//! socket inside the kernel; `Unsupported` where the OS has none this crate uses).

#[cfg(unix)]
mod unix;
/// The io_uring driver (Linux), chosen at run time by the reactor.
#[cfg(has_uring)]
pub(crate) mod uring;
#[cfg(unix)]
pub use unix::Source;
#[cfg(unix)]
pub(crate) use unix::*;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::Source;
#[cfg(windows)]
pub(crate) use windows::*;

#[cfg(not(any(unix, windows)))]
compile_error!("solo-io supports Unix (epoll, kqueue, poll) and Windows (IOCP) targets");
