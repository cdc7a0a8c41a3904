//! Graceful shutdown with `solo::signal`: a worker starts a job every tick; on Ctrl-C
//! (or `SIGTERM`, or the console closing on Windows) it stops starting jobs, lets the
//! running ones finish, and exits. A second Ctrl-C while it drains quits at once: the
//! listener is dropped when shutdown begins, which restores the default action.
//!
//! Try it: `cargo run --example ctrl-c`, wait for a few jobs, press Ctrl-C (or send
//! `kill -TERM <pid>` from a second terminal; the pid is printed).

use std::io;
use std::time::{Duration, Instant};

use solo::future;
use solo::signal::{Signal, Signals};
use solo::stream::StreamExt;
use solo::{Task, Timer};

/// What happened before the program stopped.
#[derive(Debug)]
pub struct Summary {
    /// The signal that started the shutdown.
    pub signal: Signal,
    /// Jobs started (all of them finished).
    pub jobs: usize,
}

/// What `run` waits for.
enum Event {
    Signal(Option<Signal>),
    Tick,
}

/// Starts a job (a task that works for `job_time`) every `tick` until `signals` yields,
/// then waits for the started jobs to finish.
pub async fn run(mut signals: Signals, tick: Duration, job_time: Duration) -> io::Result<Summary> {
    let start = Instant::now();
    let mut ticker = Timer::interval(tick);
    let mut jobs: Vec<Task<()>> = Vec::new();
    let signal = loop {
        // Whichever comes first: a signal, or the next tick.
        let next = future::or(async { Event::Signal(signals.next().await) }, async {
            ticker.next().await;
            Event::Tick
        })
        .await;
        match next {
            Event::Signal(Some(signal)) => break signal,
            Event::Signal(None) => return Err(io::Error::other("the signal listener failed")),
            Event::Tick => {
                let n = jobs.len() + 1;
                println!("{:>6.2?} job {n} started", start.elapsed());
                jobs.push(solo::spawn(async move {
                    Timer::after(job_time).await;
                    println!("{:>6.2?} job {n} done", start.elapsed());
                }));
            }
        }
    };
    drop(signals); // a second Ctrl-C now terminates as usual
    println!("{signal:?}: finishing the jobs in flight (Ctrl-C again to quit now)");
    let count = jobs.len();
    for job in jobs {
        job.await;
    }
    Ok(Summary {
        signal,
        jobs: count,
    })
}

fn main() -> io::Result<()> {
    println!(
        "pid {}: starting a job every half second; Ctrl-C to stop",
        std::process::id()
    );
    solo::block_on(async {
        let signals = Signals::new([Signal::Interrupt, Signal::Terminate])?;
        let summary = run(signals, Duration::from_millis(500), Duration::from_secs(2)).await?;
        println!("shut down after {summary:?}, all jobs done");
        Ok(())
    })
}
