//! What the report says about the machine, and what the bench reads about a server
//! process from `/proc`: CPU time, resident memory, open descriptors and their limit.

use std::process::Command;

use serde::{Deserialize, Serialize};

/// The machine a report was measured on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// Host name.
    pub hostname: String,
    /// Kernel name and release, e.g. `Linux 6.18.44`.
    pub kernel: String,
    /// CPU model name from `/proc/cpuinfo`.
    pub cpu_model: String,
    /// CPUs this process may use.
    pub cpus: usize,
    /// Total memory in MiB.
    pub memory_mib: u64,
    /// 1-minute load average when the run started (a noisy machine shows here).
    pub load_average: f64,
    /// `rustc --version`.
    pub rustc: String,
    /// `node --version`, when Node.js is on PATH.
    pub node: Option<String>,
}

impl Machine {
    /// Collects the facts; anything unreadable is left empty rather than failing the run.
    pub fn collect() -> Machine {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        Machine {
            hostname: read("/proc/sys/kernel/hostname").trim().to_string(),
            kernel: format!(
                "{} {}",
                read("/proc/sys/kernel/ostype").trim(),
                read("/proc/sys/kernel/osrelease").trim()
            ),
            cpu_model: cpu_model(&read("/proc/cpuinfo")).unwrap_or_else(|| "unknown".into()),
            cpus: crate::sys::cpus(),
            memory_mib: status_kib(&read("/proc/meminfo"), "MemTotal").unwrap_or(0) / 1024,
            load_average: read("/proc/loadavg")
                .split_whitespace()
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0.0),
            rustc: command_line("rustc", &["--version"]).unwrap_or_else(|| "unknown".into()),
            node: command_line("node", &["--version"]),
        }
    }

    /// One line for the top of the table.
    pub fn summary(&self) -> String {
        format!(
            "{} · {} CPUs · {} MiB · {} · {} · load {:.2}",
            self.cpu_model, self.cpus, self.memory_mib, self.kernel, self.rustc, self.load_average
        )
    }
}

fn command_line(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The first `model name` in `/proc/cpuinfo` text.
pub fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

/// A `Name:   123 kB` field of `/proc/PID/status` or `/proc/meminfo`, in KiB.
pub fn status_kib(text: &str, field: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (name, rest) = l.split_once(':')?;
        if name != field {
            return None;
        }
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// `utime + stime` in clock ticks from the text of `/proc/PID/stat`. The command name
/// (field 2) may contain spaces and parentheses, so fields are counted after the last `)`.
pub fn stat_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After the name: state (3), ppid (4), ... utime is field 14, stime 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Busy ticks (user, nice, system, irq, softirq, steal) of CPU `cpu` from the text of
/// `/proc/stat`.
pub fn stat_cpu_busy_ticks(stat: &str, cpu: usize) -> Option<u64> {
    let name = format!("cpu{cpu}");
    let line = stat
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name.as_str()))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal ...
    Some(
        v.first()? + v.get(1)? + v.get(2)? + v.get(5)? + v.get(6)? + v.get(7).copied().unwrap_or(0),
    )
}

/// How long CPU `cpu` has been busy since boot, in seconds.
pub fn cpu_busy_seconds(cpu: usize) -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    Some(stat_cpu_busy_ticks(&stat, cpu)? as f64 / crate::sys::clock_ticks_per_sec())
}

/// The soft `Max open files` limit from the text of `/proc/PID/limits`.
pub fn limits_nofile_soft(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line["Max open files".len()..].split_whitespace().next()?;
    if soft == "unlimited" {
        Some(u64::MAX)
    } else {
        soft.parse().ok()
    }
}

/// CPU time (user + system, all threads) a process has used, in seconds.
pub fn process_cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(stat_cpu_ticks(&stat)? as f64 / crate::sys::clock_ticks_per_sec())
}

/// A process's resident set size (`VmRSS`), in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    status_kib(
        &std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?,
        "VmRSS",
    )
}

/// How many descriptors a process has open.
pub fn open_fds(pid: u32) -> Option<usize> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
}

/// A process's soft limit on open descriptors.
pub fn fd_limit(pid: u32) -> Option<u64> {
    limits_nofile_soft(&std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_stat_even_with_odd_names() {
        let stat =
            "4242 (we ird) name)) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 37 0 0 20 0 1 0 5 0 0";
        assert_eq!(stat_cpu_ticks(stat), Some(287));
        assert_eq!(stat_cpu_ticks("garbage"), None);
        assert_eq!(stat_cpu_ticks("1 (x) S 1 2"), None);
    }

    #[test]
    fn parses_per_cpu_busy_time() {
        let stat = "cpu  10 0 10 100 0 0 0 0 0 0\ncpu0 5 1 2 50 9 3 4 6 0 0\ncpu1 5 0 8 50 0 0 0 0 0 0\nintr 1\n";
        assert_eq!(stat_cpu_busy_ticks(stat, 0), Some(5 + 1 + 2 + 3 + 4 + 6));
        assert_eq!(stat_cpu_busy_ticks(stat, 1), Some(13));
        assert_eq!(stat_cpu_busy_ticks(stat, 2), None);
        assert!(cpu_busy_seconds(0).is_some());
    }

    #[test]
    fn parses_status_meminfo_limits_and_cpuinfo() {
        let status = "Name:\tpeer\nVmPeak:\t  9000 kB\nVmRSS:\t    3120 kB\nThreads:\t1\n";
        assert_eq!(status_kib(status, "VmRSS"), Some(3120));
        assert_eq!(status_kib(status, "VmSwap"), None);
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \nMax open files            20000                20000                files     \n";
        assert_eq!(limits_nofile_soft(limits), Some(20000));
        assert_eq!(
            limits_nofile_soft("Max open files  unlimited unlimited files"),
            Some(u64::MAX)
        );
        assert_eq!(
            cpu_model("processor\t: 0\nmodel name\t: AMD EPYC\n").as_deref(),
            Some("AMD EPYC")
        );
    }

    #[test]
    fn reads_its_own_process() {
        let pid = std::process::id();
        assert!(rss_kib(pid).unwrap() > 0);
        assert!(open_fds(pid).unwrap() >= 3);
        assert!(fd_limit(pid).unwrap() > 0);
        assert!(process_cpu_seconds(pid).unwrap() >= 0.0);
        let m = Machine::collect();
        assert!(m.cpus >= 1 && !m.kernel.trim().is_empty());
        assert!(m.summary().contains("CPUs"));
    }
}
