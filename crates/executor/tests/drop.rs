//! Dropping: the executor with pending tasks, wakers that outlive it, spawns and wakes from
//! destructors.

mod common;

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Poll, Waker};

use common::{OnDrop, Probe, block_on, pending, poll_once, yield_now};
use solo_executor::{LocalExecutor, Task};

#[test]
fn dropping_the_executor_drops_pending_futures_exactly_once_on_its_thread() {
    let ex = LocalExecutor::new();
    let me = std::thread::current().id();
    let wrong_thread = Rc::new(Cell::new(0));
    let probes: Vec<Probe> = (0..30).map(|_| Probe::new()).collect();
    let mut handles = Vec::new();
    for (i, p) in probes.iter().enumerate() {
        let fut = p.future(i);
        let w = wrong_thread.clone();
        let task = ex.spawn(async move {
            let _check = OnDrop(move || {
                if std::thread::current().id() != me {
                    w.set(w.get() + 1)
                }
            });
            fut.await
        });
        // Keep some handles, detach others.
        if i % 2 == 0 {
            handles.push(task);
        } else {
            task.detach();
        }
    }
    // Poll some of them once; wake a few so they sit in the run queue at drop time.
    for _ in 0..10 {
        ex.try_tick();
    }
    while ex.try_tick() {}
    for p in probes.iter().step_by(3) {
        assert!(p.wake());
    }
    assert!(ex.has_ready());
    drop(ex);
    for p in &probes {
        assert_eq!(p.counts.drops(), 1);
        assert_eq!(p.counts.polls(), 1);
    }
    assert_eq!(wrong_thread.get(), 0);
    for h in handles {
        assert!(h.is_finished(), "cancelled by the executor's drop");
        assert_eq!(block_on(h.cancel()), None);
    }
    // The probes' wakers outlive the executor: waking them is harmless.
    for p in &probes {
        assert!(p.wake());
        p.forget_waker();
    }
}

#[test]
fn dropping_the_executor_drops_never_polled_futures_too() {
    let ex = LocalExecutor::new();
    let probe = Probe::new();
    let task = ex.spawn(probe.future(()));
    drop(ex);
    assert_eq!(probe.counts.drops(), 1);
    assert_eq!(probe.counts.polls(), 0);
    drop(task);
    assert_eq!(probe.counts.drops(), 1);
}

#[test]
#[should_panic(expected = "executor was dropped")]
fn awaiting_a_task_of_a_dropped_executor_panics_with_a_clear_message() {
    let ex = LocalExecutor::new();
    let mut task = ex.spawn(pending::<()>());
    drop(ex);
    let _ = poll_once(&mut task);
}

#[test]
fn dropping_the_executor_wakes_the_awaiters() {
    let ex = LocalExecutor::new();
    let other = LocalExecutor::new();
    let task = ex.spawn(pending::<u8>());
    let observer = other.spawn(async move {
        let mut task = task;
        // Register as the task's awaiter, and come back once it is finished.
        std::future::poll_fn(|cx| {
            if task.is_finished() {
                Poll::Ready(())
            } else {
                assert!(Pin::new(&mut task).poll(cx).is_pending());
                Poll::Pending
            }
        })
        .await;
        task.cancel().await
    });
    assert!(other.try_tick());
    assert!(ex.try_tick());
    assert!(!other.has_ready());
    drop(ex);
    assert!(other.has_ready(), "the executor's drop woke the awaiter");
    assert!(other.try_tick());
    assert_eq!(block_on(observer), None);
}

#[test]
fn a_completed_tasks_output_survives_the_executor() {
    let ex = LocalExecutor::new();
    let task = ex.spawn(async { vec![1, 2, 3] });
    assert!(ex.try_tick());
    drop(ex);
    assert!(task.is_finished());
    assert_eq!(block_on(task), vec![1, 2, 3]);
}

#[test]
fn a_waker_outliving_the_executor_is_harmless() {
    let ex = LocalExecutor::new();
    let probe = Probe::new();
    let task = ex.spawn(probe.future(()));
    assert!(ex.try_tick());
    let waker = probe.waker().unwrap();
    probe.forget_waker();
    drop(ex);
    drop(task);
    waker.wake_by_ref();
    let clone = waker.clone();
    assert!(clone.will_wake(&waker));
    clone.wake();
    let clone = waker.clone();
    drop(waker);
    drop(clone);
}

#[test]
fn a_waker_outliving_a_finished_task_is_harmless() {
    let ex = LocalExecutor::new();
    let stash: Rc<RefCell<Option<Waker>>> = Rc::default();
    let s = stash.clone();
    let task = ex.spawn(async move {
        std::future::poll_fn(|cx| {
            *s.borrow_mut() = Some(cx.waker().clone());
            Poll::Ready(())
        })
        .await;
        1
    });
    assert_eq!(block_on(ex.run(task)), 1);
    let waker = stash.borrow_mut().take().unwrap();
    waker.wake_by_ref();
    assert!(!ex.has_ready());
    waker.wake();
    assert!(!ex.try_tick());
}

#[test]
fn spawning_from_a_futures_drop() {
    let ex = Rc::new(LocalExecutor::<'static>::new());
    let ran = Rc::new(Cell::new(false));
    let (ex2, r) = (ex.clone(), ran.clone());
    let task = ex.spawn(async move {
        let _spawner = OnDrop(move || {
            let r = r.clone();
            ex2.spawn(async move { r.set(true) }).detach();
        });
        pending::<()>().await
    });
    assert!(ex.try_tick());
    drop(task); // the destructor spawns
    assert!(!ran.get());
    assert!(ex.try_tick());
    assert!(ran.get());
    assert!(ex.is_empty());
}

#[test]
fn spawning_from_the_drop_of_a_completed_future() {
    let ex = Rc::new(LocalExecutor::<'static>::new());
    let ran = Rc::new(Cell::new(0));
    let (ex2, r) = (ex.clone(), ran.clone());
    let task = ex.spawn(async move {
        let _spawner = OnDrop(move || {
            let r = r.clone();
            ex2.spawn(async move { r.set(r.get() + 1) }).detach();
        });
        yield_now().await;
    });
    block_on(ex.run(task));
    while ex.try_tick() {}
    assert_eq!(ran.get(), 1);
}

#[test]
fn waking_during_the_executors_drop() {
    let ex = LocalExecutor::new();
    let victim = Probe::new();
    let victim_task = ex.spawn(victim.future(()));
    let third = Probe::new();
    let third_task: Task<()> = ex.spawn(third.future(()));
    let slot: Rc<RefCell<Option<Task<()>>>> = Rc::new(RefCell::new(Some(third_task)));
    assert!(ex.try_tick());
    let v = victim.clone();
    let s = slot.clone();
    let waker_of_self: Rc<RefCell<Option<Waker>>> = Rc::default();
    let ws = waker_of_self.clone();
    let waker_spawned = ex.spawn(async move {
        let _waker = OnDrop(move || {
            // Wake another (pending) task, wake ourselves, cancel a third: all while the
            // executor is being dropped.
            assert!(v.wake());
            if let Some(w) = ws.borrow_mut().take() {
                w.wake();
            }
            drop(s.borrow_mut().take());
        });
        std::future::poll_fn(|cx| {
            *waker_of_self.borrow_mut() = Some(cx.waker().clone());
            Poll::<()>::Pending
        })
        .await
    });
    assert!(ex.try_tick());
    drop(ex);
    assert_eq!(victim.counts.drops(), 1);
    assert_eq!(third.counts.drops(), 1);
    assert!(slot.borrow().is_none());
    drop(victim_task);
    drop(waker_spawned);
    victim.forget_waker();
    third.forget_waker();
}

#[test]
fn dropping_a_task_handle_from_another_tasks_destructor_during_executor_drop() {
    let ex = LocalExecutor::new();
    let order = Rc::new(RefCell::new(Vec::new()));
    let o = order.clone();
    let inner = ex.spawn(async move {
        let _g = OnDrop(move || o.borrow_mut().push("inner"));
        pending::<()>().await
    });
    let o = order.clone();
    let outer = ex.spawn(async move {
        let _g = OnDrop(move || o.borrow_mut().push("outer"));
        let _inner = inner; // dropping it cancels `inner`, mid-shutdown
        pending::<()>().await
    });
    while ex.try_tick() {}
    outer.detach();
    drop(ex);
    let order = order.borrow();
    assert_eq!(
        order.len(),
        2,
        "each future dropped exactly once: {order:?}"
    );
}

#[test]
fn a_panicking_destructor_during_executor_drop_still_drops_the_rest() {
    let ex = LocalExecutor::new();
    let probes: Vec<Probe> = (0..4).map(|_| Probe::new()).collect();
    for p in &probes[..2] {
        ex.spawn(p.future(())).detach();
    }
    ex.spawn(async {
        let _bomb = OnDrop(|| panic!("shutdown bomb"));
        pending::<()>().await
    })
    .detach();
    for p in &probes[2..] {
        ex.spawn(p.future(())).detach();
    }
    while ex.try_tick() {}
    let caught = catch_unwind(AssertUnwindSafe(move || drop(ex)));
    assert!(
        caught.is_err(),
        "the destructor's panic is resumed after the teardown"
    );
    for p in &probes {
        assert_eq!(p.counts.drops(), 1);
        p.forget_waker();
    }
}

#[test]
fn executor_with_borrowed_data() {
    // Futures may borrow data that outlives the executor.
    let data = vec![1, 2, 3];
    let total = Cell::new(0);
    {
        let ex = LocalExecutor::new();
        for x in &data {
            let total = &total;
            ex.spawn(async move { total.set(total.get() + x) }).detach();
        }
        let pending_borrower = ex.spawn(async {
            let _d = &data;
            pending::<()>().await
        });
        while ex.try_tick() {}
        pending_borrower.detach();
    }
    assert_eq!(total.get(), 6);
}
