//! The harness's basic promises: virtual time, the same trace for the same seed, TCP and
//! UDP between hosts, refusals of real descriptors. Built only with `--cfg solo_sim`.
#![cfg(solo_sim)]

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use solo::io::{AsyncReadExt, AsyncWriteExt};
use solo::net::{TcpListener, TcpStream, UdpSocket};
use solo_sim::{NetConfig, Outcome, Sim};

const HOUR: Duration = Duration::from_secs(3600);

#[test]
fn an_hour_of_idle_timeout_passes_in_virtual_time() {
    let mut sim = Sim::new(1);
    let fired = Rc::new(Cell::new(false));
    let f = fired.clone();
    sim.host("a", move || {
        let f = f.clone();
        async move {
            solo::Timer::after(HOUR).await;
            f.set(true);
        }
    });
    assert_eq!(sim.run(2 * HOUR), Outcome::Finished);
    assert!(fired.get());
    assert!(
        sim.now() >= HOUR && sim.now() < HOUR + Duration::from_millis(10),
        "{:?}",
        sim.now()
    );
}

#[test]
fn timeout_of_an_idle_read_fires_in_virtual_time() {
    let mut sim = Sim::new(2);
    sim.host("server", || async {
        let l = TcpListener::bind("0.0.0.0:7").await.unwrap();
        let (_idle, _) = l.accept().await.unwrap();
        solo::Timer::after(2 * HOUR).await;
    });
    sim.host("client", || async {
        let mut s = TcpStream::connect("server:7").await.unwrap();
        let mut buf = [0; 1];
        let r = solo::timeout(HOUR, s.read(&mut buf)).await;
        assert!(r.is_err(), "the read should time out: {r:?}");
    });
    sim.run_until(3 * HOUR, |s| s.is_finished("client"));
    assert!(sim.is_finished("client"));
    assert!(sim.now() >= HOUR);
}

/// An echo over TCP and a burst of datagrams; returns the trace hash and what arrived.
fn echo_and_datagrams(seed: u64) -> (u64, Vec<u8>, usize) {
    let mut sim = Sim::new(seed);
    let echoed = Rc::new(RefCell::new(Vec::new()));
    let datagrams = Rc::new(Cell::new(0));
    sim.host("server", || async {
        let l = TcpListener::bind("0.0.0.0:80").await.unwrap();
        let u = UdpSocket::bind("0.0.0.0:53").await.unwrap();
        solo::spawn(async move {
            let mut buf = [0; 64];
            loop {
                let (n, from) = u.recv_from(&mut buf).await.unwrap();
                u.send_to(&buf[..n], from).await.unwrap();
            }
        })
        .detach();
        loop {
            let (mut s, _) = l.accept().await.unwrap();
            solo::spawn(async move {
                let mut buf = vec![0; 4096];
                loop {
                    let n = s.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    s.write_all(&buf[..n]).await.unwrap();
                }
            })
            .detach();
        }
    });
    let (e, d) = (echoed.clone(), datagrams.clone());
    sim.host("client", move || {
        let (e, d) = (e.clone(), d.clone());
        async move {
            let mut s = TcpStream::connect("server:80").await.unwrap();
            let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
            let (mut r, mut w) = solo::io::split(&mut s);
            let (_, got) = solo::future::zip(
                async {
                    w.write_all(&data).await.unwrap();
                },
                async {
                    let mut got = vec![0; data.len()];
                    r.read_exact(&mut got).await.unwrap();
                    got
                },
            )
            .await;
            assert_eq!(got, data);
            *e.borrow_mut() = got;
            let u = UdpSocket::bind("0.0.0.0:0").await.unwrap();
            for i in 0..100u8 {
                u.send_to(&[i], "server:53").await.unwrap();
            }
            let mut buf = [0; 8];
            while solo::timeout(Duration::from_secs(1), u.recv_from(&mut buf))
                .await
                .is_ok()
            {
                d.set(d.get() + 1);
            }
        }
    });
    let outcome = sim.run_until(HOUR, |s| s.is_finished("client"));
    assert_eq!(outcome, Outcome::Condition);
    let hash = sim.trace_hash();
    let received = echoed.borrow().len();
    (hash, vec![received as u8], datagrams.get())
}

#[test]
fn the_same_seed_gives_the_same_trace() {
    let a = echo_and_datagrams(11);
    let b = echo_and_datagrams(11);
    assert_eq!(a, b);
    // On a fresh thread too (its virtual clock starts elsewhere relative to the wheel).
    let fresh = std::thread::spawn(|| echo_and_datagrams(11))
        .join()
        .unwrap();
    assert_eq!(a, fresh);
    // The default network loses 1% of datagrams each way: most come back, not all need to.
    assert!(a.2 > 80 && a.2 <= 100, "{} datagrams came back", a.2);
    let c = echo_and_datagrams(12);
    assert_ne!(a.0, c.0, "another seed, another trace");
}

#[test]
fn udp_loss_and_reordering_follow_the_config() {
    let config = NetConfig {
        udp_loss_ppm: 200_000,
        udp_jitter: Duration::from_millis(20),
        ..NetConfig::default()
    };
    let mut sim = Sim::with_config(5, config);
    let order = Rc::new(RefCell::new(Vec::new()));
    let o = order.clone();
    sim.host("rx", move || {
        let o = o.clone();
        async move {
            let u = UdpSocket::bind("0.0.0.0:9").await.unwrap();
            let mut buf = [0; 4];
            loop {
                let (n, _) = u.recv_from(&mut buf).await.unwrap();
                o.borrow_mut()
                    .push(u32::from_le_bytes(buf[..n].try_into().unwrap()));
            }
        }
    });
    sim.host("tx", || async {
        let u = UdpSocket::bind("0.0.0.0:0").await.unwrap();
        for i in 0..1000u32 {
            u.send_to(&i.to_le_bytes(), "rx:9").await.unwrap();
            solo::Timer::after(Duration::from_millis(1)).await;
        }
    });
    sim.run_for(Duration::from_secs(10));
    let order = order.borrow();
    let stats = sim.net_stats();
    assert_eq!(stats.udp_sent, 1000);
    assert_eq!(stats.udp_delivered as usize, order.len());
    assert!(
        (700..900).contains(&order.len()),
        "{} of 1000 arrived",
        order.len()
    );
    let inversions = order.windows(2).filter(|w| w[0] > w[1]).count();
    assert!(
        inversions > 0,
        "20 ms of jitter at 1 ms spacing must reorder some"
    );
}

#[test]
fn a_partition_holds_tcp_until_it_heals_and_loses_syns() {
    let config = NetConfig {
        connect_timeout: Duration::from_secs(2),
        ..NetConfig::default()
    };
    let mut sim = Sim::with_config(3, config);
    let got = Rc::new(RefCell::new(Vec::<(Duration, u8)>::new()));
    let g = got.clone();
    sim.host("server", move || {
        let g = g.clone();
        async move {
            let l = TcpListener::bind("0.0.0.0:80").await.unwrap();
            let (mut s, _) = l.accept().await.unwrap();
            let mut b = [0; 1];
            while s.read(&mut b).await.unwrap() == 1 {
                g.borrow_mut().push((solo_io::sim::now(), b[0]));
            }
        }
    });
    let late = Rc::new(RefCell::new(None));
    let l2 = late.clone();
    sim.host("client", move || {
        let l2 = l2.clone();
        async move {
            let mut s = TcpStream::connect("server:80").await.unwrap();
            for i in 0..20u8 {
                s.write_all(&[i]).await.unwrap();
                solo::Timer::after(Duration::from_millis(100)).await;
            }
            // Connecting across the partition: the SYN is lost, the connect times out.
            solo::Timer::after(Duration::from_secs(20)).await;
            *l2.borrow_mut() = Some(TcpStream::connect("server:80").await.map(drop));
        }
    });
    sim.at(
        Duration::from_millis(500),
        solo_sim::Fault::Partition("client".into(), "server".into()),
    )
    .at(
        Duration::from_secs(10),
        solo_sim::Fault::Heal("client".into(), "server".into()),
    )
    .at(
        Duration::from_secs(15),
        solo_sim::Fault::Partition("client".into(), "server".into()),
    );
    sim.run(Duration::from_secs(60));
    let got = got.borrow();
    let bytes: Vec<u8> = got.iter().map(|(_, b)| *b).collect();
    assert_eq!(
        bytes,
        (0..20).collect::<Vec<u8>>(),
        "in order, nothing lost"
    );
    // What was sent during the partition arrived after it healed.
    assert!(
        got.iter()
            .filter(|(t, _)| *t >= Duration::from_secs(10))
            .count()
            >= 10
    );
    assert!(sim.net_stats().tcp_held > 0);
    let late = late.borrow_mut().take().expect("the client finished");
    assert_eq!(late.unwrap_err().kind(), std::io::ErrorKind::TimedOut);
}

#[test]
fn a_crashed_host_resets_its_peers_and_restarts_from_main() {
    let mut sim = Sim::new(4);
    let starts = Rc::new(Cell::new(0));
    let s2 = starts.clone();
    sim.host("server", move || {
        s2.set(s2.get() + 1);
        async move {
            let l = TcpListener::bind("0.0.0.0:80").await.unwrap();
            loop {
                let (mut s, _) = l.accept().await.unwrap();
                solo::spawn(async move {
                    let mut b = [0; 16];
                    while let Ok(n @ 1..) = s.read(&mut b).await {
                        let _ = s.write_all(&b[..n]).await;
                    }
                })
                .detach();
            }
        }
    });
    let errors = Rc::new(RefCell::new(Vec::new()));
    let e2 = errors.clone();
    sim.host("client", move || {
        let e2 = e2.clone();
        async move {
            let mut s = TcpStream::connect("server:80").await.unwrap();
            let mut b = [0; 1];
            // Echoes until the crash; the next write is answered by a reset.
            let err = loop {
                solo::Timer::after(Duration::from_millis(100)).await;
                if let Err(e) = s.write_all(b"x").await {
                    break e;
                }
                if let Err(e) = s.read_exact(&mut b).await {
                    break e;
                }
            };
            e2.borrow_mut().push(err.kind());
            // After the restart a new connection works again.
            loop {
                solo::Timer::after(Duration::from_millis(100)).await;
                if let Ok(mut s) = TcpStream::connect("server:80").await {
                    s.write_all(b"y").await.unwrap();
                    s.read_exact(&mut b).await.unwrap();
                    assert_eq!(&b, b"y");
                    return;
                }
            }
        }
    });
    sim.at(
        Duration::from_secs(1),
        solo_sim::Fault::Crash("server".into()),
    )
    .at(
        Duration::from_secs(3),
        solo_sim::Fault::Restart("server".into()),
    );
    assert_eq!(
        sim.run_until(Duration::from_secs(10), |s| s.is_finished("client")),
        Outcome::Condition
    );
    assert_eq!(starts.get(), 2);
    assert_eq!(
        errors.borrow().as_slice(),
        &[std::io::ErrorKind::ConnectionReset]
    );
    assert!(sim.now() >= Duration::from_secs(3));
}

#[test]
fn a_real_descriptor_is_refused_with_a_clear_error() {
    let mut sim = Sim::new(6);
    let err = Rc::new(RefCell::new(None));
    let e2 = err.clone();
    sim.host("a", move || {
        let e2 = e2.clone();
        async move {
            let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            *e2.borrow_mut() = solo::Async::new(std_listener).err();
        }
    });
    sim.run(HOUR);
    let err = err.borrow_mut().take().expect("refused");
    assert_eq!(err.kind(), std::io::ErrorKind::Unsupported);
    assert!(err.to_string().contains("simulation"), "{err}");
}

#[test]
fn a_host_panic_fails_the_run_with_its_message() {
    let r = std::panic::catch_unwind(|| {
        let mut sim = Sim::new(8);
        sim.host("a", || async {
            solo::Timer::after(Duration::from_secs(5)).await;
            panic!("boom");
        });
        sim.run(HOUR);
    });
    let msg = solo_sim::panic_message(&*r.unwrap_err());
    assert!(
        msg.contains("\"a\"") && msg.contains("boom") && msg.contains("seed 8"),
        "{msg}"
    );
}

/// Round trips under a 15 ms timeout; returns how many timed out and the trace hash.
fn round_trips(seed: u64, wake_delay: Duration) -> (usize, u64) {
    let mut sim = Sim::new(seed);
    sim.set_wake_delay(wake_delay);
    let timeouts = Rc::new(Cell::new(0));
    sim.host("server", || async {
        let l = TcpListener::bind("0.0.0.0:80").await.unwrap();
        let (mut s, _) = l.accept().await.unwrap();
        let mut b = [0; 1];
        while s.read_exact(&mut b).await.is_ok() {
            s.write_all(&b).await.unwrap();
        }
    });
    let t = timeouts.clone();
    sim.host("client", move || {
        let t = t.clone();
        async move {
            let mut s = TcpStream::connect("server:80").await.unwrap();
            let mut b = [0; 1];
            for _ in 0..20 {
                s.write_all(b"x").await.unwrap();
                // At most 2 x 5 ms of latency: never late on a fair scheduler.
                if solo::timeout(Duration::from_millis(15), s.read_exact(&mut b))
                    .await
                    .is_err()
                {
                    t.set(t.get() + 1);
                    return;
                }
            }
        }
    });
    sim.run_until(HOUR, |s| s.is_finished("client"));
    (timeouts.get(), sim.trace_hash())
}

#[test]
fn wake_delays_make_the_scheduler_adversarial_and_stay_replayable() {
    assert!((0..50).all(|seed| round_trips(seed, Duration::ZERO).0 == 0));
    let delay = Duration::from_millis(30);
    let late = (0..50).find(|&seed| round_trips(seed, delay).0 > 0);
    let seed = late.expect("some seed delays a wake past the timeout");
    assert_eq!(round_trips(seed, delay), round_trips(seed, delay));
}

#[test]
fn files_and_blocking_work_run_inline_on_the_simulation_thread() {
    let dir = std::env::temp_dir().join(format!("solo-sim-fs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("fixture.txt");
    let mut sim = Sim::new(9);
    let read = Rc::new(RefCell::new(None));
    let (r, p) = (read.clone(), path.clone());
    sim.host("a", move || {
        let (r, p) = (r.clone(), p.clone());
        async move {
            solo::fs::write(&p, b"fixture").await.unwrap();
            let text = solo::fs::read_to_string(&p).await.unwrap();
            let thread = solo::unblock(|| std::thread::current().id()).await;
            *r.borrow_mut() = Some((text, thread));
        }
    });
    assert_eq!(sim.run(HOUR), Outcome::Finished);
    let (text, thread) = read.borrow_mut().take().unwrap();
    assert_eq!(text, "fixture");
    assert_eq!(thread, std::thread::current().id(), "no pool thread");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn block_on_alone_runs_in_virtual_time_and_reports_a_deadlock() {
    let start = solo_io::sim::now();
    solo::block_on(solo::Timer::after(HOUR));
    assert!(solo_io::sim::now() - start >= HOUR);
    let r = std::panic::catch_unwind(|| solo::block_on(std::future::pending::<()>()));
    let msg = solo_sim::panic_message(&*r.unwrap_err());
    assert!(msg.contains("deadlock"), "{msg}");
}

#[test]
fn bandwidth_paces_a_stream_and_a_partition_drops_datagrams() {
    let config = NetConfig {
        bandwidth: Some(1_000_000),
        udp_loss_ppm: 0,
        ..NetConfig::default()
    };
    let mut sim = Sim::with_config(10, config);
    let done = Rc::new(Cell::new(None));
    let d = done.clone();
    sim.host("server", move || {
        let d = d.clone();
        async move {
            let l = TcpListener::bind("0.0.0.0:80").await.unwrap();
            let (mut s, _) = l.accept().await.unwrap();
            let mut all = Vec::new();
            s.read_to_end(&mut all).await.unwrap();
            assert_eq!(all.len(), 2_000_000);
            d.set(Some(solo_io::sim::now()));
        }
    });
    let udp_got = Rc::new(Cell::new(0));
    let u = udp_got.clone();
    sim.host("udp", move || {
        let u = u.clone();
        async move {
            let sock = UdpSocket::bind("0.0.0.0:5").await.unwrap();
            let mut b = [0; 8];
            loop {
                sock.recv_from(&mut b).await.unwrap();
                u.set(u.get() + 1);
            }
        }
    });
    sim.host("client", || async {
        let mut s = TcpStream::connect("server:80").await.unwrap();
        s.write_all(&vec![7; 2_000_000]).await.unwrap();
        drop(s);
        let sock = UdpSocket::bind("0.0.0.0:0").await.unwrap();
        for _ in 0..10 {
            sock.send_to(b"d", "udp:5").await.unwrap();
            solo::Timer::after(Duration::from_millis(100)).await;
        }
    });
    // The datagrams sent in the first half second are cut off.
    let t0 = Duration::from_secs(2);
    sim.at(
        t0,
        solo_sim::Fault::Partition("client".into(), "udp".into()),
    )
    .at(
        t0 + Duration::from_millis(500),
        solo_sim::Fault::Heal("client".into(), "udp".into()),
    );
    sim.run_for(Duration::from_secs(10));
    // 2 MB at 1 MB/s: at least two seconds, not much more.
    let took = done.get().expect("the stream arrived");
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_millis(2100),
        "{took:?}"
    );
    assert!(
        (4..=6).contains(&udp_got.get()),
        "{} of 10 datagrams",
        udp_got.get()
    );
}

#[test]
fn two_tasks_reading_one_stream_are_both_woken() {
    let mut sim = Sim::new(12);
    sim.host("server", || async {
        let l = TcpListener::bind("0.0.0.0:80").await.unwrap();
        let (mut s, _) = l.accept().await.unwrap();
        for b in [b"a", b"b"] {
            solo::Timer::after(Duration::from_millis(50)).await;
            s.write_all(b).await.unwrap();
        }
        solo::Timer::after(HOUR).await;
    });
    let got = Rc::new(RefCell::new(Vec::new()));
    let g = got.clone();
    sim.host("client", move || {
        let g = g.clone();
        async move {
            let s = Rc::new(TcpStream::connect("server:80").await.unwrap());
            let readers: Vec<_> = (0..2)
                .map(|_| {
                    let (s, g) = (s.clone(), g.clone());
                    solo::spawn(async move {
                        let mut b = [0; 1];
                        (&*s).read_exact(&mut b).await.unwrap();
                        g.borrow_mut().push(b[0]);
                    })
                })
                .collect();
            for r in readers {
                r.await;
            }
        }
    });
    let outcome = sim.run_until(Duration::from_secs(60), |s| s.is_finished("client"));
    assert_eq!(outcome, Outcome::Condition);
    let mut got = got.borrow().clone();
    got.sort_unstable();
    assert_eq!(got, b"ab");
}

#[test]
fn a_detached_task_panic_fails_the_run_unless_allowed() {
    let program = |sim: &mut Sim| {
        sim.host("a", || async {
            solo::spawn(async {
                solo::Timer::after(Duration::from_secs(1)).await;
                panic!("lost in a detached task");
            })
            .detach();
            solo::Timer::after(Duration::from_secs(2)).await;
        });
    };
    let r = std::panic::catch_unwind(|| {
        let mut sim = Sim::new(13);
        program(&mut sim);
        sim.run(HOUR)
    });
    let msg = solo_sim::panic_message(&*r.unwrap_err());
    assert!(
        msg.contains("\"a\"") && msg.contains("lost in a detached task"),
        "{msg}"
    );
    let mut sim = Sim::new(13);
    sim.set_task_panics_fail(false);
    program(&mut sim);
    assert_eq!(sim.run(HOUR), Outcome::Finished);
}
