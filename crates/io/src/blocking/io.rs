//! [`Unblock`]: a blocking reader, writer or seeker behind the async I/O traits, one pool
//! operation at a time.

use std::any::Any;
use std::fmt;
use std::future::poll_fn;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker, ready};

use futures_io::{AsyncRead, AsyncSeek, AsyncWrite};

use super::lock;
use super::pool::{Job, LOST_IN_FORK, submit};

/// Buffer size of an [`Unblock`] made with [`Unblock::new`].
const DEFAULT_CAPACITY: usize = 64 * 1024;

/// Runs a blocking reader, writer or seeker on the blocking pool.
///
/// `Unblock<T>` implements [`AsyncRead`] for `T: Read`, [`AsyncWrite`] for `T: Write`
/// and [`AsyncSeek`] for `T: Seek`. Each operation moves the object and a buffer
/// (allocated once, on first use, with the capacity given to [`with_capacity`]) to a
/// pool thread and back; no allocation happens per operation.
///
/// * Reads fill the buffer with one `read` of the object and serve small reads from
///   it (read-ahead).
/// * Writes are copied into the buffer and complete at once; the buffer is written
///   to the object when it is full, before a read or seek, and on `flush`/`close`.
///   Call `flush` (or `close`) to learn whether the data was written: dropping an
///   `Unblock` with buffered data writes it on the pool in the background and
///   ignores errors.
/// * Seeks account for the read-ahead (`SeekFrom::Current` is relative to what the
///   reader has consumed).
/// * A write after reads discards unconsumed read-ahead. For a seekable object this
///   means the write lands after the read-ahead; seek before writing (the
///   [`fs::File`](crate::fs::File) of this crate does that for you).
///
/// A panic of the object's `read`/`write`/`seek` is resumed in the task that polls.
///
/// [`with_capacity`]: Unblock::with_capacity
///
/// # Examples
///
/// ```no_run
/// use solo_io::Unblock;
///
/// let mut stdout = Unblock::new(std::io::stdout());
/// // e.g. `stdout.write_all(b"hello\n").await?; stdout.flush().await?;`
/// # drop(stdout);
/// ```
pub struct Unblock<T> {
    /// The object and its buffer while no operation is in flight (`None` while one is).
    idle: Option<Inner<T>>,
    /// Where operations are handed to the pool and their outcome comes back.
    shared: Arc<IoShared<T>>,
    /// Queues `shared` on the pool; instantiated by the constructor, where `T: Send +
    /// 'static` is known, so that `Drop` (which cannot require it) can submit too.
    submit: fn(Arc<IoShared<T>>),
}

/// Queues an [`Unblock`]'s shared part on the pool.
fn submit_io<T: Send + 'static>(shared: Arc<IoShared<T>>) {
    submit(shared);
}

/// An operation run on the pool: a plain function pointer, chosen where the
/// object's traits are known, so that submitting one allocates nothing.
type Op<T> = fn(&mut Inner<T>) -> io::Result<u64>;

/// What an operation was, so that its outcome reaches the right caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Read into the buffer.
    Fill,
    /// Write the buffered data.
    Drain,
    /// Write the buffered data and flush the object.
    Flush,
    /// Seek (with the argument the caller asked for).
    Seek(SeekFrom),
    /// Seek back over unconsumed read-ahead (for writes after reads on files).
    Rewind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// The buffer holds nothing.
    Empty,
    /// `buf[pos..filled]` is read-ahead not yet consumed.
    Reading,
    /// `buf[..filled]` is written data not yet passed to the object.
    Writing,
}

/// The object, its buffer and the buffer's bookkeeping.
struct Inner<T> {
    io: T,
    /// Empty until first used, then exactly `cap` bytes long.
    buf: Vec<u8>,
    cap: usize,
    pos: usize,
    filled: usize,
    mode: Mode,
    /// Data was written since the object was last flushed.
    dirty: bool,
    /// The `Drain` operation for `T`, recorded by the first write, so that paths that
    /// only know `T: Read` or `T: Seek` (and `Drop`) can write buffered data.
    drain: Option<Op<T>>,
    /// The argument of the pending `Seek` operation.
    seek_to: SeekFrom,
}

/// The part of an [`Unblock`] shared with the pool.
struct IoShared<T> {
    /// Abandoned in a `fork` child: its operation was running on a thread the child does
    /// not have (with the object). Outside the lock, which that thread may have held.
    lost: AtomicBool,
    slot: Mutex<IoSlot<T>>,
}

struct IoSlot<T> {
    /// The object while queued, and again once the operation finished.
    inner: Option<Inner<T>>,
    /// The operation to run.
    op: Option<(Kind, Op<T>)>,
    /// The outcome of the finished operation.
    done: Option<(Kind, io::Result<u64>)>,
    /// The panic of the finished operation.
    panic: Option<Box<dyn Any + Send>>,
    /// Who to wake when the operation finishes.
    waker: Option<Waker>,
    /// The `Unblock` was dropped: the pool drops the object after the operation.
    dropped: bool,
}

impl<T: Send + 'static> Job for IoShared<T> {
    fn run(&self) {
        let (inner, op) = {
            let mut slot = lock(&self.slot);
            (slot.inner.take(), slot.op.take())
        };
        let (Some(mut inner), Some((kind, op))) = (inner, op) else {
            return;
        };
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| op(&mut inner)));
        let mut slot = lock(&self.slot);
        if slot.dropped {
            drop(slot);
            // Nobody will collect the object: write what was buffered, then drop it.
            if let Some(drain) = inner.drain.filter(|_| inner.mode == Mode::Writing) {
                let _ = panic::catch_unwind(AssertUnwindSafe(|| drain(&mut inner)));
            }
            drop((inner, outcome));
            return;
        }
        match outcome {
            Ok(result) => slot.done = Some((kind, result)),
            Err(payload) => slot.panic = Some(payload),
        }
        slot.inner = Some(inner);
        let waker = slot.waker.take();
        drop(slot);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn abandon(&self) {
        self.lost.store(true, Ordering::Release);
        let waker = match self.slot.try_lock() {
            Ok(mut slot) => slot.waker.take(),
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner().waker.take(),
            Err(std::sync::TryLockError::WouldBlock) => None,
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Inner<T> {
    /// Allocates the buffer on first use.
    fn ensure_buf(&mut self) {
        if self.buf.len() != self.cap {
            self.buf = vec![0; self.cap];
        }
    }

    /// Drops unconsumed read-ahead.
    fn discard_read(&mut self) {
        if self.mode == Mode::Reading {
            self.mode = Mode::Empty;
            self.pos = 0;
            self.filled = 0;
        }
    }

    /// Unconsumed read-ahead in bytes.
    fn unread(&self) -> usize {
        if self.mode == Mode::Reading {
            self.filled - self.pos
        } else {
            0
        }
    }

    /// The `Drain` operation if written data is waiting in the buffer.
    fn pending_drain(&self) -> Option<Op<T>> {
        self.drain
            .filter(|_| self.mode == Mode::Writing && self.filled > 0)
    }
}

/// `Fill`: one `read` into the buffer (retrying `Interrupted`).
fn fill<T: Read>(inner: &mut Inner<T>) -> io::Result<u64> {
    inner.ensure_buf();
    inner.mode = Mode::Reading;
    inner.pos = 0;
    inner.filled = 0;
    loop {
        match inner.io.read(&mut inner.buf) {
            Ok(n) => {
                inner.filled = n.min(inner.buf.len());
                return Ok(n as u64);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// `Drain`: writes the buffered data; on error keeps what was not written.
fn drain<T: Write>(inner: &mut Inner<T>) -> io::Result<u64> {
    if inner.mode != Mode::Writing {
        return Ok(0);
    }
    let mut written = 0;
    let result = loop {
        if written == inner.filled {
            break Ok(());
        }
        match inner.io.write(&inner.buf[written..inner.filled]) {
            Ok(0) => {
                break Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "failed to write buffered data",
                ));
            }
            Ok(n) => written += n.min(inner.filled - written),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break Err(e),
        }
    };
    inner.buf.copy_within(written..inner.filled, 0);
    inner.filled -= written;
    if inner.filled == 0 {
        inner.mode = Mode::Empty;
    }
    result.map(|()| written as u64)
}

/// `Flush`: `Drain`, then flush the object.
fn flush<T: Write>(inner: &mut Inner<T>) -> io::Result<u64> {
    drain(inner)?;
    inner.io.flush()?;
    inner.dirty = false;
    Ok(0)
}

/// `Seek`: seeks to `seek_to`, counting `Current` from the consumed position.
fn seek<T: Seek>(inner: &mut Inner<T>) -> io::Result<u64> {
    let target = match inner.seek_to {
        SeekFrom::Current(offset) => {
            let unread = i64::try_from(inner.unread()).unwrap_or(i64::MAX);
            SeekFrom::Current(offset.checked_sub(unread).ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "seek offset out of range")
            })?)
        }
        other => other,
    };
    let position = inner.io.seek(target)?;
    inner.discard_read();
    Ok(position)
}

/// `Rewind`: seeks back over unconsumed read-ahead and drops it.
fn rewind<T: Seek>(inner: &mut Inner<T>) -> io::Result<u64> {
    let unread = inner.unread();
    if unread > 0 {
        let back = i64::try_from(unread).unwrap_or(i64::MAX);
        inner.io.seek(SeekFrom::Current(-back))?;
    }
    inner.discard_read();
    Ok(0)
}

impl<T: Send + 'static> Unblock<T> {
    /// Wraps a blocking I/O object, with a 64 KiB buffer.
    pub fn new(io: T) -> Unblock<T> {
        Unblock::with_capacity(DEFAULT_CAPACITY, io)
    }

    /// Wraps a blocking I/O object, with a buffer of `cap` bytes (at least 1).
    ///
    /// The buffer bounds how much one pool operation reads or writes; it is allocated
    /// on first use and reused for every operation.
    pub fn with_capacity(cap: usize, io: T) -> Unblock<T> {
        Unblock {
            submit: submit_io::<T>,
            idle: Some(Inner {
                io,
                buf: Vec::new(),
                cap: cap.max(1),
                pos: 0,
                filled: 0,
                mode: Mode::Empty,
                dirty: false,
                drain: None,
                seek_to: SeekFrom::Current(0),
            }),
            shared: Arc::new(IoShared {
                lost: AtomicBool::new(false),
                slot: Mutex::new(IoSlot {
                    inner: None,
                    op: None,
                    done: None,
                    panic: None,
                    waker: None,
                    dropped: false,
                }),
            }),
        }
    }

    /// Gets the object back, once the operation in flight (if any) has finished and
    /// buffered writes have been written.
    ///
    /// Errors of that last write are not reported (call `flush` first to see them);
    /// unconsumed read-ahead is discarded, so a seekable object may be positioned past
    /// what was read.
    pub async fn into_inner(mut self) -> T {
        self.settle().await;
        let inner = self.idle.take().expect("`Unblock` is idle once settled");
        inner.io
    }

    /// Borrows the object, once the operation in flight (if any) has finished and
    /// buffered writes have been written.
    ///
    /// Errors of that write are not reported here; the data stays buffered and the
    /// next operation tries again and reports them. Unconsumed read-ahead is
    /// discarded, so a seekable object may be positioned past what was read.
    pub async fn get_mut(&mut self) -> &mut T {
        self.settle().await;
        let inner = self.idle.as_mut().expect("`Unblock` is idle once settled");
        inner.discard_read();
        &mut inner.io
    }

    /// Waits for the operation in flight, then writes buffered data (ignoring errors).
    async fn settle(&mut self) {
        let _ = poll_fn(|cx| self.poll_idle(cx)).await;
        if let Some(drain) = self.idle.as_ref().and_then(Inner::pending_drain) {
            self.start(Kind::Drain, drain);
            let _ = poll_fn(|cx| self.poll_idle(cx)).await;
        }
    }

    /// Waits until no operation is in flight; returns the outcome of the one that just
    /// finished, if any, and resumes its panic.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<Option<(Kind, io::Result<u64>)>> {
        if self.idle.is_some() {
            return Poll::Ready(None);
        }
        if self.shared.lost.load(Ordering::Acquire) {
            // The object went with the thread that ran its operation: this and every later
            // operation fails.
            panic::resume_unwind(Box::new(LOST_IN_FORK));
        }
        let mut slot = lock(&self.shared.slot);
        if let Some(payload) = slot.panic.take() {
            self.idle = slot.inner.take();
            drop(slot);
            panic::resume_unwind(payload);
        }
        match slot.done.take() {
            Some(done) => {
                self.idle = slot.inner.take();
                debug_assert!(self.idle.is_some());
                Poll::Ready(Some(done))
            }
            None => {
                match &mut slot.waker {
                    Some(waker) if waker.will_wake(cx.waker()) => {}
                    stored => *stored = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        }
    }

    /// Hands the object to the pool to run `op`. The caller must be idle.
    fn start(&mut self, kind: Kind, op: Op<T>) {
        let inner = self.idle.take().expect("`Unblock::start` while busy");
        {
            let mut slot = lock(&self.shared.slot);
            slot.inner = Some(inner);
            slot.op = Some((kind, op));
        }
        (self.submit)(self.shared.clone());
    }

    /// The idle state, once `poll_idle` returned `Ready`.
    fn inner(&mut self) -> &mut Inner<T> {
        self.idle.as_mut().expect("`Unblock` is idle")
    }

    /// Drops unconsumed read-ahead after seeking back over it, so that the object's
    /// position is what the reader consumed. For seekable objects used for writing.
    pub(crate) fn poll_rewind(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>
    where
        T: Seek,
    {
        loop {
            match ready!(self.poll_idle(cx)) {
                Some((Kind::Rewind, result)) => return Poll::Ready(result.map(drop)),
                Some((_, Err(e))) => return Poll::Ready(Err(e)),
                _ => {}
            }
            if self.inner().unread() == 0 {
                self.inner().discard_read();
                return Poll::Ready(Ok(()));
            }
            self.start(Kind::Rewind, rewind::<T>);
        }
    }

    /// Writes buffered data and rewinds read-ahead: afterwards the object's position
    /// is exactly where the async reader/writer stands.
    pub(crate) fn poll_sync_position(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>
    where
        T: Seek,
    {
        loop {
            if let Some((_, Err(e))) = ready!(self.poll_idle(cx)) {
                return Poll::Ready(Err(e));
            }
            match self.inner().pending_drain() {
                Some(drain) => self.start(Kind::Drain, drain),
                None => return self.poll_rewind(cx),
            }
        }
    }
}

impl<T> fmt::Debug for Unblock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unblock")
            .field("busy", &self.idle.is_none())
            .finish_non_exhaustive()
    }
}

// `Unblock` never pins its fields.
impl<T> Unpin for Unblock<T> {}

impl<T> Drop for Unblock<T> {
    fn drop(&mut self) {
        if self.shared.lost.load(Ordering::Acquire) {
            return;
        }
        let mut slot = lock(&self.shared.slot);
        let inner = match self.idle.take() {
            Some(inner) => inner,
            None if slot.done.is_some() || slot.panic.is_some() => match slot.inner.take() {
                Some(inner) => inner,
                None => return,
            },
            None => {
                // An operation is queued or running: the pool drops the object after it.
                slot.dropped = true;
                return;
            }
        };
        match inner.pending_drain() {
            Some(drain) => {
                // Write the buffered data in the background; the pool drops the object.
                slot.inner = Some(inner);
                slot.op = Some((Kind::Drain, drain));
                slot.dropped = true;
                drop(slot);
                (self.submit)(self.shared.clone());
            }
            None => {
                drop(slot);
                drop(inner);
            }
        }
    }
}

impl<T: Read + Send + 'static> AsyncRead for Unblock<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            match ready!(this.poll_idle(cx)) {
                Some((Kind::Fill, Ok(0))) => return Poll::Ready(Ok(0)),
                Some((_, Err(e))) => return Poll::Ready(Err(e)),
                _ => {}
            }
            if out.is_empty() {
                return Poll::Ready(Ok(0));
            }
            let inner = this.inner();
            if inner.unread() > 0 {
                let n = out.len().min(inner.unread());
                out[..n].copy_from_slice(&inner.buf[inner.pos..inner.pos + n]);
                inner.pos += n;
                return Poll::Ready(Ok(n));
            }
            match inner.pending_drain() {
                Some(drain) => this.start(Kind::Drain, drain),
                None => this.start(Kind::Fill, fill::<T>),
            }
        }
    }
}

impl<T: Write + Send + 'static> AsyncWrite for Unblock<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            if let Some((_, Err(e))) = ready!(this.poll_idle(cx)) {
                return Poll::Ready(Err(e));
            }
            if data.is_empty() {
                return Poll::Ready(Ok(0));
            }
            let inner = this.inner();
            inner.discard_read();
            if inner.mode == Mode::Empty {
                inner.ensure_buf();
                inner.mode = Mode::Writing;
                inner.filled = 0;
                inner.drain = Some(drain::<T>);
            }
            let room = inner.buf.len() - inner.filled;
            if room > 0 {
                let n = data.len().min(room);
                inner.buf[inner.filled..inner.filled + n].copy_from_slice(&data[..n]);
                inner.filled += n;
                inner.dirty = true;
                return Poll::Ready(Ok(n));
            }
            this.start(Kind::Drain, drain::<T>);
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            match ready!(this.poll_idle(cx)) {
                Some((Kind::Flush, result)) => return Poll::Ready(result.map(drop)),
                Some((_, Err(e))) => return Poll::Ready(Err(e)),
                _ => {}
            }
            if !this.inner().dirty {
                return Poll::Ready(Ok(()));
            }
            this.start(Kind::Flush, flush::<T>);
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

impl<T: Seek + Send + 'static> AsyncSeek for Unblock<T> {
    fn poll_seek(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        loop {
            match ready!(this.poll_idle(cx)) {
                Some((Kind::Seek(from), result)) if from == pos => return Poll::Ready(result),
                Some((_, Err(e))) => return Poll::Ready(Err(e)),
                _ => {}
            }
            let inner = this.inner();
            match inner.pending_drain() {
                Some(drain) => this.start(Kind::Drain, drain),
                None => {
                    inner.seek_to = pos;
                    this.start(Kind::Seek(pos), seek::<T>);
                }
            }
        }
    }
}
