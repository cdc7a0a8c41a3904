//! Windows: sockets through `windows-sys` (Winsock).

use std::io::{self, IoSlice, Write};
use std::mem;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::windows::io::{AsRawSocket, AsSocket, BorrowedSocket, FromRawSocket};
use std::sync::Once;

use windows_sys::Win32::Networking::WinSock::{
    AF_INET, AF_INET6, FIONBIO, INVALID_SOCKET, IPPROTO_TCP, SOCK_STREAM, SOCKADDR, SOCKADDR_IN,
    SOCKADDR_IN6, SOCKET_ERROR, WSA_FLAG_NO_HANDLE_INHERIT, WSA_FLAG_OVERLAPPED, WSADATA,
    WSAEMFILE, WSAENOBUFS, WSAEWOULDBLOCK, WSAGetLastError, WSASocketW, WSAStartup, connect,
    ioctlsocket,
};

/// Something the reactor can watch: on Windows, anything with a socket ([`AsSocket`]).
/// Implemented for every such type; there is nothing to implement.
pub trait Source: AsSocket {
    /// The socket, borrowed.
    fn source(&self) -> BorrowedSocket<'_> {
        self.as_socket()
    }
}

impl<T: AsSocket + ?Sized> Source for T {}

fn last_error() -> io::Error {
    // SAFETY: reads this thread's last Winsock error; no preconditions.
    io::Error::from_raw_os_error(unsafe { WSAGetLastError() })
}

/// Winsock must be started before the first raw socket call (std does it lazily for its
/// own sockets; the call is reference-counted, so doing it again is harmless).
fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        // SAFETY: all-zero is a valid WSADATA, which the call fills in.
        let mut data: WSADATA = unsafe { mem::zeroed() };
        // SAFETY: requests Winsock 2.2 with a valid out-pointer.
        unsafe { WSAStartup(0x202, &mut data) };
    });
}

/// Puts the socket in non-blocking mode.
pub(crate) fn set_nonblocking(socket: BorrowedSocket<'_>) -> io::Result<()> {
    let mut on: u32 = 1;
    // SAFETY: the socket is valid for the borrow; FIONBIO reads one u32 through the
    // pointer, which points at a live local.
    let ret = unsafe { ioctlsocket(socket.as_raw_socket() as usize, FIONBIO, &mut on) };
    if ret == SOCKET_ERROR {
        Err(last_error())
    } else {
        Ok(())
    }
}

/// Starts a non-blocking TCP connect; wait for writability, then check `take_error`.
pub(crate) fn tcp_connect(addr: &SocketAddr) -> io::Result<TcpStream> {
    init();
    let family = match addr {
        SocketAddr::V4(_) => AF_INET,
        SocketAddr::V6(_) => AF_INET6,
    };
    // SAFETY: plain call with integer arguments and no protocol info.
    let raw = unsafe {
        WSASocketW(
            family as i32,
            SOCK_STREAM,
            IPPROTO_TCP,
            std::ptr::null(),
            0,
            WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT,
        )
    };
    if raw == INVALID_SOCKET {
        return Err(last_error());
    }
    // SAFETY: `raw` is a fresh socket owned by no one else.
    let stream = unsafe { TcpStream::from_raw_socket(raw as u64) };
    set_nonblocking(stream.as_socket())?;
    let ret = match addr {
        SocketAddr::V4(a) => {
            // SAFETY: all-zero is a valid SOCKADDR_IN.
            let mut sin: SOCKADDR_IN = unsafe { mem::zeroed() };
            sin.sin_family = AF_INET;
            sin.sin_port = a.port().to_be();
            sin.sin_addr.S_un.S_addr = u32::from_ne_bytes(a.ip().octets());
            // SAFETY: the socket is open; `sin` is a valid address of the given size.
            unsafe {
                connect(
                    raw,
                    (&sin as *const SOCKADDR_IN).cast::<SOCKADDR>(),
                    mem::size_of::<SOCKADDR_IN>() as i32,
                )
            }
        }
        SocketAddr::V6(a) => {
            // SAFETY: all-zero is a valid SOCKADDR_IN6.
            let mut sin6: SOCKADDR_IN6 = unsafe { mem::zeroed() };
            sin6.sin6_family = AF_INET6;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_flowinfo = a.flowinfo();
            sin6.sin6_addr.u.Byte = a.ip().octets();
            sin6.Anonymous.sin6_scope_id = a.scope_id();
            // SAFETY: the socket is open; `sin6` is a valid address of the given size.
            unsafe {
                connect(
                    raw,
                    (&sin6 as *const SOCKADDR_IN6).cast::<SOCKADDR>(),
                    mem::size_of::<SOCKADDR_IN6>() as i32,
                )
            }
        }
    };
    if ret == SOCKET_ERROR {
        let err = last_error();
        if err.raw_os_error() != Some(WSAEWOULDBLOCK) {
            return Err(err);
        }
    }
    Ok(stream)
}

/// A non-blocking listener. `SO_REUSEPORT` does not exist on Windows.
pub(crate) fn tcp_listen(
    addr: &SocketAddr,
    reuse_port: bool,
    _backlog: i32,
) -> io::Result<TcpListener> {
    if reuse_port {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "SO_REUSEPORT is not available on Windows: run one listener, or one process per core",
        ));
    }
    let listener = TcpListener::bind(addr)?;
    set_nonblocking(listener.as_socket())?;
    Ok(listener)
}

/// Accepts one connection as a non-blocking stream.
pub(crate) fn tcp_accept(listener: &TcpListener) -> io::Result<(TcpStream, SocketAddr)> {
    let (stream, addr) = listener.accept()?;
    stream.set_nonblocking(true)?;
    Ok((stream, addr))
}

/// A vectored stream write (Windows has no `SIGPIPE`; std's `WSASend` is enough).
pub(crate) fn send_vectored<S>(stream: &S, bufs: &[IoSlice<'_>]) -> io::Result<usize>
where
    for<'a> &'a S: Write,
{
    let mut s = stream;
    s.write_vectored(bufs)
}

/// Windows' counterpart, `TransmitFile`, completes through overlapped I/O, which this
/// readiness-based reactor does not drive: callers read the file and write it instead.
pub(crate) fn sendfile(
    _socket: BorrowedSocket<'_>,
    _file: &std::fs::File,
    _offset: u64,
    _count: usize,
) -> io::Result<usize> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "sendfile is not available on Windows (TransmitFile needs overlapped I/O): read the \
         file and write it instead",
    ))
}

/// Errors after which `accept` should simply be tried again.
pub(crate) fn is_transient_accept_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}

/// Out of sockets or buffer space: back off rather than retry at once.
pub(crate) fn is_resource_exhausted(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(WSAEMFILE) | Some(WSAENOBUFS))
}
