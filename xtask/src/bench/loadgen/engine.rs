//! The load generator's event loops: open connections, keep them busy for a window, or
//! hold them idle and fire one wave of requests.
//!
//! Cheap by construction, so that the server and not the generator is the bottleneck:
//! one epoll registration per socket for its whole life (edge-triggered, read and write),
//! one shared read buffer, a read shorter than the buffer ends the read loop (no extra
//! `read` to see `EAGAIN`), one `write` per batch, and a clock read per round trip only.

use std::collections::VecDeque;
use std::io;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use super::http::ResponseParser;
use super::net::{Epoll, READ, Socket, WRITE, is_readable, is_writable, source_addr};
use super::{ConnectReport, Target, WaveReport, Window, WindowReport};
use crate::bench::sysinfo::{cpu_busy_seconds, process_cpu_seconds};
use crate::sys::own_cpu_time;

/// What a connection expects back for what it sends.
#[derive(Debug, Clone, Copy)]
pub enum Proto {
    /// The message holds `depth` requests; a round is `depth` responses.
    Http {
        /// Requests per batch.
        depth: usize,
    },
    /// The message is `size` bytes; a round is those bytes coming back.
    Echo {
        /// Message size.
        size: usize,
    },
}

impl Proto {
    /// What `outstanding` starts at when a round is sent.
    fn round(self) -> usize {
        match self {
            Proto::Http { depth } => depth,
            Proto::Echo { size } => size,
        }
    }
}

struct Conn {
    sock: Socket,
    /// Bytes of a response that has not fully arrived.
    pending: Vec<u8>,
    /// Recognises repeated responses cheaply.
    parser: ResponseParser,
    /// Responses (http) or bytes (echo) still expected this round; 0 = idle.
    outstanding: usize,
    /// When this round was sent.
    sent_at: Instant,
    /// Bytes of the message not yet written.
    unsent: usize,
}

impl Conn {
    fn new(sock: Socket) -> Conn {
        Conn {
            sock,
            pending: Vec::new(),
            parser: ResponseParser::default(),
            outstanding: 0,
            sent_at: Instant::now(),
            unsent: 0,
        }
    }
}

#[derive(Default)]
struct Errors {
    count: u64,
    first: Option<String>,
}

impl Errors {
    fn note(&mut self, e: String) {
        self.count += 1;
        self.first.get_or_insert(e);
    }
}

const READ_BUF: usize = 64 * 1024;

/// Opens `t.conns` connections, at most `t.max_connecting` in flight, each registered
/// with `ep` (read and write, edge-triggered) under its index as token. A connection that
/// failed is `None` (and counted in the report).
pub(super) fn connect_all(
    ep: &mut Epoll,
    t: &Target,
) -> io::Result<(Vec<Option<Socket>>, ConnectReport)> {
    const CONNECTING: u8 = 1;
    const DONE: u8 = 2;
    let started = Instant::now();
    let timeout = Duration::from_millis(t.connect_timeout_ms);
    let mut conns: Vec<Option<Socket>> = (0..t.conns).map(|_| None).collect();
    let mut state = vec![0u8; t.conns];
    let mut queue: VecDeque<(usize, Instant)> = VecDeque::new();
    let mut report = ConnectReport {
        requested: t.conns,
        ..ConnectReport::default()
    };
    let fail = |report: &mut ConnectReport, e: String| {
        report.failed += 1;
        report.first_error.get_or_insert(e);
    };
    let (mut next, mut in_flight) = (0, 0);
    while next < t.conns || in_flight > 0 {
        while in_flight < t.max_connecting.max(1) && next < t.conns {
            let i = next;
            next += 1;
            let source = source_addr(t.first_index + i, t.per_source);
            match Socket::connect(source, t.addr) {
                Ok(sock) => {
                    ep.add(sock.as_raw_fd(), i as u64, READ | WRITE)?;
                    conns[i] = Some(sock);
                    state[i] = CONNECTING;
                    queue.push_back((i, Instant::now()));
                    in_flight += 1;
                }
                Err(e) => {
                    state[i] = DONE;
                    fail(&mut report, format!("connect from {source}: {e}"));
                }
            }
        }
        let now = Instant::now();
        let wait = queue
            .front()
            .map_or(Duration::ZERO, |&(_, t0)| {
                (t0 + timeout).saturating_duration_since(now)
            })
            .min(Duration::from_millis(100));
        let n = ep.wait(wait)?;
        for k in 0..n {
            let (token, events) = ep.event(k);
            let i = token as usize;
            if state[i] != CONNECTING || !(is_writable(events) || is_readable(events)) {
                continue;
            }
            state[i] = DONE;
            in_flight -= 1;
            let sock = conns[i].as_ref().expect("connecting sockets are kept");
            match sock.take_error() {
                Ok(None) => report.connected += 1,
                Ok(Some(e)) | Err(e) => {
                    conns[i] = None;
                    fail(&mut report, format!("connect: {e}"));
                }
            }
        }
        let now = Instant::now();
        while let Some(&(i, t0)) = queue.front() {
            if state[i] != CONNECTING {
                queue.pop_front();
            } else if now.duration_since(t0) >= timeout {
                queue.pop_front();
                state[i] = DONE;
                in_flight -= 1;
                conns[i] = None;
                fail(
                    &mut report,
                    format!("connect timed out after {} ms", t.connect_timeout_ms),
                );
            } else {
                break;
            }
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok((conns, report))
}

/// Starts a round on `conn`: writes as much of `msg` as the socket takes.
fn send(conn: &mut Conn, msg: &[u8], proto: Proto) -> Result<(), String> {
    conn.sent_at = Instant::now();
    conn.outstanding = proto.round();
    conn.unsent = msg.len();
    flush(conn, msg)
}

/// Writes the rest of the current message, if any.
fn flush(conn: &mut Conn, msg: &[u8]) -> Result<(), String> {
    while conn.unsent > 0 {
        match conn.sock.write(&msg[msg.len() - conn.unsent..]) {
            Ok(n) => conn.unsent -= n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("write: {e}")),
        }
    }
    Ok(())
}

/// Takes in freshly read bytes; returns how many units (responses, or 1 for a whole echo)
/// completed.
fn consume(conn: &mut Conn, data: &[u8], proto: Proto) -> Result<u64, String> {
    match proto {
        Proto::Echo { .. } => {
            if data.len() > conn.outstanding {
                return Err("the server sent more bytes than were sent to it".into());
            }
            conn.outstanding -= data.len();
            Ok(u64::from(conn.outstanding == 0))
        }
        Proto::Http { .. } => {
            let buffered = !conn.pending.is_empty();
            if buffered {
                conn.pending.extend_from_slice(data);
            }
            let src = if buffered { &conn.pending[..] } else { data };
            let (mut at, mut units) = (0, 0);
            while let Some(r) = conn.parser.next(&src[at..])? {
                if !(200..300).contains(&r.status) {
                    return Err(format!("the server answered {}", r.status));
                }
                if conn.outstanding == 0 {
                    return Err("a response nobody asked for".into());
                }
                conn.outstanding -= 1;
                at += r.len;
                units += 1;
            }
            if buffered {
                conn.pending.drain(..at);
            } else {
                conn.pending.extend_from_slice(&data[at..]);
            }
            Ok(units)
        }
    }
}

/// Reads what a readable socket has; returns completed units and whether the round is done.
fn on_readable(conn: &mut Conn, buf: &mut [u8], proto: Proto) -> Result<(u64, bool), String> {
    let mut units = 0;
    loop {
        match conn.sock.read(buf) {
            Ok(0) => return Err("the server closed the connection".into()),
            Ok(n) => {
                units += consume(conn, &buf[..n], proto)?;
                if n < buf.len() {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("read: {e}")),
        }
    }
    Ok((units, conn.outstanding == 0 && units > 0))
}

/// CPU readings at the start of a measurement window: the server's CPU time, how busy
/// the server's CPUs and the load generator's own CPU were, and this process's CPU time.
pub(super) struct CpuWindow {
    server: Option<f64>,
    server_busy: Option<f64>,
    own_cpu: Option<usize>,
    own_busy: Option<f64>,
    own: Duration,
}

/// Busy seconds of all of `cpus` together (`None` if there are none or one is unreadable).
fn cpus_busy_seconds(cpus: &[usize]) -> Option<f64> {
    if cpus.is_empty() {
        return None;
    }
    cpus.iter().map(|&c| cpu_busy_seconds(c)).sum()
}

impl CpuWindow {
    /// Reads everything now, at the start of the window.
    pub(super) fn start(t: &Target) -> CpuWindow {
        // This process is pinned, so the CPU it runs on now is the one it runs on throughout.
        let own_cpu = crate::sys::current_cpu();
        CpuWindow {
            server: t.server_pid.and_then(process_cpu_seconds),
            server_busy: cpus_busy_seconds(&t.server_cpu),
            own_cpu,
            own_busy: own_cpu.and_then(cpu_busy_seconds),
            own: own_cpu_time(),
        }
    }

    /// Reads everything again, at the end of the window, and fills in the CPU figures of
    /// `report` (all but `window_s`).
    pub(super) fn finish(self, t: &Target, report: &mut WindowReport) {
        report.loadgen_cpu_s = (own_cpu_time() - self.own).as_secs_f64();
        let server = t.server_pid.and_then(process_cpu_seconds);
        report.server_cpu_s = self.server.zip(server).map(|(a, b)| b - a);
        let busy = cpus_busy_seconds(&t.server_cpu);
        report.server_cpu_busy_s = self.server_busy.zip(busy).map(|(a, b)| b - a);
        let own_busy = self.own_cpu.and_then(cpu_busy_seconds);
        report.loadgen_cpu_busy_s = self.own_busy.zip(own_busy).map(|(a, b)| b - a);
    }
}

/// Runs an `http` or `echo` workload: connect, warm up, measure, report.
pub fn run_window(t: &Target, w: Window, proto: Proto, msg: &[u8]) -> io::Result<WindowReport> {
    let mut ep = Epoll::new(1024)?;
    let (socks, connect) = connect_all(&mut ep, t)?;
    let mut conns: Vec<Option<Conn>> = socks.into_iter().map(|s| s.map(Conn::new)).collect();
    let mut report = WindowReport {
        connect,
        ..WindowReport::default()
    };
    let mut errors = Errors::default();
    let mut alive = report.connect.connected;
    for slot in conns.iter_mut() {
        if let Some(conn) = slot {
            if let Err(e) = send(conn, msg, proto) {
                errors.note(e);
                *slot = None;
                alive -= 1;
            }
        }
    }
    let mut buf = vec![0u8; READ_BUF];
    let begin = Instant::now();
    let start = begin + Duration::from_millis(w.warmup_ms);
    let mut end = start + Duration::from_millis(w.duration_ms);
    let mut cpu: Option<CpuWindow> = None;
    let mut started_at = start;
    let mut now = begin;
    while alive > 0 {
        if cpu.is_none() && now >= start {
            cpu = Some(CpuWindow::start(t));
            started_at = now;
            // The window is never shorter than asked, however late the loop noticed.
            end = now + Duration::from_millis(w.duration_ms);
        }
        if now >= end {
            break;
        }
        let measuring = cpu.is_some();
        let n = ep.wait(if measuring { end - now } else { start - now })?;
        now = Instant::now();
        for k in 0..n {
            let (token, events) = ep.event(k);
            let slot = &mut conns[token as usize];
            let Some(conn) = slot.as_mut() else { continue };
            let mut result = Ok(());
            if is_writable(events) && conn.unsent > 0 {
                result = flush(conn, msg);
            }
            if result.is_ok() && is_readable(events) {
                result = on_readable(conn, &mut buf, proto).and_then(|(units, done)| {
                    if measuring {
                        report.completed += units;
                    }
                    if done {
                        if measuring {
                            report.latency.record(conn.sent_at.elapsed());
                        }
                        send(conn, msg, proto)?;
                    }
                    Ok(())
                });
            }
            if let Err(e) = result {
                errors.note(e);
                *slot = None;
                alive -= 1;
            }
        }
    }
    if let Some(cpu) = cpu {
        report.window_s = now.duration_since(started_at).as_secs_f64();
        cpu.finish(t, &mut report);
    }
    if alive == 0 && report.connect.connected > 0 {
        errors.note("every connection was lost".into());
    }
    report.errors = errors.count;
    report.first_error = errors.first.or_else(|| report.connect.first_error.clone());
    Ok(report)
}

/// Idle connections held open, waiting for a wave.
pub struct Idle {
    ep: Epoll,
    conns: Vec<Option<Conn>>,
    report: ConnectReport,
}

impl Idle {
    /// Opens the connections.
    pub fn connect(t: &Target) -> io::Result<Idle> {
        let mut ep = Epoll::new(1024)?;
        let (socks, report) = connect_all(&mut ep, t)?;
        let conns = socks.into_iter().map(|s| s.map(Conn::new)).collect();
        Ok(Idle { ep, conns, report })
    }

    /// How opening them went.
    pub fn connect_report(&self) -> &ConnectReport {
        &self.report
    }

    /// Sends `request` once on every open connection (64 at a time, taking in answers in
    /// between) and waits for every answer, at most `timeout`.
    pub fn wave(&mut self, request: &[u8], timeout: Duration) -> io::Result<WaveReport> {
        const BATCH: usize = 64;
        let proto = Proto::Http { depth: 1 };
        let mut report = WaveReport::default();
        let mut buf = vec![0u8; READ_BUF];
        let fail = |report: &mut WaveReport, e: String| {
            report.failed += 1;
            report.first_error.get_or_insert(e);
        };
        let start = Instant::now();
        let deadline = start + timeout;
        let mut last_answer = start;
        let (mut next, mut waiting) = (0, 0usize);
        let total = self.conns.len();
        loop {
            if next < total {
                for slot in &mut self.conns[next..(next + BATCH).min(total)] {
                    let Some(conn) = slot.as_mut() else { continue };
                    report.sent += 1;
                    match send(conn, request, proto) {
                        Ok(()) => waiting += 1,
                        Err(e) => {
                            *slot = None;
                            fail(&mut report, e);
                        }
                    }
                }
                next = (next + BATCH).min(total);
            } else if waiting == 0 || Instant::now() >= deadline {
                break;
            }
            let wait = if next < total {
                Duration::ZERO
            } else {
                deadline.saturating_duration_since(Instant::now())
            };
            let n = self.ep.wait(wait)?;
            for k in 0..n {
                let (token, events) = self.ep.event(k);
                let slot = &mut self.conns[token as usize];
                let Some(conn) = slot.as_mut() else { continue };
                let was_waiting = conn.outstanding > 0;
                let mut result = Ok(false);
                if is_writable(events) && conn.unsent > 0 {
                    result = flush(conn, request).map(|()| false);
                }
                if result.is_ok() && is_readable(events) {
                    result = on_readable(conn, &mut buf, proto).map(|(_, done)| done);
                }
                match result {
                    Ok(true) => {
                        last_answer = Instant::now();
                        report.latency.record(last_answer - conn.sent_at);
                        report.answered += 1;
                        waiting -= 1;
                    }
                    Ok(false) => {}
                    Err(e) => {
                        *slot = None;
                        if was_waiting {
                            waiting -= 1;
                            fail(&mut report, e);
                        } else if token as usize >= next {
                            // Lost before its turn: count it as failed now, it will be
                            // skipped when its turn comes.
                            report.sent += 1;
                            fail(&mut report, format!("before the wave: {e}"));
                        }
                    }
                }
            }
        }
        if waiting > 0 {
            report.failed += waiting;
            report.first_error.get_or_insert(format!(
                "{waiting} requests unanswered after {:.1} s",
                timeout.as_secs_f64()
            ));
        }
        report.seconds = last_answer.duration_since(start).as_secs_f64();
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{SocketAddr, SocketAddrV4, TcpListener};

    const HELLO: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!";

    /// A blocking test server on a thread per connection: answers every complete request
    /// (echo: every byte) and serves exactly `conns` connections.
    fn serve(conns: usize, echo: bool) -> SocketAddrV4 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let SocketAddr::V4(addr) = listener.local_addr().unwrap() else {
            unreachable!()
        };
        std::thread::spawn(move || {
            for _ in 0..conns {
                let Ok((mut s, _)) = listener.accept() else {
                    return;
                };
                std::thread::spawn(move || {
                    let (mut buf, mut pending) = ([0u8; 4096], Vec::new());
                    while let Ok(n) = s.read(&mut buf) {
                        if n == 0 {
                            return;
                        }
                        if echo {
                            let _ = s.write_all(&buf[..n]);
                            continue;
                        }
                        pending.extend_from_slice(&buf[..n]);
                        let mut out = Vec::new();
                        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                            pending.drain(..end + 4);
                            out.extend_from_slice(HELLO);
                        }
                        if s.write_all(&out).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        addr
    }

    fn target(addr: SocketAddrV4, conns: usize) -> Target {
        Target {
            addr,
            conns,
            first_index: 0,
            per_source: 3,
            max_connecting: 2,
            connect_timeout_ms: 10_000,
            server_pid: Some(std::process::id()),
            server_cpu: vec![0],
        }
    }

    #[test]
    fn http_window_counts_pipelined_responses() {
        let addr = serve(4, false);
        let msg = super::super::http::request("/plaintext", "x").repeat(8);
        let window = Window {
            warmup_ms: 20,
            duration_ms: 200,
        };
        let r = run_window(&target(addr, 4), window, Proto::Http { depth: 8 }, &msg).unwrap();
        assert_eq!((r.connect.connected, r.connect.failed), (4, 0));
        assert!(r.completed >= 8, "{r:?}");
        assert!(r.latency.count() >= 1);
        assert!(r.window_s >= 0.2);
        assert!(r.server_cpu_s.is_some() && r.server_cpu_busy_s.is_some());
        assert_eq!(r.errors, 0, "{:?}", r.first_error);
    }

    #[test]
    fn echo_window_counts_whole_messages() {
        let addr = serve(2, true);
        let msg = vec![b'x'; 5000];
        let window = Window {
            warmup_ms: 0,
            duration_ms: 150,
        };
        let r = run_window(&target(addr, 2), window, Proto::Echo { size: 5000 }, &msg).unwrap();
        assert!(
            r.completed >= 1 && r.latency.count() == r.completed,
            "{r:?}"
        );
        assert_eq!(r.errors, 0, "{:?}", r.first_error);
    }

    #[test]
    fn a_refused_target_reports_every_connect_as_failed() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, port);
        let window = Window {
            warmup_ms: 0,
            duration_ms: 10,
        };
        let r = run_window(&target(addr, 3), window, Proto::Echo { size: 1 }, b"x").unwrap();
        assert_eq!((r.connect.connected, r.connect.failed), (0, 3));
        assert!(r.first_error.unwrap().contains("refused"));
        assert_eq!(r.completed, 0);
    }

    #[test]
    fn idle_connections_answer_a_wave_from_several_sources() {
        let addr = serve(10, false);
        let mut idle = Idle::connect(&target(addr, 10)).unwrap();
        assert_eq!(idle.connect_report().connected, 10);
        let req = super::super::http::request("/plaintext", "x");
        let wave = idle.wave(&req, Duration::from_secs(30)).unwrap();
        assert_eq!(
            (wave.sent, wave.answered, wave.failed),
            (10, 10, 0),
            "{:?}",
            wave.first_error
        );
        assert_eq!(wave.latency.count(), 10);
        // The connections stay open for another wave.
        let again = idle.wave(&req, Duration::from_secs(30)).unwrap();
        assert_eq!(again.answered, 10);
    }

    #[test]
    fn a_server_that_closes_turns_the_wave_into_failures() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let SocketAddr::V4(addr) = listener.local_addr().unwrap() else {
            unreachable!()
        };
        let closer = std::thread::spawn(move || {
            for _ in 0..3 {
                drop(listener.accept().unwrap());
            }
        });
        let mut idle = Idle::connect(&target(addr, 3)).unwrap();
        closer.join().unwrap();
        let req = super::super::http::request("/plaintext", "x");
        let wave = idle.wave(&req, Duration::from_secs(10)).unwrap();
        assert_eq!(wave.answered, 0);
        assert_eq!(wave.failed, 3, "{wave:?}");
        assert!(wave.first_error.is_some());
    }
}
