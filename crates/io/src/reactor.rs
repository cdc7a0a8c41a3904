//! The reactor: one per thread, owned by the thread that runs it.
//!
//! It owns a [`Poller`], a slab of registrations and a timer wheel, and nothing else: no
//! global state, no helper thread. Everything lives in `Cell`/`RefCell` because only the
//! owning thread touches it; other threads reach it through [`Notifier`], which only calls
//! [`Poller::notify`].
//!
//! # ReadyState without re-arming
//!
//! Where the poller supports it (epoll, kqueue) each source is registered **once**, for both
//! directions, edge-triggered. Every event sets a per-direction readiness state that is
//! cached here, so an operation that finds the source ready costs exactly its own syscall;
//! only a `WouldBlock` (or a short read or write on a stream, which proves the kernel buffer
//! was drained or filled) clears it. Because events are collected and dispatched on this
//! same thread, between two `wait`s, a clear can never race with an event: an arrival after
//! the failed syscall produces a new edge that the next `wait` delivers. On a poller without
//! edge mode the reactor falls back to oneshot registrations re-armed (one `modify`) each
//! time a task starts waiting; the API is the same.
//!
//! # Keys and stale events
//!
//! A poller key packs the slab index with a generation number. An event whose generation no
//! longer matches the live entry (its source was deregistered, its fd number perhaps reused
//! by a new socket) is recognised as stale and dropped before anyone is woken.
//!
//! # Re-entrancy
//!
//! Wakers are never called while a `RefCell` here is borrowed: dispatch collects them into a
//! reusable vector and wakes them afterwards. A waker may therefore register, deregister or
//! even park the reactor again.
//!
//! # Memory per source
//!
//! One `SourceState` slab entry (56 bytes on 64-bit targets, checked by a test: two
//! wakers, four state bytes and a generation) plus the `Async<T>` handle itself (the I/O object and a `usize` key).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io;
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use slab::Slab;
use solo_poll::{AsSource, Events, Interest, Mode, Poller};

use crate::wheel::{TimerKey, Wheel};

/// Bits of a poller key that hold the slab index; the rest hold the generation.
const INDEX_BITS: u32 = if usize::BITS >= 64 { 32 } else { 20 };
const INDEX_MASK: usize = (1 << INDEX_BITS) - 1;
/// Generations are truncated to the bits that fit beside the index.
const GEN_MASK: u32 = if usize::BITS >= 64 {
    u32::MAX
} else {
    (1 << (usize::BITS - INDEX_BITS)) - 1
};

/// One direction of I/O on a source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Direction {
    /// Reading (or accepting, or receiving).
    Read,
    /// Writing (or connecting, or sending).
    Write,
}

/// What the reactor knows about one direction's readiness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReadyState {
    /// Registered, no event yet. Operations try optimistically (a fresh socket often has
    /// data already); `readable()`/`writable()` wait for the OS to confirm.
    Unknown,
    /// The OS reported readiness and nobody has reported it through the public API yet.
    Ready,
    /// Readiness was handed to a caller of `readable()`/`writable()`. If that caller asks
    /// again before any new event, it probably saw `WouldBlock` from an operation the
    /// reactor did not see, so the reactor re-checks with the OS instead of trusting the
    /// cache (one `modify`), which neither spins nor hangs.
    Handed,
    /// An operation returned `WouldBlock` (or was short): wait for the next event.
    NotReady,
}

/// The state of one direction: cached readiness and the task waiting for it.
#[derive(Debug)]
struct Side {
    readiness: ReadyState,
    /// The OS reported a hang-up or error for this direction. Such a condition persists
    /// and produces no further edge, so a short read or write must not clear readiness
    /// once it is seen (the next read returns 0 or the error at once). `WouldBlock`
    /// still clears it, so this can never make an operation spin.
    closed: bool,
    /// Set while more waiters than `waker` wait on this direction; they sit in
    /// `Reactor::crowd`, out of the slab entry, since a second waiter is rare.
    crowded: bool,
    /// The (first) task waiting for this direction.
    waker: Option<Waker>,
}

impl Side {
    const fn new() -> Side {
        Side {
            readiness: ReadyState::Unknown,
            closed: false,
            crowded: false,
            waker: None,
        }
    }
}

/// A registered source's descriptor (nothing off Unix, where nothing is registered again).
#[cfg(unix)]
type Fd = std::os::fd::RawFd;
#[cfg(not(unix))]
type Fd = NoFd;
/// Off Unix a source keeps no descriptor (nothing is registered again).
#[cfg(not(unix))]
#[derive(Debug, Clone, Copy)]
struct NoFd;
/// The [`Fd`] of a source that is not a descriptor.
#[cfg(unix)]
const NO_FD: Fd = -1;
#[cfg(not(unix))]
const NO_FD: Fd = NoFd;

/// The [`Fd`] of `source`.
#[cfg(unix)]
fn fd_of(source: &impl AsSource) -> Fd {
    std::os::fd::AsRawFd::as_raw_fd(&source.as_source())
}
#[cfg(not(unix))]
fn fd_of(_: &impl AsSource) -> Fd {
    NO_FD
}

/// A registered source, stored in the reactor's slab.
#[derive(Debug)]
struct SourceState {
    generation: u32,
    /// The descriptor, to register it again with the poller a `fork` child re-creates
    /// (it fills what was padding: the entry stays 56 bytes).
    #[cfg_attr(not(unix), allow(dead_code))]
    fd: Fd,
    read: Side,
    write: Side,
}

impl SourceState {
    fn side(&mut self, dir: Direction) -> &mut Side {
        match dir {
            Direction::Read => &mut self.read,
            Direction::Write => &mut self.write,
        }
    }
}

/// Counters a server may show (e.g. on a `/stats` page).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Times the reactor waited in the poller.
    pub polls: u64,
    /// Events delivered by the poller (stale ones included).
    pub events: u64,
    /// Events dropped because their source was gone (generation mismatch).
    pub stale_events: u64,
    /// Sources registered now.
    pub sources: usize,
    /// Timers pending now.
    pub timers: usize,
    /// Operations on the io_uring driver's ring now (0 on the poller): in flight, or
    /// finished and not yet picked up by their task, or abandoned by a dropped future and
    /// not yet completed by the kernel (their buffers are kept until then).
    pub ring_ops: usize,
    /// TCP streams and listeners whose reads or accepts run on the io_uring driver's ring
    /// now (0 on the poller), counting those dropped whose last completion has not
    /// arrived yet.
    pub ring_sockets: usize,
    /// Provided receive buffers of the io_uring driver held by streams now (received,
    /// not yet read); the others are in the kernel's ring.
    pub ring_buffers_held: usize,
}

/// A handle that wakes a thread's reactor from any thread.
///
/// Obtained with [`notifier`]. Waking is coalesced by the poller: many calls before the
/// reactor wakes cost at most one wake-up.
#[derive(Clone, Debug)]
pub struct Notifier {
    poller: Arc<Poller>,
}

impl Notifier {
    /// Wakes the reactor if it is blocked in its poller, or makes its next wait return at
    /// once.
    pub fn notify(&self) {
        // An error here (the eventfd write failed) cannot be acted on by the waker that
        // called us; the reactor also wakes at its next timer. It does not happen in
        // practice: the counter cannot overflow because the poller drains it.
        let _ = self.poller.notify();
    }
}

/// The per-thread reactor. See the module docs.
pub(crate) struct Reactor {
    poller: Arc<Poller>,
    /// Whether sources are registered edge-triggered (otherwise oneshot, re-armed).
    edge: bool,
    sources: RefCell<Slab<SourceState>>,
    next_generation: Cell<u32>,
    timers: RefCell<Wheel>,
    events: RefCell<Events>,
    /// Waiters beyond the first on one direction of one source (several tasks in
    /// `recv_from` on one UDP socket, say), by slab index. Empty in the common case, so a
    /// registration stays one small slab entry.
    crowd: RefCell<HashMap<(usize, Direction), Vec<Waker>>>,
    /// Wakers collected during dispatch, woken after every borrow has ended. Reused.
    to_wake: RefCell<Vec<Waker>>,
    stats: Cell<Stats>,
    /// Loop utilisation, events per wait, timer lag (feature `metrics`).
    #[cfg(feature = "metrics")]
    metrics: RefCell<crate::metrics::Counters>,
    /// The io_uring driver, when this reactor runs on it (see [`driver`]); the poller is
    /// then watched through the ring.
    #[cfg(has_uring)]
    uring: Option<RefCell<crate::sys::uring::Uring>>,
    /// Loops driving this reactor now: `block_on` calls, and executors holding an
    /// [`EnterGuard`]. Read only where a task is about to wait (see `assert_driven`).
    driving: Cell<usize>,
}

thread_local! {
    static REACTOR: Reactor = Reactor::new()
        .unwrap_or_else(|e| panic!("solo-io: cannot create this thread's reactor: {e}"));
}

impl Reactor {
    fn new() -> io::Result<Reactor> {
        let wanted = wanted_driver()?;
        let poller = Poller::new()?;
        let edge = poller.supports_edge();
        #[cfg(solo_sim)]
        let now = crate::sim::instant();
        #[cfg(not(solo_sim))]
        let now = Instant::now();
        #[cfg(has_uring)]
        let uring = match wanted {
            Wanted::Poller => None,
            // Where the ring cannot be made (`ENOSYS`, `EPERM` from a seccomp filter or
            // `io_uring_disabled`, its memory refused): the poller, silently.
            Wanted::Auto => crate::sys::uring::Uring::new().ok().map(RefCell::new),
            Wanted::Uring => Some(RefCell::new(crate::sys::uring::Uring::new().map_err(
                |e| {
                    io::Error::new(
                        e.kind(),
                        format!("solo-io: SOLO_DRIVER=uring, but io_uring is not available: {e}"),
                    )
                },
            )?)),
        };
        #[cfg(not(has_uring))]
        if wanted == Wanted::Uring {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "solo-io: SOLO_DRIVER=uring, but this build has no io_uring driver \
                 (Linux on x86-64 or aarch64 only, and not with --cfg solo_poll_force_poll)",
            ));
        }
        Ok(Reactor {
            poller: Arc::new(poller),
            edge,
            sources: RefCell::new(Slab::new()),
            next_generation: Cell::new(0),
            timers: RefCell::new(Wheel::new(now)),
            events: RefCell::new(Events::with_capacity(1024)),
            crowd: RefCell::new(HashMap::new()),
            to_wake: RefCell::new(Vec::new()),
            stats: Cell::new(Stats::default()),
            #[cfg(feature = "metrics")]
            metrics: RefCell::new(crate::metrics::Counters::new(now)),
            #[cfg(has_uring)]
            uring,
            driving: Cell::new(0),
        })
    }

    /// Runs `f` with this thread's reactor, creating it on first use.
    pub(crate) fn with<R>(f: impl FnOnce(&Reactor) -> R) -> R {
        REACTOR.with(f)
    }

    /// Like [`Reactor::with`], but does nothing during thread teardown, when the reactor
    /// may already be gone (used from destructors).
    pub(crate) fn try_with(f: impl FnOnce(&Reactor)) {
        let _ = REACTOR.try_with(f);
    }

    /// The clock. The one place the reactor reads time (a seam for a virtual clock).
    pub(crate) fn now(&self) -> Instant {
        #[cfg(solo_sim)]
        return crate::sim::instant();
        #[cfg(not(solo_sim))]
        Instant::now()
    }

    /// The next timer's deadline (simulation: where the clock may jump).
    #[cfg(solo_sim)]
    pub(crate) fn next_timer(&self) -> Option<Instant> {
        self.timers.borrow_mut().next_deadline()
    }

    /// Fires the timers due at `now` (simulation).
    #[cfg(solo_sim)]
    pub(crate) fn fire_timers_sim(&self, now: Instant) -> usize {
        self.fire_timers(now)
    }

    /// `park` under simulation: see `sim::park`; then wakes what it collected.
    #[cfg(solo_sim)]
    fn park_sim(&self, timeout: Option<Duration>) -> io::Result<usize> {
        let woken = crate::sim::park(self, timeout);
        self.wake_collected();
        woken
    }

    // ----------------------------------------------------------------- sources

    /// Registers `source` and returns its key.
    pub(crate) fn register(&self, source: impl AsSource) -> io::Result<usize> {
        self.register_inner(fd_of(&source), |poller, key| {
            if self.edge {
                poller.add(source, key, Interest::BOTH, Mode::Edge)
            } else {
                poller.add(source, key, Interest::NONE, Mode::Oneshot)
            }
        })
    }

    /// Registers a source with `add`, which gives it to the poller under the key it is
    /// passed: something that is not a descriptor (a kqueue process filter). Returns the
    /// key. A `fork` child does not register it again with its own poller (a process
    /// filter there would watch a process that is not its child).
    #[cfg_attr(
        not(any(
            target_os = "macos",
            target_os = "ios",
            target_os = "freebsd",
            target_os = "netbsd",
            target_os = "openbsd",
            target_os = "dragonfly"
        )),
        allow(dead_code)
    )]
    pub(crate) fn register_with(
        &self,
        add: impl FnOnce(&Poller, usize) -> io::Result<()>,
    ) -> io::Result<usize> {
        self.register_inner(NO_FD, add)
    }

    #[cfg_attr(solo_sim, allow(unreachable_code, unused_variables))]
    fn register_inner(
        &self,
        fd: Fd,
        add: impl FnOnce(&Poller, usize) -> io::Result<()>,
    ) -> io::Result<usize> {
        // Under simulation no real source reaches the OS.
        #[cfg(solo_sim)]
        return Err(crate::sim::refused());
        self.ensure_own_poller()?;
        let mut sources = self.sources.borrow_mut();
        let entry = sources.vacant_entry();
        let index = entry.key();
        if index >= INDEX_MASK {
            return Err(io::Error::other(format!(
                "solo-io: too many registered sources (limit {INDEX_MASK})"
            )));
        }
        let generation = self.next_generation.get().wrapping_add(1) & GEN_MASK;
        self.next_generation.set(generation);
        let key = index | ((generation as usize) << INDEX_BITS);
        add(&self.poller, key)?;
        entry.insert(SourceState {
            generation,
            fd,
            read: Side::new(),
            write: Side::new(),
        });
        Ok(key)
    }

    /// Removes `source` from the poller and the slab, waking anyone still waiting on it.
    pub(crate) fn deregister(&self, key: usize, source: impl AsSource) -> io::Result<()> {
        self.deregister_with(key, |poller| poller.delete(source))
    }

    /// [`deregister`](Reactor::deregister) of a source registered with
    /// [`register_with`](Reactor::register_with): `delete` takes it from the poller.
    pub(crate) fn deregister_with(
        &self,
        key: usize,
        delete: impl FnOnce(&Poller) -> io::Result<()>,
    ) -> io::Result<()> {
        // In a fork child, never delete from the parent's poller.
        self.ensure_own_poller()?;
        let index = key & INDEX_MASK;
        let removed = {
            let mut sources = self.sources.borrow_mut();
            match sources.get(index) {
                Some(s) if s.generation == generation_of(key) => Some(sources.remove(index)),
                _ => None,
            }
        };
        let result = delete(&self.poller);
        if let Some(state) = removed {
            // The crowd's lists leave the map before anyone is woken (no borrow is held
            // while a waker runs).
            let crowd = if state.read.crowded || state.write.crowded {
                let mut crowd = self.crowd.borrow_mut();
                [Direction::Read, Direction::Write].map(|dir| crowd.remove(&(index, dir)))
            } else {
                [None, None]
            };
            let firsts = [state.read.waker, state.write.waker];
            for w in firsts
                .into_iter()
                .flatten()
                .chain(crowd.into_iter().flatten().flatten())
            {
                w.wake();
            }
        }
        result
    }

    /// Polls for readiness in `dir`.
    ///
    /// `public` selects the semantics of `readable()`/`writable()` (confirmed readiness,
    /// see [`ReadyState::Handed`]); otherwise it is the fast path of operations that clear
    /// readiness themselves on `WouldBlock` and may try optimistically.
    pub(crate) fn poll_ready(
        &self,
        key: usize,
        dir: Direction,
        source: impl AsSource,
        cx: &mut Context<'_>,
        public: bool,
    ) -> Poll<io::Result<()>> {
        self.poll_ready_with(key, dir, cx, public, |poller, key, interest, mode| {
            poller.modify(source, key, interest, mode)
        })
    }

    /// [`poll_ready`](Reactor::poll_ready) with `modify` to re-arm the source (for one
    /// registered with [`register_with`](Reactor::register_with)).
    pub(crate) fn poll_ready_with(
        &self,
        key: usize,
        dir: Direction,
        cx: &mut Context<'_>,
        public: bool,
        modify: impl FnOnce(&Poller, usize, Interest, Mode) -> io::Result<()>,
    ) -> Poll<io::Result<()>> {
        if let Err(e) = self.ensure_own_poller() {
            return Poll::Ready(Err(e));
        }
        let mut sources = self.sources.borrow_mut();
        let state = match sources.get_mut(key & INDEX_MASK) {
            Some(s) if s.generation == generation_of(key) => s,
            _ => return Poll::Ready(Err(not_registered())),
        };
        let side = state.side(dir);
        let mut rearm = false;
        match (side.readiness, public) {
            (ReadyState::Ready, true) => {
                side.readiness = ReadyState::Handed;
                return Poll::Ready(Ok(()));
            }
            (ReadyState::Handed, true) => {
                side.readiness = ReadyState::NotReady;
                rearm = true;
            }
            (ReadyState::Ready | ReadyState::Handed | ReadyState::Unknown, false) => {
                return Poll::Ready(Ok(()));
            }
            (ReadyState::Unknown | ReadyState::NotReady, _) => {}
        }
        self.assert_driven();
        match &side.waker {
            None => side.waker = Some(cx.waker().clone()),
            Some(w) if w.will_wake(cx.waker()) => {}
            Some(_) => {
                // Another task already waits here: queue this one beside it (both are
                // woken by the next event) rather than evicting it, which would make the
                // two wake each other forever.
                side.crowded = true;
                let mut crowd = self.crowd.borrow_mut();
                let others = crowd.entry((key & INDEX_MASK, dir)).or_default();
                if !others.iter().any(|w| w.will_wake(cx.waker())) {
                    others.push(cx.waker().clone());
                }
            }
        }
        let armed = if !self.edge {
            // Oneshot: arm for every direction that has a waiter.
            let interest = interest_of(state);
            modify(&self.poller, key, interest, Mode::Oneshot)
        } else if rearm {
            // Ask the OS again: re-registering makes epoll/kqueue re-evaluate and deliver
            // an event if the source is ready now.
            modify(&self.poller, key, Interest::BOTH, Mode::Edge)
        } else {
            Ok(())
        };
        drop(sources);
        match armed {
            Ok(()) => Poll::Pending,
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    /// Records that an operation in `dir` found the source not ready: it returned
    /// `WouldBlock` (`short == false`), or it was a short read or write on a stream
    /// (`short == true`), which proves the kernel buffer was drained or filled unless the
    /// peer has hung up (then the next read returns end-of-file at once, with no new
    /// event to announce it).
    pub(crate) fn clear_ready(&self, key: usize, dir: Direction, short: bool) {
        let mut sources = self.sources.borrow_mut();
        if let Some(s) = sources.get_mut(key & INDEX_MASK) {
            if s.generation == generation_of(key) {
                let side = s.side(dir);
                if !(short && side.closed) {
                    side.readiness = ReadyState::NotReady;
                }
            }
        }
    }

    // -------------------------------------------------------------------- fork

    /// Makes sure the poller is this process's: the first use of the reactor in a `fork`
    /// child re-creates it (see [`Reactor::after_fork`]) and returns `true`. One relaxed
    /// load otherwise.
    #[inline]
    fn ensure_own_poller(&self) -> io::Result<bool> {
        if self.poller.is_inherited() {
            self.after_fork().map(|()| true)
        } else {
            Ok(false)
        }
    }

    /// In a `fork` child: replaces the poller inherited from the parent (whose epoll
    /// instance and eventfd the parent still uses, or whose kqueue this process does not
    /// have) with a new one, and registers every live source with it again, from the
    /// slab, under the same key. Nothing is done to the parent's poller. Timers need
    /// nothing (the wheel is this process's memory, the clock is the same), and the
    /// blocking pool re-creates its threads on its own.
    ///
    /// Readiness cached before the fork is kept: it may be stale (the parent may have
    /// read the data since), which costs one `WouldBlock`, never a lost wake-up, because
    /// registering a source that is ready reports it at the next wait.
    #[cold]
    #[cfg(unix)]
    fn after_fork(&self) -> io::Result<()> {
        if !self.poller.reinit_after_fork()? {
            return Ok(());
        }
        #[cfg(feature = "metrics")]
        {
            self.metrics.borrow_mut().reinits_after_fork += 1;
        }
        // The ring is the parent's too (and not mapped here): a new one, before any source
        // could be used through it.
        #[cfg(has_uring)]
        if let Some(uring) = &self.uring {
            // Operations lost with the parent's ring wake their tasks at the next park.
            uring
                .borrow_mut()
                .after_fork(&mut self.to_wake.borrow_mut())?;
        }
        let sources = self.sources.borrow();
        let mut first_error = None;
        for (index, state) in sources.iter() {
            if state.fd == NO_FD {
                continue;
            }
            let key = index | ((state.generation as usize) << INDEX_BITS);
            // SAFETY: a registered source's descriptor stays open while it is registered:
            // `Async` deregisters before it closes the descriptor.
            let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(state.fd) };
            let added = if self.edge {
                self.poller.add(fd, key, Interest::BOTH, Mode::Edge)
            } else {
                self.poller.add(fd, key, interest_of(state), Mode::Oneshot)
            };
            if let Err(e) = added {
                first_error.get_or_insert_with(|| {
                    io::Error::new(
                        e.kind(),
                        format!(
                            "solo-io: cannot register descriptor {} with the poller \
                             re-created after fork: {e}",
                            state.fd
                        ),
                    )
                });
            }
        }
        drop(sources);
        // Jobs that were running on the pool at the fork never finish here: say so to
        // whoever awaits them.
        crate::blocking::abandon_orphans();
        first_error.map_or(Ok(()), Err)
    }

    /// No `fork` off Unix: a poller is never inherited.
    #[cfg(not(unix))]
    fn after_fork(&self) -> io::Result<()> {
        Ok(())
    }

    // ------------------------------------------------------------------ timers

    pub(crate) fn insert_timer(&self, deadline: Instant, waker: &Waker) -> TimerKey {
        self.timers.borrow_mut().insert(deadline, waker.clone())
    }

    pub(crate) fn reset_timer(&self, key: TimerKey, deadline: Instant) -> bool {
        self.timers.borrow_mut().reset(key, deadline)
    }

    pub(crate) fn timer_pending(&self, key: TimerKey, waker: &Waker) -> bool {
        let mut timers = self.timers.borrow_mut();
        if timers.is_pending(key) {
            timers.set_waker(key, waker);
            true
        } else {
            false
        }
    }

    pub(crate) fn remove_timer(&self, key: TimerKey) {
        self.timers.borrow_mut().remove(key);
    }

    // ------------------------------------------------------------------ driving

    /// Panics, naming the fix, if no loop drives this reactor: a task about to wait for
    /// an event or a timer here would never be woken (another executor's `block_on`
    /// sleeps on its own, and nothing would run this reactor). Called only where a task
    /// is about to wait, never when a source or timer is ready: one `Cell` read on the
    /// way to sleep.
    #[inline]
    pub(crate) fn assert_driven(&self) {
        if self.driving.get() == 0 {
            not_driven();
        }
    }

    /// Whether a loop drives this reactor now (see [`enter`]).
    #[cfg(has_uring)]
    pub(crate) fn is_driven(&self) -> bool {
        self.driving.get() > 0
    }

    /// Fires expired timers, waits for I/O (at most `timeout`, and not past the next
    /// timer), dispatches the events, and wakes every task that became ready.
    ///
    /// Returns the number of tasks woken. `Some(Duration::ZERO)` polls without blocking.
    #[cfg_attr(solo_sim, allow(unreachable_code))]
    pub(crate) fn park(&self, timeout: Option<Duration>) -> io::Result<usize> {
        // Under simulation no OS wait: deliver, fire timers, jump the clock when idle.
        #[cfg(solo_sim)]
        return self.park_sim(timeout);
        // The first park in a fork child may wake tasks (jobs lost with the pool's threads):
        // it must not block before they run.
        let timeout = if self.ensure_own_poller()? {
            Some(Duration::ZERO)
        } else {
            timeout
        };
        // One clock read serves both: measuring the wait from this slightly earlier
        // instant can only make it longer, never wake a timer early.
        let now = self.now();
        let mut woken = self.fire_timers(now);
        let timeout = if woken > 0 {
            Some(Duration::ZERO)
        } else {
            let next = self.timers.borrow_mut().next_deadline();
            match next {
                Some(deadline) => {
                    let until = deadline.saturating_duration_since(now);
                    Some(timeout.map_or(until, |t| t.min(until)))
                }
                None => timeout,
            }
        };
        let result = self.wait(timeout).map(|n| woken += n);
        if timeout != Some(Duration::ZERO) {
            let after = self.now();
            // The wait could sleep: the loop was blocked from `now` (the clock read the
            // timers needed anyway; what ran since then is a few comparisons).
            #[cfg(feature = "metrics")]
            {
                let blocked = after.saturating_duration_since(now).as_nanos();
                let mut metrics = self.metrics.borrow_mut();
                metrics.blocked_ns = metrics
                    .blocked_ns
                    .saturating_add(u64::try_from(blocked).unwrap_or(u64::MAX));
            }
            woken += self.fire_timers(after);
        }
        self.wake_collected();
        result.map(|_| woken)
    }

    /// Waits for I/O for at most `timeout` and dispatches it: through the ring when the
    /// reactor runs on io_uring, otherwise in the poller. Returns the wakers collected.
    fn wait(&self, timeout: Option<Duration>) -> io::Result<usize> {
        #[cfg(has_uring)]
        if let Some(uring) = &self.uring {
            return self.wait_uring(uring, timeout);
        }
        let mut events = self.events.borrow_mut();
        self.poller.wait(&mut events, timeout)?;
        Ok(self.dispatch(&events))
    }

    /// One turn of the ring (see `sys/uring/`): completions wake their operations'
    /// tasks; when the epoll descriptor it watches turned readable, the poller is drained
    /// without blocking and its events dispatched as under the epoll driver.
    #[cfg(has_uring)]
    fn wait_uring(
        &self,
        uring: &RefCell<crate::sys::uring::Uring>,
        timeout: Option<Duration>,
    ) -> io::Result<usize> {
        use solo_poll::os::epoll::PollerEpollExt;
        let (epoll_ready, completed) = {
            let mut to_wake = self.to_wake.borrow_mut();
            let before = to_wake.len();
            let epoll = self.poller.epoll_fd()?;
            let ready = uring.borrow_mut().turn(epoll, timeout, &mut to_wake)?;
            (ready, to_wake.len() - before)
        };
        if !epoll_ready {
            // A wait that only reaped completions (ring sockets, files): counted as a
            // wait whose events are its completions.
            let mut stats = self.stats.get();
            stats.polls += 1;
            self.stats.set(stats);
            #[cfg(feature = "metrics")]
            {
                let bucket = crate::metrics::events_bucket(completed);
                self.metrics.borrow_mut().events_per_wait[bucket] += 1;
            }
            return Ok(completed);
        }
        let mut events = self.events.borrow_mut();
        self.poller.wait(&mut events, Some(Duration::ZERO))?;
        Ok(completed + self.dispatch(&events))
    }

    /// Moves the wakers of every event's live source into `to_wake`.
    fn dispatch(&self, events: &Events) -> usize {
        let mut sources = self.sources.borrow_mut();
        let mut to_wake = self.to_wake.borrow_mut();
        let before = to_wake.len();
        let mut stats = self.stats.get();
        stats.polls += 1;
        #[cfg(feature = "metrics")]
        {
            let bucket = crate::metrics::events_bucket(events.len());
            self.metrics.borrow_mut().events_per_wait[bucket] += 1;
        }
        for ev in events.iter() {
            stats.events += 1;
            let state = match sources.get_mut(ev.key & INDEX_MASK) {
                Some(s) if s.generation == generation_of(ev.key) => s,
                _ => {
                    stats.stale_events += 1;
                    continue;
                }
            };
            // Oneshot disarms every direction: wake both waiters so each re-arms.
            let all = !self.edge;
            // A hang-up ends the read side for good; an error affects both.
            let closed = [ev.hangup || ev.error, ev.error];
            let index = ev.key & INDEX_MASK;
            for ((fired, side, dir), closed) in [
                (ev.readable, &mut state.read, Direction::Read),
                (ev.writable, &mut state.write, Direction::Write),
            ]
            .into_iter()
            .zip(closed)
            {
                side.closed |= closed;
                if fired {
                    side.readiness = ReadyState::Ready;
                }
                if fired || all {
                    if let Some(w) = side.waker.take() {
                        to_wake.push(w);
                    }
                    if std::mem::take(&mut side.crowded) {
                        let others = self.crowd.borrow_mut().remove(&(index, dir));
                        to_wake.extend(others.into_iter().flatten());
                    }
                }
            }
        }
        self.stats.set(stats);
        to_wake.len() - before
    }

    fn fire_timers(&self, now: Instant) -> usize {
        let mut to_wake = self.to_wake.borrow_mut();
        #[cfg(feature = "metrics")]
        let mut metrics = self.metrics.borrow_mut();
        let fired = self.timers.borrow_mut().fire_expired(now, |w, _late_ns| {
            to_wake.push(w);
            #[cfg(feature = "metrics")]
            metrics.timer_lag.record_ns(_late_ns);
        });
        #[cfg(feature = "metrics")]
        {
            metrics.timers_fired += fired as u64;
        }
        fired
    }

    /// Wakes every collected waker with no borrow held. A panicking waker does not stop
    /// the others; the first panic is resumed afterwards.
    fn wake_collected(&self) {
        let mut wakers = std::mem::take(&mut *self.to_wake.borrow_mut());
        if wakers.is_empty() {
            *self.to_wake.borrow_mut() = wakers;
            return;
        }
        let mut panic = None;
        for w in wakers.drain(..) {
            if let Err(p) = catch_unwind(AssertUnwindSafe(|| w.wake())) {
                panic.get_or_insert(p);
            }
        }
        // Keep the allocation unless a nested park already installed a new vector.
        let mut slot = self.to_wake.borrow_mut();
        if slot.capacity() < wakers.capacity() {
            wakers.append(&mut slot);
            *slot = wakers;
        }
        drop(slot);
        if let Some(p) = panic {
            resume_unwind(p);
        }
    }

    pub(crate) fn notifier(&self) -> Notifier {
        Notifier {
            poller: self.poller.clone(),
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        let mut s = self.stats.get();
        s.sources = self.sources.borrow().len();
        s.timers = self.timers.borrow().len();
        #[cfg(has_uring)]
        if let Some(uring) = &self.uring {
            let uring = uring.borrow();
            s.ring_ops = uring.ops();
            (s.ring_sockets, s.ring_buffers_held) = uring.net_counts();
        }
        s
    }

    #[cfg(feature = "metrics")]
    pub(crate) fn metrics(&self) -> crate::metrics::ReactorMetrics {
        let stats = self.stats();
        let m = self.metrics.borrow();
        crate::metrics::ReactorMetrics {
            uptime: self.now().saturating_duration_since(m.created),
            blocked: Duration::from_nanos(m.blocked_ns),
            waits: stats.polls,
            events: stats.events,
            stale_events: stats.stale_events,
            events_per_wait: m.events_per_wait,
            sources: stats.sources,
            timers: stats.timers,
            timers_fired: m.timers_fired,
            timer_lag: m.timer_lag.clone(),
            reinits_after_fork: m.reinits_after_fork,
        }
    }

    pub(crate) fn backend(&self) -> &'static str {
        self.poller.backend()
    }

    /// The ring, when this reactor runs on the io_uring driver, made this process's first
    /// (in a `fork` child the inherited ring is the parent's and not even mapped: it is
    /// replaced, as at the child's first park). `None` also if that fails (then the
    /// caller's readiness path reports the error).
    #[cfg(has_uring)]
    pub(crate) fn uring_owned(&self) -> Option<&RefCell<crate::sys::uring::Uring>> {
        self.uring.as_ref()?;
        self.ensure_own_poller().ok()?;
        self.uring.as_ref()
    }

    /// Runs `f` with the ring and the wakers to wake at the next park, when this reactor
    /// runs on the io_uring driver.
    #[cfg(has_uring)]
    pub(crate) fn with_uring_wake<R>(
        &self,
        f: impl FnOnce(&mut crate::sys::uring::Uring, &mut Vec<Waker>) -> R,
    ) -> Option<R> {
        let uring = self.uring_owned()?;
        let mut to_wake = self.to_wake.borrow_mut();
        Some(f(&mut uring.borrow_mut(), &mut to_wake))
    }

    /// Changes what the poller watches of registered source `key` (edge-triggered): a
    /// socket whose reads (or accepts) moved to the ring asks only for writability, or for
    /// nothing, so its arrivals cost no epoll event.
    #[cfg(has_uring)]
    pub(crate) fn set_interest(
        &self,
        key: usize,
        source: impl AsSource,
        interest: Interest,
    ) -> io::Result<()> {
        self.ensure_own_poller()?;
        self.poller.modify(source, key, interest, Mode::Edge)
    }

    pub(crate) fn driver(&self) -> &'static str {
        #[cfg(has_uring)]
        if self.uring.is_some() {
            return "io_uring";
        }
        self.poller.backend()
    }
}

/// The driver `SOLO_DRIVER` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wanted {
    /// `epoll` (or `poller`): the readiness poller of this OS, whatever it is.
    Poller,
    /// `uring` (or `io_uring`): the io_uring driver, or an error where there is none.
    Uring,
    /// `auto`, unset or empty (the default): the io_uring driver where it works, the
    /// poller otherwise.
    Auto,
}

/// Reads `SOLO_DRIVER` (see [`driver`]).
fn wanted_driver() -> io::Result<Wanted> {
    let Some(value) = std::env::var_os("SOLO_DRIVER") else {
        return Ok(Wanted::Auto);
    };
    match value.to_str() {
        Some("" | "auto") => Ok(Wanted::Auto),
        Some("epoll" | "poller") => Ok(Wanted::Poller),
        Some("uring" | "io_uring") => Ok(Wanted::Uring),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("solo-io: SOLO_DRIVER={value:?}: expected `epoll`, `uring` or `auto`"),
        )),
    }
}

fn generation_of(key: usize) -> u32 {
    (key >> INDEX_BITS) as u32
}

fn interest_of(state: &SourceState) -> Interest {
    let mut i = Interest::NONE;
    if state.read.waker.is_some() {
        i |= Interest::READABLE;
    }
    if state.write.waker.is_some() {
        i |= Interest::WRITABLE;
    }
    i
}

/// The panic of [`Reactor::assert_driven`].
#[cold]
#[inline(never)]
fn not_driven() -> ! {
    panic!(
        "solo-io: a socket, timer or other solo-io source was awaited on a thread where \
         solo-io's loop is not running, so nothing would ever wake it (this would hang). \
         Run the future with solo::block_on (or solo_io::block_on), not with another \
         executor's block_on such as futures_lite::future::block_on or \
         solo_lite::future::block_on; a custom executor holds solo_io::reactor::enter() \
         while it runs and calls solo_io::reactor::park when idle"
    )
}

fn not_registered() -> io::Error {
    io::Error::other("solo-io: source is not registered with this thread's reactor")
}

/// Returns a [`Notifier`] that wakes this thread's reactor from any thread.
///
/// The umbrella crate gives it to the executor so that a task woken on another thread
/// wakes the thread blocked in its poller.
pub fn notifier() -> Notifier {
    Reactor::with(Reactor::notifier)
}

/// Declares that a loop drives this thread's reactor until the guard is dropped: the
/// caller promises to call [`park`] whenever its tasks wait.
///
/// Awaiting a socket or timer of solo-io makes the task wait for this thread's reactor,
/// which only runs when someone parks it. [`block_on`](crate::block_on) (and the `solo`
/// crate's) hold this guard while they run; outside any such loop, a task about to wait
/// on solo-io panics with a message that names the fix, instead of hanging for ever. An
/// executor of your own that drives the reactor with [`park`] takes the guard itself.
/// Guards nest; each belongs to its thread.
///
/// # Examples
///
/// ```
/// use std::pin::pin;
/// use std::task::{Context, Poll, Waker};
/// use std::time::Duration;
///
/// // A tiny hand-rolled loop: poll, and park the reactor while the future waits.
/// let _loop = solo_io::reactor::enter();
/// let mut timer = pin!(solo_io::Timer::after(Duration::from_millis(1)));
/// let mut cx = Context::from_waker(Waker::noop());
/// while timer.as_mut().poll(&mut cx).is_pending() {
///     solo_io::reactor::park(None).unwrap();
/// }
/// ```
pub fn enter() -> EnterGuard {
    Reactor::with(|r| r.driving.set(r.driving.get() + 1));
    EnterGuard {
        _not_send: PhantomData,
    }
}

/// The guard of [`enter`]: a loop drives this thread's reactor while it lives.
#[derive(Debug)]
#[must_use = "the reactor counts as driven only while the guard lives"]
pub struct EnterGuard {
    _not_send: PhantomData<*const ()>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        Reactor::try_with(|r| {
            r.driving.set(r.driving.get().saturating_sub(1));
            // The last loop leaves: on the io_uring driver, what it queued (a TCP write's
            // send, a cancel) goes to the kernel now rather than at a next turn that may
            // not come before the thread blocks on something else.
            #[cfg(has_uring)]
            if r.driving.get() == 0 {
                if let Some(Ok(mut uring)) = r.uring.as_ref().map(RefCell::try_borrow_mut) {
                    uring.submit_queued();
                }
            }
        });
    }
}

/// Drives this thread's reactor once: fires due timers, waits for I/O for at most
/// `timeout` (`None`: until an event, a timer or a [`Notifier`] wakes it;
/// `Some(Duration::ZERO)`: no waiting), and wakes the tasks that became ready.
///
/// Returns how many wakers were woken. Used by executors that integrate the reactor (the
/// `solo` umbrella's `block_on`); [`block_on`](crate::block_on) calls it for you.
pub fn park(timeout: Option<Duration>) -> io::Result<usize> {
    Reactor::with(|r| r.park(timeout))
}

/// The name of the driver this thread's reactor runs on: `"io_uring"`, or the poller
/// backend's name (as [`backend`]).
///
/// Chosen when the thread's reactor is created, from the environment variable
/// `SOLO_DRIVER`: `epoll` (or `poller`) keeps the readiness poller of the OS, whatever
/// it is; `uring` (or `io_uring`) selects the io_uring driver (Linux on x86-64 and aarch64),
/// and creating the reactor fails (solo-io panics, naming the cause) where it is not
/// available (`ENOSYS`, `EPERM` from a seccomp filter, the ring's memory refused); `auto`,
/// the default (unset or empty), takes io_uring where a ring can be made and the poller
/// otherwise: on Linux 6.1+ without a filter that refuses io_uring, the ring.
///
/// Under the io_uring driver every API works as under the poller: readiness sources
/// (`Async<T>`, UDP and Unix sockets) stay in the poller, whose epoll descriptor the ring
/// watches; TCP streams and listeners receive, send and accept on the ring (multishot
/// receive into one provided-buffer ring per thread, batched sends, multishot accept),
/// and files run there too. What changes for a TCP stream: bytes written leave at the
/// loop's next turn (flush before blocking the thread on the peer), and reading its
/// descriptor directly bypasses data the ring already received.
pub fn driver() -> &'static str {
    Reactor::with(Reactor::driver)
}

/// Counters of this thread's reactor.
pub fn stats() -> Stats {
    Reactor::with(Reactor::stats)
}

/// A snapshot of this thread's reactor: loop utilisation, events per wait, timer lag,
/// sources and timers. Only with the `metrics` feature.
#[cfg(feature = "metrics")]
pub fn metrics() -> crate::metrics::ReactorMetrics {
    Reactor::with(Reactor::metrics)
}

/// The name of the poller backend this thread's reactor uses (`"epoll"`, `"kqueue"`,
/// `"poll"`, `"iocp"`).
pub fn backend() -> &'static str {
    Reactor::with(Reactor::backend)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_registration_costs_one_56_byte_slab_entry() {
        assert_eq!(std::mem::size_of::<SourceState>(), 56);
        // `slab` stores `enum Entry<T> { Vacant(usize), Occupied(T) }` (private there).
        #[allow(dead_code)]
        enum Entry {
            Vacant(usize),
            Occupied(SourceState),
        }
        assert_eq!(std::mem::size_of::<Entry>(), 56, "the tag hides in a niche");
    }

    #[test]
    fn keys_pack_index_and_generation() {
        let key = 7 | ((3usize) << INDEX_BITS);
        assert_eq!(key & INDEX_MASK, 7);
        assert_eq!(generation_of(key), 3);
        assert_ne!(key, usize::MAX);
    }
}
