//! `Async<T>` and the reactor: readiness semantics, stale events, cross-thread wakes.
#![cfg(unix)]

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::task::Poll;
use std::time::Duration;

use solo_executor::LocalExecutor;
use solo_io::{Async, Timer, block_on, io_timeout};
use solo_lite::future;

const GUARD: Duration = Duration::from_secs(20);

#[test]
fn raw_wouldblock_then_readable_loop_neither_spins_nor_hangs() {
    block_on(async {
        let listener = Async::new(TcpListener::bind("127.0.0.1:0").unwrap()).unwrap();
        let addr = listener.get_ref().local_addr().unwrap();
        let mut waits = 0;
        let mut accepted = 0;
        let _clients: Vec<_> = (0..3).map(|_| TcpStream::connect(addr).unwrap()).collect();
        // The async-io idiom: try the raw operation, wait on WouldBlock.
        let polls_before = solo_io::reactor::stats().polls;
        while accepted < 3 {
            match listener.get_ref().accept() {
                Ok(_) => accepted += 1,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    waits += 1;
                    io_timeout(GUARD, listener.readable()).await.unwrap();
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert!(
            waits < 10,
            "readable() spun: {waits} waits for 3 connections"
        );
        // Now nothing is pending: readable() must really wait (not return the stale cache).
        let waited = io_timeout(Duration::from_millis(30), listener.readable()).await;
        assert_eq!(waited.unwrap_err().kind(), io::ErrorKind::TimedOut);
        assert!(solo_io::reactor::stats().polls > polls_before);
    });
}

#[test]
fn partial_raw_read_then_readable_completes() {
    block_on(async {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let a = Async::new(a).unwrap();
        (&b).write_all(b"0123456789").unwrap();
        io_timeout(GUARD, a.readable()).await.unwrap();
        let mut buf = [0u8; 4];
        assert_eq!(a.get_ref().read(&mut buf).unwrap(), 4);
        // Data is left; with edge-triggered registration no new event will come, so this
        // relies on readable() re-checking with the OS.
        io_timeout(GUARD, a.readable()).await.unwrap();
        let mut rest = [0u8; 16];
        assert_eq!(a.get_ref().read(&mut rest).unwrap(), 6);
    });
}

#[test]
fn read_with_and_write_with_on_a_socket_pair() {
    block_on(async {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let (a, b) = (Async::new(a).unwrap(), Async::new(b).unwrap());
        let n = a.write_with(|s| (&*s).write(b"ping")).await.unwrap();
        assert_eq!(n, 4);
        let mut buf = [0u8; 4];
        io_timeout(GUARD, b.read_with(|s| (&*s).read(&mut buf)))
            .await
            .unwrap();
        assert_eq!(&buf, b"ping");
    });
}

// epoll and kqueue keep a registration alive for as long as the open file is, even after
// its descriptor number was closed: that is what produces the stale event here. poll(2)
// has no such registration (and refuses to add the reused number while the old entry is
// in its table), so the scenario does not exist there.
#[cfg(not(solo_poll_force_poll))]
#[test]
fn a_stale_event_for_a_swapped_descriptor_is_dropped() {
    block_on(async {
        let (a, peer) = std::os::unix::net::UnixStream::pair().unwrap();
        let keep_open = a.try_clone().unwrap(); // the registered file outlives its fd
        let mut registered = Async::new(a).unwrap();
        // Swap the registered descriptor behind the reactor's back and close it; the
        // kernel keeps the registration because `keep_open` shares the open file.
        let (other, _other_peer) = std::os::unix::net::UnixStream::pair().unwrap();
        drop(std::mem::replace(registered.get_mut(), other));
        // Deregistering now removes the slab entry (the poller says NotFound for the
        // new descriptor, which is ignored).
        drop(registered);
        let stale_before = solo_io::reactor::stats().stale_events;
        (&peer).write_all(b"x").unwrap();
        // A fresh source may reuse the slab slot; the old key's generation differs.
        let (fresh, fresh_peer) = std::os::unix::net::UnixStream::pair().unwrap();
        let fresh = Async::new(fresh).unwrap();
        Timer::after(Duration::from_millis(10)).await;
        assert!(solo_io::reactor::stats().stale_events > stale_before);
        // The fresh source was not woken or marked by the stale event: it still works.
        (&fresh_peer).write_all(b"y").unwrap();
        let mut buf = [0u8; 1];
        io_timeout(GUARD, fresh.read_with(|s| (&*s).read(&mut buf)))
            .await
            .unwrap();
        assert_eq!(&buf, b"y");
        drop(keep_open);
    });
}

#[test]
fn dropping_a_task_that_waits_on_a_source_deregisters_it() {
    let ex = LocalExecutor::new();
    block_on(ex.run(async {
        let sources = solo_io::reactor::stats().sources;
        let task = ex.spawn(async {
            let l = Async::new(TcpListener::bind("127.0.0.1:0").unwrap()).unwrap();
            l.read_with(|l| l.accept()).await.map(drop)
        });
        future::yield_now().await;
        assert_eq!(solo_io::reactor::stats().sources, sources + 1);
        drop(task); // cancels: the future (and the listener) is dropped while waiting
        assert_eq!(solo_io::reactor::stats().sources, sources);
        // The reactor carries on.
        Timer::after(Duration::from_millis(1)).await;
    }));
}

#[test]
fn a_wake_from_another_thread_reaches_block_on() {
    for _ in 0..100 {
        let mut spawned = false;
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        block_on(future::poll_fn(|cx| {
            if done.load(std::sync::atomic::Ordering::Acquire) {
                return Poll::Ready(());
            }
            if !spawned {
                spawned = true;
                let (waker, done) = (cx.waker().clone(), done.clone());
                std::thread::spawn(move || {
                    done.store(true, std::sync::atomic::Ordering::Release);
                    waker.wake();
                });
            }
            Poll::Pending
        }));
    }
}

#[cfg(target_os = "linux")]
#[test]
fn block_on_with_nothing_ready_sleeps() {
    use std::time::Instant;
    fn cpu_time() -> Duration {
        // SAFETY: `getrusage` fills the zeroed struct we pass; all-zero is a valid rusage.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: RUSAGE_THREAD with a valid out-pointer.
        assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) }, 0);
        let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
        tv(ru.ru_utime) + tv(ru.ru_stime)
    }
    let (cpu, wall) = (cpu_time(), Instant::now());
    block_on(Timer::after(Duration::from_millis(200)));
    let (cpu, wall) = (cpu_time() - cpu, wall.elapsed());
    assert!(wall >= Duration::from_millis(200));
    assert!(cpu < wall / 4, "block_on spun: {cpu:?} of CPU in {wall:?}");
}

#[test]
fn registrations_are_released() {
    block_on(async {
        let before = solo_io::reactor::stats().sources;
        for _ in 0..1000 {
            let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
            let a = Async::new(a).unwrap();
            let b = Async::new(b).unwrap();
            let std_a = a.into_inner().unwrap();
            drop((std_a, b));
        }
        assert_eq!(solo_io::reactor::stats().sources, before);
    });
}
