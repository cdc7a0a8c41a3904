//! Awkward readers and writers for the I/O tests.
#![allow(dead_code)]

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use solo_lite::io::{AsyncRead, AsyncWrite};

/// Returns `Pending` (after waking the task) on every other call when `flip` is set.
fn stall(flip: &mut bool, cx: &mut Context<'_>) -> bool {
    *flip = !*flip;
    if *flip {
        cx.waker().wake_by_ref();
    }
    *flip
}

/// A reader of `data` that returns at most `chunk` bytes per read and is `Pending` before
/// every read.
#[derive(Debug)]
pub struct Trickle {
    pub data: Vec<u8>,
    pub pos: usize,
    pub chunk: usize,
    flip: bool,
    pub reads: usize,
}

impl Trickle {
    pub fn new(data: impl Into<Vec<u8>>, chunk: usize) -> Trickle {
        Trickle {
            data: data.into(),
            pos: 0,
            chunk,
            flip: false,
            reads: 0,
        }
    }
}

impl AsyncRead for Trickle {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if stall(&mut this.flip, cx) {
            return Poll::Pending;
        }
        this.reads += 1;
        let n = buf.len().min(this.chunk).min(this.data.len() - this.pos);
        buf[..n].copy_from_slice(&this.data[this.pos..this.pos + n]);
        this.pos += n;
        Poll::Ready(Ok(n))
    }
}

/// A writer that accepts at most `chunk` bytes per write, is `Pending` before every write
/// and flush, and refuses bytes beyond `limit` (returning `Ok(0)`).
#[derive(Debug)]
pub struct ShortWriter {
    pub data: Vec<u8>,
    pub chunk: usize,
    pub limit: usize,
    flip: bool,
    pub writes: usize,
    pub flushes: usize,
    pub closed: bool,
}

impl ShortWriter {
    pub fn new(chunk: usize) -> ShortWriter {
        ShortWriter {
            data: Vec::new(),
            chunk,
            limit: usize::MAX,
            flip: false,
            writes: 0,
            flushes: 0,
            closed: false,
        }
    }
}

impl AsyncWrite for ShortWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        assert!(!this.closed, "write after close");
        if stall(&mut this.flip, cx) {
            return Poll::Pending;
        }
        this.writes += 1;
        let room = this.limit.saturating_sub(this.data.len());
        let n = buf.len().min(this.chunk).min(room);
        this.data.extend_from_slice(&buf[..n]);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if stall(&mut self.flip, cx) {
            return Poll::Pending;
        }
        self.flushes += 1;
        Poll::Ready(Ok(()))
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if stall(&mut self.flip, cx) {
            return Poll::Pending;
        }
        self.closed = true;
        Poll::Ready(Ok(()))
    }
}

/// A reader that fails with `kind` on its first `failures` reads, then reads `data`.
#[derive(Debug)]
pub struct Flaky {
    pub kind: io::ErrorKind,
    pub failures: usize,
    pub data: io::Cursor<Vec<u8>>,
}

impl AsyncRead for Flaky {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if self.failures > 0 {
            self.failures -= 1;
            return Poll::Ready(Err(io::Error::new(self.kind, "flaky")));
        }
        Poll::Ready(io::Read::read(&mut self.data, buf))
    }
}

/// Deterministic pseudo-random bytes.
pub fn bytes(len: usize) -> Vec<u8> {
    let mut x = 0x2545_f491_u32;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}
