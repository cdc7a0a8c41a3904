//! A local one-shot channel: one value, sent once, received once.
//!
//! # Design
//!
//! The channel is one `Rc` of four `Cell`s: the value slot, the state bits (the sender is
//! gone, the receiver closed), the receiver's waker and the waker of the sender's
//! [`closed`](Sender::closed) future. There is no `RefCell` at all: every access is a `take`
//! or a `set`, so no borrow can be held across a wake. The value lives in the channel's
//! allocation between the send and the receive; nothing else is allocated.
//!
//! The [`Receiver`] is itself the future of the value. Dropping the sender without sending
//! ends it with [`RecvError`]; dropping the receiver (or [`Receiver::close`]) makes the send
//! fail and hand the value back, and resolves [`Sender::closed`]. A value sent but never
//! received is dropped with the receiver.
//!
//! # Example
//!
//! ```
//! use solo_sync::channel::oneshot;
//!
//! solo_lite::future::block_on(async {
//!     let (tx, rx) = oneshot::channel();
//!     tx.send("reply").unwrap();
//!     assert_eq!(rx.await, Ok("reply"));
//!
//!     let (tx, rx) = oneshot::channel::<u8>();
//!     drop(tx);
//!     assert!(rx.await.is_err());
//! });
//! ```
#![forbid(unsafe_code)]

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use futures_core::FusedFuture;

use super::{RecvError, TryRecvError};
use crate::waiters::store_waker;

/// The sender was dropped (it may have sent a value first).
const TX_GONE: u8 = 1;
/// The receiver was dropped or closed.
const RX_CLOSED: u8 = 2;
/// The receiver has returned its result (the value or the error).
const DONE: u8 = 4;

/// Creates a one-shot channel.
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Rc::new(Inner {
        value: Cell::new(None),
        state: Cell::new(0),
        rx_waker: Cell::new(None),
        tx_waker: Cell::new(None),
    });
    (
        Sender {
            inner: inner.clone(),
        },
        Receiver { inner },
    )
}

struct Inner<T> {
    value: Cell<Option<T>>,
    state: Cell<u8>,
    rx_waker: Cell<Option<Waker>>,
    tx_waker: Cell<Option<Waker>>,
}

impl<T> Inner<T> {
    fn has(&self, bit: u8) -> bool {
        self.state.get() & bit != 0
    }

    /// Sets a state bit and wakes the other side's waker.
    fn set(&self, bit: u8, other: &Cell<Option<Waker>>) {
        self.state.set(self.state.get() | bit);
        if let Some(waker) = other.take() {
            waker.wake();
        }
    }
}

/// The sending half of a one-shot channel.
pub struct Sender<T> {
    inner: Rc<Inner<T>>,
}

impl<T> Sender<T> {
    /// Sends the value, consuming the sender. Fails, handing the value back, if the receiver
    /// is gone or closed.
    pub fn send(self, value: T) -> Result<(), T> {
        if self.inner.has(RX_CLOSED) {
            return Err(value);
        }
        self.inner.value.set(Some(value));
        // Dropping `self` marks the sender gone and wakes the receiver once.
        Ok(())
    }

    /// Whether the receiver is gone or closed (a send would fail).
    pub fn is_closed(&self) -> bool {
        self.inner.has(RX_CLOSED)
    }

    /// Waits until the receiver is gone or closed: a way to stop working on a reply nobody
    /// will read.
    pub fn closed(&mut self) -> ClosedFuture<'_, T> {
        ClosedFuture { tx: self }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.inner.set(TX_GONE, &self.inner.rx_waker);
        drop(self.inner.tx_waker.take());
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The future of [`Sender::closed`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ClosedFuture<'a, T> {
    tx: &'a mut Sender<T>,
}

impl<T> Future for ClosedFuture<'_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let inner = &*self.get_mut().tx.inner;
        if inner.has(RX_CLOSED) {
            return Poll::Ready(());
        }
        store_waker(&inner.tx_waker, cx.waker());
        Poll::Pending
    }
}

impl<T> Drop for ClosedFuture<'_, T> {
    fn drop(&mut self) {
        // Nobody waits any more: let go of the waker (and its task) now.
        drop(self.tx.inner.tx_waker.take());
    }
}

impl<T> fmt::Debug for ClosedFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClosedFuture").finish_non_exhaustive()
    }
}

/// The receiving half of a one-shot channel: a future of the value.
///
/// It resolves to `Ok(value)` once the value is sent, or to `Err(RecvError)` if the sender
/// is dropped without sending. Polling it again after that gives `Err(RecvError)`.
pub struct Receiver<T> {
    inner: Rc<Inner<T>>,
}

impl<T> Receiver<T> {
    /// Takes the value if it has been sent.
    ///
    /// Fails with [`TryRecvError::Empty`] while the sender may still send, and with
    /// [`TryRecvError::Closed`] when it is gone without a value (or the value was taken).
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        match self.inner.value.take() {
            Some(value) => {
                self.inner.state.set(self.inner.state.get() | DONE);
                Ok(value)
            }
            None if self.inner.has(TX_GONE) => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Closes the channel: a later send fails and hands its value back, and
    /// [`Sender::closed`] resolves. A value sent before the close can still be received.
    pub fn close(&mut self) {
        if !self.inner.has(RX_CLOSED) {
            self.inner.set(RX_CLOSED, &self.inner.tx_waker);
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &*self.get_mut().inner;
        if let Some(value) = inner.value.take() {
            inner.state.set(inner.state.get() | DONE);
            return Poll::Ready(Ok(value));
        }
        if inner.has(TX_GONE) {
            inner.state.set(inner.state.get() | DONE);
            return Poll::Ready(Err(RecvError));
        }
        store_waker(&inner.rx_waker, cx.waker());
        Poll::Pending
    }
}

impl<T> FusedFuture for Receiver<T> {
    fn is_terminated(&self) -> bool {
        self.inner.has(DONE)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.close();
        drop(self.inner.rx_waker.take());
        // A value sent but never received goes now (not when the sender drops its `Rc`).
        drop(self.inner.value.take());
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("sender_gone", &self.inner.has(TX_GONE))
            .finish()
    }
}
