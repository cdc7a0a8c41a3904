//! The I/O completion port: creation, association, posting and dequeuing packets.

use std::io;
use std::mem::{align_of, size_of};
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::ptr;
use std::time::Duration;

use super::super::whole_ms;
use windows_sys::Win32::Foundation::{
    HANDLE, INVALID_HANDLE_VALUE, WAIT_IO_COMPLETION, WAIT_TIMEOUT,
};
use windows_sys::Win32::System::IO::{
    CreateIoCompletionPort, GetQueuedCompletionStatusEx, OVERLAPPED_ENTRY,
    PostQueuedCompletionStatus,
};
use windows_sys::Win32::System::Threading::INFINITE;

/// One dequeued packet: the layout of `OVERLAPPED_ENTRY`, with the pointer as an integer
/// so that buffers of entries are plain data (`Send + Sync`) and never dereferenced here.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Entry {
    /// The completion key: which kind of packet this is.
    pub(super) key: usize,
    /// `lpOverlapped`: for an AFD poll, the address of its block.
    pub(super) overlapped: usize,
    internal: usize,
    bytes: u32,
}

const _: () = {
    assert!(size_of::<Entry>() == size_of::<OVERLAPPED_ENTRY>());
    assert!(align_of::<Entry>() == align_of::<OVERLAPPED_ENTRY>());
};

/// An I/O completion port.
#[derive(Debug)]
pub(super) struct Port {
    handle: OwnedHandle,
}

impl Port {
    /// A new port that lets as many threads run as there are processors.
    pub(super) fn new() -> io::Result<Port> {
        // SAFETY: with INVALID_HANDLE_VALUE and no existing port, the call only creates a
        // port; no pointer is passed.
        let h = unsafe { CreateIoCompletionPort(INVALID_HANDLE_VALUE, ptr::null_mut(), 0, 0) };
        if h.is_null() {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `h` is a new handle that nothing else owns.
        let handle = unsafe { OwnedHandle::from_raw_handle(h) };
        Ok(Port { handle })
    }

    /// The port's handle (borrowed: valid while `self` lives).
    pub(super) fn raw(&self) -> HANDLE {
        self.handle.as_raw_handle()
    }

    /// Associates the file `handle` with the port: its overlapped I/O completes here,
    /// with `key` as the packets' completion key.
    pub(super) fn associate(&self, handle: HANDLE, key: usize) -> io::Result<()> {
        // SAFETY: both handles are open (the caller owns `handle`, `self` the port); no
        // pointer is passed.
        let r = unsafe { CreateIoCompletionPort(handle, self.raw(), key, 0) };
        if r.is_null() {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Queues a packet with `key` and no overlapped pointer.
    pub(super) fn post(&self, key: usize) -> io::Result<()> {
        // SAFETY: the port is open; a null OVERLAPPED pointer is allowed and never
        // dereferenced by the system.
        if unsafe { PostQueuedCompletionStatus(self.raw(), 0, key, ptr::null()) } == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Dequeues up to `max` packets into `entries` (replacing its contents), waiting up to
    /// `ms` milliseconds (`INFINITE`: no limit) for the first. A timeout leaves `entries`
    /// empty, as does an alertable wait ended by an APC (`WAIT_IO_COMPLETION`, which this
    /// backend never asks for, but which is handled as a spurious wake-up all the same).
    pub(super) fn wait(&self, entries: &mut Vec<Entry>, max: usize, ms: u32) -> io::Result<()> {
        entries.clear();
        let max = max.min(entries.capacity()).clamp(1, u32::MAX as usize);
        entries.reserve(max); // no-op unless capacity was 0
        let mut removed = 0u32;
        // SAFETY: the buffer has room for `max` entries of OVERLAPPED_ENTRY's layout (see
        // the assertions on `Entry`); `removed` is a live local; the wait is not alertable.
        let ok = unsafe {
            GetQueuedCompletionStatusEx(
                self.raw(),
                entries.as_mut_ptr().cast::<OVERLAPPED_ENTRY>(),
                max as u32,
                &mut removed,
                ms,
                0,
            )
        };
        if ok == 0 {
            let e = io::Error::last_os_error();
            return match e.raw_os_error() {
                Some(c) if c == WAIT_TIMEOUT as i32 || c == WAIT_IO_COMPLETION as i32 => Ok(()),
                _ => Err(e),
            };
        }
        // SAFETY: the call initialised the first `removed` entries, and `removed <= max`,
        // which is at most the capacity.
        unsafe { entries.set_len((removed as usize).min(max)) };
        Ok(())
    }
}

/// A timeout for `GetQueuedCompletionStatusEx`: `INFINITE` for none, else `d` clamped to
/// [`MAX_SLEEP`](super::super::MAX_SLEEP) and rounded *up* to whole milliseconds, so a sub-millisecond wait sleeps
/// 1 ms rather than spinning with 0.
pub(super) fn ceil_ms(timeout: Option<Duration>) -> u32 {
    // At most 86 400 001, far below INFINITE.
    timeout.map_or(INFINITE, whole_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_up() {
        assert_eq!(ceil_ms(None), INFINITE);
        assert_eq!(ceil_ms(Some(Duration::ZERO)), 0);
        assert_eq!(ceil_ms(Some(Duration::from_nanos(1))), 1);
        assert_eq!(ceil_ms(Some(Duration::from_micros(999))), 1);
        assert_eq!(ceil_ms(Some(Duration::from_millis(1))), 1);
        assert_eq!(ceil_ms(Some(Duration::from_micros(1001))), 2);
        assert_eq!(ceil_ms(Some(Duration::MAX)), 86_400_000);
    }

    #[test]
    fn post_and_dequeue() {
        let port = Port::new().unwrap();
        let mut entries = Vec::with_capacity(4);
        port.wait(&mut entries, 4, 0).unwrap();
        assert!(entries.is_empty());
        port.post(7).unwrap();
        port.post(8).unwrap();
        port.wait(&mut entries, 1, 0).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!((entries[0].key, entries[0].overlapped), (7, 0));
        port.wait(&mut entries, 4, 1000).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].key, 8);
    }
}
