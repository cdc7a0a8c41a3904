//! The futures returned by [`StreamExt`](super::StreamExt)'s consuming methods.
//!
//! Those that take the stream by value pin it inside themselves (`pin-project-lite` writes
//! the projection); those that borrow it (`&mut S`, `S: Unpin`) are `Unpin` whatever their
//! closure is, since nothing in them is pinned.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::Stream;
use crate::ready;

/// Future for [`StreamExt::next`](super::StreamExt::next).
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct NextFuture<'a, S: ?Sized> {
    pub(super) stream: &'a mut S,
}

impl<S: Stream + Unpin + ?Sized> Future for NextFuture<'_, S> {
    type Output = Option<S::Item>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        Pin::new(&mut *self.stream).poll_next(cx)
    }
}

pin_project_lite::pin_project! {
    /// Future for [`StreamExt::fold`](super::StreamExt::fold).
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct FoldFuture<S, F, T> {
        #[pin]
        pub(super) stream: S,
        // The closure and the accumulator (`None` once returned).
        pub(super) state: (F, Option<T>),
    }
}
project_stream!(FoldFuture<S, F, T> => (F, Option<T>));

impl<S: fmt::Debug, F, T: fmt::Debug> fmt::Debug for FoldFuture<S, F, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FoldFuture")
            .field("stream", &self.stream)
            .field("acc", &self.state.1)
            .finish_non_exhaustive()
    }
}

impl<S: Stream, F: FnMut(T, S::Item) -> T, T> Future for FoldFuture<S, F, T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let (mut stream, (f, acc)) = self.parts();
        loop {
            let item = ready!(stream.as_mut().poll_next(cx));
            let Some(current) = acc.take() else {
                panic!("`FoldFuture` polled after completion");
            };
            match item {
                Some(item) => *acc = Some(f(current, item)),
                None => return Poll::Ready(current),
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// Future for [`StreamExt::for_each`](super::StreamExt::for_each).
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct ForEachFuture<S, F> {
        #[pin]
        pub(super) stream: S,
        pub(super) state: F,
    }
}
project_stream!(ForEachFuture<S, F> => F);

impl<S: fmt::Debug, F> fmt::Debug for ForEachFuture<S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForEachFuture")
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

impl<S: Stream, F: FnMut(S::Item)> Future for ForEachFuture<S, F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let (mut stream, f) = self.parts();
        while let Some(item) = ready!(stream.as_mut().poll_next(cx)) {
            f(item);
        }
        Poll::Ready(())
    }
}

pin_project_lite::pin_project! {
    /// Future for [`StreamExt::collect`](super::StreamExt::collect).
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct CollectFuture<S, C> {
        #[pin]
        pub(super) stream: S,
        pub(super) state: C,
    }
}
project_stream!(CollectFuture<S, C> => C);

impl<S: Stream, C: Default + Extend<S::Item>> Future for CollectFuture<S, C> {
    type Output = C;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<C> {
        let (mut stream, collection) = self.parts();
        while let Some(item) = ready!(stream.as_mut().poll_next(cx)) {
            collection.extend(Some(item));
        }
        Poll::Ready(std::mem::take(collection))
    }
}

pin_project_lite::pin_project! {
    /// Future for [`StreamExt::count`](super::StreamExt::count).
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct CountFuture<S> {
        #[pin]
        pub(super) stream: S,
        pub(super) state: usize,
    }
}
project_stream!(CountFuture<S> => usize);

impl<S: Stream> Future for CountFuture<S> {
    type Output = usize;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let (mut stream, count) = self.parts();
        while ready!(stream.as_mut().poll_next(cx)).is_some() {
            *count += 1;
        }
        Poll::Ready(*count)
    }
}

/// Future for [`StreamExt::try_next`](super::StreamExt::try_next).
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct TryNextFuture<'a, S: ?Sized> {
    pub(super) stream: &'a mut S,
}

impl<T, E, S> Future for TryNextFuture<'_, S>
where
    S: Stream<Item = Result<T, E>> + Unpin + ?Sized,
{
    type Output = Result<Option<T>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let item = ready!(Pin::new(&mut *self.stream).poll_next(cx));
        Poll::Ready(item.transpose())
    }
}

/// Future for [`StreamExt::nth`](super::StreamExt::nth).
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct NthFuture<'a, S: ?Sized> {
    pub(super) stream: &'a mut S,
    // Items still to drop before the one to return.
    pub(super) n: usize,
}

impl<S: Stream + Unpin + ?Sized> Future for NthFuture<'_, S> {
    type Output = Option<S::Item>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.get_mut();
        loop {
            match ready!(Pin::new(&mut *this.stream).poll_next(cx)) {
                Some(item) if this.n == 0 => return Poll::Ready(Some(item)),
                Some(_) => this.n -= 1,
                None => return Poll::Ready(None),
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// Future for [`StreamExt::last`](super::StreamExt::last).
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct LastFuture<S: Stream> {
        #[pin]
        pub(super) stream: S,
        pub(super) last: Option<S::Item>,
    }
}

impl<S: Stream + fmt::Debug> fmt::Debug for LastFuture<S>
where
    S::Item: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LastFuture")
            .field("stream", &self.stream)
            .field("last", &self.last)
            .finish()
    }
}

impl<S: Stream> Future for LastFuture<S> {
    type Output = Option<S::Item>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let mut this = self.project();
        while let Some(item) = ready!(this.stream.as_mut().poll_next(cx)) {
            *this.last = Some(item);
        }
        Poll::Ready(this.last.take())
    }
}

/// Writes the `Debug` impl of a future that borrows its stream (field `stream`) and holds a
/// closure (not printed).
macro_rules! debug_borrowing {
    ($ty:ident<$($param:ident),+>) => {
        impl<S: fmt::Debug + ?Sized, $($param),+> fmt::Debug for $ty<'_, S, $($param),+> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("stream", &self.stream)
                    .finish_non_exhaustive()
            }
        }

        // Nothing in it is pinned: the stream is behind `&mut` and `Unpin` itself.
        impl<S: ?Sized, $($param),+> Unpin for $ty<'_, S, $($param),+> {}
    };
}

/// Future for [`StreamExt::find`](super::StreamExt::find).
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct FindFuture<'a, S: ?Sized, P> {
    pub(super) stream: &'a mut S,
    pub(super) predicate: P,
}
debug_borrowing!(FindFuture<P>);

impl<S: Stream + Unpin + ?Sized, P: FnMut(&S::Item) -> bool> Future for FindFuture<'_, S, P> {
    type Output = Option<S::Item>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.get_mut();
        loop {
            match ready!(Pin::new(&mut *this.stream).poll_next(cx)) {
                Some(item) if (this.predicate)(&item) => return Poll::Ready(Some(item)),
                Some(_) => {}
                None => return Poll::Ready(None),
            }
        }
    }
}

/// Future for [`StreamExt::find_map`](super::StreamExt::find_map).
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct FindMapFuture<'a, S: ?Sized, F> {
    pub(super) stream: &'a mut S,
    pub(super) f: F,
}
debug_borrowing!(FindMapFuture<F>);

impl<S, F, B> Future for FindMapFuture<'_, S, F>
where
    S: Stream + Unpin + ?Sized,
    F: FnMut(S::Item) -> Option<B>,
{
    type Output = Option<B>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<B>> {
        let this = self.get_mut();
        while let Some(item) = ready!(Pin::new(&mut *this.stream).poll_next(cx)) {
            if let Some(found) = (this.f)(item) {
                return Poll::Ready(Some(found));
            }
        }
        Poll::Ready(None)
    }
}

/// Future for [`StreamExt::position`](super::StreamExt::position).
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct PositionFuture<'a, S: ?Sized, P> {
    pub(super) stream: &'a mut S,
    pub(super) predicate: P,
    // Index of the next item.
    pub(super) index: usize,
}
debug_borrowing!(PositionFuture<P>);

impl<S: Stream + Unpin + ?Sized, P: FnMut(S::Item) -> bool> Future for PositionFuture<'_, S, P> {
    type Output = Option<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<usize>> {
        let this = self.get_mut();
        while let Some(item) = ready!(Pin::new(&mut *this.stream).poll_next(cx)) {
            if (this.predicate)(item) {
                return Poll::Ready(Some(this.index));
            }
            this.index += 1;
        }
        Poll::Ready(None)
    }
}

/// Future for [`StreamExt::all`](super::StreamExt::all).
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct AllFuture<'a, S: ?Sized, P> {
    pub(super) stream: &'a mut S,
    pub(super) predicate: P,
}
debug_borrowing!(AllFuture<P>);

impl<S: Stream + Unpin + ?Sized, P: FnMut(S::Item) -> bool> Future for AllFuture<'_, S, P> {
    type Output = bool;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        let this = self.get_mut();
        while let Some(item) = ready!(Pin::new(&mut *this.stream).poll_next(cx)) {
            if !(this.predicate)(item) {
                return Poll::Ready(false);
            }
        }
        Poll::Ready(true)
    }
}

/// Future for [`StreamExt::any`](super::StreamExt::any).
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct AnyFuture<'a, S: ?Sized, P> {
    pub(super) stream: &'a mut S,
    pub(super) predicate: P,
}
debug_borrowing!(AnyFuture<P>);

impl<S: Stream + Unpin + ?Sized, P: FnMut(S::Item) -> bool> Future for AnyFuture<'_, S, P> {
    type Output = bool;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        let this = self.get_mut();
        while let Some(item) = ready!(Pin::new(&mut *this.stream).poll_next(cx)) {
            if (this.predicate)(item) {
                return Poll::Ready(true);
            }
        }
        Poll::Ready(false)
    }
}

/// Future for [`StreamExt::try_for_each`](super::StreamExt::try_for_each).
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct TryForEachFuture<'a, S: ?Sized, F> {
    pub(super) stream: &'a mut S,
    pub(super) f: F,
}
debug_borrowing!(TryForEachFuture<F>);

impl<S, F, E> Future for TryForEachFuture<'_, S, F>
where
    S: Stream + Unpin + ?Sized,
    F: FnMut(S::Item) -> Result<(), E>,
{
    type Output = Result<(), E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), E>> {
        let this = self.get_mut();
        while let Some(item) = ready!(Pin::new(&mut *this.stream).poll_next(cx)) {
            (this.f)(item)?;
        }
        Poll::Ready(Ok(()))
    }
}

/// Future for [`StreamExt::try_fold`](super::StreamExt::try_fold).
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct TryFoldFuture<'a, S: ?Sized, F, B> {
    pub(super) stream: &'a mut S,
    pub(super) f: F,
    // The accumulator; `None` once returned.
    pub(super) acc: Option<B>,
}
debug_borrowing!(TryFoldFuture<F, B>);

impl<S, F, T, E, B> Future for TryFoldFuture<'_, S, F, B>
where
    S: Stream<Item = Result<T, E>> + Unpin + ?Sized,
    F: FnMut(B, T) -> Result<B, E>,
{
    type Output = Result<B, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<B, E>> {
        let this = self.get_mut();
        loop {
            let item = ready!(Pin::new(&mut *this.stream).poll_next(cx));
            let Some(acc) = this.acc.take() else {
                panic!("`TryFoldFuture` polled after completion");
            };
            match item {
                Some(Ok(item)) => this.acc = Some((this.f)(acc, item)?),
                Some(Err(e)) => return Poll::Ready(Err(e)),
                None => return Poll::Ready(Ok(acc)),
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// Future for [`StreamExt::try_collect`](super::StreamExt::try_collect).
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct TryCollectFuture<S, C> {
        #[pin]
        pub(super) stream: S,
        pub(super) items: C,
    }
}

impl<S, C, T, E> Future for TryCollectFuture<S, C>
where
    S: Stream<Item = Result<T, E>>,
    C: Default + Extend<T>,
{
    type Output = Result<C, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<C, E>> {
        let mut this = self.project();
        while let Some(item) = ready!(this.stream.as_mut().poll_next(cx)) {
            this.items.extend(Some(item?));
        }
        Poll::Ready(Ok(std::mem::take(this.items)))
    }
}

pin_project_lite::pin_project! {
    /// Future for [`StreamExt::partition`](super::StreamExt::partition).
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct PartitionFuture<S, P, B> {
        #[pin]
        pub(super) stream: S,
        pub(super) predicate: P,
        // The items for which the predicate said `true`, and the others.
        pub(super) parts: (B, B),
    }
}

impl<S: fmt::Debug, P, B: fmt::Debug> fmt::Debug for PartitionFuture<S, P, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartitionFuture")
            .field("stream", &self.stream)
            .field("parts", &self.parts)
            .finish_non_exhaustive()
    }
}

impl<S, P, B> Future for PartitionFuture<S, P, B>
where
    S: Stream,
    P: FnMut(&S::Item) -> bool,
    B: Default + Extend<S::Item>,
{
    type Output = (B, B);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<(B, B)> {
        let mut this = self.project();
        while let Some(item) = ready!(this.stream.as_mut().poll_next(cx)) {
            if (this.predicate)(&item) {
                this.parts.0.extend(Some(item));
            } else {
                this.parts.1.extend(Some(item));
            }
        }
        Poll::Ready(std::mem::take(this.parts))
    }
}

pin_project_lite::pin_project! {
    /// Future for [`StreamExt::unzip`](super::StreamExt::unzip).
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct UnzipFuture<S, FromA, FromB> {
        #[pin]
        pub(super) stream: S,
        pub(super) parts: (FromA, FromB),
    }
}

impl<S, A, B, FromA, FromB> Future for UnzipFuture<S, FromA, FromB>
where
    S: Stream<Item = (A, B)>,
    FromA: Default + Extend<A>,
    FromB: Default + Extend<B>,
{
    type Output = (FromA, FromB);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<(FromA, FromB)> {
        let mut this = self.project();
        while let Some((a, b)) = ready!(this.stream.as_mut().poll_next(cx)) {
            this.parts.0.extend(Some(a));
            this.parts.1.extend(Some(b));
        }
        Poll::Ready(std::mem::take(this.parts))
    }
}
