//! Combinators over two futures (`zip`, `try_zip`, `or`, `race`), `fuse` and `catch_unwind`.
//!
//! Every type here structurally pins the futures it holds; `pin-project-lite` writes the
//! projections (and the `Unpin` impls that go with them).

use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, UnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::PanicPayload;
use crate::ready;
use crate::rng::Rng;

/// Awaits two futures at once and returns both outputs.
///
/// Both futures are polled on every poll until each has finished; the first to finish keeps
/// its output until the second is done.
///
/// # Examples
///
/// ```
/// use solo_lite::future;
///
/// let pair = future::block_on(future::zip(async { 1 }, async { "two" }));
/// assert_eq!(pair, (1, "two"));
/// ```
pub fn zip<F1: Future, F2: Future>(future1: F1, future2: F2) -> Zip<F1, F2> {
    Zip {
        future1,
        output1: None,
        future2,
        output2: None,
    }
}

pin_project! {
    /// Future for [`zip`].
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Zip<F1: Future, F2: Future> {
        #[pin]
        future1: F1,
        output1: Option<F1::Output>,
        #[pin]
        future2: F2,
        output2: Option<F2::Output>,
    }
}

impl<F1: Future, F2: Future> fmt::Debug for Zip<F1, F2> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Zip")
            .field("done1", &self.output1.is_some())
            .field("done2", &self.output2.is_some())
            .finish_non_exhaustive()
    }
}

impl<F1: Future, F2: Future> Future for Zip<F1, F2> {
    type Output = (F1::Output, F2::Output);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let (future1, output1, future2, output2) =
            (this.future1, this.output1, this.future2, this.output2);
        if output1.is_none() {
            if let Poll::Ready(out) = future1.poll(cx) {
                *output1 = Some(out);
            }
        }
        if output2.is_none() {
            if let Poll::Ready(out) = future2.poll(cx) {
                *output2 = Some(out);
            }
        }
        if output1.is_some() && output2.is_some() {
            if let (Some(a), Some(b)) = (output1.take(), output2.take()) {
                return Poll::Ready((a, b));
            }
        }
        Poll::Pending
    }
}

/// Awaits two fallible futures at once: both values, or the first error as soon as either
/// future fails (the other is then no longer polled).
///
/// # Examples
///
/// ```
/// use solo_lite::future;
///
/// future::block_on(async {
///     let ok = future::try_zip(async { Ok::<_, String>(1) }, async { Ok(2) }).await;
///     assert_eq!(ok, Ok((1, 2)));
///     let err = future::try_zip(async { Ok::<i32, _>(1) }, async { Err::<i32, _>("no") }).await;
///     assert_eq!(err, Err("no"));
/// });
/// ```
pub fn try_zip<T1, T2, E, F1, F2>(future1: F1, future2: F2) -> TryZip<F1, T1, F2, T2>
where
    F1: Future<Output = Result<T1, E>>,
    F2: Future<Output = Result<T2, E>>,
{
    TryZip {
        future1,
        output1: None,
        future2,
        output2: None,
    }
}

pin_project! {
    /// Future for [`try_zip`].
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct TryZip<F1, T1, F2, T2> {
        #[pin]
        future1: F1,
        output1: Option<T1>,
        #[pin]
        future2: F2,
        output2: Option<T2>,
    }
}

impl<F1, T1, F2, T2> fmt::Debug for TryZip<F1, T1, F2, T2> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryZip")
            .field("done1", &self.output1.is_some())
            .field("done2", &self.output2.is_some())
            .finish_non_exhaustive()
    }
}

impl<T1, T2, E, F1, F2> Future for TryZip<F1, T1, F2, T2>
where
    F1: Future<Output = Result<T1, E>>,
    F2: Future<Output = Result<T2, E>>,
{
    type Output = Result<(T1, T2), E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let (future1, output1, future2, output2) =
            (this.future1, this.output1, this.future2, this.output2);
        if output1.is_none() {
            match future1.poll(cx) {
                Poll::Ready(Ok(out)) => *output1 = Some(out),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {}
            }
        }
        if output2.is_none() {
            match future2.poll(cx) {
                Poll::Ready(Ok(out)) => *output2 = Some(out),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {}
            }
        }
        if output1.is_some() && output2.is_some() {
            if let (Some(a), Some(b)) = (output1.take(), output2.take()) {
                return Poll::Ready(Ok((a, b)));
            }
        }
        Poll::Pending
    }
}

/// The output of whichever of two futures finishes first, *biased* to the first: on every
/// poll `future1` is polled first, and `future2` only if `future1` is pending.
///
/// When both are ready at once, `future1` wins. A `future1` that is always ready starves
/// `future2`; use [`race`] when both sides deserve a chance.
///
/// # Examples
///
/// ```
/// use solo_lite::future;
///
/// future::block_on(async {
///     assert_eq!(future::or(future::ready(1), future::ready(2)).await, 1);
///     assert_eq!(future::or(future::pending(), future::ready(2)).await, 2);
/// });
/// ```
pub fn or<T, F1, F2>(future1: F1, future2: F2) -> Or<F1, F2>
where
    F1: Future<Output = T>,
    F2: Future<Output = T>,
{
    Or { future1, future2 }
}

pin_project! {
    /// Future for [`or`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Or<F1, F2> {
        #[pin]
        future1: F1,
        #[pin]
        future2: F2,
    }
}

impl<T, F1, F2> Future for Or<F1, F2>
where
    F1: Future<Output = T>,
    F2: Future<Output = T>,
{
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let this = self.project();
        if let Poll::Ready(out) = this.future1.poll(cx) {
            return Poll::Ready(out);
        }
        this.future2.poll(cx)
    }
}

/// The output of whichever of two futures finishes first, *fair*: on every poll a random
/// bit (a thread-local wyrand generator) decides which future is polled first.
///
/// When both are ready at once, each wins half of the time, so neither can starve the
/// other. Use [`or`] when the first future should always be preferred.
///
/// # Examples
///
/// ```
/// use solo_lite::future;
///
/// let n = future::block_on(future::race(future::ready(1), future::ready(2)));
/// assert!(n == 1 || n == 2);
/// ```
pub fn race<T, F1, F2>(future1: F1, future2: F2) -> Race<F1, F2>
where
    F1: Future<Output = T>,
    F2: Future<Output = T>,
{
    Race {
        future1,
        future2,
        rng: Rng::thread(),
    }
}

/// [`race`] with its own generator started from `seed`: the same seed makes the same
/// choices, which makes a test or a simulation reproducible.
///
/// # Examples
///
/// ```
/// use solo_lite::future;
///
/// let first = |seed| future::block_on(future::race_with_seed(future::ready(1), future::ready(2), seed));
/// // Both are ready at once: the seed decides, and decides the same way every time.
/// assert_eq!(first(42), first(42));
/// assert_eq!(future::block_on(future::race_with_seed(future::pending(), future::ready(2), 7)), 2);
/// ```
pub fn race_with_seed<T, F1, F2>(future1: F1, future2: F2, seed: u64) -> Race<F1, F2>
where
    F1: Future<Output = T>,
    F2: Future<Output = T>,
{
    Race {
        future1,
        future2,
        rng: Rng::with_seed(seed),
    }
}

pin_project! {
    /// Future for [`race`] and [`race_with_seed`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Race<F1, F2> {
        #[pin]
        future1: F1,
        #[pin]
        future2: F2,
        rng: Rng,
    }
}

impl<T, F1, F2> Future for Race<F1, F2>
where
    F1: Future<Output = T>,
    F2: Future<Output = T>,
{
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let this = self.project();
        let (future1, future2) = (this.future1, this.future2);
        if this.rng.bool() {
            if let Poll::Ready(out) = future1.poll(cx) {
                return Poll::Ready(out);
            }
            future2.poll(cx)
        } else {
            if let Poll::Ready(out) = future2.poll(cx) {
                return Poll::Ready(out);
            }
            future1.poll(cx)
        }
    }
}

/// Fuses a future: once it has completed, polling it again returns [`Poll::Pending`]
/// instead of whatever the inner future would do (panic, hang, or a wrong answer).
///
/// The inner future is dropped as soon as it completes, so its resources are freed early.
/// [`Fuse`] implements [`futures_core::FusedFuture`], whose `is_terminated` tells whether
/// it has completed.
///
/// # Examples
///
/// ```
/// use std::task::{Context, Poll, Waker};
/// use solo_lite::future::{self, FutureExt};
///
/// let mut cx = Context::from_waker(Waker::noop());
/// let mut f = future::fuse(future::ready(1));
/// assert_eq!(f.poll(&mut cx), Poll::Ready(1));
/// // `Ready` would panic if polled again; the fused future is just pending.
/// assert_eq!(f.poll(&mut cx), Poll::Pending);
/// ```
pub fn fuse<F: Future>(future: F) -> Fuse<F> {
    Fuse {
        future: Some(future),
    }
}

pin_project! {
    /// Future for [`fuse`].
    #[derive(Clone, Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Fuse<F> {
        // `None` once the future has completed.
        #[pin]
        future: Option<F>,
    }
}

impl<F: Future> Future for Fuse<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let mut slot = self.project().future;
        let Some(future) = slot.as_mut().as_pin_mut() else {
            return Poll::Pending;
        };
        let output = ready!(future.poll(cx));
        slot.set(None);
        Poll::Ready(output)
    }
}

impl<F: Future> futures_core::FusedFuture for Fuse<F> {
    fn is_terminated(&self) -> bool {
        self.future.is_none()
    }
}

/// Catches a panic raised while polling `future`, returning it as `Err(payload)`.
///
/// The future must be [`UnwindSafe`]; wrap it in [`AssertUnwindSafe`] when you know that
/// observing its state after a panic is harmless. Once it returned `Err`, the future is
/// finished and must not be polled again. The panic hook still runs (and prints) as usual.
///
/// # Examples
///
/// ```
/// use std::panic::AssertUnwindSafe;
/// use solo_lite::future;
///
/// # let hook = std::panic::take_hook();
/// # std::panic::set_hook(Box::new(|_| {}));
/// let caught = future::block_on(future::catch_unwind(AssertUnwindSafe(async {
///     let code = 42;
///     panic!("task failed: {code}");
/// })));
/// # std::panic::set_hook(hook);
/// let payload = caught.unwrap_err();
/// // A formatted message arrives as a `String`, a literal one as a `&'static str`.
/// assert_eq!(payload.downcast_ref::<String>().map(String::as_str), Some("task failed: 42"));
///
/// let fine = future::block_on(future::catch_unwind(async { 7 }));
/// assert_eq!(fine.unwrap(), 7);
/// ```
pub fn catch_unwind<F: Future + UnwindSafe>(future: F) -> CatchUnwind<F> {
    CatchUnwind { future }
}

pin_project! {
    /// Future for [`catch_unwind`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct CatchUnwind<F> {
        #[pin]
        future: F,
    }
}

impl<F: Future + UnwindSafe> Future for CatchUnwind<F> {
    type Output = Result<F::Output, PanicPayload>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let future = self.project().future;
        // The `Context` is not `UnwindSafe`; after a panic it is not used again by us, and the
        // future is documented as finished.
        match std::panic::catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Ready(out)) => Poll::Ready(Ok(out)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}
