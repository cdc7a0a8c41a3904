//! Child processes: [`Command`] starts one, [`Child`] waits for it without blocking the
//! loop, and its pipes ([`ChildStdin`], [`ChildStdout`], [`ChildStderr`]) are async
//! readers and writers. The role `async-process` (`smol::process`) plays for smol, and
//! `child_process` for Node.
//!
//! ```
//! use solo_io::process::Command;
//!
//! # solo_io::block_on(async {
//! // The same command on both families of systems.
//! let mut cmd = if cfg!(windows) {
//!     let mut c = Command::new("cmd");
//!     c.args(["/C", "echo hello"]);
//!     c
//! } else {
//!     let mut c = Command::new("sh");
//!     c.args(["-c", "echo hello"]);
//!     c
//! };
//! let out = cmd.output().await?;
//! assert!(out.status.success());
//! assert_eq!(String::from_utf8_lossy(&out.stdout).trim_end(), "hello");
//! # std::io::Result::Ok(()) }).unwrap();
//! ```
//!
//! # Waiting without a helper thread
//!
//! Each system tells the loop itself that a child exited, so no thread is spent waiting,
//! and `SIGCHLD` stays the application's wherever the system allows:
//!
//! | system | how the exit reaches the loop |
//! |---|---|
//! | Linux, Android | a `pidfd` (`pidfd_open`, Linux 5.3+), readable once the child exits, registered in the reactor like a socket |
//! | macOS, iOS, the BSDs | a kqueue `EVFILT_PROC` filter (`NOTE_EXIT`) on the child's pid, registered in the reactor |
//! | other Unixes, or a kernel without `pidfd_open` (or refusing it) | a `SIGCHLD` listener through solo-io's signal machinery, shared by the thread's children; the application's own `SIGCHLD` handler, if it has one, is still called |
//! | Windows | the process handle, waited for by the system's thread pool (`RegisterWaitForSingleObject`), whose callback wakes the task: that wake reaches the loop through its completion port |
//!
//! # No zombies
//!
//! A [`Child`] dropped before its exit was seen is not forgotten: on Unix the thread's
//! reactor keeps watching it and reaps it as soon as it exits (a child that outlives its
//! `Child` runs on undisturbed), so no zombie is left behind while the thread's loop runs.
//! One left over when its thread ends is reaped at the next spawn on any thread. With
//! [`Command::kill_on_drop`], dropping the `Child` kills the process first. Windows has no
//! zombies: dropping a `Child` closes its handle.
//!
//! # Pipes
//!
//! On Unix the pipes are non-blocking and registered in the reactor, like sockets (a
//! write to a pipe whose reader has gone fails with `BrokenPipe`, since Rust programs
//! ignore `SIGPIPE`). On Windows anonymous pipes cannot be polled, so each pipe runs on
//! the blocking pool ([`Unblock`](crate::Unblock)), one pool thread per operation in
//! flight.

use std::ffi::OsStr;
use std::fmt;
use std::future::Future;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::AsyncRead;

pub use std::process::{ExitStatus, Output, Stdio};

mod pipes;
#[cfg(unix)]
mod reap;
mod sys;

pub use pipes::{ChildStderr, ChildStdin, ChildStdout};

#[cfg(unix)]
#[doc(hidden)]
pub use sys::force_sigchld as __force_sigchld;

/// A builder for a child process, like [`std::process::Command`], whose [`spawn`] gives
/// a [`Child`] that is awaited instead of waited for.
///
/// By default the child inherits this process's standard input, output and error
/// ([`output`](Command::output) captures output and error instead), environment and
/// working directory. System-specific options (`CommandExt` of `std::os::unix::process`
/// or `std::os::windows::process`) are set on [`as_std_mut`](Command::as_std_mut).
///
/// [`spawn`]: Command::spawn
pub struct Command {
    inner: std::process::Command,
    /// Whether each stream was set through this type (else `output` captures it).
    stdin_set: bool,
    stdout_set: bool,
    stderr_set: bool,
    kill_on_drop: bool,
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Command")
            .field("inner", &self.inner)
            .field("kill_on_drop", &self.kill_on_drop)
            .finish()
    }
}

impl From<std::process::Command> for Command {
    /// Wraps a `std` command; its streams count as not set (see
    /// [`output`](Command::output)).
    fn from(inner: std::process::Command) -> Command {
        Command {
            inner,
            stdin_set: false,
            stdout_set: false,
            stderr_set: false,
            kill_on_drop: false,
        }
    }
}

impl Command {
    /// A command that runs `program` (found on `PATH` unless it is a path).
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command::from(std::process::Command::new(program))
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.inner.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.inner.args(args);
        self
    }

    /// Sets an environment variable for the child.
    pub fn env(&mut self, key: impl AsRef<OsStr>, val: impl AsRef<OsStr>) -> &mut Command {
        self.inner.env(key, val);
        self
    }

    /// Sets environment variables for the child.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.inner.envs(vars);
        self
    }

    /// Removes an environment variable from the child's environment.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.inner.env_remove(key);
        self
    }

    /// Starts the child with an empty environment (plus what `env` adds afterwards).
    pub fn env_clear(&mut self) -> &mut Command {
        self.inner.env_clear();
        self
    }

    /// Sets the child's working directory.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.inner.current_dir(dir);
        self
    }

    /// Sets the child's standard input: [`Stdio::piped`] gives [`Child::stdin`].
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.inner.stdin(cfg);
        self.stdin_set = true;
        self
    }

    /// Sets the child's standard output: [`Stdio::piped`] gives [`Child::stdout`].
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.inner.stdout(cfg);
        self.stdout_set = true;
        self
    }

    /// Sets the child's standard error: [`Stdio::piped`] gives [`Child::stderr`].
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.inner.stderr(cfg);
        self.stderr_set = true;
        self
    }

    /// Whether dropping the [`Child`] before its exit was seen kills the process (off by
    /// default: the process runs on, and is reaped in the background when it exits).
    pub fn kill_on_drop(&mut self, kill_on_drop: bool) -> &mut Command {
        self.kill_on_drop = kill_on_drop;
        self
    }

    /// The `std` command, for reading what is set.
    pub fn as_std(&self) -> &std::process::Command {
        &self.inner
    }

    /// The `std` command, for the system-specific options of `std`'s `CommandExt` traits
    /// (user and group, `pre_exec`, process groups, creation flags, ...). Streams set here
    /// count as not set for [`output`](Command::output).
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.inner
    }

    /// Starts the child process.
    ///
    /// # Errors
    ///
    /// The system's error, naming the program (for example `NotFound` for a program that
    /// does not exist). Should watching the new child or registering its pipes fail (out
    /// of descriptors, say), the child is killed and reaped and the error returned.
    pub fn spawn(&mut self) -> io::Result<Child> {
        Child::spawn(&mut self.inner, self.kill_on_drop)
    }

    /// Runs the child to its end and returns its exit status. Its streams are inherited
    /// unless set.
    pub fn status(&mut self) -> impl Future<Output = io::Result<ExitStatus>> + use<> {
        let child = self.spawn();
        async move { child?.status().await }
    }

    /// Runs the child to its end and collects everything it writes: standard output and
    /// error are captured (piped) unless set, standard input is empty ([`Stdio::null`])
    /// unless set.
    pub fn output(&mut self) -> impl Future<Output = io::Result<Output>> + use<> {
        if !self.stdin_set {
            self.inner.stdin(Stdio::null());
        }
        if !self.stdout_set {
            self.inner.stdout(Stdio::piped());
        }
        if !self.stderr_set {
            self.inner.stderr(Stdio::piped());
        }
        let child = self.spawn();
        // Back to the defaults of `spawn` for the streams this call chose.
        if !self.stdin_set {
            self.inner.stdin(Stdio::inherit());
        }
        if !self.stdout_set {
            self.inner.stdout(Stdio::inherit());
        }
        if !self.stderr_set {
            self.inner.stderr(Stdio::inherit());
        }
        async move { child?.output().await }
    }
}

/// A running (or finished) child process, from [`Command::spawn`].
///
/// Await its end with [`status`](Child::status) or [`output`](Child::output). Dropping it
/// before then leaves the process running and reaps it in the background (or, with
/// [`Command::kill_on_drop`], kills it first): see the [module docs](self).
///
/// Like the other sources of solo-io, a `Child` belongs to the thread that spawned it
/// (on Unix its exit is watched by that thread's reactor).
pub struct Child {
    /// The child's standard input, if it was piped.
    pub stdin: Option<ChildStdin>,
    /// The child's standard output, if it was piped.
    pub stdout: Option<ChildStdout>,
    /// The child's standard error, if it was piped.
    pub stderr: Option<ChildStderr>,
    /// `None` only while dropping.
    inner: Option<Inner>,
}

/// The process and what watches it.
struct Inner {
    /// Before `child`: on Windows it borrows the child's handle (fields drop in order).
    watch: sys::Watch,
    child: std::process::Child,
    kill_on_drop: bool,
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("id", &self.inner.as_ref().map(|i| i.child.id()))
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .finish()
    }
}

impl Child {
    fn spawn(cmd: &mut std::process::Command, kill_on_drop: bool) -> io::Result<Child> {
        #[cfg(unix)]
        reap::sweep_strays();
        let mut child = cmd.spawn().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot spawn {:?}: {e}", cmd.get_program()),
            )
        })?;
        let setup = (|| {
            let stdin = child.stdin.take().map(ChildStdin::new).transpose()?;
            let stdout = child.stdout.take().map(ChildStdout::new).transpose()?;
            let stderr = child.stderr.take().map(ChildStderr::new).transpose()?;
            let watch = sys::Watch::new(&child)?;
            io::Result::Ok((stdin, stdout, stderr, watch))
        })();
        match setup {
            Ok((stdin, stdout, stderr, watch)) => Ok(Child {
                stdin,
                stdout,
                stderr,
                inner: Some(Inner {
                    watch,
                    child,
                    kill_on_drop,
                }),
            }),
            Err(e) => {
                // Nothing could wait for it: do not leave it running unwatched.
                let _ = child.kill();
                let _ = child.wait();
                Err(io::Error::new(
                    e.kind(),
                    format!("cannot watch child process {}: {e}", child.id()),
                ))
            }
        }
    }

    fn inner(&mut self) -> &mut Inner {
        self.inner.as_mut().expect("present until dropped")
    }

    /// The system's identifier of the process (its pid).
    pub fn id(&self) -> u32 {
        self.inner
            .as_ref()
            .expect("present until dropped")
            .child
            .id()
    }

    /// Kills the process (`SIGKILL` on Unix, `TerminateProcess` on Windows). A process
    /// that has exited already is not an error. Await [`status`](Child::status) to reap
    /// it (or drop the `Child`: it is then reaped in the background).
    pub fn kill(&mut self) -> io::Result<()> {
        self.inner().child.kill()
    }

    /// The exit status if the process has exited (reaping it), without waiting.
    pub fn try_status(&mut self) -> io::Result<Option<ExitStatus>> {
        let inner = self.inner();
        let id = inner.child.id();
        inner.child.try_wait().map_err(|e| sys::wait_error(id, e))
    }

    /// Waits for the process to exit and returns its status. Standard input, if piped, is
    /// closed first (so a child reading it to its end can finish), as by `std`'s `wait`.
    ///
    /// Awaiting it again gives the same status.
    pub fn status(&mut self) -> impl Future<Output = io::Result<ExitStatus>> + '_ {
        drop(self.stdin.take());
        std::future::poll_fn(|cx| self.poll_status(cx))
    }

    fn poll_status(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        let inner = self.inner();
        let id = inner.child.id();
        inner
            .watch
            .poll_wait(&mut inner.child, cx)
            .map_err(|e| sys::wait_error(id, e))
    }

    /// Waits for the process to exit while collecting its standard output and error (the
    /// pipes that were set up; for those that were not, the fields are empty). Standard
    /// input, if piped, is closed first.
    pub async fn output(mut self) -> io::Result<Output> {
        drop(self.stdin.take());
        let mut out = Collect::new(self.stdout.take());
        let mut err = Collect::new(self.stderr.take());
        let mut status = None;
        std::future::poll_fn(|cx| {
            // Each part is polled until it is done; the first error ends it all.
            let out_done = out.poll(cx)?;
            let err_done = err.poll(cx)?;
            if status.is_none() {
                if let Poll::Ready(s) = self.poll_status(cx) {
                    status = Some(s?);
                }
            }
            if out_done && err_done && status.is_some() {
                Poll::Ready(io::Result::Ok(()))
            } else {
                Poll::Pending
            }
        })
        .await?;
        Ok(Output {
            status: status.expect("checked above"),
            stdout: out.buf,
            stderr: err.buf,
        })
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let Some(mut inner) = self.inner.take() else {
            return;
        };
        if matches!(inner.child.try_wait(), Ok(Some(_))) {
            return; // reaped
        }
        if inner.kill_on_drop {
            let _ = inner.child.kill();
        }
        sys::orphan(inner.child, inner.watch);
    }
}

/// One pipe read to its end by [`Child::output`].
struct Collect<R> {
    pipe: Option<R>,
    buf: Vec<u8>,
}

impl<R: AsyncRead + Unpin> Collect<R> {
    /// Reads this many times at most per poll, then yields (a chatty child must not keep
    /// the loop to itself).
    const READS_PER_POLL: usize = 16;
    const CHUNK: usize = 32 * 1024;

    fn new(pipe: Option<R>) -> Collect<R> {
        Collect {
            pipe,
            buf: Vec::new(),
        }
    }

    /// Reads what is there; `Ok(true)` once the pipe ended (or if there was none).
    fn poll(&mut self, cx: &mut Context<'_>) -> io::Result<bool> {
        let Some(pipe) = &mut self.pipe else {
            return Ok(true);
        };
        for _ in 0..Self::READS_PER_POLL {
            let len = self.buf.len();
            self.buf.resize(len + Self::CHUNK, 0);
            let res = Pin::new(&mut *pipe).poll_read(cx, &mut self.buf[len..]);
            let n = match res {
                Poll::Ready(Ok(n)) => n,
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {
                    self.buf.truncate(len);
                    continue;
                }
                Poll::Ready(Err(e)) => {
                    self.buf.truncate(len);
                    return Err(e);
                }
                Poll::Pending => {
                    self.buf.truncate(len);
                    return Ok(false);
                }
            };
            self.buf.truncate(len + n);
            if n == 0 {
                self.pipe = None;
                return Ok(true);
            }
        }
        // More to read: come back after the others had their turn.
        cx.waker().wake_by_ref();
        Ok(false)
    }
}
