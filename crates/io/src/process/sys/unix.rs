//! Unix: the mechanisms this system has, in order of preference, behind one `Watch`.

use std::cell::Cell;
use std::io;
use std::process::{Child, ExitStatus};
use std::task::{Context, Poll};

use super::sigchld::SignalWatch;

/// Watches one child for its exit.
pub(crate) enum Watch {
    /// Linux, Android: a pidfd in the reactor.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    Pidfd(super::pidfd::PidfdWatch),
    /// kqueue: a process filter in the reactor.
    #[cfg(all(has_kqueue, not(solo_poll_force_poll)))]
    Kqueue(super::kqueue::KqueueWatch),
    /// Anywhere: the thread's `SIGCHLD` listener.
    Signal(SignalWatch),
}

thread_local! {
    /// Tests force the `SIGCHLD` fallback on this thread (see [`force_sigchld`]).
    static FORCE_SIGCHLD: Cell<bool> = const { Cell::new(false) };
}

/// Makes this thread's next spawns use the `SIGCHLD` fallback even where a pidfd or
/// kqueue filter is available: how the fallback is tested. Not part of the API.
pub fn force_sigchld(on: bool) {
    FORCE_SIGCHLD.with(|f| f.set(on));
}

impl Watch {
    pub(crate) fn new(child: &Child) -> io::Result<Watch> {
        if !FORCE_SIGCHLD.with(Cell::get) {
            // A pidfd or kqueue filter the kernel grants; any refusal (no such syscall,
            // a sandbox, out of descriptors) falls back to SIGCHLD.
            #[cfg(any(target_os = "linux", target_os = "android"))]
            if let Ok(w) = super::pidfd::PidfdWatch::new(child.id()) {
                return Ok(Watch::Pidfd(w));
            }
            #[cfg(all(has_kqueue, not(solo_poll_force_poll)))]
            if let Ok(w) = super::kqueue::KqueueWatch::new(child.id()) {
                return Ok(Watch::Kqueue(w));
            }
        }
        SignalWatch::new().map(Watch::Signal)
    }

    /// Polls until `child` exits; returns its status (and has reaped it).
    pub(crate) fn poll_wait(
        &mut self,
        child: &mut Child,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<ExitStatus>> {
        match self {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Watch::Pidfd(w) => w.poll_wait(child, cx),
            #[cfg(all(has_kqueue, not(solo_poll_force_poll)))]
            Watch::Kqueue(w) => w.poll_wait(child, cx),
            Watch::Signal(w) => w.poll_wait(child, cx),
        }
    }
}

/// A child whose [`Child`](crate::process::Child) was dropped before its exit was seen:
/// the thread's reactor reaps it when it exits.
pub(crate) fn orphan(child: Child, watch: Watch) {
    crate::process::reap::adopt(child, watch);
}
