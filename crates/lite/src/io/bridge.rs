//! Bridges between `std::io` and the async traits: [`AssertAsync`] (a `std::io` object that
//! never blocks, used as an async one), [`AsyncAsSync`] (an async object used through
//! `std::io` inside a poll, `Pending` becoming `WouldBlock`) and [`BlockOn`] (an async object
//! used through `std::io` by blocking).

use std::borrow::{Borrow, BorrowMut};
use std::io::{self, BufRead, ErrorKind, IoSlice, IoSliceMut, Read, Seek, SeekFrom, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};

use super::{AsyncBufReadExt, AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use crate::future::block_on;

/// A `std::io` reader, writer or seeker used as an async one, on the caller's word that it
/// never blocks and never returns [`ErrorKind::WouldBlock`] (an in-memory buffer, say).
///
/// Every call completes at once; [`ErrorKind::Interrupted`] is retried. A blocking object
/// wrapped in it blocks the whole thread, every task of it included: for files and pipes,
/// use solo's `unblock` or its async types instead.
///
/// # Examples
///
/// ```
/// use solo_lite::io::{AssertAsync, AsyncReadExt};
///
/// let mut reader = AssertAsync::new(std::io::Cursor::new(b"in memory".to_vec()));
/// let mut s = String::new();
/// solo_lite::future::block_on(reader.read_to_string(&mut s)).unwrap();
/// assert_eq!(s, "in memory");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct AssertAsync<T>(T);

// The inner object is never pinned.
impl<T> Unpin for AssertAsync<T> {}

impl<T> AssertAsync<T> {
    /// Wraps a `std::io` object that never blocks.
    pub fn new(io: T) -> AssertAsync<T> {
        AssertAsync(io)
    }

    /// The inner object.
    pub fn get_ref(&self) -> &T {
        &self.0
    }

    /// The inner object, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.0
    }

    /// Unwraps the inner object.
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// Runs a `std::io` call to completion, retrying it while it is interrupted.
fn retry<T>(mut op: impl FnMut() -> io::Result<T>) -> Poll<io::Result<T>> {
    loop {
        match op() {
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            result => return Poll::Ready(result),
        }
    }
}

impl<T: Read> AsyncRead for AssertAsync<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        retry(|| self.0.read(buf))
    }

    fn poll_read_vectored(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        retry(|| self.0.read_vectored(bufs))
    }
}

impl<T: Write> AsyncWrite for AssertAsync<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        retry(|| self.0.write(buf))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        retry(|| self.0.write_vectored(bufs))
    }

    fn poll_flush(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        retry(|| self.0.flush())
    }

    /// Flushes: a `std::io` writer has no close of its own (it closes when dropped).
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

impl<T: Seek> AsyncSeek for AssertAsync<T> {
    fn poll_seek(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        retry(|| self.0.seek(pos))
    }
}

/// An async reader, writer or seeker used through `std::io` inside a poll function: each
/// call polls the inner object once with the borrowed [`Context`], and `Pending` becomes an
/// [`ErrorKind::WouldBlock`] error (the task's waker is registered as usual).
///
/// This is how a library written over `std::io::Read`/`Write` (a TLS or compression state
/// machine, say) runs over an async socket: call it inside a `poll` function, and turn its
/// `WouldBlock` back into `Poll::Pending`.
///
/// # Examples
///
/// ```
/// use std::io::{ErrorKind, Read};
/// use std::task::{Context, Poll, Waker};
/// use solo_lite::io::{AsyncAsSync, AsyncRead};
///
/// let mut cx = Context::from_waker(Waker::noop());
/// let mut reader = AsyncAsSync::new(&mut cx, &b"sync view"[..]);
/// let mut s = String::new();
/// reader.read_to_string(&mut s).unwrap();
/// assert_eq!(s, "sync view");
///
/// // An async reader that is not ready reads as `WouldBlock`.
/// struct NotYet;
/// impl AsyncRead for NotYet {
///     fn poll_read(
///         self: std::pin::Pin<&mut Self>,
///         _: &mut Context<'_>,
///         _: &mut [u8],
///     ) -> Poll<std::io::Result<usize>> {
///         Poll::Pending
///     }
/// }
/// let mut cx = Context::from_waker(Waker::noop());
/// let err = AsyncAsSync::new(&mut cx, NotYet).read(&mut [0; 4]).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::WouldBlock);
/// ```
#[derive(Debug)]
pub struct AsyncAsSync<'r, 'ctx, T> {
    /// The context each call polls with.
    pub context: &'r mut Context<'ctx>,
    /// The async object.
    pub inner: T,
}

impl<'r, 'ctx, T> AsyncAsSync<'r, 'ctx, T> {
    /// Wraps `inner`, to be polled with `context`.
    pub fn new(context: &'r mut Context<'ctx>, inner: T) -> AsyncAsSync<'r, 'ctx, T> {
        AsyncAsSync { context, inner }
    }

    /// Polls `f` once with the inner object and the context; `Pending` becomes
    /// [`ErrorKind::WouldBlock`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::task::{Context, Waker};
    /// use solo_lite::io::{AsyncAsSync, AsyncRead};
    ///
    /// let mut cx = Context::from_waker(Waker::noop());
    /// let mut io = AsyncAsSync::new(&mut cx, &b"abc"[..]);
    /// let n = io.poll_with(|r, cx| r.poll_read(cx, &mut [0; 8])).unwrap();
    /// assert_eq!(n, 3);
    /// ```
    pub fn poll_with<R>(
        &mut self,
        f: impl FnOnce(Pin<&mut T>, &mut Context<'_>) -> Poll<io::Result<R>>,
    ) -> io::Result<R>
    where
        T: Unpin,
    {
        match f(Pin::new(&mut self.inner), self.context) {
            Poll::Ready(result) => result,
            Poll::Pending => Err(ErrorKind::WouldBlock.into()),
        }
    }

    /// Closes the inner writer (one poll of `poll_close`); `Pending` becomes
    /// [`ErrorKind::WouldBlock`].
    pub fn close(&mut self) -> io::Result<()>
    where
        T: AsyncWrite + Unpin,
    {
        self.poll_with(|io, cx| io.poll_close(cx))
    }
}

impl<T: AsyncRead + Unpin> Read for AsyncAsSync<'_, '_, T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.poll_with(|io, cx| io.poll_read(cx, buf))
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.poll_with(|io, cx| io.poll_read_vectored(cx, bufs))
    }
}

impl<T: AsyncWrite + Unpin> Write for AsyncAsSync<'_, '_, T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.poll_with(|io, cx| io.poll_write(cx, buf))
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.poll_with(|io, cx| io.poll_write_vectored(cx, bufs))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.poll_with(|io, cx| io.poll_flush(cx))
    }
}

impl<T: AsyncSeek + Unpin> Seek for AsyncAsSync<'_, '_, T> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.poll_with(|io, cx| io.poll_seek(cx, pos))
    }
}

impl<T> AsRef<T> for AsyncAsSync<'_, '_, T> {
    fn as_ref(&self) -> &T {
        &self.inner
    }
}

impl<T> AsMut<T> for AsyncAsSync<'_, '_, T> {
    fn as_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

impl<T> Borrow<T> for AsyncAsSync<'_, '_, T> {
    fn borrow(&self) -> &T {
        &self.inner
    }
}

impl<T> BorrowMut<T> for AsyncAsSync<'_, '_, T> {
    fn borrow_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

/// An async reader, writer or seeker used through `std::io` by blocking: every call runs
/// [`future::block_on`](crate::future::block_on) on the async operation.
///
/// It implements [`Read`], [`BufRead`], [`Write`] and [`Seek`] when the inner object
/// implements the async counterpart (and is `Unpin`). Flush before dropping it, or
/// buffered bytes may be lost. Only for objects that make progress without a reactor (in
/// memory, or driven by another thread): a solo socket needs `solo::block_on`.
///
/// # Examples
///
/// ```
/// use std::io::{BufRead, Write};
/// use solo_lite::io::{BlockOn, BufReader, Cursor};
///
/// let mut w = BlockOn::new(Cursor::new(Vec::new()));
/// w.write_all(b"one\ntwo\n").unwrap();
/// let bytes = w.into_inner().into_inner();
///
/// let r = BlockOn::new(BufReader::new(Cursor::new(bytes)));
/// let lines: Vec<String> = r.lines().map(Result::unwrap).collect();
/// assert_eq!(lines, ["one", "two"]);
/// ```
#[derive(Debug)]
pub struct BlockOn<T>(T);

impl<T> BlockOn<T> {
    /// Wraps an async object in a blocking interface.
    pub fn new(io: T) -> BlockOn<T> {
        BlockOn(io)
    }

    /// The async object.
    pub fn get_ref(&self) -> &T {
        &self.0
    }

    /// The async object, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.0
    }

    /// Unwraps the async object.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: AsyncRead + Unpin> Read for BlockOn<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        block_on(self.0.read(buf))
    }
}

impl<T: AsyncBufRead + Unpin> BufRead for BlockOn<T> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        block_on(self.0.fill_buf())
    }

    fn consume(&mut self, amt: usize) {
        AsyncBufReadExt::consume(&mut self.0, amt);
    }
}

impl<T: AsyncWrite + Unpin> Write for BlockOn<T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        block_on(self.0.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        block_on(self.0.flush())
    }
}

impl<T: AsyncSeek + Unpin> Seek for BlockOn<T> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        block_on(self.0.seek(pos))
    }
}
