//! UDP: [`UdpSocket`].

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use super::addr::{AsyncToSocketAddrs, each_addr};
use crate::async_io::Async;

/// A UDP socket.
///
/// # Examples
///
/// ```
/// use solo_io::net::UdpSocket;
///
/// # solo_io::block_on(async {
/// let a = UdpSocket::bind("127.0.0.1:0").await?;
/// let b = UdpSocket::bind("127.0.0.1:0").await?;
/// a.send_to(b"ping", b.local_addr()?).await?;
/// let mut buf = [0; 16];
/// let (n, from) = b.recv_from(&mut buf).await?;
/// assert_eq!(&buf[..n], b"ping");
/// assert_eq!(from, a.local_addr()?);
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub struct UdpSocket {
    inner: Async<std::net::UdpSocket>,
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl UdpSocket {
    /// Binds a socket to `addr` (tried in turn if it resolves to several addresses).
    pub async fn bind(addr: impl AsyncToSocketAddrs) -> io::Result<UdpSocket> {
        each_addr(addr, |a| async move {
            let socket = std::net::UdpSocket::bind(a)
                .map_err(|e| io::Error::new(e.kind(), format!("cannot bind {a}: {e}")))?;
            UdpSocket::try_from(socket)
        })
        .await
    }

    /// Sets the default peer for [`send`](UdpSocket::send) and [`recv`](UdpSocket::recv)
    /// and filters datagrams from other addresses.
    pub async fn connect(&self, addr: impl AsyncToSocketAddrs) -> io::Result<()> {
        each_addr(addr, |a| async move { self.inner.get_ref().connect(a) }).await
    }

    /// Sends a datagram to the connected peer.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write_with(|s| s.send(buf)).await
    }

    /// Receives a datagram from the connected peer.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_with(|s| s.recv(buf)).await
    }

    /// Sends a datagram to `addr` (the first address it resolves to).
    pub async fn send_to(&self, buf: &[u8], addr: impl AsyncToSocketAddrs) -> io::Result<usize> {
        let addr = addr
            .to_socket_addrs()
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "the address resolved to no socket address",
                )
            })?;
        self.inner.write_with(|s| s.send_to(buf, addr)).await
    }

    /// Receives a datagram and the address it came from.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.read_with(|s| s.recv_from(buf)).await
    }

    /// Like [`recv_from`](UdpSocket::recv_from), leaving the datagram queued.
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.read_with(|s| s.peek_from(buf)).await
    }

    /// Like [`recv`](UdpSocket::recv), leaving the datagram queued.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_with(|s| s.peek(buf)).await
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// Sets `SO_BROADCAST`: whether datagrams may be sent to a broadcast address.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.inner.get_ref().set_broadcast(on)
    }

    /// Whether `SO_BROADCAST` is set.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.inner.get_ref().broadcast()
    }

    /// Sets the time-to-live of the datagrams it sends (`IP_TTL`).
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner.get_ref().set_ttl(ttl)
    }

    /// The time-to-live of the datagrams it sends (`IP_TTL`).
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner.get_ref().ttl()
    }

    /// Joins the IPv4 multicast group `multiaddr` on the interface with address
    /// `interface` ([`Ipv4Addr::UNSPECIFIED`]: the system chooses).
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_io::net::{Ipv4Addr, UdpSocket};
    ///
    /// # solo_io::block_on(async {
    /// let socket = UdpSocket::bind("0.0.0.0:0").await?;
    /// let group = Ipv4Addr::new(239, 255, 0, 1);
    /// // Fails where the host has no multicast route at all.
    /// if socket.join_multicast_v4(group, Ipv4Addr::LOCALHOST).is_ok() {
    ///     socket.set_multicast_loop_v4(true)?;
    ///     socket.leave_multicast_v4(group, Ipv4Addr::LOCALHOST)?;
    /// }
    /// # std::io::Result::Ok(()) }).unwrap();
    /// ```
    pub fn join_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.inner
            .get_ref()
            .join_multicast_v4(&multiaddr, &interface)
            .map_err(|e| multicast_error("join", &multiaddr, e))
    }

    /// Leaves an IPv4 multicast group joined with
    /// [`join_multicast_v4`](UdpSocket::join_multicast_v4).
    pub fn leave_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.inner
            .get_ref()
            .leave_multicast_v4(&multiaddr, &interface)
            .map_err(|e| multicast_error("leave", &multiaddr, e))
    }

    /// Joins the IPv6 multicast group `multiaddr` on the interface with index `interface`
    /// (0: the system chooses).
    pub fn join_multicast_v6(&self, multiaddr: Ipv6Addr, interface: u32) -> io::Result<()> {
        self.inner
            .get_ref()
            .join_multicast_v6(&multiaddr, interface)
            .map_err(|e| multicast_error("join", &multiaddr, e))
    }

    /// Leaves an IPv6 multicast group joined with
    /// [`join_multicast_v6`](UdpSocket::join_multicast_v6).
    pub fn leave_multicast_v6(&self, multiaddr: Ipv6Addr, interface: u32) -> io::Result<()> {
        self.inner
            .get_ref()
            .leave_multicast_v6(&multiaddr, interface)
            .map_err(|e| multicast_error("leave", &multiaddr, e))
    }

    /// Sets `IP_MULTICAST_LOOP`: whether IPv4 multicast datagrams it sends are looped back
    /// to this host's members of the group.
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.inner.get_ref().set_multicast_loop_v4(on)
    }

    /// Whether `IP_MULTICAST_LOOP` is set.
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        self.inner.get_ref().multicast_loop_v4()
    }

    /// Sets `IP_MULTICAST_TTL`: how many hops IPv4 multicast datagrams may take (1, the
    /// default, keeps them on the local network).
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        self.inner.get_ref().set_multicast_ttl_v4(ttl)
    }

    /// The `IP_MULTICAST_TTL` of the socket.
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        self.inner.get_ref().multicast_ttl_v4()
    }

    /// Sets `IPV6_MULTICAST_LOOP`, the IPv6 counterpart of
    /// [`set_multicast_loop_v4`](UdpSocket::set_multicast_loop_v4).
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        self.inner.get_ref().set_multicast_loop_v6(on)
    }

    /// Whether `IPV6_MULTICAST_LOOP` is set.
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        self.inner.get_ref().multicast_loop_v6()
    }

    /// The `std` socket (non-blocking). Operations on it bypass the readiness cache.
    pub fn get_ref(&self) -> &std::net::UdpSocket {
        self.inner.get_ref()
    }

    /// Deregisters the socket and returns the `std` socket (still non-blocking).
    pub fn into_std(self) -> io::Result<std::net::UdpSocket> {
        self.inner.into_inner()
    }
}

impl TryFrom<std::net::UdpSocket> for UdpSocket {
    type Error = io::Error;

    /// Makes the socket non-blocking and registers it.
    fn try_from(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            inner: Async::new(socket)?,
        })
    }
}

super::source_impls!(UdpSocket);

/// A multicast `op` ("join" or "leave") error that names the group.
fn multicast_error(op: &str, group: &dyn fmt::Display, e: io::Error) -> io::Error {
    io::Error::new(
        e.kind(),
        format!("cannot {op} multicast group {group}: {e}"),
    )
}
