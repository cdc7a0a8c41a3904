//! Shared test utilities: a tiny `block_on` with a hang guard, and instrumented futures.
#![allow(dead_code)]

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

/// How long a test may wait before it is declared hung.
pub const HANG_GUARD: Duration = Duration::from_secs(60);

struct Unpark {
    thread: std::thread::Thread,
    woken: AtomicBool,
}

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.thread.unpark();
    }
}

/// Runs `fut` to completion on this thread; panics if it makes no progress within the hang
/// guard (a lost wakeup).
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let unpark = Arc::new(Unpark {
        thread: std::thread::current(),
        woken: AtomicBool::new(false),
    });
    let waker = Waker::from(unpark.clone());
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        let deadline = Instant::now() + HANG_GUARD;
        while !unpark.woken.swap(false, Ordering::Acquire) {
            let now = Instant::now();
            assert!(
                now < deadline,
                "block_on: no wakeup within {HANG_GUARD:?} (lost wakeup?)"
            );
            std::thread::park_timeout(deadline - now);
        }
    }
}

/// Counters shared between an instrumented future and the test.
#[derive(Default, Debug)]
pub struct Counts {
    /// Times the future was polled.
    pub polls: AtomicUsize,
    /// Times the future was dropped (must end at exactly 1).
    pub drops: AtomicUsize,
    /// Times the test woke the future (through [`Probe::wake`]).
    pub wakes: AtomicUsize,
}

impl Counts {
    pub fn polls(&self) -> usize {
        self.polls.load(Ordering::SeqCst)
    }
    pub fn drops(&self) -> usize {
        self.drops.load(Ordering::SeqCst)
    }
    pub fn wakes(&self) -> usize {
        self.wakes.load(Ordering::SeqCst)
    }
}

/// The test's side of an instrumented future: counters, and the future's latest waker.
#[derive(Clone, Default)]
pub struct Probe {
    pub counts: Arc<Counts>,
    waker: Arc<Mutex<Option<Waker>>>,
    release: Arc<AtomicBool>,
}

impl Probe {
    pub fn new() -> Self {
        Self::default()
    }

    /// A future that stays pending until [`Probe::release`] and then a wake, and returns
    /// `value` (kept on the heap, so a double drop or a leak shows under ASan).
    pub fn future<T: 'static>(&self, value: T) -> Instrumented<T> {
        Instrumented {
            probe: self.clone(),
            payload: Some(Box::new(value)),
            ballast: vec![0xA5u8; 64],
        }
    }

    /// Makes the future ready on its next poll.
    pub fn release(&self) {
        self.release.store(true, Ordering::SeqCst);
    }

    /// Wakes the future through the last waker it was polled with. Returns `false` if it has
    /// not been polled yet.
    pub fn wake(&self) -> bool {
        let waker = self.waker.lock().unwrap().clone();
        match waker {
            Some(w) => {
                self.counts.wakes.fetch_add(1, Ordering::SeqCst);
                w.wake();
                true
            }
            None => false,
        }
    }

    /// A clone of the last waker the future was polled with.
    pub fn waker(&self) -> Option<Waker> {
        self.waker.lock().unwrap().clone()
    }

    /// Forgets the stored waker (so it is not kept alive by the probe).
    pub fn forget_waker(&self) {
        self.waker.lock().unwrap().take();
    }

    /// Release then wake.
    pub fn finish(&self) -> bool {
        self.release();
        self.wake()
    }
}

/// A future instrumented by a [`Probe`].
pub struct Instrumented<T> {
    probe: Probe,
    payload: Option<Box<T>>,
    ballast: Vec<u8>,
}

impl<T> Future for Instrumented<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        self.probe.counts.polls.fetch_add(1, Ordering::SeqCst);
        assert!(
            self.ballast.iter().all(|&b| b == 0xA5),
            "future memory corrupted"
        );
        if self.probe.release.load(Ordering::SeqCst) {
            let value = self
                .payload
                .take()
                .expect("Instrumented polled after completion");
            return Poll::Ready(*value);
        }
        *self.probe.waker.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl<T> Drop for Instrumented<T> {
    fn drop(&mut self) {
        self.probe.counts.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// Returns `Pending` once (waking itself), then `Ready`.
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(move |cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

/// A future that never completes.
pub fn pending<T>() -> std::future::Pending<T> {
    std::future::pending()
}

/// A single-threaded log of events, to check orderings.
pub type Log = Rc<RefCell<Vec<String>>>;

/// Runs a closure on drop.
pub struct OnDrop<F: FnMut()>(pub F);

impl<F: FnMut()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        (self.0)()
    }
}

/// Polls `fut` once with a no-op waker.
pub fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    Pin::new(fut).poll(&mut cx)
}

/// A one-shot signal set from any thread: the future side stores its waker, the setter sets
/// a flag and wakes it.
#[derive(Default)]
pub struct Signal {
    flag: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Signal {
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// Sets the flag and wakes the waiter (from any thread).
    pub fn set(&self) {
        self.flag.store(true, Ordering::SeqCst);
        let waker = self.waker.lock().unwrap().take();
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Waits for the flag.
    pub async fn wait(self: Arc<Self>) {
        std::future::poll_fn(|cx| {
            if self.flag.load(Ordering::SeqCst) {
                return Poll::Ready(());
            }
            *self.waker.lock().unwrap() = Some(cx.waker().clone());
            if self.flag.load(Ordering::SeqCst) {
                return Poll::Ready(());
            }
            Poll::Pending
        })
        .await
    }
}

/// A small xorshift generator for jitter in race tests.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Spins for a short random while (0..max iterations), sometimes yielding the thread.
    pub fn jitter(&mut self, max: u64) {
        let n = self.next() % max;
        if n % 7 == 0 {
            std::thread::yield_now();
        }
        for _ in 0..n {
            std::hint::spin_loop();
        }
    }
}
