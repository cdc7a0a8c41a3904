//! Node's classic "don't wait": start reading a file, and while the read is in flight the
//! loop keeps going. A ticking `Timer` prints on the same thread while `solo::fs` reads
//! on the blocking pool; each line is printed as it happens, so the ticks and the read's
//! completion interleave.
//!
//! ```js
//! fs.readFile(file, (err, data) => console.log(`read ${data.length} bytes`));
//! setInterval(() => console.log("tick"), 2);
//! ```
//!
//! Try it: `cargo run --example hello-timer` (reads the example's own binary, a few
//! megabytes), or `cargo run --example hello-timer -- FILE`.

use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use solo::stream::StreamExt;
use solo::{Timer, future};

/// Ticks after the read completed, to show the loop was never blocked by it.
pub const TICKS_AFTER: u32 = 3;

/// How it went.
#[derive(Debug)]
pub struct Report {
    /// The file's size.
    pub bytes: usize,
    /// Timer ticks before the read completed.
    pub ticks_during: u32,
    /// Timer ticks in all.
    pub ticks: u32,
}

/// Reads `path` while a timer ticks every `period`, printing each event as it happens;
/// returns after the read completed and [`TICKS_AFTER`] more ticks.
pub async fn read_while_ticking(path: PathBuf, period: Duration) -> io::Result<Report> {
    let start = Instant::now();
    let log = |what: String| println!("{:>9.3?}  {what}", start.elapsed());

    // Start the read and do not wait: the task runs while this function goes on.
    log(format!("reading {}", path.display()));
    let mut read = solo::spawn(solo::fs::read(path));
    log("not waiting for it".into());

    let mut ticker = Timer::interval(period);
    let mut ticks = 0;
    let bytes = loop {
        // Whichever comes first: the read, or the next tick (`or` polls the read first).
        let read_done = future::or(async { Some((&mut read).await) }, async {
            ticker.next().await;
            None
        })
        .await;
        match read_done {
            Some(data) => break data?.len(),
            None => {
                ticks += 1;
                log(format!("tick {ticks}"));
            }
        }
    };
    log(format!("read {bytes} bytes, after {ticks} ticks"));
    let ticks_during = ticks;
    while ticks < ticks_during + TICKS_AFTER {
        ticker.next().await;
        ticks += 1;
        log(format!("tick {ticks}"));
    }
    Ok(Report {
        bytes,
        ticks_during,
        ticks,
    })
}

fn main() -> io::Result<()> {
    let path = match std::env::args_os().nth(1) {
        Some(path) => PathBuf::from(path),
        None => std::env::current_exe()?,
    };
    let report = solo::block_on(read_while_ticking(path, Duration::from_millis(2)))?;
    println!("{report:?}");
    Ok(())
}
