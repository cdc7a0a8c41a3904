//! The counters and the long-poll detector (feature `metrics`):
//! `cargo test -p solo-executor --features metrics --test metrics`.
#![cfg(feature = "metrics")]

use std::sync::{Mutex, PoisonError};
use std::task::Waker;
use std::time::Duration;

use solo_executor::LocalExecutor;
use solo_executor::metrics::LONG_POLL_TARGET;

/// Collects the long-poll reports of this test binary (the logger is process-wide: every
/// test checks only the lines that name its own spawn site).
struct Collect;

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

impl log::Log for Collect {
    fn enabled(&self, meta: &log::Metadata<'_>) -> bool {
        meta.target() == LONG_POLL_TARGET
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            assert_eq!(record.level(), log::Level::Warn);
            LINES
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(record.args().to_string());
        }
    }

    fn flush(&self) {}
}

static LOGGER: Collect = Collect;

fn install_logger() {
    // Only the first call installs it; the others find it there.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(log::LevelFilter::Warn);
}

fn reports_naming(site: &str) -> Vec<String> {
    LINES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .filter(|l| l.contains(site))
        .cloned()
        .collect()
}

#[test]
fn counters_follow_spawns_polls_and_queues() {
    let ex = LocalExecutor::new();
    let m = ex.metrics();
    assert_eq!((m.spawned, m.alive, m.polls, m.queued), (0, 0, 0, 0));

    let parked = std::rc::Rc::new(std::cell::Cell::new(None::<Waker>));
    let p = parked.clone();
    let pending = ex.spawn(std::future::poll_fn(move |cx| {
        p.set(Some(cx.waker().clone()));
        std::task::Poll::<()>::Pending
    }));
    let done = ex.spawn(async { 7 });
    let m = ex.metrics();
    assert_eq!((m.spawned, m.alive, m.queued), (2, 2, 2));

    while ex.try_tick() {}
    let m = ex.metrics();
    assert_eq!(m.polls, 2);
    assert_eq!(m.alive, 1, "the finished task is no longer alive");
    assert_eq!(m.queued, 0);

    parked.take().unwrap().wake();
    assert_eq!(ex.metrics().queued, 1);
    while ex.try_tick() {}
    assert_eq!(ex.metrics().polls, 3);

    drop(pending);
    drop(done);
    let m = ex.metrics();
    assert_eq!((m.spawned, m.alive, m.queued), (2, 0, 0));
    assert_eq!(m.remote_wakes, 0);
}

#[test]
fn wakes_from_other_threads_are_counted_once_per_entry() {
    let ex = LocalExecutor::new();
    let parked = std::rc::Rc::new(std::cell::Cell::new(None::<Waker>));
    let p = parked.clone();
    let _task = ex.spawn(std::future::poll_fn(move |cx| {
        p.set(Some(cx.waker().clone()));
        std::task::Poll::<()>::Pending
    }));
    while ex.try_tick() {}
    let waker = parked.take().unwrap();
    // Three wakes before the executor looks: one inbox entry.
    std::thread::spawn(move || {
        waker.wake_by_ref();
        waker.wake_by_ref();
        waker.wake();
    })
    .join()
    .unwrap();
    while ex.try_tick() {}
    let m = ex.metrics();
    assert_eq!(m.remote_wakes, 1);
    assert_eq!(m.polls, 2);
}

#[test]
fn a_long_poll_is_reported_once_per_task_with_its_spawn_site() {
    install_logger();
    let ex = LocalExecutor::new();
    ex.set_long_poll_threshold(Some(Duration::from_millis(10)));
    assert_eq!(ex.long_poll_threshold(), Some(Duration::from_millis(10)));

    let parked = std::rc::Rc::new(std::cell::Cell::new(None::<Waker>));
    let p = parked.clone();
    let site = format!("{}:{}", file!(), line!() + 1);
    let slow = ex.spawn(std::future::poll_fn(move |cx| {
        // Blocks its thread in every poll: the detector's case.
        std::thread::sleep(Duration::from_millis(25));
        p.set(Some(cx.waker().clone()));
        std::task::Poll::<()>::Pending
    }));
    let quick = ex.spawn(async {});
    while ex.try_tick() {}
    parked.take().unwrap().wake();
    while ex.try_tick() {}

    let m = ex.metrics();
    assert_eq!(m.long_polls, 2, "both slow polls are counted");
    assert!(m.longest_poll >= Duration::from_millis(25), "{m:?}");
    let reports = reports_naming(&site);
    assert_eq!(reports.len(), 1, "reported once per task: {reports:?}");
    assert!(reports[0].contains("held its thread for"), "{}", reports[0]);
    assert!(reports[0].contains("threshold 10ms"), "{}", reports[0]);

    // Off: nothing is timed any more.
    ex.set_long_poll_threshold(None);
    parked.take().unwrap().wake();
    while ex.try_tick() {}
    assert_eq!(ex.metrics().long_polls, 2);
    drop((slow, quick));
}

#[test]
fn spawn_many_records_its_caller() {
    install_logger();
    let ex = LocalExecutor::new();
    ex.set_long_poll_threshold(Some(Duration::from_millis(5)));
    let mut tasks = Vec::new();
    let site = format!("{}:{}", file!(), line!() + 1);
    ex.spawn_many(
        (0..2).map(|_| async { std::thread::sleep(Duration::from_millis(10)) }),
        &mut tasks,
    );
    while ex.try_tick() {}
    assert_eq!(reports_naming(&site).len(), 2, "one report per task");
    assert_eq!(ex.metrics().long_polls, 2);
}

#[test]
fn the_detector_is_on_in_debug_builds_and_off_in_release() {
    let ex = LocalExecutor::new();
    let expected =
        cfg!(debug_assertions).then_some(solo_executor::metrics::DEFAULT_LONG_POLL_THRESHOLD);
    assert_eq!(ex.long_poll_threshold(), expected);
}
