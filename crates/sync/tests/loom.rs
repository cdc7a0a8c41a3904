//! Model checks of the cross-thread channel: every interleaving (up to a preemption
//! bound) and every value weak memory lets a load see.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p solo-sync --test loom --release`.
//! `LOOM_MAX_PREEMPTIONS` overrides the default bound of 3.

#![cfg(loom)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc as StdArc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::task::{Context, Poll, Wake, Waker};

use loom::future::block_on;
use loom::thread;
use solo_sync::channel::cross::{self, oneshot};
use solo_sync::channel::{RecvError, SendError, TryRecvError, TrySendError};

/// Explores `f` with a preemption bound of 3 unless `LOOM_MAX_PREEMPTIONS` says otherwise.
fn model(f: impl Fn() + Sync + Send + 'static) {
    model_bounded(3, f);
}

/// Explores `f` with at most `preemptions` preemptions per execution (unless
/// `LOOM_MAX_PREEMPTIONS` is set): three threads with bound 3 take many minutes.
fn model_bounded(preemptions: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    if b.preemption_bound.is_none() {
        b.preemption_bound = Some(preemptions);
    }
    b.check(f);
}

#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: StdArc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn poll_once<F: Future + Unpin>(f: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(f).poll(&mut Context::from_waker(waker))
}

/// A message that counts its drops.
struct Counted(StdArc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn two_senders_one_receiver() {
    // The main thread is the second sender: its claim races the other thread's.
    model(|| {
        let (tx, mut rx) = cross::bounded(2);
        let tx2 = tx.clone();
        let a = thread::spawn(move || block_on(tx.send(1)).unwrap());
        tx2.try_send(2).unwrap();
        drop(tx2);
        let x = block_on(rx.recv()).unwrap();
        let y = block_on(rx.recv()).unwrap();
        assert_eq!(x + y, 3);
        assert_eq!(block_on(rx.recv()), Err(RecvError));
        a.join().unwrap();
    });
}

#[test]
fn two_sender_threads_through_one_slot() {
    // Three threads, capacity 1: claims race, each sender may find the slot full or
    // claimed-but-unwritten by the other, and the receiver may park on either state.
    model_bounded(2, || {
        let (tx, mut rx) = cross::bounded(1);
        let tx2 = tx.clone();
        // The blocking calls: the crate's own parker, under loom's park/unpark.
        let a = thread::spawn(move || tx.send_blocking(1).unwrap());
        let b = thread::spawn(move || tx2.send_blocking(2).unwrap());
        let x = rx.recv_blocking().unwrap();
        let y = rx.recv_blocking().unwrap();
        assert_eq!(x + y, 3);
        assert_eq!(rx.recv_blocking(), Err(RecvError));
        a.join().unwrap();
        b.join().unwrap();
    });
}

#[test]
fn fifo_from_one_sender_across_a_lap() {
    model(|| {
        let (tx, mut rx) = cross::bounded(1);
        let t = thread::spawn(move || {
            block_on(async {
                tx.send(1).await.unwrap();
                tx.send(2).await.unwrap();
            })
        });
        assert_eq!(block_on(rx.recv()), Ok(1));
        assert_eq!(block_on(rx.recv()), Ok(2));
        assert_eq!(block_on(rx.recv()), Err(RecvError));
        t.join().unwrap();
    });
}

#[test]
fn wake_while_parked() {
    model(|| {
        let (tx, mut rx) = cross::bounded(2);
        let t = thread::spawn(move || {
            tx.try_send(7).unwrap();
            tx
        });
        assert_eq!(block_on(rx.recv()), Ok(7));
        drop(t.join().unwrap());
    });
}

#[test]
fn burst_into_parked_receiver_wakes_at_most_once() {
    model(|| {
        let (tx, mut rx) = cross::bounded(4);
        let counter = StdArc::new(CountingWaker::default());
        let waker = Waker::from(counter.clone());
        let parked = rx.poll_recv(&mut Context::from_waker(&waker)).is_pending();
        let t = thread::spawn(move || {
            tx.try_send(1).unwrap();
            tx.try_send(2).unwrap();
        });
        t.join().unwrap();
        assert!(parked);
        assert_eq!(counter.0.load(SeqCst), 1);
        let mut cx = Context::from_waker(&waker);
        assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Ok(1)));
        assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Ok(2)));
        assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Err(RecvError)));
    });
}

#[test]
fn receiver_polls_while_a_sender_publishes() {
    // The receiver may find the slot claimed but not yet written (RX_WAIT) or nothing
    // claimed (PARKED); either way it must be woken.
    model(|| {
        let (tx, mut rx) = cross::bounded(1);
        let tx2 = tx.clone();
        let t = thread::spawn(move || tx.try_send(1).unwrap());
        let v = block_on(rx.recv()).unwrap();
        assert_eq!(v, 1);
        t.join().unwrap();
        drop(tx2);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
}

#[test]
fn full_then_back_pressure() {
    model(|| {
        let (tx, mut rx) = cross::bounded(1);
        tx.try_send(0).unwrap();
        let t = thread::spawn(move || block_on(tx.send(1)).unwrap());
        assert_eq!(block_on(rx.recv()), Ok(0));
        assert_eq!(block_on(rx.recv()), Ok(1));
        t.join().unwrap();
    });
}

#[test]
fn cancelled_send_does_not_steal_the_wakeup() {
    model(|| {
        let (tx, mut rx) = cross::bounded(1);
        tx.try_send(0).unwrap();
        // B waits for room (polled by hand on this thread); A polls once in another
        // thread and gives up, while this thread frees the slot.
        let tx2 = tx.clone();
        let b_waker = StdArc::new(CountingWaker::default());
        let waker = Waker::from(b_waker.clone());
        let mut b = tx2.send(2);
        assert!(poll_once(&mut b, &waker).is_pending());
        let a = thread::spawn(move || {
            let waker = Waker::from(StdArc::new(CountingWaker::default()));
            let mut fut = tx.send(1);
            poll_once(&mut fut, &waker).is_ready()
        });
        assert_eq!(rx.try_recv(), Ok(0));
        assert!(
            b_waker.0.load(SeqCst) >= 1,
            "freeing the slot woke the waiting sender"
        );
        let a_sent = a.join().unwrap();
        let b_sent = poll_once(&mut b, &waker).is_ready();
        assert!(a_sent != b_sent, "exactly one of them got the one slot");
        assert_eq!(rx.try_recv(), Ok(if a_sent { 1 } else { 2 }));
    });
}

#[test]
fn receiver_closes_while_sender_waits() {
    model(|| {
        let (tx, mut rx) = cross::bounded(1);
        tx.try_send(0).unwrap();
        let t = thread::spawn(move || block_on(tx.send(1)));
        rx.close();
        let sent = t.join().unwrap();
        assert_eq!(rx.try_recv(), Ok(0));
        match sent {
            Ok(()) => unreachable!("the channel stayed full until the close"),
            Err(SendError(v)) => assert_eq!(v, 1),
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
}

#[test]
fn receiver_frees_a_slot_and_closes_while_sender_waits() {
    model(|| {
        let (tx, mut rx) = cross::bounded(1);
        tx.try_send(0).unwrap();
        let t = thread::spawn(move || block_on(tx.send(1)));
        assert_eq!(rx.try_recv(), Ok(0));
        rx.close();
        match t.join().unwrap() {
            // Sent before the close: still delivered.
            Ok(()) => assert_eq!(rx.try_recv(), Ok(1)),
            Err(SendError(v)) => assert_eq!(v, 1),
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
}

#[test]
fn sender_closes_while_receiver_waits() {
    model(|| {
        let (tx, mut rx) = cross::bounded::<u8>(1);
        let t = thread::spawn(move || drop(tx));
        assert_eq!(block_on(rx.recv()), Err(RecvError));
        t.join().unwrap();
    });
}

#[test]
fn drop_with_messages_left_each_dropped_once() {
    model(|| {
        let drops = StdArc::new(AtomicUsize::new(0));
        let (tx, rx) = cross::bounded(2);
        let d = drops.clone();
        let t = thread::spawn(move || {
            let mut made = 0;
            for _ in 0..2 {
                made += 1;
                match tx.try_send(Counted(d.clone())) {
                    Ok(()) => {}
                    Err(TrySendError::Closed(m)) => drop(m),
                    Err(TrySendError::Full(_)) => unreachable!("capacity 2"),
                }
            }
            made
        });
        drop(rx);
        let made = t.join().unwrap();
        assert_eq!(drops.load(SeqCst), made);
    });
}

#[test]
fn oneshot_send_and_receive() {
    model(|| {
        let (tx, rx) = oneshot::channel();
        let t = thread::spawn(move || tx.send(5).unwrap());
        assert_eq!(block_on(rx), Ok(5));
        t.join().unwrap();
    });
}

#[test]
fn oneshot_sender_dropped() {
    model(|| {
        let (tx, rx) = oneshot::channel::<u8>();
        let t = thread::spawn(move || drop(tx));
        assert_eq!(block_on(rx), Err(RecvError));
        t.join().unwrap();
    });
}

#[test]
fn oneshot_receiver_dropped_while_sending() {
    model(|| {
        let drops = StdArc::new(AtomicUsize::new(0));
        let (tx, rx) = oneshot::channel();
        let d = drops.clone();
        let t = thread::spawn(move || tx.send(Counted(d)).map_err(drop).is_ok());
        drop(rx);
        t.join().unwrap();
        assert_eq!(drops.load(SeqCst), 1);
    });
}

#[test]
fn oneshot_waker_changes_while_sending() {
    model(|| {
        let (tx, mut rx) = oneshot::channel();
        let t = thread::spawn(move || tx.send(9).unwrap());
        let first = Waker::from(StdArc::new(CountingWaker::default()));
        match poll_once(&mut rx, &first) {
            Poll::Ready(v) => assert_eq!(v, Ok(9)),
            // A second poll with a new waker, then wait for real.
            Poll::Pending => assert_eq!(block_on(rx), Ok(9)),
        }
        t.join().unwrap();
    });
}
