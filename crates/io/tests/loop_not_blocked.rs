//! Node's `fs.readFile` idea: the loop keeps serving while a big file is read on the pool.
//!
//! Deterministic rather than timed: the "file" is a FIFO whose 64 MiB are written only
//! after the loop's timer has ticked several times *while `fs::read` is pending*, and the
//! ticks keep coming while the data streams. A loop blocked by the read could never tick,
//! and the read could never finish: the test would hit its hang guard instead.
#![cfg(unix)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use solo_executor::LocalExecutor;
use solo_io::{Timer, block_on, fs, io_timeout};
use solo_lite::stream::StreamExt;

const SIZE: usize = 64 * 1024 * 1024;
const TICKS_BEFORE_DATA: usize = 5;

#[test]
fn reading_64_mib_does_not_stop_a_ticking_timer() {
    let dir = std::env::temp_dir().join(format!("solo-io-fifo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("big");
    let c_path = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);

    let ticks = Arc::new(AtomicUsize::new(0));
    let writer = std::thread::spawn({
        let (ticks, path) = (ticks.clone(), path.clone());
        move || {
            let start = Instant::now();
            while ticks.load(Ordering::Acquire) < TICKS_BEFORE_DATA {
                assert!(
                    start.elapsed() < Duration::from_secs(60),
                    "the loop never ticked"
                );
                std::thread::sleep(Duration::from_millis(1));
            }
            let data: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8).collect();
            std::fs::write(&path, &data).unwrap();
            ticks.load(Ordering::Acquire)
        }
    });

    let ex = LocalExecutor::new();
    let (read, ticks_at_end) = block_on(ex.run(async {
        let ticker = ex.spawn({
            let ticks = ticks.clone();
            async move {
                let mut interval = Timer::interval(Duration::from_millis(2));
                loop {
                    interval.next().await;
                    ticks.fetch_add(1, Ordering::AcqRel);
                }
            }
        });
        let read = io_timeout(Duration::from_secs(120), fs::read(&path))
            .await
            .unwrap();
        drop(ticker);
        (read, ticks.load(Ordering::Acquire))
    }));
    let ticks_when_data_started = writer.join().unwrap();
    assert_eq!(read.len(), SIZE);
    assert!(read.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8));
    assert!(ticks_when_data_started >= TICKS_BEFORE_DATA);
    assert!(ticks_at_end >= ticks_when_data_started);
    std::fs::remove_dir_all(&dir).unwrap();
}
