//! `Async<T>`'s constructors and operations for the standard network types (async-io's
//! API, issue 15).

mod common;

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};

use common::{GUARD, block_on};
use solo_io::{Async, io_timeout, timeout};
use solo_lite::io::{AsyncReadExt, AsyncWriteExt};
use solo_lite::stream::StreamExt;

#[test]
fn tcp_bind_connect_accept_peek() {
    block_on(async {
        let listener = Async::<TcpListener>::bind(([127, 0, 0, 1], 0))?;
        let addr = listener.get_ref().local_addr()?;
        let mut client = Async::<TcpStream>::connect(addr).await?;
        let (mut server, peer) = io_timeout(GUARD, listener.accept()).await?;
        assert_eq!(peer, client.get_ref().local_addr()?);

        client.write_all(b"hello").await?;
        let mut buf = [0u8; 5];
        assert_eq!(io_timeout(GUARD, server.peek(&mut buf)).await?, 5);
        server.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"hello");

        // The stream of incoming connections.
        let second = Async::<TcpStream>::connect(addr).await?;
        let mut incoming = Box::pin(listener.incoming());
        let accepted = io_timeout(GUARD, async { incoming.next().await.unwrap() }).await?;
        assert_eq!(
            accepted.get_ref().peer_addr()?,
            second.get_ref().local_addr()?
        );
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn tcp_connect_to_a_closed_port_is_refused() {
    block_on(async {
        let addr = {
            let l = TcpListener::bind("127.0.0.1:0")?;
            l.local_addr()?
        };
        let err = timeout(GUARD, Async::<TcpStream>::connect(addr))
            .await
            .expect("no hang")
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        // A listener that cannot bind says which address.
        let taken = Async::<TcpListener>::bind(([127, 0, 0, 1], 0))?;
        let addr = taken.get_ref().local_addr()?;
        if cfg!(unix) {
            let err = Async::<TcpListener>::bind(addr).unwrap_err();
            assert!(err.to_string().contains(&addr.to_string()), "{err}");
        }
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn try_from_std_registers_the_sockets() {
    block_on(async {
        let std_listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = std_listener.local_addr()?;
        let listener = Async::try_from(std_listener)?;
        let mut peer = TcpStream::connect(addr)?;
        let (stream, _) = io_timeout(GUARD, listener.accept()).await?;
        let mut stream = Async::<TcpStream>::try_from(stream.into_inner()?)?;
        peer.write_all(b"x")?;
        let mut b = [0u8; 1];
        io_timeout(GUARD, stream.read_exact(&mut b)).await?;
        stream.write_all(b"y").await?;
        peer.read_exact(&mut b)?;
        assert_eq!(&b, b"y");
        let udp = Async::try_from(UdpSocket::bind("127.0.0.1:0")?)?;
        assert!(udp.get_ref().local_addr()?.port() != 0);
        peer.shutdown(Shutdown::Both)?;
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn udp_bind_send_recv_peek() {
    block_on(async {
        let a = Async::<UdpSocket>::bind(([127, 0, 0, 1], 0))?;
        let b = Async::<UdpSocket>::bind(([127, 0, 0, 1], 0))?;
        let (a_addr, b_addr): (SocketAddr, SocketAddr) =
            (a.get_ref().local_addr()?, b.get_ref().local_addr()?);

        assert_eq!(a.send_to(b"one", b_addr).await?, 3);
        let mut buf = [0u8; 16];
        let (n, from) = io_timeout(GUARD, b.peek_from(&mut buf)).await?;
        assert_eq!((&buf[..n], from), (&b"one"[..], a_addr));
        let (n, from) = io_timeout(GUARD, b.recv_from(&mut buf)).await?;
        assert_eq!((&buf[..n], from), (&b"one"[..], a_addr));

        // Connected: send, peek, recv.
        a.get_ref().connect(b_addr)?;
        b.get_ref().connect(a_addr)?;
        assert_eq!(a.send(b"two").await?, 3);
        let n = io_timeout(GUARD, b.peek(&mut buf)).await?;
        assert_eq!(&buf[..n], b"two");
        let n = io_timeout(GUARD, b.recv(&mut buf)).await?;
        assert_eq!(&buf[..n], b"two");
        io::Result::Ok(())
    })
    .unwrap();
}

#[cfg(unix)]
mod unix {
    use std::io;
    use std::os::unix::net::{UnixDatagram, UnixListener, UnixStream};

    use solo_io::{Async, io_timeout};
    use solo_lite::io::{AsyncReadExt, AsyncWriteExt};
    use solo_lite::stream::StreamExt;

    use super::common::{GUARD, TempDir, block_on};

    #[test]
    fn unix_listener_stream_and_pair() {
        let dir = TempDir::new("async-unix");
        let path = dir.join("s.sock");
        block_on(async {
            let listener = Async::<UnixListener>::bind(&path)?;
            let mut client = Async::<UnixStream>::connect(&path).await?;
            let (mut server, _) = io_timeout(GUARD, listener.accept()).await?;
            client.write_all(b"over unix").await?;
            let mut buf = [0u8; 9];
            io_timeout(GUARD, server.read_exact(&mut buf)).await?;
            assert_eq!(&buf, b"over unix");

            let _second = Async::<UnixStream>::connect(&path).await?;
            let mut incoming = Box::pin(listener.incoming());
            io_timeout(GUARD, async { incoming.next().await.unwrap() }).await?;

            let (mut a, mut b) = Async::<UnixStream>::pair()?;
            a.write_all(b"pair").await?;
            let mut buf = [0u8; 4];
            io_timeout(GUARD, b.read_exact(&mut buf)).await?;
            assert_eq!(&buf, b"pair");

            // Connecting to nothing names the path.
            let missing = dir.join("missing.sock");
            let err = Async::<UnixStream>::connect(&missing).await.unwrap_err();
            assert!(err.to_string().contains("missing.sock"), "{err}");
            let err = Async::<UnixListener>::bind(&path).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
            assert!(err.to_string().contains("s.sock"), "{err}");

            let listener = Async::try_from(UnixListener::bind(dir.join("t.sock"))?)?;
            drop(listener);
            let stream = Async::try_from(UnixStream::pair()?.0)?;
            drop(stream);
            io::Result::Ok(())
        })
        .unwrap();
    }

    #[test]
    fn unix_datagrams() {
        let dir = TempDir::new("async-unix-dgram");
        block_on(async {
            let a = Async::<UnixDatagram>::bind(dir.join("a.sock"))?;
            let b = Async::<UnixDatagram>::unbound()?;
            b.send_to(b"to a", dir.join("a.sock")).await?;
            let mut buf = [0u8; 16];
            let (n, from) = io_timeout(GUARD, a.recv_from(&mut buf)).await?;
            assert_eq!(&buf[..n], b"to a");
            assert!(from.is_unnamed());

            let (c, d) = Async::<UnixDatagram>::pair()?;
            c.send(b"pair").await?;
            let n = io_timeout(GUARD, d.recv(&mut buf)).await?;
            assert_eq!(&buf[..n], b"pair");
            let e = Async::try_from(UnixDatagram::unbound()?)?;
            drop(e);
            io::Result::Ok(())
        })
        .unwrap();
    }
}
