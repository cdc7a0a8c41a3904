//! Networking: TCP, UDP and (on Unix) Unix-domain sockets on this thread's reactor.
//!
//! Every type wraps its `std::net` counterpart in [`Async`](crate::Async), implements the
//! `futures-io` traits where they apply, and converts from and to the `std` type. Host
//! names are resolved on the blocking pool ([`AsyncToSocketAddrs`]).

mod addr;
#[cfg(not(solo_sim))]
mod tcp;
#[cfg(not(solo_sim))]
mod udp;
#[cfg(unix)]
mod unix;

#[cfg(solo_sim)]
pub(crate) use addr::each_addr;
pub use addr::{AsyncToSocketAddrs, Resolve};
// Under simulation the same names are in-memory endpoints of the simulated world.
#[cfg(solo_sim)]
pub use crate::sim::net::{Incoming, TcpListener, TcpStream, UdpSocket};
#[cfg(not(solo_sim))]
pub use tcp::{Incoming, TcpListener, TcpStream};
#[cfg(not(solo_sim))]
pub use udp::UdpSocket;
#[cfg(unix)]
pub use unix::{UnixDatagram, UnixIncoming, UnixListener, UnixStream};

pub use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, SocketAddrV4, SocketAddrV6};

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::{Timer, sys};

/// Backoff for listeners after `EMFILE`/`ENFILE` (out of descriptors) and the like:
/// instead of spinning on a listener that stays readable, wait 1 ms, doubling up to 1 s,
/// and try again. Shared by the TCP and Unix listeners.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    timer: Option<Timer>,
    delay: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(1);
    const MAX: Duration = Duration::from_secs(1);

    /// Polls `accept`, backing off while it fails for lack of resources; any other
    /// outcome resets the delay and is returned.
    pub(crate) fn poll_accept<T>(
        &mut self,
        cx: &mut Context<'_>,
        mut accept: impl FnMut(&mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        loop {
            if let Some(timer) = &mut self.timer {
                std::task::ready!(Pin::new(timer).poll(cx));
                self.timer = None;
            }
            match std::task::ready!(accept(cx)) {
                Err(e) if sys::is_resource_exhausted(&e) => {
                    self.delay = (self.delay * 2).clamp(Self::FIRST, Self::MAX);
                    self.timer = Some(Timer::after(self.delay));
                }
                res => {
                    self.delay = Duration::ZERO;
                    return Poll::Ready(res);
                }
            }
        }
    }
}

/// `futures-io` for a byte stream type `$t` (and `&$t`) whose `inner` is an `Async` of a
/// `std` stream with a `shutdown` method: reads and writes through the `Async` stream
/// operations, nothing to flush (a socket has no user-space buffer), and `poll_close`
/// shuts down the write half (the peer reads end-of-file).
///
/// `short_read_drains`: whether a short read proves the socket's buffer is empty (TCP:
/// yes; Unix streams: no, a read also stops at a message carrying descriptors). See
/// `Async::poll_stream_read`. (TCP has its own, `tcp_io!`, which may go through the
/// io_uring driver: only Unix streams use this one.)
#[cfg(unix)]
macro_rules! stream_io {
    ($t:ident, short_read_drains: $drains:literal) => {
        $crate::net::stream_io!(@impl $t, $drains);
        $crate::net::stream_io!(@impl &$t, $drains);
    };
    (@impl $t:ty, $drains:literal) => {
        impl futures_io::AsyncRead for $t {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.inner.poll_stream_read(cx, buf, $drains)
            }

            fn poll_read_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.inner.poll_stream_read_vectored(cx, bufs, $drains)
            }
        }

        impl futures_io::AsyncWrite for $t {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.inner.poll_stream_write(cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.inner.poll_stream_write_vectored(cx, bufs)
            }

            /// A socket has no user-space buffer: nothing to flush.
            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            /// Shuts down the write half (the peer reads end-of-file).
            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(match self.shutdown(std::net::Shutdown::Write) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotConnected => Ok(()),
                    res => res,
                })
            }
        }
    };
}
#[cfg(unix)]
pub(crate) use stream_io;

/// The descriptor traits for socket types whose `inner` is an `Async`: `AsFd` and
/// `AsRawFd` on Unix, `AsSocket` and `AsRawSocket` on Windows.
macro_rules! source_impls {
    ($($t:ty),*) => {$(
        #[cfg(unix)]
        impl std::os::fd::AsFd for $t {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                std::os::fd::AsFd::as_fd(&self.inner)
            }
        }

        #[cfg(unix)]
        impl std::os::fd::AsRawFd for $t {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                std::os::fd::AsRawFd::as_raw_fd(&self.inner)
            }
        }

        #[cfg(windows)]
        impl std::os::windows::io::AsSocket for $t {
            fn as_socket(&self) -> std::os::windows::io::BorrowedSocket<'_> {
                std::os::windows::io::AsSocket::as_socket(&self.inner)
            }
        }

        #[cfg(windows)]
        impl std::os::windows::io::AsRawSocket for $t {
            fn as_raw_socket(&self) -> std::os::windows::io::RawSocket {
                std::os::windows::io::AsRawSocket::as_raw_socket(&self.inner)
            }
        }
    )*};
}
pub(crate) use source_impls;
