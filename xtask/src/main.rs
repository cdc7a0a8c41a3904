//! Project chores for the solo workspace, run as `cargo xtask <command>`.
//!
//! - `cargo xtask bench`: solo's servers against their peers (tokio, smol, a raw epoll loop,
//!   Node.js) side by side in one run: HTTP and echo throughput, latency, idle connections
//!   and their memory, as a table, JSON and an SVG chart. See `cargo xtask bench --help`.
//! - `cargo xtask loadgen`: the load generator `bench` drives (one workload, one JSON line
//!   of results); usable by hand against any server.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench;
mod sys;

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Bench(args) => bench::run(args),
        Command::Loadgen(args) => bench::loadgen::run(args),
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
}
