//! 10,000 registered sockets all report. Its own test binary, so that its ~10,000
//! descriptors do not meet the other tests' under the process limit.

// Unix socket pairs and RLIMIT_NOFILE; `windows.rs` has the Windows version (TCP pairs over
// many AFD helper handles).
#![cfg(unix)]

mod util;

use std::collections::HashSet;
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::time::Instant;

use solo_poll::{Events, Interest, Mode, Poller};
use util::*;

const SOCKETS: usize = 10_000;

#[test]
fn ten_thousand_sockets_all_report() {
    let limit = raise_fd_limit();
    assert!(
        limit >= (SOCKETS + 200) as libc::rlim_t,
        "RLIMIT_NOFILE hard limit {limit} is below the {SOCKETS} sockets this test needs"
    );
    let poller = Poller::new().unwrap();
    // 5,000 socket pairs: both ends registered, 10,000 sources in ~10,000 descriptors.
    let pairs: Vec<(UnixStream, UnixStream)> = (0..SOCKETS / 2)
        .map(|_| UnixStream::pair().unwrap())
        .collect();
    let sockets: Vec<&UnixStream> = pairs.iter().flat_map(|(a, b)| [a, b]).collect();
    for (key, s) in sockets.iter().enumerate() {
        poller
            .add(*s, key, Interest::READABLE, Mode::Oneshot)
            .unwrap();
    }
    let mut events = Events::new();
    expect_no_events(&poller, &mut events);
    // One byte into every socket makes every peer readable.
    for s in &sockets {
        let mut s: &UnixStream = s;
        s.write_all(b"x").unwrap();
    }
    let mut seen = HashSet::new();
    let deadline = Instant::now() + HANG_GUARD * 3;
    while seen.len() < SOCKETS {
        assert!(
            Instant::now() < deadline,
            "only {} of {SOCKETS} reported",
            seen.len()
        );
        poller.wait(&mut events, Some(HANG_GUARD)).unwrap();
        assert!(events.len() <= events.capacity());
        for ev in events.iter() {
            assert!(ev.readable && ev.key < SOCKETS, "{ev:?}");
            // Oneshot: each at most once.
            assert!(seen.insert(ev.key), "key {} reported twice", ev.key);
        }
    }
    expect_no_events(&poller, &mut events);

    // The same sources in level mode: every one keeps reporting, in batches of 1024.
    for (key, s) in sockets.iter().enumerate() {
        poller
            .modify(*s, key, Interest::READABLE, Mode::Level)
            .unwrap();
    }
    let mut seen = HashSet::new();
    while seen.len() < SOCKETS {
        assert!(
            Instant::now() < deadline,
            "level: only {} of {SOCKETS}",
            seen.len()
        );
        poller.wait(&mut events, Some(HANG_GUARD)).unwrap();
        seen.extend(events.iter().map(|e| e.key));
    }
    for s in &sockets {
        poller.delete(*s).unwrap();
    }
    expect_no_events(&poller, &mut events);
}
