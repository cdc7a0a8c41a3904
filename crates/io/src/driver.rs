//! `block_on`: drive one future and this thread's reactor.

use std::cell::RefCell;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use crate::reactor::{self, Notifier};

/// Polls of a self-waking future between two non-blocking turns of the reactor.
const BUDGET: u32 = 64;

/// The main future's waker: a flag, plus a reactor wake-up when set from another thread.
struct Signal {
    woken: AtomicBool,
    notifier: Notifier,
    /// Identifies the owning thread without `thread::current()` (which clones an `Arc`).
    owner: usize,
}

thread_local! {
    /// The address of this thread-local identifies the thread.
    static THREAD_MARK: u8 = const { 0 };
    /// A cached signal and waker, so `block_on` allocates nothing in steady state.
    static CACHE: RefCell<Option<(Arc<Signal>, Waker)>> = const { RefCell::new(None) };
}

/// An identifier of the current thread, cheap to compute.
pub(crate) fn thread_mark() -> usize {
    THREAD_MARK.with(|m| m as *const u8 as usize)
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Only the first wake after a poll does anything. On the owning thread the flag is
        // enough (the loop checks it before blocking); another thread must also wake the
        // poller, which may be blocked.
        if !self.woken.swap(true, Ordering::AcqRel) && thread_mark() != self.owner {
            self.notifier.notify();
        }
    }
}

/// Runs `fut` to completion on this thread, driving the thread's reactor (I/O and timers)
/// while it waits. With nothing to do, the thread sleeps in the poller: no busy loop.
///
/// This runs one future; to run many tasks, use an executor (the `solo` crate's
/// `block_on` joins `solo-executor` with this reactor through [`block_on_with`]). Nested
/// calls work: the inner call drives the same reactor until its own future completes.
///
/// # Panics
///
/// Panics if the poller fails (it does not in practice: interruptions are retried), or
/// if `fut` panics.
///
/// # Examples
///
/// ```
/// let n = solo_io::block_on(async { 1 + 2 });
/// assert_eq!(n, 3);
/// ```
pub fn block_on<T>(fut: impl Future<Output = T>) -> T {
    block_on_with(fut, || false)
}

/// Like [`block_on`], running `tick` between turns of the reactor: the hook an executor
/// uses to run its tasks on the same thread.
///
/// `tick` runs the tasks that are ready (a bounded batch of them) and returns whether more
/// are ready right now. While it returns `true`, the reactor is polled without blocking
/// between batches, so I/O and timers are served even when the run queue never empties;
/// when it returns `false` and the main future is not woken, the thread sleeps in the
/// poller until an event, a timer, or a [`Notifier`](crate::reactor::Notifier) wakes it.
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
///
/// let ticks = Cell::new(0);
/// // `yield_now` is pending once, so the loop turns (and calls the hook) at least once.
/// solo_io::block_on_with(solo_lite::future::yield_now(), || {
///     ticks.set(ticks.get() + 1);
///     false
/// });
/// assert!(ticks.get() >= 1);
/// ```
pub fn block_on_with<T>(fut: impl Future<Output = T>, mut tick: impl FnMut() -> bool) -> T {
    let mut fut = std::pin::pin!(fut);
    let (signal, waker) = CACHE.with(|c| c.borrow_mut().take()).unwrap_or_else(|| {
        let signal = Arc::new(Signal {
            woken: AtomicBool::new(true),
            notifier: reactor::notifier(),
            owner: thread_mark(),
        });
        let waker = Waker::from(signal.clone());
        (signal, waker)
    });
    let mut cx = Context::from_waker(&waker);
    signal.woken.store(true, Ordering::Relaxed);
    // Polls of a self-waking main future since the reactor last ran.
    let mut spins = 0u32;
    let out = loop {
        if signal.woken.swap(false, Ordering::AcqRel) {
            if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
                break out;
            }
        }
        let more = tick();
        let main_ready = signal.woken.load(Ordering::Acquire);
        if main_ready && !more && spins < BUDGET {
            spins += 1;
            continue;
        }
        spins = 0;
        let timeout = if more || main_ready {
            Some(Duration::ZERO)
        } else {
            None
        };
        if let Err(e) = reactor::park(timeout) {
            panic!("solo-io: the poller failed: {e}");
        }
    };
    CACHE.with(|c| *c.borrow_mut() = Some((signal, waker)));
    out
}
