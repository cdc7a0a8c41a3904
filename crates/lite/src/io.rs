//! Async I/O over the `futures-io` traits: extension traits, buffers, adapters and helpers.
//!
//! The traits ([`AsyncRead`], [`AsyncWrite`], [`AsyncBufRead`], [`AsyncSeek`]) are those of
//! `futures-io`, re-exported; the extension traits ([`AsyncReadExt`], [`AsyncWriteExt`],
//! [`AsyncBufReadExt`], [`AsyncSeekExt`]) add `async` methods to every implementor,
//! including types from other crates. Errors are [`std::io::Error`]s, re-exported with
//! [`ErrorKind`], [`Result`] and [`SeekFrom`].
//!
//! | item | what it is |
//! |---|---|
//! | [`BufReader`], [`BufWriter`] | buffering for a reader or a writer |
//! | [`Cursor`] | an in-memory reader/writer/seeker over bytes |
//! | [`copy`], [`copy_buf`] | copies a reader into a writer |
//! | [`split`] | read and write halves of one object (single-threaded, `!Send` halves) |
//! | [`empty`], [`sink`], [`repeat`] | a reader at EOF, a writer that discards, an endless reader |
//! | [`Take`], [`Chain`] | a reader limited to `n` bytes, two readers one after the other |
//! | [`AssertAsync`] | a `std::io` object that never blocks, used as an async one |
//! | [`AsyncAsSync`] | an async object used through `std::io` inside a poll (`Pending` is `WouldBlock`) |
//! | [`BlockOn`] | an async object used through `std::io` by blocking |
//! | [`BoxedReader`], [`BoxedWriter`] | type-erased readers and writers |
//!
//! Every method that reads or writes through `&mut self` needs `Self: Unpin`; pin a
//! `!Unpin` object first (`std::pin::pin!` or `Box::pin`), then use the `Pin<&mut T>`.
//!
//! ```
//! use solo_lite::io::{self, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
//!
//! solo_lite::future::block_on(async {
//!     let mut out = io::BufWriter::new(io::Cursor::new(Vec::new()));
//!     out.write_all(b"hello\nworld\n").await?;
//!     out.flush().await?;
//!
//!     let mut reader = io::BufReader::new(io::Cursor::new(out.into_inner().into_inner()));
//!     let mut first = String::new();
//!     reader.read_line(&mut first).await?;
//!     assert_eq!(first, "hello\n");
//!     let mut rest = String::new();
//!     reader.read_to_string(&mut rest).await?;
//!     assert_eq!(rest, "world\n");
//!     io::Result::Ok(())
//! })
//! .unwrap();
//! ```

mod bridge;
mod buf_read;
mod buf_reader;
mod buf_writer;
mod copy;
mod cursor;
mod read;
mod seek;
mod split;
mod util;
mod write;

pub use self::bridge::{AssertAsync, AsyncAsSync, BlockOn};
pub use self::buf_read::{AsyncBufReadExt, FillBuf, Lines, ReadLineFuture, ReadUntilFuture, Split};
pub use self::buf_reader::BufReader;
pub use self::buf_writer::BufWriter;
pub use self::copy::{copy, copy_buf};
pub use self::cursor::Cursor;
pub use self::read::{
    AsyncReadExt, Bytes, Chain, ReadExactFuture, ReadFuture, ReadToEndFuture, ReadToStringFuture,
    ReadVectoredFuture, Take,
};
pub use self::seek::{AsyncSeekExt, SeekFuture};
pub use self::split::{ReadHalf, ReunionError, WriteHalf, split};
pub use self::util::{Empty, Repeat, Sink, empty, repeat, sink};
pub use self::write::{
    AsyncWriteExt, CloseFuture, FlushFuture, WriteAllFuture, WriteFuture, WriteVectoredFuture,
};
pub use futures_io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};
pub use std::io::{Error, ErrorKind, IoSlice, IoSliceMut, Result, SeekFrom};

/// A boxed, type-erased reader that is `Send`: what [`AsyncReadExt::boxed_reader`] returns
/// for a `'static` reader.
pub type BoxedReader = std::pin::Pin<Box<dyn AsyncRead + Send + 'static>>;

/// A boxed, type-erased writer that is `Send`: what [`AsyncWriteExt::boxed_writer`] returns
/// for a `'static` writer.
pub type BoxedWriter = std::pin::Pin<Box<dyn AsyncWrite + Send + 'static>>;

/// The default capacity of [`BufReader`] and [`BufWriter`], and the buffer of [`copy`].
const DEFAULT_BUF_SIZE: usize = 8 * 1024;
