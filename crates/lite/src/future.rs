//! Futures: [`block_on`], small constructors, combinators and [`FutureExt`].
//!
//! | item | what it does |
//! |---|---|
//! | [`block_on`] | runs a future on this thread, parking while it waits |
//! | [`ready`], [`pending`], [`poll_fn`] | std's constructors, re-exported |
//! | [`poll_once`] | polls a future once: `Some(output)` or `None` |
//! | [`yield_now`] | lets other tasks run once |
//! | [`zip`], [`try_zip`] | awaits two futures at once, both outputs (or the first error) |
//! | [`or`] | the first of two futures to finish, *biased* to the first operand |
//! | [`race`], [`race_with_seed`] | the first of two futures to finish, *fair* (random order on each poll) |
//! | [`fuse`] | a future that is pending, not broken, when polled after completion |
//! | [`catch_unwind`] | turns a panic inside a future into an `Err` |
//!
//! ```
//! use solo_lite::future::{self, FutureExt};
//!
//! future::block_on(async {
//!     assert_eq!(future::ready(3).await, 3);
//!     assert_eq!(future::poll_once(future::pending::<()>()).await, None);
//!     assert_eq!(future::pending::<i32>().or(future::ready(5)).await, 5);
//!     let mut n = 0;
//!     let counted = future::poll_fn(|_| {
//!         n += 1;
//!         std::task::Poll::Ready(n)
//!     });
//!     assert_eq!(counted.await, 1);
//! });
//! ```

use std::any::Any;
use std::panic::UnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

mod block_on;
mod combine;

pub use self::block_on::block_on;
pub use self::combine::{
    CatchUnwind, Fuse, Or, Race, TryZip, Zip, catch_unwind, fuse, or, race, race_with_seed,
    try_zip, zip,
};
pub use core::future::{Future, Pending, PollFn, Ready, pending, poll_fn, ready};

/// A boxed, type-erased future that is `Send`: what [`FutureExt::boxed`] returns.
pub type Boxed<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A boxed, type-erased future that need not be `Send`: what [`FutureExt::boxed_local`]
/// returns.
pub type BoxedLocal<T> = Pin<Box<dyn Future<Output = T> + 'static>>;

/// Polls a future once, returning `Some(output)` if it completed and `None` if it was
/// pending.
///
/// The inner future is dropped with the `PollOnce`; a pending future is not polled again.
///
/// # Examples
///
/// ```
/// use solo_lite::future;
///
/// future::block_on(async {
///     assert_eq!(future::poll_once(async { 1 }).await, Some(1));
///     assert_eq!(future::poll_once(future::pending::<i32>()).await, None);
/// });
/// ```
pub fn poll_once<F: Future>(future: F) -> PollOnce<F> {
    PollOnce { future }
}

pin_project_lite::pin_project! {
    /// Future for [`poll_once`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct PollOnce<F> {
        #[pin]
        future: F,
    }
}

impl<F: Future> Future for PollOnce<F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().future.poll(cx) {
            Poll::Ready(output) => Poll::Ready(Some(output)),
            Poll::Pending => Poll::Ready(None),
        }
    }
}

/// Yields once: wakes the current task and returns `Pending`, then completes on the next
/// poll.
///
/// Use it to let other tasks of the same executor run in the middle of a long computation.
///
/// # Examples
///
/// ```
/// use solo_lite::future;
///
/// future::block_on(async {
///     for _ in 0..3 {
///         future::yield_now().await;
///     }
/// });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// Future for [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Extension methods for every [`Future`].
pub trait FutureExt: Future {
    /// Polls an `Unpin` future once, without pinning it by hand.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::task::{Context, Poll, Waker};
    /// use solo_lite::future::{self, FutureExt};
    ///
    /// let mut cx = Context::from_waker(Waker::noop());
    /// let mut fut = future::ready(4);
    /// assert_eq!(fut.poll(&mut cx), Poll::Ready(4));
    /// ```
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Self::Output>
    where
        Self: Unpin,
    {
        Pin::new(self).poll(cx)
    }

    /// The output of whichever of `self` and `other` finishes first, polling `self` first
    /// on every poll (biased). See [`or`](crate::future::or()).
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::future::{self, FutureExt};
    ///
    /// let n = future::block_on(future::ready(1).or(future::ready(2)));
    /// assert_eq!(n, 1);
    /// ```
    fn or<F>(self, other: F) -> Or<Self, F>
    where
        Self: Sized,
        F: Future<Output = Self::Output>,
    {
        or(self, other)
    }

    /// The output of whichever of `self` and `other` finishes first, choosing at random
    /// which to poll first on every poll (fair). See [`race`](crate::future::race()).
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::future::{self, FutureExt};
    ///
    /// let n = future::block_on(future::pending().race(future::ready(2)));
    /// assert_eq!(n, 2);
    /// ```
    fn race<F>(self, other: F) -> Race<Self, F>
    where
        Self: Sized,
        F: Future<Output = Self::Output>,
    {
        race(self, other)
    }

    /// Catches a panic raised while polling `self`. See [`catch_unwind`](crate::future::catch_unwind()).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::panic::AssertUnwindSafe;
    /// use solo_lite::future::{self, FutureExt};
    ///
    /// let fut = AssertUnwindSafe(async { panic!("boom") }).catch_unwind();
    /// # let hook = std::panic::take_hook();
    /// # std::panic::set_hook(Box::new(|_| {}));
    /// let err = future::block_on(fut).unwrap_err();
    /// # std::panic::set_hook(hook);
    /// assert_eq!(err.downcast_ref::<&str>(), Some(&"boom"));
    /// ```
    fn catch_unwind(self) -> CatchUnwind<Self>
    where
        Self: Sized + UnwindSafe,
    {
        catch_unwind(self)
    }

    /// Boxes the future and erases its type; it must be `Send`. A `'static` future gives a
    /// [`Boxed`]; one that borrows keeps its lifetime `'a`.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::future::{self, Boxed, FutureExt};
    ///
    /// let futures: Vec<Boxed<i32>> = vec![async { 1 }.boxed(), future::ready(2).boxed()];
    /// let sum: i32 = futures.into_iter().map(future::block_on).sum();
    /// assert_eq!(sum, 3);
    ///
    /// // A future that borrows a local can be boxed too.
    /// let local = String::from("borrowed");
    /// let len = future::block_on(async { local.len() }.boxed());
    /// assert_eq!(len, 8);
    /// ```
    fn boxed<'a>(self) -> Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>
    where
        Self: Sized + Send + 'a,
    {
        Box::pin(self)
    }

    /// Boxes the future and erases its type; it need not be `Send`. A `'static` future gives
    /// a [`BoxedLocal`]; one that borrows keeps its lifetime `'a`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    /// use solo_lite::future::{self, BoxedLocal, FutureExt};
    ///
    /// let rc = Rc::new(5);
    /// let fut: BoxedLocal<i32> = async move { *rc }.boxed_local();
    /// assert_eq!(future::block_on(fut), 5);
    /// ```
    fn boxed_local<'a>(self) -> Pin<Box<dyn Future<Output = Self::Output> + 'a>>
    where
        Self: Sized + 'a,
    {
        Box::pin(self)
    }
}

impl<F: Future + ?Sized> FutureExt for F {}

/// The payload of a caught panic, as [`std::panic::catch_unwind`] returns it.
pub type PanicPayload = Box<dyn Any + Send + 'static>;

#[cfg(test)]
mod tests;
