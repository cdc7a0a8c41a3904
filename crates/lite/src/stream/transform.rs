//! Item-by-item adapters: [`Inspect`], [`Scan`], [`MapWhile`], [`SkipWhile`], [`StepBy`],
//! [`Cloned`], [`Copied`], [`Fuse`], [`Cycle`], [`Drain`] and [`StopAfterFuture`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::stream::FusedStream;
use pin_project_lite::pin_project;

use super::Stream;
use crate::ready;

/// Writes the `Debug` impl of an adapter with a `stream` field and a closure (not printed).
macro_rules! debug_with_closure {
    ($ty:ident<S, $($param:ident),+>) => {
        impl<S: fmt::Debug, $($param),+> fmt::Debug for $ty<S, $($param),+> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("stream", &self.stream)
                    .finish_non_exhaustive()
            }
        }
    };
}

pin_project! {
    /// Stream for [`StreamExt::inspect`](super::StreamExt::inspect).
    #[derive(Clone)]
    #[must_use = "streams do nothing unless polled"]
    pub struct Inspect<S, F> {
        #[pin]
        pub(super) stream: S,
        pub(super) f: F,
    }
}
debug_with_closure!(Inspect<S, F>);

impl<S: Stream, F: FnMut(&S::Item)> Stream for Inspect<S, F> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        let item = ready!(this.stream.poll_next(cx));
        if let Some(item) = &item {
            (this.f)(item);
        }
        Poll::Ready(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.stream.size_hint()
    }
}

pin_project! {
    /// Stream for [`StreamExt::scan`](super::StreamExt::scan).
    #[derive(Clone)]
    #[must_use = "streams do nothing unless polled"]
    pub struct Scan<S, St, F> {
        #[pin]
        pub(super) stream: S,
        pub(super) state: St,
        // The closure, or `None` once it returned `None` (the stream has ended).
        pub(super) f: Option<F>,
    }
}

impl<S: fmt::Debug, St: fmt::Debug, F> fmt::Debug for Scan<S, St, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scan")
            .field("stream", &self.stream)
            .field("state", &self.state)
            .field("done", &self.f.is_none())
            .finish()
    }
}

impl<S, St, F, B> Stream for Scan<S, St, F>
where
    S: Stream,
    F: FnMut(&mut St, S::Item) -> Option<B>,
{
    type Item = B;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<B>> {
        let this = self.project();
        let Some(f) = this.f else {
            return Poll::Ready(None);
        };
        let out = ready!(this.stream.poll_next(cx)).and_then(|item| f(this.state, item));
        if out.is_none() {
            *this.f = None;
        }
        Poll::Ready(out)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self.f {
            Some(_) => (0, self.stream.size_hint().1),
            None => (0, Some(0)),
        }
    }
}

pin_project! {
    /// Stream for [`StreamExt::map_while`](super::StreamExt::map_while).
    #[derive(Clone)]
    #[must_use = "streams do nothing unless polled"]
    pub struct MapWhile<S, P> {
        #[pin]
        pub(super) stream: S,
        pub(super) predicate: P,
    }
}
debug_with_closure!(MapWhile<S, P>);

impl<S: Stream, B, P: FnMut(S::Item) -> Option<B>> Stream for MapWhile<S, P> {
    type Item = B;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<B>> {
        let this = self.project();
        Poll::Ready(ready!(this.stream.poll_next(cx)).and_then(this.predicate))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, self.stream.size_hint().1)
    }
}

pin_project! {
    /// Stream for [`StreamExt::skip_while`](super::StreamExt::skip_while).
    #[derive(Clone)]
    #[must_use = "streams do nothing unless polled"]
    pub struct SkipWhile<S, P> {
        #[pin]
        pub(super) stream: S,
        // The predicate, or `None` once it returned `false` (skipping is over).
        pub(super) predicate: Option<P>,
    }
}

impl<S: fmt::Debug, P> fmt::Debug for SkipWhile<S, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SkipWhile")
            .field("stream", &self.stream)
            .field("skipping", &self.predicate.is_some())
            .finish()
    }
}

impl<S: Stream, P: FnMut(&S::Item) -> bool> Stream for SkipWhile<S, P> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let mut this = self.project();
        loop {
            let item = ready!(this.stream.as_mut().poll_next(cx));
            let Some(predicate) = this.predicate.as_mut() else {
                return Poll::Ready(item);
            };
            match item {
                Some(item) if predicate(&item) => {}
                item => {
                    *this.predicate = None;
                    return Poll::Ready(item);
                }
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self.predicate {
            Some(_) => (0, self.stream.size_hint().1),
            None => self.stream.size_hint(),
        }
    }
}

pin_project! {
    /// Stream for [`StreamExt::step_by`](super::StreamExt::step_by).
    #[derive(Clone, Debug)]
    #[must_use = "streams do nothing unless polled"]
    pub struct StepBy<S> {
        #[pin]
        pub(super) stream: S,
        // Never 0.
        pub(super) step: usize,
        // Items to drop before the next one to yield.
        pub(super) skip: usize,
    }
}

impl<S: Stream> Stream for StepBy<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let mut this = self.project();
        loop {
            match ready!(this.stream.as_mut().poll_next(cx)) {
                Some(_) if *this.skip > 0 => *this.skip -= 1,
                Some(item) => {
                    *this.skip = *this.step - 1;
                    return Poll::Ready(Some(item));
                }
                None => return Poll::Ready(None),
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        // Of `n` more items, the first, then every `step`th after `skip` are yielded.
        let count = |n: usize| match n.checked_sub(self.skip) {
            Some(rest) if rest > 0 => 1 + (rest - 1) / self.step,
            _ => 0,
        };
        let (lo, hi) = self.stream.size_hint();
        (count(lo), hi.map(count))
    }
}

pin_project! {
    /// Stream for [`StreamExt::cloned`](super::StreamExt::cloned).
    #[derive(Clone, Debug)]
    #[must_use = "streams do nothing unless polled"]
    pub struct Cloned<S> {
        #[pin]
        pub(super) stream: S,
    }
}

impl<'a, T: Clone + 'a, S: Stream<Item = &'a T>> Stream for Cloned<S> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        Poll::Ready(ready!(self.project().stream.poll_next(cx)).cloned())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.stream.size_hint()
    }
}

pin_project! {
    /// Stream for [`StreamExt::copied`](super::StreamExt::copied).
    #[derive(Clone, Debug)]
    #[must_use = "streams do nothing unless polled"]
    pub struct Copied<S> {
        #[pin]
        pub(super) stream: S,
    }
}

impl<'a, T: Copy + 'a, S: Stream<Item = &'a T>> Stream for Copied<S> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        Poll::Ready(ready!(self.project().stream.poll_next(cx)).copied())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.stream.size_hint()
    }
}

pin_project! {
    /// Stream for [`StreamExt::fuse`](super::StreamExt::fuse).
    #[derive(Clone, Debug)]
    #[must_use = "streams do nothing unless polled"]
    pub struct Fuse<S> {
        #[pin]
        pub(super) stream: S,
        // Whether the inner stream has ended.
        pub(super) done: bool,
    }
}

impl<S: Stream> Stream for Fuse<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        if *this.done {
            return Poll::Ready(None);
        }
        let item = ready!(this.stream.poll_next(cx));
        *this.done = item.is_none();
        Poll::Ready(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.done {
            (0, Some(0))
        } else {
            self.stream.size_hint()
        }
    }
}

impl<S: Stream> FusedStream for Fuse<S> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

pin_project! {
    /// Stream for [`StreamExt::cycle`](super::StreamExt::cycle).
    #[derive(Clone, Debug)]
    #[must_use = "streams do nothing unless polled"]
    pub struct Cycle<S> {
        // A copy of the stream as it was at the start, cloned again at every end.
        pub(super) orig: S,
        #[pin]
        pub(super) stream: S,
    }
}

impl<S: Stream + Clone> Stream for Cycle<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let mut this = self.project();
        if let Some(item) = ready!(this.stream.as_mut().poll_next(cx)) {
            return Poll::Ready(Some(item));
        }
        // One restart per poll: a stream that is empty from the start ends the cycle.
        this.stream.set(this.orig.clone());
        this.stream.poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self.orig.size_hint() {
            (0, Some(0)) => (0, Some(0)),
            (0, _) => (0, None),
            _ => (usize::MAX, None),
        }
    }
}

/// Stream for [`StreamExt::drain`](super::StreamExt::drain).
#[derive(Debug)]
#[must_use = "streams do nothing unless polled"]
pub struct Drain<'a, S: ?Sized> {
    pub(super) stream: &'a mut S,
}

impl<'a, S: ?Sized> Drain<'a, S> {
    /// The drained stream.
    pub fn get_ref(&self) -> &S {
        self.stream
    }

    /// The drained stream, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        self.stream
    }

    /// Gives back the borrow of the drained stream.
    pub fn into_inner(self) -> &'a mut S {
        self.stream
    }
}

impl<S: Stream + Unpin + ?Sized> Stream for Drain<'_, S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        match Pin::new(&mut *self.stream).poll_next(cx) {
            Poll::Ready(item) => Poll::Ready(item),
            Poll::Pending => Poll::Ready(None),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, self.stream.size_hint().1)
    }
}

/// Yields the items of `stream` until `future` completes, then ends.
///
/// On every poll the future is polled first: once it has completed, the stream ends (even
/// if `stream` has an item ready) and [`take_result`](StopAfterFuture::take_result) hands
/// over its output. [`take_future`](StopAfterFuture::take_future) takes the future out
/// before it completes, after which the stream runs to its own end. When `stream` ends first,
/// the future is dropped unfinished.
///
/// # Examples
///
/// ```
/// use solo_lite::stream::{self, StreamExt};
/// use solo_lite::future;
///
/// future::block_on(async {
///     // A future that completes on its third poll: the stream yields two items, then stops.
///     let mut polls = 0;
///     let deadline = future::poll_fn(|cx| {
///         polls += 1;
///         if polls < 3 {
///             cx.waker().wake_by_ref();
///             std::task::Poll::Pending
///         } else {
///             std::task::Poll::Ready("deadline")
///         }
///     });
///     let mut s = stream::stop_after_future(stream::iter(1..), deadline);
///     assert_eq!(s.next().await, Some(1));
///     assert_eq!(s.next().await, Some(2));
///     assert_eq!(s.next().await, None);
///     assert!(s.is_stopped());
///     assert_eq!(s.take_result(), Some("deadline"));
/// });
/// ```
pub fn stop_after_future<S: Stream, F: Future>(stream: S, future: F) -> StopAfterFuture<S, F> {
    StopAfterFuture {
        stream,
        future: Some(future),
        result: None,
        free: false,
    }
}

pin_project! {
    /// Stream for [`stop_after_future`].
    #[must_use = "streams do nothing unless polled"]
    pub struct StopAfterFuture<S, F: Future> {
        #[pin]
        stream: S,
        // The stopping future until it completes, is taken out, or the stream ends.
        #[pin]
        future: Option<F>,
        // Its output, until taken.
        result: Option<F::Output>,
        // Whether the user took the future out (the stream then runs to its own end).
        free: bool,
    }
}

impl<S: fmt::Debug, F: Future + fmt::Debug> fmt::Debug for StopAfterFuture<S, F>
where
    F::Output: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StopAfterFuture")
            .field("stream", &self.stream)
            .field("future", &self.future)
            .field("result", &self.result)
            .field("free", &self.free)
            .finish()
    }
}

impl<S, F: Future> StopAfterFuture<S, F> {
    /// Takes the stopping future out, if it has not completed: from then on the stream
    /// yields every item of the inner stream.
    pub fn take_future(&mut self) -> Option<F> {
        let future = self.future.take();
        self.free |= future.is_some();
        future
    }

    /// The stopping future's output, once it has completed (and only once).
    pub fn take_result(&mut self) -> Option<F::Output> {
        self.result.take()
    }

    /// Whether the stream has stopped: the future completed, or the inner stream ended
    /// while the future was still in place.
    pub fn is_stopped(&self) -> bool {
        !self.free && self.future.is_none()
    }
}

impl<S: Stream, F: Future> Stream for StopAfterFuture<S, F> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let mut this = self.project();
        if let Some(future) = this.future.as_mut().as_pin_mut() {
            if let Poll::Ready(output) = future.poll(cx) {
                this.future.set(None);
                *this.result = Some(output);
            }
        }
        if !*this.free && this.future.is_none() {
            return Poll::Ready(None);
        }
        let item = ready!(this.stream.poll_next(cx));
        if item.is_none() {
            this.future.set(None);
        }
        Poll::Ready(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.is_stopped() {
            (0, Some(0))
        } else {
            (0, self.stream.size_hint().1)
        }
    }
}
