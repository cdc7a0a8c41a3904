//! A WebSocket echo server and client with async-tungstenite on solo's TCP streams.
//!
//! async-tungstenite speaks the `futures-io` traits, which solo's streams implement, so it
//! runs as it is: no feature, no adapter (its `handshake` feature only, none of its runtime
//! features). Pings are answered by tungstenite itself.
//!
//! Try it: `cargo run --example websocket-echo --features ecosystem-examples` serves on
//! 127.0.0.1:9001 (or `-- ADDR`); in another terminal
//! `cargo run --example websocket-echo --features ecosystem-examples -- client 127.0.0.1:9001 hello world`
//! sends two messages and prints what comes back (any WebSocket client works too; the
//! hyper-server example has a WebSocket too: `-- client 127.0.0.1:3000/ws hello`).

use std::io;
use std::net::SocketAddr;

use async_tungstenite::tungstenite::{Error as WsError, Message};
use async_tungstenite::{accept_async, client_async};
use solo::net::{TcpListener, TcpStream};
use solo::stream::StreamExt;

/// A tungstenite error as an `io::Error` (the examples' common error type).
fn ws_error(e: WsError) -> io::Error {
    match e {
        WsError::Io(e) => e,
        e => io::Error::other(e),
    }
}

/// Accepts connections forever; each is a WebSocket that echoes every text and binary
/// message until the client closes it.
pub async fn serve(listener: TcpListener) -> io::Result<()> {
    loop {
        let (stream, peer) = listener.accept().await?;
        solo::spawn(async move {
            if let Err(e) = echo(stream).await {
                eprintln!("{peer}: {e}");
            }
        })
        .detach();
    }
}

/// The WebSocket handshake on `stream`, then the echo; returns how many messages it
/// echoed.
pub async fn echo(stream: TcpStream) -> io::Result<usize> {
    let mut ws = accept_async(stream).await.map_err(ws_error)?;
    let mut echoed = 0;
    while let Some(msg) = ws.next().await {
        // tungstenite answers pings and close frames by itself.
        let msg = msg.map_err(ws_error)?;
        if msg.is_text() || msg.is_binary() {
            ws.send(msg).await.map_err(ws_error)?;
            echoed += 1;
        }
    }
    Ok(echoed)
}

/// Connects to `addr`, sends each of `messages` as a text message and reads its echo, then
/// closes the connection; returns the echoes.
pub async fn client(addr: SocketAddr, messages: &[&str]) -> io::Result<Vec<String>> {
    client_at(addr, "/", messages).await
}

/// [`client`] for the WebSocket at `path` (the hyper-server example has one at `/ws`).
pub async fn client_at(addr: SocketAddr, path: &str, messages: &[&str]) -> io::Result<Vec<String>> {
    let stream = TcpStream::connect(addr).await?;
    let (mut ws, _response) = client_async(format!("ws://{addr}{path}"), stream)
        .await
        .map_err(ws_error)?;
    let mut echoes = Vec::with_capacity(messages.len());
    for &text in messages {
        ws.send(Message::text(text)).await.map_err(ws_error)?;
        loop {
            let msg = ws
                .next()
                .await
                .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
            if let Message::Text(echo) = msg.map_err(ws_error)? {
                echoes.push(echo.to_string());
                break;
            }
        }
    }
    ws.close(None).await.map_err(ws_error)?;
    // Read until the server's close frame ends the stream.
    while let Some(msg) = ws.next().await {
        match msg {
            Ok(_) => {}
            Err(WsError::ConnectionClosed) => break,
            Err(e) => return Err(ws_error(e)),
        }
    }
    Ok(echoes)
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    solo::block_on(async {
        if args.first().map(String::as_str) == Some("client") {
            // HOST:PORT, or HOST:PORT/PATH.
            let target = args.get(1).map_or("127.0.0.1:9001", String::as_str);
            let (addr, path) = match target.find('/') {
                Some(i) => target.split_at(i),
                None => (target, "/"),
            };
            let addr = addr.parse().map_err(io::Error::other)?;
            let messages: Vec<&str> = args.iter().skip(2).map(String::as_str).collect();
            let messages = if messages.is_empty() {
                vec!["hello"]
            } else {
                messages
            };
            for echo in client_at(addr, path, &messages).await? {
                println!("echo: {echo}");
            }
            return Ok(());
        }
        let addr = args.first().map_or("127.0.0.1:9001", String::as_str);
        let listener = TcpListener::bind(addr).await?;
        println!(
            "WebSocket echo on ws://{}/ (try: cargo run --example websocket-echo \
             --features ecosystem-examples -- client {0} hello)",
            listener.local_addr()?
        );
        serve(listener).await
    })
}
