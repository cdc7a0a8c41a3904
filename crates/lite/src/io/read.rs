//! [`AsyncReadExt`], its futures, and the [`Take`], [`Chain`] and [`Bytes`] adapters.

use std::future::Future;
use std::io::{self, ErrorKind, IoSliceMut};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_io::{AsyncBufRead, AsyncRead};

use crate::ready;

/// Extension methods for every [`AsyncRead`].
pub trait AsyncReadExt: AsyncRead {
    /// Reads some bytes into `buf`, returning how many; `Ok(0)` means end of file (or an
    /// empty `buf`).
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::io::{AsyncReadExt, Cursor};
    ///
    /// let mut reader = Cursor::new(&b"hello"[..]);
    /// let mut buf = [0; 3];
    /// let n = solo_lite::future::block_on(reader.read(&mut buf)).unwrap();
    /// assert_eq!(&buf[..n], b"hel");
    /// ```
    fn read<'a>(&'a mut self, buf: &'a mut [u8]) -> ReadFuture<'a, Self>
    where
        Self: Unpin,
    {
        ReadFuture { reader: self, buf }
    }

    /// Reads some bytes into a sequence of buffers, filled in order, returning how many;
    /// `Ok(0)` means end of file (or buffers with no room).
    ///
    /// A reader without a vectored read of its own reads into the first non-empty buffer.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::io::{AsyncReadExt, IoSliceMut};
    ///
    /// let mut reader: &[u8] = b"hello world";
    /// let (mut head, mut tail) = ([0; 5], [0; 6]);
    /// let mut bufs = [IoSliceMut::new(&mut head), IoSliceMut::new(&mut tail)];
    /// let n = solo_lite::future::block_on(reader.read_vectored(&mut bufs)).unwrap();
    /// assert_eq!(n, 11);
    /// assert_eq!((&head, &tail), (b"hello", b" world"));
    /// ```
    fn read_vectored<'a>(
        &'a mut self,
        bufs: &'a mut [IoSliceMut<'a>],
    ) -> ReadVectoredFuture<'a, Self>
    where
        Self: Unpin,
    {
        ReadVectoredFuture { reader: self, bufs }
    }

    /// Reads exactly `buf.len()` bytes.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::UnexpectedEof`] if the reader ends first (the bytes read so far are in
    /// `buf`, but how many is unspecified); any error of the reader, except
    /// [`ErrorKind::Interrupted`], which is retried.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::io::{AsyncReadExt, Cursor, ErrorKind};
    ///
    /// solo_lite::future::block_on(async {
    ///     let mut reader = Cursor::new(&b"abcd"[..]);
    ///     let mut buf = [0; 3];
    ///     reader.read_exact(&mut buf).await.unwrap();
    ///     assert_eq!(&buf, b"abc");
    ///     let err = reader.read_exact(&mut buf).await.unwrap_err();
    ///     assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
    /// });
    /// ```
    fn read_exact<'a>(&'a mut self, buf: &'a mut [u8]) -> ReadExactFuture<'a, Self>
    where
        Self: Unpin,
    {
        ReadExactFuture { reader: self, buf }
    }

    /// Reads until end of file, appending to `buf`; returns the number of bytes appended.
    ///
    /// If the future is dropped early, `buf` keeps the bytes appended so far.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::io::{AsyncReadExt, Cursor};
    ///
    /// let mut buf = b"> ".to_vec();
    /// let n = solo_lite::future::block_on(Cursor::new(&b"data"[..]).read_to_end(&mut buf)).unwrap();
    /// assert_eq!((n, &buf[..]), (4, &b"> data"[..]));
    /// ```
    fn read_to_end<'a>(&'a mut self, buf: &'a mut Vec<u8>) -> ReadToEndFuture<'a, Self>
    where
        Self: Unpin,
    {
        ReadToEndFuture {
            reader: self,
            start_len: buf.len(),
            buf,
            probe: MIN_PROBE,
        }
    }

    /// Reads until end of file, appending to `buf`, which must end up valid UTF-8; returns
    /// the number of bytes appended.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidData`] if the bytes read are not UTF-8; `buf` is then unchanged.
    /// If the future is dropped early, `buf` is also left unchanged (the bytes read are lost).
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::io::{AsyncReadExt, Cursor, ErrorKind};
    ///
    /// solo_lite::future::block_on(async {
    ///     let mut s = String::from("Hi, ");
    ///     Cursor::new("wörld".as_bytes()).read_to_string(&mut s).await.unwrap();
    ///     assert_eq!(s, "Hi, wörld");
    ///     let err = Cursor::new(&[0xff][..]).read_to_string(&mut s).await.unwrap_err();
    ///     assert_eq!(err.kind(), ErrorKind::InvalidData);
    ///     assert_eq!(s, "Hi, wörld");
    /// });
    /// ```
    fn read_to_string<'a>(&'a mut self, buf: &'a mut String) -> ReadToStringFuture<'a, Self>
    where
        Self: Unpin,
    {
        let start_len = buf.len();
        let bytes = std::mem::take(buf).into_bytes();
        ReadToStringFuture {
            reader: self,
            buf,
            bytes: Some(bytes),
            start_len,
            probe: MIN_PROBE,
        }
    }

    /// A stream of the bytes of this reader, one `io::Result<u8>` at a time.
    ///
    /// Every item is one `poll_read` of one byte: wrap an unbuffered reader in a
    /// [`BufReader`](super::BufReader) first.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::io::{AsyncReadExt, Cursor};
    /// use solo_lite::stream::StreamExt;
    ///
    /// let bytes: Vec<u8> = solo_lite::future::block_on(
    ///     Cursor::new(&b"ab"[..]).bytes().map(Result::unwrap).collect(),
    /// );
    /// assert_eq!(bytes, b"ab");
    /// ```
    fn bytes(self) -> Bytes<Self>
    where
        Self: Sized,
    {
        Bytes { reader: self }
    }

    /// A reader of at most `limit` bytes of this one.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::io::{AsyncReadExt, Cursor};
    ///
    /// let mut s = String::new();
    /// let mut head = Cursor::new(&b"head and tail"[..]).take(4);
    /// solo_lite::future::block_on(head.read_to_string(&mut s)).unwrap();
    /// assert_eq!(s, "head");
    /// ```
    fn take(self, limit: u64) -> Take<Self>
    where
        Self: Sized,
    {
        Take {
            inner: self,
            state: limit,
        }
    }

    /// A reader of this reader's bytes followed by those of `next`.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::io::{AsyncReadExt, Cursor};
    ///
    /// let mut s = String::new();
    /// let mut both = Cursor::new(&b"one "[..]).chain(Cursor::new(&b"two"[..]));
    /// solo_lite::future::block_on(both.read_to_string(&mut s)).unwrap();
    /// assert_eq!(s, "one two");
    /// ```
    fn chain<R: AsyncRead>(self, next: R) -> Chain<Self, R>
    where
        Self: Sized,
    {
        Chain {
            first: self,
            second: next,
            state: false,
        }
    }

    /// Boxes the reader and erases its type; it must be `Send`. A `'static` reader gives a
    /// [`BoxedReader`](super::BoxedReader); one that borrows keeps its lifetime `'a`.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::io::{AsyncReadExt, BoxedReader, Cursor};
    ///
    /// let readers: Vec<BoxedReader> = vec![
    ///     Cursor::new(b"ab".to_vec()).boxed_reader(),
    ///     solo_lite::io::empty().boxed_reader(),
    /// ];
    /// let mut total = 0;
    /// for mut r in readers {
    ///     let mut buf = Vec::new();
    ///     total += solo_lite::future::block_on(r.read_to_end(&mut buf)).unwrap();
    /// }
    /// assert_eq!(total, 2);
    /// ```
    fn boxed_reader<'a>(self) -> Pin<Box<dyn AsyncRead + Send + 'a>>
    where
        Self: Sized + Send + 'a,
    {
        Box::pin(self)
    }
}

impl<R: AsyncRead + ?Sized> AsyncReadExt for R {}

/// Future for [`AsyncReadExt::read`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadFuture<'a, R: ?Sized> {
    reader: &'a mut R,
    buf: &'a mut [u8],
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadFuture<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        Pin::new(&mut *this.reader).poll_read(cx, this.buf)
    }
}

/// Future for [`AsyncReadExt::read_vectored`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadVectoredFuture<'a, R: ?Sized> {
    reader: &'a mut R,
    bufs: &'a mut [IoSliceMut<'a>],
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadVectoredFuture<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        Pin::new(&mut *this.reader).poll_read_vectored(cx, this.bufs)
    }
}

/// Future for [`AsyncReadExt::read_exact`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadExactFuture<'a, R: ?Sized> {
    reader: &'a mut R,
    /// The part of the caller's buffer still to fill.
    buf: &'a mut [u8],
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadExactFuture<'_, R> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        while !this.buf.is_empty() {
            match ready!(Pin::new(&mut *this.reader).poll_read(cx, this.buf)) {
                Ok(0) => {
                    return Poll::Ready(Err(io::Error::new(
                        ErrorKind::UnexpectedEof,
                        "read_exact: the reader ended before the buffer was filled",
                    )));
                }
                Ok(n) => {
                    let rest = std::mem::take(&mut this.buf);
                    let n = n.min(rest.len());
                    this.buf = &mut rest[n..];
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// The first read size of `read_to_end`; it doubles while reads fill it.
const MIN_PROBE: usize = 32;
/// The largest read `read_to_end` offers at once (it zeroes this much before a read).
const MAX_PROBE: usize = 64 * 1024;

/// Reads `reader` to its end into `buf`, offering `probe` bytes per read (zeroed first,
/// since the reader gets `&mut [u8]`), growing `probe` while reads fill it. Bytes read so
/// far stay in `buf` when this returns `Pending` or an error.
fn poll_read_to_end<R: AsyncRead + ?Sized>(
    mut reader: Pin<&mut R>,
    cx: &mut Context<'_>,
    buf: &mut Vec<u8>,
    probe: &mut usize,
) -> Poll<io::Result<()>> {
    loop {
        let filled = buf.len();
        buf.resize(filled + *probe, 0);
        let result = reader.as_mut().poll_read(cx, &mut buf[filled..]);
        let n = match &result {
            Poll::Ready(Ok(n)) => (*n).min(*probe),
            _ => 0,
        };
        buf.truncate(filled + n);
        match result {
            Poll::Ready(Ok(0)) => return Poll::Ready(Ok(())),
            Poll::Ready(Ok(_)) => {
                if n == *probe {
                    *probe = (*probe * 2).min(MAX_PROBE);
                }
            }
            Poll::Ready(Err(e)) if e.kind() == ErrorKind::Interrupted => {}
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        }
    }
}

/// Future for [`AsyncReadExt::read_to_end`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadToEndFuture<'a, R: ?Sized> {
    reader: &'a mut R,
    buf: &'a mut Vec<u8>,
    start_len: usize,
    probe: usize,
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadToEndFuture<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(poll_read_to_end(
            Pin::new(&mut *this.reader),
            cx,
            this.buf,
            &mut this.probe
        ))?;
        Poll::Ready(Ok(this.buf.len() - this.start_len))
    }
}

/// Future for [`AsyncReadExt::read_to_string`].
///
/// While it runs, the string's bytes live in the future; they are put back when it
/// completes or is dropped.
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadToStringFuture<'a, R: ?Sized> {
    reader: &'a mut R,
    buf: &'a mut String,
    /// The string's bytes plus those read so far; `None` once handed back.
    bytes: Option<Vec<u8>>,
    start_len: usize,
    probe: usize,
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadToStringFuture<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let Some(bytes) = this.bytes.as_mut() else {
            panic!("`ReadToStringFuture` polled after completion");
        };
        let result = ready!(poll_read_to_end(
            Pin::new(&mut *this.reader),
            cx,
            bytes,
            &mut this.probe
        ));
        let bytes = this.bytes.take().unwrap_or_default();
        Poll::Ready(result.and_then(|()| finish_utf8(this.buf, bytes, this.start_len)))
    }
}

impl<R: ?Sized> Drop for ReadToStringFuture<'_, R> {
    fn drop(&mut self) {
        if let Some(bytes) = self.bytes.take() {
            restore_prefix(self.buf, bytes, self.start_len);
        }
    }
}

/// Stores `bytes` in `buf` if they are UTF-8 and returns how many were appended after
/// `start_len`; otherwise restores `buf`'s first `start_len` bytes and fails.
pub(super) fn finish_utf8(buf: &mut String, bytes: Vec<u8>, start_len: usize) -> io::Result<usize> {
    match String::from_utf8(bytes) {
        Ok(s) => {
            *buf = s;
            Ok(buf.len() - start_len)
        }
        Err(e) => {
            restore_prefix(buf, e.into_bytes(), start_len);
            Err(io::Error::new(
                ErrorKind::InvalidData,
                "stream did not contain valid UTF-8",
            ))
        }
    }
}

/// Puts the first `len` bytes of `bytes`, which were a valid `String`, back into `buf`.
pub(super) fn restore_prefix(buf: &mut String, mut bytes: Vec<u8>, len: usize) {
    bytes.truncate(len);
    // The prefix was a `String`, so the lossy path never replaces anything.
    *buf = String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
}

/// Stream for [`AsyncReadExt::bytes`].
#[derive(Debug)]
#[must_use = "streams do nothing unless polled"]
pub struct Bytes<R> {
    reader: R,
}

impl<R: AsyncRead + Unpin> Stream for Bytes<R> {
    type Item = io::Result<u8>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<io::Result<u8>>> {
        let mut byte = 0;
        loop {
            match ready!(Pin::new(&mut self.reader).poll_read(cx, std::slice::from_mut(&mut byte)))
            {
                Ok(0) => return Poll::Ready(None),
                Ok(_) => return Poll::Ready(Some(Ok(byte))),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Some(Err(e))),
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// Reader for [`AsyncReadExt::take`]: at most `limit` bytes of the inner reader.
    #[derive(Debug)]
    pub struct Take<R> {
        #[pin]
        inner: R,
        // Bytes still allowed.
        state: u64,
    }
}

impl<R> Take<R> {
    fn parts(self: Pin<&mut Self>) -> (Pin<&mut R>, &mut u64) {
        let this = self.project();
        (this.inner, this.state)
    }

    /// How many more bytes this reader may return.
    pub fn limit(&self) -> u64 {
        self.state
    }

    /// Sets how many more bytes this reader may return.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::io::{AsyncReadExt, Cursor};
    ///
    /// let mut t = Cursor::new(&b"abcdef"[..]).take(1);
    /// t.set_limit(3);
    /// assert_eq!(t.limit(), 3);
    /// let mut s = String::new();
    /// solo_lite::future::block_on(t.read_to_string(&mut s)).unwrap();
    /// assert_eq!(s, "abc");
    /// ```
    pub fn set_limit(&mut self, limit: u64) {
        self.state = limit;
    }

    /// The inner reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The inner reader, mutably. Reading from it directly bypasses the limit.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Unwraps the inner reader.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

/// Converts a `u64` limit to a buffer length bound.
fn cap(limit: u64, len: usize) -> usize {
    usize::try_from(limit).map_or(len, |limit| limit.min(len))
}

impl<R: AsyncRead> AsyncRead for Take<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let (inner, limit) = self.parts();
        if *limit == 0 {
            return Poll::Ready(Ok(0));
        }
        let max = cap(*limit, buf.len());
        let n = ready!(inner.poll_read(cx, &mut buf[..max]))?.min(max);
        *limit -= n as u64;
        Poll::Ready(Ok(n))
    }
}

impl<R: AsyncBufRead> AsyncBufRead for Take<R> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let (inner, limit) = self.parts();
        if *limit == 0 {
            return Poll::Ready(Ok(&[]));
        }
        let buf = ready!(inner.poll_fill_buf(cx))?;
        Poll::Ready(Ok(&buf[..cap(*limit, buf.len())]))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let (inner, limit) = self.parts();
        let amt = cap(*limit, amt);
        *limit -= amt as u64;
        inner.consume(amt);
    }
}

pin_project_lite::pin_project! {
    /// Reader for [`AsyncReadExt::chain`]: the first reader's bytes, then the second's.
    #[derive(Debug)]
    pub struct Chain<R1, R2> {
        #[pin]
        first: R1,
        #[pin]
        second: R2,
        // Whether `first` has reached its end.
        state: bool,
    }
}

impl<R1, R2> Chain<R1, R2> {
    fn parts(self: Pin<&mut Self>) -> (Pin<&mut R1>, Pin<&mut R2>, &mut bool) {
        let this = self.project();
        (this.first, this.second, this.state)
    }

    /// The two readers.
    pub fn get_ref(&self) -> (&R1, &R2) {
        (&self.first, &self.second)
    }

    /// The two readers, mutably.
    pub fn get_mut(&mut self) -> (&mut R1, &mut R2) {
        (&mut self.first, &mut self.second)
    }

    /// Unwraps the two readers.
    pub fn into_inner(self) -> (R1, R2) {
        (self.first, self.second)
    }
}

impl<R1: AsyncRead, R2: AsyncRead> AsyncRead for Chain<R1, R2> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let (first, second, first_done) = self.parts();
        if !*first_done {
            match ready!(first.poll_read(cx, buf))? {
                0 if !buf.is_empty() => *first_done = true,
                n => return Poll::Ready(Ok(n)),
            }
        }
        second.poll_read(cx, buf)
    }
}

impl<R1: AsyncBufRead, R2: AsyncBufRead> AsyncBufRead for Chain<R1, R2> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let (first, second, first_done) = self.parts();
        if !*first_done {
            let buf = ready!(first.poll_fill_buf(cx))?;
            if !buf.is_empty() {
                return Poll::Ready(Ok(buf));
            }
            *first_done = true;
        }
        second.poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let (first, second, first_done) = self.parts();
        if *first_done {
            second.consume(amt)
        } else {
            first.consume(amt)
        }
    }
}
