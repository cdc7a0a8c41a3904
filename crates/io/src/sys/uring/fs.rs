//! File operations on the ring: `openat`, `statx`, `read`, `write`, `fsync`, each an
//! [`Op`](super::Op) the driver owns until its completion (see the parent module).

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::task::Poll;

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
    build: impl FnOnce(types::Fd, &mut Vec<u8>, *mut libc::statx) -> io_uring::squeue::Entry,
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
    let done = run(lend, |_, path, _| {
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

/// The size of `fd`'s file (`IORING_OP_STATX` with `AT_EMPTY_PATH`); gives `fd` back.
async fn size(fd: OwnedFd) -> io::Result<(OwnedFd, Option<u64>)> {
    let lend = Lend {
        statx: true,
        fd: Some(Keep::Fd(fd)),
        ..Lend::default()
    };
    let done = run(lend, |fd, _, statx| {
        opcode::Statx::new(fd, c"".as_ptr(), statx.cast())
            .flags(libc::AT_EMPTY_PATH)
            .mask(libc::STATX_SIZE)
            .build()
    })
    .await?;
    let Some(Keep::Fd(fd)) = done.fd else {
        unreachable!("an operation gives back the descriptor it was lent")
    };
    let statx = done.statx.expect("a statx buffer");
    let size = match done.result {
        // SAFETY: the statx succeeded, so the kernel filled the buffer.
        Ok(_) => Some(unsafe { statx.assume_init_ref() }.stx_size),
        Err(_) => None,
    };
    with_ring(|u| u.recycle_statx(statx))?;
    Ok((fd, size))
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
    let done = run(lend, |fd, buf, _| {
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
    let done = run(lend, |fd, buf, _| {
        opcode::Write::new(fd, buf.as_ptr(), buf.len() as u32)
            .offset(u64::MAX)
            .build()
    })
    .await?;
    with_ring(|u| u.recycle(done.buf))?;
    let n = done.result? as usize;
    Ok((done.fd.expect("the lent descriptor"), n))
}

/// `fs::read` on the ring: open, statx (for the size), reads until the end.
pub(crate) async fn read(path: &Path) -> io::Result<Vec<u8>> {
    let fd = open(path, libc::O_RDONLY, 0).await?;
    let (fd, size) = size(fd).await?;
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
    let done = run(lend, |fd, _, _| opcode::Fsync::new(fd).flags(flags).build()).await?;
    done.result.map(drop)
}
