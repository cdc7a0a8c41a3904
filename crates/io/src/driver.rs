//! `block_on`: drive one future and this thread's reactor.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use crate::reactor::{self, Notifier};

/// Polls of a self-waking future between two non-blocking turns of the reactor.
const BUDGET: u32 = 64;

/// The main future's waker: a flag, plus a reactor wake-up when set from another thread.
struct MainWaker {
    woken: AtomicBool,
    notifier: Notifier,
    /// The owning thread (see [`current_thread`]).
    owner: u64,
}

thread_local! {
    /// A cached main waker, so `block_on` allocates nothing in steady state.
    static CACHE: RefCell<Option<(Arc<MainWaker>, Waker)>> = const { RefCell::new(None) };
}

/// A stable identifier of the calling thread, without `thread::current()` (which clones an
/// `Arc`): one thread-local read after the first call. Identifiers are never reused (unlike
/// thread-local addresses, which a new thread may get after another exits).
///
/// The same scheme as solo-executor's `current_thread` (`shared.rs`); the two crates stand
/// alone, so each has its copy of these few lines.
#[inline]
pub(crate) fn current_thread() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local! {
        static ID: Cell<u64> = const { Cell::new(0) };
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

impl Wake for MainWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Only the first wake after a poll does anything. On the owning thread the flag is
        // enough (the loop checks it before blocking); another thread must also wake the
        // poller, which may be blocked.
        if !self.woken.swap(true, Ordering::AcqRel) && current_thread() != self.owner {
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
    // Sources and timers may wait: this loop parks the reactor for them.
    let _driving = reactor::enter();
    let mut fut = std::pin::pin!(fut);
    let (main_waker, waker) = CACHE.with(|c| c.borrow_mut().take()).unwrap_or_else(|| {
        let main_waker = Arc::new(MainWaker {
            woken: AtomicBool::new(true),
            notifier: reactor::notifier(),
            owner: current_thread(),
        });
        let waker = Waker::from(main_waker.clone());
        (main_waker, waker)
    });
    let mut cx = Context::from_waker(&waker);
    main_waker.woken.store(true, Ordering::Relaxed);
    // Polls of a self-waking main future since the reactor last ran.
    let mut spins = 0u32;
    let out = loop {
        if main_waker.woken.swap(false, Ordering::AcqRel) {
            if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
                break out;
            }
        }
        let more = tick();
        let main_ready = main_waker.woken.load(Ordering::Acquire);
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
    CACHE.with(|c| *c.borrow_mut() = Some((main_waker, waker)));
    out
}
