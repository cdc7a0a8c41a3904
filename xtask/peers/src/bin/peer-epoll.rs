//! The near-the-metal reference: a raw edge-triggered epoll loop with no runtime.
//!
//! `peer-epoll --mode http|echo --addr HOST:PORT` (Linux only).
//!
//! Design, as a C programmer would write it:
//! - connection state lives in a table indexed by file descriptor; an idle connection owns
//!   no buffer (two empty `Vec`s), everything is read into one shared 64 KiB buffer and only
//!   an unparsed tail (a partial request) or an unsent tail (a full socket buffer) is kept;
//! - every socket is registered once, edge-triggered, for input and output;
//! - a read shorter than the buffer means the socket was drained (a later arrival raises a
//!   new edge), so no extra `read` is spent to see `EAGAIN`;
//! - responses to all requests of one read go out in one `write`; when the socket buffer is
//!   full the rest is kept and reading stops until the socket is writable again;
//! - out of descriptors on `accept`: stop accepting and retry every 10 ms or when a
//!   connection closes, instead of spinning.

#[cfg(target_os = "linux")]
fn main() {
    use solo_bench_peers::Mode;
    let args = solo_bench_peers::Args::from_env_or_exit("peer-epoll");
    args.serve_only_or_exit("peer-epoll", &[Mode::Http, Mode::Echo]);
    if let Err(e) = linux::run(args) {
        eprintln!("peer-epoll: {e}");
        std::process::exit(1);
    }
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("peer-epoll: epoll is Linux-only");
    std::process::exit(1);
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

    use solo_bench_peers::{Args, MAX_REQUEST, Mode, cvt, serve_http};

    /// The epoll token of the listener; connections use their descriptor as token.
    const LISTENER: u64 = u64::MAX;

    /// Per-connection state: empty (no allocation) while the connection is idle.
    #[derive(Default)]
    struct Conn {
        /// The bytes of a request that has not fully arrived yet.
        unparsed: Vec<u8>,
        /// Output the socket did not take yet.
        unsent: Vec<u8>,
        /// Reading stopped because `unsent` is not empty; resume once it is flushed.
        read_pending: bool,
    }

    struct Server {
        mode: Mode,
        epoll: OwnedFd,
        listener: OwnedFd,
        /// Indexed by descriptor.
        conns: Vec<Option<Conn>>,
        /// Shared read buffer.
        buf: Vec<u8>,
        /// Shared output buffer (HTTP), reused across reads.
        out: Vec<u8>,
        /// `accept` ran out of descriptors; retry later.
        accept_paused: bool,
    }

    pub(crate) fn run(args: Args) -> io::Result<()> {
        solo_bench_peers::raise_fd_limit()?;
        let listener: OwnedFd = solo_bench_peers::bind_listener(args.addr)?.into();
        // SAFETY: epoll_create1 takes no pointers; errors are checked.
        let epfd = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: `epfd` was just created and is owned by nobody else.
        let epoll = unsafe { OwnedFd::from_raw_fd(epfd) };
        let mut server = Server {
            mode: args.mode,
            epoll,
            listener,
            conns: Vec::new(),
            buf: vec![0; 64 * 1024],
            out: Vec::new(),
            accept_paused: false,
        };
        server.register(
            server.listener.as_raw_fd(),
            LISTENER,
            libc::EPOLLIN | libc::EPOLLET,
        )?;
        server.event_loop()
    }

    impl Server {
        fn register(&self, fd: RawFd, token: u64, events: libc::c_int) -> io::Result<()> {
            let mut ev = libc::epoll_event {
                events: events as u32,
                u64: token,
            };
            // SAFETY: `ev` is a valid epoll_event; both descriptors are open.
            cvt(unsafe {
                libc::epoll_ctl(self.epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev)
            })?;
            Ok(())
        }

        fn event_loop(&mut self) -> io::Result<()> {
            let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
            loop {
                let timeout = if self.accept_paused { 10 } else { -1 };
                // SAFETY: `events` has room for `events.len()` entries, which the kernel
                // fills; the count it returns is at most that.
                let n = unsafe {
                    libc::epoll_wait(
                        self.epoll.as_raw_fd(),
                        events.as_mut_ptr(),
                        events.len() as libc::c_int,
                        timeout,
                    )
                };
                if n < 0 {
                    let e = io::Error::last_os_error();
                    if e.kind() == io::ErrorKind::Interrupted {
                        continue;
                    }
                    return Err(e);
                }
                if self.accept_paused {
                    self.accept_all();
                }
                for ev in &events[..n as usize] {
                    let (token, flags) = (ev.u64, ev.events as libc::c_int);
                    if token == LISTENER {
                        self.accept_all();
                    } else {
                        self.ready(token as RawFd, flags);
                    }
                }
            }
        }

        fn accept_all(&mut self) {
            self.accept_paused = false;
            loop {
                // SAFETY: null address pointers are allowed (we do not want the peer's
                // address); the listener is open.
                let fd = unsafe {
                    libc::accept4(
                        self.listener.as_raw_fd(),
                        std::ptr::null_mut(),
                        std::ptr::null_mut(),
                        libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                    )
                };
                if fd < 0 {
                    let e = io::Error::last_os_error();
                    match e.raw_os_error() {
                        Some(libc::EAGAIN) => return,
                        Some(libc::EINTR | libc::ECONNABORTED | libc::EPROTO) => continue,
                        _ if solo_bench_peers::accept_error_is_resource(&e) => {
                            self.accept_paused = true;
                            return;
                        }
                        _ => {
                            eprintln!("peer-epoll: accept: {e}");
                            return;
                        }
                    }
                }
                let one: libc::c_int = 1;
                // SAFETY: the option value points to a live c_int and its size is passed.
                unsafe {
                    libc::setsockopt(
                        fd,
                        libc::IPPROTO_TCP,
                        libc::TCP_NODELAY,
                        (&raw const one).cast(),
                        std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                    );
                }
                let interest = libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET;
                if self.register(fd, fd as u64, interest).is_err() {
                    // SAFETY: `fd` came from accept4 and is not stored anywhere.
                    unsafe { libc::close(fd) };
                    continue;
                }
                let slot = fd as usize;
                if self.conns.len() <= slot {
                    self.conns.resize_with(slot + 1, || None);
                }
                self.conns[slot] = Some(Conn::default());
            }
        }

        fn ready(&mut self, fd: RawFd, flags: libc::c_int) {
            if self.conns.get(fd as usize).is_none_or(Option::is_none) {
                return;
            }
            if flags & libc::EPOLLERR != 0 {
                self.close(fd);
                return;
            }
            if flags & libc::EPOLLOUT != 0 && !self.flush(fd) {
                return;
            }
            if flags & (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLHUP) != 0 {
                let conn = self.conns[fd as usize].as_mut().expect("checked above");
                if conn.unsent.is_empty() {
                    self.read(fd);
                } else {
                    conn.read_pending = true;
                }
            }
        }

        /// Writes what is left of a connection's output. Returns false if the connection
        /// was closed or still has output pending.
        fn flush(&mut self, fd: RawFd) -> bool {
            let conn = self.conns[fd as usize].as_mut().expect("caller checked");
            if conn.unsent.is_empty() {
                return true;
            }
            match write_some(fd, &conn.unsent) {
                Ok(n) if n == conn.unsent.len() => {
                    // Give the memory back: an idle connection holds no buffer.
                    conn.unsent = Vec::new();
                    if std::mem::take(&mut conn.read_pending) {
                        self.read(fd);
                    }
                    true
                }
                Ok(n) => {
                    conn.unsent.drain(..n);
                    false
                }
                Err(_) => {
                    self.close(fd);
                    false
                }
            }
        }

        fn read(&mut self, fd: RawFd) {
            loop {
                // SAFETY: `buf` is a live buffer of `buf.len()` writable bytes.
                let n = unsafe { libc::read(fd, self.buf.as_mut_ptr().cast(), self.buf.len()) };
                if n == 0 {
                    self.close(fd);
                    return;
                }
                if n < 0 {
                    match io::Error::last_os_error().raw_os_error() {
                        Some(libc::EAGAIN) => return,
                        Some(libc::EINTR) => continue,
                        _ => {
                            self.close(fd);
                            return;
                        }
                    }
                }
                let n = n as usize;
                let ok = match self.mode {
                    Mode::Echo => self.send(fd, n, true),
                    Mode::Http => self.answer(fd, n),
                    Mode::Chat | Mode::Hyper => unreachable!("refused in main"),
                };
                if !ok {
                    return;
                }
                if n < self.buf.len() {
                    return;
                }
            }
        }

        /// Answers the requests among the `n` fresh bytes in `buf` (after any unparsed
        /// tail). Returns false if reading should stop (closed, or output pending).
        fn answer(&mut self, fd: RawFd, n: usize) -> bool {
            let conn = self.conns[fd as usize].as_mut().expect("caller checked");
            self.out.clear();
            let parsed = if conn.unparsed.is_empty() {
                serve_http(&self.buf[..n], &mut self.out).map(|used| {
                    conn.unparsed.extend_from_slice(&self.buf[used..n]);
                })
            } else {
                conn.unparsed.extend_from_slice(&self.buf[..n]);
                serve_http(&conn.unparsed, &mut self.out).map(|used| {
                    conn.unparsed.drain(..used);
                    if conn.unparsed.is_empty() {
                        conn.unparsed = Vec::new();
                    }
                })
            };
            let too_big = conn.unparsed.len() > MAX_REQUEST;
            if parsed.is_err() || too_big {
                self.close(fd);
                return false;
            }
            self.send(fd, 0, false)
        }

        /// Writes `buf[..n]` (echo) or `out` (HTTP); keeps what the socket does not take.
        /// Returns false if reading should stop.
        fn send(&mut self, fd: RawFd, n: usize, from_buf: bool) -> bool {
            let data = if from_buf {
                &self.buf[..n]
            } else {
                &self.out[..]
            };
            if data.is_empty() {
                return true;
            }
            match write_some(fd, data) {
                Ok(w) if w == data.len() => true,
                Ok(w) => {
                    let conn = self.conns[fd as usize].as_mut().expect("caller checked");
                    conn.unsent.extend_from_slice(&data[w..]);
                    conn.read_pending = true;
                    false
                }
                Err(_) => {
                    self.close(fd);
                    false
                }
            }
        }

        fn close(&mut self, fd: RawFd) {
            if let Some(slot) = self.conns.get_mut(fd as usize) {
                if slot.take().is_some() {
                    // SAFETY: `fd` was accepted by us and is closed exactly once: its slot
                    // was occupied and is now empty. Closing also removes it from epoll.
                    unsafe { libc::close(fd) };
                }
            }
            if self.accept_paused {
                self.accept_all();
            }
        }
    }

    /// Writes as much of `data` as the socket takes; `Ok(0..len)` when it is full.
    fn write_some(fd: RawFd, data: &[u8]) -> io::Result<usize> {
        let mut done = 0;
        while done < data.len() {
            // SAFETY: the pointer and length describe the live tail of `data`.
            let w = unsafe { libc::write(fd, data[done..].as_ptr().cast(), data.len() - done) };
            if w < 0 {
                let e = io::Error::last_os_error();
                match e.raw_os_error() {
                    Some(libc::EAGAIN) => return Ok(done),
                    Some(libc::EINTR) => continue,
                    _ => return Err(e),
                }
            }
            done += w as usize;
        }
        Ok(done)
    }
}
