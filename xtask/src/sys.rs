//! Thin safe wrappers over the Linux process calls the xtask needs: descriptor limits,
//! CPU affinity, child-process hygiene, signals, Ctrl-C, CPU time and waiting on pipes.

use std::io;
use std::os::fd::RawFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The error text every layer returns once Ctrl-C (or SIGTERM) was seen; `main` turns it
/// into exit status 130.
pub const INTERRUPTED: &str = "interrupted";

static INTERRUPT: AtomicBool = AtomicBool::new(false);

/// Turns the `-1`-and-`errno` convention of a system call into an `io::Result`: the xtask's
/// one copy (the bench's peer servers have theirs in `solo_bench_peers::cvt`; the xtask runs
/// them as programs and does not link them).
pub fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// [`cvt`] for the calls that return a size (`read`, `write`, `send`, ...).
pub fn cvt_size(r: libc::ssize_t) -> io::Result<usize> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}

/// Raises the soft limit on open descriptors to the hard limit (children inherit it);
/// returns the new soft limit. solo's, the workspace's one copy.
pub fn raise_fd_limit() -> io::Result<u64> {
    solo::raise_fd_limit()
}

/// Pins the calling thread to one CPU (solo's `pin_to_core`).
pub fn pin_to_cpu(cpu: usize) -> io::Result<()> {
    solo::pin_to_core(cpu)
}

/// `sched_setaffinity` for the forked child of [`harden_child`], before exec: a copy of what
/// `solo::pin_to_core` does that must stay, because only async-signal-safe calls may run
/// there, and `solo::pin_to_core` allocates its error message.
fn set_affinity(cpu: usize) -> io::Result<()> {
    // SAFETY: cpu_set_t is plain data for which all-zero bytes are the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "CPU index out of range",
        ));
    }
    // SAFETY: `cpu` was checked against CPU_SETSIZE, so the bit is inside `set`.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` is a valid cpu_set_t and its size is passed with it; pid 0 is "this
    // thread".
    cvt(unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) })?;
    Ok(())
}

/// Gives the calling thread real-time scheduling (`SCHED_FIFO`, a low priority): it runs
/// as soon as it is woken, ahead of ordinary processes on its CPU. Needs the privilege
/// (root or `CAP_SYS_NICE`); the error says when it is missing.
pub fn set_realtime() -> io::Result<()> {
    let param = libc::sched_param { sched_priority: 10 };
    // SAFETY: `param` is a valid sched_param for the call; pid 0 is "this thread".
    cvt(unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) })?;
    Ok(())
}

/// The CPU the calling thread is running on right now.
pub fn current_cpu() -> Option<usize> {
    // SAFETY: sched_getcpu has no preconditions.
    let cpu = unsafe { libc::sched_getcpu() };
    usize::try_from(cpu).ok()
}

/// Number of CPUs this process may run on.
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Prepares a command so that the child cannot outlive us: it gets its own process group
/// (a Ctrl-C at the terminal reaches only the xtask, which then stops its children in
/// order), it is killed by the kernel if the xtask dies (`PR_SET_PDEATHSIG`), and it is
/// pinned to `cpu` when given (ignored if the machine has no such CPU).
pub fn harden_child(cmd: &mut Command, cpu: Option<usize>) {
    // SAFETY: getpid(2) has no preconditions.
    let parent = unsafe { libc::getpid() };
    let cpu = cpu.filter(|&c| c < cpus());
    // SAFETY: the closure runs in the forked child before exec and calls only
    // async-signal-safe system calls (setpgid, prctl, getppid, sched_setaffinity); it
    // allocates nothing and takes no locks.
    unsafe {
        cmd.pre_exec(move || {
            cvt(libc::setpgid(0, 0))?;
            cvt(libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0))?;
            if libc::getppid() != parent {
                // The xtask died between fork and prctl: do not run unsupervised.
                libc::_exit(1);
            }
            if let Some(cpu) = cpu {
                set_affinity(cpu)?;
            }
            Ok(())
        });
    }
}

/// Sends `signal` to the process `pid`.
///
/// Only for children that have not been waited for: until then their pid cannot be
/// reused, so the signal reaches the process meant.
pub fn signal(pid: u32, signal: libc::c_int) -> io::Result<()> {
    let pid = libc::pid_t::try_from(pid)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pid out of range"))?;
    // SAFETY: kill(2) takes no pointers; a positive pid names one process.
    cvt(unsafe { libc::kill(pid, signal) })?;
    Ok(())
}

/// Sends `signal` to every process of the process group `pgid` (a child started with
/// [`harden_child`] leads a group of its own, whose id is its pid). `Ok(false)` if the
/// group has no process left.
pub fn signal_group(pgid: u32, signal: libc::c_int) -> io::Result<bool> {
    let pgid = libc::pid_t::try_from(pgid)
        .ok()
        .filter(|&p| p > 1)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "bad process group"))?;
    // SAFETY: killpg(3) takes no pointers; `pgid` > 1 names one process group.
    match cvt(unsafe { libc::killpg(pgid, signal) }) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Runs `cmd` to its end as a supervised child: in a process group of its own, killed if
/// the xtask dies ([`harden_child`]). On Ctrl-C the whole group gets `SIGTERM` (so a
/// script can run its cleanup traps), then `SIGKILL` after `grace`, and is reaped; the
/// result is then `Err(INTERRUPTED)`. After a normal exit, anything the child left behind
/// in its group is stopped the same way.
pub fn run_supervised(cmd: &mut Command, grace: Duration) -> Result<ExitStatus, String> {
    harden_child(cmd, None);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("starting {:?}: {e}", cmd.get_program()))?;
    let pgid = child.id();
    let stop_group = |child: &mut std::process::Child| {
        let _ = signal_group(pgid, libc::SIGTERM);
        let deadline = Instant::now() + grace;
        // The leader first (a script waits for its children, then runs its traps) ...
        while Instant::now() < deadline {
            if !matches!(child.try_wait(), Ok(None)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if matches!(child.try_wait(), Ok(None)) {
            let _ = signal_group(pgid, libc::SIGKILL);
        }
        let _ = child.wait();
    };
    loop {
        if interrupted() {
            stop_group(&mut child);
            // ... then whatever is left of the group.
            let _ = signal_group(pgid, libc::SIGKILL);
            return Err(INTERRUPTED.to_string());
        }
        match child.try_wait() {
            Ok(Some(status)) => {
                // Stragglers: the group outlives its leader only while members remain.
                if let Ok(true) = signal_group(pgid, libc::SIGTERM) {
                    std::thread::sleep(Duration::from_millis(200));
                    let _ = signal_group(pgid, libc::SIGKILL);
                }
                return Ok(status);
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => {
                stop_group(&mut child);
                return Err(format!("waiting for {:?}: {e}", cmd.get_program()));
            }
        }
    }
}

extern "C" fn on_interrupt(_: libc::c_int) {
    INTERRUPT.store(true, Ordering::SeqCst);
}

/// Installs SIGINT and SIGTERM handlers that only raise a flag ([`interrupted`]); the
/// bench checks it between steps and while waiting, then stops its children and exits.
pub fn install_interrupt_handler() -> io::Result<()> {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: sigaction is plain data; all-zero bytes are a valid starting point.
        let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
        action.sa_sigaction = on_interrupt as extern "C" fn(libc::c_int) as libc::sighandler_t;
        action.sa_flags = libc::SA_RESTART;
        // SAFETY: `action.sa_mask` is a valid sigset_t to initialise.
        unsafe { libc::sigemptyset(&mut action.sa_mask) };
        // SAFETY: `action` is fully initialised and the handler only stores to an atomic,
        // which is async-signal-safe.
        cvt(unsafe { libc::sigaction(sig, &action, std::ptr::null_mut()) })?;
    }
    Ok(())
}

/// Whether Ctrl-C or SIGTERM has been received.
pub fn interrupted() -> bool {
    INTERRUPT.load(Ordering::SeqCst)
}

/// Returns `Err(INTERRUPTED)` once Ctrl-C was seen.
pub fn check_interrupt() -> Result<(), String> {
    if interrupted() {
        Err(INTERRUPTED.to_string())
    } else {
        Ok(())
    }
}

/// Clock ticks per second, the unit of `utime`/`stime` in `/proc/PID/stat`.
pub fn clock_ticks_per_sec() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// User plus system CPU time of this process so far.
pub fn own_cpu_time() -> Duration {
    // SAFETY: rusage is plain data for which all-zero bytes are valid.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid rusage for getrusage(2) to fill.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Waits until one of `fds` is readable (or hung up), at most `timeout`; returns which
/// are. Returns early with all `false` when a signal interrupts the wait.
pub fn wait_readable(fds: &[RawFd], timeout: Duration) -> io::Result<Vec<bool>> {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let ms = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
    // SAFETY: `pfds` is a live array of `pfds.len()` pollfd structures.
    let n = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) };
    if n < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            return Ok(vec![false; fds.len()]);
        }
        return Err(e);
    }
    Ok(pfds
        .iter()
        .map(|p| p.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fd_limit_is_raised_to_the_hard_limit() {
        let soft = raise_fd_limit().unwrap();
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `lim` is a valid rlimit for getrlimit(2) to fill.
        cvt(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }).unwrap();
        assert_eq!((soft, lim.rlim_cur), (lim.rlim_max, lim.rlim_max));
    }

    #[test]
    fn knows_which_cpu_it_runs_on() {
        assert!(current_cpu().unwrap() < 1024);
    }

    #[test]
    fn cpu_time_and_ticks_are_sane() {
        let mut x = 0u64;
        for i in 0..1_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert!(x != 1);
        assert!(clock_ticks_per_sec() >= 1.0);
        assert!(own_cpu_time() > Duration::ZERO);
    }

    #[test]
    fn hardened_child_runs_in_its_own_group_on_its_cpu() {
        let mut cmd = Command::new("sleep");
        cmd.arg("30");
        harden_child(&mut cmd, Some(0));
        let mut child = cmd.spawn().unwrap();
        let pid = child.id();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        // Field 5 (after the parenthesised name) is the process group.
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        let pgrp: u32 = after.split(' ').nth(2).unwrap().parse().unwrap();
        assert_eq!(pgrp, pid);
        let cpus = status
            .lines()
            .find(|l| l.starts_with("Cpus_allowed_list:"))
            .unwrap();
        assert_eq!(cpus.split_whitespace().nth(1), Some("0"));
    }

    #[test]
    fn supervised_children_run_to_their_end_and_leave_nothing_behind() {
        let dir = std::env::temp_dir().join(format!("xtask-sup-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pidfile = dir.join("straggler.pid");
        // The script leaves a sleeping child behind in its process group and exits 3.
        let script = format!("sleep 60 & echo $! > {}; exit 3", pidfile.to_str().unwrap());
        let status = run_supervised(
            Command::new("sh").args(["-c", &script]),
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(status.code(), Some(3));
        let pid: u32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // The straggler was signalled; it is a zombie of init or gone, never sleeping.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| s.rsplit(") ").next().map(|r| r.chars().next()));
            if matches!(state, None | Some(Some('Z')) | Some(Some('X'))) {
                break;
            }
            assert!(Instant::now() < deadline, "the straggler {pid} still runs");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::fs::remove_dir_all(&dir).unwrap();
        let err = run_supervised(&mut Command::new("/nonexistent/x"), Duration::ZERO);
        assert!(err.unwrap_err().contains("/nonexistent/x"));
    }

    #[test]
    fn signals_reach_a_child() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        signal(child.id(), libc::SIGTERM).unwrap();
        let status = child.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGTERM));
        assert!(signal_group(1, libc::SIGTERM).is_err());
    }

    #[test]
    fn wait_readable_sees_a_closed_pipe() {
        let mut child = Command::new("true")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(child.stdout.as_ref().unwrap());
        let ready = wait_readable(&[fd], Duration::from_secs(10)).unwrap();
        assert_eq!(ready, vec![true]);
        child.wait().unwrap();
    }
}
