//! Unix signals: a minimal handler plus one socket pair per listener.
//!
//! The handler only touches atomics and calls `send(2)`, both async-signal-safe. Listener
//! bookkeeping (installing and restoring dispositions) takes a `Mutex`, never in the
//! handler.
//!
//! Beside the public [`Signal`]s there is one private slot, `SIGCHLD` ([`ChildSignal`]):
//! the reaping of child processes where the OS offers neither a pidfd nor kqueue. It
//! differs in one way: the handler the application had for `SIGCHLD` (if it had one) is
//! still called, after ours, so listening does not steal the signal.

use std::ffi::c_void;
use std::io::{self, Read};
use std::mem;
use std::os::fd::{IntoRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};

use super::Signal;
use crate::async_io::Async;
use crate::reactor::Direction;

/// At most this many listeners exist at once in a process.
const SLOTS: usize = 64;

/// The signals by index: the public [`Signal`]s (`Signal::index`), then `SIGCHLD`.
const SIGNOS: [libc::c_int; 7] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGCHLD,
];
/// The index of `SIGCHLD` (not a public [`Signal`]).
const CHILD: usize = 6;
const _: () = assert!(CHILD == Signal::ALL.len() && SIGNOS.len() == CHILD + 1);

/// The application's `SIGCHLD` handler while ours is installed (0: none to call), and
/// whether it takes `siginfo` (`SA_SIGINFO`): the handler calls it after its own work.
static CHILD_CHAIN: AtomicUsize = AtomicUsize::new(0);
static CHILD_CHAIN_SIGINFO: AtomicBool = AtomicBool::new(false);

/// Write ends of the listeners' socket pairs (`-1`: free), read by the handler.
static WAKE_FDS: [AtomicI32; SLOTS] = [const { AtomicI32::new(-1) }; SLOTS];
/// Which signals each slot listens for (bit per `Signal::index`).
static WAKE_MASKS: [AtomicU64; SLOTS] = [const { AtomicU64::new(0) }; SLOTS];
/// Deliveries per signal since the process started listening.
static DELIVERIES: [AtomicU64; 7] = [const { AtomicU64::new(0) }; 7];
/// Handlers running right now; a listener waits for zero before closing its socket.
static IN_HANDLER: AtomicUsize = AtomicUsize::new(0);

/// Per-signal listener counts and the dispositions to restore, changed under a lock.
static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    listeners: [0; 7],
    previous: [None; 7],
});

struct Registry {
    listeners: [usize; 7],
    previous: [Option<libc::sigaction>; 7],
}

/// The index (in `SIGNOS`) of signal number `n`.
fn index_of(n: libc::c_int) -> Option<usize> {
    SIGNOS.iter().position(|s| *s == n)
}

pub(super) fn check_supported(_: Signal) -> io::Result<()> {
    Ok(())
}

pub(super) fn deliveries(s: Signal) -> u64 {
    DELIVERIES[s.index()].load(Ordering::Acquire)
}

extern "C" fn handler(n: libc::c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
    IN_HANDLER.fetch_add(1, Ordering::SeqCst);
    // Keep errno intact for the code we interrupted.
    let saved = io::Error::last_os_error().raw_os_error();
    if let Some(index) = index_of(n) {
        DELIVERIES[index].fetch_add(1, Ordering::AcqRel);
        for (fd, mask) in WAKE_FDS.iter().zip(&WAKE_MASKS) {
            let fd = fd.load(Ordering::Acquire);
            if fd >= 0 && mask.load(Ordering::Acquire) & (1 << index) != 0 {
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
    if index_of(n) == Some(CHILD) {
        chain_child(n, info, context);
    }
    if let Some(e) = saved {
        set_errno(e);
    }
    IN_HANDLER.fetch_sub(1, Ordering::SeqCst);
}

/// Calls the application's own `SIGCHLD` handler, if it had one when ours was installed.
fn chain_child(n: libc::c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
    let previous = CHILD_CHAIN.load(Ordering::Acquire);
    if previous == 0 {
        return;
    }
    if CHILD_CHAIN_SIGINFO.load(Ordering::Acquire) {
        // SAFETY: `previous` is the `sa_sigaction` of the disposition the kernel gave us,
        // installed with `SA_SIGINFO`, so it is a function of this signature; we pass it
        // the arguments the kernel passed us.
        let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut c_void) =
            unsafe { mem::transmute::<usize, _>(previous) };
        f(n, info, context);
    } else {
        // SAFETY: as above, for a handler installed without `SA_SIGINFO`.
        let f: extern "C" fn(libc::c_int) = unsafe { mem::transmute::<usize, _>(previous) };
        f(n);
    }
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
    for (i, &signo) in SIGNOS.iter().enumerate() {
        if mask & (1 << i) == 0 {
            continue;
        }
        if reg.listeners[i] == 0 {
            // SAFETY: all-zero is a valid `sigaction` (empty mask, no flags).
            let mut new: libc::sigaction = unsafe { mem::zeroed() };
            new.sa_sigaction = handler
                as extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut c_void)
                as libc::sighandler_t;
            new.sa_flags = libc::SA_RESTART | libc::SA_SIGINFO;
            // SAFETY: as above.
            let mut old: libc::sigaction = unsafe { mem::zeroed() };
            if i == CHILD {
                // The handler to chain to, before ours can run: read the current one.
                // SAFETY: a null new action only reads the disposition into `old`.
                if unsafe { libc::sigaction(signo, std::ptr::null(), &mut old) } == 0 {
                    let f = old.sa_sigaction;
                    let callable = f != libc::SIG_DFL && f != libc::SIG_IGN;
                    CHILD_CHAIN_SIGINFO
                        .store(old.sa_flags & libc::SA_SIGINFO != 0, Ordering::Release);
                    CHILD_CHAIN.store(if callable { f } else { 0 }, Ordering::Release);
                }
            }
            // SAFETY: valid pointers to live structs; the handler is async-signal-safe.
            if unsafe { libc::sigaction(signo, &new, &mut old) } != 0 {
                let err = io::Error::last_os_error();
                if i == CHILD {
                    CHILD_CHAIN.store(0, Ordering::Release);
                }
                drop(reg);
                uninstall(mask & ((1 << i) - 1));
                return Err(err);
            }
            reg.previous[i] = Some(old);
        }
        reg.listeners[i] += 1;
    }
    Ok(())
}

/// Drops one listener of every signal in `mask`; restores the previous disposition of
/// signals nobody listens to any more.
fn uninstall(mask: u64) {
    let mut reg = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    for (i, &signo) in SIGNOS.iter().enumerate() {
        if mask & (1 << i) == 0 || reg.listeners[i] == 0 {
            continue;
        }
        reg.listeners[i] -= 1;
        if reg.listeners[i] == 0 {
            if let Some(old) = reg.previous[i].take() {
                // SAFETY: restores a disposition the OS gave us earlier.
                unsafe { libc::sigaction(signo, &old, std::ptr::null_mut()) };
            }
            if i == CHILD {
                // Our handler is gone: nothing will chain any more.
                CHILD_CHAIN.store(0, Ordering::Release);
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

/// A listener for `SIGCHLD`, for the reaping of child processes (see the module docs).
pub(crate) struct ChildSignal(Listener);

impl ChildSignal {
    /// Starts listening on this thread's reactor; the application's own `SIGCHLD`
    /// handler, if any, keeps being called.
    pub(crate) fn new() -> io::Result<ChildSignal> {
        Listener::new(1 << CHILD).map(ChildSignal)
    }

    /// Ready when a `SIGCHLD` may have arrived since the last call (check the children
    /// again); pending, with the waker registered, otherwise. Several tasks may wait at
    /// once: all are woken.
    pub(crate) fn poll(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_wakeup(cx)
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
