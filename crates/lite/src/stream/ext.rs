//! [`StreamExt`]: the methods; the types they return live in the sibling modules.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::{
    AllFuture, AnyFuture, Chain, Cloned, CollectFuture, Copied, CountFuture, Cycle, Drain,
    Enumerate, Filter, FilterMap, FindFuture, FindMapFuture, FlatMap, Flatten, FoldFuture,
    ForEachFuture, Fuse, Inspect, LastFuture, Map, MapWhile, NextFuture, NthFuture, Or,
    PartitionFuture, PositionFuture, Race, Scan, Skip, SkipWhile, StepBy, Stream, Take, TakeWhile,
    Then, TryCollectFuture, TryFoldFuture, TryForEachFuture, TryNextFuture, UnzipFuture, Zip,
};
use crate::rng::Rng;

/// Extension methods for every [`Stream`].
///
/// Adapters take closures that run synchronously (`map`, `filter`, ...), as futures-lite's
/// do; for asynchronous work per item, use [`then`](StreamExt::then) or loop over
/// [`next`](StreamExt::next) in an `async` block.
///
/// Methods that borrow the stream (`next`, `nth`, `find`, `all`, `try_fold`, ...) need
/// `Self: Unpin`; pin a `!Unpin` stream first (`std::pin::pin!` or `Box::pin`).
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

    /// The next item of a stream of `Result`s, as a `Result`: `Ok(Some(item))`, `Err(e)`,
    /// or `Ok(None)` at the end. `s.try_next().await` is `s.next().await.transpose()`, made
    /// for `?`.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// solo_lite::future::block_on(async {
    ///     let mut s = stream::iter([Ok(1), Err("bad")]);
    ///     assert_eq!(s.try_next().await, Ok(Some(1)));
    ///     assert_eq!(s.try_next().await, Err("bad"));
    ///     assert_eq!(s.try_next().await, Ok(None));
    /// });
    /// ```
    fn try_next<T, E>(&mut self) -> TryNextFuture<'_, Self>
    where
        Self: Stream<Item = Result<T, E>> + Unpin,
    {
        TryNextFuture { stream: self }
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

    /// Maps each item to a stream and yields the items of those streams, one stream after
    /// the other.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// let v: Vec<char> = solo_lite::future::block_on(
    ///     stream::iter(["ab", "", "c"]).flat_map(|s| stream::iter(s.chars())).collect(),
    /// );
    /// assert_eq!(v, ['a', 'b', 'c']);
    /// ```
    fn flat_map<U, F>(self, f: F) -> FlatMap<Self, U, F>
    where
        Self: Sized,
        U: Stream,
        F: FnMut(Self::Item) -> U,
    {
        FlatMap {
            stream: self,
            inner: None,
            f,
        }
    }

    /// Yields the items of each stream this stream yields, one stream after the other.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// let nested = stream::iter([stream::iter(vec![1, 2]), stream::iter(vec![]), stream::iter(vec![3])]);
    /// let v: Vec<i32> = solo_lite::future::block_on(nested.flatten().collect());
    /// assert_eq!(v, [1, 2, 3]);
    /// ```
    fn flatten(self) -> Flatten<Self>
    where
        Self: Sized,
        Self::Item: Stream,
    {
        Flatten {
            stream: self,
            inner: None,
        }
    }

    /// Maps each item through an async closure: the stream yields the output of `f(item)`'s
    /// future once it completes, and asks for the next item only then (one future at a
    /// time, in order).
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::future;
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// let v: Vec<u32> = future::block_on(
    ///     stream::iter([1, 2, 3])
    ///         .then(|n| async move {
    ///             future::yield_now().await;
    ///             n * 10
    ///         })
    ///         .collect(),
    /// );
    /// assert_eq!(v, [10, 20, 30]);
    /// ```
    fn then<F, Fut>(self, f: F) -> Then<Self, F, Fut>
    where
        Self: Sized,
        F: FnMut(Self::Item) -> Fut,
        Fut: Future,
    {
        Then {
            stream: self,
            future: None,
            f,
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

    /// Drops items while `predicate` returns `true`, then yields the first item for which it
    /// returns `false` and every item after it (the predicate is not called again).
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// let v: Vec<i32> = solo_lite::future::block_on(
    ///     stream::iter([1, 2, 5, 1]).skip_while(|&n| n < 3).collect(),
    /// );
    /// assert_eq!(v, [5, 1]);
    /// ```
    fn skip_while<P>(self, predicate: P) -> SkipWhile<Self, P>
    where
        Self: Sized,
        P: FnMut(&Self::Item) -> bool,
    {
        SkipWhile {
            stream: self,
            predicate: Some(predicate),
        }
    }

    /// Yields the first item, then every `step`th item after it.
    ///
    /// # Panics
    ///
    /// If `step` is 0 (as futures-lite's and [`Iterator::step_by`] do).
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// let v: Vec<u32> = solo_lite::future::block_on(stream::iter(0..10).step_by(4).collect());
    /// assert_eq!(v, [0, 4, 8]);
    /// ```
    fn step_by(self, step: usize) -> StepBy<Self>
    where
        Self: Sized,
    {
        assert!(step > 0, "`step_by`: `step` must be greater than zero");
        StepBy {
            stream: self,
            step,
            skip: 0,
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

    /// Maps items through `f` while it returns `Some`; the first `None` ends the stream for
    /// that poll.
    ///
    /// Like futures-lite's, this stream is not fused: polled again after that `None`, it
    /// goes on with the next item. Call [`fuse`](StreamExt::fuse) to end it for good.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// solo_lite::future::block_on(async {
    ///     let mut s = stream::iter([1, 2, -1, 3]).map_while(|n| u32::try_from(n).ok());
    ///     assert_eq!(s.next().await, Some(1));
    ///     assert_eq!(s.next().await, Some(2));
    ///     assert_eq!(s.next().await, None);
    ///     assert_eq!(s.next().await, Some(3));
    /// });
    /// ```
    fn map_while<B, P>(self, predicate: P) -> MapWhile<Self, P>
    where
        Self: Sized,
        P: FnMut(Self::Item) -> Option<B>,
    {
        MapWhile {
            stream: self,
            predicate,
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

    /// Clones each item of a stream of references.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// let words = [String::from("a"), String::from("b")];
    /// let v: Vec<String> = solo_lite::future::block_on(stream::iter(&words).cloned().collect());
    /// assert_eq!(v, words);
    /// ```
    fn cloned<'a, T>(self) -> Cloned<Self>
    where
        Self: Stream<Item = &'a T> + Sized,
        T: Clone + 'a,
    {
        Cloned { stream: self }
    }

    /// Copies each item of a stream of references.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// let v: Vec<u8> = solo_lite::future::block_on(stream::iter(&[1, 2]).copied().collect());
    /// assert_eq!(v, [1, 2]);
    /// ```
    fn copied<'a, T>(self) -> Copied<Self>
    where
        Self: Stream<Item = &'a T> + Sized,
        T: Copy + 'a,
    {
        Copied { stream: self }
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

    /// Collects a stream of pairs into two collections.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// let (nums, chars): (Vec<i32>, String) =
    ///     solo_lite::future::block_on(stream::iter([(1, 'a'), (2, 'b')]).unzip());
    /// assert_eq!((nums, chars), (vec![1, 2], "ab".to_string()));
    /// ```
    fn unzip<A, B, FromA, FromB>(self) -> UnzipFuture<Self, FromA, FromB>
    where
        Self: Stream<Item = (A, B)> + Sized,
        FromA: Default + Extend<A>,
        FromB: Default + Extend<B>,
    {
        UnzipFuture {
            stream: self,
            parts: Default::default(),
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

    /// Folds a stream of `Result`s with a fallible closure, starting from `init`: the final
    /// accumulator, or the first error (of the stream or of `f`), after which the stream is
    /// not polled again.
    ///
    /// It borrows the stream, so the items after an error can still be read.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// solo_lite::future::block_on(async {
    ///     let mut s = stream::iter([Ok(1), Ok(2), Err("bad"), Ok(4)]);
    ///     let sum = s.try_fold(0, |acc, n| Ok(acc + n)).await;
    ///     assert_eq!(sum, Err("bad"));
    ///     assert_eq!(s.next().await, Some(Ok(4)));
    ///
    ///     let mut s = stream::iter([Ok::<u8, &str>(200), Ok(100)]);
    ///     let sum = s.try_fold(0u8, |acc, n| acc.checked_add(n).ok_or("overflow")).await;
    ///     assert_eq!(sum, Err("overflow"));
    /// });
    /// ```
    fn try_fold<T, E, F, B>(&mut self, init: B, f: F) -> TryFoldFuture<'_, Self, F, B>
    where
        Self: Stream<Item = Result<T, E>> + Unpin + Sized,
        F: FnMut(B, T) -> Result<B, E>,
    {
        TryFoldFuture {
            stream: self,
            f,
            acc: Some(init),
        }
    }

    /// Maps items through a closure that also updates a state, starting from
    /// `initial_state`; the stream ends at the first `None` the closure returns.
    ///
    /// Unlike futures-lite's, the end is final: the inner stream is not polled again after
    /// the closure returned `None` (as with [`take_while`](StreamExt::take_while)).
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// // Running totals, until they pass 5.
    /// let v: Vec<i32> = solo_lite::future::block_on(
    ///     stream::iter([1, 2, 3, 4])
    ///         .scan(0, |total, n| {
    ///             *total += n;
    ///             (*total <= 5).then_some(*total)
    ///         })
    ///         .collect(),
    /// );
    /// assert_eq!(v, [1, 3]);
    /// ```
    fn scan<St, B, F>(self, initial_state: St, f: F) -> Scan<Self, St, F>
    where
        Self: Sized,
        F: FnMut(&mut St, Self::Item) -> Option<B>,
    {
        Scan {
            stream: self,
            state: initial_state,
            f: Some(f),
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

    /// Calls a fallible closure on every item; stops at the first error and returns it.
    ///
    /// It borrows the stream, so the items after an error can still be read.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// solo_lite::future::block_on(async {
    ///     let mut seen = Vec::new();
    ///     let mut s = stream::iter(1..=5);
    ///     let r = s
    ///         .try_for_each(|n| {
    ///             if n == 3 {
    ///                 return Err(n);
    ///             }
    ///             seen.push(n);
    ///             Ok(())
    ///         })
    ///         .await;
    ///     assert_eq!((r, seen), (Err(3), vec![1, 2]));
    ///     assert_eq!(s.next().await, Some(4));
    /// });
    /// ```
    fn try_for_each<F, E>(&mut self, f: F) -> TryForEachFuture<'_, Self, F>
    where
        Self: Unpin,
        F: FnMut(Self::Item) -> Result<(), E>,
    {
        TryForEachFuture { stream: self, f }
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

    /// Collects a stream of `Result`s: the collection of the `Ok` values, or the first
    /// error (the stream is not polled after it).
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// solo_lite::future::block_on(async {
    ///     let ok: Result<Vec<i32>, &str> = stream::iter([Ok(1), Ok(2)]).try_collect().await;
    ///     assert_eq!(ok, Ok(vec![1, 2]));
    ///     let err: Result<Vec<i32>, &str> = stream::iter([Ok(1), Err("no"), Ok(3)]).try_collect().await;
    ///     assert_eq!(err, Err("no"));
    /// });
    /// ```
    fn try_collect<T, E, C>(self) -> TryCollectFuture<Self, C>
    where
        Self: Stream<Item = Result<T, E>> + Sized,
        C: Default + Extend<T>,
    {
        TryCollectFuture {
            stream: self,
            items: C::default(),
        }
    }

    /// Collects the items into two collections: those for which `predicate` returns `true`,
    /// and the others.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// let (even, odd): (Vec<i32>, Vec<i32>) =
    ///     solo_lite::future::block_on(stream::iter(1..=5).partition(|n| n % 2 == 0));
    /// assert_eq!((even, odd), (vec![2, 4], vec![1, 3, 5]));
    /// ```
    fn partition<B, P>(self, predicate: P) -> PartitionFuture<Self, P, B>
    where
        Self: Sized,
        B: Default + Extend<Self::Item>,
        P: FnMut(&Self::Item) -> bool,
    {
        PartitionFuture {
            stream: self,
            predicate,
            parts: Default::default(),
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

    /// Ends the stream for good at its first `None`: the inner stream is not polled again,
    /// and every later poll returns `None`. The result implements
    /// [`FusedStream`](futures_core::stream::FusedStream).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::task::Poll;
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// solo_lite::future::block_on(async {
    ///     // A stream that starts again after its end.
    ///     let mut n = 0;
    ///     let restarts = stream::poll_fn(move |_| {
    ///         n += 1;
    ///         Poll::Ready((n % 2 == 1).then_some(n))
    ///     });
    ///     let mut s = restarts.fuse();
    ///     assert_eq!(s.next().await, Some(1));
    ///     assert_eq!(s.next().await, None);
    ///     assert_eq!(s.next().await, None);
    /// });
    /// ```
    fn fuse(self) -> Fuse<Self>
    where
        Self: Sized,
    {
        Fuse {
            stream: self,
            done: false,
        }
    }

    /// Repeats the stream forever: at its end, it starts again from a clone of the stream as
    /// it was when `cycle` was called. An empty stream stays empty.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// let v: Vec<i32> = solo_lite::future::block_on(stream::iter([1, 2]).cycle().take(5).collect());
    /// assert_eq!(v, [1, 2, 1, 2, 1]);
    /// ```
    fn cycle(self) -> Cycle<Self>
    where
        Self: Clone + Sized,
    {
        Cycle {
            orig: self.clone(),
            stream: self,
        }
    }

    /// Calls `f` on a reference to each item, then passes the item on.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// let mut seen = Vec::new();
    /// let sum = solo_lite::future::block_on(
    ///     stream::iter(1..=4)
    ///         .inspect(|n| seen.push(*n))
    ///         .filter(|n| n % 2 == 0)
    ///         .fold(0, |a, b| a + b),
    /// );
    /// assert_eq!((sum, seen), (6, vec![1, 2, 3, 4]));
    /// ```
    fn inspect<F>(self, f: F) -> Inspect<Self, F>
    where
        Self: Sized,
        F: FnMut(&Self::Item),
    {
        Inspect { stream: self, f }
    }

    /// The `n`th item (counting from 0), consuming the `n + 1` first items; `None` if the
    /// stream ends first.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// solo_lite::future::block_on(async {
    ///     let mut s = stream::iter('a'..='e');
    ///     assert_eq!(s.nth(1).await, Some('b'));
    ///     assert_eq!(s.nth(0).await, Some('c'));
    ///     assert_eq!(s.nth(5).await, None);
    /// });
    /// ```
    fn nth(&mut self, n: usize) -> NthFuture<'_, Self>
    where
        Self: Unpin,
    {
        NthFuture { stream: self, n }
    }

    /// The last item, consuming the stream; `None` if it is empty.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// assert_eq!(solo_lite::future::block_on(stream::iter(1..=3).last()), Some(3));
    /// assert_eq!(solo_lite::future::block_on(stream::empty::<u8>().last()), None);
    /// ```
    fn last(self) -> LastFuture<Self>
    where
        Self: Sized,
    {
        LastFuture {
            stream: self,
            last: None,
        }
    }

    /// The first item for which `predicate` returns `true`; the items before it are
    /// consumed, the ones after it are left in the stream.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// solo_lite::future::block_on(async {
    ///     let mut s = stream::iter([1, 4, 6, 7]);
    ///     assert_eq!(s.find(|n| n % 2 == 0).await, Some(4));
    ///     assert_eq!(s.find(|n| n % 2 == 0).await, Some(6));
    ///     assert_eq!(s.find(|n| n % 2 == 0).await, None);
    /// });
    /// ```
    fn find<P>(&mut self, predicate: P) -> FindFuture<'_, Self, P>
    where
        Self: Unpin,
        P: FnMut(&Self::Item) -> bool,
    {
        FindFuture {
            stream: self,
            predicate,
        }
    }

    /// The first `Some` that `f` returns for an item.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// solo_lite::future::block_on(async {
    ///     let mut s = stream::iter(["x", "12", "y", "7"]);
    ///     assert_eq!(s.find_map(|w| w.parse::<u8>().ok()).await, Some(12));
    ///     assert_eq!(s.find_map(|w| w.parse::<u8>().ok()).await, Some(7));
    /// });
    /// ```
    fn find_map<F, B>(&mut self, f: F) -> FindMapFuture<'_, Self, F>
    where
        Self: Unpin,
        F: FnMut(Self::Item) -> Option<B>,
    {
        FindMapFuture { stream: self, f }
    }

    /// The index of the first item for which `predicate` returns `true`, counted from the
    /// stream's current position.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// solo_lite::future::block_on(async {
    ///     let mut s = stream::iter([3, 5, 8, 9, 10]);
    ///     assert_eq!(s.position(|n| n % 2 == 0).await, Some(2));
    ///     assert_eq!(s.position(|n| n % 2 == 0).await, Some(1));
    ///     assert_eq!(s.position(|n| n > 100).await, None);
    /// });
    /// ```
    fn position<P>(&mut self, predicate: P) -> PositionFuture<'_, Self, P>
    where
        Self: Unpin,
        P: FnMut(Self::Item) -> bool,
    {
        PositionFuture {
            stream: self,
            predicate,
            index: 0,
        }
    }

    /// Whether `predicate` returns `true` for every item; stops at the first `false`.
    /// `true` for an empty stream.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// solo_lite::future::block_on(async {
    ///     assert!(stream::iter([2, 4]).all(|n| n % 2 == 0).await);
    ///     assert!(!stream::iter([2, 3]).all(|n| n % 2 == 0).await);
    ///     assert!(stream::empty::<i32>().all(|_| false).await);
    /// });
    /// ```
    fn all<P>(&mut self, predicate: P) -> AllFuture<'_, Self, P>
    where
        Self: Unpin,
        P: FnMut(Self::Item) -> bool,
    {
        AllFuture {
            stream: self,
            predicate,
        }
    }

    /// Whether `predicate` returns `true` for some item; stops at the first `true`.
    /// `false` for an empty stream.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// solo_lite::future::block_on(async {
    ///     assert!(stream::iter([1, 4]).any(|n| n % 2 == 0).await);
    ///     assert!(!stream::iter([1, 3]).any(|n| n % 2 == 0).await);
    ///     assert!(!stream::empty::<i32>().any(|_| true).await);
    /// });
    /// ```
    fn any<P>(&mut self, predicate: P) -> AnyFuture<'_, Self, P>
    where
        Self: Unpin,
        P: FnMut(Self::Item) -> bool,
    {
        AnyFuture {
            stream: self,
            predicate,
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
            state: (false, false, Rng::thread()),
        }
    }

    /// A stream of the items that are ready *now*: it ends (`None`) at the first poll on
    /// which this stream is pending, instead of waiting. Handy to empty a channel's backlog
    /// without waiting for more, like `std::sync::mpsc::Receiver::try_iter`.
    ///
    /// It is not fused: polled again later, it yields whatever has become ready.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::future;
    /// use solo_lite::stream::{self, StreamExt};
    ///
    /// future::block_on(async {
    ///     let s = stream::iter([1, 2]).chain(stream::once_future(async {
    ///         future::yield_now().await;
    ///         3
    ///     }));
    ///     let mut s = std::pin::pin!(s);
    ///     let now: Vec<i32> = s.drain().collect().await;
    ///     assert_eq!(now, [1, 2]);
    ///     // The rest arrives later.
    ///     assert_eq!(s.next().await, Some(3));
    /// });
    /// ```
    fn drain(&mut self) -> Drain<'_, Self> {
        Drain { stream: self }
    }

    /// Boxes the stream and erases its type; it must be `Send`. A `'static` stream gives a
    /// [`Boxed`](super::Boxed); one that borrows keeps its lifetime `'a`.
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
    fn boxed<'a>(self) -> Pin<Box<dyn Stream<Item = Self::Item> + Send + 'a>>
    where
        Self: Sized + Send + 'a,
    {
        Box::pin(self)
    }

    /// Boxes the stream and erases its type; it need not be `Send`. A `'static` stream gives
    /// a [`BoxedLocal`](super::BoxedLocal); one that borrows keeps its lifetime `'a`.
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
    fn boxed_local<'a>(self) -> Pin<Box<dyn Stream<Item = Self::Item> + 'a>>
    where
        Self: Sized + 'a,
    {
        Box::pin(self)
    }
}

impl<S: Stream + ?Sized> StreamExt for S {}
