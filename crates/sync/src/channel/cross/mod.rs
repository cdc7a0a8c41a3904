//! The cross-thread channel: bounded, senders on any thread, one receiver, wakes coalesced
//! per burst. Shards (threads, each with its own single-threaded runtime) talk through it.
//!
//! ```
//! use std::thread;
//! use solo_lite::future::block_on;
//! use solo_sync::channel::cross;
//!
//! let (tx, mut rx) = cross::bounded(64);
//! let producers: Vec<_> = (0..4)
//!     .map(|id| {
//!         let tx = tx.clone();
//!         thread::spawn(move || {
//!             for i in 0..100 {
//!                 tx.send_blocking((id, i)).unwrap();
//!             }
//!         })
//!     })
//!     .collect();
//! drop(tx); // the channel closes when the producers' clones are gone too
//!
//! let mut next = [0; 4];
//! block_on(async {
//!     while let Ok((id, i)) = rx.recv().await {
//!         assert_eq!(i, next[id]); // FIFO per sender
//!         next[id] += 1;
//!     }
//! });
//! assert_eq!(next, [100; 4]);
//! for p in producers {
//!     p.join().unwrap();
//! }
//! ```
//!
//! # Design
//!
//! **The queue** is a ring of `cap` slots allocated once; each slot has a *stamp* saying
//! which position it serves and in what state. A position counts messages: its word is
//! `lap * one_lap + index << 3`, where `one_lap` is `cap` rounded up to a power of two
//! (shifted), and the low three bits are left for flags. A slot's stamp is the position
//! it serves on this lap (free, or claimed and being written), `| FULL` once that message
//! is written, and the position of its next use (`+ one_lap`) once the receiver took it.
//!
//! - A sender reads the tail position; if that slot's stamp equals it, the slot is free
//!   for this lap and the sender claims it with a compare-and-swap of the tail, writes the
//!   message and *publishes* it with a `fetch_or(FULL)` on the stamp. If the stamp still
//!   serves the previous lap (its message written or still being written), the ring is
//!   full. Anything else means another sender claimed the position first: reload, retry.
//! - The receiver (one, so its head needs no atomic claim) takes the head slot when its
//!   stamp says `head | FULL`, moves the head, and frees the slot by swapping the stamp to
//!   `head + one_lap`.
//! - ABA is ruled out by the lap in every word: a sender whose tail is a lap stale sees a
//!   stamp that does not match, and its CAS of the full tail word fails. The lap counter has
//!   at least 16 bits (see [`MAX_CAPACITY`]), so it cannot come round to the same word
//!   during one stalled claim.
//!
//! **Orderings.** The publishing `fetch_or` is `Release` and the receiver's stamp load
//! `Acquire`: the message is fully written before it is read. The freeing swap is
//! `Release` and the sender's stamp load `Acquire`: the old message was read before the
//! slot is written again. Tail loads are `Acquire`, so a stamp read after them is at least
//! as new as the claim that moved the tail; the tail CAS is `AcqRel`, so a `PARKED` flag
//! (below) carries the receiver's waker registration to the sender that takes it. There
//! is no `SeqCst` and no fence: every handshake that could lose a wakeup puts both
//! parties' flags in *one* word and changes it with read-modify-writes, which always see
//! the latest value. A store on one word and a load of another (Dekker's pattern) would
//! need a full fence on every send.
//!
//! **Parking and coalesced wakes.** The steady-state send is a claim, a write and a
//! publish. A receiver that finds nothing registers its waker and then either
//! - sees no claim beyond its head and CASes `PARKED` into the tail word (failing, and
//!   retrying, if a claim came meanwhile). The next claim's CAS reads `PARKED` and clears
//!   it, so exactly that one sender wakes the receiver, after publishing; the rest of the
//!   burst finds no flag and pays nothing. The woken receiver drains everything
//!   published, then parks again: one wake per batch, not per message.
//! - or sees a claim whose message is not written yet, and ORs `RX_WAIT` into that slot's
//!   stamp; the publishing `fetch_or` reads it (if the OR finds `FULL` instead, the
//!   message is there: take it).
//!
//! So there is no window between "queue empty" and "parked": the flag is set by an RMW
//! that fails, or reports, if the queue changed since it was seen empty. No thread waits
//! on another's progress: a sender preempted between its claim and its publish delays
//! only the messages behind it, and whoever needs that slot sleeps on a flag until the
//! publish. The waker sits in a small cell with its own state word, so a waker replaced
//! by one poll while a sender reads it for a wake is never torn, and a wake racing a
//! registration wakes the new one.
//!
//! **A moment before parking.** A receiver whose previous poll returned a message, and
//! which now finds the ring empty, re-checks the head slot a few dozen times with a spin
//! hint (under a microsecond) before it registers and parks. Mid-burst the next message
//! usually lands in that time, which spares the sender the wake (a system call to unpark a
//! thread or notify a reactor) and the receiver a park; without it a consumer slightly
//! faster than its producer parks and is woken every few messages. A receiver that found
//! nothing on its previous poll does not spin, so an idle channel polled again and again
//! (say in a `select` loop) costs nothing extra.
//!
//! **Back-pressure.** A sender that finds the ring full registers its waker in a list
//! under a `Mutex`, then CASes `TX_WAIT` into the stamp of the slot it needs (failing if
//! the slot was freed: retry; the publish keeps the flag if the slot was still being
//! written). The receiver's freeing swap reads the flag and wakes every listed
//! sender; the first to retry takes the room, the others find the next slot full and
//! flag that one. The lock is only on this slow path: a message that fits never sees it.
//! A `send` future holds no slot while it waits (a claim and its publish happen in one
//! poll), so dropping it leaks nothing; it removes itself from the list, and since all
//! waiters are woken together, no wakeup is lost with it.
//!
//! **Closing.** [`Sender::close`], [`Receiver::close`], dropping the receiver or the last
//! sender set a `CLOSED` bit in the tail word: a claim before it is delivered, a claim
//! after it fails and hands the message back. The close wakes the receiver and every
//! waiting sender. The receiver still drains what is queued, then gets [`RecvError`].
//! Dropping the receiver drops the queued messages at once; a message still being written
//! at that moment is dropped with the channel. Each message is dropped exactly once. If a
//! message's `Drop` panics, the panic reaches the call that dropped it, and the remaining
//! messages are still dropped while unwinding (a second panic aborts, as in `Vec`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::{FusedStream, Stream};

use super::{RecvError, SendError, TryRecvError, TrySendError};
use crate::loom::Arc;
use ring::{PushError, Ring};

pub use ring::MAX_CAPACITY;

pub mod oneshot;
mod park;
mod ring;
mod waker;

/// Creates a channel that holds up to `cap` messages.
///
/// A capacity of 0 is taken as 1 (a channel must hold a message to pass one on). The
/// slots are allocated here, once; sending and receiving allocate nothing.
///
/// # Panics
///
/// If `cap` exceeds [`MAX_CAPACITY`] (2^45 on 64-bit targets, 8,192 on 32-bit ones).
///
/// # Examples
///
/// ```
/// use solo_sync::channel::cross;
///
/// let (tx, mut rx) = cross::bounded::<u32>(0);
/// assert_eq!(tx.capacity(), 1);
/// tx.try_send(1).unwrap();
/// assert!(tx.try_send(2).unwrap_err().is_full());
/// assert_eq!(rx.try_recv(), Ok(1));
/// ```
pub fn bounded<T: Send>(cap: usize) -> (Sender<T>, Receiver<T>) {
    let ring = Arc::new(Ring::new(cap.max(1)));
    (
        Sender { ring: ring.clone() },
        Receiver {
            ring,
            in_burst: false,
            terminated: false,
        },
    )
}

/// The sending half: cloneable, usable from any thread (tasks and plain threads).
///
/// The channel closes when every `Sender` is dropped (or [`close`](Sender::close) is
/// called); the receiver then drains what is queued and ends.
pub struct Sender<T> {
    ring: Arc<Ring<T>>,
}

/// The receiving half: one per channel, movable to another thread.
///
/// Implements [`Stream`]: the stream ends once the channel is closed and drained.
pub struct Receiver<T> {
    ring: Arc<Ring<T>>,
    /// The last poll returned a message: the next one may be on its way.
    in_burst: bool,
    terminated: bool,
}

impl<T> Sender<T> {
    /// Sends `value`, waiting while the channel is full.
    ///
    /// Fails, handing the value back, if the channel is closed (before or while waiting).
    /// Cancellation-safe: dropping the future before it completes sends nothing, holds
    /// no slot, and takes no wakeup from other waiting senders.
    pub fn send(&self, value: T) -> SendFuture<'_, T> {
        SendFuture {
            sender: self,
            value: Some(value),
            waiter: None,
        }
    }

    /// Sends `value` if there is room now.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.ring.try_push(value).map_err(|e| match e {
            PushError::Full(v, _) => TrySendError::Full(v),
            PushError::Closed(v) => TrySendError::Closed(v),
        })
    }

    /// Sends `value`, blocking the thread while the channel is full.
    ///
    /// For plain threads. Do not call it from an async task: it parks the executor's
    /// thread, and if the receiver runs there, it never drains the channel.
    pub fn send_blocking(&self, value: T) -> Result<(), SendError<T>> {
        match self.try_send(value) {
            Ok(()) => Ok(()),
            Err(TrySendError::Closed(v)) => Err(SendError(v)),
            Err(TrySendError::Full(v)) => park::block_on(self.send(v)),
        }
    }

    /// Closes the channel for every sender and the receiver; `true` if this call closed
    /// it. Queued messages stay for the receiver to drain.
    pub fn close(&self) -> bool {
        self.ring.close()
    }

    /// Whether the channel is closed (by either side, or by the receiver's drop).
    pub fn is_closed(&self) -> bool {
        self.ring.is_closed()
    }

    /// Messages queued now (a snapshot: other threads may change it meanwhile).
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// Whether no message is queued now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the channel is full now.
    pub fn is_full(&self) -> bool {
        self.len() == self.capacity()
    }

    /// How many messages the channel holds at most.
    pub fn capacity(&self) -> usize {
        self.ring.capacity()
    }

    /// Whether `self` and `other` send to the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.ring, &other.ring)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        self.ring.add_sender();
        Sender {
            ring: self.ring.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.ring.drop_sender();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").field("ring", &self.ring).finish()
    }
}

/// The future of [`Sender::send`].
///
/// # Panics
///
/// If polled again after it completed.
#[must_use = "futures do nothing unless awaited"]
pub struct SendFuture<'a, T> {
    sender: &'a Sender<T>,
    value: Option<T>,
    /// Our entry in the list of senders waiting for room, once we waited.
    waiter: Option<usize>,
}

// The message is only ever moved, never pinned.
impl<T> Unpin for SendFuture<'_, T> {}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let ring = &this.sender.ring;
        let mut value = this
            .value
            .take()
            .expect("`SendFuture` polled after it completed");
        loop {
            match ring.try_push(value) {
                Ok(()) => {
                    ring.unregister_waiter(&mut this.waiter);
                    return Poll::Ready(Ok(()));
                }
                Err(PushError::Closed(v)) => {
                    ring.unregister_waiter(&mut this.waiter);
                    return Poll::Ready(Err(SendError(v)));
                }
                Err(PushError::Full(v, pos)) => {
                    ring.register_waiter(&mut this.waiter, cx.waker());
                    if ring.wait_for_room(pos) {
                        this.value = Some(v);
                        return Poll::Pending;
                    }
                    value = v;
                }
            }
        }
    }
}

impl<T> Drop for SendFuture<'_, T> {
    fn drop(&mut self) {
        self.sender.ring.unregister_waiter(&mut self.waiter);
    }
}

impl<T> fmt::Debug for SendFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendFuture")
            .field("done", &self.value.is_none())
            .field("waiting", &self.waiter.is_some())
            .finish()
    }
}

impl<T> Receiver<T> {
    /// Receives the next message, waiting while the channel is empty.
    ///
    /// Fails once the channel is closed and empty. Cancellation-safe: a dropped `recv`
    /// future has taken nothing.
    pub fn recv(&mut self) -> RecvFuture<'_, T> {
        RecvFuture { receiver: self }
    }

    /// Polls for the next message: what [`recv`](Receiver::recv) and the [`Stream`] use,
    /// for hand-written futures.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        let polled = self.ring.poll_take(cx, self.in_burst);
        self.in_burst = matches!(polled, Poll::Ready(Some(_)));
        match polled {
            Poll::Ready(Some(v)) => Poll::Ready(Ok(v)),
            Poll::Ready(None) => {
                self.terminated = true;
                Poll::Ready(Err(RecvError))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// Receives a message if one is queued now.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let r = self.ring.try_take();
        self.in_burst = r.is_ok();
        r
    }

    /// Waits for at least one message, then moves up to `limit` queued messages into
    /// `buf` without waiting more; returns how many.
    ///
    /// Returns 0 only when the channel is closed and empty (or `limit` is 0). One wake
    /// yields the whole batch that arrived: the cheapest way to drain a busy channel.
    pub fn recv_many<'a>(&'a mut self, buf: &'a mut Vec<T>, limit: usize) -> RecvManyFuture<'a, T> {
        RecvManyFuture {
            receiver: self,
            buf,
            limit,
        }
    }

    /// Receives the next message, blocking the thread while the channel is empty.
    ///
    /// For plain threads. Do not call it from an async task: it parks the executor's
    /// thread.
    pub fn recv_blocking(&mut self) -> Result<T, RecvError> {
        match self.try_recv() {
            Ok(v) => Ok(v),
            Err(TryRecvError::Closed) => Err(RecvError),
            Err(TryRecvError::Empty) => park::block_on(self.recv()),
        }
    }

    /// Closes the channel: senders fail from now on, waiting ones wake up with their
    /// message back. What is queued can still be received. `true` if this call closed it.
    pub fn close(&self) -> bool {
        self.ring.close()
    }

    /// Whether the channel is closed (messages may still be queued).
    pub fn is_closed(&self) -> bool {
        self.ring.is_closed()
    }

    /// Messages queued now (a snapshot: senders may add more meanwhile).
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// Whether no message is queued now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many messages the channel holds at most.
    pub fn capacity(&self) -> usize {
        self.ring.capacity()
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.ring.close();
        while let Some(message) = self.ring.take() {
            drop(message);
        }
    }
}

impl<T> Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().poll_recv(cx).map(Result::ok)
    }
}

impl<T> FusedStream for Receiver<T> {
    fn is_terminated(&self) -> bool {
        self.terminated
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("ring", &self.ring)
            .finish()
    }
}

/// The future of [`Receiver::recv`].
#[must_use = "futures do nothing unless awaited"]
pub struct RecvFuture<'a, T> {
    receiver: &'a mut Receiver<T>,
}

impl<T> Future for RecvFuture<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.receiver.poll_recv(cx)
    }
}

impl<T> fmt::Debug for RecvFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvFuture").finish_non_exhaustive()
    }
}

/// The future of [`Receiver::recv_many`].
#[must_use = "futures do nothing unless awaited"]
pub struct RecvManyFuture<'a, T> {
    receiver: &'a mut Receiver<T>,
    buf: &'a mut Vec<T>,
    limit: usize,
}

impl<T> Future for RecvManyFuture<'_, T> {
    type Output = usize;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let this = &mut *self;
        if this.limit == 0 {
            return Poll::Ready(0);
        }
        match this.receiver.poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(RecvError)) => Poll::Ready(0),
            Poll::Ready(Ok(first)) => {
                this.buf.push(first);
                let mut n = 1;
                while n < this.limit {
                    match this.receiver.ring.take() {
                        Some(v) => this.buf.push(v),
                        None => break,
                    }
                    n += 1;
                }
                Poll::Ready(n)
            }
        }
    }
}

impl<T> fmt::Debug for RecvManyFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvManyFuture")
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}
