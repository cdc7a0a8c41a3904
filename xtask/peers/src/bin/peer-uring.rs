//! The io_uring reference: a raw io_uring loop with no runtime, the completion-based
//! counterpart of `peer-epoll`.
//!
//! `peer-uring --mode http|echo --addr HOST:PORT` (Linux 6.0 or later: multishot receive).
//!
//! Design, as a C programmer would write it on liburing:
//! - one ring, set up with `SINGLE_ISSUER` and `DEFER_TASKRUN` (completions are produced
//!   only when this thread asks for them, with no interrupting task work) where the kernel
//!   takes them (6.1+), a plain ring otherwise;
//! - one multishot accept on the listener, one multishot receive per connection; receives
//!   pick their buffers from one provided-buffer ring of `BUF_COUNT` × `BUF_SIZE`
//!   bytes, so an idle connection owns no read buffer;
//! - a received buffer is answered (HTTP: `serve_http`; echo: copied) into the
//!   connection's output and handed back to the ring at once; only an unparsed tail (a
//!   partial request) is kept;
//! - sends are batched: every connection with new output gets one send entry, and all of
//!   them go in with the next turn's one `submit_and_wait(1)`, which also waits for at
//!   least one completion. A connection has at most one send in flight (its buffer must
//!   not move until the send completes); output made meanwhile waits in a second buffer;
//! - closing: `shutdown(2)` (and a cancel) ends the multishot receive; the descriptor is
//!   closed only once no operation of it is in flight, so a completion's descriptor is
//!   never one reused by a later connection;
//! - out of descriptors: the multishot accept ends; it is armed again after 10 ms.

#[cfg(target_os = "linux")]
fn main() {
    use solo_bench_peers::Mode;
    let args = solo_bench_peers::Args::from_env_or_exit("peer-uring");
    args.serve_only_or_exit("peer-uring", &[Mode::Http, Mode::Echo]);
    if let Err(e) = linux::run(args) {
        eprintln!("peer-uring: {e}");
        std::process::exit(1);
    }
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("peer-uring: io_uring is Linux-only");
    std::process::exit(1);
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::os::fd::{AsRawFd, OwnedFd, RawFd};
    use std::ptr::NonNull;
    use std::sync::atomic::{AtomicU16, Ordering};

    use io_uring::{IoUring, cqueue, opcode, squeue, types};
    use solo_bench_peers::{Args, MAX_REQUEST, Mode, serve_http};

    /// The size of one provided buffer (one receive completion carries at most this much).
    const BUF_SIZE: usize = 4096;
    /// Provided buffers; a power of two. A buffer is back in the ring within the turn
    /// that received into it, so this bounds the completions of one turn, not connections.
    const BUF_COUNT: u16 = 4096;
    /// The provided-buffer group of the receives.
    const GROUP: u16 = 0;
    /// Submission queue entries (the completion queue gets twice as many).
    const ENTRIES: u32 = 4096;
    /// Output queued behind a send in flight past which the client is taken to be not
    /// reading, and the connection is closed (nothing else bounds it).
    const MAX_QUEUED: usize = 16 * MAX_REQUEST;

    // What a completion is for: the operation in the high half of `user_data`, the
    // descriptor in the low half.
    const ACCEPT: u64 = 1;
    const RECV: u64 = 2;
    const SEND: u64 = 3;
    const CANCEL: u64 = 4;
    const ACCEPT_RETRY: u64 = 5;

    fn token(op: u64, fd: RawFd) -> u64 {
        op << 32 | fd as u32 as u64
    }

    /// Per-connection state.
    #[derive(Default)]
    struct Conn {
        /// The bytes of a request that has not fully arrived yet.
        unparsed: Vec<u8>,
        /// The output of the send in flight (or to be sent next); it does not move or
        /// change while a send of it is in flight.
        sending: Vec<u8>,
        /// How much of `sending` the kernel took already.
        sent: usize,
        /// A send is in flight.
        in_flight: bool,
        /// Output made while a send was in flight.
        queued: Vec<u8>,
        /// The multishot receive is armed.
        receiving: bool,
        /// Shut down; the descriptor is closed once nothing is in flight.
        closing: bool,
        /// Listed in `Server::dirty` (it has output to send this turn).
        dirty: bool,
    }

    /// The provided-buffer ring: `BUF_COUNT` entries the kernel picks receive buffers
    /// from, and the buffers themselves.
    struct BufRing {
        /// The ring of entries (page-aligned, shared with the kernel).
        ring: NonNull<types::BufRingEntry>,
        /// `BUF_COUNT * BUF_SIZE` bytes of buffers.
        bufs: NonNull<u8>,
        /// Our tail: entries up to it are written; published with [`BufRing::publish`].
        tail: u16,
    }

    impl BufRing {
        fn new() -> io::Result<BufRing> {
            let ring = map(usize::from(BUF_COUNT) * size_of::<types::BufRingEntry>())?.cast();
            let bufs = map(usize::from(BUF_COUNT) * BUF_SIZE)?;
            let mut ring = BufRing {
                ring,
                bufs,
                tail: 0,
            };
            for bid in 0..BUF_COUNT {
                ring.give_back(bid);
            }
            ring.publish();
            Ok(ring)
        }

        /// Puts buffer `bid` back at the tail (the kernel sees it after `publish`).
        fn give_back(&mut self, bid: u16) {
            let slot = usize::from(self.tail & (BUF_COUNT - 1));
            // SAFETY: `slot < BUF_COUNT`, inside the mapping; the kernel reads entries only
            // between its head and the published tail, and this slot is past the tail.
            let entry = unsafe { &mut *self.ring.as_ptr().add(slot) };
            // SAFETY: `bid < BUF_COUNT`, so the buffer is inside the mapping.
            let addr = unsafe { self.bufs.as_ptr().add(usize::from(bid) * BUF_SIZE) };
            entry.set_addr(addr as u64);
            entry.set_len(BUF_SIZE as u32);
            entry.set_bid(bid);
            self.tail = self.tail.wrapping_add(1);
        }

        /// Makes the entries written so far visible to the kernel.
        fn publish(&self) {
            // SAFETY: the ring is mapped and its first entry initialised; its tail field
            // is a u16 the kernel reads atomically (acquire), so storing it with release
            // ordering publishes the entries written before.
            unsafe {
                let tail = types::BufRingEntry::tail(self.ring.as_ptr()).cast_mut();
                AtomicU16::from_ptr(tail).store(self.tail, Ordering::Release);
            }
        }

        /// The first `len` bytes of buffer `bid`, which a completion handed to us.
        fn data(&self, bid: u16, len: usize) -> &[u8] {
            assert!(bid < BUF_COUNT && len <= BUF_SIZE);
            // SAFETY: in bounds (checked); the kernel wrote these bytes before posting the
            // completion and does not touch the buffer again until it is given back.
            unsafe {
                std::slice::from_raw_parts(self.bufs.as_ptr().add(usize::from(bid) * BUF_SIZE), len)
            }
        }
    }

    /// Anonymous, page-aligned, zeroed memory that lives as long as the process.
    fn map(len: usize) -> io::Result<NonNull<u8>> {
        // SAFETY: an anonymous private mapping at an address of the kernel's choosing.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        NonNull::new(p.cast()).ok_or_else(|| io::Error::other("mmap returned null"))
    }

    struct Server {
        mode: Mode,
        ring: IoUring,
        bufs: BufRing,
        listener: OwnedFd,
        /// Indexed by descriptor.
        conns: Vec<Option<Conn>>,
        /// Connections with output to send at the end of this turn.
        dirty: Vec<RawFd>,
        /// The completions of one turn, copied out of the queue.
        cqes: Vec<(u64, i32, u32)>,
        /// The 10 ms pause of a paused accept (the kernel reads it while the timeout is
        /// in flight, so it lives here, not on the stack).
        pause: types::Timespec,
    }

    pub(crate) fn run(args: Args) -> io::Result<()> {
        solo_bench_peers::raise_fd_limit()?;
        let listener: OwnedFd = solo_bench_peers::bind_listener(args.addr)?.into();
        let ring = IoUring::builder()
            .setup_single_issuer()
            .setup_defer_taskrun()
            .setup_coop_taskrun()
            .build(ENTRIES)
            .or_else(|e| {
                eprintln!("peer-uring: SINGLE_ISSUER + DEFER_TASKRUN refused ({e}): a plain ring");
                IoUring::new(ENTRIES)
            })?;
        let bufs = BufRing::new()?;
        // SAFETY: the ring memory is mapped for the life of the process and holds
        // `BUF_COUNT` entries.
        unsafe {
            ring.submitter().register_buf_ring_with_flags(
                bufs.ring.as_ptr() as u64,
                BUF_COUNT,
                GROUP,
                0,
            )?;
        }
        let mut server = Server {
            mode: args.mode,
            ring,
            bufs,
            listener,
            conns: Vec::new(),
            dirty: Vec::new(),
            cqes: Vec::with_capacity(2 * ENTRIES as usize),
            pause: types::Timespec::new().nsec(10_000_000),
        };
        server.arm_accept()?;
        server.event_loop()
    }

    impl Server {
        /// Queues `entry`, submitting what is queued first if the queue is full.
        ///
        /// Every entry's memory (send buffers, the pause) stays valid and unchanged until
        /// its completion: that is what the callers keep.
        fn push(&mut self, entry: &squeue::Entry) -> io::Result<()> {
            loop {
                // SAFETY: see above; the entry is copied into the queue.
                if unsafe { self.ring.submission().push(entry) }.is_ok() {
                    return Ok(());
                }
                self.ring.submit()?;
            }
        }

        fn arm_accept(&mut self) -> io::Result<()> {
            let fd = types::Fd(self.listener.as_raw_fd());
            let entry = opcode::AcceptMulti::new(fd)
                .flags(libc::SOCK_CLOEXEC)
                .build()
                .user_data(token(ACCEPT, 0));
            self.push(&entry)
        }

        fn arm_recv(&mut self, fd: RawFd) -> io::Result<()> {
            let entry = opcode::RecvMulti::new(types::Fd(fd), GROUP)
                .build()
                .user_data(token(RECV, fd));
            self.push(&entry)
        }

        fn event_loop(&mut self) -> io::Result<()> {
            loop {
                match self.ring.submit_and_wait(1) {
                    Ok(_) => {}
                    // EBUSY: completions are waiting to be reaped; reap them.
                    Err(e) if matches!(e.raw_os_error(), Some(libc::EINTR | libc::EBUSY)) => {}
                    Err(e) => return Err(e),
                }
                let mut cqes = std::mem::take(&mut self.cqes);
                cqes.extend(
                    self.ring
                        .completion()
                        .map(|c| (c.user_data(), c.result(), c.flags())),
                );
                for &(user_data, res, flags) in &cqes {
                    let fd = user_data as u32 as RawFd;
                    match user_data >> 32 {
                        ACCEPT => self.accepted(res, flags)?,
                        RECV => self.received(fd, res, flags)?,
                        SEND => self.sent(fd, res)?,
                        ACCEPT_RETRY => self.arm_accept()?,
                        _ => {} // CANCEL: the receive's own completion says the rest.
                    }
                }
                cqes.clear();
                self.cqes = cqes;
                self.bufs.publish();
                let dirty = std::mem::take(&mut self.dirty);
                for &fd in &dirty {
                    self.flush(fd)?;
                }
                self.dirty = dirty;
                self.dirty.clear();
            }
        }

        fn accepted(&mut self, res: i32, flags: u32) -> io::Result<()> {
            if res >= 0 {
                let fd = res;
                let one: libc::c_int = 1;
                // SAFETY: the option value points to a live c_int and its size is passed.
                unsafe {
                    libc::setsockopt(
                        fd,
                        libc::IPPROTO_TCP,
                        libc::TCP_NODELAY,
                        (&raw const one).cast(),
                        size_of::<libc::c_int>() as libc::socklen_t,
                    );
                }
                let slot = fd as usize;
                if self.conns.len() <= slot {
                    self.conns.resize_with(slot + 1, || None);
                }
                self.conns[slot] = Some(Conn {
                    receiving: true,
                    ..Conn::default()
                });
                self.arm_recv(fd)?;
            }
            if !cqueue::more(flags) {
                // The multishot accept ended: out of descriptors (pause, then again), or
                // anything else (again at once).
                if solo_bench_peers::accept_error_is_resource(&io::Error::from_raw_os_error(-res)) {
                    let entry = opcode::Timeout::new(&raw const self.pause)
                        .build()
                        .user_data(token(ACCEPT_RETRY, 0));
                    self.push(&entry)?;
                } else {
                    self.arm_accept()?;
                }
            }
            Ok(())
        }

        fn received(&mut self, fd: RawFd, res: i32, flags: u32) -> io::Result<()> {
            let more = cqueue::more(flags);
            let Some(conn) = self.conns.get_mut(fd as usize).and_then(Option::as_mut) else {
                return Ok(());
            };
            if !more {
                conn.receiving = false;
            }
            let bid = cqueue::buffer_select(flags);
            if res > 0 {
                let bid = bid.ok_or_else(|| io::Error::other("a receive without a buffer"))?;
                let ok = conn.closing || {
                    let data = self.bufs.data(bid, res as usize);
                    answer(self.mode, conn, data, &mut self.dirty, fd)
                };
                self.bufs.give_back(bid);
                if !ok {
                    self.close(fd)?;
                } else if !more && !conn_closing(&self.conns, fd) {
                    self.rearm(fd)?;
                }
            } else {
                if let Some(bid) = bid {
                    self.bufs.give_back(bid);
                }
                if res == -libc::ENOBUFS && !conn.closing {
                    // Every buffer was taken this turn; they are back before the next
                    // submit.
                    if !more {
                        self.rearm(fd)?;
                    }
                } else if !more {
                    // End of input or an error.
                    self.close(fd)?;
                }
            }
            self.finish_close(fd);
            Ok(())
        }

        fn rearm(&mut self, fd: RawFd) -> io::Result<()> {
            if let Some(conn) = self.conns[fd as usize].as_mut() {
                conn.receiving = true;
            }
            self.arm_recv(fd)
        }

        fn sent(&mut self, fd: RawFd, res: i32) -> io::Result<()> {
            let Some(conn) = self.conns.get_mut(fd as usize).and_then(Option::as_mut) else {
                return Ok(());
            };
            conn.in_flight = false;
            if res < 0 {
                self.close(fd)?;
            } else if !conn.closing {
                conn.sent += res as usize;
                if conn.sent == conn.sending.len() {
                    conn.sending.clear();
                    conn.sent = 0;
                    std::mem::swap(&mut conn.sending, &mut conn.queued);
                }
                if !conn.sending.is_empty() && !conn.dirty {
                    conn.dirty = true;
                    self.dirty.push(fd);
                }
            }
            self.finish_close(fd);
            Ok(())
        }

        /// Queues the send of a connection's pending output, if none is in flight.
        fn flush(&mut self, fd: RawFd) -> io::Result<()> {
            let Some(conn) = self.conns.get_mut(fd as usize).and_then(Option::as_mut) else {
                return Ok(());
            };
            conn.dirty = false;
            if conn.closing || conn.in_flight || conn.sent == conn.sending.len() {
                return Ok(());
            }
            conn.in_flight = true;
            let rest = &conn.sending[conn.sent..];
            let entry = opcode::Send::new(types::Fd(fd), rest.as_ptr(), rest.len() as u32)
                .flags(libc::MSG_NOSIGNAL)
                .build()
                .user_data(token(SEND, fd));
            // `sending` does not change while the send is in flight (output goes to
            // `queued`), and its heap buffer does not move when `conns` grows.
            self.push(&entry)
        }

        /// Shuts a connection down; its descriptor is closed once nothing is in flight.
        fn close(&mut self, fd: RawFd) -> io::Result<()> {
            let Some(conn) = self.conns.get_mut(fd as usize).and_then(Option::as_mut) else {
                return Ok(());
            };
            if conn.closing {
                return Ok(());
            }
            conn.closing = true;
            // SAFETY: `fd` is open (its slot is occupied); shutdown takes no pointers.
            unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
            if conn.receiving {
                let entry = opcode::AsyncCancel::new(token(RECV, fd))
                    .build()
                    .user_data(token(CANCEL, fd));
                self.push(&entry)?;
            }
            Ok(())
        }

        /// Closes the descriptor of a closing connection that has nothing in flight.
        fn finish_close(&mut self, fd: RawFd) {
            let Some(slot) = self.conns.get_mut(fd as usize) else {
                return;
            };
            if slot
                .as_ref()
                .is_some_and(|c| c.closing && !c.receiving && !c.in_flight)
            {
                *slot = None;
                // SAFETY: `fd` was accepted by us and is closed exactly once: its slot was
                // occupied and is now empty, and no operation of it is in flight.
                unsafe { libc::close(fd) };
            }
        }
    }

    fn conn_closing(conns: &[Option<Conn>], fd: RawFd) -> bool {
        conns[fd as usize].as_ref().is_none_or(|c| c.closing)
    }

    /// Answers `data`, fresh bytes of connection `fd`, into its output (noting it in
    /// `dirty`). Returns false if the connection should be closed.
    fn answer(mode: Mode, conn: &mut Conn, data: &[u8], dirty: &mut Vec<RawFd>, fd: RawFd) -> bool {
        let out = if conn.in_flight {
            &mut conn.queued
        } else {
            &mut conn.sending
        };
        let before = out.len();
        match mode {
            Mode::Echo => out.extend_from_slice(data),
            Mode::Http => {
                let parsed = if conn.unparsed.is_empty() {
                    serve_http(data, out).map(|used| conn.unparsed.extend_from_slice(&data[used..]))
                } else {
                    conn.unparsed.extend_from_slice(data);
                    serve_http(&conn.unparsed, out).map(|used| {
                        conn.unparsed.drain(..used);
                    })
                };
                if parsed.is_err() || conn.unparsed.len() > MAX_REQUEST {
                    return false;
                }
            }
            Mode::Chat | Mode::Hyper => unreachable!("refused in main"),
        }
        if out.len() > MAX_QUEUED {
            return false;
        }
        if out.len() > before && !conn.dirty {
            conn.dirty = true;
            dirty.push(fd);
        }
        true
    }
}
