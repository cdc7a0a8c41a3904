//! Operations abandoned in flight: a future dropped while its operation is in the kernel
//! (on the io_uring driver: a ring operation; on the poller: a pool job) must leave no
//! descriptor open and no buffer the kernel could write after it is freed. CI runs this
//! file under AddressSanitizer, and with `SOLO_DRIVER=uring`, where every case below has
//! an operation in the ring when its future is dropped.
//!
//! The cases count this process's open descriptors, so they take one lock (no other test
//! of this file opens or closes one meanwhile) and run their loop on a thread of their own,
//! joined before the count: a reactor's own descriptors go with its thread.

#![cfg(target_os = "linux")]

mod common;

use std::ffi::CString;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use common::{TempDir, wait_until};

static SERIAL: Mutex<()> = Mutex::new(());

/// This process's open descriptors.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn mkfifo(path: &Path) {
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: `c` is a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

/// A FIFO in a new directory named `name`, with its writer: opened read and write,
/// non-blocking, so opening does not wait for a reader, and the FIFO has a writer for as
/// long as it lives: a read of it waits until the writer writes.
fn silent_fifo(name: &str) -> (TempDir, PathBuf, std::fs::File) {
    let dir = TempDir::new(name);
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let writer = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    (dir, fifo, writer)
}

/// Runs `f` on a thread of its own and then turns that thread's loop until its ring holds
/// nothing more (the abandoned operations completed and were reclaimed); joins it, and
/// waits until the process has `baseline` descriptors again (on the poller, the pool
/// closes a job's descriptor on its own thread when the job ends).
fn on_a_thread(baseline: usize, f: impl FnOnce() + Send + 'static) {
    std::thread::spawn(move || {
        f();
        let _loop = solo_io::reactor::enter();
        wait_until("the abandoned operations to be reclaimed", || {
            solo_io::reactor::park(Some(Duration::from_millis(1))).unwrap();
            solo_io::reactor::stats().ring_ops == 0
        });
    })
    .join()
    .unwrap();
    wait_until("the descriptors to be closed", || open_fds() == baseline);
}

/// A read blocked in the kernel (a FIFO whose writer is open and silent) is dropped;
/// data arriving afterwards must land in memory the driver still owns, and the reader's
/// descriptor must be closed.
#[test]
fn a_read_dropped_in_flight_leaks_nothing() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (_dir, fifo, mut writer) = silent_fifo("cancel-read");
    let baseline = open_fds();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let path = fifo.clone();
    let writer_thread = std::thread::spawn(move || {
        // Once the read is dropped: data for it arrives, then the end (which a pool job,
        // on the poller, needs to finish: it cannot be cancelled).
        rx.recv().unwrap();
        writer.write_all(b"late data for a dropped read").unwrap();
    });
    // The writer's descriptor goes too.
    on_a_thread(baseline - 1, move || {
        let _loop = solo_io::reactor::enter();
        let mut read = Box::pin(solo_io::fs::read(&path));
        let mut cx = Context::from_waker(Waker::noop());
        // Give it turns to open, size and start reading; it cannot finish (no data).
        for _ in 0..50 {
            assert!(
                read.as_mut().poll(&mut cx).is_pending(),
                "a read of a silent FIFO"
            );
            solo_io::reactor::park(Some(Duration::from_millis(1))).unwrap();
        }
        // Dropped here, with its read (or an earlier step) in flight.
        drop(read);
        tx.send(()).unwrap();
    });
    writer_thread.join().unwrap();
}

/// An open whose future is dropped before the open was even submitted: the descriptor
/// the kernel produces is closed by the driver.
#[test]
fn an_open_dropped_before_submission_closes_its_descriptor() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = TempDir::new("cancel-open");
    let file = dir.path().join("file");
    std::fs::write(&file, b"contents").unwrap();
    let baseline = open_fds();
    on_a_thread(baseline, move || {
        for _ in 0..20 {
            let _loop = solo_io::reactor::enter();
            let mut read = pin!(solo_io::fs::read(&file));
            let mut cx = Context::from_waker(Waker::noop());
            // One poll queues the open; the future goes before any turn of the loop.
            let _ = read.as_mut().poll(&mut cx);
        }
    });
}

/// An open that completed while nobody polled its future (the result waits in the
/// driver): dropping the future closes the descriptor.
#[test]
fn an_open_dropped_after_completion_closes_its_descriptor() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = TempDir::new("cancel-done");
    let file = dir.path().join("file");
    std::fs::write(&file, b"contents").unwrap();
    let baseline = open_fds();
    on_a_thread(baseline, move || {
        for _ in 0..20 {
            let _loop = solo_io::reactor::enter();
            let mut read = pin!(solo_io::fs::read(&file));
            let mut cx = Context::from_waker(Waker::noop());
            if let Poll::Ready(r) = read.as_mut().poll(&mut cx) {
                assert_eq!(r.unwrap(), b"contents");
                continue;
            }
            solo_io::reactor::park(Some(Duration::ZERO)).unwrap();
            solo_io::reactor::park(Some(Duration::ZERO)).unwrap();
        }
    });
}

/// A thread that ends with an operation in flight: its reactor cancels the operation
/// and waits for the kernel before freeing the buffer (ASan would see a write after
/// free otherwise), and its descriptors are closed.
#[test]
fn a_thread_ending_with_a_read_in_flight_frees_nothing_early() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (_dir, fifo, mut writer) = silent_fifo("cancel-exit");
    let baseline = open_fds();
    let path = fifo.clone();
    std::thread::spawn(move || {
        let _loop = solo_io::reactor::enter();
        let mut read = Box::pin(solo_io::fs::read(&path));
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..50 {
            assert!(read.as_mut().poll(&mut cx).is_pending());
            solo_io::reactor::park(Some(Duration::from_millis(1))).unwrap();
        }
        drop(read);
        // The thread ends at once: its reactor goes with an orphan in its ring.
    })
    .join()
    .unwrap();
    writer.write_all(b"data nobody reads").unwrap();
    drop(writer);
    wait_until("the thread's descriptors to close", || {
        open_fds() == baseline - 1
    });
}

/// Whole-file reads and writes across the chunk size, and syncs, through whichever
/// driver runs (many times, so buffers are reused).
#[test]
fn reads_and_writes_across_chunks() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = TempDir::new("chunks");
    common::block_on(async {
        for len in [0, 1, 1024, 64 * 1024 - 1, 64 * 1024, 200 * 1024 + 7] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 + i / 251) as u8).collect();
            let path = dir.path().join(format!("f{len}"));
            solo_io::fs::write(&path, &data).await.unwrap();
            assert_eq!(solo_io::fs::read(&path).await.unwrap(), data, "{len} bytes");
            let mut file = solo_io::fs::File::options()
                .write(true)
                .open(&path)
                .await
                .unwrap();
            file.sync_all().await.unwrap();
            file.sync_data().await.unwrap();
        }
        let missing = dir.path().join("missing");
        let err = solo_io::fs::read(&missing).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
        assert!(err.to_string().contains("missing"), "{err}");
        let err = solo_io::fs::read_to_string(dir.path().join("f1024"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    });
}

/// A `fs::File` dropped with a read in flight (a silent FIFO): on the io_uring driver the
/// read is cancelled and its buffer stays the driver's until the kernel lets go; the
/// file's descriptor closes once the operation is reclaimed.
#[test]
fn a_file_dropped_with_a_read_in_flight_leaks_nothing() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (_dir, fifo, mut writer) = silent_fifo("cancel-file-read");
    let baseline = open_fds();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let path = fifo.clone();
    let writer_thread = std::thread::spawn(move || {
        rx.recv().unwrap();
        writer.write_all(b"late data for a dropped File").unwrap();
    });
    on_a_thread(baseline - 1, move || {
        let _loop = solo_io::reactor::enter();
        let mut cx = Context::from_waker(Waker::noop());
        let mut open = Box::pin(solo_io::fs::File::open(&path));
        let mut file = loop {
            if let Poll::Ready(file) = open.as_mut().poll(&mut cx) {
                break file.unwrap();
            }
            solo_io::reactor::park(Some(Duration::from_millis(1))).unwrap();
        };
        let mut buf = [0u8; 64];
        for _ in 0..20 {
            let read = std::pin::Pin::new(&mut file);
            assert!(
                futures_io::AsyncRead::poll_read(read, &mut cx, &mut buf).is_pending(),
                "a read of a silent FIFO"
            );
            solo_io::reactor::park(Some(Duration::from_millis(1))).unwrap();
        }
        drop(file);
        tx.send(()).unwrap();
    });
    writer_thread.join().unwrap();
}

/// A `fs::File` dropped right after a write (on the io_uring driver, still in flight:
/// writes are write-behind): the data reaches the file, and nothing leaks.
#[test]
fn a_file_dropped_with_a_write_in_flight_still_writes() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = TempDir::new("cancel-file-write");
    let path = dir.path().join("f");
    let baseline = open_fds();
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let (p, d) = (path.clone(), data.clone());
    on_a_thread(baseline, move || {
        common::block_on(async move {
            use solo_lite::io::AsyncWriteExt;
            let mut file = solo_io::fs::File::create(&p).await.unwrap();
            // 64 KiB per write: three wait for the one before, the last is in flight.
            file.write_all(&d).await.unwrap();
            drop(file);
        });
    });
    wait_until("the last write to land", || {
        std::fs::read(&path).unwrap() == data
    });
}
