//! `block_on`: run a future to completion on the current thread, parking while it waits.
//!
//! The parker is a small atomic state machine (`EMPTY`, `NOTIFIED`, `PARKED`) beside the
//! thread's handle. A wake swaps in `NOTIFIED` and calls [`Thread::unpark`] only if the
//! thread is actually parked, so waking a running `block_on` (as `yield_now` does) costs
//! one atomic swap. The waker is built with [`std::task::Wake`], so this file has no
//! `unsafe`. A parker and its waker are cached per thread: a steady-state call allocates
//! nothing.

use std::cell::RefCell;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

const EMPTY: u8 = 0;
const NOTIFIED: u8 = 1;
const PARKED: u8 = 2;

/// The shared half of a parker: what a waker holds.
#[derive(Debug)]
struct Signal {
    state: AtomicU8,
    thread: Thread,
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Release: whatever the waker did before waking is visible after the park returns.
        if self.state.swap(NOTIFIED, Ordering::AcqRel) == PARKED {
            self.thread.unpark();
        }
    }
}

/// A parker for the current thread and the waker that unparks it.
#[derive(Debug)]
struct Parker {
    signal: Arc<Signal>,
    waker: Waker,
}

impl Parker {
    fn new() -> Parker {
        let signal = Arc::new(Signal {
            state: AtomicU8::new(EMPTY),
            thread: thread::current(),
        });
        let waker = Waker::from(signal.clone());
        Parker { signal, waker }
    }

    /// Forgets a notification left over from an earlier use (a stale waker woken late).
    fn reset(&self) {
        self.signal.state.store(EMPTY, Ordering::Relaxed);
    }

    /// Blocks until the waker has been woken since the last `park`, then consumes the wake.
    fn park(&self) {
        let state = &self.signal.state;
        // Fast path: woken while the future was being polled.
        if state
            .compare_exchange(NOTIFIED, EMPTY, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            return;
        }
        if state
            .compare_exchange(EMPTY, PARKED, Ordering::Acquire, Ordering::Acquire)
            .is_err()
        {
            // A wake slipped in between the two exchanges: the state is NOTIFIED.
            state.store(EMPTY, Ordering::Relaxed);
            return;
        }
        loop {
            thread::park();
            // `park` may return spuriously (or for someone else's `unpark`): check the state.
            if state
                .compare_exchange(NOTIFIED, EMPTY, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }
}

thread_local! {
    static CACHE: RefCell<Parker> = RefCell::new(Parker::new());
}

/// Runs a future to completion on the current thread, parking the thread while the future
/// waits.
///
/// The thread sleeps (in [`std::thread::park`]) until the future's waker is woken, from this
/// thread or any other, then polls the future again. Each thread caches one parker and its
/// waker, so a call allocates nothing once the thread has used `block_on` before.
///
/// This runs only the given future: it drives no reactor and no executor. A future waiting
/// for I/O or a timer needs something else to wake it (solo's umbrella `solo::block_on` runs
/// the reactor too).
///
/// # Nesting
///
/// Calling `block_on` inside a future that is itself being run by `block_on` works: the
/// nested call finds the thread's cached parker in use and creates a fresh parker and waker
/// for itself (one allocation). While the inner call blocks, the outer future is not polled,
/// and waking the outer future's waker does not wake the inner call. So an inner future that
/// waits for something only the outer future would do deadlocks: nest only when the inner
/// future can complete on its own.
///
/// # Panics
///
/// A panic in the future propagates to the caller. The cached parker stays usable.
///
/// # Examples
///
/// ```
/// use solo_lite::future;
///
/// let n = future::block_on(async {
///     future::yield_now().await;
///     1 + 2
/// });
/// assert_eq!(n, 3);
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    // `try_borrow_mut` fails when nested; `try_with` fails during thread-local destruction.
    CACHE
        .try_with(|cache| match cache.try_borrow_mut() {
            Ok(parker) => run(future.as_mut(), &parker),
            Err(_) => run(future.as_mut(), &Parker::new()),
        })
        .unwrap_or_else(|_| run(future, &Parker::new()))
}

fn run<F: Future>(mut future: Pin<&mut F>, parker: &Parker) -> F::Output {
    parker.reset();
    let mut cx = Context::from_waker(&parker.waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        parker.park();
    }
}
