//! `Poller::notify`: wakes a blocked wait, is remembered when nobody waits, coalesces, and
//! leaves nothing behind once consumed.

mod util;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use solo_poll::{Events, Interest, Mode, Poller};
use util::*;

#[test]
fn notify_from_another_thread_wakes_a_blocked_wait() {
    let poller = Arc::new(Poller::new().unwrap());
    let p = Arc::clone(&poller);
    let start = Instant::now();
    let notifier = thread::spawn(move || {
        thread::sleep(Duration::from_millis(100));
        p.notify().unwrap();
    });
    let mut events = Events::new();
    // No timeout: only the notify can end this wait (the test harness bounds the run).
    let n = poller.wait(&mut events, None).unwrap();
    assert_eq!(n, 0);
    assert!(events.is_empty());
    // It ended because of the notify, which came after the sleep.
    assert!(start.elapsed() >= Duration::from_millis(100));
    notifier.join().unwrap();
}

#[test]
fn notify_with_duration_max_timeout() {
    let poller = Arc::new(Poller::new().unwrap());
    let p = Arc::clone(&poller);
    let notifier = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        p.notify().unwrap();
    });
    let mut events = Events::new();
    // Duration::MAX overflows Instant: it means "no timeout", never a panic or a wrap.
    assert_eq!(poller.wait(&mut events, Some(Duration::MAX)).unwrap(), 0);
    notifier.join().unwrap();
    // Also a huge timeout that does not overflow Instant.
    poller.notify().unwrap();
    assert_eq!(
        poller
            .wait(&mut events, Some(Duration::from_secs(u64::MAX / 4)))
            .unwrap(),
        0
    );
}

#[test]
fn notify_before_wait_returns_at_once() {
    let poller = Poller::new().unwrap();
    let mut events = Events::new();
    poller.notify().unwrap();
    let start = Instant::now();
    assert_eq!(poller.wait(&mut events, Some(HANG_GUARD)).unwrap(), 0);
    assert!(
        start.elapsed() < HANG_GUARD,
        "the pending notify did not end the wait"
    );
}

#[test]
fn notifies_coalesce_and_a_consumed_one_leaves_nothing() {
    let poller = Poller::new().unwrap();
    let mut events = Events::new();
    for _ in 0..100 {
        poller.notify().unwrap();
    }
    assert_eq!(poller.wait(&mut events, Some(HANG_GUARD)).unwrap(), 0);
    // All hundred were one wake-up: the next waits run their full timeouts.
    for _ in 0..3 {
        let t = Duration::from_millis(30);
        let start = Instant::now();
        assert_eq!(poller.wait(&mut events, Some(t)).unwrap(), 0);
        assert!(
            start.elapsed() >= t,
            "a consumed notify ended a later wait early"
        );
    }
    // And notify still works afterwards.
    poller.notify().unwrap();
    assert_eq!(poller.wait(&mut events, Some(HANG_GUARD)).unwrap(), 0);
}

#[test]
fn notify_does_not_hide_ready_sources() {
    let poller = Poller::new().unwrap();
    let (a, b) = tcp_pair();
    poller
        .add(&a, 1, Interest::WRITABLE, Mode::Oneshot)
        .unwrap();
    poller.notify().unwrap();
    let mut events = Events::new();
    // The notify and the writable socket may come in one wait or two.
    let got = expect_events(&poller, &mut events, &[Want::writable(1)]);
    assert!(got[&1].writable);
    expect_no_events(&poller, &mut events);
    poller.delete(&a).unwrap();
    drop(b);
}

#[test]
fn many_threads_notifying_while_waiting() {
    // Four threads notify in a loop while the main thread waits repeatedly: every wait
    // ends (no lost wake-up), and once they stop, a wait runs its full timeout.
    let poller = Arc::new(Poller::new().unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let notifiers: Vec<_> = (0..4)
        .map(|_| {
            let (p, stop) = (Arc::clone(&poller), Arc::clone(&stop));
            thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    p.notify().unwrap();
                    n += 1;
                    if n % 64 == 0 {
                        thread::yield_now();
                    }
                }
            })
        })
        .collect();
    let mut events = Events::new();
    for _ in 0..2_000 {
        poller.wait(&mut events, Some(HANG_GUARD)).unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for t in notifiers {
        t.join().unwrap();
    }
    // At most one notify can still be pending.
    let _ = poller.wait(&mut events, Some(Duration::ZERO)).unwrap();
    let _ = poller.wait(&mut events, Some(Duration::ZERO)).unwrap();
    let t = Duration::from_millis(30);
    let start = Instant::now();
    assert_eq!(poller.wait(&mut events, Some(t)).unwrap(), 0);
    assert!(start.elapsed() >= t);
}
