//! A tiny harness shared by solo's micro benchmarks.
//!
//! Every benchmark compares solo with its peers *in the same run*: the contenders of one
//! group are sampled in interleaved rounds (A B C A B C …) so that noise from a shared
//! machine hits all of them alike, and the report gives the median time per operation and
//! each peer's ratio to the first contender (solo).
//!
//! Knobs (environment):
//! - `SOLO_BENCH_SAMPLES`: rounds per group (default 11).
//! - `SOLO_BENCH_JSON`: a file to which one JSON object per result line is appended
//!   (`cargo xtask bench --micro` reads it).
//! - `SOLO_BENCH_QUICK=1`: a third of the rounds, for smoke runs.

use std::fs::OpenOptions;
use std::io::Write;
use std::time::{Duration, Instant};

/// One contender in a group: a name and a closure that performs `ops` operations once.
pub struct Contender<'a> {
    name: &'a str,
    run: Box<dyn FnMut() + 'a>,
}

impl std::fmt::Debug for Contender<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contender")
            .field("name", &self.name)
            .finish()
    }
}

/// Wraps a closure as a contender named `name`.
pub fn contender<'a>(name: &'a str, run: impl FnMut() + 'a) -> Contender<'a> {
    Contender {
        name,
        run: Box::new(run),
    }
}

/// The summary of one contender in one group.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Group name, e.g. `spawn-await`.
    pub group: String,
    /// Contender name, e.g. `solo`.
    pub name: String,
    /// Median nanoseconds per operation over the rounds.
    pub median_ns: f64,
    /// Fastest round, nanoseconds per operation.
    pub min_ns: f64,
    /// Number of rounds measured.
    pub rounds: usize,
}

fn rounds() -> usize {
    let n = std::env::var("SOLO_BENCH_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(11usize)
        .max(1);
    if std::env::var_os("SOLO_BENCH_QUICK").is_some_and(|v| v == "1") {
        n.div_ceil(3)
    } else {
        n
    }
}

/// Median of a slice (sorted in place). Returns `NaN` for an empty slice.
pub fn median(xs: &mut [f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.sort_by(f64::total_cmp);
    let mid = xs.len() / 2;
    if xs.len() % 2 == 1 {
        xs[mid]
    } else {
        (xs[mid - 1] + xs[mid]) / 2.0
    }
}

/// Measures every contender of `group`, each performing `ops` operations per call, in
/// interleaved rounds after one warm-up call each; prints a small table and returns it.
pub fn compare(group: &str, ops: u64, contenders: &mut [Contender<'_>]) -> Vec<Outcome> {
    let rounds = rounds();
    for c in contenders.iter_mut() {
        (c.run)();
    }
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); contenders.len()];
    for _ in 0..rounds {
        for (c, s) in contenders.iter_mut().zip(samples.iter_mut()) {
            let start = Instant::now();
            (c.run)();
            s.push(per_op(start.elapsed(), ops));
        }
    }
    let outcomes: Vec<Outcome> = contenders
        .iter()
        .zip(samples.iter_mut())
        .map(|(c, s)| Outcome {
            group: group.to_string(),
            name: c.name.to_string(),
            median_ns: median(s),
            min_ns: s.iter().copied().fold(f64::INFINITY, f64::min),
            rounds,
        })
        .collect();
    report(&outcomes);
    outcomes
}

fn per_op(elapsed: Duration, ops: u64) -> f64 {
    elapsed.as_nanos() as f64 / ops.max(1) as f64
}

fn report(outcomes: &[Outcome]) {
    let Some(base) = outcomes.first() else { return };
    for o in outcomes {
        let ratio = o.median_ns / base.median_ns;
        println!(
            "{:<28} {:<16} {:>12} /op  (min {:>10}, {} rounds)  {:>6.2}x {}",
            o.group,
            o.name,
            fmt_ns(o.median_ns),
            fmt_ns(o.min_ns),
            o.rounds,
            ratio,
            if std::ptr::eq(o, base) {
                "(baseline)"
            } else {
                "solo's time"
            },
        );
    }
    if let Some(path) = std::env::var_os("SOLO_BENCH_JSON") {
        if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(path) {
            for o in outcomes {
                let _ = writeln!(
                    f,
                    "{{\"group\":{:?},\"name\":{:?},\"median_ns\":{:.3},\"min_ns\":{:.3},\"rounds\":{},\"ratio_to_solo\":{:.4}}}",
                    o.group,
                    o.name,
                    o.median_ns,
                    o.min_ns,
                    o.rounds,
                    o.median_ns / base.median_ns
                );
            }
        }
    }
}

/// Formats nanoseconds with a unit that keeps three significant digits.
pub fn fmt_ns(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.3} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.3} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.3} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&mut []).is_nan());
    }

    #[test]
    fn formats_units() {
        assert_eq!(fmt_ns(12.34), "12.3 ns");
        assert_eq!(fmt_ns(1_500.0), "1.500 µs");
        assert_eq!(fmt_ns(2_500_000.0), "2.500 ms");
    }

    #[test]
    fn compare_runs_every_contender() {
        let (mut a, mut b) = (0u32, 0u32);
        let out = compare(
            "test",
            1,
            &mut [contender("a", || a += 1), contender("b", || b += 1)],
        );
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].name, "a");
        drop(out);
        assert_eq!(a, b);
        assert!(a > 1);
    }
}
