use std::cell::Cell;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use super::*;

/// A future that is pending `n` times (waking itself each time), then ready with `value`.
fn pending_times<T: Unpin>(n: usize, value: T) -> impl Future<Output = T> + Unpin {
    let mut left = n;
    let mut value = Some(value);
    poll_fn(move |cx| {
        if left == 0 {
            return Poll::Ready(value.take().expect("polled after completion"));
        }
        left -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
}

#[test]
fn ready_pending_poll_fn() {
    let mut cx = Context::from_waker(Waker::noop());
    assert_eq!(block_on(ready("x")), "x");
    assert_eq!(pending::<u8>().poll(&mut cx), Poll::Pending);
    let mut calls = 0;
    let n = block_on(poll_fn(|cx| {
        calls += 1;
        if calls < 3 {
            cx.waker().wake_by_ref();
            Poll::Pending
        } else {
            Poll::Ready(calls)
        }
    }));
    assert_eq!(n, 3);
}

#[test]
fn poll_once_does_not_wait() {
    assert_eq!(block_on(poll_once(pending_times(1, 'a'))), None);
    assert_eq!(block_on(poll_once(pending_times(0, 'a'))), Some('a'));
    // A `!Unpin` future works too.
    assert_eq!(block_on(poll_once(async { 5 })), Some(5));
}

#[test]
fn yield_now_is_pending_exactly_once() {
    let mut cx = Context::from_waker(Waker::noop());
    let mut y = yield_now();
    assert_eq!(y.poll(&mut cx), Poll::Pending);
    assert_eq!(y.poll(&mut cx), Poll::Ready(()));
}

#[test]
fn yield_now_wakes_itself() {
    // If the waker were not woken, block_on would park forever; count the polls.
    let polls = Cell::new(0);
    let mut fut = std::pin::pin!(async {
        for _ in 0..1000 {
            yield_now().await;
        }
    });
    block_on(poll_fn(|cx| {
        polls.set(polls.get() + 1);
        fut.as_mut().poll(cx)
    }));
    assert_eq!(polls.get(), 1001);
}

#[test]
fn zip_waits_for_both() {
    let out = block_on(zip(pending_times(3, 1), pending_times(7, "b")));
    assert_eq!(out, (1, "b"));
    let out = block_on(zip(async { yield_now().await }, async { 2 }));
    assert_eq!(out, ((), 2));
}

#[test]
fn zip_does_not_poll_a_finished_side_again() {
    let polls = Cell::new(0);
    let once = poll_fn(|_| {
        polls.set(polls.get() + 1);
        assert_eq!(polls.get(), 1, "polled after completion");
        Poll::Ready(())
    });
    block_on(zip(once, pending_times(5, ())));
    assert_eq!(polls.get(), 1);
}

#[test]
fn try_zip_short_circuits() {
    let both = block_on(try_zip(
        pending_times(2, Ok::<_, &str>(1)),
        pending_times(4, Ok(2)),
    ));
    assert_eq!(both, Ok((1, 2)));
    // The error wins although the other side never finishes.
    let err = block_on(try_zip(
        pending::<Result<i32, &str>>(),
        pending_times(3, Err::<i32, &str>("e")),
    ));
    assert_eq!(err, Err("e"));
    let err = block_on(try_zip(
        pending_times(1, Err::<i32, &str>("first")),
        pending::<Result<i32, &str>>(),
    ));
    assert_eq!(err, Err("first"));
}

#[test]
fn or_is_biased() {
    for _ in 0..1000 {
        assert_eq!(block_on(or(ready(1), ready(2))), 1);
    }
    assert_eq!(block_on(or(pending_times(5, 1), pending_times(2, 2))), 2);
    assert_eq!(block_on(pending_times(1, 1).or(pending())), 1);
}

#[test]
fn race_is_fair() {
    const RUNS: usize = 10_000;
    let first = (0..RUNS)
        .filter(|_| block_on(race(ready(true), ready(false))))
        .count();
    let share = first as f64 / RUNS as f64;
    assert!(
        (0.4..=0.6).contains(&share),
        "first side won {first} of {RUNS}"
    );
    // The method form is just as fair.
    let first = (0..RUNS)
        .filter(|_| block_on(ready(true).race(ready(false))))
        .count();
    let share = first as f64 / RUNS as f64;
    assert!(
        (0.4..=0.6).contains(&share),
        "first side won {first} of {RUNS}"
    );
}

#[test]
fn race_takes_whichever_finishes() {
    assert_eq!(block_on(race(pending(), ready(2))), 2);
    assert_eq!(block_on(race(pending_times(2, 1), pending())), 1);
}

#[test]
fn race_with_seed_is_reproducible_and_fair() {
    let winners = |seed: u64| {
        (0..64u64)
            .map(|i| block_on(race_with_seed(ready(true), ready(false), seed + i)))
            .collect::<Vec<_>>()
    };
    assert_eq!(winners(9), winners(9));
    let first = winners(1000).into_iter().filter(|&w| w).count();
    assert!((16..48).contains(&first), "first side won {first} of 64");
    // One seeded race makes a sequence of choices: both sides get their turn.
    let mut cx = Context::from_waker(Waker::noop());
    let (a, b) = (Cell::new(0), Cell::new(0));
    let r = race_with_seed(
        poll_fn(|_| {
            a.set(a.get() + 1);
            Poll::<()>::Pending
        }),
        poll_fn(|_| {
            b.set(b.get() + 1);
            Poll::<()>::Pending
        }),
        5,
    );
    let mut r = std::pin::pin!(r);
    for _ in 0..8 {
        assert_eq!(r.as_mut().poll(&mut cx), Poll::Pending);
    }
    assert_eq!((a.get(), b.get()), (8, 8));
    assert_eq!(
        block_on(race_with_seed(pending(), pending_times(2, 3), 0)),
        3
    );
}

#[test]
fn fuse_is_pending_after_completion() {
    use futures_core::FusedFuture;

    let mut cx = Context::from_waker(Waker::noop());
    // The inner future panics if polled again; the fused one never polls it again.
    let mut f = fuse(pending_times(2, 'x'));
    assert!(!f.is_terminated());
    assert_eq!(f.poll(&mut cx), Poll::Pending);
    assert_eq!(f.poll(&mut cx), Poll::Pending);
    assert_eq!(f.poll(&mut cx), Poll::Ready('x'));
    assert!(f.is_terminated());
    for _ in 0..3 {
        assert_eq!(f.poll(&mut cx), Poll::Pending);
    }
    // The inner future (and what it owns) is dropped on completion.
    let rc = Rc::new(());
    let held = rc.clone();
    let mut f = std::pin::pin!(fuse(async move { Rc::strong_count(&held) }));
    assert_eq!(f.as_mut().poll(&mut cx), Poll::Ready(2));
    assert_eq!(Rc::strong_count(&rc), 1);
    // A `!Unpin` future, awaited through `block_on`.
    assert_eq!(
        block_on(fuse(async {
            yield_now().await;
            5
        })),
        5
    );
}

#[test]
fn fuse_does_not_swallow_panics() {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(|| block_on(fuse(async { panic!("inner") })));
    std::panic::set_hook(hook);
    assert!(r.is_err());
}

#[test]
fn catch_unwind_returns_the_panic() {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let caught = block_on(catch_unwind(AssertUnwindSafe(async {
        yield_now().await;
        std::panic::panic_any(17u32)
    })));
    let method = block_on(AssertUnwindSafe(pending_times(2, ())).catch_unwind());
    std::panic::set_hook(hook);
    assert_eq!(caught.unwrap_err().downcast_ref::<u32>(), Some(&17));
    assert!(method.is_ok());
    assert_eq!(block_on(catch_unwind(ready(1))).unwrap(), 1);
}

#[test]
fn boxed_futures_erase_types() {
    let v: Vec<Boxed<u8>> = vec![
        ready(1).boxed(),
        async { 2 }.boxed(),
        pending_times(3, 3).boxed(),
    ];
    assert_eq!(v.into_iter().map(block_on).collect::<Vec<_>>(), [1, 2, 3]);
    let rc = Rc::new(4);
    let local: BoxedLocal<u8> = async move { *rc }.boxed_local();
    assert_eq!(block_on(local), 4);
    // Futures that borrow can be boxed too: the box keeps their lifetime.
    let text = String::from("borrowed");
    let rc = Rc::new(1);
    let send = async { text.len() }.boxed();
    let local = async { text.len() + *rc }.boxed_local();
    assert_eq!((block_on(send), block_on(local)), (8, 9));
}

#[test]
fn block_on_wakes_from_another_thread() {
    let slot: Arc<Mutex<(bool, Option<Waker>)>> = Arc::default();
    let start = Instant::now();
    let waker_thread = {
        let slot = slot.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            let mut guard = slot.lock().unwrap();
            guard.0 = true;
            if let Some(w) = guard.1.take() {
                w.wake();
            }
        })
    };
    let polls = Cell::new(0);
    block_on(poll_fn(|cx| {
        polls.set(polls.get() + 1);
        let mut guard = slot.lock().unwrap();
        if guard.0 {
            Poll::Ready(())
        } else {
            guard.1 = Some(cx.waker().clone());
            Poll::Pending
        }
    }));
    waker_thread.join().unwrap();
    assert!(start.elapsed() >= Duration::from_millis(50));
    // Parked, not spinning: one poll before the wake and (almost always) one after.
    assert!(polls.get() >= 2);
}

#[test]
fn block_on_nested_uses_a_fresh_waker() {
    let out = block_on(async {
        let outer = poll_fn(|cx| Poll::Ready(cx.waker().clone())).await;
        let inner = block_on(poll_fn(|cx| Poll::Ready(cx.waker().clone())));
        assert!(
            !outer.will_wake(&inner),
            "nested block_on must not share the outer waker"
        );
        block_on(async { block_on(ready(1)) + 1 }) + 1
    });
    assert_eq!(out, 3);
}

#[test]
fn block_on_inner_is_not_woken_by_the_outer_waker() {
    // The inner future wakes the *outer* waker on its first poll and then waits for a wake
    // from another thread. If the outer waker reached the inner parker, the inner future
    // would be polled a second time before the thread's wake.
    block_on(async {
        let outer = poll_fn(|cx| Poll::Ready(cx.waker().clone())).await;
        let polls = Cell::new(0);
        let woken = Arc::new(Mutex::new(false));
        block_on(poll_fn(|cx| {
            polls.set(polls.get() + 1);
            if polls.get() == 1 {
                outer.wake_by_ref();
                let (woken, waker) = (woken.clone(), cx.waker().clone());
                thread::spawn(move || {
                    thread::sleep(Duration::from_millis(20));
                    *woken.lock().unwrap() = true;
                    waker.wake();
                });
                return Poll::Pending;
            }
            assert!(
                *woken.lock().unwrap(),
                "inner future polled before its own wake"
            );
            Poll::Ready(())
        }));
        assert_eq!(polls.get(), 2);
    });
}

#[test]
fn block_on_survives_a_panicking_future() {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(|| block_on(async { panic!("inside") }));
    std::panic::set_hook(hook);
    assert!(r.is_err());
    // The cached parker was released by the unwind and still works.
    assert_eq!(block_on(pending_times(3, 9)), 9);
}

#[test]
fn block_on_does_not_poll_after_ready() {
    let polls = Cell::new(0);
    block_on(poll_fn(|cx| {
        polls.set(polls.get() + 1);
        cx.waker().wake_by_ref(); // a stale wake must not cause another poll
        Poll::Ready(())
    }));
    assert_eq!(polls.get(), 1);
    // And the stale notification does not leak into the next call as an extra poll.
    let polls2 = Cell::new(0);
    block_on(poll_fn(|_| {
        polls2.set(polls2.get() + 1);
        if polls2.get() == 1 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }));
    assert_eq!(polls2.get(), 1);
}

#[test]
fn block_on_in_a_thread_local_destructor() {
    struct OnDrop;
    impl Drop for OnDrop {
        fn drop(&mut self) {
            assert_eq!(block_on(pending_times(2, 1)), 1);
        }
    }
    thread_local! { static GUARD: OnDrop = const { OnDrop }; }
    // Thread-locals are destroyed in reverse order of first use. Parker cache first, then
    // the guard: the guard's destructor finds the cache alive.
    thread::spawn(|| {
        block_on(ready(()));
        GUARD.with(|_| {});
    })
    .join()
    .unwrap();
    // Guard first, then the cache: the cache is gone when the guard's destructor runs, and
    // `block_on` falls back to a fresh parker.
    thread::spawn(|| {
        GUARD.with(|_| {});
        block_on(ready(()));
    })
    .join()
    .unwrap();
}
