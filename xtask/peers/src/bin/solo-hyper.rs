//! solo's hyper server for `cargo xtask bench`'s `hyper` family: the shared hyper
//! service ([`solo_bench_peers::hyper_hello`]) on solo, through `solo::hyper`.
//!
//! `solo-hyper --mode hyper --addr HOST:PORT`. One thread, a task per connection, hyper's
//! HTTP/1.1 with `SoloIo` (the io adapter) and `SoloTimer` (its header-read timeout on
//! solo's wheel). `peer-tokio --mode hyper` is the same on tokio.

use std::io;

use hyper::service::service_fn;
use solo::hyper::{SoloIo, SoloTimer};
use solo::net::TcpListener;
use solo_bench_peers::{Args, Mode, hyper_hello};

fn main() {
    let args = Args::from_env_or_exit("solo-hyper");
    args.serve_only_or_exit("solo-hyper", &[Mode::Hyper]);
    if let Err(e) = run(args) {
        eprintln!("solo-hyper: {e}");
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
                let _ = hyper_hello::http1(SoloTimer)
                    .serve_connection(SoloIo::new(stream), service_fn(hyper_hello::handle))
                    .await;
            })
            .detach();
        }
    })
}
