//! [`AsyncWriteExt`] and its futures.

use std::future::Future;
use std::io::{self, ErrorKind, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::AsyncWrite;

use crate::ready;

/// Extension methods for every [`AsyncWrite`].
pub trait AsyncWriteExt: AsyncWrite {
    /// Writes some bytes of `buf`, returning how many (possibly fewer than `buf.len()`).
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::io::{AsyncWriteExt, Cursor};
    ///
    /// let mut w = Cursor::new(Vec::new());
    /// let n = solo_lite::future::block_on(w.write(b"abc")).unwrap();
    /// assert_eq!(&w.get_ref()[..n], &b"abc"[..n]);
    /// ```
    fn write<'a>(&'a mut self, buf: &'a [u8]) -> WriteFuture<'a, Self>
    where
        Self: Unpin,
    {
        WriteFuture { writer: self, buf }
    }

    /// Writes some bytes of a sequence of buffers, taken in order, returning how many.
    ///
    /// A writer without a vectored write of its own writes from the first non-empty buffer.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::io::{AsyncWriteExt, IoSlice};
    ///
    /// let mut out = Vec::new();
    /// let bufs = [IoSlice::new(b"hello "), IoSlice::new(b"world")];
    /// let n = solo_lite::future::block_on(out.write_vectored(&bufs)).unwrap();
    /// assert_eq!(&out[..n], &b"hello world"[..n]);
    /// ```
    fn write_vectored<'a>(&'a mut self, bufs: &'a [IoSlice<'a>]) -> WriteVectoredFuture<'a, Self>
    where
        Self: Unpin,
    {
        WriteVectoredFuture { writer: self, bufs }
    }

    /// Writes all of `buf`, retrying after short writes.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::WriteZero`] if the writer accepts no byte of a non-empty rest; any
    /// error of the writer, except [`ErrorKind::Interrupted`], which is retried. How much
    /// was written before an error is unspecified.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::io::{AsyncWriteExt, Cursor, ErrorKind};
    ///
    /// solo_lite::future::block_on(async {
    ///     let mut w = Cursor::new(Vec::new());
    ///     w.write_all(b"all of it").await.unwrap();
    ///     assert_eq!(w.get_ref(), b"all of it");
    ///
    ///     let mut small = [0u8; 2];
    ///     let mut full = Cursor::new(&mut small[..]);
    ///     let err = full.write_all(b"too long").await.unwrap_err();
    ///     assert_eq!(err.kind(), ErrorKind::WriteZero);
    /// });
    /// ```
    fn write_all<'a>(&'a mut self, buf: &'a [u8]) -> WriteAllFuture<'a, Self>
    where
        Self: Unpin,
    {
        WriteAllFuture { writer: self, buf }
    }

    /// Flushes the writer: buffered bytes reach their destination.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::io::{AsyncWriteExt, BufWriter, Cursor};
    ///
    /// solo_lite::future::block_on(async {
    ///     let mut w = BufWriter::new(Cursor::new(Vec::new()));
    ///     w.write_all(b"x").await.unwrap();
    ///     w.flush().await.unwrap();
    ///     assert_eq!(w.get_ref().get_ref(), b"x");
    /// });
    /// ```
    fn flush(&mut self) -> FlushFuture<'_, Self>
    where
        Self: Unpin,
    {
        FlushFuture { writer: self }
    }

    /// Flushes and closes the writer (for a socket: shuts down its write half).
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::io::{AsyncWriteExt, BufWriter, Cursor};
    ///
    /// solo_lite::future::block_on(async {
    ///     let mut w = BufWriter::new(Cursor::new(Vec::new()));
    ///     w.write_all(b"bye").await.unwrap();
    ///     w.close().await.unwrap();
    ///     assert_eq!(w.get_ref().get_ref(), b"bye");
    /// });
    /// ```
    fn close(&mut self) -> CloseFuture<'_, Self>
    where
        Self: Unpin,
    {
        CloseFuture { writer: self }
    }

    /// Boxes the writer and erases its type; it must be `Send`. A `'static` writer gives a
    /// [`BoxedWriter`](super::BoxedWriter); one that borrows keeps its lifetime `'a`.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::io::{self, AsyncWriteExt, BoxedWriter};
    ///
    /// let mut writers: Vec<BoxedWriter> = vec![Vec::<u8>::new().boxed_writer(), io::sink().boxed_writer()];
    /// for w in &mut writers {
    ///     solo_lite::future::block_on(w.write_all(b"x")).unwrap();
    /// }
    /// ```
    fn boxed_writer<'a>(self) -> Pin<Box<dyn AsyncWrite + Send + 'a>>
    where
        Self: Sized + Send + 'a,
    {
        Box::pin(self)
    }
}

impl<W: AsyncWrite + ?Sized> AsyncWriteExt for W {}

/// Future for [`AsyncWriteExt::write`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct WriteFuture<'a, W: ?Sized> {
    writer: &'a mut W,
    buf: &'a [u8],
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for WriteFuture<'_, W> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        Pin::new(&mut *this.writer).poll_write(cx, this.buf)
    }
}

/// Future for [`AsyncWriteExt::write_vectored`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct WriteVectoredFuture<'a, W: ?Sized> {
    writer: &'a mut W,
    bufs: &'a [IoSlice<'a>],
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for WriteVectoredFuture<'_, W> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        Pin::new(&mut *this.writer).poll_write_vectored(cx, this.bufs)
    }
}

/// Future for [`AsyncWriteExt::write_all`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct WriteAllFuture<'a, W: ?Sized> {
    writer: &'a mut W,
    /// The part of the caller's buffer still to write.
    buf: &'a [u8],
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for WriteAllFuture<'_, W> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        while !this.buf.is_empty() {
            match ready!(Pin::new(&mut *this.writer).poll_write(cx, this.buf)) {
                Ok(0) => {
                    return Poll::Ready(Err(io::Error::new(
                        ErrorKind::WriteZero,
                        "write_all: the writer accepted no bytes before the buffer was written",
                    )));
                }
                Ok(n) => this.buf = &this.buf[n.min(this.buf.len())..],
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// Future for [`AsyncWriteExt::flush`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct FlushFuture<'a, W: ?Sized> {
    writer: &'a mut W,
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for FlushFuture<'_, W> {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.writer).poll_flush(cx)
    }
}

/// Future for [`AsyncWriteExt::close`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct CloseFuture<'a, W: ?Sized> {
    writer: &'a mut W,
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for CloseFuture<'_, W> {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.writer).poll_close(cx)
    }
}
