//! Adapters that run something per item: [`Then`] (a future), [`FlatMap`] and [`Flatten`]
//! (a stream).
//!
//! Each keeps at most one inner future or stream at a time, pinned beside the outer stream,
//! and polls the outer stream again only once the inner one is done.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::Stream;
use crate::ready;

pin_project! {
    /// Stream for [`StreamExt::then`](super::StreamExt::then).
    #[derive(Clone)]
    #[must_use = "streams do nothing unless polled"]
    pub struct Then<S, F, Fut> {
        #[pin]
        pub(super) stream: S,
        // The future of the current item, until it completes.
        #[pin]
        pub(super) future: Option<Fut>,
        pub(super) f: F,
    }
}

impl<S: fmt::Debug, F, Fut> fmt::Debug for Then<S, F, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Then")
            .field("stream", &self.stream)
            .field("running", &self.future.is_some())
            .finish_non_exhaustive()
    }
}

impl<S, F, Fut> Stream for Then<S, F, Fut>
where
    S: Stream,
    F: FnMut(S::Item) -> Fut,
    Fut: Future,
{
    type Item = Fut::Output;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Fut::Output>> {
        let mut this = self.project();
        loop {
            if let Some(future) = this.future.as_mut().as_pin_mut() {
                let output = ready!(future.poll(cx));
                this.future.set(None);
                return Poll::Ready(Some(output));
            }
            // No future running: start the next item's.
            match ready!(this.stream.as_mut().poll_next(cx)) {
                Some(item) => this.future.set(Some((this.f)(item))),
                None => return Poll::Ready(None),
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let running = usize::from(self.future.is_some());
        let (lo, hi) = self.stream.size_hint();
        (
            lo.saturating_add(running),
            hi.and_then(|hi| hi.checked_add(running)),
        )
    }
}

/// Yields the items of `inner` while it has some, then asks `outer` for the next inner
/// stream; ends when `outer` ends. The shared loop of [`FlatMap`] and [`Flatten`].
fn poll_nested<U: Stream>(
    mut inner: Pin<&mut Option<U>>,
    cx: &mut Context<'_>,
    mut outer: impl FnMut(&mut Context<'_>) -> Poll<Option<U>>,
) -> Poll<Option<U::Item>> {
    loop {
        if let Some(stream) = inner.as_mut().as_pin_mut() {
            match ready!(stream.poll_next(cx)) {
                Some(item) => return Poll::Ready(Some(item)),
                None => inner.set(None),
            }
        }
        match ready!(outer(cx)) {
            Some(stream) => inner.set(Some(stream)),
            None => return Poll::Ready(None),
        }
    }
}

/// The size hint of a flattening adapter: the current inner stream's lower bound, and an
/// upper bound only when the outer stream is known to be empty.
fn nested_hint<S: Stream, U: Stream>(outer: &S, inner: Option<&U>) -> (usize, Option<usize>) {
    let (lo, hi) = inner.map_or((0, Some(0)), Stream::size_hint);
    match outer.size_hint() {
        (_, Some(0)) => (lo, hi),
        _ => (lo, None),
    }
}

pin_project! {
    /// Stream for [`StreamExt::flat_map`](super::StreamExt::flat_map).
    #[derive(Clone)]
    #[must_use = "streams do nothing unless polled"]
    pub struct FlatMap<S, U, F> {
        #[pin]
        pub(super) stream: S,
        // The stream of the current item.
        #[pin]
        pub(super) inner: Option<U>,
        pub(super) f: F,
    }
}

impl<S: fmt::Debug, U: fmt::Debug, F> fmt::Debug for FlatMap<S, U, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlatMap")
            .field("stream", &self.stream)
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, U, F> Stream for FlatMap<S, U, F>
where
    S: Stream,
    U: Stream,
    F: FnMut(S::Item) -> U,
{
    type Item = U::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<U::Item>> {
        let this = self.project();
        let (mut stream, f) = (this.stream, this.f);
        poll_nested(this.inner, cx, |cx| {
            stream.as_mut().poll_next(cx).map(|item| item.map(&mut *f))
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        nested_hint(&self.stream, self.inner.as_ref())
    }
}

pin_project! {
    /// Stream for [`StreamExt::flatten`](super::StreamExt::flatten).
    #[must_use = "streams do nothing unless polled"]
    pub struct Flatten<S: Stream> {
        #[pin]
        pub(super) stream: S,
        // The current inner stream.
        #[pin]
        pub(super) inner: Option<S::Item>,
    }
}

impl<S: Stream + Clone> Clone for Flatten<S>
where
    S::Item: Clone,
{
    fn clone(&self) -> Self {
        Flatten {
            stream: self.stream.clone(),
            inner: self.inner.clone(),
        }
    }
}

impl<S: Stream + fmt::Debug> fmt::Debug for Flatten<S>
where
    S::Item: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Flatten")
            .field("stream", &self.stream)
            .field("inner", &self.inner)
            .finish()
    }
}

impl<S> Stream for Flatten<S>
where
    S: Stream,
    S::Item: Stream,
{
    type Item = <S::Item as Stream>::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        let mut stream = this.stream;
        poll_nested(this.inner, cx, |cx| stream.as_mut().poll_next(cx))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        nested_hint(&self.stream, self.inner.as_ref())
    }
}
