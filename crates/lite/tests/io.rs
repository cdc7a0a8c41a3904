//! Tests of solo-lite's I/O module over awkward readers and writers.

mod support;

use std::future::Future;
use std::io::ErrorKind;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use solo_lite::future::{self, block_on};
use solo_lite::io::{
    self, AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncSeekExt, AsyncWriteExt,
    BufReader, BufWriter, Cursor, SeekFrom,
};
use solo_lite::stream::StreamExt;
use support::{Flaky, ShortWriter, Trickle, bytes};

#[test]
fn read_returns_what_is_there() {
    let mut r = Trickle::new(&b"hello"[..], 2);
    let mut buf = [0; 10];
    assert_eq!(block_on(r.read(&mut buf)).unwrap(), 2);
    assert_eq!(&buf[..2], b"he");
    assert_eq!(block_on(r.read(&mut [])).unwrap(), 0);
}

#[test]
fn read_exact_fills_across_short_reads() {
    let mut r = Trickle::new(&b"abcdefgh"[..], 3);
    let mut buf = [0; 7];
    block_on(r.read_exact(&mut buf)).unwrap();
    assert_eq!(&buf, b"abcdefg");
    block_on(r.read_exact(&mut [])).unwrap();
}

#[test]
fn read_exact_on_early_eof_is_unexpected_eof() {
    let mut r = Trickle::new(&b"abc"[..], 2);
    let mut buf = [0; 4];
    let err = block_on(r.read_exact(&mut buf)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
    assert!(
        err.to_string()
            .contains("ended before the buffer was filled"),
        "{err}"
    );
    let err = block_on(io::empty().read_exact(&mut [0])).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
}

#[test]
fn interrupted_is_retried_other_errors_are_not() {
    let mut r = Flaky {
        kind: ErrorKind::Interrupted,
        failures: 3,
        data: std::io::Cursor::new(b"ok".to_vec()),
    };
    let mut buf = [0; 2];
    block_on(r.read_exact(&mut buf)).unwrap();
    let mut r = Flaky {
        kind: ErrorKind::Interrupted,
        failures: 2,
        data: std::io::Cursor::new(b"ok".to_vec()),
    };
    let mut v = Vec::new();
    assert_eq!(block_on(r.read_to_end(&mut v)).unwrap(), 2);
    let mut r = Flaky {
        kind: ErrorKind::ConnectionReset,
        failures: 1,
        data: std::io::Cursor::new(b"ok".to_vec()),
    };
    assert_eq!(
        block_on(r.read_exact(&mut buf)).unwrap_err().kind(),
        ErrorKind::ConnectionReset
    );
}

#[test]
fn read_to_end_over_short_pending_reads() {
    let data = bytes(100_000);
    let mut r = Trickle::new(data.clone(), 7_000);
    let mut buf = b"prefix".to_vec();
    assert_eq!(block_on(r.read_to_end(&mut buf)).unwrap(), data.len());
    assert_eq!(&buf[..6], b"prefix");
    assert_eq!(&buf[6..], &data[..]);
    // One byte at a time works too (and does not zero megabytes per byte).
    let mut r = Trickle::new(&b"tiny"[..], 1);
    let mut buf = Vec::new();
    assert_eq!(block_on(r.read_to_end(&mut buf)).unwrap(), 4);
    assert_eq!(buf, b"tiny");
}

#[test]
fn read_to_end_keeps_bytes_on_error() {
    let mut r = Trickle::new(&b"abc"[..], 3).chain(Flaky {
        kind: ErrorKind::BrokenPipe,
        failures: 1,
        data: std::io::Cursor::new(Vec::new()),
    });
    let mut buf = Vec::new();
    assert_eq!(
        block_on(r.read_to_end(&mut buf)).unwrap_err().kind(),
        ErrorKind::BrokenPipe
    );
    assert_eq!(buf, b"abc");
}

#[test]
fn read_to_string_validates_and_restores() {
    let mut s = String::from("keep:");
    let mut r = Trickle::new("größe".as_bytes(), 1); // multi-byte chars split across reads
    assert_eq!(block_on(r.read_to_string(&mut s)).unwrap(), "größe".len());
    assert_eq!(s, "keep:größe");

    let err = block_on(Trickle::new(&b"ok \xc3"[..], 2).read_to_string(&mut s)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData);
    assert_eq!(s, "keep:größe");
}

#[test]
fn read_to_string_dropped_early_leaves_the_string() {
    let mut s = String::from("before");
    let mut r = Trickle::new(&b"after"[..], 1);
    {
        let mut fut = r.read_to_string(&mut s);
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..4 {
            assert!(Pin::new(&mut fut).poll(&mut cx).is_pending());
        }
    }
    assert_eq!(s, "before");
}

#[test]
fn bytes_stream() {
    let v: Vec<u8> = block_on(
        Trickle::new(&b"xyz"[..], 2)
            .bytes()
            .map(Result::unwrap)
            .collect(),
    );
    assert_eq!(v, b"xyz");
    let mut r = Flaky {
        kind: ErrorKind::Other,
        failures: 1,
        data: std::io::Cursor::new(b"a".to_vec()),
    }
    .bytes();
    assert!(block_on(r.next()).unwrap().is_err());
    assert_eq!(block_on(r.next()).unwrap().unwrap(), b'a');
    assert!(block_on(r.next()).is_none());
}

#[test]
fn take_limits_reads_and_buffered_reads() {
    let mut t = Trickle::new(&b"abcdef"[..], 10).take(4);
    let mut s = String::new();
    block_on(t.read_to_string(&mut s)).unwrap();
    assert_eq!((s.as_str(), t.limit()), ("abcd", 0));
    t.set_limit(10);
    s.clear();
    block_on(t.read_to_string(&mut s)).unwrap();
    assert_eq!(s, "ef");
    assert_eq!(t.get_ref().pos, 6);
    assert_eq!(
        t.into_inner().reads,
        3,
        "4 bytes, limit reached, 2 bytes, end of file"
    );

    let mut t = Cursor::new(&b"line1\nline2\n"[..]).take(8);
    let lines: Vec<String> = block_on((&mut t).lines().map(Result::unwrap).collect());
    assert_eq!(lines, ["line1", "li"]);
    // Consuming more than the limit consumes only the limit.
    let mut t = Cursor::new(&b"abc"[..]).take(2);
    AsyncBufReadExt::consume(&mut t, 5);
    assert_eq!(t.limit(), 0);
    assert_eq!(t.get_ref().position(), 2);
}

#[test]
fn chain_reads_both_in_order() {
    let mut c = Trickle::new(&b"ab"[..], 1).chain(Trickle::new(&b"cd"[..], 1));
    let mut s = String::new();
    block_on(c.read_to_string(&mut s)).unwrap();
    assert_eq!(s, "abcd");
    let (a, b) = c.into_inner();
    assert_eq!((a.pos, b.pos), (2, 2));

    let mut c = Cursor::new(&b"x\ny"[..]).chain(Cursor::new(&b"z\n"[..]));
    let lines: Vec<String> = block_on((&mut c).lines().map(Result::unwrap).collect());
    assert_eq!(lines, ["x", "yz"]);
    // An empty read buffer does not make the first reader count as finished.
    let mut c = Cursor::new(&b"1"[..]).chain(Cursor::new(&b"2"[..]));
    assert_eq!(block_on(c.read(&mut [])).unwrap(), 0);
    let mut one = [0; 1];
    block_on(c.read_exact(&mut one)).unwrap();
    assert_eq!(&one, b"1");
}

#[test]
fn write_all_over_short_pending_writes() {
    let data = bytes(10_000);
    let mut w = ShortWriter::new(333);
    block_on(w.write_all(&data)).unwrap();
    assert_eq!(w.data, data);
    assert_eq!(w.writes, 10_000usize.div_ceil(333));
    assert_eq!(block_on(w.write(b"more")).unwrap(), 4);
    block_on(w.flush()).unwrap();
    block_on(w.close()).unwrap();
    assert_eq!((w.flushes, w.closed), (1, true));
}

#[test]
fn write_all_reports_write_zero() {
    let mut w = ShortWriter::new(4);
    w.limit = 6;
    let err = block_on(w.write_all(b"0123456789")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WriteZero);
    assert_eq!(w.data, b"012345");
    block_on(w.write_all(b"")).unwrap();
}

#[test]
fn buf_reader_with_capacity_smaller_than_a_line() {
    let text = "a rather long first line\nshort\n\nlast without newline";
    let mut r = BufReader::with_capacity(3, Trickle::new(text.as_bytes(), 2));
    let mut line = String::new();
    assert_eq!(block_on(r.read_line(&mut line)).unwrap(), 25);
    assert_eq!(line, "a rather long first line\n");
    let rest: Vec<String> = block_on(r.lines().map(Result::unwrap).collect());
    assert_eq!(rest, ["short", "", "last without newline"]);
}

#[test]
fn buf_reader_serves_small_reads_from_its_buffer() {
    let mut r = BufReader::with_capacity(16, Trickle::new(bytes(64), 64));
    let mut out = Vec::new();
    let mut small = [0; 4];
    for _ in 0..4 {
        block_on(r.read_exact(&mut small)).unwrap();
        out.extend_from_slice(&small);
    }
    assert_eq!(
        r.get_ref().reads,
        1,
        "four 4-byte reads from one 16-byte fill"
    );
    // A read as large as the buffer skips it once it is empty.
    let mut large = [0; 16];
    block_on(r.read_exact(&mut large)).unwrap();
    out.extend_from_slice(&large);
    assert!(r.buffer().is_empty());
    assert_eq!(out, bytes(64)[..32]);
}

#[test]
fn buf_reader_seek_accounts_for_the_buffer() {
    let data = bytes(100);
    let mut r = BufReader::with_capacity(10, Cursor::new(data.clone()));
    let mut b = [0; 3];
    block_on(r.read_exact(&mut b)).unwrap();
    // The inner cursor is at 10, we are at 3.
    assert_eq!(r.get_ref().position(), 10);
    assert_eq!(block_on(r.seek(SeekFrom::Current(2))).unwrap(), 5);
    block_on(r.read_exact(&mut b)).unwrap();
    assert_eq!(b, data[5..8]);
    assert_eq!(block_on(r.seek(SeekFrom::Start(90))).unwrap(), 90);
    assert_eq!(block_on(r.seek(SeekFrom::End(-1))).unwrap(), 99);
    block_on(r.fill_buf()).unwrap();
    // So far back that `offset - unread` overflows: stepped in two seeks.
    let err = block_on(r.seek(SeekFrom::Current(i64::MIN))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[test]
fn buf_reader_fill_buf_and_consume() {
    let mut r = BufReader::with_capacity(4, Cursor::new(&b"abcdef"[..]));
    assert_eq!(block_on(r.fill_buf()).unwrap(), b"abcd");
    AsyncBufReadExt::consume(&mut r, 100); // clamped to what is buffered
    assert_eq!(block_on(r.fill_buf()).unwrap(), b"ef");
    assert!(format!("{r:?}").contains("2/4"));
}

#[test]
fn buf_reader_passes_writes_through() {
    let mut r = BufReader::new(ShortWriter::new(2));
    block_on(r.write_all(b"hello")).unwrap();
    block_on(r.close()).unwrap();
    assert_eq!(r.get_ref().data, b"hello");
}

/// A reader that returns data, then `Pending` for the same data: a broken `AsyncBufRead`.
struct Fickle(bool);

impl AsyncRead for Fickle {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &mut [u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(Ok(0))
    }
}

impl AsyncBufRead for Fickle {
    fn poll_fill_buf(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<std::io::Result<&[u8]>> {
        self.0 = !self.0;
        if self.0 {
            Poll::Ready(Ok(b"x"))
        } else {
            Poll::Pending
        }
    }

    fn consume(self: Pin<&mut Self>, _: usize) {}
}

#[test]
fn fill_buf_on_a_broken_reader_is_an_error_not_a_panic() {
    let err = block_on(Fickle(false).fill_buf()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Other);
}

#[test]
fn read_until_read_line_and_split() {
    let mut r = BufReader::with_capacity(2, Trickle::new(&b"a;bc;;d"[..], 1));
    let mut buf = Vec::new();
    assert_eq!(block_on(r.read_until(b';', &mut buf)).unwrap(), 2);
    assert_eq!(block_on(r.read_until(b';', &mut buf)).unwrap(), 3);
    assert_eq!(buf, b"a;bc;");
    let parts: Vec<Vec<u8>> = block_on(r.split(b';').map(Result::unwrap).collect());
    assert_eq!(parts, [b"".to_vec(), b"d".to_vec()]);

    let mut r = Cursor::new(&b"ok\n\xff\xfe\nfine\n"[..]);
    let mut line = String::new();
    block_on(r.read_line(&mut line)).unwrap();
    let err = block_on(r.read_line(&mut line)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData);
    assert_eq!(line, "ok\n");
    block_on(r.read_line(&mut line)).unwrap();
    assert_eq!(line, "ok\nfine\n");

    let lines: Vec<_> = block_on(Cursor::new(&b"x\n\xff\ny"[..]).lines().collect());
    assert_eq!(lines.len(), 3);
    assert_eq!(
        lines[1].as_ref().unwrap_err().kind(),
        ErrorKind::InvalidData
    );
    assert_eq!(lines[2].as_ref().unwrap(), "y");
}

#[test]
fn buf_writer_batches_and_flushes() {
    let mut w = BufWriter::with_capacity(10, ShortWriter::new(3));
    for chunk in [&b"abc"[..], b"def", b"ghi"] {
        block_on(w.write_all(chunk)).unwrap();
    }
    assert_eq!(w.get_ref().writes, 0);
    assert_eq!(w.buffer(), b"abcdefghi");
    // Overflowing the buffer writes it out (in short writes) first.
    block_on(w.write_all(b"jk")).unwrap();
    // (The writer took "abc" and then was pending; "jk" then fit in the freed room.)
    assert!(!w.get_ref().data.is_empty());
    assert_eq!([&w.get_ref().data[..], w.buffer()].concat(), b"abcdefghijk");
    // A write as large as the buffer goes straight through after the buffer.
    block_on(w.write_all(b"0123456789ABC")).unwrap();
    block_on(w.close()).unwrap();
    assert_eq!(w.get_ref().data, b"abcdefghijk0123456789ABC");
    assert!(w.get_ref().closed);
    assert!(w.buffer().is_empty());
}

#[test]
fn buf_writer_reports_write_zero_and_keeps_unwritten_bytes() {
    let mut inner = ShortWriter::new(2);
    inner.limit = 3;
    let mut w = BufWriter::with_capacity(8, inner);
    block_on(w.write_all(b"abcde")).unwrap();
    let err = block_on(w.flush()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WriteZero);
    assert_eq!(w.buffer(), b"de");
    assert_eq!(w.get_ref().data, b"abc");
}

#[test]
fn buf_writer_seek_writes_first() {
    let mut w = BufWriter::new(Cursor::new(vec![0u8; 4]));
    block_on(w.write_all(b"ab")).unwrap();
    assert_eq!(block_on(w.seek(SeekFrom::Start(3))).unwrap(), 3);
    block_on(w.write_all(b"z")).unwrap();
    block_on(w.flush()).unwrap();
    assert_eq!(w.into_inner().into_inner(), b"ab\0z");
}

#[test]
fn cursor_writers() {
    let mut v = Vec::new();
    block_on(Cursor::new(&mut v).write_all(b"vec")).unwrap();
    assert_eq!(v, b"vec");
    let mut arr = [0u8; 3];
    let mut c = Cursor::new(&mut arr[..]);
    assert_eq!(block_on(c.write(b"12345")).unwrap(), 3);
    assert_eq!(block_on(c.write(b"6")).unwrap(), 0);
    let mut boxed = Cursor::new(vec![0u8; 2].into_boxed_slice());
    block_on(boxed.write_all(b"hi")).unwrap();
    block_on(boxed.close()).unwrap();
    assert_eq!(&*boxed.into_inner(), b"hi");
    let mut c = Cursor::new(b"abc".to_vec());
    c.set_position(1);
    assert_eq!(block_on(c.fill_buf()).unwrap(), b"bc");
    c.get_mut().push(b'd');
    let mut s = String::new();
    block_on(c.read_to_string(&mut s)).unwrap();
    assert_eq!(s, "bcd");
}

#[test]
fn copy_over_pending_reader_and_short_writer() {
    let data = bytes(50_000);
    let mut w = ShortWriter::new(1_000);
    let n = block_on(io::copy(Trickle::new(data.clone(), 777), &mut w)).unwrap();
    assert_eq!(n, 50_000);
    assert_eq!(w.data, data);
    assert_eq!(w.flushes, 1, "copy flushes the writer at the end");
    // Buffered source, tiny writes.
    let mut w = ShortWriter::new(1);
    let n = block_on(io::copy_buf(
        BufReader::with_capacity(5, Trickle::new(&b"0123456789"[..], 3)),
        &mut w,
    ))
    .unwrap();
    assert_eq!((n, &w.data[..]), (10, &b"0123456789"[..]));
}

#[test]
fn copy_stops_on_errors() {
    let mut w = ShortWriter::new(10);
    w.limit = 5;
    let err = block_on(io::copy(Cursor::new(&b"0123456789"[..]), &mut w)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WriteZero);
    let r = Flaky {
        kind: ErrorKind::TimedOut,
        failures: 1,
        data: std::io::Cursor::new(Vec::new()),
    };
    let err = block_on(io::copy(r, io::sink())).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut);
    assert_eq!(block_on(io::copy(io::empty(), io::sink())).unwrap(), 0);
}

#[test]
fn empty_sink_repeat() {
    let mut buf = Vec::new();
    assert_eq!(block_on(io::empty().read_to_end(&mut buf)).unwrap(), 0);
    assert!(block_on(io::empty().fill_buf()).unwrap().is_empty());
    let mut sink = io::sink();
    assert_eq!(block_on(sink.write(&[1; 100])).unwrap(), 100);
    block_on(sink.flush()).unwrap();
    block_on(sink.close()).unwrap();
    let n = block_on(io::copy(io::repeat(7).take(20_000), io::sink())).unwrap();
    assert_eq!(n, 20_000);
}

/// A single object read by one branch and written by another at the same time.
#[test]
fn split_halves_work_concurrently() {
    let duplex = Duplex {
        input: Trickle::new(bytes(5_000), 100),
        output: ShortWriter::new(64),
    };
    let (mut reader, mut writer) = io::split(duplex);
    let (read, written) = block_on(future::zip(
        async {
            let mut v = Vec::new();
            reader.read_to_end(&mut v).await.map(|_| v)
        },
        async {
            writer.write_all(&bytes(3_000)).await?;
            writer.close().await
        },
    ));
    assert_eq!(read.unwrap(), bytes(5_000));
    written.unwrap();
    let duplex = reader.reunite(writer).unwrap();
    assert_eq!(duplex.output.data, bytes(3_000));
    assert!(duplex.output.closed);
}

#[test]
fn split_reunite_rejects_strangers() {
    let (r1, w1) = io::split(Cursor::new(Vec::new()));
    let (r2, w2) = io::split(Cursor::new(Vec::new()));
    let io::ReunionError(r1, w2) = r1.reunite(w2).unwrap_err();
    assert!(w1.reunite(r1).is_ok());
    assert!(w2.reunite(r2).is_ok());
}

/// `ReadHalf` and `WriteHalf` are `!Send`: if they were `Send`, the call below would be
/// ambiguous between the two impls and this would not compile.
#[test]
fn split_halves_are_not_send() {
    trait AmbiguousIfSend<A> {
        fn check() {}
    }
    impl<T: ?Sized> AmbiguousIfSend<()> for T {}
    impl<T: ?Sized + Send> AmbiguousIfSend<u8> for T {}
    <io::ReadHalf<Cursor<Vec<u8>>> as AmbiguousIfSend<_>>::check();
    <io::WriteHalf<Cursor<Vec<u8>>> as AmbiguousIfSend<_>>::check();
}

struct Duplex {
    input: Trickle,
    output: ShortWriter,
}

impl AsyncRead for Duplex {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.input).poll_read(cx, buf)
    }
}

impl io::AsyncWrite for Duplex {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.output).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.output).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.output).poll_close(cx)
    }
}
