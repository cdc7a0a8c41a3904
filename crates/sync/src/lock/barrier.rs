//! [`Barrier`]: `n` tasks wait for each other, generation after generation.
#![forbid(unsafe_code)]

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::NotSend;
use crate::waiters::{Key, Waiters, cancel, poll_handed, wake_all};

/// A meeting point for `n` tasks: each [`wait`](Self::wait) waits until `n` tasks are
/// waiting, then all of them go on; one of them is told it is the leader. The barrier then
/// starts over for the next `n`.
///
/// A task counts as arrived when its `wait` future is first polled. Cancellation-safe: a
/// waiting task whose future is dropped is no longer counted.
///
/// ```
/// use std::rc::Rc;
///
/// use solo_executor::LocalExecutor;
/// use solo_sync::lock::Barrier;
///
/// let ex = LocalExecutor::new();
/// let barrier = Rc::new(Barrier::new(3));
/// let tasks: Vec<_> = (0..3)
///     .map(|_| {
///         let barrier = barrier.clone();
///         ex.spawn(async move { barrier.wait().await.is_leader() })
///     })
///     .collect();
/// let leaders = solo_lite::future::block_on(ex.run(async {
///     let mut leaders = 0;
///     for task in tasks {
///         leaders += task.await as usize;
///     }
///     leaders
/// }));
/// assert_eq!(leaders, 1);
/// ```
pub struct Barrier {
    n: usize,
    /// Tasks arrived in this generation.
    arrived: Cell<usize>,
    /// How many times the barrier has tripped.
    generation: Cell<u64>,
    waiters: RefCell<Waiters<()>>,
    _not_send: NotSend,
}

impl Barrier {
    /// Creates a barrier for `n` tasks (0 is taken as 1: every `wait` completes at once, as
    /// the leader).
    pub const fn new(n: usize) -> Barrier {
        Barrier {
            n: if n == 0 { 1 } else { n },
            arrived: Cell::new(0),
            generation: Cell::new(0),
            waiters: RefCell::new(Waiters::new()),
            _not_send: NotSend {},
        }
    }

    /// Waits until `n` tasks are waiting (this one included).
    pub fn wait(&self) -> WaitFuture<'_> {
        WaitFuture {
            barrier: self,
            key: None,
            generation: 0,
            done: false,
        }
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("n", &self.n)
            .field("arrived", &self.arrived.get())
            .finish()
    }
}

/// The future of [`Barrier::wait`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct WaitFuture<'a> {
    barrier: &'a Barrier,
    key: Option<Key>,
    /// The generation it arrived in (set with `key`).
    generation: u64,
    done: bool,
}

impl Future for WaitFuture<'_> {
    type Output = BarrierWaitResult;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<BarrierWaitResult> {
        let this = self.get_mut();
        let barrier = this.barrier;
        if this.done {
            return Poll::Ready(BarrierWaitResult { leader: false });
        }
        if this.key.is_some() {
            let poll = poll_handed(&barrier.waiters, &mut this.key, cx.waker());
            this.done = poll.is_ready();
            return poll.map(|()| BarrierWaitResult { leader: false });
        }
        let arrived = barrier.arrived.get() + 1;
        if arrived < barrier.n {
            barrier.arrived.set(arrived);
            this.generation = barrier.generation.get();
            this.key = Some(barrier.waiters.borrow_mut().push((), cx.waker()));
            return Poll::Pending;
        }
        // The last arrival: release this generation (every task queued now) and lead.
        barrier.arrived.set(0);
        barrier.generation.set(barrier.generation.get() + 1);
        this.done = true;
        wake_all(&barrier.waiters);
        Poll::Ready(BarrierWaitResult { leader: true })
    }
}

impl Drop for WaitFuture<'_> {
    fn drop(&mut self) {
        let barrier = self.barrier;
        // Left before the barrier tripped: no longer counted. (A waiter of a generation
        // that has tripped may still be queued, while the trip wakes the waiters one by one;
        // it is released, not counted.)
        if cancel(&barrier.waiters, &mut self.key).is_some()
            && self.generation == barrier.generation.get()
        {
            barrier.arrived.set(barrier.arrived.get() - 1);
        }
    }
}

impl fmt::Debug for WaitFuture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitFuture")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

/// What [`Barrier::wait`] returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BarrierWaitResult {
    leader: bool,
}

impl BarrierWaitResult {
    /// Whether this task was the leader of its generation: exactly one per generation (the
    /// last to arrive).
    pub fn is_leader(&self) -> bool {
        self.leader
    }
}
