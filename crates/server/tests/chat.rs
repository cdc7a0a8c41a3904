//! The chat over real sockets: a message posted once reaches a thousand event streams.

mod common;

use std::io::Read;
use std::time::Duration;

use common::{Client, Server};

const SUBSCRIBERS: usize = 1000;

/// Reads from `client` until `needle` has arrived; returns everything read.
fn read_until(client: &mut Client, needle: &str) -> String {
    let mut seen = String::new();
    while !seen.contains(needle) {
        let mut chunk = [0; 1024];
        let n = client
            .reader
            .read(&mut chunk)
            .expect("read the event stream");
        assert!(n > 0, "the stream ended before {needle:?}: {seen:?}");
        seen.push_str(&String::from_utf8_lossy(&chunk[..n]));
    }
    seen
}

#[test]
fn a_broadcast_reaches_a_thousand_subscribers() {
    common::raise_fd_limit();
    let server = Server::start(&[]);
    let mut subscribers: Vec<Client> = (0..SUBSCRIBERS)
        .map(|_| {
            let mut client = server.connect();
            client.send(b"GET /chat/events HTTP/1.1\r\nHost: test\r\n\r\n");
            client
        })
        .collect();
    for client in &mut subscribers {
        let head = client.response_to(true);
        assert_eq!(head.status, 200);
        assert_eq!(head.header("content-type"), Some("text/event-stream"));
        assert!(head.closes());
        read_until(client, ": solo chat: connected\n\n");
    }
    assert_eq!(server.stat("chat_subscribers"), Some(SUBSCRIBERS as u64));

    let mut sender = server.connect();
    let body = "msg=hello+everyone%21";
    sender.send(
        format!(
            "POST /chat/send HTTP/1.1\r\nHost: test\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    assert_eq!(sender.response().status, 204);
    let mut first_id = None;
    for client in &mut subscribers {
        let seen = read_until(client, "data: hello everyone!\n\n");
        let id = seen
            .lines()
            .find_map(|line| line.strip_prefix("id: "))
            .unwrap_or_else(|| panic!("no id: {seen:?}"));
        // Every subscriber sees the message under the same id.
        assert_eq!(*first_id.get_or_insert_with(|| id.to_string()), id);
    }
    let second_id = first_id.unwrap().parse::<u64>().unwrap() + 1;

    // A second message, multi-line, in order after the first.
    let text = "line one\nline two";
    sender.send(
        format!(
            "POST /chat/send HTTP/1.1\r\nHost: test\r\nContent-Type: text/plain\r\n\
             Content-Length: {}\r\n\r\n{text}",
            text.len()
        )
        .as_bytes(),
    );
    assert_eq!(sender.response().status, 204);
    for client in &mut subscribers {
        let seen = read_until(client, "data: line two\n\n");
        assert!(
            seen.contains(&format!(
                "id: {second_id}\ndata: line one\ndata: line two\n\n"
            )),
            "{seen:?}"
        );
    }

    // Subscribers that leave are noticed and unsubscribed.
    subscribers.truncate(SUBSCRIBERS / 2);
    let mut left = None;
    for _ in 0..500 {
        left = server.stat("chat_subscribers");
        if left == Some((SUBSCRIBERS / 2) as u64) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(left, Some((SUBSCRIBERS / 2) as u64));
}

#[test]
fn a_late_subscriber_gets_the_recent_history_and_resumes_after_last_event_id() {
    let server = Server::start(&[]);
    let mut sender = server.connect();
    for word in ["one", "two", "three"] {
        sender.send(
            format!(
                "POST /chat/send HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{word}",
                word.len()
            )
            .as_bytes(),
        );
        assert_eq!(sender.response().status, 204);
    }
    let mut late = server.subscribe(None);
    let history: Vec<_> = (0..3)
        .map(|_| late.next_event().expect("history"))
        .collect();
    let texts: Vec<&str> = history.iter().map(|e| e.data.as_str()).collect();
    assert_eq!(texts, ["one", "two", "three"]);
    let first = history[0].id.expect("an id");
    for (i, event) in history.iter().enumerate() {
        assert_eq!(event.id, Some(first + i as u64));
    }

    let mut back = server.subscribe(Some(first + 1));
    let resumed = back.next_event().expect("the message after the last seen");
    assert_eq!(
        (resumed.id, resumed.data.as_str()),
        (Some(first + 2), "three")
    );
}
