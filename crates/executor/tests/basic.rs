//! Spawning, awaiting, cancelling, detaching, and the public queries.

mod common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::task::Poll;

use common::{OnDrop, Probe, block_on, pending, poll_once, yield_now};
use solo_executor::{BUDGET, LocalExecutor, Task};

#[test]
fn spawn_and_await() {
    let ex = LocalExecutor::new();
    let task = ex.spawn(async { 7 });
    assert_eq!(block_on(ex.run(task)), 7);
    assert!(ex.is_empty());
}

#[test]
fn output_of_many_tasks() {
    let ex = LocalExecutor::new();
    let tasks: Vec<Task<String>> = (0..1000)
        .map(|i| ex.spawn(async move { format!("task {i}") }))
        .collect();
    let outputs = block_on(ex.run(async {
        let mut outputs = Vec::new();
        for task in tasks {
            outputs.push(task.await);
        }
        outputs
    }));
    for (i, out) in outputs.iter().enumerate() {
        assert_eq!(out, &format!("task {i}"));
    }
    assert!(ex.is_empty());
}

#[test]
fn tasks_run_in_spawn_order() {
    let ex = LocalExecutor::new();
    let log = Rc::new(RefCell::new(Vec::new()));
    for i in 0..5 {
        let log = log.clone();
        ex.spawn(async move { log.borrow_mut().push(i) }).detach();
    }
    while ex.try_tick() {}
    assert_eq!(*log.borrow(), vec![0, 1, 2, 3, 4]);
}

#[test]
fn output_with_a_heap_payload_through_a_non_send_task() {
    let ex = LocalExecutor::new();
    let rc = Rc::new(5);
    let rc2 = rc.clone();
    let task = ex.spawn(async move {
        yield_now().await;
        vec![*rc2; 3]
    });
    assert_eq!(block_on(ex.run(task)), vec![5, 5, 5]);
    assert_eq!(
        Rc::strong_count(&rc),
        1,
        "the task's future was dropped after completing"
    );
}

#[test]
fn cancel_on_drop_runs_the_futures_destructor() {
    let ex = LocalExecutor::new();
    let probe = Probe::new();
    let task = ex.spawn(probe.future(1u32));
    assert!(ex.try_tick());
    assert_eq!(probe.counts.polls(), 1);
    assert_eq!(probe.counts.drops(), 0);
    drop(task);
    assert_eq!(
        probe.counts.drops(),
        1,
        "dropping the Task drops the future at once"
    );
    // A wake of the cancelled task is harmless, and it is never polled again.
    assert!(probe.wake());
    assert!(!ex.try_tick());
    assert_eq!(probe.counts.polls(), 1);
    assert!(ex.is_empty());
    drop(ex);
    assert_eq!(probe.counts.drops(), 1);
}

#[test]
fn cancel_on_drop_of_a_queued_task_that_never_ran() {
    let ex = LocalExecutor::new();
    let probe = Probe::new();
    let task = ex.spawn(probe.future(()));
    assert!(ex.has_ready());
    drop(task);
    assert_eq!(probe.counts.drops(), 1);
    assert!(
        !ex.try_tick(),
        "the stale queue entry is skipped, not polled"
    );
    assert_eq!(probe.counts.polls(), 0);
    assert!(!ex.has_ready());
}

#[test]
fn detach_keeps_running() {
    let ex = LocalExecutor::new();
    let probe = Probe::new();
    let done = Rc::new(Cell::new(false));
    let flag = done.clone();
    let fut = probe.future(());
    ex.spawn(async move {
        fut.await;
        flag.set(true);
    })
    .detach();
    assert!(ex.try_tick());
    assert!(!done.get());
    assert!(probe.finish());
    assert!(ex.try_tick());
    assert!(done.get());
    assert_eq!(probe.counts.drops(), 1);
    assert!(ex.is_empty());
}

#[test]
fn detach_after_completion_drops_the_output() {
    let ex = LocalExecutor::new();
    let dropped = Rc::new(Cell::new(0));
    let d = dropped.clone();
    let task = ex.spawn(async move { OnDrop(move || d.set(d.get() + 1)) });
    assert!(ex.try_tick());
    assert!(task.is_finished());
    assert_eq!(dropped.get(), 0, "the output waits for its handle");
    task.detach();
    assert_eq!(dropped.get(), 1);
}

#[test]
fn dropping_a_finished_task_drops_its_output_once() {
    let ex = LocalExecutor::new();
    let dropped = Rc::new(Cell::new(0));
    let d = dropped.clone();
    let task = ex.spawn(async move { OnDrop(move || d.set(d.get() + 1)) });
    assert!(ex.try_tick());
    drop(task);
    assert_eq!(dropped.get(), 1);
    drop(ex);
    assert_eq!(dropped.get(), 1);
}

#[test]
fn cancel_returns_some_when_finished_first() {
    let ex = LocalExecutor::new();
    let task = ex.spawn(async { String::from("done") });
    assert!(ex.try_tick());
    assert!(task.is_finished());
    assert_eq!(block_on(task.cancel()), Some(String::from("done")));
}

#[test]
fn cancel_returns_none_otherwise() {
    let ex = LocalExecutor::new();
    // Never polled.
    let probe = Probe::new();
    let task = ex.spawn(probe.future(1));
    assert_eq!(block_on(task.cancel()), None);
    assert_eq!(probe.counts.drops(), 1);
    // Polled, pending.
    let probe = Probe::new();
    let task = ex.spawn(probe.future(2));
    assert!(ex.try_tick());
    assert_eq!(block_on(task.cancel()), None);
    assert_eq!(probe.counts.drops(), 1);
    assert_eq!(probe.counts.polls(), 1);
    assert!(ex.is_empty());
}

#[test]
fn awaiting_a_task_registers_and_is_woken() {
    let ex = LocalExecutor::new();
    let probe = Probe::new();
    let mut task = ex.spawn(probe.future(9));
    assert_eq!(poll_once(&mut task), Poll::Pending);
    assert!(ex.try_tick());
    assert_eq!(poll_once(&mut task), Poll::Pending);
    assert!(probe.finish());
    assert!(ex.try_tick());
    assert!(task.is_finished());
    assert_eq!(poll_once(&mut task), Poll::Ready(9));
}

#[test]
#[should_panic(expected = "polled after it returned its output")]
fn polling_a_task_after_its_output_panics() {
    let ex = LocalExecutor::new();
    let mut task = ex.spawn(async { 1 });
    assert!(ex.try_tick());
    assert_eq!(poll_once(&mut task), Poll::Ready(1));
    let _ = poll_once(&mut task);
}

#[test]
fn reentrant_spawn_from_inside_a_task() {
    let ex = Rc::new(LocalExecutor::new());
    let ex2 = ex.clone();
    let outer = ex.spawn(async move {
        let inner: Vec<Task<usize>> = (0..10).map(|i| ex2.spawn(async move { i * 2 })).collect();
        let mut sum = 0;
        for t in inner {
            sum += t.await;
        }
        // Spawn from inside, detached, and a nested spawn inside that.
        let ex3 = ex2.clone();
        ex2.spawn(async move { ex3.spawn(async {}).detach() })
            .detach();
        sum
    });
    assert_eq!(block_on(ex.run(outer)), 90);
    while ex.try_tick() {}
    assert!(ex.is_empty());
}

#[test]
fn spawn_many_spawns_all_in_order() {
    let ex = LocalExecutor::new();
    let mut handles = Vec::new();
    ex.spawn_many((0..200u32).map(|i| async move { i + 1 }), &mut handles);
    assert_eq!(handles.len(), 200);
    let sum = block_on(ex.run(async {
        let mut sum = 0;
        for h in handles {
            sum += h.await;
        }
        sum
    }));
    assert_eq!(sum, (1..=200).sum::<u32>());
}

#[test]
fn spawn_many_with_a_panicking_iterator_leaves_the_executor_usable() {
    let ex = LocalExecutor::new();
    let mut handles = Vec::new();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ex.spawn_many(
            (0..10u32).map(|i| {
                assert!(i != 5, "iterator failure");
                async move { i }
            }),
            &mut handles,
        );
    }));
    assert!(caught.is_err());
    assert_eq!(handles.len(), 5);
    let out: Vec<u32> = block_on(ex.run(async {
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await);
        }
        out
    }));
    assert_eq!(out, vec![0, 1, 2, 3, 4]);
    assert_eq!(block_on(ex.run(ex.spawn(async { 42 }))), 42);
}

#[test]
fn has_ready_is_empty_and_try_tick() {
    let ex = LocalExecutor::new();
    assert!(ex.is_empty());
    assert!(!ex.has_ready());
    assert!(!ex.try_tick());
    let probe = Probe::new();
    let task = ex.spawn(probe.future(()));
    assert!(!ex.is_empty());
    assert!(ex.has_ready());
    assert!(ex.try_tick());
    assert!(!ex.has_ready(), "pending and not woken");
    assert!(!ex.is_empty());
    assert!(probe.wake());
    assert!(ex.has_ready(), "a local wake makes it runnable");
    assert!(ex.try_tick());
    probe.release();
    assert!(probe.wake());
    assert!(ex.try_tick());
    assert!(ex.is_empty());
    assert!(task.is_finished());
    drop(task);
}

#[test]
fn try_tick_polls_at_most_one_budget() {
    let ex = LocalExecutor::new();
    let polled = Rc::new(Cell::new(0usize));
    for _ in 0..BUDGET * 2 + 3 {
        let p = polled.clone();
        ex.spawn(async move { p.set(p.get() + 1) }).detach();
    }
    assert!(ex.try_tick());
    assert_eq!(polled.get(), BUDGET);
    assert!(ex.has_ready());
    assert!(ex.try_tick());
    assert_eq!(polled.get(), 2 * BUDGET);
    assert!(ex.try_tick());
    assert_eq!(polled.get(), 2 * BUDGET + 3);
    assert!(!ex.try_tick());
}

#[test]
fn tick_waits_for_a_runnable_task() {
    let ex = LocalExecutor::new();
    let probe = Probe::new();
    let task = ex.spawn(probe.future(3));
    block_on(ex.tick());
    assert_eq!(probe.counts.polls(), 1);
    // Nothing runnable: `tick` is pending until the wake.
    let mut tick = Box::pin(ex.tick());
    assert!(poll_once(&mut tick).is_pending());
    probe.release();
    assert!(probe.wake());
    assert!(poll_once(&mut tick).is_ready());
    drop(tick);
    assert!(task.is_finished());
    assert_eq!(block_on(task), 3);
}

#[test]
fn run_returns_when_its_future_completes_even_with_tasks_pending() {
    let ex = LocalExecutor::new();
    let forever = ex.spawn(pending::<()>());
    assert_eq!(block_on(ex.run(async { 5 })), 5);
    assert!(!forever.is_finished());
    drop(forever);
    assert!(ex.is_empty());
}

#[test]
fn run_wakes_when_a_task_is_spawned_from_outside_its_future() {
    // `run` sleeps; a task spawned by another future of the same block_on wakes it.
    let ex = LocalExecutor::new();
    let spawned = Rc::new(Cell::new(false));
    let done = Rc::new(Cell::new(false));
    let (ex_ref, s, d) = (&ex, spawned.clone(), done.clone());
    let spawner = async move {
        yield_now().await;
        let d2 = d.clone();
        ex_ref.spawn(async move { d2.set(true) }).detach();
        s.set(true);
    };
    let d3 = done.clone();
    let runner = ex.run(std::future::poll_fn(move |_| {
        if d3.get() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }));
    block_on(async {
        let mut spawner = std::pin::pin!(spawner);
        let mut runner = std::pin::pin!(runner);
        let mut spawner_done = false;
        std::future::poll_fn(|cx| {
            if !spawner_done && spawner.as_mut().poll(cx).is_ready() {
                spawner_done = true;
            }
            runner.as_mut().poll(cx)
        })
        .await
    });
    assert!(spawned.get() && done.get());
}

#[test]
fn nested_run_inside_a_task() {
    let ex = Rc::new(LocalExecutor::new());
    let ex2 = ex.clone();
    let outer = ex.spawn(async move {
        let inner = ex2.spawn(async {
            yield_now().await;
            11
        });
        // A task driving the executor it runs on.
        ex2.run(inner).await
    });
    assert_eq!(block_on(ex.run(outer)), 11);
}

#[test]
fn a_task_of_one_executor_awaited_from_another() {
    let a = LocalExecutor::new();
    let b = LocalExecutor::new();
    let probe = Probe::new();
    let on_a = a.spawn(probe.future(8));
    let on_b = b.spawn(async move { on_a.await * 2 });
    assert!(a.try_tick());
    assert!(b.try_tick());
    assert!(!b.has_ready());
    assert!(probe.finish());
    assert!(a.try_tick());
    assert!(b.has_ready(), "completion on `a` woke the awaiter on `b`");
    assert!(b.try_tick());
    assert_eq!(block_on(on_b), 16);
}

#[test]
fn self_cancelling_task_is_dropped_after_its_poll() {
    // The task drops its own handle during its poll: the future is dropped by the runner
    // once the poll returns, not while it is running.
    let ex = LocalExecutor::new();
    let slot: Rc<RefCell<Option<Task<()>>>> = Rc::new(RefCell::new(None));
    let dropped = Rc::new(Cell::new(false));
    let (s, d) = (slot.clone(), dropped.clone());
    let task = ex.spawn(async move {
        let _guard = OnDrop(move || d.set(true));
        let me = s.borrow_mut().take();
        drop(me);
        pending::<()>().await
    });
    *slot.borrow_mut() = Some(task);
    assert!(ex.try_tick());
    assert!(dropped.get());
    assert!(ex.is_empty());
}

#[test]
fn debug_impls() {
    let ex = LocalExecutor::new();
    let task = ex.spawn(async {});
    assert!(format!("{ex:?}").contains("LocalExecutor"));
    assert!(format!("{task:?}").contains("finished: false"));
    assert!(ex.try_tick());
    assert!(format!("{task:?}").contains("finished: true"));
}

#[test]
fn many_tasks_each_woken_many_times() {
    let ex = LocalExecutor::new();
    let probes: Vec<Probe> = (0..50).map(|_| Probe::new()).collect();
    let tasks: Vec<Task<usize>> = probes
        .iter()
        .enumerate()
        .map(|(i, p)| ex.spawn(p.future(i)))
        .collect();
    for round in 0..20 {
        while ex.try_tick() {}
        for p in &probes {
            if round == 19 {
                p.release();
            }
            // Several wakes before the next tick coalesce into one poll.
            assert!(p.wake());
            assert!(p.wake());
        }
    }
    while ex.try_tick() {}
    for (i, t) in tasks.into_iter().enumerate() {
        assert!(t.is_finished());
        assert_eq!(block_on(t), i);
    }
    for p in &probes {
        assert_eq!(
            p.counts.polls(),
            21,
            "one poll per round of coalesced wakes, plus the first"
        );
        assert_eq!(p.counts.drops(), 1);
        p.forget_waker();
    }
}

#[test]
fn composes_with_solo_lite_block_on() {
    let ex = LocalExecutor::new();
    let tasks: Vec<Task<u64>> = (0..100u64)
        .map(|i| {
            ex.spawn(async move {
                solo_lite::future::yield_now().await;
                i
            })
        })
        .collect();
    let sum = solo_lite::future::block_on(ex.run(async {
        let mut sum = 0;
        for t in tasks {
            sum += t.await;
        }
        sum
    }));
    assert_eq!(sum, 4950);
    // Twice on the same thread, and nested inside another executor's task.
    let outer = LocalExecutor::new();
    let inner = Rc::new(LocalExecutor::new());
    let i2 = inner.clone();
    let t = outer.spawn(async move { i2.run(i2.spawn(async { 5 })).await });
    assert_eq!(solo_lite::future::block_on(outer.run(t)), 5);
}
