//! The poll(2) backend: Unixes without epoll or kqueue, and any Unix built with
//! `--cfg solo_poll_force_poll`.
//!
//! - **Table.** The registrations live in a `Mutex`: a `pollfd` array (slot 0 is the wake-up
//!   pipe), a parallel array of registrations, and a map from descriptor to slot. A
//!   registration that must not report (interest `NONE`, or a spent oneshot) keeps its slot
//!   with the descriptor set to `-1`, which poll(2) skips, so neither `POLLHUP` nor
//!   `POLLERR` can make it spin.
//! - **Wait.** The waiter copies the array into its `EventBuf` under the lock, polls the copy
//!   without the lock, then translates the results under the lock against the *current*
//!   table: a slot whose registration was deleted, replaced or re-armed in the meantime
//!   (its generation changed) is skipped, and results are masked by the current interest.
//!   A oneshot registration is disarmed as it is reported. A descriptor that was closed
//!   without `delete` (`POLLNVAL`) leaves the table, as epoll would forget it. Scanning
//!   starts where the last full batch stopped, so more ready sources than fit in `Events`
//!   are all served in turn.
//! - **Changes while waiting.** `add`, `modify` and `delete` from another thread set a flag
//!   and write one byte to the wake-up pipe when a wait is inside poll(2); the waiter
//!   drains the pipe, copies the changed table and polls again with the remaining time.
//!   `notify` writes the same pipe but also sets `notified`: after draining, the waiter
//!   returns only if it can clear that flag, so a wake-up for a table change never ends a
//!   wait early.
//! - **Several waiters** take turns: one thread polls, the others sleep on a condition
//!   variable until it returns or their own deadline passes.
//! - **Timeouts.** `ppoll` with a `timespec` where the OS has it (Linux, Android, the BSDs),
//!   else poll(2) with milliseconds rounded up.
//! - **Modes.** Oneshot and level. Edge-triggered readiness cannot be built on poll(2)
//!   without guessing, so `Mode::Edge` is refused before reaching this module.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::Notified;
use super::unix::{cvt, drain, pipe, wait_loop, wake};
use crate::{Deadline, Event, Interest, Mode};

/// The poll(2) poller.
pub(crate) struct Poller {
    state: Mutex<State>,
    /// Signalled when the polling thread finishes, for waiters taking turns.
    turn: Condvar,
    /// The wake-up pipe: slot 0 of the `pollfd` array polls `wake_read`.
    wake_read: OwnedFd,
    wake_write: OwnedFd,
    notified: Notified,
}

struct State {
    /// Slot 0: the wake-up pipe; slot `i + 1`: `regs[i]` (fd `-1` while it must not report).
    fds: Vec<libc::pollfd>,
    /// The generation of each slot's registration (0 for the wake-up pipe).
    gens: Vec<u64>,
    regs: Vec<Reg>,
    /// Descriptor -> index into `regs`.
    index: HashMap<RawFd, usize>,
    next_gen: u64,
    /// A thread is inside poll(2) with a copy of `fds`.
    polling: bool,
    /// A wake-up byte for a table change is in the pipe, not yet seen by the waiter.
    interrupted: bool,
    /// The slot where the next scan of results starts.
    cursor: usize,
}

#[derive(Clone, Copy, Debug)]
struct Reg {
    fd: RawFd,
    key: usize,
    interest: Interest,
    mode: Mode,
    /// False for a oneshot registration that has reported and awaits `modify`.
    armed: bool,
    generation: u64,
}

/// A copy of the `pollfd` array and its generations, polled by one wait.
pub(crate) struct EventBuf {
    fds: Vec<libc::pollfd>,
    gens: Vec<u64>,
}

impl EventBuf {
    pub(crate) fn with_capacity(cap: usize) -> EventBuf {
        // The copy grows with the table, not with the number of events.
        let _ = cap;
        EventBuf {
            fds: Vec::new(),
            gens: Vec::new(),
        }
    }
}

impl fmt::Debug for EventBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventBuf")
            .field("slots", &self.fds.capacity())
            .finish()
    }
}

#[cfg(has_epoll)] // POLLRDHUP: Linux's, like epoll
const READ_EVENTS: libc::c_short = libc::POLLIN | libc::POLLRDHUP;
#[cfg(not(has_epoll))]
const READ_EVENTS: libc::c_short = libc::POLLIN;

#[cfg(has_epoll)]
const RDHUP: libc::c_short = libc::POLLRDHUP;
#[cfg(not(has_epoll))]
const RDHUP: libc::c_short = 0;

/// The `pollfd` of a registration.
fn pollfd(reg: &Reg) -> libc::pollfd {
    let mut events = 0;
    if reg.interest.is_readable() {
        events |= READ_EVENTS;
    }
    if reg.interest.is_writable() {
        events |= libc::POLLOUT;
    }
    let fd = if reg.armed && events != 0 { reg.fd } else { -1 };
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}

/// The event for `revents` of a registration with `interest`, or `None` if it concerns
/// no direction of interest.
fn translate(key: usize, interest: Interest, revents: libc::c_short) -> Option<Event> {
    let hangup = revents & (libc::POLLHUP | RDHUP) != 0;
    let error = revents & libc::POLLERR != 0;
    let readable = interest.is_readable()
        && revents & (libc::POLLIN | libc::POLLPRI | libc::POLLHUP | RDHUP | libc::POLLERR) != 0;
    let writable =
        interest.is_writable() && revents & (libc::POLLOUT | libc::POLLHUP | libc::POLLERR) != 0;
    (readable || writable).then_some(Event {
        key,
        readable,
        writable,
        hangup,
        error,
    })
}

impl Poller {
    pub(crate) const NAME: &'static str = "poll";
    pub(crate) const SUPPORTS_EDGE: bool = false;

    pub(crate) fn new() -> io::Result<Poller> {
        let (wake_read, wake_write) = pipe()?;
        let slot0 = libc::pollfd {
            fd: wake_read.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        Ok(Poller {
            state: Mutex::new(State {
                fds: vec![slot0],
                gens: vec![0],
                regs: Vec::new(),
                index: HashMap::new(),
                next_gen: 1,
                polling: false,
                interrupted: false,
                cursor: 1,
            }),
            turn: Condvar::new(),
            wake_read,
            wake_write,
            notified: Notified::default(),
        })
    }

    /// Drops a poller inherited through `fork`: its table is this process's copy, and the
    /// wake-up pipe's descriptors are copies of the parent's, so closing them is all.
    pub(crate) fn drop_inherited(self) {
        drop(self);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The table stays consistent at every unlock, so a panic elsewhere leaves it usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn add(
        &self,
        fd: BorrowedFd<'_>,
        key: usize,
        interest: Interest,
        mode: Mode,
    ) -> io::Result<()> {
        let fd = fd.as_raw_fd();
        let mut state = self.lock();
        if state.index.contains_key(&fd) {
            return Err(crate::already_registered());
        }
        let reg = state.new_reg(fd, key, interest, mode);
        state.fds.push(pollfd(&reg));
        state.gens.push(reg.generation);
        let i = state.regs.len();
        state.regs.push(reg);
        state.index.insert(fd, i);
        self.interrupt(&mut state)
    }

    pub(crate) fn modify(
        &self,
        fd: BorrowedFd<'_>,
        key: usize,
        interest: Interest,
        mode: Mode,
    ) -> io::Result<()> {
        let fd = fd.as_raw_fd();
        let mut state = self.lock();
        let Some(&i) = state.index.get(&fd) else {
            return Err(crate::not_registered());
        };
        // A new generation: results a concurrent poll(2) got for the old registration
        // are dropped, and the waiter polls again with the new one.
        let reg = state.new_reg(fd, key, interest, mode);
        state.regs[i] = reg;
        state.fds[i + 1] = pollfd(&reg);
        state.gens[i + 1] = reg.generation;
        self.interrupt(&mut state)
    }

    pub(crate) fn delete(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        let mut state = self.lock();
        if !state.remove(fd.as_raw_fd()) {
            return Err(crate::not_registered());
        }
        self.interrupt(&mut state)
    }

    /// Wakes the thread inside poll(2), if any, so that it picks up a table change.
    fn interrupt(&self, state: &mut State) -> io::Result<()> {
        if state.polling && !state.interrupted {
            state.interrupted = true;
            wake(self.wake_write.as_fd(), &[1])?;
        }
        Ok(())
    }

    pub(crate) fn wait(
        &self,
        buf: &mut EventBuf,
        out: &mut Vec<Event>,
        cap: usize,
        deadline: Deadline,
    ) -> io::Result<()> {
        let mut state = self.lock();
        // Take our turn: one thread polls at a time.
        while state.polling {
            state = match deadline.remaining() {
                None => self
                    .turn
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(d) if d.is_zero() => return Ok(()),
                Some(d) => {
                    self.turn
                        .wait_timeout(state, d)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
        state.polling = true;
        let turn = Turn { poller: self };
        drop(state);
        let result = self.poll_loop(buf, out, cap, deadline);
        drop(turn);
        result
    }

    /// The body of `wait` while this thread holds the turn.
    fn poll_loop(
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
            |buf, timeout| {
                {
                    let mut state = self.lock();
                    state.interrupted = false;
                    buf.fds.clear();
                    buf.fds.extend_from_slice(&state.fds);
                    buf.gens.clear();
                    buf.gens.extend_from_slice(&state.gens);
                }
                poll(&mut buf.fds, timeout)
            },
            |buf, out| {
                let mut woken = false;
                if buf.fds[0].revents != 0 {
                    // Drain first, then clear the flag: a notify racing with this sees the
                    // flag still set and is coalesced into this return; one that comes after
                    // the flag is cleared writes a fresh byte.
                    drain(self.wake_read.as_fd())?;
                    woken = self.notified.consume();
                }
                self.lock().collect(buf, out, cap);
                Ok(woken)
            },
        )
    }

    pub(crate) fn notify(&self) -> io::Result<()> {
        self.notified.notify(|| wake(self.wake_write.as_fd(), &[1]))
    }
}

impl fmt::Debug for Poller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("Poller")
            .field("registrations", &state.regs.len())
            .field(
                "wake_pipe",
                &(self.wake_read.as_raw_fd(), self.wake_write.as_raw_fd()),
            )
            .finish()
    }
}

/// Gives the turn back (also when the wait fails or panics) and wakes the next waiter.
struct Turn<'a> {
    poller: &'a Poller,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.poller.lock().polling = false;
        self.poller.turn.notify_one();
    }
}

impl State {
    /// An armed registration with the next generation.
    fn new_reg(&mut self, fd: RawFd, key: usize, interest: Interest, mode: Mode) -> Reg {
        let generation = self.next_gen;
        self.next_gen += 1;
        Reg {
            fd,
            key,
            interest,
            mode,
            armed: true,
            generation,
        }
    }

    /// Removes the registration of `fd`; false if there is none.
    fn remove(&mut self, fd: RawFd) -> bool {
        let Some(i) = self.index.remove(&fd) else {
            return false;
        };
        self.regs.swap_remove(i);
        self.fds.swap_remove(i + 1);
        self.gens.swap_remove(i + 1);
        if let Some(moved) = self.regs.get(i) {
            self.index.insert(moved.fd, i);
        }
        true
    }

    /// Turns the results in `buf` into events against the current table.
    fn collect(&mut self, buf: &EventBuf, out: &mut Vec<Event>, cap: usize) {
        let slots = buf.fds.len();
        if slots <= 1 {
            return;
        }
        let start = self.cursor.clamp(1, slots - 1);
        let order = (start..slots).chain(1..start);
        for slot in order {
            let p = buf.fds[slot];
            if p.revents == 0 || p.fd < 0 {
                continue;
            }
            let Some(&i) = self.index.get(&p.fd) else {
                continue; // deleted meanwhile
            };
            if self.regs[i].generation != buf.gens[slot] {
                continue; // replaced or re-armed meanwhile: the next poll sees the new one
            }
            if p.revents & libc::POLLNVAL != 0 {
                // Closed without `delete`: forget it, as epoll does, instead of spinning.
                self.remove(p.fd);
                continue;
            }
            let reg = self.regs[i];
            if !reg.armed {
                continue;
            }
            let Some(event) = translate(reg.key, reg.interest, p.revents) else {
                continue;
            };
            if out.len() == cap {
                self.cursor = slot; // serve this one first next time
                return;
            }
            if reg.mode == Mode::Oneshot {
                self.regs[i].armed = false;
                self.fds[i + 1].fd = -1;
            }
            out.push(event);
        }
    }
}

/// One ppoll/poll call; the results are in the `revents` of `fds`.
fn poll(fds: &mut [libc::pollfd], timeout: Option<Duration>) -> io::Result<()> {
    let nfds = fds.len() as libc::nfds_t;
    #[cfg(has_ppoll)]
    {
        let ts = timeout.map(super::unix::timespec);
        let tsp = ts
            .as_ref()
            .map_or(std::ptr::null(), |ts| ts as *const libc::timespec);
        // SAFETY: `fds` is valid for reads and writes of `nfds` entries, `tsp` is null or
        // points to a live timespec, and a null signal mask leaves the mask unchanged.
        cvt(unsafe { libc::ppoll(fds.as_mut_ptr(), nfds, tsp, std::ptr::null()) }).map(drop)
    }
    #[cfg(not(has_ppoll))]
    {
        let ms = super::unix::ceil_ms(timeout);
        // SAFETY: `fds` is valid for reads and writes of `nfds` entries.
        cvt(unsafe { libc::poll(fds.as_mut_ptr(), nfds, ms) }).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pollfd_disarmed_and_none_are_skipped() {
        let mut reg = Reg {
            fd: 5,
            key: 1,
            interest: Interest::BOTH,
            mode: Mode::Level,
            armed: true,
            generation: 1,
        };
        let p = pollfd(&reg);
        assert_eq!(p.fd, 5);
        assert_eq!(p.events, READ_EVENTS | libc::POLLOUT);
        reg.armed = false;
        assert_eq!(pollfd(&reg).fd, -1);
        reg.armed = true;
        reg.interest = Interest::NONE;
        assert_eq!(pollfd(&reg).fd, -1);
    }

    #[test]
    fn translate_masks_by_interest() {
        let e = translate(3, Interest::READABLE, libc::POLLIN).unwrap();
        assert!(e.readable && !e.writable);
        // A hang-up wakes only the interested direction.
        let e = translate(3, Interest::READABLE, libc::POLLHUP).unwrap();
        assert!(e.readable && !e.writable && e.hangup);
        let e = translate(3, Interest::WRITABLE, libc::POLLHUP | libc::POLLERR).unwrap();
        assert!(!e.readable && e.writable && e.hangup && e.error);
        // Readiness for a direction nobody asked for is no event.
        assert_eq!(translate(3, Interest::WRITABLE, libc::POLLIN), None);
        assert_eq!(translate(3, Interest::NONE, libc::POLLERR), None);
    }

    #[test]
    fn remove_keeps_index_consistent() {
        let p = Poller::new().unwrap();
        let socks: Vec<_> = (0..4)
            .map(|_| std::os::unix::net::UnixStream::pair().unwrap())
            .collect();
        for (k, (a, _)) in socks.iter().enumerate() {
            p.add(a.as_fd(), k, Interest::READABLE, Mode::Level)
                .unwrap();
        }
        p.delete(socks[1].0.as_fd()).unwrap();
        let state = p.lock();
        assert_eq!(state.regs.len(), 3);
        assert_eq!(state.fds.len(), 4);
        for (fd, &i) in &state.index {
            assert_eq!(state.regs[i].fd, *fd);
            assert_eq!(state.fds[i + 1].fd, *fd);
        }
    }

    #[test]
    fn closed_without_delete_is_dropped_not_spun_on() {
        use std::os::fd::{FromRawFd, IntoRawFd};
        let p = Poller::new().unwrap();
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        p.add(a.as_fd(), 1, Interest::READABLE, Mode::Level)
            .unwrap();
        let raw = a.into_raw_fd();
        // SAFETY: `raw` came from `into_raw_fd` and is owned by nothing else.
        drop(unsafe { OwnedFd::from_raw_fd(raw) });
        let mut buf = EventBuf::with_capacity(8);
        let mut out = Vec::with_capacity(8);
        p.wait(
            &mut buf,
            &mut out,
            8,
            Deadline::after(Some(Duration::from_millis(20))),
        )
        .unwrap();
        // SAFETY: F_GETFD on any number is harmless; it only asks whether it is open.
        let reused = unsafe { libc::fcntl(raw, libc::F_GETFD) } != -1;
        if !reused {
            // POLLNVAL removed it (otherwise every poll(2) would return at once).
            assert!(out.is_empty());
            assert!(!p.lock().index.contains_key(&raw));
        }
    }
}
