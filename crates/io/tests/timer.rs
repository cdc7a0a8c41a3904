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

/// Wraps the task's waker to note the reactor turn in which the timer woke it: the order
/// of firing is a property of the reactor, not of when the executor got to run the task.
struct TurnRecorder {
    inner: std::task::Waker,
    turn: std::sync::atomic::AtomicU64,
}

impl std::task::Wake for TurnRecorder {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        let turn = solo_io::reactor::stats().polls;
        self.turn.store(turn, std::sync::atomic::Ordering::Relaxed);
        self.inner.wake_by_ref();
    }
}

/// Awaits `timer`, returning its deadline and the reactor turn that fired it.
async fn fire_turn(mut timer: Timer) -> (Instant, u64) {
    let mut recorder: Option<std::sync::Arc<TurnRecorder>> = None;
    future::poll_fn(|cx| {
        let rec = recorder.get_or_insert_with(|| {
            std::sync::Arc::new(TurnRecorder {
                inner: cx.waker().clone(),
                turn: std::sync::atomic::AtomicU64::new(u64::MAX),
            })
        });
        let waker = std::task::Waker::from(rec.clone());
        let polled =
            std::pin::Pin::new(&mut timer).poll(&mut std::task::Context::from_waker(&waker));
        polled.map(|at| (at, rec.turn.load(std::sync::atomic::Ordering::Relaxed)))
    })
    .await
}

#[test]
fn many_timers_most_cancelled_rest_fire_in_order_never_early() {
    const TOTAL: usize = 100_000;
    let ex = LocalExecutor::new();
    // (deadline, when the task ran, the reactor turn whose timers woke it)
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
                let (at, turn) = fire_turn(Timer::at(deadline)).await;
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

#[test]
fn timeout_bounds_any_future() {
    block_on(async {
        // Not an io::Result: the output comes back as is.
        assert_eq!(
            solo_io::timeout(Duration::from_secs(20), async { "done" }).await,
            Ok("done")
        );
        // An io::Result is not merged: its own error stays inside.
        let inner = async { std::io::Result::<()>::Err(std::io::ErrorKind::NotFound.into()) };
        let out = solo_io::timeout(Duration::from_secs(20), inner)
            .await
            .unwrap();
        assert_eq!(out.unwrap_err().kind(), std::io::ErrorKind::NotFound);

        // Timing out drops (cancels) the future and says after how long.
        let dropped = Rc::new(RefCell::new(false));
        struct SetOnDrop(Rc<RefCell<bool>>);
        impl Drop for SetOnDrop {
            fn drop(&mut self) {
                *self.0.borrow_mut() = true;
            }
        }
        let guard = SetOnDrop(dropped.clone());
        let slow = async move {
            let _guard = guard;
            Timer::after(Duration::from_secs(3600)).await;
        };
        let start = Instant::now();
        let err = solo_io::timeout(Duration::from_millis(5), slow)
            .await
            .unwrap_err();
        assert!(start.elapsed() >= Duration::from_millis(5));
        assert!(*dropped.borrow());
        assert_eq!(err.duration(), Duration::from_millis(5));
        assert_eq!(err.to_string(), "operation timed out after 5ms");
    });
}

#[test]
fn timed_out_converts_into_an_io_error() {
    let err = block_on(solo_io::timeout(
        Duration::from_millis(1),
        future::pending::<()>(),
    ))
    .unwrap_err();
    let io_err = std::io::Error::from(err);
    assert_eq!(io_err.kind(), std::io::ErrorKind::TimedOut);
    assert_eq!(io_err.to_string(), "operation timed out after 1ms");
    let inner = io_err
        .get_ref()
        .and_then(|e| e.downcast_ref::<solo_io::TimedOut>());
    assert_eq!(inner, Some(&err));

    // `?` converts it in a function returning io::Result; `??` for a timed I/O future.
    async fn timed_read() -> std::io::Result<u8> {
        let op = async { std::io::Result::Ok(7u8) };
        let n = solo_io::timeout(Duration::from_secs(20), op).await??;
        solo_io::timeout(Duration::from_millis(1), future::pending::<()>()).await?;
        Ok(n)
    }
    let err = block_on(timed_read()).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
}

#[test]
fn io_timeout_merges_the_two_errors() {
    block_on(async {
        let ok = solo_io::io_timeout(Duration::from_secs(20), async { Ok(3) }).await;
        assert_eq!(ok.unwrap(), 3);
        let inner = async { std::io::Result::<()>::Err(std::io::ErrorKind::NotFound.into()) };
        let err = solo_io::io_timeout(Duration::from_secs(20), inner).await;
        assert_eq!(err.unwrap_err().kind(), std::io::ErrorKind::NotFound);
        let slow = future::pending::<std::io::Result<()>>();
        let err = solo_io::io_timeout(Duration::from_millis(2), slow).await;
        let err = err.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        assert_eq!(err.to_string(), "operation timed out after 2ms");
    });
}
