//! Timers: arm then cancel many timers, beside async-io's `Timer` and tokio's `sleep`.
//!
//! Each contender arms `N` timers (all alive at once, deadlines spread over an hour so
//! they land on every level of a wheel) by polling each once, then cancels them all by
//! dropping them. The figure is the cost of one arm plus one cancel.
//!
//! On Linux (x86-64 and aarch64, where the `io-uring` crate has bindings), at 10,000
//! timers, the same with the ring's own timeouts (`IORING_OP_TIMEOUT`, then
//! `IORING_OP_TIMEOUT_REMOVE`, submitted in batches of 256, completions reaped): what
//! solo's io_uring driver would pay per timer had it put timers on the ring instead of
//! keeping its wheel and passing only the next deadline as the wait's timeout. Not at
//! 100,000 and more: a removal searches the ring's list of timeouts one by one, so the
//! cost grows with the square of the count (a 1,000,000 round did not end in 10 minutes).
//!
//! Then the idle-timeout pattern of a server: `N` armed timers 30 s out, each pushed back
//! to 30 s from now again and again (a connection's timeout moved after each batch of
//! requests). The figure is the cost of one reset.

use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use solo_benches::{compare, contender};

fn deadline(i: usize) -> Duration {
    Duration::from_millis(1_000 + (i as u64 * 7919) % 3_600_000)
}

/// Polls once, so the timer registers itself; every deadline is in the future.
fn poll_once<F: std::future::Future>(f: Pin<&mut F>) {
    let mut cx = Context::from_waker(Waker::noop());
    assert!(matches!(f.poll(&mut cx), Poll::Pending));
}

fn main() {
    let quick = std::env::var_os("SOLO_BENCH_QUICK").is_some_and(|v| v == "1");
    for n in if quick {
        vec![10_000]
    } else {
        vec![10_000, 100_000, 1_000_000]
    } {
        let tokio_rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        compare(
            &format!("timer arm+cancel ({n} live)"),
            n as u64,
            &mut [
                contender("solo", || {
                    // Polled by hand, like tokio's below inside `enter()`.
                    let _loop = solo::reactor::enter();
                    let mut timers: Vec<solo::Timer> =
                        (0..n).map(|i| solo::Timer::after(deadline(i))).collect();
                    for t in &mut timers {
                        poll_once(Pin::new(t));
                    }
                    drop(timers);
                }),
                contender("async-io", || {
                    let mut timers: Vec<async_io::Timer> = (0..n)
                        .map(|i| async_io::Timer::after(deadline(i)))
                        .collect();
                    for t in &mut timers {
                        poll_once(Pin::new(t));
                    }
                    drop(timers);
                }),
                contender("tokio", || {
                    let _guard = tokio_rt.enter();
                    let mut timers: Vec<Pin<Box<tokio::time::Sleep>>> = (0..n)
                        .map(|i| Box::pin(tokio::time::sleep(deadline(i))))
                        .collect();
                    for t in &mut timers {
                        poll_once(t.as_mut());
                    }
                    drop(timers);
                }),
            ]
            .into_iter()
            .chain(ring::contender(n))
            .collect::<Vec<_>>(),
        );
        reset_idle_timeouts(n, &tokio_rt);
    }
}

/// Resets of `n` live timers that each stay about 30 s away.
fn reset_idle_timeouts(n: usize, tokio_rt: &tokio::runtime::Runtime) {
    const RESETS: usize = 10;
    const IDLE: Duration = Duration::from_secs(30);
    let _loop = solo::reactor::enter();
    let mut solo_timers: Vec<solo::Timer> = (0..n).map(|_| solo::Timer::after(IDLE)).collect();
    for t in &mut solo_timers {
        poll_once(Pin::new(t));
    }
    let mut async_io_timers: Vec<async_io::Timer> =
        (0..n).map(|_| async_io::Timer::after(IDLE)).collect();
    for t in &mut async_io_timers {
        poll_once(Pin::new(t));
    }
    let _guard = tokio_rt.enter();
    let mut tokio_timers: Vec<Pin<Box<tokio::time::Sleep>>> =
        (0..n).map(|_| Box::pin(tokio::time::sleep(IDLE))).collect();
    for t in &mut tokio_timers {
        poll_once(t.as_mut());
    }
    compare(
        &format!("timer reset, idle timeout pushed back ({n} live)"),
        (n * RESETS) as u64,
        &mut [
            contender("solo", || {
                for _ in 0..RESETS {
                    for t in &mut solo_timers {
                        t.set_after(IDLE);
                    }
                }
            }),
            contender("async-io", || {
                for _ in 0..RESETS {
                    for t in &mut async_io_timers {
                        t.set_after(IDLE);
                        poll_once(Pin::new(t));
                    }
                }
            }),
            contender("tokio", || {
                for _ in 0..RESETS {
                    for t in &mut tokio_timers {
                        let deadline = tokio::time::Instant::now() + IDLE;
                        t.as_mut().reset(deadline);
                    }
                }
            }),
        ],
    );
}

/// Timers as ring operations (see the module docs).
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
mod ring {
    use io_uring::{IoUring, opcode, squeue, types};
    use solo_benches::{Contender, contender as make};

    use super::deadline;

    /// The ring's contender for `n` timers, where it is measured (see the module docs).
    pub(super) fn contender<'a>(n: usize) -> Option<Contender<'a>> {
        // Where no ring can be made (a seccomp filter, `io_uring_disabled`): not measured.
        let available = IoUring::new(8).is_ok();
        (n <= 10_000 && available).then(|| make("io_uring timeout ops", move || arm_and_cancel(n)))
    }

    /// `user_data` of the removals.
    const REMOVE: u64 = u64::MAX;

    /// Queues `sqe`, submitting (and reaping) first when the queue is full. Returns the
    /// completions reaped.
    fn push(ring: &mut IoUring, sqe: &squeue::Entry) -> usize {
        let mut reaped = 0;
        loop {
            // SAFETY: a timeout's `Timespec` is copied by the kernel when the entry is
            // submitted, and every entry is submitted (below or by the caller) while the
            // caller's `Timespec`s live; removals point at no memory.
            if unsafe { ring.submission().push(sqe) }.is_ok() {
                return reaped;
            }
            ring.submit().expect("io_uring_enter");
            reaped += ring.completion().count();
        }
    }

    /// Arms `n` timeouts, then removes them all.
    fn arm_and_cancel(n: usize) {
        let mut ring = IoUring::builder()
            .setup_cqsize(8192)
            .build(256)
            .expect("an io_uring (this bench needs one)");
        let specs: Vec<types::Timespec> = (0..n).map(|i| deadline(i).into()).collect();
        let mut reaped = 0;
        for (i, ts) in specs.iter().enumerate() {
            let sqe = opcode::Timeout::new(ts).build().user_data(i as u64);
            reaped += push(&mut ring, &sqe);
        }
        for i in 0..n {
            let sqe = opcode::TimeoutRemove::new(i as u64)
                .build()
                .user_data(REMOVE);
            reaped += push(&mut ring, &sqe);
        }
        // Each timer completes twice: the timeout (cancelled) and its removal.
        while reaped < 2 * n {
            ring.submit_and_wait(1).expect("io_uring_enter");
            reaped += ring.completion().count();
        }
        drop(specs);
    }
}

/// No ring off Linux.
#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
mod ring {
    pub(super) fn contender<'a>(_: usize) -> Option<solo_benches::Contender<'a>> {
        None
    }
}
