//! The epoll backend (Linux, Android).
//!
//! - **Modes.** `Oneshot` is `EPOLLONESHOT` (level-triggered, disabled after one event until
//!   `EPOLL_CTL_MOD`), `Level` is plain epoll, `Edge` is `EPOLLET`. Readable interest asks
//!   for `EPOLLIN | EPOLLRDHUP`, writable for `EPOLLOUT`. The kernel always adds `EPOLLHUP`
//!   and `EPOLLERR`, so a source registered with `Interest::NONE` gets `EPOLLONESHOT`: a
//!   hang-up then wakes a wait at most once instead of on every level-triggered wait.
//! - **Events.** `readable` is set by `EPOLLIN`, `EPOLLPRI`, `EPOLLRDHUP`, `EPOLLHUP` or
//!   `EPOLLERR`; `writable` by `EPOLLOUT`, `EPOLLHUP` or `EPOLLERR`. The event carries only
//!   the key, not the interest, so a hang-up or error is reported for both directions (a
//!   documented spurious event for a one-direction source) rather than paying a table
//!   lookup per event.
//! - **Notify.** An eventfd registered `EPOLLIN | EPOLLET` under an internal key. Every
//!   write to an eventfd is a new edge, so the counter never needs reading: `notify` writes
//!   only when it flips the `notified` flag from false to true, and the waiter that sees the
//!   edge flips it back. A wait that sees the edge but finds the flag already cleared (a
//!   stale edge) does not return; it keeps waiting.
//! - **Timeouts.** `epoll_pwait2` (Linux 5.11+) takes a timespec, so every timeout is
//!   exact to the nanosecond plus the kernel's timer slack. It is called through
//!   `libc::syscall` (older C libraries lack the wrapper), so it gets the kernel's own
//!   `struct __kernel_timespec` ([`KernelTimespec`]: two 64-bit fields on every target),
//!   not the C library's `timespec`, whose `time_t` is 32 bits on i686 and armv7 glibc.
//!   Whether the kernel has it is probed once per process with a zero-timeout call; any
//!   failure of that call (`ENOSYS`; `EPERM`, which some seccomp filters return for unknown
//!   system calls; `EINVAL`, which would mean the call is wrong here) selects the fallback: `epoll_wait` with whole milliseconds
//!   when the timeout is a whole number of them, and otherwise a timerfd in the epoll set,
//!   armed with the exact remaining time. The timerfd, not rounding, is the fallback
//!   because rounding a 100 µs timeout up to 1 ms loses ten times more than the timer
//!   slack (50 µs by default). A wait that arms the timerfd owns it until its `epoll_wait`
//!   returns (it holds the timer's lock across the call), so no other wait can re-arm or
//!   disarm it underneath; when two threads wait at once, the one that finds the timer
//!   owned rounds up to whole milliseconds instead (late, never early). `epoll_wait` gets
//!   the rounded-up timeout as a backstop in any case.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};
use std::time::Duration;

use super::Notified;
use super::MAX_SLEEP;
use super::unix::{ceil_ms, cvt, drain, timespec, wait_loop};
use crate::{Deadline, Event, Interest, Mode};

/// The `epoll_event.u64` of the poller's own descriptors (eventfd, timerfd). User keys are
/// `usize` values other than `usize::MAX`, so on every target they differ from this.
const INTERNAL: u64 = u64::MAX;

/// Whether the kernel has `epoll_pwait2`: probed by the first `Poller::new`.
static PWAIT2: AtomicU8 = AtomicU8::new(PWAIT2_UNKNOWN);
const PWAIT2_UNKNOWN: u8 = 0;
const PWAIT2_YES: u8 = 1;
const PWAIT2_NO: u8 = 2;

/// The epoll poller.
pub(crate) struct Poller {
    /// Read by `os::epoll` (a ring watches it).
    pub(crate) epoll: OwnedFd,
    /// The eventfd that `notify` writes.
    event: OwnedFd,
    notified: Notified,
    /// Only when the kernel lacks `epoll_pwait2`.
    timer: Option<Timer>,
}

/// The kernel's `struct __kernel_timespec`, which `epoll_pwait2` reads: 64-bit seconds and
/// nanoseconds on every target. `libc::timespec` is 8 bytes on 32-bit targets whose C
/// library has a 32-bit `time_t` (i686, armv7 glibc): given one, the kernel read its
/// nanoseconds as the high half of the seconds and 8 bytes past it as the nanoseconds.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct KernelTimespec {
    tv_sec: i64,
    tv_nsec: i64,
}

impl KernelTimespec {
    /// `d`, clamped to [`MAX_SLEEP`], exact to the nanosecond.
    fn new(d: Duration) -> KernelTimespec {
        let d = d.min(MAX_SLEEP);
        KernelTimespec {
            // At most 86 400: fits.
            tv_sec: d.as_secs() as i64,
            tv_nsec: i64::from(d.subsec_nanos()),
        }
    }
}

/// One `epoll_pwait2` call: at most `cap` events into `ptr`, waiting at most `timeout`
/// (`None`: no limit), with the signal mask unchanged.
///
/// # Safety
///
/// `ptr` must be valid for writes of `cap` events.
unsafe fn epoll_pwait2(
    epfd: libc::c_int,
    ptr: *mut libc::epoll_event,
    cap: libc::c_int,
    timeout: Option<Duration>,
) -> io::Result<usize> {
    let ts = timeout.map(KernelTimespec::new);
    let tsp = ts
        .as_ref()
        .map_or(std::ptr::null(), |ts| ts as *const KernelTimespec);
    // SAFETY: the caller vouches for `ptr` and `cap`; `tsp` is null or points to a live
    // `__kernel_timespec` (the layout the kernel reads on every target); a null signal mask
    // leaves the mask unchanged (its size is then ignored).
    let r = unsafe {
        libc::syscall(
            libc::SYS_epoll_pwait2,
            epfd,
            ptr,
            cap,
            tsp,
            std::ptr::null::<libc::sigset_t>(),
            0usize,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}

/// The sub-millisecond timer of the fallback path.
struct Timer {
    fd: OwnedFd,
    /// Held by the wait that armed the timer, from arming until its `epoll_wait` returns
    /// (other waits only `try_lock` it, so none ever blocks on it); `true` while the timer
    /// may still fire.
    armed: Mutex<bool>,
}

/// The raw event array of one wait.
pub(crate) struct EventBuf {
    list: Vec<libc::epoll_event>,
}

impl EventBuf {
    pub(crate) fn with_capacity(cap: usize) -> EventBuf {
        EventBuf {
            list: Vec::with_capacity(cap),
        }
    }
}

impl fmt::Debug for EventBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventBuf")
            .field("capacity", &self.list.capacity())
            .finish()
    }
}

impl Poller {
    pub(crate) const NAME: &'static str = "epoll";
    pub(crate) const SUPPORTS_EDGE: bool = true;

    pub(crate) fn new() -> io::Result<Poller> {
        Poller::build(None)
    }

    /// `use_pwait2`: `None` to probe the kernel, `Some(false)` to force the fallback (tests).
    fn build(use_pwait2: Option<bool>) -> io::Result<Poller> {
        // SAFETY: a plain system call with a flag argument.
        let epoll = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: `epoll` is a new descriptor that nothing else owns.
        let epoll = unsafe { OwnedFd::from_raw_fd(epoll) };
        let use_pwait2 = match use_pwait2 {
            Some(forced) => forced,
            None => probe_pwait2(epoll.as_fd()),
        };

        // SAFETY: a plain system call with integer arguments.
        let event = cvt(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
        // SAFETY: `event` is a new descriptor that nothing else owns.
        let event = unsafe { OwnedFd::from_raw_fd(event) };
        ctl(
            epoll.as_fd(),
            libc::EPOLL_CTL_ADD,
            event.as_fd(),
            EPOLLIN | EPOLLET,
            INTERNAL,
        )?;

        let timer = if use_pwait2 {
            None
        } else {
            let flags = libc::TFD_CLOEXEC | libc::TFD_NONBLOCK;
            // SAFETY: a plain system call with integer arguments.
            let fd = cvt(unsafe { libc::timerfd_create(libc::CLOCK_MONOTONIC, flags) })?;
            // SAFETY: `fd` is a new descriptor that nothing else owns.
            let fd = unsafe { OwnedFd::from_raw_fd(fd) };
            // Edge-triggered: each expiry is a new edge, and re-arming resets the count, so
            // the timerfd is never read.
            ctl(
                epoll.as_fd(),
                libc::EPOLL_CTL_ADD,
                fd.as_fd(),
                EPOLLIN | EPOLLET,
                INTERNAL,
            )?;
            Some(Timer {
                fd,
                armed: Mutex::new(false),
            })
        };

        Ok(Poller {
            epoll,
            event,
            notified: Notified::default(),
            timer,
        })
    }

    /// Drops a poller inherited through `fork` (its descriptors are this process's copies
    /// of the parent's): closing them leaves the parent's epoll instance, eventfd and
    /// registrations as they are, and no `epoll_ctl` is made.
    pub(crate) fn drop_inherited(self) {
        drop(self);
    }

    pub(crate) fn add(
        &self,
        fd: BorrowedFd<'_>,
        key: usize,
        interest: Interest,
        mode: Mode,
    ) -> io::Result<()> {
        ctl(
            self.epoll.as_fd(),
            libc::EPOLL_CTL_ADD,
            fd,
            flags(interest, mode),
            key as u64,
        )
        .map_err(|e| match e.raw_os_error() {
            Some(libc::EEXIST) => crate::already_registered(),
            _ => e,
        })
    }

    pub(crate) fn modify(
        &self,
        fd: BorrowedFd<'_>,
        key: usize,
        interest: Interest,
        mode: Mode,
    ) -> io::Result<()> {
        ctl(
            self.epoll.as_fd(),
            libc::EPOLL_CTL_MOD,
            fd,
            flags(interest, mode),
            key as u64,
        )
        .map_err(not_found)
    }

    pub(crate) fn delete(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        ctl(self.epoll.as_fd(), libc::EPOLL_CTL_DEL, fd, 0, 0).map_err(not_found)
    }

    pub(crate) fn wait(
        &self,
        buf: &mut EventBuf,
        out: &mut Vec<Event>,
        cap: usize,
        deadline: Deadline,
    ) -> io::Result<()> {
        wait_loop(
            buf,
            out,
            deadline,
            |buf, timeout| self.wait_once(buf, cap, timeout),
            |buf, out| {
                let mut woken = false;
                for ev in &buf.list {
                    // Copies: `epoll_event` is packed on x86-64.
                    let (bits, data) = (ev.events, ev.u64);
                    if data == INTERNAL {
                        woken |= self.notified.consume();
                    } else {
                        out.push(translate(data as usize, bits));
                    }
                }
                Ok(woken)
            },
        )
    }

    /// One `epoll_pwait2` / `epoll_wait` call into `buf`.
    fn wait_once(
        &self,
        buf: &mut EventBuf,
        cap: usize,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        buf.list.clear();
        let cap = cap.min(buf.list.capacity()).min(libc::c_int::MAX as usize) as libc::c_int;
        let epfd = self.epoll.as_raw_fd();
        let ptr = buf.list.as_mut_ptr();
        let n = match &self.timer {
            // SAFETY: `ptr` is valid for writes of `cap` events (`cap` is at most the
            // vector's capacity).
            None => unsafe { epoll_pwait2(epfd, ptr, cap, timeout)? },
            Some(timer) => {
                // `_owned` keeps the timer this wait armed from being re-armed by another
                // thread's wait until this one returns.
                let (ms, _owned) = self.fallback_timeout(timer, timeout)?;
                // SAFETY: `ptr` is valid for writes of `cap` events.
                cvt(unsafe { libc::epoll_wait(epfd, ptr, cap, ms) })? as usize
            }
        };
        // SAFETY: the kernel initialised the first `n` entries, and `n <= cap <= capacity`.
        unsafe { buf.list.set_len(n) };
        Ok(())
    }

    /// The fallback's `epoll_wait` timeout, arming the timerfd for sub-millisecond
    /// precision where needed. When it armed the timer it also returns the lock's guard,
    /// which the caller holds until `epoll_wait` returns.
    fn fallback_timeout<'a>(
        &self,
        timer: &'a Timer,
        timeout: Option<Duration>,
    ) -> io::Result<(libc::c_int, Option<MutexGuard<'a, bool>>)> {
        match timeout {
            None => {
                // A timer left armed by an earlier wait would only cause a spurious wake-up
                // (which loops), but disarming is cheap and only done once.
                if let Some(mut armed) = try_lock(&timer.armed) {
                    if *armed {
                        timer.set(None)?;
                        *armed = false;
                    }
                }
                // The lock is not kept: a wait without a timeout does not need the timer,
                // and keeping it would leave a concurrent sub-millisecond wait without one.
                Ok((-1, None))
            }
            // Whole milliseconds (or zero): epoll_wait itself is exact.
            Some(d) if d.subsec_nanos() % 1_000_000 == 0 => Ok((ceil_ms(Some(d)), None)),
            Some(d) => {
                if let Some(mut armed) = try_lock(&timer.armed) {
                    timer.set(Some(d))?;
                    *armed = true;
                    // The timer fires first; the rounded-up timeout is the backstop.
                    return Ok((ceil_ms(Some(d)), Some(armed)));
                }
                // Another wait owns the timer: the rounded-up timeout is the whole timeout.
                Ok((ceil_ms(Some(d)), None))
            }
        }
    }

    pub(crate) fn notify(&self) -> io::Result<()> {
        self.notified.notify(|| {
            let one = 1u64.to_ne_bytes();
            loop {
                // SAFETY: `one` is valid for reads of 8 bytes, the size an eventfd write
                // takes.
                let n =
                    unsafe { libc::write(self.event.as_raw_fd(), one.as_ptr().cast(), one.len()) };
                if n >= 0 {
                    return Ok(());
                }
                let err = io::Error::last_os_error();
                match err.kind() {
                    io::ErrorKind::Interrupted => {}
                    // The counter is full (after ~2^64 notifications): reset it, write again.
                    io::ErrorKind::WouldBlock => drain(self.event.as_fd())?,
                    _ => return Err(err),
                }
            }
        })
    }
}

impl fmt::Debug for Poller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Poller")
            .field("epoll", &self.epoll.as_raw_fd())
            .field("eventfd", &self.event.as_raw_fd())
            .field("epoll_pwait2", &self.timer.is_none())
            .finish()
    }
}

impl Timer {
    /// Arms the timer `d` from now, or disarms it.
    fn set(&self, d: Option<Duration>) -> io::Result<()> {
        let zero = timespec(Duration::ZERO);
        let spec = libc::itimerspec {
            it_interval: zero,
            it_value: d.map_or(zero, timespec),
        };
        // SAFETY: `spec` is a live itimerspec; a null old-value pointer is allowed.
        cvt(unsafe { libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) })?;
        Ok(())
    }
}

const EPOLLIN: u32 = libc::EPOLLIN as u32;
const EPOLLPRI: u32 = libc::EPOLLPRI as u32;
const EPOLLOUT: u32 = libc::EPOLLOUT as u32;
const EPOLLERR: u32 = libc::EPOLLERR as u32;
const EPOLLHUP: u32 = libc::EPOLLHUP as u32;
const EPOLLRDHUP: u32 = libc::EPOLLRDHUP as u32;
const EPOLLET: u32 = libc::EPOLLET as u32;
const EPOLLONESHOT: u32 = libc::EPOLLONESHOT as u32;

/// The `epoll_event.events` for a registration.
fn flags(interest: Interest, mode: Mode) -> u32 {
    let mut f = 0;
    if interest.is_readable() {
        f |= EPOLLIN | EPOLLRDHUP;
    }
    if interest.is_writable() {
        f |= EPOLLOUT;
    }
    f |= match mode {
        Mode::Oneshot => EPOLLONESHOT,
        Mode::Level => 0,
        Mode::Edge => EPOLLET,
    };
    if interest == Interest::NONE {
        // Only EPOLLHUP/EPOLLERR can fire; at most once, never on every level-triggered wait.
        f |= EPOLLONESHOT;
    }
    f
}

/// The event for the `events` bits the kernel reported for `key`.
fn translate(key: usize, bits: u32) -> Event {
    Event {
        key,
        readable: bits & (EPOLLIN | EPOLLPRI | EPOLLRDHUP | EPOLLHUP | EPOLLERR) != 0,
        writable: bits & (EPOLLOUT | EPOLLHUP | EPOLLERR) != 0,
        hangup: bits & (EPOLLHUP | EPOLLRDHUP) != 0,
        error: bits & EPOLLERR != 0,
    }
}

fn ctl(
    epoll: BorrowedFd<'_>,
    op: libc::c_int,
    fd: BorrowedFd<'_>,
    events: u32,
    data: u64,
) -> io::Result<()> {
    let mut ev = libc::epoll_event { events, u64: data };
    // SAFETY: both descriptors are open for the call, and `ev` is a live epoll_event (the
    // kernel ignores it for EPOLL_CTL_DEL).
    cvt(unsafe { libc::epoll_ctl(epoll.as_raw_fd(), op, fd.as_raw_fd(), &mut ev) })?;
    Ok(())
}

fn not_found(e: io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(libc::ENOENT) => crate::not_registered(),
        _ => e,
    }
}

/// Whether the kernel has `epoll_pwait2`, asked once per process with a zero-timeout call
/// on `epoll` (a new, empty set, so the call consumes nothing). Only success counts: such a
/// call has no reason to fail where the system call works, so any error (not only
/// `ENOSYS`) selects the fallback rather than a call that would fail on every wait.
fn probe_pwait2(epoll: BorrowedFd<'_>) -> bool {
    match PWAIT2.load(Ordering::Relaxed) {
        PWAIT2_YES => return true,
        PWAIT2_NO => return false,
        _ => {}
    }
    // SAFETY: `epoll_event` is plain integers; all-zero is a valid value.
    let mut ev: [libc::epoll_event; 1] = unsafe { std::mem::zeroed() };
    let available = loop {
        // SAFETY: `ev` is valid for writes of one event.
        match unsafe { epoll_pwait2(epoll.as_raw_fd(), ev.as_mut_ptr(), 1, Some(Duration::ZERO)) }
        {
            Ok(_) => break true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break false,
        }
    };
    PWAIT2.store(
        if available { PWAIT2_YES } else { PWAIT2_NO },
        Ordering::Relaxed,
    );
    available
}

/// Locks `m` unless another thread holds it (a poisoned lock is still usable: it guards
/// only a bool).
fn try_lock<T>(m: &Mutex<T>) -> Option<MutexGuard<'_, T>> {
    match m.try_lock() {
        Ok(g) => Some(g),
        Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::net::UnixStream;
    use std::sync::Arc;
    use std::time::Instant;

    #[test]
    fn flags_per_mode() {
        assert_eq!(flags(Interest::READABLE, Mode::Level), EPOLLIN | EPOLLRDHUP);
        assert_eq!(flags(Interest::WRITABLE, Mode::Edge), EPOLLOUT | EPOLLET);
        assert_eq!(
            flags(Interest::BOTH, Mode::Oneshot),
            EPOLLIN | EPOLLRDHUP | EPOLLOUT | EPOLLONESHOT
        );
        // NONE never repeats a hang-up.
        assert_eq!(flags(Interest::NONE, Mode::Level), EPOLLONESHOT);
        assert_eq!(flags(Interest::NONE, Mode::Edge), EPOLLET | EPOLLONESHOT);
    }

    #[test]
    fn translate_bits() {
        let e = translate(7, EPOLLIN);
        assert_eq!(
            e,
            Event {
                key: 7,
                readable: true,
                writable: false,
                hangup: false,
                error: false
            }
        );
        let e = translate(7, EPOLLOUT);
        assert!(!e.readable && e.writable && !e.hangup && !e.error);
        // A peer's FIN: readable and a hang-up hint, not writable.
        let e = translate(7, EPOLLIN | EPOLLRDHUP);
        assert!(e.readable && !e.writable && e.hangup);
        // A pipe whose writer closed: EPOLLHUP alone must still wake the reader.
        let e = translate(7, EPOLLHUP);
        assert!(e.readable && e.hangup);
        // An error wakes both directions.
        let e = translate(7, EPOLLERR);
        assert!(e.readable && e.writable && e.error && !e.hangup);
    }

    fn fallback() -> Poller {
        let p = Poller::build(Some(false)).unwrap();
        assert!(p.timer.is_some());
        p
    }

    /// Waits the fallback poller for `timeout`; returns (events, elapsed).
    fn timed_wait(p: &Poller, timeout: Duration) -> (usize, Duration) {
        let mut buf = EventBuf::with_capacity(8);
        let mut out = Vec::with_capacity(8);
        let start = Instant::now();
        p.wait(&mut buf, &mut out, 8, Deadline::after(Some(timeout)))
            .unwrap();
        (out.len(), start.elapsed())
    }

    #[test]
    fn fallback_sub_ms_timeouts_are_never_early() {
        let p = fallback();
        for us in [1u64, 50, 100, 300, 999, 1500, 2100] {
            let t = Duration::from_micros(us);
            let (n, elapsed) = timed_wait(&p, t);
            assert_eq!(n, 0);
            assert!(elapsed >= t, "{us} µs timeout returned after {elapsed:?}");
        }
        // Whole milliseconds take the plain epoll_wait path.
        let (n, elapsed) = timed_wait(&p, Duration::from_millis(3));
        assert_eq!(n, 0);
        assert!(elapsed >= Duration::from_millis(3));
    }

    #[test]
    fn fallback_sub_ms_is_not_a_busy_zero() {
        // 200 waits of 300 µs take at least 60 ms in total: none returned at once.
        let p = fallback();
        let t = Duration::from_micros(300);
        let start = Instant::now();
        for _ in 0..200 {
            assert_eq!(timed_wait(&p, t).0, 0);
        }
        assert!(start.elapsed() >= t * 200);
    }

    #[test]
    fn fallback_stale_timer_does_not_end_a_wait_early() {
        let p = Arc::new(fallback());
        let (mut a, mut b) = UnixStream::pair().unwrap();
        p.add(a.as_fd(), 1, Interest::READABLE, Mode::Oneshot)
            .unwrap();
        b.write_all(b"x").unwrap();
        // The timer is armed for 900 µs, but the readable event ends this wait at once.
        assert_eq!(timed_wait(&p, Duration::from_micros(900)).0, 1);
        // The timer left armed must not end this longer wait (it loops instead).
        let (n, elapsed) = timed_wait(&p, Duration::from_millis(30));
        assert_eq!(n, 0);
        assert!(elapsed >= Duration::from_millis(30));
        // Re-arm (the byte is still unread) so that the wait returns at once and leaves the
        // timer armed; then a wait without a timeout must end only by the notify.
        p.modify(a.as_fd(), 1, Interest::READABLE, Mode::Oneshot)
            .unwrap();
        assert_eq!(timed_wait(&p, Duration::from_micros(900)).0, 1);
        assert!(*p.timer.as_ref().unwrap().armed.lock().unwrap());
        let p2 = Arc::clone(&p);
        let start = Instant::now();
        let waiter = std::thread::spawn(move || {
            let mut buf = EventBuf::with_capacity(8);
            let mut out = Vec::with_capacity(8);
            p2.wait(&mut buf, &mut out, 8, Deadline::after(None))
                .unwrap();
            (out.len(), Instant::now())
        });
        std::thread::sleep(Duration::from_millis(50));
        p.notify().unwrap();
        let (n, woke) = waiter.join().unwrap();
        assert_eq!(n, 0);
        // It returned for the notify, which came after the sleep, not for the stale timer.
        assert!(woke - start >= Duration::from_millis(50));
        let _ = (&mut a, &mut b);
    }

    #[test]
    fn fallback_timer_is_owned_for_the_whole_wait() {
        // A wait that armed the timer holds it until its epoll_wait returns: another
        // thread's sub-millisecond wait meanwhile can neither re-arm nor disarm it (it
        // rounds up to whole milliseconds), and is still never early.
        let p = Arc::new(fallback());
        let p2 = Arc::clone(&p);
        let start = Instant::now();
        let owner = std::thread::spawn(move || {
            let mut buf = EventBuf::with_capacity(8);
            let mut out = Vec::with_capacity(8);
            // 10 s and 500 µs: not whole milliseconds, so this wait arms the timer.
            let t = Duration::from_secs(10) + Duration::from_micros(500);
            p2.wait(&mut buf, &mut out, 8, Deadline::after(Some(t)))
                .unwrap();
            out.len()
        });
        // Until the owner is inside its wait, the lock may be free; then it stays taken.
        let timer = p.timer.as_ref().unwrap();
        let mut owned = false;
        while start.elapsed() < Duration::from_secs(5) {
            if matches!(timer.armed.try_lock(), Err(TryLockError::WouldBlock)) {
                owned = true;
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        assert!(owned, "the waiting thread does not hold the timer's lock");
        std::thread::sleep(Duration::from_millis(20));
        assert!(
            matches!(timer.armed.try_lock(), Err(TryLockError::WouldBlock)),
            "the timer's lock was released while its wait still runs"
        );
        let t = Duration::from_micros(300);
        let (n, elapsed) = timed_wait(&p, t);
        assert_eq!(n, 0);
        assert!(elapsed >= t, "{t:?} wait returned after {elapsed:?}");
        p.notify().unwrap();
        assert_eq!(owner.join().unwrap(), 0);
        assert!(start.elapsed() < Duration::from_secs(10));
        // The owner returned: the lock is free again.
        assert!(timer.armed.try_lock().is_ok());
    }

    #[test]
    fn fallback_notify_and_events() {
        let p = fallback();
        p.notify().unwrap();
        p.notify().unwrap();
        let (n, _) = timed_wait(&p, Duration::from_secs(10));
        assert_eq!(n, 0);
        // Consumed: the next wait runs its full timeout.
        let (n, elapsed) = timed_wait(&p, Duration::from_micros(1500));
        assert_eq!(n, 0);
        assert!(elapsed >= Duration::from_micros(1500));
    }

    #[test]
    fn kernel_timespec_is_the_kernels_layout() {
        // `struct __kernel_timespec { __kernel_time64_t tv_sec; long long tv_nsec; }`
        assert_eq!(std::mem::size_of::<KernelTimespec>(), 16);
        assert_eq!(
            KernelTimespec::new(Duration::new(2, 345)),
            KernelTimespec {
                tv_sec: 2,
                tv_nsec: 345
            }
        );
        assert_eq!(KernelTimespec::new(Duration::MAX).tv_sec, 86_400);
    }

    #[test]
    fn pwait2_waits_its_timeout() {
        // On i686 the kernel read a `libc::timespec` (8 bytes) as 16: a 1.5 ms timeout
        // became ~74 days of seconds (or EINVAL), and the probe took EINVAL for "available".
        let p = Poller::new().unwrap();
        if p.timer.is_some() {
            return; // the kernel lacks epoll_pwait2: the fallback's tests cover this host
        }
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = EventBuf::with_capacity(8);
            let mut out = Vec::with_capacity(8);
            let t = Duration::from_micros(1500);
            let start = Instant::now();
            let r = p.wait(&mut buf, &mut out, 8, Deadline::after(Some(t)));
            let _ = tx.send((r.map(|()| out.len()), start.elapsed()));
        });
        let (r, elapsed) = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("a 1.5 ms epoll_pwait2 wait did not return within 10 s");
        assert_eq!(r.unwrap(), 0);
        assert!(elapsed >= Duration::from_micros(1500), "{elapsed:?}");
    }

    #[test]
    fn probe_is_remembered() {
        let p = Poller::new().unwrap();
        let state = PWAIT2.load(Ordering::Relaxed);
        assert_ne!(state, PWAIT2_UNKNOWN);
        assert_eq!(p.timer.is_none(), state == PWAIT2_YES);
    }
}
