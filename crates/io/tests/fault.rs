//! Fault injection: each syscall failure the reactor can meet, made to happen at a chosen
//! point, and the proof that it is handled (retried, surfaced as a clear error, or backed
//! off), never a spin, a hang, a panic or a lost byte.
//!
//! Run with
//!
//! ```text
//! RUSTFLAGS="--cfg solo_fault_injection" CARGO_TARGET_DIR=target/fault \
//!     cargo test -p solo-io --test fault
//! ```
//!
//! The plan (`solo_io::__fault`) is thread-local, so tests run in parallel threads safely.
//! Spinning is measured by counting operation attempts and reactor polls over a window,
//! never by an upper bound on time.
#![cfg(all(solo_fault_injection, unix))]

mod common;

use std::cell::Cell;
use std::io::{self, IoSlice, Read, Write};
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::rc::Rc;
use std::time::{Duration, Instant};

use common::tcp_pair;
use solo_executor::LocalExecutor;
use solo_io::__fault::{self as fault, Fault, Op, Rule};
use solo_io::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use solo_io::{Async, Timer, block_on, io_timeout};
use solo_lite::io::{AsyncReadExt, AsyncWriteExt};
use solo_lite::stream::StreamExt;
use solo_lite::{AsyncRead, AsyncWrite};

/// Hang guard for anything that must complete.
const GUARD: Duration = Duration::from_secs(20);

/// Runs `f` on a fresh executor driven by this thread's reactor, with an empty plan.
fn run<T>(f: impl AsyncFnOnce(&LocalExecutor<'_>) -> T) -> T {
    fault::clear();
    let ex = LocalExecutor::new();
    let out = block_on(ex.run(f(&ex)));
    fault::clear();
    out
}

fn id(s: &impl AsRawFd) -> u64 {
    s.as_raw_fd() as u64
}

fn err(code: i32) -> Fault {
    Fault::Error(code)
}

/// A deterministic 1 MiB payload whose every position is distinguishable (a lost,
/// duplicated or reordered byte changes the comparison and the checksum).
fn payload(len: usize) -> Vec<u8> {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// FNV-1a, order-sensitive.
fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

// ------------------------------------------------------------------------- EINTR

#[test]
fn eintr_on_read_is_retried_transparently() {
    run(async |_| {
        let (mut s, mut peer) = tcp_pair().await;
        peer.write_all(b"hello").unwrap();
        fault::inject(Rule::on(id(&s), Op::Read, err(libc::EINTR)).times(3));
        let polls = solo_io::reactor::stats().polls;
        let mut buf = [0u8; 5];
        io_timeout(GUARD, s.read_exact(&mut buf)).await.unwrap();
        assert_eq!(&buf, b"hello");
        assert_eq!(fault::counts().errors, 3, "every EINTR was injected");
        assert_eq!(fault::pending(), 0);
        // Retried at once, in the same poll: no wait in the reactor.
        assert_eq!(solo_io::reactor::stats().polls, polls);
        assert_eq!(
            fault::ops_on(id(&s)).0,
            4,
            "three interrupted reads and one real"
        );
    });
}

#[test]
fn eintr_on_write_is_retried_transparently() {
    run(async |_| {
        let (mut s, mut peer) = tcp_pair().await;
        fault::inject(Rule::on(id(&s), Op::Write, err(libc::EINTR)).times(3));
        io_timeout(GUARD, s.write_all(b"hello")).await.unwrap();
        assert_eq!(fault::counts().errors, 3);
        let mut buf = [0u8; 5];
        peer.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hello");
        assert_eq!(fault::ops_on(id(&s)).1, 4);
    });
}

#[test]
fn eintr_on_accept_is_retried_transparently() {
    run(async |_| {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        fault::inject(Rule::on(id(&listener), Op::Read, err(libc::EINTR)).times(3));
        let (_s, _) = io_timeout(GUARD, listener.accept()).await.unwrap();
        assert_eq!(fault::counts().errors, 3);
        // The Unix listener goes through the same chokepoint.
        let path =
            std::env::temp_dir().join(format!("solo-fault-eintr-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let unix = UnixListener::bind(&path).unwrap();
        let _c = std::os::unix::net::UnixStream::connect(&path).unwrap();
        fault::inject(Rule::on(id(&unix), Op::Read, err(libc::EINTR)).times(2));
        io_timeout(GUARD, unix.accept()).await.unwrap();
        assert_eq!(fault::counts().errors, 5);
        std::fs::remove_file(&path).unwrap();
    });
}

#[test]
fn eintr_in_read_with_and_write_with_is_retried() {
    run(async |_| {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let (a, b) = (Async::new(a).unwrap(), Async::new(b).unwrap());
        fault::inject(Rule::on(id(&a), Op::Write, err(libc::EINTR)).times(2));
        fault::inject(Rule::on(id(&b), Op::Read, err(libc::EINTR)).times(2));
        let n = a.write_with(|s| (&*s).write(b"ping")).await.unwrap();
        assert_eq!(n, 4);
        let mut buf = [0u8; 4];
        io_timeout(GUARD, b.read_with(|s| (&*s).read(&mut buf)))
            .await
            .unwrap();
        assert_eq!(&buf, b"ping");
        assert_eq!(fault::counts().errors, 4);
    });
}

/// Installs a no-op SIGUSR1 handler without `SA_RESTART`, so blocking calls fail with
/// EINTR instead of being restarted by the kernel.
fn install_sigusr1() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    extern "C" fn on_signal(_: libc::c_int) {}
    ONCE.call_once(|| {
        // SAFETY: all-zero is a valid sigaction (empty mask, no flags).
        let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
        sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        // SAFETY: valid pointers; the handler does nothing, which is async-signal-safe.
        unsafe {
            libc::sigemptyset(&mut sa.sa_mask);
            assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()), 0);
        }
    });
}

/// Real signals (not injected): the poller retries EINTR inside `wait` (solo-poll's own
/// test checks the remaining time); here the whole reactor is under a signal storm: a
/// timer is never early, a quiet socket is not reported readable, and I/O still works.
#[test]
fn signal_storm_during_park_neither_ends_waits_early_nor_loses_events() {
    use std::os::unix::thread::JoinHandleExt;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    install_sigusr1();
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    let worker = std::thread::spawn(move || {
        let out = block_on(async {
            let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
            let a = Async::new(a).unwrap();
            let start = Instant::now();
            Timer::after(Duration::from_millis(300)).await;
            let slept = start.elapsed();
            let quiet = io_timeout(Duration::from_millis(150), a.readable()).await;
            b.write_all(b"x").unwrap();
            let mut buf = [0u8; 1];
            io_timeout(GUARD, a.read_with(|s| (&*s).read(&mut buf)))
                .await
                .unwrap();
            (slept, quiet.map_err(|e| e.kind()))
        });
        d.store(true, Ordering::SeqCst);
        out
    });
    let tid = worker.as_pthread_t();
    let mut sent = 0;
    while !done.load(Ordering::SeqCst) {
        // SAFETY: the thread is not joined yet, so `tid` is valid (an exited, unjoined
        // thread makes the call fail with ESRCH, harmlessly).
        unsafe { libc::pthread_kill(tid, libc::SIGUSR1) };
        sent += 1;
        std::thread::sleep(Duration::from_millis(3));
    }
    let (slept, quiet) = worker.join().unwrap();
    assert!(sent > 10, "only {sent} signals sent");
    assert!(
        slept >= Duration::from_millis(300),
        "timer fired early: {slept:?}"
    );
    assert_eq!(
        quiet,
        Err(io::ErrorKind::TimedOut),
        "a signal made a quiet socket readable"
    );
}

// ------------------------------------------------------------------ spurious EAGAIN
//
// The reactor treats EAGAIN as the kernel defines it: "not ready now; the next change
// will be signalled". A spurious one (the event said ready, the operation found nothing,
// as when another process took the connection or a datagram failed its checksum) must make
// the task sleep, not spin, and the next event must wake it. Each test first lets the
// reactor consume every pending edge (`settle`), so the wait is real.

/// Lets the reactor dispatch every event already pending, so that no edge is left over.
async fn settle() {
    Timer::after(Duration::from_millis(10)).await;
}

/// A spurious EAGAIN on a read while bytes are queued (their edge already consumed): the
/// task makes one attempt and sleeps (no spin), the next edge (more data) wakes it, and it
/// then reads everything, the bytes queued before included, in order.
#[test]
fn spurious_eagain_on_read_sleeps_until_the_next_edge_then_completes() {
    run(async |ex| {
        let (s, mut peer) = tcp_pair().await;
        let s = Rc::new(s);
        peer.write_all(b"abc").unwrap();
        settle().await;
        fault::inject(Rule::on(id(&*s), Op::Read, err(libc::EAGAIN)));
        let reader = ex.spawn({
            let s = s.clone();
            async move {
                let mut buf = [0u8; 6];
                io_timeout(GUARD, (&*s).read_exact(&mut buf))
                    .await
                    .map(|()| buf)
            }
        });
        let polls = solo_io::reactor::stats().polls;
        Timer::after(Duration::from_millis(100)).await;
        assert!(!reader.is_finished());
        assert_eq!(
            fault::ops_on(id(&*s)).0,
            1,
            "the reader retried without an event"
        );
        let during = solo_io::reactor::stats().polls - polls;
        assert!(
            during < 10,
            "the reactor spun: {during} polls in a quiet window"
        );
        peer.write_all(b"def").unwrap();
        assert_eq!(&reader.await.unwrap(), b"abcdef");
        assert_eq!(fault::counts().errors, 1);
    });
}

/// A spurious EAGAIN on a write: the writer sleeps until the socket signals space again
/// (here: the peer consumes a queued message; a Unix socket signals writability whenever
/// queued data is consumed), then finishes.
#[test]
fn spurious_eagain_on_write_sleeps_until_the_next_edge_then_completes() {
    run(async |ex| {
        let (a, b) = UnixStream::pair().unwrap();
        let a = Rc::new(a);
        (&*a).write_all(b"first").await.unwrap();
        settle().await;
        fault::inject(Rule::on(id(&*a), Op::Write, err(libc::EAGAIN)));
        let writer = ex.spawn({
            let a = a.clone();
            async move { io_timeout(GUARD, (&*a).write_all(b"second")).await }
        });
        let polls = solo_io::reactor::stats().polls;
        Timer::after(Duration::from_millis(100)).await;
        assert!(!writer.is_finished());
        assert_eq!(
            fault::ops_on(id(&*a)).1,
            2,
            "one real write, one injected EAGAIN"
        );
        assert!(solo_io::reactor::stats().polls - polls < 10);
        let mut buf = [0u8; 5];
        io_timeout(GUARD, (&b).read_exact(&mut buf)).await.unwrap();
        assert_eq!(&buf, b"first");
        writer.await.unwrap();
        let mut buf = [0u8; 6];
        io_timeout(GUARD, (&b).read_exact(&mut buf)).await.unwrap();
        assert_eq!(&buf, b"second");
    });
}

/// A spurious EAGAIN on a listener with a connection pending: one attempt, then sleep;
/// the next connection's edge wakes the acceptor, which then accepts both.
#[test]
fn spurious_eagain_on_accept_sleeps_until_the_next_connection() {
    run(async |_| {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _c1 = std::net::TcpStream::connect(addr).unwrap();
        settle().await;
        fault::inject(Rule::on(id(&listener), Op::Read, err(libc::EAGAIN)));
        let first = io_timeout(Duration::from_millis(100), listener.accept()).await;
        assert_eq!(first.unwrap_err().kind(), io::ErrorKind::TimedOut);
        assert_eq!(
            fault::ops_on(id(&listener)).0,
            1,
            "no retry without an event"
        );
        let _c2 = std::net::TcpStream::connect(addr).unwrap();
        io_timeout(GUARD, listener.accept()).await.unwrap();
        io_timeout(GUARD, listener.accept()).await.unwrap();
    });
}

/// The caller's own loop (`get_ref()` operation, `WouldBlock`, `readable()`) after a
/// spurious readiness: `readable()` re-checks with the OS, so the queued bytes are found
/// without any new event.
#[test]
fn raw_loop_after_spurious_readiness_rechecks_and_finds_the_data() {
    run(async |_| {
        let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
        let a = Async::new(a).unwrap();
        b.write_all(b"queued").unwrap();
        settle().await;
        io_timeout(GUARD, a.readable()).await.unwrap();
        // The caller's operation "fails" spuriously (an EAGAIN it saw, not the reactor).
        io_timeout(GUARD, a.readable()).await.unwrap();
        let mut buf = [0u8; 6];
        assert_eq!(a.get_ref().read(&mut buf).unwrap(), 6);
        assert_eq!(&buf, b"queued");
    });
}

// ------------------------------------------------------- errors that must surface

#[test]
fn enomem_and_econnreset_surface_with_their_kinds_and_do_not_poison_the_source() {
    run(async |_| {
        let (mut s, mut peer) = tcp_pair().await;
        peer.write_all(b"data").unwrap();
        let cases = [
            (Op::Read, libc::ENOMEM, io::ErrorKind::OutOfMemory),
            (Op::Read, libc::ECONNRESET, io::ErrorKind::ConnectionReset),
            (Op::Write, libc::ENOMEM, io::ErrorKind::OutOfMemory),
            (Op::Write, libc::ECONNRESET, io::ErrorKind::ConnectionReset),
            (Op::Write, libc::EPIPE, io::ErrorKind::BrokenPipe),
        ];
        for (op, code, kind) in cases {
            fault::inject(Rule::on(id(&s), op, err(code)));
            let e = match op {
                Op::Read => io_timeout(GUARD, s.read(&mut [0u8; 16])).await.unwrap_err(),
                Op::Write => io_timeout(GUARD, s.write(b"x")).await.unwrap_err(),
            };
            assert_eq!(e.kind(), kind, "{op:?} {code}: {e}");
            assert_eq!(e.raw_os_error(), Some(code));
        }
        // The failures were reported once each; the socket still works both ways.
        let mut buf = [0u8; 4];
        io_timeout(GUARD, s.read_exact(&mut buf)).await.unwrap();
        assert_eq!(&buf, b"data");
        io_timeout(GUARD, s.write_all(b"back")).await.unwrap();
        peer.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"back");
    });
}

#[test]
fn errors_surface_through_read_with_and_datagrams() {
    run(async |_| {
        let (a, b) = solo_io::net::UnixDatagram::pair().unwrap();
        fault::inject(Rule::on(id(&a), Op::Write, err(libc::ENOBUFS)));
        let e = io_timeout(GUARD, a.send(b"dgram")).await.unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOBUFS));
        fault::inject(Rule::on(id(&b), Op::Read, err(libc::ENOMEM)));
        io_timeout(GUARD, a.send(b"dgram")).await.unwrap();
        let e = io_timeout(GUARD, b.recv(&mut [0u8; 8])).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::OutOfMemory);
        let mut buf = [0u8; 8];
        assert_eq!(io_timeout(GUARD, b.recv(&mut buf)).await.unwrap(), 5);
    });
}

/// A connection reset before it was accepted is skipped: accept returns the next one.
#[test]
fn econnreset_and_econnaborted_on_accept_are_skipped() {
    run(async |_| {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _c = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        fault::inject(Rule::on(id(&listener), Op::Read, err(libc::ECONNRESET)));
        fault::inject(Rule::on(id(&listener), Op::Read, err(libc::ECONNABORTED)));
        io_timeout(GUARD, listener.accept()).await.unwrap();
        assert_eq!(fault::counts().errors, 2);
    });
}

// ----------------------------------------------------------- resource exhaustion

/// Out of descriptors on accept, for a long window: the listener backs off (a handful of
/// attempts, not thousands), another connection keeps being served meanwhile, and once
/// descriptors are back the waiting connection is accepted.
#[test]
fn emfile_on_accept_backs_off_keeps_serving_others_and_recovers() {
    run(async |ex| {
        let listener = Rc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
        let addr = listener.local_addr().unwrap();
        let (served, peer) = tcp_pair().await;
        // An echo server on an open connection, which must keep working.
        let echo = ex.spawn(async move {
            let mut buf = [0u8; 64];
            loop {
                let n = (&served).read(&mut buf).await?;
                if n == 0 {
                    return io::Result::Ok(());
                }
                (&served).write_all(&buf[..n]).await?;
            }
        });
        fault::inject(Rule::on(id(&*listener), Op::Read, err(libc::EMFILE)).times(u64::MAX));
        let _waiting = std::net::TcpStream::connect(addr).unwrap();
        let acceptor = ex.spawn({
            let listener = listener.clone();
            async move { io_timeout(GUARD, listener.accept()).await.map(|_| ()) }
        });
        let mut peer = TcpStream::try_from(peer).unwrap();
        let window = Instant::now();
        let mut echoes = 0;
        while window.elapsed() < Duration::from_millis(400) {
            peer.write_all(b"ping").await.unwrap();
            let mut buf = [0u8; 4];
            io_timeout(GUARD, peer.read_exact(&mut buf)).await.unwrap();
            assert_eq!(&buf, b"ping");
            echoes += 1;
            Timer::after(Duration::from_millis(5)).await;
        }
        let attempts = fault::ops_on(id(&*listener)).0;
        assert!(
            echoes >= 5,
            "the open connection was starved: {echoes} echoes"
        );
        assert!(attempts >= 2, "accept was not retried: {attempts}");
        // Backoff 1, 2, 4, ... ms: about 9 attempts in 400 ms; a spin makes thousands.
        assert!(
            attempts < 40,
            "accept spun under EMFILE: {attempts} attempts"
        );
        assert!(!acceptor.is_finished());
        fault::clear();
        acceptor.await.unwrap();
        drop(peer);
        echo.await.unwrap();
    });
}

/// ENOMEM and ENFILE on accept back off the same way and then succeed.
#[test]
fn enomem_and_enfile_on_accept_back_off_then_succeed() {
    run(async |_| {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _c = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        for code in [libc::ENOMEM, libc::ENFILE, libc::ENOBUFS] {
            fault::inject(Rule::on(id(&listener), Op::Read, err(code)).times(2));
        }
        let start = Instant::now();
        io_timeout(GUARD, listener.accept()).await.unwrap();
        assert_eq!(fault::counts().errors, 6);
        // Six back-offs: 1 + 2 + 4 + 8 + 16 + 32 ms at least (never early).
        assert!(start.elapsed() >= Duration::from_millis(63));
    });
}

/// `poll_accept` has no backoff: it reports the resource error to its caller.
#[test]
fn poll_accept_surfaces_emfile() {
    run(async |_| {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _c = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        fault::inject(Rule::on(id(&listener), Op::Read, err(libc::EMFILE)));
        let e = std::future::poll_fn(|cx| listener.poll_accept(cx))
            .await
            .unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EMFILE));
        io_timeout(GUARD, std::future::poll_fn(|cx| listener.poll_accept(cx)))
            .await
            .unwrap();
    });
}

/// Bug (found here, fixed): `UnixListener` had no EMFILE backoff. Its `accept` returned
/// EMFILE at once and the listener stayed readable, so a server loop over `incoming()`
/// that logs errors and goes on (the usual shape) retried in a busy loop for as long as
/// descriptors were exhausted, without ever yielding. It now backs off like
/// `TcpListener`. Asserted: the loop sleeps between a bounded number of attempts. (The
/// loop is cut after 1000 errors so that the test ends.)
#[test]
fn unix_incoming_does_not_spin_under_emfile() {
    run(async |_| {
        let path =
            std::env::temp_dir().join(format!("solo-fault-emfile-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).unwrap();
        let _c = std::os::unix::net::UnixStream::connect(&path).unwrap();
        fault::inject(Rule::on(id(&listener), Op::Read, err(libc::EMFILE)).times(u64::MAX));
        let errors = Cell::new(0u64);
        let mut incoming = listener.incoming();
        let served = io_timeout(Duration::from_millis(300), async {
            while let Some(next) = incoming.next().await {
                match next {
                    Ok(_) => return Ok(()),
                    // Log and go on, as a server does.
                    Err(_) if errors.get() < 1000 => errors.set(errors.get() + 1),
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        })
        .await;
        std::fs::remove_file(&path).unwrap();
        let attempts = fault::ops_on(id(&listener)).0;
        assert!(
            attempts < 40,
            "incoming() spun under EMFILE: {attempts} attempts, {} errors",
            errors.get()
        );
        assert_eq!(served.unwrap_err().kind(), io::ErrorKind::TimedOut);
    });
}

// --------------------------------------------------------- short reads and writes
//
// A short stream read or write clears readiness (`Async::poll_stream_read`/`_write`): the
// reactor assumes the kernel buffer was drained or filled, so that an edge will announce
// the next change. For writes the kernel guarantees it (a short write on Linux TCP and
// Unix sockets marks the socket `SOCK_NOSPACE`, so freed space is signalled). For reads it
// does not always: Unix streams therefore do not clear on a short read, and TCP accepts
// the one exception (urgent data); see below and `regressions.rs`.

const MIB: usize = 1 << 20;

/// Every write of a 1 MiB transfer is cut to a random length (1..=len), plain and
/// vectored, while the peer reads on the same thread: nothing is lost, duplicated or
/// reordered, and the writer never stalls (each consumption by the peer signals space).
#[test]
fn short_writes_across_1mib_lose_and_reorder_no_byte() {
    for vectored in [false, true] {
        run(async |ex| {
            let (s, peer) = UnixStream::pair().unwrap();
            fault::seed(7);
            fault::inject(Rule::on(id(&s), Op::Write, Fault::ShortRandom).times(u64::MAX));
            let reader = ex.spawn(async move {
                let mut got = Vec::new();
                (&peer).read_to_end(&mut got).await.map(|_| got)
            });
            let data = payload(MIB);
            let mut s = s;
            let mut off = 0;
            while off < data.len() {
                let n = if vectored {
                    let (x, y) = data[off..].split_at((data.len() - off) / 2);
                    let bufs = [IoSlice::new(x), IoSlice::new(y)];
                    let write =
                        std::future::poll_fn(|cx| Pin::new(&mut s).poll_write_vectored(cx, &bufs));
                    io_timeout(GUARD, write).await.unwrap()
                } else {
                    io_timeout(GUARD, s.write(&data[off..])).await.unwrap()
                };
                assert!(n > 0);
                off += n;
            }
            s.close().await.unwrap();
            let got = io_timeout(GUARD, reader).await.unwrap();
            assert_eq!(got.len(), MIB);
            assert_eq!(checksum(&got), checksum(&data));
            assert!(got == data);
            let c = fault::counts();
            assert!(c.shortened > 10, "few writes were cut: {c:?}");
        });
    }
}

/// A handful of writes cut to one byte, then the rest: `write_all` goes on and the peer
/// receives every byte once, in order.
#[test]
fn single_byte_writes_then_the_rest() {
    run(async |ex| {
        let (mut s, peer) = UnixStream::pair().unwrap();
        let reader = ex.spawn(async move {
            let mut buf = [0u8; 8];
            io_timeout(GUARD, (&peer).read_exact(&mut buf))
                .await
                .map(|()| buf)
        });
        fault::inject(Rule::on(id(&s), Op::Write, Fault::Short(1)).times(3));
        io_timeout(GUARD, s.write_all(b"abcdefgh")).await.unwrap();
        assert_eq!(fault::counts().shortened, 3);
        assert_eq!(&reader.await.unwrap(), b"abcdefgh");
    });
}

/// A short read that leaves data behind is completed by the next edge (the peer sends
/// more), in order.
#[test]
fn short_read_with_data_left_is_completed_by_the_next_edge() {
    run(async |ex| {
        let (s, mut peer) = tcp_pair().await;
        let s = Rc::new(s);
        let reader = ex.spawn({
            let s = s.clone();
            async move {
                let mut buf = [0u8; 12];
                io_timeout(GUARD, (&*s).read_exact(&mut buf))
                    .await
                    .map(|()| buf)
            }
        });
        settle().await;
        fault::inject(Rule::on(id(&*s), Op::Read, Fault::Short(3)));
        peer.write_all(b"request!").unwrap();
        Timer::after(Duration::from_millis(50)).await;
        peer.write_all(b"more").unwrap();
        assert_eq!(&reader.await.unwrap(), b"request!more");
        assert_eq!(fault::counts().shortened, 1);
    });
}

/// A short read after the peer hung up (the hang-up event already consumed): the
/// hang-up is sticky, so the reader drains the rest and sees end-of-file. (The same bug
/// without injection is `short_read_after_hangup_still_sees_eof` in `regressions.rs`.)
#[test]
fn short_reads_after_hangup_drain_to_eof() {
    run(async |ex| {
        let (s, mut peer) = tcp_pair().await;
        let reader = ex.spawn(async move {
            let mut got = Vec::new();
            let mut s = s;
            io_timeout(GUARD, s.read_to_end(&mut got))
                .await
                .map(|_| got)
        });
        settle().await;
        peer.write_all(b"0123456789").unwrap();
        drop(peer);
        settle().await;
        fault::inject(Rule::any(Op::Read, Fault::Short(2)).times(u64::MAX));
        assert_eq!(reader.await.unwrap(), b"0123456789");
    });
}

/// A short read that is not the end of the data, from a peer that then waits (a request
/// sent in one piece, the sender awaiting the reply) and sends nothing more: the bytes
/// left in the kernel after the short read must still be delivered.
///
/// Accepted limitation on TCP: a short read clears read readiness (the optimisation in
/// `Async::poll_stream_read`, which takes a short read as proof the kernel buffer was
/// drained); with data left and no further edge, the reader would wait. Injection makes
/// that happen at will; the Linux kernel does it only at an urgent-data mark
/// (`regressions.rs`), which we accept. Ideal behaviour asserted here.
#[test]
#[ignore = "accepted limitation: on TCP the kernel reads short with data left only at an urgent mark"]
fn short_read_with_data_left_and_a_quiet_peer_still_delivers() {
    run(async |ex| {
        let (s, mut peer) = tcp_pair().await;
        let s = Rc::new(s);
        let reader = ex.spawn({
            let s = s.clone();
            async move {
                let mut buf = [0u8; 8];
                io_timeout(Duration::from_secs(3), (&*s).read_exact(&mut buf))
                    .await
                    .map(|()| buf)
            }
        });
        settle().await;
        fault::inject(Rule::on(id(&*s), Op::Read, Fault::Short(3)));
        peer.write_all(b"request!").unwrap();
        let got = reader.await;
        assert_eq!(fault::counts().shortened, 1);
        assert_eq!(
            &got.expect("bytes stranded after a short read"),
            b"request!"
        );
    });
}

/// Every read of a 1 MiB transfer cut to a random length while the writer, on the same
/// thread, writes and then closes: every byte must arrive, in order.
///
/// On a Unix stream (which does not clear readiness on a short read). Before that fix the
/// transfer deadlocked midway: a short read stranded bytes, the reader waited for an edge,
/// the writer for space the stranded bytes occupied.
#[test]
fn short_reads_across_1mib_lose_and_reorder_no_byte() {
    for vectored in [false, true] {
        run(async |ex| {
            let (s, peer) = UnixStream::pair().unwrap();
            fault::seed(11);
            fault::inject(Rule::on(id(&s), Op::Read, Fault::ShortRandom).times(u64::MAX));
            let writer = ex.spawn(async move {
                let mut peer = peer;
                peer.write_all(&payload(MIB)).await?;
                peer.close().await
            });
            let mut s = s;
            let mut got = Vec::with_capacity(MIB);
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = if vectored {
                    let (x, y) = buf.split_at_mut(1000);
                    let mut bufs = [io::IoSliceMut::new(x), io::IoSliceMut::new(y)];
                    let read = std::future::poll_fn(|cx| {
                        Pin::new(&mut s).poll_read_vectored(cx, &mut bufs)
                    });
                    io_timeout(Duration::from_secs(5), read).await
                } else {
                    io_timeout(Duration::from_secs(5), s.read(&mut buf)).await
                };
                let n = n.unwrap_or_else(|e| panic!("stalled after {} bytes: {e}", got.len()));
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            writer.await.unwrap();
            assert_eq!(got.len(), MIB);
            assert_eq!(checksum(&got), checksum(&payload(MIB)));
            assert!(got == payload(MIB));
            assert!(fault::counts().shortened > 10);
        });
    }
}

// ------------------------------------------------------------------------- helpers

#[test]
fn rules_skip_every_and_count() {
    run(async |_| {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let (a, _b) = (Async::new(a).unwrap(), b);
        // Skip one attempt, then fire on every second one, three times: attempts 1, 3
        // and 5 (0-based) fail, so four writes take seven attempts.
        fault::inject(
            Rule::on(id(&a), Op::Write, err(libc::EINTR))
                .skip(1)
                .every(2)
                .times(3),
        );
        for _ in 0..4 {
            a.write_with(|s| (&*s).write(b"x")).await.unwrap();
        }
        assert_eq!(fault::counts().errors, 3);
        assert_eq!(fault::ops_on(id(&a)).1, 7);
        assert_eq!(fault::pending(), 0);
    });
}
