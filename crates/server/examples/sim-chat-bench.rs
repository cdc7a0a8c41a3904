//! The speed of the simulation on the chat scenario: virtual seconds per real second and
//! chat messages delivered to subscribers per real second. Only with `--cfg solo_sim`
//! (`cargo xtask sim --bench` builds and runs it in release mode):
//!
//! ```sh
//! RUSTFLAGS="--cfg solo_sim" CARGO_TARGET_DIR=target/sim \
//!     cargo run --release -p solo-server --example sim-chat-bench -- [seeds]
//! ```

#[cfg(solo_sim)]
#[path = "../tests/sim_support/mod.rs"]
mod sim_support;

#[cfg(solo_sim)]
fn main() {
    use std::time::{Duration, Instant};

    let seeds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let scenario = sim_support::Scenario {
        subscribers: 50,
        messages: 400,
        interval: Duration::from_millis(100),
        faults: 20,
    };
    let (mut virtual_time, mut delivered, mut segments, mut steps) = (Duration::ZERO, 0, 0, 0);
    // Real time, measured around the runs (user code's `Instant::now` is the real clock).
    let start = Instant::now();
    for seed in 0..seeds {
        let run = sim_support::run_chat(seed, scenario);
        virtual_time += run.now;
        delivered += run.logs.iter().map(|l| l.seen.len() as u64).sum::<u64>();
        segments += run.net.tcp_segments;
        steps += run.steps;
    }
    let real = start.elapsed().as_secs_f64();
    println!(
        "sim chat: {seeds} runs of {} subscribers x {} messages with {} faults each",
        scenario.subscribers, scenario.messages, scenario.faults
    );
    println!("  real time              {real:.3} s");
    println!(
        "  virtual time           {:.1} s",
        virtual_time.as_secs_f64()
    );
    println!(
        "  virtual s per real s   {:.1}",
        virtual_time.as_secs_f64() / real
    );
    println!("  chat messages / real s {:.0}", delivered as f64 / real);
    println!("  TCP segments / real s  {:.0}", segments as f64 / real);
    println!("  task polls / real s    {:.0}", steps as f64 / real);
}

#[cfg(not(solo_sim))]
fn main() {
    eprintln!(
        "sim-chat-bench needs the simulation build: RUSTFLAGS=\"--cfg solo_sim\" \
         CARGO_TARGET_DIR=target/sim cargo run --release -p solo-server --example sim-chat-bench"
    );
    std::process::exit(2);
}
