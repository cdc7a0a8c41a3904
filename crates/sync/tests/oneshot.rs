//! Tests of the local oneshot channel.

mod common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::task::Poll;

use common::{Tracked, counter, hook_waker, poll};
use futures_core::FusedFuture;
use solo_executor::LocalExecutor;
use solo_lite::future::block_on;
use solo_sync::channel::oneshot;
use solo_sync::channel::{RecvError, TryRecvError};

#[test]
fn send_then_receive() {
    let (tx, rx) = oneshot::channel();
    assert!(!tx.is_closed());
    tx.send(5).unwrap();
    assert_eq!(block_on(rx), Ok(5));
}

#[test]
fn receiver_waits_and_is_woken_once() {
    let (tx, mut rx) = oneshot::channel();
    let (w, count) = counter();
    assert!(poll(&mut rx, &w).is_pending());
    assert!(poll(&mut rx, &w).is_pending());
    assert!(!rx.is_terminated());
    tx.send("hi").unwrap();
    assert_eq!(
        count.get(),
        1,
        "one wake for the send (and the sender's drop)"
    );
    assert_eq!(poll(&mut rx, &w), Poll::Ready(Ok("hi")));
    assert!(rx.is_terminated());
    // Polled again after completion: an error, not a panic.
    assert_eq!(poll(&mut rx, &w), Poll::Ready(Err(RecvError)));
}

#[test]
fn sender_dropped_without_sending() {
    let (tx, mut rx) = oneshot::channel::<u8>();
    let (w, count) = counter();
    assert!(poll(&mut rx, &w).is_pending());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    drop(tx);
    assert_eq!(count.get(), 1);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    assert_eq!(poll(&mut rx, &w), Poll::Ready(Err(RecvError)));
}

#[test]
fn receiver_dropped_hands_the_value_back() {
    let drops = Rc::new(Cell::new(0));
    let (mut tx, rx) = oneshot::channel();
    let (w, count) = counter();
    {
        let mut closed = tx.closed();
        assert!(poll(&mut closed, &w).is_pending());
        drop(rx);
        assert_eq!(count.get(), 1);
        assert!(poll(&mut closed, &w).is_ready());
    }
    assert!(tx.is_closed());
    let back = tx.send(Tracked::new(1, &drops)).unwrap_err();
    assert_eq!(back.id, 1);
    assert_eq!(drops.get(), 0);
}

#[test]
fn close_keeps_a_value_sent_before() {
    let (tx, mut rx) = oneshot::channel();
    tx.send(1).unwrap();
    rx.close();
    assert_eq!(rx.try_recv(), Ok(1));

    let (tx, mut rx) = oneshot::channel();
    rx.close();
    assert!(tx.is_closed());
    assert_eq!(tx.send(2), Err(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn an_unreceived_value_is_dropped_with_the_receiver() {
    let drops = Rc::new(Cell::new(0));
    let (tx, rx) = oneshot::channel();
    tx.send(Tracked::new(1, &drops)).unwrap();
    assert_eq!(drops.get(), 0);
    drop(rx);
    assert_eq!(drops.get(), 1);

    // Received: dropped once, by the receiver's owner.
    let (tx, rx) = oneshot::channel();
    tx.send(Tracked::new(2, &drops)).unwrap();
    let value = block_on(rx).unwrap();
    assert_eq!(drops.get(), 1);
    drop(value);
    assert_eq!(drops.get(), 2);
}

#[test]
fn a_dropped_closed_future_lets_go_of_its_waker() {
    // Like every other future of the crate, a `closed()` future dropped before it completes
    // leaves nothing behind: its waker (which keeps a task alive) is not held until the
    // sender goes, and is not woken when the receiver closes.
    let (mut tx, rx) = oneshot::channel::<()>();
    let (w, count) = counter();
    let mut closed = tx.closed();
    assert!(poll(&mut closed, &w).is_pending());
    drop(closed);
    assert_eq!(
        std::sync::Arc::strong_count(&count),
        2,
        "only `w` and `count` hold it"
    );
    drop(rx);
    assert_eq!(count.get(), 0);
    assert!(tx.is_closed());
    block_on(tx.closed());
}

#[test]
fn waker_that_polls_the_receiver_at_once() {
    // The receiver's waker polls it inside `send`, before the sender is even dropped.
    let (tx, rx) = oneshot::channel();
    let rx = Rc::new(RefCell::new(rx));
    let got = Rc::new(Cell::new(None));
    let (hook_rx, hook_got) = (rx.clone(), got.clone());
    let (w, hook) = hook_waker(move || {
        let poll = poll(&mut *hook_rx.borrow_mut(), std::task::Waker::noop());
        if let Poll::Ready(r) = poll {
            hook_got.set(Some(r));
        }
    });
    assert!(poll(&mut *rx.borrow_mut(), &w).is_pending());
    tx.send(9).unwrap();
    assert_eq!(hook.get(), 1);
    assert_eq!(got.get(), Some(Ok(9)));
}

#[test]
fn replies_between_tasks() {
    let ex = LocalExecutor::new();
    let total = block_on(ex.run(async {
        let mut replies = Vec::new();
        for i in 0..100u64 {
            let (tx, rx) = oneshot::channel();
            ex.spawn(async move {
                solo_lite::future::yield_now().await;
                tx.send(i * 2).unwrap();
            })
            .detach();
            replies.push(rx);
        }
        let mut total = 0;
        for rx in replies {
            total += rx.await.unwrap();
        }
        total
    }));
    assert_eq!(total, 9900);
}
