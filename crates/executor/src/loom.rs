//! The concurrency primitives of the executor's cross-thread paths, from `std` or `loom`.
//!
//! Under `--cfg loom` the task's reference count, the remote inbox's lock and hint, the
//! task allocation and the thread identity go through loom, which then explores the
//! interleavings of a remote wake, a waker dropped on another thread and the owning thread
//! releasing its last claim, and the values weak memory lets each load see
//! (`tests/loom.rs`). Otherwise these are thin names for the `std` items.
//!
//! Under loom, a task also carries a [`Probe`]: every use of a task by a waker reads it, and
//! freeing the task writes it, so loom checks that every such use happens before the free
//! (the property the orderings of `refs` exist for). The owning-thread-only fields stay
//! plain `Cell`s: loom does not watch them.

/// Locks and atomics.
pub(crate) mod sync {
    #[cfg(loom)]
    pub(crate) use ::loom::sync::{Mutex, MutexGuard};
    #[cfg(not(loom))]
    pub(crate) use std::sync::{Mutex, MutexGuard};

    /// Atomic integers and orderings.
    pub(crate) mod atomic {
        #[cfg(loom)]
        pub(crate) use ::loom::sync::atomic::{AtomicBool, AtomicUsize};
        pub(crate) use std::sync::atomic::Ordering;
        #[cfg(not(loom))]
        pub(crate) use std::sync::atomic::{AtomicBool, AtomicUsize};
    }
}

/// The task allocation (loom reports a leak or a double free of it).
pub(crate) mod alloc {
    #[cfg(loom)]
    pub(crate) use ::loom::alloc::{alloc, dealloc};
    #[cfg(not(loom))]
    pub(crate) use std::alloc::{alloc, dealloc};
}

/// A stable identifier of the calling thread: one thread-local read after the first call.
///
/// Identifiers are never reused (unlike thread-local addresses, which a new thread may get
/// after another exits), so a waker can never mistake another thread for the owner.
/// solo-io's `block_on` identifies threads the same way (its own copy: the crates stand
/// alone). Under loom, the thread-local is loom's (its threads share one OS thread).
#[inline]
pub(crate) fn current_thread() -> u64 {
    use std::cell::Cell;
    use std::sync::atomic::{AtomicU64, Ordering};

    static NEXT: AtomicU64 = AtomicU64::new(1);
    #[cfg(not(loom))]
    thread_local! {
        static ID: Cell<u64> = const { Cell::new(0) };
    }
    #[cfg(loom)]
    ::loom::thread_local! {
        static ID: Cell<u64> = Cell::new(0);
    }
    ID.with(|id| match id.get() {
        0 => {
            let fresh = NEXT.fetch_add(1, Ordering::Relaxed);
            id.set(fresh);
            fresh
        }
        known => known,
    })
}

/// See the module docs: read by every use of a task through a waker, written by its free.
#[cfg(loom)]
#[derive(Debug)]
pub(crate) struct Probe(::loom::cell::UnsafeCell<()>);

#[cfg(loom)]
impl Probe {
    pub(crate) fn new() -> Probe {
        Probe(::loom::cell::UnsafeCell::new(()))
    }

    /// A use of the task (a shared access).
    pub(crate) fn used(&self) {
        self.0.with(|_| ());
    }

    /// The task is freed (an exclusive access).
    pub(crate) fn freed(&self) {
        self.0.with_mut(|_| ());
    }
}
