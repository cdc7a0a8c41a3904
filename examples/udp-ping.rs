//! UDP ping/pong: a pong task answers each datagram with the same bytes, and a pinger
//! measures round trips, giving up on a lost reply after a timeout (UDP may drop).
//!
//! Try it: `cargo run --example udp-ping` runs both ends in one process and prints five
//! round-trip times. Or use two terminals: `cargo run --example udp-ping -- --serve
//! 127.0.0.1:7001` in one, and `cargo run --example udp-ping -- 127.0.0.1:7001` (or
//! `nc -u 127.0.0.1 7001`) in the other.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use solo::net::UdpSocket;

/// How long to wait for a pong before calling the ping lost.
pub const PONG_TIMEOUT: Duration = Duration::from_secs(1);

/// Answers every datagram with its own bytes, forever.
pub async fn pong(socket: UdpSocket) -> io::Result<()> {
    let mut buf = [0; 1500];
    loop {
        let (n, from) = match socket.recv_from(&mut buf).await {
            Ok(received) => received,
            // Windows reports here that an earlier pong's peer had gone: not our concern.
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => continue,
            Err(e) => return Err(e),
        };
        if let Err(e) = socket.send_to(&buf[..n], from).await {
            eprintln!("pong to {from}: {e}");
        }
    }
}

/// Sends ping number `seq` to `peer` and waits for its pong; returns the round-trip time.
/// Stray datagrams (other senders, late pongs of earlier pings) are skipped.
pub async fn ping(socket: &UdpSocket, peer: SocketAddr, seq: u32) -> io::Result<Duration> {
    let msg = format!("ping {seq}");
    let start = Instant::now();
    socket.send_to(msg.as_bytes(), peer).await?;
    solo::io_timeout(PONG_TIMEOUT, async {
        let mut buf = [0; 1500];
        loop {
            let (n, from) = socket.recv_from(&mut buf).await?;
            if from == peer && &buf[..n] == msg.as_bytes() {
                return Ok(start.elapsed());
            }
        }
    })
    .await
}

/// Pings `peer` `count` times, a tenth of a second apart, printing each result.
async fn ping_loop(peer: SocketAddr, count: u32) -> io::Result<()> {
    let unspecified = if peer.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let socket = UdpSocket::bind(unspecified).await?;
    for seq in 1..=count {
        match ping(&socket, peer, seq).await {
            Ok(rtt) => println!("pong {seq} from {peer}: {rtt:?}"),
            Err(e) => println!("ping {seq} to {peer}: {e}"),
        }
        solo::Timer::after(Duration::from_millis(100)).await;
    }
    Ok(())
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parse = |s: &str| {
        s.parse::<SocketAddr>()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{s:?}: {e}")))
    };
    solo::block_on(async {
        match args.as_slice() {
            [flag, addr] if flag == "--serve" => {
                let socket = UdpSocket::bind(parse(addr)?).await?;
                println!("answering pings on {}", socket.local_addr()?);
                pong(socket).await
            }
            [addr] => ping_loop(parse(addr)?, 5).await,
            [] => {
                let socket = UdpSocket::bind("127.0.0.1:0").await?;
                let peer = socket.local_addr()?;
                let _server = solo::spawn(pong(socket));
                ping_loop(peer, 5).await
            }
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "usage: udp-ping [--serve ADDR | ADDR]",
            )),
        }
    })
}
