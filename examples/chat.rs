//! A line-based TCP chat: every line a client sends goes to every other client.
//!
//! Each client has a reader task and a writer task. A broadcast only pushes the line onto
//! each recipient's outbox and wakes its writer, so a slow client never holds up the
//! sender or the others; an outbox that grows past a limit drops lines for that client.
//! Everything is `Rc`/`RefCell`: the tasks share one thread, no locks needed.
//!
//! Try it: `cargo run --example chat` (port 7002, or `-- ADDR`), then
//! `nc 127.0.0.1 7002` in two or three other terminals and type.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::task::{Poll, Waker};

use solo::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use solo::net::{TcpListener, TcpStream};

/// Longest line accepted, newline included; a longer one ends the client's session.
const MAX_LINE: u64 = 1024;
/// Lines queued for a client beyond which new lines are dropped for it.
const MAX_QUEUED: usize = 256;

/// Lines waiting to be written to one client, and its writer's waker.
#[derive(Default)]
struct Outbox {
    lines: VecDeque<Rc<str>>,
    waker: Option<Waker>,
}

/// Everyone connected, by address.
type Clients = Rc<RefCell<HashMap<SocketAddr, Rc<RefCell<Outbox>>>>>;

/// Accepts clients forever; each gets a session task.
pub async fn serve(listener: TcpListener) -> io::Result<()> {
    let clients = Clients::default();
    loop {
        let (stream, peer) = listener.accept().await?;
        let clients = clients.clone();
        solo::spawn(async move {
            if let Err(e) = session(stream, peer, &clients).await {
                eprintln!("{peer}: {e}");
            }
            clients.borrow_mut().remove(&peer);
            broadcast(&clients, peer, &format!("* {peer} left\n"));
        })
        .detach();
    }
}

/// Runs one client: greets it, announces it, then broadcasts its lines until it leaves.
async fn session(stream: TcpStream, peer: SocketAddr, clients: &Clients) -> io::Result<()> {
    let stream = Rc::new(stream);
    let outbox = Rc::new(RefCell::new(Outbox::default()));
    push(&outbox, format!("* welcome, you are {peer}\n").into());
    broadcast(clients, peer, &format!("* {peer} joined\n"));
    clients.borrow_mut().insert(peer, outbox.clone());
    // The writer ends when this function returns and drops its `Task` (cancelling it).
    let _writer = solo::spawn(write_outbox(stream.clone(), outbox));

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
        broadcast(clients, peer, &format!("{peer}: {line}"));
    }
}

/// Writes the outbox's lines to the client as they come.
async fn write_outbox(stream: Rc<TcpStream>, outbox: Rc<RefCell<Outbox>>) -> io::Result<()> {
    loop {
        let line = std::future::poll_fn(|cx| {
            let mut outbox = outbox.borrow_mut();
            match outbox.lines.pop_front() {
                Some(line) => Poll::Ready(line),
                None => {
                    outbox.waker = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
        .await;
        (&*stream).write_all(line.as_bytes()).await?;
    }
}

/// Queues `line` for every client but `from`.
fn broadcast(clients: &Clients, from: SocketAddr, line: &str) {
    let line: Rc<str> = line.into();
    for (addr, outbox) in clients.borrow().iter() {
        if *addr != from {
            push(outbox, line.clone());
        }
    }
}

/// Queues a line for one client and wakes its writer.
fn push(outbox: &RefCell<Outbox>, line: Rc<str>) {
    let mut outbox = outbox.borrow_mut();
    if outbox.lines.len() < MAX_QUEUED {
        outbox.lines.push_back(line);
    }
    if let Some(waker) = outbox.waker.take() {
        waker.wake();
    }
}

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7002".into());
    solo::block_on(async {
        let listener = TcpListener::bind(addr).await?;
        println!("chat on {}; connect with nc", listener.local_addr()?);
        serve(listener).await
    })
}
