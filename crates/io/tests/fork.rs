//! The reactor across `fork`: the child goes on using solo-io (its first use re-creates
//! the poller and registers every live source again), its timers and the blocking pool
//! work, and nothing it does or drops touches the parent's poller.
//!
//! The child reports through its exit status (0: every check passed) and one line on
//! stderr; it never unwinds or returns into the test harness. Each test forks from inside
//! a running `block_on`, the way a server forks from one of its tasks.

#![cfg(unix)]

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::{GUARD, exit_code, fork_with};
use solo_io::net::{TcpListener, TcpStream};
use solo_io::{Timer, io_timeout, timeout, unblock};
use solo_lite::io::{AsyncReadExt, AsyncWriteExt};

/// `fut`, or a `TimedOut` error after [`GUARD`].
async fn within<T>(fut: impl Future<Output = T>) -> std::io::Result<T> {
    Ok(timeout(GUARD, fut).await?)
}

/// Turns an error into the child's report.
fn or_say<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// A client on another thread: connects, sends `ask`, returns what it reads to the end.
fn client(addr: std::net::SocketAddr, ask: &'static [u8]) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(GUARD)).unwrap();
        s.write_all(ask).unwrap();
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).expect("read the answer");
        answer
    })
}

/// Accepts one connection, reads the 5-byte question, answers `reply` and closes.
async fn serve_one(listener: &TcpListener, reply: &[u8]) -> std::io::Result<Vec<u8>> {
    let (mut stream, _): (TcpStream, _) = io_timeout(GUARD, listener.accept()).await?;
    let mut question = [0; 5];
    io_timeout(GUARD, stream.read_exact(&mut question)).await?;
    io_timeout(GUARD, stream.write_all(reply)).await?;
    Ok(question.to_vec())
}

#[test]
fn the_child_serves_and_fires_its_timer_while_the_parent_serves_its_own() {
    common::block_on(async {
        let parents = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let childs = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (parent_addr, child_addr) =
            (parents.local_addr().unwrap(), childs.local_addr().unwrap());
        // Pending timers and a warm blocking pool, all from before the fork.
        let timer = Timer::after(Duration::from_millis(50));
        let never = Timer::after(Duration::from_secs(3600));
        assert_eq!(unblock(|| 1).await, 1);

        let mut slot = Some((parents, childs, timer, never));
        let pid = fork_with(|| {
            let (parents, childs, timer, never) = slot.take().unwrap();
            solo_io::block_on(async move {
                // The parent's listener is none of the child's business: dropping it
                // deregisters it from the child's poller, never from the parent's.
                drop(parents);
                within(timer)
                    .await
                    .map_err(or_say("the timer from before the fork"))?;
                let fresh = within(Timer::after(Duration::from_millis(5))).await;
                fresh.map_err(or_say("a timer of the child"))?;
                let n = within(unblock(|| 41 + 1)).await;
                if n.map_err(or_say("the blocking pool"))? != 42 {
                    return Err("the blocking pool answered wrong".into());
                }
                let question = serve_one(&childs, b"child")
                    .await
                    .map_err(or_say("serving"))?;
                if question != b"hello" {
                    return Err(format!("the child read {question:?}"));
                }
                #[cfg(feature = "metrics")]
                if solo_io::reactor::metrics().reinits_after_fork != 1 {
                    return Err("the re-creation is not counted".into());
                }
                drop((childs, never));
                if solo_io::reactor::stats().sources != 0 {
                    return Err("sources left in the child".into());
                }
                Ok(())
            })
        });
        let (parents, childs, timer, never) = slot.take().unwrap();
        // The child's listener is the child's to serve.
        drop(childs);
        let to_child = client(child_addr, b"hello");
        let to_parent = client(parent_addr, b"howdy");
        assert_eq!(serve_one(&parents, b"parent").await.unwrap(), b"howdy");
        within(timer).await.expect("the parent's timer");
        assert_eq!(to_parent.join().unwrap(), b"parent");
        assert_eq!(to_child.join().unwrap(), b"child");
        assert_eq!(
            exit_code(pid).await,
            0,
            "the child's checks failed (its stderr line says which)"
        );

        // The child dropped everything, the parent's listener included: it still accepts
        // here, its registration intact.
        let again = client(parent_addr, b"again");
        assert_eq!(serve_one(&parents, b"still").await.unwrap(), b"again");
        assert_eq!(again.join().unwrap(), b"still");
        drop(never);
        assert_eq!(solo_io::reactor::stats().sources, 1);
    });
}

#[test]
fn a_wake_from_another_thread_reaches_the_childs_new_poller() {
    common::block_on(async {
        // The notifier (held by wakers on other threads) was made before the fork.
        let notifier = solo_io::reactor::notifier();
        let pid = fork_with(move || {
            solo_io::block_on(async move {
                // A thread of the child wakes the reactor through the old notifier while
                // the reactor sleeps with no timer: only the new poller can deliver it.
                let (tx, rx) = std::sync::mpsc::channel::<std::task::Waker>();
                let helper = std::thread::spawn(move || {
                    let waker = rx.recv().unwrap();
                    std::thread::sleep(Duration::from_millis(20));
                    waker.wake();
                    notifier.notify();
                });
                let mut sent = Some(tx);
                let woken = std::future::poll_fn(|cx| match sent.take() {
                    Some(tx) => {
                        tx.send(cx.waker().clone()).unwrap();
                        std::task::Poll::Pending
                    }
                    None => std::task::Poll::Ready(()),
                });
                within(woken)
                    .await
                    .map_err(or_say("woken from another thread"))?;
                helper
                    .join()
                    .map_err(|_| "the helper panicked".to_string())?;
                Ok(())
            })
        });
        assert_eq!(exit_code(pid).await, 0);
    });
}

#[test]
fn a_job_running_on_the_pool_at_the_fork_fails_in_the_child_and_finishes_in_the_parent() {
    common::block_on(async {
        let (started_tx, started) = std::sync::mpsc::channel();
        let job = unblock(move || {
            started_tx.send(()).unwrap();
            std::thread::sleep(Duration::from_millis(300));
            7
        });
        // Fork while the job runs on its pool thread.
        started.recv().unwrap();
        let mut slot = Some(job);
        let pid = fork_with(|| {
            let job = slot.take().unwrap();
            // The child's first use of the reactor abandons it: awaiting it panics with a
            // message that says why, instead of waiting forever.
            let outcome =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| solo_io::block_on(job)));
            let payload = match outcome {
                Ok(n) => return Err(format!("the lost job returned {n} in the child")),
                Err(payload) => payload,
            };
            let message = payload.downcast_ref::<&str>().copied().unwrap_or("");
            if !message.contains("forked") {
                return Err(format!("unexpected panic: {message:?}"));
            }
            // The pool works for new jobs.
            let n = solo_io::block_on(within(unblock(|| 5))).map_err(or_say("a new job"))?;
            if n != 5 {
                return Err("a new job answered wrong".into());
            }
            Ok(())
        });
        let job = slot.take().unwrap();
        assert_eq!(within(job).await.unwrap(), 7, "the parent's job finishes");
        assert_eq!(exit_code(pid).await, 0);
    });
}

/// A file read in flight at the fork (on the io_uring driver: an operation in the parent's
/// ring; on the poller: a pool job). The child's copy cannot complete: on the ring it fails
/// with an error, on the pool awaiting it panics, saying so; new reads work in the child.
/// The parent's read is untouched by the child (which never maps or enters the parent's
/// ring, and whose pool does not run the parent's jobs) and completes when data arrives.
#[cfg(target_os = "linux")]
#[test]
fn a_file_read_in_flight_at_the_fork_fails_in_the_child_and_completes_in_the_parent() {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::OpenOptionsExt;

    let dir = common::TempDir::new("fork-fifo");
    let fifo = dir.path().join("fifo");
    let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
    // SAFETY: `c` is a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    let plain = dir.path().join("plain");
    std::fs::write(&plain, b"a new read").unwrap();
    // A writer that stays open and silent: the reader's read waits.
    let mut writer = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    let on_ring = solo_io::reactor::driver() == "io_uring";
    common::block_on(async {
        let mut read = Box::pin(solo_io::fs::read(&fifo));
        // Turns enough for it to open, size and start reading (it cannot finish).
        for _ in 0..50 {
            let polled = std::future::poll_fn(|cx| {
                std::task::Poll::Ready(read.as_mut().poll(cx).is_pending())
            })
            .await;
            assert!(polled, "a read of a silent FIFO");
            Timer::after(Duration::from_millis(1)).await;
        }
        let mut slot = Some(read);
        let pid = fork_with(|| {
            let read = slot.take().unwrap();
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                solo_io::block_on(within(read))
            }));
            match outcome {
                Err(_) if !on_ring => {}
                Ok(Ok(Err(_))) if on_ring => {}
                Ok(Ok(Err(e))) => {
                    return Err(format!(
                        "on the pool the lost read failed instead of panicking: {e}"
                    ));
                }
                Ok(Ok(Ok(data))) => {
                    return Err(format!("the lost read returned {} bytes", data.len()));
                }
                Ok(Err(_)) => return Err("the lost read hung".into()),
                Err(_) => return Err("the lost read panicked".into()),
            }
            let data = solo_io::block_on(within(solo_io::fs::read(&plain)))
                .map_err(or_say("a new read"))?
                .map_err(or_say("a new read"))?;
            if data != b"a new read" {
                return Err("a new read read wrong".into());
            }
            Ok(())
        });
        assert_eq!(exit_code(pid).await, 0);
        writer.write_all(b"for the parent").unwrap();
        drop(writer);
        let read = slot.take().unwrap();
        let data = within(read).await.unwrap().unwrap();
        assert_eq!(data, b"for the parent");
    });
}
