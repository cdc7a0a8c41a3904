//! Windows: the process handle is waited for by the system's thread pool
//! (`RegisterWaitForSingleObject`, once); its callback marks the child exited and wakes
//! the waiting task, whose waker reaches the loop through its completion port (a
//! `PostQueuedCompletionStatus`, the reactor's `notify`). No thread of ours waits, and
//! there is nothing to reap: a process handle only has to be closed.

use std::ffi::c_void;
use std::io;
use std::os::windows::io::AsRawHandle;
use std::process::{Child, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use windows_sys::Win32::Foundation::{HANDLE, INVALID_HANDLE_VALUE};
use windows_sys::Win32::System::Threading::{
    INFINITE, RegisterWaitForSingleObject, UnregisterWaitEx, WT_EXECUTEONLYONCE,
};

/// What the callback and the waiting task share.
#[derive(Default)]
struct Shared {
    exited: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Shared {
    fn waker(&self) -> std::sync::MutexGuard<'_, Option<Waker>> {
        self.waker.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A registered wait on a child's process handle. Must be dropped before the `Child`
/// whose handle it waits on (`Inner` declares it first).
pub(crate) struct Watch {
    shared: Arc<Shared>,
    /// The thread-pool wait.
    wait: HANDLE,
}

/// Runs on a thread of the system's pool when the process handle is signalled.
unsafe extern "system" fn exited(context: *mut c_void, _timed_out: bool) {
    // SAFETY: `context` is the `Arc<Shared>` pointer `Watch::new` registered; `Watch`
    // keeps that `Arc` alive until `UnregisterWaitEx` has waited for this callback.
    let shared = unsafe { &*(context as *const Shared) };
    shared.exited.store(true, Ordering::Release);
    let waker = shared.waker().take();
    if let Some(w) = waker {
        w.wake();
    }
}

impl Watch {
    pub(crate) fn new(child: &Child) -> io::Result<Watch> {
        let shared = Arc::new(Shared::default());
        let mut wait: HANDLE = std::ptr::null_mut();
        // SAFETY: `wait` is a live out-pointer; the process handle is open (the `Child`
        // outlives this `Watch`); the context pointer stays valid while the wait is
        // registered (see `exited` and `Drop`); one callback at most (`EXECUTEONLYONCE`).
        let ok = unsafe {
            RegisterWaitForSingleObject(
                &mut wait,
                child.as_raw_handle() as HANDLE,
                Some(exited),
                Arc::as_ptr(&shared).cast::<c_void>(),
                INFINITE,
                WT_EXECUTEONLYONCE,
            )
        };
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Watch { shared, wait })
    }

    pub(crate) fn poll_wait(
        &mut self,
        child: &mut Child,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<ExitStatus>> {
        loop {
            if let Some(status) = child.try_wait()? {
                return Poll::Ready(Ok(status));
            }
            if self.shared.exited.load(Ordering::Acquire) {
                // Signalled yet no status: not expected of Windows; ask the OS for it.
                return Poll::Ready(child.wait());
            }
            {
                let mut slot = self.shared.waker();
                match &*slot {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => *slot = Some(cx.waker().clone()),
                }
            }
            // The callback may have run between the check and the registration.
            if !self.shared.exited.load(Ordering::Acquire) {
                return Poll::Pending;
            }
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        // SAFETY: `wait` is the registered wait; INVALID_HANDLE_VALUE makes the call wait
        // until a callback that is running has returned, after which `shared` (kept alive
        // by `self`) is no longer used by the pool.
        unsafe { UnregisterWaitEx(self.wait, INVALID_HANDLE_VALUE) };
    }
}

/// Windows has no zombies: the handle is closed, the process runs on (or was killed).
pub(crate) fn orphan(child: Child, watch: Watch) {
    drop(watch);
    drop(child);
}
