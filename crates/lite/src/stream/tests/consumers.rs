//! Tests of the consuming methods solo-lite took from futures-lite's checklist.

use std::collections::BTreeSet;
use std::task::Poll;

use super::{counted, expect_panic, slow, strict};
use crate::future::block_on as run;
use crate::stream::*;

#[test]
fn try_next_transposes() {
    run(async {
        let mut s = slow(vec![Ok(1), Err("bad"), Ok(2)]);
        assert_eq!(s.try_next().await, Ok(Some(1)));
        assert_eq!(s.try_next().await, Err("bad"));
        assert_eq!(s.try_next().await, Ok(Some(2)));
        assert_eq!(s.try_next().await, Ok(None));
        assert_eq!(empty::<Result<u8, ()>>().try_next().await, Ok(None));
    });
}

#[test]
fn try_collect_stops_at_the_first_error() {
    let ok: Result<Vec<i32>, &str> = run(slow(vec![Ok(1), Ok(2)]).try_collect());
    assert_eq!(ok, Ok(vec![1, 2]));
    let (s, polls) = counted(vec![Ok(1), Err("no"), Ok(3)]);
    let err: Result<BTreeSet<i32>, &str> = run(s.try_collect());
    assert_eq!(err, Err("no"));
    assert_eq!(polls.get(), 2, "not polled after the error");
    let empty: Result<String, ()> = run(empty::<Result<char, ()>>().try_collect());
    assert_eq!(empty, Ok(String::new()));
}

#[test]
fn partition_and_unzip() {
    let (even, odd): (Vec<i32>, Vec<i32>) =
        run(slow(vec![1, 2, 3, 4, 5]).partition(|n| n % 2 == 0));
    assert_eq!((even, odd), (vec![2, 4], vec![1, 3, 5]));
    let (a, b): (Vec<u8>, Vec<u8>) = run(empty().partition(|_: &u8| true));
    assert!(a.is_empty() && b.is_empty());
    let (nums, text): (Vec<i32>, String) = run(slow(vec![(1, 'a'), (2, 'b')]).unzip());
    assert_eq!((nums, text.as_str()), (vec![1, 2], "ab"));
    let (x, y): (Vec<u8>, Vec<u8>) = run(empty::<(u8, u8)>().unzip());
    assert!(x.is_empty() && y.is_empty());
}

#[test]
fn try_fold_stops_at_either_error() {
    run(async {
        let mut s = slow(vec![Ok(1), Ok(2), Err("stream"), Ok(4)]);
        assert_eq!(s.try_fold(0, |acc, n| Ok(acc + n)).await, Err("stream"));
        // The stream is borrowed: the rest is still there.
        assert_eq!(s.next().await, Some(Ok(4)));

        let mut s = slow(vec![Ok::<u8, &str>(200), Ok(100), Ok(1)]);
        let sum = s
            .try_fold(0u8, |acc, n| acc.checked_add(n).ok_or("overflow"))
            .await;
        assert_eq!(sum, Err("overflow"));
        assert_eq!(s.next().await, Some(Ok(1)));

        let mut s = iter([Ok::<_, ()>(1), Ok(2), Ok(3)]);
        assert_eq!(s.try_fold(0, |acc, n| Ok(acc + n)).await, Ok(6));
        let mut e = empty::<Result<i32, ()>>();
        assert_eq!(e.try_fold(7, |acc, n| Ok(acc + n)).await, Ok(7));
    });
}

#[test]
fn try_for_each_stops_at_the_first_error() {
    run(async {
        let mut seen = Vec::new();
        let mut s = slow(vec![1, 2, 3, 4]);
        let r = s
            .try_for_each(|n| {
                if n == 3 {
                    return Err(n);
                }
                seen.push(n);
                Ok(())
            })
            .await;
        assert_eq!((r, &seen[..]), (Err(3), &[1, 2][..]));
        assert_eq!(s.next().await, Some(4));
        assert_eq!(iter([1, 2]).try_for_each(|_| Ok::<_, ()>(())).await, Ok(()));
    });
}

#[test]
fn nth_last_find_find_map_position() {
    run(async {
        let mut s = slow(vec!['a', 'b', 'c', 'd', 'e']);
        assert_eq!(s.nth(1).await, Some('b'));
        assert_eq!(s.nth(0).await, Some('c'));
        assert_eq!(s.nth(5).await, None);
        assert_eq!(empty::<u8>().nth(0).await, None);

        assert_eq!(slow(vec![1, 2, 3]).last().await, Some(3));
        assert_eq!(empty::<u8>().last().await, None);

        let mut s = slow(vec![1, 4, 6, 7]);
        assert_eq!(s.find(|n| n % 2 == 0).await, Some(4));
        assert_eq!(s.find(|n| n % 2 == 0).await, Some(6));
        assert_eq!(s.find(|n| n % 2 == 0).await, None);

        let mut s = slow(vec!["x", "12", "y", "7"]);
        assert_eq!(s.find_map(|w| w.parse::<u8>().ok()).await, Some(12));
        assert_eq!(s.find_map(|w| w.parse::<u8>().ok()).await, Some(7));
        assert_eq!(s.find_map(|w| w.parse::<u8>().ok()).await, None);

        let mut s = slow(vec![3, 5, 8, 9, 10]);
        assert_eq!(s.position(|n| n % 2 == 0).await, Some(2));
        assert_eq!(s.position(|n| n % 2 == 0).await, Some(1));
        assert_eq!(s.position(|_| true).await, None);
    });
}

#[test]
fn all_and_any_short_circuit() {
    run(async {
        let (mut s, polls) = counted(vec![2, 3, 4, 6]);
        assert!(!s.all(|n| n % 2 == 0).await);
        assert_eq!(polls.get(), 2, "`all` stops at the first `false`");
        assert!(s.all(|n| n % 2 == 0).await);
        assert!(empty::<u8>().all(|_| false).await);

        let (mut s, polls) = counted(vec![1, 4, 5]);
        assert!(s.any(|n| n % 2 == 0).await);
        assert_eq!(polls.get(), 2, "`any` stops at the first `true`");
        assert!(!s.any(|n| n % 2 == 0).await);
        assert!(!empty::<u8>().any(|_| true).await);
        assert!(slow(vec![1, 2]).any(|n| n == 2).await);
        assert!(slow(vec![1, 2]).all(|n| n > 0).await);
    });
}

#[test]
fn consumers_do_not_poll_an_ended_stream() {
    run(async {
        assert_eq!(strict(vec![1]).nth(3).await, None);
        assert_eq!(strict(vec![1]).last().await, Some(1));
        assert_eq!(strict(vec![1]).find(|_| false).await, None);
        assert!(strict(vec![1]).all(|_| true).await);
        assert!(!strict(vec![1]).any(|_| false).await);
        assert_eq!(strict(vec![1]).position(|_| false).await, None);
        let pairs: (Vec<u8>, Vec<u8>) = strict(vec![(1, 2)]).unzip().await;
        assert_eq!(pairs, (vec![1], vec![2]));
    });
}

#[test]
fn consumers_do_not_swallow_panics() {
    let message = expect_panic(|| run(iter([1]).all(|_| panic!("all"))));
    assert_eq!(message, "all");
    let message = expect_panic(|| run(iter([Ok::<i32, ()>(1)]).try_fold(0, |_, _| panic!("fold"))));
    assert_eq!(message, "fold");
}

#[test]
fn try_fold_polled_after_completion_panics() {
    use std::future::Future;
    use std::task::{Context, Waker};

    let mut cx = Context::from_waker(Waker::noop());
    let mut s = iter([Ok::<i32, ()>(1)]);
    let mut f = s.try_fold(0, |a, b| Ok(a + b));
    assert_eq!(std::pin::Pin::new(&mut f).poll(&mut cx), Poll::Ready(Ok(1)));
    let message = expect_panic(|| std::pin::Pin::new(&mut f).poll(&mut cx));
    assert!(message.contains("after completion"), "{message}");
}

#[test]
fn blocking_iterator_consumers() {
    assert_eq!(block_on(slow(vec![1, 2, 3])).count(), 3);
    assert_eq!(block_on(slow(vec![1, 2, 3])).last(), Some(3));
    assert_eq!(block_on(slow(vec![1, 2, 3])).nth(1), Some(2));
    assert_eq!(
        block_on(slow(vec![1, 2, 3])).fold(String::new(), |s, n| s + &n.to_string()),
        "123"
    );
    let mut seen = Vec::new();
    block_on(slow(vec![1, 2])).for_each(|n| seen.push(n));
    assert_eq!(seen, [1, 2]);
    let mut it = block_on(slow(vec![1, 2, 3, 4]));
    assert!(it.any(|n| n == 2));
    assert!(!it.all(|n| n < 4));
    assert_eq!(it.next(), None);
    let mut it = block_on(slow(vec!["a", "1", "b", "2"]));
    assert_eq!(it.find(|s| s.parse::<u8>().is_ok()), Some("1"));
    assert_eq!(it.find_map(|s| s.parse::<u8>().ok()), Some(2));
    assert_eq!(block_on(slow(vec![5, 6, 7])).position(|n| n == 7), Some(2));
}
