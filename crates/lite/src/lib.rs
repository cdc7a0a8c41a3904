//! Futures, streams and async I/O helpers over the ecosystem's standard traits.
//!
//! `solo-lite` is solo's small toolbox: [`block_on`](future::block_on), combinators for
//! futures ([`future`]) and streams ([`stream`]), and async I/O helpers ([`io`]). It is
//! built on [`futures_core::Stream`] and the [`futures_io`] traits, so anything written for
//! `futures-io` (or `futures`, `smol`, `async-std`) works with solo-lite's extension traits,
//! and solo-lite's readers and writers work with theirs. The traits and their extension
//! traits are re-exported at the root (as in futures-lite), so that users need not name
//! those crates: `use solo_lite::{AsyncReadExt, StreamExt};`.
//!
//! The API follows futures-lite's, name for name: a program ported from futures-lite finds
//! the same functions, methods and types here. `FEATURES.md` at the repository root maps
//! each of them, and lists the few differences.
//!
//! # Example
//!
//! ```
//! use solo_lite::prelude::*;
//! use solo_lite::{future, io, stream};
//!
//! let total = future::block_on(async {
//!     // I/O: read lines through a buffered reader.
//!     let reader = io::BufReader::new(io::Cursor::new(&b"1\n2\n3\n"[..]));
//!     let lines: Vec<String> = reader.lines().map(|l| l.unwrap()).collect().await;
//!
//!     // Streams: parse, filter and fold.
//!     let sum = stream::iter(lines)
//!         .filter_map(|l| l.parse::<u32>().ok())
//!         .fold(0, |acc, n| acc + n)
//!         .await;
//!
//!     // Futures: run two at once.
//!     let (a, b) = future::zip(async { sum }, async { 10 }).await;
//!     a + b
//! });
//! assert_eq!(total, 16);
//! ```
//!
//! # Names carry semantics
//!
//! - [`or`](future::or) is *biased*: it polls its first operand first, every time.
//! - [`race`](future::race) is *fair*: it picks the operand to poll first at random on
//!   every poll (a thread-local wyrand generator, seeded once per thread from std's
//!   `RandomState`), so neither side can starve the other.
//!
//! # Intentional occlusions
//!
//! Like `futures-lite`, this crate leaves out what `async`/`await` already expresses well
//! (future combinators such as `FutureExt::map`/`then`/`and_then`, `TryFutureExt`,
//! `select!`, the `Sink` trait), and anything needing threads or locks: it is meant for
//! solo's single pinned thread. [`io::split`] hands out `!Send` halves, where futures-lite's
//! share a mutex.
//!
//! # Unsafe code
//!
//! None of its own: the pin projections are written by `pin-project-lite` (as in
//! futures-lite and tokio), and [`future::block_on`] is safe code over
//! [`std::thread::park`] and [`std::task::Wake`].
#![forbid(unsafe_code)]

pub mod future;
pub mod io;
pub mod prelude;
pub mod stream;

mod rng;

pub use crate::future::{Future, FutureExt};
pub use crate::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncSeek, AsyncSeekExt, AsyncWrite,
    AsyncWriteExt,
};
pub use crate::stream::{Stream, StreamExt};

/// Pins local variables on the stack, shadowing each by a `Pin<&mut T>` of itself.
///
/// This is [`core::pin::pin!`] for several variables at once, and needs no `unsafe`.
///
/// # Examples
///
/// ```
/// use solo_lite::future;
/// use solo_lite::pin;
///
/// let fut = async { 7 };
/// let other = future::ready(1);
/// pin!(fut, other);
/// // `fut` is now `Pin<&mut impl Future>` and can be polled through `&mut`.
/// assert_eq!(future::block_on(fut.as_mut()), 7);
/// assert_eq!(future::block_on(other), 1);
/// ```
#[macro_export]
macro_rules! pin {
    ($($x:ident),* $(,)?) => {
        $( let mut $x = ::core::pin::pin!($x); )*
    };
}

/// Unwraps `Poll<T>` or returns [`Poll::Pending`](core::task::Poll::Pending) from the
/// enclosing function.
///
/// # Examples
///
/// ```
/// use std::pin::Pin;
/// use std::task::{Context, Poll};
/// use solo_lite::future::{self, Future};
/// use solo_lite::ready;
///
/// fn double<F: Future<Output = i32> + Unpin>(f: &mut F, cx: &mut Context<'_>) -> Poll<i32> {
///     let n = ready!(Pin::new(f).poll(cx));
///     Poll::Ready(n * 2)
/// }
///
/// let mut f = future::ready(21);
/// assert_eq!(future::block_on(future::poll_fn(|cx| double(&mut f, cx))), 42);
/// ```
#[macro_export]
macro_rules! ready {
    ($e:expr $(,)?) => {
        match $e {
            ::core::task::Poll::Ready(t) => t,
            ::core::task::Poll::Pending => return ::core::task::Poll::Pending,
        }
    };
}

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
