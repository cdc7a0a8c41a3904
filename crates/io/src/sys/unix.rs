//! Unix: sockets through `libc`, with `SOCK_NONBLOCK | SOCK_CLOEXEC` where the OS has them,
//! and `sendfile` where the OS has one.

use std::io::{self, IoSlice};
use std::mem;
use std::net::{
    Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, TcpListener, TcpStream,
};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

/// Something the reactor can watch: on Unix, anything with a file descriptor
/// ([`AsFd`]). Implemented for every such type; there is nothing to implement.
pub trait Source: AsFd {
    /// The descriptor, borrowed.
    fn source(&self) -> BorrowedFd<'_> {
        self.as_fd()
    }
}

impl<T: AsFd + ?Sized> Source for T {}

/// Turns the `-1`-and-`errno` convention into an `io::Result`.
///
/// A copy of solo-poll's (`sys/unix.rs`), kept on purpose: solo-io may depend on solo-poll,
/// but sharing these six lines would make them part of solo-poll's public API, a poller's.
fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Puts `fd` in non-blocking mode with one `ioctl(FIONBIO)`.
pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: `fd` is a valid open descriptor for the duration of the borrow, and FIONBIO
    // reads one `c_int` through the pointer, which points at a live local.
    cvt(unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONBIO, &on) }).map(drop)
}

/// Takes the descriptor out of non-blocking mode (for one handed to another process).
pub(crate) fn set_blocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    let off: libc::c_int = 0;
    // SAFETY: as in `set_nonblocking`.
    cvt(unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONBIO, &off) }).map(drop)
}

/// A new socket, non-blocking and close-on-exec (and, on Apple platforms, with
/// `SO_NOSIGPIPE`, since they lack `MSG_NOSIGNAL`).
fn socket(domain: libc::c_int, ty: libc::c_int) -> io::Result<OwnedFd> {
    // Where the OS has the flags, the socket is born with them (no window for a fork+exec
    // in another thread to inherit it); elsewhere they are set right after.
    #[cfg(has_sock_flags)]
    let ty = ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: plain syscall with integer arguments.
    let fd = cvt(unsafe { libc::socket(domain, ty, 0) })?;
    // SAFETY: a non-negative result is a new descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    #[cfg(not(has_sock_flags))]
    {
        // SAFETY: `fd` is open; F_SETFD takes an integer flag argument.
        cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) })?;
        set_nonblocking(fd.as_fd())?;
        #[cfg(target_vendor = "apple")]
        setsockopt(fd.as_fd(), libc::SOL_SOCKET, libc::SO_NOSIGPIPE, 1)?;
    }
    Ok(fd)
}

fn setsockopt(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `fd` is open; the option value is a live `c_int` whose size we pass.
    cvt(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// An IPv4 or IPv6 socket address as `connect` and `bind` take it.
#[repr(C)]
union RawAddr {
    v4: libc::sockaddr_in,
    v6: libc::sockaddr_in6,
}

/// `SocketAddr` as a C socket address and its length.
fn to_sockaddr(addr: &SocketAddr) -> (RawAddr, usize) {
    match addr {
        SocketAddr::V4(a) => {
            // SAFETY: `sockaddr_in` is plain old data for which all-zero bytes are valid.
            let mut sin: libc::sockaddr_in = unsafe { mem::zeroed() };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = a.port().to_be();
            sin.sin_addr.s_addr = u32::from_ne_bytes(a.ip().octets());
            (RawAddr { v4: sin }, mem::size_of::<libc::sockaddr_in>())
        }
        SocketAddr::V6(a) => {
            // SAFETY: as above, all-zero is a valid `sockaddr_in6`.
            let mut sin6: libc::sockaddr_in6 = unsafe { mem::zeroed() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_addr.s6_addr = a.ip().octets();
            sin6.sin6_flowinfo = a.flowinfo();
            sin6.sin6_scope_id = a.scope_id();
            (RawAddr { v6: sin6 }, mem::size_of::<libc::sockaddr_in6>())
        }
    }
}

/// Starts a non-blocking `connect` of `fd` to the first `len` bytes of `addr`, a C socket
/// address. A connection still in progress is success: `EINPROGRESS`, `EINTR` (it goes on
/// in the background) and the errors in `pending`; the caller waits for writability and
/// then checks `take_error`.
fn start_connect<A>(fd: BorrowedFd<'_>, addr: &A, len: usize) -> io::Result<()> {
    assert!(len <= mem::size_of::<A>());
    // SAFETY: `fd` is open, and `addr` is valid for reads of `len` bytes (checked above)
    // for the duration of the call.
    let ret = unsafe {
        libc::connect(
            fd.as_raw_fd(),
            (addr as *const A).cast(),
            len as libc::socklen_t,
        )
    };
    if ret == -1 {
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINPROGRESS) && err.kind() != io::ErrorKind::Interrupted
        {
            return Err(err);
        }
    }
    Ok(())
}

/// A C socket address (as filled in by `accept`) as a `SocketAddr`.
#[cfg_attr(not(has_accept4), allow(dead_code))]
fn from_sockaddr(storage: &libc::sockaddr_storage) -> io::Result<SocketAddr> {
    match storage.ss_family as libc::c_int {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a `sockaddr_in`; the storage is
            // large enough and suitably aligned.
            let sin =
                unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
            Ok(SocketAddr::V4(SocketAddrV4::new(
                ip,
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a `sockaddr_in6`.
            let sin6 = unsafe {
                &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            Ok(SocketAddr::V6(SocketAddrV6::new(
                ip,
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        family => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("accept returned an unexpected address family {family}"),
        )),
    }
}

fn domain_of(addr: &SocketAddr) -> libc::c_int {
    match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    }
}

/// Starts a non-blocking TCP connect. The stream is returned while the connection is
/// still in progress; wait for writability, then check `take_error`.
pub(crate) fn tcp_connect(addr: &SocketAddr) -> io::Result<TcpStream> {
    let fd = socket(domain_of(addr), libc::SOCK_STREAM)?;
    let (raw, len) = to_sockaddr(addr);
    start_connect(fd.as_fd(), &raw, len)?;
    Ok(TcpStream::from(fd))
}

/// A non-blocking listener with `SO_REUSEADDR` and, when `reuse_port`, `SO_REUSEPORT`
/// (several sockets, one per shard, share the port and the kernel spreads connections).
pub(crate) fn tcp_listen(
    addr: &SocketAddr,
    reuse_port: bool,
    backlog: i32,
) -> io::Result<TcpListener> {
    let fd = socket(domain_of(addr), libc::SOCK_STREAM)?;
    setsockopt(fd.as_fd(), libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
    if reuse_port {
        setsockopt(fd.as_fd(), libc::SOL_SOCKET, libc::SO_REUSEPORT, 1)?;
    }
    let (raw, len) = to_sockaddr(addr);
    // SAFETY: `fd` is open, and `raw` holds a valid socket address of `len` bytes.
    cvt(unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&raw as *const RawAddr).cast(),
            len as libc::socklen_t,
        )
    })?;
    // SAFETY: plain syscall on an open descriptor.
    cvt(unsafe { libc::listen(fd.as_raw_fd(), backlog) })?;
    Ok(TcpListener::from(fd))
}

/// Accepts one connection as a non-blocking, close-on-exec stream: one `accept4` where the
/// OS has it, `accept` plus `ioctl` elsewhere.
pub(crate) fn tcp_accept(listener: &TcpListener) -> io::Result<(TcpStream, SocketAddr)> {
    #[cfg(has_accept4)]
    {
        let mut storage = mem::MaybeUninit::<libc::sockaddr_storage>::zeroed();
        let mut len = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        // SAFETY: the listener is open; `storage` and `len` are live and describe a buffer
        // large enough for any socket address.
        let fd = cvt(unsafe {
            libc::accept4(
                listener.as_raw_fd(),
                storage.as_mut_ptr().cast(),
                &mut len,
                libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            )
        })?;
        // SAFETY: `accept4` returned a new descriptor owned by no one else.
        let stream = TcpStream::from(unsafe { OwnedFd::from_raw_fd(fd) });
        // SAFETY: zero-initialised and then (partly) filled by the kernel: every byte is
        // initialised, and all bit patterns are valid for this plain-data struct.
        let storage = unsafe { storage.assume_init() };
        Ok((stream, from_sockaddr(&storage)?))
    }
    #[cfg(not(has_accept4))]
    {
        let (stream, addr) = listener.accept()?;
        stream.set_nonblocking(true)?;
        Ok((stream, addr))
    }
}

/// Starts a non-blocking connect to a Unix socket at `path`.
pub(crate) fn unix_connect(path: &Path) -> io::Result<UnixStream> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_os_str().as_bytes();
    // SAFETY: all-zero is a valid `sockaddr_un`.
    let mut sun: libc::sockaddr_un = unsafe { mem::zeroed() };
    if bytes.len() >= sun.sun_path.len() || bytes.contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid Unix socket path {path:?}: too long or contains a NUL byte"),
        ));
    }
    sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (dst, src) in sun.sun_path.iter_mut().zip(bytes) {
        *dst = *src as libc::c_char;
    }
    let len = mem::size_of::<libc::sa_family_t>() + bytes.len() + 1;
    let fd = socket(libc::AF_UNIX, libc::SOCK_STREAM)?;
    // On Linux a Unix connect never goes "in progress": it completes, or fails with EAGAIN
    // when the listener's backlog is full, in which case the socket is not connected at
    // all (treating it as pending made `connect` succeed and the first write fail).
    start_connect(fd.as_fd(), &sun, len).map_err(|e| {
        if e.raw_os_error() == Some(libc::EAGAIN) {
            io::Error::new(
                io::ErrorKind::WouldBlock,
                format!("cannot connect to {path:?}: the listener's backlog is full"),
            )
        } else {
            io::Error::new(e.kind(), format!("cannot connect to {path:?}: {e}"))
        }
    })?;
    Ok(UnixStream::from(fd))
}

/// A vectored stream write that never raises `SIGPIPE`: `sendmsg` with `MSG_NOSIGNAL`
/// where the OS has it (Apple sockets carry `SO_NOSIGPIPE` instead).
pub(crate) fn send_vectored<S: AsFd>(stream: &S, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    let fd = stream.as_fd();
    // SAFETY: all-zero is a valid `msghdr` (no name, no control data).
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    // `IoSlice` is guaranteed ABI-compatible with `iovec` on Unix.
    msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
    msg.msg_iovlen = bufs.len().min(1024) as _;
    #[cfg(not(target_vendor = "apple"))]
    let flags = libc::MSG_NOSIGNAL;
    #[cfg(target_vendor = "apple")]
    let flags = 0;
    // SAFETY: `fd` is open; `msg` points at `bufs`, live for the call, and the kernel only
    // reads the buffers.
    let n = unsafe { libc::sendmsg(fd.as_raw_fd(), &msg, flags) };
    if n == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// The most Linux's `sendfile` moves in one call.
#[cfg(any(target_os = "linux", target_os = "android"))]
const SENDFILE_MAX: usize = 0x7fff_f000;

/// Sends up to `count` bytes of `file`, from `offset`, to the stream socket `socket`
/// inside the kernel (`sendfile`), without moving the file's offset. Returns how many
/// were sent (0: the file ends at `offset`); `WouldBlock` when the socket took nothing.
/// Linux and Android, FreeBSD and DragonFly, Apple systems; elsewhere `Unsupported`.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn sendfile(
    socket: BorrowedFd<'_>,
    file: &std::fs::File,
    offset: u64,
    count: usize,
) -> io::Result<usize> {
    // `sendfile64` takes a 64-bit offset on 32-bit targets too; musl's `sendfile` is the
    // 64-bit one already.
    #[cfg(any(target_env = "musl", target_env = "ohos"))]
    use libc::{off_t as Offset, sendfile};
    #[cfg(not(any(target_env = "musl", target_env = "ohos")))]
    use libc::{off64_t as Offset, sendfile64 as sendfile};
    let mut offset = Offset::try_from(offset).map_err(|_| offset_too_large(offset))?;
    // SAFETY: both descriptors are open for the duration of the borrows; `offset` is a
    // live local the kernel reads and updates.
    let sent = unsafe {
        sendfile(
            socket.as_raw_fd(),
            file.as_raw_fd(),
            &mut offset,
            count.min(SENDFILE_MAX),
        )
    };
    if sent == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(sent as usize)
    }
}

/// See the Linux version.
#[cfg(any(
    target_os = "freebsd",
    target_os = "dragonfly",
    target_vendor = "apple"
))]
pub(crate) fn sendfile(
    socket: BorrowedFd<'_>,
    file: &std::fs::File,
    offset: u64,
    count: usize,
) -> io::Result<usize> {
    // A count of 0 means "to the end of the file" to these systems.
    if count == 0 {
        return Ok(0);
    }
    let start = libc::off_t::try_from(offset).map_err(|_| offset_too_large(offset))?;
    let count = count.min(isize::MAX as usize);
    #[cfg(target_vendor = "apple")]
    let (ret, sent) = {
        // In: how many to send; out: how many were sent.
        let mut len = count as libc::off_t;
        // SAFETY: both descriptors are open for the duration of the borrows; `len` is a
        // live local; no header or trailer vectors.
        let ret = unsafe {
            libc::sendfile(
                file.as_raw_fd(),
                socket.as_raw_fd(),
                start,
                &mut len,
                std::ptr::null_mut(),
                0,
            )
        };
        (ret, len)
    };
    #[cfg(not(target_vendor = "apple"))]
    let (ret, sent) = {
        let mut sent: libc::off_t = 0;
        // SAFETY: both descriptors are open for the duration of the borrows; `sent` is a
        // live local; no header or trailer vectors.
        let ret = unsafe {
            libc::sendfile(
                file.as_raw_fd(),
                socket.as_raw_fd(),
                start,
                count,
                std::ptr::null_mut(),
                &mut sent,
                0,
            )
        };
        (ret, sent)
    };
    if ret == -1 {
        let error = io::Error::last_os_error();
        // A non-blocking socket that took part of it reports EAGAIN (or EINTR) with the
        // part sent: that is progress, not an error.
        let partial = matches!(
            error.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
        );
        if !(partial && sent > 0) {
            return Err(error);
        }
    }
    Ok(sent as usize)
}

/// Elsewhere there is no `sendfile` this crate uses.
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_vendor = "apple"
)))]
pub(crate) fn sendfile(
    _socket: BorrowedFd<'_>,
    _file: &std::fs::File,
    _offset: u64,
    _count: usize,
) -> io::Result<usize> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "sendfile is not available on this system: read the file and write it instead",
    ))
}

#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_vendor = "apple"
))]
fn offset_too_large(offset: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("sendfile: offset {offset} is beyond what this system can address"),
    )
}

/// Errors after which `accept` should simply be tried again: the connection died in the
/// backlog, or (Linux) a pending network error was reported on the listener.
pub(crate) fn is_transient_accept_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    ) || matches!(
        e.raw_os_error(),
        Some(libc::EPROTO)
            | Some(libc::ENETDOWN)
            | Some(libc::ENETUNREACH)
            | Some(libc::EHOSTUNREACH)
            | Some(libc::EHOSTDOWN)
            | Some(libc::EOPNOTSUPP)
            | Some(libc::ENOPROTOOPT)
    )
}

/// Out of descriptors or kernel memory: back off rather than retry at once.
pub(crate) fn is_resource_exhausted(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE) | Some(libc::ENFILE) | Some(libc::ENOBUFS) | Some(libc::ENOMEM)
    )
}
