//! Tests of the local watch channel.

mod common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::task::Poll;

use common::{counter, hook_waker, poll};
use solo_executor::LocalExecutor;
use solo_lite::future::block_on;
use solo_sync::channel::watch;
use solo_sync::channel::{RecvError, SendError};

#[test]
fn changed_sees_the_latest_value() {
    let (tx, mut rx) = watch::channel(0);
    assert_eq!(rx.has_changed(), Ok(false));
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    assert_eq!(rx.has_changed(), Ok(true));
    {
        let r = rx.borrow();
        assert!(r.has_changed());
        assert_eq!(*r, 2);
    }
    assert_eq!(rx.has_changed(), Ok(true), "borrow does not mark seen");
    block_on(async {
        rx.changed().await.unwrap(); // two sends, one change
    });
    assert_eq!(rx.has_changed(), Ok(false));
    assert_eq!(*rx.borrow_and_update(), 2);
    tx.send(3).unwrap();
    let r = rx.borrow_and_update();
    assert!(r.has_changed());
    assert_eq!(*r, 3);
    drop(r);
    assert_eq!(rx.has_changed(), Ok(false));
}

#[test]
fn sender_gone() {
    let (tx, mut rx) = watch::channel("a");
    let (w, count) = counter();
    tx.send("b").unwrap();
    drop(tx);
    // The value sent before the drop is still reported, then the error.
    assert_eq!(rx.has_changed(), Ok(true));
    assert_eq!(block_on(rx.changed()), Ok(()));
    assert_eq!(rx.has_changed(), Err(RecvError));
    assert_eq!(block_on(rx.changed()), Err(RecvError));
    assert_eq!(*rx.borrow(), "b");

    let (tx, mut rx) = watch::channel(0);
    let mut changed = rx.changed();
    assert!(poll(&mut changed, &w).is_pending());
    drop(tx);
    assert_eq!(count.get(), 1);
    assert_eq!(poll(&mut changed, &w), Poll::Ready(Err(RecvError)));
}

#[test]
fn receivers_gone() {
    let (tx, rx) = watch::channel(0);
    let rx2 = rx.clone();
    assert_eq!(tx.receiver_count(), 2);
    let (w, count) = counter();
    let mut closed = tx.closed();
    assert!(poll(&mut closed, &w).is_pending());
    drop(rx);
    assert_eq!(count.get(), 0);
    drop(rx2);
    assert_eq!(count.get(), 1);
    assert!(poll(&mut closed, &w).is_ready());
    drop(closed);
    assert!(tx.is_closed());
    // send fails and leaves the old value; send_replace always stores.
    assert_eq!(tx.send(5), Err(SendError(5)));
    assert_eq!(*tx.borrow(), 0);
    assert_eq!(tx.send_replace(6), 0);
    // A new subscriber has seen the current value; the channel is open again.
    let rx = tx.subscribe();
    assert_eq!(rx.has_changed(), Ok(false));
    assert_eq!(*rx.borrow(), 6);
    assert!(!tx.is_closed());
    // A closed() future woken earlier re-parks if receivers came back.
    let mut closed = tx.closed();
    assert!(poll(&mut closed, &w).is_pending());
    drop(rx);
    assert!(poll(&mut closed, &w).is_ready());
}

#[test]
fn send_modify_and_send_if_modified() {
    let (tx, mut rx) = watch::channel(vec![1]);
    let (w, count) = counter();
    let mut changed = rx.changed();
    assert!(poll(&mut changed, &w).is_pending());
    assert!(!tx.send_if_modified(|_| false));
    assert_eq!(count.get(), 0, "no change, no wake");
    tx.send_modify(|v| v.push(2));
    assert_eq!(count.get(), 1);
    assert_eq!(poll(&mut changed, &w), Poll::Ready(Ok(())));
    drop(changed);
    assert!(tx.send_if_modified(|v| {
        v.push(3);
        true
    }));
    assert_eq!(*rx.borrow_and_update(), [1, 2, 3]);
}

#[test]
fn clones_share_what_was_seen() {
    let (tx, mut rx) = watch::channel(0);
    tx.send(1).unwrap();
    let twin = rx.clone();
    rx.mark_unchanged();
    assert_eq!(rx.has_changed(), Ok(false));
    assert_eq!(twin.has_changed(), Ok(true));
    assert!(rx.same_channel(&twin));
}

#[test]
fn one_send_wakes_each_waiting_receiver_once() {
    let (tx, rx) = watch::channel(0);
    let mut rxs: Vec<_> = (0..4).map(|_| rx.clone()).collect();
    let counters: Vec<_> = (0..4).map(|_| counter()).collect();
    let mut futs: Vec<_> = rxs.iter_mut().map(|rx| rx.changed()).collect();
    for (fut, (w, _)) in futs.iter_mut().zip(&counters) {
        assert!(poll(fut, w).is_pending());
        assert!(poll(fut, w).is_pending());
    }
    // Cancel one: it is not woken.
    let cancelled = futs.pop();
    drop(cancelled);
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    let wakes: Vec<_> = counters.iter().map(|(_, c)| c.get()).collect();
    assert_eq!(wakes, [1, 1, 1, 0]);
    for (fut, (w, _)) in futs.iter_mut().zip(&counters) {
        assert_eq!(poll(fut, w), Poll::Ready(Ok(())));
    }
}

#[test]
fn a_woken_receiver_may_borrow_at_once() {
    // The wake comes after the value's borrow has ended: a waker that reads the value (as a
    // re-entrant poll would) works, inside send_modify.
    let (tx, rx) = watch::channel(String::from("a"));
    let rx = Rc::new(RefCell::new(rx));
    let read = Rc::new(RefCell::new(String::new()));
    let (hook_rx, hook_read) = (rx.clone(), read.clone());
    let (w, hook) = hook_waker(move || {
        *hook_read.borrow_mut() = hook_rx.borrow_mut().borrow_and_update().clone();
    });
    {
        let mut rx = rx.borrow_mut();
        let mut changed = rx.changed();
        assert!(poll(&mut changed, &w).is_pending());
        std::mem::forget(changed); // stays parked; the key is simply never removed
    }
    tx.send_modify(|s| s.push('b'));
    assert_eq!(hook.get(), 1);
    assert_eq!(*read.borrow(), "ab");
}

#[test]
fn many_watcher_tasks() {
    let ex = LocalExecutor::new();
    let (tx, rx) = watch::channel(0);
    let last = Rc::new(Cell::new(0));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let mut rx = rx.clone();
            let last = last.clone();
            ex.spawn(async move {
                let mut seen = Vec::new();
                while rx.changed().await.is_ok() {
                    let v = *rx.borrow_and_update();
                    seen.push(v);
                }
                last.set(last.get().max(*rx.borrow()));
                seen
            })
        })
        .collect();
    drop(rx);
    let all = block_on(ex.run(async move {
        for i in 1..=50 {
            tx.send(i).unwrap();
            solo_lite::future::yield_now().await;
        }
        drop(tx);
        let mut all = Vec::new();
        for t in tasks {
            all.push(t.await);
        }
        all
    }));
    for seen in all {
        assert!(
            seen.windows(2).all(|w| w[0] < w[1]),
            "values only move forward"
        );
        assert_eq!(seen.last(), Some(&50), "the latest value is always seen");
    }
    assert_eq!(last.get(), 50);
}
