//! Tests of the local broadcast channel: fan-out, exact lag, closing, message lifetimes,
//! wake counts, cancellation, re-entrant wakers, many tasks and a model test.

mod common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::task::Poll;

use common::{Rng, counter, hook_waker, poll};
use futures_core::stream::FusedStream;
use solo_executor::LocalExecutor;
use solo_lite::future::block_on;
use solo_lite::stream::StreamExt;
use solo_sync::channel::SendError;
use solo_sync::channel::broadcast::{self, Lagged, RecvError, TryRecvError};

/// A message that counts how many copies of it are alive.
#[derive(Debug)]
struct Live {
    id: u64,
    live: Rc<Cell<usize>>,
}

impl Live {
    fn new(id: u64, live: &Rc<Cell<usize>>) -> Live {
        live.set(live.get() + 1);
        Live {
            id,
            live: live.clone(),
        }
    }
}

impl Clone for Live {
    fn clone(&self) -> Self {
        Live::new(self.id, &self.live)
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.live.set(self.live.get() - 1);
    }
}

#[test]
fn every_receiver_sees_every_message() {
    let (tx, mut a) = broadcast::channel(4);
    let mut b = tx.subscribe();
    assert_eq!(tx.receiver_count(), 2);
    assert_eq!(tx.send(1), Ok(2));
    assert_eq!(tx.send(2), Ok(2));
    assert_eq!(tx.len(), 2);
    assert_eq!((a.len(), b.len()), (2, 2));
    assert_eq!(a.try_recv(), Ok(1));
    assert_eq!(a.try_recv(), Ok(2));
    assert_eq!(a.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(tx.len(), 2, "b has not seen them");
    assert_eq!(b.try_recv(), Ok(1));
    assert_eq!(b.try_recv(), Ok(2));
    assert!(tx.is_empty(), "seen by all: dropped");
}

#[test]
fn subscribe_clone_and_resubscribe_positions() {
    let (tx, mut a) = broadcast::channel(8);
    tx.send(1).unwrap();
    let mut late = tx.subscribe();
    let mut twin = a.clone();
    let mut fresh = a.resubscribe();
    tx.send(2).unwrap();
    assert_eq!(a.try_recv(), Ok(1));
    assert_eq!(
        twin.try_recv(),
        Ok(1),
        "a clone starts where its original is"
    );
    assert_eq!(late.try_recv(), Ok(2), "subscribe sees only later messages");
    assert_eq!(fresh.try_recv(), Ok(2));
    assert_eq!(twin.try_recv(), Ok(2));
    assert_eq!(a.try_recv(), Ok(2));
    assert_eq!(tx.receiver_count(), 4);
}

#[test]
fn capacity_zero_is_one() {
    let (tx, mut rx) = broadcast::channel(0);
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Lagged(1)));
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn lag_is_exact_and_reported_once() {
    let (tx, mut rx) = broadcast::channel(4);
    for i in 0..10 {
        tx.send(i).unwrap();
    }
    assert_eq!(tx.len(), 4);
    assert_eq!(rx.len(), 4);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Lagged(6)));
    for i in 6..10 {
        assert_eq!(rx.try_recv(), Ok(i));
    }
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    // Lag again, through the future this time.
    for i in 10..15 {
        tx.send(i).unwrap();
    }
    block_on(async {
        assert_eq!(rx.recv().await, Err(RecvError::Lagged(1)));
        assert_eq!(rx.recv().await, Ok(11));
    });
}

#[test]
fn closed_after_the_last_sender_once_everything_was_seen() {
    let (tx, mut rx) = broadcast::channel(4);
    let tx2 = tx.clone();
    let (w, count) = counter();
    tx.send(1).unwrap();
    drop(tx);
    assert!(!rx.is_closed());
    assert_eq!(rx.try_recv(), Ok(1));
    {
        let mut recv = rx.recv();
        assert!(poll(&mut recv, &w).is_pending());
        tx2.send(2).unwrap();
        assert_eq!(count.get(), 1);
        assert_eq!(poll(&mut recv, &w), Poll::Ready(Ok(2)));
    }
    let mut recv = rx.recv();
    assert!(poll(&mut recv, &w).is_pending());
    drop(tx2);
    assert_eq!(count.get(), 2, "the last sender's drop wakes the receiver");
    assert_eq!(poll(&mut recv, &w), Poll::Ready(Err(RecvError::Closed)));
    drop(recv);
    assert!(rx.is_closed() && rx.is_terminated());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn send_without_receivers_hands_the_message_back() {
    let live = Rc::new(Cell::new(0));
    let (tx, rx) = broadcast::channel(2);
    drop(rx);
    let back: SendError<Live> = tx.send(Live::new(1, &live)).unwrap_err();
    assert_eq!(back.0.id, 1);
    drop(back);
    assert_eq!(live.get(), 0);
    let mut rx = tx.subscribe();
    assert_eq!(tx.send(Live::new(2, &live)).map_err(|_| ()), Ok(1));
    assert_eq!(rx.try_recv().unwrap().id, 2);
    assert_eq!(live.get(), 0, "the only receiver moved it out");
}

#[test]
fn messages_live_until_seen_or_overwritten() {
    let live = Rc::new(Cell::new(0));
    let (tx, mut a) = broadcast::channel(2);
    let mut b = tx.subscribe();
    tx.send(Live::new(0, &live)).unwrap();
    tx.send(Live::new(1, &live)).unwrap();
    assert_eq!(live.get(), 2);
    drop(a.try_recv().unwrap()); // a clone
    assert_eq!(live.get(), 2);
    drop(b.try_recv().unwrap()); // the original, moved out
    assert_eq!(live.get(), 1);
    tx.send(Live::new(2, &live)).unwrap();
    tx.send(Live::new(3, &live)).unwrap(); // overwrites 1: dropped at once
    assert_eq!(live.get(), 2);
    assert_eq!(tx.len(), 2);
    // Dropping the receivers drops what only they still had to see.
    drop(a);
    assert_eq!(live.get(), 2, "b has yet to see them");
    drop(b);
    assert_eq!(live.get(), 0);
    assert!(tx.is_empty());
}

#[test]
fn one_send_wakes_each_waiting_receiver_once() {
    let (tx, rx) = broadcast::channel(4);
    let mut rxs: Vec<_> = (0..3).map(|_| rx.clone()).collect();
    let counters: Vec<_> = (0..3).map(|_| counter()).collect();
    let mut futs: Vec<_> = rxs.iter_mut().map(|rx| rx.recv()).collect();
    for (fut, (w, _)) in futs.iter_mut().zip(&counters) {
        assert!(poll(fut, w).is_pending());
        assert!(poll(fut, w).is_pending());
    }
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    for (_, count) in &counters {
        assert_eq!(count.get(), 1);
    }
    for (fut, (w, _)) in futs.iter_mut().zip(&counters) {
        assert_eq!(poll(fut, w), Poll::Ready(Ok(1)));
    }
}

#[test]
fn a_cancelled_recv_is_not_woken() {
    let (tx, mut rx) = broadcast::channel(4);
    let mut other = rx.clone();
    let (w, count) = counter();
    let (w2, count2) = counter();
    let mut recv = rx.recv();
    assert!(poll(&mut recv, &w).is_pending());
    let mut recv2 = other.recv();
    assert!(poll(&mut recv2, &w2).is_pending());
    drop(recv);
    tx.send(1).unwrap();
    assert_eq!((count.get(), count2.get()), (0, 1));
    assert_eq!(poll(&mut recv2, &w2), Poll::Ready(Ok(1)));
    assert_eq!(
        rx.try_recv(),
        Ok(1),
        "the message still waits for the cancelled one"
    );
}

#[test]
fn stream_items_and_end() {
    let (tx, rx) = broadcast::channel(2);
    for i in 0..5 {
        tx.send(i).unwrap();
    }
    drop(tx);
    let items: Vec<Result<i32, Lagged>> = block_on(rx.collect());
    assert_eq!(items, [Err(Lagged(3)), Ok(3), Ok(4)]);
}

#[test]
fn waker_that_receives_and_sends_on_wake() {
    // The waker of a parked receiver receives at once (re-entering the channel inside
    // `send`) and sends one more message.
    let (tx, rx) = broadcast::channel(8);
    let tx = Rc::new(tx);
    let rx = Rc::new(RefCell::new(rx));
    let seen = Rc::new(RefCell::new(Vec::new()));
    let (hook_tx, hook_rx, hook_seen) = (tx.clone(), rx.clone(), seen.clone());
    let (w, hook) = hook_waker(move || {
        let mut rx = hook_rx.borrow_mut();
        while let Ok(v) = rx.try_recv() {
            hook_seen.borrow_mut().push(v);
            if v == 1 {
                hook_tx.send(2).unwrap();
            }
        }
    });
    let mut other = rx.borrow().clone();
    {
        let mut rx = rx.borrow_mut();
        let mut recv = rx.recv();
        assert!(poll(&mut recv, &w).is_pending());
    }
    // Dropping the future un-parked it: park through poll_recv instead.
    assert!(
        rx.borrow_mut()
            .poll_recv(&mut std::task::Context::from_waker(&w))
            .is_pending()
    );
    tx.send(1).unwrap();
    assert_eq!(hook.get(), 1);
    assert_eq!(*seen.borrow(), [1, 2]);
    assert_eq!(other.try_recv(), Ok(1));
    assert_eq!(other.try_recv(), Ok(2));
}

#[test]
fn many_receiver_tasks() {
    let ex = LocalExecutor::new();
    let (tx, rx) = broadcast::channel(1024);
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let mut rx = rx.clone();
            ex.spawn(async move {
                let mut got = Vec::new();
                while let Ok(v) = rx.recv().await {
                    got.push(v);
                }
                got
            })
        })
        .collect();
    drop(rx);
    let all = block_on(ex.run(async move {
        for i in 0..500 {
            tx.send(i).unwrap();
            if i % 10 == 0 {
                solo_lite::future::yield_now().await;
            }
        }
        drop(tx);
        let mut all = Vec::new();
        for t in tasks {
            all.push(t.await);
        }
        all
    }));
    let expected: Vec<i32> = (0..500).collect();
    for got in all {
        assert_eq!(got, expected);
    }
}

/// Random sends, receives, clones, subscriptions and drops against a model of the ring:
/// every receive (message or exact lag) matches the model, and the live copies are exactly
/// the messages still held.
#[test]
fn model_ring_lag_and_lifetimes() {
    for seed in 0..300 {
        let mut rng = Rng::new(seed);
        let live = Rc::new(Cell::new(0));
        let cap = 1 + rng.below(4);
        let (tx, rx) = broadcast::channel(cap);
        let mut rxs = vec![(rx, 0u64)];
        let (mut head, mut tail) = (0u64, 0u64);
        for _ in 0..300 {
            match rng.below(10) {
                0..=3 => {
                    let r = tx.send(Live::new(tail, &live));
                    if rxs.is_empty() {
                        assert!(r.is_err());
                    } else {
                        assert_eq!(r.map_err(|_| ()), Ok(rxs.len()));
                        if tail - head == cap as u64 {
                            head += 1;
                        }
                        tail += 1;
                    }
                }
                4..=6 if !rxs.is_empty() => {
                    let i = rng.below(rxs.len());
                    let (rx, next) = &mut rxs[i];
                    let got = rx.try_recv().map(|m| m.id);
                    if *next < head {
                        assert_eq!(got, Err(TryRecvError::Lagged(head - *next)), "seed {seed}");
                        *next = head;
                    } else if *next < tail {
                        assert_eq!(got, Ok(*next), "seed {seed}");
                        *next += 1;
                    } else {
                        assert_eq!(got, Err(TryRecvError::Empty), "seed {seed}");
                    }
                }
                7 if !rxs.is_empty() => {
                    let i = rng.below(rxs.len());
                    let twin = (rxs[i].0.clone(), rxs[i].1);
                    rxs.push(twin);
                }
                8 => rxs.push((tx.subscribe(), tail)),
                _ if !rxs.is_empty() => {
                    let i = rng.below(rxs.len());
                    rxs.swap_remove(i);
                }
                _ => {}
            }
            // Messages every receiver has seen are gone.
            head = rxs.iter().map(|&(_, n)| n.max(head)).min().unwrap_or(tail);
            assert_eq!(tx.len() as u64, tail - head, "seed {seed}");
            assert_eq!(live.get() as u64, tail - head, "seed {seed}: live copies");
            for (rx, next) in &rxs {
                assert_eq!(rx.len() as u64, tail - (*next).max(head), "seed {seed}");
            }
        }
        drop(rxs);
        assert_eq!(live.get(), 0, "seed {seed}");
    }
}
