//! The chat under deterministic simulation: the server's own code (`serve`) on a server
//! host, a poster and many subscriber hosts on a simulated network with partitions and
//! subscriber crashes. Every subscriber receives every message from its first one on, in
//! order, none twice, across reconnects with `Last-Event-ID` (a crashed subscriber keeps
//! its last id, as a browser's `EventSource` would). Built only with `--cfg solo_sim`:
//!
//! ```sh
//! RUSTFLAGS="--cfg solo_sim" CARGO_TARGET_DIR=target/sim cargo test -p solo-server --test sim_chat
//! ```
#![cfg(solo_sim)]

mod sim_support;

use sim_support::{SCENARIO, Subscriber, run_chat};

/// The property: from its first message on, each subscriber got every message, in order,
/// once.
fn check_logs(logs: &[Subscriber], posted: &[String]) {
    for (i, log) in logs.iter().enumerate() {
        let first = log
            .seen
            .first()
            .unwrap_or_else(|| panic!("sub{i} got nothing"));
        let start = posted.iter().position(|t| *t == first.1).unwrap();
        let texts: Vec<&str> = log.seen.iter().map(|(_, t)| t.as_str()).collect();
        let want: Vec<&str> = posted[start..].iter().map(String::as_str).collect();
        assert_eq!(texts, want, "sub{i} ({} connections)", log.connects);
        assert!(
            log.seen.windows(2).all(|w| w[1].0 == w[0].0 + 1),
            "sub{i}: ids in order"
        );
    }
}

#[test]
fn every_subscriber_gets_every_message_once_in_order_through_faults() {
    solo_sim::check(
        "every_subscriber_gets_every_message_once_in_order_through_faults",
        20,
        |seed| {
            let run = run_chat(seed, SCENARIO);
            check_logs(&run.logs, &run.posted);
        },
    );
}

#[test]
fn a_chat_run_replays_exactly() {
    let a = run_chat(3, SCENARIO);
    let b = run_chat(3, SCENARIO);
    assert_eq!((a.hash, a.now, a.steps), (b.hash, b.now, b.steps));
    let ids = |logs: &[Subscriber]| -> Vec<Vec<u64>> {
        logs.iter()
            .map(|l| l.seen.iter().map(|(id, _)| *id).collect())
            .collect()
    };
    assert_eq!(ids(&a.logs), ids(&b.logs));
    // Some subscriber reconnected (a partition outlived the stall limit, or a crash).
    assert!(a.logs.iter().any(|l| l.connects > 1));
}
