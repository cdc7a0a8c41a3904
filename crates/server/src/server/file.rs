//! Static files, off the loop: resolving a path and reading a file block, so both run on
//! the blocking pool (`solo::unblock`), a chunk at a time, while the loop goes on serving
//! everyone else. Requests pipelined behind the file wait in the connection's tail.

use std::fs::File;
use std::io::{self, Read};
use std::sync::Arc;

use super::conn::Conn;
use crate::files::{self, FileError, Root};
use crate::http::{self, Exchange, HttpDate, ResponseWriter, Status, response};

/// Bytes read from a file per trip to the blocking pool.
const CHUNK: usize = 128 << 10;

/// A static file to send: the path under the root (still percent-encoded) and how.
#[derive(Debug)]
pub(super) struct FileRequest {
    pub(super) path: String,
    pub(super) exchange: Exchange,
}

/// An opened file: the response's head with the first chunk, and the rest to read.
struct Opened {
    head_and_first: Vec<u8>,
    file: File,
    remaining: u64,
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
        Ok(Opened {
            head_and_first,
            file,
            remaining,
        }) => {
            if conn.write_all(&head_and_first).await.is_err() {
                return false;
            }
            match send_rest(conn, file, remaining, head_and_first).await {
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

/// Sends the `remaining` bytes of `file`, reading the next chunk while nothing else is
/// pending (one buffer, reused, goes back and forth to the pool).
async fn send_rest(
    conn: &mut Conn,
    file: File,
    mut remaining: u64,
    buffer: Vec<u8>,
) -> io::Result<()> {
    let mut state = (file, buffer);
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

/// On the blocking pool: resolves `path`, opens the file, writes the head and reads the
/// first chunk.
fn open(
    root: &Arc<Root>,
    path: &str,
    date: &HttpDate,
    exchange: Exchange,
) -> Result<Opened, FileError> {
    let resolved = root.resolve(path)?;
    let file = File::open(&resolved)?;
    let length = file.metadata()?.len();
    let mut head_and_first = Vec::with_capacity(512);
    let _ = ResponseWriter::new(&mut head_and_first, Status::Ok, date, exchange)
        .header("Content-Type", files::content_type(&resolved))
        .header("Cache-Control", "no-cache")
        .sized(length);
    if exchange.head_only {
        return Ok(Opened {
            head_and_first,
            file,
            remaining: 0,
        });
    }
    let head = head_and_first.len();
    let first = usize::try_from(length).map_or(CHUNK, |l| l.min(CHUNK));
    head_and_first.resize(head + first, 0);
    let read = read_full(&mut &file, &mut head_and_first[head..])?;
    head_and_first.truncate(head + read);
    Ok(Opened {
        head_and_first,
        file,
        remaining: length - read as u64,
    })
}
