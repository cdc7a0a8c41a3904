//! What the reactor and the blocking pool measure (feature `metrics`).
//!
//! The reactor's counters are plain fields of the thread's reactor, updated where the
//! event happens; without the feature none of them exists. Read them with
//! [`reactor::metrics`](crate::reactor::metrics) (this thread's reactor) and
//! [`pool`] (the process's blocking pool).
//!
//! - **Loop utilisation.** The reactor adds up the time it spent blocked in the poller
//!   (waits that could sleep; a zero-timeout look is busy time). It reuses the clock reads
//!   that timers need anyway, so measuring adds no clock read.
//!   [`ReactorMetrics::utilisation`] turns two snapshots into the share of the time between
//!   them that the thread was not blocked.
//! - **Events per wait**: a histogram with one bucket per power of two
//!   ([`ReactorMetrics::events_per_wait`]).
//! - **Timer lag**: how late each timer fired (the instant the reactor fired it minus its
//!   deadline), in a [`Histogram`]: fixed size, log-linear buckets, no allocation per
//!   sample. [`Histogram::quantile`] gives p50/p99; [`Histogram::since`] the lag of the
//!   timers fired between two snapshots.

use std::fmt;
use std::time::Duration;

/// Exact buckets below this many microseconds, then this many buckets per power of two.
const SUB: u64 = 8;
const SUB_BITS: u32 = SUB.trailing_zeros();
/// The highest power of two (in microseconds) with buckets of its own: 2^35 µs is about
/// 9.5 hours; later values land in the last bucket.
const TOP_EXP: u32 = 35;
/// Number of buckets.
const BUCKETS: usize = (SUB + (TOP_EXP - SUB_BITS + 1) as u64 * SUB) as usize;

/// A histogram of durations with log-linear buckets: exact below 8 µs, then 8 buckets per
/// power of two (at most 12.5% apart) up to about 9.5 hours.
///
/// Fixed size (about 2 KiB), no allocation per sample: recording is a few shifts and an
/// add. Values are kept to the microsecond.
#[derive(Clone, PartialEq, Eq)]
pub struct Histogram {
    buckets: [u64; BUCKETS],
    count: u64,
    /// Sum of the recorded values, in nanoseconds (saturating).
    sum_ns: u64,
    /// The largest recorded value, in microseconds.
    max_us: u64,
}

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram::new()
    }
}

impl fmt::Debug for Histogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Histogram")
            .field("count", &self.count)
            .field("p50", &self.quantile(0.5))
            .field("p99", &self.quantile(0.99))
            .field("max", &self.max())
            .finish()
    }
}

/// The bucket of a value in microseconds.
fn bucket_of(us: u64) -> usize {
    if us < SUB {
        return us as usize;
    }
    let exp = (63 - us.leading_zeros()).min(TOP_EXP);
    if exp == TOP_EXP && us >> TOP_EXP > 1 {
        return BUCKETS - 1;
    }
    let sub = (us >> (exp - SUB_BITS)) & (SUB - 1);
    (SUB + u64::from(exp - SUB_BITS) * SUB + sub) as usize
}

/// The values of bucket `i`, in microseconds: `[low, high)`.
fn bucket_range(i: usize) -> (u64, u64) {
    let i = i as u64;
    if i < SUB {
        return (i, i + 1);
    }
    let exp = (i - SUB) / SUB + u64::from(SUB_BITS);
    let sub = (i - SUB) % SUB;
    let unit = 1 << (exp - u64::from(SUB_BITS));
    ((SUB + sub) * unit, (SUB + sub + 1) * unit)
}

impl Histogram {
    /// An empty histogram.
    pub const fn new() -> Histogram {
        Histogram {
            buckets: [0; BUCKETS],
            count: 0,
            sum_ns: 0,
            max_us: 0,
        }
    }

    /// Records one value.
    pub fn record(&mut self, value: Duration) {
        self.record_ns(u64::try_from(value.as_nanos()).unwrap_or(u64::MAX));
    }

    /// Records one value given in nanoseconds.
    #[inline]
    pub fn record_ns(&mut self, ns: u64) {
        let us = ns / 1000;
        self.buckets[bucket_of(us)] += 1;
        self.count += 1;
        self.sum_ns = self.sum_ns.saturating_add(ns);
        self.max_us = self.max_us.max(us);
    }

    /// How many values were recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Whether no value was recorded.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The sum of the recorded values.
    pub fn sum(&self) -> Duration {
        Duration::from_nanos(self.sum_ns)
    }

    /// The largest recorded value (to the microsecond), `None` when empty.
    pub fn max(&self) -> Option<Duration> {
        (self.count > 0).then(|| Duration::from_micros(self.max_us))
    }

    /// The value below which a share `q` (0.0 to 1.0) of the recorded values lie: the
    /// upper end of the bucket that holds the value of that rank (so within 12.5% above
    /// the true value), never more than the largest value. `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        if self.count == 0 {
            return None;
        }
        let q = if q.is_nan() { 1.0 } else { q.clamp(0.0, 1.0) };
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (i, &n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                let (_, high) = bucket_range(i);
                return Some(Duration::from_micros((high - 1).min(self.max_us)));
            }
        }
        Some(Duration::from_micros(self.max_us))
    }

    /// How many recorded values are below `bound`, exactly when `bound` is a power of two
    /// of microseconds up to 2^35 (or below 8 µs); otherwise counting the buckets that
    /// end at or below it.
    pub fn count_below(&self, bound: Duration) -> u64 {
        let bound_us = u64::try_from(bound.as_micros()).unwrap_or(u64::MAX);
        self.buckets
            .iter()
            .enumerate()
            .take_while(|&(i, _)| bucket_range(i).1 <= bound_us)
            .map(|(_, &n)| n)
            .sum()
    }

    /// The values recorded since `earlier`, a snapshot of this same histogram: each
    /// bucket's count minus its count then. The largest value is kept as it is now (an
    /// upper bound for the window).
    pub fn since(&self, earlier: &Histogram) -> Histogram {
        let mut out = self.clone();
        for (b, e) in out.buckets.iter_mut().zip(earlier.buckets.iter()) {
            *b = b.saturating_sub(*e);
        }
        out.count = self.count.saturating_sub(earlier.count);
        out.sum_ns = self.sum_ns.saturating_sub(earlier.sum_ns);
        if out.count == 0 {
            out.max_us = 0;
        }
        out
    }

    /// Adds `other`'s values to these (to sum the histograms of several threads).
    pub fn merge(&mut self, other: &Histogram) {
        for (b, o) in self.buckets.iter_mut().zip(other.buckets.iter()) {
            *b += o;
        }
        self.count += other.count;
        self.sum_ns = self.sum_ns.saturating_add(other.sum_ns);
        self.max_us = self.max_us.max(other.max_us);
    }
}

/// Buckets of [`ReactorMetrics::events_per_wait`]: bucket 0 counts waits that returned no
/// event, bucket `k` (1 to 10) those that returned `2^(k-1)` to `2^k - 1` events, bucket
/// 11 those that returned 1,024 or more.
pub const EVENTS_PER_WAIT_BUCKETS: usize = 12;

/// The bucket of a wait that returned `n` events.
#[inline]
pub(crate) fn events_bucket(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        ((usize::BITS - n.leading_zeros()) as usize).min(EVENTS_PER_WAIT_BUCKETS - 1)
    }
}

/// A snapshot of this thread's reactor, from [`reactor::metrics`](crate::reactor::metrics).
///
/// Totals count since the reactor was created (a reactor re-created after `fork` keeps
/// counting); "now" figures are its state at the snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReactorMetrics {
    /// Time since the reactor was created.
    pub uptime: Duration,
    /// Time spent blocked in the poller (waits that could sleep), in total.
    pub blocked: Duration,
    /// Waits in the poller (blocking or not), in total.
    pub waits: u64,
    /// Events the poller delivered, in total (stale ones included).
    pub events: u64,
    /// Events dropped because their source was gone, in total.
    pub stale_events: u64,
    /// Waits by the number of events they returned: see [`EVENTS_PER_WAIT_BUCKETS`].
    pub events_per_wait: [u64; EVENTS_PER_WAIT_BUCKETS],
    /// Sources registered now.
    pub sources: usize,
    /// Timers pending now.
    pub timers: usize,
    /// Timers fired, in total.
    pub timers_fired: u64,
    /// How late the timers fired (fire time minus deadline).
    pub timer_lag: Histogram,
    /// Times the poller was re-created because the process was forked.
    pub reinits_after_fork: u64,
}

impl ReactorMetrics {
    /// Time the loop was not blocked in the poller: running tasks, timers and I/O.
    pub fn busy(&self) -> Duration {
        self.uptime.saturating_sub(self.blocked)
    }

    /// The share of the time between `earlier` (a snapshot of the same reactor) and this
    /// snapshot that the loop was busy, from 0.0 to 1.0; `None` if no time passed.
    pub fn utilisation(&self, earlier: &ReactorMetrics) -> Option<f64> {
        let total = self.uptime.checked_sub(earlier.uptime)?;
        if total.is_zero() {
            return None;
        }
        let blocked = self.blocked.saturating_sub(earlier.blocked).min(total);
        Some(1.0 - blocked.as_secs_f64() / total.as_secs_f64())
    }
}

/// A snapshot of the process's blocking pool, from [`pool`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolMetrics {
    /// Pool threads alive now.
    pub threads: usize,
    /// Of those, waiting for work now.
    pub idle: usize,
    /// Jobs waiting for a thread now.
    pub queued: usize,
    /// Jobs finished, in total.
    pub completed: u64,
    /// The most threads the pool may run.
    pub max_threads: usize,
}

/// A snapshot of the process's blocking pool (the one behind [`unblock`](crate::unblock),
/// [`Unblock`](crate::Unblock) and [`fs`](crate::fs)); takes the pool's lock once.
pub fn pool() -> PoolMetrics {
    crate::blocking::metrics()
}

/// The reactor's counters beyond [`Stats`](crate::reactor::Stats), in the reactor.
#[derive(Debug)]
pub(crate) struct Counters {
    pub(crate) created: std::time::Instant,
    pub(crate) blocked_ns: u64,
    pub(crate) events_per_wait: [u64; EVENTS_PER_WAIT_BUCKETS],
    pub(crate) timers_fired: u64,
    pub(crate) timer_lag: Histogram,
    pub(crate) reinits_after_fork: u64,
}

impl Counters {
    pub(crate) fn new(created: std::time::Instant) -> Counters {
        Counters {
            created,
            blocked_ns: 0,
            events_per_wait: [0; EVENTS_PER_WAIT_BUCKETS],
            timers_fired: 0,
            timer_lag: Histogram::new(),
            reinits_after_fork: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_every_value_in_order() {
        let mut last = 0;
        for i in 0..BUCKETS {
            let (low, high) = bucket_range(i);
            assert_eq!(low, last, "bucket {i} starts where {} ended", i.max(1) - 1);
            assert!(high > low);
            assert_eq!(bucket_of(low), i);
            assert_eq!(bucket_of(high - 1), i);
            // At most 12.5% wide (beyond the exact ones).
            if low >= SUB {
                assert!((high - low) * SUB <= low, "bucket {i}: [{low}, {high})");
            }
            last = high;
        }
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
        assert_eq!(bucket_of(1 << 36), BUCKETS - 1);
    }

    #[test]
    fn quantiles_are_within_a_bucket() {
        let mut h = Histogram::new();
        assert_eq!(h.quantile(0.5), None);
        for ms in 1..=100u64 {
            h.record(Duration::from_millis(ms));
        }
        assert_eq!(h.count(), 100);
        assert_eq!(h.sum(), Duration::from_millis(5050));
        let p50 = h.quantile(0.5).unwrap();
        assert!(
            p50 >= Duration::from_millis(50) && p50 <= Duration::from_micros(56_250),
            "{p50:?}"
        );
        let p99 = h.quantile(0.99).unwrap();
        assert!(
            p99 >= Duration::from_millis(99) && p99 <= Duration::from_millis(100),
            "{p99:?}"
        );
        assert_eq!(h.quantile(1.0), Some(Duration::from_millis(100)));
        assert_eq!(h.max(), Some(Duration::from_millis(100)));
        assert!(h.quantile(0.0).unwrap() <= Duration::from_micros(1023));
    }

    #[test]
    fn counts_below_powers_of_two_are_exact() {
        let mut h = Histogram::new();
        for us in [0, 1, 3, 4, 5, 1023, 1024, 1025, 4095, 4096, 1 << 20] {
            h.record(Duration::from_micros(us));
        }
        assert_eq!(h.count_below(Duration::from_micros(4)), 3);
        assert_eq!(h.count_below(Duration::from_micros(1024)), 6);
        assert_eq!(h.count_below(Duration::from_micros(4096)), 9);
        assert_eq!(h.count_below(Duration::from_secs(100_000)), 11);
    }

    #[test]
    fn windows_and_sums() {
        let mut h = Histogram::new();
        h.record(Duration::from_millis(1));
        let before = h.clone();
        h.record(Duration::from_millis(10));
        h.record(Duration::from_millis(20));
        let window = h.since(&before);
        assert_eq!(window.count(), 2);
        assert_eq!(window.sum(), Duration::from_millis(30));
        assert!(window.quantile(0.5).unwrap() >= Duration::from_millis(10));
        let mut total = before.clone();
        total.merge(&window);
        assert_eq!(total.count(), 3);
        assert!(h.since(&h).is_empty());
    }

    #[test]
    fn events_per_wait_buckets() {
        assert_eq!(events_bucket(0), 0);
        assert_eq!(events_bucket(1), 1);
        assert_eq!(events_bucket(2), 2);
        assert_eq!(events_bucket(3), 2);
        assert_eq!(events_bucket(4), 3);
        assert_eq!(events_bucket(1023), 10);
        assert_eq!(events_bucket(1024), 11);
        assert_eq!(events_bucket(usize::MAX), 11);
    }
}
