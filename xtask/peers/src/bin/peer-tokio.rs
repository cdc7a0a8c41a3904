//! The tokio peer: a `current_thread` runtime, a task per connection, a 4 KiB read buffer.
//!
//! `peer-tokio --mode http|echo|chat|hyper --addr HOST:PORT`. Written the ordinary way a tokio
//! user would write it; only the listener (deeper backlog), the HTTP handling and the chat
//! protocol's parsing and formatting are shared with the other peers.
//!
//! The chat is the way tokio's documentation suggests: a `broadcast` channel of formatted
//! events (it keeps the last 256 for slow receivers and says `Lagged` beyond), and the
//! recent history beside it under a `Mutex`, which also orders publishing against
//! subscribing so that a new subscriber misses nothing and sees nothing twice.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use solo_bench_peers::chat::{self, ChatRequest, HISTORY};
use solo_bench_peers::{Args, MAX_REQUEST, Mode, hyper_hello, serve_http};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};

fn main() {
    let args = Args::from_env_or_exit("peer-tokio");
    if let Err(e) = run(args) {
        eprintln!("peer-tokio: {e}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> io::Result<()> {
    solo_bench_peers::raise_fd_limit()?;
    let mut builder = tokio::runtime::Builder::new_current_thread();
    builder.enable_io();
    if matches!(args.mode, Mode::Chat | Mode::Hyper) {
        // The keep-alive pings of the event streams; hyper's header-read timeout.
        builder.enable_time();
    }
    let rt = builder.build()?;
    let hub = Hub::new();
    rt.block_on(async move {
        let listener = TcpListener::from_std(solo_bench_peers::bind_listener(args.addr)?)?;
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let hub = hub.clone();
                    tokio::spawn(async move {
                        let _ = match args.mode {
                            Mode::Http => http(stream).await,
                            Mode::Echo => echo(stream).await,
                            Mode::Chat => chat(stream, hub).await,
                            Mode::Hyper => hyper(stream).await,
                        };
                    });
                }
                Err(e) if solo_bench_peers::accept_error_is_resource(&e) => {
                    // Out of descriptors: the pending connection stays in the backlog and
                    // the listener stays readable, so pause instead of spinning. (The
                    // runtime has no timer driver here; a short blocking pause will do.)
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(_) => {}
            }
        }
    })
}

/// The `hyper` family: the shared hyper service with hyper-util's tokio adapters, the
/// way a tokio user serves hyper.
async fn hyper(stream: TcpStream) -> io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    hyper_hello::http1(TokioTimer::new())
        .serve_connection(
            TokioIo::new(stream),
            hyper::service::service_fn(hyper_hello::handle),
        )
        .await
        .map_err(io::Error::other)
}

async fn http(mut stream: TcpStream) -> io::Result<()> {
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

/// The chat: the recent history and the channel to every subscriber.
#[derive(Clone)]
struct Hub(Arc<Mutex<History>>);

struct History {
    /// The last [`HISTORY`] events, formatted.
    recent: VecDeque<Arc<[u8]>>,
    next_id: u64,
    tx: broadcast::Sender<Arc<[u8]>>,
}

impl Hub {
    fn new() -> Hub {
        let (tx, _) = broadcast::channel(HISTORY);
        Hub(Arc::new(Mutex::new(History {
            recent: VecDeque::with_capacity(HISTORY),
            next_id: 0,
            tx,
        })))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, History> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn publish(&self, text: &str) {
        let mut h = self.lock();
        let mut event = Vec::with_capacity(text.len() + 32);
        chat::write_event(&mut event, h.next_id, text);
        h.next_id += 1;
        let event: Arc<[u8]> = event.into();
        if h.recent.len() == HISTORY {
            h.recent.pop_front();
        }
        h.recent.push_back(event.clone());
        // No receivers is not an error here.
        let _ = h.tx.send(event);
    }

    /// The history, and a receiver of every event after it.
    fn subscribe(&self, out: &mut Vec<u8>) -> broadcast::Receiver<Arc<[u8]>> {
        let h = self.lock();
        for event in &h.recent {
            out.extend_from_slice(event);
        }
        h.tx.subscribe()
    }
}

/// A chat connection: posts answered in order (keep-alive, pipelined), until it asks for
/// the event stream.
async fn chat(mut stream: TcpStream, hub: Hub) -> io::Result<()> {
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
        let mut used = 0;
        let date = solo_server::http::date::now();
        while let Some((request, len)) =
            chat::next_request(&buf[used..filled]).map_err(io::Error::other)?
        {
            used += len;
            match request {
                ChatRequest::Events => {
                    if !out.is_empty() {
                        stream.write_all(&out).await?;
                    }
                    return events(stream, &hub).await;
                }
                ChatRequest::Send(Ok(text)) => {
                    hub.publish(&text);
                    chat::write_answer(&mut out, Ok(()), date.as_bytes());
                }
                ChatRequest::Send(Err(status)) => {
                    chat::write_answer(&mut out, Err(status), date.as_bytes());
                }
                ChatRequest::Other => chat::write_answer(&mut out, Err(404), date.as_bytes()),
            }
        }
        buf.copy_within(used..filled, 0);
        filled -= used;
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
        }
    }
}

/// An event stream: the history, then every event as it comes (all that are queued in
/// one write), a ping every 15 s; `lagged` and the end when the receiver fell behind.
async fn events(mut stream: TcpStream, hub: &Hub) -> io::Result<()> {
    const PING: Duration = Duration::from_secs(15);
    let mut out = chat::EVENTS_HEAD.to_vec();
    let mut rx = hub.subscribe(&mut out);
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING, PING);
    let mut discard = [0u8; 512];
    loop {
        stream.write_all(&out).await?;
        out.clear();
        tokio::select! {
            received = rx.recv() => match received {
                Ok(event) => {
                    out.extend_from_slice(&event);
                    loop {
                        match rx.try_recv() {
                            Ok(event) => out.extend_from_slice(&event),
                            Err(TryRecvError::Lagged(missed)) => {
                                chat::write_lagged(&mut out, missed);
                                return stream.write_all(&out).await;
                            }
                            Err(_) => break,
                        }
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    chat::write_lagged(&mut out, missed);
                    return stream.write_all(&out).await;
                }
                Err(RecvError::Closed) => return Ok(()),
            },
            _ = ping.tick() => out.extend_from_slice(chat::PING),
            // The client has nothing to say; end of input means it left.
            read = stream.read(&mut discard) => if read? == 0 {
                return Ok(());
            },
        }
    }
}
