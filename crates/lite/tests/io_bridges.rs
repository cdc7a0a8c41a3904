//! Tests of the I/O items solo-lite took from futures-lite's checklist: vectored reads and
//! writes, boxed readers and writers, and the `std::io` bridges (`AssertAsync`,
//! `AsyncAsSync`, `BlockOn`).

mod support;

use std::future::Future as _;
use std::io::{self as stdio, ErrorKind, IoSlice, IoSliceMut};
use std::task::{Context, Poll, Waker};

use solo_lite::future::block_on;
use solo_lite::io::{
    AssertAsync, AsyncAsSync, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncSeekExt, AsyncWrite,
    AsyncWriteExt, BlockOn, BoxedReader, BoxedWriter, BufReader, Cursor, SeekFrom,
};
use support::{ShortWriter, Trickle};

#[test]
fn read_vectored_fills_buffers_in_order() {
    // A reader with a vectored read of its own (a slice) fills both buffers.
    let mut reader: &[u8] = b"abcdefg";
    let (mut a, mut b) = ([0; 3], [0; 3]);
    let mut bufs = [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)];
    assert_eq!(
        block_on(AsyncReadExt::read_vectored(&mut reader, &mut bufs)).unwrap(),
        6
    );
    assert_eq!((&a, &b), (b"abc", b"def"));
    // One without (the trait's default) reads into the first non-empty buffer, and may be
    // pending first.
    let mut r = Trickle::new(&b"xyz"[..], 8);
    let (mut empty, mut a) = ([0; 0], [0; 2]);
    let mut bufs = [IoSliceMut::new(&mut empty), IoSliceMut::new(&mut a)];
    assert_eq!(block_on(r.read_vectored(&mut bufs)).unwrap(), 2);
    assert_eq!(&a, b"xy");
    // No buffers, or end of file: 0.
    assert_eq!(block_on(r.read_vectored(&mut [])).unwrap(), 0);
    let mut done: &[u8] = b"";
    assert_eq!(
        block_on(AsyncReadExt::read_vectored(
            &mut done,
            &mut [IoSliceMut::new(&mut [0; 4])],
        ))
        .unwrap(),
        0
    );
}

#[test]
fn write_vectored_takes_buffers_in_order() {
    let mut out = Vec::new();
    let bufs = [IoSlice::new(b"ab"), IoSlice::new(b""), IoSlice::new(b"cd")];
    let n = block_on(AsyncWriteExt::write_vectored(&mut out, &bufs)).unwrap();
    assert_eq!(&out[..], &b"abcd"[..n]);
    // The default: the first non-empty buffer, through a short, pending writer.
    let mut w = ShortWriter::new(1);
    let bufs = [IoSlice::new(b""), IoSlice::new(b"xyz")];
    assert_eq!(block_on(w.write_vectored(&bufs)).unwrap(), 1);
    assert_eq!(w.data, b"x");
    assert_eq!(block_on(w.write_vectored(&[])).unwrap(), 0);
}

#[test]
fn boxed_readers_and_writers_erase_types() {
    let readers: Vec<BoxedReader> = vec![
        Cursor::new(b"ab".to_vec()).boxed_reader(),
        solo_lite::io::repeat(b'z').take(3).boxed_reader(),
    ];
    let mut all = Vec::new();
    for mut r in readers {
        block_on(r.read_to_end(&mut all)).unwrap();
    }
    assert_eq!(all, b"abzzz");
    let mut writers: Vec<BoxedWriter> = vec![
        Cursor::new(Vec::new()).boxed_writer(),
        solo_lite::io::sink().boxed_writer(),
    ];
    for w in &mut writers {
        block_on(w.write_all(b"data")).unwrap();
        block_on(w.close()).unwrap();
    }
    // Borrowing readers and writers keep their lifetime.
    let text = b"borrowed".to_vec();
    let mut r = (&text[..]).boxed_reader();
    let mut s = String::new();
    block_on(r.read_to_string(&mut s)).unwrap();
    assert_eq!(s, "borrowed");
    let mut out = Vec::new();
    let mut w = (&mut out).boxed_writer();
    block_on(w.write_all(b"into a borrow")).unwrap();
    drop(w);
    assert_eq!(out, b"into a borrow");
}

// From here on, the `std::io` traits (for the bridges); above, they would make the async
// methods of `&[u8]` and `Vec<u8>` ambiguous.
use std::io::{BufRead, Read, Seek, Write};

/// A `std::io` reader and writer that is interrupted on every other call.
#[derive(Debug, Default)]
struct Interrupting {
    inner: stdio::Cursor<Vec<u8>>,
    flip: bool,
    calls: usize,
}

impl Interrupting {
    fn interrupt(&mut self) -> stdio::Result<()> {
        self.calls += 1;
        self.flip = !self.flip;
        if self.flip {
            Err(ErrorKind::Interrupted.into())
        } else {
            Ok(())
        }
    }
}

impl Read for Interrupting {
    fn read(&mut self, buf: &mut [u8]) -> stdio::Result<usize> {
        self.interrupt()?;
        self.inner.read(buf)
    }
}

impl Write for Interrupting {
    fn write(&mut self, buf: &[u8]) -> stdio::Result<usize> {
        self.interrupt()?;
        self.inner.write(buf)
    }

    fn flush(&mut self) -> stdio::Result<()> {
        self.interrupt()
    }
}

impl Seek for Interrupting {
    fn seek(&mut self, pos: SeekFrom) -> stdio::Result<u64> {
        self.interrupt()?;
        self.inner.seek(pos)
    }
}

#[test]
fn assert_async_completes_at_once_and_retries_interrupts() {
    let mut cx = Context::from_waker(Waker::noop());
    let mut io = AssertAsync::new(Interrupting::default());
    // Every operation is ready on its first poll, interrupted calls retried inside it.
    let mut write = io.write_all(b"hello");
    assert!(matches!(
        std::pin::Pin::new(&mut write).poll(&mut cx),
        Poll::Ready(Ok(()))
    ));
    assert_eq!(block_on(io.flush()).map_err(|e| e.kind()), Ok(()));
    assert_eq!(block_on(io.seek(SeekFrom::Start(1))).unwrap(), 1);
    let mut s = String::new();
    block_on(io.read_to_string(&mut s)).unwrap();
    assert_eq!(s, "ello");
    block_on(io.close()).unwrap();
    assert!(io.get_ref().calls >= 10);
    io.get_mut().flip = false;
    assert_eq!(io.into_inner().inner.into_inner(), b"hello");
    // Other errors pass through.
    struct Broken;
    impl Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> stdio::Result<usize> {
            Err(ErrorKind::BrokenPipe.into())
        }
    }
    let err = block_on(AssertAsync::new(Broken).read(&mut [0; 1])).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BrokenPipe);
    // Vectored calls go to the inner object's own.
    let mut r = AssertAsync::new(&b"abcd"[..]);
    let (mut a, mut b) = ([0; 2], [0; 2]);
    let n = block_on(r.read_vectored(&mut [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)]));
    assert_eq!((n.unwrap(), &a, &b), (4, b"ab", b"cd"));
    let mut w = AssertAsync::new(Vec::new());
    let n = block_on(w.write_vectored(&[IoSlice::new(b"ab"), IoSlice::new(b"cd")])).unwrap();
    assert_eq!((n, &w.get_ref()[..]), (4, &b"abcd"[..]));
}

/// An async reader and writer that is pending (waking itself) on every other call.
#[derive(Debug, Default)]
struct Stalling {
    data: Vec<u8>,
    pos: usize,
    flip: bool,
    closed: bool,
}

impl Stalling {
    fn stall(&mut self, cx: &mut Context<'_>) -> bool {
        self.flip = !self.flip;
        if self.flip {
            cx.waker().wake_by_ref();
        }
        self.flip
    }
}

impl AsyncRead for Stalling {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<stdio::Result<usize>> {
        if self.stall(cx) {
            return Poll::Pending;
        }
        let n = buf.len().min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Poll::Ready(Ok(n))
    }
}

impl AsyncWrite for Stalling {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<stdio::Result<usize>> {
        if self.stall(cx) {
            return Poll::Pending;
        }
        self.data.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<stdio::Result<()>> {
        if self.stall(cx) {
            return Poll::Pending;
        }
        Poll::Ready(Ok(()))
    }

    fn poll_close(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<stdio::Result<()>> {
        if self.stall(cx) {
            return Poll::Pending;
        }
        self.closed = true;
        Poll::Ready(Ok(()))
    }
}

#[test]
fn async_as_sync_turns_pending_into_would_block() {
    let mut cx = Context::from_waker(Waker::noop());
    let mut io = AsyncAsSync::new(&mut cx, Stalling::default());
    // Pending on the first call, ready on the second.
    assert_eq!(io.write(b"ab").unwrap_err().kind(), ErrorKind::WouldBlock);
    assert_eq!(io.write(b"ab").unwrap(), 2);
    assert_eq!(io.flush().unwrap_err().kind(), ErrorKind::WouldBlock);
    io.flush().unwrap();
    let n = io.write_vectored(&[IoSlice::new(b"cd")]);
    assert_eq!(n.unwrap_err().kind(), ErrorKind::WouldBlock);
    assert_eq!(io.write_vectored(&[IoSlice::new(b"cd")]).unwrap(), 2);
    let mut buf = [0; 8];
    assert_eq!(io.read(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
    assert_eq!(io.read(&mut buf).unwrap(), 4);
    assert_eq!(&buf[..4], b"abcd");
    assert_eq!(
        io.read_vectored(&mut [IoSliceMut::new(&mut buf)])
            .unwrap_err()
            .kind(),
        ErrorKind::WouldBlock
    );
    assert_eq!(
        io.read_vectored(&mut [IoSliceMut::new(&mut buf)]).unwrap(),
        0
    );
    assert_eq!(io.close().unwrap_err().kind(), ErrorKind::WouldBlock);
    io.close().unwrap();
    assert!(io.inner.closed);
    let _: &Stalling = io.as_ref();
    let _: &mut Stalling = io.as_mut();
    let _: &Stalling = std::borrow::Borrow::borrow(&io);
    let _: &mut Stalling = std::borrow::BorrowMut::borrow_mut(&mut io);
    // Seeking through it, and `poll_with` for anything else.
    let mut cx = Context::from_waker(Waker::noop());
    let mut io = AsyncAsSync::new(&mut cx, Cursor::new(b"0123".to_vec()));
    assert_eq!(io.seek(SeekFrom::End(-1)).unwrap(), 3);
    let n = io.poll_with(|c, cx| c.poll_read(cx, &mut [0; 4])).unwrap();
    assert_eq!(n, 1);
}

#[test]
fn async_as_sync_registers_the_waker() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let count = Arc::new(Count(AtomicUsize::new(0)));
    let waker = Waker::from(count.clone());
    let mut cx = Context::from_waker(&waker);
    let mut io = AsyncAsSync::new(&mut cx, Stalling::default());
    assert_eq!(
        io.read(&mut [0; 1]).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    assert_eq!(
        count.0.load(Ordering::SeqCst),
        1,
        "the pending poll woke the task's waker"
    );
}

#[test]
fn block_on_bridge_blocks_through_pending() {
    let mut w = BlockOn::new(Stalling::default());
    w.write_all(b"line one\nline two\n").unwrap();
    w.flush().unwrap();
    assert_eq!(w.get_ref().data.len(), 18);
    let data = std::mem::take(&mut w.get_mut().data);
    let mut r = BlockOn::new(BufReader::with_capacity(
        4,
        Stalling {
            data,
            ..Default::default()
        },
    ));
    let mut first = String::new();
    r.read_line(&mut first).unwrap();
    assert_eq!(first, "line one\n");
    let mut rest = Vec::new();
    r.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, b"line two\n");
    let mut c = BlockOn::new(Cursor::new(b"seekable".to_vec()));
    assert_eq!(c.seek(SeekFrom::Start(4)).unwrap(), 4);
    let mut s = String::new();
    c.read_to_string(&mut s).unwrap();
    assert_eq!(s, "able");
    assert_eq!(c.into_inner().position(), 8);
    // `fill_buf`/`consume` go straight to the async reader.
    let mut r = BlockOn::new(Cursor::new(b"abc".to_vec()));
    assert_eq!(r.fill_buf().unwrap(), b"abc");
    BufRead::consume(&mut r, 2);
    assert_eq!(block_on(r.get_mut().fill_buf()).unwrap(), b"c");
}
