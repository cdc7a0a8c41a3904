//! HTTP/1.1 over real sockets: keep-alive, pipelining, chunked bodies, `100 Continue`,
//! HTTP/1.0, `HEAD`, the limits (400, 408, 413, 414, 431), timeouts, routes and static
//! files (with `..` and symlink escapes refused).

mod common;

use std::io::Read;
use std::time::{Duration, Instant};

use common::Server;

const PLAINTEXT: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: test\r\n\r\n";
const JSON: &[u8] = b"GET /json HTTP/1.1\r\nHost: test\r\n\r\n";

#[test]
fn keep_alive_serves_many_requests_on_one_connection() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    for i in 0..50 {
        client.send(if i % 2 == 0 { PLAINTEXT } else { JSON });
        let response = client.response();
        assert_eq!(response.status, 200);
        assert!(!response.closes());
        if i % 2 == 0 {
            assert_eq!(response.text(), "Hello, World!");
            assert_eq!(response.header("content-type"), Some("text/plain"));
        } else {
            assert_eq!(response.text(), r#"{"message":"Hello, World!"}"#);
        }
    }
    assert_eq!(
        server.stat("accepted"),
        Some(2),
        "one connection, plus the stats one"
    );
}

#[test]
fn two_pipelined_requests_in_one_write_are_answered_in_order() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    client.send(&[JSON, PLAINTEXT].concat());
    assert_eq!(client.response().text(), r#"{"message":"Hello, World!"}"#);
    assert_eq!(client.response().text(), "Hello, World!");
    // And the connection is still good.
    client.send(PLAINTEXT);
    assert_eq!(client.response().status, 200);
}

#[test]
fn a_hundred_pipelined_requests_are_answered_in_order() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    // Distinct responses, so that the order shows: 404s name nothing, so use the paths
    // that answer differently, in a pattern.
    let pattern = |i: usize| match i % 3 {
        0 => PLAINTEXT.to_vec(),
        1 => JSON.to_vec(),
        _ => format!("GET /missing/{i} HTTP/1.1\r\nHost: test\r\n\r\n").into_bytes(),
    };
    let batch: Vec<u8> = (0..100).flat_map(pattern).collect();
    client.send(&batch);
    for i in 0..100 {
        let response = client.response();
        match i % 3 {
            0 => assert_eq!(response.text(), "Hello, World!", "response {i}"),
            1 => assert_eq!(
                response.text(),
                r#"{"message":"Hello, World!"}"#,
                "response {i}"
            ),
            _ => assert_eq!(response.status, 404, "response {i}"),
        }
    }
    // A batch split in the middle of a request, across two writes.
    let (first, second) = batch.split_at(batch.len() / 2 + 7);
    client.send(first);
    std::thread::sleep(Duration::from_millis(50));
    client.send(second);
    for i in 0..100 {
        let response = client.response();
        assert_eq!(response.status == 404, i % 3 == 2, "response {i}");
    }
}

#[test]
fn chunked_body_is_decoded() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    client.send(
        b"POST /chat/send HTTP/1.1\r\nHost: test\r\nContent-Type: text/plain\r\n\
          Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    );
    std::thread::sleep(Duration::from_millis(50));
    client.send(b"7;ext=1\r\n, chunk\r\n0\r\nTrailer: x\r\n\r\n");
    let response = client.response();
    assert_eq!(response.status, 204, "{response:?}");
    assert_eq!(response.header("content-length"), None);
    // The message arrived whole: it is in the chat's history.
    let mut events = server.connect();
    events.send(b"GET /chat/events HTTP/1.1\r\nHost: test\r\n\r\n");
    let head = events.response_to(true);
    assert_eq!(head.header("content-type"), Some("text/event-stream"));
    let mut seen = String::new();
    while !seen.contains("data: hello, chunk\n") {
        let mut chunk = [0; 256];
        let n = events.reader.read(&mut chunk).expect("read events");
        assert!(n > 0, "stream ended early: {seen:?}");
        seen.push_str(&String::from_utf8_lossy(&chunk[..n]));
    }
    assert!(seen.contains("id: "), "{seen:?}");
}

#[test]
fn expect_100_continue_then_body() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    client.send(
        b"POST /chat/send HTTP/1.1\r\nHost: test\r\nContent-Type: text/plain\r\n\
          Content-Length: 2\r\nExpect: 100-continue\r\n\r\n",
    );
    let interim = client.response();
    assert_eq!(interim.status, 100);
    client.send(b"hi");
    assert_eq!(client.response().status, 204);
}

#[test]
fn head_http10_and_connection_close() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    client.send(b"HEAD /plaintext HTTP/1.1\r\nHost: test\r\n\r\n");
    let head = client.response_to(true);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("13"));
    // No body followed the head: the next response starts right away.
    client.send(JSON);
    assert_eq!(client.response().text(), r#"{"message":"Hello, World!"}"#);

    // HTTP/1.0 closes unless asked otherwise.
    let mut client = server.connect();
    client.send(b"GET /plaintext HTTP/1.0\r\n\r\n");
    let response = client.response();
    assert_eq!(response.text(), "Hello, World!");
    assert!(response.closes());
    client.expect_closed();

    let mut client = server.connect();
    client.send(b"GET /plaintext HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(client.response().header("connection"), Some("keep-alive"));
    client.send(b"GET /json HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(client.response().status, 200);

    // Connection: close is honoured, and requests pipelined after it are not answered.
    let mut client = server.connect();
    client.send(
        b"GET /plaintext HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n\
          GET /json HTTP/1.1\r\nHost: test\r\n\r\n",
    );
    assert!(client.response().closes());
    client.expect_closed();
}

#[test]
fn a_half_closed_client_still_gets_its_answers() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    client.send(&[PLAINTEXT, JSON].concat());
    client.shutdown_write();
    assert_eq!(client.response().text(), "Hello, World!");
    assert_eq!(client.response().status, 200);
    client.expect_closed();
}

/// Sends `request` and expects `status`, `Connection: close`, then the close.
fn refused(server: &Server, request: &[u8], status: u16) {
    let mut client = server.connect();
    client.send(request);
    let response = client.response();
    assert_eq!(response.status, status, "{response:?}");
    assert!(response.closes(), "{response:?}");
    assert!(response.text().starts_with(&status.to_string()));
    client.expect_closed();
}

#[test]
fn limits_and_malformed_requests_are_refused_with_their_status() {
    let server = Server::start(&[
        "--max-request-line",
        "1KiB",
        "--max-header-bytes",
        "4KiB",
        "--max-body",
        "1k",
    ]);
    refused(
        &server,
        b"GET / HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n",
        400,
    );
    refused(&server, b"GET / HTTP/1.1\r\n\r\n", 400);
    refused(
        &server,
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
        400,
    );
    let long_target = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(2000));
    refused(&server, long_target.as_bytes(), 414);
    let big_headers = format!(
        "GET / HTTP/1.1\r\nHost: a\r\n{}\r\n",
        (0..200)
            .map(|i| format!("X-Field-{i}: {}\r\n", "v".repeat(20)))
            .collect::<String>()
    );
    refused(&server, big_headers.as_bytes(), 431);
    refused(
        &server,
        b"POST /chat/send HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n",
        413,
    );
    // A body that is still arriving when it is refused: the client can read the answer
    // (the server drains its input before closing instead of resetting).
    let mut client = server.connect();
    client.send(b"POST /chat/send HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    for _ in 0..4 {
        client.send(format!("400\r\n{}\r\n", "x".repeat(0x400)).as_bytes());
    }
    let response = client.response();
    assert_eq!(response.status, 413);
    client.expect_closed();
    // The server is fine afterwards.
    assert_eq!(server.get("/plaintext").status, 200);
}

#[test]
fn a_client_sending_one_byte_per_second_is_cut_off_after_the_header_timeout() {
    let server = Server::start(&["--header-timeout", "2s"]);
    let mut client = server.connect();
    client
        .stream()
        .set_read_timeout(Some(Duration::from_millis(1000)))
        .unwrap();
    let request = b"GET /plaintext HTTP/1.1\r\nHost: test\r\nX-Slow: yes\r\n\r\n";
    let start = Instant::now();
    let mut answer = Vec::new();
    for &byte in request.iter() {
        if client.reader.get_mut().write_all_byte(byte).is_err() {
            break;
        }
        // One byte per second; look for an answer meanwhile.
        let mut chunk = [0; 512];
        match client.reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => break,
        }
        if !answer.is_empty() {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "never cut off");
    }
    let elapsed = start.elapsed();
    client
        .stream()
        .set_read_timeout(Some(common::HANG))
        .unwrap();
    answer.extend(client.read_to_end());
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{text:?}"
    );
    assert!(text.contains("Connection: close\r\n"), "{text:?}");
    assert!(
        elapsed >= Duration::from_secs(2),
        "cut off early: {elapsed:?}"
    );
    assert_eq!(server.get("/plaintext").status, 200);
}

trait WriteByte {
    fn write_all_byte(&mut self, byte: u8) -> std::io::Result<()>;
}

impl WriteByte for std::net::TcpStream {
    fn write_all_byte(&mut self, byte: u8) -> std::io::Result<()> {
        std::io::Write::write_all(self, &[byte])
    }
}

#[test]
fn idle_keep_alive_connections_are_closed_silently() {
    let server = Server::start(&["--idle-timeout", "500ms"]);
    let mut client = server.connect();
    // Timed from before the request: the server starts its idle timeout once it has
    // answered, which may be some milliseconds before the answer reaches us on a busy
    // machine (timed from the answer, the close could seem early).
    let idle_since = Instant::now();
    client.send(PLAINTEXT);
    assert_eq!(client.response().status, 200);
    client.expect_closed();
    assert!(idle_since.elapsed() >= Duration::from_millis(500));
    // A connection that never sends a byte is idle too.
    let mut silent = server.connect();
    let connected = Instant::now();
    silent.expect_closed();
    assert!(connected.elapsed() >= Duration::from_millis(500));
}

#[test]
fn routes_methods_and_chat_page() {
    let server = Server::start(&[]);
    assert_eq!(server.get("/").text(), "Hello, World!");
    assert_eq!(server.get("/nope").status, 404);
    assert_eq!(server.get("/plaintextx").status, 404);
    assert_eq!(server.get("/staticfoo").status, 404);
    let page = server.get("/chat");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("EventSource('/chat/events')"));
    let stats = server.get("/stats");
    assert_eq!(stats.header("content-type"), Some("application/json"));
    assert_eq!(common::json_number(&stats.text(), "shard"), Some(0));
    assert!(common::json_number(&stats.text(), "connection_future_bytes").unwrap() > 0);

    let mut client = server.connect();
    client.send(b"DELETE /json HTTP/1.1\r\nHost: a\r\n\r\n");
    let response = client.response();
    assert_eq!(response.status, 405);
    assert_eq!(response.header("allow"), Some("GET, HEAD"));
    client.send(b"GET /chat/send HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(client.response().header("allow"), Some("POST"));
    // A browser asking for / is sent to the static index; a form post back to the chat.
    client.send(b"GET / HTTP/1.1\r\nHost: a\r\nAccept: text/html,*/*\r\n\r\n");
    let response = client.response();
    assert_eq!(
        (response.status, response.header("location")),
        (303, Some("/static/"))
    );
    client.send(
        b"POST /chat/send HTTP/1.1\r\nHost: a\r\nAccept: text/html\r\n\
          Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 9\r\n\r\nmsg=hi+yo",
    );
    let response = client.response();
    assert_eq!(
        (response.status, response.header("location")),
        (303, Some("/chat"))
    );
    client.send(b"POST /chat/send HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n   ");
    assert_eq!(client.response().status, 400);
    assert_eq!(server.stat("chat_messages"), Some(1));
}

#[cfg(unix)]
#[test]
fn static_files_and_escapes() {
    use common::TempDir;

    let dir = TempDir::new("static");
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(root.join("index.html"), "<h1>index</h1>").unwrap();
    std::fs::write(root.join("sub").join("a b.txt"), "spaced").unwrap();
    std::fs::write(dir.path().join("secret.txt"), "secret").unwrap();
    std::os::unix::fs::symlink(dir.path().join("secret.txt"), root.join("link.txt")).unwrap();
    std::os::unix::fs::symlink(dir.path(), root.join("up")).unwrap();
    std::fs::write(root.join("big.bin"), vec![7u8; 300_000]).unwrap();
    let server = Server::start(&["--root", root.to_str().unwrap()]);

    let index = server.get("/static/");
    assert_eq!(index.status, 200);
    assert_eq!(index.text(), "<h1>index</h1>");
    assert_eq!(
        index.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(server.get("/static").text(), "<h1>index</h1>");
    assert_eq!(server.get("/static/sub/a%20b.txt").text(), "spaced");
    assert_eq!(server.get("/static/nope.txt").status, 404);
    for escape in [
        "/static/../secret.txt",
        "/static/sub/../../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/sub%2f..%2f..%2fsecret.txt",
        "/static/.hidden",
    ] {
        let response = server.get(escape);
        assert_eq!(response.status, 400, "{escape}: {response:?}");
    }
    // A symbolic link loop names no file; a name longer than the OS allows names none
    // either, and says the target is too long.
    std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
    assert_eq!(server.get("/static/loop").status, 404);
    assert_eq!(server.get("/static/loop/x").status, 404);
    let long_name = format!("/static/{}", "n".repeat(300));
    assert_eq!(server.get(&long_name).status, 414);
    for escape in ["/static/link.txt", "/static/up/secret.txt"] {
        let response = server.get(escape);
        assert_eq!(response.status, 403, "{escape}: {response:?}");
        assert!(!response.text().contains("secret"));
    }

    // A file bigger than a chunk, with requests pipelined behind it answered after it.
    let mut client = server.connect();
    client.send(
        b"GET /static/big.bin HTTP/1.1\r\nHost: a\r\n\r\nHEAD /static/big.bin HTTP/1.1\r\nHost: a\r\n\r\n\
          GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    let big = client.response();
    assert_eq!(big.body.len(), 300_000);
    assert!(big.body.iter().all(|&b| b == 7));
    assert_eq!(big.header("content-type"), Some("application/octet-stream"));
    let head = client.response_to(true);
    assert_eq!(head.header("content-length"), Some("300000"));
    assert_eq!(client.response().text(), "Hello, World!");
}

/// The path of systems without `sendfile`: the file read on the blocking pool and
/// written from a buffer, requests pipelined behind it answered after it.
#[cfg(unix)]
#[test]
fn static_files_without_sendfile() {
    use common::TempDir;

    let dir = TempDir::new("no-sendfile");
    let content: Vec<u8> = (0..1_000_000).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.path().join("big.bin"), &content).unwrap();
    let server = Server::start(&["--root", dir.path().to_str().unwrap(), "--no-sendfile"]);
    let mut client = server.connect();
    client.send(
        b"GET /static/big.bin HTTP/1.1\r\nHost: a\r\n\r\nHEAD /static/big.bin HTTP/1.1\r\nHost: a\r\n\r\n\
          GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    let big = client.response();
    assert!(big.body == content, "the file arrived altered");
    let head = client.response_to(true);
    assert_eq!(head.header("content-length"), Some("1000000"));
    assert_eq!(client.response().text(), "Hello, World!");
}

#[test]
fn garbage_never_brings_the_server_down() {
    let server = Server::start(&["--header-timeout", "1s", "--max-body", "4k"]);
    // A small deterministic generator: requests with random bytes spliced in, and pure
    // noise, in random-sized writes.
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let templates: [&[u8]; 4] = [
        b"GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n",
        b"POST /chat/send HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        b"GET /static/../x HTTP/1.0\r\n\r\n",
        b"POST /chat/send HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello",
    ];
    for round in 0..200 {
        let mut input = templates[round % templates.len()].repeat(1 + (next() % 3) as usize);
        for _ in 0..next() % 6 {
            let at = (next() as usize) % input.len();
            input[at] = next() as u8;
        }
        if round % 10 == 0 {
            input = (0..next() % 2000).map(|_| next() as u8).collect();
        }
        let mut client = server.connect();
        let mut at = 0;
        while at < input.len() {
            let end = (at + 1 + (next() % 64) as usize).min(input.len());
            if std::io::Write::write_all(client.reader.get_mut(), &input[at..end]).is_err() {
                break; // The server already answered and closed.
            }
            at = end;
        }
        client.shutdown_write();
        // Whatever the answer, the server closes in time, and responses are well-formed.
        let mut answer = Vec::new();
        let _ = client.reader.read_to_end(&mut answer);
        assert!(
            answer.is_empty() || answer.starts_with(b"HTTP/1.1 "),
            "{:?}",
            String::from_utf8_lossy(&answer)
        );
    }
    assert_eq!(server.get("/plaintext").text(), "Hello, World!");
}
