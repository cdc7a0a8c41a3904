//! A closed descriptor whose number is reused by a new socket gets no stale event.
//!
//! Its own test binary with a single test, so that no other test takes the freed number
//! first: the kernel hands out the lowest free number, so the next socket gets it.

// Descriptor numbers are a Unix notion; `handle_reuse.rs` checks reused socket handles.
#![cfg(unix)]

mod util;

use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

use solo_poll::{Events, Interest, Mode, Poller};
use util::*;

/// A new socket pair whose first element has descriptor `number`.
fn pair_at(number: i32) -> (UnixStream, UnixStream) {
    let mut spare = Vec::new();
    loop {
        let (c, d) = UnixStream::pair().unwrap();
        if c.as_raw_fd() == number {
            return (c, d);
        }
        if d.as_raw_fd() == number {
            return (d, c);
        }
        spare.push((c, d));
        assert!(spare.len() < 100, "descriptor {number} was never reused");
    }
}

#[test]
fn reused_descriptor_number_gets_no_stale_event() {
    let poller = Poller::new().unwrap();
    let mut events = Events::new();

    // The contract: delete, close, and a new socket with the same number is a new source.
    let (a, mut b) = UnixStream::pair().unwrap();
    poller.add(&a, 1, Interest::READABLE, Mode::Level).unwrap();
    b.write_all(b"stale").unwrap();
    expect_events(&poller, &mut events, &[Want::readable(1)]);
    let number = a.as_raw_fd();
    poller.delete(&a).unwrap();
    drop(a);
    drop(b);
    let (c, mut d) = pair_at(number);
    poller.add(&c, 2, Interest::READABLE, Mode::Level).unwrap();
    expect_no_events(&poller, &mut events);
    d.write_all(b"fresh").unwrap();
    expect_events(&poller, &mut events, &[Want::readable(2)]);
    poller.delete(&c).unwrap();
    drop((c, d));

    // epoll only: the kernel drops a registration when its file is closed, even without
    // `delete`. kqueue keeps solo-poll's table entry and poll(2) keeps polling the number,
    // as the crate docs ("Registration and closing") say.
    #[cfg(all(
        not(solo_poll_force_poll),
        any(target_os = "linux", target_os = "android")
    ))]
    {
        let (a, mut b) = UnixStream::pair().unwrap();
        poller.add(&a, 1, Interest::READABLE, Mode::Level).unwrap();
        b.write_all(b"x").unwrap();
        expect_events(&poller, &mut events, &[Want::readable(1)]);
        let number = a.as_raw_fd();
        drop(a);
        expect_no_events(&poller, &mut events);
        let (c, mut d) = pair_at(number);
        poller.add(&c, 2, Interest::READABLE, Mode::Level).unwrap();
        expect_no_events(&poller, &mut events);
        d.write_all(b"y").unwrap();
        expect_events(&poller, &mut events, &[Want::readable(2)]);
        poller.delete(&c).unwrap();
    }
}
