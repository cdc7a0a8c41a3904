//! The cross-thread channel with real threads: delivery exactly once and in order per
//! sender, closing from either side at each point, back-pressure, cancellation, wakes
//! from other threads and their coalescing, drop counts, `recv_many`, `Stream`, oneshot.
//!
//! No assertion depends on timing; `guard` only turns a hang into a failure.

#![cfg(not(loom))]

use std::cell::Cell;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, mpsc};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::Duration;

use futures_core::{FusedStream, Stream};
use solo_lite::future::block_on;
use solo_lite::stream::StreamExt;
use solo_sync::channel::cross::{self, oneshot};
use solo_sync::channel::{RecvError, SendError, TryRecvError, TrySendError};

/// Scales a message count down under Miri, which runs code about 1000 times slower.
const fn n(real: usize) -> usize {
    if cfg!(miri) { real / 500 + 3 } else { real }
}

/// Runs `f` on a thread and fails the test if it does not finish in a minute (a hang).
fn guard(f: impl FnOnce() + Send + 'static) {
    if cfg!(miri) {
        return f();
    }
    let (done_tx, done_rx) = mpsc::channel();
    let t = thread::spawn(move || {
        f();
        let _ = done_tx.send(());
    });
    match done_rx.recv_timeout(Duration::from_secs(60)) {
        Ok(()) => t.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            // `f` panicked: surface its panic.
            if let Err(p) = t.join() {
                std::panic::resume_unwind(p);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("test hung (no progress in 60 s)"),
    }
}

/// A waker that counts its wakes.
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

impl CountingWaker {
    fn load(&self, order: std::sync::atomic::Ordering) -> usize {
        self.0.load(order)
    }
}

fn counting_waker() -> (Arc<CountingWaker>, Waker) {
    let c = Arc::new(CountingWaker::default());
    (c.clone(), Waker::from(c))
}

fn poll_with<F: Future + Unpin>(f: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(f).poll(&mut Context::from_waker(waker))
}

/// A message that counts its drops (and can be made to panic in `Drop`).
#[derive(Debug)]
struct Counted {
    id: usize,
    drops: Arc<AtomicUsize>,
    panic_on_drop: bool,
}

impl Counted {
    fn new(id: usize, drops: &Arc<AtomicUsize>) -> Counted {
        Counted {
            id,
            drops: drops.clone(),
            panic_on_drop: false,
        }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
        if self.panic_on_drop {
            panic!("Counted {} panics in Drop", self.id);
        }
    }
}

// ---- delivery ----------------------------------------------------------------------

#[test]
fn many_senders_fifo_per_sender_exactly_once() {
    guard(|| {
        const SENDERS: usize = 4;
        let per = n(20_000);
        let (tx, mut rx) = cross::bounded(16);
        let producers: Vec<_> = (0..SENDERS)
            .map(|id| {
                let tx = tx.clone();
                thread::spawn(move || {
                    block_on(async {
                        for i in 0..per {
                            tx.send((id, i)).await.unwrap();
                        }
                    })
                })
            })
            .collect();
        drop(tx);
        let mut next = [0; SENDERS];
        block_on(async {
            while let Ok((id, i)) = rx.recv().await {
                assert_eq!(i, next[id], "sender {id} out of order");
                next[id] += 1;
            }
        });
        assert_eq!(next, [per; SENDERS]);
        for p in producers {
            p.join().unwrap();
        }
    });
}

#[test]
fn blocking_ends_capacity_one() {
    guard(|| {
        let count = n(10_000);
        let (tx, mut rx) = cross::bounded(1);
        let tx2 = tx.clone();
        let a = thread::spawn(move || {
            for i in 0..count {
                tx.send_blocking(2 * i).unwrap();
            }
        });
        let b = thread::spawn(move || {
            for i in 0..count {
                tx2.send_blocking(2 * i + 1).unwrap();
            }
        });
        let (mut even, mut odd) = (0, 1);
        while let Ok(v) = rx.recv_blocking() {
            if v % 2 == 0 {
                assert_eq!(v, even);
                even += 2;
            } else {
                assert_eq!(v, odd);
                odd += 2;
            }
        }
        assert_eq!((even, odd), (2 * count, 2 * count + 1));
        a.join().unwrap();
        b.join().unwrap();
    });
}

#[test]
fn wraps_many_laps_in_order() {
    let (tx, mut rx) = cross::bounded(3);
    for i in 0..n(1_000) {
        tx.try_send(i).unwrap();
        if i % 3 == 2 {
            assert!(tx.is_full());
            assert!(tx.try_send(usize::MAX).unwrap_err().is_full());
            for j in i - 2..=i {
                assert_eq!(rx.try_recv(), Ok(j));
            }
            assert!(rx.is_empty());
        }
    }
}

#[test]
fn capacity_len_and_identity() {
    let (tx, rx) = cross::bounded::<u8>(0);
    assert_eq!((tx.capacity(), rx.capacity()), (1, 1));
    let (tx5, rx5) = cross::bounded::<u8>(5);
    assert_eq!(tx5.capacity(), 5);
    assert!(tx5.is_empty() && !tx5.is_full() && rx5.is_empty());
    for i in 0..5 {
        assert_eq!(tx5.len(), i as usize);
        tx5.try_send(i).unwrap();
    }
    assert!(tx5.is_full());
    assert_eq!(rx5.len(), 5);
    assert!(tx.same_channel(&tx.clone()));
    assert!(!tx.same_channel(&cross::bounded(1).0));
    assert!(format!("{tx:?} {rx:?}").contains("capacity: 1"));
}

// ---- closing -------------------------------------------------------------------------

#[test]
fn sender_close_lets_the_receiver_drain() {
    let (tx, mut rx) = cross::bounded(4);
    let tx2 = tx.clone();
    tx.try_send(1).unwrap();
    tx2.try_send(2).unwrap();
    assert!(tx.close());
    assert!(!tx2.close(), "already closed");
    assert!(tx2.is_closed() && rx.is_closed());
    assert_eq!(tx2.try_send(3), Err(TrySendError::Closed(3)));
    assert_eq!(block_on(tx.send(4)), Err(SendError(4)));
    assert_eq!(tx.send_blocking(5), Err(SendError(5)));
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(block_on(rx.recv()), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    assert_eq!(block_on(rx.recv()), Err(RecvError));
    assert_eq!(rx.recv_blocking(), Err(RecvError));
}

#[test]
fn last_sender_drop_closes() {
    let (tx, mut rx) = cross::bounded(4);
    let tx2 = tx.clone();
    tx.try_send(1).unwrap();
    drop(tx);
    assert!(!rx.is_closed(), "a clone is still alive");
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx2.try_send(2).unwrap();
    drop(tx2);
    assert!(rx.is_closed());
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn receiver_drop_fails_senders_and_drops_the_queue() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = cross::bounded(4);
    for i in 0..3 {
        tx.try_send(Counted::new(i, &drops)).unwrap();
    }
    drop(rx);
    assert_eq!(
        drops.load(SeqCst),
        3,
        "queued messages dropped with the receiver"
    );
    assert!(tx.is_closed());
    let back = tx.try_send(Counted::new(9, &drops)).unwrap_err();
    assert!(back.is_closed());
    assert_eq!(back.into_inner().id, 9);
    assert_eq!(drops.load(SeqCst), 4, "the handed-back message, once");
    drop(tx);
    assert_eq!(drops.load(SeqCst), 4);
}

#[test]
fn receiver_close_wakes_waiting_senders_with_their_message() {
    guard(|| {
        let (tx, mut rx) = cross::bounded(1);
        tx.try_send(0).unwrap();
        let (parked_tx, parked_rx) = mpsc::channel();
        let blocking = {
            let tx = tx.clone();
            thread::spawn(move || {
                parked_tx.send(()).unwrap();
                tx.send_blocking(1)
            })
        };
        // The async one, polled by hand: it must be waiting (registered) when we close.
        let (count, waker) = counting_waker();
        let mut fut = tx.send(2);
        assert!(poll_with(&mut fut, &waker).is_pending());
        parked_rx.recv().unwrap();
        assert!(rx.close());
        assert_eq!(count.load(SeqCst), 1, "the close woke the waiting send");
        assert_eq!(poll_with(&mut fut, &waker), Poll::Ready(Err(SendError(2))));
        assert_eq!(blocking.join().unwrap(), Err(SendError(1)));
        // What was queued before the close is still delivered.
        assert_eq!(rx.try_recv(), Ok(0));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
}

#[test]
fn close_wakes_a_parked_receiver() {
    guard(|| {
        let (tx, mut rx) = cross::bounded::<u8>(2);
        let t = thread::spawn(move || block_on(rx.recv()));
        // Whether the receiver parked before the close or not, it must end.
        thread::yield_now();
        drop(tx);
        assert_eq!(t.join().unwrap(), Err(RecvError));
    });
}

#[test]
fn close_races_sends_every_message_accounted_for() {
    guard(|| {
        for round in 0..n(200) {
            let drops = Arc::new(AtomicUsize::new(0));
            let (tx, mut rx) = cross::bounded(4);
            let sent = Arc::new(AtomicUsize::new(0));
            let back = Arc::new(AtomicUsize::new(0));
            let senders: Vec<_> = (0..2)
                .map(|s| {
                    let (tx, drops, sent) = (tx.clone(), drops.clone(), sent.clone());
                    let back = back.clone();
                    thread::spawn(move || {
                        for i in 0..50 {
                            match tx.send_blocking(Counted::new(s * 100 + i, &drops)) {
                                Ok(()) => {
                                    sent.fetch_add(1, SeqCst);
                                }
                                Err(SendError(m)) => {
                                    drop(m);
                                    back.fetch_add(1, SeqCst);
                                    break;
                                }
                            }
                        }
                    })
                })
                .collect();
            drop(tx);
            let mut received = 0;
            let stop_after = round % 20;
            while let Ok(m) = rx.recv_blocking() {
                drop(m);
                received += 1;
                if received == stop_after {
                    if round % 2 == 0 {
                        rx.close();
                    } else {
                        break;
                    }
                }
            }
            drop(rx);
            for s in senders {
                s.join().unwrap();
            }
            let (sent, back) = (sent.load(SeqCst), back.load(SeqCst));
            assert!(received <= sent);
            // Every message made was dropped exactly once: received, left queued (dropped
            // with the channel), or handed back.
            assert_eq!(drops.load(SeqCst), sent + back);
        }
    });
}

// ---- back-pressure and cancellation --------------------------------------------------

#[test]
fn full_channel_back_pressure_async() {
    let (tx, mut rx) = cross::bounded(2);
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)));
    let (count, waker) = counting_waker();
    let mut send3 = tx.send(3);
    assert!(poll_with(&mut send3, &waker).is_pending());
    assert!(
        poll_with(&mut send3, &waker).is_pending(),
        "a second poll re-registers"
    );
    assert_eq!(count.load(SeqCst), 0);
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(count.load(SeqCst), 1, "freeing the slot woke the sender");
    assert_eq!(poll_with(&mut send3, &waker), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Ok(3));
}

#[test]
fn full_channel_back_pressure_across_threads() {
    guard(|| {
        let total = n(5_000);
        let (tx, mut rx) = cross::bounded(2);
        let producer = thread::spawn(move || {
            block_on(async {
                for i in 0..total {
                    tx.send(i).await.unwrap();
                }
            })
        });
        for i in 0..total {
            assert_eq!(rx.recv_blocking(), Ok(i));
        }
        assert_eq!(rx.recv_blocking(), Err(RecvError));
        producer.join().unwrap();
    });
}

#[test]
fn cancelled_send_loses_no_wakeup_and_holds_no_slot() {
    let (tx, mut rx) = cross::bounded(1);
    tx.try_send(0).unwrap();
    let (count_a, waker_a) = counting_waker();
    let (count_b, waker_b) = counting_waker();
    let mut a = tx.send(1);
    let mut b = tx.send(2);
    assert!(poll_with(&mut a, &waker_a).is_pending());
    assert!(poll_with(&mut b, &waker_b).is_pending());
    drop(a); // cancelled while waiting
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!(count_b.load(SeqCst), 1, "the other waiter is still woken");
    assert_eq!(count_a.load(SeqCst), 0, "the dropped one left the list");
    assert_eq!(poll_with(&mut b, &waker_b), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(2));
    // The cancelled send took no slot: the whole capacity is free.
    assert_eq!(rx.len(), 0);
    tx.try_send(3).unwrap();
    assert_eq!(rx.try_recv(), Ok(3));
}

#[test]
fn cancelled_sends_under_contention() {
    guard(|| {
        // Senders that give up on every other wait (drop the future) while a consumer
        // drains: nothing is lost, duplicated or stuck.
        let rounds = n(2_000);
        let (tx, mut rx) = cross::bounded(1);
        let producers: Vec<_> = (0..2)
            .map(|id| {
                let tx = tx.clone();
                thread::spawn(move || {
                    let (_, noop) = counting_waker();
                    let mut sent = 0;
                    for i in 0..rounds {
                        let mut fut = tx.send((id, i));
                        match poll_with(&mut fut, &noop) {
                            Poll::Ready(r) => {
                                r.unwrap();
                                sent += 1;
                            }
                            // Cancelled while waiting: the message is not sent.
                            Poll::Pending if i % 2 == 0 => drop(fut),
                            Poll::Pending => {
                                drop(fut);
                                tx.send_blocking((id, i)).unwrap();
                                sent += 1;
                            }
                        }
                    }
                    sent
                })
            })
            .collect();
        drop(tx);
        let mut got = [0usize; 2];
        let mut last = [None::<usize>; 2];
        while let Ok((id, i)) = rx.recv_blocking() {
            assert!(last[id].is_none_or(|l| l < i), "FIFO per sender");
            last[id] = Some(i);
            got[id] += 1;
        }
        let sent: Vec<usize> = producers.into_iter().map(|p| p.join().unwrap()).collect();
        assert_eq!(got.to_vec(), sent);
    });
}

// ---- wakes -----------------------------------------------------------------------------

#[test]
fn parked_receiver_woken_from_another_thread() {
    guard(|| {
        for _ in 0..n(500) {
            let (tx, mut rx) = cross::bounded(8);
            let t = thread::spawn(move || tx.send_blocking(7).unwrap());
            assert_eq!(block_on(rx.recv()), Ok(7));
            t.join().unwrap();
        }
    });
}

#[test]
fn burst_into_a_parked_receiver_wakes_it_once() {
    let burst = 1_000;
    let (tx, mut rx) = cross::bounded(1024);
    let (count, waker) = counting_waker();
    let mut recv = pin!(rx.recv());
    assert!(
        recv.as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending()
    );
    thread::spawn(move || {
        for i in 0..burst {
            tx.try_send(i).unwrap();
        }
        tx
    })
    .join()
    .unwrap()
    .close();
    assert_eq!(count.load(SeqCst), 1, "one wake for the whole burst");
    assert_eq!(
        recv.as_mut().poll(&mut Context::from_waker(&waker)),
        Poll::Ready(Ok(0))
    );
    let mut buf = Vec::new();
    assert_eq!(block_on(rx.recv_many(&mut buf, usize::MAX)), burst - 1);
    assert_eq!(buf, (1..burst).collect::<Vec<_>>());
    assert_eq!(count.load(SeqCst), 1);
}

#[test]
fn each_park_costs_one_wake() {
    let (tx, mut rx) = cross::bounded(64);
    let (count, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    for round in 1..=5 {
        assert!(rx.poll_recv(&mut cx).is_pending());
        assert!(
            rx.poll_recv(&mut cx).is_pending(),
            "re-polling keeps it parked"
        );
        for i in 0..10 {
            tx.try_send(i).unwrap();
        }
        assert_eq!(count.load(SeqCst), round);
        for i in 0..10 {
            assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Ok(i)));
        }
    }
}

#[test]
fn replaced_waker_is_the_one_woken() {
    let (tx, mut rx) = cross::bounded(4);
    let (old_count, old) = counting_waker();
    let (new_count, new) = counting_waker();
    assert!(rx.poll_recv(&mut Context::from_waker(&old)).is_pending());
    assert!(rx.poll_recv(&mut Context::from_waker(&new)).is_pending());
    tx.try_send(1).unwrap();
    assert_eq!((old_count.load(SeqCst), new_count.load(SeqCst)), (0, 1));
}

#[test]
fn waker_replaced_while_senders_wake_it() {
    guard(|| {
        // The receiver changes its waker on every poll while a sender thread keeps
        // waking: every message still arrives (run under TSan/Miri to see the cell is
        // never read while written).
        let total = n(20_000);
        let (tx, mut rx) = cross::bounded(4);
        let producer = thread::spawn(move || {
            for i in 0..total {
                tx.send_blocking(i).unwrap();
            }
        });
        let mut expected = 0;
        let mut wakers: Vec<Waker> = (0..3).map(|_| counting_waker().1).collect();
        let mut k = 0;
        loop {
            k += 1;
            let w = &wakers[k % 3];
            match rx.poll_recv(&mut Context::from_waker(w)) {
                Poll::Ready(Ok(v)) => {
                    assert_eq!(v, expected);
                    expected += 1;
                }
                Poll::Ready(Err(RecvError)) => break,
                Poll::Pending => thread::yield_now(),
            }
        }
        assert_eq!(expected, total);
        producer.join().unwrap();
        wakers.clear();
    });
}

// ---- drops -------------------------------------------------------------------------

#[test]
fn every_message_dropped_exactly_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = cross::bounded(8);
    for i in 0..8 {
        tx.try_send(Counted::new(i, &drops)).unwrap();
    }
    let first = rx.try_recv().unwrap();
    assert_eq!(first.id, 0);
    drop(first);
    tx.try_send(Counted::new(8, &drops)).unwrap();
    let full = tx.try_send(Counted::new(9, &drops)).unwrap_err();
    assert!(full.is_full());
    drop(full);
    assert_eq!(drops.load(SeqCst), 2);
    drop(tx);
    drop(rx);
    assert_eq!(drops.load(SeqCst), 10);
}

#[test]
fn messages_outlive_the_receiver_until_the_channel_goes() {
    // Dropped with the channel, when the senders go last.
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = cross::bounded(4);
    drop(rx);
    assert!(tx.try_send(Counted::new(0, &drops)).is_err());
    assert_eq!(drops.load(SeqCst), 1);
    // Dropped with the channel, when the receiver goes last.
    let (tx, rx) = cross::bounded(4);
    tx.try_send(Counted::new(1, &drops)).unwrap();
    tx.try_send(Counted::new(2, &drops)).unwrap();
    drop(tx);
    assert_eq!(drops.load(SeqCst), 1);
    drop(rx);
    assert_eq!(drops.load(SeqCst), 3);
}

#[test]
fn a_panicking_drop_still_drops_the_rest_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = cross::bounded(8);
    for i in 0..6 {
        let mut m = Counted::new(i, &drops);
        m.panic_on_drop = i == 2;
        tx.try_send(m).unwrap();
    }
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = catch_unwind(AssertUnwindSafe(move || drop(rx)));
    std::panic::set_hook(hook);
    assert!(r.is_err(), "the panic reaches the receiver's drop");
    // The receiver's drain stopped at message 2; the channel (still held by `tx`) keeps
    // the rest, which go when it goes.
    assert_eq!(drops.load(SeqCst), 3);
    assert!(tx.is_closed());
    drop(tx);
    assert_eq!(drops.load(SeqCst), 6, "each message dropped exactly once");
}

#[test]
fn a_panicking_drop_in_the_channel_drop_still_drops_the_rest() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx2, rx2) = cross::bounded(8);
    for i in 0..5 {
        let mut m = Counted::new(i, &drops);
        m.panic_on_drop = i == 1;
        tx2.try_send(m).unwrap();
    }
    drop(tx2);
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = catch_unwind(AssertUnwindSafe(move || {
        let mut rx2 = rx2;
        // Take message 0, then let the rest go with the channel.
        drop(rx2.try_recv().unwrap());
        drop(rx2);
    }));
    std::panic::set_hook(hook);
    assert!(r.is_err());
    assert_eq!(drops.load(SeqCst), 5);
}

// ---- recv_many and Stream ----------------------------------------------------------------

#[test]
fn recv_many_waits_for_one_then_drains_up_to_the_limit() {
    guard(|| {
        let (tx, mut rx) = cross::bounded(16);
        let mut buf = Vec::new();
        assert_eq!(block_on(rx.recv_many(&mut buf, 0)), 0);
        for i in 0..10 {
            tx.try_send(i).unwrap();
        }
        assert_eq!(block_on(rx.recv_many(&mut buf, 4)), 4);
        assert_eq!(block_on(rx.recv_many(&mut buf, 100)), 6);
        assert_eq!(buf, (0..10).collect::<Vec<_>>());
        // Waits for the first message from another thread.
        let t = thread::spawn(move || {
            tx.send_blocking(10).unwrap();
            tx
        });
        assert_eq!(block_on(rx.recv_many(&mut buf, 100)), 1);
        drop(t.join().unwrap());
        assert_eq!(block_on(rx.recv_many(&mut buf, 100)), 0, "closed and empty");
        assert_eq!(buf.len(), 11);
    });
}

#[test]
fn receiver_is_a_fused_stream() {
    guard(|| {
        let (tx, mut rx) = cross::bounded(4);
        let t = thread::spawn(move || {
            for i in 0..n(100) {
                tx.send_blocking(i).unwrap();
            }
        });
        assert!(!rx.is_terminated());
        let got: Vec<usize> = block_on((&mut rx).collect());
        assert_eq!(got, (0..n(100)).collect::<Vec<_>>());
        assert!(rx.is_terminated());
        assert_eq!(block_on(rx.next()), None);
        assert_eq!(rx.size_hint(), (0, None));
        t.join().unwrap();
    });
}

// ---- oneshot -----------------------------------------------------------------------------

#[test]
fn oneshot_across_threads() {
    guard(|| {
        for i in 0..n(1_000) {
            let (tx, rx) = oneshot::channel();
            let t = thread::spawn(move || tx.send(i).unwrap());
            assert_eq!(block_on(rx), Ok(i));
            t.join().unwrap();
        }
    });
}

#[test]
fn oneshot_sender_dropped_unsent() {
    guard(|| {
        let (tx, rx) = oneshot::channel::<u8>();
        let t = thread::spawn(move || drop(tx));
        assert_eq!(block_on(rx), Err(RecvError));
        t.join().unwrap();
    });
}

#[test]
fn oneshot_receiver_dropped_hands_the_value_back() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = oneshot::channel();
    assert!(!tx.is_closed());
    drop(rx);
    assert!(tx.is_closed());
    let back = tx.send(Counted::new(5, &drops)).unwrap_err();
    assert_eq!((back.id, drops.load(SeqCst)), (5, 0));
    drop(back);
    assert_eq!(drops.load(SeqCst), 1);
    // Sent and never received: dropped with the channel, once.
    let (tx, rx) = oneshot::channel();
    tx.send(Counted::new(6, &drops)).unwrap();
    drop(rx);
    assert_eq!(drops.load(SeqCst), 2);
}

#[test]
fn oneshot_try_recv_and_poll_after_completion() {
    let (tx, mut rx) = oneshot::channel();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    let (count, waker) = counting_waker();
    assert!(poll_with(&mut rx, &waker).is_pending());
    let (count2, waker2) = counting_waker();
    assert!(poll_with(&mut rx, &waker2).is_pending(), "waker replaced");
    tx.send(3).unwrap();
    assert_eq!((count.load(SeqCst), count2.load(SeqCst)), (0, 1));
    assert_eq!(rx.try_recv(), Ok(3));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    assert_eq!(poll_with(&mut rx, &waker), Poll::Ready(Err(RecvError)));
}

#[test]
fn oneshot_wake_while_the_waker_changes() {
    guard(|| {
        for _ in 0..n(300) {
            let (tx, mut rx) = oneshot::channel();
            let t = thread::spawn(move || tx.send(1u8).unwrap());
            let wakers: Vec<Waker> = (0..2).map(|_| counting_waker().1).collect();
            let mut k = 0;
            let v = loop {
                k += 1;
                if let Poll::Ready(v) = poll_with(&mut rx, &wakers[k % 2]) {
                    break v;
                }
                thread::yield_now();
            };
            assert_eq!(v, Ok(1));
            t.join().unwrap();
        }
    });
}

#[test]
fn ends_are_send_and_sync_as_documented() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    // `Cell` is `Send` but not `Sync`: the ends need only `T: Send`.
    send_sync::<cross::Sender<Cell<u8>>>();
    send::<cross::Receiver<Cell<u8>>>();
    send::<oneshot::Sender<u8>>();
    send::<oneshot::Receiver<u8>>();
    send::<cross::SendFuture<'static, u8>>();
}
