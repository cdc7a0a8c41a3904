//! `cargo xtask sim`: the deterministic simulation's tests over many seeds, one seed's
//! replay, or the simulation's speed.
//!
//! Everything runs in the simulation build (`RUSTFLAGS="--cfg solo_sim"`, also for
//! doctests) in its own target directory, `target/sim`, so the normal build is not
//! invalidated. The seeded tests (solo-sim's, solo-server's `sim_chat` and
//! `sim_chat_shards`) read `SOLO_SIM_SEEDS` (how many seeds) or `SOLO_SIM_SEED` (one
//! seed); each failing seed is printed by the test as a line `solo-sim: FAILED seed N of
//! <test>: <message>` with the command that replays it.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use clap::Args;

use crate::sys;

/// `cargo xtask sim`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct SimArgs {
    /// Seeds per seeded test (seeds 0..N).
    #[arg(long, default_value_t = 1000, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub seeds: u64,
    /// Replay this one seed instead (with every traced event printed).
    #[arg(long, value_name = "SEED", conflicts_with_all = ["seeds", "bench"])]
    pub seed: Option<u64>,
    /// Measure the simulation's speed on the chat scenario instead (release build).
    #[arg(long)]
    pub bench: bool,
    /// Chat runs (seeds) for `--bench`.
    #[arg(long, default_value_t = 20, value_name = "R", requires = "bench",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub runs: u64,
    /// Build `--bench` without optimisations (a quick check that it runs, not a figure).
    #[arg(long, requires = "bench")]
    pub dev: bool,
    /// Run only the tests whose name contains this (cargo test's filter), e.g. with
    /// `--seed` to replay the one test that failed.
    #[arg(long, value_name = "NAME", conflicts_with = "bench")]
    pub filter: Option<String>,
}

/// A cargo command in the simulation build.
fn cargo(root: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.args(args)
        .current_dir(root)
        .env("RUSTFLAGS", "--cfg solo_sim")
        .env("RUSTDOCFLAGS", "--cfg solo_sim")
        .env("CARGO_TARGET_DIR", root.join("target/sim"));
    cmd
}

/// The commands `cargo xtask sim` runs for `args`, in order.
pub fn commands(root: &Path, args: &SimArgs) -> Vec<Command> {
    if args.bench {
        let runs = args.runs.to_string();
        let mut run = vec!["run", "-p", "solo-server", "--example", "sim-chat-bench"];
        if !args.dev {
            run.push("--release");
        }
        run.extend(["--", runs.as_str()]);
        return vec![cargo(root, &run)];
    }
    let mut sim = cargo(root, &["test", "-p", "solo-sim"]);
    let mut chat = cargo(
        root,
        &[
            "test",
            "-p",
            "solo-server",
            "--test",
            "sim_chat",
            "--test",
            "sim_chat_shards",
        ],
    );
    for cmd in [&mut sim, &mut chat] {
        cmd.arg("--");
        if let Some(filter) = &args.filter {
            cmd.arg(filter);
        }
        match args.seed {
            Some(seed) => {
                cmd.env("SOLO_SIM_SEED", seed.to_string())
                    .env("SOLO_SIM_TRACE", "1")
                    .args(["--nocapture", "--test-threads=1"]);
            }
            None => {
                cmd.env("SOLO_SIM_SEEDS", args.seeds.to_string());
            }
        }
    }
    vec![sim, chat]
}

/// Runs `cargo xtask sim`.
pub fn run(args: SimArgs) -> Result<(), String> {
    sys::install_interrupt_handler().map_err(|e| format!("installing the Ctrl-C handler: {e}"))?;
    let root = crate::workspace_root()?;
    let what = match (args.bench, args.seed) {
        (true, _) => format!("the chat scenario's speed, {} runs", args.runs),
        (false, Some(seed)) => format!("a replay of seed {seed}, every event printed"),
        (false, None) => format!("the seeded tests with seeds 0..{}", args.seeds),
    };
    eprintln!("xtask: sim: {what} (RUSTFLAGS=\"--cfg solo_sim\", target/sim)");
    let started = Instant::now();
    for mut cmd in commands(&root, &args) {
        let status = sys::run_supervised(&mut cmd, Duration::from_secs(10))?;
        if !status.success() {
            return Err(format!(
                "sim: {cmd:?} failed ({status}); each failing seed is printed above as \
                 `solo-sim: FAILED seed N` with the command that replays it \
                 (or: cargo xtask sim --seed N --filter <test>)"
            ));
        }
    }
    eprintln!(
        "xtask: sim: passed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(seeds: u64, seed: Option<u64>, bench: bool) -> SimArgs {
        SimArgs {
            seeds,
            seed,
            bench,
            runs: 5,
            dev: false,
            filter: None,
        }
    }

    fn env(cmd: &Command, key: &str) -> Option<String> {
        cmd.get_envs()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| v.map(|v| v.to_string_lossy().into_owned()))
    }

    #[test]
    fn seeded_tests_run_in_the_simulation_build_with_the_seed_count() {
        let root = crate::workspace_root().unwrap();
        let cmds = commands(&root, &args(300, None, false));
        assert_eq!(cmds.len(), 2);
        for cmd in &cmds {
            assert_eq!(env(cmd, "RUSTFLAGS").as_deref(), Some("--cfg solo_sim"));
            assert_eq!(env(cmd, "SOLO_SIM_SEEDS").as_deref(), Some("300"));
            assert_eq!(env(cmd, "SOLO_SIM_SEED"), None);
            let dir = env(cmd, "CARGO_TARGET_DIR").unwrap();
            assert!(dir.ends_with("target/sim"), "{dir}");
        }
        let chat: Vec<_> = cmds[1].get_args().collect();
        assert_eq!(
            chat,
            [
                "test",
                "-p",
                "solo-server",
                "--test",
                "sim_chat",
                "--test",
                "sim_chat_shards",
                "--"
            ]
        );
    }

    #[test]
    fn a_replay_runs_one_seed_with_its_trace() {
        let root = crate::workspace_root().unwrap();
        let mut replay = args(1000, Some(42), false);
        replay.filter = Some("one_order".into());
        for cmd in commands(&root, &replay) {
            assert_eq!(env(&cmd, "SOLO_SIM_SEED").as_deref(), Some("42"));
            assert_eq!(env(&cmd, "SOLO_SIM_TRACE").as_deref(), Some("1"));
            let a: Vec<_> = cmd.get_args().collect();
            assert_eq!(
                a[a.len() - 4..],
                ["--", "one_order", "--nocapture", "--test-threads=1"]
            );
        }
    }

    #[test]
    fn the_bench_runs_the_example_in_release() {
        let root = crate::workspace_root().unwrap();
        let cmds = commands(&root, &args(1000, None, true));
        let a: Vec<_> = cmds[0].get_args().collect();
        assert_eq!(
            a,
            [
                "run",
                "-p",
                "solo-server",
                "--example",
                "sim-chat-bench",
                "--release",
                "--",
                "5"
            ]
        );
    }
}
