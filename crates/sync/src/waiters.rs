//! The waiter queue every local channel and lock of this crate is built on.
//!
//! A [`Waiters`] is a FIFO of parked futures, each one a *slot* in a `Vec`: its waker, a
//! little data (`D`: what it waits for, such as a permit count or "reader/writer"), and the
//! `prev`/`next` indexes of a doubly linked list threaded through the vector. A future that
//! parks gets a [`Key`] (the slot's index), which stays valid until the future hands it back
//! with [`remove`](Waiters::remove), so:
//!
//! - **push, pop and cancel are O(1)**: cancelling unlinks the slot through its own links;
//! - **steady-state waiting allocates nothing**: freed slots go to a free list and are reused
//!   before the vector grows, so the vector only ever grows to the most waiters parked at
//!   once (48 bytes each on 64-bit targets, 56 for a semaphore's count);
//! - **a slot outlives its wake**: [`pop`](Waiters::pop) unlinks the head and marks it
//!   *woken*, but the slot stays the owner's until it calls [`remove`](Waiters::remove). The
//!   owner can therefore tell "I was handed the lock/permit/notification" (woken) from "I was
//!   still queued" when it completes or is dropped, and pass on what it was handed.
//!
//! Nothing in [`Waiters`] wakes anybody: `pop` *returns* the waker, and the caller wakes it
//! after its `RefCell` borrow has ended, because a waker may poll the woken future at once
//! (some executors do) or run code that touches the same structure. The free functions below
//! take the `RefCell` and keep to that rule (and drop replaced wakers after the borrow too):
//! [`wake_each`] and [`wake_all`] wake, [`park`], [`poll_handed`] and [`cancel`] are what a
//! waiting future does. [`store_waker`] is the one-waiter version for a plain `Cell`.
//!
//! Every push takes a sequence number, so [`wake_all`] wakes exactly the waiters that were
//! parked when it started, even if woken futures park again while it runs.
#![forbid(unsafe_code)]

use std::cell::{Cell, RefCell};
use std::fmt;
use std::task::{Poll, Waker};

/// The "no slot" index of the links.
const NIL: usize = usize::MAX;

/// A parked future's handle on its slot, valid until it is given back to
/// [`Waiters::remove`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Key(usize);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// On the free list.
    Free,
    /// In the queue, waiting.
    Queued,
    /// Taken off the queue by `pop`; the owner has not removed it yet.
    Woken,
}

struct Slot<D> {
    state: State,
    prev: usize,
    /// The next slot in the queue, or in the free list.
    next: usize,
    seq: u64,
    /// The owner's waker while queued.
    waker: Option<Waker>,
    data: D,
}

/// A FIFO queue of parked futures with O(1) cancellation; see the module docs.
pub(crate) struct Waiters<D> {
    slots: Vec<Slot<D>>,
    head: usize,
    tail: usize,
    free: usize,
    next_seq: u64,
}

/// What [`Waiters::remove`] found in the slot it freed.
#[must_use]
pub(crate) struct Removed<D> {
    /// Whether the waiter had been popped (handed what it waited for) before its removal.
    pub(crate) woken: bool,
    /// The waiter's data.
    pub(crate) data: D,
    /// The waiter's last waker, given back so that it is dropped after the caller's borrow
    /// ends (dropping a waker runs executor code).
    _waker: Option<Waker>,
}

impl<D: Copy> Waiters<D> {
    /// An empty queue; allocates nothing until the first push.
    pub(crate) const fn new() -> Self {
        Waiters {
            slots: Vec::new(),
            head: NIL,
            tail: NIL,
            free: NIL,
            next_seq: 0,
        }
    }

    /// Whether no waiter is queued (woken, not yet removed slots do not count).
    pub(crate) fn is_empty(&self) -> bool {
        self.head == NIL
    }

    /// How many waiters are queued (walks the queue: for `Debug`).
    pub(crate) fn len(&self) -> usize {
        let (mut n, mut i) = (0, self.head);
        while i != NIL {
            n += 1;
            i = self.slots[i].next;
        }
        n
    }

    /// Queues a waiter at the back; returns its key.
    pub(crate) fn push(&mut self, data: D, waker: &Waker) -> Key {
        let seq = self.next_seq;
        self.next_seq += 1;
        let slot = Slot {
            state: State::Queued,
            prev: self.tail,
            next: NIL,
            seq,
            waker: Some(waker.clone()),
            data,
        };
        let i = if self.free != NIL {
            let i = self.free;
            self.free = self.slots[i].next;
            self.slots[i] = slot;
            i
        } else {
            self.slots.push(slot);
            self.slots.len() - 1
        };
        match self.tail {
            NIL => self.head = i,
            t => self.slots[t].next = i,
        }
        self.tail = i;
        Key(i)
    }

    /// The data of the waiter at the head, if any.
    pub(crate) fn front(&self) -> Option<D> {
        self.slots.get(self.head).map(|s| s.data)
    }

    /// Takes the head off the queue, marks it woken and returns its waker (to be woken by
    /// the caller once its borrow has ended).
    pub(crate) fn pop(&mut self) -> Option<Waker> {
        self.take(self.head)
    }

    /// The sequence number the next push will get: the waiters queued now are the ones
    /// "older than" it.
    pub(crate) fn mark(&self) -> u64 {
        self.next_seq
    }

    /// Like [`pop`](Self::pop), but passes over the waiters older than `mark` (they are the
    /// front of the queue) and sets the data of the one it takes.
    pub(crate) fn pop_since(&mut self, mark: u64, data: D) -> Option<Waker> {
        let mut i = self.head;
        while i != NIL && self.slots[i].seq < mark {
            i = self.slots[i].next;
        }
        self.slots.get_mut(i)?.data = data;
        self.take(i)
    }

    /// Takes the queued slot `i` (if not `NIL`) off the queue and marks it woken.
    fn take(&mut self, i: usize) -> Option<Waker> {
        if i == NIL {
            return None;
        }
        self.unlink(i);
        let slot = &mut self.slots[i];
        slot.state = State::Woken;
        slot.waker.take()
    }

    /// Like [`pop`](Self::pop), but only if the head was queued before the push that got
    /// sequence number `mark`.
    fn pop_older(&mut self, mark: u64) -> Option<Waker> {
        if self.slots.get(self.head)?.seq < mark {
            self.pop()
        } else {
            None
        }
    }

    /// Whether the waiter `key` has been popped.
    fn is_woken(&self, key: Key) -> bool {
        debug_assert_ne!(self.slots[key.0].state, State::Free, "stale waiter key");
        self.slots[key.0].state == State::Woken
    }

    /// Stores `waker` as the waiter's waker if it is still queued (keeping the old one if it
    /// would wake the same task). Returns the replaced waker, to be dropped by the caller
    /// after its borrow ends.
    #[must_use]
    fn register(&mut self, key: Key, waker: &Waker) -> Option<Waker> {
        let slot = &mut self.slots[key.0];
        debug_assert_ne!(slot.state, State::Free, "stale waiter key");
        if slot.state != State::Queued || slot.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
            return None;
        }
        slot.waker.replace(waker.clone())
    }

    /// Frees the waiter's slot (unlinking it if still queued) and says what it was.
    fn remove(&mut self, key: Key) -> Removed<D> {
        let i = key.0;
        let state = self.slots[i].state;
        debug_assert_ne!(state, State::Free, "waiter key removed twice");
        if state == State::Queued {
            self.unlink(i);
        }
        let free = self.free;
        let slot = &mut self.slots[i];
        slot.state = State::Free;
        slot.next = free;
        self.free = i;
        Removed {
            woken: state == State::Woken,
            data: slot.data,
            _waker: slot.waker.take(),
        }
    }

    fn unlink(&mut self, i: usize) {
        let (prev, next) = (self.slots[i].prev, self.slots[i].next);
        match prev {
            NIL => self.head = next,
            p => self.slots[p].next = next,
        }
        match next {
            NIL => self.tail = prev,
            n => self.slots[n].prev = prev,
        }
    }
}

impl<D: Copy> Default for Waiters<D> {
    fn default() -> Self {
        Self::new()
    }
}

impl<D: Copy> fmt::Debug for Waiters<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Waiters")
            .field("queued", &self.len())
            .field("slots", &self.slots.len())
            .finish()
    }
}

/// Wakes the wakers `next` hands out, one at a time, until it returns `None`.
///
/// `next` takes its own borrow and returns with it ended, so each waker is woken with no
/// borrow held and may re-enter the structure (and park again, or complete and release).
pub(crate) fn wake_each(mut next: impl FnMut() -> Option<Waker>) {
    while let Some(waker) = next() {
        waker.wake();
    }
}

/// Wakes every waiter queued now, each once: those that park again while this runs wait
/// for the next time.
pub(crate) fn wake_all<D: Copy>(waiters: &RefCell<Waiters<D>>) {
    let mark = waiters.borrow().mark();
    wake_each(|| waiters.borrow_mut().pop_older(mark));
}

/// Parks the future that owns `key` for a wake-up with no hand-over (a "something changed"
/// wait): updates its waker if it is still queued, else queues it (again: a slot that was
/// popped is spent and goes back to the free list).
pub(crate) fn park<D: Copy>(
    waiters: &RefCell<Waiters<D>>,
    key: &mut Option<Key>,
    data: D,
    waker: &Waker,
) {
    let mut w = waiters.borrow_mut();
    let old = match *key {
        Some(k) if w.slots[k.0].state == State::Queued => w.register(k, waker),
        spent => {
            // A popped slot's waker was already taken: nothing to drop under the borrow.
            if let Some(k) = spent {
                let _spent = w.remove(k);
            }
            *key = Some(w.push(data, waker));
            None
        }
    };
    drop(w);
    drop(old);
}

/// Polls a future that waits to be *handed* something by [`Waiters::pop`] (a lock, permits,
/// a notification): once popped it is ready, and its slot is freed; until then its waker is
/// updated. `key` must be `Some`.
pub(crate) fn poll_handed<D: Copy>(
    waiters: &RefCell<Waiters<D>>,
    key: &mut Option<Key>,
    waker: &Waker,
) -> Poll<()> {
    let Some(k) = *key else {
        debug_assert!(false, "poll_handed without a key");
        return Poll::Pending;
    };
    let mut w = waiters.borrow_mut();
    if w.is_woken(k) {
        let removed = w.remove(k);
        drop(w);
        drop(removed);
        *key = None;
        Poll::Ready(())
    } else {
        let old = w.register(k, waker);
        drop(w);
        drop(old);
        Poll::Pending
    }
}

/// Frees the slot of a future being dropped (if it has one) and says what it was: a waiter
/// that was already handed something ([`Removed::woken`]) must pass it on.
pub(crate) fn cancel<D: Copy>(
    waiters: &RefCell<Waiters<D>>,
    key: &mut Option<Key>,
) -> Option<Removed<D>> {
    let k = key.take()?;
    let removed = waiters.borrow_mut().remove(k);
    Some(removed)
}

/// Stores `waker` in a one-waiter slot, keeping the old one if it wakes the same task (the
/// replaced one is dropped after the slot is set).
pub(crate) fn store_waker(slot: &Cell<Option<Waker>>, waker: &Waker) {
    let old = slot.take();
    match old {
        Some(old) if old.will_wake(waker) => slot.set(Some(old)),
        _ => slot.set(Some(waker.clone())),
    }
}

/// The README's example runs as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_cancel_and_reuse() {
        let w = Waker::noop();
        let mut q = Waiters::new();
        let a = q.push(1u8, w);
        let b = q.push(2, w);
        let c = q.push(3, w);
        assert_eq!(q.len(), 3);
        assert!(!q.remove(b).woken);
        assert_eq!(q.front(), Some(1));
        assert!(q.pop().is_some());
        assert!(q.is_woken(a));
        assert_eq!(q.front(), Some(3));
        let r = q.remove(a);
        assert!(r.woken);
        assert_eq!(r.data, 1);
        // Freed slots are reused: no growth.
        let d = q.push(4, w);
        let e = q.push(5, w);
        assert_eq!(q.slots.len(), 3);
        let order: Vec<u8> = std::iter::from_fn(|| {
            let d = q.front()?;
            q.pop();
            Some(d)
        })
        .collect();
        assert_eq!(order, [3, 4, 5]);
        assert!(q.is_empty());
        for k in [c, d, e] {
            assert!(q.remove(k).woken);
        }
        assert_eq!(q.len(), 0);
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn slot_size_is_as_documented() {
        assert_eq!(size_of::<Slot<()>>(), 48);
        assert_eq!(size_of::<Slot<usize>>(), 56);
    }

    #[test]
    fn pop_older_stops_at_later_waiters() {
        let w = Waker::noop();
        let mut q = Waiters::new();
        let _a = q.push((), w);
        let mark = q.mark();
        let _b = q.push((), w);
        assert!(q.pop_older(mark).is_some());
        assert!(q.pop_older(mark).is_none());
        assert_eq!(q.len(), 1);
    }
}
