//! The IOCP backend on real sockets: AFD polls on accept, connect (success and failure),
//! read, write, disconnect and abort; `modify` while a poll is in flight; `delete` and close
//! with a poll in flight (no completion may land in freed memory); more sockets than one AFD
//! helper handle serves; polls submitted by threads that exit; `notify` from other threads;
//! precise timeouts. (Reused socket handles: `handle_reuse.rs`.)
//!
//! Where Wine is known to differ from Windows (see the crate's Windows notes), the tests do
//! the I/O and check its result rather than a hint bit Wine reports late.

#![cfg(windows)]

mod util;

use std::collections::HashSet;
use std::io::{self, ErrorKind, Read, Write};
use std::mem::size_of;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::windows::io::{AsRawSocket, FromRawSocket, RawSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use solo_poll::{Events, Interest, Mode, Poller};
use util::*;
use windows_sys::Win32::Networking::WinSock::{
    AF_INET, FIONBIO, IN_ADDR, IN_ADDR_0, INVALID_SOCKET, IPPROTO_TCP, LINGER, SO_LINGER,
    SOCK_STREAM, SOCKADDR, SOCKADDR_IN, SOCKET_ERROR, SOL_SOCKET, WSA_FLAG_NO_HANDLE_INHERIT,
    WSA_FLAG_OVERLAPPED, WSAEWOULDBLOCK, WSAGetLastError, WSASocketW, connect, ioctlsocket,
    setsockopt,
};

/// Starts a non-blocking connect to `addr` (IPv4), as std cannot: the socket, still
/// connecting.
fn connect_nonblocking(addr: SocketAddr) -> TcpStream {
    let SocketAddr::V4(v4) = addr else {
        panic!("IPv4 only: {addr}")
    };
    // SAFETY: plain arguments, no protocol info; Winsock is initialised (the caller made a
    // std socket before).
    let s = unsafe {
        WSASocketW(
            AF_INET as i32,
            SOCK_STREAM,
            IPPROTO_TCP,
            std::ptr::null(),
            0,
            WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT,
        )
    };
    assert_ne!(
        s,
        INVALID_SOCKET,
        "WSASocketW: {}",
        io::Error::last_os_error()
    );
    // SAFETY: `s` is a new socket that nothing else owns; the stream closes it.
    let stream = unsafe { TcpStream::from_raw_socket(s as RawSocket) };
    stream.set_nonblocking(true).unwrap();
    let mut nonblocking = 1u32;
    // SAFETY: `s` is open; FIONBIO takes a u32 flag (set again here only for clarity of
    // what `connect` below relies on).
    assert_eq!(unsafe { ioctlsocket(s, FIONBIO, &mut nonblocking) }, 0);
    let sin = SOCKADDR_IN {
        sin_family: AF_INET,
        sin_port: v4.port().to_be(),
        sin_addr: IN_ADDR {
            S_un: IN_ADDR_0 {
                S_addr: u32::from_ne_bytes(v4.ip().octets()),
            },
        },
        sin_zero: [0; 8],
    };
    // SAFETY: `sin` is a live SOCKADDR_IN of the size passed.
    let r = unsafe {
        connect(
            s,
            (&sin as *const SOCKADDR_IN).cast::<SOCKADDR>(),
            size_of::<SOCKADDR_IN>() as i32,
        )
    };
    if r == SOCKET_ERROR {
        // SAFETY: no arguments.
        let e = unsafe { WSAGetLastError() };
        assert_eq!(
            e,
            WSAEWOULDBLOCK,
            "connect: {}",
            io::Error::from_raw_os_error(e)
        );
    }
    stream
}

/// Makes closing `s` reset the connection (RST) instead of shutting it down (FIN).
fn set_linger_zero(s: &TcpStream) {
    let l = LINGER {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: `s` is open; `l` is a live LINGER of the size passed.
    let r = unsafe {
        setsockopt(
            s.as_raw_socket() as usize,
            SOL_SOCKET,
            SO_LINGER,
            (&l as *const LINGER).cast(),
            size_of::<LINGER>() as i32,
        )
    };
    assert_eq!(r, 0, "setsockopt: {}", io::Error::last_os_error());
}

/// Whether this runs under Wine (which exports `wine_get_version` from ntdll).
fn under_wine() -> bool {
    use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};
    let name: Vec<u16> = "ntdll.dll\0".encode_utf16().collect();
    // SAFETY: NUL-terminated names; ntdll is always loaded.
    unsafe {
        let ntdll = GetModuleHandleW(name.as_ptr());
        !ntdll.is_null() && GetProcAddress(ntdll, c"wine_get_version".as_ptr().cast()).is_some()
    }
}

#[test]
fn accept_is_readable() {
    let poller = Poller::new().unwrap();
    let mut events = Events::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    poller
        .add(&listener, 1, Interest::READABLE, Mode::Oneshot)
        .unwrap();
    expect_no_events(&poller, &mut events);
    let _c1 = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let _c2 = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    expect_events(&poller, &mut events, &[Want::readable(1)]);
    // Oneshot: silent until re-armed, although two connections wait.
    expect_no_events(&poller, &mut events);
    listener.accept().unwrap();
    poller
        .modify(&listener, 1, Interest::READABLE, Mode::Oneshot)
        .unwrap();
    expect_events(&poller, &mut events, &[Want::readable(1)]);
    listener.accept().unwrap();
    assert_eq!(listener.accept().unwrap_err().kind(), ErrorKind::WouldBlock);
    // Nothing left: a re-armed poll stays pending.
    poller
        .modify(&listener, 1, Interest::READABLE, Mode::Oneshot)
        .unwrap();
    expect_no_events(&poller, &mut events);
    poller.delete(&listener).unwrap();
}

#[test]
fn connect_success_is_writable() {
    let poller = Poller::new().unwrap();
    let mut events = Events::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let stream = connect_nonblocking(listener.local_addr().unwrap());
    poller
        .add(&stream, 1, Interest::WRITABLE, Mode::Oneshot)
        .unwrap();
    let got = expect_events(&poller, &mut events, &[Want::writable(1)]);
    assert!(!got[&1].error, "{:?}", got[&1]);
    assert!(stream.take_error().unwrap().is_none());
    assert_eq!(stream.peer_addr().unwrap(), listener.local_addr().unwrap());
    let (mut server, _) = listener.accept().unwrap();
    (&stream).write_all(b"hi").unwrap();
    let mut two = [0u8; 2];
    server.read_exact(&mut two).unwrap();
    assert_eq!(&two, b"hi");
    poller.delete(&stream).unwrap();
}

#[test]
fn connect_failure_wakes_both_directions() {
    let poller = Poller::new().unwrap();
    let mut events = Events::new();
    // A port nobody listens on (any more): the connection is refused. (Windows retries a
    // refused SYN for about two seconds; well within the hang guard.)
    let addr = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let stream = connect_nonblocking(addr);
    poller
        .add(&stream, 1, Interest::BOTH, Mode::Oneshot)
        .unwrap();
    // Readable or writable or both: whoever waits on either direction learns of it.
    let got = expect_events(
        &poller,
        &mut events,
        &[Want {
            key: 1,
            must: Interest::NONE,
            may: Interest::BOTH,
        }],
    );
    let ev = got[&1];
    // AFD_POLL_CONNECT_FAIL: both directions, with the error hint.
    assert!(ev.readable && ev.writable && ev.error, "{ev:?}");
    // The I/O tells what happened.
    let err = stream
        .take_error()
        .unwrap()
        .expect("a refused connect leaves an error");
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    expect_no_events(&poller, &mut events);
    poller.delete(&stream).unwrap();
}

#[test]
fn read_until_eof_then_the_disconnect_stays_readable() {
    let poller = Poller::new().unwrap();
    let mut events = Events::new();
    let (mut a, mut b) = tcp_pair();
    poller.add(&a, 1, Interest::READABLE, Mode::Level).unwrap();
    expect_no_events(&poller, &mut events);
    b.write_all(b"last words").unwrap();
    drop(b);
    // Wine reports the disconnect only once the data is read: read to the end.
    let mut total = 0;
    loop {
        expect_events(&poller, &mut events, &[Want::readable(1)]);
        let (n, eof) = drain(&mut a);
        total += n;
        if eof {
            break;
        }
    }
    assert_eq!(total, 10);
    // The peer's FIN is a state: level mode keeps reporting it, with the hang-up hint.
    for _ in 0..2 {
        let got = expect_events(&poller, &mut events, &[Want::readable(1)]);
        assert!(got[&1].hangup, "{:?}", got[&1]);
    }
    assert_eq!(drain(&mut a), (0, true));
    poller.delete(&a).unwrap();
}

#[test]
fn disconnect_without_data_is_readable_with_hangup() {
    let poller = Poller::new().unwrap();
    let mut events = Events::new();
    let (mut a, b) = tcp_pair();
    poller
        .add(&a, 1, Interest::READABLE, Mode::Oneshot)
        .unwrap();
    expect_no_events(&poller, &mut events);
    drop(b);
    let got = expect_events(&poller, &mut events, &[Want::readable(1)]);
    assert!(got[&1].hangup, "{:?}", got[&1]);
    assert_eq!(drain(&mut a), (0, true));
    // A half-closed socket can still be written to (the peer's receive side is closed,
    // so the data may be reset, but the local send does not block).
    expect_no_events(&poller, &mut events);
    poller.delete(&a).unwrap();
}

#[test]
fn abort_is_readable_and_the_read_fails() {
    let poller = Poller::new().unwrap();
    let mut events = Events::new();
    let (mut a, b) = tcp_pair();
    poller
        .add(&a, 1, Interest::READABLE, Mode::Oneshot)
        .unwrap();
    set_linger_zero(&b);
    drop(b); // RST
    let got = expect_events(&poller, &mut events, &[Want::readable(1)]);
    // AFD_POLL_ABORT: hang-up and error.
    assert!(got[&1].hangup && got[&1].error, "{:?}", got[&1]);
    let mut buf = [0u8; 16];
    match a.read(&mut buf) {
        Err(e) => assert!(
            matches!(
                e.kind(),
                ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
            ),
            "{e}"
        ),
        // Wine's server takes the socket's pending error while it computes the poll
        // events, so the read finds a plain end of stream.
        Ok(0) if under_wine() => {}
        Ok(n) => panic!("read {n} bytes from a reset connection"),
    }
    poller.delete(&a).unwrap();
}

#[test]
fn write_blocks_when_full_and_is_writable_again_when_drained() {
    let poller = Poller::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (mut a, mut b) = tcp_pair();
    poller.add(&a, 1, Interest::WRITABLE, Mode::Level).unwrap();
    expect_events(&poller, &mut events, &[Want::writable(1)]);
    // Fill the send buffer (and the peer's receive buffer) until WouldBlock.
    let chunk = vec![0x5Au8; 64 * 1024];
    let mut written = 0usize;
    loop {
        match a.write(&chunk) {
            Ok(n) => written += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) => panic!("{e}"),
        }
        assert!(written < 1 << 30, "the send buffer never filled");
    }
    expect_no_events(&poller, &mut events);
    // Drain the peer until the writer has room again.
    let deadline = Instant::now() + HANG_GUARD;
    let mut read = 0;
    loop {
        read += drain(&mut b).0;
        let n = poller
            .wait(&mut events, Some(Duration::from_millis(20)))
            .unwrap();
        if n > 0 {
            assert!(
                events
                    .iter()
                    .all(|e| e.key == 1 && e.writable && !e.readable)
            );
            break;
        }
        assert!(Instant::now() < deadline, "never writable again");
    }
    assert!(read > 0);
    poller.delete(&a).unwrap();
}

#[test]
fn modify_while_a_poll_is_in_flight() {
    let poller = Poller::new().unwrap();
    let mut events = Events::new();
    let (mut a, mut b) = tcp_pair();
    // Nothing to read: the poll stays in flight.
    poller.add(&a, 1, Interest::READABLE, Mode::Level).unwrap();
    expect_no_events(&poller, &mut events);
    // Cancelled and re-submitted for writing: reports at once, under the new key.
    poller
        .modify(&a, 2, Interest::WRITABLE, Mode::Oneshot)
        .unwrap();
    expect_events(&poller, &mut events, &[Want::writable(2)]);
    expect_no_events(&poller, &mut events);
    // Back to reading (nothing there: in flight), then several changes in a row before any
    // wait: only the last one counts.
    poller
        .modify(&a, 3, Interest::READABLE, Mode::Level)
        .unwrap();
    poller
        .modify(&a, 4, Interest::WRITABLE, Mode::Level)
        .unwrap();
    poller.modify(&a, 5, Interest::NONE, Mode::Level).unwrap();
    poller
        .modify(&a, 6, Interest::READABLE, Mode::Oneshot)
        .unwrap();
    expect_no_events(&poller, &mut events);
    b.write_all(b"ping").unwrap();
    expect_events(&poller, &mut events, &[Want::readable(6)]);
    expect_no_events(&poller, &mut events);
    // NONE while in flight: silent even when ready.
    poller
        .modify(&a, 7, Interest::READABLE, Mode::Level)
        .unwrap();
    poller.modify(&a, 7, Interest::NONE, Mode::Level).unwrap();
    expect_no_events(&poller, &mut events);
    assert_eq!(drain(&mut a), (4, false));
    poller.delete(&a).unwrap();
}

#[test]
fn delete_with_a_poll_in_flight_then_close_touches_no_freed_memory() {
    // The classic IOCP use-after-free: a poll is cancelled by `delete`, the socket is
    // closed, and the kernel completes the poll into the block afterwards. The block must
    // still be the poller's. Fresh heap blocks of many sizes, filled with a pattern, would
    // be corrupted if the kernel wrote into memory that had been freed and reused.
    let poller = Poller::new().unwrap();
    let mut events = Events::new();
    let mut canaries: Vec<Vec<u8>> = Vec::new();
    for round in 0..100 {
        let (a, b) = tcp_pair();
        poller
            .add(&a, round, Interest::BOTH, Mode::Oneshot)
            .unwrap();
        poller
            .modify(&a, round, Interest::READABLE, Mode::Oneshot)
            .unwrap(); // cancelled once already
        poller.delete(&a).unwrap();
        drop(a);
        drop(b);
        for size in (16..=256).step_by(8) {
            canaries.push(vec![0xA5; size]);
        }
        // Collect the cancelled polls' packets: nothing is reported.
        assert_eq!(
            poller
                .wait(&mut events, Some(Duration::from_millis(1)))
                .unwrap(),
            0
        );
    }
    expect_no_events(&poller, &mut events);
    for c in &canaries {
        assert!(c.iter().all(|&x| x == 0xA5), "heap memory was overwritten");
    }
    // And a poller dropped with cancelled polls still in flight.
    let (a, _b) = tcp_pair();
    let p2 = Poller::new().unwrap();
    p2.add(&a, 1, Interest::READABLE, Mode::Level).unwrap();
    p2.delete(&a).unwrap();
    drop(a);
    drop(p2);
    for size in (16..=256).step_by(8) {
        canaries.push(vec![0xA5; size]);
    }
    thread::sleep(Duration::from_millis(20));
    for c in &canaries {
        assert!(c.iter().all(|&x| x == 0xA5), "heap memory was overwritten");
    }
}

#[test]
fn more_sockets_than_one_afd_helper_handle_serves() {
    // 300 pairs: 600 sources over 19 helper handles of 32.
    const PAIRS: usize = 300;
    let poller = Poller::new().unwrap();
    let pairs: Vec<_> = (0..PAIRS).map(|_| tcp_pair()).collect();
    let sockets: Vec<&TcpStream> = pairs.iter().flat_map(|(a, b)| [a, b]).collect();
    for (key, s) in sockets.iter().enumerate() {
        poller
            .add(*s, key, Interest::READABLE, Mode::Oneshot)
            .unwrap();
    }
    let mut events = Events::with_capacity(64);
    expect_no_events(&poller, &mut events);
    for s in &sockets {
        let mut s: &TcpStream = s;
        s.write_all(b"x").unwrap();
    }
    let deadline = Instant::now() + HANG_GUARD * 3;
    let mut seen = HashSet::new();
    while seen.len() < sockets.len() {
        assert!(Instant::now() < deadline, "only {} reported", seen.len());
        poller.wait(&mut events, Some(HANG_GUARD)).unwrap();
        for ev in events.iter() {
            assert!(ev.readable && ev.key < sockets.len(), "{ev:?}");
            assert!(seen.insert(ev.key), "key {} twice (oneshot)", ev.key);
        }
    }
    expect_no_events(&poller, &mut events);
    // Level: every one keeps reporting, batch after batch of 64.
    for (key, s) in sockets.iter().enumerate() {
        poller
            .modify(*s, key, Interest::READABLE, Mode::Level)
            .unwrap();
    }
    for _ in 0..2 {
        let mut seen = HashSet::new();
        while seen.len() < sockets.len() {
            assert!(Instant::now() < deadline, "level: only {}", seen.len());
            poller.wait(&mut events, Some(HANG_GUARD)).unwrap();
            seen.extend(events.iter().map(|e| e.key));
        }
    }
    for s in &sockets {
        poller.delete(*s).unwrap();
    }
    expect_no_events(&poller, &mut events);
}

#[test]
fn polls_submitted_by_threads_that_exit_still_report() {
    // Windows has cancelled I/O when the thread that started it exits; whether or not that
    // happens to a poll, the registration must keep working.
    let poller = Arc::new(Poller::new().unwrap());
    let mut events = Events::new();
    let (a, mut b) = tcp_pair();
    let a = Arc::new(a);
    {
        let (p, a) = (Arc::clone(&poller), Arc::clone(&a));
        thread::spawn(move || p.add(&*a, 1, Interest::READABLE, Mode::Oneshot).unwrap())
            .join()
            .unwrap();
    }
    expect_no_events(&poller, &mut events);
    b.write_all(b"1").unwrap();
    expect_events(&poller, &mut events, &[Want::readable(1)]);
    drain(&mut &*a);
    {
        let (p, a) = (Arc::clone(&poller), Arc::clone(&a));
        thread::spawn(move || p.modify(&*a, 2, Interest::READABLE, Mode::Oneshot).unwrap())
            .join()
            .unwrap();
    }
    expect_no_events(&poller, &mut events);
    b.write_all(b"2").unwrap();
    expect_events(&poller, &mut events, &[Want::readable(2)]);
    poller.delete(&*a).unwrap();
}

#[test]
fn notify_from_other_threads_while_polls_complete() {
    // Notifications and AFD completions share the port: neither hides the other.
    let poller = Arc::new(Poller::new().unwrap());
    let (a, b) = tcp_pair();
    poller
        .add(&a, 1, Interest::READABLE, Mode::Oneshot)
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let notifier = {
        let (p, stop) = (Arc::clone(&poller), Arc::clone(&stop));
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                p.notify().unwrap();
                thread::sleep(Duration::from_micros(200));
            }
        })
    };
    let writer = thread::spawn(move || {
        let mut b = b;
        for _ in 0..50 {
            thread::sleep(Duration::from_millis(2));
            b.write_all(b"x").unwrap();
        }
        b
    });
    let mut events = Events::new();
    let mut a = a;
    let mut reads = 0;
    let deadline = Instant::now() + HANG_GUARD;
    while reads < 50 {
        assert!(Instant::now() < deadline, "{reads} of 50 bytes");
        poller.wait(&mut events, Some(HANG_GUARD)).unwrap();
        if events.iter().any(|e| e.key == 1 && e.readable) {
            reads += drain(&mut a).0;
            poller
                .modify(&a, 1, Interest::READABLE, Mode::Oneshot)
                .unwrap();
        }
    }
    stop.store(true, Ordering::Relaxed);
    notifier.join().unwrap();
    let _b = writer.join().unwrap();
    assert_eq!(reads, 50);
    poller.delete(&a).unwrap();
}

#[test]
fn precise_timeouts_are_never_early() {
    let poller = Poller::new().unwrap();
    let mut events = Events::new();
    for (t, n) in [
        (Duration::from_micros(100), 200),
        (Duration::from_micros(3100), 30),
    ] {
        let start = Instant::now();
        for _ in 0..n {
            let s = Instant::now();
            assert_eq!(poller.wait(&mut events, Some(t)).unwrap(), 0);
            let e = s.elapsed();
            assert!(e >= t, "a {t:?} timeout returned after {e:?}");
        }
        assert!(start.elapsed() >= t * n);
    }
}
