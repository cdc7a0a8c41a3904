//! A minimal HTTP/1.1 server with keep-alive: one task per connection, many requests per
//! connection (pipelined ones too), "Hello, world!" for each.
//!
//! Requests are parsed by hand, just enough for the example: this shows the runtime, not
//! a parser (the demo server, `solo-server`, uses `httparse` and does HTTP properly).
//!
//! Try it: `cargo run --example http-hello` (port 8080, or `-- ADDR`), then
//! `curl -v http://127.0.0.1:8080/ http://127.0.0.1:8080/again` (one connection, two
//! requests: curl says "Re-using existing connection"), or load it with `wrk` or `oha`.

use std::io;

use solo::io::{AsyncReadExt, AsyncWriteExt};
use solo::net::{TcpListener, TcpStream};

/// The largest request head (request line and headers) accepted.
const MAX_HEAD: usize = 8 * 1024;
/// The largest request body accepted (it is read and ignored).
const MAX_BODY: usize = 64 * 1024;

/// What the server needs to know about a request.
struct Request {
    head_only: bool,
    keep_alive: bool,
    body_len: usize,
}

/// Accepts connections forever, serving each on its own task.
pub async fn serve(listener: TcpListener) -> io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        solo::spawn(async move {
            if let Err(e) = handle(stream).await {
                eprintln!("connection failed: {e}");
            }
        })
        .detach();
    }
}

/// Serves requests on one connection until the client closes it or asks to.
pub async fn handle(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    loop {
        // Buffer a whole head; a pipelined request may already be in `buf`.
        let head_len = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if buf.len() > MAX_HEAD {
                return reply(&mut stream, "431 Request Header Fields Too Large", "").await;
            }
            if read_more(&mut stream, &mut buf).await? == 0 {
                return Ok(()); // the client closed the connection
            }
        };
        let Some(req) = parse(&buf[..head_len]) else {
            return reply(&mut stream, "400 Bad Request", "").await;
        };
        if req.body_len > MAX_BODY {
            return reply(&mut stream, "413 Content Too Large", "").await;
        }
        while buf.len() < head_len + req.body_len {
            if read_more(&mut stream, &mut buf).await? == 0 {
                return Ok(());
            }
        }
        buf.drain(..head_len + req.body_len);

        let body = if req.head_only { "" } else { "Hello, world!\n" };
        let connection = if req.keep_alive {
            "keep-alive"
        } else {
            "close"
        };
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\
             Connection: {connection}\r\n\r\n{body}"
        );
        stream.write_all(response.as_bytes()).await?;
        if !req.keep_alive {
            return Ok(());
        }
    }
}

/// Reads what the socket has into the end of `buf`; returns the byte count (0 at EOF).
async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<usize> {
    let mut chunk = [0; 4096];
    let n = stream.read(&mut chunk).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

/// Sends an error response and closes the connection.
async fn reply(stream: &mut TcpStream, status: &str, body: &str) -> io::Result<()> {
    let len = body.len();
    let response =
        format!("HTTP/1.1 {status}\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n{body}");
    stream.write_all(response.as_bytes()).await
}

/// Parses a request head: the request line, `Connection`, `Content-Length`. `None` if it
/// is malformed or uses what this example does not implement (chunked bodies).
fn parse(head: &[u8]) -> Option<Request> {
    let head = std::str::from_utf8(head).ok()?;
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let (method, _path, version) = (
        request_line.next()?,
        request_line.next()?,
        request_line.next()?,
    );
    let mut req = Request {
        head_only: method == "HEAD",
        keep_alive: match version {
            "HTTP/1.1" => true,
            "HTTP/1.0" => false,
            _ => return None,
        },
        body_len: 0,
    };
    for line in lines.take_while(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("connection") {
            req.keep_alive = if value.eq_ignore_ascii_case("close") {
                false
            } else {
                req.keep_alive || value.eq_ignore_ascii_case("keep-alive")
            };
        } else if name.eq_ignore_ascii_case("content-length") {
            req.body_len = value.parse().ok()?;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return None;
        }
    }
    Some(req)
}

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    solo::block_on(async {
        let listener = TcpListener::bind(addr).await?;
        println!("listening on http://{}/", listener.local_addr()?);
        serve(listener).await
    })
}
