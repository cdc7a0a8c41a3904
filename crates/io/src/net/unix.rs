//! Unix-domain sockets: [`UnixListener`], [`UnixStream`], [`UnixDatagram`].

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::unix::net::{self, SocketAddr};
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use super::Backoff;
use crate::async_io::Async;

/// A Unix-domain stream listener.
///
/// # Examples
///
/// ```
/// use solo_io::net::{UnixListener, UnixStream};
/// use solo_lite::io::{AsyncReadExt, AsyncWriteExt};
///
/// # solo_io::block_on(async {
/// let path = std::env::temp_dir().join(format!("solo-doc-{}.sock", std::process::id()));
/// let _ = std::fs::remove_file(&path);
/// let listener = UnixListener::bind(&path)?;
/// let mut client = UnixStream::connect(&path).await?;
/// let (mut server, _) = listener.accept().await?;
/// client.write_all(b"hi").await?;
/// let mut buf = [0; 2];
/// server.read_exact(&mut buf).await?;
/// assert_eq!(&buf, b"hi");
/// std::fs::remove_file(&path)?;
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub struct UnixListener {
    inner: Async<net::UnixListener>,
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl UnixListener {
    /// Binds a listener to the socket file at `path` (which must not exist).
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        let path = path.as_ref();
        let listener = net::UnixListener::bind(path)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot bind {path:?}: {e}")))?;
        UnixListener::try_from(listener)
    }

    /// Accepts a connection.
    ///
    /// Like [`TcpListener::accept`](super::TcpListener::accept): transient errors are
    /// skipped, and when descriptors or memory run out the listener backs off (1 ms,
    /// doubling up to 1 s) instead of spinning.
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let mut backoff = Backoff::default();
        std::future::poll_fn(|cx| backoff.poll_accept(cx, |cx| self.poll_accept(cx))).await
    }

    /// Polls for one connection, without the backoff of
    /// [`accept`](UnixListener::accept): resource errors are returned to the caller.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        self.inner
            .poll_accept(cx)
            .map(|res| res.map(|(inner, addr)| (UnixStream { inner }, addr)))
    }

    /// A stream of incoming connections, with the same backoff as
    /// [`accept`](UnixListener::accept). It never ends.
    pub fn incoming(&self) -> UnixIncoming<'_> {
        UnixIncoming {
            listener: self,
            backoff: Backoff::default(),
        }
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The `std` listener (non-blocking).
    pub fn get_ref(&self) -> &net::UnixListener {
        self.inner.get_ref()
    }
}

impl TryFrom<net::UnixListener> for UnixListener {
    type Error = io::Error;

    /// Makes the listener non-blocking and registers it.
    fn try_from(listener: net::UnixListener) -> io::Result<UnixListener> {
        Ok(UnixListener {
            inner: Async::new(listener)?,
        })
    }
}

/// The stream of [`UnixListener::incoming`].
#[must_use = "streams do nothing unless polled"]
#[derive(Debug)]
pub struct UnixIncoming<'a> {
    listener: &'a UnixListener,
    backoff: Backoff,
}

impl Stream for UnixIncoming<'_> {
    type Item = io::Result<UnixStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let listener = this.listener;
        this.backoff
            .poll_accept(cx, |cx| listener.poll_accept(cx))
            .map(|res| Some(res.map(|(s, _)| s)))
    }
}

/// A Unix-domain stream connection.
pub struct UnixStream {
    inner: Async<net::UnixStream>,
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl UnixStream {
    /// Connects to the socket at `path`.
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let inner = Async::<net::UnixStream>::connect(path).await?;
        Ok(UnixStream { inner })
    }

    /// A connected pair of streams.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = net::UnixStream::pair()?;
        Ok((UnixStream::try_from(a)?, UnixStream::try_from(b)?))
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// Shuts down the read half, the write half, or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get_ref().shutdown(how)
    }

    /// The `std` stream (non-blocking).
    pub fn get_ref(&self) -> &net::UnixStream {
        self.inner.get_ref()
    }

    /// Deregisters the stream and returns the `std` stream (still non-blocking).
    pub fn into_std(self) -> io::Result<net::UnixStream> {
        self.inner.into_inner()
    }
}

impl TryFrom<net::UnixStream> for UnixStream {
    type Error = io::Error;

    /// Makes the stream non-blocking and registers it.
    fn try_from(stream: net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            inner: Async::new(stream)?,
        })
    }
}

super::stream_io!(UnixStream, short_read_drains: false);

/// A Unix-domain datagram socket.
pub struct UnixDatagram {
    inner: Async<net::UnixDatagram>,
}

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl UnixDatagram {
    /// Binds a socket to the file at `path`.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        let path = path.as_ref();
        let socket = net::UnixDatagram::bind(path)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot bind {path:?}: {e}")))?;
        UnixDatagram::try_from(socket)
    }

    /// A socket bound to no address.
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::try_from(net::UnixDatagram::unbound()?)
    }

    /// A connected pair of sockets.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = net::UnixDatagram::pair()?;
        Ok((UnixDatagram::try_from(a)?, UnixDatagram::try_from(b)?))
    }

    /// Sets the default peer.
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.inner.get_ref().connect(path)
    }

    /// Sends a datagram to the connected peer.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write_with(|s| s.send(buf)).await
    }

    /// Receives a datagram from the connected peer.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_with(|s| s.recv(buf)).await
    }

    /// Sends a datagram to the socket at `path`.
    pub async fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let path = path.as_ref();
        self.inner.write_with(|s| s.send_to(buf, path)).await
    }

    /// Receives a datagram and the address it came from.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.read_with(|s| s.recv_from(buf)).await
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The address of the connected peer (see [`connect`](UnixDatagram::connect)).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// Shuts down the read half, the write half, or both: a shut-down half fails (or, for
    /// reading, returns 0 bytes) from then on.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get_ref().shutdown(how)
    }

    /// The `std` socket (non-blocking).
    pub fn get_ref(&self) -> &net::UnixDatagram {
        self.inner.get_ref()
    }
}

impl TryFrom<net::UnixDatagram> for UnixDatagram {
    type Error = io::Error;

    /// Makes the socket non-blocking and registers it.
    fn try_from(socket: net::UnixDatagram) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            inner: Async::new(socket)?,
        })
    }
}

super::source_impls!(UnixListener, UnixStream, UnixDatagram);
