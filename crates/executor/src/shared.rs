//! The executor's state: local run queue, list of unfinished tasks, remote inbox, sleepers.
//!
//! [`Shared`] is heap-allocated and reference-counted (`strong`): the executor holds one unit
//! and every allocated task holds one, so a waker that outlives the executor still finds it
//! and sees it marked dead. Its fields fall in two groups:
//!
//! - **owning thread only** ([`Local`]): plain `Cell`s, never touched on another thread. The
//!   code that reaches them is `LocalExecutor` and `Task` (both `!Send`) and wakers that have
//!   checked `owner == current_thread()` first.
//! - **any thread**: `owner` and `notify` (immutable), `strong`, `remote_pending` (atomics) and
//!   the `remote` inbox (a `Mutex`). Code on another thread reaches these through field
//!   references built from a raw pointer, never through a `&Shared`.
//!
//! Re-entrancy: no borrow of the queues or lists is ever held while user code runs. The
//! queues are intrusive lists of `Cell`s updated in a few plain stores with no user code in
//! between, the remote lock is never held while a waker, a destructor or the notify hook runs,
//! and every loop re-reads its list head after running user code.

use std::cell::Cell;
use std::mem;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;
use std::sync::PoisonError;
use std::task::{Context, Waker};

use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use crate::loom::sync::{Mutex, MutexGuard};

pub(crate) use crate::loom::current_thread;
use crate::raw::{
    self, Header, Panic, borrowed_waker, clear_remote, drop_caught, release_if_unclaimed, retire,
};
use crate::state::{CLOSED, FUTURE, HANDLE, OUTPUT, RUNNING, SCHEDULED};

/// Units of `strong` the executor takes at once and hands to new tasks without atomics.
const BANK: usize = 1024;

/// A task pointer in the remote inbox.
#[derive(Clone, Copy)]
struct Queued(NonNull<Header>);

// SAFETY: a `Queued` entry is created on a foreign thread and consumed on the owning thread.
// The pointer is only dereferenced there for the owning-thread fields, or for `refs` (atomic)
// on any thread; the entry keeps the allocation alive through the `REMOTE` flag.
unsafe impl Send for Queued {}

/// The part of the state that other threads reach, under a lock.
struct Remote {
    /// `false` once the executor is dropped: wakes are then ignored.
    alive: bool,
    /// Tasks woken from other threads, each at most once (the `REMOTE` flag).
    queue: Vec<Queued>,
    /// Runners (`run`, `tick`) waiting for work, with their id.
    sleepers: Vec<(u64, Waker)>,
}

/// The owning thread's part of the state.
struct Local {
    /// `false` once the executor's drop has begun.
    alive: Cell<bool>,
    /// Run queue (FIFO), linked through `Header::queue_next`.
    head: Cell<Option<NonNull<Header>>>,
    tail: Cell<Option<NonNull<Header>>>,
    /// Unfinished tasks (those with a future), linked through `Header::live_prev/next`.
    live: Cell<Option<NonNull<Header>>>,
    /// Units of `strong` taken in advance for future tasks.
    bank: Cell<usize>,
    /// Some runner may be registered in `Remote::sleepers`.
    sleeping: Cell<bool>,
    /// Next sleeper id.
    next_sleeper: Cell<u64>,
    /// A spare buffer swapped with the remote queue when draining it.
    spare: Cell<Vec<Queued>>,
    /// Counters and the long-poll detector.
    #[cfg(feature = "metrics")]
    pub(crate) counters: crate::metrics::Counters,
}

/// See the module documentation.
pub(crate) struct Shared {
    /// The owning thread (see [`current_thread`]). Immutable.
    pub(crate) owner: u64,
    /// Units held by the executor (1 plus the bank) and by allocated tasks (1 each).
    strong: AtomicUsize,
    /// Called after a foreign thread queues a task on an empty remote queue. Immutable.
    notify: Option<Box<dyn Fn() + Send + Sync>>,
    /// Hint that `remote.queue` is non-empty, readable without the lock.
    remote_pending: AtomicBool,
    remote: Mutex<Remote>,
    local: Local,
}

fn lock(remote: &Mutex<Remote>) -> MutexGuard<'_, Remote> {
    // No user code runs under this lock, so poisoning cannot leave it inconsistent.
    remote.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Wakes every sleeper; one panicking waker does not stop the others.
fn wake_all(sleepers: Vec<(u64, Waker)>) {
    for (_, waker) in sleepers {
        drop_caught("the waker of an executor runner", || waker.wake());
    }
}

impl Shared {
    /// Allocates the state of a new executor on the calling thread.
    pub(crate) fn create(notify: Option<Box<dyn Fn() + Send + Sync>>) -> NonNull<Shared> {
        let shared = Box::new(Shared {
            owner: current_thread(),
            strong: AtomicUsize::new(1),
            notify,
            remote_pending: AtomicBool::new(false),
            remote: Mutex::new(Remote {
                alive: true,
                queue: Vec::new(),
                sleepers: Vec::new(),
            }),
            local: Local {
                alive: Cell::new(true),
                head: Cell::new(None),
                tail: Cell::new(None),
                live: Cell::new(None),
                bank: Cell::new(0),
                sleeping: Cell::new(false),
                next_sleeper: Cell::new(1),
                spare: Cell::new(Vec::new()),
                #[cfg(feature = "metrics")]
                counters: crate::metrics::Counters::new(),
            },
        });
        NonNull::from(Box::leak(shared))
    }

    /// The counters (owning thread).
    #[cfg(feature = "metrics")]
    pub(crate) fn counters(&self) -> &crate::metrics::Counters {
        &self.local.counters
    }

    /// Whether this executor has a notify hook.
    pub(crate) fn has_notify(&self) -> bool {
        self.notify.is_some()
    }

    /// Registers a freshly allocated task (state `SCHEDULED | HANDLE | FUTURE`): links it in
    /// the list of unfinished tasks and at the back of the run queue.
    pub(crate) fn adopt(&self, ptr: NonNull<Header>) {
        debug_assert!(self.local.alive.get());
        let bank = self.local.bank.get();
        if bank == 0 {
            self.strong.fetch_add(BANK, Ordering::Relaxed);
            self.local.bank.set(BANK - 1);
        } else {
            self.local.bank.set(bank - 1);
        }
        #[cfg(feature = "metrics")]
        crate::metrics::bump(&self.local.counters.spawned, 1);
        self.link(ptr);
        self.push(ptr);
    }

    /// Takes one unit of `strong` for a task being freed: back to the bank on the owning
    /// thread while the executor lives, otherwise with an atomic decrement.
    ///
    /// # Safety
    ///
    /// The caller held one unit of `shared`, which this call consumes.
    pub(crate) unsafe fn release_task_unit(shared: NonNull<Shared>) {
        let this = shared.as_ptr();
        // SAFETY: `owner` is immutable, and our unit keeps `Shared` alive.
        if unsafe { (*this).owner } == current_thread() {
            // SAFETY: on the owning thread, the local part may be touched.
            let local = unsafe { &(*this).local };
            if local.alive.get() {
                local.bank.set(local.bank.get() + 1);
                return;
            }
        }
        // SAFETY: forwarded from the caller.
        unsafe { Self::release(shared, 1) }
    }

    /// Gives back `units` of `strong`, freeing the state when none remain.
    ///
    /// # Safety
    ///
    /// The caller holds `units` units and does not use `shared` afterwards.
    unsafe fn release(shared: NonNull<Shared>, units: usize) {
        let this = shared.as_ptr();
        // SAFETY: alive while we hold units; only the atomic is touched.
        // `AcqRel` rather than `Release` plus an `Acquire` fence: same effect, and visible to
        // ThreadSanitizer.
        if unsafe { &(*this).strong }.fetch_sub(units, Ordering::AcqRel) == units {
            // SAFETY: no unit remains, so no task and no executor can reach it; it was
            // allocated by `Box` in `create`. By now the executor has emptied every queue, so
            // dropping it runs no task code and frees only `Send` data (wakers, the hook).
            drop(unsafe { Box::from_raw(this) });
        }
    }

    fn link(&self, ptr: NonNull<Header>) {
        // SAFETY: a live task of this executor, on the owning thread.
        let header = unsafe { ptr.as_ref() };
        let head = self.local.live.replace(Some(ptr));
        #[cfg(feature = "metrics")]
        crate::metrics::bump(&self.local.counters.alive, 1);
        header.live_prev.set(None);
        header.live_next.set(head);
        if let Some(next) = head {
            // SAFETY: tasks in the list are alive (the `FUTURE` claim).
            unsafe { next.as_ref() }.live_prev.set(Some(ptr));
        }
    }

    /// Unlinks a task from the list of unfinished tasks.
    pub(crate) fn unlink(&self, ptr: NonNull<Header>) {
        // SAFETY: a live task of this executor, on the owning thread.
        let header = unsafe { ptr.as_ref() };
        let prev = header.live_prev.take();
        let next = header.live_next.take();
        #[cfg(feature = "metrics")]
        crate::metrics::drop_by(&self.local.counters.alive, 1);
        match prev {
            // SAFETY: neighbours in the list are alive (the `FUTURE` claim).
            Some(prev) => unsafe { prev.as_ref() }.live_next.set(next),
            None => self.local.live.set(next),
        }
        if let Some(next) = next {
            // SAFETY: as above.
            unsafe { next.as_ref() }.live_prev.set(prev);
        }
    }

    /// Appends a task (with `SCHEDULED` set, not `RUNNING`) to the run queue.
    fn push(&self, ptr: NonNull<Header>) {
        // SAFETY: a live task of this executor (its `SCHEDULED` claim), on the owning thread.
        unsafe { ptr.as_ref() }.queue_next.set(None);
        #[cfg(feature = "metrics")]
        crate::metrics::bump(&self.local.counters.queued, 1);
        match self.local.tail.replace(Some(ptr)) {
            // SAFETY: tasks in the queue are alive (their `SCHEDULED` claim).
            Some(tail) => unsafe { tail.as_ref() }.queue_next.set(Some(ptr)),
            None => self.local.head.set(Some(ptr)),
        }
        if self.local.sleeping.get() {
            self.wake_sleepers();
        }
    }

    fn pop(&self) -> Option<NonNull<Header>> {
        let head = self.local.head.get()?;
        #[cfg(feature = "metrics")]
        crate::metrics::drop_by(&self.local.counters.queued, 1);
        // SAFETY: tasks in the queue are alive (their `SCHEDULED` claim).
        let next = unsafe { head.as_ref() }.queue_next.get();
        self.local.head.set(next);
        if next.is_none() {
            self.local.tail.set(None);
        }
        Some(head)
    }

    /// A wake on the owning thread.
    ///
    /// # Safety
    ///
    /// On the owning thread; `ptr` is a live task of this executor.
    pub(crate) unsafe fn schedule_local(&self, ptr: NonNull<Header>) {
        // SAFETY: live task, owning thread (caller).
        let header = unsafe { ptr.as_ref() };
        let state = header.state.get();
        // Only a task with a future that is neither cancelled nor already scheduled. This
        // makes waking a finished task, a cancelled one, or any task of a dropped executor (all
        // of whose tasks are `CLOSED` or future-less) a no-op.
        if state & (FUTURE | CLOSED | SCHEDULED) != FUTURE {
            return;
        }
        header.state.set(state | SCHEDULED);
        if state & RUNNING == 0 {
            self.push(ptr);
        }
        // Otherwise the runner re-queues it when the current poll returns.
    }

    /// A wake from another thread: queue the task on the remote inbox, once.
    ///
    /// # Safety
    ///
    /// `ptr` is a live task of the executor whose state is `shared`, kept alive by the
    /// caller for the duration of the call. Only `Sync` fields are touched.
    pub(crate) unsafe fn schedule_remote(shared: NonNull<Shared>, ptr: NonNull<Header>) {
        // SAFETY: the task is alive (caller); `refs` is atomic.
        let refs = unsafe { &(*ptr.as_ptr()).refs };
        // `AcqRel`: release our writes to whoever clears the flag after polling is due
        // (also when this wake is coalesced into an entry already queued).
        if refs.fetch_or(crate::state::REMOTE, Ordering::AcqRel) & crate::state::REMOTE != 0 {
            return;
        }
        let this = shared.as_ptr();
        // SAFETY: the task holds a unit of `shared`, so it is alive; `remote`,
        // `remote_pending` and `notify` are the fields meant for other threads.
        let (remote, pending, notify) =
            unsafe { (&(*this).remote, &(*this).remote_pending, &(*this).notify) };
        let mut guard = lock(remote);
        if !guard.alive {
            drop(guard);
            // SAFETY: we set the flag and did not queue the task; clearing it is ours to do.
            unsafe { clear_remote(ptr) };
            return;
        }
        let was_empty = guard.queue.is_empty();
        guard.queue.push(Queued(ptr));
        pending.store(true, Ordering::Release);
        let sleepers = if was_empty {
            mem::take(&mut guard.sleepers)
        } else {
            Vec::new()
        };
        drop(guard);
        // From here on the owning thread may take the entry and even free the task; we touch
        // only `Shared`, which the caller's reference on the task keeps alive.
        if was_empty {
            wake_all(sleepers);
            if let Some(notify) = notify {
                notify();
            }
        }
    }

    /// Wakes all registered runners (a task became runnable while they slept).
    fn wake_sleepers(&self) {
        self.local.sleeping.set(false);
        let sleepers = mem::take(&mut lock(&self.remote).sleepers);
        wake_all(sleepers);
    }

    /// Moves every task of the remote inbox to the run queue.
    fn drain_remote(&self) {
        let mut batch = self.local.spare.take();
        {
            let mut guard = lock(&self.remote);
            mem::swap(&mut guard.queue, &mut batch);
            self.remote_pending.store(false, Ordering::Relaxed);
        }
        #[cfg(feature = "metrics")]
        crate::metrics::bump(&self.local.counters.remote_wakes, batch.len() as u64);
        for Queued(ptr) in batch.drain(..) {
            // SAFETY: the `REMOTE` flag kept the task alive in the inbox; it is one of ours,
            // and we are on the owning thread. Scheduling comes before clearing the flag:
            // once cleared, the task may be freed by another thread.
            unsafe {
                self.schedule_local(ptr);
                clear_remote(ptr);
            }
        }
        self.local.spare.set(batch);
    }

    /// A task is runnable now (in the local queue, or the remote inbox is non-empty).
    pub(crate) fn has_ready(&self) -> bool {
        self.local.head.get().is_some() || self.remote_pending.load(Ordering::Acquire)
    }

    /// No unfinished task.
    pub(crate) fn is_empty(&self) -> bool {
        self.local.live.get().is_none()
    }

    /// Tasks in the local run queue (after taking in the remote inbox). O(n): simulation only.
    #[cfg(solo_sim)]
    pub(crate) fn ready_count(&self) -> usize {
        if self.remote_pending.load(Ordering::Relaxed) {
            self.drain_remote();
        }
        let mut n = 0;
        let mut next = self.local.head.get();
        while let Some(ptr) = next {
            n += 1;
            // SAFETY: tasks in the queue are alive (their `SCHEDULED` claim).
            next = unsafe { ptr.as_ref() }.queue_next.get();
        }
        n
    }

    /// Moves the first `skip` queued tasks to the back, then runs one (simulation: the
    /// seeded scheduler's choice). Returns whether a task was polled.
    #[cfg(solo_sim)]
    pub(crate) fn run_one_after(&self, skip: usize) -> bool {
        if self.remote_pending.load(Ordering::Relaxed) {
            self.drain_remote();
        }
        for _ in 0..skip {
            match self.pop() {
                Some(ptr) => self.push(ptr),
                None => break,
            }
        }
        self.run_tasks(1) > 0
    }

    /// Polls up to `budget` tasks; returns how many were polled.
    pub(crate) fn run_tasks(&self, budget: usize) -> usize {
        // Look at the remote inbox once per budget even if the local queue never runs dry,
        // so that tasks woken from other threads cannot be starved.
        if self.remote_pending.load(Ordering::Relaxed) {
            self.drain_remote();
        }
        let mut polled = 0;
        while polled < budget {
            match self.pop() {
                Some(ptr) => polled += usize::from(self.run_task(ptr)),
                None if self.remote_pending.load(Ordering::Relaxed) => self.drain_remote(),
                None => break,
            }
        }
        polled
    }

    /// Runs one task popped from the queue; `false` if it was stale (cancelled while queued).
    fn run_task(&self, ptr: NonNull<Header>) -> bool {
        // SAFETY: popped from our queue: alive (its `SCHEDULED` claim), on the owning thread.
        // `header` is not used after the claim is released below.
        let header = unsafe { ptr.as_ref() };
        let state = header.state.get();
        debug_assert!(state & SCHEDULED != 0 && state & RUNNING == 0);
        if state & FUTURE == 0 {
            let state = state & !SCHEDULED;
            header.state.set(state);
            // SAFETY: live task, owning thread, current state.
            unsafe { release_if_unclaimed(ptr, state) };
            return false;
        }
        header.state.set((state & !SCHEDULED) | RUNNING);
        // SAFETY: the `RUNNING` claim keeps the task alive for as long as the waker is used
        // (the context does not outlive this call; clones take their own reference).
        let waker = unsafe { borrowed_waker(ptr) };
        let mut cx = Context::from_waker(&waker);
        #[cfg(feature = "metrics")]
        let started = self.local.counters.poll_starts();
        // SAFETY: the slot holds the future (`FUTURE`) and this frame set `RUNNING`.
        let done = unsafe { (header.vtable.poll)(ptr, &mut cx) };
        #[cfg(feature = "metrics")]
        if let Some(started) = started {
            // The `RUNNING` claim still holds the task.
            self.local.counters.poll_ended(header, started);
        }
        let state = header.state.get();
        if done {
            self.complete(ptr);
        } else if state & CLOSED != 0 {
            // Cancelled during its own poll: the drop was left to us.
            // SAFETY: `FUTURE` is still set (nobody else drops a running future), owning thread.
            unsafe { retire(ptr) };
            // SAFETY: `RUNNING` gives this frame exclusive use of the future, now retired.
            drop_caught("the destructor of a cancelled task", || unsafe {
                (header.vtable.drop_future)(ptr)
            });
            let state = header.state.get() & !(RUNNING | SCHEDULED);
            header.state.set(state);
            // SAFETY: live task, owning thread, current state; `header` is not used after.
            unsafe { release_if_unclaimed(ptr, state) };
        } else if state & SCHEDULED != 0 {
            // Woken during its own poll: to the back of the queue, behind everyone else.
            header.state.set(state & !RUNNING);
            self.push(ptr);
        } else {
            header.state.set(state & !RUNNING);
        }
        true
    }

    /// Finishes a task whose future just completed (`OUTPUT | COMPLETED | RUNNING`).
    fn complete(&self, ptr: NonNull<Header>) {
        // SAFETY: alive (our `RUNNING` claim), owning thread; not used after the release.
        let header = unsafe { ptr.as_ref() };
        let state = header.state.get();
        if state & HANDLE == 0 {
            // Detached, or its handle was dropped during this poll: nobody will take the
            // output, so drop it now; a panic nobody can observe is reported.
            header.state.set((state | CLOSED) & !OUTPUT);
            drop_caught("the output destructor of a detached task", || {
                // SAFETY: the slot holds the output and we just cleared `OUTPUT`.
                if let Some(payload) = unsafe { (header.vtable.drop_output)(ptr) } {
                    raw::report_panic("a detached task", payload);
                }
            });
        }
        let awaiter = header.awaiter.take();
        let state = header.state.get() & !(RUNNING | SCHEDULED);
        header.state.set(state);
        // SAFETY: live task, owning thread, current state; `header` is not used after.
        unsafe { release_if_unclaimed(ptr, state) };
        if let Some(waker) = awaiter {
            drop_caught("the waker of a task's awaiter", || waker.wake());
        }
    }

    /// Drops the future of an unfinished task that is not running, marking it `CLOSED`.
    /// Returns the destructor's panic, if any, and the awaiter's waker (taken), and releases
    /// the task's local reference if no claim remains: the caller must not touch the task
    /// afterwards unless it holds another claim.
    ///
    /// # Safety
    ///
    /// `ptr` is a live task of this executor with `FUTURE` set and `RUNNING` clear, on the
    /// owning thread.
    pub(crate) unsafe fn cancel_now(ptr: NonNull<Header>) -> (Result<(), Panic>, Option<Waker>) {
        // SAFETY: live task, owning thread (caller); not used after the release.
        let header = unsafe { ptr.as_ref() };
        debug_assert!(header.state.get() & (FUTURE | RUNNING) == FUTURE);
        header.state.set(header.state.get() | CLOSED | RUNNING);
        // SAFETY: `FUTURE` is set, owning thread.
        unsafe { retire(ptr) };
        // SAFETY: the `RUNNING` claim gives this frame exclusive use of the future.
        let dropped = catch_unwind(AssertUnwindSafe(|| unsafe {
            (header.vtable.drop_future)(ptr)
        }));
        let awaiter = header.awaiter.take();
        let state = header.state.get() & !RUNNING;
        header.state.set(state);
        // SAFETY: live task, owning thread, current state.
        unsafe { release_if_unclaimed(ptr, state) };
        (dropped, awaiter)
    }

    /// Tears the executor down: refuses further wakes, drops every unfinished future exactly
    /// once (on this, the owning, thread), wakes their awaiters, and gives back the
    /// executor's units. Returns the first panic of a future's destructor.
    ///
    /// # Safety
    ///
    /// Called once, by the executor's `Drop`, on the owning thread; `shared` is not used by
    /// the executor afterwards.
    pub(crate) unsafe fn shutdown(shared: NonNull<Shared>) -> Option<Panic> {
        // SAFETY: the executor's unit keeps it alive until the `release` at the end.
        let this = unsafe { shared.as_ref() };
        this.local.alive.set(false);
        let (inbox, sleepers) = {
            let mut guard = lock(&this.remote);
            guard.alive = false;
            this.remote_pending.store(false, Ordering::Relaxed);
            (mem::take(&mut guard.queue), mem::take(&mut guard.sleepers))
        };
        for Queued(ptr) in inbox {
            // SAFETY: the flag kept it alive; the entry is ours to retire.
            unsafe { clear_remote(ptr) };
        }
        drop(this.local.spare.take());
        drop(sleepers);
        while let Some(ptr) = this.pop() {
            // SAFETY: alive (its `SCHEDULED` claim), owning thread; not used after release.
            let header = unsafe { ptr.as_ref() };
            let state = header.state.get() & !SCHEDULED;
            header.state.set(state);
            // SAFETY: live task, owning thread, current state.
            unsafe { release_if_unclaimed(ptr, state) };
        }
        // Close everything first, without running user code, so that wakes made by the
        // destructors below are no-ops and nothing is queued again.
        let mut cursor = this.local.live.get();
        while let Some(ptr) = cursor {
            // SAFETY: tasks in the list are alive (their `FUTURE` claim).
            let header = unsafe { ptr.as_ref() };
            header.state.set(header.state.get() | CLOSED);
            cursor = header.live_next.get();
        }
        let mut first_panic = None;
        // Re-read the head each time: a destructor may cancel other tasks (dropping their
        // handles), which unlinks them.
        while let Some(ptr) = this.local.live.get() {
            // SAFETY: in the list, so `FUTURE` is set; nothing runs while the executor is
            // being dropped, so `RUNNING` is clear; owning thread.
            let (dropped, awaiter) = unsafe { Self::cancel_now(ptr) };
            if let Some(waker) = awaiter {
                drop_caught("the waker of a task's awaiter", || waker.wake());
            }
            if let Err(payload) = dropped {
                match first_panic {
                    None => first_panic = Some(payload),
                    Some(_) => raw::report_panic("the destructor of a task", payload),
                }
            }
        }
        debug_assert!(
            this.local.head.get().is_none(),
            "a task was queued during shutdown"
        );
        let units = 1 + this.local.bank.get();
        // SAFETY: the executor's own unit plus its bank, given back once.
        unsafe { Self::release(shared, units) };
        first_panic
    }

    /// Allocates a sleeper id.
    fn sleeper_id(&self) -> u64 {
        let id = self.local.next_sleeper.get();
        self.local.next_sleeper.set(id + 1);
        id
    }
}

/// A runner's registration for "wake me when a task becomes runnable".
pub(crate) struct Sleeper<'e> {
    shared: &'e Shared,
    id: u64,
}

impl<'e> Sleeper<'e> {
    pub(crate) fn new(shared: &'e Shared) -> Self {
        Sleeper { shared, id: 0 }
    }

    /// Registers `waker` to be woken when a task becomes runnable. Returns `false` (without
    /// sleeping) if one already is. The caller has found the local queue empty.
    pub(crate) fn sleep(&mut self, waker: &Waker) -> bool {
        let shared = self.shared;
        {
            let mut guard = lock(&shared.remote);
            if !guard.queue.is_empty() {
                return false;
            }
            let id = self.id;
            if let Some(entry) = guard.sleepers.iter_mut().find(|e| e.0 == id && id != 0) {
                if entry.1.will_wake(waker) {
                    drop(guard);
                    shared.local.sleeping.set(true);
                    return true;
                }
            }
        }
        // Clone outside the lock: a waker's `clone` is user code.
        let fresh = waker.clone();
        if self.id == 0 {
            self.id = shared.sleeper_id();
        }
        let id = self.id;
        let replaced = {
            let mut guard = lock(&shared.remote);
            if !guard.queue.is_empty() {
                return false;
            }
            match guard.sleepers.iter_mut().find(|e| e.0 == id) {
                Some(entry) => Some(mem::replace(&mut entry.1, fresh)),
                None => {
                    guard.sleepers.push((id, fresh));
                    None
                }
            }
        };
        drop(replaced);
        shared.local.sleeping.set(true);
        // User code ran (clone, drop): it might have queued a task.
        shared.local.head.get().is_none()
    }
}

impl Drop for Sleeper<'_> {
    fn drop(&mut self) {
        if self.id == 0 {
            return;
        }
        let id = self.id;
        let removed = {
            let mut guard = lock(&self.shared.remote);
            guard
                .sleepers
                .iter()
                .position(|e| e.0 == id)
                .map(|i| guard.sleepers.swap_remove(i))
        };
        drop(removed);
    }
}
