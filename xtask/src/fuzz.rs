//! `cargo xtask fuzz`: every cargo-fuzz target, for longer than CI runs them.
//!
//! The one place that knows how to fuzz is `.ci/fuzz` (the targets from `cargo fuzz
//! list`, the committed seeds, a throwaway corpus, crashes kept under `fuzz/artifacts/`);
//! this runs it with a longer time per target, supervised so that Ctrl-C stops the fuzzers
//! too.

use std::process::Command;
use std::time::{Duration, Instant};

use clap::Args;

use crate::sys;

/// `cargo xtask fuzz`: five minutes per target by default.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct FuzzArgs {
    /// Seconds per target.
    #[arg(long, default_value_t = 300, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub seconds: u64,
}

/// The command that runs every target for `seconds` each.
pub fn command(root: &std::path::Path, seconds: u64) -> Command {
    let mut cmd = Command::new(root.join(".ci/fuzz"));
    cmd.arg(seconds.to_string()).current_dir(root);
    cmd
}

/// Runs `cargo xtask fuzz`.
pub fn run(args: FuzzArgs) -> Result<(), String> {
    sys::install_interrupt_handler().map_err(|e| format!("installing the Ctrl-C handler: {e}"))?;
    let root = crate::workspace_root()?;
    eprintln!(
        "xtask: fuzz: .ci/fuzz {} (every target, {} s each)",
        args.seconds, args.seconds
    );
    let started = Instant::now();
    let status = sys::run_supervised(&mut command(&root, args.seconds), Duration::from_secs(30))?;
    let took = started.elapsed().as_secs();
    if status.success() {
        eprintln!(
            "xtask: fuzz: no crash in {}:{:02} min",
            took / 60,
            took % 60
        );
        Ok(())
    } else {
        Err(format!(
            ".ci/fuzz {} failed ({status}); crashing inputs are under fuzz/artifacts/",
            args.seconds
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_the_ci_script_with_the_time_per_target() {
        let root = crate::workspace_root().unwrap();
        let cmd = command(&root, 42);
        assert!(
            root.join(".ci/fuzz").is_file(),
            "the script is the source of truth"
        );
        assert_eq!(cmd.get_program(), root.join(".ci/fuzz").as_os_str());
        let args: Vec<_> = cmd.get_args().collect();
        assert_eq!(args, ["42"]);
        assert_eq!(cmd.get_current_dir(), Some(root.as_path()));
    }
}
