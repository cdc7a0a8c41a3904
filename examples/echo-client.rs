//! A TCP echo client: sends each line typed on stdin to an echo server and prints what
//! comes back. Reading stdin (a blocking handle) goes through `solo::Unblock`.
//!
//! Try it: start `cargo run --example echo-server` in one terminal, then
//! `cargo run --example echo-client` (or `... -- HOST:PORT`) in a second one and type.

use std::io;

use solo::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use solo::net::TcpStream;
use solo::stream::StreamExt;

/// Sends `msg` and reads back as many bytes, writing and reading at the same time so a
/// message larger than the socket buffers cannot deadlock.
pub async fn round_trip(stream: &TcpStream, msg: &[u8]) -> io::Result<Vec<u8>> {
    let mut back = vec![0; msg.len()];
    let (mut reader, mut writer) = (stream, stream);
    solo::future::try_zip(writer.write_all(msg), reader.read_exact(&mut back)).await?;
    Ok(back)
}

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7000".into());
    solo::block_on(async {
        let stream = TcpStream::connect(&addr).await?;
        println!("connected to {addr}; type lines, end with Ctrl-D (Ctrl-Z on Windows)");
        let mut lines = BufReader::new(solo::Unblock::new(io::stdin())).lines();
        while let Some(line) = lines.next().await {
            let back = round_trip(&stream, format!("{}\n", line?).as_bytes()).await?;
            print!("echo: {}", String::from_utf8_lossy(&back));
        }
        Ok(())
    })
}
