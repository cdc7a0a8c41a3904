//! solo-sim: deterministic simulation of solo programs, replayable by seed.
//!
//! Built with `RUSTFLAGS="--cfg solo_sim"`, solo-io's clock becomes virtual, its network
//! an in-memory one between named hosts (`solo_io::sim`) and its blocking pool runs jobs
//! inline; this crate is the harness: `Sim` adds hosts, each with its own executor and
//! main future, runs them on one thread under a seeded scheduler, injects `Fault`s at
//! chosen virtual times and hashes every event into a trace. `check` runs a test over
//! many seeds and prints the failing one with the command that replays it.
//!
//! Without `--cfg solo_sim` this crate is empty (and these names are plain text, not links:
//! the items exist only in the simulation build).
#![cfg_attr(
    solo_sim,
    doc = "\n\n# Example (the README's)\n\n",
    doc = include_str!("../README.md")
)]

#[cfg(solo_sim)]
mod sim;

#[cfg(solo_sim)]
pub use sim::{
    Fault, NetConfig, NetStats, Outcome, Sim, check, find_failure, panic_message, replay_message,
    seeds,
};
