//! Child processes (issue 15): pipes both ways, exit codes and signals, kill,
//! kill-on-drop, a thousand children and no zombie, children that outlive their `Child`
//! or close their output early. Unix tests use `sh -c`, Windows tests `cmd /c` (they run
//! under Wine in CI).

mod common;

use std::io;
use std::time::{Duration, Instant};

use common::{GUARD, block_on};
use solo_io::process::{Command, Stdio};
use solo_io::{Timer, io_timeout};
use solo_lite::io::{AsyncReadExt, AsyncWriteExt};

/// A shell command: `sh -c script` on Unix, `cmd /C script` on Windows.
fn shell(unix: &str, windows: &str) -> Command {
    if cfg!(windows) {
        let mut c = Command::new("cmd");
        c.args(["/C", windows]);
        c
    } else {
        let mut c = Command::new("sh");
        c.args(["-c", unix]);
        c
    }
}

/// Output as text with Windows' line ends made Unix ones.
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).replace("\r\n", "\n")
}

#[test]
fn output_captures_stdout_and_stderr_and_the_exit_code() {
    block_on(async {
        let out = shell(
            "echo out; echo err >&2; exit 3",
            "echo out& echo err 1>&2& exit 3",
        )
        .output()
        .await?;
        assert_eq!(out.status.code(), Some(3));
        assert!(!out.status.success());
        assert_eq!(text(&out.stdout).trim_end(), "out");
        assert_eq!(text(&out.stderr).trim_end(), "err");

        let ok = shell("exit 0", "exit 0").status().await?;
        assert!(ok.success());
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn spawning_a_missing_program_names_it() {
    block_on(async {
        let err = Command::new("solo-no-such-program").spawn().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains("solo-no-such-program"), "{err}");
        let err = Command::new("solo-no-such-program")
            .output()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    });
}

#[test]
fn environment_arguments_and_directory_reach_the_child() {
    block_on(async {
        let dir = std::env::temp_dir();
        let mut cmd = shell(
            "echo \"$SOLO_A|$SOLO_B|$1\"; pwd",
            "echo %SOLO_A%^|%SOLO_B%& cd",
        );
        if cfg!(unix) {
            cmd.arg("sh").arg("argument");
        }
        cmd.env("SOLO_A", "a")
            .envs([("SOLO_B", "b"), ("SOLO_GONE", "x")])
            .env_remove("SOLO_GONE")
            .current_dir(&dir);
        let out = cmd.output().await?;
        let printed = text(&out.stdout);
        let mut lines = printed.lines();
        let first = lines.next().unwrap_or_default();
        if cfg!(unix) {
            assert_eq!(first, "a|b|argument");
        } else {
            assert_eq!(first, "a|b");
        }
        let pwd = std::fs::canonicalize(lines.next().unwrap_or_default().trim())?;
        assert_eq!(pwd, std::fs::canonicalize(&dir)?);

        // env_clear: nothing but what is added afterwards.
        let mut cmd = if cfg!(windows) {
            shell("", "echo [%SOLO_A%]")
        } else {
            let mut c = Command::new("/bin/sh");
            c.args(["-c", "echo \"[$SOLO_A][$HOME]\""]);
            c
        };
        if cfg!(windows) {
            // cmd needs SystemRoot to start at all.
            let root = std::env::var_os("SystemRoot").unwrap_or_default();
            cmd.env_clear().env("SystemRoot", root);
        } else {
            cmd.env_clear();
        }
        let out = cmd.output().await?;
        let seen = text(&out.stdout);
        if cfg!(windows) {
            assert_eq!(seen.trim_end(), "[%SOLO_A%]");
        } else {
            assert_eq!(seen.trim_end(), "[][]");
        }
        // `as_std` shows what was set.
        let mut cmd = Command::new("prog");
        cmd.arg("x").kill_on_drop(true);
        assert_eq!(cmd.as_std().get_program(), "prog");
        assert_eq!(cmd.as_std().get_args().collect::<Vec<_>>(), ["x"]);
        assert!(format!("{cmd:?}").contains("kill_on_drop: true"));
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn piped_stdin_stdout_and_stderr_carry_bytes_both_ways() {
    block_on(async {
        // The child reads every line we send and echoes it, upper-cased on stderr (on
        // Windows, `more` echoes its input once it has all of it, then a word goes to
        // stderr).
        let mut child = shell(
            "while read line; do echo \"got $line\"; echo \"$line\" | tr a-z A-Z >&2; done",
            "more & echo DONE 1>&2",
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();

        // A conversation on Unix: one line, then its answer, then the next.
        let mut got = Vec::new();
        for word in ["alpha", "beta"] {
            stdin.write_all(format!("{word}\n").as_bytes()).await?;
            stdin.flush().await?;
            if cfg!(windows) {
                continue;
            }
            let expect = format!("got {word}");
            while !text(&got).contains(&expect) {
                let mut buf = [0u8; 64];
                let n = io_timeout(GUARD, stdout.read(&mut buf)).await?;
                assert!(n > 0, "stdout ended early: {:?}", text(&got));
                got.extend_from_slice(&buf[..n]);
            }
        }
        // Closing stdin ends the child's loop: it exits, and both pipes end.
        stdin.close().await?;
        let err = stdin.write_all(b"late").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        io_timeout(GUARD, stdout.read_to_end(&mut got)).await?;
        let mut errs = Vec::new();
        io_timeout(GUARD, stderr.read_to_end(&mut errs)).await?;
        if cfg!(unix) {
            assert_eq!(text(&got), "got alpha\ngot beta\n");
            assert_eq!(text(&errs), "ALPHA\nBETA\n");
        } else {
            assert_eq!(text(&got), "alpha\nbeta\n");
            assert_eq!(text(&errs).trim_end(), "DONE");
        }
        let status = io_timeout(GUARD, child.status()).await?;
        assert!(status.success(), "{status:?}");
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn output_collects_large_outputs_of_both_streams_without_deadlock() {
    block_on(async {
        // Far more than a pipe holds, on both streams, so neither may wait for the other.
        let out = shell(
            "head -c 300000 /dev/zero; head -c 200000 /dev/zero >&2; head -c 300000 /dev/zero",
            "(for /L %i in (1,1,2000) do @echo 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789) & \
             (for /L %i in (1,1,3000) do @echo 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789 1>&2) & \
             (for /L %i in (1,1,1000) do @echo 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789)",
        )
        .output()
        .await?;
        assert!(out.status.success());
        if cfg!(unix) {
            assert_eq!(out.stdout.len(), 600_000);
            assert_eq!(out.stderr.len(), 200_000);
        } else {
            assert_eq!(text(&out.stdout).lines().count(), 3000);
            assert_eq!(text(&out.stderr).lines().count(), 3000);
        }
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn kill_ends_a_running_child() {
    block_on(async {
        let mut child = long_runner().spawn()?;
        assert_eq!(child.try_status()?, None);
        let start = Instant::now();
        child.kill()?;
        let status = io_timeout(GUARD, child.status()).await?;
        assert!(!status.success());
        assert!(start.elapsed() < Duration::from_secs(30));
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(status.signal(), Some(libc::SIGKILL));
        }
        // Awaiting again, killing again: the same status, no error.
        assert_eq!(child.status().await?, status);
        assert_eq!(child.try_status()?, Some(status));
        child.kill()?;
        io::Result::Ok(())
    })
    .unwrap();
}

/// A child that runs for a minute unless killed, with its stdout piped (it holds the
/// pipe until it dies, so end-of-file on it means it died).
fn long_runner() -> Command {
    let mut cmd = if cfg!(windows) {
        // Reads its (piped, never written) standard input for ever.
        let mut c = Command::new("cmd");
        c.args(["/C", "more"]).stdin(Stdio::piped());
        c
    } else {
        let mut c = Command::new("sleep");
        c.arg("60");
        c
    };
    cmd.stdout(Stdio::piped());
    cmd
}

#[test]
fn kill_on_drop_kills_the_child_when_its_handle_goes() {
    block_on(async {
        let mut child = long_runner().kill_on_drop(true).spawn()?;
        let mut stdout = child.stdout.take().unwrap();
        let start = Instant::now();
        drop(child);
        // The pipe ends once the process is gone.
        let mut rest = Vec::new();
        io_timeout(GUARD, stdout.read_to_end(&mut rest)).await?;
        assert!(start.elapsed() < Duration::from_secs(30));

        // Without it, the child runs on after the handle is dropped.
        let mut child = long_runner().spawn()?;
        let mut stdout = child.stdout.take().unwrap();
        let mut stdin = child.stdin.take();
        let id = child.id();
        drop(child);
        let mut buf = [0u8; 1];
        let still = io_timeout(Duration::from_millis(300), stdout.read(&mut buf)).await;
        assert_eq!(still.unwrap_err().kind(), io::ErrorKind::TimedOut);
        kill(id);
        if let Some(stdin) = &mut stdin {
            let _ = stdin.close().await;
        }
        io_timeout(GUARD, stdout.read_to_end(&mut Vec::new())).await?;
        io::Result::Ok(())
    })
    .unwrap();
}

/// Kills process `id` (not through a `Child`).
fn kill(id: u32) {
    #[cfg(unix)]
    {
        // SAFETY: sends SIGKILL to a child process of this test.
        let ret = unsafe { libc::kill(id as libc::pid_t, libc::SIGKILL) };
        assert_eq!(ret, 0, "kill: {}", io::Error::last_os_error());
    }
    #[cfg(windows)]
    {
        let status = std::process::Command::new("taskkill")
            .args(["/F", "/PID", &id.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "taskkill: {status:?}");
    }
}

#[test]
fn a_child_that_closes_stdout_early_gives_end_of_file_before_it_exits() {
    block_on(async {
        let mut child = shell(
            "echo partial; exec 1>&-; sleep 0.3; exit 4",
            "echo partial& exit 4",
        )
        .stdout(Stdio::piped())
        .spawn()?;
        let mut stdout = child.stdout.take().unwrap();
        let mut got = Vec::new();
        io_timeout(GUARD, stdout.read_to_end(&mut got)).await?;
        assert_eq!(text(&got).trim_end(), "partial");
        if cfg!(unix) {
            // End-of-file came while it still ran.
            assert_eq!(child.try_status()?, None);
        }
        let status = io_timeout(GUARD, child.status()).await?;
        assert_eq!(status.code(), Some(4));
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn status_closes_stdin_so_a_reader_can_finish() {
    block_on(async {
        let mut child = shell("cat >/dev/null", "more >NUL")
            .stdin(Stdio::piped())
            .spawn()?;
        child
            .stdin
            .as_mut()
            .unwrap()
            .write_all(b"some input\n")
            .await?;
        let status = io_timeout(GUARD, child.status()).await?;
        assert!(status.success());
        assert!(child.stdin.is_none());
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn a_pipe_becomes_the_next_childs_stdin() {
    block_on(async {
        let mut first = shell("echo piped along", "echo piped along")
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = first.stdout.take().unwrap().into_stdio().await?;
        let out = shell("tr a-z A-Z", "more").stdin(stdout).output().await?;
        let expect = if cfg!(windows) {
            "piped along"
        } else {
            "PIPED ALONG"
        };
        assert_eq!(text(&out.stdout).trim_end(), expect);
        assert!(io_timeout(GUARD, first.status()).await?.success());
        io::Result::Ok(())
    })
    .unwrap();
}

#[cfg(unix)]
mod unix {
    use std::collections::HashSet;
    use std::io;
    use std::os::unix::process::ExitStatusExt;
    use std::time::{Duration, Instant};

    use solo_executor::LocalExecutor;
    use solo_io::process::{Command, Stdio};
    use solo_io::{Timer, io_timeout};
    use solo_lite::io::AsyncWriteExt;

    use super::common::{GUARD, HANG_GUARD, block_on};
    use super::shell;

    #[test]
    fn a_signal_shows_in_the_status() {
        block_on(async {
            let status = shell("kill -TERM $$", "").status().await?;
            assert_eq!(status.signal(), Some(libc::SIGTERM));
            assert_eq!(status.code(), None);
            io::Result::Ok(())
        })
        .unwrap();
    }

    #[test]
    fn a_write_to_a_child_that_closed_stdin_is_broken_pipe() {
        block_on(async {
            let mut child = shell("exec 0<&-; sleep 2", "")
                .stdin(Stdio::piped())
                .kill_on_drop(true)
                .spawn()?;
            let stdin = child.stdin.as_mut().unwrap();
            let chunk = vec![0u8; 64 * 1024];
            let start = Instant::now();
            let err = loop {
                match io_timeout(GUARD, stdin.write(&chunk)).await {
                    Ok(_) => assert!(start.elapsed() < GUARD, "writes never failed"),
                    Err(e) => break e,
                }
            };
            assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");
            io::Result::Ok(())
        })
        .unwrap();
    }

    /// Whether process `pid` is a zombie child of this process (Linux: from `/proc`).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn is_our_zombie(pid: u32) -> bool {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            return false; // gone: reaped
        };
        // "pid (comm) S ppid ...": the command may hold spaces and parentheses.
        let rest = &stat[stat.rfind(')').map_or(0, |i| i + 1)..];
        let mut fields = rest.split_whitespace();
        let state = fields.next().unwrap_or("");
        let ppid: u32 = fields.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        state == "Z" && ppid == std::process::id()
    }

    /// Whether `pid` names no process any more (so it was reaped, not left a zombie).
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn is_our_zombie(pid: u32) -> bool {
        // SAFETY: signal 0 only checks that the process exists.
        unsafe { libc::kill(pid as libc::pid_t, 0) == 0 }
    }

    /// Runs the loop (timers) until none of `pids` is a zombie; the zombies left then.
    async fn zombies_after_loop_runs(pids: &[u32]) -> Vec<u32> {
        let start = Instant::now();
        loop {
            let zombies: Vec<u32> = pids.iter().copied().filter(|p| is_our_zombie(*p)).collect();
            if zombies.is_empty() || start.elapsed() > GUARD {
                return zombies;
            }
            Timer::after(Duration::from_millis(10)).await;
        }
    }

    #[test]
    fn a_thousand_short_children_at_once_leave_no_zombie() {
        const N: usize = 1000;
        let ex = LocalExecutor::new();
        block_on(ex.run(async {
            // Half are awaited by tasks, all at once; half are dropped as soon as they are
            // spawned, still running (they sleep a little first), and reaped by the loop.
            let mut pids = Vec::with_capacity(N);
            let mut tasks = Vec::new();
            for i in 0..N {
                let mut child = Command::new("sh")
                    .args(["-c", &format!("sleep 0.05; exit {}", i % 7)])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()?;
                pids.push(child.id());
                if i % 2 == 0 {
                    tasks.push(ex.spawn(async move { (i, child.status().await) }));
                } else {
                    drop(child);
                }
            }
            assert_eq!(pids.iter().collect::<HashSet<_>>().len(), N);
            for task in tasks {
                let (i, status) = io_timeout(HANG_GUARD, async { Ok(task.await) }).await?;
                assert_eq!(status?.code(), Some((i % 7) as i32));
            }
            let left = zombies_after_loop_runs(&pids).await;
            assert!(left.is_empty(), "zombies left: {left:?}");
            io::Result::Ok(())
        }))
        .unwrap();
    }

    #[test]
    fn a_child_that_outlives_its_child_runs_on_and_is_reaped() {
        let dir = super::common::TempDir::new("outlive");
        let mark = dir.join("done");
        block_on(async {
            let child = Command::new("sh")
                .args(["-c", "sleep 0.3; echo ran > \"$1\"", "sh"])
                .arg(&mark)
                .spawn()?;
            let pid = child.id();
            drop(child);
            let start = Instant::now();
            // The shell creates the file before `echo` writes it: wait for the contents,
            // not the file (a read between the two found it empty).
            while std::fs::read_to_string(&mark).ok().as_deref() != Some("ran\n") {
                assert!(start.elapsed() < GUARD, "the child did not run on");
                Timer::after(Duration::from_millis(10)).await;
            }
            let left = zombies_after_loop_runs(&[pid]).await;
            assert!(left.is_empty(), "zombie left: {left:?}");
            io::Result::Ok(())
        })
        .unwrap();
    }

    #[test]
    fn a_child_dropped_outside_any_loop_is_reaped_when_the_loop_runs_again() {
        // Spawned and dropped with no loop running: the reaping waits for the next one.
        let child = block_on(async { Command::new("true").spawn() }).unwrap();
        let pid = child.id();
        drop(child);
        std::thread::sleep(Duration::from_millis(100));
        let left = block_on(zombies_after_loop_runs(&[pid]));
        assert!(left.is_empty(), "zombie left: {left:?}");
    }

    #[test]
    fn stdin_write_to_a_fast_child_and_close() {
        // `head -c` exits after 10 bytes; what we write afterwards may fail, never hang.
        block_on(async {
            let mut child = shell("head -c 10 >/dev/null", "")
                .stdin(Stdio::piped())
                .spawn()?;
            let mut stdin = child.stdin.take().unwrap();
            let _ = stdin.write_all(&[b'x'; 10]).await;
            let _ = stdin.close().await;
            let status = io_timeout(GUARD, child.status()).await?;
            assert!(status.success());
            io::Result::Ok(())
        })
        .unwrap();
    }
}

#[test]
fn statuses_of_many_children_awaited_one_by_one() {
    // A smaller batch on every system (Windows included): all run, all are awaited.
    block_on(async {
        let mut children = Vec::new();
        for i in 0..20 {
            let code = i % 5;
            children.push((
                code,
                shell(&format!("exit {code}"), &format!("exit {code}")).spawn()?,
            ));
        }
        for (code, mut child) in children {
            let status = io_timeout(GUARD, child.status()).await?;
            assert_eq!(status.code(), Some(code));
        }
        Timer::after(Duration::from_millis(1)).await;
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn stdin_and_stderr_pipes_become_other_childrens_streams() {
    block_on(async {
        // A child's stdin pipe as another child's stdout: the second writes to the first.
        let mut reader = shell("cat", "more")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let into_reader = reader.stdin.take().unwrap().into_stdio().await?;
        let writer = shell("echo into the pipe", "echo into the pipe")
            .stdout(into_reader)
            .status()
            .await?;
        assert!(writer.success());
        let out = io_timeout(GUARD, reader.output()).await?;
        assert_eq!(text(&out.stdout).trim_end(), "into the pipe");

        // A child's stderr pipe as another child's stdin.
        let mut noisy = shell("echo err >&2", "echo err 1>&2")
            .stderr(Stdio::piped())
            .spawn()?;
        let stderr = noisy.stderr.take().unwrap().into_stdio().await?;
        let out = shell("tr a-z A-Z", "more").stdin(stderr).output().await?;
        let expect = if cfg!(windows) { "err" } else { "ERR" };
        assert_eq!(text(&out.stdout).trim_end(), expect);
        assert!(io_timeout(GUARD, noisy.status()).await?.success());

        // A closed stdin cannot be handed on.
        let mut child = shell("cat >/dev/null", "more >NUL")
            .stdin(Stdio::piped())
            .spawn()?;
        let mut stdin = child.stdin.take().unwrap();
        stdin.close().await?;
        let err = stdin.into_stdio().await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        assert!(io_timeout(GUARD, child.status()).await?.success());
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn a_std_command_and_its_system_options_carry_over() {
    block_on(async {
        // From a `std` command: what was set on it stays.
        let mut std_cmd = std::process::Command::new(if cfg!(windows) { "cmd" } else { "sh" });
        std_cmd.args(if cfg!(windows) {
            ["/C", "echo from std"]
        } else {
            ["-c", "echo from std"]
        });
        let out = Command::from(std_cmd).output().await?;
        assert_eq!(text(&out.stdout).trim_end(), "from std");

        // The system-specific options of std's CommandExt, through `as_std_mut`.
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            let mut cmd = Command::new("sh");
            cmd.args(["-c", "echo $0"]);
            cmd.as_std_mut().arg0("renamed");
            let out = cmd.output().await?;
            assert_eq!(text(&out.stdout).trim_end(), "renamed");
        }
        #[cfg(windows)]
        {
            use std::os::windows::process::CommandExt;
            const CREATE_NO_WINDOW: u32 = 0x0800_0000;
            let mut cmd = shell("", "exit 6");
            cmd.as_std_mut().creation_flags(CREATE_NO_WINDOW);
            assert_eq!(cmd.status().await?.code(), Some(6));
        }
        io::Result::Ok(())
    })
    .unwrap();
}

#[cfg(unix)]
#[test]
fn read_pipes_expose_their_descriptors() {
    use std::os::fd::{AsFd, AsRawFd};
    block_on(async {
        let mut child = shell("echo hi; echo there >&2", "")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        assert!(stdout.as_raw_fd() >= 0 && stderr.as_raw_fd() >= 0);
        assert_eq!(stdout.as_fd().as_raw_fd(), stdout.as_raw_fd());
        assert_ne!(stdout.as_raw_fd(), stderr.as_raw_fd());
        assert!(format!("{child:?}").contains("Child"));
        assert!(io_timeout(GUARD, child.status()).await?.success());
        io::Result::Ok(())
    })
    .unwrap();
}
