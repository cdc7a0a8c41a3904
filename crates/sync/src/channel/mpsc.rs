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
//! receiver still gets the messages queued before the close, then [`RecvError`]. Messages
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
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use futures_core::Stream;
use futures_core::stream::FusedStream;

use super::{RecvError, SendError, TryRecvError, TrySendError};
use crate::waiters::{Key, Waiters, wake_each};

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
        wake_each(|| self.send_waiters.borrow_mut().pop());
        wake_each(|| self.close_waiters.borrow_mut().pop());
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
            if let Some(key) = key.take() {
                let _removed = self.close_waiters.borrow_mut().remove(key);
            }
            return Poll::Ready(());
        }
        let old = self.close_waiters.borrow_mut().park(key, (), cx.waker());
        drop(old);
        Poll::Pending
    }
}

/// The sending half of a bounded channel. Clone it for more senders.
pub struct Sender<T> {
    chan: Rc<Chan<T>>,
}

impl<T> Sender<T> {
    /// Sends a message, waiting for room if the channel is full.
    ///
    /// Waiting senders are served in the order they started waiting. Fails (handing the
    /// message back) if the channel is or becomes closed. Dropping the future before it
    /// completes takes the message back out of the race: it is dropped unsent, and a slot
    /// that had already been reserved for it goes to the next waiting sender.
    pub fn send(&self, msg: T) -> SendFuture<'_, T> {
        SendFuture {
            chan: &self.chan,
            msg: Some(msg),
            key: None,
        }
    }

    /// Sends a message if there is room now.
    ///
    /// Fails with [`TrySendError::Full`] when the channel is full or other senders are
    /// already waiting for room (they come first), and with [`TrySendError::Closed`] when it
    /// is closed.
    pub fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        self.chan.try_send(msg)
    }

    /// Closes the channel: later sends fail, waiting sends fail and get their message back,
    /// the receiver still gets the messages already queued. Returns `false` if the channel
    /// was already closed.
    pub fn close(&self) -> bool {
        self.chan.close()
    }

    /// Whether the channel is closed (by either side, or because the receiver is gone).
    pub fn is_closed(&self) -> bool {
        self.chan.closed.get()
    }

    /// Waits until the channel is closed: the receiver was dropped or somebody called
    /// `close`.
    pub fn closed(&self) -> ClosedFuture<'_, T> {
        ClosedFuture {
            chan: &*self.chan,
            key: None,
        }
    }

    /// How many messages are queued.
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// Whether no message is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The channel's bound (after `0` was taken as `1`).
    pub fn capacity(&self) -> usize {
        self.chan.cap
    }

    /// Whether both senders belong to the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Rc::ptr_eq(&self.chan, &other.chan)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The sending half of an unbounded channel. Clone it for more senders.
pub struct UnboundedSender<T> {
    chan: Rc<Chan<T>>,
}

impl<T> UnboundedSender<T> {
    /// Sends a message; never waits. Fails (handing the message back) if the channel is
    /// closed.
    pub fn send(&self, msg: T) -> Result<(), SendError<T>> {
        if self.chan.closed.get() {
            return Err(SendError(msg));
        }
        self.chan.push(msg);
        Ok(())
    }

    /// Closes the channel: later sends fail, the receiver still gets the messages already
    /// queued. Returns `false` if the channel was already closed.
    pub fn close(&self) -> bool {
        self.chan.close()
    }

    /// Whether the channel is closed (by either side, or because the receiver is gone).
    pub fn is_closed(&self) -> bool {
        self.chan.closed.get()
    }

    /// Waits until the channel is closed: the receiver was dropped or somebody called
    /// `close`.
    pub fn closed(&self) -> ClosedFuture<'_, T> {
        ClosedFuture {
            chan: &*self.chan,
            key: None,
        }
    }

    /// How many messages are queued.
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// Whether no message is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether both senders belong to the same channel.
    pub fn same_channel(&self, other: &UnboundedSender<T>) -> bool {
        Rc::ptr_eq(&self.chan, &other.chan)
    }
}

impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        UnboundedSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for UnboundedSender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> fmt::Debug for UnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedSender")
            .field("len", &self.len())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The receiving half of a channel (bounded or unbounded).
///
/// Also a [`Stream`] of the messages, which ends when the channel is closed and empty.
pub struct Receiver<T> {
    chan: Rc<Chan<T>>,
}

impl<T> Receiver<T> {
    /// Receives the next message, waiting for one if the channel is empty.
    ///
    /// Fails once the channel is closed and empty. Cancellation-safe: dropping the future
    /// loses no message.
    pub fn recv(&mut self) -> RecvFuture<'_, T> {
        RecvFuture {
            rx: self,
            parked: false,
        }
    }

    /// Receives a message if one is queued.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        match self.take() {
            Some(msg) => Ok(msg),
            None if self.chan.closed.get() => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Waits for at least one message, then moves up to `limit` queued messages (without
    /// waiting for more) to the end of `buf`; returns how many it moved.
    ///
    /// Returns 0 only when the channel is closed and empty, or at once when `limit` is 0.
    pub fn recv_many<'a>(&'a mut self, buf: &'a mut Vec<T>, limit: usize) -> RecvManyFuture<'a, T> {
        RecvManyFuture {
            rx: self,
            buf,
            limit,
            parked: false,
        }
    }

    /// Polls for the next message: what [`recv`](Self::recv) and the [`Stream`] do.
    ///
    /// On `Pending`, the waker of `cx` is woken when a message comes or the channel closes
    /// (only the waker of the latest poll is kept).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        if let Some(msg) = self.take() {
            return Poll::Ready(Ok(msg));
        }
        if self.chan.closed.get() {
            return Poll::Ready(Err(RecvError));
        }
        self.park(cx.waker());
        Poll::Pending
    }

    /// Closes the channel: senders fail from now on (waiting ones get their message back);
    /// the messages already queued can still be received. Returns `false` if it was already
    /// closed.
    pub fn close(&self) -> bool {
        self.chan.close()
    }

    /// Whether the channel is closed. Messages may still be queued.
    pub fn is_closed(&self) -> bool {
        self.chan.closed.get()
    }

    /// How many messages are queued.
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// Whether no message is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes the next message and hands the slot it frees to a waiting sender.
    fn take(&mut self) -> Option<T> {
        let msg = self.chan.queue.borrow_mut().pop_front()?;
        self.chan.grant();
        Some(msg)
    }

    fn park(&self, waker: &Waker) {
        let old = self.chan.rx_waker.take();
        match old {
            Some(old) if old.will_wake(waker) => self.chan.rx_waker.set(Some(old)),
            _ => self.chan.rx_waker.set(Some(waker.clone())),
        }
    }

    fn unpark(&self) {
        drop(self.chan.rx_waker.take());
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.chan.close();
        // Drop the unreceived messages now, outside any borrow: their destructors may use
        // this channel.
        let queued = std::mem::take(&mut *self.chan.queue.borrow_mut());
        drop(queued);
    }
}

impl<T> Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().poll_recv(cx).map(Result::ok)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let len = self.len();
        (len, if self.is_closed() { Some(len) } else { None })
    }
}

impl<T> FusedStream for Receiver<T> {
    fn is_terminated(&self) -> bool {
        self.is_closed() && self.is_empty()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("len", &self.len())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The future of [`Sender::send`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct SendFuture<'a, T> {
    chan: &'a Chan<T>,
    /// `None` once the future has completed.
    msg: Option<T>,
    /// Our slot in `send_waiters` while we wait.
    key: Option<Key>,
}

// The message is never pinned: it is moved into the channel or handed back.
impl<T> Unpin for SendFuture<'_, T> {}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let chan = this.chan;
        match this.key {
            None => match this.msg.take().map(|msg| chan.try_send(msg)) {
                None => panic!("`SendFuture` polled after completion"),
                Some(Ok(())) => Poll::Ready(Ok(())),
                Some(Err(TrySendError::Closed(msg))) => Poll::Ready(Err(SendError(msg))),
                Some(Err(TrySendError::Full(msg))) => {
                    this.msg = Some(msg);
                    this.key = Some(chan.send_waiters.borrow_mut().push((), cx.waker()));
                    Poll::Pending
                }
            },
            Some(key) => {
                if !chan.send_waiters.borrow().is_woken(key) {
                    let _old = chan.send_waiters.borrow_mut().register(key, cx.waker());
                    return Poll::Pending;
                }
                // Woken: a slot was reserved for us, or the channel closed.
                let _removed = chan.send_waiters.borrow_mut().remove(key);
                this.key = None;
                let Some(msg) = this.msg.take() else {
                    panic!("`SendFuture` polled after completion")
                };
                if chan.closed.get() {
                    return Poll::Ready(Err(SendError(msg)));
                }
                chan.reserved.set(chan.reserved.get() - 1);
                chan.push(msg);
                Poll::Ready(Ok(()))
            }
        }
    }
}

impl<T> Drop for SendFuture<'_, T> {
    fn drop(&mut self) {
        let Some(key) = self.key else { return };
        let removed = self.chan.send_waiters.borrow_mut().remove(key);
        if removed.woken && !self.chan.closed.get() {
            // A slot was reserved for us: pass it on.
            self.chan.reserved.set(self.chan.reserved.get() - 1);
            self.chan.grant();
        }
    }
}

impl<T> fmt::Debug for SendFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendFuture")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

/// The future of [`Receiver::recv`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct RecvFuture<'a, T> {
    rx: &'a mut Receiver<T>,
    /// Whether our waker is the receiver's registered one.
    parked: bool,
}

impl<T> Future for RecvFuture<'_, T> {
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
            // Nobody waits any more: forget the waker rather than wake it for nothing.
            self.rx.unpark();
        }
    }
}

impl<T> fmt::Debug for RecvFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvFuture").finish_non_exhaustive()
    }
}

/// The future of [`Receiver::recv_many`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct RecvManyFuture<'a, T> {
    rx: &'a mut Receiver<T>,
    buf: &'a mut Vec<T>,
    limit: usize,
    parked: bool,
}

impl<T> Future for RecvManyFuture<'_, T> {
    type Output = usize;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let this = self.get_mut();
        let chan = &*this.rx.chan;
        if this.limit == 0 {
            return Poll::Ready(0);
        }
        let n = {
            let mut queue = chan.queue.borrow_mut();
            let n = this.limit.min(queue.len());
            this.buf.extend(queue.drain(..n));
            n
        };
        if n > 0 {
            this.parked = false;
            chan.grant();
            return Poll::Ready(n);
        }
        if chan.closed.get() {
            this.parked = false;
            return Poll::Ready(0);
        }
        this.rx.park(cx.waker());
        this.parked = true;
        Poll::Pending
    }
}

impl<T> Drop for RecvManyFuture<'_, T> {
    fn drop(&mut self) {
        if self.parked {
            self.rx.unpark();
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

/// The future of [`Sender::closed`] and [`UnboundedSender::closed`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ClosedFuture<'a, T> {
    chan: &'a Chan<T>,
    key: Option<Key>,
}

impl<T> Future for ClosedFuture<'_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        this.chan.poll_closed(&mut this.key, cx)
    }
}

impl<T> Drop for ClosedFuture<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            let _removed = self.chan.close_waiters.borrow_mut().remove(key);
        }
    }
}

impl<T> fmt::Debug for ClosedFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClosedFuture").finish_non_exhaustive()
    }
}
