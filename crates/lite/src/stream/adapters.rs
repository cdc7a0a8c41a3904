//! Stream adapters returned by [`StreamExt`](super::StreamExt) methods.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::Stream;
use crate::ready;
use crate::rng::Rng;

pin_project! {
    /// Stream for [`StreamExt::map`](super::StreamExt::map).
    #[derive(Clone)]
    #[must_use = "streams do nothing unless polled"]
    pub struct Map<S, F> {
        #[pin]
        pub(super) stream: S,
        pub(super) state: F,
    }
}
project_stream!(Map<S, F> => F);

impl<S: fmt::Debug, F> fmt::Debug for Map<S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map")
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

impl<S: Stream, T, F: FnMut(S::Item) -> T> Stream for Map<S, F> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let (stream, f) = self.parts();
        Poll::Ready(ready!(stream.poll_next(cx)).map(f))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.stream.size_hint()
    }
}

pin_project! {
    /// Stream for [`StreamExt::filter`](super::StreamExt::filter).
    #[derive(Clone)]
    #[must_use = "streams do nothing unless polled"]
    pub struct Filter<S, P> {
        #[pin]
        pub(super) stream: S,
        pub(super) state: P,
    }
}
project_stream!(Filter<S, P> => P);

impl<S: fmt::Debug, P> fmt::Debug for Filter<S, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Filter")
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

impl<S: Stream, P: FnMut(&S::Item) -> bool> Stream for Filter<S, P> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let (mut stream, predicate) = self.parts();
        loop {
            match ready!(stream.as_mut().poll_next(cx)) {
                Some(item) if predicate(&item) => return Poll::Ready(Some(item)),
                Some(_) => {}
                None => return Poll::Ready(None),
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, self.stream.size_hint().1)
    }
}

pin_project! {
    /// Stream for [`StreamExt::filter_map`](super::StreamExt::filter_map).
    #[derive(Clone)]
    #[must_use = "streams do nothing unless polled"]
    pub struct FilterMap<S, F> {
        #[pin]
        pub(super) stream: S,
        pub(super) state: F,
    }
}
project_stream!(FilterMap<S, F> => F);

impl<S: fmt::Debug, F> fmt::Debug for FilterMap<S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilterMap")
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

impl<S: Stream, T, F: FnMut(S::Item) -> Option<T>> Stream for FilterMap<S, F> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let (mut stream, f) = self.parts();
        loop {
            match ready!(stream.as_mut().poll_next(cx)) {
                Some(item) => {
                    if let Some(out) = f(item) {
                        return Poll::Ready(Some(out));
                    }
                }
                None => return Poll::Ready(None),
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, self.stream.size_hint().1)
    }
}

pin_project! {
    /// Stream for [`StreamExt::take`](super::StreamExt::take).
    #[derive(Clone, Debug)]
    #[must_use = "streams do nothing unless polled"]
    pub struct Take<S> {
        #[pin]
        pub(super) stream: S,
        // Items still to yield.
        pub(super) state: usize,
    }
}
project_stream!(Take<S> => usize);

impl<S: Stream> Stream for Take<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let (stream, remaining) = self.parts();
        if *remaining == 0 {
            // Done: the inner stream is not polled again.
            return Poll::Ready(None);
        }
        let item = ready!(stream.poll_next(cx));
        *remaining = if item.is_some() { *remaining - 1 } else { 0 };
        Poll::Ready(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let (lo, hi) = self.stream.size_hint();
        let n = self.state;
        (lo.min(n), Some(hi.map_or(n, |hi| hi.min(n))))
    }
}

pin_project! {
    /// Stream for [`StreamExt::skip`](super::StreamExt::skip).
    #[derive(Clone, Debug)]
    #[must_use = "streams do nothing unless polled"]
    pub struct Skip<S> {
        #[pin]
        pub(super) stream: S,
        // Items still to drop.
        pub(super) state: usize,
    }
}
project_stream!(Skip<S> => usize);

impl<S: Stream> Stream for Skip<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let (mut stream, remaining) = self.parts();
        while *remaining > 0 {
            match ready!(stream.as_mut().poll_next(cx)) {
                Some(_) => *remaining -= 1,
                None => return Poll::Ready(None),
            }
        }
        stream.poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let (lo, hi) = self.stream.size_hint();
        (
            lo.saturating_sub(self.state),
            hi.map(|hi| hi.saturating_sub(self.state)),
        )
    }
}

pin_project! {
    /// Stream for [`StreamExt::take_while`](super::StreamExt::take_while).
    #[derive(Clone)]
    #[must_use = "streams do nothing unless polled"]
    pub struct TakeWhile<S, P> {
        #[pin]
        pub(super) stream: S,
        // The predicate, or `None` once it returned `false` (the stream has ended).
        pub(super) state: Option<P>,
    }
}
project_stream!(TakeWhile<S, P> => Option<P>);

impl<S: fmt::Debug, P> fmt::Debug for TakeWhile<S, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TakeWhile")
            .field("stream", &self.stream)
            .field("done", &self.state.is_none())
            .finish()
    }
}

impl<S: Stream, P: FnMut(&S::Item) -> bool> Stream for TakeWhile<S, P> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let (stream, state) = self.parts();
        let Some(predicate) = state else {
            return Poll::Ready(None);
        };
        match ready!(stream.poll_next(cx)) {
            Some(item) if predicate(&item) => Poll::Ready(Some(item)),
            _ => {
                *state = None;
                Poll::Ready(None)
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self.state {
            Some(_) => (0, self.stream.size_hint().1),
            None => (0, Some(0)),
        }
    }
}

pin_project! {
    /// Stream for [`StreamExt::enumerate`](super::StreamExt::enumerate).
    #[derive(Clone, Debug)]
    #[must_use = "streams do nothing unless polled"]
    pub struct Enumerate<S> {
        #[pin]
        pub(super) stream: S,
        // Index of the next item.
        pub(super) state: usize,
    }
}
project_stream!(Enumerate<S> => usize);

impl<S: Stream> Stream for Enumerate<S> {
    type Item = (usize, S::Item);

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let (stream, index) = self.parts();
        let item = ready!(stream.poll_next(cx));
        Poll::Ready(item.map(|item| {
            let i = *index;
            *index += 1;
            (i, item)
        }))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.stream.size_hint()
    }
}

pin_project! {
    /// Stream for [`StreamExt::chain`](super::StreamExt::chain).
    #[derive(Clone, Debug)]
    #[must_use = "streams do nothing unless polled"]
    pub struct Chain<S1, S2> {
        #[pin]
        pub(super) stream1: S1,
        #[pin]
        pub(super) stream2: S2,
        // Whether `stream1` has ended.
        pub(super) state: bool,
    }
}
project_streams!(Chain<S1, S2> => bool);

impl<T, S1: Stream<Item = T>, S2: Stream<Item = T>> Stream for Chain<S1, S2> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let (stream1, stream2, first_done) = self.parts();
        if !*first_done {
            match ready!(stream1.poll_next(cx)) {
                Some(item) => return Poll::Ready(Some(item)),
                None => *first_done = true,
            }
        }
        stream2.poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let second = self.stream2.size_hint();
        if self.state {
            return second;
        }
        sum_hints(self.stream1.size_hint(), second)
    }
}

fn sum_hints(a: (usize, Option<usize>), b: (usize, Option<usize>)) -> (usize, Option<usize>) {
    let hi = match (a.1, b.1) {
        (Some(x), Some(y)) => x.checked_add(y),
        _ => None,
    };
    (a.0.saturating_add(b.0), hi)
}

pin_project! {
    /// Stream for [`StreamExt::zip`](super::StreamExt::zip).
    #[derive(Clone)]
    #[must_use = "streams do nothing unless polled"]
    pub struct Zip<S1: Stream, S2: Stream> {
        #[pin]
        pub(super) stream1: S1,
        #[pin]
        pub(super) stream2: S2,
        // An item of each side waiting for its partner.
        pub(super) state: (Option<S1::Item>, Option<S2::Item>),
    }
}
project_streams!(Zip<S1, S2> => (Option<S1::Item>, Option<S2::Item>) where S1: Stream, S2: Stream);

impl<S1: Stream + fmt::Debug, S2: Stream + fmt::Debug> fmt::Debug for Zip<S1, S2> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Zip")
            .field("stream1", &self.stream1)
            .field("stream2", &self.stream2)
            .finish_non_exhaustive()
    }
}

impl<S1: Stream, S2: Stream> Stream for Zip<S1, S2> {
    type Item = (S1::Item, S2::Item);

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let (stream1, stream2, (item1, item2)) = self.parts();
        // Poll both sides, so that each makes progress while the other is pending.
        if item1.is_none() {
            match stream1.poll_next(cx) {
                Poll::Ready(Some(item)) => *item1 = Some(item),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => {}
            }
        }
        if item2.is_none() {
            match stream2.poll_next(cx) {
                Poll::Ready(Some(item)) => *item2 = Some(item),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => {}
            }
        }
        match (item1.take(), item2.take()) {
            (Some(a), Some(b)) => Poll::Ready(Some((a, b))),
            (a, b) => {
                (*item1, *item2) = (a, b);
                Poll::Pending
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let side = |(lo, hi): (usize, Option<usize>), waiting: bool| {
            let w = usize::from(waiting);
            (lo.saturating_add(w), hi.and_then(|hi| hi.checked_add(w)))
        };
        let (lo1, hi1) = side(self.stream1.size_hint(), self.state.0.is_some());
        let (lo2, hi2) = side(self.stream2.size_hint(), self.state.1.is_some());
        let hi = match (hi1, hi2) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, None) | (None, x) => x,
        };
        (lo1.min(lo2), hi)
    }
}

/// Merges two streams, *biased* to the first: the function form of
/// [`StreamExt::or`](super::StreamExt::or).
///
/// # Examples
///
/// ```
/// use solo_lite::stream::{self, StreamExt};
///
/// let v: Vec<i32> = solo_lite::future::block_on(
///     stream::or(stream::iter([1, 2]), stream::iter([10])).collect(),
/// );
/// assert_eq!(v, [1, 2, 10]);
/// ```
pub fn or<T, S1, S2>(stream1: S1, stream2: S2) -> Or<S1, S2>
where
    S1: Stream<Item = T>,
    S2: Stream<Item = T>,
{
    Or {
        stream1,
        stream2,
        state: (false, false),
    }
}

/// Merges two streams *fairly* (a random pick of the side polled first, on every poll): the
/// function form of [`StreamExt::race`](super::StreamExt::race).
///
/// # Examples
///
/// ```
/// use solo_lite::stream::{self, StreamExt};
///
/// let mut v: Vec<i32> = solo_lite::future::block_on(
///     stream::race(stream::iter([1, 2]), stream::iter([10])).collect(),
/// );
/// v.sort();
/// assert_eq!(v, [1, 2, 10]);
/// ```
pub fn race<T, S1, S2>(stream1: S1, stream2: S2) -> Race<S1, S2>
where
    S1: Stream<Item = T>,
    S2: Stream<Item = T>,
{
    Race {
        stream1,
        stream2,
        state: (false, false, Rng::thread()),
    }
}

/// [`race`] with its own generator started from `seed`: the same seed gives the same
/// interleaving of two always-ready streams, which makes a test reproducible.
///
/// # Examples
///
/// ```
/// use solo_lite::stream::{self, StreamExt};
///
/// let merge = |seed| -> Vec<i32> {
///     solo_lite::future::block_on(
///         stream::race_with_seed(stream::iter([1, 2, 3]), stream::iter([10, 20]), seed).collect(),
///     )
/// };
/// assert_eq!(merge(7), merge(7));
/// assert_eq!(merge(7).len(), 5);
/// ```
pub fn race_with_seed<T, S1, S2>(stream1: S1, stream2: S2, seed: u64) -> Race<S1, S2>
where
    S1: Stream<Item = T>,
    S2: Stream<Item = T>,
{
    Race {
        stream1,
        stream2,
        state: (false, false, Rng::with_seed(seed)),
    }
}

pin_project! {
    /// Stream for [`StreamExt::or`](super::StreamExt::or) and [`or`].
    #[derive(Clone, Debug)]
    #[must_use = "streams do nothing unless polled"]
    pub struct Or<S1, S2> {
        #[pin]
        pub(super) stream1: S1,
        #[pin]
        pub(super) stream2: S2,
        // Which sides have ended.
        pub(super) state: (bool, bool),
    }
}
project_streams!(Or<S1, S2> => (bool, bool));

pin_project! {
    /// Stream for [`StreamExt::race`](super::StreamExt::race), [`race`] and
    /// [`race_with_seed`].
    #[derive(Clone, Debug)]
    #[must_use = "streams do nothing unless polled"]
    pub struct Race<S1, S2> {
        #[pin]
        pub(super) stream1: S1,
        #[pin]
        pub(super) stream2: S2,
        // Which sides have ended, and the generator that picks the side to poll first.
        pub(super) state: (bool, bool, Rng),
    }
}
project_streams!(Race<S1, S2> => (bool, bool, Rng));

/// Polls one side of a merge unless it has ended: `Some(item)` to yield, `None` otherwise.
fn poll_side<S: Stream>(
    stream: Pin<&mut S>,
    done: &mut bool,
    cx: &mut Context<'_>,
) -> Option<S::Item> {
    if *done {
        return None;
    }
    match stream.poll_next(cx) {
        Poll::Ready(Some(item)) => Some(item),
        Poll::Ready(None) => {
            *done = true;
            None
        }
        Poll::Pending => None,
    }
}

/// Merges two streams, polling `first` first; ends once both have ended.
fn poll_merge<T, A: Stream<Item = T>, B: Stream<Item = T>>(
    a: (Pin<&mut A>, &mut bool),
    b: (Pin<&mut B>, &mut bool),
    cx: &mut Context<'_>,
) -> Poll<Option<T>> {
    if let Some(item) = poll_side(a.0, a.1, cx) {
        return Poll::Ready(Some(item));
    }
    if let Some(item) = poll_side(b.0, b.1, cx) {
        return Poll::Ready(Some(item));
    }
    if *a.1 && *b.1 {
        Poll::Ready(None)
    } else {
        Poll::Pending
    }
}

impl<T, S1: Stream<Item = T>, S2: Stream<Item = T>> Stream for Or<S1, S2> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let (stream1, stream2, (done1, done2)) = self.parts();
        poll_merge((stream1, done1), (stream2, done2), cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        merged_hint(&self.stream1, &self.stream2, self.state)
    }
}

impl<T, S1: Stream<Item = T>, S2: Stream<Item = T>> Stream for Race<S1, S2> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let (stream1, stream2, (done1, done2, rng)) = self.parts();
        if rng.bool() {
            poll_merge((stream1, done1), (stream2, done2), cx)
        } else {
            poll_merge((stream2, done2), (stream1, done1), cx)
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        merged_hint(&self.stream1, &self.stream2, (self.state.0, self.state.1))
    }
}

fn merged_hint<A: Stream, B: Stream>(a: &A, b: &B, done: (bool, bool)) -> (usize, Option<usize>) {
    let hint = |s: (usize, Option<usize>), done: bool| if done { (0, Some(0)) } else { s };
    sum_hints(hint(a.size_hint(), done.0), hint(b.size_hint(), done.1))
}
