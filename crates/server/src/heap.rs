//! Heap bytes held per thread, for the dashboard's memory per connection of each shard.
//!
//! The `solo-server` binary installs a global allocator that forwards every call to the
//! system allocator and reports each allocation's size here ([`allocated`], [`freed`]),
//! added to a counter of the calling thread: a plain `Cell`, no atomic. A shard's
//! [`thread_bytes`] is then what its thread allocated minus what it freed. Memory
//! allocated on one shard and freed on another (a chat message shared by every shard's
//! ring, a message crossing the mesh) counts on both, with opposite signs: each shard's
//! figure is close to what it holds, and the sum over the shards is exact.
//!
//! Without that allocator (the library's own tests, a program embedding the server)
//! nothing is counted and [`thread_bytes`] is `None`.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether the counting allocator is installed.
static COUNTING: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Bytes allocated minus bytes freed on this thread.
    static NET: Cell<i64> = const { Cell::new(0) };
}

/// Says that the global allocator reports to [`allocated`] and [`freed`] (called by the
/// binary before it starts).
pub fn enable() {
    COUNTING.store(true, Ordering::Relaxed);
}

/// An allocation of `bytes` on the calling thread (from the global allocator: allocates
/// nothing, never panics).
#[inline]
pub fn allocated(bytes: usize) {
    // `try_with`: an allocation during the thread's teardown is not counted.
    let _ = NET.try_with(|net| net.set(net.get().wrapping_add(bytes as i64)));
}

/// A deallocation of `bytes` on the calling thread.
#[inline]
pub fn freed(bytes: usize) {
    let _ = NET.try_with(|net| net.set(net.get().wrapping_sub(bytes as i64)));
}

/// Heap bytes allocated and not freed by the calling thread, if counted.
pub fn thread_bytes() -> Option<i64> {
    if COUNTING.load(Ordering::Relaxed) {
        NET.try_with(Cell::get).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_thread_once_enabled() {
        std::thread::spawn(|| {
            let before = NET.with(Cell::get);
            allocated(100);
            freed(30);
            assert_eq!(NET.with(Cell::get) - before, 70);
            enable();
            assert_eq!(thread_bytes(), Some(before + 70));
        })
        .join()
        .unwrap();
    }
}
