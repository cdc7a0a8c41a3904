//! The child's standard streams: [`ChildStdin`], [`ChildStdout`], [`ChildStderr`].
//!
//! On Unix each is the pipe's descriptor, non-blocking and registered in the reactor
//! ([`Async`]); on Windows, where anonymous pipes cannot be polled, the pipe runs on the
//! blocking pool ([`Unblock`]).

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::pin::Pin;
use std::process::Stdio;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

#[cfg(unix)]
use crate::Async;
#[cfg(windows)]
use crate::Unblock;

/// How a pipe of type `T` is held.
#[cfg(unix)]
type Pipe<T> = Async<T>;
#[cfg(windows)]
type Pipe<T> = Unblock<T>;

/// Registers (Unix) or wraps (Windows) a pipe of the child.
#[cfg(unix)]
fn pipe<T: std::os::fd::AsFd>(io: T) -> io::Result<Pipe<T>> {
    Async::new(io)
}

#[cfg(windows)]
fn pipe<T: Send + 'static>(io: T) -> io::Result<Pipe<T>> {
    Ok(Unblock::new(io))
}

/// The `std` pipe of `p`, back in blocking mode, as a [`Stdio`] for another child.
#[cfg(unix)]
async fn into_stdio<T>(p: Pipe<T>) -> io::Result<Stdio>
where
    T: std::os::fd::AsFd + Into<Stdio>,
{
    let io = p.into_inner()?;
    crate::sys::set_blocking(io.as_fd())?;
    Ok(io.into())
}

#[cfg(windows)]
async fn into_stdio<T>(p: Pipe<T>) -> io::Result<Stdio>
where
    T: Send + 'static + Into<Stdio>,
{
    Ok(p.into_inner().await.into())
}

/// The writing end of the child's standard input, from [`Child::stdin`](super::Child).
///
/// An [`AsyncWrite`]. Closing it (`close().await`, or dropping it) closes the pipe, so
/// the child reads end-of-file; writes after `close` fail with `BrokenPipe`. A write to a
/// child that closed its end also fails with `BrokenPipe`.
pub struct ChildStdin {
    /// `None` once closed.
    inner: Option<Pipe<std::process::ChildStdin>>,
}

/// The reading end of the child's standard output, from [`Child::stdout`](super::Child).
///
/// An [`AsyncRead`]; reading returns 0 (end-of-file) once the child closed its end (or
/// exited) and everything written was read.
pub struct ChildStdout {
    inner: Pipe<std::process::ChildStdout>,
}

/// The reading end of the child's standard error, from [`Child::stderr`](super::Child).
/// See [`ChildStdout`].
pub struct ChildStderr {
    inner: Pipe<std::process::ChildStderr>,
}

impl ChildStdin {
    pub(super) fn new(io: std::process::ChildStdin) -> io::Result<ChildStdin> {
        Ok(ChildStdin {
            inner: Some(pipe(io)?),
        })
    }

    /// The pipe as a [`Stdio`], to be another child's standard input (the pipe leaves
    /// this loop). On Windows, buffered writes are written first.
    ///
    /// # Errors
    ///
    /// `BrokenPipe` if it was closed.
    pub async fn into_stdio(mut self) -> io::Result<Stdio> {
        match self.inner.take() {
            Some(p) => into_stdio(p).await,
            None => Err(closed()),
        }
    }

    fn pipe(&mut self) -> io::Result<Pin<&mut Pipe<std::process::ChildStdin>>> {
        self.inner.as_mut().map(Pin::new).ok_or_else(closed)
    }
}

fn closed() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "the child's standard input was closed",
    )
}

impl ChildStdout {
    pub(super) fn new(io: std::process::ChildStdout) -> io::Result<ChildStdout> {
        Ok(ChildStdout { inner: pipe(io)? })
    }

    /// The pipe as a [`Stdio`], to be another child's standard input (`a | b`); the pipe
    /// leaves this loop.
    pub async fn into_stdio(self) -> io::Result<Stdio> {
        into_stdio(self.inner).await
    }
}

impl ChildStderr {
    pub(super) fn new(io: std::process::ChildStderr) -> io::Result<ChildStderr> {
        Ok(ChildStderr { inner: pipe(io)? })
    }

    /// The pipe as a [`Stdio`], to be another child's standard input; the pipe leaves
    /// this loop.
    pub async fn into_stdio(self) -> io::Result<Stdio> {
        into_stdio(self.inner).await
    }
}

impl AsyncWrite for ChildStdin {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().pipe()?.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().pipe()?.poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().inner.as_mut() {
            Some(p) => Pin::new(p).poll_flush(cx),
            None => Poll::Ready(Ok(())),
        }
    }

    /// Flushes, then closes the pipe: the child reads end-of-file.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(p) = this.inner.as_mut() {
            std::task::ready!(Pin::new(p).poll_flush(cx))?;
            this.inner = None;
        }
        Poll::Ready(Ok(()))
    }
}

/// `AsyncRead` for a read pipe type.
macro_rules! read_pipe {
    ($t:ty) => {
        impl AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
            }

            fn poll_read_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &mut [IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut self.get_mut().inner).poll_read_vectored(cx, bufs)
            }
        }

        #[cfg(unix)]
        impl std::os::fd::AsFd for $t {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                self.inner.as_fd()
            }
        }

        #[cfg(unix)]
        impl std::os::fd::AsRawFd for $t {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                self.inner.as_raw_fd()
            }
        }
    };
}

read_pipe!(ChildStdout);
read_pipe!(ChildStderr);

impl fmt::Debug for ChildStdin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildStdin")
            .field("closed", &self.inner.is_none())
            .finish()
    }
}

impl fmt::Debug for ChildStdout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildStdout").finish_non_exhaustive()
    }
}

impl fmt::Debug for ChildStderr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildStderr").finish_non_exhaustive()
    }
}
