//! Tests of the constructors solo-lite took from futures-lite's checklist.

use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::slow;
use crate::future::{self, block_on as run, yield_now};
use crate::stream::*;

#[test]
fn pending_never_yields() {
    let mut cx = Context::from_waker(Waker::noop());
    let mut s = pending::<u8>();
    assert_eq!(s.poll_next(&mut cx), Poll::Pending);
    assert_eq!(s.clone().poll_next(&mut cx), Poll::Pending);
    assert_eq!(s.size_hint(), (0, Some(0)));
    // Merged with a stream that ends, the merge waits for the pending side.
    let mut m = once(1).or(pending());
    assert_eq!(m.poll_next(&mut cx), Poll::Ready(Some(1)));
    assert_eq!(m.poll_next(&mut cx), Poll::Pending);
}

#[test]
fn repeat_with_calls_the_closure_per_item() {
    let mut n = 0;
    let v: Vec<u32> = run(repeat_with(|| {
        n += 1;
        n * n
    })
    .take(4)
    .collect());
    assert_eq!(v, [1, 4, 9, 16]);
    assert_eq!(n, 4, "not called for items nobody asked for");
    assert_eq!(repeat_with(|| 0).size_hint(), (usize::MAX, None));
    // A `!Clone` item is fine: each one is made fresh.
    let v: Vec<Rc<u8>> = run(repeat_with(|| Rc::new(1)).take(2).collect());
    assert_eq!(Rc::strong_count(&v[0]), 1);
}

#[test]
fn try_unfold_ends_after_an_error_or_none() {
    let s = try_unfold(0u32, |n| async move {
        yield_now().await;
        match n {
            0..=1 => Ok(Some((n, n + 1))),
            2 => Err("two"),
            _ => unreachable!("called after the error"),
        }
    });
    let mut s = std::pin::pin!(s);
    assert_eq!(
        run(s.as_mut().collect::<Vec<_>>()),
        [Ok(0), Ok(1), Err("two")]
    );
    assert_eq!(run(s.next()), None);
    let s = try_unfold(
        3,
        |n| async move { Ok::<_, ()>((n > 0).then_some((n, n - 1))) },
    );
    let v: Vec<Result<i32, ()>> = run(s.collect());
    assert_eq!(v, [Ok(3), Ok(2), Ok(1)]);
}

#[test]
fn once_future_yields_its_output_once() {
    let s = once_future(async {
        yield_now().await;
        "done"
    });
    let mut s = std::pin::pin!(s);
    assert_eq!(s.size_hint(), (1, Some(1)));
    assert_eq!(run(s.next()), Some("done"));
    assert_eq!(run(s.next()), None);
    assert_eq!(s.size_hint(), (0, Some(0)));
}

#[test]
fn stop_after_future_stops_takes_and_frees() {
    // A future that completes on its third poll.
    fn third_poll<T: Unpin>(value: T) -> impl std::future::Future<Output = T> + Unpin {
        let mut polls = 0;
        let mut value = Some(value);
        future::poll_fn(move |cx| {
            polls += 1;
            if polls < 3 {
                cx.waker().wake_by_ref();
                Poll::Pending
            } else {
                Poll::Ready(value.take().expect("polled after completion"))
            }
        })
    }

    run(async {
        let mut s = stop_after_future(iter(1..), third_poll("reason"));
        assert!(!s.is_stopped());
        assert_eq!(s.next().await, Some(1));
        assert_eq!(s.next().await, Some(2));
        assert_eq!(s.size_hint(), (0, None));
        assert_eq!(s.next().await, None);
        assert!(s.is_stopped());
        assert_eq!(s.size_hint(), (0, Some(0)));
        assert_eq!(s.take_result(), Some("reason"));
        assert_eq!(s.take_result(), None);
        assert!(s.take_future().is_none());
        assert_eq!(s.next().await, None);

        // Taking the future out frees the stream: it runs to its own end.
        let mut s = stop_after_future(slow(vec![1, 2, 3, 4]), third_poll(()));
        assert_eq!(s.next().await, Some(1));
        assert!(s.take_future().is_some());
        assert!(!s.is_stopped());
        let rest: Vec<i32> = (&mut s).collect().await;
        assert_eq!(rest, [2, 3, 4]);
        assert_eq!(s.take_result(), None);

        // The stream ending first drops the future unfinished.
        let mut s = stop_after_future(iter([1]), future::pending::<()>());
        assert_eq!((&mut s).count().await, 1);
        assert!(s.is_stopped());
        assert_eq!(s.take_result(), None);
    });
}

#[test]
fn boxed_streams_may_borrow() {
    let words = vec![String::from("a"), String::from("bc")];
    let lens = iter(&words).map(String::len).boxed();
    assert_eq!(run(lens.collect::<Vec<_>>()), [1, 2]);
    let rc = Rc::new(1);
    let local = iter(&words).map(|w| w.len() + *rc).boxed_local();
    assert_eq!(run(local.collect::<Vec<_>>()), [2, 3]);
}
