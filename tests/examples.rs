//! The examples' core logic, exercised on loopback sockets and real files.
//!
//! Each example is included as a module (its `main` goes unused here); every test runs
//! on its own thread, with its own runtime, bounded by `solo::timeout`.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use solo::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use solo::net::{TcpListener, TcpStream, UdpSocket};

#[allow(dead_code)]
#[path = "../examples/echo-server.rs"]
mod echo_server;

#[allow(dead_code)]
#[path = "../examples/echo-client.rs"]
mod echo_client;

#[allow(dead_code)]
#[path = "../examples/http-hello.rs"]
mod http_hello;

#[allow(dead_code)]
#[path = "../examples/chat.rs"]
mod chat;

#[allow(dead_code)]
#[path = "../examples/shard-chat.rs"]
mod shard_chat;

#[allow(dead_code)]
#[path = "../examples/udp-ping.rs"]
mod udp_ping;

#[allow(dead_code)]
#[path = "../examples/unix-echo.rs"]
mod unix_echo;

#[allow(dead_code)]
#[path = "../examples/read-file.rs"]
mod read_file;

#[allow(dead_code)]
#[path = "../examples/spawn-many.rs"]
mod spawn_many;

#[allow(dead_code)]
#[path = "../examples/hello-timer.rs"]
mod hello_timer;

#[cfg(feature = "ecosystem-examples")]
#[allow(dead_code)]
#[path = "../examples/hyper-server.rs"]
mod hyper_server;

#[cfg(feature = "ecosystem-examples")]
#[allow(dead_code)]
#[path = "../examples/hyper-client.rs"]
mod hyper_client;

#[cfg(feature = "ecosystem-examples")]
#[allow(dead_code)]
#[path = "../examples/websocket-echo.rs"]
mod websocket_echo;

#[cfg(feature = "ecosystem-examples")]
#[allow(dead_code)]
#[path = "../examples/tls-echo.rs"]
mod tls_echo;

/// Runs `test` on a fresh runtime, failing if it takes longer than a generous bound.
fn run<T>(test: impl Future<Output = io::Result<T>>) -> T {
    solo::block_on(solo::io_timeout(Duration::from_secs(60), test)).unwrap()
}

/// A listener on a free loopback port, with the example's `serve` running on a task.
async fn start_server<F: Future<Output = io::Result<()>> + 'static>(
    serve: impl FnOnce(TcpListener) -> F,
) -> io::Result<(SocketAddr, solo::Task<io::Result<()>>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    Ok((addr, solo::spawn(serve(listener))))
}

/// A path in the temporary directory, unique to this process and `name`.
fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("solo-examples-{}-{name}", std::process::id()))
}

#[test]
fn echo_round_trips() {
    run(async {
        let (addr, _server) = start_server(echo_server::serve).await?;
        let client = TcpStream::connect(addr).await?;
        assert_eq!(
            echo_client::round_trip(&client, b"hello\n").await?,
            b"hello\n"
        );
        // Larger than the socket buffers: only works because writing and reading overlap.
        let big: Vec<u8> = (0..4 << 20).map(|i| (i % 251) as u8).collect();
        assert_eq!(echo_client::round_trip(&client, &big).await?, big);

        // A second client is served at the same time as the first.
        let other = TcpStream::connect(addr).await?;
        assert_eq!(echo_client::round_trip(&other, b"two").await?, b"two");
        assert_eq!(echo_client::round_trip(&client, b"one").await?, b"one");

        // End of file from the client ends the echo, which closes its side.
        client.shutdown(std::net::Shutdown::Write)?;
        let mut rest = Vec::new();
        (&client).read_to_end(&mut rest).await?;
        assert!(rest.is_empty());
        Ok(())
    })
}

#[test]
fn echo_reports_bytes_copied() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let mut client = TcpStream::connect(listener.local_addr()?).await?;
        let (server_side, _) = listener.accept().await?;
        let echo = solo::spawn(echo_server::echo(server_side));
        client.write_all(b"0123456789").await?;
        client.shutdown(std::net::Shutdown::Write)?;
        let mut back = Vec::new();
        client.read_to_end(&mut back).await?;
        assert_eq!(back, b"0123456789");
        assert_eq!(echo.await?, 10);
        Ok(())
    })
}

/// Reads one response: the head, and a body of `Content-Length` bytes (none if
/// `head_only`).
async fn read_response(
    reader: &mut BufReader<&TcpStream>,
    head_only: bool,
) -> io::Result<(String, String)> {
    let mut head = String::new();
    loop {
        let start = head.len();
        if reader.read_line(&mut head).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if head[start..] == *"\r\n" {
            break;
        }
    }
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .expect("a Content-Length header")
        .parse()
        .expect("a number");
    let mut body = vec![0; if head_only { 0 } else { len }];
    reader.read_exact(&mut body).await?;
    Ok((head, String::from_utf8(body).expect("UTF-8 body")))
}

#[test]
fn http_keeps_the_connection_alive() {
    run(async {
        let (addr, _server) = start_server(http_hello::serve).await?;
        let stream = TcpStream::connect(addr).await?;
        let mut reader = BufReader::new(&stream);

        // Two requests, one after the other, on one connection.
        for path in ["/", "/again"] {
            let req = format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n");
            (&stream).write_all(req.as_bytes()).await?;
            let (head, body) = read_response(&mut reader, false).await?;
            assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
            assert!(head.contains("Connection: keep-alive\r\n"), "{head}");
            assert_eq!(body, "Hello, world!\n");
        }

        // Pipelined: a POST with a body, a HEAD and a GET in one write.
        let batch = "POST /form HTTP/1.1\r\nContent-Length: 5\r\n\r\nx=1&yHEAD / HTTP/1.1\r\n\r\n\
                     GET / HTTP/1.1\r\nconnection: close\r\n\r\n";
        (&stream).write_all(batch.as_bytes()).await?;
        let (_, body) = read_response(&mut reader, false).await?;
        assert_eq!(body, "Hello, world!\n");
        let (head, _) = read_response(&mut reader, true).await?;
        assert!(head.contains("Content-Length: 14\r\n"), "{head}");
        let (head, body) = read_response(&mut reader, false).await?;
        assert!(head.contains("Connection: close\r\n"), "{head}");
        assert_eq!(body, "Hello, world!\n");

        // The server closed after `Connection: close`.
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest).await?;
        assert!(rest.is_empty());
        Ok(())
    })
}

#[test]
fn http_rejects_what_it_does_not_understand() {
    run(async {
        let (addr, _server) = start_server(http_hello::serve).await?;
        let cases: [(&[u8], &str); 4] = [
            (b"GARBAGE\r\n\r\n", "400 Bad Request"),
            (
                b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                "400 Bad Request",
            ),
            (
                b"POST / HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n",
                "413 Content Too Large",
            ),
            (&[b'a'; 9000], "431 Request Header Fields Too Large"),
        ];
        for (request, status) in cases {
            let mut stream = TcpStream::connect(addr).await?;
            stream.write_all(request).await?;
            let mut response = String::new();
            stream.read_to_string(&mut response).await?;
            assert!(
                response.starts_with(&format!("HTTP/1.1 {status}\r\n")),
                "{response}"
            );
        }

        // HTTP/1.0 closes after one response unless asked to keep the connection.
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(b"GET / HTTP/1.0\r\n\r\n").await?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await?;
        assert!(response.ends_with("\r\n\r\nHello, world!\n"), "{response}");
        Ok(())
    })
}

/// A chat client: a line reader over its connection.
struct ChatClient {
    lines: BufReader<TcpStream>,
}

impl ChatClient {
    async fn connect(addr: SocketAddr) -> io::Result<ChatClient> {
        let mut client = ChatClient {
            lines: BufReader::new(TcpStream::connect(addr).await?),
        };
        // Registered once welcomed: from then on, broadcasts reach this client.
        let welcome = client.line().await?;
        assert!(welcome.starts_with("* welcome, you are "), "{welcome}");
        Ok(client)
    }

    fn stream(&self) -> &TcpStream {
        self.lines.get_ref()
    }

    async fn line(&mut self) -> io::Result<String> {
        let mut line = String::new();
        if self.lines.read_line(&mut line).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(line)
    }

    /// The next line that is not a join notice.
    async fn message(&mut self) -> io::Result<String> {
        loop {
            let line = self.line().await?;
            if !line.ends_with(" joined\n") {
                return Ok(line);
            }
        }
    }

    async fn say(&self, text: &str) -> io::Result<()> {
        self.stream().write_all(text.as_bytes()).await
    }
}

#[test]
fn chat_broadcasts_to_every_other_client() {
    run(async {
        let (addr, _server) = start_server(chat::serve).await?;
        let mut a = ChatClient::connect(addr).await?;
        let mut b = ChatClient::connect(addr).await?;
        let mut c = ChatClient::connect(addr).await?;
        let a_name = a.stream().local_addr()?;
        let b_name = b.stream().local_addr()?;

        a.say("hello from a\n").await?;
        assert_eq!(b.message().await?, format!("{a_name}: hello from a\n"));
        assert_eq!(c.message().await?, format!("{a_name}: hello from a\n"));

        // `a` never hears itself: the next message it gets is `b`'s.
        b.say("hi a\n").await?;
        assert_eq!(a.message().await?, format!("{b_name}: hi a\n"));
        assert_eq!(c.message().await?, format!("{b_name}: hi a\n"));

        // Leaving is announced to the others.
        a.stream().shutdown(std::net::Shutdown::Both)?;
        assert_eq!(b.message().await?, format!("* {a_name} left\n"));
        assert_eq!(c.message().await?, format!("* {a_name} left\n"));

        // A line that is too long ends that client's session; the others go on.
        let c_name = c.stream().local_addr()?;
        c.say(&"x".repeat(2000)).await?;
        let mut rest = Vec::new();
        // The server closes with unread bytes, so the end may come as a reset.
        match c.lines.read_to_end(&mut rest).await {
            Ok(_) => assert!(rest.is_empty()),
            Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}"),
        }
        assert_eq!(b.message().await?, format!("* {c_name} left\n"));
        Ok(())
    })
}

// Linux spreads connections over `SO_REUSEPORT` listeners; Windows has no such option, and
// macOS and the BSDs give every connection to one of them.
#[cfg(target_os = "linux")]
#[test]
fn shard_chat_is_one_chat_across_shards() {
    let first = TcpListener::bind_reuseport("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = first.local_addr().unwrap();
    let first = first.into_std().unwrap();
    // The shards serve until the test process ends.
    std::thread::spawn(move || shard_chat::run(first, 2));
    run(async move {
        // Clients until two landed on different shards (each is told where it is).
        let mut on_shard: [Option<ChatClient>; 2] = [None, None];
        for _ in 0..200 {
            let mut client = ChatClient {
                lines: BufReader::new(TcpStream::connect(addr).await?),
            };
            let welcome = client.line().await?;
            let shard = welcome
                .trim_end()
                .chars()
                .last()
                .and_then(|c| c.to_digit(10));
            let slot = &mut on_shard[shard.expect("the welcome names the shard") as usize];
            if slot.is_none() {
                *slot = Some(client);
            }
            if on_shard.iter().all(Option::is_some) {
                break;
            }
        }
        let [Some(mut a), Some(mut b)] = on_shard else {
            panic!("the kernel never spread 200 connections over both shards");
        };
        let a_name = a.stream().local_addr()?;
        a.say("hello from shard 0\n").await?;
        let expected = format!("{a_name}: hello from shard 0\n");
        // Both hear it, the speaker included (after joins and leaves of other clients).
        for client in [&mut a, &mut b] {
            loop {
                let line = client.line().await?;
                if !line.starts_with("* ") {
                    assert_eq!(line, expected);
                    break;
                }
            }
        }
        Ok(())
    })
}

#[test]
fn udp_ping_gets_its_pong() {
    run(async {
        let server = UdpSocket::bind("127.0.0.1:0").await?;
        let peer = server.local_addr()?;
        let _pong = solo::spawn(udp_ping::pong(server));
        let socket = UdpSocket::bind("127.0.0.1:0").await?;
        for seq in 1..=5 {
            udp_ping::ping(&socket, peer, seq).await?;
        }

        // A stray datagram from someone else is skipped, not taken for the pong.
        let stranger = UdpSocket::bind("127.0.0.1:0").await?;
        stranger.send_to(b"ping 6", socket.local_addr()?).await?;
        udp_ping::ping(&socket, peer, 6).await?;

        // Nobody answers on a closed port: the ping fails after its timeout.
        let closed = UdpSocket::bind("127.0.0.1:0").await?.local_addr()?;
        let err = udp_ping::ping(&socket, closed, 7).await.unwrap_err();
        assert!(
            matches!(
                err.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::ConnectionReset
            ),
            "{err}"
        );
        Ok(())
    })
}

#[cfg(unix)]
#[test]
fn unix_echo_round_trips() {
    use solo::net::{UnixListener, UnixStream};

    let path = temp_path("unix-echo.sock");
    let _ = std::fs::remove_file(&path);
    run(async {
        let listener = UnixListener::bind(&path)?;
        let _server = solo::spawn(unix_echo::serve(listener));
        let mut a = UnixStream::connect(&path).await?;
        let mut b = UnixStream::connect(&path).await?;
        a.write_all(b"over a unix socket").await?;
        b.write_all(b"and another").await?;
        let mut buf = [0; 18];
        a.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"over a unix socket");
        let mut buf = [0; 11];
        b.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"and another");
        a.shutdown(std::net::Shutdown::Write)?;
        let mut rest = Vec::new();
        a.read_to_end(&mut rest).await?;
        assert!(rest.is_empty());
        Ok(())
    });
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn read_file_counts_like_wc() {
    let small = temp_path("small.txt");
    let big = temp_path("big.txt");
    std::fs::write(&small, "hello world\n  two\twords here \n\nlast").unwrap();
    // Several 64 KiB reads, with words across the read boundaries.
    std::fs::write(&big, "abc de\n".repeat(50_000)).unwrap();
    run(async {
        let counts = read_file::count(&small).await?;
        assert_eq!(
            counts,
            read_file::Counts {
                lines: 3,
                words: 6,
                bytes: 35
            }
        );
        let counts = read_file::count(&big).await?;
        assert_eq!(
            counts,
            read_file::Counts {
                lines: 50_000,
                words: 100_000,
                bytes: 350_000
            }
        );
        let err = read_file::count(&temp_path("missing")).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains("missing"), "{err}");
        Ok(())
    });
    std::fs::remove_file(small).unwrap();
    std::fs::remove_file(big).unwrap();
}

#[test]
fn spawn_many_runs_every_task() {
    let report = run(spawn_many::spawn_many(5_000, Duration::from_millis(20)));
    assert_eq!(report.tasks, 5_000);
    assert_eq!(report.sum, (0..5_000).sum::<u64>());
    assert!(report.total_time >= Duration::from_millis(20));
    #[cfg(target_os = "linux")]
    assert!(report.memory.is_some());
}

#[test]
fn hello_timer_ticks_while_the_file_is_read() {
    let path = temp_path("hello-timer.bin");
    std::fs::write(&path, vec![7u8; 3 << 20]).unwrap();
    let report = run(hello_timer::read_while_ticking(
        path.clone(),
        Duration::from_millis(1),
    ));
    assert_eq!(report.bytes, 3 << 20);
    assert_eq!(report.ticks, report.ticks_during + hello_timer::TICKS_AFTER);
    std::fs::remove_file(&path).unwrap();

    let err = solo::block_on(hello_timer::read_while_ticking(
        path,
        Duration::from_millis(1),
    ))
    .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
}

/// The examples that use ecosystem crates: `cargo test -p solo --features ecosystem-examples`.
#[cfg(feature = "ecosystem-examples")]
mod ecosystem {
    use std::rc::Rc;
    use std::time::Instant;

    use super::*;

    use super::{hyper_client, hyper_server, tls_echo, websocket_echo};
    use hyper_server::{HEADER_TIMEOUT, Protocol, State};

    #[test]
    fn hyper_serves_http1_and_http2_from_one_rc_state() {
        run(async {
            let (addr, _server) = start_server(|l| hyper_server::serve(l, HEADER_TIMEOUT)).await?;
            let one = hyper_client::get_concurrently(addr, "/count", 1, false).await?;
            assert_eq!(one, ["request 1 (Http1)\n"]);
            let two = hyper_client::get_concurrently(addr, "/count", 1, true).await?;
            assert_eq!(two, ["request 2 (Http2)\n"]);
            let hello = hyper_client::get_concurrently(addr, "/", 2, true).await?;
            assert_eq!(hello, ["Hello, World!\n"; 2]);
            let err = hyper_client::get_concurrently(addr, "/nowhere", 1, false)
                .await
                .unwrap_err();
            assert!(err.to_string().contains("404"), "{err}");

            // A WebSocket behind an HTTP/1.1 upgrade: hyper's `Upgraded` through `SoloIo`.
            let echoes = websocket_echo::client_at(addr, "/ws", &["up", "graded"]).await?;
            assert_eq!(echoes, ["up", "graded"]);

            // Plain bytes on the wire: a keep-alive connection, two requests pipelined.
            let mut stream = TcpStream::connect(addr).await?;
            stream
                .write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\nGET /count HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                .await?;
            let mut text = String::new();
            stream.read_to_string(&mut text).await?;
            assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
            assert!(
                text.contains("\r\n\r\nHello, World!\nHTTP/1.1 200 OK\r\n"),
                "{text}"
            );
            // Seven requests before these (the 404 and the upgrade count too).
            assert!(text.ends_with("\r\n\r\nrequest 8 (Http1)\n"), "{text}");
            Ok(())
        })
    }

    #[test]
    fn hyper_header_read_timeout_fires_on_solos_wheel() {
        let timeout = Duration::from_secs(1);
        run(async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let server = solo::spawn(async move {
                let state = Rc::new(State::default());
                let (stream, _) = listener.accept().await?;
                let err = hyper_server::serve_connection(stream, state.clone(), timeout)
                    .await
                    .unwrap_err();
                // A client that sends nothing at all: the protocol sniffing times out.
                let (silent, _) = listener.accept().await?;
                let sniff = hyper_server::serve_connection(silent, state, timeout).await;
                io::Result::Ok((err, sniff.unwrap_err()))
            });

            // Once this future has yielded, `run`'s own timeout is on the wheel too.
            solo::future::yield_now().await;
            let base = solo::reactor::stats().timers;
            let start = Instant::now();
            let mut slow = TcpStream::connect(addr).await?;
            // Half a request head, then nothing.
            slow.write_all(b"GET / HTTP/1.1\r\nHost: slow\r\n").await?;
            // Once the server has read it, hyper's header-read sleep is the one timer on
            // this thread's wheel that was not there before (this sleep has fired, and
            // the protocol sniffing's timeout has gone with the first bytes).
            solo::Timer::after(timeout / 10).await;
            assert_eq!(solo::reactor::stats().timers, base + 1);
            // When it fires, hyper closes the connection (with no response).
            let mut rest = Vec::new();
            slow.read_to_end(&mut rest).await?;
            assert!(start.elapsed() >= timeout, "{:?}", start.elapsed());
            assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));

            let silent = TcpStream::connect(addr).await?;
            let mut rest = Vec::new();
            (&silent).read_to_end(&mut rest).await?;
            assert!(rest.is_empty());

            let (err, sniffed) = server.await?;
            let hyper_err = err
                .get_ref()
                .and_then(|e| e.downcast_ref::<hyper::Error>())
                .expect("a hyper error");
            assert!(hyper_err.is_timeout(), "{hyper_err:?}");
            assert_eq!(sniffed.kind(), io::ErrorKind::TimedOut, "{sniffed}");
            // Fired timers leave the wheel.
            assert_eq!(solo::reactor::stats().timers, base);
            Ok(())
        })
    }

    #[test]
    fn hyper_client_sends_50_requests_from_50_tasks_at_once() {
        run(async {
            for http2 in [false, true] {
                // A fresh server for each: `/together/N` counts every request it has seen.
                let (addr, _server) =
                    start_server(|l| hyper_server::serve(l, HEADER_TIMEOUT)).await?;
                // The server answers none until all 50 are in its handler at once.
                let path = format!("/together/{}", hyper_client::TASKS);
                let bodies =
                    hyper_client::get_concurrently(addr, &path, hyper_client::TASKS, http2).await?;
                assert_eq!(bodies, vec!["50 together\n"; 50]);
                let last = hyper_client::get_concurrently(addr, "/count", 1, http2).await?;
                let protocol = if http2 {
                    Protocol::Http2
                } else {
                    Protocol::Http1
                };
                assert_eq!(last, [format!("request 51 ({protocol:?})\n")]);
            }
            Ok(())
        })
    }

    #[test]
    fn websocket_echoes_text_and_closes_cleanly() {
        run(async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let server = solo::spawn(async move {
                let (stream, _) = listener.accept().await?;
                websocket_echo::echo(stream).await
            });
            let big = "x".repeat(200_000);
            let sent = ["hello", "wörld ✓", big.as_str()];
            let echoes = websocket_echo::client(addr, &sent).await?;
            assert_eq!(echoes, sent);
            assert_eq!(server.await?, 3);

            // The accept loop serves clients side by side.
            let (addr, _server) = start_server(websocket_echo::serve).await?;
            let (a, b) = solo::future::try_zip(
                websocket_echo::client(addr, &["a1", "a2"]),
                websocket_echo::client(addr, &["b1"]),
            )
            .await?;
            assert_eq!(a, ["a1", "a2"]);
            assert_eq!(b, ["b1"]);
            Ok(())
        })
    }

    #[test]
    fn tls_echoes_for_futures_rustls_and_tokio_rustls_clients() {
        let tls = tls_echo::Tls::self_signed().unwrap();
        assert!(tls.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        run(async {
            let server_config = tls.server.clone();
            let (addr, _server) = start_server(|l| tls_echo::serve(l, server_config)).await?;
            let back = tls_echo::round_trip(tls.client.clone(), addr, b"hello, tls").await?;
            assert_eq!(back, b"hello, tls");
            // Many records each way, written and read at once.
            let big: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
            assert_eq!(
                tls_echo::round_trip(tls.client.clone(), addr, &big).await?,
                big
            );
            // A tokio-io crate over tokio_util::compat, no tokio runtime.
            let back =
                tls_echo::round_trip_tokio_rustls(tls.client.clone(), addr, b"via compat").await?;
            assert_eq!(back, b"via compat");

            // A client that trusts another certificate (same name, another key) refuses
            // this server.
            let stranger = tls_echo::Tls::self_signed()?;
            let err = tls_echo::round_trip(stranger.client, addr, b"x")
                .await
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
            assert!(
                err.to_string().contains("invalid peer certificate"),
                "{err}"
            );
            Ok(())
        })
    }
}
