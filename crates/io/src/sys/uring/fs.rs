//! File operations on the ring: `openat`, `read`, `write`, `fsync`, each an
//! [`Op`](super::Op) the driver owns until its completion (see the parent module).

use std::io::{self, Seek, SeekFrom};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use io_uring::{opcode, types};

use super::{Done, Keep, Lend, Uring};
use crate::reactor::Reactor;

/// An operation awaited by a task. Dropping it before its completion cancels it: the
/// driver keeps what it lent until the kernel is done (see [`Op`]).
#[derive(Debug)]
struct RingOp {
    index: Option<usize>,
}

impl std::future::Future for RingOp {
    type Output = Done;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Done> {
        let index = self
            .index
            .expect("solo-io: a ring operation polled after it completed");
        let polled = Reactor::with(|r| {
            let uring = r
                .uring_owned()
                .expect("solo-io: a ring operation without a ring");
            let polled = uring.borrow_mut().poll(index, cx.waker());
            if polled.is_pending() {
                r.assert_driven();
            }
            polled
        });
        if polled.is_ready() {
            self.index = None;
        }
        polled
    }
}

impl Drop for RingOp {
    fn drop(&mut self) {
        if let Some(index) = self.index.take() {
            Reactor::try_with(|r| {
                if let Some(uring) = r.uring_owned() {
                    uring.borrow_mut().cancel(index);
                }
            });
        }
    }
}

/// Runs `f` on this thread's ring.
fn with_ring<R>(f: impl FnOnce(&mut Uring) -> R) -> io::Result<R> {
    Reactor::with(|r| r.uring_owned().map(|u| f(&mut u.borrow_mut())))
        .ok_or_else(|| io::Error::other("solo-io: this thread's reactor is not on io_uring"))
}

/// Whether `fs` should use the ring: this thread's reactor runs on it, and a loop drives
/// the reactor now. Files work under any executor (on the pool, whose completions wake
/// any waker); a ring operation needs solo's loop to be reaped, so without one the pool
/// serves as before.
pub(crate) fn on_ring() -> bool {
    Reactor::with(|r| r.uring_owned().is_some() && r.is_driven())
}

/// Starts an operation and waits for it.
async fn run(
    lend: Lend,
    build: impl FnOnce(types::Fd, &mut Vec<u8>) -> io_uring::squeue::Entry,
) -> io::Result<Done> {
    let index = with_ring(|u| u.start(lend, build))??;
    Ok(RingOp { index: Some(index) }.await)
}

/// Bytes read or written per operation, at most.
const CHUNK: usize = 64 * 1024;

/// `IORING_OP_OPENAT` relative to the working directory, close-on-exec.
pub(crate) async fn open(path: &Path, flags: i32, mode: u32) -> io::Result<OwnedFd> {
    let bytes = path.as_os_str().as_bytes();
    if bytes.contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "file name contained an unexpected NUL byte",
        ));
    }
    let mut buf = with_ring(|u| u.take_buf(bytes.len() + 1))?;
    buf.extend_from_slice(bytes);
    buf.push(0);
    let lend = Lend {
        buf,
        produces_fd: true,
        ..Lend::default()
    };
    let done = run(lend, |_, path| {
        opcode::OpenAt::new(types::Fd(libc::AT_FDCWD), path.as_ptr().cast())
            .flags(flags | libc::O_CLOEXEC)
            .mode(mode)
            .build()
    })
    .await?;
    with_ring(|u| u.recycle(done.buf))?;
    let fd = done.result? as i32;
    // SAFETY: the completion of an open: a new descriptor, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// One `IORING_OP_READ` of at most `len` bytes at the file position, appended to `out`;
/// gives `fd` back with the count (0 at the end).
async fn read_some(fd: Keep, len: usize, out: &mut Vec<u8>) -> io::Result<(Keep, usize)> {
    let mut buf = with_ring(|u| u.take_buf(len))?;
    // Zeroed rather than handed out uninitialised: a memset is cheap beside the system
    // call, and it keeps `set_len` (and its `unsafe`) out.
    buf.resize(len, 0);
    let lend = Lend {
        buf,
        fd: Some(fd),
        ..Lend::default()
    };
    let done = run(lend, |fd, buf| {
        opcode::Read::new(fd, buf.as_mut_ptr(), buf.len() as u32)
            .offset(u64::MAX)
            .build()
    })
    .await?;
    let n = match done.result {
        Ok(n) => n as usize,
        Err(e) => {
            with_ring(|u| u.recycle(done.buf))?;
            return Err(e);
        }
    };
    out.extend_from_slice(&done.buf[..n]);
    with_ring(|u| u.recycle(done.buf))?;
    Ok((done.fd.expect("the lent descriptor"), n))
}

/// One `IORING_OP_WRITE` of a prefix of `data` at the file position; gives `fd` back
/// with the count.
async fn write_some(fd: Keep, data: &[u8]) -> io::Result<(Keep, usize)> {
    let len = data.len().min(CHUNK);
    let mut buf = with_ring(|u| u.take_buf(len))?;
    buf.extend_from_slice(&data[..len]);
    let lend = Lend {
        buf,
        fd: Some(fd),
        ..Lend::default()
    };
    let done = run(lend, |fd, buf| {
        opcode::Write::new(fd, buf.as_ptr(), buf.len() as u32)
            .offset(u64::MAX)
            .build()
    })
    .await?;
    with_ring(|u| u.recycle(done.buf))?;
    let n = done.result? as usize;
    Ok((done.fd.expect("the lent descriptor"), n))
}

/// `fs::read` on the ring: the open and the reads are ring operations; the size hint
/// comes from `statx(2)` called directly on the open descriptor. The ring would hand a
/// `statx` to a kernel worker thread (it may wait for a disk in general, though not on a
/// file just opened: its inode is in memory), and that hand-off made a 1 KiB `fs::read`
/// 8× slower: 46 µs against 5.6 µs (`SOLO_DRIVER=uring cargo bench -p solo-benches
/// --bench fs`).
pub(crate) async fn read(path: &Path) -> io::Result<Vec<u8>> {
    let file = std::fs::File::from(open(path, libc::O_RDONLY, 0).await?);
    let size = file.metadata().ok().map(|m| m.len());
    let fd = OwnedFd::from(file);
    let hint = size.map_or(0, |s| usize::try_from(s).unwrap_or(usize::MAX));
    let mut out = Vec::with_capacity(hint.min(isize::MAX as usize));
    let mut fd = Keep::Fd(fd);
    loop {
        // The size is a hint (the file may change): read what it promises, then until a
        // read returns 0, as `std::fs::read` does.
        let want = if out.len() < hint {
            (hint - out.len()).min(CHUNK)
        } else {
            CHUNK.min(out.capacity().max(32))
        };
        let (back, n) = read_some(fd, want, &mut out).await?;
        if n == 0 {
            return Ok(out);
        }
        fd = back;
    }
}

/// `fs::write` on the ring: open (create, truncate), writes until all is written.
pub(crate) async fn write(path: &Path, mut data: &[u8]) -> io::Result<()> {
    let fd = open(path, libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC, 0o666).await?;
    let mut fd = Keep::Fd(fd);
    while !data.is_empty() {
        let (back, n) = write_some(fd, data).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        data = &data[n..];
        fd = back;
    }
    Ok(())
}

/// `IORING_OP_FSYNC` (`datasync`: only the data and what reading it back needs).
pub(crate) async fn fsync(file: &std::sync::Arc<std::fs::File>, datasync: bool) -> io::Result<()> {
    let lend = Lend {
        fd: Some(Keep::File(file.clone())),
        ..Lend::default()
    };
    let flags = if datasync {
        types::FsyncFlags::DATASYNC
    } else {
        types::FsyncFlags::empty()
    };
    let done = run(lend, |fd, _| opcode::Fsync::new(fd).flags(flags).build()).await?;
    done.result.map(drop)
}

// ---------------------------------------------------------------- a File's reads and writes

/// The operation a [`RingFile`] has in flight.
#[derive(Debug)]
struct InFlight {
    /// Its index on the ring of thread `thread`.
    index: usize,
    /// The thread whose ring holds it (`driver::current_thread`).
    thread: u64,
    /// A write (already reported to its caller as done: write-behind), or a read.
    write: bool,
}

/// The reads, writes and seeks of a [`fs::File`](crate::fs::File) on the ring of the
/// thread that polls it.
///
/// One operation at a time, at the file position (offset `-1`), so the OS position is the
/// truth and `O_APPEND` works as with `write(2)`:
///
/// - A read reads at most what its caller asked for (≤ 64 KiB) into a driver-owned buffer
///   and copies out. Bytes a caller does not take (it came back with a smaller buffer)
///   wait in `ahead`; a write or seek first moves the OS position back over them.
/// - A write is write-behind: `poll_write` copies ≤ 64 KiB into a driver-owned buffer,
///   starts the write and returns; the next call of any kind waits for it, finishes a
///   short write, and reports its error (so `flush` does). A `File` dropped meanwhile
///   lets the write finish (the driver reclaims the buffer).
/// - A seek is `lseek(2)`, which does no I/O.
///
/// Memory: the `Arc` of the file and an empty `Vec` while idle; a buffer only while an
/// operation is in flight or bytes wait in `ahead`.
#[derive(Debug)]
pub(crate) struct RingFile {
    file: Arc<std::fs::File>,
    op: Option<InFlight>,
    /// Bytes read and not handed out yet: `ahead[ahead_at..]`.
    ahead: Vec<u8>,
    ahead_at: usize,
    /// The error of an operation whose caller had moved on, for the next call.
    error: Option<io::Error>,
}

impl RingFile {
    /// Reads and writes of `file` on this thread's ring.
    pub(crate) fn new(file: Arc<std::fs::File>) -> RingFile {
        RingFile {
            file,
            op: None,
            ahead: Vec::new(),
            ahead_at: 0,
            error: None,
        }
    }

    /// Nothing in flight, nothing read ahead, no error to report: the file can change
    /// hands (to the pool, when it is polled where no ring runs).
    pub(crate) fn is_idle(&self) -> bool {
        self.op.is_none() && self.ahead_at == self.ahead.len() && self.error.is_none()
    }

    /// Starts a read or a write of `buf` (whose length is the count) at the position.
    fn start(&mut self, buf: Vec<u8>, write: bool) -> io::Result<()> {
        let lend = Lend {
            buf,
            fd: Some(Keep::File(self.file.clone())),
            ..Lend::default()
        };
        let index = with_ring(|u| {
            u.start(lend, |fd, buf| {
                let len = buf.len() as u32;
                if write {
                    opcode::Write::new(fd, buf.as_ptr(), len)
                        .offset(u64::MAX)
                        .build()
                } else {
                    opcode::Read::new(fd, buf.as_mut_ptr(), len)
                        .offset(u64::MAX)
                        .build()
                }
            })
        })??;
        self.op = Some(InFlight {
            index,
            thread: crate::driver::current_thread(),
            write,
        });
        Ok(())
    }

    /// Waits for the operation in flight, if any, and settles it: a short write goes on
    /// with the rest, a read's bytes go to `ahead`, an error to `error`. Gives the count
    /// of a read that completed (0: the end of the file).
    fn poll_finish(&mut self, cx: &mut Context<'_>) -> Poll<Option<usize>> {
        loop {
            let Some(op) = &self.op else {
                return Poll::Ready(None);
            };
            if op.thread != crate::driver::current_thread() {
                // The other thread's ring keeps the operation (and frees it when that
                // thread ends); this thread cannot reach it.
                self.op = None;
                self.error = Some(io::Error::other(
                    "solo-io: a fs::File moved to another thread while an operation was in \
                     flight on the first thread's io_uring ring; that operation's result is lost",
                ));
                return Poll::Ready(None);
            }
            let (index, write) = (op.index, op.write);
            let polled = Reactor::with(|r| {
                let uring = r
                    .uring_owned()
                    .expect("solo-io: a ring operation without a ring");
                let polled = uring.borrow_mut().poll(index, cx.waker());
                if polled.is_pending() {
                    r.assert_driven();
                }
                polled
            });
            let Poll::Ready(mut done) = polled else {
                return Poll::Pending;
            };
            self.op = None;
            match (done.result, write) {
                (Ok(n), true) if (n as usize) < done.buf.len() => {
                    if n == 0 {
                        self.error = Some(io::ErrorKind::WriteZero.into());
                    } else {
                        // A short write: the rest goes next, from the same buffer.
                        done.buf.drain(..n as usize);
                        match self.start(done.buf, true) {
                            Ok(()) => continue,
                            Err(e) => self.error = Some(e),
                        }
                        return Poll::Ready(None);
                    }
                }
                (Ok(_), true) => {}
                (Ok(n), false) => {
                    done.buf.truncate(n as usize);
                    let old = std::mem::replace(&mut self.ahead, done.buf);
                    self.ahead_at = 0;
                    let _ = with_ring(|u| u.recycle(old));
                    return Poll::Ready(Some(n as usize));
                }
                (Err(e), _) => self.error = Some(e),
            }
            let _ = with_ring(|u| u.recycle(done.buf));
            return Poll::Ready(None);
        }
    }

    /// Waits for the operation in flight and reports a pending error.
    fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_finish(cx));
        match self.error.take() {
            Some(e) => Poll::Ready(Err(e)),
            None => Poll::Ready(Ok(())),
        }
    }

    /// Like [`RingFile::poll_wait`], then moves the OS position back over bytes read
    /// ahead, so that it is where this file's reader stands.
    pub(crate) fn poll_settle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_wait(cx))?;
        let left = self.ahead.len() - self.ahead_at;
        if left > 0 {
            (&*self.file).seek(SeekFrom::Current(-(left as i64)))?;
        }
        let old = std::mem::take(&mut self.ahead);
        self.ahead_at = 0;
        let _ = with_ring(|u| u.recycle(old));
        Poll::Ready(Ok(()))
    }

    /// `AsyncRead::poll_read`.
    pub(crate) fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            if self.op.is_some() {
                if let Some(0) = ready!(self.poll_finish(cx)) {
                    return Poll::Ready(Ok(0));
                }
                continue;
            }
            if let Some(e) = self.error.take() {
                return Poll::Ready(Err(e));
            }
            let ahead = &self.ahead[self.ahead_at..];
            if !ahead.is_empty() {
                let n = ahead.len().min(out.len());
                out[..n].copy_from_slice(&ahead[..n]);
                self.ahead_at += n;
                return Poll::Ready(Ok(n));
            }
            if out.is_empty() {
                return Poll::Ready(Ok(0));
            }
            let len = out.len().min(CHUNK);
            let mut buf = with_ring(|u| u.take_buf(len))?;
            // Zeroed, as in `read_some`: no `set_len`.
            buf.resize(len, 0);
            self.start(buf, false)?;
        }
    }

    /// `AsyncWrite::poll_write`: write-behind (see the type's docs).
    pub(crate) fn poll_write(
        &mut self,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_settle(cx))?;
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let len = data.len().min(CHUNK);
        let mut buf = with_ring(|u| u.take_buf(len))?;
        buf.extend_from_slice(&data[..len]);
        self.start(buf, true)?;
        Poll::Ready(Ok(len))
    }

    /// `AsyncWrite::poll_flush` (and `poll_close`): the write in flight is done.
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_wait(cx)
    }

    /// `AsyncSeek::poll_seek`.
    pub(crate) fn poll_seek(
        &mut self,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        ready!(self.poll_settle(cx))?;
        Poll::Ready((&*self.file).seek(pos))
    }
}

impl Drop for RingFile {
    fn drop(&mut self) {
        let Some(op) = self.op.take() else {
            return;
        };
        if op.thread != crate::driver::current_thread() {
            return;
        }
        Reactor::try_with(|r| {
            if let Some(uring) = r.uring_owned() {
                let mut uring = uring.borrow_mut();
                if op.write {
                    // Write-behind: the data goes to the file even so.
                    uring.let_finish(op.index);
                } else {
                    uring.cancel(op.index);
                }
            }
        });
    }
}
