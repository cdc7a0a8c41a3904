//! [`Task`]: the handle of a spawned task.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};

use crate::raw::{self, Header, Panic, release_if_unclaimed, report_panic, take_output};
use crate::shared::Shared;
use crate::state::{CLOSED, COMPLETED, FUTURE, HANDLE, OUTPUT, RUNNING};

/// A spawned task: a future of its output.
///
/// Awaiting a `Task` gives the task's output. If the task panicked, awaiting it resumes that
/// panic in the awaiter.
///
/// **Dropping a `Task` cancels it**: its future is dropped right away (or, if the task is
/// being polled at that moment, as soon as that poll returns) and it never runs again. Use
/// [`detach`](Task::detach) to let it run to completion in the background, or
/// [`cancel`](Task::cancel) to cancel it and learn whether it had already finished.
///
/// Dropping the handle of a task that has already finished drops its output; if the task
/// panicked, nobody can see that panic any more, so it is reported on stderr.
///
/// A `Task` is `!Send`: it belongs to the thread of the executor that spawned it.
#[must_use = "dropping a Task cancels it; call .detach() to let it run in the background"]
pub struct Task<T> {
    ptr: NonNull<Header>,
    /// Owns a `T` (the output may be moved out of the task); `!Send` and `!Sync`.
    _marker: PhantomData<(T, *const ())>,
}

impl<T> Unpin for Task<T> {}

impl<T> Task<T> {
    /// Wraps a freshly spawned task whose state has `HANDLE` set and whose output type is `T`.
    pub(crate) fn from_raw(ptr: NonNull<Header>) -> Self {
        Task {
            ptr,
            _marker: PhantomData,
        }
    }

    fn state(&self) -> u32 {
        // SAFETY: the `HANDLE` claim keeps the task alive; `Task` is `!Send`, so this is the
        // owning thread.
        unsafe { self.ptr.as_ref() }.state.get()
    }

    fn set_state(&self, state: u32) {
        // SAFETY: as in `state`.
        unsafe { self.ptr.as_ref() }.state.set(state);
    }

    /// Moves the output out; requires `OUTPUT`.
    fn take(&self) -> Result<T, Panic> {
        let state = self.state();
        debug_assert!(state & OUTPUT != 0);
        self.set_state((state & !OUTPUT) | CLOSED);
        // SAFETY: the slot holds the output (`OUTPUT` was set, and we just cleared it so this
        // is the only read); `T` is the task's output type (`from_raw`).
        unsafe { take_output::<T>(self.ptr) }
    }

    /// Drops the output; requires `OUTPUT`. Returns the panic payload if the task panicked.
    fn drop_output(&self) -> Option<Panic> {
        let state = self.state();
        self.set_state((state & !OUTPUT) | CLOSED);
        // SAFETY: the slot holds the output and we just cleared `OUTPUT`; `vtable` is
        // immutable and the task alive (our claim).
        unsafe { (self.ptr.as_ref().vtable.drop_output)(self.ptr) }
    }

    /// Gives up the handle: takes the awaiter and clears `HANDLE`, releasing the task if it
    /// was the last claim. `self` must not be used afterwards (it is forgotten by callers).
    fn release_handle(&self) {
        // SAFETY: the `HANDLE` claim keeps the task alive until the release below; owning
        // thread (`Task` is `!Send`). Not used after the release.
        let header = unsafe { self.ptr.as_ref() };
        let awaiter = header.awaiter.take();
        let state = header.state.get() & !HANDLE;
        header.state.set(state);
        // SAFETY: live task, owning thread, current state.
        unsafe { release_if_unclaimed(self.ptr, state) };
        drop(awaiter);
    }

    /// Cancels the task if it has a future: drops it now, or marks it for the runner if it is
    /// being polled. Returns the destructor's panic.
    fn cancel_future(&self) -> Option<Panic> {
        let state = self.state();
        if state & (FUTURE | CLOSED) != FUTURE {
            return None;
        }
        if state & RUNNING != 0 {
            // Being polled (we are inside its own poll, or inside a nested run): the runner
            // drops the future when that poll returns.
            self.set_state(state | CLOSED);
            return None;
        }
        // SAFETY: `FUTURE` set and `RUNNING` clear, owning thread; our `HANDLE` claim keeps
        // the task alive after the call.
        let (dropped, awaiter) = unsafe { Shared::cancel_now(self.ptr) };
        drop(awaiter);
        dropped.err()
    }

    /// Lets the task keep running in the background, dropping the handle.
    ///
    /// The task's output is dropped when it completes. If a detached task panics, the panic
    /// cannot reach anyone: it is reported on stderr (`solo-executor: a detached task panicked:
    /// <message>`) and the executor carries on. Calling `detach` on a task that has already
    /// panicked reports it the same way.
    pub fn detach(self) {
        let this = std::mem::ManuallyDrop::new(self);
        let mut destructor_panic = None;
        if this.state() & OUTPUT != 0 {
            match catch_unwind(AssertUnwindSafe(|| this.drop_output())) {
                Ok(Some(payload)) => report_panic("a detached task", payload),
                Ok(None) => {}
                Err(payload) => destructor_panic = Some(payload),
            }
        }
        this.release_handle();
        if let Some(payload) = destructor_panic {
            resume_unwind(payload);
        }
    }

    /// Cancels the task and waits until it is cancelled.
    ///
    /// Returns `Some(output)` if the task had already completed, and `None` if it had not (its
    /// future is then dropped without running again). If the task completed by panicking,
    /// the panic is resumed here. The cancellation itself is immediate: the future is dropped
    /// before this returns, unless the task is cancelling itself from inside its own poll,
    /// in which case it is dropped as soon as that poll returns.
    pub async fn cancel(self) -> Option<T> {
        let this = std::mem::ManuallyDrop::new(self);
        if this.state() & OUTPUT != 0 {
            let output = this.take();
            this.release_handle();
            return Some(output.unwrap_or_else(|payload| resume_unwind(payload)));
        }
        let destructor_panic = this.cancel_future();
        this.release_handle();
        if let Some(payload) = destructor_panic {
            resume_unwind(payload);
        }
        None
    }

    /// Whether the task has finished: it completed (its output may be taken by awaiting the
    /// `Task`), or it was cancelled because its executor was dropped.
    pub fn is_finished(&self) -> bool {
        raw::finished(self.state())
    }
}

impl<T> Future for Task<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let state = self.state();
        if state & OUTPUT != 0 {
            return match self.take() {
                Ok(value) => Poll::Ready(value),
                Err(payload) => resume_unwind(payload),
            };
        }
        if state & COMPLETED != 0 {
            panic!("`Task` polled after it returned its output");
        }
        if state & CLOSED != 0 {
            panic!("task cancelled: its executor was dropped before the task finished");
        }
        // SAFETY: alive (our `HANDLE` claim); owning thread.
        let header = unsafe { self.ptr.as_ref() };
        let old = header.awaiter.take();
        match old {
            Some(waker) if waker.will_wake(cx.waker()) => header.awaiter.set(Some(waker)),
            old => {
                header.awaiter.set(Some(cx.waker().clone()));
                drop(old);
            }
        }
        Poll::Pending
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        let mut destructor_panic = None;
        if self.state() & OUTPUT != 0 {
            // The task finished but nobody took its output.
            match catch_unwind(AssertUnwindSafe(|| self.drop_output())) {
                Ok(Some(payload)) => report_panic("a task whose handle was dropped", payload),
                Ok(None) => {}
                Err(payload) => destructor_panic = Some(payload),
            }
        } else {
            destructor_panic = self.cancel_future();
        }
        self.release_handle();
        if let Some(payload) = destructor_panic {
            if std::thread::panicking() {
                report_panic("the destructor of a cancelled task", payload);
            } else {
                resume_unwind(payload);
            }
        }
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("Task")
            .field("finished", &raw::finished(state))
            .field("running", &(state & RUNNING != 0))
            .finish()
    }
}
