//! The futures-lite table of `FEATURES.md`, checked: one use of every row marked present,
//! compiled and run, and a check that the table and these uses name the same rows.
//!
//! A row's key is the first backquoted text of its first cell (`StreamExt::then`). Add a
//! present row to the table, and this test fails until it has a use here; add a use here,
//! and it fails until the table has the row.

use std::collections::BTreeSet;
use std::task::{Context, Poll, Waker};

use solo_lite::future::block_on as run;

/// Declares the uses: `"key" => { code }`. Generates `ROWS` (the keys) and a test running
/// every use.
macro_rules! rows {
    ($($key:literal => $body:block)*) => {
        const ROWS: &[&str] = &[$($key),*];

        #[test]
        fn every_present_row_compiles_and_runs() {
            $( { $body } )*
        }
    };
}

rows! {
    // Crate root, macros and prelude.
    "pin!" => {
        let (a, b) = (async { 1 }, async { 2 });
        solo_lite::pin!(a, b);
        assert_eq!(run(a.as_mut()) + run(b.as_mut()), 3);
    }
    "ready!" => {
        let mut f = solo_lite::future::ready(2);
        let doubled = solo_lite::future::poll_fn(|cx| {
            let n = solo_lite::ready!(solo_lite::FutureExt::poll(&mut f, cx));
            Poll::Ready(n * 2)
        });
        assert_eq!(run(doubled), 4);
    }
    "prelude" => {
        use solo_lite::prelude::*;
        let mut s = String::new();
        run(solo_lite::io::Cursor::new(&b"p"[..]).read_to_string(&mut s)).unwrap();
        assert_eq!(run(solo_lite::stream::iter(s.chars()).count()), 1);
    }
    "{Future, FutureExt, Stream, StreamExt, AsyncRead, AsyncReadExt, AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt, AsyncSeek, AsyncSeekExt}" => {
        #[allow(unused_imports)]
        use solo_lite::{
            AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncSeek, AsyncSeekExt,
            AsyncWrite, AsyncWriteExt, Future, FutureExt, Stream, StreamExt,
        };
        fn takes<F: Future, S: Stream, R: AsyncBufRead + AsyncRead + AsyncSeek, W: AsyncWrite>() {}
        takes::<solo_lite::future::Ready<()>, solo_lite::stream::Empty<()>, solo_lite::io::Cursor<Vec<u8>>, Vec<u8>>();
        assert_eq!(run(solo_lite::stream::once(1).next()), Some(1));
    }

    // future
    "future::block_on" => { assert_eq!(solo_lite::future::block_on(async { 7 }), 7); }
    "future::pending" => { assert_eq!(run(solo_lite::future::poll_once(solo_lite::future::pending::<u8>())), None); }
    "future::ready" => { assert_eq!(run(solo_lite::future::ready(1)), 1); }
    "future::poll_fn" => { assert_eq!(run(solo_lite::future::poll_fn(|_| Poll::Ready(3))), 3); }
    "future::poll_once" => { assert_eq!(run(solo_lite::future::poll_once(async { 1 })), Some(1)); }
    "future::yield_now" => { run(solo_lite::future::yield_now()); }
    "future::zip" => { assert_eq!(run(solo_lite::future::zip(async { 1 }, async { 2 })), (1, 2)); }
    "future::try_zip" => {
        let r = run(solo_lite::future::try_zip(async { Ok::<_, ()>(1) }, async { Ok(2) }));
        assert_eq!(r, Ok((1, 2)));
    }
    "future::or" => { assert_eq!(run(solo_lite::future::or(async { 1 }, async { 2 })), 1); }
    "future::race" => { assert_eq!(run(solo_lite::future::race(solo_lite::future::pending(), async { 2 })), 2); }
    "future::race_with_seed" => {
        assert_eq!(run(solo_lite::future::race_with_seed(solo_lite::future::pending(), async { 2 }, 1)), 2);
    }
    "future::fuse" => { assert_eq!(run(solo_lite::future::fuse(async { 3 })), 3); }
    "future::{Boxed, BoxedLocal}" => {
        let a: solo_lite::future::Boxed<u8> = Box::pin(async { 1 });
        let b: solo_lite::future::BoxedLocal<u8> = Box::pin(async { 2 });
        assert_eq!(run(a) + run(b), 3);
    }
    "future::{Pending, Ready, PollFn, PollOnce, YieldNow, Zip, TryZip, Or, Race, Fuse, CatchUnwind}" => {
        #[allow(unused_imports)]
        use solo_lite::future::{
            CatchUnwind, Fuse, Or, Pending, PollFn, PollOnce, Race, Ready, TryZip, YieldNow, Zip,
        };
        let f: Zip<Ready<u8>, Ready<u8>> = solo_lite::future::zip(solo_lite::future::ready(1), solo_lite::future::ready(2));
        assert_eq!(run(f), (1, 2));
    }
    "FutureExt::poll" => {
        use solo_lite::future::FutureExt;
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(solo_lite::future::ready(1).poll(&mut cx), Poll::Ready(1));
    }
    "FutureExt::or" => {
        use solo_lite::future::FutureExt;
        assert_eq!(run(solo_lite::future::ready(1).or(solo_lite::future::ready(2))), 1);
    }
    "FutureExt::race" => {
        use solo_lite::future::FutureExt;
        assert_eq!(run(solo_lite::future::pending().race(solo_lite::future::ready(2))), 2);
    }
    "FutureExt::catch_unwind" => {
        use solo_lite::future::FutureExt;
        assert_eq!(run(solo_lite::future::ready(1).catch_unwind()).unwrap(), 1);
    }
    "FutureExt::boxed" => {
        use solo_lite::future::FutureExt;
        assert_eq!(run(async { 1 }.boxed()), 1);
    }
    "FutureExt::boxed_local" => {
        use solo_lite::future::FutureExt;
        let rc = std::rc::Rc::new(1);
        assert_eq!(run(async move { *rc }.boxed_local()), 1);
    }

    // stream
    "stream::block_on" => {
        let v: Vec<u8> = solo_lite::stream::block_on(solo_lite::stream::iter([1, 2])).collect();
        assert_eq!(v, [1, 2]);
    }
    "stream::empty" => { assert_eq!(run(solo_lite::StreamExt::count(solo_lite::stream::empty::<u8>())), 0); }
    "stream::iter" => { assert_eq!(run(solo_lite::StreamExt::count(solo_lite::stream::iter(0..3))), 3); }
    "stream::once" => { assert_eq!(run(solo_lite::StreamExt::count(solo_lite::stream::once(1))), 1); }
    "stream::once_future" => {
        assert_eq!(run(solo_lite::StreamExt::count(solo_lite::stream::once_future(async { 1 }))), 1);
    }
    "stream::pending" => {
        let mut cx = Context::from_waker(Waker::noop());
        let mut s = solo_lite::stream::pending::<u8>();
        assert_eq!(solo_lite::StreamExt::poll_next(&mut s, &mut cx), Poll::Pending);
    }
    "stream::poll_fn" => {
        let s = solo_lite::stream::poll_fn(|_| Poll::Ready(None::<u8>));
        assert_eq!(run(solo_lite::StreamExt::count(s)), 0);
    }
    "stream::repeat" => {
        use solo_lite::StreamExt;
        assert_eq!(run(solo_lite::stream::repeat(1).take(2).count()), 2);
    }
    "stream::repeat_with" => {
        use solo_lite::StreamExt;
        assert_eq!(run(solo_lite::stream::repeat_with(|| 1).take(2).count()), 2);
    }
    "stream::unfold" => {
        let s = solo_lite::stream::unfold(0, |n| async move { (n < 2).then_some((n, n + 1)) });
        assert_eq!(run(solo_lite::StreamExt::count(s)), 2);
    }
    "stream::try_unfold" => {
        let s = solo_lite::stream::try_unfold(0, |n| async move { Ok::<_, ()>((n < 2).then_some((n, n + 1))) });
        assert_eq!(run(solo_lite::StreamExt::count(s)), 2);
    }
    "stream::stop_after_future" => {
        let s = solo_lite::stream::stop_after_future(solo_lite::stream::iter(0..), async {});
        assert_eq!(run(solo_lite::StreamExt::count(s)), 0);
    }
    "stream::or" => {
        let s = solo_lite::stream::or(solo_lite::stream::once(1), solo_lite::stream::once(2));
        assert_eq!(run(solo_lite::StreamExt::collect::<Vec<_>>(s)), [1, 2]);
    }
    "stream::race" => {
        let s = solo_lite::stream::race(solo_lite::stream::once(1), solo_lite::stream::once(2));
        assert_eq!(run(solo_lite::StreamExt::count(s)), 2);
    }
    "stream::race_with_seed" => {
        let s = solo_lite::stream::race_with_seed(solo_lite::stream::once(1), solo_lite::stream::once(2), 9);
        assert_eq!(run(solo_lite::StreamExt::count(s)), 2);
    }
    "stream::{Boxed, BoxedLocal}" => {
        let a: solo_lite::stream::Boxed<u8> = Box::pin(solo_lite::stream::once(1));
        let b: solo_lite::stream::BoxedLocal<u8> = Box::pin(solo_lite::stream::once(1));
        assert_eq!(run(solo_lite::StreamExt::count(a)) + run(solo_lite::StreamExt::count(b)), 2);
    }
    "stream::{BlockOn, Empty, Iter, Once, OnceFuture, Pending, PollFn, Repeat, RepeatWith, Unfold, TryUnfold, StopAfterFuture, Or, Race, Map, FlatMap, Flatten, Then, Filter, FilterMap, Take, TakeWhile, MapWhile, Skip, SkipWhile, StepBy, Chain, Cloned, Copied, Scan, Fuse, Cycle, Enumerate, Inspect, Zip, Drain, NextFuture, TryNextFuture, CountFuture, CollectFuture, TryCollectFuture, PartitionFuture, FoldFuture, TryFoldFuture, NthFuture, LastFuture, FindFuture, FindMapFuture, PositionFuture, AllFuture, AnyFuture, ForEachFuture, TryForEachFuture, UnzipFuture}" => {
        #[allow(unused_imports)]
        use solo_lite::stream::{
            AllFuture, AnyFuture, BlockOn, Chain, Cloned, CollectFuture, Copied, CountFuture,
            Cycle, Drain, Empty, Enumerate, Filter, FilterMap, FindFuture, FindMapFuture,
            FlatMap, Flatten, FoldFuture, ForEachFuture, Fuse, Inspect, Iter, LastFuture, Map,
            MapWhile, NextFuture, NthFuture, Once, OnceFuture, Or, PartitionFuture, Pending,
            PollFn, PositionFuture, Race, Repeat, RepeatWith, Scan, Skip, SkipWhile, StepBy,
            StopAfterFuture, Take, TakeWhile, Then, TryCollectFuture, TryFoldFuture,
            TryForEachFuture, TryNextFuture, TryUnfold, Unfold, UnzipFuture, Zip,
        };
        let s: Take<Repeat<u8>> = solo_lite::StreamExt::take(solo_lite::stream::repeat(1), 1);
        assert_eq!(run(solo_lite::StreamExt::count(s)), 1);
    }
    "StreamExt::poll_next" => {
        use solo_lite::StreamExt;
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(solo_lite::stream::once(1).poll_next(&mut cx), Poll::Ready(Some(1)));
    }
    "StreamExt::next" => {
        use solo_lite::StreamExt;
        assert_eq!(run(solo_lite::stream::once(1).next()), Some(1));
    }
    "StreamExt::try_next" => {
        use solo_lite::StreamExt;
        assert_eq!(run(solo_lite::stream::once(Ok::<_, ()>(1)).try_next()), Ok(Some(1)));
    }
    "StreamExt::count" => {
        use solo_lite::StreamExt;
        assert_eq!(run(solo_lite::stream::iter(0..2).count()), 2);
    }
    "StreamExt::map" => {
        use solo_lite::StreamExt;
        assert_eq!(run(solo_lite::stream::once(1).map(|n| n + 1).next()), Some(2));
    }
    "StreamExt::flat_map" => {
        use solo_lite::StreamExt;
        assert_eq!(run(solo_lite::stream::iter(0..3).flat_map(|n| solo_lite::stream::iter(0..n)).count()), 3);
    }
    "StreamExt::flatten" => {
        use solo_lite::StreamExt;
        let nested = solo_lite::stream::iter([solo_lite::stream::once(1), solo_lite::stream::once(2)]);
        assert_eq!(run(nested.flatten().count()), 2);
    }
    "StreamExt::then" => {
        use solo_lite::StreamExt;
        let v: Vec<u8> = run(solo_lite::stream::iter([1, 2]).then(|n| async move { n * 2 }).collect());
        assert_eq!(v, [2, 4]);
    }
    "StreamExt::filter" => {
        use solo_lite::StreamExt;
        assert_eq!(run(solo_lite::stream::iter(0..4).filter(|n| n % 2 == 0).count()), 2);
    }
    "StreamExt::filter_map" => {
        use solo_lite::StreamExt;
        assert_eq!(run(solo_lite::stream::iter(["1", "x"]).filter_map(|s| s.parse::<u8>().ok()).count()), 1);
    }
    "StreamExt::take" => {
        use solo_lite::StreamExt;
        assert_eq!(run(solo_lite::stream::iter(0..9).take(2).count()), 2);
    }
    "StreamExt::take_while" => {
        use solo_lite::StreamExt;
        assert_eq!(run(solo_lite::stream::iter(0..9).take_while(|&n| n < 3).count()), 3);
    }
    "StreamExt::map_while" => {
        use solo_lite::StreamExt;
        assert_eq!(run(solo_lite::stream::iter([1, 0, 1]).map_while(|n| (n > 0).then_some(n)).count()), 1);
    }
    "StreamExt::skip" => {
        use solo_lite::StreamExt;
        assert_eq!(run(solo_lite::stream::iter(0..3).skip(1).count()), 2);
    }
    "StreamExt::skip_while" => {
        use solo_lite::StreamExt;
        assert_eq!(run(solo_lite::stream::iter(0..5).skip_while(|&n| n < 3).count()), 2);
    }
    "StreamExt::step_by" => {
        use solo_lite::StreamExt;
        assert_eq!(run(solo_lite::stream::iter(0..5).step_by(2).count()), 3);
    }
    "StreamExt::chain" => {
        use solo_lite::StreamExt;
        assert_eq!(run(solo_lite::stream::once(1).chain(solo_lite::stream::once(2)).count()), 2);
    }
    "StreamExt::cloned" => {
        use solo_lite::StreamExt;
        let v: Vec<String> = run(solo_lite::stream::iter(&[String::from("a")]).cloned().collect());
        assert_eq!(v, ["a"]);
    }
    "StreamExt::copied" => {
        use solo_lite::StreamExt;
        assert_eq!(run(solo_lite::stream::iter(&[1u8]).copied().next()), Some(1));
    }
    "StreamExt::collect" => {
        use solo_lite::StreamExt;
        assert_eq!(run(solo_lite::stream::iter("ab".chars()).collect::<String>()), "ab");
    }
    "StreamExt::try_collect" => {
        use solo_lite::StreamExt;
        let r: Result<Vec<u8>, ()> = run(solo_lite::stream::iter([Ok(1)]).try_collect());
        assert_eq!(r, Ok(vec![1]));
    }
    "StreamExt::partition" => {
        use solo_lite::StreamExt;
        let (a, b): (Vec<u8>, Vec<u8>) = run(solo_lite::stream::iter([1, 2]).partition(|&n| n > 1));
        assert_eq!((a, b), (vec![2], vec![1]));
    }
    "StreamExt::fold" => {
        use solo_lite::StreamExt;
        assert_eq!(run(solo_lite::stream::iter(1..4).fold(0, |a, b| a + b)), 6);
    }
    "StreamExt::try_fold" => {
        use solo_lite::StreamExt;
        let mut s = solo_lite::stream::iter([Ok::<_, ()>(1), Ok(2)]);
        assert_eq!(run(s.try_fold(0, |a, b| Ok(a + b))), Ok(3));
    }
    "StreamExt::scan" => {
        use solo_lite::StreamExt;
        let v: Vec<u8> = run(solo_lite::stream::iter([1, 2]).scan(0, |t, n| { *t += n; Some(*t) }).collect());
        assert_eq!(v, [1, 3]);
    }
    "StreamExt::fuse" => {
        use solo_lite::StreamExt;
        use solo_lite::stream::FusedStream;
        let mut s = solo_lite::stream::empty::<u8>().fuse();
        assert_eq!(run(s.next()), None);
        assert!(s.is_terminated());
    }
    "StreamExt::cycle" => {
        use solo_lite::StreamExt;
        assert_eq!(run(solo_lite::stream::once(1).cycle().take(3).count()), 3);
    }
    "StreamExt::enumerate" => {
        use solo_lite::StreamExt;
        assert_eq!(run(solo_lite::stream::once('a').enumerate().next()), Some((0, 'a')));
    }
    "StreamExt::inspect" => {
        use solo_lite::StreamExt;
        let mut seen = 0;
        run(solo_lite::stream::iter(0..3).inspect(|_| seen += 1).count());
        assert_eq!(seen, 3);
    }
    "StreamExt::nth" => {
        use solo_lite::StreamExt;
        assert_eq!(run(solo_lite::stream::iter(0..5).nth(2)), Some(2));
    }
    "StreamExt::last" => {
        use solo_lite::StreamExt;
        assert_eq!(run(solo_lite::stream::iter(0..5).last()), Some(4));
    }
    "StreamExt::find" => {
        use solo_lite::StreamExt;
        assert_eq!(run(solo_lite::stream::iter(0..5).find(|&n| n > 2)), Some(3));
    }
    "StreamExt::find_map" => {
        use solo_lite::StreamExt;
        assert_eq!(run(solo_lite::stream::iter(["x", "4"]).find_map(|s| s.parse::<u8>().ok())), Some(4));
    }
    "StreamExt::position" => {
        use solo_lite::StreamExt;
        assert_eq!(run(solo_lite::stream::iter(0..5).position(|n| n == 3)), Some(3));
    }
    "StreamExt::all" => {
        use solo_lite::StreamExt;
        assert!(run(solo_lite::stream::iter(0..5).all(|n| n < 5)));
    }
    "StreamExt::any" => {
        use solo_lite::StreamExt;
        assert!(run(solo_lite::stream::iter(0..5).any(|n| n == 4)));
    }
    "StreamExt::for_each" => {
        use solo_lite::StreamExt;
        let mut sum = 0;
        run(solo_lite::stream::iter(0..4).for_each(|n| sum += n));
        assert_eq!(sum, 6);
    }
    "StreamExt::try_for_each" => {
        use solo_lite::StreamExt;
        assert_eq!(run(solo_lite::stream::iter(0..4).try_for_each(|n| if n < 2 { Ok(()) } else { Err(n) })), Err(2));
    }
    "StreamExt::zip" => {
        use solo_lite::StreamExt;
        assert_eq!(run(solo_lite::stream::once(1).zip(solo_lite::stream::once('a')).next()), Some((1, 'a')));
    }
    "StreamExt::unzip" => {
        use solo_lite::StreamExt;
        let (a, b): (Vec<u8>, String) = run(solo_lite::stream::once((1, 'a')).unzip());
        assert_eq!((a, b.as_str()), (vec![1], "a"));
    }
    "StreamExt::or" => {
        use solo_lite::StreamExt;
        assert_eq!(run(solo_lite::stream::once(1).or(solo_lite::stream::once(2)).next()), Some(1));
    }
    "StreamExt::race" => {
        use solo_lite::StreamExt;
        assert_eq!(run(solo_lite::stream::once(1).race(solo_lite::stream::once(2)).count()), 2);
    }
    "StreamExt::drain" => {
        use solo_lite::StreamExt;
        let mut s = solo_lite::stream::iter(0..3);
        assert_eq!(run(s.drain().count()), 3);
    }
    "StreamExt::boxed" => {
        use solo_lite::StreamExt;
        assert_eq!(run(solo_lite::stream::once(1).boxed().count()), 1);
    }
    "StreamExt::boxed_local" => {
        use solo_lite::StreamExt;
        assert_eq!(run(solo_lite::stream::once(std::rc::Rc::new(1)).boxed_local().count()), 1);
    }

    // io
    "io::{Error, ErrorKind, Result, SeekFrom}" => {
        use solo_lite::io::{Error, ErrorKind, Result, SeekFrom};
        let r: Result<SeekFrom> = Err(Error::from(ErrorKind::Other));
        assert!(r.is_err());
    }
    "io::copy" => {
        let mut out = Vec::new();
        assert_eq!(run(solo_lite::io::copy(&b"abc"[..], &mut out)).unwrap(), 3);
    }
    "io::AssertAsync" => {
        use solo_lite::AsyncReadExt;
        let mut r = solo_lite::io::AssertAsync::new(std::io::Cursor::new(vec![1, 2]));
        let mut buf = Vec::new();
        assert_eq!(run(r.read_to_end(&mut buf)).unwrap(), 2);
    }
    "io::AsyncAsSync" => {
        use std::io::Read;
        let mut cx = Context::from_waker(Waker::noop());
        let mut r = solo_lite::io::AsyncAsSync::new(&mut cx, solo_lite::io::Cursor::new(vec![1]));
        assert_eq!(r.read(&mut [0; 4]).unwrap(), 1);
    }
    "io::BlockOn" => {
        use std::io::Write;
        let mut w = solo_lite::io::BlockOn::new(solo_lite::io::sink());
        w.write_all(b"blocking").unwrap();
    }
    "io::BufReader" => {
        use solo_lite::AsyncBufReadExt;
        let mut r = solo_lite::io::BufReader::new(&b"a\n"[..]);
        let mut line = String::new();
        assert_eq!(run(r.read_line(&mut line)).unwrap(), 2);
    }
    "io::BufWriter" => {
        use solo_lite::AsyncWriteExt;
        let mut w = solo_lite::io::BufWriter::new(Vec::new());
        run(w.write_all(b"x")).unwrap();
        run(w.flush()).unwrap();
        assert_eq!(w.get_ref(), b"x");
    }
    "io::Cursor" => {
        use solo_lite::AsyncSeekExt;
        let mut c = solo_lite::io::Cursor::new(vec![0; 4]);
        assert_eq!(run(c.seek(solo_lite::io::SeekFrom::End(0))).unwrap(), 4);
    }
    "io::empty" => {
        use solo_lite::AsyncReadExt;
        assert_eq!(run(solo_lite::io::empty().read(&mut [0; 1])).unwrap(), 0);
    }
    "io::repeat" => {
        use solo_lite::AsyncReadExt;
        assert_eq!(run(solo_lite::io::repeat(1).read(&mut [0; 3])).unwrap(), 3);
    }
    "io::sink" => {
        use solo_lite::AsyncWriteExt;
        assert_eq!(run(solo_lite::io::sink().write(b"ab")).unwrap(), 2);
    }
    "io::split" => {
        let (r, w) = solo_lite::io::split(solo_lite::io::Cursor::new(Vec::new()));
        assert!(r.reunite(w).is_ok());
    }
    "io::{BoxedReader, BoxedWriter}" => {
        let _r: solo_lite::io::BoxedReader = Box::pin(solo_lite::io::empty());
        let _w: solo_lite::io::BoxedWriter = Box::pin(solo_lite::io::sink());
    }
    "io::{Take, Bytes, Chain, Lines, Split, ReadHalf, WriteHalf, FillBuf, ReadFuture, ReadVectoredFuture, ReadExactFuture, ReadToEndFuture, ReadToStringFuture, ReadUntilFuture, ReadLineFuture, SeekFuture, WriteFuture, WriteVectoredFuture, WriteAllFuture, FlushFuture, CloseFuture}" => {
        #[allow(unused_imports)]
        use solo_lite::io::{
            Bytes, Chain, CloseFuture, FillBuf, FlushFuture, Lines, ReadExactFuture, ReadFuture,
            ReadHalf, ReadLineFuture, ReadToEndFuture, ReadToStringFuture, ReadUntilFuture,
            ReadVectoredFuture, SeekFuture, Split, Take, WriteAllFuture, WriteFuture,
            WriteHalf, WriteVectoredFuture,
        };
        let t: Take<solo_lite::io::Empty> = solo_lite::AsyncReadExt::take(solo_lite::io::empty(), 1);
        assert_eq!(t.limit(), 1);
    }
    "AsyncBufReadExt::fill_buf" => {
        use solo_lite::AsyncBufReadExt;
        let mut r = &b"ab"[..];
        assert_eq!(run(r.fill_buf()).unwrap(), b"ab");
    }
    "AsyncBufReadExt::consume" => {
        use solo_lite::AsyncBufReadExt;
        let mut r = solo_lite::io::Cursor::new(&b"ab"[..]);
        r.consume(1);
        assert_eq!(r.position(), 1);
    }
    "AsyncBufReadExt::read_until" => {
        use solo_lite::AsyncBufReadExt;
        let mut buf = Vec::new();
        assert_eq!(run(solo_lite::io::Cursor::new(&b"a,b"[..]).read_until(b',', &mut buf)).unwrap(), 2);
    }
    "AsyncBufReadExt::read_line" => {
        use solo_lite::AsyncBufReadExt;
        let mut line = String::new();
        assert_eq!(run(solo_lite::io::Cursor::new(&b"l\n"[..]).read_line(&mut line)).unwrap(), 2);
    }
    "AsyncBufReadExt::lines" => {
        use solo_lite::{AsyncBufReadExt, StreamExt};
        assert_eq!(run(solo_lite::io::Cursor::new(&b"a\nb"[..]).lines().count()), 2);
    }
    "AsyncBufReadExt::split" => {
        use solo_lite::{AsyncBufReadExt, StreamExt};
        assert_eq!(run(solo_lite::io::Cursor::new(&b"a;b"[..]).split(b';').count()), 2);
    }
    "AsyncReadExt::read" => {
        use solo_lite::AsyncReadExt;
        assert_eq!(run(solo_lite::io::Cursor::new(&b"ab"[..]).read(&mut [0; 8])).unwrap(), 2);
    }
    "AsyncReadExt::read_vectored" => {
        use solo_lite::AsyncReadExt;
        let mut buf = [0; 2];
        let mut bufs = [std::io::IoSliceMut::new(&mut buf)];
        assert_eq!(run(solo_lite::io::Cursor::new(&b"ab"[..]).read_vectored(&mut bufs)).unwrap(), 2);
    }
    "AsyncReadExt::read_to_end" => {
        use solo_lite::AsyncReadExt;
        let mut buf = Vec::new();
        assert_eq!(run(solo_lite::io::Cursor::new(&b"ab"[..]).read_to_end(&mut buf)).unwrap(), 2);
    }
    "AsyncReadExt::read_to_string" => {
        use solo_lite::AsyncReadExt;
        let mut s = String::new();
        assert_eq!(run(solo_lite::io::Cursor::new(&b"ab"[..]).read_to_string(&mut s)).unwrap(), 2);
    }
    "AsyncReadExt::read_exact" => {
        use solo_lite::AsyncReadExt;
        let mut buf = [0; 2];
        run(solo_lite::io::Cursor::new(&b"ab"[..]).read_exact(&mut buf)).unwrap();
        assert_eq!(&buf, b"ab");
    }
    "AsyncReadExt::take" => {
        use solo_lite::AsyncReadExt;
        let mut buf = Vec::new();
        assert_eq!(run(solo_lite::io::repeat(0).take(3).read_to_end(&mut buf)).unwrap(), 3);
    }
    "AsyncReadExt::bytes" => {
        use solo_lite::{AsyncReadExt, StreamExt};
        assert_eq!(run(solo_lite::io::Cursor::new(&b"ab"[..]).bytes().count()), 2);
    }
    "AsyncReadExt::chain" => {
        use solo_lite::AsyncReadExt;
        let mut s = String::new();
        let mut r = solo_lite::io::Cursor::new(&b"a"[..]).chain(solo_lite::io::Cursor::new(&b"b"[..]));
        run(r.read_to_string(&mut s)).unwrap();
        assert_eq!(s, "ab");
    }
    "AsyncReadExt::boxed_reader" => {
        use solo_lite::AsyncReadExt;
        let mut r = solo_lite::io::empty().boxed_reader();
        assert_eq!(run(r.read(&mut [0; 1])).unwrap(), 0);
    }
    "AsyncSeekExt::seek" => {
        use solo_lite::AsyncSeekExt;
        let mut c = solo_lite::io::Cursor::new(&b"abc"[..]);
        assert_eq!(run(c.seek(solo_lite::io::SeekFrom::Start(2))).unwrap(), 2);
    }
    "AsyncWriteExt::write" => {
        use solo_lite::AsyncWriteExt;
        let mut c = solo_lite::io::Cursor::new(Vec::new());
        assert_eq!(run(c.write(b"ab")).unwrap(), 2);
    }
    "AsyncWriteExt::write_vectored" => {
        use solo_lite::AsyncWriteExt;
        let mut c = solo_lite::io::Cursor::new(Vec::new());
        assert_eq!(run(c.write_vectored(&[std::io::IoSlice::new(b"ab")])).unwrap(), 2);
    }
    "AsyncWriteExt::write_all" => {
        use solo_lite::AsyncWriteExt;
        let mut c = solo_lite::io::Cursor::new(Vec::new());
        run(c.write_all(b"ab")).unwrap();
        assert_eq!(c.get_ref(), b"ab");
    }
    "AsyncWriteExt::flush" => {
        use solo_lite::AsyncWriteExt;
        run(solo_lite::io::sink().flush()).unwrap();
    }
    "AsyncWriteExt::close" => {
        use solo_lite::AsyncWriteExt;
        run(solo_lite::io::sink().close()).unwrap();
    }
    "AsyncWriteExt::boxed_writer" => {
        use solo_lite::AsyncWriteExt;
        let mut w = solo_lite::io::sink().boxed_writer();
        run(w.write_all(b"ab")).unwrap();
    }
}

/// `FEATURES.md`, read at compile time (no file access at run time, which Miri forbids).
const FEATURES: &str = include_str!("../../../FEATURES.md");

/// The rows of the tables of one section (`## ...` heading) of `FEATURES.md`: the key (the
/// first backquoted text of the first cell) and the answer (the second cell).
fn rows_of(section: Option<&str>) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    let mut in_section = section.is_none();
    for line in FEATURES.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            in_section = section.is_none_or(|s| heading.starts_with(s));
            continue;
        }
        if !in_section || !line.starts_with('|') || line.starts_with("|---") {
            continue;
        }
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
        let Some(key) = cells[0].split('`').nth(1) else {
            continue; // a header row
        };
        rows.push((
            key.to_string(),
            cells.get(1).copied().unwrap_or("").to_string(),
        ));
    }
    rows
}

#[test]
fn the_futures_lite_table_and_the_uses_name_the_same_rows() {
    let present: BTreeSet<String> = rows_of(Some("futures-lite"))
        .into_iter()
        .filter(|(_, answer)| answer.starts_with('`'))
        .map(|(key, _)| key)
        .collect();
    assert!(
        present.len() > 100,
        "{} present rows: is the table there?",
        present.len()
    );
    let used: BTreeSet<String> = ROWS.iter().map(|k| k.to_string()).collect();
    assert_eq!(ROWS.len(), used.len(), "a row is used twice");
    let untested: Vec<_> = present.difference(&used).collect();
    let unlisted: Vec<_> = used.difference(&present).collect();
    assert!(
        untested.is_empty(),
        "present rows without a use in this file: {untested:?}"
    );
    assert!(
        unlisted.is_empty(),
        "uses without a present row in FEATURES.md: {unlisted:?}"
    );
}

#[test]
fn every_row_of_every_table_has_an_answer() {
    let rows = rows_of(None);
    assert!(
        rows.len() > 200,
        "{} rows: is FEATURES.md there?",
        rows.len()
    );
    for (key, answer) in rows {
        let present = answer.starts_with('`');
        let left_out = answer.starts_with("left out") && answer.contains(": ");
        assert!(
            present || left_out,
            "row `{key}` has no answer (a path, or `left out: why`): \
             {answer:?}"
        );
    }
}
