//! Waiting for signals without blocking the loop: Ctrl-C, `SIGTERM` and friends.
//!
//! The usual use is graceful shutdown:
//!
//! ```no_run
//! # solo_io::block_on(async {
//! let signal = solo_io::signal::shutdown().await?;
//! println!("got {signal:?}, shutting down");
//! # std::io::Result::Ok(()) });
//! ```
//!
//! # How it works
//!
//! On Unix, a signal handler does nothing but what is async-signal-safe: it increments a
//! per-signal counter and writes one byte to a socket of each listener, which the
//! listener's reactor watches; the listener then compares counters. On Windows, the
//! console control handler (which Windows runs on a thread of its own) bumps the same
//! kind of counter and wakes the listeners.
//!
//! While at least one [`Signals`] listens for a signal, that signal's default action
//! (for Ctrl-C: terminating the process) is replaced; when the last one is dropped, the
//! previous disposition is restored, so a second Ctrl-C after shutdown began still works
//! once the listener is gone. Deliveries that arrive while nobody polls are coalesced:
//! a stream reports that a signal arrived, not how many times.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

#[cfg(unix)]
#[path = "unix.rs"]
mod imp;
#[cfg(windows)]
#[path = "windows.rs"]
mod imp;

/// `SIGCHLD`, for the reaping of child processes where there is neither a pidfd nor
/// kqueue; crate-private, not a [`Signal`] to listen for.
#[cfg(unix)]
pub(crate) use imp::ChildSignal;

/// A signal that [`Signals`] can wait for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Signal {
    /// Ctrl-C: `SIGINT` on Unix, `CTRL_C_EVENT` (and Ctrl-Break) on Windows.
    Interrupt,
    /// A polite request to stop: `SIGTERM` on Unix; on Windows the console is closing
    /// (`CTRL_CLOSE_EVENT`, logoff or shutdown).
    Terminate,
    /// `SIGHUP` (Unix only): the terminal hung up; by convention, reload configuration.
    Hangup,
    /// `SIGQUIT` (Unix only).
    Quit,
    /// `SIGUSR1` (Unix only).
    User1,
    /// `SIGUSR2` (Unix only).
    User2,
}

impl Signal {
    const ALL: [Signal; 6] = [
        Signal::Interrupt,
        Signal::Terminate,
        Signal::Hangup,
        Signal::Quit,
        Signal::User1,
        Signal::User2,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// A stream of the signals it was created for.
///
/// # Examples
///
/// ```no_run
/// use solo_io::signal::{Signal, Signals};
/// use solo_lite::stream::StreamExt;
///
/// # solo_io::block_on(async {
/// let mut signals = Signals::new([Signal::Interrupt, Signal::Terminate])?;
/// while let Some(signal) = signals.next().await {
///     println!("{signal:?}");
/// }
/// # std::io::Result::Ok(()) });
/// ```
pub struct Signals {
    inner: imp::Listener,
    /// Which signals this stream reports (bit per `Signal::index`).
    mask: u8,
    /// The delivery counters as last seen, per signal.
    seen: [u64; Signal::ALL.len()],
}

impl fmt::Debug for Signals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let signals: Vec<Signal> = Signal::ALL
            .into_iter()
            .filter(|s| self.mask & (1 << s.index()) != 0)
            .collect();
        f.debug_struct("Signals")
            .field("signals", &signals)
            .finish()
    }
}

impl Signals {
    /// Starts listening for `signals` on this thread's reactor.
    ///
    /// Fails with [`io::ErrorKind::Unsupported`] for a signal the OS does not have (on
    /// Windows, everything but `Interrupt` and `Terminate`), and with
    /// [`io::ErrorKind::InvalidInput`] for an empty list.
    pub fn new(signals: impl IntoIterator<Item = Signal>) -> io::Result<Signals> {
        let mut mask = 0u8;
        for s in signals {
            imp::check_supported(s)?;
            mask |= 1 << s.index();
        }
        if mask == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "Signals::new needs at least one signal",
            ));
        }
        let inner = imp::Listener::new(mask)?;
        let seen = std::array::from_fn(|i| imp::deliveries(Signal::ALL[i]));
        Ok(Signals { inner, mask, seen })
    }

    /// A signal delivered since we last looked, if any.
    fn take_delivered(&mut self) -> Option<Signal> {
        for s in Signal::ALL {
            if self.mask & (1 << s.index()) == 0 {
                continue;
            }
            let now = imp::deliveries(s);
            if now != self.seen[s.index()] {
                self.seen[s.index()] = now;
                return Some(s);
            }
        }
        None
    }
}

impl Stream for Signals {
    type Item = Signal;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Signal>> {
        let this = self.get_mut();
        loop {
            if let Some(s) = this.take_delivered() {
                return Poll::Ready(Some(s));
            }
            // Counters are bumped before the wake-up is sent, so after the wake-up is
            // consumed (or found absent and a waker registered) nothing can be missed.
            match this.inner.poll_wakeup(cx) {
                Poll::Ready(Ok(())) => continue,
                Poll::Ready(Err(_)) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// Waits for Ctrl-C.
pub async fn ctrl_c() -> io::Result<()> {
    let mut signals = Signals::new([Signal::Interrupt])?;
    next(&mut signals).await.map(drop)
}

/// Waits for a request to shut down: Ctrl-C or `SIGTERM` (Unix), Ctrl-C or the console
/// closing (Windows). Returns which one arrived.
pub async fn shutdown() -> io::Result<Signal> {
    let mut signals = Signals::new([Signal::Interrupt, Signal::Terminate])?;
    next(&mut signals).await
}

async fn next(signals: &mut Signals) -> io::Result<Signal> {
    std::future::poll_fn(|cx| Pin::new(&mut *signals).poll_next(cx))
        .await
        .ok_or_else(|| io::Error::other("the signal listener failed"))
}
