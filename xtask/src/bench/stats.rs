//! Medians over rounds and a latency histogram that load-generator processes can merge.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Median of the values (sorted copy); `None` for an empty slice. NaNs sort last.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

/// Bits of precision below the leading one: values are kept to within 1/64 (1.6 %).
const SUB_BITS: u32 = 6;
const SUB: usize = 1 << SUB_BITS;
/// Bucket count: exact values below `2 * SUB`, then `SUB` buckets per power of two.
const BUCKETS: usize = (64 - SUB_BITS as usize) * SUB + SUB;

/// A log-linear histogram of nanosecond latencies (like HdrHistogram, 1.6 % precision,
/// 30 KiB). Load-generator children send theirs to the parent, which merges them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "SparseHistogram", into = "SparseHistogram")]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    min: u64,
    max: u64,
}

/// The wire form of a [`Histogram`]: only the buckets that hold samples.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SparseHistogram {
    count: u64,
    min_ns: u64,
    max_ns: u64,
    /// `[bucket index, count]` pairs.
    buckets: Vec<(u32, u64)>,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
            total: 0,
            min: u64::MAX,
            max: 0,
        }
    }
}

fn bucket_of(v: u64) -> usize {
    if v < 2 * SUB as u64 {
        return v as usize;
    }
    let msb = 63 - v.leading_zeros();
    let shift = msb - SUB_BITS;
    (shift as usize) * SUB + (v >> shift) as usize
}

/// The middle of the range of values that fall in bucket `i`.
fn value_of(i: usize) -> u64 {
    if i < 2 * SUB {
        return i as u64;
    }
    let shift = (i / SUB - 1) as u32;
    let mantissa = (i - shift as usize * SUB) as u64;
    (mantissa << shift) + (1u64 << shift) / 2
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one sample.
    pub fn record(&mut self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.counts[bucket_of(ns)] += 1;
        self.total += 1;
        self.min = self.min.min(ns);
        self.max = self.max.max(ns);
    }

    /// Number of samples.
    #[cfg(test)]
    pub fn count(&self) -> u64 {
        self.total
    }

    /// Adds another histogram's samples to this one.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// The value at quantile `q` (0.0..=1.0), by nearest rank; `None` when empty.
    /// Exact at the extremes (the minimum and maximum are kept), elsewhere to within the
    /// bucket precision, and never outside `[min, max]`.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        if rank == 1 {
            return Some(Duration::from_nanos(self.min));
        }
        if rank >= self.total {
            return Some(Duration::from_nanos(self.max));
        }
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(Duration::from_nanos(value_of(i).clamp(self.min, self.max)));
            }
        }
        Some(Duration::from_nanos(self.max))
    }
}

impl From<SparseHistogram> for Histogram {
    fn from(s: SparseHistogram) -> Self {
        let mut h = Histogram::new();
        for (i, c) in s.buckets {
            if let Some(slot) = h.counts.get_mut(i as usize) {
                *slot += c;
                h.total += c;
            }
        }
        if h.total > 0 {
            h.min = s.min_ns;
            h.max = s.max_ns;
        }
        h
    }
}

impl From<Histogram> for SparseHistogram {
    fn from(h: Histogram) -> Self {
        SparseHistogram {
            count: h.total,
            min_ns: if h.total == 0 { 0 } else { h.min },
            max_ns: h.max,
            buckets: h
                .counts
                .iter()
                .enumerate()
                .filter(|(_, c)| **c > 0)
                .map(|(i, &c)| (i as u32, c))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[7.5]), Some(7.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn buckets_are_contiguous_and_monotonic() {
        let mut last = 0;
        for v in (0..100_000u64).chain([u64::MAX / 2, u64::MAX]) {
            let b = bucket_of(v);
            assert!(
                b >= last && b <= last + 1 || v >= 100_000,
                "value {v} bucket {b} after {last}"
            );
            assert!(b < BUCKETS);
            last = b;
        }
        for v in [0u64, 1, 127, 128, 129, 1000, 123_456, 10_000_000_000] {
            let mid = value_of(bucket_of(v));
            let err = (mid as f64 - v as f64).abs() / (v.max(1) as f64);
            assert!(err <= 1.0 / SUB as f64, "{v} -> {mid}");
        }
    }

    #[test]
    fn quantiles_by_nearest_rank() {
        let mut h = Histogram::new();
        assert_eq!(h.quantile(0.5), None);
        for us in 1..=100u64 {
            h.record(Duration::from_micros(us));
        }
        let p50 = h.quantile(0.5).unwrap().as_nanos() as f64;
        let p99 = h.quantile(0.99).unwrap().as_nanos() as f64;
        assert!((p50 - 50_000.0).abs() / 50_000.0 < 0.02, "{p50}");
        assert!((p99 - 99_000.0).abs() / 99_000.0 < 0.02, "{p99}");
        assert_eq!(h.quantile(0.0), Some(Duration::from_micros(1)));
        assert_eq!(h.quantile(1.0), Some(Duration::from_micros(100)));
    }

    #[test]
    fn merges_and_survives_json() {
        let (mut a, mut b) = (Histogram::new(), Histogram::new());
        for i in 0..1000 {
            a.record(Duration::from_micros(10 + i % 7));
            b.record(Duration::from_millis(5 + i % 3));
        }
        let json = serde_json::to_string(&b).unwrap();
        assert!(json.len() < 200, "sparse form is small: {json}");
        let back: Histogram = serde_json::from_str(&json).unwrap();
        assert_eq!(back, b);
        a.merge(&back);
        assert_eq!(a.count(), 2000);
        assert!(a.quantile(0.25).unwrap() < Duration::from_micros(20));
        assert!(a.quantile(0.75).unwrap() > Duration::from_millis(4));
        let empty: Histogram =
            serde_json::from_str(&serde_json::to_string(&Histogram::new()).unwrap()).unwrap();
        assert_eq!(empty, Histogram::new());
    }
}
