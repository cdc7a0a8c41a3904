//! [`Semaphore`]: async counting semaphore for the tasks of one thread.
#![forbid(unsafe_code)]

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::NotSend;
use crate::waiters::{Key, Waiters, cancel, poll_handed, wake_each};

/// An async counting semaphore: tasks acquire permits and give them back by dropping their
/// [`SemaphorePermit`].
///
/// Fair (FIFO): permits go to waiters in the order they asked, so a large
/// [`acquire_many`](Self::acquire_many) at the head of the queue is not starved by small
/// acquisitions behind it (they wait until it is served). Cancellation-safe: a dropped
/// acquire future leaves the queue, or gives back the permits it had been handed.
///
/// ```
/// use solo_sync::lock::Semaphore;
///
/// solo_lite::future::block_on(async {
///     let sem = Semaphore::new(3);
///     let two = sem.acquire_many(2).await;
///     let one = sem.acquire().await;
///     assert!(sem.try_acquire().is_none());
///     drop(two);
///     assert_eq!(sem.available_permits(), 2);
///     one.forget(); // this permit is gone for good
///     assert_eq!(sem.available_permits(), 2);
/// });
/// ```
pub struct Semaphore {
    permits: Cell<usize>,
    /// Waiter data: how many permits the waiter asks for.
    waiters: RefCell<Waiters<usize>>,
    _not_send: NotSend,
}

impl Semaphore {
    /// Creates a semaphore with `permits` permits.
    pub const fn new(permits: usize) -> Semaphore {
        Semaphore {
            permits: Cell::new(permits),
            waiters: RefCell::new(Waiters::new()),
            _not_send: NotSend {},
        }
    }

    /// Acquires one permit, waiting behind the tasks that asked first.
    #[inline]
    pub fn acquire(&self) -> AcquireFuture<'_> {
        self.acquire_many(1)
    }

    /// Acquires `n` permits at once, waiting behind the tasks that asked first.
    ///
    /// `n` may be 0 (it still waits its turn). If `n` is more than will ever be available, it
    /// waits forever (until dropped), and so do the waiters behind it.
    #[inline]
    pub fn acquire_many(&self, n: usize) -> AcquireFuture<'_> {
        AcquireFuture {
            sem: self,
            n,
            key: None,
        }
    }

    /// Acquires one permit if one is available now and nobody waits.
    #[inline]
    pub fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        self.try_acquire_many(1)
    }

    /// Acquires `n` permits if they are available now and nobody waits.
    #[inline]
    pub fn try_acquire_many(&self, n: usize) -> Option<SemaphorePermit<'_>> {
        let available = self.permits.get();
        if available < n || !self.waiters.borrow().is_empty() {
            return None;
        }
        self.permits.set(available - n);
        Some(SemaphorePermit { sem: self, n })
    }

    /// Adds `n` permits (saturating at `usize::MAX`) and hands them to the waiters that can
    /// be served, oldest first.
    #[inline]
    pub fn add_permits(&self, n: usize) {
        self.permits.set(self.permits.get().saturating_add(n));
        self.grant();
    }

    /// How many permits are available now.
    pub fn available_permits(&self) -> usize {
        self.permits.get()
    }

    #[inline]
    fn grant(&self) {
        wake_each(|| self.grant_one());
    }

    fn grant_one(&self) -> Option<Waker> {
        let mut waiters = self.waiters.borrow_mut();
        let n = waiters.front()?;
        let available = self.permits.get();
        if n > available {
            return None;
        }
        self.permits.set(available - n);
        waiters.pop()
    }
}

impl Default for Semaphore {
    /// A semaphore with no permit.
    fn default() -> Self {
        Semaphore::new(0)
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("permits", &self.permits.get())
            .field("waiters", &self.waiters.borrow().len())
            .finish()
    }
}

/// The future of [`Semaphore::acquire`] and [`Semaphore::acquire_many`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct AcquireFuture<'a> {
    sem: &'a Semaphore,
    n: usize,
    key: Option<Key>,
}

impl<'a> Future for AcquireFuture<'a> {
    type Output = SemaphorePermit<'a>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<SemaphorePermit<'a>> {
        let this = self.get_mut();
        let (sem, n) = (this.sem, this.n);
        if this.key.is_none() {
            if let Some(permit) = sem.try_acquire_many(n) {
                return Poll::Ready(permit);
            }
            this.key = Some(sem.waiters.borrow_mut().push(n, cx.waker()));
            return Poll::Pending;
        }
        poll_handed(&sem.waiters, &mut this.key, cx.waker()).map(|()| SemaphorePermit { sem, n })
    }
}

impl Drop for AcquireFuture<'_> {
    #[inline]
    fn drop(&mut self) {
        match cancel(&self.sem.waiters, &mut self.key) {
            // Handed the permits: give them back (to the next waiters).
            Some(r) if r.woken => self.sem.add_permits(r.data),
            // Queued: if it was at the head, the waiters behind may be served now.
            Some(_) => self.sem.grant(),
            None => {}
        }
    }
}

impl fmt::Debug for AcquireFuture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcquireFuture")
            .field("n", &self.n)
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

/// Permits acquired from a [`Semaphore`], given back when dropped.
#[must_use = "the permits are given back when this is dropped"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    n: usize,
}

impl SemaphorePermit<'_> {
    /// Drops the permits without giving them back: the semaphore has that many fewer.
    pub fn forget(mut self) {
        self.n = 0;
    }

    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.n
    }
}

impl Drop for SemaphorePermit<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.n > 0 {
            self.sem.add_permits(self.n);
        }
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("n", &self.n)
            .finish()
    }
}
