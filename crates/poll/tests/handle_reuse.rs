//! A closed socket whose handle value is reused by a new socket gets no stale event, on
//! Windows (`fd_reuse.rs` is the Unix version).
//!
//! Its own test binary with a single test, so that no other test takes the freed handle
//! value first: Windows (and Wine) hand a freed value out again soon.

#![cfg(windows)]

mod util;

use std::io::Write;
use std::net::TcpStream;
use std::os::windows::io::{AsRawSocket, RawSocket};

use solo_poll::{Events, Interest, Mode, Poller};
use util::*;

#[test]
fn reused_socket_handles_get_no_stale_events() {
    let poller = Poller::new().unwrap();
    let mut events = Events::new();
    // Deleted, then closed: a new socket with the same handle value is a new source.
    let (a, mut b) = tcp_pair();
    poller.add(&a, 1, Interest::READABLE, Mode::Level).unwrap();
    b.write_all(b"stale").unwrap();
    expect_events(&poller, &mut events, &[Want::readable(1)]);
    let value = a.as_raw_socket();
    poller.delete(&a).unwrap();
    drop((a, b));
    let (c, mut d) = pair_with(value);
    poller.add(&c, 2, Interest::READABLE, Mode::Level).unwrap();
    expect_no_events(&poller, &mut events);
    d.write_all(b"fresh").unwrap();
    expect_events(&poller, &mut events, &[Want::readable(2)]);
    poller.delete(&c).unwrap();
    drop((c, d));

    // Closed without delete while a poll is in flight: AFD reports the close, and the
    // registration is forgotten (as epoll forgets a closed descriptor), so the handle
    // value can be registered again.
    let (a, _b) = tcp_pair();
    poller.add(&a, 1, Interest::READABLE, Mode::Level).unwrap();
    expect_no_events(&poller, &mut events);
    let value = a.as_raw_socket();
    drop(a);
    expect_no_events(&poller, &mut events);
    let (c, mut d) = pair_with(value);
    poller.add(&c, 2, Interest::READABLE, Mode::Level).unwrap();
    expect_no_events(&poller, &mut events);
    d.write_all(b"y").unwrap();
    expect_events(&poller, &mut events, &[Want::readable(2)]);
    poller.delete(&c).unwrap();
}

/// A new connected pair whose first socket has the handle value `value` (Windows and
/// Wine reuse a freed handle value soon).
fn pair_with(value: RawSocket) -> (TcpStream, TcpStream) {
    let mut spare = Vec::new();
    loop {
        let (c, d) = tcp_pair();
        if c.as_raw_socket() == value {
            return (c, d);
        }
        if d.as_raw_socket() == value {
            return (d, c);
        }
        spare.push((c, d));
        assert!(spare.len() < 100, "handle value {value} was never reused");
    }
}
