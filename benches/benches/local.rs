//! solo-sync's local (`!Send`) channel and mutex beside `async-channel` and `async-lock`
//! used on one thread. Every contender runs on the same `solo_executor::LocalExecutor`
//! (driven by `futures_lite::future::block_on`), so only the channel or the lock differs.
//!
//! - `local/mpsc-bounded-16`, `local/mpsc-bounded-4096`: a producer task sends 200,000
//!   `u64`s into a bounded channel and a consumer task receives them; the time is per
//!   message. With the small capacity the producer waits for room every 16 messages (a wake
//!   and a poll each way); with the large one it rarely does.
//! - `local/mpsc-unbounded`: the same through an unbounded channel (the producer never
//!   waits).
//! - `local/mutex-uncontended`: one task locks, increments and unlocks 200,000 times.
//! - `local/mutex-8-tasks`: 8 tasks take turns, each holding the lock across a `yield_now` so
//!   the others queue for it; the time is per lock, hand-over and yield included.
//!
//! Run with `cargo bench -p solo-benches --bench local`.

use std::future::Future;
use std::hint::black_box;
use std::rc::Rc;

use futures_lite::future::block_on;
use solo_benches::{compare, contender};
use solo_executor::LocalExecutor;
use solo_lite::future::yield_now;
use solo_sync::channel::mpsc;
use solo_sync::lock::Mutex;

/// Messages per round of a channel group.
const MSGS: u64 = 200_000;
/// Locks per round of a mutex group.
const LOCKS: u64 = 200_000;
/// Tasks taking turns at the mutex.
const TASKS: u64 = 8;

/// Runs `fut` on `ex` until it completes.
fn drive<T>(ex: &LocalExecutor<'_>, fut: impl Future<Output = T>) -> T {
    block_on(ex.run(fut))
}

/// Spawns a producer task, which runs `$send` for each `$i` in `0..MSGS` and then drops the
/// sender, and a consumer task, which sums what `$recv` gives until the channel closes; runs
/// both on `$ex`.
macro_rules! pipe {
    ($ex:expr, |$i:ident| $send:expr, $recv:expr) => {{
        let producer = $ex.spawn(async move {
            for $i in 0..MSGS {
                $send.expect("receiver alive");
            }
        });
        let consumer = $ex.spawn(async move {
            let mut sum = 0u64;
            while let Ok(i) = $recv {
                sum += i;
            }
            sum
        });
        drive($ex, async {
            producer.await;
            assert_eq!(black_box(consumer.await), MSGS * (MSGS - 1) / 2);
        });
    }};
}

/// Spawns `TASKS` tasks on `$ex` that lock `$mutex` `LOCKS / TASKS` times each, holding it
/// across a yield; runs them to completion.
macro_rules! contend {
    ($ex:expr, $mutex:expr) => {{
        let mutex = Rc::new($mutex);
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let mutex = mutex.clone();
                $ex.spawn(async move {
                    for _ in 0..LOCKS / TASKS {
                        let mut guard = mutex.lock().await;
                        yield_now().await;
                        *guard += 1;
                    }
                })
            })
            .collect();
        drive($ex, async {
            for task in tasks {
                task.await;
            }
        });
        assert_eq!(*mutex.try_lock().expect("unlocked"), LOCKS);
    }};
}

fn main() {
    let ex = LocalExecutor::new();

    for cap in [16, 4096] {
        compare(
            &format!("local/mpsc-bounded-{cap}"),
            MSGS,
            &mut [
                contender("solo-sync", || {
                    let (tx, mut rx) = mpsc::bounded(cap);
                    pipe!(&ex, |i| tx.send(i).await, rx.recv().await);
                }),
                contender("async-channel", || {
                    let (tx, rx) = async_channel::bounded(cap);
                    pipe!(&ex, |i| tx.send(i).await, rx.recv().await);
                }),
            ],
        );
    }

    compare(
        "local/mpsc-unbounded",
        MSGS,
        &mut [
            contender("solo-sync", || {
                let (tx, mut rx) = mpsc::unbounded();
                pipe!(&ex, |i| tx.send(i), rx.recv().await);
            }),
            contender("async-channel", || {
                // `try_send` never waits on an unbounded channel: the cheapest way in.
                let (tx, rx) = async_channel::unbounded();
                pipe!(&ex, |i| tx.try_send(i), rx.recv().await);
            }),
        ],
    );

    compare(
        "local/mutex-uncontended",
        LOCKS,
        &mut [
            contender("solo-sync", || {
                let m = Mutex::new(0u64);
                drive(&ex, async {
                    for _ in 0..LOCKS {
                        *m.lock().await += 1;
                    }
                });
                assert_eq!(black_box(m.into_inner()), LOCKS);
            }),
            contender("async-lock", || {
                let m = async_lock::Mutex::new(0u64);
                drive(&ex, async {
                    for _ in 0..LOCKS {
                        *m.lock().await += 1;
                    }
                });
                assert_eq!(black_box(m.into_inner()), LOCKS);
            }),
        ],
    );

    compare(
        &format!("local/mutex-{TASKS}-tasks"),
        LOCKS,
        &mut [
            contender("solo-sync", || contend!(&ex, Mutex::new(0u64))),
            contender("async-lock", || contend!(&ex, async_lock::Mutex::new(0u64))),
        ],
    );
}
