//! One chat across every shard, and a chat that holds under bursts, slow history and
//! reconnects: every subscriber on every shard gets every message, in one order, with the
//! same ids.

mod common;

use std::time::{Duration, Instant};

use common::{Client, Event, Server, post_request};

/// Opens subscribers until every shard has at least `per_shard` of them (the kernel
/// spreads connections over the shards' listeners); returns them, streams open.
fn subscribers_on_every_shard(server: &Server, shards: usize, per_shard: u64) -> Vec<Client> {
    let mut subscribers = Vec::new();
    loop {
        for _ in 0..4 * shards {
            subscribers.push(server.subscribe(None));
        }
        let counts = server.per_shard("chat_subscribers");
        assert_eq!(counts.len(), shards, "{counts:?}");
        if counts.iter().all(|&n| n >= per_shard) {
            assert_eq!(counts.iter().sum::<u64>(), subscribers.len() as u64);
            return subscribers;
        }
        assert!(
            subscribers.len() < 400,
            "the kernel never put {per_shard} subscribers on every shard: {counts:?}"
        );
    }
}

/// Reads `n` chat messages from `client`, failing on anything else (a `lagged` event, the
/// end of the stream).
fn messages(client: &mut Client, n: usize) -> Vec<(u64, String)> {
    (0..n)
        .map(|i| match client.next_event() {
            Some(Event {
                id: Some(id),
                name: None,
                data,
            }) => (id, data),
            other => panic!("message {i} of {n}: got {other:?}"),
        })
        .collect()
}

fn one_chat_across(shards: usize) {
    let server = Server::start(&["--threads", &shards.to_string()]);
    let mut subscribers = subscribers_on_every_shard(&server, shards, 2);

    // Posts, each on a new connection, until every shard has taken some.
    let mut posted = Vec::new();
    while posted.len() < 4 * shards || server.per_shard("chat_messages").contains(&0) {
        let text = format!("message {} from somewhere", posted.len());
        assert_eq!(server.post(&text), 204);
        posted.push(text);
        assert!(posted.len() < 500, "posts never reached every shard");
    }

    // Each post was taken before the next was sent: the chat's order is the posting order,
    // and the ids follow each other.
    let first = messages(&mut subscribers[0], posted.len());
    let texts: Vec<&str> = first.iter().map(|(_, text)| text.as_str()).collect();
    assert_eq!(texts, posted);
    for (i, (id, _)) in first.iter().enumerate() {
        assert_eq!(*id, first[0].0 + i as u64);
    }
    for (i, subscriber) in subscribers.iter_mut().enumerate().skip(1) {
        assert_eq!(messages(subscriber, posted.len()), first, "subscriber {i}");
    }
    let total = server.stats();
    assert_eq!(total["chat_messages"].as_u64(), Some(posted.len() as u64));
    assert_eq!(
        total["chat_subscribers"].as_u64(),
        Some(subscribers.len() as u64)
    );

    // A `Last-Event-ID` resumes on any shard: reconnects land everywhere.
    let middle = first[first.len() / 2].0;
    let after: Vec<_> = first[first.len() / 2 + 1..].to_vec();
    for _ in 0..4 * shards {
        let mut again = server.subscribe(Some(middle));
        assert_eq!(messages(&mut again, after.len()), after);
    }
}

#[test]
fn one_chat_across_two_shards() {
    one_chat_across(2);
}

#[test]
fn one_chat_across_four_shards() {
    one_chat_across(4);
}

#[test]
fn a_burst_of_a_thousand_posts_closes_no_subscriber_that_keeps_up() {
    const POSTS: usize = 1000;
    let server = Server::start(&["--threads", "2"]);
    let subscribers = subscribers_on_every_shard(&server, 2, 10);
    // Each subscriber reads as fast as it can, on a thread of its own.
    let readers: Vec<_> = subscribers
        .into_iter()
        .map(|mut client| std::thread::spawn(move || messages(&mut client, POSTS)))
        .collect();

    let mut burst = Vec::new();
    for i in 0..POSTS {
        burst.extend_from_slice(&post_request(&format!("burst {i}")));
    }
    let mut poster = server.connect();
    poster.send(&burst);
    for i in 0..POSTS {
        assert_eq!(poster.response().status, 204, "post {i}");
    }

    let mut all = readers
        .into_iter()
        .map(|r| r.join().expect("a reader failed"));
    let first = all.next().unwrap();
    for (i, (id, text)) in first.iter().enumerate() {
        assert_eq!(text, &format!("burst {i}"));
        assert_eq!(*id, first[0].0 + i as u64);
    }
    for received in all {
        assert_eq!(received, first);
    }
}

#[test]
fn history_of_large_messages_reaches_a_new_subscriber_at_once() {
    const HISTORY: usize = 256;
    let server = Server::start(&[]);
    let text = |i: usize| format!("{i:04} {}", "x".repeat(995));
    let mut watcher = server.subscribe(None);
    let mut burst = Vec::new();
    for i in 0..HISTORY {
        burst.extend_from_slice(&post_request(&text(i)));
    }
    let mut poster = server.connect();
    poster.send(&burst);
    for _ in 0..HISTORY {
        assert_eq!(poster.response().status, 204);
    }
    // Every message is in the history once the watcher got the last one.
    messages(&mut watcher, HISTORY);

    let started = Instant::now();
    let mut late = server.subscribe(None);
    let history = messages(&mut late, HISTORY);
    let took = started.elapsed();
    println!("{HISTORY} messages of 1,000 bytes reached a new subscriber in {took:?}");
    for (i, (_, received)) in history.iter().enumerate() {
        assert_eq!(received, &text(i));
    }
    // A liveness bound, not a performance claim: a stream that waits for a wake after a
    // full buffer sends the rest only at its 15 s pings.
    assert!(took < Duration::from_secs(10), "the history took {took:?}");
}

#[test]
fn resuming_from_before_the_ring_skips_ahead_and_stays_open() {
    const RING: usize = 256;
    const POSTS: usize = RING + 44;
    let server = Server::start(&["--threads", "2"]);
    // Watchers on both shards: once each has read a message, both shards hold it, so a
    // reconnect on either finds the same ring.
    let mut watchers = subscribers_on_every_shard(&server, 2, 1);
    let mut burst = Vec::new();
    for i in 0..POSTS {
        burst.extend_from_slice(&post_request(&format!("m{i}")));
    }
    let mut poster = server.connect();
    poster.send(&burst);
    for _ in 0..POSTS {
        assert_eq!(poster.response().status, 204);
    }
    let mut all = Vec::new();
    for watcher in &mut watchers {
        let seen = messages(watcher, POSTS);
        assert!(all.is_empty() || seen == all);
        all = seen;
    }
    let first_id = all[0].0;

    // Reconnects on both shards, with the first id (long gone from the ring).
    for round in 0..8 {
        let mut back = server.subscribe(Some(first_id));
        let lagged = back.next_event().expect("an event");
        let held = &all[all.len() - RING..];
        let oldest = held[0].0;
        assert_eq!(lagged.name.as_deref(), Some("lagged"), "{lagged:?}");
        assert_eq!(lagged.data, (oldest - first_id - 1).to_string());
        // Its id is the last missed message's: a reconnect with it resumes here again.
        assert_eq!(lagged.id, Some(oldest - 1));
        assert_eq!(messages(&mut back, RING), held);
        // Still open, and the ids move on.
        let text = format!("after the skip, round {round}");
        assert_eq!(server.post(&text), 204);
        let next = messages(&mut back, 1);
        assert_eq!(next, [(held[RING - 1].0 + 1, text)]);
        for watcher in &mut watchers {
            assert_eq!(messages(watcher, 1), next);
        }
        all.extend(next);
    }
}

#[test]
fn stats_sum_every_shard_exactly() {
    const REQUESTS: u64 = 300;
    let server = Server::start(&["--threads", "4"]);
    for _ in 0..REQUESTS {
        let mut client = server.connect();
        client.send(b"GET /plaintext HTTP/1.1\r\nHost: test\r\n\r\n");
        assert_eq!(client.response().status, 200);
    }
    // Pipelined `/stats` requests behind other requests are answered in order.
    let mut client = server.connect();
    client.send(
        b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\nGET /stats HTTP/1.1\r\nHost: t\r\n\r\n\
          HEAD /stats HTTP/1.1\r\nHost: t\r\n\r\nGET /json HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    assert_eq!(client.response().status, 200);
    let stats: serde_json::Value = serde_json::from_slice(&client.response().body).unwrap();
    let head = client.response_to(true);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-type"), Some("application/json"));
    assert_eq!(client.response().text(), "{\"message\":\"Hello, World!\"}");

    // Every connection and request so far, this one's first two requests included.
    assert_eq!(stats["shards"].as_u64(), Some(4));
    assert_eq!(stats["accepted"].as_u64(), Some(REQUESTS + 1));
    assert_eq!(stats["requests"].as_u64(), Some(REQUESTS + 2));
    let per_shard = stats["per_shard"].as_array().expect("per_shard");
    assert_eq!(per_shard.len(), 4);
    for field in [
        "accepted",
        "requests",
        "open_connections",
        "reactor_sources",
    ] {
        let sum: u64 = per_shard.iter().map(|s| s[field].as_u64().unwrap()).sum();
        assert_eq!(stats[field].as_u64(), Some(sum), "{field}: {stats}");
    }
    for (i, shard) in per_shard.iter().enumerate() {
        assert_eq!(shard["shard"].as_u64(), Some(i as u64));
        // The kernel spread 300 connections over the 4 listeners.
        assert!(shard["accepted"].as_u64().unwrap() > 0, "{stats}");
    }
}
