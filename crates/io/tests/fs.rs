//! Tests of `solo_io::fs` on real files in a temporary directory.

mod common;

use std::collections::HashSet;
use std::io::{self, ErrorKind, SeekFrom};
use std::path::Path;

use common::{TempDir, block_on, read_to_end, wait_until};
use solo_io::fs::{self, File, OpenOptions};
use solo_lite::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use solo_lite::stream::StreamExt;

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + i / 256) as u8).collect()
}

#[test]
fn read_write_round_trip() {
    let dir = TempDir::new("roundtrip");
    let path = dir.join("data.bin");
    let data = pattern(1 << 20);
    block_on(async {
        fs::write(&path, &data).await?;
        assert_eq!(fs::read(&path).await?, data);
        fs::write(&path, "text ✓").await?;
        assert_eq!(fs::read_to_string(&path).await?, "text ✓");
        assert_eq!(fs::metadata(&path).await?.len(), "text ✓".len() as u64);
        fs::write(&path, [0xff, 0xfe]).await?;
        let err = fs::read_to_string(&path).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData);
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn read_dir_lists_each_entry_once() {
    let dir = TempDir::new("readdir");
    let n = 10_000;
    for i in 0..n {
        std::fs::write(dir.join(&format!("f{i:05}")), b"").unwrap();
    }
    std::fs::create_dir(dir.join("sub")).unwrap();
    let mut seen = HashSet::new();
    block_on(async {
        let mut entries = fs::read_dir(&dir.path()).await?;
        while let Some(entry) = entries.next().await {
            let entry = entry?;
            assert_eq!(entry.path(), dir.path().join(entry.file_name()));
            let name = entry.file_name().into_string().unwrap();
            if name == "sub" {
                assert!(entry.file_type().await?.is_dir());
                assert!(entry.metadata().await?.is_dir());
            } else if name == "f00042" {
                assert!(entry.file_type().await?.is_file());
                assert_eq!(entry.metadata().await?.len(), 0);
            }
            assert!(seen.insert(name.clone()), "{name} listed twice");
        }
        // The stream stays finished.
        assert!(entries.next().await.is_none());
        io::Result::Ok(())
    })
    .unwrap();
    assert_eq!(seen.len(), n + 1);
    assert!((0..n).all(|i| seen.contains(&format!("f{i:05}"))));
}

/// Checks that `err` keeps `kind` and names `op` and every path.
fn assert_names(err: &io::Error, kind: ErrorKind, op: &str, paths: &[&Path]) {
    assert_eq!(err.kind(), kind, "{err}");
    let message = err.to_string();
    assert!(message.starts_with(&format!("{op} ")), "{message}");
    for path in paths {
        assert!(
            message.contains(&format!("{path:?}")),
            "{message} lacks {path:?}"
        );
    }
    let source = err
        .get_ref()
        .and_then(|e| e.source())
        .expect("original error as source");
    assert!(message.ends_with(&source.to_string()), "{message}");
}

#[test]
fn errors_name_the_path_and_keep_the_kind() {
    let dir = TempDir::new("errors");
    let missing = dir.join("no/such/file");
    let other = dir.join("other");
    block_on(async {
        let err = fs::read(&missing).await.unwrap_err();
        assert_names(&err, ErrorKind::NotFound, "read", &[&missing]);
        #[cfg(unix)]
        {
            let original = err.get_ref().and_then(|e| e.source()).unwrap();
            let original = original.downcast_ref::<io::Error>().unwrap();
            assert_eq!(original.raw_os_error(), Some(libc::ENOENT));
            assert_eq!(
                err.to_string(),
                format!("read {missing:?}: No such file or directory (os error 2)")
            );
        }
        let err = File::open(&missing).await.unwrap_err();
        assert_names(&err, ErrorKind::NotFound, "open", &[&missing]);
        let err = fs::metadata(&missing).await.unwrap_err();
        assert_names(&err, ErrorKind::NotFound, "metadata", &[&missing]);
        let err = fs::remove_file(&missing).await.unwrap_err();
        assert_names(&err, ErrorKind::NotFound, "remove_file", &[&missing]);
        let err = fs::read_dir(&missing).await.unwrap_err();
        assert_names(&err, ErrorKind::NotFound, "read_dir", &[&missing]);
        let err = fs::rename(&missing, &other).await.unwrap_err();
        assert_names(&err, ErrorKind::NotFound, "rename", &[&missing, &other]);
        let err = fs::copy(&missing, &other).await.unwrap_err();
        assert_names(&err, ErrorKind::NotFound, "copy", &[&missing, &other]);
        let err = fs::canonicalize(&missing).await.unwrap_err();
        assert_names(&err, ErrorKind::NotFound, "canonicalize", &[&missing]);
        let err = fs::create_dir(&missing).await.unwrap_err();
        assert_names(&err, ErrorKind::NotFound, "create_dir", &[&missing]);

        fs::write(&other, "x").await?;
        let err = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&other)
            .await
            .unwrap_err();
        assert_names(&err, ErrorKind::AlreadyExists, "open", &[&other]);
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn file_write_seek_read() {
    let dir = TempDir::new("file");
    let path = dir.join("f");
    let data = pattern(300_000);
    block_on(async {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .await?;
        file.write_all(&data).await?;
        // `metadata` writes what is buffered first.
        assert_eq!(file.metadata().await?.len(), data.len() as u64);
        assert_eq!(file.seek(SeekFrom::Start(0)).await?, 0);
        assert_eq!(read_to_end(&mut file).await?, data);

        // Read a little (the file reads ahead), then write: the write lands where the
        // reader stands, not after the read-ahead.
        file.seek(SeekFrom::Start(100)).await?;
        let mut small = [0u8; 10];
        file.read_exact(&mut small).await?;
        assert_eq!(small, data[100..110]);
        file.write_all(b"XYZ").await?;
        assert_eq!(file.seek(SeekFrom::Current(0)).await?, 113);
        file.seek(SeekFrom::Start(105)).await?;
        file.read_exact(&mut small).await?;
        assert_eq!(&small[..5], &data[105..110]);
        assert_eq!(&small[5..8], b"XYZ");
        assert_eq!(&small[8..], &data[113..115]);

        // set_len keeps the position; sync_all and sync_data succeed.
        file.set_len(1_000).await?;
        assert_eq!(file.metadata().await?.len(), 1_000);
        assert_eq!(file.seek(SeekFrom::Current(0)).await?, 115);
        assert_eq!(file.seek(SeekFrom::End(0)).await?, 1_000);
        file.write_all(b"tail").await?;
        file.sync_all().await?;
        file.sync_data().await?;
        assert_eq!(std::fs::metadata(&path)?.len(), 1_004);

        // into_std hands over a file at the same position.
        file.seek(SeekFrom::Start(2)).await?;
        let mut two = [0u8; 2];
        file.read_exact(&mut two).await?;
        let mut std_file = file.into_std().await?;
        use std::io::{Read, Seek};
        assert_eq!(std_file.stream_position()?, 4);
        let mut rest = Vec::new();
        std_file.read_to_end(&mut rest)?;
        assert_eq!(rest.len(), 1_000);
        assert_eq!(&rest[rest.len() - 4..], b"tail");
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn file_create_append_and_drop_flush() {
    let dir = TempDir::new("append");
    let path = dir.join("log");
    block_on(async {
        let mut file = File::create(&path).await?;
        file.write_all(b"one\n").await?;
        file.flush().await?;
        drop(file);
        let mut file = OpenOptions::new().append(true).open(&path).await?;
        file.write_all(b"two\n").await?;
        file.flush().await?;
        assert_eq!(fs::read_to_string(&path).await?, "one\ntwo\n");
        // Dropped with buffered data: written in the background.
        file.write_all(b"three\n").await?;
        drop(file);
        io::Result::Ok(())
    })
    .unwrap();
    wait_until("the buffered data to reach the file", || {
        std::fs::read_to_string(&path).unwrap() == "one\ntwo\nthree\n"
    });
    // From a std file.
    let file = File::from(std::fs::File::open(&path).unwrap());
    let mut file = file;
    assert_eq!(
        block_on(read_to_end(&mut file)).unwrap(),
        b"one\ntwo\nthree\n"
    );
}

#[test]
fn copy_rename_remove_and_links() {
    let dir = TempDir::new("ops");
    let a = dir.join("a");
    let b = dir.join("b");
    let c = dir.join("c");
    let sub = dir.join("x/y/z");
    block_on(async {
        fs::write(&a, "contents").await?;
        let copied = fs::copy(&a, &b).await?;
        // On Windows std counts bytes through CopyFileExW's progress callback, which Wine
        // never calls (so it reports 0); the contents are checked below either way.
        if !cfg!(windows) {
            assert_eq!(copied, 8);
        }
        assert_eq!(fs::read(&b).await?, b"contents");
        fs::rename(&b, &c).await?;
        assert_eq!(
            fs::metadata(&b).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(fs::read_to_string(&c).await?, "contents");
        fs::remove_file(&c).await?;
        assert!(fs::metadata(&c).await.is_err());

        fs::hard_link(&a, &c).await?;
        assert_eq!(fs::read_to_string(&c).await?, "contents");
        fs::remove_file(&c).await?;

        #[cfg(unix)]
        {
            let link = dir.join("link");
            std::os::unix::fs::symlink(&a, &link)?;
            assert_eq!(fs::read_link(&link).await?, a);
            assert!(fs::symlink_metadata(&link).await?.file_type().is_symlink());
            assert!(fs::metadata(&link).await?.is_file());
            assert_eq!(fs::canonicalize(&link).await?, fs::canonicalize(&a).await?);
        }

        fs::create_dir(dir.join("x")).await?;
        assert_eq!(
            fs::create_dir(dir.join("x")).await.unwrap_err().kind(),
            ErrorKind::AlreadyExists
        );
        fs::create_dir_all(&sub).await?;
        fs::write(sub.join("file"), "deep").await?;
        assert!(fs::remove_dir(dir.join("x")).await.is_err());
        fs::remove_dir(dir.join("x/y/z/../z2")).await.unwrap_err();
        fs::create_dir(dir.join("empty")).await?;
        fs::remove_dir(dir.join("empty")).await?;
        fs::remove_dir_all(dir.join("x")).await?;
        assert!(fs::metadata(dir.join("x")).await.is_err());

        let mut perms = fs::metadata(&a).await?.permissions();
        perms.set_readonly(true);
        fs::set_permissions(&a, perms).await?;
        assert!(fs::metadata(&a).await?.permissions().readonly());
        io::Result::Ok(())
    })
    .unwrap();
}

/// A read abandoned while pending, then asked again with a smaller buffer: no byte is
/// lost or repeated (on the io_uring driver the first read's bytes wait in the file),
/// and a write after it lands where the reader stands.
#[test]
fn a_read_retried_with_a_smaller_buffer_loses_nothing() {
    use std::task::{Context, Poll, Waker};
    let dir = TempDir::new("retry");
    let path = dir.join("f");
    let data = pattern(10_000);
    std::fs::write(&path, &data).unwrap();
    block_on(async {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .await?;
        let mut big = [0u8; 4096];
        let mut cx = Context::from_waker(Waker::noop());
        let first =
            futures_io::AsyncRead::poll_read(std::pin::Pin::new(&mut file), &mut cx, &mut big);
        let mut got = Vec::new();
        if let Poll::Ready(n) = first {
            got.extend_from_slice(&big[..n?]);
        }
        let mut small = [0u8; 10];
        let n = file.read(&mut small).await?;
        got.extend_from_slice(&small[..n]);
        assert_eq!(got, data[..got.len()]);
        // Written where the reader stands, not after what was read ahead.
        file.write_all(b"HERE").await?;
        file.flush().await?;
        let at = got.len();
        assert_eq!(file.seek(SeekFrom::Current(0)).await?, at as u64 + 4);
        let mut rest = Vec::new();
        file.read_to_end(&mut rest).await?;
        assert_eq!(rest, data[at + 4..]);
        let all = std::fs::read(&path)?;
        assert_eq!(&all[at..at + 4], b"HERE");
        io::Result::Ok(())
    })
    .unwrap();
}

/// A write to a file opened for reading fails, at the write or at the latest at
/// `flush` (writes are buffered on the pool and write-behind on the io_uring driver).
#[cfg(unix)]
#[test]
fn a_write_error_reaches_write_or_flush() {
    let dir = TempDir::new("write-error");
    let path = dir.join("f");
    std::fs::write(&path, b"read only").unwrap();
    block_on(async {
        let mut file = File::open(&path).await?;
        let err = match file.write_all(b"nope").await {
            Err(e) => e,
            Ok(()) => file.flush().await.unwrap_err(),
        };
        assert_eq!(err.raw_os_error(), Some(libc::EBADF), "{err}");
        io::Result::Ok(())
    })
    .unwrap();
}

/// A `File` made under solo's loop and then used on a thread with no loop (a foreign
/// `block_on`) works there (on the io_uring driver it moves to the pool).
#[test]
fn a_file_from_the_loop_works_under_a_foreign_block_on() {
    let dir = TempDir::new("foreign");
    let path = dir.join("f");
    let data = pattern(100_000);
    std::fs::write(&path, &data).unwrap();
    let mut file = block_on(File::open(&path)).unwrap();
    let head = block_on(async {
        let mut head = [0u8; 10];
        file.read_exact(&mut head).await.map(|()| head)
    })
    .unwrap();
    assert_eq!(head, data[..10]);
    let rest = std::thread::spawn(move || {
        solo_lite::future::block_on(async {
            let mut rest = Vec::new();
            file.read_to_end(&mut rest).await.map(|_| rest)
        })
    })
    .join()
    .unwrap()
    .unwrap();
    assert_eq!(rest, data[10..]);
}
