//! The Ancillary Function Driver (`afd.sys`, the kernel half of Winsock): helper handles on
//! `\Device\Afd`, `IOCTL_AFD_POLL` submission and cancellation, base sockets, and the
//! translation between `AFD_POLL_*` bits and solo-poll's interests and events.
//!
//! None of this is in the Windows SDK; the layouts and numbers below are the ones that
//! libuv, wepoll, mio and polling use (and Wine implements), stable since Windows XP.

use std::io;
use std::mem::size_of;
use std::os::windows::io::{FromRawHandle, OwnedHandle, RawSocket};
use std::ptr::{self, NonNull};

use windows_sys::Wdk::Foundation::OBJECT_ATTRIBUTES;
use windows_sys::Wdk::Storage::FileSystem::{FILE_OPEN, NtCancelIoFileEx, NtCreateFile};
use windows_sys::Wdk::System::IO::NtDeviceIoControlFile;
use windows_sys::Win32::Foundation::{
    HANDLE, NTSTATUS, RtlNtStatusToDosError, STATUS_CANCELLED, STATUS_NOT_FOUND, STATUS_PENDING,
    STATUS_SUCCESS, UNICODE_STRING,
};
use windows_sys::Win32::Networking::WinSock::{
    SIO_BASE_HANDLE, SIO_BSP_HANDLE_POLL, SOCKET_ERROR, WSAIoctl,
};
use windows_sys::Win32::Storage::FileSystem::{FILE_SHARE_READ, FILE_SHARE_WRITE, SYNCHRONIZE};
use windows_sys::Win32::System::IO::IO_STATUS_BLOCK;

use crate::{Event, Interest};

/// The poll ioctl: `_AFD_CONTROL_CODE(AFD_POLL = 9, METHOD_BUFFERED)`.
const IOCTL_AFD_POLL: u32 = 0x0001_2024;

/// Data (or a zero-length datagram) can be received.
pub(super) const POLL_RECEIVE: u32 = 0x0001;
/// Out-of-band data can be received.
pub(super) const POLL_RECEIVE_EXPEDITED: u32 = 0x0002;
/// Data can be sent (also: a non-blocking `connect` has succeeded).
pub(super) const POLL_SEND: u32 = 0x0004;
/// The peer closed its sending side (a FIN arrived).
pub(super) const POLL_DISCONNECT: u32 = 0x0008;
/// The connection was reset or aborted.
pub(super) const POLL_ABORT: u32 = 0x0010;
/// The socket was closed by this process (`closesocket` on the last handle).
pub(super) const POLL_LOCAL_CLOSE: u32 = 0x0020;
/// A connection completed (reported once; solo-poll relies on `POLL_SEND` instead).
pub(super) const POLL_CONNECT: u32 = 0x0040;
/// A listening socket has a connection to accept.
pub(super) const POLL_ACCEPT: u32 = 0x0080;
/// A non-blocking `connect` failed.
pub(super) const POLL_CONNECT_FAIL: u32 = 0x0100;

/// The `AFD_POLL_*` bits to ask for with `interest`; 0 for [`Interest::NONE`], for which no
/// poll is submitted at all.
///
/// Every poll also asks for `ABORT` and `CONNECT_FAIL` (errors wake both directions) and
/// for `LOCAL_CLOSE` (so a socket closed without `delete` is noticed and forgotten).
/// `AFD_POLL_CONNECT` is not asked for: a successful connect shows as `SEND`, and
/// `CONNECT` is an event rather than a state, so a level-triggered poll for it could
/// report once too often or not at all.
pub(super) fn poll_mask(interest: Interest) -> u32 {
    if interest == Interest::NONE {
        return 0;
    }
    let mut mask = POLL_ABORT | POLL_CONNECT_FAIL | POLL_LOCAL_CLOSE;
    if interest.is_readable() {
        mask |= POLL_RECEIVE | POLL_RECEIVE_EXPEDITED | POLL_ACCEPT | POLL_DISCONNECT;
    }
    if interest.is_writable() {
        mask |= POLL_SEND;
    }
    mask
}

/// The event for the `AFD_POLL_*` bits a poll reported, masked by `interest`; `None` if no
/// direction of interest is concerned.
///
/// Readable: receive, expedited receive, accept, disconnect (the peer's FIN: a read returns
/// 0 once the data is drained), abort and connect-fail. Writable: send, connect, abort and
/// connect-fail. `hangup` hints at disconnect or abort, `error` at abort or connect-fail.
pub(super) fn translate(key: usize, interest: Interest, bits: u32) -> Option<Event> {
    let error = bits & (POLL_ABORT | POLL_CONNECT_FAIL) != 0;
    let hangup = bits & (POLL_DISCONNECT | POLL_ABORT) != 0;
    let readable = interest.is_readable()
        && bits
            & (POLL_RECEIVE
                | POLL_RECEIVE_EXPEDITED
                | POLL_ACCEPT
                | POLL_DISCONNECT
                | POLL_ABORT
                | POLL_CONNECT_FAIL)
            != 0;
    let writable = interest.is_writable()
        && bits & (POLL_SEND | POLL_CONNECT | POLL_ABORT | POLL_CONNECT_FAIL) != 0;
    (readable || writable).then_some(Event {
        key,
        readable,
        writable,
        hangup,
        error,
    })
}

/// The event that reports a poll that failed (the I/O on the socket will show why): every
/// direction of interest, with the error hint.
pub(super) fn error_event(key: usize, interest: Interest) -> Option<Event> {
    (interest != Interest::NONE).then_some(Event {
        key,
        readable: interest.is_readable(),
        writable: interest.is_writable(),
        hangup: false,
        error: true,
    })
}

/// `AFD_POLL_HANDLE_INFO`: one socket of a poll.
#[repr(C)]
#[derive(Clone, Copy)]
struct PollHandleInfo {
    handle: HANDLE,
    events: u32,
    status: NTSTATUS,
}

/// `AFD_POLL_INFO` with room for one socket: the input and the output of `IOCTL_AFD_POLL`.
#[repr(C)]
#[derive(Clone, Copy)]
struct PollInfo {
    /// Absolute (positive) or relative (negative) in 100 ns units; `i64::MAX`: never.
    timeout: i64,
    number_of_handles: u32,
    /// 0: other polls of the same socket are left alone.
    exclusive: u32,
    handles: [PollHandleInfo; 1],
}

/// The memory one registration hands to the kernel: the `IO_STATUS_BLOCK` and the
/// `AFD_POLL_INFO` buffer of its poll, and the registration's socket so that a completion
/// can be traced back to its registration.
#[repr(C)]
struct IoBlock {
    iosb: IO_STATUS_BLOCK,
    info: PollInfo,
    /// The socket the registration was added with (its key in the poller's table). The
    /// kernel never writes it.
    socket: RawSocket,
}

/// What a finished poll reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Cancelled (by `modify`, `delete`, or the system) before anything was ready.
    Cancelled,
    /// The poll failed with this status.
    Failed(NTSTATUS),
    /// The `AFD_POLL_*` bits that were ready (0 if the poll ended without an event).
    Ready(u32),
}

/// An owned, heap-allocated [`IoBlock`], addressed by raw pointer only.
///
/// The kernel writes the block while a poll is in flight, so Rust never holds a reference
/// to it: the block is read and written through raw pointers, and only while no poll is in
/// flight. Its address is the `ApcContext` of every poll it carries, which the completion
/// port returns as the packet's `lpOverlapped`.
///
/// **Lifetime rule** (the bug of mio#1042, mio#2004, pjproject#985 and others, where a
/// cancelled poll completed into freed memory): once [`Block::submit`] has returned `Ok`,
/// exactly one completion packet will arrive for it, whatever happens next (cancellation,
/// `delete`, the socket's close); the block must stay allocated until that packet has been
/// dequeued. The poller keeps a block whose registration is gone in its table of
/// zombies until then.
pub(super) struct Block(NonNull<IoBlock>);

// SAFETY: a `Block` is a unique owner of its heap allocation (like a `Box`), which holds
// only plain data; the poller touches it only under its mutex and only while the kernel does
// not, so moving the owner to another thread is sound.
unsafe impl Send for Block {}

impl Block {
    /// A new block for a registration of `socket`.
    pub(super) fn new(socket: RawSocket) -> Block {
        // SAFETY: `IO_STATUS_BLOCK` and `PollInfo` are plain C data (integers, a union of
        // an integer and a pointer, a null handle); all-zero bytes are valid values.
        let mut block: Box<IoBlock> = Box::new(unsafe { std::mem::zeroed() });
        block.socket = socket;
        Block(NonNull::from(Box::leak(block)))
    }

    /// The block's address: the `lpOverlapped` of its completion packets.
    pub(super) fn addr(&self) -> usize {
        self.0.as_ptr() as usize
    }

    /// Gives up ownership: the caller's table (the poller's zombies) owns the block now,
    /// by its address.
    pub(super) fn into_addr(self) -> usize {
        self.addr()
    }

    /// Takes back ownership of the block at `addr`.
    ///
    /// # Safety
    ///
    /// `addr` must be the [`Block::addr`] of a block that was forgotten (moved into the
    /// poller's zombie table) and is not owned by any other `Block`.
    pub(super) unsafe fn from_addr(addr: usize) -> Block {
        // SAFETY: by the contract, `addr` is the non-null address of a live allocation.
        Block(unsafe { NonNull::new_unchecked(addr as *mut IoBlock) })
    }

    /// The socket recorded in the block at `addr`.
    ///
    /// # Safety
    ///
    /// `addr` must be the address of a live block (the `lpOverlapped` of a completion packet
    /// of one of the poller's AFD handles, before that block is freed).
    pub(super) unsafe fn socket_at(addr: usize) -> RawSocket {
        let p = addr as *const IoBlock;
        // SAFETY: by the contract `p` points to a live block; the kernel never writes its
        // `socket` field, so reading it races with nothing.
        unsafe { ptr::addr_of!((*p).socket).read() }
    }

    /// Frees the block.
    ///
    /// # Safety
    ///
    /// No poll of this block may be in flight: none was ever submitted, or the completion of
    /// the last one has been dequeued, or the last submission failed.
    pub(super) unsafe fn free(self) {
        // SAFETY: the pointer came from `Box::leak` in `Block::new` and is owned by `self`;
        // by the contract the kernel no longer uses the memory.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }

    /// Starts an `IOCTL_AFD_POLL` for `mask` on `base` through the helper handle `afd`.
    ///
    /// `Ok` means that exactly one completion packet will be queued to the port `afd` is
    /// associated with (now, if something is ready already, or later); `Err` means that none
    /// will.
    ///
    /// # Safety
    ///
    /// No poll of this block may be in flight, `afd` must be an open helper handle
    /// associated with the poller's completion port, and after `Ok` the block must stay
    /// allocated until the completion has been dequeued (see the type's lifetime rule).
    pub(super) unsafe fn submit(&self, afd: HANDLE, base: RawSocket, mask: u32) -> io::Result<()> {
        let p = self.0.as_ptr();
        // SAFETY: no poll is in flight, so nothing else reads or writes the block; the
        // writes go through the raw pointer, creating no reference.
        unsafe {
            (*p).info = PollInfo {
                timeout: i64::MAX,
                number_of_handles: 1,
                exclusive: 0,
                handles: [PollHandleInfo {
                    handle: base as usize as HANDLE,
                    events: mask,
                    status: STATUS_SUCCESS,
                }],
            };
            (*p).iosb.Anonymous.Status = STATUS_PENDING;
            (*p).iosb.Information = 0;
        }
        let info = size_of::<PollInfo>() as u32;
        // SAFETY: `afd` is an open handle (contract); the IO_STATUS_BLOCK and the input and
        // output buffers lie inside the block, which stays allocated until the completion is
        // dequeued (contract), so the kernel may write them until then. The block's address
        // is the APC context, returned with the packet; no event and no APC routine are used.
        let status = unsafe {
            NtDeviceIoControlFile(
                afd,
                ptr::null_mut(),
                None,
                p as *const std::ffi::c_void,
                ptr::addr_of_mut!((*p).iosb),
                IOCTL_AFD_POLL,
                ptr::addr_of!((*p).info).cast(),
                info,
                ptr::addr_of_mut!((*p).info).cast(),
                info,
            )
        };
        // The I/O manager queues a completion packet for every request that did not fail
        // synchronously with an error status (STATUS_PENDING, STATUS_SUCCESS, warnings);
        // a synchronous error queues none.
        if nt_error(status) {
            Err(status_error(status))
        } else {
            Ok(())
        }
    }

    /// Asks the kernel to cancel this block's poll on `afd`. The poll's completion still
    /// arrives (with `STATUS_CANCELLED`, or with events if it finished first).
    ///
    /// # Safety
    ///
    /// `afd` must be the open helper handle the poll was submitted through.
    pub(super) unsafe fn cancel(&self, afd: HANDLE) -> io::Result<()> {
        let mut iosb = IO_STATUS_BLOCK::default();
        // SAFETY: `afd` is open (contract); the request is identified by the address of its
        // IO_STATUS_BLOCK, which is only compared, not accessed; `iosb` is a live local that
        // the call fills in synchronously.
        let status =
            unsafe { NtCancelIoFileEx(afd, ptr::addr_of!((*self.0.as_ptr()).iosb), &mut iosb) };
        match status {
            // STATUS_NOT_FOUND: the poll has completed already (its packet is queued).
            STATUS_SUCCESS | STATUS_NOT_FOUND => Ok(()),
            s => Err(status_error(s)),
        }
    }

    /// What the last poll of this block reported.
    ///
    /// # Safety
    ///
    /// The completion of the block's last poll must have been dequeued (so the kernel has
    /// finished writing it).
    pub(super) unsafe fn outcome(&self) -> Outcome {
        let p = self.0.as_ptr();
        // SAFETY: the kernel is done with the block (contract), so plain reads through the
        // raw pointer race with nothing; every field is plain data the kernel initialised
        // (or we did, before submitting).
        let (status, handles, events) = unsafe {
            (
                (*p).iosb.Anonymous.Status,
                (*p).info.number_of_handles,
                (*p).info.handles[0].events,
            )
        };
        match status {
            STATUS_CANCELLED => Outcome::Cancelled,
            s if nt_error(s) => Outcome::Failed(s),
            _ if handles == 0 => Outcome::Ready(0),
            _ => Outcome::Ready(events),
        }
    }
}

/// Whether `status` is an error (severity bits `11`), as opposed to success, information
/// or a warning.
fn nt_error(status: NTSTATUS) -> bool {
    (status as u32) >> 30 == 3
}

/// The Win32 error for an NTSTATUS, as an `io::Error`.
pub(super) fn status_error(status: NTSTATUS) -> io::Error {
    // SAFETY: a pure conversion with no pointer arguments.
    let code = unsafe { RtlNtStatusToDosError(status) };
    io::Error::from_raw_os_error(code as i32)
}

/// `s` as UTF-16 at compile time (ASCII only).
pub(super) const fn wide<const N: usize>(s: &[u8; N]) -> [u16; N] {
    let mut out = [0u16; N];
    let mut i = 0;
    while i < N {
        out[i] = s[i] as u16;
        i += 1;
    }
    out
}

/// The device name of a new helper handle. Any name below `\Device\Afd` opens the driver
/// without creating a socket; the suffix only makes the handle recognisable in tools.
const AFD_NAME: [u16; 20] = wide(b"\\Device\\Afd\\SoloPoll");

/// Opens a new AFD helper handle: a handle to the driver that is not a socket, through
/// which polls of any socket can be issued. It is asynchronous (no `FILE_SYNCHRONOUS_IO_*`
/// option), so polls through it complete through the completion port it is associated with.
pub(super) fn open_helper() -> io::Result<OwnedHandle> {
    let name = UNICODE_STRING {
        Length: (AFD_NAME.len() * 2) as u16,
        MaximumLength: (AFD_NAME.len() * 2) as u16,
        Buffer: AFD_NAME.as_ptr() as *mut u16,
    };
    let attributes = OBJECT_ATTRIBUTES {
        Length: size_of::<OBJECT_ATTRIBUTES>() as u32,
        RootDirectory: ptr::null_mut(),
        ObjectName: &name,
        Attributes: 0,
        SecurityDescriptor: ptr::null(),
        SecurityQualityOfService: ptr::null(),
    };
    let mut handle: HANDLE = ptr::null_mut();
    let mut iosb = IO_STATUS_BLOCK::default();
    // SAFETY: every pointer refers to a live local for the duration of the call (the name
    // buffer is a constant and is only read); there is no extended-attribute buffer.
    let status = unsafe {
        NtCreateFile(
            &mut handle,
            SYNCHRONIZE,
            &attributes,
            &mut iosb,
            ptr::null(),
            0,
            FILE_SHARE_READ | FILE_SHARE_WRITE,
            FILE_OPEN,
            0,
            ptr::null(),
            0,
        )
    };
    if status != STATUS_SUCCESS {
        return Err(status_error(status));
    }
    // SAFETY: the call succeeded, so `handle` is a new handle that nothing else owns.
    Ok(unsafe { OwnedHandle::from_raw_handle(handle) })
}

/// The base service provider's handle of `socket`: the handle AFD knows.
///
/// A layered service provider (LSP) may wrap sockets in handles of its own, which AFD
/// rejects or, worse, reports on wrongly (mio#1315). `SIO_BASE_HANDLE` asks for the base
/// handle, which LSPs must pass through; a few broken LSPs answer only
/// `SIO_BSP_HANDLE_POLL`, which is tried next (as wepoll does).
pub(super) fn base_socket(socket: RawSocket) -> io::Result<RawSocket> {
    match socket_ioctl(socket, SIO_BASE_HANDLE) {
        Ok(base) => Ok(base),
        Err(first) => match socket_ioctl(socket, SIO_BSP_HANDLE_POLL) {
            Ok(base) if base != socket => socket_ioctl(base, SIO_BASE_HANDLE).or(Ok(base)),
            _ => Err(first),
        },
    }
}

/// A `WSAIoctl` that returns a socket.
fn socket_ioctl(socket: RawSocket, code: u32) -> io::Result<RawSocket> {
    let mut out: usize = 0;
    let mut bytes = 0u32;
    // SAFETY: both codes take no input and write one SOCKET (a usize) into `out`, a live
    // local of that size; `bytes` is a live local; the call is synchronous (no overlapped,
    // no completion routine).
    let r = unsafe {
        WSAIoctl(
            socket as usize,
            code,
            ptr::null(),
            0,
            (&mut out as *mut usize).cast(),
            size_of::<usize>() as u32,
            &mut bytes,
            ptr::null_mut(),
            None,
        )
    };
    if r == SOCKET_ERROR {
        return Err(io::Error::last_os_error());
    }
    Ok(out as RawSocket)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_match_the_driver() {
        // AFD_POLL_INFO with one handle: 8 + 4 + 4 + (8 + 4 + 4) on 64-bit targets.
        #[cfg(target_pointer_width = "64")]
        assert_eq!(size_of::<PollInfo>(), 32);
        assert_eq!(std::mem::offset_of!(PollInfo, handles), 16);
    }

    #[test]
    fn masks_per_interest() {
        assert_eq!(poll_mask(Interest::NONE), 0);
        let base = POLL_ABORT | POLL_CONNECT_FAIL | POLL_LOCAL_CLOSE;
        assert_eq!(
            poll_mask(Interest::READABLE),
            base | POLL_RECEIVE | POLL_RECEIVE_EXPEDITED | POLL_ACCEPT | POLL_DISCONNECT
        );
        assert_eq!(poll_mask(Interest::WRITABLE), base | POLL_SEND);
        assert_eq!(
            poll_mask(Interest::BOTH),
            poll_mask(Interest::READABLE) | poll_mask(Interest::WRITABLE)
        );
        assert_eq!(poll_mask(Interest::BOTH) & POLL_CONNECT, 0);
    }

    #[test]
    fn translation() {
        let r = Interest::READABLE;
        let w = Interest::WRITABLE;
        let b = Interest::BOTH;
        let e = translate(3, r, POLL_RECEIVE).unwrap();
        assert!(e.key == 3 && e.readable && !e.writable && !e.hangup && !e.error);
        assert!(translate(3, r, POLL_ACCEPT).unwrap().readable);
        assert!(translate(3, r, POLL_RECEIVE_EXPEDITED).unwrap().readable);
        // Send is not a readable event, receive not a writable one.
        assert_eq!(translate(3, r, POLL_SEND), None);
        assert_eq!(translate(3, w, POLL_RECEIVE), None);
        let e = translate(3, b, POLL_SEND).unwrap();
        assert!(!e.readable && e.writable);
        assert!(translate(3, w, POLL_CONNECT).unwrap().writable);
        // The peer's FIN: readable with the hang-up hint, not writable (half-close).
        let e = translate(3, b, POLL_DISCONNECT).unwrap();
        assert!(e.readable && !e.writable && e.hangup && !e.error);
        assert_eq!(translate(3, w, POLL_DISCONNECT), None);
        // Reset: both directions of interest, hang-up and error.
        let e = translate(3, b, POLL_ABORT).unwrap();
        assert!(e.readable && e.writable && e.hangup && e.error);
        let e = translate(3, w, POLL_ABORT).unwrap();
        assert!(!e.readable && e.writable && e.error);
        // A failed connect: both directions, error.
        let e = translate(3, b, POLL_CONNECT_FAIL).unwrap();
        assert!(e.readable && e.writable && e.error && !e.hangup);
        assert_eq!(translate(3, r, 0), None);
        assert_eq!(translate(3, Interest::NONE, POLL_ABORT), None);
    }

    #[test]
    fn error_events_follow_the_interest() {
        assert_eq!(error_event(1, Interest::NONE), None);
        let e = error_event(1, Interest::WRITABLE).unwrap();
        assert!(!e.readable && e.writable && e.error);
    }

    #[test]
    fn status_severity() {
        assert!(nt_error(STATUS_CANCELLED));
        assert!(!nt_error(STATUS_PENDING));
        assert!(!nt_error(STATUS_SUCCESS));
        // STATUS_BUFFER_OVERFLOW is a warning: a packet is still queued.
        assert!(!nt_error(0x8000_0005_u32 as NTSTATUS));
    }

    #[test]
    fn wide_strings() {
        assert_eq!(wide(b"ab\0"), [97, 98, 0]);
        assert_eq!(
            String::from_utf16(&AFD_NAME).unwrap(),
            "\\Device\\Afd\\SoloPoll"
        );
    }
}
