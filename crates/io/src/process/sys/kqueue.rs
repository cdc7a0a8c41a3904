//! macOS, iOS and the BSDs: an `EVFILT_PROC` filter with `NOTE_EXIT` on the child's pid,
//! registered in the reactor through solo-poll's kqueue process source. `SIGCHLD` is
//! left alone.
//!
//! The filter fires once. Should `waitpid` not find the child reapable right after it
//! (the kernel's notice and the zombie need not be one atomic step everywhere), or the
//! kernel refuse the filter because the child has exited already (`ESRCH`, which libuv
//! meets too), `waitpid` is retried on a short timer instead, 1 ms doubling up to
//! 100 ms: never a hang on a notice already spent.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::process::{Child, ExitStatus};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use solo_poll::os::kqueue::PollerKqueueExt;

use crate::Timer;
use crate::reactor::{Direction, Reactor};

pub(crate) struct KqueueWatch {
    pid: u32,
    state: State,
}

enum State {
    /// The filter is registered under `key`.
    Watching { key: usize },
    /// The exit was reported (or the child was gone already): retry `waitpid`.
    Exited {
        retry: Option<Timer>,
        delay: Duration,
    },
}

impl KqueueWatch {
    pub(crate) fn new(pid: u32) -> io::Result<KqueueWatch> {
        let state = match Reactor::with(|r| r.register_with(|p, key| p.add_process(pid, key))) {
            Ok(key) => State::Watching { key },
            Err(e) if e.kind() == io::ErrorKind::NotFound => State::Exited {
                retry: None,
                delay: Duration::ZERO,
            },
            Err(e) => return Err(e),
        };
        Ok(KqueueWatch { pid, state })
    }

    pub(crate) fn poll_wait(
        &mut self,
        child: &mut Child,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<ExitStatus>> {
        loop {
            if let Some(status) = child.try_wait()? {
                return Poll::Ready(Ok(status));
            }
            match &mut self.state {
                State::Watching { key } => {
                    let key = *key;
                    // Confirmed readiness (`readable()`'s): ready only once the filter's
                    // event arrived, whenever that was. A process filter fires once and
                    // has nothing to re-arm, hence the `modify` that does nothing.
                    ready!(Reactor::with(|r| {
                        r.poll_ready_with(key, Direction::Read, cx, true, |_, _, _, _| Ok(()))
                    }))?;
                    self.unwatch();
                    self.state = State::Exited {
                        retry: None,
                        delay: Duration::ZERO,
                    };
                }
                State::Exited { retry, delay } => match retry {
                    Some(timer) => {
                        ready!(Pin::new(timer).poll(cx));
                        *retry = None;
                    }
                    None => {
                        *delay = (*delay * 2).clamp(Duration::from_millis(1), RETRY_MAX);
                        *retry = Some(Timer::after(*delay));
                    }
                },
            }
        }
    }

    /// Takes the filter out of the reactor (and the kqueue, if it has not fired).
    fn unwatch(&mut self) {
        if let State::Watching { key, .. } = self.state {
            let pid = self.pid;
            Reactor::try_with(|r| {
                let _ = r.deregister_with(key, |p| p.delete_process(pid));
            });
        }
    }
}

/// The longest pause between two `waitpid`s after the exit was reported.
const RETRY_MAX: Duration = Duration::from_millis(100);

impl Drop for KqueueWatch {
    fn drop(&mut self) {
        self.unwatch();
    }
}
