//! `cargo xtask xplat`: the longer cross-platform check.
//!
//! `.ci/xplat` is the one place that knows how to lint solo for other systems from this
//! Linux machine (Debian's Rust with the standard library's source, `-Zbuild-std`, Wine
//! for the Windows tests). CI runs it for its default targets; this runs it for those
//! (read from the script) plus [`EXTRA_TARGETS`], through `XPLAT_TARGETS`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use clap::Args;

use crate::sys;

/// The targets linted here beyond the script's defaults.
pub const EXTRA_TARGETS: [&str; 6] = [
    "x86_64-pc-windows-msvc",
    "x86_64-apple-darwin",
    "aarch64-unknown-freebsd",
    "x86_64-unknown-netbsd",
    "x86_64-unknown-openbsd",
    "x86_64-unknown-dragonfly",
];

/// `cargo xtask xplat`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct XplatArgs {
    /// Only these packages (passed on as `-p`; default: the script's selection).
    #[arg(short, long, value_name = "PACKAGE")]
    pub package: Vec<String>,
}

/// The default targets of `.ci/xplat`, read from its `XPLAT_TARGETS:-...` default.
pub fn default_targets(script: &str) -> Result<Vec<String>, String> {
    const MARK: &str = "XPLAT_TARGETS:-";
    let start = script
        .find(MARK)
        .ok_or("no `${XPLAT_TARGETS:-...}` default in .ci/xplat")?
        + MARK.len();
    let end = script[start..]
        .find('}')
        .ok_or("the `${XPLAT_TARGETS:-...}` default in .ci/xplat is not closed")?;
    let targets: Vec<String> = script[start..start + end]
        .split_whitespace()
        .map(String::from)
        .collect();
    if targets.is_empty() {
        return Err("the `${XPLAT_TARGETS:-...}` default in .ci/xplat is empty".into());
    }
    Ok(targets)
}

/// The script's defaults, then the extra targets (each once).
pub fn targets(script: &str) -> Result<Vec<String>, String> {
    let mut all = default_targets(script)?;
    for t in EXTRA_TARGETS {
        if !all.iter().any(|a| a == t) {
            all.push(t.to_string());
        }
    }
    Ok(all)
}

/// The command that runs `.ci/xplat` for `targets` and `packages`.
pub fn command(root: &Path, targets: &[String], packages: &[String]) -> Command {
    let mut cmd = Command::new(root.join(".ci/xplat"));
    for p in packages {
        cmd.arg("-p").arg(p);
    }
    cmd.env("XPLAT_TARGETS", targets.join(" "))
        .current_dir(root);
    cmd
}

/// Runs `cargo xtask xplat`.
pub fn run(args: XplatArgs) -> Result<(), String> {
    sys::install_interrupt_handler().map_err(|e| format!("installing the Ctrl-C handler: {e}"))?;
    let root = crate::workspace_root()?;
    let script = root.join(".ci/xplat");
    let text = std::fs::read_to_string(&script)
        .map_err(|e| format!("reading {}: {e}", script.display()))?;
    let targets = targets(&text)?;
    eprintln!(
        "xtask: xplat: .ci/xplat with XPLAT_TARGETS=\"{}\"",
        targets.join(" ")
    );
    let started = Instant::now();
    // A generous grace: the script stops its wineserver on the way out.
    let status = sys::run_supervised(
        &mut command(&root, &targets, &args.package),
        Duration::from_secs(60),
    )?;
    let took = started.elapsed().as_secs();
    let took = format!("{}:{:02} min", took / 60, took % 60);
    if status.success() {
        eprintln!("xtask: xplat: {} targets clean in {took}", targets.len());
        Ok(())
    } else {
        Err(format!(
            ".ci/xplat failed after {took} ({status}); its logs are in target/xplat/logs"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_defaults_from_the_script_itself() {
        let root = crate::workspace_root().unwrap();
        let text = std::fs::read_to_string(root.join(".ci/xplat")).unwrap();
        let defaults = default_targets(&text).unwrap();
        // Its Windows tests need the windows-gnu target.
        assert!(
            defaults.iter().any(|t| t == "x86_64-pc-windows-gnu"),
            "{defaults:?}"
        );
        let all = targets(&text).unwrap();
        assert_eq!(&all[..defaults.len()], &defaults[..]);
        for t in EXTRA_TARGETS {
            assert_eq!(all.iter().filter(|a| *a == t).count(), 1, "{t}");
        }
    }

    #[test]
    fn parses_and_refuses_defaults() {
        let script = "targets=${XPLAT_TARGETS:-a-b  c-d}\n";
        assert_eq!(default_targets(script).unwrap(), ["a-b", "c-d"]);
        let with_extra = "x=${XPLAT_TARGETS:-x86_64-apple-darwin}";
        assert_eq!(
            targets(with_extra).unwrap().len(),
            1 + EXTRA_TARGETS.len() - 1
        );
        assert!(default_targets("targets=x").unwrap_err().contains("no `"));
        assert!(
            default_targets("${XPLAT_TARGETS:-a")
                .unwrap_err()
                .contains("not closed")
        );
        assert!(
            default_targets("${XPLAT_TARGETS:- }")
                .unwrap_err()
                .contains("empty")
        );
    }

    #[test]
    fn passes_targets_and_packages_to_the_script() {
        let root = Path::new("/w");
        let cmd = command(root, &["a".into(), "b".into()], &["solo-poll".into()]);
        assert_eq!(cmd.get_program(), "/w/.ci/xplat");
        let args: Vec<_> = cmd.get_args().collect();
        assert_eq!(args, ["-p", "solo-poll"]);
        let env: Vec<_> = cmd.get_envs().collect();
        assert_eq!(
            env,
            [(
                std::ffi::OsStr::new("XPLAT_TARGETS"),
                Some(std::ffi::OsStr::new("a b"))
            )]
        );
    }
}
