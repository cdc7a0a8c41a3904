//! `fs::read` of many small files, beside async-fs, both on their blocking pools.
//!
//! Sequential (one read at a time: the round trip through the pool) and concurrent (all
//! reads in flight at once, one task each); and a `File` opened and read through
//! `AsyncRead`.
//!
//! With `SOLO_DRIVER=uring` solo's reads go through the loop's io_uring instead of its pool
//! (open, statx and reads as ring operations); async-fs, on its pool either way, is the
//! yardstick between the two runs.

use std::path::PathBuf;

use solo_benches::{compare, contender};

const FILES: usize = 1_000;

fn main() {
    let dir = std::env::temp_dir().join(format!("solo-bench-fs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let paths: Vec<PathBuf> = (0..FILES)
        .map(|i| {
            let p = dir.join(format!("f{i}"));
            std::fs::write(&p, vec![i as u8; 1024]).unwrap();
            p
        })
        .collect();

    compare(
        "fs::read 1 KiB, sequential",
        FILES as u64,
        &mut [
            contender("solo", || {
                solo::block_on(async {
                    for p in &paths {
                        assert_eq!(solo::fs::read(p).await.unwrap().len(), 1024);
                    }
                })
            }),
            contender("async-fs", || {
                futures_lite::future::block_on(async {
                    for p in &paths {
                        assert_eq!(async_fs::read(p).await.unwrap().len(), 1024);
                    }
                })
            }),
        ],
    );

    compare(
        "fs::read 1 KiB, 1000 concurrent",
        FILES as u64,
        &mut [
            contender("solo", || {
                solo::block_on(async {
                    let tasks: Vec<_> = paths
                        .iter()
                        .cloned()
                        .map(|p| solo::spawn(solo::fs::read(p)))
                        .collect();
                    for t in tasks {
                        assert_eq!(t.await.unwrap().len(), 1024);
                    }
                })
            }),
            contender("async-fs", || {
                let ex = async_executor::LocalExecutor::new();
                futures_lite::future::block_on(ex.run(async {
                    let tasks: Vec<_> = paths
                        .iter()
                        .cloned()
                        .map(|p| ex.spawn(async_fs::read(p)))
                        .collect();
                    for t in tasks {
                        assert_eq!(t.await.unwrap().len(), 1024);
                    }
                }))
            }),
        ],
    );

    compare(
        "File::open + read 1 KiB (AsyncRead), sequential",
        FILES as u64,
        &mut [
            contender("solo", || {
                solo::block_on(async {
                    use futures_lite::AsyncReadExt;
                    let mut buf = [0u8; 2048];
                    for p in &paths {
                        let mut file = solo::fs::File::open(p).await.unwrap();
                        assert_eq!(file.read(&mut buf).await.unwrap(), 1024);
                    }
                })
            }),
            contender("async-fs", || {
                futures_lite::future::block_on(async {
                    use futures_lite::AsyncReadExt;
                    let mut buf = [0u8; 2048];
                    for p in &paths {
                        let mut file = async_fs::File::open(p).await.unwrap();
                        assert_eq!(file.read(&mut buf).await.unwrap(), 1024);
                    }
                })
            }),
        ],
    );

    std::fs::remove_dir_all(&dir).unwrap();
}
