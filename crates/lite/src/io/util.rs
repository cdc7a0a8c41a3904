//! Trivial readers and writers: [`empty`], [`sink`], [`repeat`].

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncBufRead, AsyncRead, AsyncWrite};

/// A reader that is always at end of file.
///
/// # Examples
///
/// ```
/// use solo_lite::io::{self, AsyncReadExt};
///
/// let mut buf = Vec::new();
/// let n = solo_lite::future::block_on(io::empty().read_to_end(&mut buf)).unwrap();
/// assert_eq!(n, 0);
/// ```
pub fn empty() -> Empty {
    Empty { _private: () }
}

/// Reader for [`empty`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Empty {
    _private: (),
}

impl AsyncRead for Empty {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(0))
    }
}

impl AsyncBufRead for Empty {
    fn poll_fill_buf(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        Poll::Ready(Ok(&[]))
    }

    fn consume(self: Pin<&mut Self>, _: usize) {}
}

/// A writer that accepts and discards every byte.
///
/// # Examples
///
/// ```
/// use solo_lite::io::{self, AsyncWriteExt};
///
/// let n = solo_lite::future::block_on(io::sink().write(b"gone")).unwrap();
/// assert_eq!(n, 4);
/// ```
pub fn sink() -> Sink {
    Sink { _private: () }
}

/// Writer for [`sink`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Sink {
    _private: (),
}

impl AsyncWrite for Sink {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// An endless reader of `byte`.
///
/// # Examples
///
/// ```
/// use solo_lite::io::{self, AsyncReadExt};
///
/// let mut buf = [0; 3];
/// solo_lite::future::block_on(io::repeat(b'z').read_exact(&mut buf)).unwrap();
/// assert_eq!(&buf, b"zzz");
/// ```
pub fn repeat(byte: u8) -> Repeat {
    Repeat { byte }
}

/// Reader for [`repeat`].
#[derive(Debug, Clone, Copy)]
pub struct Repeat {
    byte: u8,
}

impl AsyncRead for Repeat {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        buf.fill(self.byte);
        Poll::Ready(Ok(buf.len()))
    }
}
