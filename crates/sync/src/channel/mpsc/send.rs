//! The sending halves of an mpsc channel and their futures.
#![forbid(unsafe_code)]

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, ready};

use super::Chan;
use crate::channel::{SendError, TrySendError};
use crate::waiters::{Key, cancel, poll_handed};

/// The sending half of a bounded channel. Clone it for more senders.
pub struct Sender<T> {
    pub(super) chan: Rc<Chan<T>>,
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

    /// The channel's bound (after `0` was taken as `1`).
    pub fn capacity(&self) -> usize {
        self.chan.cap
    }
}

/// What both kinds of sender do alike: closing, counting, comparing, cloning, dropping.
macro_rules! sender_common {
    ($sender:ident) => {
        impl<T> $sender<T> {
            /// Closes the channel: later sends fail, waiting sends fail and get their
            /// message back, the receiver still gets the messages already queued. Returns
            /// `false` if the channel was already closed.
            pub fn close(&self) -> bool {
                self.chan.close()
            }

            /// Whether the channel is closed (by either side, or because the receiver is
            /// gone).
            pub fn is_closed(&self) -> bool {
                self.chan.closed.get()
            }

            /// Waits until the channel is closed: the receiver was dropped or somebody
            /// called `close`.
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
            pub fn same_channel(&self, other: &$sender<T>) -> bool {
                Rc::ptr_eq(&self.chan, &other.chan)
            }
        }

        impl<T> Clone for $sender<T> {
            fn clone(&self) -> Self {
                self.chan.add_sender();
                $sender {
                    chan: self.chan.clone(),
                }
            }
        }

        impl<T> Drop for $sender<T> {
            fn drop(&mut self) {
                self.chan.drop_sender();
            }
        }
    };
}

sender_common!(Sender);
sender_common!(UnboundedSender);

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
    pub(super) chan: Rc<Chan<T>>,
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
}

impl<T> fmt::Debug for UnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedSender")
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
        if this.key.is_none() {
            let msg = this
                .msg
                .take()
                .expect("`SendFuture` polled after completion");
            return match chan.try_send(msg) {
                Ok(()) => Poll::Ready(Ok(())),
                Err(TrySendError::Closed(msg)) => Poll::Ready(Err(SendError(msg))),
                Err(TrySendError::Full(msg)) => {
                    this.msg = Some(msg);
                    this.key = Some(chan.send_waiters.borrow_mut().push((), cx.waker()));
                    Poll::Pending
                }
            };
        }
        // Waiting until woken: a slot was reserved for us, or the channel closed.
        ready!(poll_handed(&chan.send_waiters, &mut this.key, cx.waker()));
        let msg = this.msg.take().expect("a waiting send holds its message");
        if chan.closed.get() {
            return Poll::Ready(Err(SendError(msg)));
        }
        chan.reserved.set(chan.reserved.get() - 1);
        chan.push(msg);
        Poll::Ready(Ok(()))
    }
}

impl<T> Drop for SendFuture<'_, T> {
    fn drop(&mut self) {
        let Some(removed) = cancel(&self.chan.send_waiters, &mut self.key) else {
            return;
        };
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
        drop(cancel(&self.chan.close_waiters, &mut self.key));
    }
}

impl<T> fmt::Debug for ClosedFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClosedFuture").finish_non_exhaustive()
    }
}
