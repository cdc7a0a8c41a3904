//! solo-min: the peers' minimal HTTP and echo servers, on solo.
//!
//! `solo-min --mode http|echo --addr HOST:PORT`. The same application code as `peer-tokio`
//! and `peer-smol` (a task per connection, a 4 KiB read buffer, [`serve_http`]'s parsing and
//! 129-byte response, the same echo), on `solo::block_on`, `solo::spawn` and `solo::net`.
//! Beside the demo server (timeouts, limits, routes, stats, metrics and buffer lending),
//! it separates what the runtime costs from what the demo does on top of it.

use std::io;

use solo::io::{AsyncReadExt, AsyncWriteExt};
use solo::net::{TcpListener, TcpStream};
use solo_bench_peers::{Args, MAX_REQUEST, Mode, serve_http};

fn main() {
    let args = Args::from_env_or_exit("solo-min");
    args.serve_only_or_exit("solo-min", &[Mode::Http, Mode::Echo]);
    if let Err(e) = run(args) {
        eprintln!("solo-min: {e}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> io::Result<()> {
    solo_bench_peers::raise_fd_limit()?;
    let listener = solo_bench_peers::bind_listener(args.addr)?;
    solo::block_on(async {
        // `accept` backs off by itself when descriptors run out.
        let listener = TcpListener::try_from(listener)?;
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            solo::spawn(async move {
                let _ = match args.mode {
                    Mode::Http => http(stream).await,
                    Mode::Echo => echo(stream).await,
                    Mode::Chat | Mode::Hyper => unreachable!("refused in main"),
                };
            })
            .detach();
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
