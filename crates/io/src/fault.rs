//! Fault injection: make chosen operations fail or come up short, to test that every
//! failure is handled (retried, surfaced or backed off; never a spin, a hang, a panic or a
//! lost byte).
//!
//! Compiled only with `--cfg solo_fault_injection`; in normal builds neither this module
//! nor its hooks exist. Tests reach it through `solo_io::__fault`:
//!
//! ```text
//! RUSTFLAGS="--cfg solo_fault_injection" CARGO_TARGET_DIR=target/fault \
//!     cargo test -p solo-io --test fault
//! ```
//!
//! # Where faults strike
//!
//! Every operation of an [`Async`](crate::Async) goes through the one loop behind
//! `Async::poll_op` and its `&mut` twin: `read_with`, `write_with`, the `futures-io`
//! traits, stream reads and writes, accept on every listener, UDP and Unix datagrams. The
//! hook there consults this thread's plan *before* the real syscall: a rule that fires
//! returns its error instead of running the operation (as if the syscall had failed
//! without side effects). Stream reads and writes (`TcpStream`, `UnixStream`) have a
//! second hook that sees the buffer: a `short` rule truncates it, so the kernel really
//! transfers fewer bytes than asked and the rest stays queued, exactly as a short read or
//! write leaves it.
//!
//! The plan is thread-local, like the reactor: tests running in parallel threads do not
//! disturb each other.

use std::cell::RefCell;
use std::io::{self, IoSlice, IoSliceMut};

use crate::reactor::Direction;
use crate::sys::Source;

/// Which operations a rule matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Read-like operations: read, recv, accept (an accept reads the listener).
    Read,
    /// Write-like operations: write, send, flush.
    Write,
}

/// What a rule does when it fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The operation fails with this OS error code (e.g. `libc::EINTR`), without running.
    Error(i32),
    /// A stream read or write transfers at most this many bytes (at least 1).
    Short(usize),
    /// A stream read or write transfers a pseudo-random number of bytes, from 1 up to the
    /// buffer's length, drawn from the plan's seeded generator (see [`seed`]).
    ShortRandom,
}

/// One entry of the plan: "the next `times` matching operations (after skipping `skip`,
/// then every `every`-th) of `source` fail with `fault`".
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    op: Op,
    source: Option<u64>,
    fault: Fault,
    skip: u64,
    every: u64,
    times: u64,
    seen: u64,
}

impl Rule {
    /// A rule for operations `op` on every source. Fires once unless told otherwise.
    pub fn any(op: Op, fault: Fault) -> Rule {
        Rule {
            op,
            source: None,
            fault,
            skip: 0,
            every: 1,
            times: 1,
            seen: 0,
        }
    }

    /// A rule for operations `op` on one source, named by its raw descriptor (Unix) or
    /// socket (Windows).
    pub fn on(source: u64, op: Op, fault: Fault) -> Rule {
        Rule {
            source: Some(source),
            ..Rule::any(op, fault)
        }
    }

    /// Fires `n` times (`u64::MAX`: until [`clear`]).
    pub fn times(self, n: u64) -> Rule {
        Rule { times: n, ..self }
    }

    /// Lets the first `n` matching operations through before firing.
    pub fn skip(self, n: u64) -> Rule {
        Rule { skip: n, ..self }
    }

    /// Fires on every `n`-th matching operation only (after the skipped ones).
    pub fn every(self, n: u64) -> Rule {
        Rule {
            every: n.max(1),
            ..self
        }
    }

    fn is_short(&self) -> bool {
        matches!(self.fault, Fault::Short(_) | Fault::ShortRandom)
    }

    /// Counts a matching operation; true if the rule fires for it.
    fn fire(&mut self) -> bool {
        if self.times == 0 {
            return false;
        }
        let n = self.seen;
        self.seen += 1;
        if n < self.skip || (n - self.skip) % self.every != 0 {
            return false;
        }
        if self.times != u64::MAX {
            self.times -= 1;
        }
        true
    }
}

/// Counters of what went through the hooks on this thread.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Operations that reached the hook (each a syscall attempt, real or faked).
    pub ops: u64,
    /// Operations that reached the hook, per direction: reads (and accepts).
    pub reads: u64,
    /// Operations that reached the hook, per direction: writes.
    pub writes: u64,
    /// Errors injected.
    pub errors: u64,
    /// Stream reads or writes truncated.
    pub shortened: u64,
}

#[derive(Debug)]
struct Plan {
    rules: Vec<Rule>,
    counts: Counts,
    /// Per-source operation counts: (source, reads, writes).
    per_source: Vec<(u64, u64, u64)>,
    rng: u64,
}

thread_local! {
    static PLAN: RefCell<Plan> = const {
        RefCell::new(Plan {
            rules: Vec::new(),
            counts: Counts {
                ops: 0,
                reads: 0,
                writes: 0,
                errors: 0,
                shortened: 0,
            },
            per_source: Vec::new(),
            rng: 0x9E37_79B9_7F4A_7C15,
        })
    };
}

/// Adds a rule to this thread's plan. Rules are consulted in the order they were added;
/// the first that fires decides.
pub fn inject(rule: Rule) {
    PLAN.with(|p| p.borrow_mut().rules.push(rule));
}

/// Removes every rule from this thread's plan (counters are kept).
pub fn clear() {
    PLAN.with(|p| p.borrow_mut().rules.clear());
}

/// Seeds the generator behind [`Fault::ShortRandom`].
pub fn seed(seed: u64) {
    PLAN.with(|p| p.borrow_mut().rng = seed | 1);
}

/// What went through the hooks on this thread so far.
pub fn counts() -> Counts {
    PLAN.with(|p| p.borrow().counts)
}

/// Operations on one source that reached the hook so far: `(reads, writes)`.
pub fn ops_on(source: u64) -> (u64, u64) {
    PLAN.with(|p| {
        p.borrow()
            .per_source
            .iter()
            .find(|e| e.0 == source)
            .map_or((0, 0), |e| (e.1, e.2))
    })
}

/// How many rules could still fire.
pub fn pending() -> usize {
    PLAN.with(|p| p.borrow().rules.iter().filter(|r| r.times > 0).count())
}

fn op_of(dir: Direction) -> Op {
    match dir {
        Direction::Read => Op::Read,
        Direction::Write => Op::Write,
    }
}

#[cfg(unix)]
fn id_of<T: Source>(io: &T) -> u64 {
    use std::os::fd::AsRawFd;
    io.source().as_raw_fd() as u64
}

#[cfg(windows)]
fn id_of<T: Source>(io: &T) -> u64 {
    use std::os::windows::io::AsRawSocket;
    io.source().as_raw_socket()
}

/// The hook of the loop behind `Async::poll_op`: counts the attempt and returns the injected error, if an
/// error rule fires for it.
pub(crate) fn before_op<T: Source>(io: &T, dir: Direction) -> Option<io::Error> {
    let source = id_of(io);
    let op = op_of(dir);
    PLAN.with(|p| {
        let mut p = p.borrow_mut();
        p.counts.ops += 1;
        match op {
            Op::Read => p.counts.reads += 1,
            Op::Write => p.counts.writes += 1,
        }
        match p.per_source.iter_mut().find(|e| e.0 == source) {
            Some(e) if op == Op::Read => e.1 += 1,
            Some(e) => e.2 += 1,
            None if op == Op::Read => p.per_source.push((source, 1, 0)),
            None => p.per_source.push((source, 0, 1)),
        }
        let code = p
            .rules
            .iter_mut()
            .filter(|r| !r.is_short() && r.op == op && r.source.is_none_or(|s| s == source))
            .find_map(|r| match r.fault {
                Fault::Error(code) => r.fire().then_some(code),
                _ => None,
            })?;
        p.counts.errors += 1;
        Some(io::Error::from_raw_os_error(code))
    })
}

/// The length a stream read or write of `len` bytes may transfer: `len`, or less if a
/// short rule fires.
fn allowed<T: Source>(io: &T, dir: Direction, len: usize) -> usize {
    if len <= 1 {
        return len;
    }
    let source = id_of(io);
    let op = op_of(dir);
    PLAN.with(|p| {
        let mut p = p.borrow_mut();
        let p = &mut *p;
        let fault = p
            .rules
            .iter_mut()
            .filter(|r| r.is_short() && r.op == op && r.source.is_none_or(|s| s == source))
            .find_map(|r| r.fire().then_some(r.fault));
        let max = match fault {
            Some(Fault::Short(n)) => n.max(1),
            Some(_) => {
                // xorshift64
                let mut x = p.rng;
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                p.rng = x;
                1 + (x % len as u64) as usize
            }
            None => return len,
        };
        if max < len {
            p.counts.shortened += 1;
            max
        } else {
            len
        }
    })
}

/// The hook of a stream read: the buffer, truncated if a short rule fires.
pub(crate) fn read_buf<'a, T: Source>(io: &T, buf: &'a mut [u8]) -> &'a mut [u8] {
    let n = allowed(io, Direction::Read, buf.len());
    &mut buf[..n]
}

/// The hook of a stream write: the buffer, truncated if a short rule fires.
pub(crate) fn write_buf<'a, T: Source>(io: &T, buf: &'a [u8]) -> &'a [u8] {
    let n = allowed(io, Direction::Write, buf.len());
    &buf[..n]
}

/// The hook of a vectored stream read: `None` to use the buffers as they are, or slices
/// covering only the first bytes a short rule allows.
pub(crate) fn read_bufs<'a, T: Source>(
    io: &T,
    bufs: &'a mut [IoSliceMut<'_>],
) -> Option<Vec<IoSliceMut<'a>>> {
    let len: usize = bufs.iter().map(|b| b.len()).sum();
    let mut left = allowed(io, Direction::Read, len);
    if left == len {
        return None;
    }
    let mut out = Vec::new();
    for b in bufs.iter_mut() {
        if left == 0 {
            break;
        }
        let b: &'a mut [u8] = &mut b[..];
        let n = b.len().min(left);
        left -= n;
        out.push(IoSliceMut::new(&mut b[..n]));
    }
    Some(out)
}

/// The hook of a vectored stream write (see [`read_bufs`]).
pub(crate) fn write_bufs<'a, T: Source>(
    io: &T,
    bufs: &'a [IoSlice<'_>],
) -> Option<Vec<IoSlice<'a>>> {
    let len: usize = bufs.iter().map(|b| b.len()).sum();
    let mut left = allowed(io, Direction::Write, len);
    if left == len {
        return None;
    }
    let mut out = Vec::new();
    for b in bufs {
        if left == 0 {
            break;
        }
        let n = b.len().min(left);
        left -= n;
        out.push(IoSlice::new(&b[..n]));
    }
    Some(out)
}
