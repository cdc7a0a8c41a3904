//! Helpers shared by the integration tests: event expectations that check both what must
//! come and that nothing else does, and non-blocking socket/pipe pairs.

// Each test file uses a different subset.
#![allow(dead_code)]

use std::collections::HashMap;
#[cfg(unix)]
use std::fs::File;
#[cfg(unix)]
use std::io;
use std::io::{ErrorKind, Read};
use std::net::{TcpListener, TcpStream, UdpSocket};
#[cfg(unix)]
use std::os::fd::{FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use solo_poll::{Event, Events, Interest, Poller};

/// How long a test waits for an event that must come before it fails (not a timing
/// assertion: only a guard against hangs on a busy machine).
pub const HANG_GUARD: Duration = Duration::from_secs(10);

/// How long `expect_no_events` watches for an event that must not come.
pub const QUIET: Duration = Duration::from_millis(60);

/// One expected source: the directions that must be reported, and those that may be.
#[derive(Clone, Copy, Debug)]
pub struct Want {
    pub key: usize,
    pub must: Interest,
    pub may: Interest,
}

impl Want {
    pub fn readable(key: usize) -> Want {
        Want {
            key,
            must: Interest::READABLE,
            may: Interest::READABLE,
        }
    }

    pub fn writable(key: usize) -> Want {
        Want {
            key,
            must: Interest::WRITABLE,
            may: Interest::WRITABLE,
        }
    }

    pub fn both(key: usize) -> Want {
        Want {
            key,
            must: Interest::BOTH,
            may: Interest::BOTH,
        }
    }

    /// Also accept the other direction (epoll attaches hang-ups and errors to both).
    pub fn or_any(self) -> Want {
        Want {
            may: Interest::BOTH,
            ..self
        }
    }
}

fn has(i: Interest, readable: bool, writable: bool) -> bool {
    (!i.is_readable() || readable) && (!i.is_writable() || writable)
}

/// Waits until every wanted source has reported its `must` directions, failing on any
/// event for another key or for a direction outside `may`. Returns the union per key.
pub fn expect_events(poller: &Poller, events: &mut Events, want: &[Want]) -> HashMap<usize, Event> {
    let deadline = Instant::now() + HANG_GUARD;
    let mut seen: HashMap<usize, Event> = HashMap::new();
    loop {
        let done = want.iter().all(|w| {
            seen.get(&w.key)
                .is_some_and(|e| has(w.must, e.readable, e.writable))
        });
        if done {
            return seen;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "timed out waiting for {want:?}; saw {seen:?}"
        );
        poller.wait(events, Some(left)).expect("wait");
        for ev in events.iter() {
            let Some(w) = want.iter().find(|w| w.key == ev.key) else {
                panic!("unexpected event {ev:?} (wanted {want:?})");
            };
            assert!(
                ev.readable || ev.writable,
                "an event with no direction: {ev:?}"
            );
            assert!(
                !ev.readable || w.may.is_readable(),
                "unexpected readable in {ev:?} (wanted {w:?})"
            );
            assert!(
                !ev.writable || w.may.is_writable(),
                "unexpected writable in {ev:?} (wanted {w:?})"
            );
            let e = seen.entry(ev.key).or_insert(Event {
                key: ev.key,
                ..NO_EVENT
            });
            e.readable |= ev.readable;
            e.writable |= ev.writable;
            e.hangup |= ev.hangup;
            e.error |= ev.error;
        }
    }
}

const NO_EVENT: Event = Event {
    key: 0,
    readable: false,
    writable: false,
    hangup: false,
    error: false,
};

/// Asserts that no event arrives for [`QUIET`] (waiting again after early wake-ups).
pub fn expect_no_events(poller: &Poller, events: &mut Events) {
    let end = Instant::now() + QUIET;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        let n = poller.wait(events, Some(left)).expect("wait");
        assert_eq!(n, 0, "unexpected events: {events:?}");
    }
}

/// A connected pair of non-blocking loopback TCP streams.
pub fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (b, _) = listener.accept().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    a.set_nodelay(true).unwrap();
    b.set_nodelay(true).unwrap();
    (a, b)
}

/// A pair of non-blocking loopback UDP sockets, each connected to the other.
pub fn udp_pair() -> (UdpSocket, UdpSocket) {
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    a.connect(b.local_addr().unwrap()).unwrap();
    b.connect(a.local_addr().unwrap()).unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

/// The cheapest connected stream socket of the OS: a Unix socket pair, or loopback TCP
/// on Windows.
#[cfg(unix)]
pub type Stream = std::os::unix::net::UnixStream;
/// The cheapest connected stream socket of the OS: a Unix socket pair, or loopback TCP
/// on Windows.
#[cfg(windows)]
pub type Stream = TcpStream;

/// A connected pair of [`Stream`]s (blocking on Unix, as `UnixStream::pair` makes them;
/// non-blocking on Windows, as `tcp_pair` makes them).
pub fn stream_pair() -> (Stream, Stream) {
    #[cfg(unix)]
    return Stream::pair().unwrap();
    #[cfg(windows)]
    return tcp_pair();
}

/// A non-blocking, close-on-exec pipe: `(read end, write end)`.
#[cfg(unix)]
pub fn pipe() -> (File, File) {
    let mut fds = [-1; 2];
    // SAFETY: `fds` is valid for writes of two ints.
    let r = unsafe { libc::pipe(fds.as_mut_ptr()) };
    assert_eq!(r, 0, "pipe: {}", io::Error::last_os_error());
    for fd in fds {
        // SAFETY: `fd` is open; these fcntl commands take an int.
        unsafe {
            assert_ne!(libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC), -1);
            let flags = libc::fcntl(fd, libc::F_GETFL);
            assert_ne!(libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK), -1);
        }
    }
    // SAFETY: both descriptors are new and owned by nothing else.
    unsafe {
        (
            File::from(OwnedFd::from_raw_fd(fds[0])),
            File::from(OwnedFd::from_raw_fd(fds[1])),
        )
    }
}

/// Reads until `WouldBlock` or end of stream: `(bytes read, reached EOF)`.
pub fn drain(r: &mut impl Read) -> (usize, bool) {
    let mut buf = [0u8; 64 * 1024];
    let mut total = 0;
    loop {
        match r.read(&mut buf) {
            Ok(0) => return (total, true),
            Ok(n) => total += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return (total, false),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => panic!("read: {e}"),
        }
    }
}

/// Raises the soft descriptor limit to the hard one; returns the new soft limit.
///
/// A copy of `solo::raise_fd_limit`, the workspace's one home for it, kept because
/// solo-poll's tests cannot depend on solo (which depends on solo-poll).
#[cfg(unix)]
pub fn raise_fd_limit() -> libc::rlim_t {
    // SAFETY: `rlimit` is plain integers; all-zero is a valid value.
    let mut lim: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: `lim` is valid for writes of one rlimit.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    if lim.rlim_cur < lim.rlim_max {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: `lim` is a live rlimit; raising the soft limit up to the hard one is
        // always allowed.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
    }
    lim.rlim_cur
}
