//! Async locks for the tasks of one thread: fair (FIFO) and cancellation-safe.
//!
//! | lock | what it guards | waiters queue for |
//! |---|---|---|
//! | [`Mutex`] | a value, one task at a time | the lock |
//! | [`RwLock`] | a value, many readers or one writer | a read or a write lock |
//! | [`Semaphore`] | a count of permits | one or many permits |
//! | [`Notify`] | nothing: a wake-up signal | a notification |
//! | [`Barrier`] | nothing: a meeting point for `n` tasks | the last arrival |
//!
//! # Design
//!
//! All of them are `!Send`: they coordinate tasks of one executor thread, so they need no
//! atomics and no OS lock; their state is a few `Cell`s and the waiter queue every channel
//! and lock of this crate shares (a FIFO with O(1) cancellation; see the crate README). The
//! uncontended path (a free mutex, enough permits) is a `Cell` check and set: no allocation,
//! no atomic. A task that has to wait takes one slot of the lock's waiter queue (48 bytes on
//! 64-bit targets, 56 for the semaphore), reused by later waiters: the queue grows only to
//! the most waiters at once and allocates nothing in steady state.
//!
//! **Fair.** Whatever is released (the lock, permits) is *handed over* to the oldest waiter
//! that can use it, before anybody else can take it: a waiter is woken already owning the
//! lock or its permits. So a task that calls `try_lock` or `lock` while others wait queues
//! behind them, and a large [`Semaphore::acquire_many`] at the head is not starved by small
//! ones behind it.
//!
//! **Cancellation-safe.** A waiter that is dropped before its turn (its future cancelled)
//! leaves the queue in O(1); one that was already handed the lock, permits or a
//! notification passes it on to the next waiter, so nothing is ever lost.
//!
//! **Re-entrancy.** Wakers are woken after every internal borrow has ended, and a guard
//! releases its `RefCell` borrow of the value *before* it hands the lock over and wakes the
//! next waiter, so a waker that polls the woken task at once (or touches the lock) is fine.
//!
//! # Example
//!
//! ```
//! use std::rc::Rc;
//!
//! use solo_executor::LocalExecutor;
//! use solo_sync::lock::Mutex;
//!
//! let ex = LocalExecutor::new();
//! let total = Rc::new(Mutex::new(0));
//! for i in 1..=10 {
//!     let total = total.clone();
//!     ex.spawn(async move {
//!         let mut guard = total.lock().await;
//!         solo_lite::future::yield_now().await; // others queue meanwhile
//!         *guard += i;
//!     })
//!     .detach();
//! }
//! while ex.try_tick() {}
//! assert_eq!(*total.try_lock().unwrap(), 55);
//! ```
#![forbid(unsafe_code)]

use std::marker::PhantomData;

mod barrier;
mod mutex;
mod notify;
mod rwlock;
mod semaphore;

pub use self::barrier::{Barrier, BarrierWaitResult, WaitFuture};
pub use self::mutex::{LockFuture, Mutex, MutexGuard};
pub use self::notify::{Notified, Notify};
pub use self::rwlock::{ReadFuture, RwLock, RwLockReadGuard, RwLockWriteGuard, WriteFuture};
pub use self::semaphore::{AcquireFuture, Semaphore, SemaphorePermit};

/// Makes a lock `!Send` (and `!Sync`): it belongs to the tasks of one thread.
type NotSend = PhantomData<*const ()>;
