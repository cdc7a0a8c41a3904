//! The servers `cargo xtask bench` measures solo against, and the few pieces they share.
//!
//! Six binaries live in this package, each serving either a minimal HTTP/1.1 plaintext
//! response or a TCP echo on one thread:
//!
//! - `solo-min`: solo (`solo::block_on`, `solo::spawn`, `solo::net`), a task per
//!   connection: the application code of the peers below on solo, beside the demo server.
//! - `peer-tokio`: tokio's `current_thread` runtime, a task per connection; it also serves
//!   solo-server's chat (`--mode chat`, Server-Sent Events, see [`chat`]).
//! - `peer-smol`: async-executor's `LocalExecutor` and async-io's `Async<TcpListener>`.
//! - `peer-monoio`: monoio on its io_uring driver, a task per connection (Linux only).
//! - `peer-epoll`: a raw edge-triggered epoll loop with no runtime (Linux only), the
//!   near-the-metal reference of readiness.
//! - `peer-uring`: a raw io_uring loop with no runtime (Linux only): multishot accept and
//!   receive, a provided-buffer ring, batched sends; the reference of completions.
//!
//! The `hyper` family runs one hyper 1.x service ([`hyper_hello`]) on two runtimes:
//! `solo-hyper` (solo, through `solo::hyper`) and `peer-tokio --mode hyper` (tokio's
//! `current_thread`, through hyper-util's `TokioIo` and `TokioTimer`).
//!
//! Each takes `--mode http|echo --addr HOST:PORT` (`peer-tokio` also `--mode chat`). So that the comparison is fair they
//! share everything that is not the runtime: the argument parser ([`Args`]), the listener
//! (a 1,024-deep backlog, [`bind_listener`]), and the HTTP handling ([`serve_http`]): every
//! complete request in the buffer is parsed with `httparse` and answered in order, and the
//! answers are appended to one output buffer so that a pipelined batch goes out in one write.
//!
//! ```
//! let mut out = Vec::new();
//! let input = b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\nGET /plaintext HTTP/1.1\r\n";
//! // One complete request is answered; the partial second one is left for later.
//! let used = solo_bench_peers::serve_http(input, &mut out).unwrap();
//! assert_eq!(used, 36);
//! assert!(out.starts_with(solo_bench_peers::HELLO_HEAD));
//! assert!(out.ends_with(solo_bench_peers::HELLO_TAIL));
//! assert_eq!(out.len(), 129);
//! ```

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener};

pub mod chat;
pub mod hyper_hello;

/// The path that answers `Hello, World!`; every other path gets a 404.
pub const PLAINTEXT_PATH: &str = "/plaintext";

/// The response to `GET /plaintext` up to the `Date` value: the same headers, byte for
/// byte in length, as `solo-server`'s (`Server: solo`), so every server sends the same
/// 129 bytes.
pub const HELLO_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nServer: peer\r\nDate: ";

/// The rest of the `GET /plaintext` response after the `Date` value: 13 bytes of body.
pub const HELLO_TAIL: &[u8] =
    b"\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";

/// Appends the `GET /plaintext` response with `date` (an IMF-fixdate, RFC 9110) to `out`.
pub fn hello_response(date: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(HELLO_HEAD);
    out.extend_from_slice(date);
    out.extend_from_slice(HELLO_TAIL);
}

/// The response to any other path.
pub const NOT_FOUND_RESPONSE: &[u8] =
    b"HTTP/1.1 404 Not Found\r\nServer: peer\r\nContent-Length: 0\r\n\r\n";

/// The largest request (headers plus body) a peer accepts; a connection whose unparsed
/// bytes grow past it is closed.
pub const MAX_REQUEST: usize = 64 * 1024;

/// The listen backlog of every peer (the kernel caps it at `net.core.somaxconn`).
pub const BACKLOG: i32 = 1024;

/// What a peer serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Minimal HTTP/1.1 with keep-alive and pipelining.
    Http,
    /// A TCP echo: every byte read is written back.
    Echo,
    /// solo-server's chat: `GET /chat/events` and `POST /chat/send` (see [`chat`]).
    Chat,
    /// The same plaintext as `http`, served by hyper 1.x (see [`hyper_hello`]).
    Hyper,
}

/// The command line every peer takes: `--mode http|echo|chat|hyper --addr HOST:PORT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Args {
    /// What to serve.
    pub mode: Mode,
    /// Where to listen.
    pub addr: SocketAddr,
}

impl Args {
    /// Parses the arguments after the program name.
    ///
    /// ```
    /// use solo_bench_peers::{Args, Mode};
    /// let a = Args::parse(["--mode", "echo", "--addr", "127.0.0.1:9000"].map(String::from)).unwrap();
    /// assert_eq!(a.mode, Mode::Echo);
    /// assert!(Args::parse(["--mode", "ftp"].map(String::from)).is_err());
    /// ```
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
        let mut mode = None;
        let mut addr = None;
        let mut it = args.into_iter();
        while let Some(flag) = it.next() {
            let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--mode" => {
                    mode = Some(match value()?.as_str() {
                        "http" => Mode::Http,
                        "echo" => Mode::Echo,
                        "chat" => Mode::Chat,
                        "hyper" => Mode::Hyper,
                        other => {
                            return Err(format!(
                                "unknown mode {other:?} (http, echo, chat or hyper)"
                            ));
                        }
                    })
                }
                "--addr" => {
                    let v = value()?;
                    addr = Some(v.parse().map_err(|e| format!("bad address {v:?}: {e}"))?);
                }
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(Args {
            mode: mode.ok_or("missing --mode http|echo|chat|hyper")?,
            addr: addr.ok_or("missing --addr HOST:PORT")?,
        })
    }

    /// Parses the process's arguments, or prints the problem and a usage line and exits
    /// with status 2.
    pub fn from_env_or_exit(program: &str) -> Args {
        Args::parse(std::env::args().skip(1)).unwrap_or_else(|e| {
            eprintln!(
                "{program}: {e}\nusage: {program} --mode http|echo|chat|hyper --addr HOST:PORT"
            );
            std::process::exit(2)
        })
    }

    /// Exits with status 2 and a message if the mode is not one of `served`.
    pub fn serve_only_or_exit(&self, program: &str, served: &[Mode]) {
        if !served.contains(&self.mode) {
            let mode = format!("{:?}", self.mode).to_lowercase();
            eprintln!("{program}: --mode {mode} is not served here");
            std::process::exit(2)
        }
    }
}

/// A request the peers refuse; the connection is closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// `httparse` rejected the bytes.
    Parse(httparse::Error),
    /// A `Content-Length` header that is not a number.
    BadContentLength,
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Parse(e) => write!(f, "malformed request: {e}"),
            HttpError::BadContentLength => f.write_str("malformed request: bad Content-Length"),
        }
    }
}

impl std::error::Error for HttpError {}

/// Answers every complete request at the start of `input`, in order, appending the
/// responses to `out`; returns how many bytes of `input` those requests used. Bytes of an
/// incomplete request are left (the caller keeps them and calls again with more).
///
/// A request body announced by `Content-Length` is skipped. Returns an error on a
/// malformed request; the caller should close the connection (responses already in `out`
/// may still be sent).
pub fn serve_http(input: &[u8], out: &mut Vec<u8>) -> Result<usize, HttpError> {
    // An origin server with a clock must send `Date` (RFC 9110); the same per-second cache
    // solo-server uses, so that every server pays the same for it.
    let date = solo_server::http::date::now();
    let mut used = 0;
    while used < input.len() {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut headers);
        let head = match req.parse(&input[used..]).map_err(HttpError::Parse)? {
            httparse::Status::Complete(n) => n,
            httparse::Status::Partial => break,
        };
        let mut body = 0usize;
        for h in req.headers.iter() {
            if h.name.eq_ignore_ascii_case("content-length") {
                body = std::str::from_utf8(h.value)
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .ok_or(HttpError::BadContentLength)?;
            }
        }
        if input.len() - used - head < body {
            break;
        }
        if req.path == Some(PLAINTEXT_PATH) {
            hello_response(date.as_bytes(), out);
        } else {
            out.extend_from_slice(NOT_FOUND_RESPONSE);
        }
        used += head + body;
    }
    Ok(used)
}

/// Binds a non-blocking TCP listener on `addr` with `SO_REUSEADDR` and a backlog of
/// [`BACKLOG`] (the standard library's `TcpListener::bind` uses 128, which a burst of
/// thousands of connects overflows).
pub fn bind_listener(addr: SocketAddr) -> io::Result<TcpListener> {
    sys::bind_listener(addr)
}

/// Raises this process's soft limit on open descriptors to its hard limit, so that a
/// peer can hold as many connections as the machine allows. Returns the new soft limit.
pub fn raise_fd_limit() -> io::Result<u64> {
    solo::raise_fd_limit()
}

/// Whether an `accept` error means "out of descriptors or memory, try again later"
/// (as opposed to a connection that died in the backlog, which is simply skipped).
pub fn accept_error_is_resource(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Turns the `-1`-and-`errno` convention of a system call into an `io::Result` (for this
/// crate's binaries too). The xtask has its own (`xtask/src/sys.rs`): it runs these servers
/// as programs and does not link this crate.
pub fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

mod sys {
    use std::io;
    use std::mem;
    use std::net::{SocketAddr, TcpListener};
    use std::os::fd::{FromRawFd, OwnedFd};

    use super::cvt;

    pub(crate) fn bind_listener(addr: SocketAddr) -> io::Result<TcpListener> {
        let family = if addr.is_ipv4() {
            libc::AF_INET
        } else {
            libc::AF_INET6
        };
        // SAFETY: socket(2) takes no pointers; a negative result is turned into an error.
        let fd = cvt(unsafe {
            libc::socket(
                family,
                libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        })?;
        // SAFETY: `fd` was just returned by socket(2) and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let one: libc::c_int = 1;
        use std::os::fd::AsRawFd;
        // SAFETY: the option value points to a live c_int and its size is passed with it.
        cvt(unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_REUSEADDR,
                (&raw const one).cast(),
                mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        })?;
        // SAFETY: sockaddr_storage is plain data for which all-zero bytes are valid.
        let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
        let len = match addr {
            SocketAddr::V4(a) => {
                // SAFETY: sockaddr_storage is large and aligned enough for any sockaddr.
                let sin = unsafe { &mut *(&raw mut storage).cast::<libc::sockaddr_in>() };
                sin.sin_family = libc::AF_INET as libc::sa_family_t;
                sin.sin_port = a.port().to_be();
                sin.sin_addr.s_addr = u32::from(*a.ip()).to_be();
                mem::size_of::<libc::sockaddr_in>()
            }
            SocketAddr::V6(a) => {
                // SAFETY: sockaddr_storage is large and aligned enough for any sockaddr.
                let sin6 = unsafe { &mut *(&raw mut storage).cast::<libc::sockaddr_in6>() };
                sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                sin6.sin6_port = a.port().to_be();
                sin6.sin6_addr.s6_addr = a.ip().octets();
                sin6.sin6_scope_id = a.scope_id();
                mem::size_of::<libc::sockaddr_in6>()
            }
        };
        // SAFETY: `storage` holds an initialised address of `len` bytes.
        cvt(unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&raw const storage).cast(),
                len as libc::socklen_t,
            )
        })?;
        // SAFETY: listen(2) takes no pointers.
        cvt(unsafe { libc::listen(fd.as_raw_fd(), super::BACKLOG) })?;
        Ok(TcpListener::from(fd))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GET: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

    #[test]
    fn answers_every_complete_request_in_order() {
        let mut input = Vec::new();
        for _ in 0..16 {
            input.extend_from_slice(GET);
        }
        input.extend_from_slice(b"GET /other HTTP/1.1\r\n\r\n");
        input.extend_from_slice(&GET[..10]);
        let mut out = Vec::new();
        let used = serve_http(&input, &mut out).unwrap();
        assert_eq!(used, input.len() - 10);
        let date = &out[HELLO_HEAD.len()..HELLO_HEAD.len() + 29].to_vec();
        let mut expected = Vec::new();
        for _ in 0..16 {
            hello_response(date, &mut expected);
        }
        expected.extend_from_slice(NOT_FOUND_RESPONSE);
        assert_eq!(out, expected);
    }

    #[test]
    fn waits_for_a_whole_body_and_skips_it() {
        let req = b"POST /plaintext HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
        let mut out = Vec::new();
        assert_eq!(serve_http(&req[..req.len() - 1], &mut out).unwrap(), 0);
        assert!(out.is_empty());
        assert_eq!(serve_http(req, &mut out).unwrap(), req.len());
        assert!(out.starts_with(HELLO_HEAD) && out.ends_with(HELLO_TAIL));
        assert_eq!(out.len(), 129);
    }

    #[test]
    fn rejects_garbage_and_bad_lengths() {
        let mut out = Vec::new();
        assert!(matches!(
            serve_http(b"\x01\x02 nonsense\r\n\r\n", &mut out),
            Err(HttpError::Parse(_))
        ));
        assert_eq!(
            serve_http(b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n", &mut out),
            Err(HttpError::BadContentLength)
        );
        assert!(out.is_empty());
    }

    #[test]
    fn parses_arguments() {
        let a = Args::parse(["--addr", "127.0.0.1:1", "--mode", "http"].map(String::from)).unwrap();
        assert_eq!(
            a,
            Args {
                mode: Mode::Http,
                addr: "127.0.0.1:1".parse().unwrap()
            }
        );
        assert!(
            Args::parse(["--mode", "http"].map(String::from))
                .unwrap_err()
                .contains("--addr")
        );
        assert!(
            Args::parse(["--addr"].map(String::from))
                .unwrap_err()
                .contains("needs a value")
        );
        assert!(
            Args::parse(["--x"].map(String::from))
                .unwrap_err()
                .contains("unknown")
        );
    }

    #[test]
    fn binds_a_listener_with_a_deep_backlog() {
        let l = bind_listener("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = l.local_addr().unwrap();
        let streams: Vec<_> = (0..200)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        assert_eq!(streams.len(), 200);
        assert!(raise_fd_limit().unwrap() > 0);
    }
}
