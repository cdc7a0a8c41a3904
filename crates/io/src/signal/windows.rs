//! Windows: the console control handler.
//!
//! Windows runs the handler on a thread of its own, so, unlike a Unix signal handler, it
//! may take a lock and wake `Waker`s; those wakers reach the listener's reactor through
//! the usual cross-thread path (the poller's `notify`).

use std::io;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};

use slab::Slab;
use windows_sys::Win32::Foundation::{FALSE, TRUE};
use windows_sys::Win32::System::Console::{
    CTRL_BREAK_EVENT, CTRL_C_EVENT, CTRL_CLOSE_EVENT, CTRL_LOGOFF_EVENT, CTRL_SHUTDOWN_EVENT,
    SetConsoleCtrlHandler,
};
use windows_sys::core::BOOL;

use super::Signal;

/// Deliveries per signal.
static DELIVERIES: [AtomicU64; 6] = [const { AtomicU64::new(0) }; 6];

struct Registry {
    installed: bool,
    /// Per listener: the signals it wants, whether one arrived, and its waker.
    listeners: Slab<(u8, bool, Option<Waker>)>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    installed: false,
    listeners: Slab::new(),
});

fn lock() -> std::sync::MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

pub(super) fn check_supported(s: Signal) -> io::Result<()> {
    match s {
        Signal::Interrupt | Signal::Terminate => Ok(()),
        other => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("{other:?} does not exist on Windows (only Interrupt and Terminate)"),
        )),
    }
}

pub(super) fn deliveries(s: Signal) -> u64 {
    DELIVERIES[s.index()].load(Ordering::Acquire)
}

unsafe extern "system" fn handler(ctrl: u32) -> BOOL {
    let signal = match ctrl {
        CTRL_C_EVENT | CTRL_BREAK_EVENT => Signal::Interrupt,
        CTRL_CLOSE_EVENT | CTRL_LOGOFF_EVENT | CTRL_SHUTDOWN_EVENT => Signal::Terminate,
        _ => return FALSE,
    };
    let bit = 1u8 << signal.index();
    let mut wakers = Vec::new();
    {
        let mut reg = lock();
        if !reg.listeners.iter().any(|(_, l)| l.0 & bit != 0) {
            // Nobody listens: let the next handler (ultimately the default) act.
            return FALSE;
        }
        DELIVERIES[signal.index()].fetch_add(1, Ordering::AcqRel);
        for (_, l) in reg.listeners.iter_mut() {
            if l.0 & bit != 0 {
                l.1 = true;
                wakers.extend(l.2.take());
            }
        }
    }
    for w in wakers {
        w.wake();
    }
    TRUE
}

pub(super) struct Listener {
    key: usize,
}

impl Listener {
    pub(super) fn new(mask: u8) -> io::Result<Listener> {
        let mut reg = lock();
        if !reg.installed {
            // SAFETY: registers a handler with the signature Windows expects; it stays
            // valid for the life of the process.
            if unsafe { SetConsoleCtrlHandler(Some(handler), TRUE) } == FALSE {
                return Err(io::Error::last_os_error());
            }
            reg.installed = true;
        }
        let key = reg.listeners.insert((mask, false, None));
        Ok(Listener { key })
    }

    pub(super) fn poll_wakeup(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut reg = lock();
        let l = &mut reg.listeners[self.key];
        if std::mem::take(&mut l.1) {
            return Poll::Ready(Ok(()));
        }
        match &mut l.2 {
            Some(w) if w.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        lock().listeners.remove(self.key);
    }
}
