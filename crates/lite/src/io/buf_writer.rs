//! [`BufWriter`]: adds a write buffer to any writer.

use std::fmt;
use std::io::{self, ErrorKind, SeekFrom};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncSeek, AsyncWrite};

use super::DEFAULT_BUF_SIZE;
use crate::ready;

pin_project_lite::pin_project! {
    /// Adds a buffer to a writer, so that many small writes cost few writes of the inner
    /// writer.
    ///
    /// Writes at least as large as the buffer skip it (after flushing what it holds).
    /// **Flush or close before dropping**: a `BufWriter` cannot write asynchronously in `drop`,
    /// so bytes still buffered then are lost.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::io::{AsyncWriteExt, BufWriter, Cursor};
    ///
    /// solo_lite::future::block_on(async {
    ///     let mut w = BufWriter::new(Cursor::new(Vec::new()));
    ///     w.write_all(b"a").await.unwrap();
    ///     w.write_all(b"b").await.unwrap();
    ///     assert!(w.get_ref().get_ref().is_empty()); // still buffered
    ///     w.flush().await.unwrap();
    ///     assert_eq!(w.get_ref().get_ref(), b"ab");
    /// });
    /// ```
    pub struct BufWriter<W> {
        #[pin]
        inner: W,
        state: Vec<u8>,
    }
}

impl<W> BufWriter<W> {
    /// Wraps `inner` with a buffer of the default capacity (8 KiB).
    pub fn new(inner: W) -> BufWriter<W> {
        BufWriter::with_capacity(DEFAULT_BUF_SIZE, inner)
    }

    /// Wraps `inner` with a buffer of `capacity` bytes (0 makes every write go through).
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::io::{BufWriter, Cursor};
    ///
    /// let w = BufWriter::with_capacity(100, Cursor::new(Vec::<u8>::new()));
    /// assert!(w.capacity() >= 100);
    /// ```
    pub fn with_capacity(capacity: usize, inner: W) -> BufWriter<W> {
        BufWriter {
            inner,
            state: Vec::with_capacity(capacity),
        }
    }

    fn parts(self: Pin<&mut Self>) -> (Pin<&mut W>, &mut Vec<u8>) {
        let this = self.project();
        (this.inner, this.state)
    }

    /// The buffer's size in bytes.
    pub fn capacity(&self) -> usize {
        self.state.capacity()
    }

    /// The bytes written to this writer but not yet to the inner writer.
    pub fn buffer(&self) -> &[u8] {
        &self.state
    }

    /// The inner writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The inner writer, mutably. Writing to it directly overtakes the buffered bytes.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// The pinned inner writer. Writing to it directly overtakes the buffered bytes.
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut W> {
        self.parts().0
    }

    /// Unwraps the inner writer; buffered bytes are lost (flush first).
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: AsyncWrite> BufWriter<W> {
    /// Writes the whole buffer to the inner writer (without flushing that one). Bytes
    /// written are removed from the buffer even when this returns `Pending` or an error.
    fn poll_flush_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let (mut inner, buf) = self.parts();
        let mut written = 0;
        let mut result = Poll::Ready(Ok(()));
        while written < buf.len() {
            match inner.as_mut().poll_write(cx, &buf[written..]) {
                Poll::Ready(Ok(0)) => {
                    result = Poll::Ready(Err(io::Error::new(
                        ErrorKind::WriteZero,
                        "BufWriter: the inner writer accepted no bytes of the buffered data",
                    )));
                    break;
                }
                Poll::Ready(Ok(n)) => written += n,
                Poll::Ready(Err(e)) if e.kind() == ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => {
                    result = Poll::Ready(Err(e));
                    break;
                }
                Poll::Pending => {
                    result = Poll::Pending;
                    break;
                }
            }
        }
        buf.drain(..written.min(buf.len()));
        result
    }
}

impl<W: fmt::Debug> fmt::Debug for BufWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufWriter")
            .field("inner", &self.inner)
            .field(
                "buffered",
                &format_args!("{}/{}", self.state.len(), self.capacity()),
            )
            .finish()
    }
}

impl<W: AsyncWrite> AsyncWrite for BufWriter<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.state.len() + data.len() > self.state.capacity() {
            ready!(self.as_mut().poll_flush_buf(cx))?;
        }
        let (inner, buf) = self.parts();
        if data.len() >= buf.capacity() {
            inner.poll_write(cx, data)
        } else {
            buf.extend_from_slice(data);
            Poll::Ready(Ok(data.len()))
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.as_mut().poll_flush_buf(cx))?;
        self.get_pin_mut().poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.as_mut().poll_flush_buf(cx))?;
        self.get_pin_mut().poll_close(cx)
    }
}

impl<W: AsyncWrite + AsyncSeek> AsyncSeek for BufWriter<W> {
    /// Writes the buffer out, then seeks the inner writer.
    fn poll_seek(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        ready!(self.as_mut().poll_flush_buf(cx))?;
        self.get_pin_mut().poll_seek(cx, pos)
    }
}
