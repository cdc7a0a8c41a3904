//! [`split`]: separate read and write halves of one I/O object.

use std::cell::RefCell;
use std::error::Error;
use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

/// Splits an object that reads and writes into a read half and a write half, so that two
/// tasks (or two branches of a `zip`) can use the directions independently.
///
/// The halves share the object through an `Rc<RefCell<T>>`: they are `!Send` and belong
/// to the thread that created them, which suits solo's single-threaded tasks. Each poll
/// borrows the object only for the duration of that `poll_*` call, so the halves never
/// block each other. [`ReadHalf::reunite`] puts the object back together.
///
/// # Examples
///
/// ```
/// use solo_lite::future;
/// use solo_lite::io::{self, AsyncReadExt, AsyncWriteExt};
///
/// future::block_on(async {
///     // A `Cursor` reads and writes one buffer; a socket would read and write different
///     // directions.
///     let (mut reader, mut writer) = io::split(io::Cursor::new(b"ping".to_vec()));
///     let mut word = [0; 4];
///     reader.read_exact(&mut word).await.unwrap();
///     writer.write_all(b"pong").await.unwrap();
///     let cursor = reader.reunite(writer).unwrap();
///     assert_eq!(&word, b"ping");
///     assert_eq!(cursor.into_inner(), b"pingpong");
/// });
/// ```
pub fn split<T: AsyncRead + AsyncWrite + Unpin>(stream: T) -> (ReadHalf<T>, WriteHalf<T>) {
    let shared = Rc::new(RefCell::new(stream));
    (
        ReadHalf {
            shared: shared.clone(),
        },
        WriteHalf { shared },
    )
}

/// The read half of an object, from [`split`]. `!Send`.
pub struct ReadHalf<T> {
    shared: Rc<RefCell<T>>,
}

/// The write half of an object, from [`split`]. `!Send`.
pub struct WriteHalf<T> {
    shared: Rc<RefCell<T>>,
}

impl<T> fmt::Debug for ReadHalf<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReadHalf")
    }
}

impl<T> fmt::Debug for WriteHalf<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WriteHalf")
    }
}

/// Runs `op` on the shared object, or fails if it is already borrowed: that happens only
/// if the object's own poll method re-enters the other half.
fn with<T: Unpin, R>(
    shared: &RefCell<T>,
    op: impl FnOnce(Pin<&mut T>) -> Poll<io::Result<R>>,
) -> Poll<io::Result<R>> {
    match shared.try_borrow_mut() {
        Ok(mut object) => op(Pin::new(&mut *object)),
        Err(_) => Poll::Ready(Err(io::Error::other(
            "split: the object was used through its other half from inside its own poll method",
        ))),
    }
}

impl<T> ReadHalf<T> {
    /// Puts the halves back together into the original object.
    ///
    /// # Errors
    ///
    /// Gives both halves back if they come from different calls to [`split`].
    pub fn reunite(self, other: WriteHalf<T>) -> Result<T, ReunionError<T>> {
        if !Rc::ptr_eq(&self.shared, &other.shared) {
            return Err(ReunionError(self, other));
        }
        drop(other);
        match Rc::try_unwrap(self.shared) {
            Ok(cell) => Ok(cell.into_inner()),
            // Only the two halves hold the `Rc`, and the write half was just dropped.
            Err(_) => unreachable!("split: a third owner of the shared object"),
        }
    }
}

impl<T> WriteHalf<T> {
    /// Puts the halves back together into the original object. See [`ReadHalf::reunite`].
    ///
    /// # Errors
    ///
    /// Gives both halves back if they come from different calls to [`split`].
    pub fn reunite(self, other: ReadHalf<T>) -> Result<T, ReunionError<T>> {
        other.reunite(self)
    }
}

/// The halves given to `reunite` came from different calls to [`split`]; here they are
/// back.
pub struct ReunionError<T>(pub ReadHalf<T>, pub WriteHalf<T>);

impl<T> fmt::Debug for ReunionError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReunionError(..)")
    }
}

impl<T> fmt::Display for ReunionError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves that are not from the same split")
    }
}

impl<T> Error for ReunionError<T> {}

impl<T: AsyncRead + Unpin> AsyncRead for ReadHalf<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        with(&self.shared, |object| object.poll_read(cx, buf))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        with(&self.shared, |object| object.poll_read_vectored(cx, bufs))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteHalf<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        with(&self.shared, |object| object.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        with(&self.shared, |object| object.poll_write_vectored(cx, bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        with(&self.shared, |object| object.poll_flush(cx))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        with(&self.shared, |object| object.poll_close(cx))
    }
}
