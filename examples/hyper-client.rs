//! hyper 1.x's client on solo: 50 requests at once from 50 tasks, over HTTP/1.1 (a
//! connection per task) or over one HTTP/2 connection that all 50 share.
//!
//! Try it: start `cargo run --example hyper-server --features ecosystem-examples`, then
//! `cargo run --example hyper-client --features ecosystem-examples` (or `-- ADDR [--http2]
//! [PATH]`). With the path `/together/50` the server answers only once all 50 requests are
//! in its handler at the same time: the proof that they are concurrent.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::client::conn::{http1, http2};
use hyper::{Request, StatusCode};
use solo::hyper::{SoloExecutor, SoloIo, SoloTimer};
use solo::net::TcpStream;

/// How many tasks, each with one request.
pub const TASKS: usize = 50;

/// GETs `path` from `addr` in `tasks` tasks at once; returns the bodies in task order.
///
/// Over HTTP/1.1 every task opens its own connection (one request in flight per HTTP/1.1
/// connection); over HTTP/2 one connection is opened and its handle cloned into every
/// task, so the requests are multiplexed as streams. A status other than 200 is an error.
pub async fn get_concurrently(
    addr: SocketAddr,
    path: &str,
    tasks: usize,
    use_http2: bool,
) -> io::Result<Vec<String>> {
    let shared = if use_http2 {
        let stream = TcpStream::connect(addr).await?;
        let (sender, conn) = http2::Builder::new(SoloExecutor)
            .timer(SoloTimer)
            .handshake(SoloIo::new(stream))
            .await
            .map_err(io::Error::other)?;
        // The connection's own work (reading frames, flow control) runs on a task.
        solo::spawn(conn).detach();
        Some(sender)
    } else {
        None
    };
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let shared = shared.clone();
            let path = path.to_string();
            solo::spawn(async move {
                let response = match shared {
                    Some(mut sender) => {
                        // HTTP/2 takes the scheme and authority from the URI.
                        let uri = format!("http://{addr}{path}");
                        let request = Request::get(uri).body(Empty::<Bytes>::new());
                        sender
                            .send_request(request.map_err(io::Error::other)?)
                            .await
                    }
                    None => {
                        // HTTP/1.1: the path in the request line, the authority in `Host`.
                        let request = Request::get(path)
                            .header(hyper::header::HOST, addr.to_string())
                            .body(Empty::<Bytes>::new())
                            .map_err(io::Error::other)?;
                        let stream = TcpStream::connect(addr).await?;
                        let (mut sender, conn) = http1::handshake(SoloIo::new(stream))
                            .await
                            .map_err(io::Error::other)?;
                        solo::spawn(conn).detach();
                        sender.send_request(request).await
                    }
                }
                .map_err(io::Error::other)?;
                if response.status() != StatusCode::OK {
                    return Err(io::Error::other(format!("status {}", response.status())));
                }
                let body = response
                    .into_body()
                    .collect()
                    .await
                    .map_err(io::Error::other)?;
                String::from_utf8(body.to_bytes().to_vec()).map_err(io::Error::other)
            })
        })
        .collect();
    let mut bodies = Vec::with_capacity(tasks);
    for handle in handles {
        bodies.push(handle.await?);
    }
    Ok(bodies)
}

fn main() -> io::Result<()> {
    let mut addr: SocketAddr = "127.0.0.1:3000".parse().unwrap();
    let mut use_http2 = false;
    let mut path = "/count".to_string();
    for arg in std::env::args().skip(1) {
        if arg == "--http2" {
            use_http2 = true;
        } else if arg.starts_with('/') {
            path = arg;
        } else {
            addr = arg.parse().map_err(io::Error::other)?;
        }
    }
    solo::block_on(async {
        let start = Instant::now();
        let bodies = solo::io_timeout(
            Duration::from_secs(30),
            get_concurrently(addr, &path, TASKS, use_http2),
        )
        .await?;
        for (i, body) in bodies.iter().enumerate() {
            print!("task {i:2}: {body}");
        }
        let how = if use_http2 {
            "one HTTP/2 connection"
        } else {
            "HTTP/1.1, a connection each"
        };
        println!(
            "{} requests from {TASKS} tasks over {how} in {:?}",
            bodies.len(),
            start.elapsed()
        );
        Ok(())
    })
}
