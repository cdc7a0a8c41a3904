//! Networking on one thread: TCP, UDP and Unix sockets over loopback.

use std::cell::Cell;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use solo_executor::LocalExecutor;
use solo_io::net::{TcpListener, TcpStream, UdpSocket};
use solo_io::{Timer, block_on, io_timeout, timeout};
use solo_lite::io::{AsyncReadExt, AsyncWriteExt};

/// Hang guard for every await that talks to a peer.
const GUARD: Duration = Duration::from_secs(20);

fn run<T>(fut: impl Future<Output = T>) -> T {
    let ex = LocalExecutor::new();
    block_on(ex.run(fut))
}

#[test]
fn echo_1000_concurrent_connections_on_one_thread() {
    const CONNS: usize = 1000;
    const ROUNDS: usize = 3;
    let ex = Rc::new(LocalExecutor::new());
    block_on(ex.run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = ex.spawn({
            let ex = ex.clone();
            async move {
                for _ in 0..CONNS {
                    let (mut stream, _) = listener.accept().await.unwrap();
                    ex.spawn(async move {
                        let mut buf = [0u8; 64];
                        loop {
                            let n = stream.read(&mut buf).await.unwrap();
                            if n == 0 {
                                break;
                            }
                            stream.write_all(&buf[..n]).await.unwrap();
                        }
                    })
                    .detach();
                }
            }
        });
        let clients: Vec<_> = (0..CONNS)
            .map(|i| {
                ex.spawn(async move {
                    let mut s = TcpStream::connect(addr).await.unwrap();
                    for r in 0..ROUNDS {
                        let msg = format!("client {i} round {r}");
                        s.write_all(msg.as_bytes()).await.unwrap();
                        let mut back = vec![0; msg.len()];
                        io_timeout(GUARD, s.read_exact(&mut back)).await.unwrap();
                        assert_eq!(back, msg.as_bytes());
                    }
                })
            })
            .collect();
        for c in clients {
            c.await;
        }
        server.await;
    }));
}

#[test]
fn read_and_write_wait_on_one_socket_from_two_tasks() {
    let ex = LocalExecutor::new();
    block_on(ex.run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let server = Rc::new(server);

        // The reader waits first: nothing has been sent yet.
        let reader = ex.spawn({
            let server = server.clone();
            async move {
                let mut buf = [0u8; 5];
                (&*server).read_exact(&mut buf).await.unwrap();
                buf
            }
        });
        // The writer fills the send buffer until it must wait for the peer to read.
        let written = Rc::new(Cell::new(0usize));
        let writer = ex.spawn({
            let (server, written) = (server.clone(), written.clone());
            async move {
                let chunk = vec![7u8; 64 * 1024];
                while written.get() < 8 * 1024 * 1024 {
                    let n = (&*server).write(&chunk).await.unwrap();
                    written.set(written.get() + n);
                }
            }
        });
        Timer::after(Duration::from_millis(20)).await;
        assert!(
            !reader.is_finished() && !writer.is_finished(),
            "both should be waiting"
        );

        // Wake the reader; it must not disturb the waiting writer.
        (&client).write_all(b"hello").await.unwrap();
        assert_eq!(&timeout(GUARD, reader).await.unwrap(), b"hello");

        // Drain so the writer finishes.
        let drain = async {
            let mut total = 0;
            let mut buf = vec![0u8; 256 * 1024];
            while total < written.get() || !writer.is_finished() {
                total += (&client).read(&mut buf).await?;
            }
            io::Result::Ok(total)
        };
        let total = io_timeout(GUARD, drain).await.unwrap();
        assert!(total >= 8 * 1024 * 1024);
        writer.await;
    }));
}

#[test]
fn peer_writes_then_closes_all_bytes_arrive_before_eof() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        let data: Vec<u8> = (0..300_000u32).map(|i| i as u8).collect();
        client.write_all(&data).await.unwrap();
        drop(client);
        let mut got = Vec::new();
        io_timeout(GUARD, server.read_to_end(&mut got))
            .await
            .unwrap();
        assert_eq!(got.len(), data.len());
        assert!(got == data);
    });
}

#[test]
fn half_close_gives_eof_and_the_other_direction_still_works() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        client.write_all(b"request").await.unwrap();
        client.close().await.unwrap(); // shutdown(Write)
        let mut req = Vec::new();
        io_timeout(GUARD, server.read_to_end(&mut req))
            .await
            .unwrap();
        assert_eq!(req, b"request");
        // Reading again after EOF keeps returning 0 (no spin, no error).
        let mut buf = [0u8; 8];
        assert_eq!(server.read(&mut buf).await.unwrap(), 0);
        server.write_all(b"response").await.unwrap();
        server.shutdown(Shutdown::Both).unwrap();
        let mut resp = Vec::new();
        io_timeout(GUARD, client.read_to_end(&mut resp))
            .await
            .unwrap();
        assert_eq!(resp, b"response");
    });
}

#[test]
fn timeout_on_a_stalled_read() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        let start = std::time::Instant::now();
        let mut buf = [0u8; 1];
        let err = io_timeout(Duration::from_millis(50), server.read(&mut buf))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(start.elapsed() >= Duration::from_millis(50));
    });
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    run(async {
        // Bind, note the port, close: nothing listens there any more.
        let addr = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let err = io_timeout(GUARD, TcpStream::connect(addr))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
    });
}

#[test]
fn connect_by_host_name_resolves_on_the_pool() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = io_timeout(GUARD, TcpStream::connect(("localhost", port))).await;
        // "localhost" may resolve to ::1 first; the IPv4 address is tried next.
        let client = client.unwrap();
        assert_eq!(client.peer_addr().unwrap().port(), port);
        let err = TcpStream::connect("no-port-here").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("no-port-here"), "{err}");
    });
}

#[test]
fn peek_nodelay_and_addresses() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut server, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());
        client.set_nodelay(true).unwrap();
        assert!(client.nodelay().unwrap());
        client.write_all(b"abc").await.unwrap();
        let mut buf = [0u8; 3];
        assert_eq!(io_timeout(GUARD, server.peek(&mut buf)).await.unwrap(), 3);
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"abc");
    });
}

#[test]
fn vectored_writes_arrive_in_order() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        let bufs = [
            io::IoSlice::new(b"head "),
            io::IoSlice::new(b"body "),
            io::IoSlice::new(b"tail"),
        ];
        let n = solo_lite::future::poll_fn(|cx| {
            futures_io::AsyncWrite::poll_write_vectored(std::pin::Pin::new(&mut client), cx, &bufs)
        })
        .await
        .unwrap();
        assert_eq!(n, 14);
        drop(client);
        let mut got = String::new();
        io_timeout(GUARD, server.read_to_string(&mut got))
            .await
            .unwrap();
        assert_eq!(got, "head body tail");
    });
}

#[test]
fn incoming_stream_and_std_conversions() {
    use solo_lite::stream::StreamExt;
    run(async {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr: SocketAddr = std_listener.local_addr().unwrap();
        let listener = TcpListener::try_from(std_listener).unwrap();
        let _a = std::net::TcpStream::connect(addr).unwrap();
        let _b = std::net::TcpStream::connect(addr).unwrap();
        let mut incoming = listener.incoming();
        for _ in 0..2 {
            let s = io_timeout(GUARD, async { incoming.next().await.unwrap() })
                .await
                .unwrap();
            let std_stream = s.into_std().unwrap();
            // Still non-blocking after deregistration: a read would block.
            let err = std::io::Read::read(&mut &std_stream, &mut [0u8; 1]).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        }
    });
}

#[test]
fn udp_round_trip_connected_and_not() {
    run(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b_addr = b.local_addr().unwrap();
        a.send_to(b"one", b_addr).await.unwrap();
        let mut buf = [0u8; 16];
        let (n, from) = io_timeout(GUARD, b.recv_from(&mut buf)).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"one"[..], a.local_addr().unwrap()));

        a.connect(b_addr).await.unwrap();
        b.connect(a.local_addr().unwrap()).await.unwrap();
        b.send(b"two").await.unwrap();
        assert_eq!(io_timeout(GUARD, a.peek(&mut buf)).await.unwrap(), 3);
        let n = a.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"two");
    });
}

#[cfg(unix)]
#[test]
fn unix_stream_and_datagram_round_trips() {
    use solo_io::net::{UnixDatagram, UnixListener, UnixStream};
    run(async {
        let dir = std::env::temp_dir().join(format!("solo-io-unix-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.sock");
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).unwrap();
        let mut client = io_timeout(GUARD, UnixStream::connect(&path)).await.unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        client.write_all(b"over unix").await.unwrap();
        client.close().await.unwrap();
        let mut got = Vec::new();
        io_timeout(GUARD, server.read_to_end(&mut got))
            .await
            .unwrap();
        assert_eq!(got, b"over unix");

        let missing = dir.join("missing.sock");
        let err = UnixStream::connect(&missing).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);

        let (a, b) = UnixDatagram::pair().unwrap();
        a.send(b"dgram").await.unwrap();
        let mut buf = [0u8; 16];
        let n = io_timeout(GUARD, b.recv(&mut buf)).await.unwrap();
        assert_eq!(&buf[..n], b"dgram");

        let (mut x, mut y) = UnixStream::pair().unwrap();
        x.write_all(b"pair").await.unwrap();
        let mut buf = [0u8; 4];
        y.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"pair");
        std::fs::remove_dir_all(&dir).unwrap();
    });
}

/// Where `TcpStream::sendfile` is implemented.
macro_rules! with_sendfile {
    ($($item:item)*) => {$(
        #[cfg(any(
            target_os = "linux",
            target_os = "android",
            target_os = "freebsd",
            target_os = "dragonfly",
            target_vendor = "apple"
        ))]
        $item
    )*};
}

/// A file of `size` bytes of a pattern, in the temporary directory, removed on drop.
struct TempFile(std::path::PathBuf, Vec<u8>);

impl TempFile {
    fn new(name: &str, size: usize) -> TempFile {
        let path = std::env::temp_dir().join(format!("solo-io-{name}-{}", std::process::id()));
        let content: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&path, &content).unwrap();
        TempFile(path, content)
    }

    fn open(&self) -> std::fs::File {
        std::fs::File::open(&self.0).unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

with_sendfile! {
    /// A file larger than any socket buffer, sent with `sendfile` to a reader that takes
    /// its time: every byte arrives, in order, from the offset asked; the sender waits for
    /// the socket between parts (several calls, none spinning on `WouldBlock`); at the end
    /// of the file it returns 0; the file's own position never moves.
    #[test]
    fn sendfile_sends_a_file_to_a_slow_reader() {
        use std::io::{Read, Seek};
        const SIZE: usize = 8 << 20;
        const START: usize = 1000;
        let temp = TempFile::new("sendfile", SIZE);
        let mut file = temp.open();
        run(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let reader = std::thread::spawn(move || {
                let mut client = std::net::TcpStream::connect(addr).unwrap();
                client.set_read_timeout(Some(GUARD)).unwrap();
                let mut got = Vec::new();
                let mut chunk = vec![0; 64 << 10];
                loop {
                    match client.read(&mut chunk).unwrap() {
                        0 => return got,
                        n => got.extend_from_slice(&chunk[..n]),
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
            });
            let (server, _) = listener.accept().await.unwrap();
            let (mut offset, mut calls) = (START as u64, 0);
            loop {
                let sent = io_timeout(GUARD, server.sendfile(&file, offset, SIZE))
                    .await
                    .unwrap();
                if sent == 0 {
                    break;
                }
                offset += sent as u64;
                calls += 1;
            }
            assert_eq!(offset, SIZE as u64);
            assert!(calls > 1, "8 MiB went in one call: the reader was not slow");
            assert_eq!(server.sendfile(&file, SIZE as u64 + 10, 10).await.unwrap(), 0);
            assert_eq!(server.sendfile(&file, 0, 0).await.unwrap(), 0);
            server.shutdown(Shutdown::Write).unwrap();
            let got = reader.join().unwrap();
            assert_eq!(got.len(), SIZE - START);
            assert!(got == temp.1[START..], "the file arrived altered");
        });
        assert_eq!(file.stream_position().unwrap(), 0);
        let mut first = [0; 4];
        file.read_exact(&mut first).unwrap();
        assert_eq!(first, temp.1[..4]);
    }

    /// `sendfile` to a peer that has gone fails with an error; it does not hang or spin.
    #[test]
    fn sendfile_to_a_peer_that_left_fails() {
        let temp = TempFile::new("sendfile-gone", 4 << 20);
        let file = temp.open();
        run(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
            let (server, _) = listener.accept().await.unwrap();
            drop(client);
            let mut offset = 0;
            let error = loop {
                match io_timeout(GUARD, server.sendfile(&file, offset, 1 << 20)).await {
                    Ok(0) => panic!("the file ended before the error"),
                    Ok(n) => offset += n as u64,
                    Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                        panic!("sendfile hung on a closed peer")
                    }
                    Err(e) => break e,
                }
            };
            assert!(
                matches!(
                    error.kind(),
                    io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
                ),
                "{error}"
            );
        });
    }
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_vendor = "apple"
)))]
#[test]
fn sendfile_is_unsupported_here_and_says_so() {
    let temp = TempFile::new("sendfile-unsupported", 16);
    let file = temp.open();
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let error = server.sendfile(&file, 0, temp.1.len()).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::Unsupported, "{error}");
        assert!(error.to_string().contains("sendfile"), "{error}");
    });
}

/// A write that completed under `block_on` reaches the peer once `block_on` returns, with
/// no flush and no further turn of the loop (on the io_uring driver the write's send is
/// queued on the ring, and leaving the loop submits it), while the thread then blocks on
/// something else entirely.
#[test]
fn a_write_reaches_the_peer_when_block_on_returns() {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let stream = block_on(async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(b"hello").await?;
        io::Result::Ok(stream)
    })
    .unwrap();
    let (mut peer, _) = listener.accept().unwrap();
    peer.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut got = [0u8; 5];
    peer.read_exact(&mut got)
        .expect("the bytes written before block_on returned");
    assert_eq!(&got, b"hello");
    drop(stream);
}
