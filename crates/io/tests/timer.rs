//! Timers with real time: never early, in order, cancellable, no drift.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use solo_executor::LocalExecutor;
use solo_io::{Timer, block_on};
use solo_lite::future;
use solo_lite::stream::StreamExt;

#[test]
fn after_and_at_never_fire_early() {
    block_on(async {
        for ms in [0u64, 1, 2, 5, 13] {
            let start = Instant::now();
            let fired = Timer::after(Duration::from_millis(ms)).await;
            assert!(fired >= start + Duration::from_millis(ms));
            assert!(Instant::now() >= start + Duration::from_millis(ms));
        }
        for us in [50u64, 250, 700] {
            let deadline = Instant::now() + Duration::from_micros(us);
            Timer::at(deadline).await;
            assert!(
                Instant::now() >= deadline,
                "sub-millisecond timer fired early"
            );
        }
    });
}

#[test]
fn far_deadlines_saturate_to_never() {
    let t = Timer::after(Duration::MAX);
    assert!(!t.will_fire());
    block_on(async {
        let mut t = Timer::after(Duration::MAX);
        assert!(future::poll_once(&mut t).await.is_none());
        let mut never = Timer::never();
        assert!(future::poll_once(&mut never).await.is_none());
        t.set_after(Duration::from_millis(1));
        t.await;
    });
}

#[test]
fn many_timers_most_cancelled_rest_fire_in_order_never_early() {
    const TOTAL: usize = 100_000;
    let ex = LocalExecutor::new();
    // (deadline, when the task ran, the reactor turn that woke it)
    let fired: Rc<RefCell<Vec<(Instant, Instant, u64)>>> = Rc::default();
    // Cancelled timers due before this instant may have fired before we cancelled them.
    let mut cancelled_at = None;
    block_on(ex.run(async {
        // Deadlines spread over 150 ms after a 200 ms head start, interleaved so that
        // cancelled and kept timers share slots.
        let base = Instant::now() + Duration::from_millis(200);
        let deadline = |i: usize| base + Duration::from_micros(((i * 7919) % 150_000) as u64);
        let mut tasks = Vec::with_capacity(TOTAL);
        for i in 0..TOTAL {
            let (fired, deadline) = (fired.clone(), deadline(i));
            tasks.push(ex.spawn(async move {
                let at = Timer::at(deadline).await;
                let turn = solo_io::reactor::stats().polls;
                fired.borrow_mut().push((at, Instant::now(), turn));
            }));
        }
        // Let every task register its timer, then cancel 9 in 10.
        future::yield_now().await;
        cancelled_at = Some(Instant::now());
        let mut kept = Vec::new();
        let mut early = 0;
        for (i, t) in tasks.into_iter().enumerate() {
            if i % 10 == 0 {
                kept.push(t);
            } else {
                early += usize::from(deadline(i) <= cancelled_at.unwrap());
                drop(t);
            }
        }
        for t in kept {
            t.await;
        }
        let fired = fired.borrow().len();
        assert!(
            fired >= TOTAL / 10 && fired <= TOTAL / 10 + early,
            "{fired} fired"
        );
    }));
    assert!(cancelled_at.is_some());
    let mut fired = fired.borrow_mut();
    for (deadline, woke, _) in fired.iter() {
        assert!(woke >= deadline, "a timer fired early");
    }
    // In order: a timer never fires in an earlier reactor turn than one due before it.
    fired.sort_by_key(|&(deadline, _, _)| deadline);
    for pair in fired.windows(2) {
        assert!(
            pair[0].2 <= pair[1].2,
            "timers fired out of order: {pair:?}"
        );
    }
}

#[test]
fn interval_ticks_do_not_drift() {
    block_on(async {
        let period = Duration::from_millis(5);
        let start = Instant::now();
        let mut interval = Timer::interval_at(start + period, period);
        for n in 1..=20u32 {
            let tick = interval.next().await.unwrap();
            // Each tick is scheduled from the start, not from when the last one was seen.
            assert_eq!(tick, start + period * n);
            assert!(Instant::now() >= tick);
        }
    });
}

#[test]
fn one_shot_timer_as_stream_yields_once() {
    block_on(async {
        let mut t = Timer::after(Duration::from_millis(1));
        assert!(t.next().await.is_some());
        assert!(t.next().await.is_none());
        assert!(!t.will_fire());
    });
}

#[test]
fn reset_moves_a_pending_timer() {
    block_on(async {
        let start = Instant::now();
        let mut t = Timer::after(Duration::from_secs(3600));
        assert!(future::poll_once(&mut t).await.is_none()); // registered far away
        t.set_after(Duration::from_millis(3));
        t.await;
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(3));
        assert!(elapsed < Duration::from_secs(3600));
    });
}

#[test]
fn dropping_a_registered_timer_cancels_it() {
    block_on(async {
        let before = solo_io::reactor::stats().timers;
        let mut t = Timer::after(Duration::from_secs(60));
        assert!(future::poll_once(&mut t).await.is_none());
        assert_eq!(solo_io::reactor::stats().timers, before + 1);
        drop(t);
        assert_eq!(solo_io::reactor::stats().timers, before);
    });
}
