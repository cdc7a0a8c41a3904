//! Every Unix, as the fallback: the thread's `SIGCHLD` listener (solo-io's signal
//! machinery: a handler that writes a byte to a socket the reactor watches), shared by
//! all the thread's children that use it and dropped with the last of them, which
//! restores the previous disposition. The application's own `SIGCHLD` handler, if any,
//! is still called (see `signal/unix.rs`).
//!
//! Signals coalesce, so a `SIGCHLD` wakes every waiting child and each one checks itself
//! with `waitpid(WNOHANG)`. As a backstop, in case the application replaces the handler
//! later without calling ours, a waiting child also looks once a second: its exit is then
//! seen late, never missed.
//!
//! Where `SIGCHLD` was ignored (`SIG_IGN`, which makes the kernel reap children at once),
//! the handler replaces that while a child is watched: other children of the process
//! become zombies until reaped, so mixing the two is left to the application.

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::process::{Child, ExitStatus};
use std::rc::{Rc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use crate::Timer;
use crate::signal::ChildSignal;

/// How often a waiting child looks without a signal.
const BACKSTOP: Duration = Duration::from_secs(1);

thread_local! {
    /// The thread's listener, while some child uses it.
    static LISTENER: RefCell<Weak<ChildSignal>> = const { RefCell::new(Weak::new()) };
}

pub(crate) struct SignalWatch {
    signal: Rc<ChildSignal>,
    backstop: Option<Timer>,
}

impl SignalWatch {
    pub(crate) fn new() -> io::Result<SignalWatch> {
        let signal = LISTENER.with(|l| {
            if let Some(signal) = l.borrow().upgrade() {
                return Ok(signal);
            }
            let signal = Rc::new(ChildSignal::new()?);
            *l.borrow_mut() = Rc::downgrade(&signal);
            io::Result::Ok(signal)
        })?;
        Ok(SignalWatch {
            signal,
            backstop: None,
        })
    }

    pub(crate) fn poll_wait(
        &mut self,
        child: &mut Child,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<ExitStatus>> {
        loop {
            // The listener exists: an exit from now on sends a byte; one before is seen
            // here.
            if let Some(status) = child.try_wait()? {
                return Poll::Ready(Ok(status));
            }
            if self.signal.poll(cx)?.is_ready() {
                continue; // a SIGCHLD since the last look
            }
            let backstop = self
                .backstop
                .get_or_insert_with(|| Timer::interval(BACKSTOP));
            if Pin::new(backstop).poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
    }
}
