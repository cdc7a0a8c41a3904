//! `WakerCell`: the receiver's waker, stored by one thread and woken from any.
//!
//! A small state word guards the cell: `register` may write it only after moving the state
//! from `IDLE` to `REGISTERING`, `wake` may read it only after moving it from `IDLE` to
//! `WAKING`. Whoever finds the other one inside does not wait: a `wake` that arrives during
//! a `register` leaves its bit set, and `register` then wakes the new waker itself; a
//! `register` that arrives during a `wake` wakes its new waker at once (the running wake
//! may hold the old one). So a wake is never lost and the cell is never read while it is
//! written. Two wakes at once coalesce into one.

use std::fmt;
use std::task::Waker;

use crate::loom::atomic::{AtomicUsize, Ordering::*};
use crate::loom::{UnsafeCell, hint};

const IDLE: usize = 0;
const REGISTERING: usize = 1;
const WAKING: usize = 2;

pub(crate) struct WakerCell {
    state: AtomicUsize,
    waker: UnsafeCell<Option<Waker>>,
}

impl WakerCell {
    pub(crate) fn new() -> WakerCell {
        WakerCell {
            state: AtomicUsize::new(IDLE),
            waker: UnsafeCell::new(None),
        }
    }

    /// Stores `waker` (a clone, unless the stored one already wakes the same task).
    ///
    /// Only one thread at a time may register (the channel's single receiver: its
    /// methods take `&mut self`).
    pub(crate) fn register(&self, waker: &Waker) {
        match self
            .state
            .compare_exchange(IDLE, REGISTERING, Acquire, Acquire)
        {
            Ok(_) => {
                // SAFETY: the state is REGISTERING, which only this call could set (one
                // registering thread) and which keeps `wake` out of the cell until we reset it.
                let old = self.waker.with_mut(|cell| unsafe {
                    match &*cell {
                        Some(w) if w.will_wake(waker) => None,
                        _ => (*cell).replace(waker.clone()),
                    }
                });
                // Release: the waker written above is visible to the next `wake`.
                if self
                    .state
                    .compare_exchange(REGISTERING, IDLE, AcqRel, Acquire)
                    .is_err()
                {
                    // A wake came in while we held the cell and left its WAKING bit for us.
                    self.state.swap(IDLE, AcqRel);
                    waker.wake_by_ref();
                }
                drop(old);
            }
            // A wake is running and may hold the previous waker: make sure this one is
            // woken. The task will be polled again at once, and find the wake over (it
            // lasts one `wake_by_ref`): a spin, so tell the processor (and loom).
            Err(_) => {
                waker.wake_by_ref();
                hint::spin_loop();
            }
        }
    }

    /// Wakes the stored waker, if any.
    pub(crate) fn wake(&self) {
        if self.state.fetch_or(WAKING, AcqRel) != IDLE {
            // Registering (it will wake the new waker) or already waking: coalesced.
            return;
        }
        /// Clears WAKING even if the waker panics, so later registrations still work.
        struct Done<'a>(&'a AtomicUsize);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                self.0.fetch_and(!WAKING, Release);
            }
        }
        let _done = Done(&self.state);
        // SAFETY: we moved the state from IDLE to WAKING, so `register` stays out of the cell
        // until `_done` clears the bit; only reads happen here.
        self.waker.with(|cell| unsafe {
            if let Some(w) = &*cell {
                w.wake_by_ref();
            }
        });
    }
}

impl fmt::Debug for WakerCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WakerCell")
            .field("state", &self.state.load(Relaxed))
            .finish_non_exhaustive()
    }
}
