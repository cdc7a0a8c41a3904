//! An echo server on a Unix-domain socket (Unix only; elsewhere `main` says so).
//!
//! Try it: `cargo run --example unix-echo` (or `-- PATH`), then in a second terminal
//! `nc -U /tmp/solo-unix-echo.sock` (the path is printed) and type lines.

#[cfg(unix)]
use std::io;

#[cfg(unix)]
use solo::net::{UnixListener, UnixStream};

/// Accepts connections forever, echoing each on its own task.
#[cfg(unix)]
pub async fn serve(listener: UnixListener) -> io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        solo::spawn(async move {
            if let Err(e) = echo(stream).await {
                eprintln!("connection failed: {e}");
            }
        })
        .detach();
    }
}

/// Copies everything the peer sends back to it, until end of file; returns the byte count.
#[cfg(unix)]
pub async fn echo(stream: UnixStream) -> io::Result<u64> {
    solo::io::copy(&stream, &stream).await
}

#[cfg(unix)]
fn main() -> io::Result<()> {
    let path = std::env::args().nth(1).map_or_else(
        || std::env::temp_dir().join("solo-unix-echo.sock"),
        Into::into,
    );
    // A socket file left by an earlier run would make `bind` fail.
    if std::fs::symlink_metadata(&path).is_ok_and(|m| {
        use std::os::unix::fs::FileTypeExt;
        m.file_type().is_socket()
    }) {
        std::fs::remove_file(&path)?;
    }
    solo::block_on(async {
        let listener = UnixListener::bind(&path)?;
        println!("echo server on {}; try: nc -U {0}", path.display());
        serve(listener).await
    })
}

#[cfg(not(unix))]
fn main() {
    println!("unix-echo needs Unix-domain sockets, which solo offers on Unix only");
}
