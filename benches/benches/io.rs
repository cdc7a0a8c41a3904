//! Loopback TCP ping-pong on one thread: solo's `TcpStream` beside async-io's
//! `Async<TcpStream>` and tokio's `current_thread` runtime.
//!
//! Both ends live in the same thread and runtime, joined without an executor where the
//! runtime allows (solo, async-io: `zip` under `block_on`; tokio: `join!`), so the figure
//! is the cost of one round trip through the reactor: two writes, two reads, and the
//! wake-ups between them.

use solo_benches::{compare, contender};

const MSG: usize = 64;

fn main() {
    let quick = std::env::var_os("SOLO_BENCH_QUICK").is_some_and(|v| v == "1");
    let trips: usize = if quick { 2_000 } else { 20_000 };
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    compare(
        "tcp ping-pong round trip",
        trips as u64,
        &mut [
            contender("solo", || solo_pingpong(trips)),
            contender("async-io", || async_io_pingpong(trips)),
            contender("tokio", || tokio_rt.block_on(tokio_pingpong(trips))),
        ],
    );
}

fn solo_pingpong(trips: usize) {
    use solo::io::{AsyncReadExt, AsyncWriteExt};
    use solo::net::{TcpListener, TcpStream};
    solo::block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        client.set_nodelay(true).unwrap();
        server.set_nodelay(true).unwrap();
        let ping = async {
            let mut buf = [1u8; MSG];
            for _ in 0..trips {
                client.write_all(&buf).await.unwrap();
                client.read_exact(&mut buf).await.unwrap();
            }
        };
        let pong = async {
            let mut buf = [0u8; MSG];
            for _ in 0..trips {
                server.read_exact(&mut buf).await.unwrap();
                server.write_all(&buf).await.unwrap();
            }
        };
        solo::future::zip(ping, pong).await;
    });
}

fn async_io_pingpong(trips: usize) {
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    use std::net::{TcpListener, TcpStream};
    async_io::block_on(async {
        let listener = async_io::Async::<TcpListener>::bind(([127, 0, 0, 1], 0)).unwrap();
        let addr = listener.get_ref().local_addr().unwrap();
        let mut client = async_io::Async::<TcpStream>::connect(addr).await.unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        client.get_ref().set_nodelay(true).unwrap();
        server.get_ref().set_nodelay(true).unwrap();
        let ping = async {
            let mut buf = [1u8; MSG];
            for _ in 0..trips {
                client.write_all(&buf).await.unwrap();
                client.read_exact(&mut buf).await.unwrap();
            }
        };
        let pong = async {
            let mut buf = [0u8; MSG];
            for _ in 0..trips {
                server.read_exact(&mut buf).await.unwrap();
                server.write_all(&buf).await.unwrap();
            }
        };
        futures_lite::future::zip(ping, pong).await;
    });
}

async fn tokio_pingpong(trips: usize) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (mut server, _) = listener.accept().await.unwrap();
    client.set_nodelay(true).unwrap();
    server.set_nodelay(true).unwrap();
    let ping = async {
        let mut buf = [1u8; MSG];
        for _ in 0..trips {
            client.write_all(&buf).await.unwrap();
            client.read_exact(&mut buf).await.unwrap();
        }
    };
    let pong = async {
        let mut buf = [0u8; MSG];
        for _ in 0..trips {
            server.read_exact(&mut buf).await.unwrap();
            server.write_all(&buf).await.unwrap();
        }
    };
    tokio::join!(ping, pong);
}
