//! What slow readers of static files cost the server. Linux only: the memory is read from
//! `/proc`.

#![cfg(target_os = "linux")]

mod common;

use std::io::Read;
use std::time::Duration;

use common::{Client, Server, TempDir};

const SIZE: usize = 8 << 20;
const READERS: usize = 40;

/// `READERS` clients ask for the big file and read only its head; returns them.
fn slow_readers(server: &Server) -> Vec<Client> {
    let readers: Vec<Client> = (0..READERS)
        .map(|_| {
            let mut client = server.connect();
            client.send(b"GET /static/big.bin HTTP/1.1\r\nHost: test\r\n\r\n");
            client
        })
        .collect();
    readers
        .into_iter()
        .map(|mut client| {
            let head = client.response_to(true);
            assert_eq!(head.status, 200, "{head:?}");
            assert_eq!(
                head.header("content-length"),
                Some(SIZE.to_string().as_str())
            );
            client
        })
        .collect()
}

/// Reads the rest of each reader's file and checks it.
fn finish(readers: Vec<Client>) {
    for mut client in readers {
        let mut body = vec![0; SIZE];
        client.reader.read_exact(&mut body).unwrap();
        assert!(body.iter().all(|&b| b == 5), "the file arrived altered");
    }
}

/// Clients that read a large file slowly cost the server no buffer each: the kernel sends
/// the file as they read (`sendfile`), and the server holds only the open file and its
/// task. (With a 128 KiB buffer read from the file and written from user space, each
/// cost about that much.)
#[test]
fn slow_readers_of_a_large_file_hold_no_buffer() {
    let dir = TempDir::new("slow-readers");
    std::fs::write(dir.path().join("big.bin"), vec![5u8; SIZE]).unwrap();
    let server = Server::start(&["--root", dir.path().to_str().unwrap()]);
    // A first round brings the file into the page cache and starts the blocking pool's
    // threads, whose stacks are not what is measured.
    finish(slow_readers(&server));

    let before = server.rss_bytes();
    let readers = slow_readers(&server);
    // Every response is under way and its socket full: the server waits for its reader.
    std::thread::sleep(Duration::from_millis(500));
    let grown = server.rss_bytes().saturating_sub(before);
    let per_reader = grown / READERS as u64;
    println!(
        "{READERS} slow readers of a {SIZE}-byte file: server RSS +{grown} bytes, \
         {per_reader} per reader"
    );
    // Measured 0.7-15 KB per reader over runs: RSS also moves with the allocator and
    // the pool's threads (a first allocation on a new thread touches its arena), which at
    // 40 readers is up to ~600 KB spread over them. What this guards against, a buffer per
    // reader, cost 128 KiB each: the bound sits between the two.
    assert!(
        per_reader < 48 << 10,
        "each slow reader costs the server {per_reader} bytes"
    );
    finish(readers);
    assert_eq!(server.get("/plaintext").status, 200);
}
