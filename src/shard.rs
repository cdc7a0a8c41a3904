//! Shard-per-core: one independent single-threaded runtime per core.

use std::future::Future;
use std::io;
use std::sync::{Condvar, Mutex};

use crate::{block_on, pin_to_core};

/// Runs `n` independent runtimes, one per thread, each pinned to a core where the OS
/// allows (shard `i` on core `i % cores`), and returns their outputs in shard order.
///
/// Each shard is an ordinary single-threaded solo: `make(i)` is called on shard `i`'s own
/// thread, so the future need not be `Send`, and its tasks, sockets and timers stay on
/// that thread. Servers bind one listener per shard with
/// [`TcpListener::bind_reuseport`](crate::net::TcpListener::bind_reuseport) and let the
/// kernel spread connections (Node's cluster, without the processes).
///
/// Threads are started first and run `make` only once all have started: if one cannot be
/// started, none runs and the error is returned. A panic in a shard is resumed here after
/// the other shards finished.
///
/// # Examples
///
/// ```
/// let ids = solo::shards(2, |i| async move { i * 10 }).unwrap();
/// assert_eq!(ids, [0, 10]);
/// ```
pub fn shards<F, Fut>(n: usize, make: F) -> io::Result<Vec<Fut::Output>>
where
    F: Fn(usize) -> Fut + Sync,
    Fut: Future,
    Fut::Output: Send,
{
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    // `None` until every thread started; then whether to go ahead.
    let start = (Mutex::new(None::<bool>), Condvar::new());
    let wait_for_start = || {
        let (lock, cv) = &start;
        let mut go = lock.lock().unwrap_or_else(|e| e.into_inner());
        while go.is_none() {
            go = cv.wait(go).unwrap_or_else(|e| e.into_inner());
        }
        go.unwrap_or(false)
    };
    let release = |go: bool| {
        let (lock, cv) = &start;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = Some(go);
        cv.notify_all();
    };
    std::thread::scope(|scope| {
        let mut handles = Vec::with_capacity(n);
        for i in 0..n {
            let (make, wait_for_start) = (&make, &wait_for_start);
            let spawned = std::thread::Builder::new()
                .name(format!("solo-shard-{i}"))
                .spawn_scoped(scope, move || {
                    if !wait_for_start() {
                        return None;
                    }
                    // Pinning is best effort: unavailable on some systems (macOS).
                    let _ = pin_to_core(i % cores);
                    Some(block_on(make(i)))
                });
            match spawned {
                Ok(h) => handles.push(h),
                Err(e) => {
                    release(false);
                    return Err(io::Error::new(
                        e.kind(),
                        format!("cannot start shard {i}: {e}"),
                    ));
                }
            }
        }
        release(true);
        let mut outputs = Vec::with_capacity(n);
        let mut panic = None;
        for h in handles {
            match h.join() {
                Ok(out) => outputs.extend(out),
                Err(p) => {
                    panic.get_or_insert(p);
                }
            }
        }
        if let Some(p) = panic {
            std::panic::resume_unwind(p);
        }
        Ok(outputs)
    })
}
