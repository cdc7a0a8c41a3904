//! Streams: constructors, [`block_on`] as an iterator, and [`StreamExt`].
//!
//! [`Stream`] is `futures-core`'s trait, so these combinators work on any stream of the
//! ecosystem and their results work with any other stream library.
//!
//! | constructor | stream |
//! |---|---|
//! | [`iter`] | the items of an iterator |
//! | [`once`] | one item |
//! | [`empty`] | no item |
//! | [`repeat`] | one item, cloned forever |
//! | [`unfold`] | items computed by an async closure from a state |
//! | [`poll_fn`] | items from a polling closure |
//!
//! As with futures, [`or`](StreamExt::or) is *biased* to its first stream and
//! [`race`](StreamExt::race) is *fair*.
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
mod ext;
mod sources;

pub use self::adapters::{
    Chain, Enumerate, Filter, FilterMap, Map, Or, Race, Skip, Take, TakeWhile, Zip,
};
pub use self::ext::{CollectFuture, CountFuture, FoldFuture, ForEachFuture, NextFuture, StreamExt};
pub use self::sources::{
    BlockOn, Empty, Iter, Once, PollFn, Repeat, Unfold, block_on, empty, iter, once, poll_fn,
    repeat, unfold,
};
pub use futures_core::stream::Stream;

/// A boxed, type-erased stream that is `Send`: what [`StreamExt::boxed`] returns.
pub type Boxed<T> = Pin<Box<dyn Stream<Item = T> + Send + 'static>>;

/// A boxed, type-erased stream that need not be `Send`: what [`StreamExt::boxed_local`]
/// returns.
pub type BoxedLocal<T> = Pin<Box<dyn Stream<Item = T> + 'static>>;

#[cfg(test)]
mod tests;
