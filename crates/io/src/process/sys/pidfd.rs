//! Linux and Android: a pidfd (`pidfd_open`, Linux 5.3+) becomes readable when the
//! process exits; it is registered in the reactor like a socket, and waiting is a read
//! that retries `waitpid(WNOHANG)` until the child is reaped.
//!
//! The kernel makes the pidfd readable only once the child is a zombie, so the `waitpid`
//! that follows the event always finds it. `SIGCHLD` is left alone.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Child, ExitStatus};
use std::task::{Context, Poll};

use crate::Async;
use crate::reactor::Direction;

pub(crate) struct PidfdWatch {
    fd: Async<OwnedFd>,
}

impl PidfdWatch {
    /// A pidfd for process `pid` (a child not reaped yet, so the pid is still its own),
    /// registered in this thread's reactor.
    pub(crate) fn new(pid: u32) -> io::Result<PidfdWatch> {
        let pid = libc::pid_t::try_from(pid)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pid out of range"))?;
        // SAFETY: a plain system call with integer arguments (no flags).
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0 as libc::c_uint) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the kernel returned a new descriptor (close-on-exec) that nothing else
        // owns; `fd` fits an int, as every descriptor does.
        let fd = unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) };
        Ok(PidfdWatch {
            fd: Async::new_nonblocking(fd)?,
        })
    }

    pub(crate) fn poll_wait(
        &mut self,
        child: &mut Child,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<ExitStatus>> {
        self.fd.poll_op(Direction::Read, cx, |_| try_wait(child))
    }
}

/// `child.try_wait()` with "still running" as `WouldBlock`, the shape of an operation the
/// reactor retries when its source is ready.
fn try_wait(child: &mut Child) -> io::Result<ExitStatus> {
    match child.try_wait()? {
        Some(status) => Ok(status),
        None => Err(io::ErrorKind::WouldBlock.into()),
    }
}
