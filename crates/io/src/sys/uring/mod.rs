//! The io_uring driver (Linux): the loop's one `io_uring_enter` per turn.
//!
//! The reactor keeps its [`Poller`](solo_poll::Poller) under this driver too: every
//! readiness source (`Async<T>`, `readable()`/`writable()`, signals, pidfds, anything a user
//! registers) stays registered there, edge-triggered, exactly as under the epoll driver.
//! The ring watches the **epoll descriptor itself** with a one-shot `IORING_OP_POLL_ADD`
//! re-armed in the turn after it fires: when it completes, the reactor drains the poller
//! without blocking and dispatches as usual. One-shot rather than multishot because a poll
//! armed on a descriptor that is already readable completes at once, so a backlog left in
//! epoll (more events than one drain takes) can never be missed. A [`Notifier`] still writes
//! the poller's eventfd, which makes the epoll descriptor readable, which completes the poll:
//! other threads need nothing new.
//!
//! A turn ([`Uring::turn`]) submits everything queued since the last one and waits for at
//! least one completion (or for the timeout: the timer wheel's next deadline, passed as the
//! wait's timeout, `IORING_ENTER_EXT_ARG`) in one `io_uring_enter`. A turn that must not
//! block and has nothing to submit and no completion work pending (`IORING_SQ_TASKRUN`
//! clear) costs no system call at all.
//!
//! The ring is created `SINGLE_ISSUER | DEFER_TASKRUN` where the kernel has them (6.1),
//! `COOP_TASKRUN` otherwise (5.19); `TASKRUN_FLAG` with either. Its memory is `MADV_DONTFORK`:
//! a `fork` child never sees (or writes) the parent's queues; the reactor makes a new ring
//! there ([`Uring::after_fork`]).
//!
//! # Operations
//!
//! Files use the ring natively (`fs::read`, `read_to_string`, `write`, `File::open`,
//! `File::create`, `File::sync_all`, `sync_data`, `OpenOptions::open`, `File`'s reads and
//! writes: `openat`, `read`, `write`, `fsync`) through [`Op`]s, which the
//! driver owns with their buffers until the kernel is done with them, whatever happens to
//! the future (see [`Op`] and [`Uring::cancel`]).
//!
//! TCP streams and listeners use the ring too ([`net`]): a multishot receive per stream
//! into one provided-buffer ring per thread, sends queued on the ring, a multishot accept
//! per listener. UDP and Unix sockets, and every other readiness source, stay on the
//! poller.
//!
//! # Memory per connection
//!
//! A TCP stream on the ring has a 64-byte entry in [`net`]'s table beside the reactor's
//! 56-byte registration, and no buffer while idle: 396 bytes per idle connection of the
//! demo server at 10,000 connections (321 on the epoll driver). The provided buffers are a
//! fixed 4 MiB per thread (see [`net`]).
//!
//! [`Notifier`]: crate::reactor::Notifier

use std::io;
use std::mem::ManuallyDrop;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::task::{Poll, Waker};
use std::time::Duration;

use io_uring::{IoUring, opcode, types};
use slab::Slab;

/// Submission queue entries; the completion queue gets [`CQ_ENTRIES`].
const SQ_ENTRIES: u32 = 256;
/// Room for bursts of completions (multishot operations post many per submission).
const CQ_ENTRIES: u32 = 4096;

/// `user_data` of the poll on the epoll descriptor.
const EPOLL_TOKEN: u64 = u64::MAX;
/// `user_data` of cancellations (their own completions say nothing we need).
const CANCEL_TOKEN: u64 = u64::MAX - 1;

/// The ring of one thread's reactor. See the module docs.
pub(crate) struct Uring {
    /// Dropped by hand: never in a `fork` child (see `Drop`).
    ring: ManuallyDrop<IoUring>,
    /// The process that created the ring: in a `fork` child the ring is the parent's.
    pid: u32,
    /// The ring was created with `IORING_SETUP_TASKRUN_FLAG`: the kernel says when a wait
    /// has completion work to run, so a non-blocking turn may skip the system call.
    taskrun_flag: bool,
    /// The poll on the epoll descriptor is in flight.
    epoll_armed: bool,
    /// Operations the kernel holds or whose result waits for its task; the `user_data`
    /// of each is its index. See [`Op`].
    ops: Slab<Op>,
    /// Data buffers of finished operations, reused by the next ones: no allocation per
    /// operation in steady state.
    free_bufs: Vec<Vec<u8>>,
    /// Sockets in ring mode and the provided buffers (see [`net`]).
    net: net::Net,
    /// Completions copied out of the queue by a reap (reused: no allocation per turn).
    cqes: Vec<(u64, i32, u32)>,
    /// The poll on the epoll descriptor completed during a reap outside [`Uring::turn`]
    /// (`into_std`, a dropped socket, the ring's teardown): the next turn reports it.
    epoll_pending: bool,
    /// Wakers of completions reaped where no waker may run (a socket's drop), woken by
    /// the next turn.
    wake_later: Vec<Waker>,
}

/// One operation on the ring.
///
/// The driver owns everything the kernel reads or writes for it (the data buffer, the
/// path, the descriptor it works on) from submission until its
/// completion arrives, **whether or not the future that started it still exists**: a
/// future dropped early only marks its operation `orphan` and asks the kernel to cancel
/// it; the completion then frees (or reuses) the memory and closes any descriptor the
/// operation produced. Futures copy data in before submission and out after completion.
#[derive(Debug)]
struct Op {
    /// The task waiting for the result.
    waker: Option<Waker>,
    /// The completion's result (`cqe.res`: a count, a descriptor, or `-errno`).
    result: Option<i32>,
    /// The future is gone: reclaim everything when the completion arrives.
    orphan: bool,
    /// The operation's result is a new descriptor (an open), closed if nobody takes it.
    produces_fd: bool,
    /// Data read or written, or a path with its NUL. Its heap block does not move while
    /// the `Op` moves (the slab may grow).
    buf: Vec<u8>,
    /// The descriptor the operation works on, kept open until it completes, so the
    /// number cannot be reused by another file while the kernel may still look it up.
    fd: Option<Keep>,
}

/// A descriptor lent to an operation.
#[derive(Debug)]
pub(crate) enum Keep {
    /// Owned by the future's code (`fs::read`, `fs::write`).
    Fd(OwnedFd),
    /// Shared with a `fs::File`.
    File(std::sync::Arc<std::fs::File>),
}

impl Keep {
    fn raw(&self) -> std::os::fd::RawFd {
        match self {
            Keep::Fd(fd) => fd.as_raw_fd(),
            Keep::File(file) => file.as_raw_fd(),
        }
    }
}

/// What a finished operation gives back to its future.
#[derive(Debug)]
pub(crate) struct Done {
    /// `cqe.res`, as a result.
    pub(crate) result: io::Result<u32>,
    /// The data buffer (give it back with [`Uring::recycle`]).
    pub(crate) buf: Vec<u8>,
    /// The descriptor lent to the operation.
    pub(crate) fd: Option<Keep>,
}

/// What an operation to start lends the driver.
#[derive(Debug, Default)]
pub(crate) struct Lend {
    /// The data buffer (from [`Uring::take_buf`]).
    pub(crate) buf: Vec<u8>,
    /// Whether its result is a new descriptor.
    pub(crate) produces_fd: bool,
    /// The descriptor it works on.
    pub(crate) fd: Option<Keep>,
}

/// Buffers kept for reuse, at most.
const FREE_BUFS: usize = 64;
/// A buffer larger than this is freed rather than kept.
const KEPT_BUF: usize = 256 * 1024;

impl std::fmt::Debug for Uring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uring")
            .field("fd", &self.ring.as_raw_fd())
            .field("taskrun_flag", &self.taskrun_flag)
            .field("epoll_armed", &self.epoll_armed)
            .finish()
    }
}

impl Uring {
    /// Creates a ring with the best flags this kernel takes.
    ///
    /// # Errors
    ///
    /// `ENOSYS` (no io_uring), `EPERM` (a seccomp filter, `io_uring_disabled`), `ENOMEM`
    /// (the ring's memory is refused): the caller falls back to epoll or reports it.
    pub(crate) fn new() -> io::Result<Uring> {
        let mut last = None;
        // (single issuer + deferred task work, cooperative task work): newest first.
        for (defer, coop) in [(true, false), (false, true)] {
            let mut builder = IoUring::builder();
            builder
                .dontfork()
                .setup_cqsize(CQ_ENTRIES)
                .setup_clamp()
                .setup_submit_all()
                .setup_taskrun_flag();
            if defer {
                builder.setup_single_issuer().setup_defer_taskrun();
            }
            if coop {
                builder.setup_coop_taskrun();
            }
            match builder.build(SQ_ENTRIES) {
                Ok(ring) => {
                    if !ring.params().is_feature_ext_arg() {
                        // 5.11+: needed for the wait's timeout; every kernel with the
                        // flags above has it, so this does not happen in practice.
                        return Err(io::Error::new(
                            io::ErrorKind::Unsupported,
                            "solo-io: this kernel's io_uring has no IORING_FEAT_EXT_ARG",
                        ));
                    }
                    return Ok(Uring {
                        ring: ManuallyDrop::new(ring),
                        pid: std::process::id(),
                        taskrun_flag: true,
                        epoll_armed: false,
                        ops: Slab::new(),
                        free_bufs: Vec::new(),
                        net: net::Net::default(),
                        cqes: Vec::new(),
                        epoll_pending: false,
                        wake_later: Vec::new(),
                    });
                }
                // Flags this kernel does not know: try the older set.
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::from_raw_os_error(libc::EINVAL)))
    }

    /// Queues `sqe`, submitting what is queued first if the queue is full.
    ///
    /// # Errors
    ///
    /// The submission failed, or the kernel took nothing (its completion queue is full
    /// and its overflow list too): the operation is not started.
    fn push(&mut self, sqe: &io_uring::squeue::Entry) -> io::Result<()> {
        for attempt in 0..2 {
            if attempt > 0 {
                self.submit()?;
            }
            // SAFETY: every entry pushed here points only at memory the driver owns until
            // the operation's completion arrives: an `Op`'s buffers (see `start`), a send's
            // buffer (`net::SendOp`), the provided buffers (`net::Pool`), or none (the poll
            // on the epoll descriptor, a cancellation, a multishot accept). `Drop for Uring` waits for
            // the completions (or leaks the buffers) before anything is freed.
            if unsafe { self.ring.submission().push(sqe) }.is_ok() {
                return Ok(());
            }
        }
        Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            "solo-io: the io_uring submission queue is full and the kernel takes no more",
        ))
    }

    /// Submits what is queued, if anything (no system call otherwise). For the end of a
    /// loop (see `EnterGuard`): a failure shows again at the next turn.
    pub(crate) fn submit_queued(&mut self) {
        if self.pid == std::process::id() && !self.ring.submission().is_empty() {
            let _ = self.submit();
        }
    }

    /// Submits what is queued without waiting.
    fn submit(&mut self) -> io::Result<()> {
        match self.ring.submitter().submit() {
            Ok(_) => Ok(()),
            Err(e) if is_transient(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// One turn of the loop: arms the poll on `epoll` if it is not in flight, submits
    /// everything queued, waits for a completion for at most `timeout` (`None`: no limit;
    /// zero: no wait), and reaps every completion. Returns whether the epoll descriptor
    /// became readable (the caller then drains the poller). Wakers of completed
    /// operations go to `to_wake`.
    pub(crate) fn turn(
        &mut self,
        epoll: BorrowedFd<'_>,
        timeout: Option<Duration>,
        to_wake: &mut Vec<Waker>,
    ) -> io::Result<bool> {
        if !self.epoll_armed {
            let sqe = opcode::PollAdd::new(types::Fd(epoll.as_raw_fd()), libc::POLLIN as u32)
                .build()
                .user_data(EPOLL_TOKEN);
            self.push(&sqe)?;
            self.epoll_armed = true;
        }
        let timeout = if self.epoll_pending || !self.wake_later.is_empty() {
            Some(Duration::ZERO)
        } else {
            self.linger_timeout(timeout)
        };
        to_wake.append(&mut self.wake_later);
        self.enter(timeout)?;
        let epoll_ready = self.reap(to_wake);
        self.end_lingering();
        Ok(epoll_ready)
    }

    /// Takes every completion from the queue and hands each to its operation (a file
    /// operation, a socket's recv or accept); returns whether the poll on the epoll
    /// descriptor completed (now or in a reap since the last turn).
    fn reap(&mut self, to_wake: &mut Vec<Waker>) -> bool {
        let mut cqes = std::mem::take(&mut self.cqes);
        cqes.extend(
            self.ring
                .completion()
                .map(|c| (c.user_data(), c.result(), c.flags())),
        );
        let mut epoll_ready = std::mem::take(&mut self.epoll_pending);
        for &(user_data, res, flags) in &cqes {
            match user_data {
                EPOLL_TOKEN => {
                    // Readable, or failed (then the drain finds nothing): arm again next turn.
                    self.epoll_armed = false;
                    epoll_ready = true;
                }
                CANCEL_TOKEN => {}
                token => {
                    let slot = (token & 0xffff_ffff) as usize;
                    match token >> net::TAG_SHIFT {
                        0 => self.op_done(slot, res, to_wake),
                        net::TAG_RECV => self.recv_done(slot, res, flags, to_wake),
                        net::TAG_ACCEPT => self.accept_done(slot, res, flags, to_wake),
                        net::TAG_SEND => self.send_done(slot, res, to_wake),
                        _ => {}
                    }
                }
            }
        }
        cqes.clear();
        self.cqes = cqes;
        epoll_ready
    }

    /// The completion of file operation `index`: its task is woken, or, orphaned, it is
    /// reclaimed.
    fn op_done(&mut self, index: usize, res: i32, to_wake: &mut Vec<Waker>) {
        let Some(op) = self.ops.get_mut(index) else {
            return;
        };
        if op.orphan {
            let op = self.ops.remove(index);
            reclaim(op, res, &mut self.free_bufs);
        } else {
            op.result = Some(res);
            to_wake.extend(op.waker.take());
        }
    }

    /// Operations started and not yet picked up by their futures (or, for orphans, not
    /// yet completed).
    pub(crate) fn ops(&self) -> usize {
        self.ops.len()
    }

    /// A data buffer with room for `len` bytes, empty, reused when one is free.
    pub(crate) fn take_buf(&mut self, len: usize) -> Vec<u8> {
        let mut buf = self.free_bufs.pop().unwrap_or_default();
        buf.clear();
        buf.reserve(len);
        buf
    }

    /// Gives a buffer back for reuse.
    pub(crate) fn recycle(&mut self, buf: Vec<u8>) {
        keep_buf(&mut self.free_bufs, buf);
    }

    /// Starts an operation: `lend` goes to the driver, and `build` makes its entry from
    /// the address of the lent data buffer, which stays valid and in
    /// place until the completion arrives. Returns the operation's index.
    pub(crate) fn start(
        &mut self,
        lend: Lend,
        build: impl FnOnce(types::Fd, &mut Vec<u8>) -> io_uring::squeue::Entry,
    ) -> io::Result<usize> {
        let entry = self.ops.vacant_entry();
        let index = entry.key();
        let op = entry.insert(Op {
            waker: None,
            result: None,
            orphan: false,
            produces_fd: lend.produces_fd,
            buf: lend.buf,
            fd: lend.fd,
        });
        let fd = types::Fd(op.fd.as_ref().map_or(-1, Keep::raw));
        let sqe = build(fd, &mut op.buf).user_data(index as u64);
        if let Err(e) = self.push(&sqe) {
            // Never submitted: nothing to wait for.
            let op = self.ops.remove(index);
            keep_buf(&mut self.free_bufs, op.buf);
            return Err(e);
        }
        Ok(index)
    }

    /// Polls operation `index`: its result and everything lent, once it completed.
    pub(crate) fn poll(&mut self, index: usize, waker: &Waker) -> Poll<Done> {
        let op = &mut self.ops[index];
        let Some(res) = op.result else {
            match &op.waker {
                Some(w) if w.will_wake(waker) => {}
                _ => op.waker = Some(waker.clone()),
            }
            return Poll::Pending;
        };
        let op = self.ops.remove(index);
        Poll::Ready(Done {
            result: if res < 0 {
                Err(io::Error::from_raw_os_error(-res))
            } else {
                Ok(res as u32)
            },
            buf: op.buf,
            fd: op.fd,
        })
    }

    /// Operation `index` lost its future: reclaimed now if it completed (returns
    /// `false`), otherwise marked orphan, to be reclaimed at its completion (`true`).
    fn orphan(&mut self, index: usize) -> bool {
        let op = &mut self.ops[index];
        if let Some(res) = op.result {
            let op = self.ops.remove(index);
            reclaim(op, res, &mut self.free_bufs);
            return false;
        }
        op.orphan = true;
        op.waker = None;
        true
    }

    /// The future of operation `index` is gone. A completed operation is reclaimed now
    /// (its descriptor, if it produced one, closed); one in flight is marked orphan and
    /// cancelled, and reclaimed when its completion arrives (the kernel may still write
    /// its buffer until then).
    pub(crate) fn cancel(&mut self, index: usize) {
        if !self.orphan(index) {
            return;
        }
        let sqe = opcode::AsyncCancel::new(index as u64)
            .build()
            .user_data(CANCEL_TOKEN);
        // Not queued (the submission failed): the operation still completes on its own.
        let _ = self.push(&sqe);
    }

    /// The future of operation `index` is gone, but the operation should finish (a
    /// write-behind of a `fs::File` that was dropped): like [`Uring::cancel`] without the
    /// cancellation, and submitted at once. Its completion reclaims what it held.
    pub(crate) fn let_finish(&mut self, index: usize) {
        if !self.orphan(index) {
            return;
        }
        // Submitted now rather than at the next turn, which may never come (the loop
        // that dropped the file may be about to return): the kernel has the write.
        let _ = self.submit();
    }

    /// The turn's one `io_uring_enter` (or none, when it may not block and the kernel has
    /// nothing for it).
    fn enter(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let idle = {
            let sq = self.ring.submission();
            sq.is_empty() && !sq.taskrun() && !sq.cq_overflow()
        };
        let submitter = self.ring.submitter();
        let result = match timeout {
            Some(Duration::ZERO) if idle && self.taskrun_flag => return Ok(()),
            Some(Duration::ZERO) => submitter.submit_and_wait(0),
            None => submitter.submit_and_wait(1),
            Some(d) => {
                let ts = types::Timespec::from(d);
                let args = types::SubmitArgs::new().timespec(&ts);
                submitter.submit_with_args(1, &args)
            }
        };
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_transient(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// In a `fork` child (where this ring is the parent's, not even mapped: `dontfork`):
    /// replaces it with a new one; the inherited one is let go without being touched
    /// (see `Drop`).
    pub(crate) fn after_fork(&mut self, to_wake: &mut Vec<Waker>) -> io::Result<()> {
        if self.pid == std::process::id() {
            return Ok(());
        }
        let mut fresh = Uring::new()?;
        // The operations of the parent's ring never complete here. Their futures keep
        // their indices (the table moves to the new ring) and get `ECANCELED`; orphans
        // go now (the kernel writes only the parent's memory).
        let mut ops = std::mem::take(&mut self.ops);
        ops.retain(|_, op| !op.orphan);
        for (_, op) in ops.iter_mut() {
            if op.result.is_none() {
                op.result = Some(-libc::ECANCELED);
                to_wake.extend(op.waker.take());
            }
        }
        fresh.ops = ops;
        fresh.net = self.net.after_fork(to_wake);
        *self = fresh;
        Ok(())
    }

    /// At the end of the thread: cancels every operation and waits for their completions,
    /// so that no buffer is freed while the kernel may write it. Should some not complete
    /// in a few seconds (an uninterruptible file operation), their buffers are leaked
    /// instead: never freed under the kernel.
    fn settle_before_drop(&mut self) {
        let unfinished = |this: &Uring| {
            this.ops
                .iter()
                .filter(|(_, op)| op.result.is_none())
                .count()
                + this.net.armed()
        };
        if unfinished(self) == 0 {
            return;
        }
        for (_, op) in self.ops.iter_mut() {
            op.orphan = true;
        }
        let all = opcode::AsyncCancel2::new(types::CancelBuilder::any())
            .build()
            .user_data(CANCEL_TOKEN);
        let _ = self.push(&all);
        let mut ignored = Vec::new();
        for _ in 0..500 {
            if unfinished(self) == 0 {
                break;
            }
            if self
                .turn_ops(Some(Duration::from_millis(10)), &mut ignored)
                .is_err()
            {
                break;
            }
        }
        if unfinished(self) > 0 {
            std::mem::forget(std::mem::take(&mut self.ops));
            self.net.leak();
        }
    }

    /// A turn that only reaps completions (it does not arm the poll on the epoll
    /// descriptor; should that poll complete, the next [`Uring::turn`] reports it).
    fn turn_ops(&mut self, timeout: Option<Duration>, to_wake: &mut Vec<Waker>) -> io::Result<()> {
        self.enter(timeout)?;
        let epoll_ready = self.reap(to_wake);
        self.epoll_pending |= epoll_ready;
        Ok(())
    }
}

impl Drop for Uring {
    fn drop(&mut self) {
        if self.pid != std::process::id() {
            // An inherited ring (a `fork` child): its memory is not mapped here
            // (`dontfork`), so `IoUring`'s drop would unmap whatever now lives at those
            // addresses. Close this process's copy of the descriptor, and nothing else.
            // SAFETY: the ring's own descriptor, closed once: the `IoUring` that owns it is
            // never dropped (it is in a `ManuallyDrop`, and this is its last use).
            unsafe { libc::close(self.ring.as_raw_fd()) };
            return;
        }
        self.settle_before_drop();
        // SAFETY: dropped once, here, and `self.ring` is not used afterwards.
        unsafe { ManuallyDrop::drop(&mut self.ring) };
    }
}

/// Frees (or keeps for reuse) what a finished orphan held, and closes the descriptor it
/// produced, if any.
fn reclaim(op: Op, res: i32, free_bufs: &mut Vec<Vec<u8>>) {
    if op.produces_fd && res >= 0 {
        // SAFETY: the completion of an open: `res` is a new descriptor that nobody else
        // has seen, so this is its only owner.
        drop(unsafe { OwnedFd::from_raw_fd(res) });
    }
    keep_buf(free_bufs, op.buf);
    // `op.fd`, lent to the operation, closes here.
}

/// Keeps `buf` for reuse unless enough are kept or it is large.
fn keep_buf(free: &mut Vec<Vec<u8>>, buf: Vec<u8>) {
    if free.len() < FREE_BUFS && buf.capacity() <= KEPT_BUF && buf.capacity() > 0 {
        free.push(buf);
    }
}

/// Errors of `io_uring_enter` that only mean "look at the completion queue": the timeout
/// (`ETIME`), a signal (`EINTR`), a full completion queue (`EBUSY`, `EAGAIN`).
fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ETIME | libc::EINTR | libc::EBUSY | libc::EAGAIN)
    )
}

mod fs;
pub(crate) mod net;
pub(crate) use fs::{RingFile, fsync, on_ring, open, read, write};
