//! Node's `fs.readFile` idea: the loop keeps serving while a big file is read on the pool.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use solo_executor::LocalExecutor;
use solo_io::{Timer, block_on, fs};
use solo_lite::stream::StreamExt;

#[test]
fn reading_64_mib_does_not_stop_a_ticking_timer() {
    let dir = std::env::temp_dir().join(format!("solo-io-big-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("big");
    let data: Vec<u8> = (0..64 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &data).unwrap();

    let ex = LocalExecutor::new();
    let ticks: Rc<RefCell<Vec<Instant>>> = Rc::default();
    let (started, finished, read) = block_on(ex.run(async {
        let ticker = ex.spawn({
            let ticks = ticks.clone();
            async move {
                let mut interval = Timer::interval(Duration::from_millis(2));
                loop {
                    interval.next().await;
                    ticks.borrow_mut().push(Instant::now());
                }
            }
        });
        Timer::after(Duration::from_millis(10)).await;
        let started = Instant::now();
        let read = fs::read(&path).await.unwrap();
        let finished = Instant::now();
        Timer::after(Duration::from_millis(10)).await;
        drop(ticker);
        (started, finished, read)
    }));
    assert!(read == data, "the file came back intact");
    let ticks = ticks.borrow();
    let during: Vec<Instant> = ticks
        .iter()
        .copied()
        .filter(|t| *t >= started && *t <= finished)
        .collect();
    let read_time = finished - started;
    // If the read blocked the loop, no tick could happen while it ran.
    assert!(
        during.len() >= 2,
        "only {} ticks during a {read_time:?} read",
        during.len()
    );
    // And the loop was never stopped for a large share of the read.
    let mut edges = vec![started];
    edges.extend(&during);
    edges.push(finished);
    let longest_gap = edges.windows(2).map(|w| w[1] - w[0]).max().unwrap();
    assert!(
        longest_gap < read_time / 2 || longest_gap < Duration::from_millis(20),
        "the loop stalled for {longest_gap:?} of a {read_time:?} read"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
