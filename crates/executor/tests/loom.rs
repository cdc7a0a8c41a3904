//! Model checks of the executor's cross-thread paths: every interleaving (up to a
//! preemption bound) of a remote wake, a waker dropped on another thread and the owning
//! thread releasing a task's last claim, and every value weak memory lets a load see. Loom
//! reports a leaked or doubly freed task, and (through the task's probe, see `src/loom.rs`)
//! a use of a task through a waker that does not happen before its free.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p solo-executor --test loom --release`.
//! `LOOM_MAX_PREEMPTIONS` overrides the default bound of 3.

#![cfg(loom)]

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use loom::sync::{Arc, Mutex};
use loom::thread;
use solo_executor::LocalExecutor;

/// Explores `f` with a preemption bound of 3 unless `LOOM_MAX_PREEMPTIONS` says otherwise.
fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    if b.preemption_bound.is_none() {
        b.preemption_bound = Some(3);
    }
    b.check(f);
}

type Slot = Arc<Mutex<Option<Waker>>>;

/// A task's future that, on its first poll, leaves a clone of its waker in `slot` (for
/// another thread) and is pending, or, with `ready_at_once`, completes at once.
struct HandOff {
    slot: Slot,
    ready_at_once: bool,
    polled: bool,
}

impl Future for HandOff {
    type Output = u32;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        if self.polled {
            return Poll::Ready(2);
        }
        self.polled = true;
        *self.slot.lock().unwrap() = Some(cx.waker().clone());
        if self.ready_at_once {
            Poll::Ready(1)
        } else {
            Poll::Pending
        }
    }
}

fn hand_off(slot: &Slot, ready_at_once: bool) -> HandOff {
    HandOff {
        slot: slot.clone(),
        ready_at_once,
        polled: false,
    }
}

/// Takes the waker another thread left in `slot`.
fn take(slot: &Slot) -> Waker {
    slot.lock()
        .unwrap()
        .take()
        .expect("the task left its waker")
}

#[test]
fn a_remote_wake_reaches_the_owner_and_the_task_is_freed_once() {
    // The remote path: `fetch_or(REMOTE)`, the inbox, the notify hook, the drain, and the
    // task freed by whichever of the waker's drop and the owner's release comes last.
    model(|| {
        let slot = Slot::default();
        let ex = LocalExecutor::with_notify(|| {});
        let task = ex.spawn(hand_off(&slot, false));
        assert!(ex.try_tick());
        assert!(!task.is_finished());
        let waker = take(&slot);
        let other = thread::spawn(move || waker.wake());
        while !task.is_finished() {
            ex.try_tick();
            thread::yield_now();
        }
        drop(task);
        other.join().unwrap();
        drop(ex);
    });
}

#[test]
fn a_waker_dropped_elsewhere_races_the_last_local_release() {
    // The subtlest line: `release_local` frees after a plain `Acquire` load when it sees
    // only its own reference, while another thread drops the last waker.
    model(|| {
        let slot = Slot::default();
        let ex = LocalExecutor::new();
        let task = ex.spawn(hand_off(&slot, true));
        assert!(ex.try_tick());
        let waker = take(&slot);
        let other = thread::spawn(move || drop(waker));
        // Dropping the finished handle drops the output: the last claim goes, and the local
        // reference with it.
        drop(task);
        other.join().unwrap();
        drop(ex);
    });
}

#[test]
fn a_remote_wake_after_completion_races_the_release() {
    // A wake that arrives after the task finished still queues it (`REMOTE` keeps the
    // allocation alive) while the owner drops the handle; the drain or the executor's drop
    // clears the flag, and exactly one side frees.
    model(|| {
        let slot = Slot::default();
        let ex = LocalExecutor::with_notify(|| {});
        let task = ex.spawn(hand_off(&slot, true));
        assert!(ex.try_tick());
        let waker = take(&slot);
        let other = thread::spawn(move || waker.wake());
        drop(task);
        ex.try_tick();
        other.join().unwrap();
        ex.try_tick();
        drop(ex);
    });
}
