//! Socket addresses, resolved without blocking the loop.

use std::future::Future;
use std::io;
#[cfg(not(solo_sim))]
use std::net::ToSocketAddrs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::blocking::Unblocked;
#[cfg(not(solo_sim))]
use crate::blocking::unblock;

/// Something that names one or more socket addresses: a `SocketAddr`, an `(ip, port)`
/// pair, or a string such as `"127.0.0.1:8080"` or `"localhost:8080"`.
///
/// Literal addresses resolve at once; host names are looked up on the blocking pool
/// (`getaddrinfo` blocks), so the loop keeps serving meanwhile. Implemented for the
/// same types as [`std::net::ToSocketAddrs`]; there is nothing to implement yourself.
pub trait AsyncToSocketAddrs: sealed::Sealed {
    /// Resolves to the list of addresses, in the resolver's order.
    fn to_socket_addrs(self) -> Resolve;
}

mod sealed {
    pub trait Sealed {}
}

/// The future of [`AsyncToSocketAddrs::to_socket_addrs`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Resolve(State);

#[derive(Debug)]
enum State {
    Done(Option<io::Result<Vec<SocketAddr>>>),
    #[cfg_attr(solo_sim, allow(dead_code))]
    Lookup(Unblocked<io::Result<Vec<SocketAddr>>>),
}

impl Resolve {
    fn ready(addrs: Vec<SocketAddr>) -> Resolve {
        Resolve(State::Done(Some(Ok(addrs))))
    }

    fn lookup(host: String, port: u16) -> Resolve {
        // Under simulation, names are the simulated hosts' names.
        #[cfg(solo_sim)]
        return Resolve(State::Done(Some(
            crate::sim::with(|w| w.resolve(&host, port).map(|a| vec![a])).and_then(|r| r),
        )));
        #[cfg(not(solo_sim))]
        Resolve(State::Lookup(unblock(move || {
            ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
                .map(Iterator::collect)
                .map_err(|e| io::Error::new(e.kind(), format!("cannot resolve {host:?}: {e}")))
        })))
    }

    fn parse(s: &str) -> Resolve {
        if let Ok(addr) = s.parse::<SocketAddr>() {
            return Resolve::ready(vec![addr]);
        }
        match s.rsplit_once(':').map(|(h, p)| (h, p.parse::<u16>())) {
            Some((host, Ok(port))) if !host.is_empty() => Resolve::lookup(host.to_string(), port),
            _ => Resolve(State::Done(Some(Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid socket address {s:?}: expected \"host:port\""),
            ))))),
        }
    }
}

impl Future for Resolve {
    type Output = io::Result<Vec<SocketAddr>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().0 {
            State::Done(res) => Poll::Ready(res.take().unwrap_or_else(|| {
                Err(io::Error::other(
                    "address resolution polled after completion",
                ))
            })),
            State::Lookup(task) => Pin::new(task).poll(cx),
        }
    }
}

macro_rules! literal {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl AsyncToSocketAddrs for $t {
            fn to_socket_addrs(self) -> Resolve {
                Resolve::ready(vec![SocketAddr::from(self)])
            }
        }
    )*};
}

literal!(
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    (IpAddr, u16),
    (Ipv4Addr, u16),
    (Ipv6Addr, u16)
);

impl sealed::Sealed for &SocketAddr {}
impl AsyncToSocketAddrs for &SocketAddr {
    fn to_socket_addrs(self) -> Resolve {
        Resolve::ready(vec![*self])
    }
}

impl sealed::Sealed for &[SocketAddr] {}
impl AsyncToSocketAddrs for &[SocketAddr] {
    fn to_socket_addrs(self) -> Resolve {
        Resolve::ready(self.to_vec())
    }
}

impl sealed::Sealed for Vec<SocketAddr> {}
impl AsyncToSocketAddrs for Vec<SocketAddr> {
    fn to_socket_addrs(self) -> Resolve {
        Resolve::ready(self)
    }
}

impl sealed::Sealed for &str {}
impl AsyncToSocketAddrs for &str {
    fn to_socket_addrs(self) -> Resolve {
        Resolve::parse(self)
    }
}

impl sealed::Sealed for String {}
impl AsyncToSocketAddrs for String {
    fn to_socket_addrs(self) -> Resolve {
        Resolve::parse(&self)
    }
}

impl sealed::Sealed for &String {}
impl AsyncToSocketAddrs for &String {
    fn to_socket_addrs(self) -> Resolve {
        Resolve::parse(self)
    }
}

impl sealed::Sealed for (&str, u16) {}
impl AsyncToSocketAddrs for (&str, u16) {
    fn to_socket_addrs(self) -> Resolve {
        match self.0.parse::<IpAddr>() {
            Ok(ip) => Resolve::ready(vec![SocketAddr::new(ip, self.1)]),
            Err(_) => Resolve::lookup(self.0.to_string(), self.1),
        }
    }
}

impl sealed::Sealed for (String, u16) {}
impl AsyncToSocketAddrs for (String, u16) {
    fn to_socket_addrs(self) -> Resolve {
        (self.0.as_str(), self.1).to_socket_addrs()
    }
}

/// Resolves `addrs` and runs `op` on each address in turn until one succeeds; returns
/// the last error otherwise (or a clear one if there was no address at all).
pub(crate) async fn each_addr<T, F, Fut>(addrs: impl AsyncToSocketAddrs, mut op: F) -> io::Result<T>
where
    F: FnMut(SocketAddr) -> Fut,
    Fut: Future<Output = io::Result<T>>,
{
    let addrs = addrs.to_socket_addrs().await?;
    let mut last = None;
    for addr in addrs {
        match op(addr).await {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the address resolved to no socket address",
        )
    }))
}
