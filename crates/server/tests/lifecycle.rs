//! The server's life: startup errors, `--max-connections`, `--threads`, and graceful
//! shutdown on Ctrl-C.

mod common;

use std::time::{Duration, Instant};

use common::{Client, HANG, Server};

const PLAINTEXT: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: test\r\n\r\n";

#[test]
fn startup_errors_are_clear_and_exit_with_1() {
    let server = Server::start(&[]);
    let taken = server.addr.to_string();
    let (printed, status) = match Server::try_start(&["--addr", &taken]) {
        Ok(_) => panic!("a second server started on {taken}"),
        Err(failure) => failure,
    };
    assert_eq!(status.and_then(|s| s.code()), Some(1), "{printed}");
    assert!(printed.contains("solo-server: error:"), "{printed}");
    assert!(printed.contains("in use"), "{printed}");
    assert!(!printed.contains("panicked"), "{printed}");

    let (printed, status) = match Server::try_start(&["--root", "/definitely/not/here"]) {
        Ok(_) => panic!("started with a missing root"),
        Err(failure) => failure,
    };
    assert_eq!(status.and_then(|s| s.code()), Some(1), "{printed}");
    assert!(printed.contains("/definitely/not/here"), "{printed}");
    assert!(!printed.contains("panicked"), "{printed}");
}

#[test]
fn connections_beyond_the_limit_get_503_and_are_closed() {
    let server = Server::start(&["--max-connections", "10"]);
    // Ten connections, each answered (so each is surely accepted and counted).
    let mut held: Vec<Client> = (0..10)
        .map(|_| {
            let mut client = server.connect();
            client.send(PLAINTEXT);
            assert_eq!(client.response().status, 200);
            client
        })
        .collect();
    let mut refused = server.connect();
    refused.send(PLAINTEXT);
    let response = refused.response();
    assert_eq!(response.status, 503, "{response:?}");
    assert_eq!(response.header("retry-after"), Some("1"));
    assert!(response.closes());
    refused.expect_closed();
    // The held connections still work; one closes, and a new one is served again.
    for client in &mut held {
        client.send(PLAINTEXT);
        assert_eq!(client.response().status, 200);
    }
    drop(held.pop());
    let deadline = Instant::now() + HANG;
    loop {
        let mut client = server.connect();
        client.send(PLAINTEXT);
        let response = client.response();
        if response.status == 200 {
            break;
        }
        assert_eq!(response.status, 503);
        assert!(Instant::now() < deadline, "a slot never freed up");
        std::thread::sleep(Duration::from_millis(20));
    }
    held.clear();
}

#[cfg(unix)]
#[test]
fn two_shards_both_serve() {
    use std::collections::BTreeSet;

    let server = Server::start(&["--threads", "2"]);
    let mut shards = BTreeSet::new();
    for _ in 0..200 {
        let stats = server.get("/stats").text();
        assert_eq!(common::json_number(&stats, "shards"), Some(2), "{stats}");
        shards.insert(common::json_number(&stats, "shard").expect("shard"));
        if shards.len() == 2 {
            break;
        }
    }
    assert_eq!(shards, BTreeSet::from([0, 1]));
    // Every shard shuts down on Ctrl-C.
    let mut idle = server.connect();
    idle.send(PLAINTEXT);
    assert_eq!(idle.response().status, 200);
    let mut server = server;
    server.interrupt();
    let status = server
        .wait_exit(HANG)
        .expect("the server exits after Ctrl-C");
    assert_eq!(status.code(), Some(0));
    idle.expect_closed();
}

#[cfg(unix)]
#[test]
fn graceful_shutdown_finishes_the_response_in_flight() {
    use common::TempDir;
    use std::io::Read;
    use std::net::TcpStream;

    const SIZE: usize = 16 << 20;
    let dir = TempDir::new("shutdown");
    let content: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.path().join("big.bin"), &content).unwrap();
    let mut server = Server::start(&["--root", dir.path().to_str().unwrap()]);

    // An idle keep-alive connection, and an event stream.
    let mut idle = server.connect();
    idle.send(PLAINTEXT);
    assert_eq!(idle.response().status, 200);
    let mut events = server.connect();
    events.send(b"GET /chat/events HTTP/1.1\r\nHost: test\r\n\r\n");
    assert_eq!(events.response_to(true).status, 200);

    // A slow reader of a large file: it reads the head and a little, then pauses while
    // the server's writes back up.
    let mut slow = server.connect();
    slow.send(b"GET /static/big.bin HTTP/1.1\r\nHost: test\r\n\r\n");
    let head = slow.response_to(true);
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length"),
        Some(SIZE.to_string().as_str())
    );
    let mut received = vec![0; 64 << 10];
    slow.reader.read_exact(&mut received).unwrap();
    std::thread::sleep(Duration::from_millis(200));

    server.interrupt();

    // The idle connection and the event stream are closed; new connections are refused.
    idle.expect_closed();
    events.read_to_end();
    let deadline = Instant::now() + HANG;
    while TcpStream::connect_timeout(&server.addr, HANG).is_ok() {
        assert!(Instant::now() < deadline, "still accepting after Ctrl-C");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        server.wait_exit(Duration::from_millis(300)).is_none(),
        "exited with a response in flight"
    );

    // The slow reader still gets every byte, then the close.
    slow.reader.read_to_end(&mut received).unwrap();
    assert_eq!(received.len(), SIZE);
    assert!(received == content, "the file arrived altered");
    let status = server
        .wait_exit(HANG)
        .expect("the server exits once the response is done");
    assert_eq!(status.code(), Some(0));
}
