//! The simulated world (only with `--cfg solo_sim`): a virtual clock, named hosts, an
//! in-memory network with seeded latency, bandwidth, loss and reordering, partitions,
//! host crashes, a seeded random source and a hash of every event.
//!
//! Built with `RUSTFLAGS="--cfg solo_sim"`, solo-io swaps its OS-facing parts for these:
//!
//! - **Clock.** [`Reactor::now`](crate::reactor) reads a thread-local virtual clock that
//!   moves only when the loop has nothing to run: `park` then jumps it to the next timer
//!   deadline or network delivery, whichever is first. An hour of idle timeout passes in
//!   one step.
//! - **Network.** [`net::TcpListener`],
//!   [`net::TcpStream`] and [`net::UdpSocket`]
//!   are in-memory endpoints of this module's world, between the hosts added with
//!   [`add_host`]; a host name resolves to its address (`"server:80"`).
//! - **Refusals.** Registering a real descriptor with the reactor (`Async::new` of an OS
//!   socket or pipe, a Unix socket, a child process, a signal) fails with
//!   [`io::ErrorKind::Unsupported`] and a message that says why: nothing leaks to the OS
//!   unnoticed. Work for the blocking pool ([`unblock`](crate::unblock), hence `fs`) runs
//!   inline on the loop's thread, so a simulation stays on one thread and deterministic
//!   (files are the real file system: use them for fixtures, not for simulated state).
//!
//! A harness (the `solo-sim` crate's `Sim`) creates the world with [`install`], adds hosts,
//! runs each host's executor with [`set_current`] naming the host, and injects faults
//! ([`partition`], [`crash`]). Everything that happens — a clock jump, a delivery, a drop,
//! a fault, and each scheduling choice the harness reports with [`trace`] — is folded into
//! a 64-bit FNV-1a hash ([`trace_hash`]): the same seed gives the same hash.

pub(crate) mod net;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::task::Waker;
use std::time::{Duration, Instant};

/// A host of the simulated world (an index in the order of [`add_host`]).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct HostId(pub usize);

/// The network's behaviour. Latencies are drawn uniformly from `latency`; UDP datagrams
/// also get up to `udp_jitter` more (so later ones may overtake earlier ones: reordering)
/// and are lost with probability `udp_loss_ppm` per million. TCP keeps order and loses
/// nothing (a segment held by a partition is retransmitted every `tcp_rto` until the
/// partition heals).
#[derive(Clone, Debug, PartialEq)]
pub struct NetConfig {
    /// One-way latency range (inclusive).
    pub latency: (Duration, Duration),
    /// Bytes per second of each connection's direction and each UDP socket's sends
    /// (`None`: unlimited).
    pub bandwidth: Option<u64>,
    /// Extra random delay of a datagram, up to this (reordering).
    pub udp_jitter: Duration,
    /// Probability of losing a datagram, per million.
    pub udp_loss_ppm: u32,
    /// Datagrams a socket queues before dropping new ones.
    pub udp_queue: usize,
    /// Bytes a TCP sender may have in flight plus unread at the receiver (the window).
    pub tcp_window: usize,
    /// Retransmission interval of a segment held by a partition.
    pub tcp_rto: Duration,
    /// How long a connect waits for an answer (a SYN lost to a partition) before
    /// failing with `TimedOut`.
    pub connect_timeout: Duration,
}

impl Default for NetConfig {
    fn default() -> NetConfig {
        NetConfig {
            latency: (Duration::from_micros(100), Duration::from_millis(5)),
            bandwidth: Some(100_000_000),
            udp_jitter: Duration::from_millis(2),
            udp_loss_ppm: 10_000,
            udp_queue: 256,
            tcp_window: 64 * 1024,
            tcp_rto: Duration::from_millis(200),
            connect_timeout: Duration::from_secs(3),
        }
    }
}

/// Counters of the simulated network since [`install`].
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct NetStats {
    /// TCP connections established.
    pub tcp_connections: u64,
    /// TCP segments delivered (a segment is what one write produced).
    pub tcp_segments: u64,
    /// TCP payload bytes delivered.
    pub tcp_bytes: u64,
    /// TCP segments held back by a partition (each retransmission counts).
    pub tcp_held: u64,
    /// Connections reset (a segment reached a crashed host or a closed socket).
    pub tcp_resets: u64,
    /// Datagrams sent.
    pub udp_sent: u64,
    /// Datagrams delivered.
    pub udp_delivered: u64,
    /// Datagrams dropped (loss, partition, no socket, full queue).
    pub udp_dropped: u64,
}

/// splitmix64: a small, fast, well-mixed generator; its whole state is one word.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`), by multiply-shift (bias below 2^-32 for our `n`s).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    fn between(&mut self, lo: Duration, hi: Duration) -> Duration {
        if hi <= lo {
            return lo;
        }
        let span = (hi - lo).as_nanos().min(u128::from(u64::MAX)) as u64;
        lo + Duration::from_nanos(self.below(span.saturating_add(1)))
    }
}

/// Trace tags: the first word hashed for each kind of event.
pub(crate) mod tag {
    pub(crate) const JUMP: u64 = 1;
    pub(crate) const CONNECT: u64 = 2;
    pub(crate) const ACCEPTED: u64 = 3;
    pub(crate) const REFUSED: u64 = 4;
    pub(crate) const SEGMENT: u64 = 5;
    pub(crate) const HELD: u64 = 6;
    pub(crate) const RESET: u64 = 7;
    pub(crate) const FIN: u64 = 8;
    pub(crate) const UDP_SEND: u64 = 9;
    pub(crate) const UDP_DELIVER: u64 = 10;
    pub(crate) const UDP_DROP: u64 = 11;
    pub(crate) const FAULT: u64 = 12;
    pub(crate) const CONNECT_TIMEOUT: u64 = 13;
}

struct Host {
    name: String,
    ip: IpAddr,
    alive: bool,
    next_port: u16,
}

/// What a scheduled event does when its time comes.
pub(crate) enum Ev {
    /// Deliver the head of TCP end `.0`'s outgoing queue to its peer.
    Segment(u64),
    /// A SYN from client end `from` for `to`.
    Syn { from: u64, to: SocketAddr },
    /// The answer to a SYN: the server end, or the refusal.
    SynAck {
        end: u64,
        server: Result<u64, io::ErrorKind>,
    },
    /// A connect that got no answer in time.
    ConnectTimeout(u64),
    /// The peer reset the connection.
    Rst(u64),
    /// A datagram.
    Datagram {
        from: SocketAddr,
        to: SocketAddr,
        data: Vec<u8>,
    },
}

#[derive(Debug)]
pub(crate) enum Seg {
    Data(Vec<u8>),
    Fin,
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub(crate) enum Conn {
    Connecting,
    Open,
    Failed(io::ErrorKind),
}

/// The tasks waiting on one direction of a socket: several tasks may share a
/// `&TcpStream`; a task that polls again is not added twice.
#[derive(Default)]
pub(crate) struct Wakers(Vec<Waker>);

impl Wakers {
    pub(crate) fn register(&mut self, waker: &Waker) {
        if !self.0.iter().any(|w| w.will_wake(waker)) {
            self.0.push(waker.clone());
        }
    }

    pub(crate) fn take(&mut self) -> Vec<Waker> {
        std::mem::take(&mut self.0)
    }
}

/// One side of a TCP connection.
pub(crate) struct End {
    pub(crate) host: HostId,
    pub(crate) local: SocketAddr,
    pub(crate) peer: SocketAddr,
    /// The peer end's id (0 while connecting).
    pub(crate) peer_end: u64,
    pub(crate) state: Conn,
    pub(crate) rx: VecDeque<u8>,
    pub(crate) rx_eof: bool,
    pub(crate) reset: bool,
    /// Sent, not yet delivered: (arrival time, segment).
    pub(crate) out: VecDeque<(Duration, Seg)>,
    pub(crate) in_flight: usize,
    pub(crate) wr_closed: bool,
    pub(crate) link_free: Duration,
    pub(crate) nodelay: bool,
    /// The handle was dropped: the end lives on only until its queue drains.
    pub(crate) orphan: bool,
    pub(crate) read_waker: Wakers,
    pub(crate) write_waker: Wakers,
}

pub(crate) struct Listener {
    pub(crate) host: HostId,
    pub(crate) addr: SocketAddr,
    pub(crate) backlog: VecDeque<u64>,
    pub(crate) waker: Wakers,
}

pub(crate) struct Udp {
    pub(crate) host: HostId,
    pub(crate) addr: SocketAddr,
    pub(crate) peer: Option<SocketAddr>,
    pub(crate) queue: VecDeque<(Vec<u8>, SocketAddr)>,
    pub(crate) wakers: Vec<Waker>,
    pub(crate) link_free: Duration,
}

pub(crate) struct World {
    /// The virtual clock's reading when this world was installed.
    start: Duration,
    pub(crate) rng: Rng,
    hash: u64,
    events_traced: u64,
    hosts: Vec<Host>,
    current: Option<HostId>,
    pub(crate) config: NetConfig,
    partitions: BTreeSet<(HostId, HostId)>,
    queue: BTreeMap<(Duration, u64), Ev>,
    seq: u64,
    next_id: u64,
    pub(crate) ends: BTreeMap<u64, End>,
    pub(crate) listeners: BTreeMap<u64, Listener>,
    pub(crate) udp: BTreeMap<u64, Udp>,
    pub(crate) stats: NetStats,
    to_wake: Vec<Waker>,
    /// `SOLO_SIM_TRACE` is set: every traced event is printed to stderr.
    print_trace: bool,
}

thread_local! {
    static WORLD: RefCell<Option<World>> = const { RefCell::new(None) };
    /// Virtual time since the thread's first clock read; it never goes back, across
    /// worlds (the timer wheel needs a monotonic clock).
    static CLOCK: Cell<Duration> = const { Cell::new(Duration::ZERO) };
    static BASE: Instant = Instant::now();
}

/// The reactor's clock under simulation.
pub(crate) fn instant() -> Instant {
    BASE.with(|b| *b) + CLOCK.with(Cell::get)
}

fn clock() -> Duration {
    CLOCK.with(Cell::get)
}

fn to_clock(at: Instant) -> Duration {
    at.saturating_duration_since(BASE.with(|b| *b))
}

/// The error of registering a real source under simulation.
pub(crate) fn refused() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "solo-io simulation (--cfg solo_sim): a real OS source (descriptor, socket, pipe, \
         child process or signal) cannot be registered; only the simulated network \
         (solo_io::net) and timers run under simulation",
    )
}

fn no_world() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "solo-io simulation (--cfg solo_sim): no simulated world on this thread; \
         networking runs only inside a simulation (solo_sim::Sim)",
    )
}

/// Runs `f` on the world, then wakes what it collected with no borrow held.
pub(crate) fn with<R>(f: impl FnOnce(&mut World) -> R) -> io::Result<R> {
    let (r, wake) = WORLD.with(|w| {
        let mut w = w.borrow_mut();
        let w = w.as_mut().ok_or_else(no_world)?;
        let r = f(w);
        Ok::<_, io::Error>((r, std::mem::take(&mut w.to_wake)))
    })?;
    wake.into_iter().for_each(Waker::wake);
    Ok(r)
}

/// Like [`with`], but does nothing without a world (for destructors).
pub(crate) fn try_with(f: impl FnOnce(&mut World)) {
    if WORLD.try_with(|_| ()).is_ok() {
        let _ = with(f);
    }
}

/// Creates this thread's simulated world: `seed` drives every random choice of the
/// network (and of the harness through [`random`]).
///
/// # Panics
///
/// If a world is already installed on this thread.
pub fn install(seed: u64, config: NetConfig) {
    WORLD.with(|w| {
        let mut w = w.borrow_mut();
        assert!(
            w.is_none(),
            "solo-io simulation: a world is already installed on this thread"
        );
        *w = Some(World {
            start: clock(),
            rng: Rng(seed),
            hash: 0xcbf2_9ce4_8422_2325,
            events_traced: 0,
            hosts: Vec::new(),
            current: None,
            config,
            partitions: BTreeSet::new(),
            queue: BTreeMap::new(),
            seq: 0,
            next_id: 1,
            ends: BTreeMap::new(),
            listeners: BTreeMap::new(),
            udp: BTreeMap::new(),
            stats: NetStats::default(),
            to_wake: Vec::new(),
            print_trace: std::env::var_os("SOLO_SIM_TRACE").is_some(),
        });
    });
}

/// Removes this thread's world (its sockets' handles, if any are left, then fail). The
/// virtual clock keeps its reading.
pub fn uninstall() {
    let world = WORLD.with(|w| w.borrow_mut().take());
    drop(world);
}

/// Whether a world is installed on this thread.
pub fn is_installed() -> bool {
    WORLD.with(|w| w.borrow().is_some())
}

fn world<R>(f: impl FnOnce(&mut World) -> R) -> R {
    with(f).unwrap_or_else(|e| panic!("{e}"))
}

/// Adds a host named `name`; its address is `10.0.0.0` plus its index plus one.
///
/// # Panics
///
/// Without a world, or if the name is taken.
pub fn add_host(name: &str) -> HostId {
    world(|w| {
        assert!(
            w.hosts.iter().all(|h| h.name != name),
            "solo-io simulation: a host named {name:?} exists already"
        );
        let n = u32::try_from(w.hosts.len() + 1).expect("too many hosts");
        w.hosts.push(Host {
            name: name.to_string(),
            ip: IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n)),
            alive: true,
            next_port: 49152,
        });
        HostId(w.hosts.len() - 1)
    })
}

/// The address of `host`.
pub fn host_ip(host: HostId) -> IpAddr {
    world(|w| w.hosts[host.0].ip)
}

/// The name of `host`.
pub fn host_name(host: HostId) -> String {
    world(|w| w.hosts[host.0].name.clone())
}

/// Names the host whose code runs now (sockets made now belong to it); returns the previous.
pub fn set_current(host: Option<HostId>) -> Option<HostId> {
    world(|w| std::mem::replace(&mut w.current, host))
}

/// The host whose code runs now.
pub fn current() -> Option<HostId> {
    with(|w| w.current).ok().flatten()
}

/// Virtual time since this world was installed.
pub fn now() -> Duration {
    with(|w| clock() - w.start).unwrap_or_else(|_| clock())
}

/// A random word from the world's seeded generator (for the harness's choices).
pub fn random() -> u64 {
    world(|w| w.rng.next_u64())
}

/// Folds an event into the trace hash: a tag and some words. The harness reports its
/// scheduling choices here; the world reports its own events.
pub fn trace(tag: u64, words: &[u64]) {
    world(|w| w.trace(tag, words));
}

/// The trace hash so far, and how many events went into it.
pub fn trace_hash() -> (u64, u64) {
    world(|w| (w.hash, w.events_traced))
}

/// The network's counters.
pub fn stats() -> NetStats {
    world(|w| w.stats)
}

/// Replaces the network's behaviour from now on.
pub fn set_config(config: NetConfig) {
    world(|w| w.config = config);
}

/// The network's behaviour now.
pub fn config() -> NetConfig {
    world(|w| w.config.clone())
}

/// Cuts `a` off from `b` (both ways): TCP segments wait, SYNs and datagrams are lost.
pub fn partition(a: HostId, b: HostId) {
    world(|w| {
        w.trace(tag::FAULT, &[1, a.0 as u64, b.0 as u64]);
        w.partitions.insert(pair(a, b));
    });
}

/// Ends the partition between `a` and `b`.
pub fn heal(a: HostId, b: HostId) {
    world(|w| {
        w.trace(tag::FAULT, &[2, a.0 as u64, b.0 as u64]);
        w.partitions.remove(&pair(a, b));
    });
}

/// Crashes `host`'s network side: its listeners, connections and sockets vanish without a
/// word (a peer learns it when its next segment is answered by a reset). The harness drops
/// the host's tasks; [`restart`] brings the host back with no socket.
pub fn crash(host: HostId) {
    let removed = world(|w| {
        w.trace(tag::FAULT, &[3, host.0 as u64]);
        w.hosts[host.0].alive = false;
        let ends: Vec<u64> = w
            .ends
            .iter()
            .filter(|(_, e)| e.host == host)
            .map(|(k, _)| *k)
            .collect();
        let listeners: Vec<u64> = w
            .listeners
            .iter()
            .filter(|(_, l)| l.host == host)
            .map(|(k, _)| *k)
            .collect();
        let udp: Vec<u64> = w
            .udp
            .iter()
            .filter(|(_, u)| u.host == host)
            .map(|(k, _)| *k)
            .collect();
        // Dropped after the borrow ends: they hold wakers.
        let ends: Vec<End> = ends.iter().filter_map(|k| w.ends.remove(k)).collect();
        let listeners: Vec<Listener> = listeners
            .iter()
            .filter_map(|k| w.listeners.remove(k))
            .collect();
        let udp: Vec<Udp> = udp.iter().filter_map(|k| w.udp.remove(k)).collect();
        (ends, listeners, udp)
    });
    drop(removed);
}

/// Brings a crashed host back (with no socket; the harness starts its main again).
pub fn restart(host: HostId) {
    world(|w| {
        w.trace(tag::FAULT, &[4, host.0 as u64]);
        w.hosts[host.0].alive = true;
    });
}

/// Whether `host` is up.
pub fn is_alive(host: HostId) -> bool {
    world(|w| w.hosts[host.0].alive)
}

/// The virtual time (since [`install`]) of the next network event, if any.
pub fn next_delivery() -> Option<Duration> {
    with(|w| w.queue.keys().next().map(|(t, _)| *t - w.start))
        .ok()
        .flatten()
}

/// The virtual time (since [`install`]) of the next thing that can happen without a task
/// running: a network delivery or a timer.
pub fn next_wakeup() -> Option<Duration> {
    let timer = crate::reactor::Reactor::with(|r| r.next_timer()).map(to_clock);
    let net = with(|w| w.queue.keys().next().map(|(t, _)| *t))
        .ok()
        .flatten();
    let start = with(|w| w.start).unwrap_or(Duration::ZERO);
    match (timer, net) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
    .map(|t| t.max(clock()) - start)
}

fn pair(a: HostId, b: HostId) -> (HostId, HostId) {
    if a <= b { (a, b) } else { (b, a) }
}

/// The reactor's `park` under simulation: deliver what is due, fire due timers, and when
/// nothing woke and the caller may wait, jump the clock to the next event (bounded by
/// `timeout`) and do it again. Returns the tasks woken.
///
/// The wheel's next deadline may be a lower bound (the start of a slot to cascade), which
/// depends on where the clock stood when the world began; the clock passes such bounds
/// without a trace, so the trace shows only jumps to where something happened.
pub(crate) fn park(
    reactor: &crate::reactor::Reactor,
    timeout: Option<Duration>,
) -> io::Result<usize> {
    let mut woken = deliver_due() + reactor.fire_timers_sim(instant());
    if woken > 0 || timeout == Some(Duration::ZERO) {
        return Ok(woken);
    }
    let limit = timeout.map(|t| clock() + t);
    loop {
        let timer = reactor.next_timer().map(to_clock);
        let net = with(|w| w.queue.keys().next().map(|(t, _)| *t))
            .ok()
            .flatten();
        let next = match (timer, net) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let target = match (next, limit) {
            (Some(n), Some(l)) => n.min(l),
            (Some(t), None) | (None, Some(t)) => t,
            (None, None) => {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    "solo-io simulation: every task waits and no timer or delivery is \
                     pending: nothing can ever happen (a deadlock)",
                ));
            }
        };
        if target > clock() {
            CLOCK.with(|c| c.set(target));
        }
        woken += deliver_due() + reactor.fire_timers_sim(instant());
        if woken > 0 || Some(target) == limit || Some(target) == net {
            let _ = with(|w| {
                let t = w.rel(clock());
                w.trace(tag::JUMP, &[t]);
            });
            return Ok(woken);
        }
    }
}

/// Handles every network event due by now; returns how many wakers it woke.
pub(crate) fn deliver_due() -> usize {
    let mut woken = 0;
    loop {
        let r = with(|w| {
            let now = clock();
            let key = match w.queue.keys().next() {
                Some(k) if k.0 <= now => *k,
                _ => return None,
            };
            let ev = w.queue.remove(&key).expect("the key was just read");
            w.handle(ev);
            Some(w.to_wake.len())
        });
        match r {
            Ok(Some(n)) => woken += n,
            _ => return woken,
        }
    }
}

impl World {
    pub(crate) fn trace(&mut self, tag: u64, words: &[u64]) {
        self.events_traced += 1;
        if self.print_trace {
            eprintln!("solo-sim trace {}: {tag} {words:?}", self.events_traced);
        }
        for word in std::iter::once(tag).chain(words.iter().copied()) {
            for byte in word.to_le_bytes() {
                self.hash ^= u64::from(byte);
                self.hash = self.hash.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
    }

    fn rel(&self, at: Duration) -> u64 {
        (at.saturating_sub(self.start)).as_nanos() as u64
    }

    pub(crate) fn schedule(&mut self, at: Duration, ev: Ev) {
        self.seq += 1;
        self.queue.insert((at, self.seq), ev);
    }

    pub(crate) fn fresh_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub(crate) fn latency(&mut self) -> Duration {
        let (lo, hi) = self.config.latency;
        self.rng.between(lo, hi)
    }

    /// When `len` bytes sent now over a link free from `link_free` are all out.
    pub(crate) fn serialize(&self, link_free: &mut Duration, len: usize) -> Duration {
        let start = (*link_free).max(clock());
        let tx = match self.config.bandwidth {
            Some(bps) if bps > 0 => {
                Duration::from_nanos((len as u64).saturating_mul(1_000_000_000) / bps)
            }
            _ => Duration::ZERO,
        };
        *link_free = start + tx;
        start + tx
    }

    pub(crate) fn current_host(&self) -> io::Result<HostId> {
        self.current.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::Unsupported,
                "solo-io simulation: a socket was used outside any simulated host",
            )
        })
    }

    pub(crate) fn host_ip_of(&self, host: HostId) -> IpAddr {
        self.hosts[host.0].ip
    }

    pub(crate) fn host_of_ip(&self, ip: IpAddr) -> Option<HostId> {
        self.hosts.iter().position(|h| h.ip == ip).map(HostId)
    }

    pub(crate) fn alive(&self, host: HostId) -> bool {
        self.hosts[host.0].alive
    }

    pub(crate) fn partitioned(&self, a: HostId, b: HostId) -> bool {
        self.partitions.contains(&pair(a, b))
    }

    /// A free port of `host`.
    pub(crate) fn ephemeral_port(&mut self, host: HostId) -> u16 {
        loop {
            let h = &mut self.hosts[host.0];
            let port = h.next_port;
            h.next_port = if port == u16::MAX { 49152 } else { port + 1 };
            let ip = h.ip;
            let addr = SocketAddr::new(ip, port);
            if !self.port_taken(addr, true) {
                return port;
            }
        }
    }

    pub(crate) fn port_taken(&self, addr: SocketAddr, tcp: bool) -> bool {
        if tcp {
            self.listeners.values().any(|l| l.addr == addr)
                || self.ends.values().any(|e| e.local == addr && !e.orphan)
        } else {
            self.udp.values().any(|u| u.addr == addr)
        }
    }

    /// Resolves `host:port` against the world's host names (`localhost`: the current host).
    pub(crate) fn resolve(&self, name: &str, port: u16) -> io::Result<SocketAddr> {
        if name == "localhost" {
            let host = self.current_host()?;
            return Ok(SocketAddr::new(self.host_ip_of(host), port));
        }
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .map(|h| SocketAddr::new(h.ip, port))
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("solo-io simulation: no host named {name:?}"),
                )
            })
    }

    /// Maps a loopback or unspecified address to `host`'s address.
    pub(crate) fn localise(&self, host: HostId, addr: SocketAddr) -> SocketAddr {
        if addr.ip().is_loopback() || addr.ip().is_unspecified() {
            SocketAddr::new(self.host_ip_of(host), addr.port())
        } else {
            addr
        }
    }

    pub(crate) fn wake(&mut self, wakers: impl IntoIterator<Item = Waker>) {
        self.to_wake.extend(wakers);
    }

    /// Schedules the delivery of `end`'s queue head, if any.
    pub(crate) fn schedule_head(&mut self, end: u64) {
        let at = self
            .ends
            .get(&end)
            .and_then(|e| e.out.front().map(|(t, _)| *t));
        if let Some(at) = at {
            let at = at.max(clock());
            self.schedule(at, Ev::Segment(end));
        }
    }

    /// Queues `seg` on `end` (its only delivery event is scheduled when the queue was empty).
    pub(crate) fn send_segment(&mut self, end: u64, seg: Seg) {
        let latency = self.latency();
        let len = match &seg {
            Seg::Data(d) => d.len(),
            Seg::Fin => 0,
        };
        let mut link_free = self.ends[&end].link_free;
        let out = self.serialize(&mut link_free, len);
        let e = self.ends.get_mut(&end).expect("a live end");
        e.link_free = link_free;
        let arrival = (out + latency).max(e.out.back().map_or(Duration::ZERO, |(t, _)| *t));
        e.in_flight += len;
        let was_empty = e.out.is_empty();
        e.out.push_back((arrival, seg));
        if was_empty {
            self.schedule_head(end);
        }
    }

    fn reset_peer_of(&mut self, sender: u64) {
        let latency = self.latency();
        self.schedule(clock() + latency, Ev::Rst(sender));
    }

    /// Removes an orphaned end once nothing of it is left to deliver.
    pub(crate) fn collect(&mut self, end: u64) {
        if self
            .ends
            .get(&end)
            .is_some_and(|e| e.orphan && e.out.is_empty())
        {
            if let Some(mut e) = self.ends.remove(&end) {
                self.wake(e.read_waker.take());
                self.wake(e.write_waker.take());
            }
        }
    }

    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::Segment(id) => self.deliver_segment(id),
            Ev::Syn { from, to } => self.syn(from, to),
            Ev::SynAck { end, server } => {
                let Some(e) = self.ends.get_mut(&end) else {
                    // The connecting side is gone: the server end gets a reset.
                    if let Ok(server) = server {
                        self.schedule(clock(), Ev::Rst(server));
                    }
                    return;
                };
                if e.state != Conn::Connecting {
                    return;
                }
                match server {
                    Ok(server) => {
                        e.state = Conn::Open;
                        e.peer_end = server;
                        self.stats.tcp_connections += 1;
                    }
                    Err(kind) => e.state = Conn::Failed(kind),
                }
                let w = e.write_waker.take();
                self.wake(w);
            }
            Ev::ConnectTimeout(end) => {
                if let Some(e) = self.ends.get_mut(&end) {
                    if e.state == Conn::Connecting {
                        e.state = Conn::Failed(io::ErrorKind::TimedOut);
                        let w = e.write_waker.take();
                        let t = self.rel(clock());
                        self.trace(tag::CONNECT_TIMEOUT, &[end, t]);
                        self.wake(w);
                    }
                }
            }
            Ev::Rst(end) => {
                let t = self.rel(clock());
                self.trace(tag::RESET, &[end, t]);
                if let Some(e) = self.ends.get_mut(&end) {
                    self.stats.tcp_resets += 1;
                    e.reset = true;
                    e.out.clear();
                    e.in_flight = 0;
                    let (r, w) = (e.read_waker.take(), e.write_waker.take());
                    self.wake(r);
                    self.wake(w);
                    self.collect(end);
                }
            }
            Ev::Datagram { from, to, data } => self.deliver_datagram(from, to, data),
        }
    }

    fn syn(&mut self, from: u64, to: SocketAddr) {
        let Some(client) = self.ends.get(&from) else {
            return;
        };
        let (client_host, client_addr) = (client.host, client.local);
        let latency = self.latency();
        let t = self.rel(clock());
        let target = self.host_of_ip(to.ip());
        if target.is_some_and(|h| self.partitioned(client_host, h)) {
            // Lost: the connect times out unless it is answered otherwise.
            self.trace(tag::HELD, &[from, t]);
            return;
        }
        let listener = target.filter(|h| self.alive(*h)).and_then(|_| {
            self.listeners
                .iter()
                .find(|(_, l)| l.addr == to)
                .map(|(k, _)| *k)
        });
        let Some(lid) = listener else {
            self.trace(tag::REFUSED, &[from, t]);
            self.schedule(
                clock() + latency,
                Ev::SynAck {
                    end: from,
                    server: Err(io::ErrorKind::ConnectionRefused),
                },
            );
            return;
        };
        let host = self.listeners[&lid].host;
        let server = self.fresh_id();
        self.ends
            .insert(server, End::new(host, to, client_addr, from, Conn::Open));
        let l = self.listeners.get_mut(&lid).expect("found above");
        l.backlog.push_back(server);
        let w = l.waker.take();
        self.wake(w);
        self.trace(tag::ACCEPTED, &[from, server, t]);
        self.schedule(
            clock() + latency,
            Ev::SynAck {
                end: from,
                server: Ok(server),
            },
        );
    }

    fn deliver_segment(&mut self, id: u64) {
        let Some(sender) = self.ends.get(&id) else {
            return;
        };
        let (sender_host, peer_end) = (sender.host, sender.peer_end);
        if sender.out.is_empty() {
            return;
        }
        let t = self.rel(clock());
        let receiver_host = self.ends.get(&peer_end).map(|e| e.host);
        if receiver_host.is_some_and(|h| self.partitioned(sender_host, h)) {
            self.stats.tcp_held += 1;
            self.trace(tag::HELD, &[id, t]);
            let rto = self.config.tcp_rto;
            let e = self.ends.get_mut(&id).expect("checked");
            if let Some(head) = e.out.front_mut() {
                head.0 = clock() + rto;
            }
            self.schedule_head(id);
            return;
        }
        let e = self.ends.get_mut(&id).expect("checked");
        let (_, seg) = e.out.pop_front().expect("checked");
        let len = match &seg {
            Seg::Data(d) => d.len(),
            Seg::Fin => 0,
        };
        e.in_flight -= len;
        match self.ends.get_mut(&peer_end).filter(|r| !r.reset) {
            None => {
                // A crashed host or a closed socket answers with a reset.
                self.reset_peer_of(id);
                let e = self.ends.get_mut(&id).expect("checked");
                e.out.clear();
                e.in_flight = 0;
            }
            Some(r) => {
                match seg {
                    Seg::Data(data) => {
                        r.rx.extend(data.iter());
                        self.stats.tcp_segments += 1;
                        self.stats.tcp_bytes += len as u64;
                        self.trace(tag::SEGMENT, &[id, len as u64, t]);
                    }
                    Seg::Fin => {
                        r.rx_eof = true;
                        self.trace(tag::FIN, &[id, t]);
                    }
                }
                let r = self.ends.get_mut(&peer_end).expect("checked");
                let w = r.read_waker.take();
                self.wake(w);
                self.schedule_head(id);
            }
        }
        self.collect(id);
    }

    fn deliver_datagram(&mut self, from: SocketAddr, to: SocketAddr, data: Vec<u8>) {
        let t = self.rel(clock());
        let len = data.len() as u64;
        let limit = self.config.udp_queue;
        let target = self
            .udp
            .iter_mut()
            .find(|(_, u)| u.addr == to)
            .map(|(k, _)| *k);
        let Some(id) = target else {
            self.stats.udp_dropped += 1;
            self.trace(tag::UDP_DROP, &[2, len, t]);
            return;
        };
        let u = self.udp.get_mut(&id).expect("found");
        if u.queue.len() >= limit || u.peer.is_some_and(|p| p != from) {
            self.stats.udp_dropped += 1;
            self.trace(tag::UDP_DROP, &[3, len, t]);
            return;
        }
        u.queue.push_back((data, from));
        let wakers = std::mem::take(&mut u.wakers);
        self.to_wake.extend(wakers);
        self.stats.udp_delivered += 1;
        self.trace(tag::UDP_DELIVER, &[id, len, t]);
    }

    /// Sends a datagram from socket `id` (loss, partition and jitter applied).
    pub(crate) fn send_datagram(&mut self, id: u64, to: SocketAddr, data: &[u8]) {
        let (host, from) = {
            let u = &self.udp[&id];
            (u.host, u.addr)
        };
        let to = self.localise(host, to);
        let t = self.rel(clock());
        self.stats.udp_sent += 1;
        self.trace(tag::UDP_SEND, &[id, data.len() as u64, t]);
        let mut link_free = self.udp[&id].link_free;
        let out = self.serialize(&mut link_free, data.len());
        self.udp.get_mut(&id).expect("live").link_free = link_free;
        let lost = self.rng.below(1_000_000) < u64::from(self.config.udp_loss_ppm);
        let cut = self
            .host_of_ip(to.ip())
            .is_some_and(|h| self.partitioned(host, h));
        if lost || cut {
            self.stats.udp_dropped += 1;
            self.trace(tag::UDP_DROP, &[u64::from(cut), data.len() as u64, t]);
            return;
        }
        let jitter = self.config.udp_jitter;
        let delay = self.latency() + self.rng.between(Duration::ZERO, jitter);
        self.schedule(
            out + delay,
            Ev::Datagram {
                from,
                to,
                data: data.to_vec(),
            },
        );
    }

    /// Starts a connection from the current host to `to`; returns the client end.
    pub(crate) fn connect(&mut self, to: SocketAddr) -> io::Result<u64> {
        let host = self.current_host()?;
        let to = self.localise(host, to);
        let port = self.ephemeral_port(host);
        let local = SocketAddr::new(self.host_ip_of(host), port);
        let id = self.fresh_id();
        self.ends
            .insert(id, End::new(host, local, to, 0, Conn::Connecting));
        let t = self.rel(clock());
        self.trace(tag::CONNECT, &[id, host.0 as u64, u64::from(to.port()), t]);
        let latency = self.latency();
        let cut = self
            .host_of_ip(to.ip())
            .is_some_and(|h| self.partitioned(host, h));
        if !cut {
            self.schedule(clock() + latency, Ev::Syn { from: id, to });
        }
        let timeout = self.config.connect_timeout;
        self.schedule(clock() + timeout, Ev::ConnectTimeout(id));
        Ok(id)
    }
}

impl End {
    fn new(host: HostId, local: SocketAddr, peer: SocketAddr, peer_end: u64, state: Conn) -> End {
        End {
            host,
            local,
            peer,
            peer_end,
            state,
            rx: VecDeque::new(),
            rx_eof: false,
            reset: false,
            out: VecDeque::new(),
            in_flight: 0,
            wr_closed: false,
            link_free: Duration::ZERO,
            nodelay: false,
            orphan: false,
            read_waker: Wakers::default(),
            write_waker: Wakers::default(),
        }
    }
}

impl fmt::Debug for World {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("World")
            .field("hosts", &self.hosts.len())
            .finish_non_exhaustive()
    }
}
