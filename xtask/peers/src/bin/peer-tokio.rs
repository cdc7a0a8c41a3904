//! The tokio peer: a `current_thread` runtime, a task per connection, a 4 KiB read buffer.
//!
//! `peer-tokio --mode http|echo --addr HOST:PORT`. Written the ordinary way a tokio user
//! would write it; only the listener (deeper backlog) and the HTTP handling are shared
//! with the other peers.

use std::io;
use std::time::Duration;

use solo_bench_peers::{Args, MAX_REQUEST, Mode, serve_http};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn main() {
    let args = Args::from_env_or_exit("peer-tokio");
    if let Err(e) = run(args) {
        eprintln!("peer-tokio: {e}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> io::Result<()> {
    solo_bench_peers::raise_fd_limit()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    rt.block_on(async move {
        let listener = TcpListener::from_std(solo_bench_peers::bind_listener(args.addr)?)?;
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(async move {
                        let _ = match args.mode {
                            Mode::Http => http(stream).await,
                            Mode::Echo => echo(stream).await,
                        };
                    });
                }
                Err(e) if solo_bench_peers::accept_error_is_resource(&e) => {
                    // Out of descriptors: the pending connection stays in the backlog and
                    // the listener stays readable, so pause instead of spinning. (The
                    // runtime has no timer driver here; a short blocking pause will do.)
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(_) => {}
            }
        }
    })
}

async fn http(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = vec![0u8; 4096];
    let mut filled = 0;
    let mut out = Vec::new();
    loop {
        if filled == buf.len() {
            if buf.len() >= MAX_REQUEST {
                return Ok(());
            }
            buf.resize(buf.len() * 2, 0);
        }
        let n = stream.read(&mut buf[filled..]).await?;
        if n == 0 {
            return Ok(());
        }
        filled += n;
        let used = serve_http(&buf[..filled], &mut out).map_err(io::Error::other)?;
        buf.copy_within(used..filled, 0);
        filled -= used;
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
        }
    }
}

async fn echo(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = vec![0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}
