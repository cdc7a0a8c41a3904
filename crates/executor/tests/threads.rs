//! Wakes from other threads, and the races around them. Each race test is named after the
//! race it provokes and repeats it many times with jitter.

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::task::Waker;
use std::thread;

use common::{Probe, Rng, Signal, block_on, pending, yield_now};
use solo_executor::LocalExecutor;

/// `n` rounds of a race, or a twentieth of them under Miri (which runs each round about a
/// thousand times slower and explores other schedules on every run anyway).
fn rounds(n: u64) -> u64 {
    if cfg!(miri) { (n / 20).max(5) } else { n }
}

/// A helper thread that runs closures sent to it.
struct Helper {
    tx: Option<mpsc::Sender<Box<dyn FnOnce() + Send>>>,
    handle: Option<thread::JoinHandle<()>>,
}

impl Helper {
    fn new() -> Self {
        let (tx, rx) = mpsc::channel::<Box<dyn FnOnce() + Send>>();
        let handle = thread::spawn(move || {
            for job in rx {
                job();
            }
        });
        Helper {
            tx: Some(tx),
            handle: Some(handle),
        }
    }

    fn run(&self, job: impl FnOnce() + Send + 'static) {
        self.tx.as_ref().unwrap().send(Box::new(job)).unwrap();
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        drop(self.tx.take());
        self.handle.take().unwrap().join().unwrap();
    }
}

#[test]
fn race_remote_wake_vs_run_going_to_sleep_loses_no_wakeup() {
    // 1,000 times: a task waits on a signal set from another thread at a random moment
    // (before the first poll, during a poll, while `run` sleeps in block_on...).
    let helper = Helper::new();
    let mut rng = Rng(0x9E3779B97F4A7C15);
    for i in 0..rounds(1000) {
        let ex = LocalExecutor::new();
        let signal = Signal::new();
        let task = ex.spawn(signal.clone().wait());
        let delay = rng.next();
        let s = signal.clone();
        helper.run(move || {
            let mut rng = Rng(delay | 1);
            rng.jitter(2000);
            s.set();
        });
        // Mix in a second task that yields a few times so the run loop is busy sometimes.
        let busy = ex.spawn(async move {
            for _ in 0..(i % 5) {
                yield_now().await;
            }
        });
        block_on(ex.run(async {
            task.await;
            busy.await;
        }));
        assert!(ex.is_empty());
    }
}

#[test]
fn race_remote_wake_vs_tick_sleeping() {
    let helper = Helper::new();
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for _ in 0..rounds(500) {
        let ex = LocalExecutor::new();
        let signal = Signal::new();
        let task = ex.spawn(signal.clone().wait());
        block_on(ex.tick()); // first poll: pending, waker stored
        let s = signal.clone();
        let delay = rng.next();
        helper.run(move || {
            Rng(delay | 1).jitter(2000);
            s.set();
        });
        block_on(ex.tick()); // must be woken by the remote wake
        assert!(task.is_finished());
        block_on(task);
    }
}

#[test]
fn race_remote_waker_drop_vs_task_completion_frees_once() {
    // The last reference to a task may be a waker dropped on another thread while the owner
    // completes the task and drops its handle.
    let helper = Helper::new();
    let mut rng = Rng(42);
    for _ in 0..rounds(1000) {
        let ex = LocalExecutor::new();
        let probe = Probe::new();
        let task = ex.spawn(probe.future(vec![7u8; 16]));
        assert!(ex.try_tick());
        let waker = probe.waker().unwrap();
        let delay = rng.next();
        helper.run(move || {
            let mut rng = Rng(delay | 1);
            rng.jitter(500);
            waker.wake_by_ref();
            rng.jitter(500);
            drop(waker);
        });
        probe.release();
        assert!(probe.wake());
        probe.forget_waker();
        while ex.try_tick() {}
        assert_eq!(block_on(task), vec![7u8; 16]);
        if rng.next() % 2 == 0 {
            drop(ex);
        } else {
            block_on(async { yield_now().await });
            drop(ex);
        }
        assert_eq!(probe.counts.drops(), 1);
    }
}

#[test]
fn race_remote_wake_vs_executor_drop() {
    // Another thread wakes (and clones, and drops) a task's waker while the executor is being
    // dropped: the waker outlives the executor.
    let mut rng = Rng(7);
    for _ in 0..rounds(300) {
        let ex = LocalExecutor::new();
        let probe = Probe::new();
        let task = ex.spawn(probe.future(()));
        assert!(ex.try_tick());
        let waker = probe.waker().unwrap();
        probe.forget_waker();
        let delay = rng.next();
        let t = thread::spawn(move || {
            let mut rng = Rng(delay | 1);
            for _ in 0..20 {
                waker.wake_by_ref();
                let c = waker.clone();
                rng.jitter(50);
                c.wake();
            }
            rng.jitter(200);
            drop(waker);
        });
        Rng(delay.rotate_left(7) | 1).jitter(2000);
        drop(ex);
        drop(task);
        t.join().unwrap();
        assert_eq!(probe.counts.drops(), 1);
    }
}

#[test]
fn a_waker_outliving_the_executor_is_harmless_on_another_thread() {
    let ex = LocalExecutor::new();
    let probe = Probe::new();
    let task = ex.spawn(probe.future(()));
    assert!(ex.try_tick());
    let waker = probe.waker().unwrap();
    probe.forget_waker();
    drop(task);
    drop(ex);
    thread::spawn(move || {
        waker.wake_by_ref();
        let c = waker.clone();
        c.wake();
        let c = waker.clone();
        drop(waker);
        c.wake_by_ref();
        drop(c);
    })
    .join()
    .unwrap();
    assert_eq!(probe.counts.drops(), 1);
}

#[test]
fn notify_hook_is_called_for_remote_wakes_and_not_local_ones() {
    let calls = Arc::new(AtomicUsize::new(0));
    let hook_thread = Arc::new(std::sync::Mutex::new(None));
    let (c, ht) = (calls.clone(), hook_thread.clone());
    let ex = LocalExecutor::with_notify(move || {
        c.fetch_add(1, Ordering::SeqCst);
        *ht.lock().unwrap() = Some(thread::current().id());
    });
    let probe = Probe::new();
    let task = ex.spawn(probe.future(5));
    assert_eq!(calls.load(Ordering::SeqCst), 0, "spawning is local");
    assert!(ex.try_tick());
    assert!(probe.wake()); // local wake
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "a local wake does not notify"
    );
    assert!(ex.try_tick());
    assert!(!ex.has_ready());
    let waker = probe.waker().unwrap();
    let waker_thread = thread::spawn(move || {
        waker.wake();
        thread::current().id()
    })
    .join()
    .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1, "a remote wake notifies");
    assert_eq!(
        *hook_thread.lock().unwrap(),
        Some(waker_thread),
        "called on the waking thread"
    );
    assert!(ex.has_ready(), "the remote wake is visible to has_ready");
    probe.release();
    assert!(ex.try_tick());
    assert_eq!(block_on(task), 5);
    // A remote wake of a finished task is harmless, though it may still notify.
    let waker = probe.waker().unwrap();
    probe.forget_waker();
    thread::spawn(move || waker.wake()).join().unwrap();
    assert!(!ex.try_tick());
    assert!(!ex.has_ready());
}

#[test]
fn remote_wakes_of_one_task_coalesce() {
    let ex = LocalExecutor::new();
    let probe = Probe::new();
    let task = ex.spawn(probe.future(()));
    assert!(ex.try_tick());
    let waker = probe.waker().unwrap();
    thread::spawn(move || {
        for _ in 0..rounds(10_000) {
            waker.wake_by_ref();
        }
    })
    .join()
    .unwrap();
    assert!(ex.try_tick());
    assert_eq!(
        probe.counts.polls(),
        2,
        "10,000 remote wakes before a tick make one poll"
    );
    assert!(!ex.try_tick());
    probe.release();
    assert!(probe.wake());
    assert!(ex.try_tick());
    block_on(task);
}

#[test]
fn remote_wakes_are_not_starved_by_a_busy_local_task() {
    let ex = LocalExecutor::new();
    let stop = Rc::new(Cell::new(false));
    let s = stop.clone();
    ex.spawn(async move {
        while !s.get() {
            yield_now().await;
        }
    })
    .detach();
    let signal = Signal::new();
    let waiter = ex.spawn(signal.clone().wait());
    assert!(ex.try_tick());
    let sig = signal.clone();
    thread::spawn(move || sig.set()).join().unwrap();
    // The local queue is never empty (the busy task re-queues itself), yet the remote wake
    // gets through.
    block_on(ex.run(waiter));
    stop.set(true);
    while ex.try_tick() {}
    assert!(ex.is_empty());
}

#[test]
fn many_threads_wake_many_tasks() {
    let ex = LocalExecutor::new();
    let signals: Vec<Arc<Signal>> = (0..64).map(|_| Signal::new()).collect();
    let tasks: Vec<_> = signals.iter().map(|s| ex.spawn(s.clone().wait())).collect();
    let go = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = signals
        .chunks(16)
        .map(|chunk| {
            let chunk: Vec<Arc<Signal>> = chunk.to_vec();
            let go = go.clone();
            thread::spawn(move || {
                while !go.load(Ordering::SeqCst) {
                    std::hint::spin_loop();
                }
                for s in chunk {
                    s.set();
                }
            })
        })
        .collect();
    block_on(ex.run(async {
        go.store(true, Ordering::SeqCst);
        for t in tasks {
            t.await;
        }
    }));
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn a_remote_wake_wakes_a_runner_sleeping_in_block_on() {
    let ex = LocalExecutor::new();
    let probe = Probe::new();
    let task = ex.spawn(probe.future(1));
    assert!(ex.try_tick());
    let waker: Waker = probe.waker().unwrap();
    let p = probe.clone();
    let t = thread::spawn(move || {
        thread::sleep(std::time::Duration::from_millis(20));
        p.release();
        waker.wake();
    });
    assert_eq!(block_on(ex.run(task)), 1);
    t.join().unwrap();
    probe.forget_waker();
}

#[test]
fn run_with_a_pending_main_future_and_no_tasks_sleeps_until_woken() {
    let ex = LocalExecutor::new();
    let signal = Signal::new();
    let s = signal.clone();
    let t = thread::spawn(move || {
        thread::sleep(std::time::Duration::from_millis(10));
        s.set();
    });
    block_on(ex.run(signal.wait()));
    t.join().unwrap();
    let forever = ex.spawn(pending::<()>());
    assert_eq!(block_on(ex.run(async { 3 })), 3);
    drop(forever);
}
