//! Tests of the blocking pool: `unblock` and `Unblock`.

mod common;

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use common::{HANG_GUARD, TempDir, block_on, read_to_end, wait_until};
use solo_io::{__blocking as pool, Unblock, unblock};
use solo_lite::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// The pool is process-wide: tests that look at it or change its knobs run one at a time.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

#[test]
fn thousand_closures_on_four_threads() {
    let _serial = serial();
    pool::set_max_threads(4);
    // Threads left by earlier tests must leave first: the limit stops no running thread.
    pool::set_idle_timeout(Duration::from_millis(20));
    wait_until("earlier pool threads to exit", || pool::live_threads() <= 4);
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let peak_threads = Arc::new(AtomicUsize::new(0));
    let futures: Vec<_> = (0..1000u64)
        .map(|i| {
            let (running, peak, peak_threads) =
                (running.clone(), peak.clone(), peak_threads.clone());
            unblock(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                peak_threads.fetch_max(pool::live_threads(), Ordering::SeqCst);
                if i % 100 == 0 {
                    thread::sleep(Duration::from_millis(2));
                }
                running.fetch_sub(1, Ordering::SeqCst);
                i * 2
            })
        })
        .collect();
    let results: Vec<u64> = futures.into_iter().map(block_on).collect();
    assert_eq!(results, (0..1000).map(|i| i * 2).collect::<Vec<_>>());
    assert!(
        peak.load(Ordering::SeqCst) <= 4,
        "more than 4 closures ran at once"
    );
    assert!(
        peak_threads.load(Ordering::SeqCst) <= 4,
        "more than 4 pool threads"
    );
    assert!(pool::live_threads() <= 4);
    pool::set_max_threads(64);
}

#[test]
fn panic_reaches_the_awaiter() {
    let _serial = serial();
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        block_on(unblock(|| -> u32 { panic!("boom in the pool") }))
    }));
    let payload = outcome.expect_err("the panic must reach the awaiter");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom in the pool"));
    // The pool still works.
    assert_eq!(block_on(unblock(|| 7)), 7);
}

#[test]
fn idle_threads_exit() {
    let _serial = serial();
    pool::set_max_threads(64);
    pool::set_idle_timeout(Duration::from_millis(50));
    // Several closures that wait for each other force several threads.
    let gate = Arc::new(AtomicUsize::new(0));
    let futures: Vec<_> = (0..3)
        .map(|_| {
            let gate = gate.clone();
            unblock(move || {
                gate.fetch_add(1, Ordering::SeqCst);
                let start = Instant::now();
                while gate.load(Ordering::SeqCst) < 3 && start.elapsed() < HANG_GUARD {
                    thread::sleep(Duration::from_millis(1));
                }
                pool::live_threads()
            })
        })
        .collect();
    let seen: Vec<usize> = futures.into_iter().map(block_on).collect();
    assert!(
        seen.iter().all(|&n| n >= 3),
        "three threads ran at once: {seen:?}"
    );
    wait_until("idle pool threads to exit", || pool::live_threads() == 0);
    // And the pool starts again on demand.
    assert_eq!(block_on(unblock(|| 1 + 1)), 2);
    pool::set_idle_timeout(Duration::from_secs(1));
}

#[test]
fn dropped_future_lets_the_job_finish_and_drops_the_result() {
    let _serial = serial();
    struct CountDrop(Arc<AtomicUsize>);
    impl Drop for CountDrop {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let finished = Arc::new(AtomicBool::new(false));
    let dropped = Arc::new(AtomicUsize::new(0));
    let future = {
        let (finished, dropped) = (finished.clone(), dropped.clone());
        unblock(move || {
            thread::sleep(Duration::from_millis(20));
            finished.store(true, Ordering::SeqCst);
            CountDrop(dropped)
        })
    };
    drop(future);
    wait_until("the job to finish", || finished.load(Ordering::SeqCst));
    wait_until("the result to be dropped", || {
        dropped.load(Ordering::SeqCst) == 1
    });
}

#[test]
fn unblock_file_write_seek_read() {
    let _serial = serial();
    let dir = TempDir::new("file");
    let path = dir.join("data");
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    let data = pattern(10_000);
    // A small buffer, so that each operation takes many trips to the pool.
    let mut io = Unblock::with_capacity(64, file);
    block_on(async {
        io.write_all(&data).await?;
        io.flush().await?;
        assert_eq!(std::fs::read(&path)?, data);

        assert_eq!(io.seek(SeekFrom::Start(0)).await?, 0);
        assert_eq!(read_to_end(&mut io).await?, data);

        // `Current` counts from what was consumed, not from the read-ahead.
        assert_eq!(io.seek(SeekFrom::Start(1000)).await?, 1000);
        let mut four = [0u8; 4];
        assert_eq!(io.read(&mut four).await?, 4);
        assert_eq!(four, data[1000..1004]);
        assert_eq!(io.seek(SeekFrom::Current(-2)).await?, 1002);
        assert_eq!(io.read(&mut four).await?, 4);
        assert_eq!(four, data[1002..1006]);
        assert_eq!(io.seek(SeekFrom::End(-10)).await?, 9_990);
        assert_eq!(read_to_end(&mut io).await?, data[9_990..]);

        // Overwrite in the middle, then read back.
        io.seek(SeekFrom::Start(5)).await?;
        io.write_all(b"HELLO").await?;
        io.seek(SeekFrom::Start(0)).await?;
        let mut head = [0u8; 12];
        let mut got = 0;
        while got < head.len() {
            got += io.read(&mut head[got..]).await?;
        }
        assert_eq!(&head[5..10], b"HELLO");
        assert_eq!(head[..5], data[..5]);
        io::Result::Ok(())
    })
    .unwrap();

    let len = block_on(io.get_mut()).metadata().unwrap().len();
    assert_eq!(len, 10_000);
    let mut file = block_on(io.into_inner());
    file.seek(SeekFrom::Start(0)).unwrap();
    let mut all = Vec::new();
    file.read_to_end(&mut all).unwrap();
    assert_eq!(&all[5..10], b"HELLO");
}

#[test]
fn dropping_unblock_writes_buffered_data() {
    let _serial = serial();
    let dir = TempDir::new("dropflush");
    let path = dir.join("out");
    let file = std::fs::File::create(&path).unwrap();
    let mut io = Unblock::new(file);
    block_on(io.write_all(b"written on drop")).unwrap();
    drop(io);
    wait_until("the buffered data to reach the file", || {
        std::fs::read(&path).is_ok_and(|d| d == b"written on drop")
    });
}

#[test]
fn into_inner_writes_buffered_data() {
    let _serial = serial();
    let mut io = Unblock::with_capacity(4, Vec::<u8>::new());
    block_on(io.write_all(b"0123456789")).unwrap();
    assert_eq!(block_on(io.into_inner()), b"0123456789");
}

#[test]
fn reader_panic_reaches_the_poller() {
    let _serial = serial();
    struct Explodes;
    impl Read for Explodes {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            panic!("read exploded");
        }
    }
    let mut io = Unblock::new(Explodes);
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| block_on(io.read(&mut [0u8; 8]))));
    let payload = outcome.expect_err("the panic must reach the poller");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"read exploded"));
}

#[test]
fn write_errors_are_reported() {
    let _serial = serial();
    struct Broken;
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::other("disk on fire"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut io = Unblock::new(Broken);
    block_on(async {
        io.write_all(b"data").await.unwrap();
        let err = io.flush().await.unwrap_err();
        assert_eq!(err.to_string(), "disk on fire");
        // The data stays buffered: the next flush tries again.
        assert!(io.flush().await.is_err());
    });
}

#[test]
fn stdin_like_reader_reaches_eof() {
    let _serial = serial();
    let mut io = Unblock::with_capacity(3, io::Cursor::new(b"abcdefgh".to_vec()));
    assert_eq!(block_on(read_to_end(&mut io)).unwrap(), b"abcdefgh");
    assert_eq!(block_on(io.read(&mut [0u8; 4])).unwrap(), 0);
}
