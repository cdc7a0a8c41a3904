//! A poller across `fork`: the child never touches the parent's instance, gets errors
//! until it re-creates its own, then works; the parent's registrations survive whatever
//! the child does and drops.
//!
//! The child reports through its exit status (0: every check passed) and one line on
//! stderr; it never unwinds or returns into the test harness.

#![cfg(unix)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use solo_poll::{Events, Interest, Mode, Poller};

const GUARD: Duration = Duration::from_secs(20);

/// Forks; runs `child` in the child and exits with 0 if it returns `Ok`, 1 (after
/// printing the error) otherwise; returns the child's pid in the parent.
fn fork_with(child: impl FnOnce() -> Result<(), String>) -> libc::pid_t {
    // SAFETY: the child runs only `child` and then `_exit`s: it never returns into the
    // test harness (whose other threads do not exist in the child).
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(child));
        let code = match outcome {
            Ok(Ok(())) => 0,
            Ok(Err(why)) => {
                let line = format!("fork child: {why}\n");
                // SAFETY: writes a live buffer to stderr.
                unsafe { libc::write(2, line.as_ptr().cast(), line.len()) };
                1
            }
            Err(_) => 2,
        };
        // SAFETY: ends the child at once, without running the parent's destructors or
        // atexit handlers a second time.
        unsafe { libc::_exit(code) };
    }
    pid
}

/// Waits for the child (killing it after [`GUARD`]); its exit code.
fn exit_code(pid: libc::pid_t) -> i32 {
    let start = Instant::now();
    loop {
        let mut status = 0;
        // SAFETY: `status` is a live int.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        assert!(r >= 0, "waitpid: {}", std::io::Error::last_os_error());
        if r == pid {
            assert!(
                libc::WIFEXITED(status),
                "the child did not exit: {status:#x}"
            );
            return libc::WEXITSTATUS(status);
        }
        if start.elapsed() > GUARD {
            // SAFETY: a signal to our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("the fork child hung");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn check(cond: bool, what: &str) -> Result<(), String> {
    if cond { Ok(()) } else { Err(what.to_string()) }
}

fn mode(poller: &Poller) -> Mode {
    if poller.supports_edge() {
        Mode::Edge
    } else {
        Mode::Level
    }
}

fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

#[test]
fn the_child_leaves_the_parents_poller_alone_and_makes_its_own() {
    let poller = Poller::new().unwrap();
    let m = mode(&poller);
    let (parent_end, mut parent_peer) = pair();
    poller.add(&parent_end, 1, Interest::READABLE, m).unwrap();
    assert!(!poller.is_inherited());

    // The child takes them out of the slot (its copy of it); the parent's stays full.
    let mut slot = Some((poller, parent_end));
    let pid = fork_with(|| {
        let (poller, parent_end) = slot.take().unwrap();
        check(
            poller.is_inherited(),
            "the child sees the poller as inherited",
        )?;
        let mut events = Events::new();
        // Everything but notify refuses to touch the parent's instance.
        let err = poller
            .wait(&mut events, Some(Duration::ZERO))
            .expect_err("wait on an inherited poller must fail");
        check(
            err.to_string().contains("reinit_after_fork"),
            "the error says what to do",
        )?;
        check(poller.delete(&parent_end).is_err(), "delete refused")?;
        check(
            poller.modify(&parent_end, 1, Interest::NONE, m).is_err(),
            "modify refused",
        )?;
        // Kept for the new instance, not sent to the parent's eventfd.
        poller.notify().map_err(|e| format!("notify: {e}"))?;

        check(matches!(poller.reinit_after_fork(), Ok(true)), "re-created")?;
        check(!poller.is_inherited(), "now the child's own")?;
        check(matches!(poller.reinit_after_fork(), Ok(false)), "only once")?;
        // The notify from before the re-creation wakes the new instance.
        let start = Instant::now();
        let n = poller
            .wait(&mut events, Some(Duration::from_secs(5)))
            .map_err(|e| format!("wait: {e}"))?;
        check(
            n == 0 && start.elapsed() < Duration::from_secs(4),
            "the kept notify arrives",
        )?;

        // A source of the child's own, and the inherited one added again.
        let (own, mut own_peer) = pair();
        poller
            .add(&own, 2, Interest::READABLE, m)
            .map_err(|e| format!("add: {e}"))?;
        poller
            .add(&parent_end, 1, Interest::READABLE, m)
            .map_err(|e| format!("re-add: {e}"))?;
        own_peer.write_all(b"x").map_err(|e| e.to_string())?;
        let n = poller
            .wait(&mut events, Some(GUARD))
            .map_err(|e| format!("wait: {e}"))?;
        check(
            n >= 1 && events.iter().any(|e| e.key == 2 && e.readable),
            "the child's event",
        )?;
        // Deleting and dropping everything here is the child's business only.
        poller.delete(&own).map_err(|e| format!("delete: {e}"))?;
        poller
            .delete(&parent_end)
            .map_err(|e| format!("delete: {e}"))?;
        drop(poller);
        drop(parent_end);
        Ok(())
    });
    assert_eq!(
        exit_code(pid),
        0,
        "the child's checks failed (see its stderr line)"
    );
    let (poller, parent_end) = slot.take().unwrap();

    // No wake-up from the child reached the parent's instance.
    let mut events = Events::new();
    let start = Instant::now();
    let n = poller
        .wait(&mut events, Some(Duration::from_millis(100)))
        .unwrap();
    assert_eq!(n, 0);
    assert!(
        start.elapsed() >= Duration::from_millis(100),
        "the parent was woken by the child's notify"
    );
    // The parent's registration survived the child's deletes and drops.
    parent_peer.write_all(b"y").unwrap();
    let n = poller.wait(&mut events, Some(GUARD)).unwrap();
    assert_eq!(n, 1);
    let ev = events.iter().next().unwrap();
    assert!(ev.key == 1 && ev.readable, "{ev:?}");
    let mut byte = [0; 1];
    (&parent_end).read_exact(&mut byte).unwrap();
    assert_eq!(&byte, b"y");
    poller.delete(&parent_end).unwrap();
}

#[test]
fn a_poller_created_in_the_child_is_its_own() {
    let pid = fork_with(|| {
        let poller = Poller::new().map_err(|e| e.to_string())?;
        check(!poller.is_inherited(), "a new poller is not inherited")?;
        check(
            matches!(poller.reinit_after_fork(), Ok(false)),
            "nothing to re-create",
        )?;
        let mut events = Events::new();
        poller
            .wait(&mut events, Some(Duration::ZERO))
            .map_err(|e| e.to_string())?;
        Ok(())
    });
    assert_eq!(exit_code(pid), 0);
}
