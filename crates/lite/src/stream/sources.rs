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

/// A stream that never yields an item and never ends: it is always pending.
///
/// # Examples
///
/// ```
/// use std::task::{Context, Poll, Waker};
/// use solo_lite::stream::{self, StreamExt};
///
/// let mut cx = Context::from_waker(Waker::noop());
/// let mut s = stream::pending::<i32>();
/// assert_eq!(s.poll_next(&mut cx), Poll::Pending);
/// ```
pub fn pending<T>() -> Pending<T> {
    Pending {
        _marker: PhantomData,
    }
}

/// Stream for [`pending`].
#[must_use = "streams do nothing unless polled"]
pub struct Pending<T> {
    _marker: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for Pending<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pending")
    }
}

impl<T> Clone for Pending<T> {
    fn clone(&self) -> Self {
        pending()
    }
}

impl<T> Stream for Pending<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<T>> {
        Poll::Pending
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

/// An endless stream of the values returned by `f`, called once per item.
///
/// # Examples
///
/// ```
/// use solo_lite::stream::{self, StreamExt};
///
/// let mut n = 1;
/// let powers = stream::repeat_with(move || {
///     n *= 2;
///     n
/// });
/// let v: Vec<u32> = solo_lite::future::block_on(powers.take(3).collect());
/// assert_eq!(v, [2, 4, 8]);
/// ```
pub fn repeat_with<T, F: FnMut() -> T>(f: F) -> RepeatWith<F> {
    RepeatWith { f }
}

/// Stream for [`repeat_with`].
#[derive(Clone)]
#[must_use = "streams do nothing unless polled"]
pub struct RepeatWith<F> {
    f: F,
}

impl<F> fmt::Debug for RepeatWith<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RepeatWith")
    }
}

// The closure is never pinned.
impl<F> Unpin for RepeatWith<F> {}

impl<T, F: FnMut() -> T> Stream for RepeatWith<F> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<T>> {
        Poll::Ready(Some((self.f)()))
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

/// A stream computed from a state by a fallible async closure: `f(state)` resolves to
/// `Ok(Some((item, next_state)))` to yield `Ok(item)`, `Ok(None)` to end the stream, or
/// `Err(e)` to yield `Err(e)` and then end.
///
/// # Examples
///
/// ```
/// use solo_lite::stream::{self, StreamExt};
///
/// let s = stream::try_unfold(1, |n| async move {
///     match n {
///         1..=2 => Ok(Some((n, n + 1))),
///         3 => Err("three"),
///         _ => Ok(None),
///     }
/// });
/// let v: Vec<Result<i32, &str>> = solo_lite::future::block_on(s.collect());
/// assert_eq!(v, [Ok(1), Ok(2), Err("three")]);
/// ```
pub fn try_unfold<T, E, F, Fut, Item>(seed: T, f: F) -> TryUnfold<T, F, Fut>
where
    F: FnMut(T) -> Fut,
    Fut: Future<Output = Result<Option<(Item, T)>, E>>,
{
    TryUnfold {
        state: Some(seed),
        f,
        future: None,
    }
}

pin_project_lite::pin_project! {
    /// Stream for [`try_unfold`].
    #[must_use = "streams do nothing unless polled"]
    pub struct TryUnfold<T, F, Fut> {
        state: Option<T>,
        f: F,
        #[pin]
        future: Option<Fut>,
    }
}

impl<T: fmt::Debug, F, Fut> fmt::Debug for TryUnfold<T, F, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryUnfold")
            .field("state", &self.state)
            .field("running", &self.future.is_some())
            .finish_non_exhaustive()
    }
}

impl<T, E, F, Fut, Item> Stream for TryUnfold<T, F, Fut>
where
    F: FnMut(T) -> Fut,
    Fut: Future<Output = Result<Option<(Item, T)>, E>>,
{
    type Item = Result<Item, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Item, E>>> {
        let this = self.project();
        let (state, f, mut future) = (this.state, this.f, this.future);
        if let Some(seed) = state.take() {
            future.set(Some(f(seed)));
        }
        let Some(running) = future.as_mut().as_pin_mut() else {
            // Ended, by `Ok(None)` or after an error.
            return Poll::Ready(None);
        };
        let step = crate::ready!(running.poll(cx));
        future.set(None);
        Poll::Ready(match step {
            Ok(Some((item, next))) => {
                *state = Some(next);
                Some(Ok(item))
            }
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        })
    }
}

/// A stream of one item: the output of `future`.
///
/// # Examples
///
/// ```
/// use solo_lite::stream::{self, StreamExt};
///
/// let v: Vec<i32> = solo_lite::future::block_on(stream::once_future(async { 7 }).collect());
/// assert_eq!(v, [7]);
/// ```
pub fn once_future<F: Future>(future: F) -> OnceFuture<F> {
    OnceFuture {
        future: Some(future),
    }
}

pin_project_lite::pin_project! {
    /// Stream for [`once_future`].
    #[derive(Debug)]
    #[must_use = "streams do nothing unless polled"]
    pub struct OnceFuture<F> {
        // `None` once the future has completed.
        #[pin]
        future: Option<F>,
    }
}

impl<F: Future> Stream for OnceFuture<F> {
    type Item = F::Output;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<F::Output>> {
        let mut slot = self.project().future;
        let Some(future) = slot.as_mut().as_pin_mut() else {
            return Poll::Ready(None);
        };
        let output = crate::ready!(future.poll(cx));
        slot.set(None);
        Poll::Ready(Some(output))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::from(self.future.is_some());
        (n, Some(n))
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
/// The iterator's consuming methods (`count`, `last`, `nth`, `fold`, `for_each`, `all`,
/// `any`, `find`, `find_map`, `position`) run one `block_on` over the whole operation
/// instead of one per item.
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

    fn count(self) -> usize {
        crate::future::block_on(self.stream.count())
    }

    fn last(self) -> Option<S::Item> {
        crate::future::block_on(self.stream.last())
    }

    fn nth(&mut self, n: usize) -> Option<S::Item> {
        crate::future::block_on(self.stream.nth(n))
    }

    fn fold<B, F: FnMut(B, S::Item) -> B>(self, init: B, f: F) -> B {
        crate::future::block_on(self.stream.fold(init, f))
    }

    fn for_each<F: FnMut(S::Item)>(self, f: F) {
        crate::future::block_on(self.stream.for_each(f));
    }

    fn all<F: FnMut(S::Item) -> bool>(&mut self, f: F) -> bool {
        crate::future::block_on(self.stream.all(f))
    }

    fn any<F: FnMut(S::Item) -> bool>(&mut self, f: F) -> bool {
        crate::future::block_on(self.stream.any(f))
    }

    fn find<P: FnMut(&S::Item) -> bool>(&mut self, predicate: P) -> Option<S::Item> {
        crate::future::block_on(self.stream.find(predicate))
    }

    fn find_map<B, F: FnMut(S::Item) -> Option<B>>(&mut self, f: F) -> Option<B> {
        crate::future::block_on(self.stream.find_map(f))
    }

    fn position<P: FnMut(S::Item) -> bool>(&mut self, predicate: P) -> Option<usize> {
        crate::future::block_on(self.stream.position(predicate))
    }
}
