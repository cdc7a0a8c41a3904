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
/// `block_on` joins `solo-executor` with this reactor). Nested calls work: the inner call
/// drives the same reactor until its own future completes.
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
    let mut fut = std::pin::pin!(fut);
    let (signal, waker) = CACHE
        .with(|c| c.borrow_mut().take())
        .unwrap_or_else(|| {
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
    // Polls since the reactor last ran: a future that keeps waking itself must not keep
    // I/O and timers from being served.
    let mut polls_without_io = 0u32;
    let out = loop {
        if signal.woken.swap(false, Ordering::AcqRel) {
            if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
                break out;
            }
            polls_without_io += 1;
            if polls_without_io < BUDGET {
                continue;
            }
        }
        let timeout = if signal.woken.load(Ordering::Acquire) {
            Some(Duration::ZERO)
        } else {
            None
        };
        polls_without_io = 0;
        if let Err(e) = reactor::park(timeout) {
            panic!("solo-io: the poller failed: {e}");
        }
    };
    CACHE.with(|c| *c.borrow_mut() = Some((signal, waker)));
    out
}
