//! The Unix body of the solo-poll benchmark (socket pairs); see `poll.rs`.

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use solo_benches::{compare, contender};
use solo_poll::{Events, Interest, Mode, Poller};

const SOCKETS: usize = 1_000;

pub(crate) fn main() {
    let poller = Poller::new().expect("poller");
    println!("solo-poll backend: {}", poller.backend());
    notify_wait();
    wait_many_ready();
    ready_cycle();
}

fn notify_wait() {
    const OPS: u64 = 10_000;
    let poller = Poller::new().unwrap();
    let mut events = Events::new();

    // Ping-pong: thread B waits on `pb` and answers by notifying `pa`.
    let pa = Arc::new(Poller::new().unwrap());
    let pb = Arc::new(Poller::new().unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let echo = {
        let (pa, pb, stop) = (Arc::clone(&pa), Arc::clone(&pb), Arc::clone(&stop));
        thread::spawn(move || {
            let mut events = Events::with_capacity(4);
            loop {
                pb.wait(&mut events, None).unwrap();
                if stop.load(Ordering::Acquire) {
                    return;
                }
                pa.notify().unwrap();
            }
        })
    };
    let mut pong_events = Events::with_capacity(4);

    compare(
        "notify-wait",
        OPS,
        &mut [
            contender("same thread", || {
                for _ in 0..OPS {
                    poller.notify().unwrap();
                    poller.wait(&mut events, None).unwrap();
                }
            }),
            contender("two threads", || {
                for _ in 0..OPS {
                    pb.notify().unwrap();
                    pa.wait(&mut pong_events, None).unwrap();
                }
            }),
        ],
    );
    stop.store(true, Ordering::Release);
    pb.notify().unwrap();
    echo.join().unwrap();
}

/// `SOCKETS` socket pairs; the first element of each is registered under its index.
fn pairs() -> Vec<(UnixStream, UnixStream)> {
    (0..SOCKETS)
        .map(|_| {
            let (a, b) = UnixStream::pair().unwrap();
            a.set_nonblocking(true).unwrap();
            b.set_nonblocking(true).unwrap();
            (a, b)
        })
        .collect()
}

fn wait_many_ready() {
    const WAITS: u64 = 200;
    // Every socket holds one unread byte, so every wait reports all of them.
    let level = Poller::new().unwrap();
    let level_pairs = pairs();
    for (i, (a, b)) in level_pairs.iter().enumerate() {
        level.add(a, i, Interest::READABLE, Mode::Level).unwrap();
        (&*b).write_all(b"x").unwrap();
    }
    let oneshot = Poller::new().unwrap();
    let oneshot_pairs = pairs();
    for (i, (a, b)) in oneshot_pairs.iter().enumerate() {
        oneshot
            .add(a, i, Interest::READABLE, Mode::Oneshot)
            .unwrap();
        (&*b).write_all(b"x").unwrap();
    }
    let mut level_events = Events::with_capacity(SOCKETS + 24);
    let mut oneshot_events = Events::with_capacity(SOCKETS + 24);
    let timeout = Some(Duration::from_secs(10));
    compare(
        "wait-1000-ready",
        WAITS,
        &mut [
            contender("level", || {
                for _ in 0..WAITS {
                    let n = level.wait(&mut level_events, timeout).unwrap();
                    assert_eq!(n, SOCKETS);
                }
            }),
            contender("oneshot+modify", || {
                let events = &mut oneshot_events;
                for _ in 0..WAITS {
                    let n = oneshot.wait(events, timeout).unwrap();
                    assert_eq!(n, SOCKETS);
                    for ev in events.iter() {
                        let a = &oneshot_pairs[ev.key].0;
                        oneshot
                            .modify(a, ev.key, Interest::READABLE, Mode::Oneshot)
                            .unwrap();
                    }
                }
            }),
        ],
    );
}

/// One reactor cycle over all sockets: write a byte to each peer, wait until every socket
/// has been reported, read each until `WouldBlock` (re-arming oneshot sources).
fn cycle(poller: &Poller, pairs: &[(UnixStream, UnixStream)], mode: Mode, events: &mut Events) {
    for (_, b) in pairs {
        (&*b).write_all(b"x").unwrap();
    }
    let mut left = pairs.len();
    let mut buf = [0u8; 64];
    while left > 0 {
        poller.wait(events, Some(Duration::from_secs(10))).unwrap();
        assert!(
            !events.is_empty(),
            "a cycle stalled with {left} sockets unreported"
        );
        for ev in events.iter() {
            let a = &pairs[ev.key].0;
            let mut got = 0;
            loop {
                match (&*a).read(&mut buf) {
                    Ok(n) => got += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => panic!("read: {e}"),
                }
            }
            if got > 0 {
                left -= 1;
            }
            if mode == Mode::Oneshot {
                poller
                    .modify(a, ev.key, Interest::READABLE, Mode::Oneshot)
                    .unwrap();
            }
        }
    }
}

fn ready_cycle() {
    let make = |mode: Mode| {
        let poller = Poller::new().unwrap();
        let pairs = pairs();
        for (i, (a, _)) in pairs.iter().enumerate() {
            poller.add(a, i, Interest::READABLE, mode).unwrap();
        }
        (poller, pairs)
    };
    let (mut e1, mut e2, mut e3) = (Events::new(), Events::new(), Events::new());
    let probe = Poller::new().unwrap();
    let (lp, lpairs) = make(Mode::Level);
    let (op, opairs) = make(Mode::Oneshot);
    let edge = probe.supports_edge().then(|| make(Mode::Edge));
    let mut contenders = Vec::new();
    if let Some((ep, epairs)) = &edge {
        contenders.push(contender("edge", || cycle(ep, epairs, Mode::Edge, &mut e1)));
    }
    contenders.push(contender("oneshot+modify", || {
        cycle(&op, &opairs, Mode::Oneshot, &mut e2)
    }));
    contenders.push(contender("level", || {
        cycle(&lp, &lpairs, Mode::Level, &mut e3)
    }));
    compare("ready-cycle-1000", SOCKETS as u64, &mut contenders);
}
