//! The ring behind [`bounded`](super::bounded): slots, positions, stamps and the wake flags.
//! The design note in `mod.rs` explains the protocol; the comments here say why each
//! step is safe.

use std::fmt;
use std::mem::{self, MaybeUninit};
use std::ops::Deref;
use std::task::{Context, Poll, Waker};

use super::waker::WakerCell;
use crate::channel::TryRecvError;
use crate::loom::atomic::{AtomicUsize, Ordering::*, load_mut};
use crate::loom::{Mutex, UnsafeCell};

/// Positions leave their low three bits to flags, in the tail word and in every stamp.
const POS_SHIFT: u32 = 3;
const FLAGS: usize = (1 << POS_SHIFT) - 1;

/// Stamp flag: the slot holds the message written at the stamp's position.
const FULL: usize = 1;
/// Stamp flag: the receiver waits for this claimed slot to be written.
const RX_WAIT: usize = 2;
/// Stamp flag: senders of the next lap wait for this slot to be freed.
const TX_WAIT: usize = 4;

/// Tail flag: the receiver found the ring empty and waits for the next claim.
const PARKED: usize = 1;
/// Tail flag: the channel is closed; no position can be claimed any more.
const CLOSED: usize = 2;

/// The largest capacity: it leaves at least 16 bits of lap counter in a position word, so
/// a sender's stale tail would have to fall 65,536 laps behind to be mistaken for a
/// current one (on 64-bit targets the bound, 2^45, is beyond any memory).
pub const MAX_CAPACITY: usize = 1 << (usize::BITS - POS_SHIFT - 16);

/// How many times a receiver that has just taken a message re-checks the head slot (with
/// a spin hint between checks, well under a microsecond in all) before it parks.
#[cfg(not(loom))]
const SPINS_BEFORE_PARK: u32 = 32;

/// Keeps the hot words on cache lines of their own (128 bytes: adjacent-line prefetch).
#[repr(align(128))]
struct Padded<T>(T);

impl<T> Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

struct Slot<T> {
    /// `position | FULL | RX_WAIT | TX_WAIT`: which position the slot is for and its state.
    stamp: AtomicUsize,
    value: UnsafeCell<MaybeUninit<T>>,
}

/// Why a push did not happen; the message comes back.
pub(super) enum PushError<T> {
    /// Full at the given tail position: its slot still serves the previous lap.
    Full(T, usize),
    Closed(T),
}

/// The senders waiting for room, each under an id its `send` future keeps.
#[derive(Default)]
struct Waiters {
    next_id: usize,
    list: Vec<(usize, Waker)>,
}

pub(super) struct Ring<T> {
    /// The next position to claim, `| PARKED | CLOSED`.
    tail: Padded<AtomicUsize>,
    /// The receiver's next position. Only the receiver writes it; `len` reads it.
    head: Padded<AtomicUsize>,
    slots: Box<[Slot<T>]>,
    /// The position distance between a slot's uses on two consecutive laps.
    one_lap: usize,
    /// Live `Sender` handles.
    senders: AtomicUsize,
    rx_waker: WakerCell,
    waiters: Mutex<Waiters>,
}

// SAFETY: messages move between threads through the slots (hence `T: Send`) but are never
// shared: a slot's value is touched by one thread at a time, as its stamp hands it over.
// Everything else is atomics, a `Mutex` and a `WakerCell` made for cross-thread use.
unsafe impl<T: Send> Send for Ring<T> {}
// SAFETY: as above; `&Ring` gives no access to a `&T`.
unsafe impl<T: Send> Sync for Ring<T> {}

impl<T> Ring<T> {
    /// A ring of `cap` slots (`1 ..= MAX_CAPACITY`), with one sender.
    pub(super) fn new(cap: usize) -> Ring<T> {
        assert!(
            (1..=MAX_CAPACITY).contains(&cap),
            "channel capacity {cap} out of range"
        );
        let slots = (0..cap)
            .map(|i| Slot {
                stamp: AtomicUsize::new(i << POS_SHIFT),
                value: UnsafeCell::new(MaybeUninit::uninit()),
            })
            .collect();
        Ring {
            tail: Padded(AtomicUsize::new(0)),
            head: Padded(AtomicUsize::new(0)),
            slots,
            one_lap: cap.next_power_of_two() << POS_SHIFT,
            senders: AtomicUsize::new(1),
            rx_waker: WakerCell::new(),
            waiters: Mutex::new(Waiters::default()),
        }
    }

    pub(super) fn capacity(&self) -> usize {
        self.slots.len()
    }

    fn index(&self, pos: usize) -> usize {
        (pos & (self.one_lap - 1)) >> POS_SHIFT
    }

    fn slot(&self, pos: usize) -> &Slot<T> {
        &self.slots[self.index(pos)]
    }

    /// The position after `pos`: the next slot, or slot 0 of the next lap.
    fn next(&self, pos: usize) -> usize {
        if self.index(pos) + 1 < self.slots.len() {
            pos + (1 << POS_SHIFT)
        } else {
            (pos & !(self.one_lap - 1)).wrapping_add(self.one_lap)
        }
    }

    // ---- senders -------------------------------------------------------------------

    /// Claims the tail slot, writes `value` and publishes it; wakes the receiver if the
    /// claim or the publish finds it waiting.
    pub(super) fn try_push(&self, value: T) -> Result<(), PushError<T>> {
        // Acquire on every tail load: the claim that moved the tail to this value happened
        // before, so a stamp we read after it is at least as new as that claim left it.
        let mut tail = self.tail.load(Acquire);
        loop {
            if tail & CLOSED != 0 {
                return Err(PushError::Closed(value));
            }
            let pos = tail & !FLAGS;
            let slot = self.slot(pos);
            // Acquire: if the slot is free, the receiver's read of its previous message
            // happened before our write below.
            let stamp = slot.stamp.load(Acquire);
            if stamp == pos {
                // Acquire on success: a PARKED flag we consume comes with the receiver's
                // waker registration (made before it set the flag).
                match self
                    .tail
                    .compare_exchange(tail, self.next(pos), AcqRel, Acquire)
                {
                    Ok(_) => {
                        // SAFETY: the successful claim of `pos` makes us the slot's only
                        // writer, and its stamp (`pos`, not FULL) says it holds no message:
                        // the receiver will not read it before the publish below.
                        slot.value.with_mut(|v| unsafe { (*v).write(value) });
                        // Release publishes the message. An RMW, not a store: it keeps and
                        // reads the flags waiters set on the claimed slot meanwhile.
                        let old = slot.stamp.fetch_or(FULL, AcqRel);
                        if old & RX_WAIT != 0 || tail & PARKED != 0 {
                            self.rx_waker.wake();
                        }
                        return Ok(());
                    }
                    Err(now) => tail = now,
                }
            } else if stamp & !FLAGS == pos.wrapping_sub(self.one_lap) {
                // The slot still serves the previous lap (its message is written, or being
                // written): the ring is full.
                return Err(PushError::Full(value, pos));
            } else {
                // Our tail is stale: someone claimed `pos` (the stamp we acquired shows a
                // later state, so the tail we reload is at least that new).
                tail = self.tail.load(Acquire);
            }
        }
    }

    /// After a `Full` at `pos`, and after registering in the waiter list: asks the
    /// receiver to wake the waiters when it frees that slot. `false` if there is no need
    /// to wait (the slot was freed meanwhile, or the channel closed): try again at once.
    pub(super) fn wait_for_room(&self, pos: usize) -> bool {
        // The registration came first (under the lock the receiver takes to wake), so the
        // loads below see any close or free that drained the list before we joined it.
        if self.tail.load(Acquire) & CLOSED != 0 {
            return false;
        }
        let slot = self.slot(pos);
        let prev = pos.wrapping_sub(self.one_lap);
        let mut stamp = slot.stamp.load(Acquire);
        loop {
            if stamp & !FLAGS != prev {
                return false;
            }
            if stamp & TX_WAIT != 0 {
                return true;
            }
            // A CAS, not an OR: the flag must not land on a slot freed meanwhile.
            match slot
                .stamp
                .compare_exchange(stamp, stamp | TX_WAIT, AcqRel, Acquire)
            {
                Ok(_) => return true,
                Err(now) => stamp = now,
            }
        }
    }

    /// Adds or updates the waiter `id` (assigning one if `None`).
    pub(super) fn register_waiter(&self, id: &mut Option<usize>, waker: &Waker) {
        let mut w = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        let w = &mut *w;
        if let Some(id) = *id {
            if let Some((_, old)) = w.list.iter_mut().find(|(i, _)| *i == id) {
                if !old.will_wake(waker) {
                    old.clone_from(waker);
                }
                return;
            }
        }
        let new = id.unwrap_or_else(|| {
            w.next_id = w.next_id.wrapping_add(1);
            w.next_id
        });
        *id = Some(new);
        w.list.push((new, waker.clone()));
    }

    /// Removes the waiter `id`, if it is still listed.
    pub(super) fn unregister_waiter(&self, id: &mut Option<usize>) {
        if let Some(id) = id.take() {
            let mut w = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(i) = w.list.iter().position(|(x, _)| *x == id) {
                w.list.swap_remove(i);
            }
        }
    }

    /// Wakes every waiting sender (outside the lock: a waker may run anything).
    fn wake_senders(&self) {
        let list = {
            let mut w = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
            if w.list.is_empty() {
                return;
            }
            mem::take(&mut w.list)
        };
        /// Wakes the rest even if one waker panics.
        struct WakeAll(std::vec::IntoIter<(usize, Waker)>);
        impl Drop for WakeAll {
            fn drop(&mut self) {
                for (_, w) in self.0.by_ref() {
                    w.wake();
                }
            }
        }
        drop(WakeAll(list.into_iter()));
    }

    pub(super) fn add_sender(&self) {
        // Relaxed: a new handle is made from an existing one, which keeps the count above 0.
        if self.senders.fetch_add(1, Relaxed) > isize::MAX as usize {
            // As `Arc` does: that many leaked clones means something is badly wrong.
            std::process::abort();
        }
    }

    pub(super) fn drop_sender(&self) {
        if self.senders.fetch_sub(1, AcqRel) == 1 {
            self.close();
        }
    }

    // ---- receiver --------------------------------------------------------------------

    /// Takes the message at the head if it is published. Receiver only.
    pub(super) fn take(&self) -> Option<T> {
        let head = self.head.load(Relaxed);
        let slot = self.slot(head);
        // Acquire: pairs with the publishing `fetch_or`, so the message is fully written.
        let stamp = slot.stamp.load(Acquire);
        if stamp & !(RX_WAIT | TX_WAIT) != head | FULL {
            return None;
        }
        // SAFETY: the stamp says the slot holds the message published for `head`; only the
        // receiver (us: `&mut Receiver`) reads it, and no sender writes the slot again until
        // the stamp below frees it.
        let value = slot.value.with(|v| unsafe { (*v).assume_init_read() });
        // The head moves first, so a sender that claims the freed slot finds `len` updated.
        self.head.store(self.next(head), Release);
        // Release frees the slot after our read. A swap: it reads a TX_WAIT set meanwhile.
        let old = slot.stamp.swap(head.wrapping_add(self.one_lap), AcqRel);
        if old & TX_WAIT != 0 {
            self.wake_senders();
        }
        Some(value)
    }

    /// A message, or `Ready(None)` once the channel is closed and empty, or `Pending`
    /// with the receiver's waker registered where the next sender will find it.
    ///
    /// `in_burst` (the previous poll returned a message) first waits a moment for the next
    /// message: a sender in the middle of a burst publishes within that time, and finding
    /// the receiver awake spares it the wake (a system call to unpark a thread or notify a
    /// reactor) and the receiver a park. A receiver that found nothing last time does not
    /// spin, so an idle channel polled again and again (a `select` loop) costs nothing.
    pub(super) fn poll_take(&self, cx: &mut Context<'_>, in_burst: bool) -> Poll<Option<T>> {
        if let Some(value) = self.take() {
            return Poll::Ready(Some(value));
        }
        // Not under loom: the spin only repeats `take`, and would multiply the states.
        #[cfg(not(loom))]
        if in_burst {
            for _ in 0..SPINS_BEFORE_PARK {
                std::hint::spin_loop();
                if let Some(value) = self.take() {
                    return Poll::Ready(Some(value));
                }
            }
        }
        #[cfg(loom)]
        let _ = in_burst;
        loop {
            if let Some(value) = self.take() {
                return Poll::Ready(Some(value));
            }
            self.rx_waker.register(cx.waker());
            let head = self.head.load(Relaxed);
            let tail = self.tail.load(Acquire);
            if tail & !FLAGS == head {
                // Nothing claimed: empty (and closed, or not).
                if tail & CLOSED != 0 {
                    return Poll::Ready(None);
                }
                // Set PARKED only if no claim came since our load: the next claim then
                // reads it (its CAS sees the latest tail) and wakes us. Release: our waker
                // registration travels with the flag.
                if self
                    .tail
                    .compare_exchange(tail, tail | PARKED, AcqRel, Relaxed)
                    .is_ok()
                {
                    return Poll::Pending;
                }
            } else {
                // The head slot is claimed but maybe not yet written: ask its publisher (its
                // RMW reads the flag) to wake us. The slot serves `head` until we free it,
                // so an OR is safe; if it finds FULL, the message is there: take it.
                let old = self.slot(head).stamp.fetch_or(RX_WAIT, AcqRel);
                if old & FULL == 0 {
                    return Poll::Pending;
                }
            }
        }
    }

    /// A message, or why there is none right now. Receiver only.
    pub(super) fn try_take(&self) -> Result<T, TryRecvError> {
        if let Some(value) = self.take() {
            return Ok(value);
        }
        let tail = self.tail.load(Acquire);
        if tail & CLOSED != 0 && tail & !FLAGS == self.head.load(Relaxed) {
            Err(TryRecvError::Closed)
        } else {
            Err(TryRecvError::Empty)
        }
    }

    // ---- both ----------------------------------------------------------------------

    /// Closes the channel; `true` if this call did it. Wakes the receiver and every
    /// waiting sender.
    pub(super) fn close(&self) -> bool {
        let old = self.tail.fetch_or(CLOSED, AcqRel);
        if old & CLOSED != 0 {
            return false;
        }
        if old & PARKED != 0 {
            self.rx_waker.wake();
        }
        self.wake_senders();
        true
    }

    pub(super) fn is_closed(&self) -> bool {
        self.tail.load(Acquire) & CLOSED != 0
    }

    /// Messages claimed and not yet received (a snapshot: both ends may move meanwhile).
    pub(super) fn len(&self) -> usize {
        let cap = self.slots.len();
        loop {
            let tail = self.tail.load(Acquire) & !FLAGS;
            let head = self.head.load(Acquire);
            if self.tail.load(Acquire) & !FLAGS != tail {
                continue;
            }
            let lap_shift = self.one_lap.trailing_zeros();
            let laps =
                (tail >> lap_shift).wrapping_sub(head >> lap_shift) & (usize::MAX >> lap_shift);
            let (t, h) = (self.index(tail), self.index(head));
            return match laps {
                0 => t.saturating_sub(h),
                1 => (cap - h + t).min(cap),
                _ => cap,
            };
        }
    }
}

impl<T> Drop for Ring<T> {
    fn drop(&mut self) {
        // Every handle is gone: each claimed position has been published (a claim and its
        // publish happen in one call), so [head, tail) holds exactly the messages left.
        let head = load_mut(&mut self.head.0);
        let tail = load_mut(&mut self.tail.0) & !FLAGS;
        drop_messages(self, head, tail);
    }
}

/// Drops the messages in positions `[from, to)`; if one's `Drop` panics, the rest are still
/// dropped while unwinding (a second panic aborts, as for a `Vec`).
fn drop_messages<T>(ring: &Ring<T>, from: usize, to: usize) {
    struct Rest<'a, T> {
        ring: &'a Ring<T>,
        pos: usize,
        to: usize,
    }
    impl<T> Drop for Rest<'_, T> {
        fn drop(&mut self) {
            if self.pos != self.to {
                drop_messages(self.ring, self.pos, self.to);
            }
        }
    }
    let mut rest = Rest {
        ring,
        pos: from,
        to,
    };
    while rest.pos != rest.to {
        let pos = rest.pos;
        rest.pos = ring.next(pos);
        // SAFETY: called from `Ring::drop` (no other handle exists) for positions between
        // head and tail, which hold published, unreceived messages; `rest.pos` moved past
        // this one first, so it is dropped exactly once even if its `Drop` panics.
        ring.slot(pos)
            .value
            .with_mut(|v| unsafe { (*v).assume_init_drop() });
    }
}

impl<T> fmt::Debug for Ring<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ring")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn positions_wrap_laps() {
        let ring = Ring::<u8>::new(3);
        assert_eq!(ring.one_lap, 4 << POS_SHIFT);
        let mut pos = 0;
        let mut seen = Vec::new();
        for _ in 0..7 {
            seen.push((ring.index(pos), pos >> ring.one_lap.trailing_zeros()));
            pos = ring.next(pos);
        }
        assert_eq!(
            seen,
            [(0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (2, 1), (0, 2)]
        );
    }

    #[test]
    fn position_words_wrap_around_usize() {
        let ring = Ring::<u8>::new(2);
        let last_lap = usize::MAX & !(ring.one_lap - 1);
        let pos = ring.next(last_lap + (1 << POS_SHIFT));
        assert_eq!(pos, 0, "the lap counter wraps to 0");
        // Stamps compare with wrapping arithmetic: one lap before 0 is the last lap.
        assert_eq!(0usize.wrapping_sub(ring.one_lap), last_lap);
    }

    #[test]
    fn len_counts_across_laps() {
        let ring = Ring::<u32>::new(3);
        for round in 0..5u32 {
            for i in 0..3 {
                assert!(ring.try_push(round * 10 + i).is_ok());
                assert_eq!(ring.len(), i as usize + 1);
            }
            assert!(matches!(ring.try_push(99), Err(PushError::Full(99, _))));
            for i in 0..3 {
                assert_eq!(ring.take(), Some(round * 10 + i));
                assert_eq!(ring.len(), 2 - i as usize);
            }
            assert_eq!(ring.take(), None);
        }
    }

    #[test]
    fn drop_frees_what_is_left() {
        let ring = Ring::<Box<u32>>::new(4);
        for i in 0..4 {
            assert!(ring.try_push(Box::new(i)).is_ok());
        }
        assert_eq!(*ring.take().unwrap(), 0);
        drop(ring); // Miri checks the three boxes left are freed once.
    }
}
