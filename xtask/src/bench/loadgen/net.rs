//! The load generator's view of the OS: an epoll instance and non-blocking client sockets,
//! straight over libc (no runtime, nothing between the loop and the system calls).

use std::io;
use std::mem;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use crate::sys::{cvt, cvt_size};

/// Interest: readable (and peer hang-up), edge-triggered.
pub const READ: u32 = (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLET) as u32;
/// Interest: writable, edge-triggered (while a connect or a write is pending).
pub const WRITE: u32 = (libc::EPOLLOUT | libc::EPOLLET) as u32;

/// An epoll instance with its event buffer.
pub struct Epoll {
    fd: OwnedFd,
    events: Vec<libc::epoll_event>,
}

impl Epoll {
    /// A new epoll instance returning up to `capacity` events per wait.
    pub fn new(capacity: usize) -> io::Result<Epoll> {
        // SAFETY: epoll_create1 takes no pointers; errors are checked.
        let fd = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: `fd` was just created and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Epoll {
            fd,
            events: vec![libc::epoll_event { events: 0, u64: 0 }; capacity.max(1)],
        })
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, token: u64, interest: u32) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events: interest,
            u64: token,
        };
        // SAFETY: `ev` is a valid epoll_event; the kernel checks both descriptors.
        cvt(unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), op, fd, &mut ev) })?;
        Ok(())
    }

    /// Registers `fd` under `token`.
    pub fn add(&self, fd: RawFd, token: u64, interest: u32) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, token, interest)
    }

    /// Waits up to `timeout` (rounded up to whole milliseconds; zero polls) and returns how
    /// many events are ready; read them with [`Epoll::event`]. A signal ends the wait early
    /// with no events.
    pub fn wait(&mut self, timeout: Duration) -> io::Result<usize> {
        let ms = timeout.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as libc::c_int;
        // SAFETY: `events` has room for `events.len()` entries; the kernel writes at most
        // that many and returns how many it wrote.
        let n = unsafe {
            libc::epoll_wait(
                self.fd.as_raw_fd(),
                self.events.as_mut_ptr(),
                self.events.len() as libc::c_int,
                ms,
            )
        };
        match cvt(n) {
            Ok(n) => Ok(n as usize),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// The `(token, events)` of ready event `i` of the last wait.
    pub fn event(&self, i: usize) -> (u64, u32) {
        let e = self.events[i];
        (e.u64, e.events)
    }

    /// Whether any of the first `n` events of the last wait matches.
    #[cfg(test)]
    fn any(&self, n: usize, f: impl Fn(u64, u32) -> bool) -> bool {
        (0..n).any(|i| {
            let (t, e) = self.event(i);
            f(t, e)
        })
    }
}

/// Whether an event reports readable data, a hang-up or an error.
pub fn is_readable(events: u32) -> bool {
    events & (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) as u32 != 0
}

/// Whether an event reports that the socket can be written (or failed).
pub fn is_writable(events: u32) -> bool {
    events & (libc::EPOLLOUT | libc::EPOLLHUP | libc::EPOLLERR) as u32 != 0
}

/// A non-blocking TCP client socket. Dropping it resets the connection (linger 0), so a
/// run of a million connections leaves no `TIME_WAIT` behind; [`Socket::close`] closes it
/// in order instead.
pub struct Socket {
    fd: OwnedFd,
    /// Whether dropping it resets the connection (the default).
    reset_on_drop: bool,
}

impl Socket {
    /// Starts a non-blocking connect from `source` (any port) to `dest`, with `TCP_NODELAY`.
    /// The connect completes when the socket turns writable; see [`Socket::take_error`].
    pub fn connect(source: Ipv4Addr, dest: SocketAddrV4) -> io::Result<Socket> {
        // SAFETY: socket(2) takes no pointers; errors are checked.
        let fd = cvt(unsafe {
            libc::socket(
                libc::AF_INET,
                libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        })?;
        // SAFETY: `fd` was just returned by socket(2) and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let sock = Socket {
            fd,
            reset_on_drop: true,
        };
        // Let the kernel pick the source port at connect time, by the full 4-tuple, rather
        // than reserving one per source address at bind time.
        sock.set_int(libc::IPPROTO_IP, libc::IP_BIND_ADDRESS_NO_PORT, 1)?;
        sock.set_int(libc::IPPROTO_TCP, libc::TCP_NODELAY, 1)?;
        let src = sockaddr(SocketAddrV4::new(source, 0));
        // SAFETY: `src` is an initialised sockaddr_in and its size is passed with it.
        cvt(unsafe {
            libc::bind(
                sock.fd.as_raw_fd(),
                (&raw const src).cast(),
                mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        })?;
        let dst = sockaddr(dest);
        // SAFETY: as above, for the destination.
        let r = unsafe {
            libc::connect(
                sock.fd.as_raw_fd(),
                (&raw const dst).cast(),
                mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINPROGRESS) {
                return Err(e);
            }
        }
        Ok(sock)
    }

    fn set_int(&self, level: libc::c_int, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
        // SAFETY: the value points to a live c_int and its size is passed with it.
        cvt(unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                level,
                name,
                (&raw const value).cast(),
                mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        })?;
        Ok(())
    }

    /// The pending socket error (`SO_ERROR`), e.g. the outcome of a connect.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        let mut value: libc::c_int = 0;
        let mut len = mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: `value` and `len` are live and `len` holds the size of `value`.
        cvt(unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_ERROR,
                (&raw mut value).cast(),
                &mut len,
            )
        })?;
        Ok((value != 0).then(|| io::Error::from_raw_os_error(value)))
    }

    /// One `read`; `Ok(0)` is end of stream, `WouldBlock` means nothing to read.
    pub fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: the pointer and length describe the live, writable `buf`.
        cvt_size(unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) })
    }

    /// One `write`; may write less than `buf.len()`.
    pub fn write(&self, buf: &[u8]) -> io::Result<usize> {
        // SAFETY: the pointer and length describe the live `buf`.
        cvt_size(unsafe { libc::write(self.fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) })
    }

    /// Shuts the write side (the peer reads end of stream; reading goes on).
    pub fn shutdown_write(&self) -> io::Result<()> {
        // SAFETY: shutdown(2) takes no pointers; the kernel checks the descriptor.
        cvt(unsafe { libc::shutdown(self.fd.as_raw_fd(), libc::SHUT_WR) })?;
        Ok(())
    }

    /// Closes the connection in order (a FIN, not the reset of a plain drop).
    pub fn close(mut self) {
        self.reset_on_drop = false;
    }
}

impl AsRawFd for Socket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        if !self.reset_on_drop {
            return;
        }
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: `linger` is a live linger structure and its size is passed with it. The
        // descriptor itself is closed afterwards by `OwnedFd`.
        unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&raw const linger).cast(),
                mem::size_of::<libc::linger>() as libc::socklen_t,
            );
        }
    }
}

fn sockaddr(addr: SocketAddrV4) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: addr.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*addr.ip()).to_be(),
        },
        sin_zero: [0; 8],
    }
}

/// The source address of connection number `index` when each address carries at most
/// `per_source` connections: 127.0.0.1, then 127.0.0.2, … (all of 127.0.0.0/8 is
/// loopback on Linux). Stays inside 127.0.0.0/8 by wrapping.
pub fn source_addr(index: usize, per_source: usize) -> Ipv4Addr {
    let k = (index / per_source.max(1)) as u32 % 0x00ff_fffe;
    Ipv4Addr::from(u32::from(Ipv4Addr::new(127, 0, 0, 1)) + k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::time::Instant;

    #[test]
    fn source_addresses_spread_over_loopback() {
        assert_eq!(source_addr(0, 10_000), Ipv4Addr::new(127, 0, 0, 1));
        assert_eq!(source_addr(9_999, 10_000), Ipv4Addr::new(127, 0, 0, 1));
        assert_eq!(source_addr(10_000, 10_000), Ipv4Addr::new(127, 0, 0, 2));
        assert_eq!(
            source_addr(1_000_000, 10_000),
            Ipv4Addr::new(127, 0, 0, 101)
        );
        assert_eq!(source_addr(3_000, 10), Ipv4Addr::new(127, 0, 1, 45));
        assert_eq!(source_addr(usize::MAX, 1).octets()[0], 127);
    }

    #[test]
    fn connects_reads_and_writes_through_epoll() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let std::net::SocketAddr::V4(addr) = listener.local_addr().unwrap() else {
            unreachable!()
        };
        let mut ep = Epoll::new(8).unwrap();
        let sock = Socket::connect(Ipv4Addr::new(127, 0, 0, 7), addr).unwrap();
        ep.add(sock.as_raw_fd(), 7, READ | WRITE).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut connected = false;
        while !connected && Instant::now() < deadline {
            let n = ep.wait(Duration::from_millis(100)).unwrap();
            connected = ep.any(n, |t, e| t == 7 && is_writable(e));
        }
        assert!(connected);
        assert!(sock.take_error().unwrap().is_none());
        let (mut peer, from) = listener.accept().unwrap();
        assert_eq!(from.ip(), std::net::IpAddr::V4(Ipv4Addr::new(127, 0, 0, 7)));
        assert_eq!(sock.write(b"ping").unwrap(), 4);
        let mut got = [0u8; 4];
        peer.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"ping");
        peer.write_all(b"pong").unwrap();
        let mut readable = false;
        while !readable && Instant::now() < deadline {
            let n = ep.wait(Duration::from_millis(100)).unwrap();
            readable = ep.any(n, |t, e| t == 7 && is_readable(e));
        }
        assert!(readable);
        let mut buf = [0u8; 16];
        assert_eq!(sock.read(&mut buf).unwrap(), 4);
        assert_eq!(&buf[..4], b"pong");
        assert_eq!(
            sock.read(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        drop(sock);
        // Linger 0: the peer sees a reset or an end of stream, never a hang.
        peer.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        assert!(matches!(peer.read(&mut buf), Ok(0) | Err(_)));
    }

    #[test]
    fn close_is_orderly_and_shutdown_half_closes() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let std::net::SocketAddr::V4(addr) = listener.local_addr().unwrap() else {
            unreachable!()
        };
        let connect = || {
            let sock = Socket::connect(Ipv4Addr::LOCALHOST, addr).unwrap();
            let (peer, _) = listener.accept().unwrap();
            peer.set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            (sock, peer)
        };
        // Half-close: the peer reads the request and the end, and can still answer.
        let (sock, mut peer) = connect();
        let deadline = Instant::now() + Duration::from_secs(10);
        while sock.write(b"req").is_err() {
            assert!(Instant::now() < deadline, "never connected");
            std::thread::sleep(Duration::from_millis(5));
        }
        sock.shutdown_write().unwrap();
        let mut got = Vec::new();
        peer.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"req");
        peer.write_all(b"resp").unwrap();
        let mut buf = [0u8; 8];
        let n = loop {
            match sock.read(&mut buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    assert!(Instant::now() < deadline, "no answer");
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => panic!("{e}"),
            }
        };
        assert_eq!(&buf[..n], b"resp");
        // An orderly close: the peer reads the end of the stream, not a reset.
        let (sock, mut peer) = connect();
        sock.close();
        assert_eq!(peer.read(&mut buf).unwrap(), 0);
    }

    #[test]
    fn a_refused_connect_reports_its_error() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let mut ep = Epoll::new(8).unwrap();
        let sock = Socket::connect(
            Ipv4Addr::LOCALHOST,
            SocketAddrV4::new(Ipv4Addr::LOCALHOST, port),
        )
        .unwrap();
        ep.add(sock.as_raw_fd(), 1, WRITE).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut done = false;
        while !done && Instant::now() < deadline {
            let n = ep.wait(Duration::from_millis(100)).unwrap();
            done = ep.any(n, |_, e| is_writable(e));
        }
        assert!(done);
        let err = sock.take_error().unwrap().expect("connection refused");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    }
}
