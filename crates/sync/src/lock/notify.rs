//! [`Notify`]: wake one task or every task, with no data.
#![forbid(unsafe_code)]

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::NotSend;
use crate::waiters::{Key, Waiters, cancel, poll_handed, wake_all};

/// Waiter data: whether a waiter holds a [`Notify::notify_one`] notification (which it must
/// pass on if it is dropped before it completes).
const BY_ALL: bool = false;
const BY_ONE: bool = true;

/// A notification for tasks: [`notified`](Self::notified) waits, [`notify_one`](Self::notify_one)
/// wakes the oldest waiter (or leaves a permit for the next one), and
/// [`notify_all`](Self::notify_all) wakes every waiter.
///
/// [`notify_all`](Self::notify_all) also completes the [`Notified`] futures created before
/// it but not polled yet, so "create the future, check the condition, await" loses no
/// notification. Cancellation-safe: a waiter dropped after a `notify_one` picked it passes
/// the notification on.
///
/// ```
/// use solo_sync::lock::Notify;
///
/// solo_lite::future::block_on(async {
///     let notify = Notify::new();
///     notify.notify_one(); // nobody waits: stored as a permit
///     notify.notified().await; // takes the permit at once
///
///     let waiting = notify.notified();
///     notify.notify_all(); // completes the future created before
///     waiting.await;
/// });
/// ```
pub struct Notify {
    /// A `notify_one` with nobody waiting.
    permit: Cell<bool>,
    /// How many `notify_all`s there have been.
    generation: Cell<u64>,
    /// The waiters queued before this mark of the queue were released by a `notify_all`
    /// (which may still be waking them, one at a time): `notify_one` passes over them.
    released: Cell<u64>,
    /// Waiter data: `BY_ALL` while queued, `BY_ONE` once picked by `notify_one`.
    waiters: RefCell<Waiters<bool>>,
    _not_send: NotSend,
}

impl Notify {
    /// Creates a `Notify` with no stored permit.
    pub const fn new() -> Notify {
        Notify {
            permit: Cell::new(false),
            generation: Cell::new(0),
            released: Cell::new(0),
            waiters: RefCell::new(Waiters::new()),
            _not_send: NotSend {},
        }
    }

    /// A future that completes on a notification: a `notify_one` (or a permit it stored) or a
    /// `notify_all` made after this call.
    #[inline]
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            notify: self,
            generation: self.generation.get(),
            key: None,
            done: false,
        }
    }

    /// Wakes the oldest waiter; with none, stores one permit for the next
    /// [`notified`](Self::notified) (permits do not add up: at most one is stored).
    pub fn notify_one(&self) {
        let next = self
            .waiters
            .borrow_mut()
            .pop_since(self.released.get(), BY_ONE);
        match next {
            Some(waker) => waker.wake(),
            None => self.permit.set(true),
        }
    }

    /// Wakes every waiter now (and completes the [`Notified`] futures created so far); stores
    /// no permit.
    pub fn notify_all(&self) {
        self.generation.set(self.generation.get() + 1);
        self.released.set(self.waiters.borrow().mark());
        wake_all(&self.waiters);
    }
}

impl Default for Notify {
    fn default() -> Self {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notify")
            .field("permit", &self.permit.get())
            .field("waiters", &self.waiters.borrow().len())
            .finish()
    }
}

/// The future of [`Notify::notified`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Notified<'a> {
    notify: &'a Notify,
    /// `notify.generation` when the future was created.
    generation: u64,
    key: Option<Key>,
    done: bool,
}

impl Future for Notified<'_> {
    type Output = ();

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let notify = this.notify;
        if this.done {
            return Poll::Ready(());
        }
        if this.key.is_none() {
            if notify.generation.get() != this.generation || notify.permit.replace(false) {
                this.done = true;
                return Poll::Ready(());
            }
            this.key = Some(notify.waiters.borrow_mut().push(BY_ALL, cx.waker()));
            return Poll::Pending;
        }
        let poll = poll_handed(&notify.waiters, &mut this.key, cx.waker());
        this.done = poll.is_ready();
        poll
    }
}

impl Drop for Notified<'_> {
    #[inline]
    fn drop(&mut self) {
        if let Some(r) = cancel(&self.notify.waiters, &mut self.key) {
            if r.woken && r.data == BY_ONE {
                // Picked by `notify_one` but never ran: pass the notification on.
                self.notify.notify_one();
            }
        }
    }
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified")
            .field("waiting", &self.key.is_some())
            .field("done", &self.done)
            .finish()
    }
}
