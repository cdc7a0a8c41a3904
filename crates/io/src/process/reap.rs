//! Orphans: children whose [`Child`](super::Child) was dropped before their exit was
//! seen (Unix; Windows has no zombies).
//!
//! The thread keeps each in a table and polls its watch with a waker of its own: the
//! reactor wakes that waker when the child's pidfd, kqueue filter or `SIGCHLD` listener
//! fires, and the wake polls the orphan again, right there on the reactor's thread, until
//! `waitpid` reaps it. No task and no thread: the loop does it as part of dispatching
//! events, whatever else runs.
//!
//! An orphan still running when its thread ends (its reactor gone with it) becomes a
//! *stray*: a process-wide list, swept with `waitpid(WNOHANG)` at every spawn.

use std::cell::RefCell;
use std::process::Child;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, ThreadId};

use slab::Slab;

use super::sys::Watch;
use crate::reactor;

/// An orphan: the process and its watch (`None` once handed on).
struct Orphan {
    child: Option<Child>,
    watch: Watch,
}

impl Drop for Orphan {
    fn drop(&mut self) {
        // Only an orphan still running when its thread ends gets here with a child.
        if let Some(mut child) = self.child.take() {
            if matches!(child.try_wait(), Ok(None)) {
                lock_strays().push(child);
            }
        }
    }
}

thread_local! {
    /// This thread's orphans; a slot is `None` while its orphan is being polled.
    static ORPHANS: RefCell<Slab<Option<Orphan>>> = const { RefCell::new(Slab::new()) };
}

/// Orphans whose thread ended before they exited.
static STRAYS: Mutex<Vec<Child>> = Mutex::new(Vec::new());

fn lock_strays() -> std::sync::MutexGuard<'static, Vec<Child>> {
    STRAYS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Reaps the strays that have exited (called at every spawn).
pub(super) fn sweep_strays() {
    let mut strays = lock_strays();
    if !strays.is_empty() {
        strays.retain_mut(|c| matches!(c.try_wait(), Ok(None)));
    }
}

/// Takes `child` over: reaped by this thread's reactor once it exits.
pub(super) fn adopt(child: Child, watch: Watch) {
    let orphan = Orphan {
        child: Some(child),
        watch,
    };
    let index = ORPHANS.with(|o| o.borrow_mut().insert(Some(orphan)));
    poll_orphan(index);
}

/// Polls orphan `index` once: reaped, it leaves the table; otherwise its watch now holds
/// a waker that polls it again.
fn poll_orphan(index: usize) {
    // Out of the table while polled: a wake during the poll (a deregistration wakes its
    // waiters) finds the slot empty and does nothing.
    // (`try_with`: the table may be going away with its thread, its orphans' watches
    // waking their wakers as they are dropped.)
    let taken = ORPHANS.try_with(|o| o.borrow_mut().get_mut(index).and_then(Option::take));
    let Ok(Some(mut orphan)) = taken else {
        return;
    };
    let waker = Waker::from(Arc::new(OrphanWaker {
        index,
        thread: thread::current().id(),
    }));
    let mut cx = Context::from_waker(&waker);
    // Background work of the reactor itself: it runs whenever the loop next does, so it
    // may wait even where no loop runs right now.
    let _loop = reactor::enter();
    let child = orphan.child.as_mut().expect("present until reaped");
    match orphan.watch.poll_wait(child, &mut cx) {
        Poll::Pending => ORPHANS.with(|o| {
            if let Some(slot) = o.borrow_mut().get_mut(index) {
                *slot = Some(orphan);
            }
        }),
        Poll::Ready(_) => {
            // Reaped (or it cannot be: another reaper took it). Dropped outside the
            // borrow: dropping the watch may wake this very waker.
            ORPHANS.with(|o| o.borrow_mut().try_remove(index));
            orphan.child = None;
            drop(orphan);
        }
    }
}

/// The waker of orphan `index` of thread `thread`.
struct OrphanWaker {
    index: usize,
    thread: ThreadId,
}

impl Wake for OrphanWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Only the thread's reactor holds this waker, and it wakes it on its own thread;
        // a wake from anywhere else would find another thread's table, so it is ignored.
        if thread::current().id() == self.thread {
            poll_orphan(self.index);
        }
    }
}
