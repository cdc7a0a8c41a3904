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
//!   - `fn notify(&self)`: callable from any thread; coalesces through an `AtomicBool`
//!     (`notified`) so that at most one wake-up is in flight; the waiter that consumes the
//!     wake-up clears the flag, and a consumed wake-up leaves nothing behind that makes a
//!     later `wait` return early.
//! - `EventBuf` (`Send + Sync + Debug`): the backend's raw buffer for one `wait`, made by
//!   `EventBuf::with_capacity(cap)` and reused, so `wait` does not allocate.
//!
//! `unsafe` lives only in these modules, and every block says why it is sound.

// The ladder: exactly one backend per target, or a compile error that says why not.
//
// 1. poll(2): any Unix built with `--cfg solo_poll_force_poll` (how the fallback is tested
//    on Linux and checked on the BSDs), and the Unixes that have neither epoll nor kqueue.
#[cfg(all(
    unix,
    any(
        solo_poll_force_poll,
        not(any(
            target_os = "linux",
            target_os = "android",
            target_vendor = "apple",
            target_os = "freebsd",
            target_os = "netbsd",
            target_os = "openbsd",
            target_os = "dragonfly",
        ))
    )
))]
mod poll;
#[cfg(all(
    unix,
    any(
        solo_poll_force_poll,
        not(any(
            target_os = "linux",
            target_os = "android",
            target_vendor = "apple",
            target_os = "freebsd",
            target_os = "netbsd",
            target_os = "openbsd",
            target_os = "dragonfly",
        ))
    )
))]
pub(crate) use self::poll::{EventBuf, Poller};

// 2. epoll: Linux and Android.
#[cfg(all(
    not(solo_poll_force_poll),
    any(target_os = "linux", target_os = "android")
))]
mod epoll;
#[cfg(all(
    not(solo_poll_force_poll),
    any(target_os = "linux", target_os = "android")
))]
pub(crate) use self::epoll::{EventBuf, Poller};

// 3. kqueue: Apple's OSes and the BSDs.
#[cfg(all(
    not(solo_poll_force_poll),
    any(
        target_vendor = "apple",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly",
    )
))]
mod kqueue;
#[cfg(all(
    not(solo_poll_force_poll),
    any(
        target_vendor = "apple",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly",
    )
))]
pub(crate) use self::kqueue::{EventBuf, Poller};

// 4. Windows: IOCP, with sockets polled through AFD (`sys/iocp`).
#[cfg(windows)]
mod iocp;
#[cfg(windows)]
pub(crate) use self::iocp::{EventBuf, Poller};

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
#[cfg(all(
    test,
    unix,
    any(
        solo_poll_force_poll,
        not(any(
            target_vendor = "apple",
            target_os = "freebsd",
            target_os = "netbsd",
            target_os = "openbsd",
            target_os = "dragonfly",
        ))
    )
))]
#[allow(dead_code)] // only the unit tests use the portable half on this target
mod kqueue;
