//! Executor micro benchmarks: `solo-executor` beside `async-executor`'s `LocalExecutor` and
//! tokio's `LocalSet` on a `current_thread` runtime.
//!
//! - `spawn-await`: spawn 100,000 empty tasks from inside the executor, then await them all;
//!   the time per task covers allocation, queueing, one poll, completion, join and free.
//! - `ping-pong`: two tasks hand a turn back and forth through a `Cell` and each other's stored
//!   waker (`wake_by_ref`); the time per operation is one wake plus one poll.
//!
//! solo and async-executor are driven by the same `futures_lite::future::block_on`; tokio by
//! `LocalSet::block_on` on its runtime. Run with `cargo bench -p solo-benches --bench executor`.

use std::cell::Cell;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};

use futures_lite::future::block_on;
use solo_benches::{compare, contender};

const TASKS: u64 = 100_000;
const ROUNDS: u64 = 100_000;

/// The shared state of the ping-pong: whose turn it is, and each player's waker.
#[derive(Default)]
struct Table {
    turn: Cell<usize>,
    wakers: [Cell<Option<Waker>>; 2],
}

impl Table {
    fn register(&self, me: usize, waker: &Waker) {
        let old = self.wakers[me].take();
        match old {
            Some(w) if w.will_wake(waker) => self.wakers[me].set(Some(w)),
            _ => self.wakers[me].set(Some(waker.clone())),
        }
    }

    fn wake(&self, who: usize) {
        let waker = self.wakers[who].take();
        if let Some(w) = &waker {
            w.wake_by_ref();
        }
        self.wakers[who].set(waker);
    }
}

/// One player: waits for its turn, passes it to the other, `rounds` times.
async fn player(table: Rc<Table>, me: usize, rounds: u64) {
    for _ in 0..rounds {
        poll_fn(|cx| {
            if table.turn.get() == me {
                Poll::Ready(())
            } else {
                table.register(me, cx.waker());
                Poll::Pending
            }
        })
        .await;
        table.turn.set(1 - me);
        table.wake(1 - me);
    }
}

fn main() {
    let solo = solo_executor::LocalExecutor::new();
    let peer = async_executor::LocalExecutor::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime");
    let local = tokio::task::LocalSet::new();

    compare(
        "executor/spawn-await",
        TASKS,
        &mut [
            contender("solo", || {
                block_on(solo.run(async {
                    let tasks: Vec<_> = (0..TASKS).map(|_| solo.spawn(async {})).collect();
                    for t in tasks {
                        t.await;
                    }
                }))
            }),
            contender("async-executor", || {
                block_on(peer.run(async {
                    let tasks: Vec<_> = (0..TASKS).map(|_| peer.spawn(async {})).collect();
                    for t in tasks {
                        t.await;
                    }
                }))
            }),
            contender("tokio-localset", || {
                local.block_on(&rt, async {
                    let tasks: Vec<_> = (0..TASKS)
                        .map(|_| tokio::task::spawn_local(async {}))
                        .collect();
                    for t in tasks {
                        t.await.expect("task");
                    }
                })
            }),
        ],
    );

    compare(
        "executor/ping-pong",
        2 * ROUNDS,
        &mut [
            contender("solo", || {
                let table = Rc::new(Table::default());
                block_on(solo.run(async {
                    let a = solo.spawn(player(table.clone(), 0, ROUNDS));
                    let b = solo.spawn(player(table.clone(), 1, ROUNDS));
                    a.await;
                    b.await;
                }))
            }),
            contender("async-executor", || {
                let table = Rc::new(Table::default());
                block_on(peer.run(async {
                    let a = peer.spawn(player(table.clone(), 0, ROUNDS));
                    let b = peer.spawn(player(table.clone(), 1, ROUNDS));
                    a.await;
                    b.await;
                }))
            }),
            contender("tokio-localset", || {
                let table = Rc::new(Table::default());
                local.block_on(&rt, async {
                    let a = tokio::task::spawn_local(player(table.clone(), 0, ROUNDS));
                    let b = tokio::task::spawn_local(player(table.clone(), 1, ROUNDS));
                    a.await.expect("task");
                    b.await.expect("task");
                })
            }),
        ],
    );
}
