//! Fairness: budgets, self-waking tasks, and yielding to the caller of `run`.

mod common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Wake, Waker};

use common::{block_on, pending, yield_now};
use solo_executor::{BUDGET, LocalExecutor};

#[test]
fn a_self_waking_task_does_not_starve_a_second_task() {
    let ex = LocalExecutor::new();
    let log = Rc::new(RefCell::new(Vec::new()));
    let stop = Rc::new(Cell::new(false));
    let (l, s) = (log.clone(), stop.clone());
    ex.spawn(async move {
        while !s.get() {
            l.borrow_mut().push('a');
            yield_now().await; // wakes itself every poll
        }
    })
    .detach();
    let l = log.clone();
    let second = ex.spawn(async move {
        for _ in 0..3 {
            l.borrow_mut().push('b');
            yield_now().await;
        }
    });
    block_on(ex.run(second));
    stop.set(true);
    while ex.try_tick() {}
    // Each self-wake goes to the back of the queue: the two tasks alternate.
    let log: String = log.borrow().iter().collect();
    assert!(log.starts_with("ababab"), "{log}");
}

struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn run_yields_to_its_caller_after_one_budget() {
    let ex = LocalExecutor::new();
    let polls = Rc::new(Cell::new(0usize));
    let p = polls.clone();
    ex.spawn(async move {
        loop {
            p.set(p.get() + 1);
            yield_now().await;
        }
    })
    .detach();
    let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
    let waker = Waker::from(counter.clone());
    let mut cx = Context::from_waker(&waker);
    let mut run = Box::pin(ex.run(pending::<()>()));
    for round in 1..=5 {
        assert!(run.as_mut().poll(&mut cx).is_pending());
        assert_eq!(polls.get(), round * BUDGET, "one budget per poll of `run`");
        assert_eq!(
            counter.0.load(Ordering::SeqCst),
            round,
            "`run` woke itself to continue"
        );
        assert!(ex.has_ready());
    }
}

#[test]
fn run_keeps_its_budget_when_its_future_keeps_spawning() {
    // The main future spawns a task every time it is polled; the tasks wake it. `run` must
    // still return to its caller after a bounded amount of work.
    let ex = LocalExecutor::new();
    let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
    let waker = Waker::from(counter.clone());
    let mut cx = Context::from_waker(&waker);
    let spawned = Cell::new(0usize);
    let ex_ref = &ex;
    let main = std::future::poll_fn(|cx| {
        spawned.set(spawned.get() + 1);
        let w = cx.waker().clone();
        ex_ref.spawn(async move { w.wake() }).detach();
        std::task::Poll::<()>::Pending
    });
    let mut run = Box::pin(ex.run(main));
    assert!(run.as_mut().poll(&mut cx).is_pending());
    assert!(spawned.get() <= BUDGET + 1, "spawned {}", spawned.get());
    drop(run);
}

#[test]
fn tick_runs_one_budget() {
    let ex = LocalExecutor::new();
    let polled = Rc::new(Cell::new(0usize));
    for _ in 0..3 * BUDGET {
        let p = polled.clone();
        ex.spawn(async move { p.set(p.get() + 1) }).detach();
    }
    block_on(ex.tick());
    assert_eq!(polled.get(), BUDGET);
    block_on(ex.tick());
    assert_eq!(polled.get(), 2 * BUDGET);
}

#[test]
fn many_self_waking_tasks_share_the_thread_round_robin() {
    let ex = LocalExecutor::new();
    let counts: Vec<Rc<Cell<usize>>> = (0..10).map(|_| Rc::new(Cell::new(0))).collect();
    for c in &counts {
        let c = c.clone();
        ex.spawn(async move {
            loop {
                c.set(c.get() + 1);
                yield_now().await;
            }
        })
        .detach();
    }
    for _ in 0..100 {
        ex.try_tick();
    }
    let polls: Vec<usize> = counts.iter().map(|c| c.get()).collect();
    let (min, max) = (polls.iter().min().unwrap(), polls.iter().max().unwrap());
    assert!(max - min <= 1, "round robin: {polls:?}");
    assert_eq!(polls.iter().sum::<usize>(), 100 * BUDGET);
}
