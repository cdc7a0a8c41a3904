//! The executor's counters and the long-poll detector (feature `metrics`).
//!
//! Every counter is a `Cell` of the owning thread's part of the executor (`Local`), bumped
//! with a plain add where the event happens: no atomic, no lock, and without the feature no
//! code at all. [`LocalExecutor::metrics`](crate::LocalExecutor::metrics) copies them out.
//!
//! # The long-poll detector
//!
//! On one thread, a task that holds the thread for 50 ms delays every other task by 50 ms.
//! With a threshold set ([`LocalExecutor::set_long_poll_threshold`](crate::LocalExecutor::set_long_poll_threshold)),
//! the executor reads the clock around every poll; a poll longer than the threshold is
//! counted, and the first one of each task is reported through the [`log`] facade
//! (target `solo::long_poll`, level `warn`) with the place the task was spawned
//! (`#[track_caller]` on `spawn`) and how long the poll took. Without a threshold the
//! detector costs one branch per poll and reads no clock.
//!
//! The threshold is [`DEFAULT_LONG_POLL_THRESHOLD`] in builds with debug assertions and
//! off in release builds, unless set.

use std::cell::Cell;
use std::panic::Location;
use std::time::{Duration, Instant};

use crate::raw::{Header, drop_caught};
use crate::state::REPORTED;

/// The long-poll threshold of a new executor in a build with debug assertions (release
/// builds start with the detector off).
pub const DEFAULT_LONG_POLL_THRESHOLD: Duration = Duration::from_millis(50);

/// The log target of long-poll reports.
pub const LONG_POLL_TARGET: &str = "solo::long_poll";

/// A snapshot of one executor's counters, from
/// [`LocalExecutor::metrics`](crate::LocalExecutor::metrics).
///
/// Totals count since the executor was created; "now" figures are its state at the
/// snapshot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// Tasks spawned (total).
    pub spawned: u64,
    /// Unfinished tasks now: spawned, not completed, not cancelled.
    pub alive: u64,
    /// Polls of tasks (total).
    pub polls: u64,
    /// Tasks in the run queue now (woken, waiting for their poll).
    pub queued: u64,
    /// Wakes received from other threads (total): tasks taken from the remote inbox, each
    /// counted once however many wakes were coalesced into its entry.
    pub remote_wakes: u64,
    /// Polls longer than the long-poll threshold (total; only counted while a threshold
    /// is set).
    pub long_polls: u64,
    /// The longest poll measured (only measured while a threshold is set).
    pub longest_poll: Duration,
    /// The long-poll threshold now (`None`: the detector is off).
    pub long_poll_threshold: Option<Duration>,
}

/// The counters, in the executor's owning-thread state.
#[derive(Debug)]
pub(crate) struct Counters {
    pub(crate) spawned: Cell<u64>,
    pub(crate) alive: Cell<u64>,
    pub(crate) polls: Cell<u64>,
    pub(crate) queued: Cell<u64>,
    pub(crate) remote_wakes: Cell<u64>,
    long_polls: Cell<u64>,
    longest_poll: Cell<Duration>,
    threshold: Cell<Option<Duration>>,
}

impl Counters {
    pub(crate) fn new() -> Counters {
        Counters {
            spawned: Cell::new(0),
            alive: Cell::new(0),
            polls: Cell::new(0),
            queued: Cell::new(0),
            remote_wakes: Cell::new(0),
            long_polls: Cell::new(0),
            longest_poll: Cell::new(Duration::ZERO),
            threshold: Cell::new(if cfg!(debug_assertions) {
                Some(DEFAULT_LONG_POLL_THRESHOLD)
            } else {
                None
            }),
        }
    }

    pub(crate) fn snapshot(&self) -> Metrics {
        Metrics {
            spawned: self.spawned.get(),
            alive: self.alive.get(),
            polls: self.polls.get(),
            queued: self.queued.get(),
            remote_wakes: self.remote_wakes.get(),
            long_polls: self.long_polls.get(),
            longest_poll: self.longest_poll.get(),
            long_poll_threshold: self.threshold.get(),
        }
    }

    pub(crate) fn set_threshold(&self, threshold: Option<Duration>) {
        self.threshold.set(threshold);
    }

    pub(crate) fn threshold(&self) -> Option<Duration> {
        self.threshold.get()
    }

    /// Counts a poll about to start; the clock, if the detector is on.
    #[inline]
    pub(crate) fn poll_starts(&self) -> Option<Instant> {
        bump(&self.polls, 1);
        self.threshold.get().map(|_| Instant::now())
    }

    /// A poll that started at `started` (the detector was on) returned.
    ///
    /// `header` is the task's, alive (its `RUNNING` claim) on the owning thread.
    #[cold]
    pub(crate) fn poll_ended(&self, header: &Header, started: Instant) {
        let took = started.elapsed();
        if took > self.longest_poll.get() {
            self.longest_poll.set(took);
        }
        // The threshold may have been changed (or cleared) by the task itself.
        let Some(threshold) = self.threshold.get() else {
            return;
        };
        if took <= threshold {
            return;
        }
        bump(&self.long_polls, 1);
        let state = header.state.get();
        if state & REPORTED != 0 {
            return;
        }
        header.state.set(state | REPORTED);
        report(header.location, took, threshold);
    }
}

/// Adds `n` to a counter.
#[inline]
pub(crate) fn bump(counter: &Cell<u64>, n: u64) {
    counter.set(counter.get().wrapping_add(n));
}

/// Takes `n` from a gauge.
#[inline]
pub(crate) fn drop_by(gauge: &Cell<u64>, n: u64) {
    gauge.set(gauge.get().wrapping_sub(n));
}

/// Reports a task's first long poll. A panicking logger is contained (reported on stderr):
/// the executor is in the middle of a task's bookkeeping.
fn report(location: &'static Location<'static>, took: Duration, threshold: Duration) {
    drop_caught("the logger of a long poll", || {
        log::warn!(
            target: LONG_POLL_TARGET,
            "a task spawned at {location} held its thread for {took:?} in one poll \
             (threshold {threshold:?}); every other task on the thread waited that long: \
             move blocking work to the blocking pool (unblock) or yield more often \
             (reported once per task)"
        );
    });
}
