//! The kqueue backend (macOS, iOS and Apple's other OSes, FreeBSD, NetBSD, OpenBSD,
//! DragonFly).
//!
//! - **Filters.** Readable interest is an `EVFILT_READ` filter on the descriptor, writable
//!   an `EVFILT_WRITE` filter; `Interest::NONE` has no filter at all. `Level` is kqueue's
//!   default, `Edge` is `EV_CLEAR`, `Oneshot` is `EV_ONESHOT` on each filter.
//! - **Table.** kqueue has no "registration" to ask about (`EV_ADD` on an existing filter
//!   just updates it), so a `Mutex`ed map from descriptor to registration gives `add`,
//!   `modify` and `delete` the same error kinds as the other backends and tells which
//!   filters exist. Changes are planned by [`plan`] (a plain function) and submitted at once
//!   with `EV_RECEIPT`, so each change reports its own error and no pending event is
//!   consumed by the call. A filter whose mode changes is deleted and added again: some
//!   kernels keep the `EV_CLEAR` / `EV_ONESHOT` flags of a filter's first `EV_ADD`
//!   (polling#59). Deleting a filter that is already gone (a spent oneshot, a closed
//!   descriptor) is not an error.
//! - **Oneshot.** Each filter fires once on its own; to give `Oneshot` its meaning on the
//!   other backends (one event per arming, whatever the interest), [`gate_oneshot`] lets the
//!   first event of an arming through, merges a second direction that is ready in the same
//!   batch into it, and drops a later one. Only `EV_ONESHOT` events take the table's lock.
//! - **Events.** [`translate`]: `EVFILT_READ` sets `readable`, `EVFILT_WRITE` `writable`;
//!   `EV_EOF` sets `hangup` (for a read filter: the peer stopped writing; for a write
//!   filter: the peer stopped reading), and `EV_EOF` with an errno in `fflags`, or
//!   `EV_ERROR`, sets `error`. Read and write events of one source that arrive next to each
//!   other are merged into one event.
//! - **Notify.** An `EVFILT_USER` filter registered once with `EV_CLEAR`; `notify` triggers
//!   it with `NOTE_TRIGGER` and *no* `EV_ADD`, so `EV_CLEAR` stays and a retrieved trigger
//!   resets itself (re-adding without `EV_CLEAR` makes every later wait return at once:
//!   polling#265). Where the kernel refuses `EVFILT_USER` (older NetBSD and OpenBSD), the
//!   read end of a pipe is registered with `EV_CLEAR` instead and drained by the waiter.
//! - **Timeouts.** `kevent` takes a `timespec`: exact to the nanosecond plus timer slack.
//! - **Processes** (`crate::os::kqueue`). An `EVFILT_PROC` filter with `NOTE_EXIT` on a
//!   pid, outside the descriptor table (a pid is not a descriptor, and its number may
//!   equal one): the kernel reports the exit once and deletes the filter, so there is
//!   nothing to gate or re-arm. [`process_exit`] makes the event readable and hung up.
//!   `ESRCH` on `EV_ADD` means the process has exited already (libuv meets the same).

use crate::{Event, Interest, Mode};

/// The two filters a source can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Filter {
    Read,
    Write,
}

impl Filter {
    fn wanted_by(self, interest: Interest) -> bool {
        match self {
            Filter::Read => interest.is_readable(),
            Filter::Write => interest.is_writable(),
        }
    }
}

/// One registration in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Reg {
    pub(crate) key: usize,
    pub(crate) interest: Interest,
    pub(crate) mode: Mode,
    /// False for a oneshot registration whose event was delivered, until `modify`.
    pub(crate) armed: bool,
}

impl Reg {
    pub(crate) fn new(key: usize, interest: Interest, mode: Mode) -> Reg {
        Reg {
            key,
            interest,
            mode,
            armed: true,
        }
    }
}

/// What to do with one filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// `EV_ADD` with the flags of `mode`, and `key` as `udata`.
    Add { mode: Mode, key: usize },
    /// `EV_DELETE`; a filter that is already gone is fine.
    Delete,
}

/// One change for the change list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Change {
    pub(crate) filter: Filter,
    pub(crate) op: Op,
}

/// The changes that take a source from `old` to `new` (`None`: not registered): at most a
/// delete and an add per filter, in the order they must be applied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    items: [Option<Change>; 4],
    len: usize,
}

impl Plan {
    fn push(&mut self, change: Change) {
        self.items[self.len] = Some(change);
        self.len += 1;
    }

    pub(crate) fn changes(&self) -> impl Iterator<Item = Change> + '_ {
        self.items[..self.len].iter().flatten().copied()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Plans the filter changes from registration `old` to `new`.
pub(crate) fn plan(old: Option<Reg>, new: Option<Reg>) -> Plan {
    let mut plan = Plan::default();
    for filter in [Filter::Read, Filter::Write] {
        let had = old.filter(|o| filter.wanted_by(o.interest));
        let wants = new.filter(|n| filter.wanted_by(n.interest));
        match (had, wants) {
            (Some(o), Some(n)) if o.mode != n.mode => {
                plan.push(Change {
                    filter,
                    op: Op::Delete,
                });
                plan.push(Change {
                    filter,
                    op: Op::Add {
                        mode: n.mode,
                        key: n.key,
                    },
                });
            }
            (_, Some(n)) => plan.push(Change {
                filter,
                op: Op::Add {
                    mode: n.mode,
                    key: n.key,
                },
            }),
            (Some(_), None) => plan.push(Change {
                filter,
                op: Op::Delete,
            }),
            (None, None) => {}
        }
    }
    plan
}

/// Whether a failed change may be ignored: deleting a filter that is already gone.
pub(crate) fn tolerated(op: Op, errno: i32) -> bool {
    matches!(op, Op::Delete) && errno == libc::ENOENT
}

/// The event for one kevent of a source's filter.
///
/// `eof`: `EV_EOF` in `flags`; `failed`: `EV_ERROR` in `flags`, or an errno in `fflags`
/// together with `EV_EOF`.
pub(crate) fn translate(filter: Filter, key: usize, eof: bool, failed: bool) -> Event {
    Event {
        key,
        readable: filter == Filter::Read,
        writable: filter == Filter::Write,
        hangup: eof,
        error: failed,
    }
}

/// The event for a process's exit (an `EVFILT_PROC` filter with `NOTE_EXIT`, registered
/// under `key`): readable and hung up, so that a reactor treats it like a descriptor
/// whose peer left. The kernel deletes the filter as it reports it: one event per
/// registration.
pub(crate) fn process_exit(key: usize) -> Event {
    Event {
        key,
        readable: true,
        writable: false,
        hangup: true,
        error: false,
    }
}

/// Whether a failed `EV_DELETE` of a process filter may be ignored: the filter is gone
/// (`ENOENT`: it fired, which deletes it) or so is the process (`ESRCH`).
pub(crate) fn process_gone(errno: i32) -> bool {
    errno == libc::ENOENT || errno == libc::ESRCH
}

/// Appends `ev`, or merges it into the last event if that one has the same key (kqueue
/// reports a source's read and write filters as two events).
pub(crate) fn push_merged(out: &mut Vec<Event>, ev: Event) {
    match out.last_mut() {
        Some(last) if last.key == ev.key => merge(last, ev),
        _ => out.push(ev),
    }
}

/// Merges `ev` into an event of the same key already in `out` (this batch); false if there
/// is none.
pub(crate) fn merge_into_batch(out: &mut [Event], ev: Event) -> bool {
    match out.iter_mut().rev().find(|e| e.key == ev.key) {
        Some(e) => {
            merge(e, ev);
            true
        }
        None => false,
    }
}

fn merge(into: &mut Event, ev: Event) {
    into.readable |= ev.readable;
    into.writable |= ev.writable;
    into.hangup |= ev.hangup;
    into.error |= ev.error;
}

/// What to do with an `EV_ONESHOT` event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Gate {
    /// The first event of this arming: deliver it (the registration is now disarmed).
    Deliver,
    /// The arming was already spent: only merge into an event of the same key in this
    /// batch, otherwise drop.
    MergeOnly,
}

/// Decides about an `EV_ONESHOT` event for `key`, given the table's registration of its
/// descriptor.
pub(crate) fn gate_oneshot(reg: Option<&mut Reg>, key: usize) -> Gate {
    match reg {
        Some(r) if r.key == key && r.mode == Mode::Oneshot && r.armed => {
            r.armed = false;
            Gate::Deliver
        }
        _ => Gate::MergeOnly,
    }
}

#[cfg(all(not(solo_poll_force_poll), has_kqueue))]
pub(crate) use self::os::{EventBuf, Poller};

#[cfg(all(not(solo_poll_force_poll), has_kqueue))]
mod os {
    use std::collections::HashMap;
    use std::fmt;
    use std::io;
    use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
    use std::sync::{Mutex, MutexGuard, PoisonError};
    use std::time::Duration;

    use super::super::Notified;
    use super::super::unix::{cvt, drain, pipe, timespec, wait_loop, wake};
    use super::{Filter, Gate, Op, Plan, Reg};
    use crate::{Deadline, Event, Interest, Mode, NOTIFY_KEY};

    /// The kqueue poller.
    pub(crate) struct Poller {
        kq: OwnedFd,
        notify: Notify,
        notified: Notified,
        /// Descriptor -> registration.
        regs: Mutex<HashMap<RawFd, Reg>>,
    }

    /// How `notify` wakes the waiter.
    enum Notify {
        /// `EVFILT_USER` ident 0 with `EV_CLEAR`, triggered by `NOTE_TRIGGER`.
        User,
        /// A pipe whose read end is registered `EVFILT_READ | EV_CLEAR`.
        Pipe { read: OwnedFd, write: OwnedFd },
    }

    /// The raw event array of one wait.
    pub(crate) struct EventBuf {
        list: Vec<libc::kevent>,
    }

    // SAFETY: the only pointer in a `kevent` is `udata`, which this backend uses as an
    // integer (the key) and never dereferences; the buffer is plain data.
    unsafe impl Send for EventBuf {}
    // SAFETY: as for `Send`; shared references only read the integers.
    unsafe impl Sync for EventBuf {}

    impl EventBuf {
        pub(crate) fn with_capacity(cap: usize) -> EventBuf {
            EventBuf {
                list: Vec::with_capacity(cap),
            }
        }
    }

    impl fmt::Debug for EventBuf {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("EventBuf")
                .field("capacity", &self.list.capacity())
                .finish()
        }
    }

    /// The types of `kevent.filter` and `kevent.flags` (NetBSD widened them).
    #[cfg(target_os = "netbsd")]
    type RawFilter = u32;
    #[cfg(target_os = "netbsd")]
    type Flags = u32;
    #[cfg(not(target_os = "netbsd"))]
    type RawFilter = i16;
    #[cfg(not(target_os = "netbsd"))]
    type Flags = u16;

    /// A kevent with the given fields (the rest zero).
    fn kevent(
        ident: usize,
        filter: RawFilter,
        flags: Flags,
        fflags: u32,
        key: usize,
    ) -> libc::kevent {
        // SAFETY: `kevent` is integers plus the `udata` pointer; all-zero bytes (a null
        // pointer) are a valid value of it.
        let mut kev: libc::kevent = unsafe { std::mem::zeroed() };
        kev.ident = ident;
        kev.filter = filter;
        kev.flags = flags;
        kev.fflags = fflags;
        kev.udata = std::ptr::without_provenance_mut(key);
        kev
    }

    fn raw_filter(filter: Filter) -> RawFilter {
        match filter {
            Filter::Read => libc::EVFILT_READ,
            Filter::Write => libc::EVFILT_WRITE,
        }
    }

    /// The kevent of one planned change on `fd`.
    fn change_kevent(fd: RawFd, change: super::Change) -> libc::kevent {
        let (flags, key) = match change.op {
            Op::Add { mode, key } => {
                let mode_flag = match mode {
                    Mode::Oneshot => libc::EV_ONESHOT,
                    Mode::Level => 0,
                    Mode::Edge => libc::EV_CLEAR,
                };
                (libc::EV_ADD | libc::EV_ENABLE | mode_flag, key)
            }
            Op::Delete => (libc::EV_DELETE, 0),
        };
        kevent(
            fd as usize,
            raw_filter(change.filter),
            flags | libc::EV_RECEIPT,
            0,
            key,
        )
    }

    impl Poller {
        pub(crate) const NAME: &'static str = "kqueue";
        pub(crate) const SUPPORTS_EDGE: bool = true;

        pub(crate) fn new() -> io::Result<Poller> {
            let kq = new_kqueue()?;
            let user = kevent(
                0,
                libc::EVFILT_USER,
                libc::EV_ADD | libc::EV_CLEAR | libc::EV_RECEIPT,
                0,
                NOTIFY_KEY,
            );
            let notify = match submit(
                kq.as_fd(),
                &[user],
                &[Op::Add {
                    mode: Mode::Edge,
                    key: NOTIFY_KEY,
                }],
            ) {
                Ok(()) => Notify::User,
                Err(_) => {
                    // No EVFILT_USER in this kernel: a pipe does the same job.
                    let (read, write) = pipe()?;
                    let ev = kevent(
                        read.as_raw_fd() as usize,
                        libc::EVFILT_READ,
                        libc::EV_ADD | libc::EV_CLEAR | libc::EV_RECEIPT,
                        0,
                        NOTIFY_KEY,
                    );
                    submit(
                        kq.as_fd(),
                        &[ev],
                        &[Op::Add {
                            mode: Mode::Edge,
                            key: NOTIFY_KEY,
                        }],
                    )?;
                    Notify::Pipe { read, write }
                }
            };
            Ok(Poller {
                kq,
                notify,
                notified: Notified::default(),
                regs: Mutex::new(HashMap::new()),
            })
        }

        /// Drops a poller inherited through `fork`. A kqueue is not inherited: in the child
        /// its descriptor number is closed, and may since name another descriptor of this
        /// process, so it is forgotten, not closed. The notify pipe (where there is one) is
        /// inherited like any pipe: its copies are closed.
        pub(crate) fn drop_inherited(self) {
            let Poller { kq, notify, .. } = self;
            std::mem::forget(kq);
            drop(notify);
        }

        fn regs(&self) -> MutexGuard<'_, HashMap<RawFd, Reg>> {
            // Every change leaves the map consistent, so a panic elsewhere leaves it usable.
            self.regs.lock().unwrap_or_else(PoisonError::into_inner)
        }

        /// Applies `plan` to `fd`.
        fn apply(&self, fd: RawFd, plan: &Plan) -> io::Result<()> {
            if plan.is_empty() {
                return Ok(());
            }
            let mut changes = [kevent(0, 0, 0, 0, 0); 4];
            let mut ops = [Op::Delete; 4];
            let mut n = 0;
            for change in plan.changes() {
                changes[n] = change_kevent(fd, change);
                ops[n] = change.op;
                n += 1;
            }
            submit(self.kq.as_fd(), &changes[..n], &ops[..n])
        }

        pub(crate) fn add(
            &self,
            fd: BorrowedFd<'_>,
            key: usize,
            interest: Interest,
            mode: Mode,
        ) -> io::Result<()> {
            let fd = fd.as_raw_fd();
            let mut regs = self.regs();
            if regs.contains_key(&fd) {
                return Err(crate::already_registered());
            }
            let reg = Reg::new(key, interest, mode);
            if let Err(e) = self.apply(fd, &super::plan(None, Some(reg))) {
                // Undo the filters that were added (deleting missing ones is tolerated).
                let _ = self.apply(fd, &super::plan(Some(reg), None));
                return Err(e);
            }
            regs.insert(fd, reg);
            Ok(())
        }

        /// Watches for the exit of process `pid`, reported once under `key` (see
        /// `crate::os::kqueue`). `EV_ONESHOT` is explicit: some kernels imply it for
        /// `NOTE_EXIT`, all accept it.
        pub(crate) fn add_process(&self, pid: u32, key: usize) -> io::Result<()> {
            let ev = kevent(
                pid as usize,
                libc::EVFILT_PROC,
                libc::EV_ADD | libc::EV_ENABLE | libc::EV_ONESHOT | libc::EV_RECEIPT,
                libc::NOTE_EXIT,
                key,
            );
            let op = Op::Add {
                mode: Mode::Oneshot,
                key,
            };
            submit(self.kq.as_fd(), &[ev], &[op]).map_err(|e| {
                if e.raw_os_error() == Some(libc::ESRCH) {
                    io::Error::new(
                        io::ErrorKind::NotFound,
                        format!(
                            "solo-poll: no process {pid} to watch (it has exited already, \
                             or never existed)"
                        ),
                    )
                } else {
                    e
                }
            })
        }

        /// Stops watching process `pid`; a filter that already fired (or a process that
        /// is gone) is not an error.
        pub(crate) fn delete_process(&self, pid: u32) -> io::Result<()> {
            let ev = kevent(
                pid as usize,
                libc::EVFILT_PROC,
                libc::EV_DELETE | libc::EV_RECEIPT,
                0,
                0,
            );
            match submit(self.kq.as_fd(), &[ev], &[Op::Delete]) {
                Err(e) if e.raw_os_error().is_some_and(super::process_gone) => Ok(()),
                res => res,
            }
        }

        pub(crate) fn modify(
            &self,
            fd: BorrowedFd<'_>,
            key: usize,
            interest: Interest,
            mode: Mode,
        ) -> io::Result<()> {
            let fd = fd.as_raw_fd();
            let mut regs = self.regs();
            let Some(old) = regs.get_mut(&fd) else {
                return Err(crate::not_registered());
            };
            let new = Reg::new(key, interest, mode);
            let plan = super::plan(Some(*old), Some(new));
            // Even if a change fails, the table names the filters that may exist, so a
            // later modify or delete cleans them up.
            *old = new;
            self.apply(fd, &plan)
        }

        pub(crate) fn delete(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
            let fd = fd.as_raw_fd();
            let mut regs = self.regs();
            let Some(old) = regs.remove(&fd) else {
                return Err(crate::not_registered());
            };
            self.apply(fd, &super::plan(Some(old), None))
        }

        pub(crate) fn wait(
            &self,
            buf: &mut EventBuf,
            out: &mut Vec<Event>,
            cap: usize,
            deadline: Deadline,
        ) -> io::Result<()> {
            wait_loop(
                buf,
                out,
                deadline,
                |buf, timeout| self.wait_once(buf, cap, timeout),
                |buf, out| self.collect(buf, out),
            )
        }

        /// Turns the kevents in `buf` into events; returns whether a notification was
        /// consumed.
        fn collect(&self, buf: &EventBuf, out: &mut Vec<Event>) -> io::Result<bool> {
            let mut woken = false;
            let mut regs: Option<MutexGuard<'_, HashMap<RawFd, Reg>>> = None;
            for ev in &buf.list {
                let key = ev.udata.addr();
                if key == NOTIFY_KEY {
                    if let Notify::Pipe { read, .. } = &self.notify {
                        // Drain before clearing the flag (see `notify`).
                        drain(read.as_fd())?;
                    }
                    woken |= self.notified.consume();
                    continue;
                }
                if ev.filter == libc::EVFILT_PROC {
                    // A process exited (the only process event registered).
                    out.push(super::process_exit(key));
                    continue;
                }
                let filter = if ev.filter == libc::EVFILT_READ {
                    Filter::Read
                } else if ev.filter == libc::EVFILT_WRITE {
                    Filter::Write
                } else {
                    continue;
                };
                let eof = ev.flags & libc::EV_EOF != 0;
                let failed = ev.flags & libc::EV_ERROR != 0 || (eof && ev.fflags != 0);
                let event = super::translate(filter, key, eof, failed);
                if ev.flags & libc::EV_ONESHOT == 0 {
                    super::push_merged(out, event);
                    continue;
                }
                let regs = regs.get_or_insert_with(|| self.regs());
                match super::gate_oneshot(regs.get_mut(&(ev.ident as RawFd)), key) {
                    Gate::Deliver => super::push_merged(out, event),
                    Gate::MergeOnly => {
                        super::merge_into_batch(out, event);
                    }
                }
            }
            Ok(woken)
        }

        /// One `kevent` call into `buf`.
        fn wait_once(
            &self,
            buf: &mut EventBuf,
            cap: usize,
            timeout: Option<Duration>,
        ) -> io::Result<()> {
            buf.list.clear();
            let cap = cap.min(buf.list.capacity()).min(libc::c_int::MAX as usize);
            let ts = timeout.map(timespec);
            let tsp = ts
                .as_ref()
                .map_or(std::ptr::null(), |ts| ts as *const libc::timespec);
            // SAFETY: no changes are passed; the list pointer is valid for writes of `cap`
            // kevents (`cap` is at most the vector's capacity), and `tsp` is null or points
            // to a live timespec.
            let n = cvt(unsafe {
                libc::kevent(
                    self.kq.as_raw_fd(),
                    std::ptr::null(),
                    0,
                    buf.list.as_mut_ptr(),
                    cap as _,
                    tsp,
                )
            })?;
            // SAFETY: the kernel initialised the first `n` entries, and `n <= cap`.
            unsafe { buf.list.set_len(n as usize) };
            Ok(())
        }

        pub(crate) fn notify(&self) -> io::Result<()> {
            self.notified.notify(|| match &self.notify {
                Notify::User => {
                    // No EV_ADD: the filter keeps the EV_CLEAR it was registered with.
                    let trigger = kevent(0, libc::EVFILT_USER, 0, libc::NOTE_TRIGGER, NOTIFY_KEY);
                    let zero = timespec(Duration::ZERO);
                    // SAFETY: one valid change, no event list, and a live timespec.
                    cvt(unsafe {
                        libc::kevent(
                            self.kq.as_raw_fd(),
                            &trigger,
                            1,
                            std::ptr::null_mut(),
                            0,
                            &zero,
                        )
                    })
                    .map(drop)
                }
                Notify::Pipe { write, .. } => wake(write.as_fd(), &[1]),
            })
        }
    }

    impl fmt::Debug for Poller {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("Poller")
                .field("kqueue", &self.kq.as_raw_fd())
                .field("evfilt_user", &matches!(self.notify, Notify::User))
                .finish()
        }
    }

    /// A new kqueue, close-on-exec.
    fn new_kqueue() -> io::Result<OwnedFd> {
        #[cfg(target_os = "netbsd")]
        {
            // SAFETY: a plain system call with a flag argument.
            let kq = cvt(unsafe { libc::kqueue1(libc::O_CLOEXEC) })?;
            // SAFETY: `kq` is a new descriptor that nothing else owns.
            Ok(unsafe { OwnedFd::from_raw_fd(kq) })
        }
        #[cfg(not(target_os = "netbsd"))]
        {
            // SAFETY: a plain system call without arguments.
            let kq = cvt(unsafe { libc::kqueue() })?;
            // SAFETY: `kq` is a new descriptor that nothing else owns.
            let kq = unsafe { OwnedFd::from_raw_fd(kq) };
            // No kqueue1 here: a fork+exec in another thread before this line could leak
            // the descriptor into the child (kqueues are not inherited by fork itself).
            // SAFETY: `kq` is open; F_SETFD takes an int.
            cvt(unsafe { libc::fcntl(kq.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) })?;
            Ok(kq)
        }
    }

    /// Submits `changes` (each with `EV_RECEIPT`) and checks every receipt; `ops[i]` is
    /// what `changes[i]` does, to tell a tolerable failure from a real one.
    fn submit(kq: BorrowedFd<'_>, changes: &[libc::kevent], ops: &[Op]) -> io::Result<()> {
        let mut receipts = [kevent(0, 0, 0, 0, 0); 4];
        let n = changes.len().min(receipts.len());
        let zero = timespec(Duration::ZERO);
        // SAFETY: `changes` is valid for reads of `n` kevents, `receipts` for writes of `n`,
        // and `zero` is a live timespec. With EV_RECEIPT every change yields one receipt
        // and no pending event is returned.
        let got = cvt(unsafe {
            libc::kevent(
                kq.as_raw_fd(),
                changes.as_ptr(),
                n as _,
                receipts.as_mut_ptr(),
                n as _,
                &zero,
            )
        })? as usize;
        let mut first_error = None;
        for (i, r) in receipts[..got.min(n)].iter().enumerate() {
            if r.flags & libc::EV_ERROR == 0 || r.data == 0 {
                continue;
            }
            let errno = r.data as i32;
            if !super::tolerated(ops[i], errno) && first_error.is_none() {
                first_error = Some(io::Error::from_raw_os_error(errno));
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(filter: Filter, mode: Mode, key: usize) -> Change {
        Change {
            filter,
            op: Op::Add { mode, key },
        }
    }

    fn del(filter: Filter) -> Change {
        Change {
            filter,
            op: Op::Delete,
        }
    }

    fn changes(p: Plan) -> Vec<Change> {
        p.changes().collect()
    }

    #[test]
    fn plan_add_and_delete() {
        let both = Reg::new(1, Interest::BOTH, Mode::Edge);
        assert_eq!(
            changes(plan(None, Some(both))),
            [
                add(Filter::Read, Mode::Edge, 1),
                add(Filter::Write, Mode::Edge, 1)
            ]
        );
        assert_eq!(
            changes(plan(Some(both), None)),
            [del(Filter::Read), del(Filter::Write)]
        );
        // NONE has no filters at all.
        let none = Reg::new(1, Interest::NONE, Mode::Level);
        assert!(plan(None, Some(none)).is_empty());
        assert!(plan(Some(none), None).is_empty());
    }

    #[test]
    fn plan_modify_interest() {
        let r = Reg::new(1, Interest::READABLE, Mode::Level);
        let w = Reg::new(2, Interest::WRITABLE, Mode::Level);
        assert_eq!(
            changes(plan(Some(r), Some(w))),
            [del(Filter::Read), add(Filter::Write, Mode::Level, 2)]
        );
        // Same interest and mode: EV_ADD again re-arms and updates the key.
        let r2 = Reg::new(9, Interest::READABLE, Mode::Level);
        assert_eq!(
            changes(plan(Some(r), Some(r2))),
            [add(Filter::Read, Mode::Level, 9)]
        );
        // To NONE: the filters go.
        let none = Reg::new(1, Interest::NONE, Mode::Level);
        assert_eq!(changes(plan(Some(r), Some(none))), [del(Filter::Read)]);
    }

    #[test]
    fn plan_mode_change_deletes_first() {
        let oneshot = Reg::new(1, Interest::BOTH, Mode::Oneshot);
        let edge = Reg::new(1, Interest::READABLE, Mode::Edge);
        assert_eq!(
            changes(plan(Some(oneshot), Some(edge))),
            [
                del(Filter::Read),
                add(Filter::Read, Mode::Edge, 1),
                del(Filter::Write)
            ]
        );
        let level = Reg::new(1, Interest::BOTH, Mode::Level);
        assert_eq!(
            changes(plan(Some(oneshot), Some(level))),
            [
                del(Filter::Read),
                add(Filter::Read, Mode::Level, 1),
                del(Filter::Write),
                add(Filter::Write, Mode::Level, 1)
            ]
        );
    }

    #[test]
    fn only_missing_deletes_are_tolerated() {
        assert!(tolerated(Op::Delete, libc::ENOENT));
        assert!(!tolerated(Op::Delete, libc::EBADF));
        assert!(!tolerated(
            Op::Add {
                mode: Mode::Level,
                key: 1
            },
            libc::ENOENT
        ));
        assert!(!tolerated(
            Op::Add {
                mode: Mode::Level,
                key: 1
            },
            libc::EPIPE
        ));
    }

    #[test]
    fn translate_filters() {
        let e = translate(Filter::Read, 4, false, false);
        assert_eq!(
            e,
            Event {
                key: 4,
                readable: true,
                writable: false,
                hangup: false,
                error: false
            }
        );
        let e = translate(Filter::Write, 4, true, true);
        assert_eq!(
            e,
            Event {
                key: 4,
                readable: false,
                writable: true,
                hangup: true,
                error: true
            }
        );
    }

    #[test]
    fn read_and_write_events_merge() {
        let mut out = Vec::new();
        push_merged(&mut out, translate(Filter::Read, 1, false, false));
        push_merged(&mut out, translate(Filter::Write, 1, true, false));
        push_merged(&mut out, translate(Filter::Read, 2, false, false));
        assert_eq!(out.len(), 2);
        assert!(out[0].readable && out[0].writable && out[0].hangup);
        assert!(out[1].readable && !out[1].writable);
        // Not adjacent: only the oneshot path searches the batch.
        assert!(merge_into_batch(
            &mut out,
            translate(Filter::Write, 1, false, true)
        ));
        assert!(out[0].error);
        assert!(!merge_into_batch(
            &mut out,
            translate(Filter::Read, 3, false, false)
        ));
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn process_exit_reads_as_a_hang_up() {
        let e = process_exit(9);
        assert!(e.key == 9 && e.readable && e.hangup && !e.writable && !e.error);
        assert!(process_gone(libc::ENOENT) && process_gone(libc::ESRCH));
        assert!(!process_gone(libc::EBADF));
    }

    #[test]
    fn oneshot_delivers_once_per_arming() {
        let mut reg = Reg::new(5, Interest::BOTH, Mode::Oneshot);
        assert_eq!(gate_oneshot(Some(&mut reg), 5), Gate::Deliver);
        assert!(!reg.armed);
        // The other direction's filter fires later: merged or dropped.
        assert_eq!(gate_oneshot(Some(&mut reg), 5), Gate::MergeOnly);
        // Re-armed by modify.
        reg = Reg::new(5, Interest::BOTH, Mode::Oneshot);
        assert_eq!(gate_oneshot(Some(&mut reg), 5), Gate::Deliver);
        // Deleted meanwhile, or re-registered under another key or mode: not delivered.
        assert_eq!(gate_oneshot(None, 5), Gate::MergeOnly);
        let mut other = Reg::new(6, Interest::BOTH, Mode::Oneshot);
        assert_eq!(gate_oneshot(Some(&mut other), 5), Gate::MergeOnly);
        assert!(other.armed);
        let mut level = Reg::new(5, Interest::BOTH, Mode::Level);
        assert_eq!(gate_oneshot(Some(&mut level), 5), Gate::MergeOnly);
    }
}
