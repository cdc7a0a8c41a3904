//! The OS backends, one file each, chosen by the single `cfg` ladder below.
//!
//! # The contract every backend fulfils
//!
//! A backend module exports two types:
//!
//! - `Poller` (`Send + Sync + Debug`) with
//!   - `const NAME: &'static str` (`"epoll"`, `"kqueue"`, `"poll"`, `"iocp"`) and
//!     `const SUPPORTS_EDGE: bool`;
//!   - `fn new() -> io::Result<Poller>`: every descriptor it creates is close-on-exec and
//!     non-blocking where that matters;
//!   - `fn add(&self, fd, key, interest, mode)`, `fn modify(..)`, `fn delete(&self, fd)`:
//!     `AlreadyExists` for a second `add` of the same descriptor, `NotFound` for
//!     `modify`/`delete` of an unknown one (through [`crate::already_registered`] and
//!     [`crate::not_registered`], so the messages match). The key `usize::MAX` and an
//!     unsupported mode never reach the backend: `lib.rs` rejects them first. A change made
//!     while another thread is blocked in `wait` takes effect for that wait. `modify`
//!     re-arms: if the source is ready for the new interest, the next wait reports it.
//!   - `fn wait(&self, buf: &mut EventBuf, out: &mut Vec<Event>, cap: usize, deadline)`:
//!     `out` arrives empty with room for `cap` events; the backend pushes at most `cap`.
//!     It returns when it pushed at least one event, when it consumed a notification, or
//!     when `deadline` has passed, and never earlier: `EINTR` and spurious wake-ups loop
//!     with the remaining time, computed from the one deadline. A timeout too long for
//!     the OS call is clamped (the loop sleeps again) and never wraps; a sub-millisecond
//!     timeout is never rounded down to zero. Events report `readable` / `writable` for the
//!     interested directions also on hang-up and error. Events of deleted or oneshot-spent
//!     registrations are not reported.
//!   - `fn notify(&self)`: callable from any thread; coalesces through a [`Notified`] flag
//!     so that at most one wake-up is in flight; the waiter that consumes the wake-up
//!     clears the flag, and a consumed wake-up leaves nothing behind that makes a later
//!     `wait` return early.
//! - `EventBuf` (`Send + Sync + Debug`): the backend's raw buffer for one `wait`, made by
//!   `EventBuf::with_capacity(cap)` and reused, so `wait` does not allocate.
//!
//! `unsafe` lives only in these modules, and every block says why it is sound. What every
//! backend shares is at the end of this file; what the Unix ones share is in `unix.rs`.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

// The ladder: exactly one backend per target, or a compile error that says why not. Each
// backend is one module, declared with its condition by `backend!` (the condition is
// written once, for the module and its re-export). `has_epoll` and `has_kqueue` name the
// operating systems that have them, once, in `build.rs`.
macro_rules! backend {
    ($name:ident if $cond:meta) => {
        #[cfg($cond)]
        mod $name;
        #[cfg($cond)]
        pub(crate) use self::$name::{EventBuf, Poller};
    };
}

// 1. poll(2): any Unix built with `--cfg solo_poll_force_poll` (how the fallback is
//    tested on Linux and checked on the BSDs), and the Unixes that have neither epoll
//    nor kqueue.
backend! {
    poll if all(unix, any(solo_poll_force_poll, not(any(has_epoll, has_kqueue))))
}

// 2. epoll: Linux and Android.
backend! {
    epoll if all(not(solo_poll_force_poll), has_epoll)
}

// 3. kqueue: Apple's OSes and the BSDs.
backend! {
    kqueue if all(not(solo_poll_force_poll), has_kqueue)
}

// 4. Windows: IOCP, with sockets polled through AFD (`sys/iocp`).
backend! {
    iocp if windows
}

// 5. Anything else.
#[cfg(not(any(unix, windows)))]
compile_error!(
    "solo-poll supports Unix (epoll, kqueue or poll(2)) and Windows (IOCP); this target \
     has neither"
);

// Helpers shared by the Unix backends.
#[cfg(unix)]
mod unix;

// kqueue cannot run on this build host, but its change-list planning and event translation
// are plain functions: compile them here for their unit tests.
#[cfg(all(test, unix, any(solo_poll_force_poll, not(has_kqueue))))]
#[allow(dead_code)] // only the unit tests use the portable half on this target
mod kqueue;

/// The longest one blocking system call is asked to sleep. Longer waits sleep again with
/// the remaining time, so no OS limit is ever reached (a `c_int` of milliseconds is ~24.8
/// days, `GetQueuedCompletionStatusEx` takes at most `INFINITE - 1` ms, ~49.7 days, and
/// some kernels reject huge `timespec`s).
pub(crate) const MAX_SLEEP: Duration = Duration::from_secs(24 * 60 * 60);

/// `d` clamped to [`MAX_SLEEP`] and rounded *up* to whole milliseconds (at most
/// 86 400 001), so that a sub-millisecond wait sleeps 1 ms rather than spinning with 0.
pub(crate) fn whole_ms(d: Duration) -> u32 {
    let d = d.min(MAX_SLEEP);
    let ms = d.as_millis() + u128::from(d.subsec_nanos() % 1_000_000 != 0);
    ms as u32
}

/// The flag behind every backend's `notify`: whether a wake-up is in flight (sent and not
/// yet consumed by a wait), so that many `notify` calls cost at most one wake-up.
#[derive(Debug, Default)]
pub(crate) struct Notified(AtomicBool);

impl Notified {
    /// Sends a wake-up with `wake` unless one is already in flight. If `wake` fails, none
    /// is in flight, and the next `notify` tries again.
    pub(crate) fn notify(&self, wake: impl FnOnce() -> io::Result<()>) -> io::Result<()> {
        if self.0.swap(true, Ordering::AcqRel) {
            return Ok(()); // a wake-up is already in flight
        }
        wake().inspect_err(|_| self.0.store(false, Ordering::Release))
    }

    /// Called by a wait that received a wake-up: consumes the one in flight. False for a
    /// stale wake-up (already consumed by another wait), which must not end the wait.
    pub(crate) fn consume(&self) -> bool {
        self.0.swap(false, Ordering::AcqRel)
    }
}
