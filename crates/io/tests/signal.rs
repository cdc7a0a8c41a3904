//! Signals delivered to this process wake the waiting future; dispositions are restored.
//! One test function: signal dispositions are process-wide.
#![cfg(unix)]

use std::time::Duration;

use solo_io::signal::{Signal, Signals};
use solo_io::{Timer, block_on, io_timeout, timeout};
use solo_lite::stream::StreamExt;

fn disposition(sig: libc::c_int) -> libc::sighandler_t {
    // SAFETY: all-zero is a valid `sigaction`; querying with a null new action.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointers.
    let ret = unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) };
    assert_eq!(ret, 0);
    old.sa_sigaction
}

fn raise(sig: libc::c_int) {
    // SAFETY: sends a signal to our own process, whose handler is installed.
    assert_eq!(unsafe { libc::kill(libc::getpid(), sig) }, 0);
}

#[test]
fn signals_wake_the_waiting_future_and_dispositions_are_restored() {
    assert_eq!(disposition(libc::SIGUSR1), libc::SIG_DFL);
    block_on(async {
        let mut signals = Signals::new([Signal::User1, Signal::User2]).unwrap();
        assert_ne!(disposition(libc::SIGUSR1), libc::SIG_DFL);

        // Delivered while we wait.
        let waiter = async { Ok(signals.next().await) };
        let sender = async {
            Timer::after(Duration::from_millis(20)).await;
            raise(libc::SIGUSR1);
            std::future::pending::<std::io::Result<Option<Signal>>>().await
        };
        let got = io_timeout(
            Duration::from_secs(20),
            solo_lite::future::or(waiter, sender),
        )
        .await;
        assert_eq!(got.unwrap(), Some(Signal::User1));

        // Delivered before we poll: not lost.
        raise(libc::SIGUSR2);
        let got = timeout(Duration::from_secs(20), signals.next()).await;
        assert_eq!(got.unwrap(), Some(Signal::User2));

        // A second listener for the same signal also hears it.
        let mut other = Signals::new([Signal::User1]).unwrap();
        raise(libc::SIGUSR1);
        let a = timeout(Duration::from_secs(20), signals.next()).await;
        let b = timeout(Duration::from_secs(20), other.next()).await;
        assert_eq!(
            (a.unwrap(), b.unwrap()),
            (Some(Signal::User1), Some(Signal::User1))
        );

        drop(other);
        assert_ne!(
            disposition(libc::SIGUSR1),
            libc::SIG_DFL,
            "one listener is left"
        );
        drop(signals);
    });
    assert_eq!(
        disposition(libc::SIGUSR1),
        libc::SIG_DFL,
        "default restored"
    );
    assert_eq!(
        disposition(libc::SIGUSR2),
        libc::SIG_DFL,
        "default restored"
    );

    let err = Signals::new([]).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}
