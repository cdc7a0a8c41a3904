//! [`Async<T>`]: an I/O handle registered with this thread's reactor.

use std::fmt;
use std::future::Future;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use crate::reactor::{Direction, Reactor};
use crate::sys::{self, Source};

/// An I/O object registered with the current thread's reactor.
///
/// `Async<T>` wraps a non-blocking file descriptor (Unix: [`AsFd`](std::os::fd::AsFd)) or
/// socket (Windows: `AsSocket`) and turns the
/// `WouldBlock` errors of its operations into waiting: [`readable`](Async::readable),
/// [`writable`](Async::writable), [`read_with`](Async::read_with),
/// [`write_with`](Async::write_with), and the `futures-io` traits
/// [`AsyncRead`]/[`AsyncWrite`] when `T` (or `&T`) implements [`Read`]/[`Write`].
///
/// # One thread
///
/// The handle belongs to the reactor of the thread that created it and is therefore
/// neither `Send` nor `Sync`. Shard-per-core servers create one per thread.
///
/// # Readiness
///
/// The source is registered once, edge-triggered where the OS allows, and readiness is
/// cached: an operation on a ready source costs just its own syscall, and readiness is
/// cleared only when an operation reports `WouldBlock`. A read and a write may wait at the
/// same time (from two tasks); two tasks waiting for the *same* direction take turns.
///
/// # The loop must run
///
/// Waiting happens on this thread's reactor, which runs only inside
/// [`block_on`](crate::block_on) (or `solo::block_on`, or an executor holding
/// [`reactor::enter`](crate::reactor::enter)). An operation that must wait on a thread
/// where no such loop runs, under another executor's `block_on` say, panics with a
/// message naming the fix instead of hanging; one that finds the source ready completes
/// anywhere.
///
/// # Dropping
///
/// Dropping the handle deregisters the source (then closes it, by dropping `T`);
/// [`into_inner`](Async::into_inner) deregisters and gives `T` back. A task waiting on the
/// source borrows it, so the handle can only go away with that task (cancelling it) or
/// after it stopped waiting; should a waiter remain registered anyway, deregistering wakes
/// it, and its next poll fails with an error saying the source is not registered: it
/// never hangs and never touches a reused registration.
///
/// # Examples
///
/// ```
/// use solo_io::Async;
/// use std::net::{TcpListener, TcpStream};
///
/// # solo_io::block_on(async {
/// let listener = Async::new(TcpListener::bind("127.0.0.1:0")?)?;
/// let addr = listener.get_ref().local_addr()?;
/// let _client = TcpStream::connect(addr)?;
/// // Wait for the connection, then accept it without blocking.
/// let (stream, _) = listener.read_with(|l| l.accept()).await?;
/// # drop(stream);
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub struct Async<T: Source> {
    /// `None` only transiently inside `into_inner`.
    io: Option<T>,
    key: usize,
    /// The entry of a TCP stream or listener in the io_uring driver's socket table
    /// (`sys/uring/net.rs`), or `NO_SLOT`. It fills what is padding beside a descriptor:
    /// an `Async` of a socket stays 16 bytes.
    #[cfg(has_uring)]
    ring: std::cell::Cell<u32>,
    _not_send: PhantomData<*const ()>,
}

impl<T: Source + fmt::Debug> fmt::Debug for Async<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Async").field("io", &self.io).finish()
    }
}

impl<T: Source> Async<T> {
    /// Puts `io` in non-blocking mode and registers it with this thread's reactor.
    pub fn new(io: T) -> io::Result<Async<T>> {
        sys::set_nonblocking(io.source())?;
        Async::new_nonblocking(io)
    }

    /// Registers `io`, which the caller has already put in non-blocking mode.
    ///
    /// A blocking `io` would block the whole thread on its first operation.
    pub fn new_nonblocking(io: T) -> io::Result<Async<T>> {
        let key = Reactor::with(|r| r.register(io.source()))?;
        Ok(Async {
            io: Some(io),
            key,
            #[cfg(has_uring)]
            ring: std::cell::Cell::new(crate::sys::uring::net::NO_SLOT),
            _not_send: PhantomData,
        })
    }

    /// A shared reference to the inner I/O object.
    pub fn get_ref(&self) -> &T {
        self.io.as_ref().expect("io is present until into_inner")
    }

    /// A mutable reference to the inner I/O object.
    ///
    /// Operations done directly on it bypass the reactor's readiness cache: after one
    /// returns `WouldBlock`, wait with [`readable`](Async::readable) or
    /// [`writable`](Async::writable) as usual, which re-checks with the OS.
    pub fn get_mut(&mut self) -> &mut T {
        self.io.as_mut().expect("io is present until into_inner")
    }

    /// Deregisters the source and returns the inner I/O object (still non-blocking).
    pub fn into_inner(mut self) -> io::Result<T> {
        // A socket in ring mode leaves it first (its held data would be lost: an error).
        #[cfg(has_uring)]
        let detached = self.leave_ring();
        let io = self.io.take().expect("io is present until into_inner");
        let result = Reactor::with(|r| r.deregister(self.key, io.source()));
        #[cfg(has_uring)]
        detached?;
        result.map(|()| io)
    }

    /// The reactor key of the registration.
    #[cfg(has_uring)]
    pub(crate) fn key(&self) -> usize {
        self.key
    }

    /// The io_uring driver's entry of this socket (see `sys/uring/net.rs`).
    #[cfg(has_uring)]
    pub(crate) fn ring_slot(&self) -> &std::cell::Cell<u32> {
        &self.ring
    }

    /// Takes the socket out of the io_uring driver's table, waiting for its operations to
    /// end (see `Uring::detach`), and has the poller watch both directions again.
    #[cfg(has_uring)]
    pub(crate) fn leave_ring(&self) -> io::Result<()> {
        let slot = self.ring.replace(crate::sys::uring::net::NO_SLOT);
        if slot == crate::sys::uring::net::NO_SLOT {
            return Ok(());
        }
        Reactor::with(|r| {
            let detached = r
                .with_uring_wake(|u, to_wake| u.detach(slot, to_wake))
                .unwrap_or(Ok(()));
            let watched =
                r.set_interest(self.key, self.get_ref().source(), solo_poll::Interest::BOTH);
            detached.and(watched)
        })
    }

    /// Waits until the source is readable.
    ///
    /// Completes at once if the OS reported readiness that nobody has consumed yet;
    /// otherwise waits for the next event. Spurious completions are possible, so loop on
    /// `WouldBlock`: calling `readable()` again after a `WouldBlock` re-checks with the OS,
    /// so the loop neither spins nor misses data. [`read_with`](Async::read_with) does
    /// this loop for you, and faster.
    pub fn readable(&self) -> Readiness<'_, T> {
        Readiness {
            io: self,
            dir: Direction::Read,
        }
    }

    /// Waits until the source is writable. The counterpart of [`readable`](Async::readable).
    pub fn writable(&self) -> Readiness<'_, T> {
        Readiness {
            io: self,
            dir: Direction::Write,
        }
    }

    /// Polls for readability; the poll form of [`readable`](Async::readable).
    pub fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_ready(Direction::Read, cx)
    }

    /// Polls for writability; the poll form of [`writable`](Async::writable).
    pub fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_ready(Direction::Write, cx)
    }

    /// The confirmed readiness of `readable()`/`writable()` (see [`Reactor::poll_ready`]).
    fn poll_ready(&self, dir: Direction, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let source = self.get_ref().source();
        Reactor::with(|r| r.poll_ready(self.key, dir, source, cx, true))
    }

    /// Runs `op` until it stops returning `WouldBlock`, waiting for readability between
    /// attempts.
    ///
    /// `op` must be a non-blocking read-like operation (read, recv, accept, …).
    pub async fn read_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        std::future::poll_fn(|cx| self.poll_op(Direction::Read, cx, |io| op(io))).await
    }

    /// Like [`read_with`](Async::read_with), with a mutable reference.
    pub async fn read_with_mut<R>(
        &mut self,
        mut op: impl FnMut(&mut T) -> io::Result<R>,
    ) -> io::Result<R> {
        std::future::poll_fn(|cx| self.poll_op_mut(Direction::Read, cx, &mut op)).await
    }

    /// Runs `op` until it stops returning `WouldBlock`, waiting for writability between
    /// attempts.
    pub async fn write_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        std::future::poll_fn(|cx| self.poll_op(Direction::Write, cx, |io| op(io))).await
    }

    /// Like [`write_with`](Async::write_with), with a mutable reference.
    pub async fn write_with_mut<R>(
        &mut self,
        mut op: impl FnMut(&mut T) -> io::Result<R>,
    ) -> io::Result<R> {
        std::future::poll_fn(|cx| self.poll_op_mut(Direction::Write, cx, &mut op)).await
    }

    /// The poll form of `read_with`/`write_with`: tries `op` while the source may be
    /// ready; on `WouldBlock` clears readiness and waits.
    pub(crate) fn poll_op<R>(
        &self,
        dir: Direction,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        poll_op_on(self.key, &mut self.get_ref(), dir, cx, |io| op(io))
    }

    /// [`poll_op`](Async::poll_op) with a mutable reference.
    fn poll_op_mut<R>(
        &mut self,
        dir: Direction,
        cx: &mut Context<'_>,
        op: impl FnMut(&mut T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let io = self.io.as_mut().expect("io is present until into_inner");
        poll_op_on(self.key, io, dir, cx, op)
    }

    /// A byte-stream read into `buf`: like `poll_op`, and, when `short_drains`, a read
    /// shorter than the buffer clears readiness at once (the kernel buffer was drained),
    /// saving the extra syscall that would only return `WouldBlock`.
    ///
    /// `short_drains` is for TCP, where a short read means exactly that, with one
    /// exception: `recv` also stops at an urgent-data mark (RFC 6093 asks applications not
    /// to use urgent data; tokio makes the same trade). It is false for Unix streams,
    /// whose reads also stop at a message carrying descriptors, and would be wrong for a
    /// TTY in canonical mode, which returns a line at a time.
    pub(crate) fn poll_stream_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
        short_drains: bool,
    ) -> Poll<io::Result<usize>>
    where
        for<'a> &'a T: Read,
    {
        self.poll_stream(Direction::Read, cx, buf.len(), short_drains, |mut io| {
            #[cfg(solo_fault_injection)]
            let buf = crate::fault::read_buf(io, buf);
            io.read(buf)
        })
    }

    /// The vectored form of [`poll_stream_read`](Async::poll_stream_read).
    pub(crate) fn poll_stream_read_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
        short_drains: bool,
    ) -> Poll<io::Result<usize>>
    where
        for<'a> &'a T: Read,
    {
        let len = bufs.iter().map(|b| b.len()).sum();
        self.poll_stream(Direction::Read, cx, len, short_drains, |mut io| {
            #[cfg(solo_fault_injection)]
            if let Some(mut short) = crate::fault::read_bufs(io, bufs) {
                return io.read_vectored(&mut short);
            }
            io.read_vectored(bufs)
        })
    }

    /// The write counterpart of [`poll_stream_read`](Async::poll_stream_read): a short
    /// write means the send buffer is full, always.
    pub(crate) fn poll_stream_write(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>>
    where
        for<'a> &'a T: Write,
    {
        // std's `write` on a socket is `send(MSG_NOSIGNAL)` (SO_NOSIGPIPE on Apple).
        self.poll_stream(Direction::Write, cx, buf.len(), true, |mut io| {
            #[cfg(solo_fault_injection)]
            let buf = crate::fault::write_buf(io, buf);
            io.write(buf)
        })
    }

    /// The vectored form of [`poll_stream_write`](Async::poll_stream_write), through
    /// `sendmsg` so that it never raises `SIGPIPE` either.
    pub(crate) fn poll_stream_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>>
    where
        for<'a> &'a T: Write,
    {
        let len = bufs.iter().map(|b| b.len()).sum();
        self.poll_stream(Direction::Write, cx, len, true, |io| {
            #[cfg(solo_fault_injection)]
            if let Some(short) = crate::fault::write_bufs(io, bufs) {
                return sys::send_vectored(io, &short);
            }
            sys::send_vectored(io, bufs)
        })
    }

    /// The core of the stream operations: `op` transfers at most `len` bytes in `dir`;
    /// when `short_clears`, a short transfer clears readiness (a read of 0 bytes is
    /// end-of-file, which must stay visible).
    fn poll_stream(
        &self,
        dir: Direction,
        cx: &mut Context<'_>,
        len: usize,
        short_clears: bool,
        op: impl FnMut(&T) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        let res = std::task::ready!(self.poll_op(dir, cx, op));
        if let Ok(n) = res {
            let eof = dir == Direction::Read && n == 0;
            if short_clears && n < len && !eof {
                Reactor::with(|r| r.clear_ready(self.key, dir, true));
            }
        }
        Poll::Ready(res)
    }
}

/// The loop behind every operation: tries `op` on `io` while the source `key` may be
/// ready in `dir`; on `WouldBlock` clears readiness and waits; retries on `Interrupted`.
/// `io` is the handle's `T` (or a `&T` in it, for the shared forms).
fn poll_op_on<S: Source, R>(
    key: usize,
    io: &mut S,
    dir: Direction,
    cx: &mut Context<'_>,
    mut op: impl FnMut(&mut S) -> io::Result<R>,
) -> Poll<io::Result<R>> {
    loop {
        let ready = Reactor::with(|r| r.poll_ready(key, dir, io.source(), cx, false));
        if let Err(e) = std::task::ready!(ready) {
            return Poll::Ready(Err(e));
        }
        #[cfg(solo_fault_injection)]
        let res = match crate::fault::before_op(&*io, dir) {
            Some(e) => Err(e),
            None => op(io),
        };
        #[cfg(not(solo_fault_injection))]
        let res = op(io);
        match res {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                Reactor::with(|r| r.clear_ready(key, dir, false));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            res => return Poll::Ready(res),
        }
    }
}

// `Async` never pins `T` structurally: moving the handle moves a descriptor and a key.
impl<T: Source> Unpin for Async<T> {}

impl<T: Source> Drop for Async<T> {
    fn drop(&mut self) {
        #[cfg(has_uring)]
        {
            let slot = self.ring.replace(crate::sys::uring::net::NO_SLOT);
            if slot != crate::sys::uring::net::NO_SLOT {
                // Before the descriptor closes: cancels what the kernel still holds.
                Reactor::try_with(|r| {
                    if let Some(uring) = r.uring_owned() {
                        uring.borrow_mut().release(slot);
                    }
                });
            }
        }
        if let Some(io) = self.io.take() {
            let key = self.key;
            // Deregister before `io` closes the descriptor; the error, if any (the source
            // was closed behind our back), has nowhere to go.
            Reactor::try_with(|r| {
                let _ = r.deregister(key, io.source());
            });
        }
    }
}

#[cfg(unix)]
impl<T: Source> std::os::fd::AsFd for Async<T> {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.get_ref().source()
    }
}

#[cfg(unix)]
impl<T: Source> std::os::fd::AsRawFd for Async<T> {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        std::os::fd::AsRawFd::as_raw_fd(&self.get_ref().source())
    }
}

#[cfg(windows)]
impl<T: Source> std::os::windows::io::AsSocket for Async<T> {
    fn as_socket(&self) -> std::os::windows::io::BorrowedSocket<'_> {
        self.get_ref().source()
    }
}

#[cfg(windows)]
impl<T: Source> std::os::windows::io::AsRawSocket for Async<T> {
    fn as_raw_socket(&self) -> std::os::windows::io::RawSocket {
        std::os::windows::io::AsRawSocket::as_raw_socket(&self.get_ref().source())
    }
}

/// The future of [`Async::readable`] and [`Async::writable`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Readiness<'a, T: Source> {
    io: &'a Async<T>,
    dir: Direction,
}

impl<T: Source> Future for Readiness<'_, T> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(self.dir, cx)
    }
}

// ---------------------------------------------------------------- futures-io

impl<T: Source + Read> AsyncRead for Async<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_op_mut(Direction::Read, cx, |io| io.read(buf))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_op_mut(Direction::Read, cx, |io| io.read_vectored(bufs))
    }
}

impl<T: Source> AsyncRead for &Async<T>
where
    for<'a> &'a T: Read,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_op(Direction::Read, cx, |mut io| io.read(buf))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_op(Direction::Read, cx, |mut io| io.read_vectored(bufs))
    }
}

impl<T: Source + Write> AsyncWrite for Async<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_op_mut(Direction::Write, cx, |io| io.write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_op_mut(Direction::Write, cx, |io| io.write_vectored(bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut()
            .poll_op_mut(Direction::Write, cx, |io| io.flush())
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

impl<T: Source> AsyncWrite for &Async<T>
where
    for<'a> &'a T: Write,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_op(Direction::Write, cx, |mut io| io.write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_op(Direction::Write, cx, |mut io| io.write_vectored(bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_op(Direction::Write, cx, |mut io| io.flush())
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}
