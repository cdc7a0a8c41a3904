//! Networking: TCP, UDP and (on Unix) Unix-domain sockets on this thread's reactor.
//!
//! Every type wraps its `std::net` counterpart in [`Async`](crate::Async), implements the
//! `futures-io` traits where they apply, and converts from and to the `std` type. Host
//! names are resolved on the blocking pool ([`AsyncToSocketAddrs`]).

mod addr;
mod tcp;
mod udp;
#[cfg(unix)]
mod unix;

pub use addr::{AsyncToSocketAddrs, Resolve};
pub use tcp::{Incoming, TcpListener, TcpStream};
pub use udp::UdpSocket;
#[cfg(unix)]
pub use unix::{UnixDatagram, UnixIncoming, UnixListener, UnixStream};

pub use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, SocketAddrV4, SocketAddrV6};
