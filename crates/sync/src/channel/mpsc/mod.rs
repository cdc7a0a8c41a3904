//! A local multi-producer, single-consumer channel, bounded or unbounded.
//!
//! # Design
//!
//! One `Rc` holds the whole channel: a `VecDeque` of messages, the counts, the receiver's
//! waker and a waiter queue of senders waiting for room. Every end lives on
//! one thread, so a send is a `RefCell` borrow, a `push_back` and, if the receiver is parked,
//! one wake; a receive is a `pop_front`. No lock, no atomic, no allocation per message.
//!
//! **Memory.** A message lives in the ring buffer of the channel, which a bounded channel
//! allocates when it is created (for up to 1024 messages; a larger capacity grows the buffer
//! on demand, and it is kept). An unbounded channel grows its buffer like a `VecDeque` and
//! keeps it. A sender waiting for room keeps its message in its own [`SendFuture`] and takes
//! one slot of the waiter queue (48 bytes on 64-bit targets), reused by later waiters.
//!
//! **Back-pressure is fair.** When the receiver takes a message from a full channel, the slot
//! it frees is *reserved* for the oldest waiting sender, which is woken to fill it. So waiting
//! senders are served in FIFO order, and a [`try_send`](Sender::try_send) cannot take a slot
//! from under them. A send future dropped after its slot was reserved gives the slot to the
//! next waiting sender, so no slot leaks and no wakeup is lost.
//!
//! **Closing.** The channel closes when every sender is dropped, when the receiver is dropped,
//! or when either side calls `close`. Sends then fail and hand their message back; the
//! receiver still gets the messages queued before the close, then [`RecvError`](super::RecvError). Messages
//! still queued when the receiver is dropped are dropped at once.
//!
//! # Example
//!
//! ```
//! use solo_sync::channel::mpsc;
//!
//! solo_lite::future::block_on(async {
//!     let (tx, mut rx) = mpsc::bounded(2);
//!     tx.send(1).await.unwrap();
//!     tx.try_send(2).unwrap();
//!     assert!(tx.try_send(3).unwrap_err().is_full());
//!     drop(tx);
//!     assert_eq!(rx.recv().await, Ok(1));
//!     assert_eq!(rx.recv().await, Ok(2));
//!     assert!(rx.recv().await.is_err()); // every sender is gone
//! });
//! ```
#![forbid(unsafe_code)]

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::TrySendError;
use crate::waiters::{Key, Waiters, cancel, park, wake_all, wake_each};

mod recv;
mod send;

pub use self::recv::{Receiver, RecvFuture, RecvManyFuture};
pub use self::send::{ClosedFuture, SendFuture, Sender, UnboundedSender};

/// The largest buffer a bounded channel allocates when it is created.
const PREALLOC: usize = 1024;

/// The capacity that means "unbounded".
const UNBOUNDED: usize = usize::MAX;

/// Creates a bounded channel holding at most `cap` messages.
///
/// A `cap` of 0 is taken as 1 (a channel must hold a message to pass it on).
///
/// ```
/// let (tx, rx) = solo_sync::channel::mpsc::bounded::<u8>(0);
/// assert_eq!(tx.capacity(), 1);
/// # drop(rx);
/// ```
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    let cap = cap.max(1);
    let chan = Rc::new(Chan::new(cap, VecDeque::with_capacity(cap.min(PREALLOC))));
    (Sender { chan: chan.clone() }, Receiver { chan })
}

/// Creates an unbounded channel: sends never wait (the buffer grows as needed).
pub fn unbounded<T>() -> (UnboundedSender<T>, Receiver<T>) {
    let chan = Rc::new(Chan::new(UNBOUNDED, VecDeque::new()));
    (UnboundedSender { chan: chan.clone() }, Receiver { chan })
}

/// The shared state of a channel.
struct Chan<T> {
    queue: RefCell<VecDeque<T>>,
    /// The bound, or `UNBOUNDED`.
    cap: usize,
    /// Slots granted to woken senders that have not filled them yet.
    reserved: Cell<usize>,
    closed: Cell<bool>,
    senders: Cell<usize>,
    /// The receiver's waker while it waits for a message.
    rx_waker: Cell<Option<Waker>>,
    /// Senders waiting for room.
    send_waiters: RefCell<Waiters<()>>,
    /// `closed()` futures.
    close_waiters: RefCell<Waiters<()>>,
}

impl<T> Chan<T> {
    fn new(cap: usize, queue: VecDeque<T>) -> Chan<T> {
        Chan {
            queue: RefCell::new(queue),
            cap,
            reserved: Cell::new(0),
            closed: Cell::new(false),
            senders: Cell::new(1),
            rx_waker: Cell::new(None),
            send_waiters: RefCell::new(Waiters::new()),
            close_waiters: RefCell::new(Waiters::new()),
        }
    }

    /// Queues a message (room was checked) and wakes the receiver.
    fn push(&self, msg: T) {
        self.queue.borrow_mut().push_back(msg);
        if let Some(waker) = self.rx_waker.take() {
            waker.wake();
        }
    }

    fn has_room(&self) -> bool {
        self.queue.borrow().len() + self.reserved.get() < self.cap
    }

    /// Reserves a free slot for the oldest waiting sender and returns its waker.
    fn grant_one(&self) -> Option<Waker> {
        if !self.has_room() {
            return None;
        }
        let waker = self.send_waiters.borrow_mut().pop()?;
        self.reserved.set(self.reserved.get() + 1);
        Some(waker)
    }

    /// Hands every free slot to a waiting sender, oldest first.
    fn grant(&self) {
        if self.send_waiters.borrow().is_empty() {
            return;
        }
        wake_each(|| self.grant_one());
    }

    /// Closes the channel; returns `false` if it was already closed.
    fn close(&self) -> bool {
        if self.closed.replace(true) {
            return false;
        }
        // Reservations mean nothing any more: every send now fails.
        self.reserved.set(0);
        if let Some(waker) = self.rx_waker.take() {
            waker.wake();
        }
        wake_all(&self.send_waiters);
        wake_all(&self.close_waiters);
        true
    }

    fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        if self.closed.get() {
            Err(TrySendError::Closed(msg))
        } else if self.has_room() && self.send_waiters.borrow().is_empty() {
            self.push(msg);
            Ok(())
        } else {
            Err(TrySendError::Full(msg))
        }
    }

    fn len(&self) -> usize {
        self.queue.borrow().len()
    }

    fn add_sender(&self) {
        self.senders.set(self.senders.get() + 1);
    }

    fn drop_sender(&self) {
        let left = self.senders.get() - 1;
        self.senders.set(left);
        if left == 0 {
            self.close();
        }
    }

    fn poll_closed(&self, key: &mut Option<Key>, cx: &mut Context<'_>) -> Poll<()> {
        if self.closed.get() {
            drop(cancel(&self.close_waiters, key));
            return Poll::Ready(());
        }
        park(&self.close_waiters, key, (), cx.waker());
        Poll::Pending
    }
}
