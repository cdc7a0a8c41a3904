//! A local broadcast channel: every receiver sees every message, from a ring of `cap`.
//!
//! # Design
//!
//! The channel keeps the last `cap` messages in a ring (a `VecDeque`), numbered by a
//! sequence that starts at 0: the ring holds `head..tail`. Each message carries the count of
//! receivers that have yet to see it; each [`Receiver`] is just its position `next`. A
//! receive clones the message at `next` (the last receiver to see a message *moves* it out
//! instead of cloning) and decrements its count; a message whose count reaches zero is
//! dropped at once. Receivers read in order, so the messages everybody has seen are always
//! the oldest ones, and dropping them is a `pop_front`.
//!
//! A send never waits: when the ring is full it drops the oldest message. A receiver whose
//! `next` is older than `head` has *lagged*: its next receive returns
//! [`RecvError::Lagged(n)`](RecvError::Lagged), `n` being exactly how many messages it
//! missed, and it carries on from the oldest message still held.
//!
//! Parked receivers wait in one waiter queue; a send wakes each of them
//! once, with no borrow held.
//!
//! **Memory.** A message lives in the ring, with a `usize` count beside it, until every
//! receiver has seen it or it is overwritten. The ring's buffer is allocated when the channel
//! is created (for up to 1024 messages; a larger capacity grows it on demand, and it is
//! kept). A parked receiver takes one slot of the waiter queue (48 bytes on 64-bit
//! targets), reused. A receiver itself is a position, not a copy: cloning or dropping one
//! walks the messages it has yet to see (at most `cap`) to count it in or out.
//!
//! **Limitation.** `T::clone` runs while the ring is borrowed: a `Clone` implementation that
//! uses the same channel panics on the `RefCell`.
//!
//! # Example
//!
//! ```
//! use solo_sync::channel::broadcast::{self, RecvError};
//!
//! solo_lite::future::block_on(async {
//!     let (tx, mut a) = broadcast::channel(2);
//!     let mut b = tx.subscribe();
//!     assert_eq!(tx.send("one"), Ok(2)); // two receivers will see it
//!     assert_eq!(a.recv().await, Ok("one"));
//!     assert_eq!(b.recv().await, Ok("one"));
//!
//!     // `a` falls behind: the ring holds 2, three are sent.
//!     for msg in ["two", "three", "four"] {
//!         tx.send(msg).unwrap();
//!     }
//!     assert_eq!(a.recv().await, Err(RecvError::Lagged(1)));
//!     assert_eq!(a.recv().await, Ok("three"));
//!     drop(tx);
//!     assert_eq!(a.recv().await, Ok("four"));
//!     assert_eq!(a.recv().await, Err(RecvError::Closed));
//! });
//! ```
#![forbid(unsafe_code)]

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_core::stream::FusedStream;

use super::SendError;
use crate::waiters::{Key, Waiters, cancel, park, wake_all};

/// The largest ring buffer allocated when the channel is created.
const PREALLOC: usize = 1024;

/// Creates a broadcast channel holding the last `cap` messages, and its first receiver.
///
/// A `cap` of 0 is taken as 1. More receivers come from [`Sender::subscribe`] (from the
/// next message on) and [`Receiver::clone`] (from the same position).
pub fn channel<T: Clone>(cap: usize) -> (Sender<T>, Receiver<T>) {
    let cap = cap.max(1);
    let shared = Rc::new(Shared {
        ring: RefCell::new(Ring {
            msgs: VecDeque::with_capacity(cap.min(PREALLOC)),
            head: 0,
        }),
        cap,
        waiters: RefCell::new(Waiters::new()),
        senders: Cell::new(1),
        receivers: Cell::new(1),
    });
    let rx = Receiver {
        shared: shared.clone(),
        next: 0,
        key: None,
    };
    (Sender { shared }, rx)
}

/// A receive failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecvError {
    /// The receiver fell behind: this many messages were overwritten before it saw them. The
    /// next receive returns the oldest message still held.
    Lagged(u64),
    /// Every sender is gone and the receiver has seen every message.
    Closed,
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::Lagged(n) => write!(f, "receiver lagged behind by {n} messages"),
            RecvError::Closed => f.write_str("receiving on a closed channel"),
        }
    }
}

impl Error for RecvError {}

/// A receive that could not complete at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryRecvError {
    /// No message is waiting for this receiver now.
    Empty,
    /// The receiver fell behind by this many messages; see [`RecvError::Lagged`].
    Lagged(u64),
    /// Every sender is gone and the receiver has seen every message.
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("receiving on an empty channel"),
            TryRecvError::Lagged(n) => write!(f, "receiver lagged behind by {n} messages"),
            TryRecvError::Closed => f.write_str("receiving on a closed channel"),
        }
    }
}

impl Error for TryRecvError {}

/// The error item of the [`Receiver`] stream: the receiver missed this many messages (see
/// [`RecvError::Lagged`]); the stream carries on with the oldest message still held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lagged(pub u64);

impl fmt::Display for Lagged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "receiver lagged behind by {} messages", self.0)
    }
}

impl Error for Lagged {}

struct Shared<T> {
    ring: RefCell<Ring<T>>,
    cap: usize,
    /// Receivers parked in `recv`.
    waiters: RefCell<Waiters<()>>,
    senders: Cell<usize>,
    receivers: Cell<usize>,
}

struct Ring<T> {
    /// Messages `head..head + msgs.len()`.
    msgs: VecDeque<Held<T>>,
    head: u64,
}

struct Held<T> {
    msg: T,
    /// Receivers that have yet to see it.
    unseen: usize,
}

impl<T> Ring<T> {
    fn tail(&self) -> u64 {
        self.head + self.msgs.len() as u64
    }

    /// Counts one more (`add`) or one fewer receiver that has yet to see the messages from
    /// `from` on.
    fn count(&mut self, from: u64, add: bool) {
        let skip = from.saturating_sub(self.head) as usize;
        for held in self.msgs.range_mut(skip..) {
            if add {
                held.unseen += 1;
            } else {
                held.unseen -= 1;
            }
        }
    }

    /// Takes the oldest message off the ring if every receiver has seen it.
    fn pop_seen(&mut self) -> Option<T> {
        if self.msgs.front()?.unseen > 0 {
            return None;
        }
        self.head += 1;
        self.msgs.pop_front().map(|held| held.msg)
    }
}

impl<T> Shared<T> {
    /// A new receiver whose next message is `next` (counted in as a receiver of the messages
    /// held from there on), or the next one sent.
    fn new_receiver(self: &Rc<Self>, next: Option<u64>) -> Receiver<T> {
        self.receivers.set(self.receivers.get() + 1);
        let mut ring = self.ring.borrow_mut();
        let next = next.unwrap_or(ring.tail());
        ring.count(next, true);
        drop(ring);
        Receiver {
            shared: self.clone(),
            next,
            key: None,
        }
    }

    /// Drops the messages every receiver has seen, one at a time and outside the borrow.
    fn drop_seen(&self) {
        loop {
            let seen = self.ring.borrow_mut().pop_seen();
            match seen {
                Some(msg) => drop(msg),
                None => break,
            }
        }
    }
}

/// The sending half of a broadcast channel. Clone it for more senders.
pub struct Sender<T> {
    shared: Rc<Shared<T>>,
}

impl<T: Clone> Sender<T> {
    /// Sends a message to every current receiver; returns how many will see it.
    ///
    /// Never waits: if the ring is full, the oldest message is dropped (receivers that had not
    /// seen it will get [`RecvError::Lagged`]). Fails, handing the message back, only when
    /// there is no receiver.
    pub fn send(&self, msg: T) -> Result<usize, SendError<T>> {
        let receivers = self.shared.receivers.get();
        if receivers == 0 {
            return Err(SendError(msg));
        }
        let overwritten = {
            let mut ring = self.shared.ring.borrow_mut();
            let old = if ring.msgs.len() == self.shared.cap {
                ring.head += 1;
                ring.msgs.pop_front().map(|held| held.msg)
            } else {
                None
            };
            ring.msgs.push_back(Held {
                msg,
                unseen: receivers,
            });
            old
        };
        drop(overwritten);
        wake_all(&self.shared.waiters);
        Ok(receivers)
    }

    /// A new receiver that sees the messages sent from now on.
    pub fn subscribe(&self) -> Receiver<T> {
        self.shared.new_receiver(None)
    }
}

impl<T> Sender<T> {
    /// How many receivers there are.
    pub fn receiver_count(&self) -> usize {
        self.shared.receivers.get()
    }

    /// How many messages the ring holds (some receiver has yet to see them).
    pub fn len(&self) -> usize {
        self.shared.ring.borrow().msgs.len()
    }

    /// Whether the ring holds no message.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether both senders belong to the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Rc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.senders.set(self.shared.senders.get() + 1);
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let left = self.shared.senders.get() - 1;
        self.shared.senders.set(left);
        if left == 0 {
            wake_all(&self.shared.waiters);
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("len", &self.len())
            .field("receivers", &self.receiver_count())
            .finish()
    }
}

/// The receiving half of a broadcast channel.
///
/// Cloning it makes a receiver at the same position (it will see the same messages next);
/// [`resubscribe`](Self::resubscribe) makes one that sees only new messages.
///
/// It is also a [`Stream`] of `Result<T, Lagged>`: a lag is an `Err` item (the stream carries
/// on after it), and the stream ends when every sender is gone and every message was seen.
pub struct Receiver<T> {
    shared: Rc<Shared<T>>,
    /// The sequence number of the next message to see.
    next: u64,
    /// Our slot in the waiter queue while parked.
    key: Option<Key>,
}

impl<T: Clone> Receiver<T> {
    /// Receives the next message, waiting for one.
    ///
    /// Returns [`RecvError::Lagged`] once if the receiver fell behind (then carries on from the
    /// oldest message held), and [`RecvError::Closed`] once every sender is gone and every
    /// message was seen. Cancellation-safe: dropping the future loses no message.
    pub fn recv(&mut self) -> RecvFuture<'_, T> {
        RecvFuture {
            rx: self,
            parked: false,
        }
    }

    /// Receives the next message if there is one now.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        match self.take() {
            Some(Ok(msg)) => Ok(msg),
            Some(Err(RecvError::Lagged(n))) => Err(TryRecvError::Lagged(n)),
            Some(Err(RecvError::Closed)) => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Polls for the next message: what [`recv`](Self::recv) and the [`Stream`] do.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        if let Some(result) = self.take() {
            self.unpark();
            return Poll::Ready(result);
        }
        park(&self.shared.waiters, &mut self.key, (), cx.waker());
        Poll::Pending
    }

    /// The next message, lag or closure for this receiver, if there is one now.
    fn take(&mut self) -> Option<Result<T, RecvError>> {
        let mut ring = self.shared.ring.borrow_mut();
        if self.next < ring.head {
            let missed = ring.head - self.next;
            self.next = ring.head;
            return Some(Err(RecvError::Lagged(missed)));
        }
        let index = (self.next - ring.head) as usize;
        let Some(held) = ring.msgs.get_mut(index) else {
            return (self.shared.senders.get() == 0).then_some(Err(RecvError::Closed));
        };
        self.next += 1;
        held.unseen -= 1;
        // Receivers read in order, so the last receiver to see a message sees the oldest one.
        debug_assert!(held.unseen > 0 || index == 0);
        if held.unseen > 0 || index != 0 {
            return Some(Ok(held.msg.clone()));
        }
        // We were the last to see it: move it out instead of cloning.
        ring.head += 1;
        ring.msgs.pop_front().map(|held| Ok(held.msg))
    }
}

impl<T> Receiver<T> {
    /// A new receiver that sees the messages sent from now on (unlike `clone`, which starts
    /// at this receiver's position).
    pub fn resubscribe(&self) -> Receiver<T> {
        self.shared.new_receiver(None)
    }

    /// How many held messages this receiver has yet to see (not counting lagged ones).
    pub fn len(&self) -> usize {
        let ring = self.shared.ring.borrow();
        (ring.tail() - self.next.max(ring.head)) as usize
    }

    /// Whether this receiver has seen every held message.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether every sender is gone (messages may still wait for this receiver).
    pub fn is_closed(&self) -> bool {
        self.shared.senders.get() == 0
    }

    fn unpark(&mut self) {
        drop(cancel(&self.shared.waiters, &mut self.key));
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.shared.new_receiver(Some(self.next))
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.unpark();
        let shared = &self.shared;
        shared.receivers.set(shared.receivers.get() - 1);
        shared.ring.borrow_mut().count(self.next, false);
        shared.drop_seen();
    }
}

impl<T: Clone> Stream for Receiver<T> {
    type Item = Result<T, Lagged>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_recv(cx).map(|result| match result {
            Ok(msg) => Some(Ok(msg)),
            Err(RecvError::Lagged(n)) => Some(Err(Lagged(n))),
            Err(RecvError::Closed) => None,
        })
    }
}

impl<T: Clone> FusedStream for Receiver<T> {
    fn is_terminated(&self) -> bool {
        self.is_closed() && self.next >= self.shared.ring.borrow().tail()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("next", &self.next)
            .field("len", &self.len())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The future of [`Receiver::recv`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct RecvFuture<'a, T> {
    rx: &'a mut Receiver<T>,
    /// Whether the receiver's slot in the waiter queue is ours.
    parked: bool,
}

impl<T: Clone> Future for RecvFuture<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let poll = this.rx.poll_recv(cx);
        this.parked = poll.is_pending();
        poll
    }
}

impl<T> Drop for RecvFuture<'_, T> {
    fn drop(&mut self) {
        if self.parked {
            self.rx.unpark();
        }
    }
}

impl<T> fmt::Debug for RecvFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvFuture").finish_non_exhaustive()
    }
}
