//! Child processes reaped through the `SIGCHLD` fallback (kernels without pidfd, systems
//! without kqueue), forced on each test's thread. The tests take turns: they change the
//! process-wide `SIGCHLD` disposition.
#![cfg(unix)]

mod common;

use std::collections::HashSet;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use common::{GUARD, HANG_GUARD, block_on};
use solo_executor::LocalExecutor;
use solo_io::process::{Command, Stdio};
use solo_io::{Timer, io_timeout};
use solo_lite::io::AsyncWriteExt;

static TURN: Mutex<()> = Mutex::new(());

/// Takes this test's turn and forces the fallback on its thread.
fn fallback() -> MutexGuard<'static, ()> {
    let turn = TURN.lock().unwrap_or_else(PoisonError::into_inner);
    solo_io::process::__force_sigchld(true);
    turn
}

/// The current `SIGCHLD` handler address (or `SIG_DFL`/`SIG_IGN`).
fn disposition() -> libc::sighandler_t {
    // SAFETY: all-zero is a valid `sigaction`; a null new action only reads.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        assert_eq!(
            libc::sigaction(libc::SIGCHLD, std::ptr::null(), &mut old),
            0
        );
        old.sa_sigaction
    }
}

/// Whether `pid` is gone (reaped); a zombie still answers signal 0.
fn gone(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid as libc::pid_t, 0) != 0 }
}

async fn wait_gone(pids: &[u32]) -> Vec<u32> {
    let start = Instant::now();
    loop {
        let left: Vec<u32> = pids.iter().copied().filter(|p| !gone(*p)).collect();
        if left.is_empty() || start.elapsed() > GUARD {
            return left;
        }
        Timer::after(Duration::from_millis(10)).await;
    }
}

#[test]
fn status_output_and_kill_through_sigchld() {
    let _turn = fallback();
    assert_eq!(disposition(), libc::SIG_DFL);
    block_on(async {
        let mut child = Command::new("sh").args(["-c", "exit 5"]).spawn()?;
        // The fallback is in use: SIGCHLD has a handler while a child is watched.
        assert_ne!(disposition(), libc::SIG_DFL);
        assert_eq!(io_timeout(GUARD, child.status()).await?.code(), Some(5));

        let out = Command::new("sh")
            .args(["-c", "cat; echo done >&2"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let mut out = out;
        let mut stdin = out.stdin.take().unwrap();
        stdin.write_all(b"through the pipe").await?;
        stdin.close().await?;
        let out = io_timeout(GUARD, out.output()).await?;
        assert_eq!(out.stdout, b"through the pipe");
        assert_eq!(out.stderr, b"done\n");

        let mut sleeper = Command::new("sleep").arg("60").spawn()?;
        sleeper.kill()?;
        let status = io_timeout(GUARD, sleeper.status()).await?;
        assert!(!status.success());
        io::Result::Ok(())
    })
    .unwrap();
    // The last watched child is gone: the disposition is back.
    assert_eq!(disposition(), libc::SIG_DFL);
}

#[test]
fn many_children_through_sigchld_leave_no_zombie() {
    let _turn = fallback();
    const N: usize = 200;
    let ex = LocalExecutor::new();
    block_on(ex.run(async {
        let mut pids = Vec::new();
        let mut tasks = Vec::new();
        for i in 0..N {
            let mut child = Command::new("sh")
                .args(["-c", &format!("sleep 0.05; exit {}", i % 3)])
                .spawn()?;
            pids.push(child.id());
            if i % 2 == 0 {
                tasks.push(ex.spawn(async move { (i, child.status().await) }));
            }
        }
        assert_eq!(pids.iter().collect::<HashSet<_>>().len(), N);
        for task in tasks {
            let (i, status) = io_timeout(HANG_GUARD, async { Ok(task.await) }).await?;
            assert_eq!(status?.code(), Some((i % 3) as i32));
        }
        let left = wait_gone(&pids).await;
        assert!(left.is_empty(), "not reaped: {left:?}");
        io::Result::Ok(())
    }))
    .unwrap();
    assert_eq!(disposition(), libc::SIG_DFL);
}

static APP_PLAIN: AtomicUsize = AtomicUsize::new(0);
static APP_SIGINFO: AtomicUsize = AtomicUsize::new(0);

extern "C" fn app_plain(n: libc::c_int) {
    if n == libc::SIGCHLD {
        APP_PLAIN.fetch_add(1, Ordering::SeqCst);
    }
}

extern "C" fn app_siginfo(n: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
    if n == libc::SIGCHLD && !info.is_null() && unsafe { (*info).si_signo } == libc::SIGCHLD {
        APP_SIGINFO.fetch_add(1, Ordering::SeqCst);
    }
}

/// Installs `handler` for SIGCHLD (with `SA_SIGINFO` if `siginfo`).
fn install_app_handler(handler: libc::sighandler_t, siginfo: bool) {
    // SAFETY: all-zero is a valid `sigaction`; the handlers only touch atomics.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler;
        action.sa_flags = libc::SA_RESTART | if siginfo { libc::SA_SIGINFO } else { 0 };
        assert_eq!(
            libc::sigaction(libc::SIGCHLD, &action, std::ptr::null_mut()),
            0
        );
    }
}

#[test]
fn the_applications_sigchld_handler_is_still_called_and_restored() {
    let _turn = fallback();
    for (handler, siginfo, count) in [
        (
            app_plain as extern "C" fn(libc::c_int) as libc::sighandler_t,
            false,
            &APP_PLAIN,
        ),
        (
            app_siginfo as extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void)
                as libc::sighandler_t,
            true,
            &APP_SIGINFO,
        ),
    ] {
        install_app_handler(handler, siginfo);
        let before = count.load(Ordering::SeqCst);
        block_on(async {
            let mut child = Command::new("true").spawn()?;
            assert_ne!(disposition(), handler, "solo's handler is installed");
            assert!(io_timeout(GUARD, child.status()).await?.success());
            io::Result::Ok(())
        })
        .unwrap();
        assert!(
            count.load(Ordering::SeqCst) > before,
            "the app's handler was not called"
        );
        assert_eq!(disposition(), handler, "the app's handler is back");
    }
    install_app_handler(libc::SIG_DFL, false);
}
