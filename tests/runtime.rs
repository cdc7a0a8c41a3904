//! The `solo` runtime as a whole: sleeping when idle, tasks with timers and sockets,
//! `spawn` outside a runtime, tasks across `block_on` calls, shards, pinning, and wakes
//! from other threads.

use std::cell::Cell;
use std::future::Future;
use std::io;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use solo::io::{AsyncReadExt, AsyncWriteExt};
use solo::net::{TcpListener, TcpStream};
use solo::stream::StreamExt;
use solo::{Timer, reactor};

/// A generous bound on every test: hangs fail instead of blocking the suite.
const LIMIT: Duration = Duration::from_secs(60);

/// Runs `test` on this thread's runtime, bounded by [`LIMIT`].
fn run<T>(test: impl Future<Output = io::Result<T>>) -> T {
    solo::block_on(solo::io_timeout(LIMIT, test)).unwrap()
}

/// CPU time (user and system) this thread has used.
#[cfg(target_os = "linux")]
fn thread_cpu_time() -> Duration {
    // SAFETY: all-zero is a valid `rusage`.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a live `rusage` for the kernel to fill.
    let ret = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
    assert_eq!(ret, 0, "getrusage: {}", io::Error::last_os_error());
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

#[test]
fn block_on_sleeps_in_the_poller_when_nothing_is_ready() {
    solo::block_on(async {}); // create this thread's reactor first
    let idle = Duration::from_millis(200);
    let polls = reactor::stats().polls;
    #[cfg(target_os = "linux")]
    let cpu = thread_cpu_time();
    let start = Instant::now();

    solo::block_on(Timer::after(idle));

    let wall = start.elapsed();
    assert!(wall >= idle);
    // A busy loop would poll thousands of times; a sleeping loop waits once or twice
    // (a few more if the poller returns a little early).
    let polls = reactor::stats().polls - polls;
    assert!(polls < 50, "{polls} polls in {wall:?}");
    #[cfg(target_os = "linux")]
    {
        let cpu = thread_cpu_time() - cpu;
        assert!(cpu < wall / 4, "{cpu:?} of CPU time in {wall:?}");
    }
}

#[test]
fn tasks_timers_and_sockets_make_progress_together() {
    // The ticker stops only after the socket made progress and the socket loop only
    // after the ticker did: if either starved the other, the test would time out.
    const ENOUGH: u32 = 20;
    let ticks = Rc::new(Cell::new(0u32));
    let pongs = Rc::new(Cell::new(0u32));
    let (t, p) = (ticks.clone(), pongs.clone());
    run(async move {
        let outer = solo::spawn(async move {
            // A task spawned from another task.
            let ticker = solo::spawn({
                let (ticks, pongs) = (t.clone(), p.clone());
                async move {
                    let mut interval = Timer::interval(Duration::from_millis(1));
                    while ticks.get() < ENOUGH || pongs.get() < ENOUGH {
                        interval.next().await;
                        ticks.set(ticks.get() + 1);
                    }
                }
            });
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let mut client = TcpStream::connect(listener.local_addr()?).await?;
            let (server, _) = listener.accept().await?;
            let _echo = solo::spawn(async move { solo::io::copy(&server, &server).await });
            let mut byte = [0u8];
            while p.get() < ENOUGH || t.get() < ENOUGH {
                client.write_all(&byte).await?;
                client.read_exact(&mut byte).await?;
                p.set(p.get() + 1);
            }
            ticker.await;
            io::Result::Ok(())
        });
        outer.await
    });
    assert!(ticks.get() >= ENOUGH && pongs.get() >= ENOUGH);
}

#[test]
#[should_panic(expected = "solo::spawn called outside solo::block_on")]
fn spawn_outside_a_runtime_panics() {
    let _task = solo::spawn(async {});
}

#[test]
fn tasks_left_unfinished_continue_in_the_next_block_on() {
    let done = Rc::new(Cell::new(false));
    let flag = done.clone();
    let mut task = None;
    solo::block_on(async {
        // Detached: nobody awaits it in this call.
        solo::spawn(async move {
            Timer::after(Duration::from_millis(20)).await;
            flag.set(true);
        })
        .detach();
        // Kept, but not awaited in this call.
        task = Some(solo::spawn(async {
            Timer::after(Duration::from_millis(20)).await;
            7
        }));
    });
    let task = task.expect("spawned");
    assert!(!done.get() && !task.is_finished());
    let out = run(async {
        let out = task.await;
        while !done.get() {
            Timer::after(Duration::from_millis(1)).await;
        }
        Ok(out)
    });
    assert_eq!(out, 7);
}

#[test]
fn a_wake_from_another_thread_wakes_a_sleeping_block_on() {
    // The main future, woken by the blocking pool.
    let polls = reactor::stats().polls;
    let n = run(async {
        Ok(solo::unblock(|| {
            std::thread::sleep(Duration::from_millis(50));
            42
        })
        .await)
    });
    assert_eq!(n, 42);
    // It slept in the poller meanwhile rather than spinning.
    assert!(reactor::stats().polls - polls < 50);

    // A task, woken by a plain thread through an ordinary `Waker`.
    let shared: Arc<Mutex<(bool, Option<Waker>)>> = Arc::default();
    let remote = shared.clone();
    run(async move {
        let task = solo::spawn(std::future::poll_fn(move |cx| {
            let mut state = shared.lock().unwrap();
            if state.0 {
                return Poll::Ready(());
            }
            state.1 = Some(cx.waker().clone());
            Poll::Pending
        }));
        let waker_thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            let mut state = remote.lock().unwrap();
            state.0 = true;
            if let Some(waker) = state.1.take() {
                waker.wake();
            }
        });
        task.await;
        waker_thread.join().expect("the waking thread panicked");
        Ok(())
    });
}

#[cfg(target_os = "linux")]
#[test]
fn shards_share_one_port_with_reuseport() {
    use std::io::Read;
    use std::net::SocketAddr;
    use std::sync::Barrier;
    use std::sync::atomic::{AtomicBool, Ordering};

    // A free port: bound without SO_REUSEPORT and released at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let ready = Barrier::new(3); // two shards and the client
    let stop = AtomicBool::new(false);
    let deadline = Instant::now() + LIMIT;

    let (accepted, seen) = std::thread::scope(|s| {
        // The client: connects until both shards have answered (each sends its index).
        let client = s.spawn(|| {
            ready.wait();
            let mut seen = [false; 2];
            let result = (|| {
                for _ in 0..1000 {
                    let mut c = std::net::TcpStream::connect(addr)?;
                    c.set_read_timeout(Some(Duration::from_secs(20)))?;
                    let mut shard = [0u8];
                    c.read_exact(&mut shard)?;
                    seen[usize::from(shard[0])] = true;
                    if seen == [true, true] || Instant::now() > deadline {
                        break;
                    }
                }
                io::Result::Ok(())
            })();
            stop.store(true, Ordering::Relaxed);
            result.map(|()| seen)
        });
        // Each shard: its own runtime and listener on the shared port.
        let accepted = solo::shards(2, |shard: solo::shard::Shard<()>| {
            let (ready, stop) = (&ready, &stop);
            let i = shard.id();
            async move {
                let listener = TcpListener::bind_reuseport(addr);
                ready.wait(); // also on failure, so the others are not left waiting
                let listener = listener?;
                let mut accepted = 0;
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    match solo::io_timeout(Duration::from_millis(20), listener.accept()).await {
                        Ok((mut stream, _)) => {
                            stream.write_all(&[i as u8]).await?;
                            accepted += 1;
                        }
                        Err(e) if e.kind() == io::ErrorKind::TimedOut => {}
                        Err(e) => return Err(e),
                    }
                }
                io::Result::Ok(accepted)
            }
        });
        (accepted, client.join().expect("the client panicked"))
    });
    let accepted: Vec<usize> = accepted
        .unwrap()
        .into_iter()
        .collect::<io::Result<_>>()
        .unwrap();
    assert_eq!(
        seen.unwrap(),
        [true, true],
        "accepted per shard: {accepted:?}"
    );
    assert!(accepted.iter().all(|&n| n >= 1), "{accepted:?}");
}

#[cfg(target_os = "linux")]
#[test]
fn pin_to_core_pins_this_thread() {
    // The first core this process may use (a container may exclude core 0).
    // SAFETY: all-zero is the empty `cpu_set_t`.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: pid 0 is this thread; `set` is a live `cpu_set_t` of the size passed.
    let ret = unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) };
    assert_eq!(ret, 0, "sched_getaffinity: {}", io::Error::last_os_error());
    // SAFETY: `CPU_ISSET` reads the bit of each core below the set's size.
    let core = (0..libc::CPU_SETSIZE as usize)
        .find(|&c| unsafe { libc::CPU_ISSET(c, &set) })
        .expect("some core is allowed");

    // On a thread of its own, so no other test runs pinned.
    std::thread::spawn(move || {
        solo::pin_to_core(core).unwrap();
        // SAFETY: no arguments; returns the core this thread runs on.
        let now = unsafe { libc::sched_getcpu() };
        assert_eq!(now, core as libc::c_int);
        // The runtime works on the pinned thread.
        assert_eq!(solo::block_on(async { solo::spawn(async { 5 }).await }), 5);
    })
    .join()
    .unwrap();
}

#[test]
fn pin_to_core_explains_a_core_that_does_not_exist() {
    for core in [1000, 1 << 20] {
        let err = std::thread::spawn(move || solo::pin_to_core(core))
            .join()
            .unwrap()
            .unwrap_err();
        let expected = if cfg!(any(
            target_os = "linux",
            target_os = "android",
            target_os = "freebsd",
            windows
        )) {
            io::ErrorKind::InvalidInput
        } else {
            io::ErrorKind::Unsupported
        };
        assert_eq!(err.kind(), expected, "{err}");
        assert!(err.to_string().contains(&format!("core {core}")), "{err}");
    }
}

#[cfg(all(unix, not(target_vendor = "apple")))]
#[test]
fn raise_fd_limit_lifts_the_soft_limit_to_the_hard_one() {
    let limit = solo::raise_fd_limit().unwrap();
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a live rlimit for getrlimit(2) to fill.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    assert_eq!(lim.rlim_cur, lim.rlim_max);
    #[allow(clippy::unnecessary_cast)] // `rlim_t` is `i64` on FreeBSD
    let soft = lim.rlim_cur as u64;
    assert_eq!(limit, soft);
}
