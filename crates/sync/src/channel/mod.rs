//! Channels: local (`!Send`, one thread) and cross-thread.
//!
//! | kind | ends | capacity | for |
//! |---|---|---|---|
//! | [`mpsc`] | many senders, one receiver, one thread | bounded or unbounded | work queues between tasks |
//! | [`oneshot`] | one value, one thread | 1 | a reply |
//! | [`broadcast`] | many senders, many receivers, one thread | bounded ring | every receiver sees every message |
//! | [`watch`] | one value, many receivers, one thread | latest only | state that changes |
//! | [`cross`] | senders on any thread, one receiver | bounded | messages between shards (threads) |
//!
//! Every kind reports closure: a send to a channel whose receivers are gone fails and
//! hands the message back, a receive from a channel whose senders are gone ends once it is
//! empty. A message is never lost or delivered twice; messages still queued when the
//! channel goes are dropped with it.

use std::error::Error;
use std::fmt;

pub mod broadcast;
pub mod cross;
pub mod mpsc;
pub mod oneshot;
pub mod watch;

/// A send failed because the channel is closed; the message comes back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> SendError<T> {
    /// The message that was not sent.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sending on a closed channel")
    }
}

impl<T> Error for SendError<T> {}

/// A send that could not complete at once; the message comes back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The channel is full: try again after the receiver took some.
    Full(T),
    /// The channel is closed.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// The message that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(t) | TrySendError::Closed(t) => t,
        }
    }

    /// Whether the channel was full.
    pub fn is_full(&self) -> bool {
        matches!(self, TrySendError::Full(_))
    }

    /// Whether the channel was closed.
    pub fn is_closed(&self) -> bool {
        matches!(self, TrySendError::Closed(_))
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("sending on a full channel"),
            TrySendError::Closed(_) => f.write_str("sending on a closed channel"),
        }
    }
}

impl<T> Error for TrySendError<T> {}

impl<T> From<SendError<T>> for TrySendError<T> {
    fn from(e: SendError<T>) -> TrySendError<T> {
        TrySendError::Closed(e.0)
    }
}

/// A receive failed because the channel is empty and closed: no message will come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecvError;

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("receiving on an empty and closed channel")
    }
}

impl Error for RecvError {}

/// A receive that could not complete at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing is queued now; a message may come later.
    Empty,
    /// Nothing is queued and the channel is closed: no message will come.
    Closed,
}

impl TryRecvError {
    /// Whether the channel was empty (but open).
    pub fn is_empty(&self) -> bool {
        matches!(self, TryRecvError::Empty)
    }

    /// Whether the channel was closed.
    pub fn is_closed(&self) -> bool {
        matches!(self, TryRecvError::Closed)
    }
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("receiving on an empty channel"),
            TryRecvError::Closed => f.write_str("receiving on an empty and closed channel"),
        }
    }
}

impl Error for TryRecvError {}
