//! Seeded random operations on every lock at once, made from the test and from inside the
//! wakers the locks wake (as an executor that polls a woken task at once would): whatever
//! the interleaving, nothing panics, and once every future and guard is dropped each lock is
//! back where it started (no permit, lock or arrival lost or counted twice).

mod common;

use std::any::Any;
use std::cell::RefCell;
use std::rc::Rc;
use std::task::{Poll, Waker};

use common::{Rng, hook_waker, leak, poll};
use solo_sync::lock::{
    AcquireFuture, Barrier, LockFuture, Mutex, Notified, Notify, ReadFuture, RwLock, Semaphore,
    WaitFuture, WriteFuture,
};

const PERMITS: usize = 3;

/// The locks under test, leaked so that futures kept in wakers may borrow them.
struct Locks {
    sem: Semaphore,
    rw: RwLock<()>,
    mutex: Mutex<()>,
    notify: Notify,
    barrier: Barrier,
}

/// A future that is waiting for one of the locks.
enum Waiting {
    Acquire(AcquireFuture<'static>),
    Read(ReadFuture<'static, ()>),
    Write(WriteFuture<'static, ()>),
    Lock(LockFuture<'static, ()>),
    Notified(Notified<'static>),
    Barrier(WaitFuture<'static>),
}

/// What a completed future holds (a permit, a guard or nothing), kept to be dropped later.
type Held = Box<dyn Any>;

impl Waiting {
    /// A future for one of the locks, chosen by `pick`.
    fn new(locks: &'static Locks, pick: usize) -> Waiting {
        match pick % 6 {
            0 => Waiting::Acquire(locks.sem.acquire_many(1 + pick / 6 % 2)),
            1 => Waiting::Read(locks.rw.read()),
            2 => Waiting::Write(locks.rw.write()),
            3 => Waiting::Lock(locks.mutex.lock()),
            4 => Waiting::Notified(locks.notify.notified()),
            _ => Waiting::Barrier(locks.barrier.wait()),
        }
    }

    fn poll(&mut self, waker: &Waker) -> Option<Held> {
        fn ready<T: 'static>(p: Poll<T>) -> Option<Held> {
            match p {
                Poll::Ready(t) => Some(Box::new(t)),
                Poll::Pending => None,
            }
        }
        match self {
            Waiting::Acquire(f) => ready(poll(f, waker)),
            Waiting::Read(f) => ready(poll(f, waker)),
            Waiting::Write(f) => ready(poll(f, waker)),
            Waiting::Lock(f) => ready(poll(f, waker)),
            Waiting::Notified(f) => ready(poll(f, waker)),
            Waiting::Barrier(f) => ready(poll(f, waker)),
        }
    }
}

struct World {
    locks: &'static Locks,
    rng: Rng,
    waiting: Vec<Waiting>,
    held: Vec<Held>,
    /// The test's no-op waker and wakers that run `step` (a few levels deep at most).
    wakers: Vec<Waker>,
    depth: usize,
}

/// Takes a random element out of `v`.
fn take<T>(v: &mut Vec<T>, pick: usize) -> Option<T> {
    (!v.is_empty()).then(|| v.swap_remove(pick % v.len()))
}

/// One random operation. Values leave `world` before they are polled or dropped, so the
/// wakers that run meanwhile can borrow it again.
fn step(world: &RefCell<World>) {
    let (op, pick, waker, locks) = {
        let Ok(mut w) = world.try_borrow_mut() else {
            return;
        };
        if w.depth > 3 {
            return;
        }
        w.depth += 1;
        let (op, pick) = (w.rng.below(14), w.rng.below(1 << 16));
        let waker = w.wakers[pick % w.wakers.len()].clone();
        (op, pick, waker, w.locks)
    };
    match op {
        0..=2 => world.borrow_mut().waiting.push(Waiting::new(locks, pick)),
        3..=7 => {
            let waiting = take(&mut world.borrow_mut().waiting, pick);
            if let Some(mut f) = waiting {
                match f.poll(&waker) {
                    Some(held) => {
                        drop(f);
                        world.borrow_mut().held.push(held);
                    }
                    None => world.borrow_mut().waiting.push(f),
                }
            }
        }
        8 => drop(take(&mut world.borrow_mut().waiting, pick)),
        9 | 10 => drop(take(&mut world.borrow_mut().held, pick)),
        11 => locks.notify.notify_one(),
        12 => locks.notify.notify_all(),
        _ => {
            drop(locks.mutex.try_lock());
            drop(locks.rw.try_read());
            drop(locks.sem.try_acquire());
        }
    }
    world.borrow_mut().depth -= 1;
}

#[test]
fn random_operations_from_the_test_and_from_wakers() {
    for seed in 0..2000 {
        let locks: &'static Locks = leak(Locks {
            sem: Semaphore::new(PERMITS),
            rw: RwLock::new(()),
            mutex: Mutex::new(()),
            notify: Notify::new(),
            barrier: Barrier::new(3),
        });
        let world = Rc::new(RefCell::new(World {
            locks,
            rng: Rng::new(seed),
            waiting: Vec::new(),
            held: Vec::new(),
            wakers: vec![Waker::noop().clone()],
            depth: 0,
        }));
        for _ in 0..3 {
            let w = Rc::downgrade(&world);
            let (waker, _) = hook_waker(move || {
                if let Some(w) = w.upgrade() {
                    step(&w);
                }
            });
            world.borrow_mut().wakers.push(waker);
        }
        for _ in 0..300 {
            step(&world);
        }
        // Wakers stop stepping; then everything is dropped.
        world.borrow_mut().depth = usize::MAX / 2;
        let (waiting, held) = {
            let mut w = world.borrow_mut();
            (std::mem::take(&mut w.waiting), std::mem::take(&mut w.held))
        };
        drop((held, waiting));

        assert_eq!(locks.sem.available_permits(), PERMITS, "seed {seed}");
        assert!(locks.mutex.try_lock().is_some(), "seed {seed}");
        assert!(locks.rw.try_write().is_some(), "seed {seed}");
        let noop = Waker::noop();
        let (mut a, mut b) = (locks.barrier.wait(), locks.barrier.wait());
        assert!(poll(&mut a, noop).is_pending(), "seed {seed}");
        assert!(poll(&mut b, noop).is_pending(), "seed {seed}");
        assert!(
            poll(&mut locks.barrier.wait(), noop).is_ready(),
            "seed {seed}: three arrivals trip the barrier"
        );
    }
}
