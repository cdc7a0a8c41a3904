use std::cell::Cell;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::*;
use crate::future::{block_on as run, yield_now};

mod adapters;
mod consumers;
mod sources;

/// A stream of `items` that is pending (waking itself) before every item and before its end.
fn slow<T: Unpin>(items: Vec<T>) -> impl Stream<Item = T> + Unpin {
    let mut items = items.into_iter();
    let mut ready = false;
    poll_fn(move |cx| {
        if !ready {
            ready = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        ready = false;
        Poll::Ready(items.next())
    })
}

/// A stream that panics if polled after it returned `None`.
fn strict<T: Unpin>(items: Vec<T>) -> impl Stream<Item = T> + Unpin {
    let mut items = items.into_iter();
    let mut ended = false;
    poll_fn(move |_| {
        assert!(!ended, "stream polled after it ended");
        let item = items.next();
        ended = item.is_none();
        Poll::Ready(item)
    })
}

/// A stream of `items` and a counter of its polls.
fn counted<T: Unpin>(items: Vec<T>) -> (impl Stream<Item = T> + Unpin, Rc<Cell<usize>>) {
    let polls = Rc::new(Cell::new(0));
    let mut items = items.into_iter();
    let counter = polls.clone();
    let s = poll_fn(move |_| {
        counter.set(counter.get() + 1);
        Poll::Ready(items.next())
    });
    (s, polls)
}

/// Runs `f`, which must panic, with the panic hook silenced, and returns the panic message.
fn expect_panic<R>(f: impl FnOnce() -> R) -> String {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    let Err(payload) = result else {
        panic!("expected a panic");
    };
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

#[test]
fn sources() {
    assert_eq!(run(iter(vec![1, 2]).collect::<Vec<_>>()), [1, 2]);
    assert_eq!(iter(0..5).size_hint(), (5, Some(5)));
    assert_eq!(run(once('x').collect::<String>()), "x");
    assert_eq!(once(()).size_hint(), (1, Some(1)));
    assert_eq!(run(empty::<i32>().collect::<Vec<_>>()), []);
    assert_eq!(empty::<i32>().size_hint(), (0, Some(0)));
    assert_eq!(run(repeat(3).take(3).collect::<Vec<_>>()), [3, 3, 3]);
    assert_eq!(repeat(0).size_hint(), (usize::MAX, None));
}

#[test]
fn unfold_awaits_and_ends() {
    let s = unfold(0u32, |n| async move {
        yield_now().await; // a !Unpin future with a suspension point
        (n < 4).then_some((n * 10, n + 1))
    });
    let mut s = std::pin::pin!(s);
    assert_eq!(run(s.as_mut().collect::<Vec<_>>()), [0, 10, 20, 30]);
    // After the end it stays ended without calling the closure again.
    assert_eq!(run(s.next()), None);
}

#[test]
fn poll_fn_stream() {
    let mut cx = Context::from_waker(Waker::noop());
    let mut s = poll_fn(|_| Poll::<Option<u8>>::Pending);
    assert_eq!(s.poll_next(&mut cx), Poll::Pending);
}

#[test]
fn block_on_iterates() {
    let v: Vec<i32> = block_on(slow(vec![1, 2, 3])).collect();
    assert_eq!(v, [1, 2, 3]);
    assert_eq!(block_on(iter(0..3)).size_hint(), (3, Some(3)));
}

#[test]
fn next_and_poll_next() {
    run(async {
        let mut s = slow(vec!['a']);
        assert_eq!(s.next().await, Some('a'));
        assert_eq!(s.next().await, None);
    });
}

#[test]
fn map_filter_filter_map() {
    let v: Vec<i32> = run(slow(vec![1, 2, 3, 4, 5])
        .map(|n| n * 2)
        .filter(|n| n % 4 != 0)
        .collect());
    assert_eq!(v, [2, 6, 10]);
    let v: Vec<u8> = run(slow(vec!["7", "?", "9"])
        .filter_map(|s: &str| s.parse::<u8>().ok())
        .collect());
    assert_eq!(v, [7, 9]);
    assert_eq!(iter(0..4).map(|n| n).size_hint(), (4, Some(4)));
    assert_eq!(iter(0..4).filter(|_| true).size_hint(), (0, Some(4)));
    assert_eq!(iter(0..4).filter_map(Some).size_hint(), (0, Some(4)));
}

#[test]
fn take_stops_polling() {
    // `repeat` never ends; `take` must end it and not poll once it has yielded `n` items.
    let polls = Rc::new(Cell::new(0));
    let counted = {
        let polls = polls.clone();
        poll_fn(move |_| {
            polls.set(polls.get() + 1);
            Poll::Ready(Some(()))
        })
    };
    let mut t = counted.take(3);
    assert_eq!(run((&mut t).count()), 3);
    assert_eq!(run(t.next()), None);
    assert_eq!(polls.get(), 3);
    assert_eq!(run(strict(vec![1]).take(5).collect::<Vec<_>>()), [1]);
    assert_eq!(repeat(1).take(4).size_hint(), (4, Some(4)));
    assert_eq!(iter(0..2).take(4).size_hint(), (2, Some(2)));
    assert_eq!(run(iter(0..10).take(0).count()), 0);
}

#[test]
fn skip_and_take_while() {
    assert_eq!(run(slow(vec![1, 2, 3]).skip(1).collect::<Vec<_>>()), [2, 3]);
    assert_eq!(run(iter(0..3).skip(10).count()), 0);
    assert_eq!(iter(0..5).skip(2).size_hint(), (3, Some(3)));
    let mut tw = slow(vec![1, 2, 5, 1]).take_while(|&n| n < 3);
    assert_eq!(run((&mut tw).collect::<Vec<_>>()), [1, 2]);
    // Ended for good: the trailing `1` is not yielded.
    assert_eq!(run(tw.next()), None);
    assert_eq!(tw.size_hint(), (0, Some(0)));
    assert_eq!(run(strict(vec![1, 2]).take_while(|_| true).count()), 2);
}

#[test]
fn enumerate_and_chain() {
    let v: Vec<(usize, char)> = run(slow(vec!['a', 'b']).enumerate().collect());
    assert_eq!(v, [(0, 'a'), (1, 'b')]);
    let v: Vec<i32> = run(strict(vec![1]).chain(slow(vec![2, 3])).collect());
    assert_eq!(v, [1, 2, 3]);
    assert_eq!(iter(0..2).chain(iter(0..3)).size_hint(), (5, Some(5)));
    assert_eq!(iter(0..2).chain(repeat(1)).size_hint(), (usize::MAX, None));
}

#[test]
fn zip_pairs_and_polls_both() {
    let v: Vec<(i32, char)> = run(slow(vec![1, 2, 3]).zip(slow(vec!['a', 'b'])).collect());
    assert_eq!(v, [(1, 'a'), (2, 'b')]);
    // A side that is pending does not stop the other from being polled.
    let mut cx = Context::from_waker(Waker::noop());
    let polled = Rc::new(Cell::new(false));
    let p = polled.clone();
    let mut z = poll_fn(|_| Poll::<Option<u8>>::Pending).zip(poll_fn(move |_| {
        p.set(true);
        Poll::Ready(Some(1))
    }));
    assert_eq!(z.poll_next(&mut cx), Poll::Pending);
    assert!(polled.get());
    assert_eq!(iter(0..2).zip(iter(0..5)).size_hint(), (2, Some(2)));
}

#[test]
fn fold_for_each_collect_count() {
    assert_eq!(
        run(slow(vec![1, 2, 3]).fold(String::new(), |s, n| s + &n.to_string())),
        "123"
    );
    let mut sum = 0;
    run(slow(vec![4, 5]).for_each(|n| sum += n));
    assert_eq!(sum, 9);
    assert_eq!(run(slow(vec!['o', 'k']).collect::<String>()), "ok");
    assert_eq!(run(slow(vec![(); 7]).count()), 7);
    // A `!Unpin` stream can be consumed by value.
    let s = unfold(3, |n| async move { (n > 0).then_some(((), n - 1)) });
    assert_eq!(run(s.count()), 3);
}

#[test]
fn or_prefers_first_and_waits_for_both_ends() {
    let v: Vec<i32> = run(iter([1, 2]).or(iter([10])).collect());
    assert_eq!(v, [1, 2, 10]);
    // The second stream ending first does not end the merge while the first still has items.
    let v: Vec<i32> = run(slow(vec![1, 2, 3]).or(empty()).collect());
    assert_eq!(v, [1, 2, 3]);
    // Ended sides are not polled again.
    let v: Vec<i32> = run(strict(vec![1]).or(slow(vec![5, 6])).collect());
    assert_eq!(v, [1, 5, 6]);
    assert_eq!(iter(0..2).or(iter(0..3)).size_hint(), (5, Some(5)));
}

#[test]
fn race_merges_everything() {
    let mut v: Vec<i32> = run(strict(vec![1, 2]).race(slow(vec![3, 4])).collect());
    v.sort();
    assert_eq!(v, [1, 2, 3, 4]);
    let mut v: Vec<i32> = run(slow(vec![1]).race(strict(vec![2, 3])).collect());
    v.sort();
    assert_eq!(v, [1, 2, 3]);
}

#[test]
fn race_is_fair() {
    const RUNS: usize = 10_000;
    let left = (0..RUNS)
        .filter(|_| run(repeat(true).race(repeat(false)).next()) == Some(true))
        .count();
    let share = left as f64 / RUNS as f64;
    assert!(
        (0.4..=0.6).contains(&share),
        "first stream won {left} of {RUNS}"
    );
    // And `or` is not.
    assert!((0..100).all(|_| run(repeat(true).or(repeat(false)).next()) == Some(true)));
}

#[test]
fn boxed_streams() {
    let v: Vec<Boxed<u8>> = vec![once(1).boxed(), iter([2, 3]).boxed()];
    let total: usize = v.into_iter().map(|s| run(s.count())).sum();
    assert_eq!(total, 3);
    let rc = Rc::new(5);
    let s: BoxedLocal<Rc<i32>> = repeat(rc).take(2).boxed_local();
    assert_eq!(run(s.count()), 2);
}
