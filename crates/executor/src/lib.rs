//! A single-threaded executor for one pinned thread.
//!
//! [`LocalExecutor`] runs `!Send` futures on the thread that created it; [`LocalExecutor::spawn`]
//! returns a [`Task`], a future of the task's output that cancels the task when dropped.
//! It plays the role of `async-executor`'s `LocalExecutor` together with the task machinery of
//! `async-task`, written for one thread from the start:
//!
//! - **One allocation per task**: a header (state, reference count, vtable, queue links), the
//!   future, and, in the same bytes once the future is done, its output.
//! - **No lock and no atomic read-modify-write on the local path.** Spawning, polling, waking a
//!   task from its own thread and joining it touch plain `Cell`s; the only atomic is the
//!   task's reference count, which `Waker` needs because wakers are `Send + Sync`.
//! - **Wakes from other threads** go to a locked inbox (the cold path) and call the notify
//!   hook given to [`LocalExecutor::with_notify`], so a reactor blocked in its poller can wake.
//! - **Fair**: every tick polls at most [`BUDGET`] tasks before giving control back, a task
//!   that wakes itself goes to the back of the queue, and the inbox is looked at every tick.
//! - **Panics** in a task are caught and resumed in whoever awaits its [`Task`]. A detached
//!   task has nobody to resume them in: its panic is reported on stderr and the executor
//!   carries on.
//!
//! # Panics
//!
//! Each poll of a task runs under `catch_unwind`. A panic ends the task: its future is dropped
//! and the payload takes the place of the output, to be resumed (`resume_unwind`) in whoever
//! awaits the [`Task`] (or calls [`Task::cancel`]). The choice for panics that nobody can
//! observe (the task was detached, or its handle was dropped after it finished) is to
//! **report and carry on**: one line on stderr, `solo-executor: a detached task panicked:
//! <message>`, and the executor keeps running its other tasks, because on a server one failed
//! connection must not take down the thousands of others. Aborting would do exactly that, and
//! resuming the panic in the caller of `run` would unwind through `block_on` and drop every
//! task.
//!
//! The same goes for a panicking waker (of a task's awaiter, or of a runner sleeping in
//! [`run`](LocalExecutor::run)): it is reported and the remaining wakes still happen. A panic
//! in a future's destructor during a cancellation reaches whoever cancelled: the dropper of
//! the [`Task`], or the dropper of the executor once every other future has been dropped.
//!
//! The executor is a future-driven loop, not a thread: [`run`](LocalExecutor::run) composes
//! with any `block_on` (the umbrella crate `solo` pairs it with a reactor).
//!
//! # Example
//!
//! ```
//! use std::cell::Cell;
//! use std::rc::Rc;
//!
//! use solo_executor::LocalExecutor;
//! use solo_lite::future::block_on; // any block_on works; `solo::block_on` also drives I/O
//!
//! let ex = LocalExecutor::new();
//! let total = Rc::new(Cell::new(0)); // tasks may be `!Send`
//! let tasks: Vec<_> = (1..=10)
//!     .map(|i| {
//!         let total = total.clone();
//!         ex.spawn(async move {
//!             total.set(total.get() + i);
//!             i * i
//!         })
//!     })
//!     .collect();
//! let sum_of_squares = block_on(ex.run(async {
//!     let mut sum = 0;
//!     for task in tasks {
//!         sum += task.await;
//!     }
//!     sum
//! }));
//! assert_eq!(sum_of_squares, 385);
//! assert_eq!(total.get(), 55);
//!
//! // Dropping a `Task` cancels it; `detach` lets it run in the background.
//! let forever = ex.spawn(std::future::pending::<()>());
//! drop(forever);
//! ex.spawn(async { println!("in the background") }).detach();
//! while ex.try_tick() {}
//! assert!(ex.is_empty());
//! ```
#![deny(clippy::undocumented_unsafe_blocks, unsafe_op_in_unsafe_fn)]

mod loom;
#[cfg(feature = "metrics")]
pub mod metrics;
mod raw;
mod shared;
mod state;
mod task;

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::resume_unwind;
use std::pin::{Pin, pin};
use std::ptr::NonNull;
use std::task::{Context, Poll};
#[cfg(feature = "metrics")]
use std::time::Duration;

use crate::shared::{Shared, Sleeper};
use crate::state::{FUTURE, HANDLE, SCHEDULED};

pub use crate::task::Task;

#[cfg(feature = "metrics")]
pub use crate::metrics::Metrics;

/// How many tasks one tick polls at most before giving control back to its caller (so that
/// the caller can poll I/O and timers between bursts of ready tasks).
pub const BUDGET: usize = 64;

/// A single-threaded executor.
///
/// Tasks are spawned with [`spawn`](Self::spawn) and make progress while the executor is
/// driven: by [`run`](Self::run) (until a given future completes), [`tick`](Self::tick) or
/// [`try_tick`](Self::try_tick). The executor and its [`Task`]s are `!Send` and `!Sync`; the
/// wakers of its tasks are ordinary `Send + Sync` wakers and may be woken from any thread.
///
/// Dropping the executor drops the future of every unfinished task, exactly once and on the
/// executor's thread, and wakes whoever awaits them (awaiting such a task then panics with
/// "task cancelled: its executor was dropped"). Wakers that outlive the executor stay valid
/// and do nothing.
///
/// The lifetime `'a` bounds what spawned futures may borrow; the executor is invariant in it.
pub struct LocalExecutor<'a> {
    shared: NonNull<Shared>,
    /// `!Send`, `!Sync`, invariant in `'a` (a covariant executor could be handed futures that
    /// borrow data dying before the executor drops them).
    _marker: PhantomData<*mut &'a ()>,
}

impl<'a> LocalExecutor<'a> {
    /// Creates an executor owned by the calling thread.
    pub fn new() -> Self {
        LocalExecutor {
            shared: Shared::create(None),
            _marker: PhantomData,
        }
    }

    /// Creates an executor with a notify hook.
    ///
    /// `hook` is called (on the waking thread) when a wake from **another** thread queues a
    /// task on an empty inbox: a reactor parked in its poller uses it to wake up (e.g. with
    /// its poller's `notify`). Wakes on the executor's own thread never call it; check
    /// [`has_ready`](Self::has_ready) before blocking instead. Keep it short and non-blocking;
    /// a panic in it propagates to the caller of `wake`.
    pub fn with_notify(hook: impl Fn() + Send + Sync + 'static) -> Self {
        LocalExecutor {
            shared: Shared::create(Some(Box::new(hook))),
            _marker: PhantomData,
        }
    }

    fn shared(&self) -> &Shared {
        // SAFETY: the executor holds a unit of `strong` until its `Drop`, so the state is
        // alive; `LocalExecutor` is `!Send`, so this is the owning thread.
        unsafe { self.shared.as_ref() }
    }

    /// Spawns a task. It is queued at once and first polled by the next tick.
    ///
    /// The returned [`Task`] is a future of the output; dropping it cancels the task.
    ///
    /// With the `metrics` feature the caller's location is recorded
    /// (`#[track_caller]`) for the long-poll detector.
    #[cfg_attr(feature = "metrics", track_caller)]
    pub fn spawn<T: 'a>(&self, fut: impl Future<Output = T> + 'a) -> Task<T> {
        let ptr = raw::allocate(
            fut,
            self.shared,
            SCHEDULED | HANDLE | FUTURE,
            #[cfg(feature = "metrics")]
            std::panic::Location::caller(),
        );
        self.shared().adopt(ptr);
        Task::from_raw(ptr)
    }

    /// Spawns a task recorded as spawned at `location`: for a wrapper around
    /// [`spawn`](Self::spawn) that is itself `#[track_caller]` but calls it from a
    /// closure (where the location would be the closure's), as `solo::spawn` does.
    ///
    /// Only with the `metrics` feature.
    #[cfg(feature = "metrics")]
    pub fn spawn_at<T: 'a>(
        &self,
        location: &'static std::panic::Location<'static>,
        fut: impl Future<Output = T> + 'a,
    ) -> Task<T> {
        let ptr = raw::allocate(fut, self.shared, SCHEDULED | HANDLE | FUTURE, location);
        self.shared().adopt(ptr);
        Task::from_raw(ptr)
    }

    /// Spawns many tasks, appending their handles to `handles`.
    ///
    /// A panic in the iterator leaves the executor usable, and the tasks spawned before it
    /// in `handles`.
    #[cfg_attr(feature = "metrics", track_caller)]
    pub fn spawn_many<T: 'a, F: Future<Output = T> + 'a>(
        &self,
        futs: impl IntoIterator<Item = F>,
        handles: &mut impl Extend<Task<T>>,
    ) {
        #[cfg(feature = "metrics")]
        let location = std::panic::Location::caller();
        handles.extend(futs.into_iter().map(|fut| {
            #[cfg(feature = "metrics")]
            let task = self.spawn_at(location, fut);
            #[cfg(not(feature = "metrics"))]
            let task = self.spawn(fut);
            task
        }));
    }

    /// Runs tasks until `fut` completes, and returns its output.
    ///
    /// Each time it is polled, it polls `fut`, then up to [`BUDGET`] tasks; when the budget is
    /// spent it wakes itself and returns `Pending`, so the `block_on` around it (and the
    /// reactor in it) gets control between budgets. When no task is runnable it sleeps until
    /// one is (woken from any thread) or until `fut` is woken.
    pub async fn run<T>(&self, fut: impl Future<Output = T>) -> T {
        let mut fut = pin!(fut);
        Run {
            shared: self.shared(),
            fut: fut.as_mut(),
            sleeper: Sleeper::new(self.shared()),
        }
        .await
    }

    /// Waits until a task is runnable, then runs up to [`BUDGET`] of them.
    pub async fn tick(&self) {
        Tick {
            shared: self.shared(),
            sleeper: Sleeper::new(self.shared()),
        }
        .await
    }

    /// Runs up to [`BUDGET`] runnable tasks without waiting; returns `true` if any was polled.
    pub fn try_tick(&self) -> bool {
        self.shared().run_tasks(BUDGET) > 0
    }

    /// How many tasks are runnable now. Only under simulation (`--cfg solo_sim`), where a
    /// seeded scheduler picks among them; it walks the queue.
    #[cfg(solo_sim)]
    pub fn ready_count(&self) -> usize {
        self.shared().ready_count()
    }

    /// Moves the first `skip` runnable tasks to the back of the queue and runs the next one:
    /// the seeded scheduler's way to choose which ready task runs. Only under simulation
    /// (`--cfg solo_sim`). Returns whether a task was polled.
    #[cfg(solo_sim)]
    pub fn run_one_after(&self, skip: usize) -> bool {
        self.shared().run_one_after(skip)
    }

    /// Whether a task is runnable now (queued locally, or woken from another thread).
    ///
    /// A reactor uses it to choose between blocking in its poller and a zero-timeout poll.
    pub fn has_ready(&self) -> bool {
        self.shared().has_ready()
    }

    /// Whether there is no unfinished task (every spawned future has completed or been
    /// dropped).
    pub fn is_empty(&self) -> bool {
        self.shared().is_empty()
    }

    /// A snapshot of this executor's counters. Only with the `metrics` feature.
    #[cfg(feature = "metrics")]
    pub fn metrics(&self) -> Metrics {
        self.shared().counters().snapshot()
    }

    /// Turns the long-poll detector on (`Some(threshold)`) or off (`None`): while on,
    /// every poll is timed, a poll longer than `threshold` is counted in
    /// [`Metrics::long_polls`], and each task's first such poll is reported through the
    /// `log` facade (target [`metrics::LONG_POLL_TARGET`], level `warn`) with the task's
    /// spawn location. Only with the `metrics` feature.
    ///
    /// The default is [`metrics::DEFAULT_LONG_POLL_THRESHOLD`] in builds with debug
    /// assertions, off in release builds.
    #[cfg(feature = "metrics")]
    pub fn set_long_poll_threshold(&self, threshold: Option<Duration>) {
        self.shared().counters().set_threshold(threshold);
    }

    /// The long-poll threshold (`None`: the detector is off). Only with the `metrics`
    /// feature.
    #[cfg(feature = "metrics")]
    pub fn long_poll_threshold(&self) -> Option<Duration> {
        self.shared().counters().threshold()
    }
}

impl Default for LocalExecutor<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for LocalExecutor<'_> {
    fn drop(&mut self) {
        // SAFETY: called once, on the owning thread (`!Send`); `self.shared` is not used again.
        let panic = unsafe { Shared::shutdown(self.shared) };
        if let Some(payload) = panic {
            if std::thread::panicking() {
                raw::report_panic("the destructor of a task", payload);
            } else {
                resume_unwind(payload);
            }
        }
    }
}

impl fmt::Debug for LocalExecutor<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalExecutor")
            .field("has_ready", &self.has_ready())
            .field("is_empty", &self.is_empty())
            .field("notify", &self.shared().has_notify())
            .finish()
    }
}

/// The future of [`LocalExecutor::run`].
struct Run<'e, F> {
    shared: &'e Shared,
    fut: Pin<&'e mut F>,
    sleeper: Sleeper<'e>,
}

impl<F: Future> Future for Run<'_, F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        // The whole poll, including re-polls of `fut`, stays within one budget.
        let mut budget = BUDGET;
        loop {
            if let Poll::Ready(out) = this.fut.as_mut().poll(cx) {
                return Poll::Ready(out);
            }
            let polled = this.shared.run_tasks(budget);
            if polled == 0 {
                if this.sleeper.sleep(cx.waker()) {
                    return Poll::Pending;
                }
                // Work arrived meanwhile; charge the round so this loop stays bounded.
                budget -= 1;
            } else {
                budget -= polled;
            }
            if budget == 0 {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
        }
    }
}

/// The future of [`LocalExecutor::tick`].
struct Tick<'e> {
    shared: &'e Shared,
    sleeper: Sleeper<'e>,
}

impl Future for Tick<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        // Each failed attempt to sleep means the inbox was non-empty; if its entries keep
        // turning out stale (wakes of finished tasks), give the caller control back anyway.
        for _ in 0..BUDGET {
            if this.shared.run_tasks(BUDGET) > 0 {
                return Poll::Ready(());
            }
            if this.sleeper.sleep(cx.waker()) {
                return Poll::Pending;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
