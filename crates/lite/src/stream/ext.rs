//! [`StreamExt`] and the futures its consuming methods return.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::adapters::{
    Chain, Enumerate, Filter, FilterMap, Map, Or, Race, Skip, Take, TakeWhile, Zip,
};
use super::{Boxed, BoxedLocal, Stream};
use crate::ready;

/// Extension methods for every [`Stream`].
///
/// Adapters take closures that run synchronously (`map`, `filter`, ...); for asynchronous
/// work per item, loop over [`next`](StreamExt::next) in an `async` block.
pub trait StreamExt: Stream {
    /// Polls an `Unpin` stream for its next item, without pinning it by hand.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::task::{Context, Poll, Waker};
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// let mut cx = Context::from_waker(Waker::noop());
    /// let mut s = stream::once(1);
    /// assert_eq!(s.poll_next(&mut cx), Poll::Ready(Some(1)));
    /// assert_eq!(s.poll_next(&mut cx), Poll::Ready(None));
    /// ```
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Self::Item>>
    where
        Self: Unpin,
    {
        Pin::new(self).poll_next(cx)
    }

    /// The next item, or `None` when the stream has ended.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// solo_lite::future::block_on(async {
    ///     let mut s = stream::iter([1, 2]);
    ///     assert_eq!(s.next().await, Some(1));
    ///     assert_eq!(s.next().await, Some(2));
    ///     assert_eq!(s.next().await, None);
    /// });
    /// ```
    fn next(&mut self) -> NextFuture<'_, Self>
    where
        Self: Unpin,
    {
        NextFuture { stream: self }
    }

    /// Maps each item through `f`.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// let v: Vec<i32> = solo_lite::future::block_on(stream::iter([1, 2]).map(|n| -n).collect());
    /// assert_eq!(v, [-1, -2]);
    /// ```
    fn map<T, F>(self, f: F) -> Map<Self, F>
    where
        Self: Sized,
        F: FnMut(Self::Item) -> T,
    {
        Map {
            stream: self,
            state: f,
        }
    }

    /// Keeps the items for which `predicate` returns `true`.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// let v: Vec<i32> = solo_lite::future::block_on(
    ///     stream::iter(1..=6).filter(|n| n % 3 == 0).collect(),
    /// );
    /// assert_eq!(v, [3, 6]);
    /// ```
    fn filter<P>(self, predicate: P) -> Filter<Self, P>
    where
        Self: Sized,
        P: FnMut(&Self::Item) -> bool,
    {
        Filter {
            stream: self,
            state: predicate,
        }
    }

    /// Maps each item through `f` and keeps the `Some` results.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// let v: Vec<u8> = solo_lite::future::block_on(
    ///     stream::iter(["1", "x", "3"]).filter_map(|s| s.parse::<u8>().ok()).collect(),
    /// );
    /// assert_eq!(v, [1, 3]);
    /// ```
    fn filter_map<T, F>(self, f: F) -> FilterMap<Self, F>
    where
        Self: Sized,
        F: FnMut(Self::Item) -> Option<T>,
    {
        FilterMap {
            stream: self,
            state: f,
        }
    }

    /// The first `n` items; the stream is not polled again once they have been yielded.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// let v: Vec<u32> = solo_lite::future::block_on(stream::repeat(7).take(2).collect());
    /// assert_eq!(v, [7, 7]);
    /// ```
    fn take(self, n: usize) -> Take<Self>
    where
        Self: Sized,
    {
        Take {
            stream: self,
            state: n,
        }
    }

    /// Drops the first `n` items, then yields the rest.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// let v: Vec<u32> = solo_lite::future::block_on(stream::iter(1..=4).skip(2).collect());
    /// assert_eq!(v, [3, 4]);
    /// ```
    fn skip(self, n: usize) -> Skip<Self>
    where
        Self: Sized,
    {
        Skip {
            stream: self,
            state: n,
        }
    }

    /// Yields items while `predicate` returns `true`, and ends at the first item for which it
    /// returns `false` (that item is dropped).
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// let v: Vec<u32> = solo_lite::future::block_on(
    ///     stream::iter([1, 2, 9, 3]).take_while(|&n| n < 5).collect(),
    /// );
    /// assert_eq!(v, [1, 2]);
    /// ```
    fn take_while<P>(self, predicate: P) -> TakeWhile<Self, P>
    where
        Self: Sized,
        P: FnMut(&Self::Item) -> bool,
    {
        TakeWhile {
            stream: self,
            state: Some(predicate),
        }
    }

    /// Pairs each item with its index, counting from 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// let v: Vec<(usize, char)> = solo_lite::future::block_on(
    ///     stream::iter(['a', 'b']).enumerate().collect(),
    /// );
    /// assert_eq!(v, [(0, 'a'), (1, 'b')]);
    /// ```
    fn enumerate(self) -> Enumerate<Self>
    where
        Self: Sized,
    {
        Enumerate {
            stream: self,
            state: 0,
        }
    }

    /// The items of `self`, then those of `other`.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// let v: Vec<i32> = solo_lite::future::block_on(
    ///     stream::iter([1, 2]).chain(stream::once(3)).collect(),
    /// );
    /// assert_eq!(v, [1, 2, 3]);
    /// ```
    fn chain<S>(self, other: S) -> Chain<Self, S>
    where
        Self: Sized,
        S: Stream<Item = Self::Item>,
    {
        Chain {
            stream1: self,
            stream2: other,
            state: false,
        }
    }

    /// Pairs the items of `self` and `other`; ends when either ends.
    ///
    /// Both streams are polled on every poll, so each makes progress while the other waits.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// let v: Vec<(i32, char)> = solo_lite::future::block_on(
    ///     stream::iter([1, 2, 3]).zip(stream::iter(['a', 'b'])).collect(),
    /// );
    /// assert_eq!(v, [(1, 'a'), (2, 'b')]);
    /// ```
    fn zip<S>(self, other: S) -> Zip<Self, S>
    where
        Self: Sized,
        S: Stream,
    {
        Zip {
            stream1: self,
            stream2: other,
            state: (None, None),
        }
    }

    /// Folds every item into an accumulator, starting from `init`.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// let sum = solo_lite::future::block_on(stream::iter(1..=4).fold(0, |acc, n| acc + n));
    /// assert_eq!(sum, 10);
    /// ```
    fn fold<T, F>(self, init: T, f: F) -> FoldFuture<Self, F, T>
    where
        Self: Sized,
        F: FnMut(T, Self::Item) -> T,
    {
        FoldFuture {
            stream: self,
            state: (f, Some(init)),
        }
    }

    /// Calls `f` on every item.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// let mut seen = Vec::new();
    /// solo_lite::future::block_on(stream::iter([1, 2]).for_each(|n| seen.push(n)));
    /// assert_eq!(seen, [1, 2]);
    /// ```
    fn for_each<F>(self, f: F) -> ForEachFuture<Self, F>
    where
        Self: Sized,
        F: FnMut(Self::Item),
    {
        ForEachFuture {
            stream: self,
            state: f,
        }
    }

    /// Collects every item into a collection (anything that is `Default + Extend`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::collections::BTreeSet;
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// let set: BTreeSet<i32> = solo_lite::future::block_on(stream::iter([3, 1, 3]).collect());
    /// assert_eq!(set.into_iter().collect::<Vec<_>>(), [1, 3]);
    /// ```
    fn collect<C>(self) -> CollectFuture<Self, C>
    where
        Self: Sized,
        C: Default + Extend<Self::Item>,
    {
        CollectFuture {
            stream: self,
            state: C::default(),
        }
    }

    /// Counts the items, consuming the stream.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// assert_eq!(solo_lite::future::block_on(stream::iter("four".chars()).count()), 4);
    /// ```
    fn count(self) -> CountFuture<Self>
    where
        Self: Sized,
    {
        CountFuture {
            stream: self,
            state: 0,
        }
    }

    /// Merges `self` and `other`, *biased* to `self`: on every poll `self` is polled first,
    /// and `other` only if `self` has no item ready. Ends when both have ended.
    ///
    /// An always-ready `self` starves `other`; use [`race`](StreamExt::race) to be fair.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// let v: Vec<i32> = solo_lite::future::block_on(
    ///     stream::iter([1, 2]).or(stream::iter([10, 20])).collect(),
    /// );
    /// assert_eq!(v, [1, 2, 10, 20]);
    /// ```
    fn or<S>(self, other: S) -> Or<Self, S>
    where
        Self: Sized,
        S: Stream<Item = Self::Item>,
    {
        Or {
            stream1: self,
            stream2: other,
            state: (false, false),
        }
    }

    /// Merges `self` and `other` *fairly*: on every poll a random bit decides which stream
    /// is polled first. Ends when both have ended.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// let mut v: Vec<i32> = solo_lite::future::block_on(
    ///     stream::iter([1, 2]).race(stream::iter([10, 20])).collect(),
    /// );
    /// v.sort();
    /// assert_eq!(v, [1, 2, 10, 20]);
    /// ```
    fn race<S>(self, other: S) -> Race<Self, S>
    where
        Self: Sized,
        S: Stream<Item = Self::Item>,
    {
        Race {
            stream1: self,
            stream2: other,
            state: (false, false),
        }
    }

    /// Boxes the stream and erases its type; it must be `Send`.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, Boxed, StreamExt};
    ///
    /// let streams: Vec<Boxed<i32>> = vec![stream::once(1).boxed(), stream::iter([2, 3]).boxed()];
    /// let n: usize = streams.into_iter().map(|s| solo_lite::future::block_on(s.count())).sum();
    /// assert_eq!(n, 3);
    /// ```
    fn boxed(self) -> Boxed<Self::Item>
    where
        Self: Sized + Send + 'static,
    {
        Box::pin(self)
    }

    /// Boxes the stream and erases its type; it need not be `Send`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    /// use solo_lite::stream::{self, BoxedLocal, StreamExt};
    ///
    /// let s: BoxedLocal<Rc<u8>> = stream::once(Rc::new(1)).boxed_local();
    /// assert_eq!(solo_lite::future::block_on(s.count()), 1);
    /// ```
    fn boxed_local(self) -> BoxedLocal<Self::Item>
    where
        Self: Sized + 'static,
    {
        Box::pin(self)
    }
}

impl<S: Stream + ?Sized> StreamExt for S {}

/// Future for [`StreamExt::next`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct NextFuture<'a, S: ?Sized> {
    stream: &'a mut S,
}

impl<S: Stream + Unpin + ?Sized> Future for NextFuture<'_, S> {
    type Output = Option<S::Item>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        Pin::new(&mut *self.stream).poll_next(cx)
    }
}

pin_project_lite::pin_project! {
    /// Future for [`StreamExt::fold`].
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct FoldFuture<S, F, T> {
        #[pin]
        stream: S,
        // The closure and the accumulator (`None` once returned).
        state: (F, Option<T>),
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
    /// Future for [`StreamExt::for_each`].
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct ForEachFuture<S, F> {
        #[pin]
        stream: S,
        state: F,
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
    /// Future for [`StreamExt::collect`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct CollectFuture<S, C> {
        #[pin]
        stream: S,
        state: C,
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
    /// Future for [`StreamExt::count`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct CountFuture<S> {
        #[pin]
        stream: S,
        state: usize,
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
