//! The `hyper` family's service: one hyper 1.x "hello", the same for every runtime.
//!
//! `solo-hyper` serves it on solo (`solo::hyper::{SoloIo, SoloTimer}`) and `peer-tokio
//! --mode hyper` on tokio's `current_thread` runtime (hyper-util's `TokioIo` and
//! `TokioTimer`); only the io adapter, the timer and the runtime differ, so both send the
//! same bytes: `GET /plaintext` gets `200` with `Hello, World!` (`server`, `content-type`,
//! and hyper's own `content-length` and `date`), any other path an empty `404`.

use std::convert::Infallible;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue, SERVER};
use hyper::rt::Timer;
use hyper::server::conn::http1;
use hyper::{Request, Response, StatusCode};

use crate::PLAINTEXT_PATH;

/// The body of `GET /plaintext`.
pub const HELLO: &str = "Hello, World!";

/// Answers one request (pass `hyper::service::service_fn(handle)` to `serve_connection`).
pub async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut response = if req.uri().path() == PLAINTEXT_PATH {
        let mut r = Response::new(Full::new(Bytes::from_static(HELLO.as_bytes())));
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        r
    } else {
        let mut r = Response::new(Full::new(Bytes::new()));
        *r.status_mut() = StatusCode::NOT_FOUND;
        r
    };
    response
        .headers_mut()
        .insert(SERVER, HeaderValue::from_static("hyper"));
    Ok(response)
}

/// hyper's HTTP/1.1 connection builder as every runtime uses it: keep-alive (hyper's
/// default), and `timer` for the header-read timeout (hyper's default 30 s once a timer
/// is set), as a production server would have it.
pub fn http1(timer: impl Timer + Send + Sync + 'static) -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder.timer(timer);
    builder
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::service::service_fn;
    use solo::hyper::{SoloIo, SoloTimer};
    use solo::io::{AsyncReadExt, AsyncWriteExt};
    use solo::net::{TcpListener, TcpStream};

    #[test]
    fn plaintext_says_hello_and_anything_else_is_404() {
        solo::block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = solo::spawn(async move {
                let (stream, _) = listener.accept().await.unwrap();
                http1(SoloTimer)
                    .serve_connection(SoloIo::new(stream), service_fn(handle))
                    .await
            });
            let mut client = TcpStream::connect(addr).await.unwrap();
            client
                .write_all(
                    b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n\
                      GET /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                )
                .await
                .unwrap();
            let mut text = String::new();
            client.read_to_string(&mut text).await.unwrap();
            let (hello, missing) = text.split_once(HELLO).expect("a hello");
            assert!(hello.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
            for header in [
                "content-type: text/plain",
                "server: hyper",
                "content-length: 13",
            ] {
                assert!(hello.contains(header), "{header}: {text}");
            }
            assert!(missing.starts_with("HTTP/1.1 404 Not Found\r\n"), "{text}");
            assert!(missing.contains("content-length: 0\r\n"), "{text}");
            server.await.unwrap();
        });
    }
}
