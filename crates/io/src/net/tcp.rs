//! TCP: [`TcpListener`] and [`TcpStream`].

use std::fmt;
use std::fs::File;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use super::Backoff;
use super::addr::{AsyncToSocketAddrs, each_addr};
use crate::async_io::Async;
use crate::reactor::Direction;
use crate::sys::{self, Source};

/// A TCP server socket.
///
/// # Examples
///
/// ```
/// use solo_io::net::{TcpListener, TcpStream};
/// use solo_lite::io::{AsyncReadExt, AsyncWriteExt};
///
/// # solo_io::block_on(async {
/// let listener = TcpListener::bind("127.0.0.1:0").await?;
/// let addr = listener.local_addr()?;
/// let mut client = TcpStream::connect(addr).await?;
/// let (mut server, _) = listener.accept().await?;
/// client.write_all(b"ping").await?;
/// let mut buf = [0; 4];
/// server.read_exact(&mut buf).await?;
/// assert_eq!(&buf, b"ping");
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub struct TcpListener {
    inner: Async<std::net::TcpListener>,
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl TcpListener {
    /// Binds a listener to `addr` (tried in turn if it resolves to several addresses).
    ///
    /// The socket has `SO_REUSEADDR` (on Unix) and is registered with this thread's
    /// reactor.
    pub async fn bind(addr: impl AsyncToSocketAddrs) -> io::Result<TcpListener> {
        each_addr(addr, |a| async move { TcpListener::bind_with(a, false) }).await
    }

    /// Binds a listener with `SO_REUSEPORT`, so that several listeners (one per thread,
    /// for shard-per-core servers) share the port and the kernel spreads connections
    /// among them. Unix only; on other systems this returns
    /// [`io::ErrorKind::Unsupported`].
    pub fn bind_reuseport(addr: SocketAddr) -> io::Result<TcpListener> {
        TcpListener::bind_with(addr, true)
    }

    fn bind_with(addr: SocketAddr, reuse_port: bool) -> io::Result<TcpListener> {
        let listener = sys::tcp_listen(&addr, reuse_port, 1024)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot bind {addr}: {e}")))?;
        Ok(TcpListener {
            inner: Async::new_nonblocking(listener)?,
        })
    }

    /// Accepts a connection.
    ///
    /// Transient errors (a connection reset before it was accepted) are skipped. When the
    /// process or system is out of descriptors (`EMFILE`, `ENFILE`) or memory, the
    /// listener backs off (1 ms, doubling up to 1 s) and tries again, so a server keeps
    /// serving its open connections instead of spinning, and accepts again once
    /// descriptors free up.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let mut backoff = Backoff::default();
        std::future::poll_fn(|cx| self.poll_accept_backoff(cx, &mut backoff)).await
    }

    /// Polls for one connection, without the backoff of [`accept`](TcpListener::accept):
    /// resource errors are returned to the caller.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        #[cfg(has_uring)]
        while let Some(polled) = crate::sys::uring::net::listener_poll_accept(&self.inner, cx) {
            let fd = match std::task::ready!(polled) {
                Ok(fd) => fd,
                Err(e) if sys::is_transient_accept_error(&e) => continue,
                Err(e) => return Poll::Ready(Err(e)),
            };
            let stream = std::net::TcpStream::from(fd);
            // A multishot accept reports no address; a connection already gone has none
            // either, and is skipped like the readiness path skips its errors.
            let addr = match stream.peer_addr() {
                Ok(addr) => addr,
                Err(_) => continue,
            };
            return Poll::Ready(
                Async::new_nonblocking(stream).map(|inner| (TcpStream { inner }, addr)),
            );
        }
        self.inner
            .poll_accept(cx)
            .map(|res| res.map(|(inner, addr)| (TcpStream { inner }, addr)))
    }

    fn poll_accept_backoff(
        &self,
        cx: &mut Context<'_>,
        backoff: &mut Backoff,
    ) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        backoff.poll_accept(cx, |cx| self.poll_accept(cx))
    }

    /// A stream of incoming connections, with the same backoff as
    /// [`accept`](TcpListener::accept). It never ends.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming {
            listener: self,
            backoff: Backoff::default(),
        }
    }

    /// The local address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The `std` listener (non-blocking).
    ///
    /// On the io_uring driver, a listener that accepted through the ring queues the
    /// connections its multishot accept took; `get_ref().accept()` only sees those still
    /// in the kernel's backlog: take the queued ones with
    /// [`poll_accept`](TcpListener::poll_accept) first.
    pub fn get_ref(&self) -> &std::net::TcpListener {
        self.inner.get_ref()
    }

    /// Deregisters the listener and returns the `std` listener (still non-blocking).
    ///
    /// On the io_uring driver, a listener that accepted through the ring first cancels its
    /// multishot accept and waits for it to end; connections it accepted and nobody took
    /// are closed (take them with [`poll_accept`](TcpListener::poll_accept) first).
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        self.inner.into_inner()
    }
}

impl TryFrom<std::net::TcpListener> for TcpListener {
    type Error = io::Error;

    /// Makes the listener non-blocking and registers it.
    fn try_from(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener {
            inner: Async::new(listener)?,
        })
    }
}

/// The stream of [`TcpListener::incoming`].
#[must_use = "streams do nothing unless polled"]
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
    backoff: Backoff,
}

impl Stream for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        this.listener
            .poll_accept_backoff(cx, &mut this.backoff)
            .map(|res| Some(res.map(|(s, _)| s)))
    }
}

/// A TCP connection.
///
/// Reads and writes go through the `futures-io` traits, also on `&TcpStream`, so one task
/// can read while another writes. Writes never raise `SIGPIPE`.
///
/// Memory: the handle is the descriptor plus a reactor key (16 bytes); the reactor keeps
/// about 56 bytes per registered source. No buffer is allocated by the stream itself.
///
/// On the io_uring driver (`SOLO_DRIVER=uring`, Linux) reads, writes and accepts run on
/// the ring: received data waits in the thread's shared provided buffers until read, and
/// writes are copied and sent with the loop's next turn (see
/// [`reactor::driver`](crate::reactor::driver)); the ring keeps a 64-byte entry per
/// stream.
pub struct TcpStream {
    inner: Async<std::net::TcpStream>,
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl TcpStream {
    /// Connects to `addr`, trying each resolved address in turn.
    ///
    /// Host names are resolved on the blocking pool. Bound the time with
    /// [`timeout`](crate::timeout). A closed port gives
    /// [`io::ErrorKind::ConnectionRefused`].
    pub async fn connect(addr: impl AsyncToSocketAddrs) -> io::Result<TcpStream> {
        each_addr(addr, TcpStream::connect_addr).await
    }

    async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let inner = Async::<std::net::TcpStream>::connect(addr).await?;
        Ok(TcpStream { inner })
    }

    /// Waits until the stream is readable (see [`Async::readable`]).
    ///
    /// On the io_uring driver, once the stream reads through the ring (see
    /// [`AsyncRead`](futures_io::AsyncRead)), it is readable when received data is held
    /// for it, or its end or an error is pending.
    pub async fn readable(&self) -> io::Result<()> {
        std::future::poll_fn(|cx| {
            #[cfg(has_uring)]
            if let Some(polled) = crate::sys::uring::net::stream_poll_readable(&self.inner, cx) {
                return polled;
            }
            self.inner.poll_readable(cx)
        })
        .await
    }

    /// Waits until the stream is writable (see [`Async::writable`]).
    ///
    /// On the io_uring driver, a stream whose writes go through the ring is writable once
    /// its send in flight completed (then as under the poller).
    pub async fn writable(&self) -> io::Result<()> {
        std::future::poll_fn(|cx| {
            #[cfg(has_uring)]
            if crate::sys::uring::net::stream_send_in_flight(&self.inner, cx) {
                return Poll::Pending;
            }
            self.inner.poll_writable(cx)
        })
        .await
    }

    /// Sends up to `count` bytes of `file`, from `offset` on, to the peer: the kernel
    /// copies them from the file to the socket (`sendfile`), so no buffer of this process
    /// holds them, however slowly the peer reads.
    ///
    /// Waits until the socket takes at least one byte and returns how many it took, which
    /// may be fewer than `count` (call again from `offset + n`), or 0 if the file ends at
    /// `offset`. The file's own position is neither used nor moved, so one `File` can be
    /// sent to several sockets at once.
    ///
    /// # Platforms
    ///
    /// Linux and Android, FreeBSD and DragonFly, macOS and the other Apple systems.
    /// Elsewhere (Windows, whose `TransmitFile` needs overlapped I/O; NetBSD, OpenBSD,
    /// illumos, ...) it fails at once with [`io::ErrorKind::Unsupported`]: fall back to
    /// reading the file and writing it.
    ///
    /// # Blocking
    ///
    /// The kernel reads the file while it sends: a part that is not in the page cache
    /// makes the call wait for the disk, on this thread. Linux's `sendfile` has no
    /// `MSG_NOSIGNAL`: on a connection the peer has reset it may raise `SIGPIPE`, which
    /// Rust programs ignore unless they changed it.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_io::net::{TcpListener, TcpStream};
    /// use solo_lite::io::AsyncReadExt;
    /// use std::io::{ErrorKind, Write};
    ///
    /// # solo_io::block_on(async {
    /// let path = std::env::temp_dir().join(format!("solo-sendfile-doc-{}", std::process::id()));
    /// std::fs::File::create(&path)?.write_all(b"hello, sendfile")?;
    /// let file = std::fs::File::open(&path)?;
    ///
    /// let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let mut client = TcpStream::connect(listener.local_addr()?).await?;
    /// let (server, _) = listener.accept().await?;
    /// match server.sendfile(&file, 7, 8).await {
    ///     Ok(sent) => {
    ///         let mut got = vec![0; sent];
    ///         client.read_exact(&mut got).await?;
    ///         assert_eq!(got, &b"sendfile"[..sent]);
    ///     }
    ///     // Not on this system: read the file and write it instead.
    ///     Err(e) if e.kind() == ErrorKind::Unsupported => {}
    ///     Err(e) => return Err(e),
    /// }
    /// # std::fs::remove_file(&path)?;
    /// # std::io::Result::Ok(()) }).unwrap();
    /// ```
    pub async fn sendfile(&self, file: &File, offset: u64, count: usize) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_sendfile(cx, file, offset, count)).await
    }

    /// The poll form of [`sendfile`](TcpStream::sendfile): `Pending` (with the task woken
    /// when the socket can take more) while the socket is full.
    pub fn poll_sendfile(
        &self,
        cx: &mut Context<'_>,
        file: &File,
        offset: u64,
        count: usize,
    ) -> Poll<io::Result<usize>> {
        // What earlier writes queued on the ring goes first.
        #[cfg(has_uring)]
        if crate::sys::uring::net::stream_send_in_flight(&self.inner, cx) {
            return Poll::Pending;
        }
        self.inner.poll_op(Direction::Write, cx, |stream| {
            sys::sendfile(stream.source(), file, offset, count)
        })
    }

    /// Reads into `buf` without removing the data from the socket's queue.
    ///
    /// On the io_uring driver, once the stream reads through the ring, this looks at the
    /// data received and held for it first (nothing is lost or reordered).
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| {
            #[cfg(has_uring)]
            if let Some(polled) = crate::sys::uring::net::stream_poll_peek(&self.inner, cx, buf) {
                return polled;
            }
            self.inner.poll_op(Direction::Read, cx, |s| s.peek(buf))
        })
        .await
    }

    /// The write of `AsyncWrite`: through the ring on the io_uring driver (see
    /// `sys/uring/net.rs`), else directly with the readiness cache.
    fn poll_write_any(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        #[cfg(has_uring)]
        if let Some(polled) = crate::sys::uring::net::stream_poll_write(&self.inner, cx, bufs) {
            return polled;
        }
        match bufs {
            [buf] => self.inner.poll_stream_write(cx, buf),
            bufs => self.inner.poll_stream_write_vectored(cx, bufs),
        }
    }

    /// The flush of `AsyncWrite`: waits for a send in flight on the ring (nothing to do
    /// otherwise: a socket has no user-space buffer).
    fn poll_flush_any(&self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        #[cfg(has_uring)]
        if let Some(polled) = crate::sys::uring::net::stream_poll_flush(&self.inner, _cx) {
            return polled;
        }
        Poll::Ready(Ok(()))
    }

    /// The close of `AsyncWrite`: flushes, then shuts down the write half (the peer reads
    /// end-of-file).
    fn poll_close_any(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.poll_flush_any(cx))?;
        Poll::Ready(match self.shutdown(Shutdown::Write) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            res => res,
        })
    }

    /// The read of `AsyncRead`: through the ring on the io_uring driver (see
    /// `sys/uring/net.rs`), else with the readiness cache.
    fn poll_read_any(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [io::IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        #[cfg(has_uring)]
        if let Some(polled) = crate::sys::uring::net::stream_poll_read(&self.inner, cx, bufs) {
            return polled;
        }
        match bufs {
            [buf] => self.inner.poll_stream_read(cx, buf, true),
            bufs => self.inner.poll_stream_read_vectored(cx, bufs, true),
        }
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.get_ref().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.get_ref().nodelay()
    }

    /// Sets the time-to-live of the packets it sends (`IP_TTL`: the most routers they
    /// may cross).
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner.get_ref().set_ttl(ttl)
    }

    /// The time-to-live of the packets it sends (`IP_TTL`).
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner.get_ref().ttl()
    }

    /// Shuts down the read half, the write half, or both.
    ///
    /// On the io_uring driver, shutting the write half while a write's send is still in
    /// flight on the ring is done when that send completes, so the end of the stream
    /// follows the data written before it.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        #[cfg(has_uring)]
        if how != Shutdown::Read && crate::sys::uring::net::stream_defer_shutdown(&self.inner) {
            if how == Shutdown::Both {
                return self.inner.get_ref().shutdown(Shutdown::Read);
            }
            return Ok(());
        }
        self.inner.get_ref().shutdown(how)
    }

    /// The `std` stream (non-blocking). Operations on it bypass the readiness cache, and,
    /// on the io_uring driver, the data the ring received and the sends it has queued.
    pub fn get_ref(&self) -> &std::net::TcpStream {
        self.inner.get_ref()
    }

    /// Deregisters the stream and returns the `std` stream (still non-blocking).
    ///
    /// On the io_uring driver, a stream that reads through the ring first cancels its
    /// receive and waits for it to end; data received and not yet read cannot go back to
    /// the socket, so this fails (saying how many bytes) if any is held: read it first.
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        self.inner.into_inner()
    }
}

impl TryFrom<std::net::TcpStream> for TcpStream {
    type Error = io::Error;

    /// Makes the stream non-blocking and registers it.
    fn try_from(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            inner: Async::new(stream)?,
        })
    }
}

impl From<TcpStream> for Async<std::net::TcpStream> {
    /// The stream as a plain readiness source.
    ///
    /// On the io_uring driver, a stream that reads or writes through the ring leaves it
    /// first: this waits for its receive to be cancelled and its sends to complete, and
    /// data the ring received that was not read yet is dropped (use
    /// [`TcpStream::into_std`], which reports it, to find out).
    fn from(stream: TcpStream) -> Self {
        #[cfg(has_uring)]
        let _ = stream.inner.leave_ring();
        stream.inner
    }
}

impl From<Async<std::net::TcpStream>> for TcpStream {
    fn from(inner: Async<std::net::TcpStream>) -> Self {
        TcpStream { inner }
    }
}

/// `AsyncRead`/`AsyncWrite` of `TcpStream` and `&TcpStream` through the `*_any` methods.
macro_rules! tcp_io {
    ($t:ty) => {
        impl futures_io::AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.poll_read_any(cx, &mut [io::IoSliceMut::new(buf)])
            }

            fn poll_read_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &mut [io::IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                self.poll_read_any(cx, bufs)
            }
        }

        impl futures_io::AsyncWrite for $t {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.poll_write_any(cx, &[io::IoSlice::new(buf)])
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                self.poll_write_any(cx, bufs)
            }

            /// Waits for a write's send still in flight on the io_uring driver's ring
            /// (nothing to do otherwise: a socket has no user-space buffer).
            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.poll_flush_any(cx)
            }

            /// Flushes, then shuts down the write half (the peer reads end-of-file).
            fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.poll_close_any(cx)
            }
        }
    };
}

tcp_io!(TcpStream);
tcp_io!(&TcpStream);

super::source_impls!(TcpListener, TcpStream);
