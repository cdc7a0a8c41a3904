//! A hierarchical timing wheel: the reactor's timer store.
//!
//! # Layout
//!
//! Time is counted in *ticks* of 1 ms since the wheel's `origin`. The wheel has
//! [`LEVELS`] = 6 levels of 64 slots; a slot on level `l` spans `64^l` ticks, so the
//! levels together span `64^6` ms (about 795 days) around the wheel's current tick
//! (`elapsed`). A timer due tick `when` is filed on the level of the highest bit in
//! which `when` and `elapsed` differ (6 bits per level), in the slot given by `when`'s
//! 6 bits for that level. Consequences used throughout:
//!
//! * every timer on level `l` shares with `elapsed` all bits above level `l`, so its
//!   slot is at or after `elapsed`'s own position on that level (strictly after on
//!   levels above 0), and the levels are ordered: each timer on level `l` is due
//!   after each timer on levels below `l`;
//! * finding the next slot is one mask and one `trailing_zeros` per level on the
//!   64-bit occupancy bitmaps;
//! * when `elapsed` reaches a slot on level `l > 0`, its timers are filed again
//!   ("cascade") and land on lower levels.
//!
//! Timers due beyond the 795-day horizon sit on a separate *overflow* list that is
//! filed again each time `elapsed` crosses into a new 795-day epoch.
//!
//! Deadlines are kept exactly (nanoseconds since `origin`); the 1 ms slot width only
//! organises them. The slot of the current tick holds timers due later in the same
//! millisecond, and [`Wheel::fire_expired`] wakes only those with `deadline <= now`,
//! so a timer never fires early.
//!
//! # Memory
//!
//! Timers live in a slab (`Vec<Entry>` plus a free list threaded through the unused
//! entries) and are chained into intrusive doubly linked lists by `u32` index, so
//! insert, reset and remove are O(1) and allocate nothing once the slab has grown to
//! the peak number of timers. An entry is 40 bytes on 64-bit targets (deadline 8,
//! links 8, generation 4, location 2, waker 16, padding 2); a million pending timers
//! cost 40 MB. A [`TimerKey`] carries the entry's index and generation; the generation
//! is bumped whenever an entry is freed, so a key kept after its timer fired or was
//! removed is recognised as stale (it would only match again after 2^32 reuses of
//! the very same entry).
//!
//! # Re-entrancy
//!
//! The wheel never calls a [`Waker`]'s `wake` while it is borrowed: [`Wheel::fire_expired`]
//! hands each expired waker *by value* to a closure; the reactor's closure pushes it
//! onto a `Vec` the reactor owns and wakes them after the wheel's borrow ends. Wakers
//! are *dropped* inside the wheel by [`Wheel::remove`] and [`Wheel::set_waker`]; that
//! is fine for wakers whose drop only releases a reference count (std's, and the
//! executor's), but a waker whose drop re-enters the reactor would find it borrowed.

use std::fmt;
use std::task::Waker;
use std::time::{Duration, Instant};

/// Number of levels.
const LEVELS: usize = 6;
/// Bits of a tick number consumed by one level.
const SLOT_BITS: u32 = 6;
/// Slots per level.
const SLOTS: usize = 1 << SLOT_BITS;
/// Bits of a tick number covered by the whole wheel (beyond: overflow list).
const WHEEL_BITS: u32 = LEVELS as u32 * SLOT_BITS;
/// Nanoseconds per tick (the width of a level-0 slot).
const TICK_NS: u64 = 1_000_000;

/// "No entry" in the links and list heads.
const NIL: u32 = u32::MAX;
/// `location` of the overflow list (the slot lists are `level * SLOTS + slot`).
const LOC_OVERFLOW: u16 = (LEVELS * SLOTS) as u16;
/// Number of lists (all slots plus the overflow list).
const LISTS: usize = LEVELS * SLOTS + 1;
/// `location` of a free entry.
const LOC_FREE: u16 = u16::MAX;

/// Identifies a timer in a [`Wheel`]: slab index plus generation.
///
/// Keys are cheap to copy; a key whose timer fired or was removed is *stale* and
/// every operation treats it as "not pending".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct TimerKey {
    index: u32,
    generation: u32,
}

/// One slab entry: a pending timer, or a free entry on the free list.
///
/// 40 bytes on 64-bit targets (checked by a test).
struct Entry {
    /// Exact deadline in nanoseconds since the wheel's origin (saturated).
    deadline: u64,
    /// Previous entry in the same list, or `NIL`.
    prev: u32,
    /// Next entry in the same list (or in the free list), or `NIL`.
    next: u32,
    /// Bumped each time the entry is freed; keys must match it.
    generation: u32,
    /// The list this entry is on: `level * SLOTS + slot`, `LOC_OVERFLOW` or `LOC_FREE`.
    location: u16,
    /// The waker to wake on expiry; `None` exactly when the entry is free.
    waker: Option<Waker>,
}

/// What [`Wheel::next_deadline`] knows without looking at the lists again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cached {
    /// Must be recomputed.
    Unknown,
    /// No timers at all.
    Empty,
    /// Nanoseconds since origin, at or before the earliest deadline.
    At(u64),
}

/// A hierarchical timing wheel of [`Waker`]s (see the module docs).
pub(crate) struct Wheel {
    /// Tick 0.
    origin: Instant,
    /// The wheel's current tick: every slot before it has been processed.
    elapsed: u64,
    /// The slab.
    entries: Vec<Entry>,
    /// Head of the free list threaded through `Entry::next`, or `NIL`.
    free: u32,
    /// Number of pending timers.
    len: usize,
    /// First entry of each list (FIFO: appended at the tail), or `NIL`.
    heads: [u32; LISTS],
    /// Last entry of each list, or `NIL`.
    tails: [u32; LISTS],
    /// Bit `s` of `occupied[l]` is set exactly when slot `s` of level `l` is non-empty.
    occupied: [u64; LEVELS],
    /// Cache for `next_deadline` (invalidated by removals and firing).
    cached: Cached,
}

impl fmt::Debug for Wheel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wheel")
            .field("origin", &self.origin)
            .field("elapsed_ticks", &self.elapsed)
            .field("len", &self.len)
            .field("capacity", &self.entries.len())
            .finish_non_exhaustive()
    }
}

impl Wheel {
    /// Creates an empty wheel whose tick 0 is `origin`.
    pub(crate) fn new(origin: Instant) -> Wheel {
        Wheel {
            origin,
            elapsed: 0,
            entries: Vec::new(),
            free: NIL,
            len: 0,
            heads: [NIL; LISTS],
            tails: [NIL; LISTS],
            occupied: [0; LEVELS],
            cached: Cached::Empty,
        }
    }

    /// Number of pending timers.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Adds a timer that wakes `waker` once `deadline` has passed. O(1).
    ///
    /// A deadline before the origin or before the wheel's current time fires at the
    /// next [`fire_expired`](Self::fire_expired); a deadline more than ~584 years
    /// after the origin is treated as "never" (it stays pending and never fires).
    ///
    /// # Panics
    ///
    /// If more than `u32::MAX - 1` timers are pending at once (160 GiB of entries).
    pub(crate) fn insert(&mut self, deadline: Instant, waker: Waker) -> TimerKey {
        let deadline = self.ns_since_origin(deadline);
        let index = match self.free {
            NIL => {
                let index = u32::try_from(self.entries.len())
                    .ok()
                    .filter(|&i| i != NIL)
                    .expect("timer wheel: more than u32::MAX - 1 pending timers");
                self.entries.push(Entry {
                    deadline,
                    prev: NIL,
                    next: NIL,
                    generation: 0,
                    location: LOC_FREE,
                    waker: Some(waker),
                });
                index
            }
            index => {
                let entry = &mut self.entries[index as usize];
                self.free = entry.next;
                entry.deadline = deadline;
                entry.waker = Some(waker);
                index
            }
        };
        self.link(index);
        self.len += 1;
        self.cache_inserted(deadline);
        TimerKey {
            index,
            generation: self.entries[index as usize].generation,
        }
    }

    /// Moves a pending timer to a new deadline, keeping its waker. O(1).
    ///
    /// Returns `false` (and does nothing) if the timer already fired or was removed.
    pub(crate) fn reset(&mut self, key: TimerKey, deadline: Instant) -> bool {
        if !self.is_pending(key) {
            return false;
        }
        let deadline = self.ns_since_origin(deadline);
        let old = self.entries[key.index as usize].deadline;
        if self.location_for(deadline) == self.entries[key.index as usize].location {
            // The same list (an idle timeout pushed back by a few milliseconds stays in
            // its coarse slot): the exact deadline is read when the slot is processed, so
            // only it changes. The entry keeps its place in the list.
            self.entries[key.index as usize].deadline = deadline;
        } else {
            self.unlink(key.index);
            self.entries[key.index as usize].deadline = deadline;
            self.link(key.index);
        }
        self.cache_removed(old);
        self.cache_inserted(deadline);
        true
    }

    /// Replaces the waker of a pending timer, cloning `waker` only if the stored one
    /// would not wake the same task. Does nothing for a stale key.
    pub(crate) fn set_waker(&mut self, key: TimerKey, waker: &Waker) {
        if !self.is_pending(key) {
            return;
        }
        if let Some(stored) = &mut self.entries[key.index as usize].waker {
            if !stored.will_wake(waker) {
                stored.clone_from(waker);
            }
        }
    }

    /// Cancels a timer. O(1). Returns `true` if it was still pending.
    pub(crate) fn remove(&mut self, key: TimerKey) -> bool {
        if !self.is_pending(key) {
            return false;
        }
        let deadline = self.entries[key.index as usize].deadline;
        self.unlink(key.index);
        drop(self.release(key.index));
        self.cache_removed(deadline);
        true
    }

    /// Whether the timer is still pending (not fired, not removed).
    pub(crate) fn is_pending(&self, key: TimerKey) -> bool {
        self.entries
            .get(key.index as usize)
            .is_some_and(|e| e.generation == key.generation && e.location != LOC_FREE)
    }

    /// When the reactor must next call [`fire_expired`](Self::fire_expired), or `None`
    /// if no timer is pending.
    ///
    /// The result is never later than the earliest pending deadline. It is that
    /// deadline exactly when the earliest timer is in the current 64 ms block (or was
    /// inserted since the last firing); otherwise it is the start of the slot that
    /// must be cascaded next, a lower bound. Right after `fire_expired(now)` it is
    /// always later than `now`, so a loop that sleeps until this instant and then
    /// calls `fire_expired` never spins. Cached: cheap to call every loop iteration.
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        if self.cached == Cached::Unknown {
            self.cached = self.compute_next();
        }
        match self.cached {
            Cached::At(ns) => self.origin.checked_add(Duration::from_nanos(ns)),
            Cached::Empty | Cached::Unknown => None,
        }
    }

    /// Removes every timer whose deadline is `<= now` and passes its waker to `wake`,
    /// with how late it fires (`now` minus its deadline, in nanoseconds); returns how
    /// many fired.
    ///
    /// `wake` runs while the wheel is mutably borrowed, so it cannot touch the wheel;
    /// the reactor should push the wakers onto a reusable `Vec` and call `wake` on
    /// them after its borrow of the wheel ends. Timers fire slot by slot (all timers of
    /// one millisecond in insertion order). `now` earlier than a previous call's `now`
    /// fires nothing new and never moves the wheel backwards.
    pub(crate) fn fire_expired(&mut self, now: Instant, mut wake: impl FnMut(Waker, u64)) -> usize {
        let now_ns = self.ns_since_origin(now);
        let now_tick = now_ns / TICK_NS;
        let mut fired = 0;
        let mut changed = false;
        while let Some((location, tick)) = self.next_expiration() {
            if tick > now_tick {
                break;
            }
            changed = true;
            if location == LOC_OVERFLOW {
                // All levels are empty (the overflow list comes last), so the wheel can
                // jump straight to `now`; what is due by then lands in the current slot.
                self.elapsed = now_tick;
                self.refile(location);
            } else if usize::from(location) < SLOTS {
                self.elapsed = tick;
                if tick == now_tick {
                    // The current millisecond: only what is due by `now` fires; the rest
                    // stays. Every other slot is later, so this is the last step.
                    fired += self.fire_slot_until(location, now_ns, now_ns, &mut wake);
                    break;
                }
                // A past millisecond: everything in it is due (deadline < now).
                fired += self.fire_slot_until(location, u64::MAX, now_ns, &mut wake);
            } else {
                self.elapsed = tick;
                self.refile(location);
            }
        }
        if now_tick > self.elapsed {
            // No slot lies in (elapsed, now_tick], so every timer stays correctly filed.
            self.elapsed = now_tick;
            changed = true;
        }
        if changed {
            self.cached = if self.len == 0 {
                Cached::Empty
            } else {
                Cached::Unknown
            };
        }
        fired
    }

    /// Nanoseconds from the origin to `t`: 0 before the origin, saturated at `u64::MAX`.
    fn ns_since_origin(&self, t: Instant) -> u64 {
        t.checked_duration_since(self.origin)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    }

    /// The list a timer due at `deadline` (ns) belongs on, given the current `elapsed`.
    fn location_for(&self, deadline: u64) -> u16 {
        let when = (deadline / TICK_NS).max(self.elapsed);
        // `| (SLOTS - 1)` puts equal ticks (and the lowest bits) on level 0.
        let differing = (self.elapsed ^ when) | (SLOTS as u64 - 1);
        let level = (63 - differing.leading_zeros()) / SLOT_BITS;
        if level as usize >= LEVELS {
            return LOC_OVERFLOW;
        }
        let slot = (when >> (level * SLOT_BITS)) & (SLOTS as u64 - 1);
        // < LEVELS * SLOTS = 384.
        (level as usize * SLOTS + slot as usize) as u16
    }

    /// The next list to process and the tick at which it is due, or `None` if empty.
    fn next_expiration(&self) -> Option<(u16, u64)> {
        for level in 0..LEVELS {
            let shift = level as u32 * SLOT_BITS;
            let position = (self.elapsed >> shift) & (SLOTS as u64 - 1);
            let occupied = self.occupied[level];
            // Level 0 may hold the current tick's slot; higher levels only later slots.
            let behind = if level == 0 {
                !(u64::MAX << position)
            } else {
                !(u64::MAX << position) | (1 << position)
            };
            debug_assert_eq!(occupied & behind, 0, "timer wheel: slot behind elapsed");
            let ahead = occupied & (u64::MAX << position);
            if ahead != 0 {
                let slot = u64::from(ahead.trailing_zeros());
                let block_start = self.elapsed & !((1u64 << (shift + SLOT_BITS)) - 1);
                let location = (level * SLOTS) as u16 + slot as u16;
                return Some((location, block_start + (slot << shift)));
            }
        }
        (self.heads[usize::from(LOC_OVERFLOW)] != NIL).then(|| {
            let epoch = (self.elapsed >> WHEEL_BITS) + 1;
            (LOC_OVERFLOW, epoch << WHEEL_BITS)
        })
    }

    /// Recomputes what `next_deadline` reports.
    fn compute_next(&self) -> Cached {
        match self.next_expiration() {
            None => Cached::Empty,
            Some((location, _)) if usize::from(location) < SLOTS => {
                // A level-0 slot: the exact earliest deadline.
                let mut earliest = u64::MAX;
                let mut index = self.heads[usize::from(location)];
                while index != NIL {
                    let entry = &self.entries[index as usize];
                    earliest = earliest.min(entry.deadline);
                    index = entry.next;
                }
                Cached::At(earliest)
            }
            Some((_, tick)) => Cached::At(tick.saturating_mul(TICK_NS)),
        }
    }

    /// Keeps the cache a lower bound after inserting a timer due at `deadline`.
    fn cache_inserted(&mut self, deadline: u64) {
        self.cached = match self.cached {
            Cached::Unknown => Cached::Unknown,
            Cached::Empty => Cached::At(deadline),
            Cached::At(ns) => Cached::At(ns.min(deadline)),
        };
    }

    /// Invalidates the cache if the removed timer (due at `deadline`) may have been
    /// the one it reports. A lower bound stays a lower bound when a timer goes away.
    fn cache_removed(&mut self, deadline: u64) {
        if self.len == 0 {
            self.cached = Cached::Empty;
        } else if let Cached::At(ns) = self.cached {
            if deadline <= ns {
                self.cached = Cached::Unknown;
            }
        }
    }

    /// Appends entry `index` (not on any list) to the tail of the list its deadline
    /// belongs on.
    fn link(&mut self, index: u32) {
        let location = self.location_for(self.entries[index as usize].deadline);
        let list = usize::from(location);
        let tail = self.tails[list];
        {
            let entry = &mut self.entries[index as usize];
            entry.location = location;
            entry.prev = tail;
            entry.next = NIL;
        }
        if tail == NIL {
            self.heads[list] = index;
            if location != LOC_OVERFLOW {
                self.occupied[list / SLOTS] |= 1 << (list % SLOTS);
            }
        } else {
            self.entries[tail as usize].next = index;
        }
        self.tails[list] = index;
    }

    /// Takes entry `index` off its list (it stays allocated).
    fn unlink(&mut self, index: u32) {
        let (prev, next, location) = {
            let entry = &self.entries[index as usize];
            (entry.prev, entry.next, entry.location)
        };
        let list = usize::from(location);
        if prev == NIL {
            self.heads[list] = next;
        } else {
            self.entries[prev as usize].next = next;
        }
        if next == NIL {
            self.tails[list] = prev;
        } else {
            self.entries[next as usize].prev = prev;
        }
        if self.heads[list] == NIL && location != LOC_OVERFLOW {
            self.occupied[list / SLOTS] &= !(1 << (list % SLOTS));
        }
    }

    /// Frees an unlinked entry: bumps its generation, puts it on the free list and
    /// returns its waker.
    fn release(&mut self, index: u32) -> Option<Waker> {
        let entry = &mut self.entries[index as usize];
        entry.generation = entry.generation.wrapping_add(1);
        entry.location = LOC_FREE;
        entry.prev = NIL;
        entry.next = self.free;
        self.free = index;
        self.len -= 1;
        entry.waker.take()
    }

    /// Detaches the whole list at `location` and returns its first entry.
    fn detach(&mut self, location: u16) -> u32 {
        let list = usize::from(location);
        let head = self.heads[list];
        self.heads[list] = NIL;
        self.tails[list] = NIL;
        if location != LOC_OVERFLOW {
            self.occupied[list / SLOTS] &= !(1 << (list % SLOTS));
        }
        head
    }

    /// Files every timer of the list at `location` again, relative to `elapsed`.
    fn refile(&mut self, location: u16) {
        let mut index = self.detach(location);
        while index != NIL {
            let next = self.entries[index as usize].next;
            self.link(index);
            index = next;
        }
    }

    /// Fires the timers of a level-0 slot whose deadline is `<= until` (ns).
    fn fire_slot_until(
        &mut self,
        location: u16,
        until: u64,
        now: u64,
        wake: &mut impl FnMut(Waker, u64),
    ) -> usize {
        let mut fired = 0;
        let mut index = self.heads[usize::from(location)];
        while index != NIL {
            let (next, deadline) = {
                let entry = &self.entries[index as usize];
                (entry.next, entry.deadline)
            };
            if deadline <= until {
                self.unlink(index);
                if let Some(waker) = self.release(index) {
                    wake(waker, now.saturating_sub(deadline));
                }
                fired += 1;
            }
            index = next;
        }
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, HashMap};
    use std::sync::{Arc, Mutex};
    use std::task::Wake;

    const MS: u64 = 1_000_000;
    const SEC: u64 = 1_000 * MS;
    const HOUR: u64 = 3_600 * SEC;
    const DAY: u64 = 24 * HOUR;
    const YEAR: u64 = 365 * DAY;

    /// A waker that logs its id when woken.
    struct IdWaker {
        id: usize,
        log: Arc<Mutex<Vec<usize>>>,
    }

    impl Wake for IdWaker {
        fn wake(self: Arc<Self>) {
            self.log.lock().unwrap().push(self.id);
        }
    }

    /// A wheel under test, its origin and a log of woken ids.
    struct Harness {
        wheel: Wheel,
        origin: Instant,
        log: Arc<Mutex<Vec<usize>>>,
    }

    impl Harness {
        fn new() -> Harness {
            let origin = Instant::now();
            Harness {
                wheel: Wheel::new(origin),
                origin,
                log: Arc::default(),
            }
        }

        fn at(&self, ns: u64) -> Instant {
            self.origin + Duration::from_nanos(ns)
        }

        fn waker(&self, id: usize) -> Waker {
            Waker::from(Arc::new(IdWaker {
                id,
                log: self.log.clone(),
            }))
        }

        fn insert(&mut self, ns: u64, id: usize) -> TimerKey {
            let waker = self.waker(id);
            self.wheel.insert(self.at(ns), waker)
        }

        fn reset(&mut self, key: TimerKey, ns: u64) -> bool {
            let at = self.at(ns);
            self.wheel.reset(key, at)
        }

        /// Fires at `ns` and returns the woken ids in wake order.
        fn fire(&mut self, ns: u64) -> Vec<usize> {
            let mut wakers = Vec::new();
            let n = self.wheel.fire_expired(self.at(ns), |w, _| wakers.push(w));
            assert_eq!(n, wakers.len());
            wakers.into_iter().for_each(Waker::wake);
            std::mem::take(&mut *self.log.lock().unwrap())
        }

        /// The reactor loop: sleep until `next_deadline`, fire, repeat until empty.
        /// Returns `(id, fired at ns)` and checks the loop never spins.
        fn run_until_empty(&mut self, mut now: u64) -> Vec<(usize, u64)> {
            let mut fired = Vec::new();
            let mut steps = 0;
            // One exact step per timer, plus at most one cascade step per level each.
            let max_steps = (LEVELS + 2) * self.wheel.len() + 10;
            while let Some(next) = self.wheel.next_deadline() {
                let next = u64::try_from(next.duration_since(self.origin).as_nanos()).unwrap();
                assert!(
                    next > now || steps == 0,
                    "busy loop: next {next} <= now {now}"
                );
                now = now.max(next);
                fired.extend(self.fire(now).into_iter().map(|id| (id, now)));
                steps += 1;
                assert!(steps <= max_steps, "too many steps");
            }
            assert_eq!(self.wheel.len(), 0);
            fired
        }
    }

    /// Tiny deterministic PRNG for the randomised tests.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: u64) -> u64 {
            if n == 0 { 0 } else { self.next() % n }
        }
    }

    #[test]
    fn entry_is_small() {
        if cfg!(target_pointer_width = "64") {
            assert_eq!(std::mem::size_of::<Entry>(), 40);
        }
        assert_eq!(std::mem::size_of::<TimerKey>(), 8);
    }

    #[test]
    fn equal_deadlines_fire_together_in_insertion_order() {
        let mut h = Harness::new();
        let d = 5 * MS + 123;
        for id in 0..3 {
            h.insert(d, id);
        }
        assert_eq!(h.wheel.next_deadline(), Some(h.at(d)));
        assert!(h.fire(d - 1).is_empty());
        assert_eq!(h.wheel.len(), 3);
        assert_eq!(h.fire(d), vec![0, 1, 2]);
        assert_eq!(h.wheel.len(), 0);
        assert_eq!(h.wheel.next_deadline(), None);
    }

    #[test]
    fn fires_in_order_across_levels_never_early() {
        let mut h = Harness::new();
        let deadlines = [MS, 70 * MS, 5 * SEC, 2 * HOUR, 40 * DAY, 3 * YEAR];
        // Insert in reverse so insertion order does not help.
        for (id, &d) in deadlines.iter().enumerate().rev() {
            h.insert(d, id);
        }
        let fired = h.run_until_empty(0);
        let expected: Vec<_> = deadlines.iter().copied().enumerate().collect();
        assert_eq!(
            fired, expected,
            "each timer fires exactly at its deadline, in order"
        );
    }

    #[test]
    fn one_nanosecond_early_fires_nothing() {
        let mut h = Harness::new();
        let deadlines = [MS, 70 * MS, 5 * SEC, 2 * HOUR, 40 * DAY, 3 * YEAR];
        for (id, &d) in deadlines.iter().enumerate() {
            h.insert(d, id);
        }
        for (id, &d) in deadlines.iter().enumerate() {
            assert!(h.fire(d - 1).is_empty(), "timer {id} fired early");
            assert_eq!(h.fire(d), vec![id]);
        }
    }

    #[test]
    fn cascades_at_level_boundaries() {
        let mut h = Harness::new();
        let mut deadlines = Vec::new();
        for level in 1..=LEVELS as u32 {
            let boundary = (1u64 << (level * SLOT_BITS)) * MS;
            deadlines.extend([boundary - 1, boundary, boundary + 1, boundary + MS]);
        }
        deadlines.sort_unstable();
        for (id, &d) in deadlines.iter().enumerate() {
            h.insert(d, id);
        }
        let fired = h.run_until_empty(0);
        let expected: Vec<_> = deadlines.iter().copied().enumerate().collect();
        assert_eq!(fired, expected);
    }

    #[test]
    fn boundaries_relative_to_a_moved_wheel() {
        // The same boundaries, but counted from a current tick in mid-slot everywhere.
        let mut h = Harness::new();
        let start = 12_345_678 * MS + 999_999;
        assert!(h.fire(start).is_empty());
        let mut deadlines = Vec::new();
        for level in 0..=LEVELS as u32 {
            let span = (1u64 << (level * SLOT_BITS)) * MS;
            deadlines.extend([start + span - 1, start + span, start + span + 1]);
        }
        deadlines.sort_unstable();
        for (id, &d) in deadlines.iter().enumerate() {
            h.insert(d, id);
        }
        let fired = h.run_until_empty(start);
        let expected: Vec<_> = deadlines.iter().copied().enumerate().collect();
        assert_eq!(fired, expected);
    }

    #[test]
    fn long_uptime_then_insert() {
        let offsets = [MS, 70 * MS, 5 * SEC, 2 * HOUR, 40 * DAY, 3 * YEAR];
        // 400 days: within one epoch of the wheel; 1000 days: beyond it.
        for uptime in [400 * DAY, 1_000 * DAY, 20 * YEAR] {
            for fire_first in [true, false] {
                let mut h = Harness::new();
                if fire_first {
                    assert!(h.fire(uptime).is_empty());
                }
                for (id, &d) in offsets.iter().enumerate() {
                    h.insert(uptime + d, id);
                }
                let fired = h.run_until_empty(uptime);
                let expected: Vec<_> = offsets.iter().map(|&d| uptime + d).enumerate().collect();
                assert_eq!(fired, expected, "uptime {uptime} fire_first {fire_first}");
            }
        }
    }

    #[test]
    fn past_and_far_deadlines() {
        let mut h = Harness::new();
        assert!(h.fire(10 * SEC).is_empty());
        // Before the wheel's current time, and before the origin.
        h.insert(3 * SEC, 0);
        if let Some(before) = h.origin.checked_sub(Duration::from_secs(1)) {
            let waker = h.waker(1);
            h.wheel.insert(before, waker);
        } else {
            h.insert(0, 1);
        }
        let next = h.wheel.next_deadline().unwrap();
        assert!(next <= h.at(3 * SEC));
        assert_eq!(
            h.fire(10 * SEC),
            vec![0, 1],
            "past deadlines fire at the next call"
        );

        // Beyond u64 nanoseconds (~584 years): parked as "never", no panic.
        let far = h.origin + Duration::from_secs(1_000 * 365 * 86_400);
        let key_far = h.wheel.insert(far, h.waker(2));
        let key_550 = h.insert(550 * YEAR, 3);
        assert!(
            h.wheel
                .next_deadline()
                .is_some_and(|d| d <= h.at(550 * YEAR))
        );
        assert!(h.fire(500 * YEAR).is_empty());
        assert!(h.wheel.next_deadline().unwrap() > h.at(500 * YEAR));
        assert_eq!(h.fire(550 * YEAR), vec![3]);
        assert!(!h.wheel.is_pending(key_550));
        assert!(h.wheel.is_pending(key_far));
        assert!(h.fire(u64::MAX - 1).is_empty());
        let _ = h.wheel.next_deadline();
        assert!(h.wheel.remove(key_far));
        assert_eq!(h.wheel.next_deadline(), None);
    }

    #[test]
    fn many_timers_most_removed() {
        let mut h = Harness::new();
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let n = 100_000;
        let mut keys = Vec::with_capacity(n);
        let mut deadline_of = Vec::with_capacity(n);
        for id in 0..n {
            let scale = [10 * MS, SEC, 60 * SEC, HOUR, 30 * DAY][id % 5];
            let d = 1 + rng.below(scale);
            deadline_of.push(d);
            keys.push(h.insert(d, id));
        }
        assert_eq!(h.wheel.len(), n);
        let mut kept = Vec::new();
        for (id, &key) in keys.iter().enumerate() {
            if rng.below(10) == 0 {
                kept.push(id);
            } else {
                assert!(h.wheel.remove(key));
            }
        }
        assert_eq!(h.wheel.len(), kept.len());
        // Steady state: new timers reuse freed entries.
        let capacity = h.wheel.entries.len();
        let extra: Vec<_> = (n..n + 50_000)
            .map(|id| h.insert(SEC + id as u64, id))
            .collect();
        assert_eq!(h.wheel.entries.len(), capacity, "freed entries are reused");
        for key in extra {
            assert!(h.wheel.remove(key));
        }

        let fired = h.run_until_empty(0);
        assert_eq!(fired.len(), kept.len());
        let mut seen = vec![false; n];
        let mut last = 0;
        for &(id, at) in &fired {
            assert!(!seen[id], "timer {id} fired twice");
            seen[id] = true;
            assert_eq!(at, deadline_of[id], "timer {id} fired at the wrong time");
            assert!(at >= last, "out of order");
            last = at;
        }
        assert!(kept.iter().all(|&id| seen[id]));
    }

    #[test]
    fn reset_moves_across_levels() {
        let mut h = Harness::new();
        let a = h.insert(5 * SEC, 0); // level 2
        let b = h.insert(MS, 1); // level 0
        assert!(h.reset(a, 2 * MS)); // earlier, down to level 0
        assert!(h.reset(b, 2 * HOUR)); // later, up to level 4
        assert_eq!(h.wheel.next_deadline(), Some(h.at(2 * MS)));
        assert!(h.fire(MS).is_empty());
        assert_eq!(h.fire(2 * MS), vec![0]);
        assert!(!h.reset(a, 3 * MS), "reset after fire");

        // Let `b` cascade part of the way, then move it again.
        assert!(h.fire(HOUR).is_empty());
        assert!(h.reset(b, HOUR + 10 * DAY));
        assert!(h.fire(2 * HOUR).is_empty());
        assert!(h.reset(b, 2 * HOUR + 500));
        let fired = h.run_until_empty(2 * HOUR);
        assert_eq!(fired, vec![(1, 2 * HOUR + 500)]);
    }

    #[test]
    fn set_waker_replaces_the_waker() {
        let mut h = Harness::new();
        let key = h.insert(MS, 0);
        let replacement = h.waker(7);
        h.wheel.set_waker(key, &replacement);
        h.wheel.set_waker(key, &replacement);
        assert_eq!(h.fire(MS), vec![7]);
        h.wheel.set_waker(key, &replacement); // stale: no effect, no panic
    }

    #[test]
    fn remove_after_fire_returns_false() {
        let mut h = Harness::new();
        let key = h.insert(MS, 0);
        assert!(h.wheel.is_pending(key));
        assert_eq!(h.fire(MS), vec![0]);
        assert!(!h.wheel.is_pending(key));
        assert!(!h.wheel.remove(key));
        let key = h.insert(2 * MS, 1);
        assert!(h.wheel.remove(key));
        assert!(!h.wheel.remove(key));
        assert!(h.fire(3 * MS).is_empty());
    }

    #[test]
    fn stale_key_after_slot_reuse() {
        let mut h = Harness::new();
        let old = h.insert(MS, 0);
        assert!(h.wheel.remove(old));
        let new = h.insert(2 * MS, 1);
        assert_eq!(new.index, old.index, "the entry is reused");
        assert_ne!(new, old);
        assert!(!h.wheel.is_pending(old));
        assert!(!h.wheel.remove(old));
        assert!(!h.reset(old, 10 * MS));
        h.wheel.set_waker(old, &h.waker(9));
        assert!(h.wheel.is_pending(new));
        assert_eq!(h.fire(2 * MS), vec![1]);
    }

    #[test]
    fn next_deadline_exact_near_and_bounded_far() {
        let mut h = Harness::new();
        assert_eq!(h.wheel.next_deadline(), None);
        h.insert(10 * MS + 500, 0);
        assert_eq!(h.wheel.next_deadline(), Some(h.at(10 * MS + 500)));
        h.insert(10 * MS + 400, 1);
        assert_eq!(h.wheel.next_deadline(), Some(h.at(10 * MS + 400)));
        assert!(h.fire(5 * MS).is_empty());
        // Recomputed from the lists: the slot is in the current 64 ms block, so exact.
        assert_eq!(h.wheel.next_deadline(), Some(h.at(10 * MS + 400)));
        assert_eq!(h.fire(10 * MS + 450), vec![1]);
        assert_eq!(h.wheel.next_deadline(), Some(h.at(10 * MS + 500)));
        assert_eq!(h.fire(10 * MS + 500), vec![0]);

        // Far away: after a firing, a lower bound that is still in the future.
        h.insert(5 * SEC + 7, 2);
        assert!(h.fire(11 * MS).is_empty());
        let bound = h.wheel.next_deadline().unwrap();
        assert!(bound > h.at(11 * MS) && bound <= h.at(5 * SEC + 7));
        assert_eq!(h.run_until_empty(11 * MS), vec![(2, 5 * SEC + 7)]);
    }

    #[test]
    fn time_going_backwards_is_harmless() {
        let mut h = Harness::new();
        h.insert(10 * MS, 0);
        assert!(h.fire(9 * MS).is_empty());
        assert!(h.fire(MS).is_empty());
        assert_eq!(h.wheel.next_deadline(), Some(h.at(10 * MS)));
        assert_eq!(h.fire(10 * MS), vec![0]);
    }

    /// Random inserts, removes, resets and advances, checked against a `BTreeMap` model.
    #[test]
    fn randomised_against_model() {
        for seed in [1u64, 0xDEAD_BEEF, 0x1234_5678_9ABC, 42] {
            model_run(seed, 20_000);
        }
    }

    fn model_run(seed: u64, ops: usize) {
        let mut h = Harness::new();
        let mut rng = XorShift(seed);
        let mut now = 0u64;
        // (deadline, id) -> key, and id -> (deadline, key).
        let mut model: BTreeMap<(u64, usize), TimerKey> = BTreeMap::new();
        let mut live: HashMap<usize, (u64, TimerKey)> = HashMap::new();
        let mut ids: Vec<usize> = Vec::new();
        let mut dead: Vec<TimerKey> = Vec::new();
        let mut next_id = 0;
        let scales = [
            MS / 3,
            2 * MS,
            100 * MS,
            10 * SEC,
            3 * HOUR,
            100 * DAY,
            5 * YEAR,
        ];
        let pick_deadline = |rng: &mut XorShift, now: u64| {
            if rng.below(20) == 0 {
                now.saturating_sub(rng.below(SEC)) // in the past
            } else {
                let scale = scales[rng.below(scales.len() as u64) as usize];
                now + rng.below(scale)
            }
        };
        for _ in 0..ops {
            match rng.below(100) {
                0..40 => {
                    let d = pick_deadline(&mut rng, now);
                    let id = next_id;
                    next_id += 1;
                    let key = h.insert(d, id);
                    model.insert((d, id), key);
                    live.insert(id, (d, key));
                    ids.push(id);
                }
                40..55 if !ids.is_empty() => {
                    let id = ids.swap_remove(rng.below(ids.len() as u64) as usize);
                    let (d, key) = live.remove(&id).unwrap();
                    model.remove(&(d, id));
                    assert!(h.wheel.remove(key));
                    dead.push(key);
                }
                55..70 if !ids.is_empty() => {
                    let id = ids[rng.below(ids.len() as u64) as usize];
                    let d = pick_deadline(&mut rng, now);
                    let (old, key) = live[&id];
                    model.remove(&(old, id));
                    model.insert((d, id), key);
                    live.insert(id, (d, key));
                    assert!(h.wheel.reset(key, h.at(d)));
                }
                _ => {
                    now = match (rng.below(3), h.wheel.next_deadline()) {
                        (0 | 1, Some(next)) => {
                            let next = next.duration_since(h.origin).as_nanos() as u64;
                            next.max(now)
                        }
                        _ => {
                            // Advances up to 100 days (not years), so that 20,000 steps
                            // stay far below the ~584 years of nanoseconds.
                            let scale = scales[rng.below(scales.len() as u64 - 1) as usize];
                            now + rng.below(scale)
                        }
                    };
                    let mut fired = h.fire(now);
                    let mut expected: Vec<usize> = Vec::new();
                    while let Some(entry) = model.first_entry() {
                        if entry.key().0 > now {
                            break;
                        }
                        let ((_, id), key) = entry.remove_entry();
                        expected.push(id);
                        live.remove(&id);
                        dead.push(key);
                    }
                    ids.retain(|id| live.contains_key(id));
                    fired.sort_unstable();
                    expected.sort_unstable();
                    assert_eq!(fired, expected, "seed {seed}: fired set at {now}");
                    // No busy loop: after firing, the next deadline is in the future.
                    if let Some(next) = h.wheel.next_deadline() {
                        assert!(next > h.at(now), "seed {seed}: next deadline not after now");
                    }
                }
            }
            assert_eq!(h.wheel.len(), model.len());
            match (h.wheel.next_deadline(), model.keys().next()) {
                (None, None) => {}
                (Some(next), Some(&(earliest, _))) => {
                    assert!(
                        next <= h.at(earliest),
                        "seed {seed}: next deadline too late"
                    );
                }
                (got, want) => panic!("seed {seed}: next_deadline {got:?}, model {want:?}"),
            }
            if dead.len() > 64 {
                for key in dead.drain(..) {
                    assert!(!h.wheel.is_pending(key));
                }
            }
        }
        // Drain: everything left fires exactly at its deadline, in order.
        let fired = h.run_until_empty(now);
        let expected: Vec<(usize, u64)> = model.keys().map(|&(d, id)| (id, d.max(now))).collect();
        let mut got = fired;
        got.sort_by_key(|&(id, at)| (at, id));
        let mut want = expected;
        want.sort_by_key(|&(id, at)| (at, id));
        assert_eq!(got, want, "seed {seed}: drain");
    }
}
