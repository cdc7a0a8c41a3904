//! solo-lite and the `futures` crate drive each other's types through the shared
//! `futures-core` / `futures-io` traits.

mod support;

use solo_lite::future::block_on;
use support::{ShortWriter, Trickle, bytes};

/// `futures`' own types, driven by solo-lite's extension traits and `block_on`.
#[test]
fn solo_lite_traits_drive_futures_types() {
    use solo_lite::io::{AsyncBufReadExt, AsyncReadExt, AsyncSeekExt, AsyncWriteExt, SeekFrom};
    use solo_lite::stream::StreamExt;

    block_on(async {
        let mut cursor = futures::io::Cursor::new(Vec::new());
        cursor.write_all(b"one\ntwo\n").await.unwrap();
        cursor.seek(SeekFrom::Start(0)).await.unwrap();
        let mut first = String::new();
        cursor.read_line(&mut first).await.unwrap();
        assert_eq!(first, "one\n");
        let mut rest = Vec::new();
        cursor.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, b"two\n");

        // futures' BufReader, read with solo-lite's `lines`.
        let reader = futures::io::BufReader::new(futures::io::Cursor::new(b"a\nb".to_vec()));
        let lines: Vec<String> = reader.lines().map(Result::unwrap).collect().await;
        assert_eq!(lines, ["a", "b"]);

        // futures' streams, adapted with solo-lite's `StreamExt`.
        let s = futures::stream::iter(1..=4).zip(futures::stream::repeat('x'));
        let v: Vec<(i32, char)> = s.filter(|(n, _)| n % 2 == 0).collect().await;
        assert_eq!(v, [(2, 'x'), (4, 'x')]);

        // A futures channel: woken by a real waker, not polled in a loop.
        let (mut tx, mut rx) = futures::channel::mpsc::channel::<u32>(1);
        let (sent, received) = solo_lite::future::zip(
            async move {
                for i in 0..10 {
                    futures::SinkExt::send(&mut tx, i).await.unwrap();
                }
            },
            async move {
                let mut got = Vec::new();
                while let Some(i) = rx.next().await {
                    got.push(i);
                }
                got
            },
        )
        .await;
        let () = sent;
        assert_eq!(received, (0..10).collect::<Vec<_>>());
    });
}

/// solo-lite's types, driven by `futures`' extension traits and executor.
#[test]
fn futures_traits_drive_solo_lite_types() {
    use futures::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    use futures::stream::StreamExt;

    futures::executor::block_on(async {
        let mut reader =
            solo_lite::io::BufReader::with_capacity(4, Trickle::new(&b"hello\nworld\n"[..], 3));
        let mut line = String::new();
        reader.read_line(&mut line).await.unwrap();
        assert_eq!(line, "hello\n");
        let mut rest = String::new();
        reader.read_to_string(&mut rest).await.unwrap();
        assert_eq!(rest, "world\n");

        let mut writer = solo_lite::io::BufWriter::with_capacity(16, ShortWriter::new(5));
        writer.write_all(&bytes(100)).await.unwrap();
        writer.close().await.unwrap();
        assert_eq!(writer.get_ref().data, bytes(100));
        assert!(writer.get_ref().closed);

        // futures' copy between solo-lite's cursor and sink.
        let n = futures::io::copy(
            solo_lite::io::Cursor::new(bytes(3000)),
            &mut solo_lite::io::sink(),
        )
        .await
        .unwrap();
        assert_eq!(n, 3000);

        // solo-lite streams through futures' StreamExt.
        let v: Vec<u32> = solo_lite::stream::iter(1..=3)
            .map(|n| n * 10)
            .collect()
            .await;
        assert_eq!(v, [10, 20, 30]);
        let unfolded =
            solo_lite::stream::unfold(0, |n| async move { (n < 3).then_some((n, n + 1)) });
        assert_eq!(unfolded.collect::<Vec<_>>().await, [0, 1, 2]);

        // solo-lite futures under futures' executor.
        let (a, b) = solo_lite::future::zip(async { 1 }, solo_lite::future::yield_now()).await;
        assert_eq!((a, b), (1, ()));
    });
}

/// solo-lite's `copy` between a futures reader and a futures writer, and the reverse.
#[test]
fn copy_across_crates() {
    let mut out = futures::io::Cursor::new(Vec::new());
    let n = block_on(solo_lite::io::copy(
        futures::io::Cursor::new(bytes(20_000)),
        &mut out,
    ))
    .unwrap();
    assert_eq!(n, 20_000);
    assert_eq!(out.into_inner(), bytes(20_000));

    let (reader, mut writer) = solo_lite::io::split(solo_lite::io::Cursor::new(Vec::new()));
    futures::executor::block_on(futures::io::AsyncWriteExt::write_all(
        &mut writer,
        b"through futures",
    ))
    .unwrap();
    let cursor = reader.reunite(writer).unwrap();
    assert_eq!(cursor.into_inner(), b"through futures");
}
