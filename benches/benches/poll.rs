//! solo-poll micro benchmarks.
//!
//! - `notify-wait`: `notify` then `wait` on one thread (the cost of a wake-up when the
//!   reactor's own thread schedules work for itself), and a ping-pong between two threads
//!   through two pollers (the latency of a cross-thread wake-up, as a remote `Waker` pays).
//! - `wait-1000-ready`: one `wait` that returns 1,000 ready sockets, level-triggered,
//!   against oneshot, which must re-arm every socket with `modify` after each wait (what a
//!   reactor without edge mode pays).
//! - `ready-cycle-1000`: the reactor's whole cycle for 1,000 sockets: a byte arrives on
//!   each, `wait` until all are reported, read each until `WouldBlock`; edge (registered
//!   once) against oneshot (re-armed per event) and level.
//!
//! `polling` is not a dependency of this package, so the contenders are solo-poll's own
//! modes; the first contender is the baseline of each group.
//!
//! The benchmark uses Unix socket pairs; on other systems it prints a note and exits.

#[cfg(unix)]
#[path = "poll/unix.rs"]
mod unix;

fn main() {
    #[cfg(unix)]
    unix::main();
    #[cfg(not(unix))]
    println!("the solo-poll benchmark uses Unix socket pairs; skipped on this system");
}
