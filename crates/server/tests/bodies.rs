//! Request bodies under attack: a body that trickles in is cut off at its deadline, the
//! memory every body in progress holds is capped server-wide, and a chunked body costs
//! its payload, not its encoding.

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::{Client, Server};

/// A body sent a byte every 100 ms gets `408` once `--body-timeout` is over, however
/// steadily it progresses (each byte used to restart the idle timeout: the connection and
/// its buffer were held for ever).
#[test]
fn a_trickling_body_is_cut_off_at_the_body_timeout() {
    let server = Server::start(&["--body-timeout", "1s", "--idle-timeout", "5s"]);
    let mut client = server.connect();
    client.send(b"POST /chat/send HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\n");
    let start = Instant::now();
    let writer = client.stream().try_clone().unwrap();
    let trickle = std::thread::spawn(move || {
        let mut writer = writer;
        // Until the server closes (or for 15 s, well past the idle timeout).
        for _ in 0..150 {
            if writer.write_all(b"x").is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let response = client.try_response();
    let elapsed = start.elapsed();
    let response = response
        .expect("an answer")
        .expect("an answer, not a close");
    assert_eq!(response.status, 408, "{response:?}");
    assert!(response.closes(), "{response:?}");
    // Generous bounds: a liveness check, not a timing claim.
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(4),
        "408 after {elapsed:?} (body timeout 1 s, idle timeout 5 s)"
    );
    drop(client);
    trickle.join().unwrap();
    assert_eq!(server.get("/plaintext").status, 200);
}

/// Bodies in progress may hold `--max-body-memory` bytes in all, across every shard;
/// a body that would take more is refused with `503` (and `Retry-After`): the server is
/// short of room now, the request is not too large. The others go through.
#[test]
fn bodies_beyond_the_memory_cap_get_503_server_wide() {
    const CLIENTS: usize = 8;
    const LENGTH: usize = 512 << 10;
    const SENT: usize = 400 << 10;
    // Each body in progress holds at least 400 KiB: at most 2 fit in 1 MiB, in all.
    let server = Server::start(&[
        "--threads",
        "2",
        "--max-body",
        "1MiB",
        "--max-body-memory",
        "1MiB",
    ]);
    let head =
        format!("POST /plaintext HTTP/1.1\r\nHost: test\r\nContent-Length: {LENGTH}\r\n\r\n");
    let mut clients: Vec<Client> = (0..CLIENTS)
        .map(|_| {
            let mut client = server.connect();
            client.send(head.as_bytes());
            client.send(&vec![b'x'; SENT]);
            client
        })
        .collect();
    // Every body is in (or refused) before the rest of any is sent.
    std::thread::sleep(Duration::from_millis(300));
    let (mut refused, mut served) = (0, 0);
    for client in &mut clients {
        // A refused client may find its connection shut; its answer is already there.
        let _ = client
            .reader
            .get_mut()
            .write_all(&vec![b'x'; LENGTH - SENT]);
        let response = client.response();
        match response.status {
            503 => {
                assert_eq!(response.header("retry-after"), Some("1"), "{response:?}");
                assert!(response.closes(), "{response:?}");
                refused += 1;
            }
            // The body went through; the route takes no posts.
            405 => served += 1,
            _ => panic!("unexpected {response:?}"),
        }
    }
    assert!(
        refused >= CLIENTS - 2 && served >= 1,
        "{served} bodies taken and {refused} refused; at most 2 fit in the cap"
    );
    drop(clients);
    // The memory was given back: a body fits again.
    let mut client = server.connect();
    client.send(head.as_bytes());
    client.send(&vec![b'x'; LENGTH]);
    assert_eq!(client.response().status, 405);
}

/// A chunked body of one-byte chunks (six bytes on the wire per byte of payload) costs
/// the server about its payload, not its encoding: the server's memory grows by less
/// than three times the payload per connection (it grew by about nine: the whole
/// encoding, with the buffer's slack, and the decoded copy).
#[cfg(target_os = "linux")]
#[test]
fn a_chunked_body_costs_its_payload_not_its_encoding() {
    const CLIENTS: usize = 40;
    const PAYLOAD: usize = 128 << 10;
    let server = Server::start(&["--max-body", "1MiB", "--body-timeout", "60s"]);
    let encoded = b"1\r\nx\r\n".repeat(PAYLOAD);
    let before = server.rss_bytes();
    let mut clients: Vec<Client> = (0..CLIENTS)
        .map(|_| {
            let mut client = server.connect();
            client.send(
                b"POST /plaintext HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n",
            );
            client.send(&encoded);
            client
        })
        .collect();
    // The server has read everything once a request on another connection is answered
    // after a moment (reads are in order of arrival).
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(server.get("/plaintext").status, 200);
    let grown = server.rss_bytes().saturating_sub(before);
    let per_connection = grown / CLIENTS as u64;
    println!(
        "{CLIENTS} chunked bodies of {PAYLOAD} bytes in one-byte chunks ({} bytes encoded): \
         server RSS +{grown} bytes, {per_connection} per connection",
        encoded.len()
    );
    assert!(
        per_connection < 3 * PAYLOAD as u64,
        "{per_connection} bytes per connection for a payload of {PAYLOAD}"
    );
    // The bodies still complete.
    for client in &mut clients {
        client.send(b"0\r\n\r\n");
        assert_eq!(client.response().status, 405);
    }
}
