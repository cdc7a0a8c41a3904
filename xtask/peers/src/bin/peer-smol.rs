//! The smol peer: async-executor's `LocalExecutor` and async-io's `Async<TcpListener>` on
//! one thread, a task per connection, a 4 KiB read buffer.
//!
//! `peer-smol --mode http|echo --addr HOST:PORT`. The executor is driven by
//! `async_io::block_on`, which is what `smol::block_on` is: that thread then also drives
//! the reactor while it waits. (Under `futures_lite::future::block_on` the reactor would be
//! driven by async-io's helper thread instead, and every readiness event would cost a
//! cross-thread wake-up.)

use std::io;
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use async_executor::LocalExecutor;
use async_io::{Async, Timer};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use solo_bench_peers::{Args, MAX_REQUEST, Mode, serve_http};

fn main() {
    let args = Args::from_env_or_exit("peer-smol");
    args.serve_only_or_exit("peer-smol", &[Mode::Http, Mode::Echo]);
    if let Err(e) = run(args) {
        eprintln!("peer-smol: {e}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> io::Result<()> {
    solo_bench_peers::raise_fd_limit()?;
    let ex = LocalExecutor::new();
    async_io::block_on(ex.run(async {
        let listener = Async::<TcpListener>::new(solo_bench_peers::bind_listener(args.addr)?)?;
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let _ = stream.get_ref().set_nodelay(true);
                    ex.spawn(async move {
                        let _ = match args.mode {
                            Mode::Http => http(stream).await,
                            Mode::Echo => echo(stream).await,
                            Mode::Chat | Mode::Hyper => unreachable!("refused in main"),
                        };
                    })
                    .detach();
                }
                Err(e) if solo_bench_peers::accept_error_is_resource(&e) => {
                    // Out of descriptors: back off instead of spinning on a readable listener.
                    Timer::after(Duration::from_millis(1)).await;
                }
                Err(_) => {}
            }
        }
    }))
}

async fn http(mut stream: Async<TcpStream>) -> io::Result<()> {
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

async fn echo(mut stream: Async<TcpStream>) -> io::Result<()> {
    let mut buf = vec![0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}
