//! [`Cursor`]: async I/O over an in-memory buffer.

use std::io::{self, BufRead, IoSlice, IoSliceMut, Read, Seek, SeekFrom, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};

/// An in-memory buffer with a position, as a reader, buffered reader, seeker and (for
/// `Vec<u8>`, `&mut Vec<u8>`, `&mut [u8]` and `Box<[u8]>`) writer that is always ready.
///
/// It wraps [`std::io::Cursor`] and behaves exactly like it: writing to a `Vec` past its
/// end grows it; writing to a slice past its end writes nothing.
///
/// # Examples
///
/// ```
/// use solo_lite::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt, Cursor, SeekFrom};
///
/// solo_lite::future::block_on(async {
///     let mut c = Cursor::new(Vec::new());
///     c.write_all(b"hello").await.unwrap();
///     c.seek(SeekFrom::Start(1)).await.unwrap();
///     let mut s = String::new();
///     c.read_to_string(&mut s).await.unwrap();
///     assert_eq!(s, "ello");
///     assert_eq!(c.position(), 5);
/// });
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cursor<T> {
    inner: io::Cursor<T>,
}

impl<T> Cursor<T> {
    /// A cursor over `inner`, at position 0.
    pub fn new(inner: T) -> Cursor<T> {
        Cursor {
            inner: io::Cursor::new(inner),
        }
    }

    /// The position of the next byte read or written.
    pub fn position(&self) -> u64 {
        self.inner.position()
    }

    /// Moves the position (past the end is allowed: reads then return 0 bytes).
    pub fn set_position(&mut self, pos: u64) {
        self.inner.set_position(pos);
    }

    /// The underlying buffer.
    pub fn get_ref(&self) -> &T {
        self.inner.get_ref()
    }

    /// The underlying buffer, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }

    /// Unwraps the underlying buffer.
    pub fn into_inner(self) -> T {
        self.inner.into_inner()
    }
}

impl<T: AsRef<[u8]> + Unpin> AsyncRead for Cursor<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(self.get_mut().inner.read(buf))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(self.get_mut().inner.read_vectored(bufs))
    }
}

impl<T: AsRef<[u8]> + Unpin> AsyncBufRead for Cursor<T> {
    fn poll_fill_buf(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        Poll::Ready(self.get_mut().inner.fill_buf())
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.get_mut().inner.consume(amt);
    }
}

impl<T: AsRef<[u8]> + Unpin> AsyncSeek for Cursor<T> {
    fn poll_seek(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        Poll::Ready(self.get_mut().inner.seek(pos))
    }
}

macro_rules! impl_write {
    ($($ty:ty),+ $(,)?) => {$(
        impl AsyncWrite for Cursor<$ty> {
            fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
                Poll::Ready(self.get_mut().inner.write(buf))
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                _: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                Poll::Ready(self.get_mut().inner.write_vectored(bufs))
            }

            fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(self.get_mut().inner.flush())
            }

            fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.poll_flush(cx)
            }
        }
    )+};
}

impl_write!(Vec<u8>, &mut Vec<u8>, &mut [u8], Box<[u8]>);
