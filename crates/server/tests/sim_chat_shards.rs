//! The chat of a 3-shard server under deterministic simulation: each shard on a simulated
//! host of its own (`simulated_shards`, the mesh's `cross` channels between hosts of one
//! thread, so which shard runs when comes from the seeded scheduler), posters on every
//! shard, subscribers that reconnect to another shard each time with `Last-Event-ID`,
//! partitions and subscriber crashes. There is one order of messages: the same id means
//! the same text everywhere, each subscriber gets every message from its first on, once,
//! in that order, and each poster's messages keep its order. Built only with
//! `--cfg solo_sim`.
#![cfg(solo_sim)]

mod sim_support;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use solo::net::{TcpListener, TcpStream};
use solo_server::Config;
use solo_server::server::{SimulatedShard, simulated_shards};
use solo_sim::{Fault, Sim};

use sim_support::{Log, Subscriber, post, splitmix, subscribe_to};

const SHARDS: usize = 3;
const SUBSCRIBERS: usize = 6;
const PER_POSTER: usize = 15;

struct Run {
    logs: Vec<Subscriber>,
    posted: Vec<Vec<String>>,
    hash: u64,
}

fn run(seed: u64) -> Run {
    let mut sim = Sim::new(seed);
    let config = Config {
        quiet: true,
        ..Config::default()
    };
    let slots: Rc<RefCell<Vec<Option<SimulatedShard>>>> = Rc::new(RefCell::new(
        simulated_shards(config, SHARDS)
            .unwrap()
            .into_iter()
            .map(Some)
            .collect(),
    ));
    for i in 0..SHARDS {
        let slots = slots.clone();
        sim.host(&format!("shard{i}"), move || {
            // Shards are not crashed here: a shard's ends exist once.
            let shard = slots.borrow_mut()[i].take().expect("a shard starts once");
            async move {
                let listener = TcpListener::bind("0.0.0.0:80").await.unwrap();
                shard.serve(listener).await;
            }
        });
    }
    let logs: Vec<Log> = (0..SUBSCRIBERS).map(|_| Log::default()).collect();
    for (i, log) in logs.iter().enumerate() {
        let log = log.clone();
        sim.host(&format!("sub{i}"), move || {
            let log = log.clone();
            async move {
                let mut next = i;
                loop {
                    // Each (re)connection goes to the next shard.
                    let addr = format!("shard{}:80", next % SHARDS);
                    next += 1;
                    let _ = subscribe_to(&addr, &log).await;
                    solo::Timer::after(Duration::from_millis(100)).await;
                }
            }
        });
    }
    let posted: Vec<Vec<String>> = (0..SHARDS)
        .map(|p| (0..PER_POSTER).map(|k| format!("p{p} m{k}")).collect())
        .collect();
    for (p, texts) in posted.iter().enumerate() {
        let texts = texts.clone();
        sim.host(&format!("poster{p}"), move || {
            let texts = texts.clone();
            async move {
                solo::Timer::after(Duration::from_secs(1)).await;
                let mut stream = TcpStream::connect(format!("shard{p}:80")).await.unwrap();
                for text in &texts {
                    post(&mut stream, text).await.unwrap();
                    solo::Timer::after(Duration::from_millis(200)).await;
                }
            }
        });
    }
    let mut rng = seed ^ 0x5AAD;
    for _ in 0..6 {
        let who = format!("sub{}", splitmix(&mut rng) % SUBSCRIBERS as u64);
        let shard = format!("shard{}", splitmix(&mut rng) % SHARDS as u64);
        let at = Duration::from_millis(1000 + splitmix(&mut rng) % 3000);
        let length = Duration::from_millis(500 + splitmix(&mut rng) % 20_000);
        if splitmix(&mut rng) % 2 == 0 {
            sim.at(at, Fault::Partition(who.clone(), shard.clone()))
                .at(at + length, Fault::Heal(who, shard));
        } else {
            sim.at(at, Fault::Crash(who.clone()))
                .at(at + length / 4, Fault::Restart(who));
        }
    }
    let posters: Vec<String> = (0..SHARDS).map(|p| format!("poster{p}")).collect();
    sim.run_until(Duration::from_secs(600), |s| {
        posters.iter().all(|p| s.is_finished(p))
    });
    // Long enough for every partition to heal and every subscriber to catch up.
    sim.run_for(Duration::from_secs(60));
    let hash = sim.trace_hash();
    drop(sim);
    let logs = logs
        .iter()
        .map(|l| std::mem::take(&mut *l.borrow_mut()))
        .collect();
    Run { logs, posted, hash }
}

fn check(run: &Run) {
    // One order: an id names the same text for everyone.
    let mut order: BTreeMap<u64, &str> = BTreeMap::new();
    for (i, log) in run.logs.iter().enumerate() {
        for (id, text) in &log.seen {
            let known = *order.entry(*id).or_insert(text);
            assert_eq!(
                known, text,
                "sub{i}: id {id} is {text:?} here, {known:?} elsewhere"
            );
        }
    }
    let all: Vec<&str> = run.posted.iter().flatten().map(String::as_str).collect();
    let mut texts: Vec<&str> = order.values().copied().collect();
    texts.sort_unstable();
    let mut want = all.clone();
    want.sort_unstable();
    assert_eq!(texts, want, "every message has exactly one id");
    let ids: Vec<u64> = order.keys().copied().collect();
    assert!(
        ids.windows(2).all(|w| w[1] == w[0] + 1),
        "ids are consecutive: {ids:?}"
    );
    // Each poster's messages in its order.
    for texts in &run.posted {
        let at: Vec<u64> = texts
            .iter()
            .map(|t| *order.iter().find(|(_, v)| *v == t).unwrap().0)
            .collect();
        assert!(
            at.windows(2).all(|w| w[0] < w[1]),
            "a poster's order was kept: {at:?}"
        );
    }
    // Every subscriber: from its first message to the last, every id once, in order.
    let last = *ids.last().unwrap();
    for (i, log) in run.logs.iter().enumerate() {
        let got: Vec<u64> = log.seen.iter().map(|(id, _)| *id).collect();
        let first = got[0];
        let want: Vec<u64> = (first..=last).collect();
        assert_eq!(got, want, "sub{i} ({} connections)", log.connects);
    }
}

#[test]
fn one_order_of_messages_across_shards_through_faults() {
    solo_sim::check(
        "one_order_of_messages_across_shards_through_faults",
        10,
        |seed| {
            check(&run(seed));
        },
    );
}

#[test]
fn a_sharded_run_replays_exactly() {
    let a = run(5);
    let b = run(5);
    assert_eq!(a.hash, b.hash);
    let ids = |r: &Run| -> Vec<Vec<u64>> {
        r.logs
            .iter()
            .map(|l| l.seen.iter().map(|(id, _)| *id).collect())
            .collect()
    };
    assert_eq!(ids(&a), ids(&b));
    // Subscribers moved between shards.
    assert!(a.logs.iter().any(|l| l.connects > 1));
}
