//! solo's echo server for `cargo xtask bench`: the same TCP echo as the peers, on solo.
//!
//! `solo-echo --addr HOST:PORT` (also accepts `--mode echo`, like the peers). One thread,
//! a task per connection, a 4 KiB buffer per connection like the peers (the demo server,
//! not this, shows solo's buffer-lending design).

use std::io;

use solo::io::{AsyncReadExt, AsyncWriteExt};
use solo::net::{TcpListener, TcpStream};
use solo_bench_peers::{Args, Mode};

fn main() {
    let args = Args::from_env_or_exit("solo-echo");
    if args.mode != Mode::Echo {
        eprintln!("solo-echo: only --mode echo is served (HTTP is solo-server's job)");
        std::process::exit(2);
    }
    if let Err(e) = run(args) {
        eprintln!("solo-echo: {e}");
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
                let _ = echo(stream).await;
            })
            .detach();
        }
    })
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
