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
//! [`Notifier`]: crate::reactor::Notifier

use std::io;
use std::mem::ManuallyDrop;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::task::Waker;
use std::time::Duration;

use io_uring::{IoUring, opcode, types};

/// Submission queue entries; the completion queue gets [`CQ_ENTRIES`].
const SQ_ENTRIES: u32 = 256;
/// Room for bursts of completions (multishot operations post many per submission).
const CQ_ENTRIES: u32 = 4096;

/// `user_data` of the poll on the epoll descriptor.
const EPOLL_TOKEN: u64 = u64::MAX;

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
}

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
    fn push(&mut self, sqe: &io_uring::squeue::Entry) -> io::Result<()> {
        loop {
            // SAFETY: every entry pushed here points only at memory that outlives the
            // operation: the epoll descriptor (owned by the reactor's poller, which outlives
            // its ring: `Drop for Uring` waits for every operation before the poller goes).
            if unsafe { self.ring.submission().push(sqe) }.is_ok() {
                return Ok(());
            }
            self.submit()?;
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
    /// operations go to `_to_wake`.
    pub(crate) fn turn(
        &mut self,
        epoll: BorrowedFd<'_>,
        timeout: Option<Duration>,
        _to_wake: &mut Vec<Waker>,
    ) -> io::Result<bool> {
        if !self.epoll_armed {
            let sqe = opcode::PollAdd::new(types::Fd(epoll.as_raw_fd()), libc::POLLIN as u32)
                .build()
                .user_data(EPOLL_TOKEN);
            self.push(&sqe)?;
            self.epoll_armed = true;
        }
        self.enter(timeout)?;
        let mut epoll_ready = false;
        for cqe in self.ring.completion() {
            if cqe.user_data() == EPOLL_TOKEN {
                // Readable, or failed (then the drain finds nothing): arm again next turn.
                self.epoll_armed = false;
                epoll_ready = true;
            }
        }
        Ok(epoll_ready)
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
    pub(crate) fn after_fork(&mut self) -> io::Result<()> {
        if self.pid == std::process::id() {
            return Ok(());
        }
        *self = Uring::new()?;
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
        // SAFETY: dropped once, here, and `self.ring` is not used afterwards.
        unsafe { ManuallyDrop::drop(&mut self.ring) };
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
