//! Runtime metrics of the current thread and the long-poll detector (feature `metrics`).
//!
//! Everything here is off unless `solo` is built with the `metrics` feature (which turns
//! on the same feature of solo-executor and solo-io); without it the runtime keeps no
//! counters and reads no clock for them. With it, each thread's executor and reactor count
//! in plain `Cell`s as they go, and [`snapshot`] (also reachable as `solo::metrics()`)
//! copies the current thread's figures:
//!
//! - **executor** ([`ExecutorMetrics`]): tasks spawned, alive and queued, polls, wakes
//!   received from other threads, long polls;
//! - **reactor** ([`ReactorMetrics`]): waits and events per wait, time blocked in the
//!   poller versus busy (loop utilisation), timer lag (a [`Histogram`]: p50/p99 with
//!   [`Histogram::quantile`]), timers fired, live sources and timers;
//! - **pool** ([`PoolMetrics`]): the process's blocking pool, its threads and queue.
//!
//! A shard reads its own figures on its own thread; to gather every shard's, ask each
//! one over the mesh ([`Mesh::submit_to`](crate::shard::Mesh::submit_to)`(i, solo::metrics)`).
//!
//! # The long-poll detector
//!
//! One task that blocks its thread for 50 ms delays every other task of the thread by as
//! much. With a threshold set, every poll is timed; a poll longer than the threshold is
//! counted ([`ExecutorMetrics::long_polls`]) and each task's first one is reported through
//! the [`log`](https://docs.rs/log) facade, at level `warn` with target
//! [`LONG_POLL_TARGET`] (`solo::long_poll`), naming where the task was spawned
//! ([`spawn`](crate::spawn) is `#[track_caller]`) and how long the poll took:
//!
//! ```text
//! a task spawned at src/server.rs:42:9 held its thread for 51.2ms in one poll (threshold 10ms); ...
//! ```
//!
//! It is **off in release builds** until [`set_long_poll_threshold`] turns it on for the
//! thread (each thread's executor has its own threshold; a shard sets its own), and on
//! with [`DEFAULT_LONG_POLL_THRESHOLD`] (50 ms) in builds with debug assertions. Reports
//! need a logger (`env_logger`, or any `log` implementation); counting does not.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//!
//! solo::block_on(async {
//!     solo::metrics::set_long_poll_threshold(Some(Duration::from_millis(10)));
//!     solo::Timer::after(Duration::from_millis(2)).await;
//!     solo::spawn(async {}).await;
//!
//!     let m = solo::metrics();
//!     assert!(m.executor.spawned >= 1);
//!     assert!(m.reactor.timers_fired >= 1);
//!     let lag_p99 = m.reactor.timer_lag.quantile(0.99).unwrap();
//!     assert!(lag_p99 < Duration::from_secs(1));
//! });
//! ```

use std::time::Duration;

pub use solo_executor::metrics::{
    DEFAULT_LONG_POLL_THRESHOLD, LONG_POLL_TARGET, Metrics as ExecutorMetrics,
};
pub use solo_io::metrics::{EVENTS_PER_WAIT_BUCKETS, Histogram, PoolMetrics, ReactorMetrics, pool};

use crate::EXECUTOR;

/// The current thread's runtime figures at one moment, from [`snapshot`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// The thread's executor: tasks and polls.
    pub executor: ExecutorMetrics,
    /// The thread's reactor: waits, events, utilisation, timers.
    pub reactor: ReactorMetrics,
    /// The process's blocking pool (the same for every thread).
    pub pool: PoolMetrics,
}

/// The current thread's figures: its executor, its reactor, and the process's blocking
/// pool. Also `solo::metrics()`.
pub fn snapshot() -> Metrics {
    Metrics {
        executor: EXECUTOR.with(|ex| ex.metrics()),
        reactor: solo_io::reactor::metrics(),
        pool: pool(),
    }
}

/// Turns the long-poll detector of the current thread's executor on (`Some(threshold)`)
/// or off (`None`). See the [module docs](self).
pub fn set_long_poll_threshold(threshold: Option<Duration>) {
    EXECUTOR.with(|ex| ex.set_long_poll_threshold(threshold));
}

/// The long-poll threshold of the current thread's executor (`None`: off).
pub fn long_poll_threshold() -> Option<Duration> {
    EXECUTOR.with(|ex| ex.long_poll_threshold())
}
