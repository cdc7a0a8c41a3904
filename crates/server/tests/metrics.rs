//! `/metrics` read with a real Prometheus parser, the dashboard page, and its live feed of
//! every shard's figures (feature `metrics`, on by default).
#![cfg(feature = "metrics")]

mod common;

use std::collections::HashMap;

use common::{Client, Event, Server};
use prometheus_parse::{Scrape, Value};

/// `/metrics`, parsed; also checks what the parser leaves to us: every family has a type,
/// counters end in `_total`, histograms' buckets never decrease and end at their count.
fn scrape(server: &Server) -> Scrape {
    let response = server.get("/metrics");
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = response.text();
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
        .unwrap_or_else(|e| panic!("/metrics does not parse ({e}):\n{text}"));
    let mut types = HashMap::new();
    for line in text.lines().filter_map(|l| l.strip_prefix("# TYPE ")) {
        let (name, kind) = line.split_once(' ').unwrap();
        assert!(
            types.insert(name.to_string(), kind.to_string()).is_none(),
            "{name} typed twice"
        );
    }
    for sample in &scrape.samples {
        // A histogram's `_sum` and `_count` come as samples of their own.
        let base = ["_sum", "_count"]
            .iter()
            .find_map(|suffix| sample.metric.strip_suffix(suffix))
            .filter(|base| types.get(*base).is_some_and(|k| k == "histogram"));
        if let Some(base) = base {
            match &sample.value {
                Value::Untyped(v) | Value::Counter(v) | Value::Gauge(v) => {
                    assert!(*v >= 0.0, "{base}")
                }
                other => panic!("{}: {other:?}", sample.metric),
            }
            continue;
        }
        let kind = types
            .get(&sample.metric)
            .unwrap_or_else(|| panic!("{} has no # TYPE", sample.metric));
        match &sample.value {
            Value::Counter(v) => {
                assert_eq!(kind, "counter");
                assert!(
                    sample.metric.ends_with("_total"),
                    "counter {}",
                    sample.metric
                );
                assert!(*v >= 0.0);
            }
            Value::Gauge(_) => assert_eq!(kind, "gauge", "{}", sample.metric),
            Value::Histogram(buckets) => {
                assert_eq!(kind, "histogram");
                let mut last = 0.0;
                for b in buckets {
                    assert!(
                        b.count >= last,
                        "{} decreases at le={}",
                        sample.metric,
                        b.less_than
                    );
                    last = b.count;
                }
                assert!(buckets.last().unwrap().less_than.is_infinite());
            }
            other => panic!("{}: unexpected {other:?}", sample.metric),
        }
    }
    scrape
}

/// The value of the sample of `metric` whose `shard` label is `shard` (`None`: no label).
fn value(scrape: &Scrape, metric: &str, shard: Option<usize>) -> f64 {
    let shard = shard.map(|s| s.to_string());
    let sample = scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && s.labels.get("shard") == shard.as_deref())
        .unwrap_or_else(|| panic!("no {metric} for shard {shard:?}"));
    match &sample.value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
        other => panic!("{metric} is {other:?}"),
    }
}

fn histogram<'a>(
    scrape: &'a Scrape,
    metric: &str,
    shard: Option<usize>,
) -> &'a [prometheus_parse::HistogramCount] {
    let shard = shard.map(|s| s.to_string());
    let sample = scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && s.labels.get("shard") == shard.as_deref())
        .unwrap_or_else(|| panic!("no histogram {metric} for shard {shard:?}"));
    match &sample.value {
        Value::Histogram(buckets) => buckets,
        other => panic!("{metric} is {other:?}"),
    }
}

#[test]
fn metrics_parse_with_a_shard_label_and_totals() {
    let server = Server::start(&["--threads", "2"]);
    // Requests until both shards have answered some (the kernel spreads connections).
    let mut sent = 0;
    while server.per_shard("requests").contains(&0) {
        for _ in 0..8 {
            assert_eq!(server.get("/plaintext").status, 200);
            sent += 1;
        }
        assert!(sent < 2000, "the requests never reached both shards");
    }
    // Timers fire on both shards: an idle keep-alive connection's timeout is rearmed, and
    // `/metrics` itself waits on one while it asks the other shard.
    let scrape = scrape(&server);
    assert_eq!(value(&scrape, "solo_shards", None), 2.0);
    for shard in 0..2 {
        assert_eq!(value(&scrape, "solo_shard_up", Some(shard)), 1.0);
        assert!(value(&scrape, "solo_shard_http_requests_total", Some(shard)) >= 1.0);
        assert!(value(&scrape, "solo_shard_tasks_spawned_total", Some(shard)) >= 1.0);
        assert!(value(&scrape, "solo_shard_reactor_waits_total", Some(shard)) >= 1.0);
        assert!(
            value(&scrape, "solo_shard_reactor_sources", Some(shard)) >= 1.0,
            "a listener each"
        );
        assert!(value(&scrape, "solo_shard_loop_uptime_seconds", Some(shard)) > 0.0);
        // Heap counted by the binary's allocator.
        assert!(value(&scrape, "solo_shard_heap_bytes", Some(shard)) > 0.0);
    }
    // The totals are the sums of the shards (the scrape's own connection counts where
    // the two shards were read a moment apart: compare what does not move).
    for family in [
        "http_requests_total",
        "tasks_spawned_total",
        "reactor_waits_total",
        "timers_fired_total",
        "connections_accepted_total",
    ] {
        let total = value(&scrape, &format!("solo_{family}"), None);
        let sum: f64 = (0..2)
            .map(|s| value(&scrape, &format!("solo_shard_{family}"), Some(s)))
            .sum();
        assert_eq!(total, sum, "solo_{family}");
    }
    assert!(value(&scrape, "solo_http_requests_total", None) >= sent as f64);
    // Histograms: the total's count is the sum of the shards' counts.
    let lag = histogram(&scrape, "solo_timer_lag_seconds", None);
    let per_shard: f64 = (0..2)
        .map(|s| {
            histogram(&scrape, "solo_shard_timer_lag_seconds", Some(s))
                .last()
                .unwrap()
                .count
        })
        .sum();
    assert_eq!(lag.last().unwrap().count, per_shard);
    assert_eq!(
        lag.last().unwrap().count,
        value(&scrape, "solo_timers_fired_total", None)
    );
    let waits = histogram(&scrape, "solo_reactor_events_per_wait", None);
    assert_eq!(
        waits.last().unwrap().count,
        value(&scrape, "solo_reactor_waits_total", None)
    );
    // The process's figures come once, without a label.
    assert!(value(&scrape, "solo_blocking_max_threads", None) >= 1.0);
    assert!(value(&scrape, "solo_resident_memory_bytes", None) > 0.0);
}

#[test]
fn long_poll_sets_every_shards_threshold() {
    let server = Server::start(&["--threads", "2", "--long-poll", "10ms"]);
    let scrape = scrape(&server);
    for shard in 0..2 {
        assert_eq!(
            value(
                &scrape,
                "solo_shard_long_poll_threshold_seconds",
                Some(shard)
            ),
            0.01
        );
        assert_eq!(
            value(&scrape, "solo_shard_long_polls_total", Some(shard)),
            0.0
        );
    }
}

#[test]
fn the_dashboard_page_is_self_contained() {
    let server = Server::start(&[]);
    let page = server.get("/dashboard");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = page.text();
    assert!(html.contains("new EventSource('/dashboard/events')"));
    assert!(html.contains("<canvas") || html.contains("createElement('canvas')"));
    // No script, style or image from elsewhere.
    for external in ["src=\"http", "href=\"http", "src='http", "//cdn", "import "] {
        assert!(!html.contains(external), "the page loads {external}…");
    }
    let mut client = server.connect();
    client.send(b"POST /dashboard/events HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(client.response().status, 405);
}

/// Opens the feed; the head and its first comment are read.
fn feed(server: &Server) -> Client {
    let mut client = server.connect();
    client.send(b"GET /dashboard/events HTTP/1.1\r\nHost: test\r\n\r\n");
    let head = client.response_to(true);
    assert_eq!(head.status, 200, "{head:?}");
    assert_eq!(head.header("content-type"), Some("text/event-stream"));
    client
}

fn sample(client: &mut Client) -> serde_json::Value {
    match client.next_event() {
        Some(Event {
            name: Some(name),
            data,
            ..
        }) if name == "sample" => {
            serde_json::from_str(&data).unwrap_or_else(|e| panic!("not JSON ({e}): {data}"))
        }
        other => panic!("expected a sample event, got {other:?}"),
    }
}

#[test]
fn the_feed_sends_every_shards_live_figures_each_second() {
    let server = Server::start(&["--threads", "2"]);
    let mut client = feed(&server);
    let first = sample(&mut client);
    let shards = first["shards"].as_array().unwrap();
    assert_eq!(shards.len(), 2);
    let interval = first["interval_ms"].as_u64().unwrap();
    assert!((900..5000).contains(&interval), "interval {interval} ms");
    for (i, shard) in shards.iter().enumerate() {
        assert_eq!(shard["shard"].as_u64(), Some(i as u64));
        for field in [
            "open",
            "rps",
            "utilisation",
            "lag_p50_ms",
            "lag_p99_ms",
            "heap_per_connection",
        ] {
            assert!(shard.get(field).is_some(), "no {field} in {shard}");
        }
        let utilisation = shard["utilisation"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&utilisation), "{shard}");
    }
    // Traffic between two samples shows as requests per second, and the feed's own
    // connection (plus those we hold) as open connections.
    let held: Vec<Client> = (0..6).map(|_| server.connect()).collect();
    for _ in 0..200 {
        assert_eq!(server.get("/json").status, 200);
    }
    // The next sample may have started before all of them: look at two.
    let (a, b) = (sample(&mut client), sample(&mut client));
    let rps = |s: &serde_json::Value| -> f64 {
        s["shards"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["rps"].as_f64().unwrap_or(0.0))
            .sum()
    };
    assert!(rps(&a) + rps(&b) > 50.0, "{a}\n{b}");
    let open: f64 = b["shards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["open"].as_f64().unwrap())
        .sum();
    assert!(open >= 7.0, "{b}");
    // Memory per connection: heap counted, connections open.
    assert!(
        b["shards"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["heap_per_connection"].as_f64().is_some()),
        "{b}"
    );
    drop(held);
}

// Shutdown is driven by a signal (Unix).
#[cfg(unix)]
#[test]
fn the_feed_ends_cleanly_at_shutdown() {
    let mut server = Server::start(&[]);
    let mut client = feed(&server);
    sample(&mut client);
    server.interrupt();
    // The stream ends (no further event, a clean end of stream), and the server exits.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while let Some(event) = client.next_event() {
        assert_eq!(event.name.as_deref(), Some("sample"));
        assert!(
            std::time::Instant::now() < deadline,
            "the feed goes on after shutdown"
        );
    }
    let status = server
        .wait_exit(std::time::Duration::from_secs(10))
        .expect("the server exits");
    assert!(status.success(), "{status:?}");
}
