//! `net::{TcpListener, TcpStream, UdpSocket}` under simulation: handles to endpoints of
//! the world (`super::World`), with the same names and async methods as the OS-backed
//! types. Options that only the OS has (TTL, multicast, `get_ref`) are not here: code that
//! uses them does not compile under `--cfg solo_sim`, which says clearly what the
//! simulation does not model. `sendfile` (callers have a fallback for systems without
//! it), `into_std` and the conversions from `std` sockets fail with `Unsupported`.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use super::{Conn, End, Listener, Seg, Udp, World, tag, with};
use crate::net::AsyncToSocketAddrs;
use crate::net::each_addr;

fn real_socket(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!(
            "solo-io simulation (--cfg solo_sim): {what}: a simulated socket has no OS socket, \
             and an OS socket cannot join the simulated network"
        ),
    )
}

fn gone() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        "solo-io simulation: the socket's host crashed or its world is gone",
    )
}

/// A TCP listener of a simulated host.
pub struct TcpListener {
    id: u64,
    addr: SocketAddr,
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("addr", &self.addr)
            .finish()
    }
}

impl TcpListener {
    /// Listens on `addr` of the current host (port 0: a free port).
    pub async fn bind(addr: impl AsyncToSocketAddrs) -> io::Result<TcpListener> {
        each_addr(addr, |a| async move { TcpListener::bind_addr(a) }).await
    }

    /// The same as [`bind`](TcpListener::bind) under simulation (one listener per port).
    pub fn bind_reuseport(addr: SocketAddr) -> io::Result<TcpListener> {
        TcpListener::bind_addr(addr)
    }

    fn bind_addr(addr: SocketAddr) -> io::Result<TcpListener> {
        with(|w| {
            let host = w.current_host()?;
            let mut addr = w.localise(host, addr);
            if addr.ip() != w.host_ip_of(host) {
                return Err(io::Error::new(
                    io::ErrorKind::AddrNotAvailable,
                    format!(
                        "solo-io simulation: {} is not an address of this host",
                        addr.ip()
                    ),
                ));
            }
            if addr.port() == 0 {
                addr.set_port(w.ephemeral_port(host));
            } else if w.port_taken(addr, true) {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("solo-io simulation: {addr} is in use"),
                ));
            }
            let id = w.fresh_id();
            w.listeners.insert(
                id,
                Listener {
                    host,
                    addr,
                    backlog: Default::default(),
                    waker: Default::default(),
                },
            );
            Ok(TcpListener { id, addr })
        })?
    }

    /// Accepts a connection.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        with(|w| {
            let Some(l) = w.listeners.get_mut(&self.id) else {
                return Poll::Ready(Err(gone()));
            };
            match l.backlog.pop_front() {
                Some(end) => {
                    let peer = w.ends.get(&end).map(|e| e.peer);
                    match peer {
                        Some(peer) => Poll::Ready(Ok((TcpStream { id: end }, peer))),
                        // Reset and collected before it was accepted: look again.
                        None => {
                            cx.waker().wake_by_ref();
                            Poll::Pending
                        }
                    }
                }
                None => {
                    l.waker.register(cx.waker());
                    Poll::Pending
                }
            }
        })
        .unwrap_or_else(|e| Poll::Ready(Err(e)))
    }

    /// A stream of incoming connections.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// The address listened on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.addr)
    }

    /// Fails with `Unsupported`: a simulated listener has no OS socket.
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        Err(real_socket("TcpListener::into_std"))
    }
}

impl TryFrom<std::net::TcpListener> for TcpListener {
    type Error = io::Error;

    /// Fails with `Unsupported`: a real socket cannot join the simulated network.
    fn try_from(_: std::net::TcpListener) -> io::Result<TcpListener> {
        Err(real_socket("TcpListener::try_from(std::net::TcpListener)"))
    }
}

impl TryFrom<std::net::TcpStream> for TcpStream {
    type Error = io::Error;

    /// Fails with `Unsupported`: a real socket cannot join the simulated network.
    fn try_from(_: std::net::TcpStream) -> io::Result<TcpStream> {
        Err(real_socket("TcpStream::try_from(std::net::TcpStream)"))
    }
}

impl TryFrom<std::net::UdpSocket> for UdpSocket {
    type Error = io::Error;

    /// Fails with `Unsupported`: a real socket cannot join the simulated network.
    fn try_from(_: std::net::UdpSocket) -> io::Result<UdpSocket> {
        Err(real_socket("UdpSocket::try_from(std::net::UdpSocket)"))
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        let id = self.id;
        super::try_with(|w| {
            if let Some(l) = w.listeners.remove(&id) {
                // Connections never accepted are reset.
                for end in l.backlog {
                    abandon(w, end);
                }
            }
        });
    }
}

/// The stream of [`TcpListener::incoming`].
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl Stream for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.listener
            .poll_accept(cx)
            .map(|r| Some(r.map(|(s, _)| s)))
    }
}

/// A TCP connection of a simulated host.
pub struct TcpStream {
    id: u64,
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream").field("id", &self.id).finish()
    }
}

/// Drops an end whose handle is gone: a FIN follows what was sent; it is collected once
/// its queue drains.
fn abandon(w: &mut World, id: u64) {
    let Some(e) = w.ends.get_mut(&id) else { return };
    e.orphan = true;
    let send_fin = e.state == Conn::Open && !e.wr_closed && !e.reset;
    e.wr_closed = true;
    if send_fin {
        w.send_segment(id, Seg::Fin);
    }
    w.collect(id);
}

impl TcpStream {
    /// Connects to `addr` (an address, or `"hostname:port"` of a simulated host).
    pub async fn connect(addr: impl AsyncToSocketAddrs) -> io::Result<TcpStream> {
        each_addr(addr, TcpStream::connect_addr).await
    }

    async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let stream = TcpStream {
            id: with(|w| w.connect(addr))??,
        };
        poll_fn(|cx| {
            with(|w| {
                let Some(e) = w.ends.get_mut(&stream.id) else {
                    return Poll::Ready(Err(gone()));
                };
                match e.state {
                    Conn::Open => Poll::Ready(Ok(())),
                    Conn::Failed(kind) => Poll::Ready(Err(io::Error::new(
                        kind,
                        format!("solo-io simulation: connect to {addr}: {kind}"),
                    ))),
                    Conn::Connecting => {
                        e.write_waker.register(cx.waker());
                        Poll::Pending
                    }
                }
            })
            .unwrap_or_else(|e| Poll::Ready(Err(e)))
        })
        .await?;
        Ok(stream)
    }

    fn with_end<R>(&self, f: impl FnOnce(&mut End) -> io::Result<R>) -> io::Result<R> {
        with(|w| w.ends.get_mut(&self.id).ok_or_else(gone).and_then(f))?
    }

    /// Waits until a read would not block.
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_readable(cx)).await
    }

    fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.with_end(|e| {
            if !e.rx.is_empty() || e.rx_eof || e.reset {
                Ok(true)
            } else {
                e.read_waker.register(cx.waker());
                Ok(false)
            }
        })
        .map_or_else(
            |e| Poll::Ready(Err(e)),
            |r| {
                if r {
                    Poll::Ready(Ok(()))
                } else {
                    Poll::Pending
                }
            },
        )
    }

    /// Waits until a write would not block.
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| match self.poll_write_inner(cx, &[]) {
            Poll::Ready(r) => Poll::Ready(r.map(drop)),
            Poll::Pending => Poll::Pending,
        })
        .await
    }

    /// Fails with `Unsupported` (as on systems without `sendfile`): callers fall back to
    /// reading the file and writing it.
    pub async fn sendfile(
        &self,
        _file: &std::fs::File,
        _offset: u64,
        _count: usize,
    ) -> io::Result<usize> {
        Err(real_socket("TcpStream::sendfile"))
    }

    /// The polling form of [`sendfile`](TcpStream::sendfile): `Unsupported`.
    pub fn poll_sendfile(
        &self,
        _cx: &mut Context<'_>,
        _file: &std::fs::File,
        _offset: u64,
        _count: usize,
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Err(real_socket("TcpStream::sendfile")))
    }

    /// Fails with `Unsupported`: a simulated stream has no OS socket.
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        Err(real_socket("TcpStream::into_std"))
    }

    /// Reads without removing what was read.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_read_inner(cx, buf, true)).await
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.with_end(|e| Ok(e.peer))
    }

    /// This end's address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.with_end(|e| Ok(e.local))
    }

    /// Recorded only: the simulated network sends each write as one segment.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.with_end(|e| {
            e.nodelay = nodelay;
            Ok(())
        })
    }

    /// What [`set_nodelay`](TcpStream::set_nodelay) recorded.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.with_end(|e| Ok(e.nodelay))
    }

    /// Shuts down the read side (later data is discarded), the write side (a FIN follows
    /// what was sent), or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        with(|w| {
            let e = w.ends.get_mut(&self.id).ok_or_else(gone)?;
            if e.state != Conn::Open {
                return Err(io::Error::from(io::ErrorKind::NotConnected));
            }
            if matches!(how, Shutdown::Read | Shutdown::Both) {
                e.rx.clear();
                e.rx_eof = true;
            }
            if matches!(how, Shutdown::Write | Shutdown::Both) && !e.wr_closed {
                e.wr_closed = true;
                if !e.reset {
                    w.send_segment(self.id, Seg::Fin);
                }
            }
            Ok(())
        })?
    }

    fn poll_read_inner(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
        peek: bool,
    ) -> Poll<io::Result<usize>> {
        with(|w| {
            let Some(e) = w.ends.get_mut(&self.id) else {
                return Poll::Ready(Err(gone()));
            };
            if e.reset {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "solo-io simulation: connection reset by peer",
                )));
            }
            if e.rx.is_empty() {
                if e.rx_eof || buf.is_empty() {
                    return Poll::Ready(Ok(0));
                }
                e.read_waker.register(cx.waker());
                return Poll::Pending;
            }
            let n = buf.len().min(e.rx.len());
            for (dst, src) in buf.iter_mut().zip(e.rx.iter()) {
                *dst = *src;
            }
            if !peek {
                e.rx.drain(..n);
                // Room in the window: the peer may write again.
                let peer = e.peer_end;
                if let Some(p) = w.ends.get_mut(&peer) {
                    let waker = p.write_waker.take();
                    w.wake(waker);
                }
            }
            Poll::Ready(Ok(n))
        })
        .unwrap_or_else(|e| Poll::Ready(Err(e)))
    }

    fn poll_write_inner(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        with(|w| {
            let window = w.config.tcp_window;
            let Some(e) = w.ends.get(&self.id) else {
                return Poll::Ready(Err(gone()));
            };
            if e.reset {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "solo-io simulation: connection reset by peer",
                )));
            }
            if e.wr_closed {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "solo-io simulation: the write side is shut down",
                )));
            }
            let unread = w.ends.get(&e.peer_end).map_or(0, |p| p.rx.len());
            let used = e.in_flight + unread;
            if used >= window {
                let e = w.ends.get_mut(&self.id).expect("checked");
                e.write_waker.register(cx.waker());
                return Poll::Pending;
            }
            let n = buf.len().min(window - used);
            if n > 0 {
                w.send_segment(self.id, Seg::Data(buf[..n].to_vec()));
            }
            Poll::Ready(Ok(n))
        })
        .unwrap_or_else(|e| Poll::Ready(Err(e)))
    }
}

impl Drop for TcpStream {
    fn drop(&mut self) {
        let id = self.id;
        super::try_with(|w| abandon(w, id));
    }
}

macro_rules! sim_stream_io {
    ($t:ty) => {
        impl futures_io::AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.poll_read_inner(cx, buf, false)
            }
        }

        impl futures_io::AsyncWrite for $t {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.poll_write_inner(cx, buf)
            }

            fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(self.shutdown(Shutdown::Write).or_else(|e| {
                    if e.kind() == io::ErrorKind::NotConnected {
                        Ok(())
                    } else {
                        Err(e)
                    }
                }))
            }
        }
    };
}

sim_stream_io!(TcpStream);
sim_stream_io!(&TcpStream);

/// A UDP socket of a simulated host.
pub struct UdpSocket {
    id: u64,
    addr: SocketAddr,
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("addr", &self.addr)
            .finish()
    }
}

impl UdpSocket {
    /// Binds to `addr` of the current host (port 0: a free port).
    pub async fn bind(addr: impl AsyncToSocketAddrs) -> io::Result<UdpSocket> {
        each_addr(addr, |a| async move { UdpSocket::bind_addr(a) }).await
    }

    fn bind_addr(addr: SocketAddr) -> io::Result<UdpSocket> {
        with(|w| {
            let host = w.current_host()?;
            let mut addr = w.localise(host, addr);
            if addr.ip() != w.host_ip_of(host) {
                return Err(io::Error::new(
                    io::ErrorKind::AddrNotAvailable,
                    format!(
                        "solo-io simulation: {} is not an address of this host",
                        addr.ip()
                    ),
                ));
            }
            if addr.port() == 0 {
                loop {
                    addr.set_port(w.ephemeral_port(host));
                    if !w.port_taken(addr, false) {
                        break;
                    }
                }
            } else if w.port_taken(addr, false) {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("solo-io simulation: {addr} is in use"),
                ));
            }
            let id = w.fresh_id();
            w.udp.insert(
                id,
                Udp {
                    host,
                    addr,
                    peer: None,
                    queue: Default::default(),
                    wakers: Vec::new(),
                    link_free: Default::default(),
                },
            );
            Ok(UdpSocket { id, addr })
        })?
    }

    /// Sets the default destination of [`send`](UdpSocket::send) and receives only from it.
    pub async fn connect(&self, addr: impl AsyncToSocketAddrs) -> io::Result<()> {
        let id = self.id;
        each_addr(addr, |a| async move {
            with(|w| {
                let host = w.current_host()?;
                let a = w.localise(host, a);
                w.udp.get_mut(&id).ok_or_else(gone)?.peer = Some(a);
                Ok(())
            })?
        })
        .await
    }

    /// Sends to the connected peer.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        let peer = self.peer_addr()?;
        self.send_to(buf, peer).await
    }

    /// Receives from the connected peer.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv_from(buf).await.map(|(n, _)| n)
    }

    /// Sends a datagram to `addr` (it may be lost, delayed or overtaken).
    pub async fn send_to(&self, buf: &[u8], addr: impl AsyncToSocketAddrs) -> io::Result<usize> {
        let addrs = addr.to_socket_addrs().await?;
        let to = addrs.into_iter().next().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "the address resolved to nothing",
            )
        })?;
        with(|w| {
            if !w.udp.contains_key(&self.id) {
                return Err(gone());
            }
            w.send_datagram(self.id, to, buf);
            Ok(buf.len())
        })?
    }

    /// Receives a datagram (the excess of a long one is discarded, as by the OS).
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| self.poll_recv(cx, buf, false)).await
    }

    /// Receives a datagram without removing it.
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| self.poll_recv(cx, buf, true)).await
    }

    /// Receives a datagram from the connected peer without removing it.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.peek_from(buf).await.map(|(n, _)| n)
    }

    fn poll_recv(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
        peek: bool,
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        with(|w| {
            let Some(u) = w.udp.get_mut(&self.id) else {
                return Poll::Ready(Err(gone()));
            };
            let Some((data, from)) = u.queue.front() else {
                // One entry per waiting task, however often it polls.
                if !u.wakers.iter().any(|w| w.will_wake(cx.waker())) {
                    u.wakers.push(cx.waker().clone());
                }
                return Poll::Pending;
            };
            let n = data.len().min(buf.len());
            buf[..n].copy_from_slice(&data[..n]);
            let from = *from;
            if !peek {
                u.queue.pop_front();
            }
            Poll::Ready(Ok((n, from)))
        })
        .unwrap_or_else(|e| Poll::Ready(Err(e)))
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.addr)
    }

    /// The connected peer.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        with(|w| {
            w.udp
                .get(&self.id)
                .ok_or_else(gone)?
                .peer
                .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))
        })?
    }
}

impl Drop for UdpSocket {
    fn drop(&mut self) {
        let id = self.id;
        super::try_with(|w| {
            if let Some(u) = w.udp.remove(&id) {
                w.trace(tag::UDP_DROP, &[4, u.queue.len() as u64]);
                w.to_wake.extend(u.wakers);
            }
        });
    }
}
