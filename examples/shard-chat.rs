//! The line chat of `chat.rs` on several cores: one shard per core, each with its own
//! `SO_REUSEPORT` listener, and one chat for all of them.
//!
//! A line said on any shard is broadcast over the shard mesh to every shard (this one
//! included); each shard's relay task hands it to the shard's own clients through a local
//! `broadcast` channel, so a line crosses threads once per shard, not once per client. A
//! client that falls behind the channel's ring is told how many lines it missed.
//!
//! Try it: `cargo run --example shard-chat` (port 7003, 2 shards; or `-- ADDR SHARDS`),
//! then `nc 127.0.0.1 7003` in several terminals: each is told which shard it landed on.

use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use solo::channel::broadcast::{self, RecvError};
use solo::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use solo::net::{TcpListener, TcpStream};
use solo::shard::{Mesh, Shard};

/// Longest line accepted, newline included; a longer one ends the client's session.
const MAX_LINE: u64 = 1024;
/// Lines a client may fall behind before it misses some.
const BACKLOG: usize = 256;

/// A line said somewhere, as every shard sees it.
pub type Line = Arc<str>;

/// Runs the chat on `shards` shards: one serves `first`, the others listen on its address.
pub fn run(first: std::net::TcpListener, shards: usize) -> io::Result<()> {
    let addr = first.local_addr()?;
    let first = Mutex::new(Some(first));
    let results = solo::shards(shards, |shard: Shard<Line>| {
        let first = first.lock().unwrap_or_else(|e| e.into_inner()).take();
        async move {
            let listener = match first {
                Some(listener) => TcpListener::try_from(listener)?,
                None => TcpListener::bind_reuseport(addr)?,
            };
            serve(listener, shard).await
        }
    })?;
    results.into_iter().collect()
}

/// Runs one shard: relays the mesh's lines to this shard's clients, accepts clients.
pub async fn serve(listener: TcpListener, mut shard: Shard<Line>) -> io::Result<()> {
    let (id, mesh) = (shard.id(), shard.mesh().clone());
    let (clients, _) = broadcast::channel::<Line>(BACKLOG);
    let relay = clients.clone();
    solo::spawn(async move {
        while let Some(line) = shard.recv().await {
            // Fails only when this shard has no client: nobody to tell.
            let _ = relay.send(line);
        }
    })
    .detach();
    loop {
        let (stream, peer) = listener.accept().await?;
        let (mesh, lines) = (mesh.clone(), clients.subscribe());
        solo::spawn(async move {
            if let Err(e) = session(stream, peer, id, &mesh, lines).await {
                eprintln!("{peer}: {e}");
            }
            mesh.broadcast(format!("* {peer} left\n").into()).await;
        })
        .detach();
    }
}

/// Runs one client: greets it, then sends its lines to every shard while a writer task
/// sends it every line said anywhere.
async fn session(
    stream: TcpStream,
    peer: SocketAddr,
    shard: usize,
    mesh: &Mesh<Line>,
    mut lines: broadcast::Receiver<Line>,
) -> io::Result<()> {
    let stream = Rc::new(stream);
    let welcome = format!("* welcome, you are {peer} on shard {shard}\n");
    (&*stream).write_all(welcome.as_bytes()).await?;
    mesh.broadcast(format!("* {peer} joined on shard {shard}\n").into())
        .await;
    // The writer ends when this function returns and drops its `Task` (cancelling it).
    let out = stream.clone();
    let _writer = solo::spawn(async move {
        loop {
            let text = match lines.recv().await {
                Ok(line) => line,
                Err(RecvError::Lagged(n)) => format!("* you missed {n} lines\n").into(),
                Err(RecvError::Closed) => return,
            };
            if (&*out).write_all(text.as_bytes()).await.is_err() {
                return;
            }
        }
    });

    let mut reader = BufReader::new(&*stream);
    let mut line = String::new();
    loop {
        line.clear();
        if (&mut reader).take(MAX_LINE).read_line(&mut line).await? == 0 {
            return Ok(());
        }
        if !line.ends_with('\n') {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "line too long"));
        }
        mesh.broadcast(format!("{peer}: {line}").into()).await;
    }
}

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:7003".into());
    let addr: SocketAddr = addr
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{addr:?}: {e}")))?;
    let shards = match args.next() {
        Some(n) => n.parse().map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("shards {n:?}: {e}"))
        })?,
        None => 2,
    };
    if shards == 0 {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "no shards"));
    }
    // Bound here, so that a busy port is reported at once and port 0 is one port for all.
    let first = TcpListener::bind_reuseport(addr)?;
    println!(
        "chat on {} with {shards} shards; connect with nc",
        first.local_addr()?
    );
    run(first.into_std()?, shards)
}
