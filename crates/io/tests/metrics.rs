//! The reactor's and the pool's figures (feature `metrics`):
//! `cargo test -p solo-io --features metrics --test metrics`. Each test runs on a thread of
//! its own, so it has a reactor of its own; the pool is the process's.
#![cfg(feature = "metrics")]

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::{GUARD, block_on};
use solo_io::metrics::{self, EVENTS_PER_WAIT_BUCKETS};
use solo_io::net::{TcpListener, TcpStream};
use solo_io::{Timer, io_timeout, reactor, unblock};
use solo_lite::io::AsyncReadExt;

#[test]
fn timers_fired_and_their_lag_are_recorded() {
    let before = reactor::metrics();
    assert_eq!(before.timers_fired, 0);
    block_on(async {
        for _ in 0..20 {
            Timer::after(Duration::from_millis(1)).await;
        }
    });
    let after = reactor::metrics();
    // The hang guard's timer never fires.
    assert_eq!(after.timers_fired, 20);
    let lag = after.timer_lag.since(&before.timer_lag);
    assert_eq!(lag.count(), 20);
    // A timer fires when the reactor sees its deadline passed: never early (lag >= 0 by
    // construction), and on an idle loop well within a second.
    let p50 = lag.quantile(0.5).unwrap();
    let p99 = lag.quantile(0.99).unwrap();
    assert!(
        p50 <= p99 && p99 < Duration::from_secs(1),
        "p50 {p50:?} p99 {p99:?}"
    );
    assert!(lag.max().unwrap() >= p99);
}

#[test]
fn a_sleeping_loop_is_blocked_and_a_busy_one_is_not() {
    let start = reactor::metrics();
    block_on(Timer::after(Duration::from_millis(200)));
    let slept = reactor::metrics();
    let blocked = slept.blocked - start.blocked;
    assert!(blocked >= Duration::from_millis(150), "blocked {blocked:?}");
    let idle = slept.utilisation(&start).unwrap();
    assert!(
        idle < 0.5,
        "a loop waiting for a timer was busy {idle:.2} of the time"
    );

    block_on(async {
        // Blocks its thread: busy time, as far as the loop can tell.
        std::thread::sleep(Duration::from_millis(200));
    });
    let worked = reactor::metrics();
    let busy = worked.utilisation(&slept).unwrap();
    assert!(
        busy > 0.5,
        "a loop stuck in a task was busy only {busy:.2} of the time"
    );
    assert!(worked.busy() >= Duration::from_millis(150));
    assert!(worked.uptime >= worked.blocked);
}

#[test]
fn waits_are_counted_by_events() {
    let before = reactor::metrics();
    block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let writer = std::thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            // Late, so that the reader has to wait for it.
            std::thread::sleep(Duration::from_millis(50));
            s.write_all(b"ping").unwrap();
        });
        let (mut stream, _): (TcpStream, _) = io_timeout(GUARD, listener.accept()).await.unwrap();
        let mut buf = [0; 4];
        io_timeout(GUARD, stream.read_exact(&mut buf))
            .await
            .unwrap();
        writer.join().unwrap();
        assert_eq!(reactor::metrics().sources, 2);
    });
    let after = reactor::metrics();
    assert!(after.waits > before.waits);
    assert!(after.events > before.events);
    let with_events: u64 = (1..EVENTS_PER_WAIT_BUCKETS)
        .map(|b| after.events_per_wait[b] - before.events_per_wait[b])
        .sum();
    assert!(with_events >= 1, "{:?}", after.events_per_wait);
    let all: u64 = after.events_per_wait.iter().sum();
    assert_eq!(all, after.waits, "every wait lands in one bucket");
    assert_eq!(after.sources, 0);
}

#[test]
fn the_pool_reports_threads_and_finished_jobs() {
    let before = metrics::pool();
    assert!(before.max_threads >= 1);
    let n = block_on(async {
        let mut sum = 0;
        for i in 0..5u64 {
            sum += unblock(move || i).await;
        }
        sum
    });
    assert_eq!(n, 10);
    // A job is counted once its thread is back in the pool, a moment after it woke its
    // awaiter; other tests may use the pool at the same time: at least ours finish.
    let start = Instant::now();
    let mut after = metrics::pool();
    while after.completed < before.completed + 5 {
        assert!(start.elapsed() < GUARD, "{before:?} -> {after:?}");
        std::thread::sleep(Duration::from_millis(1));
        after = metrics::pool();
    }
    assert!(after.threads >= 1 || after.completed > 0);
    let start = Instant::now();
    while metrics::pool().queued > 0 {
        assert!(start.elapsed() < GUARD, "the pool's queue does not drain");
        std::thread::sleep(Duration::from_millis(5));
    }
}
