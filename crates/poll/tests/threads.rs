//! Changes from other threads while a wait is blocked, and several waiters at once.

mod util;

use std::io::Write;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use solo_poll::{Events, Interest, Mode, Poller};
use util::*;

/// Starts a thread that waits once (up to `timeout`) and returns its events' keys and when
/// it returned.
fn spawn_wait(
    poller: &Arc<Poller>,
    timeout: Duration,
) -> thread::JoinHandle<(Vec<usize>, Instant)> {
    let p = Arc::clone(poller);
    thread::spawn(move || {
        let mut events = Events::new();
        p.wait(&mut events, Some(timeout)).unwrap();
        (events.iter().map(|e| e.key).collect(), Instant::now())
    })
}

#[test]
fn modify_from_another_thread_wakes_the_waiter() {
    let poller = Arc::new(Poller::new().unwrap());
    let (a, mut b) = tcp_pair();
    poller.add(&a, 1, Interest::NONE, Mode::Level).unwrap();
    b.write_all(b"ready").unwrap();
    let waiter = spawn_wait(&poller, HANG_GUARD);
    thread::sleep(Duration::from_millis(50));
    let changed = Instant::now();
    poller
        .modify(&a, 1, Interest::READABLE, Mode::Level)
        .unwrap();
    let (keys, woke) = waiter.join().unwrap();
    assert_eq!(keys, [1]);
    assert!(woke >= changed);
    poller.delete(&a).unwrap();
}

#[test]
fn add_from_another_thread_wakes_the_waiter() {
    let poller = Arc::new(Poller::new().unwrap());
    let (a, mut b) = tcp_pair();
    b.write_all(b"ready").unwrap();
    let waiter = spawn_wait(&poller, HANG_GUARD);
    thread::sleep(Duration::from_millis(50));
    poller
        .add(&a, 4, Interest::READABLE, Mode::Oneshot)
        .unwrap();
    let (keys, _) = waiter.join().unwrap();
    assert_eq!(keys, [4]);
    poller.delete(&a).unwrap();
}

#[test]
fn delete_from_another_thread_silences_the_source() {
    let poller = Arc::new(Poller::new().unwrap());
    let (a, mut b) = tcp_pair();
    poller.add(&a, 1, Interest::READABLE, Mode::Level).unwrap();
    let t = Duration::from_millis(300);
    let start = Instant::now();
    let waiter = spawn_wait(&poller, t);
    thread::sleep(Duration::from_millis(50));
    poller.delete(&a).unwrap();
    // Readable now, but deleted: the waiter must not see it and must run its full timeout.
    b.write_all(b"too late").unwrap();
    let (keys, woke) = waiter.join().unwrap();
    assert!(keys.is_empty(), "a deleted source reported: {keys:?}");
    assert!(woke - start >= t);
    // And modify-to-readable from another thread after a delete is NotFound.
    assert_eq!(
        poller
            .modify(&a, 1, Interest::READABLE, Mode::Level)
            .unwrap_err()
            .kind(),
        std::io::ErrorKind::NotFound
    );
}

#[test]
fn changes_to_other_sources_do_not_end_a_wait_early() {
    // poll(2) wakes its waiter to rebuild the descriptor array; that wake-up must not
    // count as a notification or an event.
    let poller = Arc::new(Poller::new().unwrap());
    let pairs: Vec<_> = (0..20).map(|_| tcp_pair()).collect();
    let t = Duration::from_millis(250);
    let start = Instant::now();
    let waiter = spawn_wait(&poller, t);
    for (i, (a, _)) in pairs.iter().enumerate() {
        poller.add(a, i, Interest::READABLE, Mode::Level).unwrap();
        thread::sleep(Duration::from_millis(2));
    }
    for (i, (a, _)) in pairs.iter().enumerate() {
        poller
            .modify(a, i + 100, Interest::READABLE, Mode::Oneshot)
            .unwrap();
    }
    for (a, _) in &pairs {
        poller.delete(a).unwrap();
    }
    let (keys, woke) = waiter.join().unwrap();
    assert!(keys.is_empty(), "{keys:?}");
    assert!(woke - start >= t);
}

#[test]
fn concurrent_waits_both_honour_their_timeouts_and_share_events() {
    let poller = Arc::new(Poller::new().unwrap());
    let t = Duration::from_millis(150);
    let start = Instant::now();
    let w1 = spawn_wait(&poller, t);
    let w2 = spawn_wait(&poller, t);
    let (k1, e1) = w1.join().unwrap();
    let (k2, e2) = w2.join().unwrap();
    assert!(k1.is_empty() && k2.is_empty());
    assert!(e1 - start >= t && e2 - start >= t);

    // Two oneshot sources and two waiters with no timeout: each source is reported once,
    // to one of them; a notify releases a waiter left without an event.
    let (a, mut b) = tcp_pair();
    let (c, mut d) = tcp_pair();
    poller
        .add(&a, 1, Interest::READABLE, Mode::Oneshot)
        .unwrap();
    poller
        .add(&c, 2, Interest::READABLE, Mode::Oneshot)
        .unwrap();
    let w1 = spawn_wait(&poller, HANG_GUARD);
    let w2 = spawn_wait(&poller, HANG_GUARD);
    thread::sleep(Duration::from_millis(30));
    b.write_all(b"1").unwrap();
    d.write_all(b"2").unwrap();
    let mut keys = Vec::new();
    for w in [w1, w2] {
        // Release a waiter that got nothing yet (both events may have gone to the other).
        while !w.is_finished() {
            poller.notify().unwrap();
            thread::sleep(Duration::from_millis(5));
        }
        keys.extend(w.join().unwrap().0);
    }
    // A notify may have released the second waiter before the second event was queued
    // (Wine queues AFD completions from its server, a little after the write): the event
    // is still due, exactly once.
    let mut events = Events::new();
    let deadline = Instant::now() + HANG_GUARD;
    while keys.len() < 2 && Instant::now() < deadline {
        poller
            .wait(&mut events, Some(Duration::from_millis(50)))
            .unwrap();
        keys.extend(events.iter().map(|e| e.key));
    }
    keys.sort();
    assert_eq!(keys, [1, 2]);
    poller.delete(&a).unwrap();
    poller.delete(&c).unwrap();
}
