//! 100,000 tasks on one thread: spawns them, lets each sleep on its own timer, and prints
//! how long spawning and finishing took and how much memory the sleeping tasks hold.
//! A task is one allocation (header, future and output); a timer is an entry in the
//! reactor's timing wheel.
//!
//! Try it: `cargo run --release --example spawn-many` (or `-- COUNT`). Memory is read
//! from `/proc/self/status` (Linux); elsewhere it is not shown.

use std::cell::Cell;
use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

use solo::{Timer, future};

/// How it went.
#[derive(Debug)]
pub struct Report {
    /// Tasks run.
    pub tasks: usize,
    /// The sum of their outputs, `0 + 1 + ... + (tasks - 1)`, a check that all ran.
    pub sum: u64,
    /// Time to spawn them all.
    pub spawn_time: Duration,
    /// Time from the first spawn until all had finished.
    pub total_time: Duration,
    /// Growth of the resident set while all tasks were sleeping, if the OS tells.
    pub memory: Option<u64>,
}

/// Spawns `n` tasks that each sleep for `sleep` and return their index, and awaits them.
pub async fn spawn_many(n: usize, sleep: Duration) -> io::Result<Report> {
    let rss_before = resident_bytes().await;
    let started = Rc::new(Cell::new(0usize));
    let start = Instant::now();
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let started = started.clone();
            solo::spawn(async move {
                started.set(started.get() + 1);
                Timer::after(sleep).await;
                i as u64
            })
        })
        .collect();
    let spawn_time = start.elapsed();
    // Let every task run up to its timer, then look at memory while they all sleep.
    while started.get() < n {
        future::yield_now().await;
    }
    let memory = match (rss_before, resident_bytes().await) {
        (Some(before), Some(after)) => Some(after.saturating_sub(before)),
        _ => None,
    };
    let mut sum = 0;
    for task in tasks {
        sum += task.await;
    }
    Ok(Report {
        tasks: n,
        sum,
        spawn_time,
        total_time: start.elapsed(),
        memory,
    })
}

/// The resident set size, from `/proc/self/status` (Linux only).
async fn resident_bytes() -> Option<u64> {
    let status = solo::fs::read_to_string("/proc/self/status").await.ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

fn main() -> io::Result<()> {
    let n = match std::env::args().nth(1) {
        Some(arg) => arg
            .parse()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{arg:?}: {e}")))?,
        None => 100_000,
    };
    let r = solo::block_on(spawn_many(n, Duration::from_millis(100)))?;
    assert_eq!(r.sum, (0..n as u64).sum::<u64>());
    println!(
        "{} tasks: spawned in {:?}, all done in {:?} (each slept 100 ms)",
        r.tasks, r.spawn_time, r.total_time
    );
    match r.memory {
        Some(bytes) => println!(
            "memory while all slept: {:.1} MiB, {} bytes per task",
            bytes as f64 / (1024.0 * 1024.0),
            bytes / n.max(1) as u64
        ),
        None => println!("memory: not measured on this OS"),
    }
    Ok(())
}
