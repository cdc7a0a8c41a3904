//! [`AsyncSeekExt`] and its future.

use std::future::Future;
use std::io::{self, SeekFrom};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::AsyncSeek;

/// Extension methods for every [`AsyncSeek`].
pub trait AsyncSeekExt: AsyncSeek {
    /// Moves the position; returns the new position from the start.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_lite::io::{AsyncReadExt, AsyncSeekExt, Cursor, SeekFrom};
    ///
    /// solo_lite::future::block_on(async {
    ///     let mut c = Cursor::new(&b"0123456789"[..]);
    ///     assert_eq!(c.seek(SeekFrom::End(-3)).await.unwrap(), 7);
    ///     let mut b = [0; 1];
    ///     c.read_exact(&mut b).await.unwrap();
    ///     assert_eq!(&b, b"7");
    ///     assert_eq!(c.seek(SeekFrom::Current(-2)).await.unwrap(), 6);
    /// });
    /// ```
    fn seek(&mut self, pos: SeekFrom) -> SeekFuture<'_, Self>
    where
        Self: Unpin,
    {
        SeekFuture { seeker: self, pos }
    }
}

impl<S: AsyncSeek + ?Sized> AsyncSeekExt for S {}

/// Future for [`AsyncSeekExt::seek`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct SeekFuture<'a, S: ?Sized> {
    seeker: &'a mut S,
    pos: SeekFrom,
}

impl<S: AsyncSeek + Unpin + ?Sized> Future for SeekFuture<'_, S> {
    type Output = io::Result<u64>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let pos = self.pos;
        Pin::new(&mut *self.seeker).poll_seek(cx, pos)
    }
}
