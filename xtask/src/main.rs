//! Project chores for the solo workspace, run as `cargo xtask <command>` (each has
//! `--help`).
//!
//! - `cargo xtask bench`: solo's servers against their peers (tokio, smol, a raw epoll loop,
//!   Node.js) side by side in one run: HTTP and echo throughput, latency, idle connections
//!   and their memory, as a table, JSON and an SVG chart.
//! - `cargo xtask loadgen`: the load generator `bench` drives (one workload, one JSON line
//!   of results); usable by hand against any server.
//! - `cargo xtask soak [--minutes N | --seconds N]`: `solo-server` under mixed churn for
//!   ten minutes by default (keep-alive and pipelined requests, chunked posts, chat
//!   subscribers, slow clients, resets and half-closes, every response checked), then a
//!   check that it gave everything back: descriptors exactly, memory within a tolerance, a
//!   clean exit on `SIGINT`. Prints a summary table; fails on any problem.
//! - `cargo xtask flood`: how long a normal request waits while 500 connections pipeline
//!   thousands of requests each into `solo-server` (p50, p99, max of a probe).
//! - `cargo xtask fuzz [--seconds N]`: every cargo-fuzz target for N seconds (default 300)
//!   each, through `.ci/fuzz`.
//! - `cargo xtask sim [--seeds N | --seed S | --bench [--runs R]]`: the deterministic
//!   simulation's seeded tests (solo-sim's and the chat's, `--cfg solo_sim`, in
//!   `target/sim`) over seeds 0..N (1000 by default), printing each failing seed with its
//!   replay command; `--seed S [--filter TEST]` replays one seed with its event trace; `--bench` measures
//!   virtual seconds per real second and messages per second on the chat scenario.
//! - `cargo xtask xplat [-p PACKAGE]`: the longer cross-platform check: `.ci/xplat` (clippy
//!   with `-Zbuild-std` per target, Windows tests under Wine) for its default targets plus
//!   Windows MSVC, Intel macOS, FreeBSD on ARM, NetBSD, OpenBSD and DragonFly.
//!
//! Every child process is supervised: Ctrl-C stops it (and what it started) before the
//! xtask exits with status 130.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench;
mod flood;
mod fuzz;
mod sim;
mod soak;
mod sys;
mod xplat;

/// The workspace's root directory (the parent of this package's).
pub fn workspace_root() -> Result<PathBuf, String> {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(std::path::Path::to_path_buf)
        .ok_or_else(|| "the xtask package has no parent directory".to_string())
}

/// `cargo xtask`: chores for the solo workspace.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Measure solo against its peers: HTTP, echo and idle connections, side by side.
    Bench(bench::BenchArgs),
    /// Run one load-generator workload and print its result as one JSON line.
    Loadgen(bench::loadgen::LoadgenArgs),
    /// Churn solo-server for minutes, then require it gave back every descriptor and its
    /// memory, and exited cleanly.
    Soak(soak::SoakArgs),
    /// Measure a normal request's latency while other clients flood the server.
    Flood(flood::FloodArgs),
    /// Run every fuzz target longer than CI does (`.ci/fuzz`).
    Fuzz(fuzz::FuzzArgs),
    /// The longer cross-platform check: `.ci/xplat` with more targets.
    Xplat(xplat::XplatArgs),
    /// Deterministic simulation: the seeded tests over many seeds, a replay, or its speed.
    Sim(sim::SimArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Bench(args) => bench::run(args),
        Command::Loadgen(args) => bench::loadgen::run(args),
        Command::Soak(args) => soak::run(args),
        Command::Flood(args) => flood::run(args),
        Command::Fuzz(args) => fuzz::run(args),
        Command::Xplat(args) => xplat::run(args),
        Command::Sim(args) => sim::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e == sys::INTERRUPTED => {
            eprintln!("xtask: interrupted; every child process was stopped");
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_bench_flags() {
        let cli = Cli::try_parse_from([
            "xtask",
            "bench",
            "--only",
            "http,echo",
            "--servers",
            "tokio,epoll",
            "--idle",
            "100000",
            "--wrk",
            "--json",
            "out.json",
        ])
        .unwrap();
        let Command::Bench(args) = cli.command else {
            panic!("not bench")
        };
        assert_eq!(args.only, vec![bench::Family::Http, bench::Family::Echo]);
        assert_eq!(args.servers, vec!["tokio".to_string(), "epoll".to_string()]);
        assert_eq!(args.idle, Some(100_000));
        assert!(args.wrk && !args.full && !args.smoke && !args.micro);
        assert_eq!(args.json.as_deref(), Some(std::path::Path::new("out.json")));
    }

    #[test]
    fn rejects_contradictions_and_unknown_workloads() {
        assert!(Cli::try_parse_from(["xtask", "bench", "--full", "--smoke"]).is_err());
        assert!(Cli::try_parse_from(["xtask", "bench", "--only", "ftp"]).is_err());
        assert!(Cli::try_parse_from(["xtask", "bench", "--idle", "lots"]).is_err());
    }

    #[test]
    fn parses_loadgen_commands() {
        let cli = Cli::try_parse_from([
            "xtask",
            "loadgen",
            "http",
            "--addr",
            "127.0.0.1:80",
            "--conns",
            "10",
            "--depth",
            "16",
        ])
        .unwrap();
        assert!(matches!(cli.command, Command::Loadgen(_)));
        assert!(Cli::try_parse_from(["xtask", "loadgen", "echo", "--conns", "1"]).is_err());
    }

    #[test]
    fn parses_soak_fuzz_and_xplat() {
        let Command::Soak(soak) = Cli::try_parse_from(["xtask", "soak"]).unwrap().command else {
            panic!("not soak")
        };
        assert_eq!(soak.duration(), std::time::Duration::from_secs(600));
        assert_eq!((soak.threads, soak.conns, soak.seed), (1, 256, None));
        assert_eq!(soak.addr.port(), 0);
        let cli = Cli::try_parse_from([
            "xtask",
            "soak",
            "--seconds",
            "30",
            "--addr",
            "127.0.0.1:9000",
            "--threads",
            "2",
            "--seed",
            "7",
            "--conns",
            "64",
        ])
        .unwrap();
        let Command::Soak(soak) = cli.command else {
            panic!("not soak")
        };
        assert_eq!(soak.duration(), std::time::Duration::from_secs(30));
        assert_eq!((soak.threads, soak.conns, soak.seed), (2, 64, Some(7)));
        assert_eq!(soak.addr.to_string(), "127.0.0.1:9000");
        let Command::Soak(soak) = Cli::try_parse_from(["xtask", "soak", "--minutes", "1"])
            .unwrap()
            .command
        else {
            panic!("not soak")
        };
        assert_eq!(soak.duration(), std::time::Duration::from_secs(60));
        assert!(Cli::try_parse_from(["xtask", "soak", "--addr", "[::1]:80"]).is_err());
        assert!(Cli::try_parse_from(["xtask", "soak", "--threads", "0"]).is_err());
        assert!(Cli::try_parse_from(["xtask", "soak", "--conns", "100000"]).is_err());

        let Command::Fuzz(fuzz) = Cli::try_parse_from(["xtask", "fuzz"]).unwrap().command else {
            panic!("not fuzz")
        };
        assert_eq!(fuzz.seconds, 300);
        assert!(Cli::try_parse_from(["xtask", "fuzz", "--seconds", "0"]).is_err());

        let Command::Xplat(x) = Cli::try_parse_from(["xtask", "xplat", "-p", "solo-poll"])
            .unwrap()
            .command
        else {
            panic!("not xplat")
        };
        assert_eq!(x.package, ["solo-poll"]);
    }
}
