//! `solo::metrics` (feature `metrics`): `cargo test -p solo --features metrics --test metrics`.
#![cfg(feature = "metrics")]

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use solo::metrics::LONG_POLL_TARGET;
use solo::shard::Shard;

struct Collect;

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

impl log::Log for Collect {
    fn enabled(&self, meta: &log::Metadata<'_>) -> bool {
        meta.target() == LONG_POLL_TARGET
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let line = record.args().to_string();
            LINES
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(line);
        }
    }

    fn flush(&self) {}
}

static LOGGER: Collect = Collect;

#[test]
fn a_blocking_task_is_reported_at_its_solo_spawn_site() {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(log::LevelFilter::Warn);
    solo::block_on(async {
        solo::metrics::set_long_poll_threshold(Some(Duration::from_millis(10)));
        assert_eq!(
            solo::metrics::long_poll_threshold(),
            Some(Duration::from_millis(10))
        );
        let site = format!("{}:{}", file!(), line!() + 1);
        let blocker = solo::spawn(async {
            std::thread::sleep(Duration::from_millis(30));
        });
        blocker.await;
        let lines = LINES.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let ours: Vec<_> = lines.iter().filter(|l| l.contains(&site)).collect();
        assert_eq!(
            ours.len(),
            1,
            "expected one report naming {site}: {lines:?}"
        );
        let m = solo::metrics();
        assert!(m.executor.long_polls >= 1);
        assert!(m.executor.longest_poll >= Duration::from_millis(30));
        solo::metrics::set_long_poll_threshold(None);
    });
}

#[test]
fn every_shard_reports_its_own_figures_over_the_mesh() {
    let out = solo::shards(2, |shard: Shard<()>| async move {
        // Different work on each shard: shard 1 fires more timers.
        for _ in 0..(1 + shard.id() * 4) {
            solo::Timer::after(Duration::from_millis(1)).await;
        }
        if shard.id() == 0 {
            // Shard 1 has finished its timers by now or soon: ask until it has.
            loop {
                let theirs = shard.mesh().submit_to(1, solo::metrics).await.unwrap();
                if theirs.reactor.timers_fired >= 5 {
                    let ours = solo::metrics();
                    return Some((ours.reactor.timers_fired, theirs.reactor.timers_fired));
                }
                solo::Timer::after(Duration::from_millis(5)).await;
            }
        }
        // Stay up until shard 0 has asked.
        solo::Timer::after(Duration::from_millis(500)).await;
        None
    })
    .unwrap();
    let (ours, theirs) = out[0].unwrap();
    assert!(ours >= 1);
    assert!(theirs >= 5);
}
