//! The concurrency primitives of the cross-thread channel, from `std` or from `loom`.
//!
//! Under `--cfg loom` every atomic, cell, `Arc`, `Mutex` and thread operation the channel
//! performs goes through loom, which then explores their interleavings and the values
//! weak memory lets each load see (`tests/loom.rs`). Otherwise these are thin names for
//! the `std` items. Only the cross-thread code uses this module; the local channels and
//! locks need no atomics at all.
//!
//! The one shape that differs between the two is [`UnsafeCell`]: loom tracks each access,
//! so the cell is only reached through the closures of `with` (shared read) and `with_mut`
//! (exclusive write); the `std` version compiles to a plain pointer access.

#[cfg(loom)]
pub(crate) use ::loom::sync::{Arc, Mutex};
#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, Mutex};

/// Atomic integers and orderings.
pub(crate) mod atomic {
    #[cfg(loom)]
    pub(crate) use ::loom::sync::atomic::AtomicUsize;
    #[cfg(not(loom))]
    pub(crate) use std::sync::atomic::AtomicUsize;
    pub(crate) use std::sync::atomic::Ordering;

    /// The value of an atomic the caller has exclusive access to (in `Drop`).
    pub(crate) fn load_mut(atomic: &mut AtomicUsize) -> usize {
        #[cfg(loom)]
        return atomic.with_mut(|v| *v);
        #[cfg(not(loom))]
        return *atomic.get_mut();
    }
}

/// The busy-wait hint: under loom it lets the other threads run (a model would otherwise
/// explore the spinning thread forever).
pub(crate) mod hint {
    #[cfg(loom)]
    pub(crate) use ::loom::hint::spin_loop;
    #[cfg(not(loom))]
    pub(crate) use std::hint::spin_loop;
}

/// Thread handles and parking, for the blocking calls.
pub(crate) mod thread {
    #[cfg(loom)]
    pub(crate) use ::loom::thread::{Thread, current, park};
    #[cfg(not(loom))]
    pub(crate) use std::thread::{Thread, current, park};
}

/// An `UnsafeCell` reached through closures, so loom can check every access.
#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> UnsafeCell<T> {
        UnsafeCell(std::cell::UnsafeCell::new(value))
    }

    /// Runs `f` with a pointer for reading; the caller promises no concurrent writer.
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Runs `f` with a pointer for writing; the caller promises exclusive access.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(loom)]
pub(crate) use ::loom::cell::UnsafeCell;
