//! Helpers shared by the integration tests: hang guards, a guarded `block_on`, temporary
//! directories, loopback TCP pairs.

// Each test file uses a different subset.
#![allow(dead_code)]

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use solo_io::net::{TcpListener, TcpStream};
use solo_lite::io::{AsyncRead, AsyncReadExt};

/// Generous guard against hangs of whole tests; never an expectation of speed.
pub const HANG_GUARD: Duration = Duration::from_secs(120);

/// Hang guard for one await that talks to a peer.
pub const GUARD: Duration = Duration::from_secs(20);

/// Runs `fut` to completion on this thread's reactor; panics after [`HANG_GUARD`].
pub fn block_on<T>(fut: impl Future<Output = T>) -> T {
    solo_io::block_on(solo_io::timeout(HANG_GUARD, fut)).expect("block_on: hang")
}

/// Waits (really, sleeping) until `cond` holds; panics after [`HANG_GUARD`].
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < HANG_GUARD, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Reads `r` to its end.
pub async fn read_to_end<R: AsyncRead + Unpin>(r: &mut R) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    r.read_to_end(&mut out).await?;
    Ok(out)
}

/// A connected loopback TCP pair: (solo stream, std peer).
pub async fn tcp_pair() -> (TcpStream, std::net::TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (stream, _) = solo_io::io_timeout(GUARD, listener.accept()).await.unwrap();
    (stream, peer)
}

/// A temporary directory, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!(
            "solo-io-test-{name}-{}-{:?}",
            std::process::id(),
            Instant::now()
        ));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Forks; runs `child` in the child and `_exit`s with 0 if it returns `Ok`, 1 (after one
/// line on stderr) if not, 2 if it panicked; returns the child's pid in the parent.
#[cfg(unix)]
pub fn fork_with(child: impl FnOnce() -> Result<(), String>) -> libc::pid_t {
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
        // SAFETY: ends the child without running the parent's destructors again.
        unsafe { libc::_exit(code) };
    }
    pid
}

#[cfg(unix)]
/// Waits for the child on the blocking pool (killing it after [`HANG_GUARD`]);
/// its exit code.
pub async fn exit_code(pid: libc::pid_t) -> i32 {
    solo_io::unblock(move || {
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
            if start.elapsed() > HANG_GUARD {
                // SAFETY: a signal to our own child.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                panic!("the fork child hung");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    })
    .await
}
