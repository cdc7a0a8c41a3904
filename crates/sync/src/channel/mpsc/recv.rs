//! The receiving half of an mpsc channel and its futures.
#![forbid(unsafe_code)]

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use futures_core::Stream;
use futures_core::stream::FusedStream;

use super::Chan;
use crate::channel::{RecvError, TryRecvError};
use crate::waiters::store_waker;

/// The receiving half of a channel (bounded or unbounded).
///
/// Also a [`Stream`] of the messages, which ends when the channel is closed and empty.
pub struct Receiver<T> {
    pub(super) chan: Rc<Chan<T>>,
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
        store_waker(&self.chan.rx_waker, waker);
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
