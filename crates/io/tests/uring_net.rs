//! TCP on the io_uring driver's ring (`sys/uring/net.rs`): a stream's multishot recv into
//! the thread's provided buffers and a listener's multishot accept, abandoned in flight,
//! starved, or mixed with readiness operations. Every case also runs on the poller (where
//! it checks the same behaviour without a ring); the ring's own counters are checked only
//! under `SOLO_DRIVER=uring`. CI runs this file under AddressSanitizer too.
//!
//! The cases that count descriptors or the ring's buffers run their loop on a thread of
//! their own (a reactor, its ring and its buffers are per thread) and hold one lock.

#![cfg(target_os = "linux")]

mod common;

use std::io::{Read, Write};
use std::pin::pin;
use std::sync::Mutex;
use std::task::{Context, Waker};
use std::time::Duration;

use common::wait_until;
use solo_io::Timer;
use solo_io::net::{TcpListener, TcpStream};
use solo_lite::io::{AsyncReadExt, AsyncWriteExt};

static SERIAL: Mutex<()> = Mutex::new(());

/// This process's open descriptors.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn on_ring() -> bool {
    solo_io::reactor::driver() == "io_uring"
}

/// Turns the loop for `ms` milliseconds.
async fn turn(ms: u64) {
    Timer::after(Duration::from_millis(ms)).await;
}

/// Turns the loop until `cond` holds (at most 10 s).
async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..10_000 {
        if cond() {
            return;
        }
        turn(1).await;
    }
    panic!("timed out waiting for {what}");
}

/// A connected pair: a `std` client and the server's stream.
async fn pair(listener: &TcpListener) -> (std::net::TcpStream, TcpStream) {
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}

/// Sends one byte and reads it with room for more: a short read, after which the stream
/// reads through the ring (a stream enters ring mode once its socket is drained).
async fn on_the_ring(client: &mut std::net::TcpStream, server: &mut TcpStream) {
    client.write_all(b"!").unwrap();
    let mut buf = [0; 64];
    assert_eq!(server.read(&mut buf).await.unwrap(), 1);
    assert_eq!(buf[0], b'!');
}

/// Byte `i` of the test pattern of stream `seed`.
fn pattern(seed: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i * 7 + seed * 13 + i / 251) as u8)
        .collect()
}

/// Runs `f` under a loop on a thread of its own, then checks that the ring holds no
/// socket and no buffer, and that the process has `baseline` descriptors again.
fn isolated<F: std::future::Future<Output = ()>>(f: impl FnOnce() -> F + Send + 'static) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let baseline = open_fds();
    std::thread::spawn(move || {
        solo_io::block_on(async move {
            f().await;
            until("the ring's sockets and buffers to be reclaimed", || {
                let s = solo_io::reactor::stats();
                s.ring_sockets == 0 && s.ring_buffers_held == 0
            })
            .await;
        })
    })
    .join()
    .unwrap();
    wait_until("the descriptors to be closed", || open_fds() == baseline);
}

/// A stream dropped with its recv armed while data keeps arriving: the recv is cancelled,
/// buffers delivered after the drop go back to the ring, the entry goes at its last
/// completion, and the peer sees the connection closed.
#[test]
fn a_stream_dropped_with_its_recv_armed_while_data_arrives() {
    isolated(|| async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        for round in 0..20 {
            let (mut client, mut server) = pair(&listener).await;
            on_the_ring(&mut client, &mut server).await;
            // The recv is armed now (on the ring); data arrives while it is dropped.
            let writer = std::thread::spawn(move || {
                let chunk = vec![round as u8; 64 << 10];
                for _ in 0..16 {
                    if client.write_all(&chunk).is_err() {
                        return;
                    }
                }
                // The server side is gone: the connection ends (reset or end of file).
                client
                    .set_read_timeout(Some(Duration::from_secs(10)))
                    .unwrap();
                let mut sink = [0; 1024];
                while let Ok(1..) = client.read(&mut sink) {}
            });
            turn(round % 3).await;
            drop(server);
            // Keep the loop turning while the writer finishes.
            until("the writer to end", || writer.is_finished()).await;
            writer.join().unwrap();
        }
    });
}

/// A read future dropped while it waits (its recv armed, no data yet), then the stream
/// read again: nothing is lost, the same recv serves the new read.
#[test]
fn a_read_dropped_while_waiting_loses_nothing() {
    isolated(|| async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (mut client, mut server) = pair(&listener).await;
        on_the_ring(&mut client, &mut server).await;
        {
            let mut buf = [0; 8];
            let mut read = pin!(server.read(&mut buf));
            let mut cx = Context::from_waker(Waker::noop());
            assert!(read.as_mut().poll(&mut cx).is_pending());
        }
        client.write_all(b"after the drop").unwrap();
        let mut buf = [0; 14];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"after the drop");
    });
}

/// A listener dropped with connections its multishot accept took and its owner did not:
/// they are closed (no descriptor leaks), and their clients see the end.
#[test]
fn a_listener_dropped_with_accepted_connections_not_taken_closes_them() {
    isolated(|| async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // One accept arms the listener's (multishot) accept.
        let first = std::net::TcpStream::connect(addr).unwrap();
        let (taken, _) = listener.accept().await.unwrap();
        let clients: Vec<_> = (0..20)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        // Let the ring accept them (on the poller they stay in the kernel's backlog).
        turn(50).await;
        let before = open_fds();
        drop(listener);
        turn(20).await;
        if on_ring() {
            assert!(
                open_fds() + 20 <= before,
                "the queued connections were not closed: {before} -> {} descriptors",
                open_fds()
            );
        }
        for mut client in clients {
            client
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut buf = [0; 1];
            // End of file or a reset: not a timeout.
            match client.read(&mut buf) {
                Ok(0) => {}
                Err(e) => assert_ne!(e.kind(), std::io::ErrorKind::WouldBlock, "{e}"),
                Ok(n) => panic!("read {n} bytes from a connection nobody served"),
            }
        }
        drop((first, taken));
    });
}

/// A write whose future is dropped while it waits for room (the socket full), then the
/// stream dropped: nothing hangs or leaks, the peer sees the end.
#[test]
fn a_write_in_flight_when_the_stream_drops() {
    isolated(|| async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (mut client, server) = pair(&listener).await;
        let big = vec![7u8; 8 << 20];
        {
            let mut writer = &server;
            let mut write = pin!(writer.write_all(&big));
            let mut cx = Context::from_waker(Waker::noop());
            assert!(
                write.as_mut().poll(&mut cx).is_pending(),
                "8 MiB fit at once"
            );
        }
        drop(server);
        let reader = std::thread::spawn(move || {
            client
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut sink = vec![0; 1 << 16];
            let mut got = 0;
            loop {
                match client.read(&mut sink) {
                    Ok(0) => return got,
                    Ok(n) => got += n,
                    Err(e) => {
                        assert_ne!(e.kind(), std::io::ErrorKind::WouldBlock, "{e}");
                        return got;
                    }
                }
            }
        });
        until("the reader to end", || reader.is_finished()).await;
        assert!(reader.join().unwrap() < big.len());
    });
}

/// Many connections each send more than their share while the server reads none: the
/// provided-buffer ring runs empty (ENOBUFS), no byte is lost or reordered, and every
/// buffer returns to the ring once all is read.
#[test]
fn a_burst_that_empties_the_buffer_ring_loses_nothing() {
    isolated(|| async {
        const CONNS: usize = 160;
        const BYTES: usize = 48 << 10;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut streams = Vec::new();
        let mut writers = Vec::new();
        for seed in 0..CONNS {
            let (mut client, mut server) = pair(&listener).await;
            on_the_ring(&mut client, &mut server).await;
            streams.push(server);
            writers.push(std::thread::spawn(move || {
                client.write_all(&pattern(seed, BYTES)).unwrap();
                client
            }));
        }
        // The data arrives while nobody reads.
        turn(300).await;
        if on_ring() {
            // 160 streams x 12 buffers of data: more than the ring has (1024), so the
            // last recvs end with ENOBUFS and their data waits in the sockets.
            let held = solo_io::reactor::stats().ring_buffers_held;
            assert!(held > 0, "nothing was received into the ring");
        }
        for (seed, stream) in streams.iter_mut().enumerate() {
            let mut got = vec![0; BYTES];
            stream.read_exact(&mut got).await.unwrap();
            assert!(got == pattern(seed, BYTES), "stream {seed}: wrong bytes");
        }
        let clients: Vec<_> = writers.into_iter().map(|w| w.join().unwrap()).collect();
        // Everything read: at most what arrived since (nothing) is held.
        if on_ring() {
            assert_eq!(solo_io::reactor::stats().ring_buffers_held, 0);
        }
        drop((clients, streams));
    });
}

/// A slow reader holds a bounded number of buffers however much its peer sends, so the
/// others keep receiving; its data all arrives, in order, when it reads.
#[test]
fn a_slow_reader_holds_a_bounded_number_of_buffers() {
    isolated(|| async {
        const BYTES: usize = 2 << 20;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (mut slow_client, mut slow) = pair(&listener).await;
        on_the_ring(&mut slow_client, &mut slow).await;
        let writer = std::thread::spawn(move || {
            slow_client.write_all(&pattern(1, BYTES)).unwrap();
            slow_client
        });
        if on_ring() {
            until("data to arrive", || {
                solo_io::reactor::stats().ring_buffers_held > 0
            })
            .await;
            turn(200).await;
            // At most 8 (its bound) plus one batch of the kernel's (32) that was on its
            // way when the recv was cancelled.
            let held = solo_io::reactor::stats().ring_buffers_held;
            assert!(
                held <= 48,
                "a stream that does not read holds {held} buffers"
            );
        }
        // Another connection is served meanwhile.
        let (mut client, mut other) = pair(&listener).await;
        client.write_all(b"ping").unwrap();
        let mut buf = [0; 4];
        other.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
        // The slow one reads it all, in order.
        let mut got = vec![0; BYTES];
        slow.read_exact(&mut got).await.unwrap();
        assert!(got == pattern(1, BYTES), "the slow stream's bytes differ");
        let slow_client = writer.join().unwrap();
        drop((slow_client, slow, client, other));
    });
}

/// `readable()`, `peek` and `into_std` of a stream that reads through the ring: held
/// data is visible to both, never lost or reordered; `into_std` refuses to drop it.
#[test]
fn readable_peek_and_into_std_see_held_data() {
    isolated(|| async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (mut client, mut server) = pair(&listener).await;
        on_the_ring(&mut client, &mut server).await;
        client.write_all(b"ab").unwrap();
        let mut one = [0; 1];
        server.read_exact(&mut one).await.unwrap();
        assert_eq!(&one, b"a");
        // "b" may be held by the ring now: readable, and peek sees it.
        server.readable().await.unwrap();
        let mut peeked = [0; 8];
        let n = server.peek(&mut peeked).await.unwrap();
        assert_eq!(&peeked[..n], b"b");
        client.write_all(b"cd").unwrap();
        turn(20).await;
        let n = server.peek(&mut peeked).await.unwrap();
        assert!(
            &peeked[..n] == b"bcd" || &peeked[..n] == b"b",
            "{:?}",
            &peeked[..n]
        );
        let mut rest = [0; 3];
        server.read_exact(&mut rest).await.unwrap();
        assert_eq!(&rest, b"bcd");
        // Nothing held: into_std works, and the std stream reads what comes next.
        turn(5).await;
        let mut std_stream = server.into_std().unwrap();
        client.write_all(b"std").unwrap();
        std_stream.set_nonblocking(false).unwrap();
        let mut buf = [0; 3];
        std_stream.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"std");

        // With data held, into_std says so instead of losing it.
        let (mut client, mut server) = pair(&listener).await;
        on_the_ring(&mut client, &mut server).await;
        client.write_all(b"xy").unwrap();
        server.read_exact(&mut one).await.unwrap();
        turn(20).await;
        let held = server.into_std();
        if on_ring() {
            let e = held.unwrap_err();
            assert!(e.to_string().contains("1 received bytes"), "{e}");
        } else {
            let mut s = held.unwrap();
            s.set_nonblocking(false).unwrap();
            s.read_exact(&mut one).unwrap();
            assert_eq!(&one, b"y");
        }
    });
}

/// End of file and shutdown through the ring: held data first, then 0, for good.
#[test]
fn end_of_file_follows_the_held_data() {
    isolated(|| async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (mut client, mut server) = pair(&listener).await;
        on_the_ring(&mut client, &mut server).await;
        let mut one = [0; 1];
        client.write_all(b"last").unwrap();
        drop(client);
        let mut all = Vec::new();
        server.read_to_end(&mut all).await.unwrap();
        assert_eq!(all, b"last");
        assert_eq!(server.read(&mut one).await.unwrap(), 0);
        server.readable().await.unwrap();
    });
}

/// Writes (sends on the ring: one in flight, the next ones gathered), then `shutdown`
/// and a drop right away: every byte arrives, in order, then the end of the stream.
#[test]
fn writes_then_shutdown_and_drop_deliver_everything_in_order() {
    isolated(|| async {
        const BYTES: usize = 3 << 20;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (mut client, mut server) = pair(&listener).await;
        on_the_ring(&mut client, &mut server).await;
        let reader = std::thread::spawn(move || {
            client
                .set_read_timeout(Some(Duration::from_secs(20)))
                .unwrap();
            let mut all = Vec::new();
            client.read_to_end(&mut all).unwrap();
            all
        });
        let data = pattern(3, BYTES);
        let mut at = 0;
        let mut size = 1;
        while at < data.len() {
            let end = (at + size).min(data.len());
            server.write_all(&data[at..end]).await.unwrap();
            at = end;
            size = size * 3 % 100_003 + 1;
        }
        server.shutdown(std::net::Shutdown::Write).unwrap();
        drop(server);
        until("the reader to end", || reader.is_finished()).await;
        let got = reader.join().unwrap();
        assert_eq!(got.len(), BYTES);
        assert!(got == data, "the bytes differ");
    });
}

/// A flush waits for what the ring still sends; a write to a peer that is gone reports
/// the error (at the latest on the following write or flush).
#[test]
fn flush_waits_and_send_errors_are_reported() {
    isolated(|| async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (mut client, mut server) = pair(&listener).await;
        on_the_ring(&mut client, &mut server).await;
        server.write_all(b"hello").await.unwrap();
        server.flush().await.unwrap();
        let mut buf = [0; 5];
        client.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hello");
        drop(client);
        let mut failed = None;
        for _ in 0..200 {
            let res = async {
                server.write_all(&[0; 1024]).await?;
                server.flush().await
            }
            .await;
            if let Err(e) = res {
                failed = Some(e);
                break;
            }
            turn(1).await;
        }
        let e = failed.expect("writing to a closed peer never failed");
        assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            ),
            "{e}"
        );
    });
}

/// A stream on the ring at a `fork`: the child's new ring makes its own buffers and
/// serves the stream (the parent dropped its handle, cancelling its own recv).
#[test]
fn a_stream_on_the_ring_at_a_fork_is_served_by_the_child() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // On a thread of its own, joined under the lock: its reactor's descriptors go with it.
    std::thread::spawn(|| {
        common::block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let (mut client, mut server) = pair(&listener).await;
            on_the_ring(&mut client, &mut server).await;
            let mut slot = Some(server);
            let pid = common::fork_with(|| {
                let mut server = slot.take().unwrap();
                solo_io::block_on(async move {
                    let mut buf = [0; 4];
                    solo_io::io_timeout(common::GUARD, server.read_exact(&mut buf))
                        .await
                        .map_err(|e| format!("the child's read: {e}"))?;
                    if &buf != b"ping" {
                        return Err(format!("the child read {buf:?}"));
                    }
                    server
                        .write_all(b"pong")
                        .await
                        .map_err(|e| format!("the child's write: {e}"))?;
                    server
                        .flush()
                        .await
                        .map_err(|e| format!("the child's flush: {e}"))?;
                    Ok(())
                })
            });
            // The parent's handle goes (its recv cancelled at once): the child serves.
            drop(slot.take());
            client.write_all(b"ping").unwrap();
            let answer = solo_io::unblock(move || {
                client
                    .set_read_timeout(Some(Duration::from_secs(20)))
                    .unwrap();
                let mut buf = [0; 4];
                client.read_exact(&mut buf).map(|()| buf)
            })
            .await
            .expect("the child's answer");
            assert_eq!(&answer, b"pong");
            assert_eq!(
                common::exit_code(pid).await,
                0,
                "the child failed (see stderr)"
            );
        })
    })
    .join()
    .unwrap();
}

/// A stream that read and wrote through the ring, turned into a plain `Async` readiness
/// source: its sends completed, and its readiness works (the poller watches reads again).
#[test]
fn a_stream_on_the_ring_becomes_a_readiness_source() {
    isolated(|| async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (mut client, mut server) = pair(&listener).await;
        on_the_ring(&mut client, &mut server).await;
        server.write_all(b"sent").await.unwrap();
        let stream: solo_io::Async<std::net::TcpStream> = server.into();
        let mut buf = [0; 4];
        client.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"sent");
        // The data arrives while the read waits: only the poller can say so.
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            client.write_all(b"more").unwrap();
            client
        });
        let read = stream.read_with(|s| (&*s).read(&mut buf));
        let n = solo_io::io_timeout(Duration::from_secs(10), read)
            .await
            .unwrap();
        assert_eq!(&buf[..n], &b"more"[..n]);
        assert!(n > 0);
        drop(writer.join().unwrap());
    });
}

/// A stream dropped with sends in flight to a peer that is connected but never reads:
/// the sends wait up to `LINGER` (10 s) for the peer, as `close` lets the kernel deliver
/// what a socket holds, and then are cancelled: the entry and its duplicate descriptor
/// go while the peer still holds the connection open. (Before, they stayed until the
/// thread ended: a peer that never reads kept a descriptor of ours for ever.)
#[test]
fn a_dropped_stream_whose_peer_never_reads_lets_go_after_the_linger() {
    isolated(|| async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (client, server) = pair(&listener).await;
        let big = vec![7u8; 32 << 20];
        {
            let mut writer = &server;
            let mut write = pin!(writer.write_all(&big));
            let mut cx = Context::from_waker(Waker::noop());
            // Until the kernel's buffers are full and the sends wait for the peer.
            for _ in 0..400 {
                assert!(
                    write.as_mut().poll(&mut cx).is_pending(),
                    "32 MiB fit in the socket buffers"
                );
                turn(1).await;
            }
        }
        // The listener's entry and the stream's.
        let entries = solo_io::reactor::stats().ring_sockets;
        drop(server);
        if on_ring() {
            turn(500).await;
            assert_eq!(
                solo_io::reactor::stats().ring_sockets,
                entries,
                "within the linger, the sends still wait for the peer"
            );
            let start = std::time::Instant::now();
            while solo_io::reactor::stats().ring_sockets == entries {
                assert!(
                    start.elapsed() < Duration::from_secs(20),
                    "the dropped stream's sends outlived the linger"
                );
                turn(50).await;
            }
            assert!(start.elapsed() >= Duration::from_secs(8));
        }
        // The peer held its end open all along.
        drop(client);
    });
}
