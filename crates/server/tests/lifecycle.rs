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

/// More clients beyond `--max-connections` than the refusals the server answers at once:
/// the rest wait in the listener's backlog (accepting pauses) and get their `503` when a
/// refusal ends, instead of a reset or an empty reply.
#[test]
fn beyond_the_refusals_in_progress_clients_still_get_503() {
    const REFUSED: usize = 12;
    let server = Server::start(&["--max-connections", "2", "--max-refusing", "3"]);
    let held: Vec<Client> = (0..2)
        .map(|_| {
            let mut client = server.connect();
            client.send(PLAINTEXT);
            assert_eq!(client.response().status, 200);
            client
        })
        .collect();
    let mut refused: Vec<Client> = (0..REFUSED)
        .map(|_| {
            let mut client = server.connect();
            client.send(PLAINTEXT);
            client
        })
        .collect();
    // Each reads its answer only after the previous one closed: the server can be
    // answering at most 3 of them at any time.
    let mut failures = Vec::new();
    for (i, mut client) in refused.drain(..).enumerate() {
        match client.try_response() {
            Ok(Some(response)) if response.status == 503 && response.closes() => {
                if let Err(e) = client.try_response() {
                    failures.push(format!("client {i}: after the 503: {e}"));
                }
            }
            Ok(Some(response)) => failures.push(format!("client {i}: {response:?}")),
            Ok(None) => failures.push(format!("client {i}: closed without an answer")),
            Err(e) => failures.push(format!("client {i}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {REFUSED} refused clients got no 503:\n{}",
        failures.len(),
        failures.join("\n")
    );
    drop(held);
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

/// Reads the responses to `sent` requests until the server closes. `Ok` with how many
/// were answered if every response is whole, nothing follows one that says
/// `Connection: close`, and the connection ends with a clean close; else what went wrong
/// (a reset is `connection reset`).
#[cfg(unix)]
fn answers_then_clean_close(client: &mut Client, sent: usize) -> Result<usize, String> {
    let mut answered = 0;
    loop {
        match client.try_response() {
            Ok(None) => return Ok(answered),
            Ok(Some(response)) => {
                answered += 1;
                if answered > sent {
                    return Err(format!("{answered} responses to {sent} requests"));
                }
                // A post during shutdown may be refused (503): the client knows it was not
                // handled.
                if ![200, 204, 503].contains(&response.status) {
                    return Err(format!("unexpected response {response:?}"));
                }
                if response.closes() {
                    return match client.try_response() {
                        Ok(None) => Ok(answered),
                        Ok(Some(more)) => Err(format!("a response after the close: {more:?}")),
                        Err(e) => Err(format!("after {answered} responses: {e}")),
                    };
                }
            }
            Err(e) => return Err(format!("after {answered} responses: {e}")),
        }
    }
}

/// Idle keep-alive connections whose next request has already arrived when shutdown
/// begins (the server is stopped while the requests and the signal arrive, so it finds
/// them all at once), and new connections still in the listener's backlog: each request
/// is answered with `Connection: close`, or the connection is closed cleanly after the
/// server shut its write side and drained the input. Never a reset: the client could not
/// tell whether its post was handled.
#[cfg(unix)]
#[test]
fn shutdown_answers_or_cleanly_closes_requests_that_arrived_before_it() {
    const TRIALS: usize = 6;
    const POSTING: usize = 5;
    const PIPELINING: usize = 2;
    const DEPTH: usize = 10;
    const LATE: usize = 100;
    let mut failures = Vec::new();
    let mut answered = 0;
    for trial in 0..TRIALS {
        let threads = if trial % 2 == 0 { "1" } else { "2" };
        let mut server = Server::start(&["--threads", threads]);
        let mut clients: Vec<(Client, usize)> = (0..POSTING + PIPELINING)
            .map(|i| {
                let mut client = server.connect();
                client.send(PLAINTEXT);
                assert_eq!(client.response().status, 200);
                (client, if i < POSTING { 1 } else { DEPTH })
            })
            .collect();
        server.pause();
        // Connections the kernel accepts while the server is stopped wait in its backlog.
        clients.extend((0..LATE).map(|_| (server.connect(), 1)));
        for (i, (client, depth)) in clients.iter_mut().enumerate() {
            if *depth == 1 {
                client.send(&common::post_request(&format!("trial {trial}, client {i}")));
            } else {
                client.send(&PLAINTEXT.repeat(*depth));
            }
        }
        server.interrupt();
        server.resume();
        for (i, (client, depth)) in clients.iter_mut().enumerate() {
            match answers_then_clean_close(client, *depth) {
                Ok(n) => answered += n,
                Err(e) => failures.push(format!(
                    "trial {trial} ({threads} thread(s)), client {i} (sent {depth}): {e}"
                )),
            }
        }
        drop(clients);
        let status = server.wait_exit(HANG).expect("the server exits");
        assert_eq!(status.code(), Some(0));
    }
    assert!(
        failures.is_empty(),
        "{} of {} connections did not end cleanly ({answered} requests answered):\n{}",
        failures.len(),
        TRIALS * (POSTING + PIPELINING + LATE),
        failures.join("\n")
    );
}

/// Clients that pipeline without pause while the server shuts down: each gets whole
/// responses, then a clean close, never a reset.
#[cfg(unix)]
#[test]
fn shutdown_under_pipelined_load_never_resets() {
    const TRIALS: usize = 3;
    const CLIENTS: usize = 4;
    const DEPTH: usize = 8;
    let mut failures = Vec::new();
    for trial in 0..TRIALS {
        let threads = if trial % 2 == 0 { "1" } else { "2" };
        let mut server = Server::start(&["--threads", threads]);
        let addr = server.addr;
        let loaders: Vec<_> = (0..CLIENTS)
            .map(|_| {
                std::thread::spawn(move || {
                    let mut client = Client::connect(addr);
                    let mut answered = 0;
                    loop {
                        // The server may have shut its side already: a failed write shows
                        // in the read that follows.
                        let _ = std::io::Write::write_all(
                            client.reader.get_mut(),
                            &PLAINTEXT.repeat(DEPTH),
                        );
                        let mut closed = false;
                        for _ in 0..DEPTH {
                            match client.try_response() {
                                Ok(Some(response)) if response.status == 200 => {
                                    answered += 1;
                                    if response.closes() {
                                        closed = true;
                                        break;
                                    }
                                }
                                Ok(Some(response)) => {
                                    return Err(format!("unexpected {response:?}"));
                                }
                                Ok(None) => return Ok(answered),
                                Err(e) => {
                                    return Err(format!("after {answered} responses: {e}"));
                                }
                            }
                        }
                        if closed {
                            return match client.try_response() {
                                Ok(None) => Ok(answered),
                                Ok(Some(more)) => Err(format!("a response after close: {more:?}")),
                                Err(e) => Err(format!("after {answered} responses: {e}")),
                            };
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        server.interrupt();
        for (i, loader) in loaders.into_iter().enumerate() {
            match loader.join().expect("the client thread") {
                Ok(answered) => assert!(answered > 0, "client {i} got no answer at all"),
                Err(e) => failures.push(format!(
                    "trial {trial} ({threads} thread(s)), client {i}: {e}"
                )),
            }
        }
        let status = server.wait_exit(HANG).expect("the server exits");
        assert_eq!(status.code(), Some(0));
    }
    assert!(
        failures.is_empty(),
        "{} of {} clients did not end cleanly:\n{}",
        failures.len(),
        TRIALS * CLIENTS,
        failures.join("\n")
    );
}
