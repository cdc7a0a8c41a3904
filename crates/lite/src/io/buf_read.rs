//! [`AsyncBufReadExt`], its futures, and the [`Lines`] and [`Split`] streams.

use std::future::Future;
use std::io::{self, ErrorKind};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_io::AsyncBufRead;

use super::read::{finish_utf8, restore_prefix};
use crate::ready;

/// Extension methods for every [`AsyncBufRead`].
pub trait AsyncBufReadExt: AsyncBufRead {
    /// The reader's buffered bytes, filling the buffer first if it is empty; an empty slice
    /// means end of file. Call [`consume`](AsyncBufReadExt::consume) to mark bytes as used.
    ///
    /// # Errors
    ///
    /// Those of the reader; also [`ErrorKind::Other`] if the reader breaks the
    /// `AsyncBufRead` contract by returning `Pending` right after it returned data.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::io::{AsyncBufReadExt, BufReader, Cursor};
    ///
    /// solo_lite::future::block_on(async {
    ///     let mut r = BufReader::with_capacity(2, Cursor::new(&b"abc"[..]));
    ///     assert_eq!(r.fill_buf().await.unwrap(), b"ab");
    ///     r.consume(2);
    ///     assert_eq!(r.fill_buf().await.unwrap(), b"c");
    ///     r.consume(1);
    ///     assert!(r.fill_buf().await.unwrap().is_empty());
    /// });
    /// ```
    fn fill_buf(&mut self) -> FillBuf<'_, Self>
    where
        Self: Unpin,
    {
        FillBuf { reader: Some(self) }
    }

    /// Marks `amt` buffered bytes as used, so that the next read starts after them.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::io::{AsyncBufReadExt, AsyncReadExt, Cursor};
    ///
    /// let mut r = Cursor::new(&b"skip-me:data"[..]);
    /// r.consume(8);
    /// let mut s = String::new();
    /// solo_lite::future::block_on(r.read_to_string(&mut s)).unwrap();
    /// assert_eq!(s, "data");
    /// ```
    fn consume(&mut self, amt: usize)
    where
        Self: Unpin,
    {
        AsyncBufRead::consume(Pin::new(self), amt);
    }

    /// Reads until `byte` (included) or end of file, appending to `buf`; returns the number
    /// of bytes appended, 0 at end of file.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::io::{AsyncBufReadExt, Cursor};
    ///
    /// solo_lite::future::block_on(async {
    ///     let mut r = Cursor::new(&b"a,b"[..]);
    ///     let mut buf = Vec::new();
    ///     assert_eq!(r.read_until(b',', &mut buf).await.unwrap(), 2);
    ///     assert_eq!(buf, b"a,");
    ///     assert_eq!(r.read_until(b',', &mut buf).await.unwrap(), 1);
    ///     assert_eq!(buf, b"a,b");
    /// });
    /// ```
    fn read_until<'a>(&'a mut self, byte: u8, buf: &'a mut Vec<u8>) -> ReadUntilFuture<'a, Self>
    where
        Self: Unpin,
    {
        ReadUntilFuture {
            reader: self,
            byte,
            buf,
            read: 0,
        }
    }

    /// Reads a line (up to and including `\n`, or to end of file), appending it to `buf`;
    /// returns the number of bytes appended, 0 at end of file.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidData`] if the line is not UTF-8; `buf` is then unchanged (the
    /// line's bytes are consumed from the reader). Dropping the future early also leaves
    /// `buf` unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::io::{AsyncBufReadExt, Cursor};
    ///
    /// solo_lite::future::block_on(async {
    ///     let mut r = Cursor::new(&b"one\ntwo"[..]);
    ///     let mut line = String::new();
    ///     assert_eq!(r.read_line(&mut line).await.unwrap(), 4);
    ///     assert_eq!(line, "one\n");
    ///     line.clear();
    ///     assert_eq!(r.read_line(&mut line).await.unwrap(), 3);
    ///     assert_eq!(line, "two");
    ///     assert_eq!(r.read_line(&mut line).await.unwrap(), 0);
    /// });
    /// ```
    fn read_line<'a>(&'a mut self, buf: &'a mut String) -> ReadLineFuture<'a, Self>
    where
        Self: Unpin,
    {
        let start_len = buf.len();
        let bytes = std::mem::take(buf).into_bytes();
        ReadLineFuture {
            reader: self,
            buf,
            bytes: Some(bytes),
            start_len,
            read: 0,
        }
    }

    /// A stream of the lines of this reader, without their `\n` or `\r\n`.
    ///
    /// An item is an error if a line is not UTF-8 ([`ErrorKind::InvalidData`]) or reading
    /// failed; the stream goes on after it.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::io::{AsyncBufReadExt, Cursor};
    /// use solo_lite::stream::StreamExt;
    ///
    /// let lines: Vec<String> = solo_lite::future::block_on(
    ///     Cursor::new(&b"a\r\nb\n\nc"[..]).lines().map(Result::unwrap).collect(),
    /// );
    /// assert_eq!(lines, ["a", "b", "", "c"]);
    /// ```
    fn lines(self) -> Lines<Self>
    where
        Self: Unpin + Sized,
    {
        Lines {
            reader: self,
            bytes: Vec::new(),
            read: 0,
        }
    }

    /// A stream of the segments of this reader separated by `byte` (which is removed).
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::io::{AsyncBufReadExt, Cursor};
    /// use solo_lite::stream::StreamExt;
    ///
    /// let parts: Vec<Vec<u8>> = solo_lite::future::block_on(
    ///     Cursor::new(&b"k=v;x=y;"[..]).split(b';').map(Result::unwrap).collect(),
    /// );
    /// assert_eq!(parts, [b"k=v".to_vec(), b"x=y".to_vec()]);
    /// ```
    fn split(self, byte: u8) -> Split<Self>
    where
        Self: Unpin + Sized,
    {
        Split {
            reader: self,
            byte,
            bytes: Vec::new(),
            read: 0,
        }
    }
}

impl<R: AsyncBufRead + ?Sized> AsyncBufReadExt for R {}

/// Future for [`AsyncBufReadExt::fill_buf`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct FillBuf<'a, R: ?Sized> {
    reader: Option<&'a mut R>,
}

impl<'a, R: AsyncBufRead + Unpin + ?Sized> Future for FillBuf<'a, R> {
    type Output = io::Result<&'a [u8]>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&'a [u8]>> {
        let Some(reader) = self.reader.take() else {
            panic!("`FillBuf` polled after completion");
        };
        match Pin::new(&mut *reader).poll_fill_buf(cx) {
            // End of file: an empty slice borrows nothing.
            Poll::Ready(Ok([])) => return Poll::Ready(Ok(&[])),
            Poll::Ready(Ok(_)) => {}
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => {
                self.reader = Some(reader);
                return Poll::Pending;
            }
        }
        // Returning the first slice would tie it to this poll's borrow of `reader`, not to
        // `'a`; so ask again with the whole borrow. A buffered reader that just returned
        // data returns the same data at once.
        match Pin::new(reader).poll_fill_buf(cx) {
            Poll::Ready(result) => Poll::Ready(result),
            Poll::Pending => Poll::Ready(Err(io::Error::other(
                "fill_buf: the reader returned data, then `Pending` for the same data",
            ))),
        }
    }
}

/// Reads into `buf` until `byte` or end of file. `read` counts bytes appended by earlier
/// polls of the same operation; it is reset when the operation completes.
fn poll_read_until<R: AsyncBufRead + ?Sized>(
    mut reader: Pin<&mut R>,
    cx: &mut Context<'_>,
    byte: u8,
    buf: &mut Vec<u8>,
    read: &mut usize,
) -> Poll<io::Result<usize>> {
    loop {
        let (found, used) = {
            let available = match ready!(reader.as_mut().poll_fill_buf(cx)) {
                Ok(available) => available,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Poll::Ready(Err(e)),
            };
            match available.iter().position(|&b| b == byte) {
                Some(i) => {
                    buf.extend_from_slice(&available[..=i]);
                    (true, i + 1)
                }
                None => {
                    buf.extend_from_slice(available);
                    (false, available.len())
                }
            }
        };
        reader.as_mut().consume(used);
        *read += used;
        if found || used == 0 {
            return Poll::Ready(Ok(std::mem::take(read)));
        }
    }
}

/// Future for [`AsyncBufReadExt::read_until`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadUntilFuture<'a, R: ?Sized> {
    reader: &'a mut R,
    byte: u8,
    buf: &'a mut Vec<u8>,
    read: usize,
}

impl<R: AsyncBufRead + Unpin + ?Sized> Future for ReadUntilFuture<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        poll_read_until(
            Pin::new(&mut *this.reader),
            cx,
            this.byte,
            this.buf,
            &mut this.read,
        )
    }
}

/// Future for [`AsyncBufReadExt::read_line`].
///
/// While it runs, the string's bytes live in the future; they are put back when it
/// completes or is dropped.
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadLineFuture<'a, R: ?Sized> {
    reader: &'a mut R,
    buf: &'a mut String,
    /// The string's bytes plus the line so far; `None` once handed back.
    bytes: Option<Vec<u8>>,
    start_len: usize,
    read: usize,
}

impl<R: AsyncBufRead + Unpin + ?Sized> Future for ReadLineFuture<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let Some(bytes) = this.bytes.as_mut() else {
            panic!("`ReadLineFuture` polled after completion");
        };
        let result = ready!(poll_read_until(
            Pin::new(&mut *this.reader),
            cx,
            b'\n',
            bytes,
            &mut this.read
        ));
        let bytes = this.bytes.take().unwrap_or_default();
        match result {
            Ok(_) => Poll::Ready(finish_utf8(this.buf, bytes, this.start_len)),
            Err(e) => {
                restore_prefix(this.buf, bytes, this.start_len);
                Poll::Ready(Err(e))
            }
        }
    }
}

impl<R: ?Sized> Drop for ReadLineFuture<'_, R> {
    fn drop(&mut self) {
        if let Some(bytes) = self.bytes.take() {
            restore_prefix(self.buf, bytes, self.start_len);
        }
    }
}

/// Removes a trailing `\n` or `\r\n`.
fn strip_newline(bytes: &mut Vec<u8>) {
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    }
}

/// Stream for [`AsyncBufReadExt::lines`].
#[derive(Debug)]
#[must_use = "streams do nothing unless polled"]
pub struct Lines<R> {
    reader: R,
    bytes: Vec<u8>,
    read: usize,
}

impl<R> Lines<R> {
    /// Unwraps the reader; a partly read line is lost.
    pub fn into_inner(self) -> R {
        self.reader
    }
}

impl<R: AsyncBufRead + Unpin> Stream for Lines<R> {
    type Item = io::Result<String>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<io::Result<String>>> {
        let this = self.get_mut();
        let n = ready!(poll_read_until(
            Pin::new(&mut this.reader),
            cx,
            b'\n',
            &mut this.bytes,
            &mut this.read
        ));
        if let Err(e) = n {
            // Keep a partly read line: the next poll goes on with it.
            return Poll::Ready(Some(Err(e)));
        }
        if this.bytes.is_empty() {
            return Poll::Ready(None);
        }
        let mut bytes = std::mem::take(&mut this.bytes);
        strip_newline(&mut bytes);
        Poll::Ready(Some(String::from_utf8(bytes).map_err(|_| {
            io::Error::new(ErrorKind::InvalidData, "line is not valid UTF-8")
        })))
    }
}

/// Stream for [`AsyncBufReadExt::split`].
#[derive(Debug)]
#[must_use = "streams do nothing unless polled"]
pub struct Split<R> {
    reader: R,
    byte: u8,
    bytes: Vec<u8>,
    read: usize,
}

impl<R> Split<R> {
    /// Unwraps the reader; a partly read segment is lost.
    pub fn into_inner(self) -> R {
        self.reader
    }
}

impl<R: AsyncBufRead + Unpin> Stream for Split<R> {
    type Item = io::Result<Vec<u8>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<io::Result<Vec<u8>>>> {
        let this = self.get_mut();
        let n = ready!(poll_read_until(
            Pin::new(&mut this.reader),
            cx,
            this.byte,
            &mut this.bytes,
            &mut this.read
        ));
        if let Err(e) = n {
            // Keep a partly read segment: the next poll goes on with it.
            return Poll::Ready(Some(Err(e)));
        }
        if this.bytes.is_empty() {
            return Poll::Ready(None);
        }
        let mut bytes = std::mem::take(&mut this.bytes);
        if bytes.last() == Some(&this.byte) {
            bytes.pop();
        }
        Poll::Ready(Some(Ok(bytes)))
    }
}
