//! What only some backends can watch, beside descriptors.
//!
//! - `kqueue` (the kqueue backend: macOS, iOS, the BSDs, when not built with
//!   `--cfg solo_poll_force_poll`): the exit of a process, the way `solo-io` reaps
//!   child processes there without a signal handler.
//!
//! On other backends this module is empty: Linux has `pidfd`s, descriptors like any
//! other, and Windows process handles are waited for with the OS's thread-pool waits.

/// kqueue's process filter (`EVFILT_PROC` with `NOTE_EXIT`).
///
/// # Examples
///
/// ```no_run
/// use solo_poll::os::kqueue::PollerKqueueExt;
/// use solo_poll::{Events, Poller};
///
/// # fn main() -> std::io::Result<()> {
/// let poller = Poller::new()?;
/// let mut child = std::process::Command::new("true").spawn()?;
/// poller.add_process(child.id(), 7)?;
/// let mut events = Events::new();
/// poller.wait(&mut events, None)?;
/// assert!(events.iter().any(|e| e.key == 7 && e.readable));
/// child.wait()?; // reap it: the event does not
/// # Ok(()) }
/// ```
#[cfg(all(not(solo_poll_force_poll), has_kqueue))]
pub mod kqueue {
    use std::io;

    use crate::Poller;

    /// Process sources for a [`Poller`] with the kqueue backend. Sealed: implemented for
    /// `Poller` only.
    pub trait PollerKqueueExt: private::Sealed {
        /// Watches for the exit of process `pid`: the next `wait` after it exits reports
        /// one event under `key`, with `readable` and `hangup` set. The registration ends
        /// with that event (there is nothing to re-arm); registering the same `pid` again
        /// replaces the key.
        ///
        /// The event does not reap the process: the parent still calls `waitpid` (for a
        /// `std::process::Child`, `try_wait`).
        ///
        /// # Errors
        ///
        /// - `InvalidInput` if `key` is `usize::MAX` (reserved for [`Poller::notify`]);
        /// - `NotFound` if there is no such process to watch: it has exited already (a
        ///   child that exited is a zombie until reaped, and some kernels refuse to
        ///   watch zombies; try to reap it instead) or never existed;
        /// - otherwise the OS's error.
        fn add_process(&self, pid: u32, key: usize) -> io::Result<()>;

        /// Stops watching process `pid`. A registration that already reported the exit,
        /// or a process that is gone, is not an error.
        fn delete_process(&self, pid: u32) -> io::Result<()>;
    }

    impl PollerKqueueExt for Poller {
        fn add_process(&self, pid: u32, key: usize) -> io::Result<()> {
            self.check(key, crate::Mode::Oneshot)?;
            self.own()?.add_process(pid, key)
        }

        fn delete_process(&self, pid: u32) -> io::Result<()> {
            self.own()?.delete_process(pid)
        }
    }

    mod private {
        pub trait Sealed {}
        impl Sealed for crate::Poller {}
    }
}

/// The epoll instance itself, for a completion ring that watches it (solo-io's io_uring
/// driver polls the epoll descriptor on its ring, so every source registered here is
/// still served while the ring waits).
#[cfg(all(not(solo_poll_force_poll), has_epoll))]
pub mod epoll {
    use std::io;
    use std::os::fd::{AsFd, BorrowedFd};

    use crate::Poller;

    /// Access to the epoll descriptor of a [`Poller`] with the epoll backend. Sealed:
    /// implemented for `Poller` only.
    pub trait PollerEpollExt: private::Sealed {
        /// The epoll descriptor: readable while a `wait` would report an event (a
        /// notification included). Watch it, never register or wait on it directly.
        ///
        /// # Errors
        ///
        /// The poller was inherited through `fork` and not re-created yet (see
        /// [`Poller::reinit_after_fork`]).
        fn epoll_fd(&self) -> io::Result<BorrowedFd<'_>>;
    }

    impl PollerEpollExt for Poller {
        fn epoll_fd(&self) -> io::Result<BorrowedFd<'_>> {
            Ok(self.own()?.epoll.as_fd())
        }
    }

    mod private {
        pub trait Sealed {}
        impl Sealed for crate::Poller {}
    }
}
