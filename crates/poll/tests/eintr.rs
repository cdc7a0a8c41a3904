//! A signal that interrupts the wait (`EINTR`) is retried transparently with the remaining
//! time. Its own test binary: the signal handler is process-wide.

// Signals and EINTR are Unix notions.
#![cfg(unix)]

use std::os::unix::thread::JoinHandleExt;
use std::sync::Arc;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use solo_poll::{Events, Poller};

static HANDLED: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_signal(_: libc::c_int) {
    HANDLED.fetch_add(1, Ordering::Relaxed);
}

/// Installs a no-op SIGUSR1 handler *without* `SA_RESTART`, so a blocked wait fails with
/// `EINTR` instead of being restarted by the kernel.
fn install_handler() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: `sigaction` is plain data; all-zero is a valid value (empty mask, no
        // flags).
        let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
        sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        sa.sa_flags = 0;
        // SAFETY: `sa.sa_mask` is a live sigset_t; the handler only touches an atomic,
        // which is async-signal-safe.
        unsafe {
            libc::sigemptyset(&mut sa.sa_mask);
            assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()), 0);
        }
    });
}

/// Runs `wait` on a new thread and signals that thread every few milliseconds until the
/// wait returns; returns what the wait returned and when, and the signals handled.
fn wait_under_signals(
    poller: Arc<Poller>,
    timeout: Option<Duration>,
    after: impl FnOnce() + Send + 'static,
) -> (usize, Duration) {
    install_handler();
    let done = Arc::new(AtomicBool::new(false));
    let d = Arc::clone(&done);
    let start = Instant::now();
    let waiter = thread::spawn(move || {
        let mut events = Events::new();
        let n = poller.wait(&mut events, timeout).unwrap();
        d.store(true, Ordering::SeqCst);
        (n, start.elapsed())
    });
    let tid = waiter.as_pthread_t();
    let before = HANDLED.load(Ordering::Relaxed);
    let mut sent = 0;
    let mut after = Some(after);
    while !done.load(Ordering::SeqCst) {
        // SAFETY: the thread has not been joined yet, so `tid` names it (an exited but
        // unjoined thread is still a valid target: the call then fails with ESRCH).
        unsafe { libc::pthread_kill(tid, libc::SIGUSR1) };
        sent += 1;
        thread::sleep(Duration::from_millis(5));
        if sent == 20 {
            if let Some(f) = after.take() {
                f();
            }
        }
    }
    let result = waiter.join().unwrap();
    assert!(
        HANDLED.load(Ordering::Relaxed) > before,
        "no signal reached the waiter"
    );
    result
}

#[test]
fn eintr_resumes_and_honours_the_full_timeout() {
    let poller = Arc::new(Poller::new().unwrap());
    let t = Duration::from_millis(300);
    let (n, elapsed) = wait_under_signals(poller, Some(t), || {});
    assert_eq!(n, 0);
    assert!(elapsed >= t, "returned after {elapsed:?} of {t:?}");
}

#[test]
fn eintr_then_notify_still_wakes() {
    // Signals do not end a wait without a timeout, and do not swallow a later notify.
    let poller = Arc::new(Poller::new().unwrap());
    let p = Arc::clone(&poller);
    let (n, elapsed) = wait_under_signals(poller, None, move || p.notify().unwrap());
    assert_eq!(n, 0);
    // The notify came after 20 signals, 5 ms apart.
    assert!(elapsed >= Duration::from_millis(100));
}
