//! Readiness on real sockets and pipes, mode by mode, with `expect_events` /
//! `expect_no_events` after every step.

mod util;

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::thread;

use solo_poll::{Events, Interest, Mode, Poller};
use util::*;

/// The modes this backend supports.
fn modes(poller: &Poller) -> Vec<Mode> {
    let mut m = vec![Mode::Oneshot, Mode::Level];
    if poller.supports_edge() {
        m.push(Mode::Edge);
    }
    m
}

#[test]
fn tcp_readable_and_writable() {
    let poller = Poller::new().unwrap();
    let mut events = Events::new();
    let (mut a, mut b) = tcp_pair();
    poller.add(&a, 1, Interest::BOTH, Mode::Level).unwrap();
    // Connected, nothing sent: writable only.
    expect_events(&poller, &mut events, &[Want::writable(1)]);
    b.write_all(b"hello").unwrap();
    expect_events(&poller, &mut events, &[Want::both(1)]);
    assert_eq!(drain(&mut a), (5, false));
    expect_events(&poller, &mut events, &[Want::writable(1)]);
    poller
        .modify(&a, 1, Interest::READABLE, Mode::Level)
        .unwrap();
    expect_no_events(&poller, &mut events);
    poller.delete(&a).unwrap();
    let _ = &mut b;
}

#[test]
fn tcp_listener_reports_a_pending_connection() {
    let poller = Poller::new().unwrap();
    let mut events = Events::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    poller
        .add(&listener, 9, Interest::READABLE, Mode::Oneshot)
        .unwrap();
    expect_no_events(&poller, &mut events);
    let _client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    expect_events(&poller, &mut events, &[Want::readable(9)]);
    expect_no_events(&poller, &mut events);
    listener.accept().unwrap();
    poller.delete(&listener).unwrap();
}

#[cfg(unix)]
#[test]
fn pipes_readable_and_writable() {
    let poller = Poller::new().unwrap();
    let mut events = Events::new();
    let (mut r, mut w) = pipe();
    poller.add(&r, 1, Interest::READABLE, Mode::Level).unwrap();
    poller.add(&w, 2, Interest::WRITABLE, Mode::Level).unwrap();
    expect_events(&poller, &mut events, &[Want::writable(2)]);
    w.write_all(b"abc").unwrap();
    expect_events(
        &poller,
        &mut events,
        &[Want::readable(1), Want::writable(2)],
    );
    assert_eq!(drain(&mut r), (3, false));
    // Fill the pipe: the writer stops being writable.
    let chunk = [7u8; 4096];
    let mut written = 0;
    loop {
        match w.write(&chunk) {
            Ok(n) => written += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) => panic!("{e}"),
        }
    }
    expect_events(&poller, &mut events, &[Want::readable(1)]);
    poller.delete(&r).unwrap();
    expect_no_events(&poller, &mut events);
    assert_eq!(drain(&mut r), (written, false));
    expect_events(&poller, &mut events, &[Want::writable(2)]);
    poller.delete(&w).unwrap();
    // The writer closes: the reader sees a hang-up (as readable) and reads end of file.
    poller
        .add(&r, 1, Interest::READABLE, Mode::Oneshot)
        .unwrap();
    expect_no_events(&poller, &mut events);
    drop(w);
    // epoll attaches EPOLLHUP to both directions (a documented spurious event).
    expect_events(&poller, &mut events, &[Want::readable(1).or_any()]);
    expect_no_events(&poller, &mut events);
    assert_eq!(drain(&mut r), (0, true));
    poller.delete(&r).unwrap();
}

#[test]
fn udp_readable_and_writable() {
    let poller = Poller::new().unwrap();
    let mut events = Events::new();
    let (a, b) = udp_pair();
    poller.add(&a, 1, Interest::BOTH, Mode::Oneshot).unwrap();
    expect_events(&poller, &mut events, &[Want::writable(1)]);
    expect_no_events(&poller, &mut events);
    b.send(b"datagram").unwrap();
    poller
        .modify(&a, 1, Interest::READABLE, Mode::Oneshot)
        .unwrap();
    expect_events(&poller, &mut events, &[Want::readable(1)]);
    let mut buf = [0u8; 64];
    assert_eq!(a.recv(&mut buf).unwrap(), 8);
    assert_eq!(a.recv(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
    poller
        .modify(&a, 1, Interest::READABLE, Mode::Oneshot)
        .unwrap();
    expect_no_events(&poller, &mut events);
    poller.delete(&a).unwrap();
}

#[test]
fn oneshot_fires_once_until_rearmed() {
    let poller = Poller::new().unwrap();
    let mut events = Events::new();
    let (mut a, mut b) = tcp_pair();
    poller
        .add(&a, 1, Interest::READABLE, Mode::Oneshot)
        .unwrap();
    expect_no_events(&poller, &mut events);
    b.write_all(b"0123456789").unwrap();
    expect_events(&poller, &mut events, &[Want::readable(1)]);
    // Data still unread, more arrives: silent until re-armed.
    expect_no_events(&poller, &mut events);
    b.write_all(b"more").unwrap();
    expect_no_events(&poller, &mut events);
    // Re-arm after a partial read: still readable, so it reports again.
    let mut two = [0u8; 2];
    a.read_exact(&mut two).unwrap();
    poller
        .modify(&a, 1, Interest::READABLE, Mode::Oneshot)
        .unwrap();
    expect_events(&poller, &mut events, &[Want::readable(1)]);
    expect_no_events(&poller, &mut events);
    // Drained and re-armed: nothing until new data.
    assert_eq!(drain(&mut a), (12, false));
    poller
        .modify(&a, 1, Interest::READABLE, Mode::Oneshot)
        .unwrap();
    expect_no_events(&poller, &mut events);
    b.write_all(b"x").unwrap();
    expect_events(&poller, &mut events, &[Want::readable(1)]);
    expect_no_events(&poller, &mut events);
    // With both directions: one event per arming, not one per direction.
    poller.modify(&a, 1, Interest::BOTH, Mode::Oneshot).unwrap();
    expect_events(&poller, &mut events, &[Want::writable(1).or_any()]);
    expect_no_events(&poller, &mut events);
    poller.delete(&a).unwrap();
}

#[test]
fn level_keeps_firing_while_data_is_unread() {
    let poller = Poller::new().unwrap();
    let mut events = Events::new();
    let (mut a, mut b) = tcp_pair();
    poller.add(&a, 1, Interest::READABLE, Mode::Level).unwrap();
    expect_no_events(&poller, &mut events);
    b.write_all(b"abc").unwrap();
    for _ in 0..3 {
        expect_events(&poller, &mut events, &[Want::readable(1)]);
    }
    // A partial read leaves it readable.
    let mut one = [0u8; 1];
    a.read_exact(&mut one).unwrap();
    expect_events(&poller, &mut events, &[Want::readable(1)]);
    assert_eq!(drain(&mut a), (2, false));
    expect_no_events(&poller, &mut events);
    poller.delete(&a).unwrap();
}

#[test]
fn edge_fires_once_per_arrival() {
    let poller = Poller::new().unwrap();
    let mut events = Events::new();
    let (mut a, mut b) = tcp_pair();
    if !poller.supports_edge() {
        let err = poller
            .add(&a, 1, Interest::READABLE, Mode::Edge)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        return;
    }
    poller.add(&a, 1, Interest::READABLE, Mode::Edge).unwrap();
    expect_no_events(&poller, &mut events);
    b.write_all(b"1").unwrap();
    expect_events(&poller, &mut events, &[Want::readable(1)]);
    // Unread, but no new arrival: silent.
    expect_no_events(&poller, &mut events);
    // A new arrival is a new edge.
    b.write_all(b"22").unwrap();
    expect_events(&poller, &mut events, &[Want::readable(1)]);
    // A partial read is not an edge...
    let mut one = [0u8; 1];
    a.read_exact(&mut one).unwrap();
    expect_no_events(&poller, &mut events);
    // ...the next arrival is.
    b.write_all(b"333").unwrap();
    expect_events(&poller, &mut events, &[Want::readable(1)]);
    expect_no_events(&poller, &mut events);
    // `modify` re-arms: still readable, so it reports at once.
    poller
        .modify(&a, 1, Interest::READABLE, Mode::Edge)
        .unwrap();
    expect_events(&poller, &mut events, &[Want::readable(1)]);
    expect_no_events(&poller, &mut events);
    assert_eq!(drain(&mut a), (5, false));
    expect_no_events(&poller, &mut events);
    poller.delete(&a).unwrap();
}

#[test]
fn edge_with_both_directions_does_not_repeat() {
    // The reactor's registration: BOTH + Edge, once per socket.
    let poller = Poller::new().unwrap();
    if !poller.supports_edge() {
        return; // poll(2) has no edge mode; `edge_fires_once_per_arrival` checks the error.
    }
    let mut events = Events::new();
    let (mut a, mut b) = tcp_pair();
    poller.add(&a, 1, Interest::BOTH, Mode::Edge).unwrap();
    expect_events(&poller, &mut events, &[Want::writable(1)]);
    expect_no_events(&poller, &mut events);
    b.write_all(b"ping").unwrap();
    expect_events(&poller, &mut events, &[Want::readable(1).or_any()]);
    expect_no_events(&poller, &mut events);
    assert_eq!(drain(&mut a), (4, false));
    a.write_all(b"pong").unwrap();
    expect_no_events(&poller, &mut events);
    assert_eq!(drain(&mut b), (4, false));
    poller.delete(&a).unwrap();
}

#[test]
fn modify_changes_interest_key_and_mode() {
    let poller = Poller::new().unwrap();
    let mut events = Events::new();
    let (mut a, mut b) = tcp_pair();
    poller.add(&a, 1, Interest::READABLE, Mode::Level).unwrap();
    expect_no_events(&poller, &mut events);
    poller
        .modify(&a, 1, Interest::WRITABLE, Mode::Level)
        .unwrap();
    expect_events(&poller, &mut events, &[Want::writable(1)]);
    b.write_all(b"z").unwrap();
    poller.modify(&a, 1, Interest::BOTH, Mode::Level).unwrap();
    expect_events(&poller, &mut events, &[Want::both(1)]);
    // A new key: events come under it, never the old one.
    poller
        .modify(&a, 7, Interest::READABLE, Mode::Level)
        .unwrap();
    expect_events(&poller, &mut events, &[Want::readable(7)]);
    // NONE: registered but silent (delete still works, add still refuses).
    poller.modify(&a, 7, Interest::NONE, Mode::Level).unwrap();
    expect_no_events(&poller, &mut events);
    assert_eq!(
        poller
            .add(&a, 7, Interest::READABLE, Mode::Level)
            .unwrap_err()
            .kind(),
        ErrorKind::AlreadyExists
    );
    // Level to oneshot.
    poller
        .modify(&a, 8, Interest::READABLE, Mode::Oneshot)
        .unwrap();
    expect_events(&poller, &mut events, &[Want::readable(8)]);
    expect_no_events(&poller, &mut events);
    assert_eq!(drain(&mut a), (1, false));
    poller.delete(&a).unwrap();
}

#[test]
fn delete_stops_events() {
    let poller = Poller::new().unwrap();
    let mut events = Events::new();
    let (a, mut b) = tcp_pair();
    poller.add(&a, 1, Interest::READABLE, Mode::Level).unwrap();
    b.write_all(b"data").unwrap();
    expect_events(&poller, &mut events, &[Want::readable(1)]);
    poller.delete(&a).unwrap();
    expect_no_events(&poller, &mut events);
    b.write_all(b"more").unwrap();
    expect_no_events(&poller, &mut events);
    // It can be added again.
    poller.add(&a, 2, Interest::READABLE, Mode::Level).unwrap();
    expect_events(&poller, &mut events, &[Want::readable(2)]);
    poller.delete(&a).unwrap();
}

#[test]
fn error_kinds_are_the_same_everywhere() {
    let poller = Poller::new().unwrap();
    let (a, b) = tcp_pair();
    // Reserved key.
    for mode in [Mode::Oneshot, Mode::Level] {
        let e = poller
            .add(&a, usize::MAX, Interest::READABLE, mode)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains("reserved"), "{e}");
    }
    // The failed add registered nothing.
    assert_eq!(poller.delete(&a).unwrap_err().kind(), ErrorKind::NotFound);
    // Unknown source.
    let e = poller
        .modify(&a, 1, Interest::READABLE, Mode::Level)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.to_string().contains("not registered"), "{e}");
    // Twice.
    poller.add(&a, 1, Interest::READABLE, Mode::Level).unwrap();
    let e = poller
        .add(&a, 2, Interest::WRITABLE, Mode::Oneshot)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    assert!(e.to_string().contains("already registered"), "{e}");
    assert_eq!(
        poller
            .modify(&a, usize::MAX, Interest::READABLE, Mode::Level)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    poller.delete(&a).unwrap();
    assert_eq!(poller.delete(&a).unwrap_err().kind(), ErrorKind::NotFound);
    // Edge where it is missing.
    let edge = poller.add(&b, 3, Interest::READABLE, Mode::Edge);
    if poller.supports_edge() {
        edge.unwrap();
        poller.delete(&b).unwrap();
    } else {
        let e = edge.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert!(e.to_string().contains(poller.backend()), "{e}");
        // And nothing was registered.
        assert_eq!(poller.delete(&b).unwrap_err().kind(), ErrorKind::NotFound);
    }
    assert!(poller.supports_level());
    assert!(["epoll", "kqueue", "poll", "iocp"].contains(&poller.backend()));
}

#[test]
fn backend_matches_the_build() {
    let poller = Poller::new().unwrap();
    #[cfg(solo_poll_force_poll)]
    assert_eq!(poller.backend(), "poll");
    #[cfg(all(
        not(solo_poll_force_poll),
        any(target_os = "linux", target_os = "android")
    ))]
    assert_eq!(poller.backend(), "epoll");
    #[cfg(windows)]
    assert_eq!(poller.backend(), "iocp");
    // poll(2) and AFD polls report states, not changes: no edge mode.
    assert_eq!(
        poller.supports_edge(),
        !matches!(poller.backend(), "poll" | "iocp")
    );
}

#[test]
fn peer_writes_then_closes_all_bytes_before_eof() {
    const N: usize = 1 << 20;
    let probe = Poller::new().unwrap();
    for mode in modes(&probe) {
        let poller = Poller::new().unwrap();
        let mut events = Events::with_capacity(8);
        let (mut a, b) = tcp_pair();
        poller.add(&a, 1, Interest::READABLE, mode).unwrap();
        let writer = thread::spawn(move || {
            let mut b = b;
            b.set_nonblocking(false).unwrap();
            b.write_all(&vec![0xAB; N]).unwrap();
            // Dropping closes: FIN after the data.
        });
        let mut total = 0;
        loop {
            expect_events(&poller, &mut events, &[Want::readable(1)]);
            let (n, eof) = drain(&mut a);
            total += n;
            if eof {
                break;
            }
            if mode == Mode::Oneshot {
                poller
                    .modify(&a, 1, Interest::READABLE, Mode::Oneshot)
                    .unwrap();
            }
        }
        writer.join().unwrap();
        assert_eq!(total, N, "{mode:?}: bytes lost before EOF");
        // After EOF the source stays readable (level, re-armed oneshot), and Linux reports
        // the peer's FIN (EPOLLRDHUP / POLLRDHUP) as a hang-up hint.
        if mode != Mode::Edge {
            if mode == Mode::Oneshot {
                poller
                    .modify(&a, 1, Interest::READABLE, Mode::Oneshot)
                    .unwrap();
            }
            let got = expect_events(&poller, &mut events, &[Want::readable(1)]);
            if cfg!(any(target_os = "linux", target_os = "android")) {
                assert!(got[&1].hangup, "{mode:?}: no hang-up hint");
            }
        }
        poller.delete(&a).unwrap();
    }
}

#[test]
fn local_half_close_does_not_spin() {
    let probe = Poller::new().unwrap();
    for mode in modes(&probe) {
        let poller = Poller::new().unwrap();
        let mut events = Events::new();
        let (mut a, mut b) = tcp_pair();
        poller.add(&a, 1, Interest::READABLE, mode).unwrap();
        a.shutdown(Shutdown::Write).unwrap();
        // Our side stopped writing; nothing to read: no event, and certainly no stream.
        expect_no_events(&poller, &mut events);
        // The peer sees our FIN...
        assert_eq!(drain(&mut b), (0, true));
        // ...and can still send to us.
        b.write_all(b"after half-close").unwrap();
        expect_events(&poller, &mut events, &[Want::readable(1)]);
        assert_eq!(drain(&mut a), (16, false));
        if mode == Mode::Level {
            expect_no_events(&poller, &mut events);
        }
        poller.delete(&a).unwrap();
    }
    // With the reactor's registration (BOTH + Edge), at most a few edges, then quiet.
    if probe.supports_edge() {
        let poller = Poller::new().unwrap();
        let mut events = Events::new();
        let (a, _b) = tcp_pair();
        poller.add(&a, 1, Interest::BOTH, Mode::Edge).unwrap();
        expect_events(&poller, &mut events, &[Want::writable(1)]);
        a.shutdown(Shutdown::Write).unwrap();
        // The shutdown and the ACK of our FIN may each be one more (writable) edge; then a
        // quiet period must come, within a few waits.
        let mut edges = 0;
        while poller.wait(&mut events, Some(QUIET)).unwrap() > 0 {
            edges += 1;
            assert!(edges <= 4, "still spinning after {edges} edges: {events:?}");
            assert!(
                events.iter().all(|e| !e.readable),
                "nothing to read: {events:?}"
            );
        }
        expect_no_events(&poller, &mut events);
        poller.delete(&a).unwrap();
    }
}

#[test]
fn many_events_beyond_the_capacity_are_all_served() {
    // 50 ready sources, 8 events per wait: level mode must not starve the tail.
    let poller = Poller::new().unwrap();
    let pairs: Vec<_> = (0..50).map(|_| stream_pair()).collect();
    for (i, (a, b)) in pairs.iter().enumerate() {
        poller.add(a, i, Interest::READABLE, Mode::Level).unwrap();
        let mut b: &Stream = b;
        b.write_all(b"!").unwrap();
    }
    let mut events = Events::with_capacity(8);
    let mut seen = std::collections::HashSet::new();
    let deadline = std::time::Instant::now() + HANG_GUARD;
    while seen.len() < 50 {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} of 50 served",
            seen.len()
        );
        let n = poller.wait(&mut events, Some(HANG_GUARD)).unwrap();
        assert!(n <= 8);
        seen.extend(events.iter().map(|e| e.key));
    }
    for (a, _) in &pairs {
        poller.delete(a).unwrap();
    }
}
