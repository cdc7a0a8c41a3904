//! A local watch channel: one value that changes, many receivers that see the latest.
//!
//! # Design
//!
//! The channel holds one value in a `RefCell` and a version number that every send bumps.
//! A [`Receiver`] remembers the version it last saw; [`changed`](Receiver::changed) waits
//! until the version moves past it. Receivers see the *latest* value, not every value: two
//! sends between two looks are one change. Parked receivers wait in one
//! waiter queue, and a send wakes each of them once, after the value's
//! borrow has ended (a woken task may be polled at once and borrow the value).
//!
//! **Memory.** The value and the version live in the channel's one allocation; sending
//! replaces the value in place. A parked receiver takes a slot of the waiter queue (48 bytes
//! on 64-bit targets), reused.
//!
//! **Borrows.** [`borrow`](Receiver::borrow) hands out a [`Ref`] to the value, a shared
//! `RefCell` borrow. Sending while a `Ref` of the same channel is alive would have to write
//! under it, so it panics (where a lock-based channel would deadlock): keep `Ref`s short and
//! never hold one across an `.await`.
//!
//! # Example
//!
//! ```
//! use solo_sync::channel::watch;
//!
//! solo_lite::future::block_on(async {
//!     let (tx, mut rx) = watch::channel("starting");
//!     tx.send("ready").unwrap();
//!     rx.changed().await.unwrap();
//!     assert_eq!(*rx.borrow_and_update(), "ready");
//!     drop(tx);
//!     assert!(rx.changed().await.is_err()); // no newer value will come
//!     assert_eq!(*rx.borrow(), "ready"); // the last one stays readable
//! });
//! ```
#![forbid(unsafe_code)]

use std::cell::{self, Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::{RecvError, SendError};
use crate::waiters::{Key, Waiters, cancel, park, wake_all};

/// Creates a watch channel holding `init`; the receiver has seen `init`.
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let shared = Rc::new(Shared {
        value: RefCell::new(init),
        version: Cell::new(0),
        sender_alive: Cell::new(true),
        receivers: Cell::new(1),
        changed: RefCell::new(Waiters::new()),
        closed: RefCell::new(Waiters::new()),
    });
    let rx = Receiver {
        shared: shared.clone(),
        seen: 0,
    };
    (Sender { shared }, rx)
}

struct Shared<T> {
    value: RefCell<T>,
    version: Cell<u64>,
    sender_alive: Cell<bool>,
    receivers: Cell<usize>,
    /// Receivers parked in `changed`.
    changed: RefCell<Waiters<()>>,
    /// Sender futures parked in `closed`.
    closed: RefCell<Waiters<()>>,
}

impl<T> Shared<T> {
    /// A new version is in: wake the receivers parked in `changed`.
    fn bump(&self) {
        self.version.set(self.version.get() + 1);
        wake_all(&self.changed);
    }
}

/// A shared borrow of the value in a watch channel.
///
/// While it is alive, sending on the channel panics: drop it before the next send and never
/// hold it across an `.await`.
pub struct Ref<'a, T> {
    inner: cell::Ref<'a, T>,
    has_changed: bool,
}

impl<T> Ref<'_, T> {
    /// Whether the value was new to the receiver that borrowed it (always `false` for a
    /// borrow through the sender).
    pub fn has_changed(&self) -> bool {
        self.has_changed
    }
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// The sending half of a watch channel.
pub struct Sender<T> {
    shared: Rc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Replaces the value and notifies the receivers. Fails, handing the value back (and
    /// leaving the old one in place), when there is no receiver.
    ///
    /// # Panics
    ///
    /// If a [`Ref`] of this channel is alive.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.shared.receivers.get() == 0 {
            return Err(SendError(value));
        }
        drop(self.send_replace(value));
        Ok(())
    }

    /// Replaces the value, even with no receiver, notifies the receivers and returns the old
    /// value.
    ///
    /// # Panics
    ///
    /// If a [`Ref`] of this channel is alive.
    pub fn send_replace(&self, value: T) -> T {
        let old = std::mem::replace(&mut *self.shared.value.borrow_mut(), value);
        self.shared.bump();
        old
    }

    /// Changes the value in place, even with no receiver, and notifies the receivers.
    ///
    /// # Panics
    ///
    /// If a [`Ref`] of this channel is alive, or if `modify` uses this channel's value.
    pub fn send_modify(&self, modify: impl FnOnce(&mut T)) {
        modify(&mut self.shared.value.borrow_mut());
        self.shared.bump();
    }

    /// Changes the value in place and notifies the receivers only if `modify` returns
    /// `true`; returns what `modify` returned.
    ///
    /// # Panics
    ///
    /// If a [`Ref`] of this channel is alive, or if `modify` uses this channel's value.
    pub fn send_if_modified(&self, modify: impl FnOnce(&mut T) -> bool) -> bool {
        let modified = modify(&mut self.shared.value.borrow_mut());
        if modified {
            self.shared.bump();
        }
        modified
    }

    /// Borrows the current value.
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            inner: self.shared.value.borrow(),
            has_changed: false,
        }
    }

    /// A new receiver, which has seen the current value.
    pub fn subscribe(&self) -> Receiver<T> {
        self.shared.receivers.set(self.shared.receivers.get() + 1);
        Receiver {
            shared: self.shared.clone(),
            seen: self.shared.version.get(),
        }
    }

    /// How many receivers there are.
    pub fn receiver_count(&self) -> usize {
        self.shared.receivers.get()
    }

    /// Whether there is no receiver (a [`send`](Self::send) would fail).
    pub fn is_closed(&self) -> bool {
        self.receiver_count() == 0
    }

    /// Waits until there is no receiver.
    pub fn closed(&self) -> ClosedFuture<'_, T> {
        ClosedFuture {
            shared: &self.shared,
            key: None,
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.shared.sender_alive.set(false);
        wake_all(&self.shared.changed);
    }
}

impl<T: fmt::Debug> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Sender");
        match self.shared.value.try_borrow() {
            Ok(value) => d.field("value", &*value),
            Err(_) => d.field("value", &format_args!("<borrowed>")),
        };
        d.field("receivers", &self.receiver_count()).finish()
    }
}

/// The future of [`Sender::closed`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ClosedFuture<'a, T> {
    shared: &'a Shared<T>,
    key: Option<Key>,
}

impl<T> Future for ClosedFuture<'_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.shared.receivers.get() == 0 {
            drop(cancel(&this.shared.closed, &mut this.key));
            return Poll::Ready(());
        }
        park(&this.shared.closed, &mut this.key, (), cx.waker());
        Poll::Pending
    }
}

impl<T> Drop for ClosedFuture<'_, T> {
    fn drop(&mut self) {
        drop(cancel(&self.shared.closed, &mut self.key));
    }
}

impl<T> fmt::Debug for ClosedFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClosedFuture").finish_non_exhaustive()
    }
}

/// A receiving half of a watch channel. Clone it for more receivers (a clone has seen what
/// this one has seen).
pub struct Receiver<T> {
    shared: Rc<Shared<T>>,
    /// The version this receiver saw last.
    seen: u64,
}

impl<T> Receiver<T> {
    /// Borrows the current value without marking it seen.
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            inner: self.shared.value.borrow(),
            has_changed: self.shared.version.get() != self.seen,
        }
    }

    /// Borrows the current value and marks it seen.
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let version = self.shared.version.get();
        let has_changed = version != self.seen;
        self.seen = version;
        Ref {
            inner: self.shared.value.borrow(),
            has_changed,
        }
    }

    /// Waits for a value this receiver has not seen, and marks it seen (read it with
    /// [`borrow`](Self::borrow)).
    ///
    /// A value sent before the sender went is still reported; after that, fails with
    /// [`RecvError`]: no newer value will come. Cancellation-safe.
    pub fn changed(&mut self) -> ChangedFuture<'_, T> {
        ChangedFuture {
            rx: self,
            key: None,
        }
    }

    /// Whether there is a value this receiver has not seen. Fails when there is none and the
    /// sender is gone (so none will come).
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        if self.shared.version.get() != self.seen {
            Ok(true)
        } else if self.shared.sender_alive.get() {
            Ok(false)
        } else {
            Err(RecvError)
        }
    }

    /// Marks the current value seen.
    pub fn mark_unchanged(&mut self) {
        self.seen = self.shared.version.get();
    }

    /// Whether both receivers belong to the same channel.
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Rc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.shared.receivers.set(self.shared.receivers.get() + 1);
        Receiver {
            shared: self.shared.clone(),
            seen: self.seen,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let left = self.shared.receivers.get() - 1;
        self.shared.receivers.set(left);
        if left == 0 {
            wake_all(&self.shared.closed);
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Receiver");
        match self.shared.value.try_borrow() {
            Ok(value) => d.field("value", &*value),
            Err(_) => d.field("value", &format_args!("<borrowed>")),
        };
        d.field("has_changed", &(self.shared.version.get() != self.seen))
            .finish()
    }
}

/// The future of [`Receiver::changed`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ChangedFuture<'a, T> {
    rx: &'a mut Receiver<T>,
    key: Option<Key>,
}

impl<T> Future for ChangedFuture<'_, T> {
    type Output = Result<(), RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let shared = &*this.rx.shared;
        let version = shared.version.get();
        if version != this.rx.seen {
            this.rx.seen = version;
            drop(cancel(&shared.changed, &mut this.key));
            return Poll::Ready(Ok(()));
        }
        if !shared.sender_alive.get() {
            drop(cancel(&shared.changed, &mut this.key));
            return Poll::Ready(Err(RecvError));
        }
        park(&shared.changed, &mut this.key, (), cx.waker());
        Poll::Pending
    }
}

impl<T> Drop for ChangedFuture<'_, T> {
    fn drop(&mut self) {
        drop(cancel(&self.rx.shared.changed, &mut self.key));
    }
}

impl<T> fmt::Debug for ChangedFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChangedFuture").finish_non_exhaustive()
    }
}
