//! Tests of the local mpsc channel: closing from each side, drops, back-pressure and FIFO,
//! cancellation at every point, wake counts, re-entrant wakers, many tasks, a model test.

mod common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::task::Poll;

use common::{Rng, Tracked, counter, hook_waker, leak, poll};
use futures_core::stream::FusedStream;
use solo_executor::LocalExecutor;
use solo_lite::future::block_on;
use solo_lite::stream::StreamExt;
use solo_sync::channel::mpsc::{self, SendFuture};
use solo_sync::channel::{RecvError, SendError, TryRecvError, TrySendError};

#[test]
fn capacity_zero_is_one() {
    let (tx, mut rx) = mpsc::bounded(0);
    assert_eq!(tx.capacity(), 1);
    tx.try_send(1).unwrap();
    assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    assert_eq!(rx.try_recv(), Ok(1));
}

#[test]
fn fifo_len_and_full() {
    let (tx, mut rx) = mpsc::bounded(3);
    assert!(rx.is_empty());
    for i in 0..3 {
        tx.try_send(i).unwrap();
    }
    assert_eq!((tx.len(), rx.len()), (3, 3));
    let err = tx.try_send(9).unwrap_err();
    assert!(err.is_full());
    assert_eq!(err.into_inner(), 9);
    assert_eq!(rx.try_recv(), Ok(0));
    tx.try_send(3).unwrap();
    let got: Vec<_> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
    assert_eq!(got, [1, 2, 3]);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert!(tx.same_channel(&tx.clone()));
    assert!(!tx.same_channel(&mpsc::bounded::<i32>(1).0));
}

#[test]
fn close_from_receiver() {
    let (tx, mut rx) = mpsc::bounded(1);
    let (w, count) = counter();
    tx.try_send(1).unwrap();
    let mut waiting = tx.send(2);
    assert!(poll(&mut waiting, &w).is_pending());
    let mut closed = tx.closed();
    assert!(poll(&mut closed, &w).is_pending());
    assert!(rx.close());
    assert!(!rx.close());
    // The waiting sender and the closed() future are each woken once.
    assert_eq!(count.get(), 2);
    assert_eq!(poll(&mut waiting, &w), Poll::Ready(Err(SendError(2))));
    assert_eq!(poll(&mut closed, &w), Poll::Ready(()));
    assert!(tx.is_closed() && rx.is_closed());
    assert_eq!(tx.try_send(3), Err(TrySendError::Closed(3)));
    assert!(!rx.is_terminated());
    // What was queued before the close is still delivered.
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    assert!(rx.is_terminated());
    block_on(async { assert_eq!(rx.recv().await, Err(RecvError)) });
}

#[test]
fn close_from_sender() {
    let (tx, mut rx) = mpsc::unbounded();
    let tx2 = tx.clone();
    tx.send(1).unwrap();
    assert!(tx2.close());
    assert_eq!(tx.send(2), Err(SendError(2)));
    assert!(tx.is_closed());
    block_on(async {
        tx.closed().await;
        assert_eq!(rx.recv().await, Ok(1));
        assert_eq!(rx.recv().await, Err(RecvError));
    });
}

#[test]
fn dropping_every_sender_ends_the_receiver() {
    let (tx, mut rx) = mpsc::bounded(4);
    let (w, count) = counter();
    let tx2 = tx.clone();
    tx.try_send(1).unwrap();
    drop(tx);
    assert!(!rx.is_closed());
    assert_eq!(rx.try_recv(), Ok(1));
    let mut recv = rx.recv();
    assert!(poll(&mut recv, &w).is_pending());
    drop(tx2);
    assert_eq!(count.get(), 1);
    assert_eq!(poll(&mut recv, &w), Poll::Ready(Err(RecvError)));
}

#[test]
fn dropping_the_receiver_drops_queued_messages() {
    let drops = Rc::new(Cell::new(0));
    let (tx, rx) = mpsc::bounded(4);
    for i in 0..3 {
        tx.try_send(Tracked::new(i, &drops)).unwrap();
    }
    let (w, count) = counter();
    let mut closed = tx.closed();
    assert!(poll(&mut closed, &w).is_pending());
    drop(rx);
    assert_eq!(drops.get(), 3, "queued messages go with the receiver");
    assert_eq!(count.get(), 1);
    assert!(poll(&mut closed, &w).is_ready());
    // A send to a channel with no receiver hands the message back.
    let back = tx
        .try_send(Tracked::new(9, &drops))
        .unwrap_err()
        .into_inner();
    assert_eq!(back.id, 9);
    drop(back);
    assert_eq!(drops.get(), 4);
}

#[test]
fn dropping_both_ends_drops_queued_messages() {
    let drops = Rc::new(Cell::new(0));
    let (tx, rx) = mpsc::unbounded();
    for i in 0..5 {
        tx.send(Tracked::new(i, &drops)).unwrap();
    }
    drop(tx);
    assert_eq!(drops.get(), 0, "the receiver may still read them");
    drop(rx);
    assert_eq!(drops.get(), 5);
}

#[test]
fn a_message_whose_drop_uses_the_channel() {
    // Dropping queued messages must not hold a borrow: this one sends on its own channel
    // (and drops a sender) from its destructor.
    struct Sends(Option<mpsc::UnboundedSender<Sends>>);
    impl Drop for Sends {
        fn drop(&mut self) {
            if let Some(tx) = self.0.take() {
                assert!(tx.send(Sends(None)).is_err());
                assert!(tx.is_closed());
            }
        }
    }
    let (tx, rx) = mpsc::unbounded();
    tx.send(Sends(Some(tx.clone()))).unwrap();
    tx.send(Sends(Some(tx.clone()))).unwrap();
    drop(rx);
}

#[test]
fn waiting_senders_are_served_in_order() {
    let (tx, mut rx) = mpsc::bounded(1);
    tx.try_send(0).unwrap();
    let (wa, a_count) = counter();
    let (wb, b_count) = counter();
    let mut a = tx.send(1);
    let mut b = tx.send(2);
    assert!(poll(&mut a, &wa).is_pending());
    assert!(poll(&mut b, &wb).is_pending());
    assert_eq!(rx.try_recv(), Ok(0));
    // The freed slot is reserved for `a`: nobody can jump in.
    assert_eq!((a_count.get(), b_count.get()), (1, 0));
    assert_eq!(tx.try_send(7), Err(TrySendError::Full(7)));
    // Even polling `b` first does not let it pass.
    assert!(poll(&mut b, &wb).is_pending());
    assert_eq!(poll(&mut a, &wa), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(b_count.get(), 1);
    assert_eq!(poll(&mut b, &wb), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(2));
    tx.try_send(3).unwrap();
}

#[test]
fn cancel_a_queued_sender() {
    let (tx, mut rx) = mpsc::bounded(1);
    tx.try_send(0).unwrap();
    let (w, count) = counter();
    let mut a = tx.send(1);
    let mut b = tx.send(2);
    assert!(poll(&mut a, &w).is_pending());
    assert!(poll(&mut b, &w).is_pending());
    drop(a); // leaves the queue: `b` is next
    assert_eq!(count.get(), 0);
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!(count.get(), 1);
    assert_eq!(poll(&mut b, &w), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn cancel_after_a_slot_was_reserved_passes_it_on() {
    let drops = Rc::new(Cell::new(0));
    let (tx, mut rx) = mpsc::bounded(1);
    tx.try_send(Tracked::new(0, &drops)).unwrap();
    let (wa, a_count) = counter();
    let (wb, b_count) = counter();
    let mut a = tx.send(Tracked::new(1, &drops));
    let mut b = tx.send(Tracked::new(2, &drops));
    assert!(poll(&mut a, &wa).is_pending());
    assert!(poll(&mut b, &wb).is_pending());
    assert_eq!(rx.try_recv().unwrap().id, 0);
    assert_eq!((a_count.get(), b_count.get()), (1, 0));
    drop(a); // reserved a slot, never used it
    assert_eq!(drops.get(), 2, "the cancelled message is dropped unsent");
    assert_eq!(b_count.get(), 1, "the slot went to `b`");
    assert!(poll(&mut b, &wb).is_ready());
    assert_eq!(rx.try_recv().unwrap().id, 2);
    // No slot leaked.
    tx.try_send(Tracked::new(3, &drops)).unwrap();
    assert!(tx.try_send(Tracked::new(4, &drops)).is_err());
}

#[test]
fn cancel_with_no_one_to_pass_to_frees_the_slot() {
    let (tx, mut rx) = mpsc::bounded(1);
    tx.try_send(0).unwrap();
    let (w, _) = counter();
    let mut a = tx.send(1);
    assert!(poll(&mut a, &w).is_pending());
    assert_eq!(rx.try_recv(), Ok(0));
    drop(a);
    tx.try_send(2).unwrap();
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn receiver_wakes_once_per_wait() {
    let (tx, mut rx) = mpsc::unbounded();
    let (w, count) = counter();
    let mut recv = rx.recv();
    assert!(poll(&mut recv, &w).is_pending());
    assert!(poll(&mut recv, &w).is_pending()); // same waker: kept, not replaced
    for i in 0..3 {
        tx.send(i).unwrap();
    }
    assert_eq!(count.get(), 1, "one wake for a burst");
    assert_eq!(poll(&mut recv, &w), Poll::Ready(Ok(0)));
    drop(recv);
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
    let mut recv = rx.recv();
    assert!(poll(&mut recv, &w).is_pending());
    tx.send(3).unwrap();
    assert_eq!(count.get(), 2);
}

#[test]
fn a_dropped_recv_future_is_not_woken() {
    let (tx, mut rx) = mpsc::unbounded();
    let (w, count) = counter();
    let mut recv = rx.recv();
    assert!(poll(&mut recv, &w).is_pending());
    drop(recv);
    tx.send(1).unwrap();
    assert_eq!(count.get(), 0);
    assert_eq!(rx.try_recv(), Ok(1));
}

#[test]
fn recv_many() {
    let (tx, mut rx) = mpsc::bounded(4);
    let mut buf = Vec::new();
    let (w, count) = counter();
    assert_eq!(poll(&mut rx.recv_many(&mut buf, 0), &w), Poll::Ready(0));
    {
        let mut many = rx.recv_many(&mut buf, 3);
        assert!(poll(&mut many, &w).is_pending());
        for i in 0..4 {
            tx.try_send(i).unwrap();
        }
        assert_eq!(count.get(), 1);
        assert_eq!(poll(&mut many, &w), Poll::Ready(3));
    }
    assert_eq!(buf, [0, 1, 2]);
    // Two slots freed at once go to two waiting senders.
    for i in 4..7 {
        tx.try_send(i).unwrap();
    }
    let (wa, a_count) = counter();
    let (wb, b_count) = counter();
    let mut a = tx.send(7);
    let mut b = tx.send(8);
    assert!(poll(&mut a, &wa).is_pending());
    assert!(poll(&mut b, &wb).is_pending());
    buf.clear();
    assert_eq!(block_on(rx.recv_many(&mut buf, 2)), 2);
    assert_eq!((a_count.get(), b_count.get()), (1, 1));
    assert!(poll(&mut a, &wa).is_ready() && poll(&mut b, &wb).is_ready());
    drop((a, b));
    drop(tx);
    buf.clear();
    assert_eq!(block_on(rx.recv_many(&mut buf, 10)), 4);
    assert_eq!(buf, [5, 6, 7, 8]);
    assert_eq!(block_on(rx.recv_many(&mut buf, 10)), 0, "closed and empty");
}

#[test]
fn stream_ends_when_closed() {
    let (tx, rx) = mpsc::unbounded();
    for i in 0..5 {
        tx.send(i).unwrap();
    }
    drop(tx);
    let got: Vec<i32> = block_on(rx.collect());
    assert_eq!(got, [0, 1, 2, 3, 4]);
}

#[test]
fn closed_future_cancel_and_wake_count() {
    let (tx, rx) = mpsc::bounded::<()>(1);
    let (w, count) = counter();
    let mut c1 = tx.closed();
    let mut c2 = tx.closed();
    assert!(poll(&mut c1, &w).is_pending());
    assert!(poll(&mut c2, &w).is_pending());
    drop(c1);
    drop(rx);
    assert_eq!(count.get(), 1, "only the future still waiting is woken");
    assert!(poll(&mut c2, &w).is_ready());
}

#[test]
fn receiver_waker_that_sends_on_wake() {
    // The receiver's waker sends again from inside `send`: no borrow may be held.
    let (tx, mut rx) = mpsc::bounded(8);
    let tx = Rc::new(tx);
    let hook_tx = tx.clone();
    let (w, hook) = hook_waker(move || {
        let _ = hook_tx.try_send(100);
    });
    let mut recv = rx.recv();
    assert!(poll(&mut recv, &w).is_pending());
    tx.try_send(1).unwrap();
    assert_eq!(hook.get(), 1);
    assert_eq!(poll(&mut recv, &w), Poll::Ready(Ok(1)));
    drop(recv);
    assert_eq!(rx.try_recv(), Ok(100));
}

#[test]
fn sender_waker_that_polls_its_future_at_once() {
    // An executor that polls a task inside `wake`: the woken send completes re-entrantly,
    // inside the receiver's `recv`.
    let (tx, mut rx) = mpsc::bounded(1);
    tx.try_send(0).unwrap();
    type Slot = Rc<RefCell<Option<SendFuture<'static, i32>>>>;
    let tx: &'static mpsc::Sender<i32> = leak(tx);
    let slot: Slot = Rc::new(RefCell::new(None));
    let done = Rc::new(Cell::new(false));
    let (hook_slot, hook_done) = (slot.clone(), done.clone());
    let (w, _) = hook_waker(move || {
        let mut fut = hook_slot.borrow_mut().take().unwrap();
        let waker = std::task::Waker::noop();
        assert_eq!(poll(&mut fut, waker), Poll::Ready(Ok(())));
        hook_done.set(true);
    });
    let mut send = tx.send(1);
    assert!(poll(&mut send, &w).is_pending());
    *slot.borrow_mut() = Some(send);
    assert_eq!(rx.try_recv(), Ok(0)); // wakes the sender, which sends at once
    assert!(done.get());
    assert_eq!(rx.try_recv(), Ok(1));
    assert!(rx.try_recv().is_err());
}

#[test]
fn many_tasks_on_one_executor() {
    let ex = LocalExecutor::new();
    let (tx, mut rx) = mpsc::bounded(4);
    const PRODUCERS: u32 = 50;
    const EACH: u32 = 100;
    for p in 0..PRODUCERS {
        let tx = tx.clone();
        ex.spawn(async move {
            for i in 0..EACH {
                tx.send((p, i)).await.unwrap();
                if i % 7 == 0 {
                    solo_lite::future::yield_now().await;
                }
            }
        })
        .detach();
    }
    drop(tx);
    let next = block_on(ex.run(async move {
        let mut next = vec![0; PRODUCERS as usize];
        while let Ok((p, i)) = rx.recv().await {
            assert_eq!(next[p as usize], i, "per-sender order");
            next[p as usize] += 1;
        }
        next
    }));
    assert!(next.iter().all(|&n| n == EACH));
    assert!(ex.is_empty());
}

/// Random sends (some cancelled at every stage), receives and closes against a model: every
/// message a completed send reports as sent is received exactly once, per-sender order
/// holds, waiting senders complete in FIFO order, cancelled messages are dropped, and no
/// slot leaks.
#[test]
fn model_random_cancellation() {
    for seed in 0..200 {
        let mut rng = Rng::new(seed);
        let drops = Rc::new(Cell::new(0));
        let cap = 1 + rng.below(3);
        let (tx, mut rx) = mpsc::bounded(cap);
        let (w, _) = counter();
        let mut pending: Vec<(u64, SendFuture<'_, Tracked>)> = Vec::new();
        let mut sent = Vec::new(); // ids reported sent, in completion order
        let mut received = Vec::new();
        let mut next_id = 0;
        let mut created = 0;
        for _ in 0..200 {
            match rng.below(6) {
                0 | 1 => {
                    let id = next_id;
                    next_id += 1;
                    created += 1;
                    let mut fut = tx.send(Tracked::new(id, &drops));
                    match poll(&mut fut, &w) {
                        Poll::Ready(r) => {
                            r.unwrap();
                            sent.push(id);
                        }
                        Poll::Pending => pending.push((id, fut)),
                    }
                }
                2 if !pending.is_empty() => {
                    let (_, fut) = pending.remove(rng.below(pending.len()));
                    drop(fut);
                }
                3 if !pending.is_empty() => {
                    let i = rng.below(pending.len());
                    if let Poll::Ready(r) = poll(&mut pending[i].1, &w) {
                        r.unwrap();
                        let (id, _) = pending.remove(i);
                        sent.push(id);
                    }
                }
                _ => {
                    if let Ok(msg) = rx.try_recv() {
                        received.push(msg.id);
                    }
                }
            }
            assert!(rx.len() <= cap);
        }
        // Let every pending send finish, oldest first.
        while !pending.is_empty() {
            while let Ok(msg) = rx.try_recv() {
                received.push(msg.id);
            }
            let mut progressed = false;
            let mut i = 0;
            while i < pending.len() {
                if let Poll::Ready(r) = poll(&mut pending[i].1, &w) {
                    r.unwrap();
                    assert_eq!(i, 0, "seed {seed}: waiting senders are served in order");
                    sent.push(pending.remove(i).0);
                    progressed = true;
                } else {
                    i += 1;
                }
            }
            assert!(progressed, "seed {seed}: a waiting sender was never served");
        }
        while let Ok(msg) = rx.try_recv() {
            received.push(msg.id);
        }
        assert_eq!(
            received, sent,
            "seed {seed}: FIFO delivery of exactly what was sent"
        );
        // Every message was dropped once: received ones and cancelled ones.
        assert_eq!(drops.get(), created as usize, "seed {seed}");
        // No slot leaked.
        for _ in 0..cap {
            tx.try_send(Tracked::new(u64::MAX, &drops)).unwrap();
        }
        assert!(
            tx.try_send(Tracked::new(u64::MAX, &drops))
                .unwrap_err()
                .is_full()
        );
    }
}
