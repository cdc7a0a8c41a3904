//! The process-wide pool of threads: a queue of jobs under one lock, threads started on
//! demand up to a limit, and exiting after an idle timeout.
//!
//! # fork
//!
//! A `fork` child has only the thread that forked: none of the pool's. Handlers registered
//! with `pthread_atfork` (at the first job) hold the pool's lock across the fork, so the
//! child's copy is never locked by a thread it does not have, and in the child set the
//! count of threads (and idle ones) to zero, so its first job starts a thread of its own.
//! The jobs the pool held at the fork, running or still queued, are the parent's: they
//! run only there. In the child each is *abandoned* (its future panics with a message that
//! says so, an [`Unblock`](super::Unblock) fails every later operation the same way) at
//! the reactor's first use there or the pool's next job, rather than leaving whoever
//! awaits it waiting forever, or running its side effects a second time. (A queued job
//! kept in the child would also have no thread: the parent started one for it.)

use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use super::lock;

/// Threads the pool may run at once unless `SOLO_BLOCKING_MAX_THREADS` says otherwise.
const DEFAULT_MAX_THREADS: usize = 64;
/// Environment variable overriding [`DEFAULT_MAX_THREADS`].
const MAX_THREADS_ENV: &str = "SOLO_BLOCKING_MAX_THREADS";
/// How long a pool thread waits for work before it exits.
const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(1);

/// A unit of work for the pool. Implementations catch panics of user code.
pub(super) trait Job: Send + Sync {
    /// Runs the job on a pool thread.
    fn run(&self);

    /// The process forked while this job ran on a pool thread, which the child does not
    /// have: make whoever awaits it fail instead of waiting forever. Called in the child,
    /// once, outside the pool's lock.
    fn abandon(&self);
}

/// The process-wide pool.
struct Pool {
    state: Mutex<PoolState>,
    /// Signalled when work is queued (and when the idle timeout changes).
    work: Condvar,
}

struct PoolState {
    /// Jobs waiting for a thread.
    queue: VecDeque<Arc<dyn Job>>,
    /// Live pool threads (started and not yet exiting).
    threads: usize,
    /// Threads waiting for work.
    idle: usize,
    /// Limit on `threads`; `None` until read from the environment.
    max_threads: Option<usize>,
    /// How long an idle thread waits before it exits.
    idle_timeout: Duration,
    /// Jobs running on a pool thread now.
    running: Vec<Arc<dyn Job>>,
    /// In a fork child: the jobs that were running or queued at the fork, to abandon.
    orphans: Vec<Arc<dyn Job>>,
    /// Jobs finished (feature `metrics`).
    #[cfg(feature = "metrics")]
    completed: u64,
}

static POOL: Pool = Pool {
    state: Mutex::new(PoolState {
        queue: VecDeque::new(),
        threads: 0,
        idle: 0,
        max_threads: None,
        idle_timeout: DEFAULT_IDLE_TIMEOUT,
        running: Vec::new(),
        orphans: Vec::new(),
        #[cfg(feature = "metrics")]
        completed: 0,
    }),
    work: Condvar::new(),
};

impl PoolState {
    fn max_threads(&mut self) -> usize {
        *self.max_threads.get_or_insert_with(|| {
            std::env::var(MAX_THREADS_ENV)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .filter(|&n| n > 0)
                .unwrap_or(DEFAULT_MAX_THREADS)
        })
    }
}

/// Queues a job, starting a thread if no idle thread can take it.
#[cfg_attr(solo_sim, allow(unreachable_code))]
pub(super) fn submit(job: Arc<dyn Job>) {
    // Under simulation the job runs here and now: one thread, a deterministic order.
    #[cfg(solo_sim)]
    {
        run_job(job.as_ref());
        return;
    }
    #[cfg(unix)]
    fork::watch();
    let mut state = lock(&POOL.state);
    if !state.orphans.is_empty() {
        drop(state);
        abandon_orphans();
        state = lock(&POOL.state);
    }
    state.queue.push_back(job);
    if state.idle > 0 {
        POOL.work.notify_one();
    }
    // Idle threads that have not woken yet will each take one of the queued jobs.
    if state.queue.len() <= state.idle || state.threads >= state.max_threads() {
        return;
    }
    state.threads += 1;
    drop(state);
    let spawned = thread::Builder::new()
        .name("solo-blocking".into())
        .spawn(worker);
    if spawned.is_err() {
        let mut state = lock(&POOL.state);
        state.threads -= 1;
        if state.threads == 0 {
            // No thread can run the queue: run it here rather than never.
            let jobs: Vec<_> = state.queue.drain(..).collect();
            drop(state);
            jobs.iter().for_each(|job| run_job(job.as_ref()));
        }
    }
}

/// Runs a job, containing a panic (from a waker) so the thread survives.
fn run_job(job: &dyn Job) {
    let _ = panic::catch_unwind(AssertUnwindSafe(|| job.run()));
}

/// The loop of a pool thread: run jobs, exit after being idle for the idle timeout.
fn worker() {
    let mut state = lock(&POOL.state);
    loop {
        if let Some(job) = state.queue.pop_front() {
            state.running.push(job.clone());
            drop(state);
            run_job(job.as_ref());
            state = lock(&POOL.state);
            let ours = Arc::as_ptr(&job).cast::<()>();
            if let Some(i) = state
                .running
                .iter()
                .position(|j| Arc::as_ptr(j).cast::<()>() == ours)
            {
                let _ = state.running.swap_remove(i);
            }
            // Dropped with the lock held: a job's last reference frees only its own
            // memory (its waker was taken when it finished).
            drop(job);
            #[cfg(feature = "metrics")]
            {
                state.completed += 1;
            }
            continue;
        }
        let idle_since = Instant::now();
        state.idle += 1;
        while state.queue.is_empty() {
            let Some(left) = state.idle_timeout.checked_sub(idle_since.elapsed()) else {
                break;
            };
            if left.is_zero() {
                break;
            }
            state = POOL
                .work
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        state.idle -= 1;
        if state.queue.is_empty() {
            state.threads -= 1;
            return;
        }
    }
}

/// Keeps the pool usable in a `fork` child (see the module docs).
#[cfg(unix)]
mod fork {
    use std::cell::RefCell;
    use std::sync::MutexGuard;
    use std::sync::atomic::{AtomicI32, AtomicU8, Ordering};

    use super::{POOL, PoolState, lock};

    thread_local! {
        /// The pool's lock, held by the forking thread across `fork`.
        static HELD: RefCell<Option<MutexGuard<'static, PoolState>>> =
            const { RefCell::new(None) };
    }

    /// Where the registration stands: 0 not begun, 1 under way (by [`REGISTRAR`]), 2
    /// done (or failed, which was said once).
    pub(super) static STATE: AtomicU8 = AtomicU8::new(0);
    /// The process that set [`STATE`] to 1.
    pub(super) static REGISTRAR: AtomicI32 = AtomicI32::new(0);

    /// Registers the handlers, once per process.
    ///
    /// Not a `Once`: a fork while another thread is inside it would leave the child a
    /// `Once` that never completes, and the child's first blocking job would hang. A
    /// registration under way in another process is one a fork interrupted, before the
    /// handlers took effect (`pthread_atfork` and `fork` exclude each other, and the
    /// child handler marks the registration done): it is started again.
    pub(super) fn watch() {
        loop {
            match STATE.load(Ordering::Acquire) {
                2 => return,
                0 => {
                    // SAFETY: getpid has no preconditions.
                    REGISTRAR.store(unsafe { libc::getpid() }, Ordering::Relaxed);
                    if STATE
                        .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                    {
                        register();
                        STATE.store(2, Ordering::Release);
                    }
                }
                // SAFETY: getpid has no preconditions.
                _ if REGISTRAR.load(Ordering::Relaxed) != unsafe { libc::getpid() } => {
                    let _ = STATE.compare_exchange(1, 0, Ordering::AcqRel, Ordering::Relaxed);
                }
                _ => std::thread::yield_now(),
            }
        }
    }

    fn register() {
        // SAFETY: three plain functions that stay valid for the life of the process.
        // They lock and unlock the pool's mutex and write two counters: no pool thread
        // holds that lock across anything that could wait for the forking thread.
        let errno = unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
        if errno != 0 {
            // Without them a fork child may find the lock held or count threads it
            // does not have; the parent is unaffected. Say so once.
            eprintln!(
                "solo-io: cannot register the blocking pool's fork handlers \
                 (pthread_atfork: {}); a fork child may not use the pool",
                std::io::Error::from_raw_os_error(errno)
            );
        }
    }

    /// Before `fork`: take the lock, so that no pool thread holds it at the fork.
    extern "C" fn prepare() {
        // (`try_with`: a thread being torn down keeps no lock; the child may then find it
        // held, as without the handlers.)
        let _ = HELD.try_with(|held| *held.borrow_mut() = Some(lock(&POOL.state)));
    }

    /// After `fork`, in the parent: give it back.
    extern "C" fn parent() {
        let _ = HELD.try_with(|held| drop(held.borrow_mut().take()));
    }

    /// After `fork`, in the child: no pool thread exists here; give the lock back.
    extern "C" fn child() {
        // The handlers run, so they are registered here (see `watch`).
        STATE.store(2, Ordering::Relaxed);
        let _ = HELD.try_with(|held| {
            if let Some(mut state) = held.borrow_mut().take() {
                state.threads = 0;
                state.idle = 0;
                // No thread runs these here, and the queued ones run in the parent: whoever
                // awaits them is told (`abandon`), in ordinary code, not in this handler.
                let running = std::mem::take(&mut state.running);
                let queued = std::mem::take(&mut state.queue);
                state.orphans.extend(running);
                state.orphans.extend(queued);
            }
        });
    }
}

/// In a `fork` child: abandons the jobs that were running or queued at the fork (see the module
/// docs). Cheap when there are none.
pub(crate) fn abandon_orphans() {
    let orphans = {
        let mut state = lock(&POOL.state);
        if state.orphans.is_empty() {
            return;
        }
        std::mem::take(&mut state.orphans)
    };
    for job in orphans {
        job.abandon();
    }
}

/// The message of a job abandoned in a `fork` child.
pub(super) const LOST_IN_FORK: &str = "solo-io: this blocking job was on the pool (running or queued) \
     when the process forked; it runs only in the parent (the child has none of the pool's \
     threads), so it never finishes here";

/// The pool's threads, queue and finished jobs.
#[cfg(feature = "metrics")]
pub(crate) fn metrics() -> crate::metrics::PoolMetrics {
    let mut state = lock(&POOL.state);
    crate::metrics::PoolMetrics {
        threads: state.threads,
        idle: state.idle,
        queued: state.queue.len(),
        completed: state.completed,
        max_threads: state.max_threads(),
    }
}

/// Knobs and counters for tests; not part of the API.
#[doc(hidden)]
pub mod testing {
    use super::super::lock;
    use super::POOL;
    use std::time::Duration;

    /// Number of live pool threads.
    pub fn live_threads() -> usize {
        lock(&POOL.state).threads
    }

    /// Sets the limit on pool threads (at least 1); running threads are not stopped.
    pub fn set_max_threads(threads: usize) {
        lock(&POOL.state).max_threads = Some(threads.max(1));
    }

    /// Sets how long an idle pool thread waits for work before it exits.
    pub fn set_idle_timeout(timeout: Duration) {
        lock(&POOL.state).idle_timeout = timeout;
        POOL.work.notify_all();
    }
}

#[cfg(all(test, unix))]
mod fork_tests {
    use std::sync::atomic::Ordering;

    /// A fork child whose parent forked in the middle of the first registration finds
    /// it "under way" by another process: it registers again instead of waiting.
    #[test]
    fn a_registration_interrupted_by_fork_is_started_again() {
        super::fork::watch();
        // SAFETY: getpid has no preconditions.
        let me = unsafe { libc::getpid() };
        super::fork::REGISTRAR.store(me + 1, Ordering::Relaxed);
        super::fork::STATE.store(1, Ordering::Release);
        super::fork::watch();
        assert_eq!(super::fork::STATE.load(Ordering::Acquire), 2);
        assert_eq!(super::fork::REGISTRAR.load(Ordering::Relaxed), me);
    }
}
