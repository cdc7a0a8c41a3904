//! Socket options of the `net` types (issue 15): TCP TTL, UDP broadcast, TTL and
//! multicast (v4, v6), and Unix datagram sockets' peer address and shutdown.

mod common;

use std::io;

use common::{GUARD, block_on, tcp_pair};
use solo_io::io_timeout;
use solo_io::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};

#[test]
fn tcp_ttl() {
    block_on(async {
        let (stream, _peer) = tcp_pair().await;
        stream.set_ttl(17)?;
        assert_eq!(stream.ttl()?, 17);
        stream.set_ttl(64)?;
        assert_eq!(stream.ttl()?, 64);
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn udp_broadcast_and_ttl() {
    block_on(async {
        let socket = UdpSocket::bind("127.0.0.1:0").await?;
        assert!(!socket.broadcast()?);
        socket.set_broadcast(true)?;
        assert!(socket.broadcast()?);
        socket.set_broadcast(false)?;
        assert!(!socket.broadcast()?);
        socket.set_ttl(9)?;
        assert_eq!(socket.ttl()?, 9);
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn udp_multicast_v4_options_join_delivery_and_leave() {
    block_on(async {
        let receiver = UdpSocket::bind("0.0.0.0:0").await?;
        let port = receiver.local_addr()?.port();
        let group = Ipv4Addr::new(239, 255, 77, 12);
        let sender = UdpSocket::bind("127.0.0.1:0").await?;

        sender.set_multicast_loop_v4(false)?;
        assert!(!sender.multicast_loop_v4()?);
        sender.set_multicast_loop_v4(true)?;
        assert!(sender.multicast_loop_v4()?);
        sender.set_multicast_ttl_v4(3)?;
        assert_eq!(sender.multicast_ttl_v4()?, 3);
        sender.set_multicast_ttl_v4(1)?;

        if let Err(e) = receiver.join_multicast_v4(group, Ipv4Addr::LOCALHOST) {
            // A host without any multicast route refuses; say so rather than pass.
            assert!(e.to_string().contains("239.255.77.12"), "{e}");
            eprintln!("multicast v4 unavailable here: {e}");
            return Ok(());
        }
        // A datagram to the group reaches the member (looped back on this host). The
        // sender's socket is bound to 127.0.0.1, so it leaves through the loopback.
        let sent = sender.send_to(b"to the group", (group, port)).await;
        if let Err(e) = sent {
            eprintln!("multicast v4 send unavailable here: {e}");
        } else {
            let mut buf = [0u8; 32];
            let (n, _) = io_timeout(GUARD, receiver.recv_from(&mut buf)).await?;
            assert_eq!(&buf[..n], b"to the group");
        }
        receiver.leave_multicast_v4(group, Ipv4Addr::LOCALHOST)?;
        // Leaving twice is an error that names the group.
        let err = receiver
            .leave_multicast_v4(group, Ipv4Addr::LOCALHOST)
            .unwrap_err();
        assert!(err.to_string().contains("239.255.77.12"), "{err}");
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn udp_multicast_v6_join_loop_and_leave() {
    block_on(async {
        let socket = match UdpSocket::bind("[::]:0").await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("no IPv6 here: {e}");
                return Ok(());
            }
        };
        socket.set_multicast_loop_v6(false)?;
        assert!(!socket.multicast_loop_v6()?);
        socket.set_multicast_loop_v6(true)?;
        assert!(socket.multicast_loop_v6()?);
        let group: Ipv6Addr = "ff02::1:5eed".parse().unwrap();
        match socket.join_multicast_v6(group, 0) {
            Ok(()) => socket.leave_multicast_v6(group, 0)?,
            Err(e) => {
                assert!(e.to_string().contains("ff02::1:5eed"), "{e}");
                eprintln!("multicast v6 unavailable here: {e}");
            }
        }
        // Not a multicast address: refused, naming it.
        let err = socket
            .join_multicast_v6(Ipv6Addr::LOCALHOST, 0)
            .unwrap_err();
        assert!(err.to_string().contains("::1"), "{err}");
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn udp_multicast_v4_rejects_a_unicast_group() {
    block_on(async {
        let socket = UdpSocket::bind("0.0.0.0:0").await?;
        let err = socket
            .join_multicast_v4(Ipv4Addr::new(127, 0, 0, 1), Ipv4Addr::UNSPECIFIED)
            .unwrap_err();
        assert!(err.to_string().contains("127.0.0.1"), "{err}");
        let _: SocketAddr = socket.local_addr()?;
        io::Result::Ok(())
    })
    .unwrap();
}

#[cfg(unix)]
#[test]
fn unix_datagram_peer_addr_and_shutdown() {
    use solo_io::net::{Shutdown, UnixDatagram};

    let dir = common::TempDir::new("dgram-opts");
    block_on(async {
        let a = UnixDatagram::bind(dir.join("a.sock"))?;
        let b = UnixDatagram::unbound()?;
        // Not connected yet: no peer.
        assert!(b.peer_addr().is_err());
        b.connect(dir.join("a.sock"))?;
        assert_eq!(
            b.peer_addr()?.as_pathname(),
            Some(dir.join("a.sock").as_path())
        );

        // Shutting down the write half: sends fail from then on.
        b.send(b"before").await?;
        let mut buf = [0u8; 16];
        let n = io_timeout(GUARD, a.recv(&mut buf)).await?;
        assert_eq!(&buf[..n], b"before");
        b.shutdown(Shutdown::Write)?;
        let err = b.send(b"after").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");

        // Both halves (what a read does then differs between systems for datagrams).
        let (c, d) = UnixDatagram::pair()?;
        d.shutdown(Shutdown::Both)?;
        let err = d.send(b"after").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");
        drop(c);
        io::Result::Ok(())
    })
    .unwrap();
}
