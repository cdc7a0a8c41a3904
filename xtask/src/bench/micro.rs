//! `--micro`: runs the micro benchmarks of `solo-benches` (`cargo bench -p solo-benches`,
//! one bench target at a time, pinned to CPU 0) and folds their results into the report.
//!
//! The harness in `benches/src/lib.rs` appends one JSON object per result to the file named
//! by `SOLO_BENCH_JSON`. A bench target that prints nothing (a placeholder) is reported as
//! empty, one that fails as failed; neither stops the run.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::servers::{Paths, SERVER_CPU};
use crate::sys;

/// One line written by the micro-bench harness.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MicroResult {
    /// Benchmark group, e.g. `spawn-await`.
    pub group: String,
    /// Contender, e.g. `solo` or `tokio`.
    pub name: String,
    /// Median nanoseconds per operation.
    pub median_ns: f64,
    /// Fastest round, nanoseconds per operation.
    pub min_ns: f64,
    /// Rounds measured.
    pub rounds: usize,
    /// Median time divided by the first contender's (solo's): below 1 is faster.
    pub ratio_to_solo: f64,
}

/// What happened to one bench target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MicroStatus {
    /// It printed results.
    Ok,
    /// It ran but printed nothing (a placeholder).
    Empty,
    /// It failed to build or run.
    Failed,
}

/// One bench target's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MicroBench {
    /// The `--bench` name.
    pub name: String,
    /// What happened.
    pub status: MicroStatus,
    /// Why it is empty or failed.
    pub reason: Option<String>,
    /// Its results.
    pub results: Vec<MicroResult>,
}

/// All micro benchmarks of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MicroReport {
    /// Per bench target.
    pub benches: Vec<MicroBench>,
}

impl MicroReport {
    /// The micro section of the table.
    pub fn table(&self) -> String {
        let mut t = String::from(
            "micro benchmarks (cargo bench -p solo-benches): time per operation, ×solo\n",
        );
        for b in &self.benches {
            match b.status {
                MicroStatus::Ok => {
                    for r in &b.results {
                        let _ = writeln!(
                            t,
                            "  {:<10} {:<28} {:<14} {:>12}  {:>6.2}",
                            b.name,
                            r.group,
                            r.name,
                            fmt_ns(r.median_ns),
                            r.ratio_to_solo
                        );
                    }
                }
                _ => {
                    let why = b.reason.as_deref().unwrap_or("");
                    let _ = writeln!(t, "  {:<10} {:?}: {why}", b.name, b.status);
                }
            }
        }
        t
    }
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.3} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.3} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

/// Parses the harness's JSON lines; returns the results and how many lines were not
/// results (blank lines are ignored).
pub fn parse_lines(text: &str) -> (Vec<MicroResult>, usize) {
    let mut bad = 0;
    let results = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| {
            let r = serde_json::from_str(l).ok();
            bad += usize::from(r.is_none());
            r
        })
        .collect();
    (results, bad)
}

/// The bench targets: the files in `benches/benches/`, sorted.
pub fn bench_names(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("benches/benches"))
        .map(|dir| {
            dir.filter_map(|e| {
                let p = e.ok()?.path();
                if p.extension()? != "rs" {
                    return None;
                }
                Some(p.file_stem()?.to_string_lossy().into_owned())
            })
            .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Builds and runs every micro bench target; `quick` sets `SOLO_BENCH_QUICK=1`.
pub fn run(paths: &Paths, quick: bool) -> Result<MicroReport, String> {
    let names = bench_names(&paths.root);
    let build_log = paths.log("micro-build");
    eprintln!("xtask: cargo bench -p solo-benches --no-run");
    if let Err(e) = cargo(
        paths,
        &["bench", "-p", "solo-benches", "--no-run"],
        &build_log,
        None,
    ) {
        sys::check_interrupt()?;
        let reason = format!("build failed: {e}");
        let benches = names
            .into_iter()
            .map(|name| MicroBench {
                name,
                status: MicroStatus::Failed,
                reason: Some(reason.clone()),
                results: vec![],
            })
            .collect();
        return Ok(MicroReport { benches });
    }
    let mut benches = Vec::new();
    for name in names {
        sys::check_interrupt()?;
        eprintln!("xtask: cargo bench -p solo-benches --bench {name}");
        let json = paths.out.join(format!("micro-{name}.jsonl"));
        let _ = std::fs::remove_file(&json);
        let log = paths.log(&format!("micro-{name}"));
        let outcome = cargo(
            paths,
            &["bench", "-p", "solo-benches", "--bench", &name],
            &log,
            Some((&json, quick)),
        );
        sys::check_interrupt()?;
        let text = std::fs::read_to_string(&json).unwrap_or_default();
        let (results, bad) = parse_lines(&text);
        let (status, reason) = match (&outcome, results.is_empty()) {
            (Err(e), _) => (MicroStatus::Failed, Some(e.clone())),
            (Ok(()), true) => (
                MicroStatus::Empty,
                Some("printed no results (a placeholder?)".to_string()),
            ),
            (Ok(()), false) if bad > 0 => (
                MicroStatus::Ok,
                Some(format!("{bad} unreadable line(s) skipped")),
            ),
            (Ok(()), false) => (MicroStatus::Ok, None),
        };
        benches.push(MicroBench {
            name,
            status,
            reason,
            results,
        });
    }
    Ok(MicroReport { benches })
}

/// Runs cargo with its output in `log`, pinned to the server CPU, stoppable by Ctrl-C.
fn cargo(
    paths: &Paths,
    args: &[&str],
    log: &PathBuf,
    json: Option<(&PathBuf, bool)>,
) -> Result<(), String> {
    let file =
        std::fs::File::create(log).map_err(|e| format!("creating {}: {e}", log.display()))?;
    let mut cmd = Command::new(&paths.cargo);
    cmd.args(args)
        .current_dir(&paths.root)
        .stdin(Stdio::null())
        .stdout(file.try_clone().map_err(|e| e.to_string())?)
        .stderr(file);
    if let Some((json, quick)) = json {
        cmd.env("SOLO_BENCH_JSON", json);
        if quick {
            cmd.env("SOLO_BENCH_QUICK", "1");
        }
        sys::harden_child(&mut cmd, Some(SERVER_CPU));
    } else {
        sys::harden_child(&mut cmd, None);
    }
    let mut child = cmd.spawn().map_err(|e| format!("running cargo: {e}"))?;
    loop {
        if sys::interrupted() {
            let _ = child.kill();
            let _ = child.wait();
            return Err(sys::INTERRUPTED.into());
        }
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return if status.success() {
                Ok(())
            } else {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                let first = text
                    .lines()
                    .find(|l| l.starts_with("error"))
                    .unwrap_or("no error line");
                Err(format!("{status}: {first} (see {})", log.display()))
            };
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_harness_lines_and_counts_the_rest() {
        let text = concat!(
            r#"{"group":"spawn","name":"solo","median_ns":120.500,"min_ns":110.000,"rounds":11,"ratio_to_solo":1.0000}"#,
            "\n\n",
            r#"{"group":"spawn","name":"tokio","median_ns":241.000,"min_ns":230.000,"rounds":11,"ratio_to_solo":2.0000}"#,
            "\nwarning: not json\n"
        );
        let (results, bad) = parse_lines(text);
        assert_eq!(bad, 1);
        assert_eq!(results.len(), 2);
        assert_eq!(results[1].name, "tokio");
        assert_eq!(results[1].ratio_to_solo, 2.0);
        assert_eq!(parse_lines(""), (vec![], 0));
    }

    #[test]
    fn lists_bench_targets_and_tables_every_status() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let names = bench_names(root);
        assert!(names.contains(&"poll".to_string()), "{names:?}");
        let report = MicroReport {
            benches: vec![
                MicroBench { name: "poll".into(), status: MicroStatus::Empty, reason: Some("placeholder".into()), results: vec![] },
                MicroBench {
                    name: "lite".into(),
                    status: MicroStatus::Ok,
                    reason: None,
                    results: parse_lines(r#"{"group":"g","name":"solo","median_ns":1500,"min_ns":1,"rounds":3,"ratio_to_solo":1}"#).0,
                },
            ],
        };
        let t = report.table();
        assert!(
            t.contains("Empty: placeholder") && t.contains("1.500 µs"),
            "{t}"
        );
    }
}
