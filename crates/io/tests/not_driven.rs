//! Awaiting solo-io under another executor's `block_on` panics with the fix instead of
//! hanging (issue 15); what needs no waiting still works there.

use std::panic::{self, AssertUnwindSafe};
use std::pin::pin;
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

use solo_io::net::{TcpListener, TcpStream, UdpSocket};
use solo_io::{Timer, reactor, unblock};
use solo_lite::future::block_on as lite_block_on;
use solo_lite::io::AsyncReadExt;

/// Runs `f`, expecting the not-driven panic; returns its message.
fn expect_not_driven(f: impl FnOnce()) -> String {
    let payload =
        panic::catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic, not a hang");
    let msg = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .expect("a message");
    assert!(msg.contains("solo::block_on"), "{msg}");
    assert!(msg.contains("solo_io::block_on"), "{msg}");
    assert!(msg.contains("loop is not running"), "{msg}");
    msg
}

#[test]
fn a_timer_under_solo_lites_block_on_panics_naming_the_fix() {
    let start = Instant::now();
    expect_not_driven(|| {
        lite_block_on(Timer::after(Duration::from_secs(3600)));
    });
    assert!(start.elapsed() < Duration::from_secs(60));
}

#[test]
fn a_timer_under_futures_lites_block_on_panics_naming_the_fix() {
    expect_not_driven(|| {
        futures_lite::future::block_on(Timer::after(Duration::from_secs(3600)));
    });
}

#[test]
fn a_timeout_under_another_block_on_panics() {
    expect_not_driven(|| {
        let never = std::future::pending::<()>();
        let _ = lite_block_on(solo_io::timeout(Duration::from_secs(3600), never));
    });
}

#[test]
fn a_socket_read_under_another_block_on_panics() {
    let (listener, mut client) = solo_io::block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        (listener, client)
    });
    expect_not_driven(|| {
        let mut buf = [0u8; 4];
        let _ = lite_block_on(client.read(&mut buf));
    });
    drop(listener);
}

#[test]
fn what_needs_no_waiting_works_under_another_block_on() {
    // A timer that is due, data that has arrived, and pool work complete as before.
    lite_block_on(Timer::at(Instant::now()));
    let (a, b) = solo_io::block_on(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        (a, b)
    });
    lite_block_on(a.send_to(b"ping", b.local_addr().unwrap())).unwrap();
    // Wait (outside any loop) until the datagram is queued, then read it without waiting.
    let mut buf = [0u8; 8];
    let deadline = Instant::now() + Duration::from_secs(20);
    while b.get_ref().peek_from(&mut buf).is_err() {
        assert!(Instant::now() < deadline, "the datagram never arrived");
        std::thread::sleep(Duration::from_millis(1));
    }
    let (n, _) = lite_block_on(b.recv_from(&mut buf)).unwrap();
    assert_eq!(&buf[..n], b"ping");
    assert_eq!(lite_block_on(unblock(|| 6 * 7)), 42);
}

#[test]
fn the_reactor_works_after_the_panic() {
    expect_not_driven(|| {
        lite_block_on(Timer::after(Duration::from_secs(3600)));
    });
    solo_io::block_on(Timer::after(Duration::from_millis(1)));
}

#[test]
fn block_on_nested_in_another_block_on_drives_the_reactor() {
    // The inner solo_io::block_on runs the loop: no panic.
    lite_block_on(async {
        solo_io::block_on(Timer::after(Duration::from_millis(1)));
    });
}

#[test]
fn an_executor_of_its_own_holds_the_enter_guard() {
    {
        let _loop = reactor::enter();
        let _nested = reactor::enter();
        let mut timer = pin!(Timer::after(Duration::from_millis(2)));
        let mut cx = Context::from_waker(Waker::noop());
        while timer.as_mut().poll(&mut cx).is_pending() {
            reactor::park(None).unwrap();
        }
    }
    // With every guard gone, waiting panics again.
    expect_not_driven(|| {
        lite_block_on(Timer::after(Duration::from_secs(3600)));
    });
}
