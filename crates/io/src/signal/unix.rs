//! Unix signals: a minimal handler plus one socket pair per listener.
//!
//! The handler only touches atomics and calls `send(2)`, both async-signal-safe. Listener
//! bookkeeping (installing and restoring dispositions) takes a `Mutex`, never in the
//! handler.

use std::io::{self, Read};
use std::mem;
use std::os::fd::{IntoRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};

use super::Signal;
use crate::async_io::Async;
use crate::reactor::Direction;

/// At most this many listeners exist at once in a process.
const SLOTS: usize = 64;

/// Write ends of the listeners' socket pairs (`-1`: free), read by the handler.
static WAKE_FDS: [AtomicI32; SLOTS] = [const { AtomicI32::new(-1) }; SLOTS];
/// Which signals each slot listens for (bit per `Signal::index`).
static WAKE_MASKS: [AtomicU64; SLOTS] = [const { AtomicU64::new(0) }; SLOTS];
/// Deliveries per signal since the process started listening.
static DELIVERIES: [AtomicU64; 6] = [const { AtomicU64::new(0) }; 6];
/// Handlers running right now; a listener waits for zero before closing its socket.
static IN_HANDLER: AtomicUsize = AtomicUsize::new(0);

/// Per-signal listener counts and the dispositions to restore, changed under a lock.
static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    listeners: [0; 6],
    previous: [None; 6],
});

struct Registry {
    listeners: [usize; 6],
    previous: [Option<libc::sigaction>; 6],
}

fn signo(s: Signal) -> libc::c_int {
    match s {
        Signal::Interrupt => libc::SIGINT,
        Signal::Terminate => libc::SIGTERM,
        Signal::Hangup => libc::SIGHUP,
        Signal::Quit => libc::SIGQUIT,
        Signal::User1 => libc::SIGUSR1,
        Signal::User2 => libc::SIGUSR2,
    }
}

fn from_signo(n: libc::c_int) -> Option<Signal> {
    Signal::ALL.into_iter().find(|s| signo(*s) == n)
}

pub(super) fn check_supported(_: Signal) -> io::Result<()> {
    Ok(())
}

pub(super) fn deliveries(s: Signal) -> u64 {
    DELIVERIES[s.index()].load(Ordering::Acquire)
}

extern "C" fn handler(n: libc::c_int) {
    IN_HANDLER.fetch_add(1, Ordering::SeqCst);
    // Keep errno intact for the code we interrupted.
    let saved = io::Error::last_os_error().raw_os_error();
    if let Some(s) = from_signo(n) {
        DELIVERIES[s.index()].fetch_add(1, Ordering::AcqRel);
        for (fd, mask) in WAKE_FDS.iter().zip(&WAKE_MASKS) {
            let fd = fd.load(Ordering::Acquire);
            if fd >= 0 && mask.load(Ordering::Acquire) & (1 << s.index()) != 0 {
                let byte = 1u8;
                // SAFETY: `send` is async-signal-safe; `fd` stays open until
                // `IN_HANDLER` drops to zero (see `Listener::drop`); a full socket just
                // fails with EAGAIN, which is fine: a wake-up is already pending.
                unsafe {
                    libc::send(
                        fd,
                        (&byte as *const u8).cast(),
                        1,
                        libc::MSG_DONTWAIT | NOSIGNAL,
                    )
                };
            }
        }
    }
    if let Some(e) = saved {
        set_errno(e);
    }
    IN_HANDLER.fetch_sub(1, Ordering::SeqCst);
}

#[cfg(not(target_vendor = "apple"))]
const NOSIGNAL: libc::c_int = libc::MSG_NOSIGNAL;
#[cfg(target_vendor = "apple")]
const NOSIGNAL: libc::c_int = 0;

fn set_errno(e: libc::c_int) {
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "illumos",
        target_os = "dragonfly"
    ))]
    // SAFETY: writing this thread's errno through the pointer libc hands out.
    unsafe {
        *libc::__errno_location() = e
    };
    #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
    // SAFETY: as above.
    unsafe {
        *libc::__error() = e
    };
    #[cfg(any(target_os = "netbsd", target_os = "openbsd"))]
    // SAFETY: as above.
    unsafe {
        *libc::__errno() = e
    };
}

/// Installs `handler` for every signal in `mask` that has no listener yet.
fn install(mask: u64) -> io::Result<()> {
    let mut reg = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    for s in Signal::ALL {
        if mask & (1 << s.index()) == 0 {
            continue;
        }
        if reg.listeners[s.index()] == 0 {
            // SAFETY: all-zero is a valid `sigaction` (empty mask, no flags).
            let mut new: libc::sigaction = unsafe { mem::zeroed() };
            new.sa_sigaction = handler as extern "C" fn(libc::c_int) as libc::sighandler_t;
            new.sa_flags = libc::SA_RESTART;
            // SAFETY: as above.
            let mut old: libc::sigaction = unsafe { mem::zeroed() };
            // SAFETY: valid pointers to live structs; the handler is async-signal-safe.
            if unsafe { libc::sigaction(signo(s), &new, &mut old) } != 0 {
                let err = io::Error::last_os_error();
                drop(reg);
                uninstall(mask & ((1 << s.index()) - 1));
                return Err(err);
            }
            reg.previous[s.index()] = Some(old);
        }
        reg.listeners[s.index()] += 1;
    }
    Ok(())
}

/// Drops one listener of every signal in `mask`; restores the previous disposition of
/// signals nobody listens to any more.
fn uninstall(mask: u64) {
    let mut reg = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    for s in Signal::ALL {
        if mask & (1 << s.index()) == 0 || reg.listeners[s.index()] == 0 {
            continue;
        }
        reg.listeners[s.index()] -= 1;
        if reg.listeners[s.index()] == 0 {
            if let Some(old) = reg.previous[s.index()].take() {
                // SAFETY: restores a disposition the OS gave us earlier.
                unsafe { libc::sigaction(signo(s), &old, std::ptr::null_mut()) };
            }
        }
    }
}

/// One listener: the read end of a socket pair on the reactor, and a slot holding the
/// write end for the handler.
pub(super) struct Listener {
    read: Async<UnixStream>,
    slot: usize,
    mask: u64,
}

impl Listener {
    pub(super) fn new(mask: u8) -> io::Result<Listener> {
        let mask = u64::from(mask);
        let (read, write) = UnixStream::pair()?;
        write.set_nonblocking(true)?;
        let read = Async::new(read)?;
        let write_fd: RawFd = write.into_raw_fd();
        let slot = WAKE_FDS.iter().position(|s| {
            s.compare_exchange(-1, write_fd, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        });
        let Some(slot) = slot else {
            close(write_fd);
            return Err(io::Error::other(format!(
                "too many signal listeners (at most {SLOTS} at once)"
            )));
        };
        WAKE_MASKS[slot].store(mask, Ordering::Release);
        if let Err(e) = install(mask) {
            release(slot);
            return Err(e);
        }
        Ok(Listener { read, slot, mask })
    }

    /// Ready when a wake-up byte was consumed (check the counters again); pending with
    /// the waker registered once the socket is empty.
    pub(super) fn poll_wakeup(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut buf = [0u8; 64];
        match self
            .read
            .poll_op(Direction::Read, cx, |mut s| s.read(&mut buf))
        {
            Poll::Ready(Ok(0)) => Poll::Ready(Err(io::Error::other("signal socket closed"))),
            Poll::Ready(Ok(_)) => Poll::Ready(Ok(())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        uninstall(self.mask);
        release(self.slot);
    }
}

/// Frees a slot: hides its descriptor from the handler, waits until no handler can still
/// be using it, then closes it.
fn release(slot: usize) {
    WAKE_MASKS[slot].store(0, Ordering::Release);
    let fd = WAKE_FDS[slot].swap(-1, Ordering::AcqRel);
    // A handler that loaded `fd` before the swap is still running; it is short.
    while IN_HANDLER.load(Ordering::SeqCst) != 0 {
        std::thread::yield_now();
    }
    if fd >= 0 {
        close(fd);
    }
}

fn close(fd: RawFd) {
    // SAFETY: `fd` came from `into_raw_fd` and is owned by this module alone.
    drop(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) });
}
