//! hyper 1.x on solo: HTTP/1.1 and HTTP/2 (prior knowledge) on one port, a header-read
//! timeout on solo's timing wheel, a `!Send` service whose state is an `Rc`, and a
//! WebSocket echo behind an HTTP/1.1 upgrade (`/ws`, async-tungstenite).
//!
//! The runtime pieces come from `solo::hyper` (feature `hyper`): `SoloIo` (the io
//! adapter, both ways: it also turns hyper's upgraded connection back into a `futures-io`
//! stream for async-tungstenite), `SoloTimer` (hyper's timeouts on solo's wheel),
//! `SoloExecutor` (HTTP/2's streams spawned on this thread, `!Send` allowed) and
//! `ThreadBound` (the `Send` hyper demands of an upgradable connection's io).
//!
//! Try it: `cargo run --example hyper-server --features ecosystem-examples` (port 3000, or
//! `-- ADDR`), then
//!
//! - `curl http://127.0.0.1:3000/` and `curl --http2-prior-knowledge http://127.0.0.1:3000/count`
//!   (the count is one `Rc<State>` shared by every connection, both protocols);
//! - `nc 127.0.0.1 3000`, type `GET / HTTP/1.1` and wait: after the header-read timeout
//!   (5 s, a sleep on solo's wheel) hyper closes the connection;
//! - `cargo run --example hyper-client --features ecosystem-examples`: 50 requests at once;
//! - `cargo run --example websocket-echo --features ecosystem-examples -- client 127.0.0.1:3000/ws hi`.

use std::cell::Cell;
use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_tungstenite::WebSocketStream;
use async_tungstenite::tungstenite::handshake::derive_accept_key;
use async_tungstenite::tungstenite::protocol::Role;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONNECTION, HeaderValue, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, UPGRADE};
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use solo::hyper::{SoloExecutor, SoloIo, SoloTimer, ThreadBound};
use solo::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use solo::lock::Notify;
use solo::net::{TcpListener, TcpStream};
use solo::stream::StreamExt;

/// How long a client may take to send a request's head (and, before that, to show which
/// protocol it speaks).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// What every connection of the server shares. Not `Send` (`Cell`s behind an `Rc`), and
/// it need not be: every connection runs on the server's one thread.
#[derive(Debug, Default)]
pub struct State {
    /// Requests answered so far.
    pub requests: Cell<u64>,
    /// Requests waiting in `/together/N`.
    waiting: Cell<usize>,
    /// Woken whenever `waiting` grows.
    arrived: Notify,
}

/// The protocol a connection turned out to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP/1.x.
    Http1,
    /// HTTP/2 with prior knowledge (the client starts with the connection preface).
    Http2,
}

/// Accepts connections forever, serving each on its own task; all share one [`State`].
pub async fn serve(listener: TcpListener, header_timeout: Duration) -> io::Result<()> {
    let state = Rc::new(State::default());
    loop {
        let (stream, peer) = listener.accept().await?;
        let state = state.clone();
        solo::spawn(async move {
            if let Err(e) = serve_connection(stream, state, header_timeout).await {
                eprintln!("{peer}: {e}");
            }
        })
        .detach();
    }
}

/// Serves one connection with HTTP/1.1 or HTTP/2, whichever the client speaks, until it
/// closes; returns which it was. hyper's errors come back as `io::Error`s that wrap the
/// `hyper::Error` (a header-read timeout is one whose `is_timeout()` is true).
pub async fn serve_connection(
    mut stream: TcpStream,
    state: Rc<State>,
    header_timeout: Duration,
) -> io::Result<Protocol> {
    let _ = stream.set_nodelay(true);
    // A client that sends nothing at all is dropped after the header timeout too.
    let first = solo::io_timeout(header_timeout, sniff(&mut stream)).await?;
    let protocol = if first == PREFACE {
        Protocol::Http2
    } else {
        Protocol::Http1
    };
    let stream = Replay::new(first, stream);
    let service = service_fn(move |req| respond(state.clone(), req, protocol));
    let served = match protocol {
        Protocol::Http1 => {
            // A connection that may be upgraded must be `Send` for hyper (it boxes the io
            // for `hyper::upgrade::on`); `ThreadBound` makes it so, refusing other threads.
            let io = SoloIo::new(ThreadBound::new(stream));
            http1::Builder::new()
                .timer(SoloTimer)
                .header_read_timeout(header_timeout)
                .serve_connection(io, service)
                .with_upgrades()
                .await
        }
        Protocol::Http2 => {
            http2::Builder::new(SoloExecutor)
                .timer(SoloTimer)
                .serve_connection(SoloIo::new(stream), service)
                .await
        }
    };
    served.map(|()| protocol).map_err(io::Error::other)
}

/// The routes: `/` says hello, `/count` counts, `/together/N` answers once N requests are
/// in it at the same time (proof that they are served concurrently), `/ws` is a WebSocket
/// echo (HTTP/1.1 upgrade), anything else is 404.
async fn respond(
    state: Rc<State>,
    mut req: Request<Incoming>,
    protocol: Protocol,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let n = state.requests.get() + 1;
    state.requests.set(n);
    if req.uri().path() == "/ws" {
        return Ok(websocket(&mut req));
    }
    let path = req.uri().path();
    let (status, body) = if path == "/" {
        (StatusCode::OK, "Hello, World!\n".to_string())
    } else if path == "/count" {
        (StatusCode::OK, format!("request {n} ({protocol:?})\n"))
    } else if let Some(Ok(want)) = path.strip_prefix("/together/").map(str::parse::<usize>) {
        state.waiting.set(state.waiting.get() + 1);
        state.arrived.notify_all();
        // One thread: nothing runs between the check and the wait's first poll.
        while state.waiting.get() < want {
            state.arrived.notified().await;
        }
        (StatusCode::OK, format!("{want} together\n"))
    } else {
        (StatusCode::NOT_FOUND, "not found\n".to_string())
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    Ok(response)
}

/// Answers a WebSocket handshake with `101 Switching Protocols` and, once hyper hands the
/// connection over, echoes its messages on a task of their own.
fn websocket(req: &mut Request<Incoming>) -> Response<Full<Bytes>> {
    let key = req.headers().get(SEC_WEBSOCKET_KEY).cloned();
    let asks = req
        .headers()
        .get(UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    let mut response = Response::new(Full::new(Bytes::new()));
    let (Some(key), true) = (key, asks) else {
        *response.status_mut() = StatusCode::BAD_REQUEST;
        return response;
    };
    let upgrade = hyper::upgrade::on(req);
    solo::spawn(async move {
        let Ok(upgraded) = upgrade.await else {
            return;
        };
        // hyper's upgraded connection speaks hyper's io traits; `SoloIo` makes it a
        // `futures-io` stream again, which async-tungstenite takes.
        let mut ws =
            WebSocketStream::from_raw_socket(SoloIo::new(upgraded), Role::Server, None).await;
        while let Some(Ok(msg)) = ws.next().await {
            if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
                break;
            }
        }
    })
    .detach();
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    let accept = derive_accept_key(key.as_bytes());
    headers.insert(
        SEC_WEBSOCKET_ACCEPT,
        accept.parse().expect("base64 is a valid header"),
    );
    response
}

/// What an HTTP/2 client sends first ("prior knowledge": no upgrade dance).
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Reads until the first bytes either are the HTTP/2 preface or cannot be (an HTTP/1
/// request differs within its first two bytes), and returns them.
async fn sniff(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut first = Vec::with_capacity(PREFACE.len());
    let mut buf = [0; PREFACE.len()];
    while first.len() < PREFACE.len() && PREFACE.starts_with(&first) {
        let n = stream.read(&mut buf[..PREFACE.len() - first.len()]).await?;
        if n == 0 {
            break;
        }
        first.extend_from_slice(&buf[..n]);
    }
    Ok(first)
}

/// A stream whose first reads return bytes read from it before.
struct Replay<S> {
    first: Vec<u8>,
    at: usize,
    inner: S,
}

impl<S> Replay<S> {
    fn new(first: Vec<u8>, inner: S) -> Replay<S> {
        Replay {
            first,
            at: 0,
            inner,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Replay<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.at < this.first.len() {
            let n = buf.len().min(this.first.len() - this.at);
            buf[..n].copy_from_slice(&this.first[this.at..this.at + n]);
            this.at += n;
            if this.at == this.first.len() {
                this.first = Vec::new();
                this.at = 0;
            }
            return Poll::Ready(Ok(n));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Replay<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    solo::block_on(async {
        let listener = TcpListener::bind(&addr).await?;
        println!(
            "hyper on solo, HTTP/1.1 and HTTP/2 on http://{}/ (try /count, and \
             curl --http2-prior-knowledge); Ctrl-C stops it",
            listener.local_addr()?
        );
        serve(listener, HEADER_TIMEOUT).await
    })
}
