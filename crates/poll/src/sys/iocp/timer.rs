//! The high-resolution timer that ends a wait with a sub-millisecond (or just precise)
//! timeout, by queuing a packet to the completion port when it fires.
//!
//! `GetQueuedCompletionStatusEx` takes whole milliseconds and, worse, sleeps in ticks of
//! the system timer (15.6 ms unless some process raised the resolution). A waitable timer
//! created with `CREATE_WAITABLE_TIMER_HIGH_RESOLUTION` (Windows 10 1803 and later) fires
//! within tens of microseconds of its due time, but a completion port cannot wait on it
//! directly. Two bridges, best first:
//!
//! - **A wait completion packet** (`NtCreateWaitCompletionPacket`,
//!   `NtAssociateWaitCompletionPacket`, `NtCancelWaitCompletionPacket`: ntdll, Windows 8
//!   and later, documented in the "devnotes"; the Windows thread pool and Go's runtime use
//!   them): the kernel queues the packet to the port when the timer is signalled. Each
//!   association fires once; a wait re-arms by cancelling the previous association,
//!   setting the timer and associating again. If the cancellation reports
//!   `STATUS_PENDING` (the old association is being delivered right now), that wait rounds
//!   up to whole milliseconds instead. The functions are looked up with `GetProcAddress`:
//!   Wine 8 lacks them, and a static import would stop the program from loading there.
//! - **A thread-pool wait** (`RegisterWaitForSingleObject`, persistent, callback in the
//!   wait thread): the callback posts the packet. It costs one more context switch per
//!   expiry, so it is only used where the first is missing (Wine).
//!
//! Without a high-resolution timer (before Windows 10 1803) timeouts are rounded up to
//! whole milliseconds.
//!
//! The timer belongs to the poller. A waiting thread takes it with `try_lock`; another
//! thread waiting at the same time rounds up instead (late, never early). A timer packet
//! only wakes a wait: the wait loop compares the clock with its deadline, so a packet that
//! arrives late, early (the timer's clock is not the one `Instant` reads), for an earlier
//! wait, or at another waiter is harmless. Every wait also passes its rounded-up timeout to
//! `GetQueuedCompletionStatusEx` as a backstop, in case another waiter dequeues the packet.

use std::ffi::c_void;
use std::fmt;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::ptr;
use std::sync::{Mutex, MutexGuard, OnceLock, TryLockError};
use std::time::Duration;

use windows_sys::Win32::Foundation::{
    GENERIC_READ, GENERIC_WRITE, HANDLE, INVALID_HANDLE_VALUE, NTSTATUS, STATUS_PENDING,
    STATUS_SUCCESS,
};
use windows_sys::Win32::System::IO::PostQueuedCompletionStatus;
use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};
use windows_sys::Win32::System::Threading::{
    CREATE_WAITABLE_TIMER_HIGH_RESOLUTION, CancelWaitableTimer, CreateWaitableTimerExW, INFINITE,
    RegisterWaitForSingleObject, SetWaitableTimer, TIMER_ALL_ACCESS, UnregisterWaitEx,
    WT_EXECUTEINWAITTHREAD,
};

use super::KEY_TIMER;
use super::afd::wide;
use super::port::Port;

/// Which bridge to use (tests force the fallbacks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Choice {
    /// The best this system has.
    Best,
    /// A thread-pool wait even where wait completion packets exist.
    #[cfg_attr(not(test), allow(dead_code))]
    ThreadPool,
    /// No timer: whole milliseconds, rounded up.
    #[cfg_attr(not(test), allow(dead_code))]
    None,
}

/// A high-resolution timer that wakes the poller's port.
pub(super) struct Timer {
    /// The waitable timer.
    timer: OwnedHandle,
    bridge: Bridge,
    /// Held by the wait that uses the timer; `true` while it may still fire.
    armed: Mutex<bool>,
}

enum Bridge {
    /// A wait completion packet, re-associated with the timer by each wait.
    Packet {
        packet: OwnedHandle,
        api: &'static WaitPacketApi,
    },
    /// A persistent thread-pool wait on the timer, whose callback posts the packet.
    ThreadPool { wait: WaitHandle },
}

/// A thread-pool wait registration.
struct WaitHandle(HANDLE);

// SAFETY: a wait registration handle is an opaque value that any thread may pass to
// `UnregisterWaitEx`; it is used only once, by `Drop`.
unsafe impl Send for WaitHandle {}
// SAFETY: shared references never use the handle.
unsafe impl Sync for WaitHandle {}

impl Timer {
    /// A timer bridged to `port`, or `None` where high-resolution timers or both bridges
    /// are missing. The timer must be dropped before the port is closed (the thread-pool
    /// bridge's callback posts to it).
    pub(super) fn new(port: &Port, choice: Choice) -> Option<Timer> {
        if choice == Choice::None {
            return None;
        }
        // SAFETY: null attributes and name are allowed. Systems before Windows 10 1803
        // refuse the flag (ERROR_INVALID_PARAMETER), which selects the fallback.
        let h = unsafe {
            CreateWaitableTimerExW(
                ptr::null(),
                ptr::null(),
                CREATE_WAITABLE_TIMER_HIGH_RESOLUTION,
                TIMER_ALL_ACCESS,
            )
        };
        if h.is_null() {
            return None;
        }
        // SAFETY: `h` is a new handle that nothing else owns.
        let timer = unsafe { OwnedHandle::from_raw_handle(h) };
        if choice == Choice::Best {
            if let Some(packet) = WaitPacketApi::get().and_then(|api| api.create()) {
                return Some(Timer {
                    timer,
                    bridge: packet,
                    armed: Mutex::new(false),
                });
            }
        }
        let mut wait: HANDLE = ptr::null_mut();
        // SAFETY: `wait` is a live local for the new registration; the callback only posts
        // to the port whose handle is the context, and the registration is removed (waiting
        // for a running callback) in `Drop` before the port can be closed (the caller's
        // contract). Without WT_EXECUTEONLYONCE the wait re-arms after each callback; the
        // auto-reset timer then makes each expiry one callback.
        let ok = unsafe {
            RegisterWaitForSingleObject(
                &mut wait,
                timer.as_raw_handle(),
                Some(on_timer),
                port.raw() as *const c_void,
                INFINITE,
                WT_EXECUTEINWAITTHREAD,
            )
        };
        if ok == 0 {
            return None;
        }
        Some(Timer {
            timer,
            bridge: Bridge::ThreadPool {
                wait: WaitHandle(wait),
            },
            armed: Mutex::new(false),
        })
    }

    /// The bridge's name, for `Debug`.
    pub(super) fn kind(&self) -> &'static str {
        match self.bridge {
            Bridge::Packet { .. } => "wait completion packet",
            Bridge::ThreadPool { .. } => "thread-pool wait",
        }
    }

    /// Arms the timer to wake `port` in `d`, unless another wait holds it. Returns whether
    /// it did; on `false` the caller's rounded-up timeout is the whole timeout.
    pub(super) fn arm(&self, port: &Port, d: Duration) -> bool {
        let Some(mut armed) = try_lock(&self.armed) else {
            return false;
        };
        if let Bridge::Packet { packet, api } = &self.bridge {
            // A previous association (fired or not) must go before the next one.
            if !api.cancel(packet) {
                return false;
            }
        }
        // Relative due times are negative, in 100 ns units; round up so the timer never
        // fires before `d`.
        let ticks = d.as_nanos().div_ceil(100).clamp(1, i64::MAX as u128) as i64;
        let due = -ticks;
        // SAFETY: the timer handle is open; `due` is a live local; no completion routine.
        let set =
            unsafe { SetWaitableTimer(self.timer.as_raw_handle(), &due, 0, None, ptr::null(), 0) };
        if set == 0 {
            return false;
        }
        *armed = true;
        if let Bridge::Packet { packet, api } = &self.bridge {
            return api.associate(packet, port, &self.timer);
        }
        true
    }

    /// Stops a timer left armed by an earlier wait, unless another wait holds it (its
    /// packet would only cause a spurious wake-up, which the wait loop absorbs).
    pub(super) fn disarm(&self) {
        let Some(mut armed) = try_lock(&self.armed) else {
            return;
        };
        if !*armed {
            return;
        }
        // SAFETY: the timer handle is open.
        unsafe { CancelWaitableTimer(self.timer.as_raw_handle()) };
        if let Bridge::Packet { packet, api } = &self.bridge {
            api.cancel(packet);
        }
        *armed = false;
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        match &self.bridge {
            Bridge::ThreadPool { wait } => {
                // SAFETY: `wait` is this timer's live registration, unregistered only
                // here; INVALID_HANDLE_VALUE makes the call wait for a running callback, so
                // no callback touches the port after this returns.
                unsafe { UnregisterWaitEx(wait.0, INVALID_HANDLE_VALUE) };
            }
            Bridge::Packet { packet, api } => {
                api.cancel(packet);
            }
        }
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("bridge", &self.kind())
            .finish()
    }
}

/// The thread-pool bridge's callback: posts the timer packet to the port in `context`.
unsafe extern "system" fn on_timer(context: *mut c_void, _timed_out: bool) {
    // SAFETY: `context` is the port's handle, which stays open until after the
    // registration has been removed (see `Timer::new` and `Drop`); a null OVERLAPPED is
    // allowed. A failure (out of quota) only loses a wake-up; the wait's rounded-up
    // timeout is the backstop.
    unsafe { PostQueuedCompletionStatus(context, 0, KEY_TIMER, ptr::null()) };
}

type CreateFn = unsafe extern "system" fn(*mut HANDLE, u32, *const c_void) -> NTSTATUS;
type AssociateFn = unsafe extern "system" fn(
    HANDLE,
    HANDLE,
    HANDLE,
    *mut c_void,
    *mut c_void,
    NTSTATUS,
    usize,
    *mut u8,
) -> NTSTATUS;
type CancelFn = unsafe extern "system" fn(HANDLE, u8) -> NTSTATUS;

/// The wait completion packet functions of ntdll, where it has them.
struct WaitPacketApi {
    create: CreateFn,
    associate: AssociateFn,
    cancel: CancelFn,
}

impl WaitPacketApi {
    /// The functions, looked up once per process.
    fn get() -> Option<&'static WaitPacketApi> {
        static API: OnceLock<Option<WaitPacketApi>> = OnceLock::new();
        API.get_or_init(WaitPacketApi::load).as_ref()
    }

    fn load() -> Option<WaitPacketApi> {
        const NTDLL: [u16; 10] = wide(b"ntdll.dll\0");
        // SAFETY: a NUL-terminated UTF-16 name; ntdll is loaded in every process, and the
        // module handle of a loaded module needs no release.
        let ntdll = unsafe { GetModuleHandleW(NTDLL.as_ptr()) };
        if ntdll.is_null() {
            return None;
        }
        let find = |name: &[u8]| {
            // SAFETY: `ntdll` is a loaded module and `name` is NUL-terminated ASCII.
            unsafe { GetProcAddress(ntdll, name.as_ptr()) }
        };
        let create = find(b"NtCreateWaitCompletionPacket\0")?;
        let associate = find(b"NtAssociateWaitCompletionPacket\0")?;
        let cancel = find(b"NtCancelWaitCompletionPacket\0")?;
        // SAFETY: these exports of ntdll have these signatures (Microsoft's devnotes:
        // NtCreateWaitCompletionPacket(PHANDLE, ACCESS_MASK, POBJECT_ATTRIBUTES),
        // NtAssociateWaitCompletionPacket(HANDLE, HANDLE, HANDLE, PVOID, PVOID, NTSTATUS,
        // ULONG_PTR, PBOOLEAN), NtCancelWaitCompletionPacket(HANDLE, BOOLEAN)), all with
        // the system calling convention.
        unsafe {
            Some(WaitPacketApi {
                create: std::mem::transmute::<unsafe extern "system" fn() -> isize, CreateFn>(
                    create,
                ),
                associate: std::mem::transmute::<unsafe extern "system" fn() -> isize, AssociateFn>(
                    associate,
                ),
                cancel: std::mem::transmute::<unsafe extern "system" fn() -> isize, CancelFn>(
                    cancel,
                ),
            })
        }
    }

    /// A new wait completion packet, as a bridge.
    fn create(&'static self) -> Option<Bridge> {
        let mut h: HANDLE = ptr::null_mut();
        // SAFETY: `h` is a live local for the new handle; no object attributes.
        let status = unsafe { (self.create)(&mut h, GENERIC_READ | GENERIC_WRITE, ptr::null()) };
        if status != STATUS_SUCCESS || h.is_null() {
            return None;
        }
        Some(Bridge::Packet {
            // SAFETY: `h` is a new handle that nothing else owns.
            packet: unsafe { OwnedHandle::from_raw_handle(h) },
            api: self,
        })
    }

    /// Queues `packet` to `port` when `timer` is signalled (once). Returns whether the
    /// association was made.
    fn associate(&self, packet: &OwnedHandle, port: &Port, timer: &OwnedHandle) -> bool {
        let mut already_signalled = 0u8;
        // SAFETY: the three handles are open; the key and context are plain values returned
        // with the packet; `already_signalled` is a live local.
        let status = unsafe {
            (self.associate)(
                packet.as_raw_handle(),
                port.raw(),
                timer.as_raw_handle(),
                KEY_TIMER as *mut c_void,
                ptr::null_mut(),
                STATUS_SUCCESS,
                0,
                &mut already_signalled,
            )
        };
        status == STATUS_SUCCESS
    }

    /// Cancels the packet's association, also taking the packet back out of the port if
    /// it was queued and not yet dequeued. Returns `false` while the association is being
    /// delivered (`STATUS_PENDING`): the packet will arrive, and cannot be re-associated yet.
    fn cancel(&self, packet: &OwnedHandle) -> bool {
        // SAFETY: the packet handle is open; TRUE asks to remove a queued packet too.
        let status = unsafe { (self.cancel)(packet.as_raw_handle(), 1) };
        // STATUS_SUCCESS: cancelled; STATUS_CANCELLED: there was nothing left to cancel.
        status != STATUS_PENDING
    }
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
