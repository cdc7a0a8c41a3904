//! The ctrl-c example's graceful shutdown, driven by a real `SIGINT` raised in-process.
//!
//! In its own test binary, with one test: signal dispositions are process-wide.
#![cfg(unix)]

use std::io;
use std::time::{Duration, Instant};

use solo::Timer;
use solo::signal::{Signal, Signals};

#[allow(dead_code)]
#[path = "../examples/ctrl-c.rs"]
mod ctrl_c;

/// The current disposition of `sig`.
fn disposition(sig: libc::c_int) -> libc::sighandler_t {
    // SAFETY: all-zero is a valid `sigaction`; a null new action only queries.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: `old` is a live `sigaction` to write to; the new action is null.
    let ret = unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) };
    assert_eq!(ret, 0, "sigaction: {}", io::Error::last_os_error());
    old.sa_sigaction
}

#[test]
fn sigint_stops_new_jobs_and_waits_for_running_ones() {
    assert_eq!(disposition(libc::SIGINT), libc::SIG_DFL);
    let (tick, job_time) = (Duration::from_millis(10), Duration::from_millis(300));
    let start = Instant::now();
    let summary = solo::block_on(solo::io_timeout(Duration::from_secs(60), async {
        // Listening before anything raises: until then SIGINT would end the process.
        let signals = Signals::new([Signal::Interrupt, Signal::Terminate])?;
        assert_ne!(disposition(libc::SIGINT), libc::SIG_DFL);
        let _raiser = solo::spawn(async {
            Timer::after(Duration::from_millis(100)).await;
            // SAFETY: sends SIGINT to this process, whose handler is installed: the
            // `Signals` above lives until `run` has received it.
            let ret = unsafe { libc::kill(libc::getpid(), libc::SIGINT) };
            assert_eq!(ret, 0, "kill: {}", io::Error::last_os_error());
        });
        ctrl_c::run(signals, tick, job_time).await
    }))
    .unwrap();

    assert_eq!(summary.signal, Signal::Interrupt);
    // The first tick fires before the 100 ms raise, so at least one job started, and
    // `run` waited for it: never earlier than one tick plus one job.
    assert!(summary.jobs >= 1, "{summary:?}");
    assert!(start.elapsed() >= tick + job_time);
    // The listener is gone: Ctrl-C has its default action again.
    assert_eq!(disposition(libc::SIGINT), libc::SIG_DFL);
}
