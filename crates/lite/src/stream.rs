//! Streams: constructors, [`block_on`] as an iterator, and [`StreamExt`].
//!
//! [`Stream`] is `futures-core`'s trait, so these combinators work on any stream of the
//! ecosystem and their results work with any other stream library.
//!
//! | constructor | stream |
//! |---|---|
//! | [`iter`] | the items of an iterator |
//! | [`once`], [`once_future`] | one item, or the output of one future |
//! | [`empty`], [`pending`] | no item: ended at once, or never ending |
//! | [`repeat`], [`repeat_with`] | one item cloned forever, or a closure's values forever |
//! | [`unfold`], [`try_unfold`] | items computed by an async closure from a state |
//! | [`poll_fn`] | items from a polling closure |
//! | [`or`], [`race`], [`race_with_seed`], [`stop_after_future`] | two streams merged; a stream cut short by a future |
//!
//! [`StreamExt`] has futures-lite's adapters and consumers, with the same names and
//! behaviour (where solo-lite differs, the method's documentation says so). As with futures,
//! [`or`](StreamExt::or) is *biased* to its first stream and [`race`](StreamExt::race) is
//! *fair*. [`block_on`] turns a stream into a blocking iterator.
//!
//! ```
//! use solo_lite::stream::{self, StreamExt};
//!
//! let v: Vec<u32> = solo_lite::future::block_on(
//!     stream::iter(1..)
//!         .filter(|n| n % 2 == 1)
//!         .map(|n| n * n)
//!         .take(3)
//!         .collect(),
//! );
//! assert_eq!(v, [1, 9, 25]);
//! ```

use std::pin::Pin;

/// Writes `parts()`, the pin projection of a type with fields `stream: S` (structurally
/// pinned, `#[pin]` in its `pin_project!`) and `state` (not pinned), as a pair.
macro_rules! project_stream {
    ($ty:ident<$($param:ident),+> => $state:ty $(where $($bound:tt)+)?) => {
        impl<$($param),+> $ty<$($param),+> $(where $($bound)+)? {
            fn parts(self: Pin<&mut Self>) -> (Pin<&mut S>, &mut $state) {
                let this = self.project();
                (this.stream, this.state)
            }
        }
    };
}

/// Writes `parts()`, the pin projection of a type with fields `stream1: S1` and
/// `stream2: S2` (structurally pinned) and `state` (not pinned), as a triple.
macro_rules! project_streams {
    ($ty:ident<$($param:ident),+> => $state:ty $(where $($bound:tt)+)?) => {
        impl<$($param),+> $ty<$($param),+> $(where $($bound)+)? {
            #[allow(clippy::type_complexity)]
            fn parts(self: Pin<&mut Self>) -> (Pin<&mut S1>, Pin<&mut S2>, &mut $state) {
                let this = self.project();
                (this.stream1, this.stream2, this.state)
            }
        }
    };
}

mod adapters;
mod consumers;
mod ext;
mod nested;
mod sources;
mod transform;

pub use self::adapters::{
    Chain, Enumerate, Filter, FilterMap, Map, Or, Race, Skip, Take, TakeWhile, Zip, or, race,
    race_with_seed,
};
pub use self::consumers::{
    AllFuture, AnyFuture, CollectFuture, CountFuture, FindFuture, FindMapFuture, FoldFuture,
    ForEachFuture, LastFuture, NextFuture, NthFuture, PartitionFuture, PositionFuture,
    TryCollectFuture, TryFoldFuture, TryForEachFuture, TryNextFuture, UnzipFuture,
};
pub use self::ext::StreamExt;
pub use self::nested::{FlatMap, Flatten, Then};
pub use self::sources::{
    BlockOn, Empty, Iter, Once, OnceFuture, Pending, PollFn, Repeat, RepeatWith, TryUnfold, Unfold,
    block_on, empty, iter, once, once_future, pending, poll_fn, repeat, repeat_with, try_unfold,
    unfold,
};
pub use self::transform::{
    Cloned, Copied, Cycle, Drain, Fuse, Inspect, MapWhile, Scan, SkipWhile, StepBy,
    StopAfterFuture, stop_after_future,
};
pub use futures_core::stream::FusedStream;
pub use futures_core::stream::Stream;

/// A boxed, type-erased stream that is `Send`: what [`StreamExt::boxed`] returns.
pub type Boxed<T> = Pin<Box<dyn Stream<Item = T> + Send + 'static>>;

/// A boxed, type-erased stream that need not be `Send`: what [`StreamExt::boxed_local`]
/// returns.
pub type BoxedLocal<T> = Pin<Box<dyn Stream<Item = T> + 'static>>;

#[cfg(test)]
mod tests;
