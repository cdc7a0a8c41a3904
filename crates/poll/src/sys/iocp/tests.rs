//! Unit tests of the IOCP backend: the bookkeeping the public API cannot observe (polls in
//! flight, zombies, helper-handle groups, deferred level re-submission) and the forced
//! timer fallbacks. They run under Wine.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::os::windows::io::{AsRawSocket, AsSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;

const GUARD: Duration = Duration::from_secs(10);

/// A connected pair of non-blocking loopback TCP streams.
fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (b, _) = listener.accept().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

fn wait(p: &Poller, timeout: Duration) -> Vec<Event> {
    let mut buf = EventBuf::with_capacity(64);
    let mut out = Vec::with_capacity(64);
    p.wait(&mut buf, &mut out, 64, Deadline::after(Some(timeout)))
        .unwrap();
    out
}

/// Waits until some event arrives (failing after [`GUARD`]).
fn wait_for_events(p: &Poller) -> Vec<Event> {
    let deadline = Instant::now() + GUARD;
    loop {
        let evs = wait(p, Duration::from_millis(50));
        if !evs.is_empty() {
            return evs;
        }
        assert!(Instant::now() < deadline, "no event in {GUARD:?}");
    }
}

/// (registrations, zombies, polls in flight)
fn counts(p: &Poller) -> (usize, usize, usize) {
    let s = p.lock();
    (s.sockets.len(), s.zombies.len(), s.in_flight)
}

/// Waits (reporting nothing) until the counts are `want`.
fn settle(p: &Poller, want: (usize, usize, usize)) {
    let deadline = Instant::now() + GUARD;
    while counts(p) != want {
        let evs = wait(p, Duration::from_millis(20));
        assert!(evs.is_empty(), "{evs:?}");
        assert!(Instant::now() < deadline, "{:?}, not {want:?}", counts(p));
    }
}

fn status(p: &Poller, s: &TcpStream) -> Status {
    p.lock().sockets[&s.as_raw_socket()].status
}

fn ev(key: usize, readable: bool, writable: bool) -> Event {
    Event {
        key,
        readable,
        writable,
        hangup: false,
        error: false,
    }
}

#[test]
fn a_deleted_pending_poll_is_a_zombie_until_its_packet_arrives() {
    let p = Poller::new().unwrap();
    let (a, _b) = pair();
    p.add(a.as_socket(), 1, Interest::READABLE, Mode::Level)
        .unwrap();
    assert_eq!(counts(&p), (1, 0, 1));
    p.delete(a.as_socket()).unwrap();
    assert_eq!(counts(&p), (0, 1, 1));
    // Close it too: the cancelled poll's packet must still find its block alive.
    drop(a);
    settle(&p, (0, 0, 0));
}

#[test]
fn modify_while_pending_cancels_once_and_resubmits_the_latest_interest() {
    let p = Poller::new().unwrap();
    let (a, _b) = pair();
    let read_mask = afd::poll_mask(Interest::READABLE);
    p.add(a.as_socket(), 1, Interest::READABLE, Mode::Oneshot)
        .unwrap();
    assert_eq!(status(&p, &a), Status::Polling(read_mask));
    // The same interest keeps the poll in flight.
    p.modify(a.as_socket(), 2, Interest::READABLE, Mode::Oneshot)
        .unwrap();
    assert_eq!(status(&p, &a), Status::Polling(read_mask));
    // A new one cancels it; more changes while the cancellation is pending add nothing.
    p.modify(a.as_socket(), 3, Interest::WRITABLE, Mode::Oneshot)
        .unwrap();
    assert_eq!(status(&p, &a), Status::Cancelling);
    p.modify(a.as_socket(), 4, Interest::READABLE, Mode::Level)
        .unwrap();
    p.modify(a.as_socket(), 5, Interest::WRITABLE, Mode::Oneshot)
        .unwrap();
    assert_eq!(counts(&p), (1, 0, 1));
    // The cancelled poll's packet submits the poll for the latest interest, which reports.
    assert_eq!(wait_for_events(&p), [ev(5, false, true)]);
    assert_eq!(status(&p, &a), Status::Idle);
    assert_eq!(counts(&p), (1, 0, 0));
    p.delete(a.as_socket()).unwrap();
}

#[test]
fn a_zero_timeout_wait_reports_the_poll_a_modify_resubmitted() {
    let p = Poller::new().unwrap();
    let (a, _b) = pair();
    p.add(a.as_socket(), 1, Interest::READABLE, Mode::Oneshot)
        .unwrap();
    p.modify(a.as_socket(), 2, Interest::WRITABLE, Mode::Oneshot)
        .unwrap();
    assert_eq!(status(&p, &a), Status::Cancelling);
    // One look: the cancelled poll's packet, the new poll, and its (immediate) packet.
    assert_eq!(wait(&p, Duration::ZERO), [ev(2, false, true)]);
    p.delete(a.as_socket()).unwrap();
}

#[test]
fn level_is_resubmitted_at_the_next_wait_not_at_once() {
    let p = Poller::new().unwrap();
    let (a, mut b) = pair();
    p.add(a.as_socket(), 1, Interest::READABLE, Mode::Level)
        .unwrap();
    b.write_all(b"x").unwrap();
    assert_eq!(wait_for_events(&p), [ev(1, true, false)]);
    // Reported: idle, queued for the next wait.
    assert_eq!(status(&p, &a), Status::Idle);
    assert_eq!(p.lock().rearm, [a.as_raw_socket()]);
    assert_eq!(wait_for_events(&p), [ev(1, true, false)]);
    p.delete(a.as_socket()).unwrap();
    assert_eq!(counts(&p), (0, 0, 0));
    // The stale entry goes at the next wait.
    assert!(wait(&p, Duration::ZERO).is_empty());
    assert!(p.lock().rearm.is_empty());
}

#[test]
fn a_cancellation_nobody_asked_for_is_resubmitted() {
    // What the system does to a poll whose thread exits (where it does): simulated by
    // cancelling behind the table's back.
    let p = Poller::new().unwrap();
    let (a, mut b) = pair();
    p.add(a.as_socket(), 1, Interest::READABLE, Mode::Oneshot)
        .unwrap();
    {
        let s = p.lock();
        let sock = &s.sockets[&a.as_raw_socket()];
        // SAFETY: the poll was submitted through this group's handle, which is open.
        unsafe { sock.block.cancel(s.groups[sock.group].raw()) }.unwrap();
    }
    assert!(wait(&p, Duration::from_millis(50)).is_empty());
    assert!(matches!(status(&p, &a), Status::Polling(_)));
    b.write_all(b"x").unwrap();
    assert_eq!(wait_for_events(&p), [ev(1, true, false)]);
    p.delete(a.as_socket()).unwrap();
}

#[test]
fn a_socket_closed_without_delete_is_forgotten() {
    let p = Poller::new().unwrap();
    let (a, _b) = pair();
    p.add(a.as_socket(), 1, Interest::READABLE, Mode::Level)
        .unwrap();
    drop(a);
    // AFD_POLL_LOCAL_CLOSE completes the poll; nothing is reported.
    settle(&p, (0, 0, 0));
}

#[test]
fn sockets_are_spread_over_groups_of_32() {
    let p = Poller::new().unwrap();
    let pairs: Vec<_> = (0..50).map(|_| pair()).collect();
    let sockets: Vec<&TcpStream> = pairs.iter().flat_map(|(a, b)| [a, b]).collect();
    let add_all = || {
        for (i, s) in sockets.iter().enumerate() {
            p.add(s.as_socket(), i, Interest::READABLE, Mode::Oneshot)
                .unwrap();
        }
    };
    add_all();
    {
        let s = p.lock();
        let members: Vec<usize> = s.groups.iter().map(|g| g.members).collect();
        assert_eq!(members, [32, 32, 32, 4]);
        assert_eq!(s.open, [3]);
        assert_eq!(s.in_flight, 100);
    }
    for s in &sockets {
        p.delete(s.as_socket()).unwrap();
    }
    settle(&p, (0, 0, 0));
    {
        let s = p.lock();
        assert!(s.groups.iter().all(|g| g.members == 0));
        let mut open = s.open.clone();
        open.sort();
        assert_eq!(open, [0, 1, 2, 3]);
    }
    // The groups are reused, not multiplied.
    add_all();
    assert_eq!(p.lock().groups.len(), 4);
    for s in &sockets {
        p.delete(s.as_socket()).unwrap();
    }
    settle(&p, (0, 0, 0));
}

#[test]
fn dropping_collects_every_packet_before_freeing() {
    // Polls in flight, live and deleted, some sockets closed: every block must stay until
    // its packet is dequeued. `collect_all` is what `drop` runs.
    let pairs: Vec<_> = (0..20).map(|_| pair()).collect();
    let mut p = Poller::new().unwrap();
    for (i, (a, _)) in pairs.iter().enumerate() {
        p.add(a.as_socket(), i, Interest::READABLE, Mode::Oneshot)
            .unwrap();
    }
    let mut pairs = pairs;
    for (a, _) in pairs.drain(..5) {
        p.delete(a.as_socket()).unwrap(); // a zombie, then closed
    }
    for (a, _) in &pairs[..5] {
        p.delete(a.as_socket()).unwrap(); // a zombie, still open
    }
    pairs.drain(5..10).for_each(drop); // closed without delete
    assert_eq!(counts(&p), (10, 10, 20));
    assert!(p.collect_all());
    let s = p.state.get_mut().unwrap();
    assert_eq!((s.sockets.len(), s.zombies.len(), s.in_flight), (0, 0, 0));
    // Dropping it now finds nothing left to do.
    drop(p);
}

fn timed_wait(p: &Poller, timeout: Duration) -> (usize, Duration) {
    let start = Instant::now();
    let n = wait(p, timeout).len();
    (n, start.elapsed())
}

fn check_timeouts(p: &Poller) {
    for us in [1u64, 50, 100, 300, 999, 1000, 1500, 2100] {
        let t = Duration::from_micros(us);
        for _ in 0..3 {
            let (n, elapsed) = timed_wait(p, t);
            assert_eq!(n, 0);
            assert!(elapsed >= t, "{us} µs timeout returned after {elapsed:?}");
        }
    }
    // 200 waits of 300 µs take at least 60 ms in total: none returned at once.
    let t = Duration::from_micros(300);
    let start = Instant::now();
    for _ in 0..200 {
        assert_eq!(timed_wait(p, t).0, 0);
    }
    assert!(start.elapsed() >= t * 200);
}

#[test]
fn thread_pool_timer_is_never_early() {
    let p = Poller::build(Choice::ThreadPool).unwrap();
    // Without high-resolution timers (before Windows 10 1803) this checks the rounding.
    if let Some(t) = &p.timer {
        assert_eq!(t.kind(), "thread-pool wait");
    }
    check_timeouts(&p);
}

#[test]
fn rounded_timeouts_are_never_early() {
    let p = Poller::build(Choice::None).unwrap();
    assert!(p.timer.is_none());
    check_timeouts(&p);
}

#[test]
fn best_timer_is_never_early() {
    let p = Poller::new().unwrap();
    eprintln!("timer bridge: {:?}", p.timer.as_ref().map(Timer::kind));
    check_timeouts(&p);
}

#[test]
fn a_stale_timer_packet_does_not_end_a_later_wait_early() {
    for choice in [Choice::Best, Choice::ThreadPool] {
        let p = Arc::new(Poller::build(choice).unwrap());
        // The timer is armed for 900 µs, but the notification ends this wait at once; the
        // timer fires later and leaves its packet in the port.
        p.notify().unwrap();
        assert_eq!(timed_wait(&p, Duration::from_micros(900)).0, 0);
        std::thread::sleep(Duration::from_millis(5));
        // That packet must not end this longer wait.
        let (n, elapsed) = timed_wait(&p, Duration::from_millis(30));
        assert_eq!(n, 0);
        assert!(elapsed >= Duration::from_millis(30), "{elapsed:?}");
        // Nor one without a timeout, which only the notify ends.
        p.notify().unwrap();
        assert_eq!(timed_wait(&p, Duration::from_micros(900)).0, 0);
        std::thread::sleep(Duration::from_millis(5));
        let p2 = Arc::clone(&p);
        let start = Instant::now();
        let waiter = std::thread::spawn(move || {
            let mut buf = EventBuf::with_capacity(8);
            let mut out = Vec::with_capacity(8);
            p2.wait(&mut buf, &mut out, 8, Deadline::after(None))
                .unwrap();
            (out.len(), Instant::now())
        });
        std::thread::sleep(Duration::from_millis(50));
        p.notify().unwrap();
        let (n, woke) = waiter.join().unwrap();
        assert_eq!(n, 0);
        assert!(woke - start >= Duration::from_millis(50));
    }
}

#[test]
fn the_timer_bridges_post_a_packet_to_the_port() {
    // The wake-up comes from the timer's packet, not from a backstop timeout: the port
    // wait here has a long timeout of its own.
    for choice in [Choice::Best, Choice::ThreadPool] {
        let port = Port::new().unwrap();
        let Some(timer) = Timer::new(&port, choice) else {
            continue; // no high-resolution timers on this system
        };
        let mut entries = Vec::with_capacity(4);
        for _ in 0..3 {
            assert!(
                timer.arm(&port, Duration::from_millis(5)),
                "{}",
                timer.kind()
            );
            port.wait(&mut entries, 4, 10_000).unwrap();
            assert_eq!(entries.len(), 1, "{}: no timer packet", timer.kind());
            assert_eq!(entries[0].key, KEY_TIMER);
        }
        // Disarmed: nothing comes.
        assert!(timer.arm(&port, Duration::from_millis(5)));
        timer.disarm();
        port.wait(&mut entries, 4, 50).unwrap();
        assert!(
            entries.is_empty(),
            "{}: a disarmed timer fired",
            timer.kind()
        );
        drop(timer);
    }
}
