//! A TCP echo server: every connection gets its own task, which sends back whatever it
//! receives, on one thread.
//!
//! Try it: `cargo run --example echo-server` (listens on 127.0.0.1:7000, or the address
//! given as the first argument), then in a second terminal `nc 127.0.0.1 7000` (or
//! `cargo run --example echo-client`) and type lines.

use std::io;

use solo::net::{TcpListener, TcpStream};

/// Accepts connections forever, echoing each on its own task.
pub async fn serve(listener: TcpListener) -> io::Result<()> {
    loop {
        let (stream, peer) = listener.accept().await?;
        println!("{peer} connected");
        // Tasks need not be `Send`: they all run on this thread.
        solo::spawn(async move {
            match echo(stream).await {
                Ok(bytes) => println!("{peer} left after {bytes} bytes"),
                Err(e) => println!("{peer} failed: {e}"),
            }
        })
        .detach();
    }
}

/// Copies everything the peer sends back to it, until end of file; returns the byte count.
pub async fn echo(stream: TcpStream) -> io::Result<u64> {
    // `&TcpStream` reads and writes too, so one stream serves as both ends of the copy.
    solo::io::copy(&stream, &stream).await
}

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7000".into());
    solo::block_on(async {
        let listener = TcpListener::bind(addr).await?;
        println!("echo server on {}", listener.local_addr()?);
        serve(listener).await
    })
}
