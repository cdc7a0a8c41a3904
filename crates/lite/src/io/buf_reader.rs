//! [`BufReader`]: adds a read buffer to any reader.

use std::fmt;
use std::io::{self, IoSlice, SeekFrom};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};

use super::DEFAULT_BUF_SIZE;
use crate::ready;

pin_project_lite::pin_project! {
    /// Adds a buffer to a reader, so that many small reads cost few reads of the inner reader,
    /// and implements [`AsyncBufRead`] (`read_line`, `lines`, ...).
    ///
    /// Reads at least as large as the buffer skip it when it is empty. Seeking discards the
    /// buffer. Writes (if the inner type is also a writer) pass straight through.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::io::{AsyncBufReadExt, BufReader, Cursor};
    /// use solo_lite::stream::StreamExt;
    ///
    /// let reader = BufReader::new(Cursor::new(&b"x\ny\n"[..]));
    /// let n = solo_lite::future::block_on(reader.lines().count());
    /// assert_eq!(n, 2);
    /// ```
    pub struct BufReader<R> {
        #[pin]
        inner: R,
        state: Buffer,
    }
}

/// The buffer and the unread part of it: `data[pos..filled]`.
struct Buffer {
    data: Box<[u8]>,
    pos: usize,
    filled: usize,
}

impl Buffer {
    fn unread(&self) -> &[u8] {
        &self.data[self.pos..self.filled]
    }

    fn discard(&mut self) {
        self.pos = 0;
        self.filled = 0;
    }
}

impl<R> BufReader<R> {
    /// Wraps `inner` with a buffer of the default capacity (8 KiB).
    pub fn new(inner: R) -> BufReader<R> {
        BufReader::with_capacity(DEFAULT_BUF_SIZE, inner)
    }

    /// Wraps `inner` with a buffer of `capacity` bytes (at least 1: an empty buffer could
    /// not tell end of file from no room).
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::io::{BufReader, Cursor};
    ///
    /// let r = BufReader::with_capacity(16, Cursor::new(Vec::<u8>::new()));
    /// assert_eq!(r.capacity(), 16);
    /// assert_eq!(BufReader::with_capacity(0, r.into_inner()).capacity(), 1);
    /// ```
    pub fn with_capacity(capacity: usize, inner: R) -> BufReader<R> {
        let data = vec![0; capacity.max(1)].into_boxed_slice();
        BufReader {
            inner,
            state: Buffer {
                data,
                pos: 0,
                filled: 0,
            },
        }
    }

    fn parts(self: Pin<&mut Self>) -> (Pin<&mut R>, &mut Buffer) {
        let this = self.project();
        (this.inner, this.state)
    }

    /// The buffer's size in bytes.
    pub fn capacity(&self) -> usize {
        self.state.data.len()
    }

    /// The bytes read from the inner reader but not yet returned.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::io::{AsyncBufReadExt, BufReader, Cursor};
    ///
    /// let mut r = BufReader::new(Cursor::new(&b"abc"[..]));
    /// assert!(r.buffer().is_empty());
    /// solo_lite::future::block_on(r.fill_buf()).unwrap();
    /// assert_eq!(r.buffer(), b"abc");
    /// ```
    pub fn buffer(&self) -> &[u8] {
        self.state.unread()
    }

    /// The inner reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The inner reader, mutably. Reading from it directly skips the buffered bytes.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// The pinned inner reader. Reading from it directly skips the buffered bytes.
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut R> {
        self.parts().0
    }

    /// Unwraps the inner reader; buffered bytes are lost.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: fmt::Debug> fmt::Debug for BufReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufReader")
            .field("inner", &self.inner)
            .field(
                "buffered",
                &format_args!("{}/{}", self.buffer().len(), self.capacity()),
            )
            .finish()
    }
}

impl<R: AsyncRead> AsyncRead for BufReader<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let (inner, state) = self.as_mut().parts();
        if state.pos == state.filled && buf.len() >= state.data.len() {
            // Nothing buffered and a large read: skip the copy.
            state.discard();
            return inner.poll_read(cx, buf);
        }
        let n = {
            let unread = ready!(self.as_mut().poll_fill_buf(cx))?;
            let n = unread.len().min(buf.len());
            buf[..n].copy_from_slice(&unread[..n]);
            n
        };
        self.consume(n);
        Poll::Ready(Ok(n))
    }
}

impl<R: AsyncRead> AsyncBufRead for BufReader<R> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let (inner, state) = self.parts();
        if state.pos >= state.filled {
            let n = ready!(inner.poll_read(cx, &mut state.data))?;
            state.pos = 0;
            state.filled = n.min(state.data.len());
        }
        Poll::Ready(Ok(state.unread()))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let state = self.parts().1;
        state.pos = state.pos.saturating_add(amt).min(state.filled);
    }
}

impl<R: AsyncSeek> AsyncSeek for BufReader<R> {
    /// Seeks the inner reader and discards the buffer. `SeekFrom::Current` counts from the
    /// position of the next byte this reader returns, not the inner reader's position.
    fn poll_seek(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        let (mut inner, state) = self.parts();
        let result = if let SeekFrom::Current(offset) = pos {
            // The inner reader is `unread` bytes ahead of us.
            let unread = (state.filled - state.pos) as i64;
            match offset.checked_sub(unread) {
                Some(adjusted) => {
                    ready!(inner.as_mut().poll_seek(cx, SeekFrom::Current(adjusted)))?
                }
                None => {
                    // Too far back for one relative seek: step back to our position first.
                    // The buffer is discarded at once, so a `Pending` second step retries
                    // only itself.
                    ready!(inner.as_mut().poll_seek(cx, SeekFrom::Current(-unread)))?;
                    state.discard();
                    ready!(inner.as_mut().poll_seek(cx, SeekFrom::Current(offset)))?
                }
            }
        } else {
            ready!(inner.poll_seek(cx, pos))?
        };
        state.discard();
        Poll::Ready(Ok(result))
    }
}

impl<R: AsyncWrite> AsyncWrite for BufReader<R> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_pin_mut().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_pin_mut().poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_pin_mut().poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_pin_mut().poll_close(cx)
    }
}
