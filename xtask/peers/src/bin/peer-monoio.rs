//! The monoio peer: monoio's io_uring driver on one thread, a task per connection, a 4 KiB
//! read buffer.
//!
//! `peer-monoio --mode http|echo --addr HOST:PORT` (Linux only). Written the ordinary way a
//! monoio user would write it: owned buffers passed to `read` and `write_all` and handed
//! back with the result (the completion model), on `RuntimeBuilder::<IoUringDriver>`, the
//! driver monoio exists for (its `legacy` epoll driver is not used). Only the listener
//! (deeper backlog) and the HTTP handling are shared with the other peers.

#[cfg(target_os = "linux")]
fn main() {
    use solo_bench_peers::Mode;
    let args = solo_bench_peers::Args::from_env_or_exit("peer-monoio");
    args.serve_only_or_exit("peer-monoio", &[Mode::Http, Mode::Echo]);
    if let Err(e) = linux::run(args) {
        eprintln!("peer-monoio: {e}");
        std::process::exit(1);
    }
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("peer-monoio: monoio's io_uring driver is Linux-only");
    std::process::exit(1);
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::time::Duration;

    use monoio::buf::IoBufMut;
    use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
    use monoio::net::{TcpListener, TcpStream};
    use solo_bench_peers::{Args, MAX_REQUEST, Mode, serve_http};

    pub(crate) fn run(args: Args) -> io::Result<()> {
        solo_bench_peers::raise_fd_limit()?;
        let listener = solo_bench_peers::bind_listener(args.addr)?;
        let mut rt = monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
            .enable_timer()
            .build()?;
        rt.block_on(async move {
            let listener = TcpListener::from_std(listener)?;
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        let _ = stream.set_nodelay(true);
                        // Dropping the handle detaches the task.
                        drop(monoio::spawn(async move {
                            let _ = match args.mode {
                                Mode::Http => http(stream).await,
                                Mode::Echo => echo(stream).await,
                                Mode::Chat | Mode::Hyper => unreachable!("refused in main"),
                            };
                        }));
                    }
                    Err(e) if solo_bench_peers::accept_error_is_resource(&e) => {
                        // Out of descriptors: back off instead of spinning.
                        monoio::time::sleep(Duration::from_millis(1)).await;
                    }
                    Err(_) => {}
                }
            }
        })
    }

    async fn http(mut stream: TcpStream) -> io::Result<()> {
        // The unparsed bytes are `buf[..len]`; a read fills the spare capacity after them.
        let mut buf = Vec::with_capacity(4096);
        let mut out = Vec::new();
        loop {
            if buf.len() == buf.capacity() {
                if buf.capacity() >= MAX_REQUEST {
                    return Ok(());
                }
                buf.reserve(buf.capacity());
            }
            let filled = buf.len();
            let (res, slice) = stream.read(buf.slice_mut(filled..)).await;
            buf = slice.into_inner();
            if res? == 0 {
                return Ok(());
            }
            let used = serve_http(&buf, &mut out).map_err(io::Error::other)?;
            buf.drain(..used);
            if !out.is_empty() {
                let (res, written) = stream.write_all(out).await;
                out = written;
                res?;
                out.clear();
            }
        }
    }

    async fn echo(mut stream: TcpStream) -> io::Result<()> {
        let mut buf = Vec::with_capacity(4096);
        loop {
            let (res, read) = stream.read(buf).await;
            buf = read;
            if res? == 0 {
                return Ok(());
            }
            let (res, written) = stream.write_all(buf).await;
            buf = written;
            res?;
            buf.clear();
        }
    }
}
