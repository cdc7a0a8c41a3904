//! Tests of the local locks: Mutex, RwLock, Semaphore, Notify, Barrier. FIFO order,
//! hand-over, cancellation before and after a hand-over, wake counts, re-entrant wakers,
//! many tasks, and a seeded model of the semaphore.

mod common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::task::Poll;

use common::{Rng, counter, hook_waker, leak, poll};
use solo_executor::LocalExecutor;
use solo_lite::future::{block_on, yield_now};
use solo_sync::lock::{
    AcquireFuture, Barrier, LockFuture, Mutex, Notify, RwLock, Semaphore, SemaphorePermit,
};

// ---------------------------------------------------------------------------------------
// Mutex

#[test]
fn mutex_basics() {
    let mut m = Mutex::new(1);
    *m.get_mut() += 1;
    {
        let mut g = m.try_lock().unwrap();
        *g += 1;
        assert!(m.is_locked());
        assert!(m.try_lock().is_none());
        assert_eq!(format!("{m:?}"), "Mutex { value: <locked> }");
    }
    assert_eq!(format!("{m:?}"), "Mutex { value: 3 }");
    assert_eq!(*block_on(m.lock()), 3);
    assert_eq!(m.into_inner(), 3);
}

#[test]
fn mutex_hands_over_in_order() {
    let m = Mutex::new(());
    let g = m.try_lock().unwrap();
    let (wa, a_count) = counter();
    let (wb, b_count) = counter();
    let mut a = m.lock();
    let mut b = m.lock();
    assert!(poll(&mut a, &wa).is_pending());
    assert!(poll(&mut b, &wb).is_pending());
    drop(g);
    assert_eq!((a_count.get(), b_count.get()), (1, 0));
    assert!(m.is_locked(), "handed to `a`, not unlocked");
    assert!(m.try_lock().is_none(), "nobody jumps the queue");
    assert!(poll(&mut b, &wb).is_pending());
    let ga = match poll(&mut a, &wa) {
        Poll::Ready(g) => g,
        Poll::Pending => panic!("`a` was handed the lock"),
    };
    drop(ga);
    assert_eq!(b_count.get(), 1);
    assert!(poll(&mut b, &wb).is_ready());
    assert!(!m.is_locked());
}

#[test]
fn mutex_cancel_queued_and_after_hand_over() {
    let m = Mutex::new(0);
    let g = m.try_lock().unwrap();
    let (w, _) = counter();
    let (wc, c_count) = counter();
    let mut a = m.lock();
    let mut b = m.lock();
    let mut c = m.lock();
    for f in [&mut a, &mut b] {
        assert!(poll(f, &w).is_pending());
    }
    assert!(poll(&mut c, &wc).is_pending());
    drop(a); // queued: just leaves
    drop(g); // hands over to `b`
    assert_eq!(c_count.get(), 0);
    drop(b); // handed the lock, never ran: passes it to `c`
    assert_eq!(c_count.get(), 1);
    let mut gc = match poll(&mut c, &wc) {
        Poll::Ready(g) => g,
        Poll::Pending => panic!("`c` was handed the lock"),
    };
    *gc += 1;
    drop(gc);
    // Handed over and dropped with nobody behind: the mutex ends up unlocked.
    let g = m.try_lock().unwrap();
    let mut d = m.lock();
    assert!(poll(&mut d, &w).is_pending());
    drop(g);
    drop(d);
    assert!(!m.is_locked());
    assert_eq!(*m.try_lock().unwrap(), 1);
}

#[test]
fn mutex_fifo_among_tasks_and_exclusion_across_awaits() {
    let ex = LocalExecutor::new();
    let m = Rc::new(Mutex::new(Vec::new()));
    let inside = Rc::new(Cell::new(false));
    for id in 0..20 {
        let (m, inside) = (m.clone(), inside.clone());
        ex.spawn(async move {
            let mut g = m.lock().await;
            assert!(!inside.replace(true), "two holders at once");
            yield_now().await;
            g.push(id);
            inside.set(false);
        })
        .detach();
    }
    while ex.try_tick() {}
    assert!(ex.is_empty());
    assert_eq!(*m.try_lock().unwrap(), (0..20).collect::<Vec<_>>());
}

#[test]
fn mutex_guard_drop_with_a_waker_that_polls_at_once() {
    // The guard's borrow of the value has ended when the next waiter is woken: a waker that
    // polls the waiter inside the drop gets the lock and writes through its guard.
    let m: &'static Mutex<i32> = leak(Mutex::new(0));
    let g = m.try_lock().unwrap();
    type Slot = Rc<RefCell<Option<LockFuture<'static, i32>>>>;
    let slot: Slot = Rc::new(RefCell::new(None));
    let hook_slot = slot.clone();
    let (w, hook) = hook_waker(move || {
        let mut fut = hook_slot.borrow_mut().take().unwrap();
        match poll(&mut fut, std::task::Waker::noop()) {
            Poll::Ready(mut g) => *g += 10,
            Poll::Pending => panic!("the lock was handed over"),
        }
    });
    let mut fut = m.lock();
    assert!(poll(&mut fut, &w).is_pending());
    *slot.borrow_mut() = Some(fut);
    drop(g);
    assert_eq!(hook.get(), 1);
    assert_eq!(*m.try_lock().unwrap(), 10);
}

// ---------------------------------------------------------------------------------------
// RwLock

#[test]
fn rwlock_readers_share_and_writers_exclude() {
    let mut l = RwLock::new(1);
    *l.get_mut() += 1;
    {
        let a = l.try_read().unwrap();
        let b = l.try_read().unwrap();
        assert_eq!(l.reader_count(), 2);
        assert_eq!(*a + *b, 4);
        assert!(l.try_write().is_none());
    }
    {
        let mut w = l.try_write().unwrap();
        *w += 1;
        assert!(l.is_write_locked());
        assert!(l.try_read().is_none());
        assert!(l.try_write().is_none());
    }
    assert_eq!(l.into_inner(), 3);
}

#[test]
fn rwlock_a_queued_writer_stops_new_readers() {
    let l = RwLock::new(0);
    let r1 = l.try_read().unwrap();
    let (ww, w_count) = counter();
    let (wr, r_count) = counter();
    let mut write = l.write();
    assert!(poll(&mut write, &ww).is_pending());
    assert!(
        l.try_read().is_none(),
        "no reader jumps ahead of the writer"
    );
    let mut r2 = l.read();
    let mut r3 = l.read();
    assert!(poll(&mut r2, &wr).is_pending());
    assert!(poll(&mut r3, &wr).is_pending());
    drop(r1);
    assert_eq!((w_count.get(), r_count.get()), (1, 0));
    let mut g = match poll(&mut write, &ww) {
        Poll::Ready(g) => g,
        Poll::Pending => panic!("the writer was handed the lock"),
    };
    *g = 5;
    drop(g);
    // The readers queued behind the writer get the lock together.
    assert_eq!(r_count.get(), 2);
    assert_eq!(l.reader_count(), 2);
    let (Poll::Ready(a), Poll::Ready(b)) = (poll(&mut r2, &wr), poll(&mut r3, &wr)) else {
        panic!("both readers were handed the lock");
    };
    assert_eq!(*a + *b, 10);
}

#[test]
fn rwlock_fifo_mix_among_tasks() {
    let ex = LocalExecutor::new();
    let l = Rc::new(RwLock::new(()));
    let log = Rc::new(RefCell::new(Vec::new()));
    // A writer holds the lock while the others queue in this order.
    let first = l.try_write().unwrap();
    for (id, write) in [
        (0, false),
        (1, false),
        (2, true),
        (3, false),
        (4, true),
        (5, false),
    ] {
        let (l, log) = (l.clone(), log.clone());
        ex.spawn(async move {
            if write {
                let _g = l.write().await;
                log.borrow_mut().push(format!("w{id}"));
                yield_now().await;
                log.borrow_mut().push(format!("/w{id}"));
            } else {
                let _g = l.read().await;
                log.borrow_mut().push(format!("r{id}"));
                yield_now().await;
                log.borrow_mut().push(format!("/r{id}"));
            }
        })
        .detach();
    }
    while ex.try_tick() {}
    drop(first);
    while ex.try_tick() {}
    let log = log.borrow().join(" ");
    assert_eq!(log, "r0 r1 /r0 /r1 w2 /w2 r3 /r3 w4 /w4 r5 /r5");
}

#[test]
fn rwlock_cancel_a_queued_writer_lets_readers_behind_it_in() {
    let l = RwLock::new(());
    let r1 = l.try_read().unwrap();
    let (w, count) = counter();
    let mut write = l.write();
    assert!(poll(&mut write, &w).is_pending());
    let mut r2 = l.read();
    let (wr, r_count) = counter();
    assert!(poll(&mut r2, &wr).is_pending());
    drop(write);
    assert_eq!((count.get(), r_count.get()), (0, 1));
    assert!(poll(&mut r2, &wr).is_ready());
    drop(r1);
}

#[test]
fn rwlock_cancel_after_hand_over_passes_it_on() {
    let l = RwLock::new(());
    let g = l.try_write().unwrap();
    let (w, _) = counter();
    let (wr, r_count) = counter();
    let mut write = l.write();
    let mut read = l.read();
    assert!(poll(&mut write, &w).is_pending());
    assert!(poll(&mut read, &wr).is_pending());
    drop(g); // to the queued writer
    assert!(l.is_write_locked());
    assert_eq!(r_count.get(), 0);
    drop(write); // never ran: on to the reader
    assert_eq!(r_count.get(), 1);
    assert!(!l.is_write_locked());
    assert!(poll(&mut read, &wr).is_ready());
}

#[test]
fn rwlock_write_guard_drop_with_a_waker_that_polls_at_once() {
    let l: &'static RwLock<i32> = leak(RwLock::new(1));
    let g = l.try_write().unwrap();
    let read_value = Rc::new(Cell::new(0));
    let slot = Rc::new(RefCell::new(Some(l.read())));
    let (hook_slot, hook_value) = (slot.clone(), read_value.clone());
    let (w, _) = hook_waker(move || {
        let mut fut = hook_slot.borrow_mut().take().unwrap();
        match poll(&mut fut, std::task::Waker::noop()) {
            Poll::Ready(g) => hook_value.set(*g),
            Poll::Pending => panic!("the lock was handed over"),
        }
    });
    assert!(poll(slot.borrow_mut().as_mut().unwrap(), &w).is_pending());
    drop(g);
    assert_eq!(read_value.get(), 1);
    assert!(l.try_write().is_some());
}

// ---------------------------------------------------------------------------------------
// Semaphore

#[test]
fn semaphore_basics() {
    let s = Semaphore::new(3);
    let two = s.try_acquire_many(2).unwrap();
    assert_eq!(two.num_permits(), 2);
    assert!(s.try_acquire_many(2).is_none());
    let one = block_on(s.acquire());
    assert_eq!(s.available_permits(), 0);
    one.forget();
    drop(two);
    assert_eq!(s.available_permits(), 2);
    let zero = block_on(s.acquire_many(0));
    assert_eq!(zero.num_permits(), 0);
    s.add_permits(usize::MAX);
    assert_eq!(s.available_permits(), usize::MAX, "saturates");
}

#[test]
fn semaphore_a_large_head_is_not_starved() {
    let s = Semaphore::new(0);
    let (wb, big_count) = counter();
    let (ws, small_count) = counter();
    let mut big = s.acquire_many(5);
    let mut small = s.acquire();
    assert!(poll(&mut big, &wb).is_pending());
    assert!(poll(&mut small, &ws).is_pending());
    s.add_permits(1);
    assert_eq!(
        small_count.get(),
        0,
        "the small one waits behind the big one"
    );
    assert!(s.try_acquire().is_none(), "so does try_acquire");
    assert!(poll(&mut small, &ws).is_pending());
    s.add_permits(4);
    assert_eq!((big_count.get(), small_count.get()), (1, 0));
    assert_eq!(s.available_permits(), 0);
    let Poll::Ready(permit) = poll(&mut big, &wb) else {
        panic!("handed 5 permits")
    };
    drop(permit);
    assert_eq!(small_count.get(), 1);
    assert_eq!(s.available_permits(), 4);
    assert!(poll(&mut small, &ws).is_ready());
}

#[test]
fn semaphore_cancel_queued_head_and_after_grant() {
    let s = Semaphore::new(2);
    let (w, _) = counter();
    let (ws, small_count) = counter();
    let mut big = s.acquire_many(3);
    let mut small = s.acquire_many(2);
    assert!(poll(&mut big, &w).is_pending());
    assert!(poll(&mut small, &ws).is_pending());
    drop(big); // the head leaves: the one behind fits now
    assert_eq!(small_count.get(), 1);
    assert_eq!(s.available_permits(), 0);
    drop(small); // granted, never ran: gives its permits back
    assert_eq!(s.available_permits(), 2);
    assert!(s.try_acquire_many(2).is_some());
}

/// Random acquisitions, cancellations, releases and additions against a FIFO model.
#[test]
fn semaphore_model() {
    for seed in 0..200 {
        let mut rng = Rng::new(seed);
        let s = Semaphore::new(rng.below(4));
        let (w, _) = counter();
        let mut available = s.available_permits();
        // Waiting futures in queue order, with whether the model granted them.
        let mut waiting: Vec<(AcquireFuture<'_>, usize, bool)> = Vec::new();
        let mut held: Vec<SemaphorePermit<'_>> = Vec::new();
        let grant = |waiting: &mut Vec<(AcquireFuture<'_>, usize, bool)>, available: &mut usize| {
            for (_, n, granted) in waiting.iter_mut() {
                if *granted {
                    continue;
                }
                if *n > *available {
                    break;
                }
                *available -= *n;
                *granted = true;
            }
        };
        for _ in 0..300 {
            match rng.below(6) {
                0 | 1 => {
                    let n = rng.below(4);
                    let mut fut = s.acquire_many(n);
                    let queued = waiting.iter().any(|&(_, _, g)| !g);
                    match poll(&mut fut, &w) {
                        Poll::Ready(p) => {
                            assert!(!queued && n <= available, "seed {seed}: jumped the queue");
                            available -= n;
                            held.push(p);
                        }
                        Poll::Pending => {
                            assert!(queued || n > available, "seed {seed}: waits for nothing");
                            waiting.push((fut, n, false));
                        }
                    }
                }
                2 if !waiting.is_empty() => {
                    let (fut, n, granted) = waiting.remove(rng.below(waiting.len()));
                    drop(fut);
                    if granted {
                        available += n;
                    }
                    grant(&mut waiting, &mut available);
                }
                3 if !waiting.is_empty() => {
                    let i = rng.below(waiting.len());
                    let ready = poll(&mut waiting[i].0, &w);
                    assert_eq!(ready.is_ready(), waiting[i].2, "seed {seed}");
                    if let Poll::Ready(p) = ready {
                        held.push(p);
                        drop(waiting.remove(i));
                    }
                }
                4 if !held.is_empty() => {
                    let p = held.swap_remove(rng.below(held.len()));
                    available += p.num_permits();
                    drop(p);
                    grant(&mut waiting, &mut available);
                }
                _ => {
                    let n = rng.below(3);
                    s.add_permits(n);
                    available += n;
                    grant(&mut waiting, &mut available);
                }
            }
            assert_eq!(s.available_permits(), available, "seed {seed}");
        }
    }
}

#[test]
fn semaphore_bounds_concurrency_among_tasks() {
    let ex = LocalExecutor::new();
    let s = Rc::new(Semaphore::new(3));
    let running = Rc::new(Cell::new(0));
    let peak = Rc::new(Cell::new(0));
    for i in 0..30 {
        let (s, running, peak) = (s.clone(), running.clone(), peak.clone());
        ex.spawn(async move {
            let _permit = s.acquire_many(1 + i % 2).await;
            running.set(running.get() + 1 + i % 2);
            peak.set(peak.get().max(running.get()));
            yield_now().await;
            running.set(running.get() - 1 - i % 2);
        })
        .detach();
    }
    while ex.try_tick() {}
    assert!(ex.is_empty());
    assert!(peak.get() <= 3 && peak.get() >= 2);
    assert_eq!(s.available_permits(), 3);
}

// ---------------------------------------------------------------------------------------
// Notify

#[test]
fn notify_one_stores_one_permit() {
    let n = Notify::new();
    n.notify_one();
    n.notify_one();
    let (w, _) = counter();
    assert!(poll(&mut n.notified(), &w).is_ready());
    assert!(
        poll(&mut n.notified(), &w).is_pending(),
        "permits do not add up"
    );
}

#[test]
fn notify_one_wakes_the_oldest() {
    let n = Notify::new();
    let counters: Vec<_> = (0..3).map(|_| counter()).collect();
    let mut futs: Vec<_> = (0..3).map(|_| n.notified()).collect();
    for (f, (w, _)) in futs.iter_mut().zip(&counters) {
        assert!(poll(f, w).is_pending());
    }
    n.notify_one();
    let wakes: Vec<_> = counters.iter().map(|(_, c)| c.get()).collect();
    assert_eq!(wakes, [1, 0, 0]);
    assert!(poll(&mut futs[1], &counters[1].0).is_pending());
    assert!(poll(&mut futs[0], &counters[0].0).is_ready());
    n.notify_one();
    assert_eq!(counters[1].1.get(), 1);
}

#[test]
fn notify_all_wakes_current_waiters_and_earlier_futures() {
    let n = Notify::new();
    let (w, count) = counter();
    let mut a = n.notified();
    let mut b = n.notified();
    assert!(poll(&mut a, &w).is_pending());
    assert!(poll(&mut b, &w).is_pending());
    let mut created_before = n.notified(); // not polled yet
    n.notify_all();
    assert_eq!(count.get(), 2);
    assert!(poll(&mut a, &w).is_ready() && poll(&mut b, &w).is_ready());
    assert!(poll(&mut created_before, &w).is_ready());
    // Nothing stored.
    assert!(poll(&mut n.notified(), &w).is_pending());
}

#[test]
fn notified_dropped_after_notify_one_passes_it_on() {
    let n = Notify::new();
    let (w, _) = counter();
    let (wb, b_count) = counter();
    let mut a = n.notified();
    let mut b = n.notified();
    assert!(poll(&mut a, &w).is_pending());
    assert!(poll(&mut b, &wb).is_pending());
    n.notify_one();
    drop(a);
    assert_eq!(b_count.get(), 1);
    assert!(poll(&mut b, &wb).is_ready());
    // With nobody to pass to, it becomes the stored permit.
    let mut c = n.notified();
    assert!(poll(&mut c, &w).is_pending());
    n.notify_one();
    drop(c);
    assert!(poll(&mut n.notified(), &w).is_ready());
    // A waiter woken by notify_all passes nothing on.
    let mut d = n.notified();
    assert!(poll(&mut d, &w).is_pending());
    n.notify_all();
    drop(d);
    assert!(poll(&mut n.notified(), &w).is_pending());
}

#[test]
fn notify_all_with_wakers_that_wait_again() {
    // Each waker re-polls a fresh `notified()` from inside `notify_all`: those later
    // waiters are not woken by the same call, so every waker runs exactly once.
    let n: &'static Notify = leak(Notify::new());
    let parked = Rc::new(RefCell::new(Vec::new()));
    let mut hooks = Vec::new();
    for _ in 0..3 {
        let parked2 = parked.clone();
        let (w, hook) = hook_waker(move || {
            let mut again = n.notified();
            assert!(poll(&mut again, std::task::Waker::noop()).is_pending());
            parked2.borrow_mut().push(again);
        });
        let mut f = n.notified();
        assert!(poll(&mut f, &w).is_pending());
        std::mem::forget(f);
        hooks.push(hook);
    }
    n.notify_all();
    assert!(hooks.iter().all(|h| h.get() == 1));
    assert_eq!(parked.borrow().len(), 3);
}

#[test]
fn notify_one_from_a_waker_inside_notify_all_is_not_lost() {
    // `notify_all` wakes its waiters one at a time; the first one's waker calls
    // `notify_one`. The second waiter is already released by the `notify_all`, so that
    // notification is for the next waiter: with none queued, it is stored as a permit, as it
    // would be if the waker ran after `notify_all` returned.
    let n: &'static Notify = leak(Notify::new());
    let (notify_one, _) = hook_waker(|| n.notify_one());
    let (w, _) = counter();
    let (mut a, mut b) = (n.notified(), n.notified());
    assert!(poll(&mut a, &notify_one).is_pending());
    assert!(poll(&mut b, &w).is_pending());
    n.notify_all();
    assert!(poll(&mut a, &w).is_ready());
    assert!(poll(&mut b, &w).is_ready());
    assert!(
        poll(&mut n.notified(), &w).is_ready(),
        "the permit is there"
    );
}

#[test]
fn notify_between_tasks() {
    // A consumer waits for items a producer pushes; notify_one never loses a wake-up, even
    // when it comes before the consumer waits (it is stored as the permit).
    let ex = LocalExecutor::new();
    let notify = Rc::new(Notify::new());
    let items = Rc::new(RefCell::new(Vec::new()));
    let (n, it) = (notify.clone(), items.clone());
    let consumer = ex.spawn(async move {
        let mut got = Vec::new();
        while got.len() < 100 {
            let next = it.borrow_mut().pop();
            match next {
                Some(v) => got.push(v),
                None => n.notified().await,
            }
        }
        got
    });
    let got = block_on(ex.run(async move {
        for i in 0..100 {
            items.borrow_mut().insert(0, i);
            notify.notify_one();
            if i % 3 == 0 {
                yield_now().await;
            }
        }
        consumer.await
    }));
    assert_eq!(got, (0..100).collect::<Vec<_>>());
}

// ---------------------------------------------------------------------------------------
// Barrier

#[test]
fn barrier_one_leader_per_generation() {
    let ex = LocalExecutor::new();
    let b = Rc::new(Barrier::new(4));
    let leaders = Rc::new(RefCell::new(vec![0; 3]));
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (b, leaders) = (b.clone(), leaders.clone());
            ex.spawn(async move {
                for generation in 0..3 {
                    if b.wait().await.is_leader() {
                        leaders.borrow_mut()[generation] += 1;
                    }
                    yield_now().await;
                }
            })
        })
        .collect();
    block_on(ex.run(async {
        for t in tasks {
            t.await;
        }
    }));
    assert_eq!(*leaders.borrow(), [1, 1, 1]);
}

#[test]
fn barrier_wakes_each_waiter_once_and_forgets_cancelled_ones() {
    let b = Barrier::new(3);
    let (w, count) = counter();
    let mut a = b.wait();
    let mut gone = b.wait();
    assert!(poll(&mut a, &w).is_pending());
    assert!(poll(&mut gone, &w).is_pending());
    drop(gone); // no longer counted
    let mut c = b.wait();
    assert!(poll(&mut c, &w).is_pending());
    assert_eq!(count.get(), 0);
    let mut last = b.wait();
    let Poll::Ready(r) = poll(&mut last, &w) else {
        panic!("the third arrival trips the barrier")
    };
    assert!(r.is_leader());
    assert_eq!(count.get(), 2);
    let (Poll::Ready(ra), Poll::Ready(rc)) = (poll(&mut a, &w), poll(&mut c, &w)) else {
        panic!("both were released")
    };
    assert!(!ra.is_leader() && !rc.is_leader());
}

#[test]
fn barrier_of_zero_or_one() {
    for n in [0, 1] {
        let b = Barrier::new(n);
        assert!(block_on(b.wait()).is_leader());
        assert!(block_on(b.wait()).is_leader());
    }
}

#[test]
fn barrier_waker_that_drops_a_released_waiter_before_it_is_woken() {
    // The third arrival trips the barrier and wakes the two waiters one at a time; the first
    // one's waker drops the second's future before its turn to be woken. That waiter was
    // released with the rest: dropping it must not un-count an arrival (of this generation
    // or of the next).
    let b: &'static Barrier = leak(Barrier::new(3));
    let second = Rc::new(RefCell::new(Some(b.wait())));
    let hook_second = second.clone();
    let (wake_first, _) = hook_waker(move || drop(hook_second.borrow_mut().take()));
    let (w, _) = counter();
    let mut first = b.wait();
    assert!(poll(&mut first, &wake_first).is_pending());
    assert!(poll(second.borrow_mut().as_mut().unwrap(), &w).is_pending());
    assert!(poll(&mut b.wait(), &w).is_ready());
    assert!(second.borrow().is_none(), "the hook ran");
    assert!(poll(&mut first, &w).is_ready());
    // The next generation needs three arrivals again.
    let (mut x, mut y) = (b.wait(), b.wait());
    assert!(poll(&mut x, &w).is_pending());
    assert!(poll(&mut y, &w).is_pending());
    let Poll::Ready(r) = poll(&mut b.wait(), &w) else {
        panic!("the third arrival trips the barrier")
    };
    assert!(r.is_leader());
}
