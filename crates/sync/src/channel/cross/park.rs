//! `block_on` for the blocking calls (`send_blocking`, `recv_blocking`): polls a future on
//! the current thread and parks the thread while it is pending.
//!
//! A three-state word beside the thread's handle: a wake swaps in `NOTIFIED` and unparks
//! the thread only if it found `PARKED`, and `park` returns only after consuming
//! `NOTIFIED`, so a spurious return of the OS park is absorbed. The parker is built when a
//! call first has to wait (one allocation per blocking wait, none per message).

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use crate::loom::atomic::{AtomicUsize, Ordering::*};
use crate::loom::thread::{self, Thread};

const EMPTY: usize = 0;
const NOTIFIED: usize = 1;
const PARKED: usize = 2;

struct Parker {
    state: AtomicUsize,
    thread: Thread,
}

impl Wake for Parker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Release: what the waker did before waking is visible once `park` returns.
        if self.state.swap(NOTIFIED, AcqRel) == PARKED {
            self.thread.unpark();
        }
    }
}

impl Parker {
    fn park(&self) {
        if self
            .state
            .compare_exchange(EMPTY, PARKED, Acquire, Acquire)
            .is_err()
        {
            // Woken while the future was being polled. A swap, not a store: it reads (and
            // acquires) the latest wake, however many came.
            self.state.swap(EMPTY, Acquire);
            return;
        }
        loop {
            thread::park();
            if self
                .state
                .compare_exchange(NOTIFIED, EMPTY, Acquire, Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }
}

/// Runs `future` to completion on this thread, parking between polls.
pub(super) fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let parker = Arc::new(Parker {
        state: AtomicUsize::new(EMPTY),
        thread: thread::current(),
    });
    let waker = Waker::from(parker.clone());
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        parker.park();
    }
}
