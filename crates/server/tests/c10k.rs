//! C10k: ten thousand idle keep-alive connections held at once (and the memory they
//! cost the server), then every one of them answered.
//!
//! The client is this process (at most 20,000 descriptors); the server is the child.
//! `SOLO_IDLE_CONNECTIONS=19000` measures more connections. Linux only: the memory is
//! read from `/proc`.

#![cfg(target_os = "linux")]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{HANG, Server};

const REQUEST: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: c10k\r\n\r\n";

/// Connections opened before their requests' answers are read (the listen backlog is
/// well above this, so no connection waits for a retransmitted SYN).
const BATCH: usize = 500;

/// Reads one whole response (head and `Content-Length` body) from `stream`.
fn read_response(stream: &mut TcpStream) -> Vec<u8> {
    let mut response = Vec::with_capacity(256);
    let mut chunk = [0; 512];
    loop {
        let n = stream.read(&mut chunk).expect("read a response");
        assert!(
            n > 0,
            "closed before a whole response: {:?}",
            String::from_utf8_lossy(&response)
        );
        response.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&response);
        if let Some(head_end) = text.find("\r\n\r\n") {
            let length: usize = text[..head_end]
                .split("\r\n")
                .find_map(|line| line.strip_prefix("Content-Length: "))
                .and_then(|value| value.parse().ok())
                .expect("Content-Length");
            if response.len() >= head_end + 4 + length {
                assert_eq!(
                    response.len(),
                    head_end + 4 + length,
                    "more than one response"
                );
                return response;
            }
        }
    }
}

fn expect_hello(response: &[u8]) {
    let text = String::from_utf8_lossy(response);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text:?}");
    assert!(text.ends_with("\r\n\r\nHello, World!"), "{text:?}");
}

/// How many connections to hold (10,000, or the number in the environment variable `var`,
/// within this process's descriptor limit), and a server that holds them idle.
fn server_for(var: &str) -> (usize, Server) {
    let wanted: usize = std::env::var(var)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let limit = common::raise_fd_limit();
    // The test needs a few descriptors of its own besides the connections.
    let n = wanted.min(
        usize::try_from(limit)
            .unwrap_or(usize::MAX)
            .saturating_sub(200),
    );
    assert!(n >= 1000, "descriptor limit {limit} too low for this test");
    let max = (n + 100).to_string();
    let server = Server::start(&["--max-connections", &max, "--idle-timeout", "10m"]);
    (n, server)
}

#[test]
fn ten_thousand_idle_keep_alive_connections_are_held_then_answered() {
    let (n, server) = server_for("SOLO_IDLE_CONNECTIONS");

    // Warm up: the loop's read and output buffers are touched once, for every one.
    for _ in 0..20 {
        assert_eq!(server.get("/plaintext").status, 200);
    }
    let mut open = None;
    for _ in 0..500 {
        open = server.stat("open_connections");
        if open == Some(1) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(open, Some(1), "warm-up connections still open");
    let before = server.rss_bytes();

    let mut streams: Vec<TcpStream> = Vec::with_capacity(n);
    while streams.len() < n {
        let first = streams.len();
        let batch = BATCH.min(n - first);
        for _ in 0..batch {
            let mut stream = TcpStream::connect_timeout(&server.addr, HANG).expect("connect");
            stream.set_read_timeout(Some(HANG)).unwrap();
            stream.set_write_timeout(Some(HANG)).unwrap();
            stream.write_all(REQUEST).expect("send");
            streams.push(stream);
        }
        for stream in &mut streams[first..] {
            expect_hello(&read_response(stream));
        }
    }
    // Every connection has been answered once and now waits, idle, for its next request.
    let after = server.rss_bytes();
    let stats = server.get("/stats").text();
    let grown = after.saturating_sub(before);
    let per_connection = grown / n as u64;
    println!(
        "{n} idle keep-alive connections: server RSS {before} -> {after} bytes, \
         {grown} bytes more, {per_connection} bytes per connection"
    );
    println!("/stats: {stats}");
    assert!(common::json_number(&stats, "open_connections").unwrap() >= n as u64);
    // Generous bounds, to catch a buffer held per idle connection (4 KiB and up), not
    // noise; the figure itself is printed above. Sanitizers and debug builds cost more.
    let bound = if cfg!(debug_assertions) {
        16 << 10
    } else {
        2 << 10
    };
    assert!(
        per_connection < bound,
        "{per_connection} bytes per idle connection (bound {bound})"
    );

    // Then every one is answered again: all requests first, then all the answers.
    for stream in &mut streams {
        stream.write_all(REQUEST).expect("send again");
    }
    for stream in &mut streams {
        expect_hello(&read_response(stream));
    }
    let requests = common::json_number(&server.get("/stats").text(), "requests").unwrap();
    assert!(requests >= 2 * n as u64 + 20, "{requests} requests served");
}

/// Ten thousand chat subscribers, each sent a full history of short messages and now
/// caught up, hold no output buffer: their cost is the connection, the stream's state
/// and a slot in the hub.
#[test]
fn ten_thousand_caught_up_chat_subscribers_hold_no_buffer() {
    const HISTORY: usize = 256;
    let (n, server) = server_for("SOLO_SUBSCRIBERS");

    // A full history of 33-byte messages.
    let mut burst = Vec::new();
    for i in 0..HISTORY {
        burst.extend_from_slice(&common::post_request(&format!(
            "{i:03} a short chat message...."
        )));
    }
    let mut poster = server.connect();
    poster.send(&burst);
    for _ in 0..HISTORY {
        assert_eq!(poster.response().status, 204);
    }
    drop(poster);
    // Warm up: one subscriber takes the whole history and leaves.
    drop(caught_up(server.subscribe(None), HISTORY));
    let mut left = None;
    for _ in 0..500 {
        left = server.stat("chat_subscribers");
        if left == Some(0) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(left, Some(0), "the warm-up subscriber is still there");
    let before = server.rss_bytes();

    let mut subscribers = Vec::with_capacity(n);
    while subscribers.len() < n {
        let batch = BATCH.min(n - subscribers.len());
        let opened: Vec<_> = (0..batch).map(|_| server.subscribe(None)).collect();
        subscribers.extend(opened.into_iter().map(|s| caught_up(s, HISTORY)));
    }
    let after = server.rss_bytes();
    assert_eq!(server.stat("chat_subscribers"), Some(n as u64));
    let grown = after.saturating_sub(before);
    let per_subscriber = grown / n as u64;
    println!(
        "{n} caught-up chat subscribers: server RSS {before} -> {after} bytes, \
         {per_subscriber} bytes per subscriber"
    );
    // The figure is 1 KiB per subscriber in the release build (CI runs this test
    // in release too); debug builds have larger futures.
    let bound = if cfg!(debug_assertions) {
        4 << 10
    } else {
        1 << 10
    };
    assert!(
        per_subscriber <= bound,
        "{per_subscriber} bytes per caught-up subscriber (bound {bound})"
    );
}

/// Reads `history` messages from a new subscriber; returns it, caught up.
fn caught_up(mut subscriber: common::Client, history: usize) -> common::Client {
    for i in 0..history {
        let event = subscriber.next_event().expect("the history");
        assert!(
            event.name.is_none() && event.data.starts_with(&format!("{i:03} ")),
            "history message {i}: {event:?}"
        );
    }
    subscriber
}
