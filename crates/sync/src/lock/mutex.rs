//! [`Mutex`]: an async mutex for the tasks of one thread.
#![forbid(unsafe_code)]

use std::cell::{Cell, RefCell, RefMut};
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::task::{Context, Poll};

use super::NotSend;
use crate::waiters::{Key, Waiters, cancel, poll_handed};

/// An async mutex: one task at a time gets a [`MutexGuard`] to the value.
///
/// Fair: tasks get the lock in the order they asked for it; the guard hands the lock
/// straight to the oldest waiter when it is dropped. Cancellation-safe: a dropped
/// [`lock`](Self::lock) future leaves the queue, or passes the lock on if it had already
/// been handed it.
///
/// ```
/// use solo_sync::lock::Mutex;
///
/// solo_lite::future::block_on(async {
///     let m = Mutex::new(vec![1]);
///     m.lock().await.push(2);
///     let guard = m.try_lock().unwrap();
///     assert!(m.try_lock().is_none()); // locked
///     drop(guard);
///     assert_eq!(m.into_inner(), [1, 2]);
/// });
/// ```
pub struct Mutex<T: ?Sized> {
    raw: RawMutex,
    /// Borrowed mutably by the one guard; `raw.locked` keeps the borrows from conflicting.
    value: RefCell<T>,
}

/// The lock without the value.
struct RawMutex {
    locked: Cell<bool>,
    waiters: RefCell<Waiters<()>>,
    _not_send: NotSend,
}

impl RawMutex {
    #[inline]
    fn try_lock(&self) -> bool {
        // Invariant: a waiter queues only while the mutex is locked, and an unlock with
        // waiters hands the lock over, so "unlocked" implies "nobody waits".
        !self.locked.replace(true)
    }

    /// Hands the lock to the oldest waiter, or unlocks it.
    #[inline]
    fn unlock(&self) {
        let next = self.waiters.borrow_mut().pop();
        match next {
            Some(waker) => waker.wake(),
            None => self.locked.set(false),
        }
    }
}

impl<T> Mutex<T> {
    /// Creates an unlocked mutex.
    pub const fn new(value: T) -> Mutex<T> {
        Mutex {
            raw: RawMutex {
                locked: Cell::new(false),
                waiters: RefCell::new(Waiters::new()),
                _not_send: NotSend {},
            },
            value: RefCell::new(value),
        }
    }

    /// Consumes the mutex, returning the value.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks the mutex, waiting behind the tasks that asked first.
    pub fn lock(&self) -> LockFuture<'_, T> {
        LockFuture {
            mutex: self,
            key: None,
        }
    }

    /// Locks the mutex if it is free now (and nobody waits for it).
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.raw.try_lock().then(|| self.guard())
    }

    /// The value, through a unique borrow of the mutex (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    /// Whether the mutex is locked (or handed to a waiter that has not run yet).
    pub fn is_locked(&self) -> bool {
        self.raw.locked.get()
    }

    /// The guard of a lock just taken.
    fn guard(&self) -> MutexGuard<'_, T> {
        MutexGuard {
            value: self.value.borrow_mut(),
            _unlock: Unlock(&self.raw),
        }
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Self {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.value.try_borrow() {
            Ok(value) if !self.is_locked() => d.field("value", &&*value),
            _ => d.field("value", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// The future of [`Mutex::lock`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct LockFuture<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    key: Option<Key>,
}

impl<'a, T: ?Sized> Future for LockFuture<'a, T> {
    type Output = MutexGuard<'a, T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<MutexGuard<'a, T>> {
        let this = self.get_mut();
        let raw = &this.mutex.raw;
        if this.key.is_none() {
            if raw.try_lock() {
                return Poll::Ready(this.mutex.guard());
            }
            this.key = Some(raw.waiters.borrow_mut().push((), cx.waker()));
            return Poll::Pending;
        }
        poll_handed(&raw.waiters, &mut this.key, cx.waker()).map(|()| this.mutex.guard())
    }
}

impl<T: ?Sized> Drop for LockFuture<'_, T> {
    fn drop(&mut self) {
        let raw = &self.mutex.raw;
        if cancel(&raw.waiters, &mut self.key).is_some_and(|r| r.woken) {
            // We had been handed the lock: pass it on.
            raw.unlock();
        }
    }
}

impl<T: ?Sized> fmt::Debug for LockFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockFuture")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

/// A held lock of a [`Mutex`]: derefs to the value; dropping it unlocks (handing the lock to
/// the oldest waiter).
#[must_use = "the mutex unlocks when the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized> {
    // Field order matters: the borrow of the value ends before the lock is handed over.
    value: RefMut<'a, T>,
    _unlock: Unlock<'a>,
}

/// Unlocks when dropped (after the guard's borrow of the value).
struct Unlock<'a>(&'a RawMutex);

impl Drop for Unlock<'_> {
    #[inline]
    fn drop(&mut self) {
        self.0.unlock();
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
