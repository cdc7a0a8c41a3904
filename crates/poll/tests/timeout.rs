//! Timeouts are lower bounds: never early, sub-millisecond ones are honoured without
//! spinning, and a zero timeout only looks.

mod util;

use std::time::{Duration, Instant};

use solo_poll::{Events, Interest, Mode, Poller};
use util::*;

#[test]
fn timeouts_never_return_early() {
    let poller = Poller::new().unwrap();
    let mut events = Events::new();
    let durations = [
        Duration::from_nanos(1),
        Duration::from_micros(10),
        Duration::from_micros(100),
        Duration::from_micros(500),
        Duration::from_micros(999),
        Duration::from_millis(1),
        Duration::from_micros(1_001),
        Duration::from_micros(2_500),
        Duration::from_millis(20),
        Duration::from_millis(101),
    ];
    for t in durations {
        for _ in 0..5 {
            let start = Instant::now();
            assert_eq!(poller.wait(&mut events, Some(t)).unwrap(), 0);
            let elapsed = start.elapsed();
            assert!(elapsed >= t, "a {t:?} timeout returned after {elapsed:?}");
        }
    }
}

#[test]
fn sub_millisecond_timeout_is_not_a_busy_zero() {
    // If 300 µs were rounded down to 0, 300 waits would take almost no time.
    let poller = Poller::new().unwrap();
    let mut events = Events::new();
    let t = Duration::from_micros(300);
    let start = Instant::now();
    for _ in 0..300 {
        assert_eq!(poller.wait(&mut events, Some(t)).unwrap(), 0);
    }
    assert!(start.elapsed() >= t * 300);
}

#[test]
fn zero_timeout_only_looks() {
    let poller = Poller::new().unwrap();
    let mut events = Events::new();
    assert_eq!(poller.wait(&mut events, Some(Duration::ZERO)).unwrap(), 0);
    // ...but does report what is ready.
    let (a, _b) = tcp_pair();
    poller.add(&a, 3, Interest::WRITABLE, Mode::Level).unwrap();
    let deadline = Instant::now() + HANG_GUARD;
    loop {
        if poller.wait(&mut events, Some(Duration::ZERO)).unwrap() == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "a ready socket never showed up");
    }
    let ev = events.iter().next().unwrap();
    assert!(ev.key == 3 && ev.writable && !ev.readable);
    poller.delete(&a).unwrap();
}

#[test]
fn wait_clears_the_events_it_is_given() {
    let poller = Poller::new().unwrap();
    let (a, _b) = tcp_pair();
    poller
        .add(&a, 3, Interest::WRITABLE, Mode::Oneshot)
        .unwrap();
    let mut events = Events::new();
    expect_events(&poller, &mut events, &[Want::writable(3)]);
    assert_eq!(events.len(), 1);
    assert_eq!(
        poller
            .wait(&mut events, Some(Duration::from_millis(5)))
            .unwrap(),
        0
    );
    assert!(events.is_empty());
    poller.delete(&a).unwrap();
}
