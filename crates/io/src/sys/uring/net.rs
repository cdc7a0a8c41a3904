//! TCP sockets on the ring: a multishot `IORING_OP_RECV` per reading stream into one
//! provided-buffer ring per thread, and a multishot `IORING_OP_ACCEPT` per listener.
//!
//! # Receiving
//!
//! A [`TcpStream`](crate::net::TcpStream) enters *ring mode* under this driver (inside
//! solo's loop) at its first write, or at its first read that drains the socket: a read
//! first tries the socket directly (a new connection's request is often there already),
//! and a `WouldBlock` or a short read switches the stream over. Its recv is then armed
//! once, multishot, with buffer
//! select from the thread's [`Pool`]: one `IORING_REGISTER_PBUF_RING` group of
//! [`BUF_COUNT`] buffers of [`BUF_SIZE`] bytes shared by every connection of the thread.
//! An idle connection holds none of them: a buffer is taken by the kernel only when data
//! arrives. Each completion carries (buffer id, length); the buffer joins the stream's
//! list of *held* buffers (linked through [`Pool::next`], so a stream's entry has a fixed
//! size), `poll_read` copies from them into the caller's buffer and gives each buffer back
//! to the ring as soon as it is consumed; a partly read buffer stays with its stream.
//!
//! The stream's epoll registration then asks only for writability (for `writable()` and
//! `sendfile`), so arriving data costs one completion and no epoll event.
//!
//! - **ENOBUFS** (the ring is empty): the multishot ends and the data stays in the socket.
//!   The stream is marked *starved*; its reader is woken and reads that data with a plain
//!   `recv` while the ring is still empty, or re-arms once it has buffers again.
//! - **The multishot ends** (no `IORING_CQE_F_MORE`: ENOBUFS, an error, end of file, our
//!   own cancel): the next `poll_read` re-arms it, unless the stream saw its end.
//! - **A slow reader** holds a bounded number of buffers: when a completion brings it to
//!   [`MAX_HELD`], its recv is cancelled, and re-armed by the `poll_read` that consumes
//!   them. Completions already on their way are still held: the kernel runs a multishot
//!   recv up to 32 times in a row while the socket has data (`MULTISHOT_MAX_RETRY`), so a
//!   stream that never reads holds at most about `MAX_HELD + 32` buffers (measured: 33
//!   for a peer that sent 2 MiB at once), and the others still progress (see ENOBUFS).
//! - **End of file** (`res == 0`) and **errors** are delivered after the held data.
//! - **Dropping** a stream whose recv is armed marks its entry orphan and cancels the
//!   recv; the entry stays (with its slot: no completion can reach a reused entry) until
//!   the recv's last completion, and every buffer a completion still delivers goes back
//!   to the ring. Held buffers go back at once. The buffers' memory lives as long as the
//!   ring, and the ring's teardown waits for every recv to end (or leaks the memory):
//!   nothing is ever freed under the kernel.
//!
//! Mixed use: `readable()` and `peek` of a stream in ring mode look at the held data
//! first (`peek` copies without consuming), then wait for the recv (or, starved, read the
//! socket with `MSG_PEEK`); `into_std` cancels the recv, waits for its last completion,
//! and fails (naming the count) if received bytes are still held, rather than losing
//! them. Reading the descriptor directly (`get_ref`, `AsFd`) of a stream in ring mode
//! bypasses the held data: do not mix that with `AsyncRead`.
//!
//! # Accepting
//!
//! A [`TcpListener`](crate::net::TcpListener) enters ring mode at its first `poll_accept`
//! under the loop: one multishot accept (`SOCK_NONBLOCK | SOCK_CLOEXEC`) queues the new
//! descriptors in the listener's entry, at most [`ACCEPT_QUEUE`] before the accept is
//! cancelled (re-armed when the owner takes one). The peer's address is read with
//! `getpeername` when the owner takes a connection (a multishot accept reports none).
//! Dropping the listener closes the queued descriptors and those still arriving.
//!
//! # Sending
//!
//! A write copies up to [`SEND_MAX`] bytes into a buffer the driver owns (buffers are
//! reused: no allocation per write in steady state) and queues an `IORING_OP_SEND`
//! (`MSG_WAITALL | MSG_NOSIGNAL`) that leaves with the turn's one `io_uring_enter`, so the
//! sends of all connections made in one turn cost one system call; the write returns at
//! once. One send is in flight per stream; writes made meanwhile gather in a second
//! buffer (up to [`SEND_MAX`]), sent when the first completes; beyond that a write waits.
//! A short send is resubmitted for the rest. The error of a send reaches the next write
//! or `flush` (which waits for the sends); `shutdown(Write)` (and `close`) with sends in
//! flight shuts the socket when they complete, so the end follows the data; `writable()`
//! and `sendfile` wait for them, so nothing is reordered. A stream dropped with sends in
//! flight lets them complete (as `close` delivers what the socket's buffer holds) on a
//! duplicate of its descriptor that its entry keeps and closes afterwards, for at most
//! [`LINGER`] (10 s): then the sends are cancelled and the entry and the duplicate go, so
//! a peer that never reads cannot hold a descriptor of ours for ever.
//!
//! Bytes written leave at the loop's next turn, not inside `poll_write`: code that writes
//! and then blocks the thread (not the loop) waiting for the peer must flush first.
//!
//! Measured against the direct `send` (same build otherwise, `cargo xtask bench`, two
//! runs on a shared 2-CPU machine): per CPU-second, solo-min on the ring was 0.99× the raw
//! io_uring peer with ring sends and 0.975× with direct sends (HTTP, 100 connections),
//! 1.06× against 0.97× pipelined; echo is bound by the load generator. A small win,
//! within the machine's noise, so the ring send stays.
//!
//! # Not here
//!
//! UDP and Unix sockets stay readiness sources under this driver.
//!
//! # Memory per connection
//!
//! A [`Sock`] (64 bytes) in the driver's slab while the stream is in ring mode, in
//! addition to the reactor's 56-byte registration; no buffer while idle (a send buffer
//! only while a send is in flight). Measured: 396 bytes per idle connection of the demo
//! server at 10,000 connections (`crates/server/tests/c10k.rs`), 321 on the epoll driver. The pool is a
//! fixed cost per thread ([`BUF_COUNT`] × [`BUF_SIZE`] = 4 MiB plus a 16 KiB ring of
//! descriptors), mapped and populated when the thread's first stream reads.

use std::collections::VecDeque;
use std::io::{self, IoSliceMut, Read};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU16, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use io_uring::{IoUring, cqueue, opcode, types};
use slab::Slab;
use solo_poll::Interest;

use super::{CANCEL_TOKEN, Uring};
use crate::async_io::Async;
use crate::reactor::Reactor;
use crate::sys::Source;

/// `user_data` of a stream's multishot recv: `TAG_RECV << TAG_SHIFT | slot`.
pub(super) const TAG_RECV: u64 = 1;
/// `user_data` of a listener's multishot accept: `TAG_ACCEPT << TAG_SHIFT | slot`.
pub(super) const TAG_ACCEPT: u64 = 2;
/// `user_data` of a send: `TAG_SEND << TAG_SHIFT | index in Net::sends`.
pub(super) const TAG_SEND: u64 = 3;
/// Where the tag sits in a `user_data` (below it: a slot; a file operation's tag is 0).
pub(super) const TAG_SHIFT: u32 = 32;

/// The buffer group of the thread's provided-buffer ring.
const BGID: u16 = 0;
/// Bytes per provided buffer (fits the `u16` lengths of [`Pool`]).
pub(crate) const BUF_SIZE: usize = 4096;
/// Provided buffers per thread (a power of two, as the kernel requires).
pub(crate) const BUF_COUNT: u16 = 1024;
/// Buffers one stream may hold before its recv is paused (see the module docs).
pub(crate) const MAX_HELD: u16 = 8;
/// Accepted connections a listener queues before its accept is paused.
pub(crate) const ACCEPT_QUEUE: usize = 64;
/// No buffer (the end of a list).
const NIL: u16 = u16::MAX;
/// Bytes one `poll_write` copies, at most (one send in flight per stream).
pub(crate) const SEND_MAX: usize = 64 << 10;
/// Send buffers kept for reuse, at most.
const FREE_SENDS: usize = 64;
/// No send in flight.
const NO_SEND: u32 = u32::MAX;

/// The ring slot of an `Async` that is not in ring mode.
pub(crate) const NO_SLOT: u32 = u32::MAX;
/// The bit of a ring slot that says it is a listener's.
pub(crate) const LISTENER: u32 = 1 << 31;

// `Sock::flags`.
/// The multishot recv (or accept) is in the kernel.
const ARMED: u8 = 1;
/// A cancel of it is queued or in flight.
const CANCELLING: u8 = 2;
/// The stream read its end (`res == 0`).
const EOF: u8 = 4;
/// The last recv ended with `ENOBUFS`: data may wait in the socket.
const STARVED: u8 = 8;
/// The handle is gone: reclaim the entry at the last completion.
const ORPHAN: u8 = 16;
/// `shutdown(Write)` was asked while a send was in flight: done when it completes.
const SHUT_PENDING: u8 = 32;
/// `fd` is the driver's own duplicate (an orphan with sends to finish): closed with the
/// entry.
const OWN_FD: u8 = 64;
/// An orphan's [`LINGER`] ran out: its sends are cancelled, and a send the cancel cut
/// short is not resubmitted.
const LINGERED: u8 = 128;

/// A stream in ring mode: 64 bytes (61 used, then padding; see the module docs).
#[derive(Debug)]
pub(crate) struct Sock {
    /// The task waiting to read (16 bytes).
    waker: Option<Waker>,
    /// The task waiting for the send in flight (16 bytes).
    write_waker: Option<Waker>,
    /// The send in flight (an index in `Net::sends`), or `NO_SEND` (4 bytes).
    send: u32,
    /// Bytes written while `send` is in flight, sent when it completes (an index in
    /// `Net::sends`), or `NO_SEND` (4 bytes).
    next: u32,
    /// The error of the last send (`errno`), reported by the next write or flush, 0 if
    /// none (4 bytes).
    send_err: i32,
    /// The socket, to arm the recv again (4 bytes; open while the handle lives, and an
    /// orphan is never armed again).
    fd: RawFd,
    /// A pending error (`errno`), 0 if none (4 bytes).
    err: i32,
    /// Held buffers, oldest first, linked through [`Pool::next`] (2 + 2 bytes).
    head: u16,
    tail: u16,
    /// How many buffers it holds (2 bytes).
    held: u16,
    /// Bytes of `head` already read (2 bytes).
    off: u16,
    /// `ARMED`, `CANCELLING`, `EOF`, `STARVED`, `ORPHAN`, `SHUT_PENDING` (1 byte, then
    /// padding).
    flags: u8,
}

impl Sock {
    /// Nothing of it is in the kernel: an orphan may go.
    fn idle(&self) -> bool {
        self.flags & ARMED == 0 && self.send == NO_SEND
    }
}

/// A send in flight: the driver owns its buffer until the completion.
#[derive(Debug)]
struct SendOp {
    /// The bytes (its heap block does not move while the slab grows).
    buf: Vec<u8>,
    /// Bytes of `buf` already sent.
    off: usize,
    /// The stream's slot.
    slot: u32,
}

/// A listener in ring mode.
#[derive(Debug)]
pub(crate) struct Listen {
    /// The task waiting to accept.
    waker: Option<Waker>,
    /// The listening socket (open while the handle lives).
    fd: RawFd,
    /// A pending error (`errno`), 0 if none.
    err: i32,
    /// `ARMED`, `CANCELLING`, `ORPHAN`.
    flags: u8,
    /// Accepted connections the owner has not taken yet (closed if never taken).
    queue: VecDeque<OwnedFd>,
}

/// The thread's provided buffers: a ring of descriptors the kernel takes buffers from,
/// and the buffers, both in memory mapped here and never freed while the kernel may use
/// them (see `Drop for Uring`).
#[derive(Debug)]
pub(crate) struct Pool {
    /// The `io_uring_buf` ring ([`BUF_COUNT`] entries; its tail is in entry 0).
    ring: NonNull<types::BufRingEntry>,
    /// The buffers, [`BUF_SIZE`] bytes each, buffer id `i` at `i * BUF_SIZE`.
    bufs: NonNull<u8>,
    /// Our copy of the ring's tail (published to the kernel after each change).
    tail: u16,
    /// Buffers in the ring now (the others are held by streams).
    free: u16,
    /// The next buffer of the list a held buffer is in.
    next: Box<[u16]>,
    /// The bytes the kernel put in each held buffer.
    len: Box<[u16]>,
}

/// Bytes of the mapped descriptor ring.
const RING_BYTES: usize = BUF_COUNT as usize * std::mem::size_of::<types::BufRingEntry>();
/// Bytes of the mapped buffers.
const BUFS_BYTES: usize = BUF_COUNT as usize * BUF_SIZE;

/// Maps `len` bytes of private anonymous memory, populated (no page faults later).
fn map(len: usize) -> io::Result<NonNull<u8>> {
    // SAFETY: a new private anonymous mapping: no address given, no descriptor.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE,
            -1,
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    NonNull::new(ptr.cast()).ok_or_else(|| io::Error::other("mmap returned a null address"))
}

/// Unmaps what [`map`] mapped.
fn unmap(ptr: NonNull<u8>, len: usize) {
    // SAFETY: a mapping of `len` bytes made by `map`, unmapped once, when nothing (the
    // kernel included) uses it any more.
    unsafe { libc::munmap(ptr.as_ptr().cast(), len) };
}

impl Pool {
    /// Maps the buffers, registers the ring with `ring` as group [`BGID`], and gives
    /// every buffer to it.
    fn new(ring: &IoUring) -> io::Result<Pool> {
        let descs = map(RING_BYTES)?;
        let bufs = match map(BUFS_BYTES) {
            Ok(b) => b,
            Err(e) => {
                unmap(descs, RING_BYTES);
                return Err(e);
            }
        };
        // SAFETY: `descs` is page-aligned (a fresh mapping), holds `BUF_COUNT` entries
        // and stays mapped until the ring is gone (the pool is dropped after the ring,
        // see `Drop for Uring`), or is unmapped right below if registration fails.
        let registered = unsafe {
            ring.submitter()
                .register_buf_ring_with_flags(descs.as_ptr() as u64, BUF_COUNT, BGID, 0)
        };
        if let Err(e) = registered {
            unmap(descs, RING_BYTES);
            unmap(bufs, BUFS_BYTES);
            return Err(e);
        }
        let mut pool = Pool {
            ring: descs.cast(),
            bufs,
            tail: 0,
            free: 0,
            next: vec![NIL; BUF_COUNT as usize].into_boxed_slice(),
            len: vec![0; BUF_COUNT as usize].into_boxed_slice(),
        };
        for bid in 0..BUF_COUNT {
            pool.provide(bid);
        }
        Ok(pool)
    }

    /// Gives buffer `bid` (back) to the kernel.
    fn provide(&mut self, bid: u16) {
        let slot = usize::from(self.tail & (BUF_COUNT - 1));
        // SAFETY: `slot` is within the mapped ring of `BUF_COUNT` entries; the kernel only
        // reads entries between its head and the tail we publish, and this one is past
        // that tail until the store below. Only the entry's address, length and id are
        // written, never the tail that shares entry 0.
        unsafe {
            let entry = self.ring.as_ptr().add(slot);
            (*entry).set_addr(self.bufs.as_ptr().add(usize::from(bid) * BUF_SIZE) as u64);
            (*entry).set_len(BUF_SIZE as u32);
            (*entry).set_bid(bid);
        }
        self.tail = self.tail.wrapping_add(1);
        // SAFETY: the tail field of the mapped ring, a naturally aligned `u16` that the
        // kernel reads concurrently: it is only ever accessed atomically from this side.
        let tail = unsafe { &*types::BufRingEntry::tail(self.ring.as_ptr()).cast::<AtomicU16>() };
        // Release: the entry written above is visible before the kernel sees the new tail
        // (the protocol of the shared ring; a plain store on x86).
        tail.store(self.tail, Ordering::Release);
        self.free += 1;
    }

    /// The bytes of held buffer `bid` from `from` on.
    fn data(&self, bid: u16, from: u16) -> &[u8] {
        let len = usize::from(self.len[usize::from(bid)]);
        let from = usize::from(from).min(len);
        // SAFETY: buffer `bid` lies within the mapping; a completion handed it to us and
        // it is not given back until its data is consumed, so the kernel does not write
        // it while this borrow lives, and the kernel wrote its first `len` bytes.
        unsafe {
            std::slice::from_raw_parts(
                self.bufs.as_ptr().add(usize::from(bid) * BUF_SIZE + from),
                len - from,
            )
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        unmap(self.ring.cast(), RING_BYTES);
        unmap(self.bufs, BUFS_BYTES);
    }
}

/// The driver's socket state: the entries of streams and listeners in ring mode, and the
/// thread's provided buffers (made at the first read).
#[derive(Debug, Default)]
pub(crate) struct Net {
    /// Streams in ring mode, by slot.
    socks: Slab<Sock>,
    /// Listeners in ring mode, by slot.
    listens: Slab<Listen>,
    /// The provided buffers, once made.
    pool: Option<Pool>,
    /// Making the pool failed (an old kernel): streams stay on readiness.
    pool_failed: bool,
    /// Sends in flight.
    sends: Slab<SendOp>,
    /// Send buffers of finished sends, reused: no allocation per write in steady state.
    free_sends: Vec<Vec<u8>>,
    /// Dropped streams whose sends are still in flight, oldest first: (when their sends
    /// are cancelled, slot, the entry's duplicate descriptor). See [`LINGER`].
    lingering: VecDeque<(Instant, u32, RawFd)>,
}

/// How long the sends of a dropped stream may wait for the peer to read (as `close`
/// lets the kernel deliver what a socket's buffer holds). Past it they are cancelled and
/// the entry, with its duplicate descriptor, goes: a peer that never reads cannot keep a
/// descriptor of ours for ever.
pub(crate) const LINGER: Duration = Duration::from_secs(10);

impl Net {
    /// Whether any recv or accept is still in the kernel.
    pub(super) fn armed(&self) -> usize {
        self.socks
            .iter()
            .filter(|(_, s)| s.flags & ARMED != 0)
            .count()
            + self
                .listens
                .iter()
                .filter(|(_, l)| l.flags & ARMED != 0)
                .count()
    }

    /// In a `fork` child: the parent's ring holds the recvs and accepts, and the pool is
    /// the parent's registration. Entries stay (their handles keep their slots), disarmed,
    /// their waiting tasks woken (to arm again on the child's ring);
    /// received data a stream held is dropped and reported as an error (`EIO`) on its next
    /// read; orphans go.
    pub(super) fn after_fork(&mut self, to_wake: &mut Vec<Waker>) -> Net {
        let mut socks = std::mem::take(&mut self.socks);
        socks.retain(|_, s| s.flags & ORPHAN == 0);
        for (_, s) in socks.iter_mut() {
            // Their waits were on the parent's ring: poll again (and arm on this one).
            to_wake.extend(s.waker.take());
            to_wake.extend(s.write_waker.take());
            s.flags &= !(ARMED | CANCELLING | SHUT_PENDING);
            if s.send != NO_SEND {
                s.send = NO_SEND;
                s.next = NO_SEND;
                s.send_err = libc::EIO;
            }
            if s.held > 0 && s.err == 0 {
                s.err = libc::EIO;
            }
            s.held = 0;
            s.head = NIL;
            s.tail = NIL;
            s.off = 0;
        }
        let mut listens = std::mem::take(&mut self.listens);
        listens.retain(|_, l| l.flags & ORPHAN == 0);
        for (_, l) in listens.iter_mut() {
            l.flags &= !(ARMED | CANCELLING);
            to_wake.extend(l.waker.take());
        }
        // The sends' buffers are this process's copies: free to go.
        Net {
            socks,
            listens,
            ..Net::default()
        }
    }

    /// Gives the pool and the send buffers up without freeing them (the kernel may still
    /// use them).
    pub(super) fn leak(&mut self) {
        std::mem::forget(self.pool.take());
        std::mem::forget(std::mem::take(&mut self.sends));
    }
}

/// One step of a read in ring mode.
#[derive(Debug)]
pub(crate) enum Step<T> {
    /// Finished.
    Done(io::Result<T>),
    /// Wait for a completion (the waker is stored).
    Wait,
    /// The pool is empty and data may wait in the socket: read it directly, then call
    /// [`Uring::drained`] if the socket had none.
    Direct,
}

/// The error of an `errno` from a completion.
fn os_error(errno: i32) -> io::Error {
    io::Error::from_raw_os_error(errno)
}

impl Uring {
    /// The pool, made at the first call; `false` if it cannot be (the caller stays on
    /// readiness).
    pub(crate) fn net_ready(&mut self) -> bool {
        if self.net.pool.is_some() {
            return true;
        }
        if self.net.pool_failed {
            return false;
        }
        match Pool::new(&self.ring) {
            Ok(pool) => {
                self.net.pool = Some(pool);
                true
            }
            Err(_) => {
                self.net.pool_failed = true;
                false
            }
        }
    }

    /// Sockets in ring mode (orphans included) and buffers they hold.
    pub(crate) fn net_counts(&self) -> (usize, usize) {
        let held = self
            .net
            .pool
            .as_ref()
            .map_or(0, |p| usize::from(BUF_COUNT - p.free));
        (self.net.socks.len() + self.net.listens.len(), held)
    }

    /// A new stream entry for `fd`; returns its slot.
    pub(crate) fn open_stream(&mut self, fd: RawFd) -> u32 {
        self.net.socks.insert(Sock {
            waker: None,
            write_waker: None,
            send: NO_SEND,
            next: NO_SEND,
            send_err: 0,
            fd,
            err: 0,
            head: NIL,
            tail: NIL,
            held: 0,
            off: 0,
            flags: 0,
        }) as u32
    }

    /// A new listener entry for `fd`; returns its slot (with [`LISTENER`] set).
    pub(crate) fn open_listener(&mut self, fd: RawFd) -> u32 {
        self.net.listens.insert(Listen {
            waker: None,
            fd,
            err: 0,
            flags: 0,
            queue: VecDeque::new(),
        }) as u32
            | LISTENER
    }

    /// Arms the multishot recv of stream `slot`.
    fn arm_recv(&mut self, slot: usize) -> io::Result<()> {
        let fd = self.net.socks[slot].fd;
        let sqe = opcode::RecvMulti::new(types::Fd(fd), BGID)
            .build()
            .user_data((TAG_RECV << TAG_SHIFT) | slot as u64);
        self.push(&sqe)?;
        let sock = &mut self.net.socks[slot];
        sock.flags = (sock.flags | ARMED) & !STARVED;
        Ok(())
    }

    /// Arms the multishot accept of listener `slot`.
    fn arm_accept(&mut self, slot: usize) -> io::Result<()> {
        let fd = self.net.listens[slot].fd;
        let sqe = opcode::AcceptMulti::new(types::Fd(fd))
            .flags(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC)
            .build()
            .user_data((TAG_ACCEPT << TAG_SHIFT) | slot as u64);
        self.push(&sqe)?;
        self.net.listens[slot].flags |= ARMED;
        Ok(())
    }

    /// Queues a cancel of the multishot operation `user_data`.
    /// The wait's timeout, shortened to the first [`LINGER`] deadline while a dropped
    /// stream's sends wait (no clock read otherwise).
    pub(super) fn linger_timeout(&self, timeout: Option<Duration>) -> Option<Duration> {
        let Some(&(deadline, ..)) = self.net.lingering.front() else {
            return timeout;
        };
        let left = deadline.saturating_duration_since(Instant::now());
        Some(timeout.map_or(left, |t| t.min(left)))
    }

    /// Cancels the sends of dropped streams past their [`LINGER`] deadline (the
    /// completions then free the entries and close the duplicates; the cancels leave with
    /// the next turn's enter) and forgets streams whose sends ended on their own. A
    /// recorded stream is recognised by its slot and duplicate descriptor: should both
    /// have been reused by a stream dropped later, that one's sends are cancelled up to
    /// [`LINGER`] early, never late.
    pub(super) fn end_lingering(&mut self) {
        if self.net.lingering.is_empty() {
            return;
        }
        let now = Instant::now();
        while let Some(&(deadline, slot, fd)) = self.net.lingering.front() {
            let send = self
                .net
                .socks
                .get(slot as usize)
                .filter(|s| s.flags & (ORPHAN | OWN_FD) == ORPHAN | OWN_FD && s.fd == fd)
                .map(|s| s.send);
            if send.is_some() && deadline > now {
                break;
            }
            self.net.lingering.pop_front();
            if let Some(send) = send.filter(|&i| i != NO_SEND) {
                self.net.socks[slot as usize].flags |= LINGERED;
                self.cancel_multishot((TAG_SEND << TAG_SHIFT) | u64::from(send));
            }
        }
    }

    fn cancel_multishot(&mut self, user_data: u64) -> bool {
        let sqe = opcode::AsyncCancel::new(user_data)
            .build()
            .user_data(CANCEL_TOKEN);
        self.push(&sqe).is_ok()
    }

    /// A completion of stream `slot`'s recv.
    pub(super) fn recv_done(
        &mut self,
        slot: usize,
        res: i32,
        flags: u32,
        to_wake: &mut Vec<Waker>,
    ) {
        let Some(pool) = self.net.pool.as_mut() else {
            return;
        };
        let bid = cqueue::buffer_select(flags);
        let Some(sock) = self.net.socks.get_mut(slot) else {
            // Not reachable (an entry lives until its recv's last completion), but a
            // buffer must never be lost.
            if let Some(bid) = bid {
                pool.free -= 1;
                pool.provide(bid);
            }
            return;
        };
        if let Some(bid) = bid {
            pool.free -= 1;
            if res > 0 && sock.flags & ORPHAN == 0 {
                pool.len[usize::from(bid)] = res as u16;
                pool.next[usize::from(bid)] = NIL;
                if sock.held == 0 {
                    sock.head = bid;
                    sock.off = 0;
                } else {
                    pool.next[usize::from(sock.tail)] = bid;
                }
                sock.tail = bid;
                sock.held += 1;
            } else {
                pool.provide(bid);
            }
        }
        let more = cqueue::more(flags);
        if !more {
            sock.flags &= !(ARMED | CANCELLING);
        }
        match res {
            0 => sock.flags |= EOF,
            r if r > 0 => {}
            r if -r == libc::ENOBUFS => sock.flags |= STARVED,
            r if -r == libc::ECANCELED => {}
            r => {
                if sock.err == 0 {
                    sock.err = -r;
                }
            }
        }
        if sock.flags & ORPHAN != 0 {
            if sock.idle() {
                self.remove_sock(slot);
            }
            return;
        }
        let pause = more && sock.held >= MAX_HELD && sock.flags & CANCELLING == 0;
        to_wake.extend(sock.waker.take());
        if pause && self.cancel_multishot((TAG_RECV << TAG_SHIFT) | slot as u64) {
            self.net.socks[slot].flags |= CANCELLING;
        }
    }

    /// A completion of listener `slot`'s accept.
    pub(super) fn accept_done(
        &mut self,
        slot: usize,
        res: i32,
        flags: u32,
        to_wake: &mut Vec<Waker>,
    ) {
        // SAFETY: the completion of an accept: `res` (when not negative) is a new
        // descriptor that nobody else has seen.
        let fd = (res >= 0).then(|| unsafe { OwnedFd::from_raw_fd(res) });
        let Some(listen) = self.net.listens.get_mut(slot) else {
            return; // `fd` closes.
        };
        if let Some(fd) = fd {
            if listen.flags & ORPHAN == 0 {
                listen.queue.push_back(fd);
            }
        } else if -res != libc::ECANCELED && listen.err == 0 {
            listen.err = -res;
        }
        let more = cqueue::more(flags);
        if !more {
            listen.flags &= !(ARMED | CANCELLING);
        }
        if listen.flags & ORPHAN != 0 {
            if listen.flags & ARMED == 0 {
                self.net.listens.remove(slot);
            }
            return;
        }
        let pause = more && listen.queue.len() >= ACCEPT_QUEUE && listen.flags & CANCELLING == 0;
        to_wake.extend(listen.waker.take());
        if pause && self.cancel_multishot((TAG_ACCEPT << TAG_SHIFT) | slot as u64) {
            self.net.listens[slot].flags |= CANCELLING;
        }
    }

    /// Stores `waker` as the one of the entry that waits.
    fn store(slot: &mut Option<Waker>, waker: &Waker) {
        match slot {
            Some(w) if w.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
    }

    /// Arms stream `slot`'s recv if it is not armed and may be: it holds fewer than
    /// [`MAX_HELD`] buffers, has not seen its end or an error, and the ring has buffers
    /// (or it is not starved).
    fn maybe_arm(&mut self, slot: usize) -> io::Result<()> {
        if !self.net_ready() {
            return Err(io::Error::other(
                "solo-io: the io_uring driver cannot make its receive buffers (after a fork?)",
            ));
        }
        let free = self.net.pool.as_ref().map_or(0, |p| p.free);
        let sock = &self.net.socks[slot];
        if sock.flags & (ARMED | EOF) != 0 || sock.err != 0 || sock.held >= MAX_HELD {
            return Ok(());
        }
        if sock.flags & STARVED != 0 && free == 0 {
            return Ok(());
        }
        self.arm_recv(slot)
    }

    /// The end of `poll_read` and `poll_peek` when stream `slot` holds no data: its
    /// error, its end, a direct read (starved while the ring is empty), or a wait for its
    /// recv (armed if it is not).
    fn nothing_held(&mut self, slot: usize, waker: &Waker) -> Step<usize> {
        let free = self.net.pool.as_ref().map_or(0, |p| p.free);
        let sock = &mut self.net.socks[slot];
        if sock.err != 0 {
            let err = std::mem::take(&mut sock.err);
            return Step::Done(Err(os_error(err)));
        }
        if sock.flags & EOF != 0 {
            return Step::Done(Ok(0));
        }
        if sock.flags & STARVED != 0 && free == 0 {
            return Step::Direct;
        }
        if let Err(e) = self.maybe_arm(slot) {
            return Step::Done(Err(e));
        }
        Self::store(&mut self.net.socks[slot].waker, waker);
        Step::Wait
    }

    /// `poll_read` of stream `slot`: copies held data into `bufs` (giving consumed
    /// buffers back to the ring), else reports the end or an error, else waits.
    pub(crate) fn poll_read(
        &mut self,
        slot: u32,
        waker: &Waker,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Step<usize> {
        let slot = slot as usize;
        if bufs.iter().all(|b| b.is_empty()) {
            return Step::Done(Ok(0));
        }
        // Made again after a `fork` (the child's ring has none yet).
        self.net_ready();
        let Some(pool) = self.net.pool.as_mut() else {
            return Step::Done(Err(io::Error::other(
                "solo-io: the io_uring driver cannot make its receive buffers (after a fork?)",
            )));
        };
        let sock = &mut self.net.socks[slot];
        if sock.held > 0 {
            let mut n = 0;
            'bufs: for buf in bufs.iter_mut() {
                let mut at = 0;
                while at < buf.len() {
                    if sock.held == 0 {
                        break 'bufs;
                    }
                    let bid = sock.head;
                    let data = pool.data(bid, sock.off);
                    let take = data.len().min(buf.len() - at);
                    buf[at..at + take].copy_from_slice(&data[..take]);
                    at += take;
                    n += take;
                    sock.off += take as u16;
                    if take == data.len() {
                        sock.head = pool.next[usize::from(bid)];
                        sock.held -= 1;
                        sock.off = 0;
                        pool.provide(bid);
                    }
                }
            }
            // Keep data flowing while the reader reads (its recv may have paused).
            if let Err(e) = self.maybe_arm(slot) {
                let sock = &mut self.net.socks[slot];
                if sock.err == 0 {
                    sock.err = e.raw_os_error().unwrap_or(libc::EIO);
                }
            }
            return Step::Done(Ok(n));
        }
        self.nothing_held(slot, waker)
    }

    /// A direct read of starved stream `slot` found the socket empty: wait for its recv,
    /// armed now even with an empty ring (it ends with `ENOBUFS` again, and wakes the
    /// reader, only when data arrives).
    pub(crate) fn drained(&mut self, slot: u32, waker: &Waker) -> io::Result<()> {
        let slot = slot as usize;
        if self.net.socks[slot].flags & ARMED == 0 {
            self.arm_recv(slot)?;
        }
        Self::store(&mut self.net.socks[slot].waker, waker);
        Ok(())
    }

    /// Queues a send of what is left of send `index` (`MSG_WAITALL`: the kernel sends it
    /// all unless an error stops it; `MSG_NOSIGNAL`: never `SIGPIPE`).
    fn submit_send(&mut self, index: usize) -> io::Result<()> {
        let op = &self.net.sends[index];
        let fd = self.net.socks[op.slot as usize].fd;
        let data = &op.buf[op.off..];
        let sqe = opcode::Send::new(types::Fd(fd), data.as_ptr(), data.len() as u32)
            .flags(libc::MSG_NOSIGNAL | libc::MSG_WAITALL)
            .build()
            .user_data((TAG_SEND << TAG_SHIFT) | index as u64);
        self.push(&sqe)
    }

    /// `poll_write` of stream `slot`: copies up to [`SEND_MAX`] bytes of `bufs` into a
    /// driver-owned buffer and returns the count. With no send in flight the buffer's
    /// send is queued at once (it leaves with the turn's one `io_uring_enter`); with one
    /// in flight, writes gather in a second buffer (up to [`SEND_MAX`]), sent when the
    /// first completes; beyond that a write waits. An error of a send is reported by the
    /// next write or flush.
    pub(crate) fn poll_write(
        &mut self,
        slot: u32,
        waker: &Waker,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let slot = slot as usize;
        let sock = &mut self.net.socks[slot];
        if sock.send_err != 0 {
            return Poll::Ready(Err(os_error(std::mem::take(&mut sock.send_err))));
        }
        if bufs.iter().all(|b| b.is_empty()) {
            return Poll::Ready(Ok(0));
        }
        let (in_flight, next) = (sock.send, sock.next);
        let index = if next != NO_SEND {
            if self.net.sends[next as usize].buf.len() >= SEND_MAX {
                Self::store(&mut self.net.socks[slot].write_waker, waker);
                return Poll::Pending;
            }
            next as usize
        } else {
            let mut buf = self.net.free_sends.pop().unwrap_or_default();
            buf.clear();
            self.net.sends.insert(SendOp {
                buf,
                off: 0,
                slot: slot as u32,
            })
        };
        let buf = &mut self.net.sends[index].buf;
        let before = buf.len();
        for b in bufs {
            let take = b.len().min(SEND_MAX - buf.len());
            buf.extend_from_slice(&b[..take]);
            if buf.len() == SEND_MAX {
                break;
            }
        }
        let n = buf.len() - before;
        if in_flight != NO_SEND {
            self.net.socks[slot].next = index as u32;
            return Poll::Ready(Ok(n));
        }
        if let Err(e) = self.submit_send(index) {
            let op = self.net.sends.remove(index);
            self.keep_send_buf(op.buf);
            return Poll::Ready(Err(e));
        }
        self.net.socks[slot].send = index as u32;
        Poll::Ready(Ok(n))
    }

    /// `poll_flush` of stream `slot`: waits until everything written was sent; the error
    /// of a send, if any.
    pub(crate) fn poll_flush(&mut self, slot: u32, waker: &Waker) -> Poll<io::Result<()>> {
        let sock = &mut self.net.socks[slot as usize];
        if sock.send != NO_SEND {
            Self::store(&mut sock.write_waker, waker);
            return Poll::Pending;
        }
        if sock.send_err != 0 {
            return Poll::Ready(Err(os_error(std::mem::take(&mut sock.send_err))));
        }
        Poll::Ready(Ok(()))
    }

    /// `shutdown(Write)` of stream `slot`: `true` if it must wait for sends in flight
    /// (the driver shuts the socket when the last completes, so the end follows the
    /// data); `false` if the caller shuts it now.
    pub(crate) fn defer_shutdown(&mut self, slot: u32) -> bool {
        let sock = &mut self.net.socks[slot as usize];
        if sock.send == NO_SEND {
            return false;
        }
        sock.flags |= SHUT_PENDING;
        true
    }

    /// Whether stream `slot` has a send in flight; if so, `waker` waits for the last one.
    pub(crate) fn send_in_flight(&mut self, slot: u32, waker: &Waker) -> bool {
        let sock = &mut self.net.socks[slot as usize];
        if sock.send == NO_SEND {
            return false;
        }
        Self::store(&mut sock.write_waker, waker);
        true
    }

    /// Keeps a send buffer for reuse unless enough are kept.
    fn keep_send_buf(&mut self, buf: Vec<u8>) {
        if self.net.free_sends.len() < FREE_SENDS && buf.capacity() <= 2 * SEND_MAX {
            self.net.free_sends.push(buf);
        }
    }

    /// Removes stream entry `slot` (an idle orphan, or a released idle stream), closing
    /// the driver's duplicate of its descriptor if it has one.
    fn remove_sock(&mut self, slot: usize) {
        let sock = self.net.socks.remove(slot);
        if sock.flags & OWN_FD != 0 {
            // SAFETY: the duplicate `release` made, owned by this entry alone, and no
            // operation of it is in flight (the entry is idle).
            drop(unsafe { OwnedFd::from_raw_fd(sock.fd) });
        }
    }

    /// A completion of send `index`: a short send (an error or a signal stopped
    /// `MSG_WAITALL`) is resubmitted for the rest; then the next buffer, if writes
    /// gathered one, is sent; when nothing is left, a deferred shutdown is done. An error
    /// drops what was gathered after it and is reported by the next write or flush.
    pub(super) fn send_done(&mut self, index: usize, res: i32, to_wake: &mut Vec<Waker>) {
        let Some(op) = self.net.sends.get_mut(index) else {
            return;
        };
        let slot = op.slot as usize;
        let lingered = self
            .net
            .socks
            .get(slot)
            .is_some_and(|s| s.flags & LINGERED != 0);
        if res > 0 && op.off + (res as usize) < op.buf.len() && !lingered {
            op.off += res as usize;
            if self.submit_send(index).is_ok() {
                return;
            }
        }
        let op = self.net.sends.remove(index);
        let sent_all = res >= 0 && op.off + (res as usize) >= op.buf.len();
        self.keep_send_buf(op.buf);
        let Some(sock) = self.net.socks.get_mut(slot) else {
            return;
        };
        sock.send = NO_SEND;
        let next = std::mem::replace(&mut sock.next, NO_SEND);
        if !sent_all {
            if sock.send_err == 0 {
                sock.send_err = if res < 0 { -res } else { libc::EPIPE };
            }
            if next != NO_SEND {
                let op = self.net.sends.remove(next as usize);
                self.keep_send_buf(op.buf);
            }
        } else if next != NO_SEND {
            match self.submit_send(next as usize) {
                Ok(()) => self.net.socks[slot].send = next,
                Err(e) => {
                    let op = self.net.sends.remove(next as usize);
                    self.keep_send_buf(op.buf);
                    self.net.socks[slot].send_err = e.raw_os_error().unwrap_or(libc::EIO);
                }
            }
        }
        let sock = &mut self.net.socks[slot];
        if sock.send != NO_SEND {
            return;
        }
        if sock.flags & ORPHAN != 0 {
            if sock.idle() {
                self.remove_sock(slot);
            }
            return;
        }
        if sock.flags & SHUT_PENDING != 0 {
            sock.flags &= !SHUT_PENDING;
            // SAFETY: the stream's descriptor: open while its handle lives (not an
            // orphan), and shutdown neither closes nor reuses it.
            let shut = unsafe { libc::shutdown(sock.fd, libc::SHUT_WR) };
            if shut != 0 && sock.send_err == 0 {
                let e = io::Error::last_os_error()
                    .raw_os_error()
                    .unwrap_or(libc::EIO);
                if e != libc::ENOTCONN {
                    sock.send_err = e;
                }
            }
        }
        to_wake.extend(sock.write_waker.take());
    }

    /// Arms stream `slot`'s recv after a direct read (an error is kept for the next read).
    pub(crate) fn arm_after_direct(&mut self, slot: u32) {
        let slot = slot as usize;
        if let Err(e) = self.maybe_arm(slot) {
            let sock = &mut self.net.socks[slot];
            sock.err = e.raw_os_error().unwrap_or(libc::EIO);
        }
    }

    /// `peek` of stream `slot`: copies held data without consuming it.
    pub(crate) fn poll_peek(&mut self, slot: u32, waker: &Waker, buf: &mut [u8]) -> Step<usize> {
        let slot = slot as usize;
        self.net_ready();
        let Some(pool) = self.net.pool.as_ref() else {
            return Step::Done(Err(io::Error::other(
                "solo-io: the io_uring driver cannot make its receive buffers (after a fork?)",
            )));
        };
        let sock = &mut self.net.socks[slot];
        if sock.held > 0 {
            let (mut n, mut bid, mut off, mut left) = (0, sock.head, sock.off, sock.held);
            while left > 0 && n < buf.len() {
                let data = pool.data(bid, off);
                let take = data.len().min(buf.len() - n);
                buf[n..n + take].copy_from_slice(&data[..take]);
                n += take;
                bid = pool.next[usize::from(bid)];
                off = 0;
                left -= 1;
            }
            return Step::Done(Ok(n));
        }
        self.nothing_held(slot, waker)
    }

    /// `readable()` of stream `slot`: ready when data is held, the end or an error is
    /// pending, or (starved, with an empty ring) data may wait in the socket.
    pub(crate) fn poll_readable(&mut self, slot: u32, waker: &Waker) -> Poll<io::Result<()>> {
        let slot = slot as usize;
        let free = self.net.pool.as_ref().map_or(0, |p| p.free);
        let sock = &self.net.socks[slot];
        if sock.held > 0 || sock.err != 0 || sock.flags & EOF != 0 {
            return Poll::Ready(Ok(()));
        }
        if sock.flags & STARVED != 0 && free == 0 {
            return Poll::Ready(Ok(()));
        }
        if let Err(e) = self.maybe_arm(slot) {
            return Poll::Ready(Err(e));
        }
        Self::store(&mut self.net.socks[slot].waker, waker);
        Poll::Pending
    }

    /// `poll_accept` of listener `slot`: a queued connection, an error, or wait.
    pub(crate) fn poll_accept(&mut self, slot: u32, waker: &Waker) -> Poll<io::Result<OwnedFd>> {
        let slot = (slot & !LISTENER) as usize;
        let listen = &mut self.net.listens[slot];
        let taken = listen.queue.pop_front();
        let (queued, flags) = (listen.queue.len(), listen.flags);
        if taken.is_none() && listen.err != 0 {
            let err = std::mem::take(&mut listen.err);
            return Poll::Ready(Err(os_error(err)));
        }
        if flags & ARMED == 0 && queued < ACCEPT_QUEUE && listen.err == 0 {
            if let Err(e) = self.arm_accept(slot) {
                if let Some(fd) = taken {
                    return Poll::Ready(Ok(fd));
                }
                return Poll::Ready(Err(e));
            }
        }
        match taken {
            Some(fd) => Poll::Ready(Ok(fd)),
            None => {
                Self::store(&mut self.net.listens[slot].waker, waker);
                Poll::Pending
            }
        }
    }

    /// The handle of `slot` is gone: held buffers go back to the ring and queued
    /// connections close now; an armed operation is cancelled and the entry reclaimed at
    /// its last completion.
    pub(crate) fn release(&mut self, slot: u32) {
        if slot & LISTENER != 0 {
            let slot = (slot & !LISTENER) as usize;
            let Some(listen) = self.net.listens.get_mut(slot) else {
                return;
            };
            listen.queue.clear();
            listen.waker = None;
            if listen.flags & ARMED == 0 {
                self.net.listens.remove(slot);
                return;
            }
            listen.flags |= ORPHAN;
            if listen.flags & CANCELLING == 0 {
                listen.flags |= CANCELLING;
                self.cancel_multishot((TAG_ACCEPT << TAG_SHIFT) | slot as u64);
            }
            self.cancel_now();
            return;
        }
        let slot = slot as usize;
        let Some(sock) = self.net.socks.get_mut(slot) else {
            return;
        };
        if let Some(pool) = self.net.pool.as_mut() {
            while sock.held > 0 {
                let bid = sock.head;
                sock.head = pool.next[usize::from(bid)];
                sock.held -= 1;
                pool.provide(bid);
            }
        }
        sock.waker = None;
        sock.write_waker = None;
        if sock.idle() {
            self.remove_sock(slot);
            return;
        }
        // Sends in flight complete (what a write accepted is delivered, as `close`
        // delivers what the socket's buffer holds); then the entry goes. They may need
        // the descriptor after the handle closes it (the gathered second buffer, the rest
        // of a short send): the entry keeps a duplicate of its own, closed with it.
        if sock.send != NO_SEND && sock.flags & OWN_FD == 0 {
            // SAFETY: `fcntl(F_DUPFD_CLOEXEC)` on the stream's descriptor, still open
            // (its handle closes it after this call).
            let dup = unsafe { libc::fcntl(sock.fd, libc::F_DUPFD_CLOEXEC, 0) };
            if dup >= 0 {
                sock.fd = dup;
                sock.flags |= OWN_FD;
                self.net
                    .lingering
                    .push_back((Instant::now() + LINGER, slot as u32, dup));
            } else if sock.next != NO_SEND {
                // No descriptor left: what was gathered cannot be sent.
                let next = std::mem::replace(&mut sock.next, NO_SEND);
                let op = self.net.sends.remove(next as usize);
                self.keep_send_buf(op.buf);
            }
        }
        let sock = &mut self.net.socks[slot];
        sock.flags |= ORPHAN;
        if sock.flags & (ARMED | CANCELLING) == ARMED {
            sock.flags |= CANCELLING;
            self.cancel_multishot((TAG_RECV << TAG_SHIFT) | slot as u64);
        }
        // Before the caller closes the descriptor: an entry still queued names it by
        // number, which a later socket could reuse.
        self.cancel_now();
    }

    /// Submits what is queued and runs the ring's deferred work now, without waiting: an
    /// entry naming the descriptor about to be closed (a send, a recv) is submitted while
    /// the number is still the socket's, and a cancelled operation drops its reference to
    /// the socket, so a dropped stream's connection closes (its FIN or RST leaves) at
    /// once, not at the loop's next turn, which a program that drops a stream and then
    /// blocks would never reach. One system call per stream dropped with an operation in
    /// flight; completions stay queued for the next turn.
    fn cancel_now(&mut self) {
        let ts = types::Timespec::new();
        let args = types::SubmitArgs::new().timespec(&ts);
        // Errors (ETIME: nothing completed yet) change nothing: the next turn submits
        // whatever was not.
        let _ = self.ring.submitter().submit_with_args(1, &args);
        // Reap now: an orphan whose operations just ended goes (closing the duplicate
        // descriptor it kept for its sends, which ends the connection); the wakers of
        // other completions wait for the next turn.
        let mut later = std::mem::take(&mut self.wake_later);
        let epoll_ready = self.reap(&mut later);
        self.epoll_pending |= epoll_ready;
        self.wake_later = later;
    }

    /// The handle of `slot` leaves ring mode (`into_std`): its operation is cancelled and
    /// its last completion awaited here (other completions reaped meanwhile wake their
    /// tasks through `to_wake`), then the entry goes. Fails if a stream still holds
    /// received bytes, which the `std` socket would not see.
    pub(crate) fn detach(&mut self, slot: u32, to_wake: &mut Vec<Waker>) -> io::Result<()> {
        let (armed, user_data) = if slot & LISTENER != 0 {
            let index = (slot & !LISTENER) as usize;
            (
                self.net.listens[index].flags,
                (TAG_ACCEPT << TAG_SHIFT) | index as u64,
            )
        } else {
            (
                self.net.socks[slot as usize].flags,
                (TAG_RECV << TAG_SHIFT) | u64::from(slot),
            )
        };
        if armed & ARMED != 0 && armed & CANCELLING == 0 {
            self.cancel_multishot(user_data);
        }
        let still_armed = |net: &Net| {
            if slot & LISTENER != 0 {
                net.listens[(slot & !LISTENER) as usize].flags & ARMED != 0
            } else {
                !net.socks[slot as usize].idle()
            }
        };
        for _ in 0..500 {
            if !still_armed(&self.net) {
                break;
            }
            self.turn_ops(Some(std::time::Duration::from_millis(10)), to_wake)?;
        }
        if still_armed(&self.net) {
            // Cannot happen with a working kernel (a recv cancels at once); keep the
            // entry, as an orphan, rather than free what the kernel may still write.
            self.release(slot);
            return Err(io::Error::other(
                "solo-io: into_std: the socket's ring operations (a receive cancelled, or a \
                 send the peer does not take) did not end within 5 s",
            ));
        }
        let held = if slot & LISTENER != 0 {
            0
        } else {
            let sock = &self.net.socks[slot as usize];
            let pool = self.net.pool.as_ref();
            let mut bytes = 0;
            let (mut bid, mut off) = (sock.head, sock.off);
            for _ in 0..sock.held {
                bytes += pool.map_or(0, |p| p.data(bid, off).len());
                bid = pool.map_or(NIL, |p| p.next[usize::from(bid)]);
                off = 0;
            }
            bytes
        };
        self.release(slot);
        if held > 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "solo-io: into_std: {held} received bytes were still buffered by the \
                     io_uring driver and are lost; read them before into_std"
                ),
            ));
        }
        Ok(())
    }
}

// ------------------------------------------------------------- the handles' hooks

/// Runs one ring-mode step of a read-like operation on `io`, with `direct` as the plain
/// system call for a starved stream (see [`Step::Direct`]).
fn drive<B: ?Sized, R>(
    r: &Reactor,
    uring: &std::cell::RefCell<Uring>,
    slot: u32,
    waker: &Waker,
    buf: &mut B,
    mut step: impl FnMut(&mut Uring, &mut B) -> Step<R>,
    mut direct: impl FnMut(&mut B) -> io::Result<R>,
) -> Poll<io::Result<R>> {
    loop {
        let next = step(&mut uring.borrow_mut(), buf);
        match next {
            Step::Done(res) => return Poll::Ready(res),
            Step::Wait => {
                r.assert_driven();
                return Poll::Pending;
            }
            Step::Direct => match direct(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if let Err(e) = uring.borrow_mut().drained(slot, waker) {
                        return Poll::Ready(Err(e));
                    }
                    r.assert_driven();
                    return Poll::Pending;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                res => return Poll::Ready(res),
            },
        }
    }
}

/// `poll_read` of a TCP stream on the io_uring driver: `None` when the stream stays on
/// readiness (another driver, no loop running and not yet in ring mode, or no pool on
/// this kernel).
///
/// A stream not yet in ring mode first reads directly (a new connection's request is
/// often there already: no loop turn is lost waiting for a completion); once the socket
/// is drained (`WouldBlock`, or a short read) the stream enters ring mode and its recv is
/// armed, so later data arrives as completions.
pub(crate) fn stream_poll_read(
    io: &Async<TcpStream>,
    cx: &mut Context<'_>,
    bufs: &mut [IoSliceMut<'_>],
) -> Option<Poll<io::Result<usize>>> {
    Reactor::with(|r| {
        let uring = r.uring_owned()?;
        let cell = io.ring_slot();
        let mut slot = cell.get();
        if slot == NO_SLOT {
            if !r.is_driven() || !uring.borrow_mut().net_ready() {
                return None;
            }
            let want: usize = bufs.iter().map(|b| b.len()).sum();
            let direct = loop {
                match io.get_ref().read_vectored(bufs) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    res => break res,
                }
            };
            let ready = match direct {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
                // Short: drained, so the ring takes over now. Full, end of file, an
                // error: that is the answer, and the stream stays as it is for now.
                Ok(n) if n > 0 && n < want => Some(Ok(n)),
                res => return Some(Poll::Ready(res)),
            };
            slot = uring
                .borrow_mut()
                .open_stream(io.get_ref().source().as_raw_fd());
            cell.set(slot);
            // Reads now arrive as completions: epoll watches writability only. Should the
            // change fail, arrivals only cost spurious epoll events.
            let _ = r.set_interest(io.key(), io.get_ref().source(), Interest::WRITABLE);
            if let Some(res) = ready {
                // Arm now, so that what comes next is received while this is handled;
                // an error here shows at the next read.
                uring.borrow_mut().arm_after_direct(slot);
                return Some(Poll::Ready(res));
            }
        }
        Some(drive(
            r,
            uring,
            slot,
            cx.waker(),
            bufs,
            |u, bufs| u.poll_read(slot, cx.waker(), bufs),
            |bufs| io.get_ref().read_vectored(bufs),
        ))
    })
}

/// `poll_write` of a TCP stream on the io_uring driver (see [`Uring::poll_write`]):
/// `None` when it writes directly (another driver; no loop running and nothing in flight).
/// The first call under the loop puts the stream in ring mode.
pub(crate) fn stream_poll_write(
    io: &Async<TcpStream>,
    cx: &mut Context<'_>,
    bufs: &[io::IoSlice<'_>],
) -> Option<Poll<io::Result<usize>>> {
    Reactor::with(|r| {
        let uring = r.uring_owned()?;
        let cell = io.ring_slot();
        let mut slot = cell.get();
        if slot == NO_SLOT {
            if !r.is_driven() || !uring.borrow_mut().net_ready() {
                return None;
            }
            slot = uring
                .borrow_mut()
                .open_stream(io.get_ref().source().as_raw_fd());
            cell.set(slot);
            let _ = r.set_interest(io.key(), io.get_ref().source(), Interest::WRITABLE);
        } else if !r.is_driven() && !uring.borrow_mut().send_in_flight(slot, cx.waker()) {
            // No loop would submit a queued send: write directly (nothing is in flight,
            // so nothing is reordered).
            return None;
        }
        let polled = uring.borrow_mut().poll_write(slot, cx.waker(), bufs);
        if polled.is_pending() {
            r.assert_driven();
        }
        Some(polled)
    })
}

/// `poll_flush` of a TCP stream in ring mode: waits for its send in flight (`None`: not
/// in ring mode, nothing to flush).
pub(crate) fn stream_poll_flush(
    io: &Async<TcpStream>,
    cx: &mut Context<'_>,
) -> Option<Poll<io::Result<()>>> {
    let slot = io.ring_slot().get();
    if slot == NO_SLOT {
        return None;
    }
    Reactor::with(|r| {
        let uring = r.uring_owned()?;
        let polled = uring.borrow_mut().poll_flush(slot, cx.waker());
        if polled.is_pending() {
            r.assert_driven();
        }
        Some(polled)
    })
}

/// Whether a TCP stream in ring mode has a send in flight (then `cx` is woken when it
/// completes): `writable()` and `sendfile` wait for it, so nothing is reordered.
pub(crate) fn stream_send_in_flight(io: &Async<TcpStream>, cx: &mut Context<'_>) -> bool {
    let slot = io.ring_slot().get();
    if slot == NO_SLOT {
        return false;
    }
    Reactor::with(|r| {
        let Some(uring) = r.uring_owned() else {
            return false;
        };
        let waiting = uring.borrow_mut().send_in_flight(slot, cx.waker());
        if waiting {
            r.assert_driven();
        }
        waiting
    })
}

/// `shutdown` of the write side of a TCP stream in ring mode with a send in flight: the
/// driver shuts it when the send completes. `false`: the caller shuts it now.
pub(crate) fn stream_defer_shutdown(io: &Async<TcpStream>) -> bool {
    let slot = io.ring_slot().get();
    if slot == NO_SLOT {
        return false;
    }
    Reactor::with(|r| {
        r.uring_owned()
            .is_some_and(|u| u.borrow_mut().defer_shutdown(slot))
    })
}

/// `peek` of a TCP stream in ring mode (`None`: not in ring mode).
pub(crate) fn stream_poll_peek(
    io: &Async<TcpStream>,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Option<Poll<io::Result<usize>>> {
    let slot = io.ring_slot().get();
    if slot == NO_SLOT {
        return None;
    }
    Reactor::with(|r| {
        let uring = r.uring_owned()?;
        Some(drive(
            r,
            uring,
            slot,
            cx.waker(),
            buf,
            |u, buf| u.poll_peek(slot, cx.waker(), buf),
            |buf| io.get_ref().peek(buf),
        ))
    })
}

/// `readable()` of a TCP stream in ring mode (`None`: not in ring mode).
pub(crate) fn stream_poll_readable(
    io: &Async<TcpStream>,
    cx: &mut Context<'_>,
) -> Option<Poll<io::Result<()>>> {
    let slot = io.ring_slot().get();
    if slot == NO_SLOT {
        return None;
    }
    Reactor::with(|r| {
        let uring = r.uring_owned()?;
        let polled = uring.borrow_mut().poll_readable(slot, cx.waker());
        if polled.is_pending() {
            r.assert_driven();
        }
        Some(polled)
    })
}

/// `poll_accept` of a TCP listener on the io_uring driver: a new connection's descriptor
/// (non-blocking, close-on-exec), or `None` when the listener stays on readiness. The
/// first call under the loop puts the listener in ring mode.
pub(crate) fn listener_poll_accept(
    io: &Async<TcpListener>,
    cx: &mut Context<'_>,
) -> Option<Poll<io::Result<OwnedFd>>> {
    Reactor::with(|r| {
        let uring = r.uring_owned()?;
        let cell = io.ring_slot();
        let mut slot = cell.get();
        if slot == NO_SLOT {
            if !r.is_driven() {
                return None;
            }
            slot = uring
                .borrow_mut()
                .open_listener(io.get_ref().source().as_raw_fd());
            cell.set(slot);
            // Connections now arrive as completions: epoll watches nothing of it.
            let _ = r.set_interest(io.key(), io.get_ref().source(), Interest::NONE);
        }
        let polled = uring.borrow_mut().poll_accept(slot, cx.waker());
        if polled.is_pending() {
            r.assert_driven();
        }
        Some(polled)
    })
}
