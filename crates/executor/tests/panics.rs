//! Panics: in tasks, detached tasks, destructors and wakers.

mod common;

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Wake, Waker};

use common::{OnDrop, Probe, block_on, pending, yield_now};
use solo_executor::{LocalExecutor, Task};

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

#[test]
fn panics_propagate_to_the_awaiter_and_the_executor_keeps_working() {
    let ex = LocalExecutor::new();
    let probe = Probe::new();
    let fut = probe.future(());
    let task: Task<u32> = ex.spawn(async move {
        yield_now().await;
        let _held = fut; // dropped during unwinding, exactly once
        panic!("task exploded");
    });
    let bystander = ex.spawn(async {
        yield_now().await;
        5
    });
    let caught = catch_unwind(AssertUnwindSafe(|| block_on(ex.run(task))));
    let payload = caught.expect_err("the panic reaches the awaiter");
    assert_eq!(panic_message(&*payload), "task exploded");
    assert_eq!(probe.counts.drops(), 1);
    // The executor is fine: the other task and new ones still run.
    assert_eq!(block_on(ex.run(bystander)), 5);
    assert_eq!(block_on(ex.run(ex.spawn(async { 6 }))), 6);
    assert!(ex.is_empty());
}

#[test]
fn a_panic_is_resumed_by_cancel_of_a_finished_task() {
    let ex = LocalExecutor::new();
    let task: Task<()> = ex.spawn(async { panic!("finished by panicking") });
    assert!(ex.try_tick());
    assert!(task.is_finished());
    let caught = catch_unwind(AssertUnwindSafe(|| block_on(task.cancel())));
    assert_eq!(
        panic_message(&*caught.unwrap_err()),
        "finished by panicking"
    );
}

#[test]
fn detached_panic_does_not_kill_the_executor() {
    let ex = LocalExecutor::new();
    let after = Rc::new(Cell::new(0));
    ex.spawn(async { panic!("detached boom") }).detach();
    let a = after.clone();
    ex.spawn(async move {
        yield_now().await;
        a.set(1);
    })
    .detach();
    // Neither `try_tick` nor `run` unwinds.
    while ex.try_tick() {}
    assert_eq!(after.get(), 1);
    assert_eq!(block_on(ex.run(ex.spawn(async { 2 }))), 2);
}

#[test]
#[cfg_attr(miri, ignore = "runs a child process, which Miri cannot")]
fn detached_panic_is_reported_on_stderr() {
    // Run the scenario in a child process and read its stderr.
    if std::env::var_os("SOLO_EXECUTOR_CHILD").is_some() {
        let ex = LocalExecutor::new();
        ex.spawn(async { panic!("reported-panic-7f3a") }).detach();
        let t = ex.spawn(async { panic!("late-detach-91c2") });
        while ex.try_tick() {}
        t.detach();
        assert_eq!(block_on(ex.run(ex.spawn(async { 1 }))), 1);
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "detached_panic_is_reported_on_stderr",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SOLO_EXECUTOR_CHILD", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed: {stderr}");
    assert!(
        stderr.contains("solo-executor: a detached task panicked: reported-panic-7f3a"),
        "stderr: {stderr}"
    );
    assert!(
        stderr.contains("solo-executor: a detached task panicked: late-detach-91c2"),
        "stderr: {stderr}"
    );
}

#[test]
fn a_panicking_destructor_of_a_cancelled_task_reaches_the_dropper() {
    let ex = LocalExecutor::new();
    let task = ex.spawn(async {
        let _bomb = OnDrop(|| panic!("destructor exploded"));
        pending::<()>().await
    });
    assert!(ex.try_tick());
    let caught = catch_unwind(AssertUnwindSafe(|| drop(task)));
    assert_eq!(panic_message(&*caught.unwrap_err()), "destructor exploded");
    assert!(ex.is_empty());
    assert_eq!(block_on(ex.run(ex.spawn(async { 3 }))), 3);
}

#[test]
fn a_task_whose_destructor_panics_after_completion_counts_as_panicked() {
    let ex = LocalExecutor::new();
    let task = ex.spawn(async {
        let _bomb = OnDrop(|| panic!("late destructor"));
        yield_now().await;
        4
    });
    let caught = catch_unwind(AssertUnwindSafe(|| block_on(ex.run(task))));
    assert_eq!(panic_message(&*caught.unwrap_err()), "late destructor");
    assert!(ex.is_empty());
}

/// A waker that panics when woken, and counts how often it was.
struct Grenade(AtomicUsize);

impl Wake for Grenade {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
        panic!("waker exploded");
    }
}

/// A waker that counts.
struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_panicking_waker_does_not_stop_others_from_being_woken() {
    let ex = LocalExecutor::new();
    let probes: Vec<Probe> = (0..3).map(|_| Probe::new()).collect();
    let mut tasks: Vec<Task<usize>> = probes
        .iter()
        .enumerate()
        .map(|(i, p)| ex.spawn(p.future(i)))
        .collect();
    while ex.try_tick() {}
    // A "join" that registers a panicking waker on the first task and counting ones on the
    // others.
    let grenade = Arc::new(Grenade(AtomicUsize::new(0)));
    let counters: Vec<Arc<Counter>> = (0..2)
        .map(|_| Arc::new(Counter(AtomicUsize::new(0))))
        .collect();
    let wakers: Vec<Waker> = std::iter::once(Waker::from(grenade.clone()))
        .chain(counters.iter().map(|c| Waker::from(c.clone())))
        .collect();
    for (task, waker) in tasks.iter_mut().zip(&wakers) {
        assert!(
            Pin::new(task)
                .poll(&mut Context::from_waker(waker))
                .is_pending()
        );
    }
    for p in &probes {
        assert!(p.finish());
    }
    // Completing the three tasks wakes the three awaiters; the first panics, the run goes on.
    assert!(ex.try_tick());
    assert_eq!(grenade.0.load(Ordering::SeqCst), 1);
    for c in &counters {
        assert_eq!(c.0.load(Ordering::SeqCst), 1);
    }
    for (i, t) in tasks.into_iter().enumerate() {
        assert_eq!(block_on(t), i);
    }
}

#[test]
fn a_panicking_waker_of_a_sleeping_runner_does_not_stop_the_others() {
    // Two runners sleep on the same executor, the first one with a panicking waker.
    let ex = LocalExecutor::new();
    let grenade = Arc::new(Grenade(AtomicUsize::new(0)));
    let counter = Arc::new(Counter(AtomicUsize::new(0)));
    let w1 = Waker::from(grenade.clone());
    let w2 = Waker::from(counter.clone());
    let mut t1 = Box::pin(ex.tick());
    let mut t2 = Box::pin(ex.tick());
    assert!(t1.as_mut().poll(&mut Context::from_waker(&w1)).is_pending());
    assert!(t2.as_mut().poll(&mut Context::from_waker(&w2)).is_pending());
    ex.spawn(async {}).detach(); // queues a task: both runners are woken
    assert_eq!(grenade.0.load(Ordering::SeqCst), 1);
    assert_eq!(counter.0.load(Ordering::SeqCst), 1);
    assert!(t2.as_mut().poll(&mut Context::from_waker(&w2)).is_ready());
}

#[test]
fn a_panicking_future_inside_a_join_of_several() {
    let ex = LocalExecutor::new();
    let ok1 = ex.spawn(async {
        yield_now().await;
        1
    });
    let bad: Task<i32> = ex.spawn(async {
        yield_now().await;
        panic!("one of several")
    });
    let ok2 = ex.spawn(async {
        yield_now().await;
        2
    });
    let caught = catch_unwind(AssertUnwindSafe(|| block_on(ex.run(bad))));
    assert!(caught.is_err());
    assert_eq!(block_on(ex.run(async { ok1.await + ok2.await })), 3);
}
