//! [`unblock`]: a closure on the pool, and [`Unblocked`], the future of its result.

use std::fmt;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;

use super::lock;
use super::pool::{Job, LOST_IN_FORK, submit};

/// Runs a blocking closure on the blocking pool and returns a future of its result.
///
/// The closure starts as soon as a pool thread is free, whether or not the future is
/// polled. If the closure panics, awaiting the future resumes the panic. Dropping the
/// future before it completes does not stop the closure: it runs to the end and its
/// result is dropped (on the pool thread).
///
/// # Examples
///
/// ```
/// # use solo_lite::future::block_on;
/// let sum = block_on(solo_io::unblock(|| (1..=100u64).sum::<u64>()));
/// assert_eq!(sum, 5050);
/// ```
pub fn unblock<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Unblocked<T> {
    let task = Arc::new(UnblockTask {
        lost: AtomicBool::new(false),
        state: Mutex::new(TaskState {
            f: Some(f),
            result: None,
            waker: None,
            finished: false,
            detached: false,
        }),
    });
    submit(task.clone());
    Unblocked { task }
}

/// The future returned by [`unblock`]: resolves to the closure's result.
///
/// Dropping it lets the closure finish and discards the result.
#[must_use = "the result of `unblock` is lost unless the future is awaited"]
pub struct Unblocked<T> {
    task: Arc<dyn Completion<T>>,
}

impl<T> fmt::Debug for Unblocked<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unblocked").finish_non_exhaustive()
    }
}

impl<T> Future for Unblocked<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match self.task.poll_complete(cx) {
            Poll::Ready(Ok(value)) => Poll::Ready(value),
            Poll::Ready(Err(payload)) => panic::resume_unwind(payload),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> Drop for Unblocked<T> {
    fn drop(&mut self) {
        self.task.detach();
    }
}

/// The awaiting side of an [`unblock`] job, with the closure's type erased.
trait Completion<T>: Send + Sync {
    /// The closure's outcome once it finished; registers the waker otherwise.
    fn poll_complete(&self, cx: &mut Context<'_>) -> Poll<thread::Result<T>>;
    /// The future is gone: drop the result now or when it arrives.
    fn detach(&self);
}

/// One [`unblock`] call: closure, result and waker under one lock, one allocation.
struct UnblockTask<F, T> {
    /// Abandoned in a `fork` child: it was running on a thread the child does not have.
    /// Outside the lock, which that thread may have held at the fork.
    lost: AtomicBool,
    state: Mutex<TaskState<F, T>>,
}

struct TaskState<F, T> {
    /// The closure until a pool thread takes it.
    f: Option<F>,
    /// The outcome until the future takes it.
    result: Option<thread::Result<T>>,
    /// Who to wake when the outcome arrives.
    waker: Option<Waker>,
    /// The outcome has been stored (and maybe taken).
    finished: bool,
    /// The future was dropped.
    detached: bool,
}

impl<F, T> Job for UnblockTask<F, T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    fn run(&self) {
        let Some(f) = lock(&self.state).f.take() else {
            return;
        };
        let result = panic::catch_unwind(AssertUnwindSafe(f));
        let mut state = lock(&self.state);
        state.finished = true;
        if state.detached {
            drop(state);
            drop(result);
            return;
        }
        state.result = Some(result);
        let waker = state.waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn abandon(&self) {
        self.lost.store(true, Ordering::Release);
        // The vanished thread may have held the lock at the fork: then nobody can be woken
        // (the next poll still sees `lost`).
        let waker = match self.state.try_lock() {
            Ok(mut state) => state.waker.take(),
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner().waker.take(),
            Err(std::sync::TryLockError::WouldBlock) => None,
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<F, T> Completion<T> for UnblockTask<F, T>
where
    F: Send,
    T: Send,
{
    fn poll_complete(&self, cx: &mut Context<'_>) -> Poll<thread::Result<T>> {
        if self.lost.load(Ordering::Acquire) {
            return Poll::Ready(Err(Box::new(LOST_IN_FORK)));
        }
        let mut state = lock(&self.state);
        if let Some(result) = state.result.take() {
            return Poll::Ready(result);
        }
        assert!(!state.finished, "`Unblocked` polled after completion");
        match &mut state.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    fn detach(&self) {
        if self.lost.load(Ordering::Acquire) {
            // Its thread is gone (and may have held the lock): nothing to drop it for.
            return;
        }
        let mut state = lock(&self.state);
        state.detached = true;
        let result = state.result.take();
        let waker = state.waker.take();
        drop(state);
        drop((result, waker));
    }
}
