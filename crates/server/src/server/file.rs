//! Static files. Resolving a path and opening a file block, so both run on the blocking
//! pool (`solo::unblock`) while the loop goes on serving everyone else; the file is then
//! sent by the kernel (`sendfile`, through [`TcpStream::sendfile`](solo::net::TcpStream)),
//! a socket's worth at a time as the client reads, so that a slow reader costs no buffer of
//! ours, only the open file. Requests pipelined behind the file wait in the connection's
//! tail.
//!
//! Where the system has no `sendfile` (Windows, NetBSD, OpenBSD, ...), or with
//! `--no-sendfile`, the file is read on the blocking pool, [`CHUNK`] at a time, and written
//! from that buffer.
//!
//! The kernel reads the file while it sends it, on the loop's thread: a file that is not in
//! the page cache makes the loop wait for the disk (as nginx does with `sendfile on` and no
//! `aio threads`). This demo serves small, hot files; a server of cold, large ones would
//! read ahead on the pool first.

use std::fs::File;
use std::io::{self, Read};
use std::sync::Arc;
use std::task::Poll;

use solo::future::poll_fn;

use super::conn::Conn;
use crate::files::{self, FileError, Root};
use crate::http::{self, Exchange, HttpDate, ResponseWriter, Status, response};

/// Bytes read from a file per trip to the blocking pool, where there is no `sendfile`.
const CHUNK: usize = 128 << 10;

/// A static file to send: the path under the root (still percent-encoded) and how.
#[derive(Debug)]
pub(super) struct FileRequest {
    pub(super) path: String,
    pub(super) exchange: Exchange,
}

/// An opened file: the response's head, and the length of the body to send.
struct Opened {
    head: Vec<u8>,
    file: File,
    length: u64,
}

/// Sends the file `request` names (or the error that explains why not). Returns whether
/// the connection goes on with its next request.
pub(super) async fn serve(conn: &mut Conn, request: FileRequest) -> bool {
    // What was answered before this request leaves first.
    let unsent = conn.take_unsent();
    if conn.write_all(&unsent).await.is_err() {
        return false;
    }
    drop(unsent);
    let date = http::date::now();
    let exchange = request.exchange;
    let opened = match conn.shard.root.clone() {
        Some(root) => solo::unblock(move || open(&root, &request.path, &date, exchange)).await,
        None => Err(FileError::NotFound),
    };
    let keep_alive = match opened {
        Ok(Opened { head, file, length }) => {
            if conn.write_all(&head).await.is_err() {
                return false;
            }
            drop(head);
            let length = if exchange.head_only { 0 } else { length };
            match send_body(conn, file, length).await {
                Ok(()) => exchange.keep_alive,
                Err(_) => return false,
            }
        }
        Err(error) => {
            let mut out = Vec::with_capacity(256);
            let keep_alive = response::error(&mut out, &date, error.status(), exchange);
            if conn.write_all(&out).await.is_err() {
                return false;
            }
            keep_alive
        }
    };
    let keep_alive = keep_alive && !conn.shard.shutting_down();
    conn.resume(keep_alive);
    true
}

/// Sends the first `length` bytes of `file`: with `sendfile` where the system has it, else
/// through a buffer. Fails with `TimedOut` if the client takes nothing for the idle
/// timeout, and with `UnexpectedEof` if the file shrank (the promised length cannot be
/// kept, so the connection must close).
async fn send_body(conn: &mut Conn, file: File, length: u64) -> io::Result<()> {
    if !conn.shard.config.sendfile {
        return send_rest(conn, file, length).await;
    }
    let idle_timeout = conn.shard.config.idle_timeout;
    let mut offset = 0;
    while offset < length {
        let want = usize::try_from(length - offset).unwrap_or(usize::MAX);
        conn.timer.set_after(idle_timeout);
        let sent = poll_fn(
            |cx| match conn.stream.poll_sendfile(cx, &file, offset, want) {
                Poll::Pending if std::pin::Pin::new(&mut conn.timer).poll(cx).is_ready() => {
                    Poll::Ready(Err(io::ErrorKind::TimedOut.into()))
                }
                poll => poll,
            },
        )
        .await;
        match sent {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => offset += n as u64,
            Err(e) if e.kind() == io::ErrorKind::Unsupported && offset == 0 => {
                return send_rest(conn, file, length).await;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Sends the `remaining` bytes of `file` where there is no `sendfile`, reading the next
/// chunk while nothing else is pending (one buffer, reused, goes back and forth to the
/// pool).
async fn send_rest(conn: &mut Conn, file: File, mut remaining: u64) -> io::Result<()> {
    let mut state = (file, Vec::new());
    while remaining > 0 {
        let want = usize::try_from(remaining).map_or(CHUNK, |r| r.min(CHUNK));
        let (file, mut buffer) = state;
        let (read, file, buffer) = solo::unblock(move || {
            buffer.clear();
            buffer.resize(want, 0);
            let read = read_full(&mut &file, &mut buffer);
            (read, file, buffer)
        })
        .await;
        let read = read?;
        if read == 0 {
            // The file shrank: the promised length cannot be kept, so the connection
            // must close.
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        conn.write_all(&buffer[..read]).await?;
        remaining = remaining.saturating_sub(read as u64);
        state = (file, buffer);
    }
    Ok(())
}

/// Reads until `buffer` is full or the file ends; returns how much was read.
fn read_full(file: &mut &File, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// On the blocking pool: resolves `path`, opens the file and writes the response's head.
fn open(
    root: &Arc<Root>,
    path: &str,
    date: &HttpDate,
    exchange: Exchange,
) -> Result<Opened, FileError> {
    let resolved = root.resolve(path)?;
    let file = File::open(&resolved)?;
    let length = file.metadata()?.len();
    let mut head = Vec::with_capacity(256);
    let _ = ResponseWriter::new(&mut head, Status::Ok, date, exchange)
        .header("Content-Type", files::content_type(&resolved))
        .header("Cache-Control", "no-cache")
        .sized(length);
    Ok(Opened { head, file, length })
}
