//! Timers on the reactor's hierarchical timing wheel.

use std::fmt;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::Stream;

use crate::reactor::Reactor;
use crate::wheel::TimerKey;

/// A future (and, for intervals, a stream) that completes at a point in time.
///
/// Timers live on this thread's reactor, in a hierarchical timing wheel: starting,
/// moving and cancelling one are O(1) and allocate nothing in steady state, so a server
/// can keep an idle timeout per connection for a million connections. A timer never fires
/// early; how late it fires depends on the poller's timeout precision (sub-millisecond
/// on Linux) and on how busy the thread is.
///
/// A deadline too far away to represent (`Instant::now() + Duration::MAX`) means "never".
/// A timer registers itself on first poll, so creating one costs nothing, and dropping it
/// cancels it. Like [`Async`](crate::Async), a timer belongs to its thread and is not
/// `Send`.
///
/// # Panics
///
/// Waiting for a timer on a thread where solo-io's loop is not running (say, under
/// another executor's `block_on`) panics with a message naming the fix
/// ([`block_on`](crate::block_on), `solo::block_on`, or [`reactor::enter`](crate::reactor::enter)
/// for an executor of your own), where it would otherwise hang: nothing would ever fire
/// it. A timer that is already due completes anywhere.
///
/// # Examples
///
/// ```
/// use solo_io::Timer;
/// use std::time::{Duration, Instant};
///
/// solo_io::block_on(async {
///     let start = Instant::now();
///     Timer::after(Duration::from_millis(5)).await;
///     assert!(start.elapsed() >= Duration::from_millis(5));
/// });
/// ```
pub struct Timer {
    /// The next time the timer fires; `None` means never.
    deadline: Option<Instant>,
    /// For intervals: the period added to the deadline after each tick.
    period: Option<Duration>,
    /// The wheel entry, once polled.
    key: Option<TimerKey>,
    /// A one-shot timer used as a stream ends after its single item.
    done: bool,
    _not_send: PhantomData<*const ()>,
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("deadline", &self.deadline)
            .field("period", &self.period)
            .finish()
    }
}

impl Timer {
    fn new(deadline: Option<Instant>, period: Option<Duration>) -> Timer {
        Timer {
            deadline,
            period,
            key: None,
            done: false,
            _not_send: PhantomData,
        }
    }

    /// A timer that never fires.
    pub fn never() -> Timer {
        Timer::new(None, None)
    }

    /// A timer that fires once, after `duration`.
    pub fn after(duration: Duration) -> Timer {
        Timer::new(clock_now().checked_add(duration), None)
    }

    /// A timer that fires once, at `instant` (at once if it has passed).
    pub fn at(instant: Instant) -> Timer {
        Timer::new(Some(instant), None)
    }

    /// A timer that fires every `period`, first after one period.
    ///
    /// Ticks are scheduled at `start + n * period`, so they do not drift; if the thread
    /// was busy past several ticks, the missed ticks fire back to back. A zero period
    /// fires at every poll.
    pub fn interval(period: Duration) -> Timer {
        Timer::interval_at(
            clock_now().checked_add(period).unwrap_or_else(clock_now),
            period,
        )
    }

    /// A timer that fires at `start` and then every `period`.
    pub fn interval_at(start: Instant, period: Duration) -> Timer {
        Timer::new(Some(start), Some(period))
    }

    /// Moves the timer to fire once, after `duration`. Cancels any pending tick.
    pub fn set_after(&mut self, duration: Duration) {
        self.set(clock_now().checked_add(duration), None);
    }

    /// Moves the timer to fire once, at `instant`. Cancels any pending tick.
    pub fn set_at(&mut self, instant: Instant) {
        self.set(Some(instant), None);
    }

    /// Turns the timer into an interval firing every `period`, first after one period.
    pub fn set_interval(&mut self, period: Duration) {
        self.set(clock_now().checked_add(period), Some(period));
    }

    /// Turns the timer into an interval firing at `start` and then every `period`.
    pub fn set_interval_at(&mut self, start: Instant, period: Duration) {
        self.set(Some(start), Some(period));
    }

    /// Whether the timer will fire again (false for [`Timer::never`] and for a one-shot
    /// timer used as a stream after its item).
    pub fn will_fire(&self) -> bool {
        self.deadline.is_some() && !self.done
    }

    /// When the timer fires next, if ever.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline.filter(|_| !self.done)
    }

    fn set(&mut self, deadline: Option<Instant>, period: Option<Duration>) {
        self.deadline = deadline;
        self.period = period;
        self.done = false;
        if let Some(key) = self.key {
            // Move the wheel entry in place when we can (O(1), no waker churn).
            let moved = match deadline {
                Some(d) => Reactor::with(|r| r.reset_timer(key, d)),
                None => false,
            };
            if !moved {
                Reactor::with(|r| r.remove_timer(key));
                self.key = None;
            }
        }
    }

    /// Polls for the next tick; returns the deadline that fired.
    fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        let Some(deadline) = self.deadline else {
            return Poll::Pending;
        };
        let fired = Reactor::with(|r| match self.key {
            Some(key) => {
                let pending = r.timer_pending(key, cx.waker());
                if pending {
                    r.assert_driven();
                }
                !pending
            }
            None if r.now() >= deadline => true,
            None => {
                r.assert_driven();
                self.key = Some(r.insert_timer(deadline, cx.waker()));
                false
            }
        });
        if !fired {
            return Poll::Pending;
        }
        self.key = None;
        if let Some(period) = self.period {
            // From the previous deadline, not from now: no cumulative drift.
            self.deadline = deadline.checked_add(period);
        }
        Poll::Ready(deadline)
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            Reactor::try_with(|r| r.remove_timer(key));
        }
    }
}

impl Future for Timer {
    /// The deadline that fired.
    type Output = Instant;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Instant> {
        self.get_mut().poll_tick(cx)
    }
}

impl Stream for Timer {
    type Item = Instant;

    /// Intervals yield every tick forever; a one-shot timer yields once and ends; a
    /// [`Timer::never`] stays pending.
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let tick = std::task::ready!(this.poll_tick(cx));
        if this.period.is_none() {
            this.done = true;
        }
        Poll::Ready(Some(tick))
    }
}

/// Runs `fut` for at most `duration`: its output, or [`TimedOut`] if the time ran out
/// first (`fut` is then dropped, cancelling it).
///
/// Works with any future. [`TimedOut`] converts into an [`io::Error`] of kind
/// [`io::ErrorKind::TimedOut`], so in a function returning `io::Result` a timed I/O
/// operation reads `timeout(d, op).await??`; [`io_timeout`] is the one-`?` form for
/// futures of `io::Result`.
///
/// # Examples
///
/// ```
/// use solo_io::{TimedOut, Timer, timeout};
/// use std::time::Duration;
///
/// solo_io::block_on(async {
///     let quick = async { 7 };
///     assert_eq!(timeout(Duration::from_secs(5), quick).await, Ok(7));
///
///     let slow = Timer::after(Duration::from_secs(60));
///     let err: TimedOut = timeout(Duration::from_millis(5), slow).await.unwrap_err();
///     assert_eq!(err.duration(), Duration::from_millis(5));
///     let err = std::io::Error::from(err);
///     assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
/// });
/// ```
pub async fn timeout<F: Future>(duration: Duration, fut: F) -> Result<F::Output, TimedOut> {
    let mut fut = std::pin::pin!(fut);
    let mut timer = Timer::after(duration);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(out) = fut.as_mut().poll(cx) {
            return Poll::Ready(Ok(out));
        }
        match timer.poll_tick(cx) {
            Poll::Ready(_) => Poll::Ready(Err(TimedOut { duration })),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

/// Runs a future of `io::Result` for at most `duration`, failing with an error of kind
/// [`io::ErrorKind::TimedOut`] if the time runs out first: [`timeout`] with the two
/// errors merged.
///
/// # Examples
///
/// ```
/// use solo_io::{Timer, io_timeout};
/// use std::io;
/// use std::time::Duration;
///
/// solo_io::block_on(async {
///     let slow = async {
///         Timer::after(Duration::from_secs(60)).await;
///         io::Result::Ok(())
///     };
///     let err = io_timeout(Duration::from_millis(5), slow).await.unwrap_err();
///     assert_eq!(err.kind(), io::ErrorKind::TimedOut);
/// });
/// ```
pub async fn io_timeout<T>(
    duration: Duration,
    fut: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    timeout(duration, fut).await?
}

/// The error of [`timeout`]: the future did not complete in time.
///
/// Converts into an [`io::Error`] of kind [`io::ErrorKind::TimedOut`] (so `?` works in
/// functions returning `io::Result`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimedOut {
    duration: Duration,
}

impl TimedOut {
    /// The time limit that passed.
    pub fn duration(&self) -> Duration {
        self.duration
    }
}

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "operation timed out after {:?}", self.duration)
    }
}

impl std::error::Error for TimedOut {}

impl From<TimedOut> for io::Error {
    fn from(e: TimedOut) -> io::Error {
        io::Error::new(io::ErrorKind::TimedOut, e)
    }
}

/// The clock timers measure from: the real one, or the virtual one under simulation.
#[inline]
fn clock_now() -> Instant {
    #[cfg(solo_sim)]
    return crate::sim::instant();
    #[cfg(not(solo_sim))]
    Instant::now()
}
