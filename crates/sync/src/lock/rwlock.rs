//! [`RwLock`]: an async reader-writer lock for the tasks of one thread.
#![forbid(unsafe_code)]

use std::cell::{Cell, Ref, RefCell, RefMut};
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::NotSend;
use crate::waiters::{Key, Waiters, cancel, poll_handed, wake_each};

/// The waiter data: what the waiter wants.
const READ: bool = false;
const WRITE: bool = true;

/// An async reader-writer lock: many [readers](RwLockReadGuard) or one
/// [writer](RwLockWriteGuard) at a time.
///
/// Fair (FIFO): the lock is handed to waiters in the order they asked. A writer that waits
/// stops later readers from joining the readers that hold the lock, so writers are not
/// starved; when the writer is done, the readers queued behind it get the lock together.
/// Cancellation-safe like every lock of this module.
///
/// ```
/// use solo_sync::lock::RwLock;
///
/// solo_lite::future::block_on(async {
///     let lock = RwLock::new(5);
///     {
///         let a = lock.read().await;
///         let b = lock.read().await; // readers share the lock
///         assert_eq!(*a + *b, 10);
///         assert!(lock.try_write().is_none());
///     }
///     *lock.write().await += 1;
///     assert_eq!(lock.into_inner(), 6);
/// });
/// ```
pub struct RwLock<T: ?Sized> {
    raw: RawRwLock,
    value: RefCell<T>,
}

/// The lock without the value.
struct RawRwLock {
    readers: Cell<usize>,
    writer: Cell<bool>,
    /// Waiter data: `READ` or `WRITE`.
    waiters: RefCell<Waiters<bool>>,
    _not_send: NotSend,
}

impl RawRwLock {
    #[inline]
    fn try_read(&self) -> bool {
        if self.writer.get() || !self.waiters.borrow().is_empty() {
            return false;
        }
        self.readers.set(self.readers.get() + 1);
        true
    }

    #[inline]
    fn try_write(&self) -> bool {
        if self.writer.get() || self.readers.get() > 0 || !self.waiters.borrow().is_empty() {
            return false;
        }
        self.writer.set(true);
        true
    }

    #[inline]
    fn release(&self, write: bool) {
        if write {
            self.writer.set(false);
        } else {
            self.readers.set(self.readers.get() - 1);
        }
        self.grant();
    }

    /// Hands the lock to the waiters at the head that can have it now: one writer, or a run
    /// of readers.
    #[inline]
    fn grant(&self) {
        wake_each(|| self.grant_one());
    }

    fn grant_one(&self) -> Option<Waker> {
        let mut waiters = self.waiters.borrow_mut();
        if self.writer.get() {
            return None;
        }
        if waiters.front()? == WRITE {
            if self.readers.get() > 0 {
                return None;
            }
            self.writer.set(true);
        } else {
            self.readers.set(self.readers.get() + 1);
        }
        waiters.pop()
    }

    fn poll_lock(&self, write: bool, key: &mut Option<Key>, cx: &Context<'_>) -> Poll<()> {
        if key.is_none() {
            if if write {
                self.try_write()
            } else {
                self.try_read()
            } {
                return Poll::Ready(());
            }
            *key = Some(self.waiters.borrow_mut().push(write, cx.waker()));
            return Poll::Pending;
        }
        poll_handed(&self.waiters, key, cx.waker())
    }

    fn cancel(&self, write: bool, key: &mut Option<Key>) {
        match cancel(&self.waiters, key) {
            // Handed the lock: give it back (and on to the next waiters).
            Some(r) if r.woken => self.release(write),
            // Queued: if it was at the head, the waiters behind may be able to go now.
            Some(_) => self.grant(),
            None => {}
        }
    }
}

impl<T> RwLock<T> {
    /// Creates an unlocked lock.
    pub const fn new(value: T) -> RwLock<T> {
        RwLock {
            raw: RawRwLock {
                readers: Cell::new(0),
                writer: Cell::new(false),
                waiters: RefCell::new(Waiters::new()),
                _not_send: NotSend {},
            },
            value: RefCell::new(value),
        }
    }

    /// Consumes the lock, returning the value.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Locks for reading, waiting while a writer holds the lock or waits for it.
    pub fn read(&self) -> ReadFuture<'_, T> {
        ReadFuture {
            lock: self,
            key: None,
        }
    }

    /// Locks for writing, waiting for the readers and writers that hold or asked first.
    pub fn write(&self) -> WriteFuture<'_, T> {
        WriteFuture {
            lock: self,
            key: None,
        }
    }

    /// Locks for reading if no writer holds the lock or waits for it.
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        self.raw.try_read().then(|| self.read_guard())
    }

    /// Locks for writing if the lock is free and nobody waits for it.
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        self.raw.try_write().then(|| self.write_guard())
    }

    /// The value, through a unique borrow of the lock (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    /// How many readers hold the lock.
    pub fn reader_count(&self) -> usize {
        self.raw.readers.get()
    }

    /// Whether a writer holds the lock (or was handed it and has not run yet).
    pub fn is_write_locked(&self) -> bool {
        self.raw.writer.get()
    }

    fn read_guard(&self) -> RwLockReadGuard<'_, T> {
        RwLockReadGuard {
            value: self.value.borrow(),
            _release: Release {
                raw: &self.raw,
                write: READ,
            },
        }
    }

    fn write_guard(&self) -> RwLockWriteGuard<'_, T> {
        RwLockWriteGuard {
            value: self.value.borrow_mut(),
            _release: Release {
                raw: &self.raw,
                write: WRITE,
            },
        }
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> Self {
        RwLock::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.value.try_borrow() {
            Ok(value) if !self.is_write_locked() => d.field("value", &&*value),
            _ => d.field("value", &format_args!("<locked>")),
        };
        d.field("readers", &self.reader_count()).finish()
    }
}

/// The future of [`RwLock::read`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadFuture<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    key: Option<Key>,
}

impl<'a, T: ?Sized> Future for ReadFuture<'a, T> {
    type Output = RwLockReadGuard<'a, T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let lock = this.lock;
        lock.raw
            .poll_lock(READ, &mut this.key, cx)
            .map(|()| lock.read_guard())
    }
}

impl<T: ?Sized> Drop for ReadFuture<'_, T> {
    fn drop(&mut self) {
        self.lock.raw.cancel(READ, &mut self.key);
    }
}

impl<T: ?Sized> fmt::Debug for ReadFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadFuture")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

/// The future of [`RwLock::write`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct WriteFuture<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    key: Option<Key>,
}

impl<'a, T: ?Sized> Future for WriteFuture<'a, T> {
    type Output = RwLockWriteGuard<'a, T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let lock = this.lock;
        lock.raw
            .poll_lock(WRITE, &mut this.key, cx)
            .map(|()| lock.write_guard())
    }
}

impl<T: ?Sized> Drop for WriteFuture<'_, T> {
    fn drop(&mut self) {
        self.lock.raw.cancel(WRITE, &mut self.key);
    }
}

impl<T: ?Sized> fmt::Debug for WriteFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteFuture")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

/// Releases a read or write lock when dropped (after the guard's borrow of the value).
struct Release<'a> {
    raw: &'a RawRwLock,
    write: bool,
}

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.raw.release(self.write);
    }
}

/// A held read lock of an [`RwLock`]: derefs to the value; dropping it releases the lock.
#[must_use = "the lock is released when the guard is dropped"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    // Field order matters: the borrow ends before the lock is handed over.
    value: Ref<'a, T>,
    _release: Release<'a>,
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// A held write lock of an [`RwLock`]: derefs mutably to the value; dropping it releases the
/// lock.
#[must_use = "the lock is released when the guard is dropped"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    // Field order matters: the borrow ends before the lock is handed over.
    value: RefMut<'a, T>,
    _release: Release<'a>,
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
