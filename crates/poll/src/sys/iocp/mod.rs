//! The IOCP backend (Windows): readiness of sockets through AFD polls completed on an I/O
//! completion port.
//!
//! # The technique
//!
//! An I/O completion port reports *completions*: an overlapped operation finishes and a
//! packet is queued. solo-poll reports *readiness*. The bridge is the Ancillary Function
//! Driver (`afd.sys`), the kernel half of Winsock, where every socket handle is a handle to
//! an AFD endpoint. AFD has an ioctl, `IOCTL_AFD_POLL`, that is the kernel side of `select`
//! and `WSAPoll`: given sockets and event bits (receive, send, accept, disconnect, ...), it
//! completes when one of them is ready. Issued as overlapped I/O through a handle that is
//! associated with a completion port, its completion is a packet on the port: readiness has
//! become a completion. `NtDeviceIoControlFile` issues it, `NtCancelIoFileEx` cancels it,
//! and any handle opened on `\Device\Afd` (a *helper handle*, not a socket) can carry polls
//! for any socket.
//!
//! libuv has polled this way for `uv_poll_t` for most of its life. Bert Belder's wepoll
//! turned the technique into a full emulation of epoll for Windows and documented its
//! pitfalls; mio (from 0.7) and polling (from 3.0, which earlier embedded wepoll itself)
//! do the same in Rust. The ioctl is undocumented, which would normally rule it out; here it
//! is acceptable because Node.js (through libuv), Tokio (through mio) and smol (through
//! polling) all depend on it, Wine implements it, and its interface has been stable since
//! Windows XP: Microsoft cannot change it without breaking much of the ecosystem. The
//! documented alternatives are worse for a readiness poller: `select`/`WSAPoll` rescan every
//! socket on every call (and need a socket of their own to be woken), and emulating
//! readiness with overlapped reads into buffers of the poller's own (mio 0.6) changes what a
//! read means and costs a buffer per socket.
//!
//! # How this backend uses it
//!
//! - **One poll per socket.** A registration owns a [`Block`](afd::Block): a heap
//!   allocation holding the `IO_STATUS_BLOCK` and the `AFD_POLL_INFO` buffer of its poll
//!   (and the socket, to find the registration again). At most one poll per socket is in
//!   flight: `modify` with a new interest *cancels* the poll and submits the new one when the
//!   cancelled one's completion is dequeued, never earlier (two polls of one socket pending
//!   at once are the suspected cause of the lost events of wepoll#35).
//! - **Lifetimes.** Once a poll is submitted, exactly one packet will come back for it,
//!   even after cancellation, `delete` or the socket's close, and the kernel writes the
//!   block until then. So a block lives until its packet is dequeued: `delete` of a
//!   registration with a poll in flight cancels the poll and moves the block to a table of
//!   *zombies*, freed when the packet arrives (never reported); dropping the poller cancels
//!   everything and drains the port (a block whose packet never comes within a few seconds
//!   is leaked, not freed). These are the use-after-free bugs of mio#1042, mio#2004 and
//!   pjproject#985. A submission that fails synchronously with an error status queues no
//!   packet, and only then is the block reusable at once.
//! - **Modes.** `Oneshot`: after an event the registration stays idle until `modify`.
//!   `Level`: the poll is submitted again at the start of the *next* wait (not at once: a
//!   poll re-submitted before the caller has read would report the data that is about to be
//!   read). `Edge`: AFD reports states (data is buffered), not changes, and the poller
//!   cannot see when the caller's reads reach `WouldBlock`, so edge-triggered events cannot
//!   be honoured; `supports_edge()` is false and `add` refuses `Mode::Edge` with
//!   `Unsupported`.
//! - **Events.** See [`afd::poll_mask`] and [`afd::translate`]: readable for receive,
//!   accept and the peer's disconnect (hang-up hint); writable for send (a connect that
//!   succeeded); abort (reset) and connect-fail wake both directions with the error hint.
//!   Events are masked by the current interest, and a completion that concerns none is not
//!   reported (the poll is submitted again).
//! - **Base sockets.** Polls name the socket's base handle (`SIO_BASE_HANDLE`), not the
//!   handle the caller has, which a layered service provider may have wrapped (mio#1315).
//!   The table is keyed by the caller's handle, so `modify` needs no extra system call.
//! - **Helper handles.** Sockets are spread over AFD helper handles in groups of 32, as
//!   wepoll does: cancelling a poll costs time proportional to the polls pending on the
//!   same handle (trio#1280 measured the single-handle design slowing down superlinearly
//!   with many sockets). A group is kept open for reuse once its sockets are gone.
//! - **Closing.** A socket closed while its poll is in flight completes the poll with
//!   `AFD_POLL_LOCAL_CLOSE`; the registration is then forgotten, as epoll forgets a closed
//!   descriptor. One closed while idle (a spent oneshot) keeps its entry until `delete`, or
//!   until a re-submission finds the handle invalid.
//! - **Threads.** The table is behind a mutex; the port itself is waited on without it, by
//!   any number of threads. Polls are submitted by whichever thread calls `add`, `modify`
//!   or `wait`. Windows has historically cancelled I/O when the thread that issued it exits
//!   (the `WSASend` documentation still says so); a cancellation nobody asked for is simply
//!   submitted again by the wait that dequeues it, so a thread that registers a socket and
//!   exits loses nothing.
//! - **Notify** posts a packet with its own key, at most one in flight ([`Notified`]).
//! - **Timeouts.** See [`timer`]: a high-resolution waitable timer wakes the port for
//!   precise and sub-millisecond timeouts; without one they are rounded up to whole
//!   milliseconds. Every wait loops until its deadline has passed by `Instant`'s clock.

mod afd;
mod port;
mod timer;

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::os::windows::io::{AsRawHandle, AsRawSocket, BorrowedSocket, OwnedHandle, RawSocket};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use windows_sys::Win32::Foundation::{ERROR_INVALID_HANDLE, HANDLE};
use windows_sys::Win32::Storage::FileSystem::SetFileCompletionNotificationModes;
use windows_sys::Win32::System::WindowsProgramming::FILE_SKIP_SET_EVENT_ON_HANDLE;

use self::afd::{Block, Outcome};
use self::port::{Entry, Port, ceil_ms};
use self::timer::{Choice, Timer};
use super::Notified;
use crate::{Deadline, Event, Interest, Mode};

/// The completion key of AFD polls (their `lpOverlapped` is the block's address).
const KEY_AFD: usize = 1;
/// The completion key of `notify`.
const KEY_NOTIFY: usize = 2;
/// The completion key of the timer.
const KEY_TIMER: usize = 3;

/// Sockets per AFD helper handle.
const GROUP_SIZE: usize = 32;

/// How long dropping the poller waits for the packets of cancelled polls before it leaks
/// their blocks instead.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);

/// The IOCP poller.
pub(crate) struct Poller {
    state: Mutex<State>,
    notified: Notified,
    /// Declared before `port`: dropped first (its thread-pool callback posts to the port).
    timer: Option<Timer>,
    port: Port,
}

/// The registrations and everything whose lifetime they govern.
struct State {
    /// Keyed by the socket the caller registered.
    sockets: HashMap<RawSocket, Sock>,
    groups: Vec<Group>,
    /// Indexes of the groups with fewer than [`GROUP_SIZE`] members.
    open: Vec<usize>,
    /// Blocks of deleted registrations whose poll is in flight: address -> group.
    zombies: HashMap<usize, usize>,
    /// Level registrations to submit again at the start of the next wait.
    rearm: Vec<RawSocket>,
    /// Polls submitted whose packet has not been dequeued yet.
    in_flight: usize,
    /// The poller is being dropped: completions are only collected.
    closing: bool,
    /// `complete` submitted a poll (after a cancellation, or for an event of no interest)
    /// since the flag was last cleared.
    resubmitted: bool,
}

/// An AFD helper handle and the number of registrations that poll through it.
struct Group {
    afd: OwnedHandle,
    members: usize,
}

/// One registration.
struct Sock {
    block: Block,
    /// The base socket that polls name.
    base: RawSocket,
    group: usize,
    key: usize,
    interest: Interest,
    mode: Mode,
    /// False for a oneshot registration whose event was reported (until `modify`).
    armed: bool,
    /// A level registration whose event was reported, queued in `State::rearm`.
    rearm: bool,
    status: Status,
}

/// Where a registration's poll is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    /// No poll in flight.
    Idle,
    /// A poll for these `AFD_POLL_*` bits is in flight.
    Polling(u32),
    /// A poll is in flight and was cancelled; when its packet arrives, a poll for the
    /// current interest is submitted.
    Cancelling,
}

/// The raw packet array of one wait.
pub(crate) struct EventBuf {
    entries: Vec<Entry>,
}

impl EventBuf {
    pub(crate) fn with_capacity(cap: usize) -> EventBuf {
        EventBuf {
            entries: Vec::with_capacity(cap),
        }
    }
}

impl fmt::Debug for EventBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventBuf")
            .field("capacity", &self.entries.capacity())
            .finish()
    }
}

impl Poller {
    pub(crate) const NAME: &'static str = "iocp";
    pub(crate) const SUPPORTS_EDGE: bool = false;

    pub(crate) fn new() -> io::Result<Poller> {
        Poller::build(Choice::Best)
    }

    /// `timer`: which timer bridge to use (tests force the fallbacks).
    fn build(timer: Choice) -> io::Result<Poller> {
        let port = Port::new()?;
        let mut state = State {
            sockets: HashMap::new(),
            groups: Vec::new(),
            open: Vec::new(),
            zombies: HashMap::new(),
            rearm: Vec::new(),
            in_flight: 0,
            closing: false,
            resubmitted: false,
        };
        // Open the first helper handle now, so that a system without AFD fails here with a
        // clear error rather than at the first `add`.
        state.new_group(&port).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("solo-poll: cannot open \\Device\\Afd for the IOCP backend: {e}"),
            )
        })?;
        let timer = Timer::new(&port, timer);
        Ok(Poller {
            state: Mutex::new(state),
            notified: Notified::default(),
            timer,
            port,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every unlock leaves the table consistent, so a panic elsewhere leaves it usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn add(
        &self,
        socket: BorrowedSocket<'_>,
        key: usize,
        interest: Interest,
        mode: Mode,
    ) -> io::Result<()> {
        let raw = socket.as_raw_socket();
        let mut state = self.lock();
        if state.sockets.contains_key(&raw) {
            return Err(crate::already_registered());
        }
        let base = afd::base_socket(raw)?;
        let group = state.group_with_room(&self.port)?;
        let mut sock = Sock {
            block: Block::new(raw),
            base,
            group,
            key,
            interest,
            mode,
            armed: true,
            rearm: false,
            status: Status::Idle,
        };
        let State {
            groups, in_flight, ..
        } = &mut *state;
        if let Err(e) = submit(groups, in_flight, &mut sock) {
            // SAFETY: the submission failed, so no poll of the block is in flight.
            unsafe { sock.block.free() };
            return Err(e);
        }
        state.join(group);
        state.sockets.insert(raw, sock);
        Ok(())
    }

    pub(crate) fn modify(
        &self,
        socket: BorrowedSocket<'_>,
        key: usize,
        interest: Interest,
        mode: Mode,
    ) -> io::Result<()> {
        let mut state = self.lock();
        let State {
            sockets,
            groups,
            in_flight,
            ..
        } = &mut *state;
        let sock = sockets
            .get_mut(&socket.as_raw_socket())
            .ok_or_else(crate::not_registered)?;
        sock.key = key;
        sock.interest = interest;
        sock.mode = mode;
        sock.armed = true;
        sock.rearm = false;
        match sock.status {
            Status::Idle => submit(groups, in_flight, sock),
            // The poll in flight asks for the same bits: it is the re-armed poll.
            Status::Polling(mask) if mask == afd::poll_mask(interest) => Ok(()),
            Status::Polling(_) => {
                // SAFETY: the poll was submitted through this group's handle, still open.
                unsafe { sock.block.cancel(groups[sock.group].raw()) }?;
                sock.status = Status::Cancelling;
                Ok(())
            }
            // The cancelled poll's packet will submit one for the interest just set.
            Status::Cancelling => Ok(()),
        }
    }

    pub(crate) fn delete(&self, socket: BorrowedSocket<'_>) -> io::Result<()> {
        let mut state = self.lock();
        let sock = state
            .sockets
            .remove(&socket.as_raw_socket())
            .ok_or_else(crate::not_registered)?;
        state.retire(sock);
        Ok(())
    }

    pub(crate) fn wait(
        &self,
        buf: &mut EventBuf,
        out: &mut Vec<Event>,
        cap: usize,
        deadline: Deadline,
    ) -> io::Result<()> {
        // A poll submitted while handling packets (the new poll of a `modify` whose
        // cancelled poll just came back) completes at once if the socket is ready; an
        // expired wait looks once more, so that even a zero timeout reports it.
        let mut last_look = true;
        loop {
            self.lock().rearm_level(out, cap);
            if !out.is_empty() {
                return Ok(()); // failed re-submissions, reported as errors
            }
            let ms = self.timeout_ms(deadline.remaining());
            self.port.wait(&mut buf.entries, cap, ms)?;
            let (woken, resubmitted) = self.process(&buf.entries, out);
            if !out.is_empty() || woken {
                return Ok(());
            }
            if deadline.expired() {
                if resubmitted && std::mem::take(&mut last_look) {
                    continue;
                }
                return Ok(());
            }
        }
    }

    /// The timeout for `GetQueuedCompletionStatusEx`, arming the high-resolution timer
    /// where it helps.
    fn timeout_ms(&self, timeout: Option<Duration>) -> u32 {
        match (timeout, &self.timer) {
            (None, Some(timer)) => timer.disarm(),
            (Some(d), Some(timer)) if !d.is_zero() => {
                // The timer's packet ends the wait; the rounded-up timeout is the backstop
                // (and the whole timeout when another wait owns the timer).
                timer.arm(&self.port, d);
            }
            _ => {}
        }
        ceil_ms(timeout)
    }

    /// Turns dequeued packets into events; returns whether a notification was consumed and
    /// whether a poll was submitted again.
    fn process(&self, entries: &[Entry], out: &mut Vec<Event>) -> (bool, bool) {
        let mut woken = false;
        let mut state: Option<MutexGuard<'_, State>> = None;
        for e in entries {
            match e.key {
                KEY_NOTIFY => woken |= self.notified.consume(),
                KEY_AFD => {
                    let state = state.get_or_insert_with(|| self.lock());
                    if let Some(ev) = state.complete(e.overlapped) {
                        out.push(ev);
                    }
                }
                // A timer packet only ends the blocking call; the loop checks the clock.
                _ => {}
            }
        }
        let resubmitted = state.is_some_and(|mut s| std::mem::take(&mut s.resubmitted));
        (woken, resubmitted)
    }

    pub(crate) fn notify(&self) -> io::Result<()> {
        self.notified.notify(|| self.port.post(KEY_NOTIFY))
    }
}

impl Poller {
    /// Cancels every poll in flight and collects the packets (for up to [`DRAIN_LIMIT`]),
    /// then frees every block. Returns false if some packet did not come: then every block
    /// is leaked (memory-safe) rather than freed while the kernel may still write it.
    fn collect_all(&mut self) -> bool {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        state.closing = true;
        // Live registrations, and zombies (whose cancellation may have failed before).
        for sock in state.sockets.values_mut() {
            if sock.status != Status::Idle {
                // SAFETY: the poll was submitted through this group's handle, still open.
                let _ = unsafe { sock.block.cancel(state.groups[sock.group].raw()) };
                sock.status = Status::Cancelling;
            }
        }
        for (&addr, &group) in &state.zombies {
            // SAFETY: a zombie's block stays allocated until its packet is dequeued (not
            // yet: it is still in the table); the table keeps owning it.
            let block = unsafe { Block::from_addr(addr) };
            // SAFETY: the poll was submitted through this group's handle, still open.
            let _ = unsafe { block.cancel(state.groups[group].raw()) };
            block.into_addr();
        }
        let give_up = Instant::now() + DRAIN_LIMIT;
        let mut entries = Vec::with_capacity(64);
        while state.in_flight > 0 {
            let left = give_up.saturating_duration_since(Instant::now());
            if left.is_zero()
                || self
                    .port
                    .wait(&mut entries, 64, ceil_ms(Some(left)))
                    .is_err()
            {
                return false;
            }
            for e in entries.iter().filter(|e| e.key == KEY_AFD) {
                state.complete(e.overlapped);
            }
        }
        for (_, sock) in state.sockets.drain() {
            // SAFETY: nothing is in flight any more.
            unsafe { sock.block.free() };
        }
        debug_assert!(state.zombies.is_empty());
        true
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        self.collect_all();
    }
}

impl fmt::Debug for Poller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Poller");
        d.field("port", &self.port.raw())
            .field("timer", &self.timer.as_ref().map(Timer::kind));
        if let Ok(state) = self.state.try_lock() {
            d.field("sources", &state.sockets.len())
                .field("afd_handles", &state.groups.len())
                .field("polls_in_flight", &state.in_flight);
        }
        d.finish()
    }
}

impl Group {
    fn raw(&self) -> HANDLE {
        self.afd.as_raw_handle()
    }
}

/// Submits a poll for `sock`'s interest, if it has one and is armed.
fn submit(groups: &[Group], in_flight: &mut usize, sock: &mut Sock) -> io::Result<()> {
    debug_assert_eq!(sock.status, Status::Idle);
    let mask = afd::poll_mask(sock.interest);
    if mask == 0 || !sock.armed {
        return Ok(());
    }
    // SAFETY: the registration is idle, so none of its block's polls is in flight; the
    // group's handle is open and associated with the port; the block is freed only when no
    // poll is in flight (`State::retire`, `State::complete`, `Drop`).
    unsafe { sock.block.submit(groups[sock.group].raw(), sock.base, mask) }?;
    sock.status = Status::Polling(mask);
    *in_flight += 1;
    Ok(())
}

impl State {
    /// Opens a new helper handle, associated with `port`.
    fn new_group(&mut self, port: &Port) -> io::Result<usize> {
        let afd = afd::open_helper()?;
        port.associate(afd.as_raw_handle(), KEY_AFD)?;
        // Completions go to the port only; do not also signal the handle (an optimisation:
        // nothing waits on the handle, and a failure changes nothing).
        // SAFETY: the handle is open; the call takes only a flag.
        unsafe {
            SetFileCompletionNotificationModes(
                afd.as_raw_handle(),
                FILE_SKIP_SET_EVENT_ON_HANDLE as u8,
            )
        };
        self.groups.push(Group { afd, members: 0 });
        let i = self.groups.len() - 1;
        self.open.push(i);
        Ok(i)
    }

    /// A group with room for one more registration (opening one if needed).
    fn group_with_room(&mut self, port: &Port) -> io::Result<usize> {
        match self.open.last() {
            Some(&i) => Ok(i),
            None => self.new_group(port),
        }
    }

    /// Counts a new member of group `i` (which came from `group_with_room`).
    fn join(&mut self, i: usize) {
        self.groups[i].members += 1;
        if self.groups[i].members == GROUP_SIZE {
            // `group_with_room` returns the last open group, so that is this one.
            if let Some(pos) = self.open.iter().rposition(|&g| g == i) {
                self.open.swap_remove(pos);
            }
        }
    }

    /// Counts a member leaving group `i`.
    fn leave(&mut self, i: usize) {
        let g = &mut self.groups[i];
        if g.members == GROUP_SIZE {
            self.open.push(i);
        }
        g.members -= 1;
    }

    /// Disposes of a registration that left the table: its block is freed now if idle,
    /// else its poll is cancelled and the block waits among the zombies for its packet.
    fn retire(&mut self, sock: Sock) {
        self.leave(sock.group);
        match sock.status {
            // SAFETY: idle: no poll of the block is in flight.
            Status::Idle => unsafe { sock.block.free() },
            status => {
                if let Status::Polling(_) = status {
                    // An error leaves the poll to complete by itself (when the socket is
                    // ready or closed, or the poller is dropped); the zombie waits for it.
                    // SAFETY: the poll was submitted through this group's handle, still open.
                    let _ = unsafe { sock.block.cancel(self.groups[sock.group].raw()) };
                }
                // The zombie table owns the block now (see `complete`).
                self.zombies.insert(sock.block.into_addr(), sock.group);
            }
        }
    }

    /// Handles the packet of the poll whose block is at `addr`; returns the event to
    /// report, if any.
    fn complete(&mut self, addr: usize) -> Option<Event> {
        self.in_flight = self.in_flight.saturating_sub(1);
        // SAFETY: packets with KEY_AFD come only from polls submitted through our helper
        // handles (nothing else is associated with the port under that key), and each
        // carries its block's address; a block is freed only after its packet is handled,
        // and this is that packet.
        let socket = unsafe { Block::socket_at(addr) };
        let live = self
            .sockets
            .get(&socket)
            .is_some_and(|s| s.block.addr() == addr);
        if !live {
            let zombie = self.zombies.remove(&addr).is_some();
            // Every packet with KEY_AFD belongs to a live block or a zombie; anything else
            // would mean a block was freed with its poll in flight.
            debug_assert!(zombie, "a completion for an unknown block at {addr:#x}");
            if zombie {
                // SAFETY: the zombie table owned this block, and its only poll in flight
                // has just completed.
                unsafe { Block::from_addr(addr).free() };
            }
            return None;
        }
        let State {
            sockets,
            groups,
            in_flight,
            rearm,
            closing,
            ..
        } = self;
        let sock = sockets.get_mut(&socket)?;
        let was = std::mem::replace(&mut sock.status, Status::Idle);
        if *closing {
            return None;
        }
        // SAFETY: the poll's packet has been dequeued: the kernel is done with the block.
        let outcome = unsafe { sock.block.outcome() };
        let event = match (was, outcome) {
            // Cancelled by `modify` (whatever the poll found is for the old interest), or
            // by the system: poll again.
            (Status::Cancelling, _) | (_, Outcome::Cancelled) => None,
            (_, Outcome::Failed(_)) => afd::error_event(sock.key, sock.interest),
            (_, Outcome::Ready(bits)) if bits & afd::POLL_LOCAL_CLOSE != 0 => {
                // Closed without `delete`: forget it, as epoll forgets a closed descriptor.
                self.forget(socket);
                return None;
            }
            (_, Outcome::Ready(bits)) => afd::translate(sock.key, sock.interest, bits),
        };
        match event {
            Some(ev) => {
                match sock.mode {
                    Mode::Level => {
                        sock.rearm = true;
                        rearm.push(socket);
                    }
                    // Oneshot (and Edge, which never gets here): silent until `modify`.
                    _ => sock.armed = false,
                }
                Some(ev)
            }
            None => match submit(groups, in_flight, sock) {
                Ok(()) => {
                    self.resubmitted = true;
                    None
                }
                Err(e) => self.submit_failed(socket, &e),
            },
        }
    }

    /// Submits the polls of level registrations whose events were reported; stops early if
    /// `out` fills up with errors of failed submissions.
    fn rearm_level(&mut self, out: &mut Vec<Event>, cap: usize) {
        let mut list = std::mem::take(&mut self.rearm);
        let mut done = 0;
        for &socket in &list {
            if out.len() >= cap {
                break;
            }
            done += 1;
            let Some(sock) = self.sockets.get_mut(&socket) else {
                continue; // deleted since
            };
            if !std::mem::take(&mut sock.rearm) || sock.status != Status::Idle {
                continue; // modified since
            }
            if let Err(e) = submit(&self.groups, &mut self.in_flight, sock) {
                if let Some(ev) = self.submit_failed(socket, &e) {
                    out.push(ev);
                }
            }
        }
        list.drain(..done);
        // Keep the list's allocation (and anything queued meanwhile, which is nothing: the
        // lock is held).
        list.append(&mut self.rearm);
        self.rearm = list;
    }

    /// A poll for a registration could not be submitted during a wait: a socket that no
    /// longer exists is forgotten; otherwise the failure is reported once as an error event
    /// (the I/O will show what is wrong) and the registration stays silent until `modify`.
    fn submit_failed(&mut self, socket: RawSocket, e: &io::Error) -> Option<Event> {
        if e.raw_os_error() == Some(ERROR_INVALID_HANDLE as i32) {
            self.forget(socket);
            return None;
        }
        let sock = self.sockets.get_mut(&socket)?;
        sock.armed = false;
        afd::error_event(sock.key, sock.interest)
    }

    /// Removes an idle registration (its socket was closed).
    fn forget(&mut self, socket: RawSocket) {
        if let Some(sock) = self.sockets.remove(&socket) {
            debug_assert_eq!(sock.status, Status::Idle);
            self.retire(sock);
        }
    }
}

#[cfg(test)]
mod tests;
