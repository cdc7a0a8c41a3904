//! Tests of the adapters solo-lite took from futures-lite's checklist.

use std::cell::Cell;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::{counted, expect_panic, slow, strict};
use crate::future::{block_on as run, yield_now};
use crate::stream::*;

#[test]
fn then_awaits_each_future_in_order() {
    let calls = Cell::new(0);
    let v: Vec<u32> = run(slow(vec![1, 2, 3])
        .then(|n| {
            calls.set(calls.get() + 1);
            async move {
                // A future that is pending before its output.
                yield_now().await;
                n * 10
            }
        })
        .collect());
    assert_eq!(v, [10, 20, 30]);
    assert_eq!(calls.get(), 3);
    assert_eq!(run(empty::<u8>().then(|n| async move { n }).count()), 0);
    // The outer stream is not polled while a future runs.
    let (s, polls) = counted(vec![1, 2]);
    let mut cx = Context::from_waker(Waker::noop());
    let t = s.then(|n| async move {
        yield_now().await;
        n
    });
    let mut t = std::pin::pin!(t);
    assert_eq!(t.as_mut().poll_next(&mut cx), Poll::Pending);
    assert_eq!(polls.get(), 1);
    // The running future's item counts (the counted stream gives no hint of its own).
    assert_eq!(t.size_hint(), (1, None));
    assert_eq!(t.as_mut().poll_next(&mut cx), Poll::Ready(Some(1)));
    assert_eq!(polls.get(), 1);
    assert_eq!(
        iter(0..3).then(crate::future::ready).size_hint(),
        (3, Some(3))
    );
}

#[test]
fn then_does_not_swallow_panics() {
    let message = expect_panic(|| {
        run(iter([1, 2])
            .then(|n| async move {
                assert!(n < 2, "item {n} failed");
                n
            })
            .count())
    });
    assert_eq!(message, "item 2 failed");
}

#[test]
fn flat_map_and_flatten_concatenate() {
    let v: Vec<u32> = run(slow(vec![0, 3, 0, 2])
        .flat_map(|n| slow((0..n).collect()))
        .collect());
    assert_eq!(v, [0, 1, 2, 0, 1]);
    let v: Vec<char> = run(iter(["ab", "", "c"])
        .flat_map(|s| iter(s.chars()))
        .collect());
    assert_eq!(v, ['a', 'b', 'c']);
    assert_eq!(run(empty::<u8>().flat_map(|_| once(1)).count()), 0);
    let nested = slow(vec![slow(vec![1, 2]), slow(vec![]), slow(vec![3])]);
    assert_eq!(run(nested.flatten().collect::<Vec<_>>()), [1, 2, 3]);
    // Streams of streams that are empty, or end after one item.
    assert_eq!(run(iter(vec![empty::<u8>(), empty()]).flatten().count()), 0);
    let mut f = iter([strict(vec![1]), strict(vec![2])]).flatten();
    assert_eq!(run((&mut f).collect::<Vec<_>>()), [1, 2]);
    // Size hints: the current inner stream's lower bound; exact only at the end of the outer.
    assert_eq!(iter([iter(0..2)]).flatten().size_hint(), (0, None));
    let mut f = iter([iter(0..3)]).flatten();
    assert_eq!(run(f.next()), Some(0));
    assert_eq!(f.size_hint(), (2, Some(2)));
    assert_eq!(
        empty::<Iter<std::ops::Range<u8>>>().flatten().size_hint(),
        (0, Some(0))
    );
    assert_eq!(iter(0..3).flat_map(|_| once(1)).size_hint(), (0, None));
}

#[test]
fn flatten_waits_on_a_pending_inner_stream() {
    let mut cx = Context::from_waker(Waker::noop());
    let mut f = iter([pending::<u8>()]).chain(pending()).flatten();
    // No item and no end: pending, without spinning through the outer stream.
    assert_eq!(f.poll_next(&mut cx), Poll::Pending);
    assert_eq!(f.poll_next(&mut cx), Poll::Pending);
}

#[test]
fn map_while_is_not_fused() {
    let mut s = iter([1, 2, -1, 3]).map_while(|n| u32::try_from(n).ok());
    assert_eq!(run((&mut s).collect::<Vec<_>>()), [1, 2]);
    assert_eq!(run(s.next()), Some(3));
    assert_eq!(run(s.next()), None);
    let v: Vec<u8> = run(slow(vec![1, 2]).map_while(Some).collect());
    assert_eq!(v, [1, 2]);
    assert_eq!(iter(0..4).map_while(Some).size_hint(), (0, Some(4)));
    // `fuse` ends it for good.
    let mut s = iter([1, -1, 3]).map_while(|n| u32::try_from(n).ok()).fuse();
    assert_eq!(run((&mut s).count()), 1);
    assert_eq!(run(s.next()), None);
}

#[test]
fn skip_while_stops_asking() {
    let calls = Cell::new(0);
    let v: Vec<i32> = run(slow(vec![1, 2, 5, 1, 0])
        .skip_while(|&n| {
            calls.set(calls.get() + 1);
            n < 3
        })
        .collect());
    assert_eq!(v, [5, 1, 0]);
    assert_eq!(
        calls.get(),
        3,
        "the predicate is not called after its first `false`"
    );
    assert_eq!(run(iter([1, 2]).skip_while(|_| true).count()), 0);
    assert_eq!(run(empty::<u8>().skip_while(|_| false).count()), 0);
    let mut s = iter(0..5).skip_while(|&n| n < 2);
    assert_eq!(s.size_hint(), (0, Some(5)));
    assert_eq!(run(s.next()), Some(2));
    assert_eq!(s.size_hint(), (2, Some(2)));
}

#[test]
fn step_by_yields_every_nth() {
    assert_eq!(
        run(slow((0..10).collect()).step_by(3).collect::<Vec<_>>()),
        [0, 3, 6, 9]
    );
    assert_eq!(run(iter(0..3).step_by(1).collect::<Vec<_>>()), [0, 1, 2]);
    assert_eq!(run(iter(0..3).step_by(10).collect::<Vec<_>>()), [0]);
    assert_eq!(run(empty::<u8>().step_by(2).count()), 0);
    assert_eq!(iter(0..10).step_by(3).size_hint(), (4, Some(4)));
    assert_eq!(iter(0..9).step_by(3).size_hint(), (3, Some(3)));
    assert_eq!(empty::<u8>().step_by(3).size_hint(), (0, Some(0)));
    assert_eq!(repeat(1).step_by(2).size_hint(), (usize::MAX / 2 + 1, None));
    let mut s = iter(0..10).step_by(4);
    assert_eq!(run(s.next()), Some(0));
    assert_eq!(s.size_hint(), (2, Some(2)));
}

#[test]
fn step_by_zero_panics() {
    let message = expect_panic(|| iter(0..3).step_by(0));
    assert!(message.contains("greater than zero"), "{message}");
}

#[test]
fn cloned_and_copied() {
    let words = [String::from("a"), String::from("b")];
    let v: Vec<String> = run(slow(words.iter().collect()).cloned().collect());
    assert_eq!(v, words);
    let v: Vec<u8> = run(iter(&[1, 2, 3]).copied().collect());
    assert_eq!(v, [1, 2, 3]);
    assert_eq!(iter(&[1, 2]).copied().size_hint(), (2, Some(2)));
    assert_eq!(iter(&words).cloned().size_hint(), (2, Some(2)));
}

#[test]
fn scan_threads_state_and_ends_for_good() {
    let v: Vec<i32> = run(slow(vec![1, 2, 3, 4])
        .scan(0, |total, n| {
            *total += n;
            (*total <= 6).then_some(*total)
        })
        .collect());
    assert_eq!(v, [1, 3, 6]);
    // After the closure's `None` the inner stream is not polled again.
    let (s, polls) = counted(vec![1, 2, 3]);
    let mut s = s.scan((), |_, n| (n < 2).then_some(n));
    assert_eq!(run((&mut s).collect::<Vec<_>>()), [1]);
    assert_eq!(polls.get(), 2);
    assert_eq!(run(s.next()), None);
    assert_eq!(polls.get(), 2);
    assert_eq!(s.size_hint(), (0, Some(0)));
    assert_eq!(
        iter(0..3).scan((), |_, n| Some(n)).size_hint(),
        (0, Some(3))
    );
    assert_eq!(run(empty::<u8>().scan(0, |_, n| Some(n)).count()), 0);
}

#[test]
fn scan_and_inspect_do_not_swallow_panics() {
    let message = expect_panic(|| {
        run(iter([1])
            .scan((), |_, _: i32| -> Option<i32> { panic!("scan") })
            .count())
    });
    assert_eq!(message, "scan");
    let message = expect_panic(|| run(iter([1]).inspect(|_| panic!("inspect")).count()));
    assert_eq!(message, "inspect");
}

#[test]
fn fuse_ends_for_good() {
    use futures_core::stream::FusedStream;

    // A stream that yields again after its end.
    let mut n = 0;
    let restarts = poll_fn(move |_| {
        n += 1;
        Poll::Ready((n % 2 == 1).then_some(n))
    });
    let mut s = restarts.fuse();
    assert!(!s.is_terminated());
    assert_eq!(run(s.next()), Some(1));
    assert_eq!(run(s.next()), None);
    assert!(s.is_terminated());
    assert_eq!(run(s.next()), None);
    assert_eq!(s.size_hint(), (0, Some(0)));
    // A pending inner stream is not an end.
    let mut s = slow(vec![7]).fuse();
    let mut cx = Context::from_waker(Waker::noop());
    assert_eq!(s.poll_next(&mut cx), Poll::Pending);
    assert!(!s.is_terminated());
    assert_eq!(run(s.next()), Some(7));
    assert_eq!(run(s.next()), None);
    // A strict stream panics if polled after its end; fused, it never is.
    let mut s = strict(vec![1]).fuse();
    assert_eq!(run((&mut s).count()), 1);
    assert_eq!(run(s.next()), None);
    assert_eq!(iter(0..2).fuse().size_hint(), (2, Some(2)));
}

#[test]
fn cycle_repeats_and_empty_stays_empty() {
    let v: Vec<i32> = run(iter([1, 2]).cycle().take(5).collect());
    assert_eq!(v, [1, 2, 1, 2, 1]);
    assert_eq!(run(empty::<u8>().cycle().next()), None);
    assert_eq!(empty::<u8>().cycle().size_hint(), (0, Some(0)));
    assert_eq!(iter([1]).cycle().size_hint(), (usize::MAX, None));
    assert_eq!(iter([1]).filter(|_| true).cycle().size_hint(), (0, None));
    // Adapters are `Clone` when their parts are, so they cycle too.
    let v: Vec<i32> = run(iter([1, 2]).map(|n| n * 10).cycle().take(3).collect());
    assert_eq!(v, [10, 20, 10]);
    // A pending stream is cloned from its start, pending included.
    let s = poll_fn({
        let mut items = vec![1, 2].into_iter();
        let mut pending_first = false;
        move |cx| {
            pending_first = !pending_first;
            if pending_first {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            Poll::Ready(items.next())
        }
    });
    let v: Vec<i32> = run(s.cycle().take(4).collect());
    assert_eq!(v, [1, 2, 1, 2]);
}

#[test]
fn inspect_sees_every_item() {
    let seen = Rc::new(Cell::new(0));
    let s = seen.clone();
    let v: Vec<i32> = run(slow(vec![1, 2, 3])
        .inspect(move |n| s.set(s.get() + n))
        .collect());
    assert_eq!(v, [1, 2, 3]);
    assert_eq!(seen.get(), 6);
    assert_eq!(iter(0..3).inspect(|_| {}).size_hint(), (3, Some(3)));
}

#[test]
fn drain_takes_what_is_ready() {
    // Two items ready, then pending, then one more.
    let s = iter([1, 2]).chain(once_future(async {
        yield_now().await;
        3
    }));
    let mut s = std::pin::pin!(s);
    let now: Vec<i32> = run(s.drain().collect());
    assert_eq!(now, [1, 2]);
    let mut d = s.drain();
    assert_eq!(d.size_hint(), (0, Some(1)));
    let _: &mut _ = d.get_mut();
    let _: &_ = d.get_ref();
    let s = d.into_inner();
    assert_eq!(run(s.next()), Some(3));
    assert_eq!(run(s.drain().count()), 0);
    // An ended stream drains to nothing.
    assert_eq!(run(empty::<u8>().drain().count()), 0);
}

#[test]
fn or_race_functions_and_seeded_race() {
    assert_eq!(
        run(or(iter([1, 2]), iter([10])).collect::<Vec<_>>()),
        [1, 2, 10]
    );
    let mut v: Vec<i32> = run(race(slow(vec![1, 2]), strict(vec![3])).collect());
    v.sort();
    assert_eq!(v, [1, 2, 3]);
    let merge =
        |seed| -> Vec<u32> { run(race_with_seed(iter(0..8), iter(100..108), seed).collect()) };
    assert_eq!(merge(3), merge(3));
    let m = merge(3);
    assert_eq!(m.len(), 16);
    // Each side keeps its order.
    let left: Vec<u32> = m.iter().copied().filter(|&n| n < 100).collect();
    assert_eq!(left, (0..8).collect::<Vec<_>>());
    // Different seeds give different interleavings (16 choose 8 of them).
    assert!((0..8).any(|seed| merge(seed) != merge(3)));
}

#[test]
fn existing_adapters_are_clone() {
    fn is_clone<T: Clone>(_: &T) {}
    let s = iter(0..4)
        .map(|n| n + 1)
        .filter(|n| n % 2 == 0)
        .filter_map(Some)
        .take_while(|_| true)
        .zip(iter(0..4))
        .enumerate()
        .skip(0)
        .take(4);
    is_clone(&s);
    is_clone(&iter(0..1).chain(once(1)).or(empty()).race(empty()));
    is_clone(&iter(0..2).then(crate::future::ready));
    is_clone(&iter(0..2).flat_map(once));
    is_clone(&iter([once(1)]).flatten());
    assert_eq!(run(s.clone().count()), run(s.count()));
}
