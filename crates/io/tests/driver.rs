//! The driver choice: `SOLO_DRIVER` selects it and `reactor::driver()` names it, so a test
//! run with `SOLO_DRIVER=uring` (as `.ci/run` does) is known to have run on the ring.

use std::time::Duration;

use solo_io::Timer;
use solo_io::net::{TcpListener, TcpStream};
use solo_lite::io::{AsyncReadExt, AsyncWriteExt};

#[test]
fn the_driver_is_the_one_asked_for() {
    let driver = solo_io::reactor::driver();
    match std::env::var("SOLO_DRIVER").as_deref() {
        Ok("uring" | "io_uring") => assert_eq!(driver, "io_uring"),
        Ok("epoll" | "poller") => assert_eq!(driver, solo_io::reactor::backend()),
        // `auto`, unset (the default): either, and the name says which; the ring wherever
        // one can be made.
        _ => {
            // (`has_uring`: solo-io's build script's name for where the driver exists.)
            #[cfg(has_uring)]
            let expected = match io_uring::IoUring::new(8) {
                Ok(_) => "io_uring",
                Err(_) => solo_io::reactor::backend(),
            };
            #[cfg(not(has_uring))]
            let expected = solo_io::reactor::backend();
            assert_eq!(driver, expected);
        }
    }
}

#[test]
fn every_thread_gets_the_same_driver() {
    let here = solo_io::reactor::driver();
    let there = std::thread::spawn(solo_io::reactor::driver).join().unwrap();
    assert_eq!(here, there);
}

/// Readiness sources, a notify from another thread and a timer, all through one loop.
#[test]
fn sockets_timers_and_cross_thread_wakes_share_the_loop() {
    solo_io::block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        client.write_all(b"ping").await.unwrap();
        let mut buf = [0; 4];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");

        // A job on the pool completes on another thread: its wake must reach the loop.
        let n = solo_io::unblock(|| 40 + 2).await;
        assert_eq!(n, 42);

        Timer::after(Duration::from_millis(2)).await;
    });
}
