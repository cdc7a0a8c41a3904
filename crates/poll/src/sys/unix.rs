//! Helpers shared by the Unix backends: the wait loop, error conversion, timeouts, pipes.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::Duration;

use super::{MAX_SLEEP, whole_ms};
use crate::{Deadline, Event};

/// The loop of every Unix backend's `wait` (see the contract in `sys/mod.rs`): one OS call
/// by `sys_wait` with the time that remains, whose results `collect` turns into events in
/// `out` (returning whether it consumed a notification), until there is an event, a
/// notification, or the deadline has passed. `EINTR` and spurious wake-ups loop.
pub(crate) fn wait_loop<B>(
    buf: &mut B,
    out: &mut Vec<Event>,
    deadline: Deadline,
    mut sys_wait: impl FnMut(&mut B, Option<Duration>) -> io::Result<()>,
    mut collect: impl FnMut(&B, &mut Vec<Event>) -> io::Result<bool>,
) -> io::Result<()> {
    loop {
        match sys_wait(buf, deadline.remaining()) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        let woken = collect(buf, out)?;
        if !out.is_empty() || woken || deadline.expired() {
            return Ok(());
        }
    }
}

/// Turns the `-1`-and-`errno` convention into an `io::Result` (solo-io keeps a private
/// copy in its `sys/unix.rs`: see there why).
pub(crate) fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// `d`, clamped to [`MAX_SLEEP`], as a `timespec` (exact to the nanosecond).
// Used by epoll, kqueue and ppoll; unused by the poll(2) backend where there is no ppoll.
#[cfg_attr(
    all(
        not(has_ppoll),
        any(solo_poll_force_poll, not(any(has_epoll, has_kqueue)))
    ),
    allow(dead_code)
)]
pub(crate) fn timespec(d: Duration) -> libc::timespec {
    let d = d.min(MAX_SLEEP);
    // SAFETY: `timespec` is a plain C struct of integers (plus padding on some targets);
    // all-zero bytes are a valid value of it.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // Both fit every target's types: at most 86 400 seconds and < 10^9 nanoseconds.
    ts.tv_sec = d.as_secs() as libc::time_t;
    ts.tv_nsec = d.subsec_nanos() as _;
    ts
}

/// A timeout for the millisecond APIs: `-1` for none, else `d` clamped to [`MAX_SLEEP`]
/// and rounded *up* to whole milliseconds, so a sub-millisecond wait sleeps 1 ms rather
/// than spinning with 0.
// Used by epoll, and by poll(2) where there is no ppoll; kqueue takes a timespec.
#[cfg_attr(
    not(any(
        all(not(solo_poll_force_poll), has_epoll),
        all(
            not(has_ppoll),
            any(solo_poll_force_poll, not(any(has_epoll, has_kqueue)))
        ),
    )),
    allow(dead_code)
)]
pub(crate) fn ceil_ms(timeout: Option<Duration>) -> libc::c_int {
    // At most 86 400 001 ms: fits.
    timeout.map_or(-1, |d| whole_ms(d) as libc::c_int)
}

/// Reads `fd` (a non-blocking pipe or eventfd) until it is empty.
pub(crate) fn drain(fd: BorrowedFd<'_>) -> io::Result<()> {
    let mut buf = [0u8; 64];
    loop {
        // SAFETY: `buf` is valid for writes of its length for the duration of the call, and
        // `fd` is an open descriptor borrowed for it.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n > 0 {
            continue;
        }
        if n == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        match err.kind() {
            io::ErrorKind::WouldBlock => return Ok(()),
            io::ErrorKind::Interrupted => continue,
            _ => return Err(err),
        }
    }
}

/// Writes `bytes` to `fd` (a non-blocking pipe or eventfd) to wake a waiter. A full pipe
/// (`WouldBlock`) already holds a wake-up, so it counts as success.
#[cfg_attr(
    all(not(solo_poll_force_poll), has_epoll),
    allow(dead_code) // epoll writes its eventfd itself
)]
pub(crate) fn wake(fd: BorrowedFd<'_>, bytes: &[u8]) -> io::Result<()> {
    loop {
        // SAFETY: `bytes` is valid for reads of its length, and `fd` is an open descriptor
        // borrowed for the call.
        let n = unsafe { libc::write(fd.as_raw_fd(), bytes.as_ptr().cast(), bytes.len()) };
        if n >= 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        match err.kind() {
            io::ErrorKind::WouldBlock => return Ok(()),
            io::ErrorKind::Interrupted => continue,
            _ => return Err(err),
        }
    }
}

/// A pipe whose two ends are close-on-exec and non-blocking: `(read end, write end)`.
#[cfg(any(solo_poll_force_poll, not(has_epoll)))]
pub(crate) fn pipe() -> io::Result<(std::os::fd::OwnedFd, std::os::fd::OwnedFd)> {
    use std::os::fd::{FromRawFd, OwnedFd};

    let mut fds = [-1 as libc::c_int; 2];
    #[cfg(has_pipe2)]
    {
        // SAFETY: `fds` is valid for writes of two `c_int`s.
        cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) })?;
        // SAFETY: on success both descriptors are new, open and owned by nobody else.
        Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
    }
    #[cfg(not(has_pipe2))]
    {
        // No pipe2 here: set the flags after creation. A fork+exec in another thread in
        // between could leak these two descriptors into the child.
        // SAFETY: `fds` is valid for writes of two `c_int`s.
        cvt(unsafe { libc::pipe(fds.as_mut_ptr()) })?;
        // SAFETY: on success both descriptors are new, open and owned by nobody else.
        let ends = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        for fd in [&ends.0, &ends.1] {
            let fd = fd.as_raw_fd();
            // SAFETY: `fd` is open (owned by `ends`); these fcntl commands take an int.
            unsafe {
                cvt(libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC))?;
                let flags = cvt(libc::fcntl(fd, libc::F_GETFL))?;
                cvt(libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK))?;
            }
        }
        Ok(ends)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceil_ms_rounds_up_and_clamps() {
        assert_eq!(ceil_ms(None), -1);
        assert_eq!(ceil_ms(Some(Duration::ZERO)), 0);
        assert_eq!(ceil_ms(Some(Duration::from_nanos(1))), 1);
        assert_eq!(ceil_ms(Some(Duration::from_micros(999))), 1);
        assert_eq!(ceil_ms(Some(Duration::from_millis(1))), 1);
        assert_eq!(ceil_ms(Some(Duration::from_micros(1001))), 2);
        assert_eq!(ceil_ms(Some(Duration::from_secs(3))), 3000);
        assert_eq!(
            ceil_ms(Some(Duration::MAX)),
            MAX_SLEEP.as_millis() as libc::c_int
        );
        assert!(ceil_ms(Some(Duration::from_secs(u64::MAX / 2))) > 0);
    }

    #[test]
    fn timespec_is_exact_and_clamped() {
        let ts = timespec(Duration::new(2, 345));
        assert_eq!((ts.tv_sec, ts.tv_nsec), (2, 345));
        let ts = timespec(Duration::MAX);
        assert_eq!(
            (ts.tv_sec, ts.tv_nsec),
            (MAX_SLEEP.as_secs() as libc::time_t, 0)
        );
    }
}
