//! [`copy`] and [`copy_buf`].

use std::io::{self, ErrorKind};
use std::pin::pin;

use futures_io::{AsyncBufRead, AsyncRead, AsyncWrite};

use super::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// Copies everything `reader` yields into `writer`, then flushes `writer`; returns the
/// number of bytes copied.
///
/// The reader is wrapped in a [`BufReader`] (one 8 KiB buffer per call); use
/// [`copy_buf`] when it is already buffered. Short writes are retried, and either side may
/// return `Pending` at any point.
///
/// # Errors
///
/// The first error of either side; [`ErrorKind::WriteZero`] if the writer accepts no byte.
///
/// # Examples
///
/// ```
/// use solo_lite::io::{self, Cursor};
///
/// let mut out = Vec::new();
/// let n = solo_lite::future::block_on(io::copy(Cursor::new(&b"payload"[..]), &mut out)).unwrap();
/// assert_eq!((n, &out[..]), (7, &b"payload"[..]));
/// ```
pub async fn copy<R: AsyncRead, W: AsyncWrite>(reader: R, writer: W) -> io::Result<u64> {
    copy_buf(BufReader::new(reader), writer).await
}

/// Copies everything a buffered `reader` yields into `writer`, then flushes `writer`;
/// returns the number of bytes copied. Like [`copy`], without an extra buffer.
///
/// # Examples
///
/// ```
/// use solo_lite::io::{self, Cursor};
///
/// let mut out = Cursor::new(Vec::new());
/// let n = solo_lite::future::block_on(io::copy_buf(Cursor::new(&b"abc"[..]), &mut out)).unwrap();
/// assert_eq!((n, &out.get_ref()[..]), (3, &b"abc"[..]));
/// ```
pub async fn copy_buf<R: AsyncBufRead, W: AsyncWrite>(reader: R, writer: W) -> io::Result<u64> {
    let mut reader = pin!(reader);
    let mut writer = pin!(writer);
    let mut copied = 0u64;
    loop {
        let chunk = reader.fill_buf().await?;
        if chunk.is_empty() {
            writer.flush().await?;
            return Ok(copied);
        }
        let n = match writer.write(chunk).await {
            Ok(0) => {
                return Err(io::Error::new(
                    ErrorKind::WriteZero,
                    "copy: the writer accepted no bytes",
                ));
            }
            Ok(n) => n.min(chunk.len()),
            Err(e) if e.kind() == ErrorKind::Interrupted => 0,
            Err(e) => return Err(e),
        };
        reader.as_mut().consume(n);
        copied += n as u64;
    }
}
