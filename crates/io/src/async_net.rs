//! `Async<T>` for the standard network types: the constructors and operations of
//! async-io's `Async<TcpListener>`, `Async<TcpStream>`, `Async<UdpSocket>` and (on Unix)
//! `Async<UnixListener>`, `Async<UnixStream>`, `Async<UnixDatagram>`, for code ported
//! from async-io as is. The [`net`](crate::net) types are the same sockets with more
//! around them (host names resolved on the pool, `accept` that backs off when out of
//! descriptors, `sendfile`); each converts to and from its `Async` form.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use crate::async_io::Async;
use crate::reactor::Direction;
use crate::sys;

impl Async<TcpListener> {
    /// Binds a TCP listener to `addr` (with `SO_REUSEADDR` on Unix), registered with this
    /// thread's reactor.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_io::Async;
    /// use std::net::{TcpListener, TcpStream};
    ///
    /// # solo_io::block_on(async {
    /// let listener = Async::<TcpListener>::bind(([127, 0, 0, 1], 0))?;
    /// let addr = listener.get_ref().local_addr()?;
    /// let client = Async::<TcpStream>::connect(addr).await?;
    /// let (server, peer) = listener.accept().await?;
    /// assert_eq!(peer, client.get_ref().local_addr()?);
    /// # drop(server);
    /// # std::io::Result::Ok(()) }).unwrap();
    /// ```
    pub fn bind(addr: impl Into<SocketAddr>) -> io::Result<Async<TcpListener>> {
        let addr = addr.into();
        let listener = sys::tcp_listen(&addr, false, 1024)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot bind {addr}: {e}")))?;
        Async::new_nonblocking(listener)
    }

    /// Accepts a connection: a non-blocking stream registered with this reactor, and the
    /// peer's address. Connections that died in the backlog are skipped; unlike
    /// [`net::TcpListener::accept`](crate::net::TcpListener::accept), running out of
    /// descriptors is returned as an error, not waited out.
    pub async fn accept(&self) -> io::Result<(Async<TcpStream>, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// The poll form of [`accept`](Async::<TcpListener>::accept).
    pub(crate) fn poll_accept(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(Async<TcpStream>, SocketAddr)>> {
        loop {
            match std::task::ready!(self.poll_op(Direction::Read, cx, sys::tcp_accept)) {
                Ok((stream, addr)) => {
                    return Poll::Ready(Async::new_nonblocking(stream).map(|s| (s, addr)));
                }
                Err(e) if sys::is_transient_accept_error(&e) => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// A stream of incoming connections, each as [`accept`](Async::<TcpListener>::accept)
    /// gives it. It never ends.
    pub fn incoming(&self) -> impl Stream<Item = io::Result<Async<TcpStream>>> + '_ {
        Incoming(move |cx: &mut Context<'_>| self.poll_accept(cx).map(|r| r.map(|(s, _)| s)))
    }
}

impl TryFrom<TcpListener> for Async<TcpListener> {
    type Error = io::Error;

    /// [`Async::new`]: makes the listener non-blocking and registers it.
    fn try_from(listener: TcpListener) -> io::Result<Async<TcpListener>> {
        Async::new(listener)
    }
}

impl Async<TcpStream> {
    /// Connects to `addr` without blocking the loop. A closed port gives
    /// [`io::ErrorKind::ConnectionRefused`]; bound the wait with
    /// [`timeout`](crate::timeout).
    pub async fn connect(addr: impl Into<SocketAddr>) -> io::Result<Async<TcpStream>> {
        let addr = addr.into();
        let stream = Async::new_nonblocking(sys::tcp_connect(&addr)?)?;
        stream.writable().await?;
        if let Some(e) = stream.get_ref().take_error()? {
            return Err(e);
        }
        Ok(stream)
    }

    /// Reads into `buf` without removing the data from the socket's queue.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_with(|s| s.peek(buf)).await
    }
}

impl TryFrom<TcpStream> for Async<TcpStream> {
    type Error = io::Error;

    /// [`Async::new`]: makes the stream non-blocking and registers it.
    fn try_from(stream: TcpStream) -> io::Result<Async<TcpStream>> {
        Async::new(stream)
    }
}

impl Async<UdpSocket> {
    /// Binds a UDP socket to `addr`, registered with this thread's reactor.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_io::Async;
    /// use std::net::UdpSocket;
    ///
    /// # solo_io::block_on(async {
    /// let a = Async::<UdpSocket>::bind(([127, 0, 0, 1], 0))?;
    /// let b = Async::<UdpSocket>::bind(([127, 0, 0, 1], 0))?;
    /// a.send_to(b"ping", b.get_ref().local_addr()?).await?;
    /// let mut buf = [0; 8];
    /// let (n, from) = b.recv_from(&mut buf).await?;
    /// assert_eq!((&buf[..n], from), (&b"ping"[..], a.get_ref().local_addr()?));
    /// # std::io::Result::Ok(()) }).unwrap();
    /// ```
    pub fn bind(addr: impl Into<SocketAddr>) -> io::Result<Async<UdpSocket>> {
        let addr = addr.into();
        let socket = UdpSocket::bind(addr)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot bind {addr}: {e}")))?;
        Async::new(socket)
    }

    /// Receives a datagram and the address it came from.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.read_with(|s| s.recv_from(buf)).await
    }

    /// Like [`recv_from`](Async::<UdpSocket>::recv_from), leaving the datagram queued.
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.read_with(|s| s.peek_from(buf)).await
    }

    /// Sends a datagram to `addr`.
    pub async fn send_to(&self, buf: &[u8], addr: impl Into<SocketAddr>) -> io::Result<usize> {
        let addr = addr.into();
        self.write_with(|s| s.send_to(buf, addr)).await
    }

    /// Receives a datagram from the connected peer (see `UdpSocket::connect`).
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_with(|s| s.recv(buf)).await
    }

    /// Like [`recv`](Async::<UdpSocket>::recv), leaving the datagram queued.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_with(|s| s.peek(buf)).await
    }

    /// Sends a datagram to the connected peer.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.write_with(|s| s.send(buf)).await
    }
}

impl TryFrom<UdpSocket> for Async<UdpSocket> {
    type Error = io::Error;

    /// [`Async::new`]: makes the socket non-blocking and registers it.
    fn try_from(socket: UdpSocket) -> io::Result<Async<UdpSocket>> {
        Async::new(socket)
    }
}

/// A stream of accepted connections, from a poll function.
struct Incoming<F>(F);

impl<F, T> Stream for Incoming<F>
where
    F: FnMut(&mut Context<'_>) -> Poll<io::Result<T>> + Unpin,
{
    type Item = io::Result<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<io::Result<T>>> {
        (self.get_mut().0)(cx).map(Some)
    }
}

#[cfg(unix)]
mod unix {
    use std::io;
    use std::os::unix::net::{SocketAddr, UnixDatagram, UnixListener, UnixStream};
    use std::path::Path;
    use std::task::{Context, Poll};

    use futures_core::Stream;

    use super::Incoming;
    use crate::async_io::Async;
    use crate::reactor::Direction;
    use crate::sys;

    impl Async<UnixListener> {
        /// Binds a Unix-domain stream listener to the socket file at `path` (which must
        /// not exist), registered with this thread's reactor.
        pub fn bind(path: impl AsRef<Path>) -> io::Result<Async<UnixListener>> {
            let path = path.as_ref();
            let listener = UnixListener::bind(path)
                .map_err(|e| io::Error::new(e.kind(), format!("cannot bind {path:?}: {e}")))?;
            Async::new(listener)
        }

        /// Accepts a connection: a non-blocking stream registered with this reactor, and
        /// the peer's address. Connections that died in the backlog are skipped.
        pub async fn accept(&self) -> io::Result<(Async<UnixStream>, SocketAddr)> {
            std::future::poll_fn(|cx| self.poll_accept(cx)).await
        }

        /// The poll form of [`accept`](Async::<UnixListener>::accept).
        pub(crate) fn poll_accept(
            &self,
            cx: &mut Context<'_>,
        ) -> Poll<io::Result<(Async<UnixStream>, SocketAddr)>> {
            loop {
                match std::task::ready!(self.poll_op(Direction::Read, cx, |l| l.accept())) {
                    Ok((stream, addr)) => {
                        return Poll::Ready(Async::new(stream).map(|s| (s, addr)));
                    }
                    Err(e) if sys::is_transient_accept_error(&e) => continue,
                    Err(e) => return Poll::Ready(Err(e)),
                }
            }
        }

        /// A stream of incoming connections. It never ends.
        pub fn incoming(&self) -> impl Stream<Item = io::Result<Async<UnixStream>>> + '_ {
            Incoming(move |cx: &mut Context<'_>| self.poll_accept(cx).map(|r| r.map(|(s, _)| s)))
        }
    }

    impl TryFrom<UnixListener> for Async<UnixListener> {
        type Error = io::Error;

        /// [`Async::new`]: makes the listener non-blocking and registers it.
        fn try_from(listener: UnixListener) -> io::Result<Async<UnixListener>> {
            Async::new(listener)
        }
    }

    impl Async<UnixStream> {
        /// Connects to the Unix-domain socket at `path` without blocking the loop.
        ///
        /// # Examples
        ///
        /// ```
        /// use solo_io::Async;
        /// use std::os::unix::net::{UnixListener, UnixStream};
        ///
        /// # solo_io::block_on(async {
        /// let path = std::env::temp_dir().join(format!("solo-async-doc-{}.sock", std::process::id()));
        /// let _ = std::fs::remove_file(&path);
        /// let listener = Async::<UnixListener>::bind(&path)?;
        /// let client = Async::<UnixStream>::connect(&path).await?;
        /// let (server, _) = listener.accept().await?;
        /// # drop((client, server));
        /// std::fs::remove_file(&path)?;
        /// # std::io::Result::Ok(()) }).unwrap();
        /// ```
        pub async fn connect(path: impl AsRef<Path>) -> io::Result<Async<UnixStream>> {
            let path = path.as_ref();
            let stream = Async::new_nonblocking(sys::unix_connect(path)?)?;
            stream.writable().await?;
            if let Some(e) = stream.get_ref().take_error()? {
                return Err(io::Error::new(
                    e.kind(),
                    format!("cannot connect to {path:?}: {e}"),
                ));
            }
            Ok(stream)
        }

        /// A connected pair of streams, both registered with this reactor.
        pub fn pair() -> io::Result<(Async<UnixStream>, Async<UnixStream>)> {
            let (a, b) = UnixStream::pair()?;
            Ok((Async::new(a)?, Async::new(b)?))
        }
    }

    impl TryFrom<UnixStream> for Async<UnixStream> {
        type Error = io::Error;

        /// [`Async::new`]: makes the stream non-blocking and registers it.
        fn try_from(stream: UnixStream) -> io::Result<Async<UnixStream>> {
            Async::new(stream)
        }
    }

    impl Async<UnixDatagram> {
        /// Binds a Unix-domain datagram socket to the file at `path`, registered with
        /// this thread's reactor.
        pub fn bind(path: impl AsRef<Path>) -> io::Result<Async<UnixDatagram>> {
            let path = path.as_ref();
            let socket = UnixDatagram::bind(path)
                .map_err(|e| io::Error::new(e.kind(), format!("cannot bind {path:?}: {e}")))?;
            Async::new(socket)
        }

        /// A datagram socket bound to no address.
        pub fn unbound() -> io::Result<Async<UnixDatagram>> {
            Async::new(UnixDatagram::unbound()?)
        }

        /// A connected pair of datagram sockets.
        pub fn pair() -> io::Result<(Async<UnixDatagram>, Async<UnixDatagram>)> {
            let (a, b) = UnixDatagram::pair()?;
            Ok((Async::new(a)?, Async::new(b)?))
        }

        /// Receives a datagram and the address it came from.
        pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
            self.read_with(|s| s.recv_from(buf)).await
        }

        /// Sends a datagram to the socket at `path`.
        pub async fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
            let path = path.as_ref();
            self.write_with(|s| s.send_to(buf, path)).await
        }

        /// Receives a datagram from the connected peer.
        pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
            self.read_with(|s| s.recv(buf)).await
        }

        /// Sends a datagram to the connected peer.
        pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
            self.write_with(|s| s.send(buf)).await
        }
    }

    impl TryFrom<UnixDatagram> for Async<UnixDatagram> {
        type Error = io::Error;

        /// [`Async::new`]: makes the socket non-blocking and registers it.
        fn try_from(socket: UnixDatagram) -> io::Result<Async<UnixDatagram>> {
            Async::new(socket)
        }
    }
}
