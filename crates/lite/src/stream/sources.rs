//! Stream constructors and the blocking iterator.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::{Stream, StreamExt};

/// A stream of the items of an iterator; it is always ready.
///
/// # Examples
///
/// ```
/// use solo_lite::stream::{self, StreamExt};
///
/// let v: Vec<char> = solo_lite::future::block_on(stream::iter("abc".chars()).collect());
/// assert_eq!(v, ['a', 'b', 'c']);
/// ```
pub fn iter<I: IntoIterator>(iter: I) -> Iter<I::IntoIter> {
    Iter {
        iter: iter.into_iter(),
    }
}

/// Stream for [`iter`].
#[derive(Clone, Debug)]
#[must_use = "streams do nothing unless polled"]
pub struct Iter<I> {
    iter: I,
}

impl<I> Unpin for Iter<I> {}

impl<I: Iterator> Stream for Iter<I> {
    type Item = I::Item;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<I::Item>> {
        Poll::Ready(self.iter.next())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.iter.size_hint()
    }
}

/// A stream of exactly one item.
///
/// # Examples
///
/// ```
/// use solo_lite::stream::{self, StreamExt};
///
/// let v: Vec<i32> = solo_lite::future::block_on(stream::once(7).collect());
/// assert_eq!(v, [7]);
/// ```
pub fn once<T>(item: T) -> Once<T> {
    Once { item: Some(item) }
}

/// Stream for [`once`].
#[derive(Clone, Debug)]
#[must_use = "streams do nothing unless polled"]
pub struct Once<T> {
    item: Option<T>,
}

impl<T> Unpin for Once<T> {}

impl<T> Stream for Once<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<T>> {
        Poll::Ready(self.item.take())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::from(self.item.is_some());
        (n, Some(n))
    }
}

/// A stream that ends at once, without an item.
///
/// # Examples
///
/// ```
/// use solo_lite::stream::{self, StreamExt};
///
/// assert_eq!(solo_lite::future::block_on(stream::empty::<u8>().count()), 0);
/// ```
pub fn empty<T>() -> Empty<T> {
    Empty {
        _marker: PhantomData,
    }
}

/// Stream for [`empty`].
#[must_use = "streams do nothing unless polled"]
pub struct Empty<T> {
    _marker: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for Empty<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Empty")
    }
}

impl<T> Clone for Empty<T> {
    fn clone(&self) -> Self {
        empty()
    }
}

impl<T> Stream for Empty<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<T>> {
        Poll::Ready(None)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(0))
    }
}

/// An endless stream of clones of `item`.
///
/// # Examples
///
/// ```
/// use solo_lite::stream::{self, StreamExt};
///
/// let v: Vec<&str> = solo_lite::future::block_on(stream::repeat("hi").take(2).collect());
/// assert_eq!(v, ["hi", "hi"]);
/// ```
pub fn repeat<T: Clone>(item: T) -> Repeat<T> {
    Repeat { item }
}

/// Stream for [`repeat`].
#[derive(Clone, Debug)]
#[must_use = "streams do nothing unless polled"]
pub struct Repeat<T> {
    item: T,
}

impl<T> Unpin for Repeat<T> {}

impl<T: Clone> Stream for Repeat<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<T>> {
        Poll::Ready(Some(self.item.clone()))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

/// A stream computed from a state by an async closure: `f(state)` resolves to
/// `Some((item, next_state))` to yield `item`, or `None` to end the stream.
///
/// # Examples
///
/// ```
/// use solo_lite::stream::{self, StreamExt};
///
/// let countdown = stream::unfold(3, |n| async move { (n > 0).then(|| (n, n - 1)) });
/// let v: Vec<i32> = solo_lite::future::block_on(countdown.collect());
/// assert_eq!(v, [3, 2, 1]);
/// ```
pub fn unfold<T, F, Fut, Item>(seed: T, f: F) -> Unfold<T, F, Fut>
where
    F: FnMut(T) -> Fut,
    Fut: Future<Output = Option<(Item, T)>>,
{
    Unfold {
        state: Some(seed),
        f,
        future: None,
    }
}

pin_project_lite::pin_project! {
    /// Stream for [`unfold`].
    #[must_use = "streams do nothing unless polled"]
    pub struct Unfold<T, F, Fut> {
        state: Option<T>,
        f: F,
        #[pin]
        future: Option<Fut>,
    }
}

impl<T: fmt::Debug, F, Fut> fmt::Debug for Unfold<T, F, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unfold")
            .field("state", &self.state)
            .field("running", &self.future.is_some())
            .finish_non_exhaustive()
    }
}

impl<T, F, Fut> Unfold<T, F, Fut> {
    #[allow(clippy::type_complexity)]
    fn parts(self: Pin<&mut Self>) -> (&mut Option<T>, &mut F, Pin<&mut Option<Fut>>) {
        let this = self.project();
        (this.state, this.f, this.future)
    }
}

impl<T, F, Fut, Item> Stream for Unfold<T, F, Fut>
where
    F: FnMut(T) -> Fut,
    Fut: Future<Output = Option<(Item, T)>>,
{
    type Item = Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Item>> {
        let (state, f, mut future) = self.parts();
        if let Some(seed) = state.take() {
            future.set(Some(f(seed)));
        }
        let Some(running) = future.as_mut().as_pin_mut() else {
            // The closure returned `None` earlier: the stream has ended.
            return Poll::Ready(None);
        };
        let step = crate::ready!(running.poll(cx));
        future.set(None);
        Poll::Ready(step.map(|(item, next)| {
            *state = Some(next);
            item
        }))
    }
}

/// A stream whose items come from a closure polled with the task's context: it returns
/// `Poll::Ready(Some(item))`, `Poll::Ready(None)` at the end, or `Poll::Pending` after
/// arranging for a wake.
///
/// # Examples
///
/// ```
/// use std::task::Poll;
/// use solo_lite::stream::{self, StreamExt};
///
/// let mut n = 0;
/// let s = stream::poll_fn(move |_| {
///     n += 1;
///     Poll::Ready((n <= 3).then_some(n))
/// });
/// let v: Vec<i32> = solo_lite::future::block_on(s.collect());
/// assert_eq!(v, [1, 2, 3]);
/// ```
pub fn poll_fn<T, F>(f: F) -> PollFn<F>
where
    F: FnMut(&mut Context<'_>) -> Poll<Option<T>>,
{
    PollFn { f }
}

/// Stream for [`poll_fn`].
#[derive(Clone)]
#[must_use = "streams do nothing unless polled"]
pub struct PollFn<F> {
    f: F,
}

impl<F> fmt::Debug for PollFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PollFn")
    }
}

// The closure is never pinned.
impl<F> Unpin for PollFn<F> {}

impl<T, F> Stream for PollFn<F>
where
    F: FnMut(&mut Context<'_>) -> Poll<Option<T>>,
{
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        (self.f)(cx)
    }
}

/// Turns a stream into a blocking iterator: each `next` runs
/// [`future::block_on`](crate::future::block_on) on the stream's next item.
///
/// # Examples
///
/// ```
/// use solo_lite::stream;
///
/// let squares: Vec<u32> = stream::block_on(stream::iter(1..=3)).map(|n| n * n).collect();
/// assert_eq!(squares, [1, 4, 9]);
/// ```
pub fn block_on<S: Stream + Unpin>(stream: S) -> BlockOn<S> {
    BlockOn { stream }
}

/// Iterator for [`block_on`].
#[derive(Debug)]
pub struct BlockOn<S> {
    stream: S,
}

impl<S: Stream + Unpin> Iterator for BlockOn<S> {
    type Item = S::Item;

    fn next(&mut self) -> Option<S::Item> {
        crate::future::block_on(self.stream.next())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.stream.size_hint()
    }
}
