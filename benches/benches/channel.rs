//! Channel micro benchmarks: solo-sync beside `async-channel`, `flume` and tokio's `mpsc`.
//!
//! Each kind of channel has its own file under `channel/`, called from `main` in turn:
//!
//! - `cross.rs`, the cross-thread channel (`solo_sync::channel::cross`), a producer thread
//!   and a consumer thread pinned to two cores:
//!   - `cross-burst-N` (N = 1, 64, 1,024): the producer sends N messages, then waits until
//!     the consumer has them all, so every burst starts with a parked consumer; time per
//!     message. N = 1 is the cost of a wake per message, N = 1,024 what coalescing saves.
//!   - `cross-ping-pong`: a message there and back through two channels; time per round
//!     trip (two wakes of a parked thread).
//!
//! Run with `cargo bench -p solo-benches --bench channel`.

#[path = "channel/cross.rs"]
mod cross;

fn main() {
    cross::main();
}
