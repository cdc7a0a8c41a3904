//! Reading a file with `solo::fs`: counts its lines, words and bytes the way `wc` does,
//! 64 KiB at a time, while the loop stays free for other work (file calls run on solo's
//! blocking pool, the way libuv serves Node's `fs`).
//!
//! Try it: `cargo run --example read-file -- FILE` (without `FILE`, it reads the
//! example's own source); a missing file shows the error, naming the path.

use std::io;
use std::path::Path;
use std::process::ExitCode;

use solo::fs::File;
use solo::io::AsyncReadExt;

/// What `wc` prints.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Newline characters.
    pub lines: u64,
    /// Runs of non-whitespace bytes.
    pub words: u64,
    /// Bytes.
    pub bytes: u64,
}

/// Counts lines, words and bytes of the file at `path`, a buffer at a time.
pub async fn count(path: &Path) -> io::Result<Counts> {
    let mut file = File::open(path).await?;
    let mut buf = vec![0; 64 * 1024];
    let mut counts = Counts::default();
    let mut in_word = false;
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            return Ok(counts);
        }
        for &b in &buf[..n] {
            let space = b.is_ascii_whitespace();
            counts.lines += u64::from(b == b'\n');
            counts.words += u64::from(!in_word && !space);
            in_word = !space;
        }
        counts.bytes += n as u64;
    }
}

fn main() -> ExitCode {
    let own_source = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/read-file.rs");
    let path = std::env::args().nth(1).unwrap_or_else(|| own_source.into());
    let result = solo::block_on(async {
        let len = solo::fs::metadata(&path).await?.len();
        let c = count(path.as_ref()).await?;
        println!(
            "{:>8} {:>8} {:>8} {path} (metadata: {len} bytes)",
            c.lines, c.words, c.bytes
        );
        io::Result::Ok(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // solo's fs errors name the operation and the path.
            eprintln!("read-file: {e}");
            ExitCode::FAILURE
        }
    }
}
