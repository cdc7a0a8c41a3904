//! solo-poll: a portable poller: epoll, kqueue, IOCP and poll(2) behind one small API.
//!
//! A [`Poller`] watches sources (sockets, pipes, anything with a file descriptor; sockets
//! on Windows) for readiness. Each source is registered under a `usize` key with an [`Interest`]
//! (readable, writable or both) and a [`Mode`] (oneshot, level or edge); [`Poller::wait`]
//! fills an [`Events`] buffer with the keys that became ready, and [`Poller::notify`] wakes a
//! blocked `wait` from any thread. This is the layer below `solo-io`'s reactor, the role the
//! `polling` crate plays for smol, and it is usable on its own.
//!
//! | OS | backend ([`Poller::backend`]) | modes | notify | timeout precision |
//! |---|---|---|---|---|
//! | Linux, Android | `epoll` | oneshot, level, edge | eventfd | nanoseconds (`epoll_pwait2`; a timerfd on kernels before 5.11) |
//! | macOS, iOS, FreeBSD, NetBSD, OpenBSD, DragonFly | `kqueue` | oneshot, level, edge | `EVFILT_USER` (a pipe where the kernel lacks it) | nanoseconds |
//! | other Unixes, or any Unix built with `--cfg solo_poll_force_poll` | `poll` | oneshot, level | pipe | nanoseconds where `ppoll` exists, else whole milliseconds rounded up |
//! | Windows | `iocp` (sockets through AFD polls, the technique of wepoll) | oneshot, level | `PostQueuedCompletionStatus` | 100 ns with a high-resolution waitable timer (Windows 10 1803+), else whole milliseconds rounded up |
//!
//! Beside descriptors, the kqueue backend watches processes for their exit
//! ([`os`]`::kqueue`).
//!
//! # Example
//!
//! A readiness loop over loopback TCP: accept a connection, then read what the client sent
//! until it closes. Sources are registered edge-triggered where the OS allows it (the way
//! `solo-io` registers them), otherwise level-triggered.
//!
//! ```
//! use std::io::{self, ErrorKind, Read, Write};
//! use std::net::{TcpListener, TcpStream};
//! use std::time::Duration;
//!
//! use solo_poll::{Events, Interest, Mode, Poller};
//!
//! fn main() -> io::Result<()> {
//!     let poller = Poller::new()?;
//!     let mode = if poller.supports_edge() { Mode::Edge } else { Mode::Level };
//!
//!     let listener = TcpListener::bind("127.0.0.1:0")?;
//!     listener.set_nonblocking(true)?;
//!     poller.add(&listener, 0, Interest::READABLE, mode)?;
//!
//!     // The client writes its greeting and hangs up; the server side reads it all.
//!     let mut client = TcpStream::connect(listener.local_addr()?)?;
//!     client.write_all(b"hello, poller")?;
//!     drop(client);
//!
//!     let mut events = Events::new();
//!     let mut conn: Option<TcpStream> = None;
//!     let mut received = Vec::new();
//!     let mut done = false;
//!     while !done {
//!         // A generous timeout so that a bug shows up as an error, not a hang.
//!         if poller.wait(&mut events, Some(Duration::from_secs(10)))? == 0 {
//!             return Err(io::Error::new(ErrorKind::TimedOut, "no readiness in 10 s"));
//!         }
//!         for ev in events.iter() {
//!             match ev.key {
//!                 0 => loop {
//!                     // Drain the listener: edge mode reports each arrival once.
//!                     match listener.accept() {
//!                         Ok((stream, _)) => {
//!                             stream.set_nonblocking(true)?;
//!                             poller.add(&stream, 1, Interest::READABLE, mode)?;
//!                             conn = Some(stream);
//!                         }
//!                         Err(e) if e.kind() == ErrorKind::WouldBlock => break,
//!                         Err(e) => return Err(e),
//!                     }
//!                 },
//!                 1 => {
//!                     let stream = conn.as_mut().expect("key 1 is the accepted stream");
//!                     let mut buf = [0u8; 4096];
//!                     loop {
//!                         // Drain until WouldBlock (more may come) or 0 (the peer closed).
//!                         match stream.read(&mut buf) {
//!                             Ok(0) => {
//!                                 done = true;
//!                                 break;
//!                             }
//!                             Ok(n) => received.extend_from_slice(&buf[..n]),
//!                             Err(e) if e.kind() == ErrorKind::WouldBlock => break,
//!                             Err(e) => return Err(e),
//!                         }
//!                     }
//!                 }
//!                 _ => unreachable!("only keys 0 and 1 are registered"),
//!             }
//!         }
//!     }
//!     assert_eq!(received, b"hello, poller");
//!
//!     // Delete sources before closing them (see "Registration and closing").
//!     if let Some(stream) = &conn {
//!         poller.delete(stream)?;
//!     }
//!     poller.delete(&listener)?;
//!     Ok(())
//! }
//! ```
//!
//! # Portability
//!
//! The same program behaves the same on every backend if it follows these rules:
//!
//! - **Spurious events happen.** An event says "try the I/O", not "the I/O will succeed":
//!   readiness can be consumed by someone else, a backend may report a direction the
//!   source did not ask for (epoll attaches hang-up and error to both directions), and a
//!   `wait` may return with fewer events than expected or none at all. Always treat
//!   `WouldBlock` as "wait again".
//! - **Drain until `WouldBlock`.** In [`Mode::Edge`] an event is reported when the source
//!   *becomes* ready; if you stop reading before `WouldBlock`, no new event comes until new
//!   data arrives. In [`Mode::Oneshot`], re-arm with [`Poller::modify`] after handling the
//!   event; the re-arm reports again at once if the source is still ready, so a partial read
//!   followed by `modify` is safe.
//! - **Hang-up and error are hints.** When a peer closes or a socket fails, the event also
//!   sets `readable` (and `writable`) for the directions the source is interested in, so
//!   whoever waits on that direction does the I/O and finds the closure (a read of 0 bytes)
//!   or the error. [`Event::hangup`] and [`Event::error`] only hint at the cause; they differ
//!   between OSes (for example, kqueue reports `EV_EOF` for a write filter when the peer
//!   stops reading, epoll reports `EPOLLRDHUP` when it stops writing).
//! - **One event per source per `wait`, mostly.** kqueue reports reading and writing as
//!   separate filters; solo-poll merges them when they arrive together, but a source can
//!   still appear twice in one batch. Treat the flags of the events of one key as a union.
//! - **What the modes mean on each OS:**
//!
//!   | mode | epoll | kqueue | poll(2) | IOCP |
//!   |---|---|---|---|---|
//!   | [`Mode::Oneshot`] | `EPOLLONESHOT`: one event, then silent until `modify` | `EV_ONESHOT` per filter; solo-poll delivers only the first event per arming (a second direction ready in the same batch is merged into it) | emulated: the descriptor leaves the `pollfd` array after one event | one AFD poll per arming, both directions in one event |
//!   | [`Mode::Level`] | level-triggered (the default of epoll) | level-triggered (the default of kqueue) | what poll(2) does | emulated: the AFD poll is submitted again at the start of the next `wait` |
//!   | [`Mode::Edge`] | `EPOLLET` | `EV_CLEAR` | not supported: [`Poller::add`] returns `ErrorKind::Unsupported` | not supported (AFD reports states, not changes): `Unsupported` |
//!
//!   Check [`Poller::supports_edge`] and fall back to `Oneshot` + `modify` where it is false.
//! - **Timeouts are lower bounds.** `wait` never returns *before* its timeout unless an event
//!   or a notification arrived; it may return later (the OS timer slack, a busy machine).
//!   `None` and any timeout too large for the clock (up to [`Duration::MAX`]) wait forever;
//!   sub-millisecond timeouts are honoured, never rounded down to a busy zero; a signal
//!   (`EINTR`) is retried with the remaining time.
//!
//! # Registration and closing
//!
//! [`Poller::add`] is safe: it only borrows the descriptor for the call. The poller keeps
//! the descriptor *number* (or, for epoll, the open file description), not the descriptor,
//! so **delete a source before you close it.** If you close it first:
//!
//! - epoll forgets the registration when the last descriptor of the file description is
//!   closed (but not while a `dup` of it is still open, which keeps reporting under the old
//!   key);
//! - kqueue forgets its filters when the descriptor is closed, but solo-poll's own table still
//!   holds the number, so adding a new descriptor with that number fails with
//!   `AlreadyExists` until you `delete` it;
//! - poll(2) keeps polling the number: if a new descriptor reuses it, its readiness is
//!   reported under the old key. (A number that stays closed is dropped from the set.)
//! - IOCP keeps the socket's handle value. A socket closed while its poll is in flight is
//!   forgotten when a `wait` sees AFD report the close; until then, and for a socket closed
//!   while its poll is idle (a spent oneshot, interest `NONE`), adding a new socket that got
//!   the same handle value fails with `AlreadyExists` until you `delete` it. Either way the
//!   poller's own memory stays valid: it frees a poll's buffers only after the kernel has
//!   returned them.
//!
//! None of this is memory-unsafe, only wrong.
//!
//! # Threads
//!
//! [`Poller`] is `Send + Sync`. [`Poller::notify`], [`Poller::add`], [`Poller::modify`] and
//! [`Poller::delete`] may be called from any thread, also while another thread is blocked in
//! [`Poller::wait`]: a change takes effect for that wait (poll(2) wakes the waiter and
//! rebuilds its descriptor array). Several threads may call `wait` at once: on epoll,
//! kqueue and IOCP they wait side by side (an oneshot or edge event goes to one of them, a
//! level-triggered source may be reported to several), on poll(2) they take turns. On
//! Windows the handles a `Poller` creates are not inheritable by child processes.
//!
//! # `fork`
//!
//! A `Poller` **survives `fork`**, and the child never touches the parent's poller. Every
//! descriptor it creates is close-on-exec, so an `exec`ed child inherits nothing; a forked
//! child that does not `exec` would share the parent's epoll instance and eventfd (a change
//! made in one is seen by the other, and a wait in one takes the other's events: polling#37)
//! and finds no kqueue at all (a kqueue is not inherited; its descriptor number is closed in
//! the child and may be reused). So:
//!
//! - The first `Poller::new` of a process registers a `pthread_atfork` child handler that
//!   counts forks; each poller remembers the count it was created at. In a child,
//!   [`Poller::is_inherited`] is true, and `add`, `modify`, `delete` and `wait` fail with an
//!   error that says what to do, **without touching** the inherited descriptors. `notify` is
//!   kept, not sent to the parent's eventfd, and delivered once the poller is re-created.
//! - [`Poller::reinit_after_fork`] (one explicit call, from any thread) gives the poller a
//!   new OS instance of the child's own; the caller then adds its sources again (solo-poll
//!   keeps no table of them on epoll; `solo-io`'s reactor does this from its own table, on
//!   its first use in the child). The `Poller` value, and every `Arc` of it that other
//!   threads hold to call `notify`, stays the same.
//! - Dropping an inherited poller closes only the child's copies of the parent's
//!   descriptors (which deregisters nothing from the parent's instance) and forgets a kqueue
//!   descriptor instead of closing a number that may now be someone else's.
//!
//! Only `fork()` from the C library runs the handler; a child made by a raw `clone` system
//! call is not noticed. As after any `fork` of a multithreaded process, the child has only
//! the forking thread.

#![deny(clippy::undocumented_unsafe_blocks, unsafe_op_in_unsafe_fn)]
#![warn(missing_docs, missing_debug_implementations)]

use std::fmt;
use std::io;
use std::ops::{BitOr, BitOrAssign};
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::time::{Duration, Instant};

mod fork;
pub mod os;
mod sys;

#[cfg(unix)]
use std::os::fd::{AsFd, BorrowedFd};

/// The key that the poller uses for its own wake-up event. Registering it is an error.
pub(crate) const NOTIFY_KEY: usize = usize::MAX;

/// A source of readiness events: anything that has a file descriptor.
///
/// On Unix this trait is implemented for references to every type that implements
/// [`AsFd`] and for [`BorrowedFd`]; on Windows, for references to every
/// [`AsSocket`](https://doc.rust-lang.org/std/os/windows/io/trait.AsSocket.html) and for
/// `BorrowedSocket`. It is sealed: implement `AsFd` for your type instead.
///
/// Only borrows are accepted (`&stream`, `stream.as_fd()`): the poller uses the descriptor
/// during the call and never owns it, and an owned value passed by mistake would be
/// closed as soon as the call returned.
///
/// ```compile_fail
/// let poller = solo_poll::Poller::new().unwrap();
/// let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
/// // Error: an owned socket is not a source; pass `&socket`.
/// poller.add(socket, 1, solo_poll::Interest::READABLE, solo_poll::Mode::Level).unwrap();
/// ```
#[cfg(unix)]
pub trait AsSource: private::Sealed {
    /// The descriptor to register.
    fn as_source(&self) -> BorrowedFd<'_>;
}

#[cfg(unix)]
impl<T: AsFd + ?Sized> AsSource for &T {
    fn as_source(&self) -> BorrowedFd<'_> {
        (**self).as_fd()
    }
}

#[cfg(unix)]
impl AsSource for BorrowedFd<'_> {
    fn as_source(&self) -> BorrowedFd<'_> {
        self.as_fd()
    }
}

/// A source of readiness events: anything that has a socket.
///
/// Implemented for references to every
/// [`AsSocket`](std::os::windows::io::AsSocket) and for
/// [`BorrowedSocket`](std::os::windows::io::BorrowedSocket). It is sealed: implement
/// `AsSocket` for your type instead. Only borrows are accepted: the poller uses the socket
/// during the call and never owns it.
#[cfg(windows)]
pub trait AsSource: private::Sealed {
    /// The socket to register.
    fn as_source(&self) -> std::os::windows::io::BorrowedSocket<'_>;
}

#[cfg(windows)]
impl<T: std::os::windows::io::AsSocket + ?Sized> AsSource for &T {
    fn as_source(&self) -> std::os::windows::io::BorrowedSocket<'_> {
        (**self).as_socket()
    }
}

#[cfg(windows)]
impl AsSource for std::os::windows::io::BorrowedSocket<'_> {
    fn as_source(&self) -> std::os::windows::io::BorrowedSocket<'_> {
        std::os::windows::io::AsSocket::as_socket(self)
    }
}

mod private {
    /// Keeps [`AsSource`](super::AsSource) closed to outside implementations.
    pub trait Sealed {}

    #[cfg(unix)]
    impl<T: std::os::fd::AsFd + ?Sized> Sealed for &T {}
    #[cfg(unix)]
    impl Sealed for std::os::fd::BorrowedFd<'_> {}

    #[cfg(windows)]
    impl<T: std::os::windows::io::AsSocket + ?Sized> Sealed for &T {}
    #[cfg(windows)]
    impl Sealed for std::os::windows::io::BorrowedSocket<'_> {}
}

/// The directions of readiness a source is interested in: readable, writable, both or none.
///
/// Combine with `|`: `Interest::READABLE | Interest::WRITABLE == Interest::BOTH`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Interest(u8);

impl Interest {
    const R: u8 = 1;
    const W: u8 = 2;

    /// No direction: the source stays registered but reports nothing.
    pub const NONE: Interest = Interest(0);
    /// Report when the source can be read (or accepted from, or has hung up).
    pub const READABLE: Interest = Interest(Self::R);
    /// Report when the source can be written (or has failed).
    pub const WRITABLE: Interest = Interest(Self::W);
    /// Both directions.
    pub const BOTH: Interest = Interest(Self::R | Self::W);

    /// Whether the readable direction is included.
    pub const fn is_readable(self) -> bool {
        self.0 & Self::R != 0
    }

    /// Whether the writable direction is included.
    pub const fn is_writable(self) -> bool {
        self.0 & Self::W != 0
    }
}

impl BitOr for Interest {
    type Output = Interest;

    fn bitor(self, rhs: Interest) -> Interest {
        Interest(self.0 | rhs.0)
    }
}

impl BitOrAssign for Interest {
    fn bitor_assign(&mut self, rhs: Interest) {
        self.0 |= rhs.0;
    }
}

impl fmt::Debug for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match (self.is_readable(), self.is_writable()) {
            (false, false) => "NONE",
            (true, false) => "READABLE",
            (false, true) => "WRITABLE",
            (true, true) => "BOTH",
        })
    }
}

/// How a registered source reports readiness. See the crate's "Portability" section for
/// what each mode means on each OS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Report once, then stay silent until re-armed with [`Poller::modify`]. Works on
    /// every backend.
    Oneshot,
    /// Report on every [`Poller::wait`] while the source is ready. Works on every backend.
    Level,
    /// Report when the source *becomes* ready (new data, new buffer space); drain until
    /// `WouldBlock`. Only where [`Poller::supports_edge`] is true.
    Edge,
}

/// One readiness event: which source (its key) and what it is ready for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// The key the source was registered with.
    pub key: usize,
    /// The source can be read from (or accepted from), or has hung up or failed: a read
    /// will not block, and may return 0 bytes (end of stream) or the error.
    pub readable: bool,
    /// The source can be written to, or has failed: a write will not block, and may
    /// return the error.
    pub writable: bool,
    /// A hint that the peer closed (at least its writing side) or the connection is gone.
    /// Do the I/O to learn what happened; unread data may still be buffered.
    pub hangup: bool,
    /// A hint that the source has a pending error (read it by doing the I/O, or with
    /// `take_error`).
    pub error: bool,
}

/// A reusable buffer of events filled by [`Poller::wait`].
///
/// Allocate it once and pass it to every `wait`: it holds up to [`Events::capacity`]
/// events, and `wait` clears it before filling it, so it never reallocates. Ready sources
/// that do not fit are reported by the next `wait`.
pub struct Events {
    list: Vec<Event>,
    cap: usize,
    buf: sys::EventBuf,
}

impl Events {
    /// The capacity of [`Events::new`].
    pub const DEFAULT_CAPACITY: usize = 1024;

    /// A buffer for up to 1024 events.
    pub fn new() -> Events {
        Events::with_capacity(Self::DEFAULT_CAPACITY)
    }

    /// A buffer for up to `capacity` events (at least 1).
    pub fn with_capacity(capacity: usize) -> Events {
        let capacity = capacity.clamp(1, i32::MAX as usize);
        Events {
            list: Vec::with_capacity(capacity),
            cap: capacity,
            buf: sys::EventBuf::with_capacity(capacity),
        }
    }

    /// The events of the last `wait`, in the order the OS reported them.
    pub fn iter(&self) -> std::iter::Copied<std::slice::Iter<'_, Event>> {
        self.list.iter().copied()
    }

    /// The number of events held.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether no events are held.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The most events one `wait` can return into this buffer.
    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// Removes all events (keeps the capacity).
    pub fn clear(&mut self) {
        self.list.clear();
    }
}

impl Default for Events {
    fn default() -> Events {
        Events::new()
    }
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events")
            .field("capacity", &self.capacity())
            .field("events", &self.list)
            .finish()
    }
}

impl<'a> IntoIterator for &'a Events {
    type Item = Event;
    type IntoIter = std::iter::Copied<std::slice::Iter<'a, Event>>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Waits for readiness of registered sources; wakes up from [`Poller::notify`].
///
/// See the crate documentation for the rules that make a program portable across
/// backends, how the poller behaves across threads and `fork`, and an example.
pub struct Poller {
    /// The backend in use. Replaced only by [`Poller::reinit_after_fork`], which keeps the
    /// one it replaces (linked from the new one) until the poller is dropped, so a
    /// reference to a backend stays valid for as long as the poller lives.
    current: AtomicPtr<Backend>,
    /// A `notify` found the backend inherited and none of this process's yet: the
    /// re-creation delivers it.
    lost_notify: AtomicBool,
}

/// One OS poller and the process it belongs to.
struct Backend {
    sys: sys::Poller,
    /// The [`fork::generation`] it was created in.
    generation: u64,
    /// The backend this one replaced (inherited from a parent process), or null.
    replaced: *mut Backend,
}

impl Backend {
    fn new(replaced: *mut Backend) -> io::Result<Box<Backend>> {
        fork::watch()?;
        Ok(Box::new(Backend {
            sys: sys::Poller::new()?,
            generation: fork::generation(),
            replaced,
        }))
    }

    /// Whether this process created it (it is not a parent's, inherited through `fork`).
    #[inline]
    fn is_own(&self) -> bool {
        self.generation == fork::generation()
    }

    /// Drops it. An inherited backend closes only what this process has copies of and
    /// deregisters nothing (see `sys::Poller::drop_inherited`).
    fn dispose(self: Box<Backend>) {
        #[cfg(unix)]
        if !self.is_own() {
            return self.sys.drop_inherited();
        }
        drop(self);
    }
}

impl Poller {
    /// Creates a poller with the best backend of this OS (see [`Poller::backend`]).
    ///
    /// Every descriptor it creates is close-on-exec.
    pub fn new() -> io::Result<Poller> {
        let backend = Backend::new(std::ptr::null_mut())?;
        Ok(Poller {
            current: AtomicPtr::new(Box::into_raw(backend)),
            lost_notify: AtomicBool::new(false),
        })
    }

    fn current(&self) -> &Backend {
        // SAFETY: `current` always points to a backend made by `Box::into_raw`, and a
        // backend is freed only by `Drop for Poller` (which has `&mut self`, so no
        // reference from `&self` is alive then): one replaced by `reinit_after_fork` stays
        // allocated, linked from its successor.
        unsafe { &*self.current.load(Ordering::Acquire) }
    }

    /// The backend, if this process created it; the error says what to do otherwise.
    #[inline]
    fn own(&self) -> io::Result<&sys::Poller> {
        let backend = self.current();
        if backend.is_own() {
            Ok(&backend.sys)
        } else {
            Err(fork::inherited())
        }
    }

    /// Whether this poller was created by a parent of this process, before a `fork`:
    /// every operation but `notify` then fails until
    /// [`reinit_after_fork`](Poller::reinit_after_fork) (see the crate docs, "`fork`").
    pub fn is_inherited(&self) -> bool {
        !self.current().is_own()
    }

    /// In a `fork` child, replaces the poller's OS instance (inherited from the parent)
    /// with a new one of this process; returns `Ok(true)` if it did, `Ok(false)` if the
    /// poller already was this process's.
    ///
    /// The new instance has **no sources**: add them again (their descriptors are still
    /// open in the child). Nothing is done to the parent's instance: its epoll instance,
    /// eventfd and registrations stay as they were, and the child's copies of its
    /// descriptors are closed when the poller is dropped. A [`notify`](Poller::notify)
    /// that arrived in between is delivered to the new instance.
    ///
    /// # Errors
    ///
    /// The OS's error creating the new instance (for example `EMFILE`); the poller stays
    /// inherited and the call can be repeated.
    pub fn reinit_after_fork(&self) -> io::Result<bool> {
        let old = self.current.load(Ordering::Acquire);
        // SAFETY: as in `current`: a live backend of this poller.
        if unsafe { &*old }.is_own() {
            return Ok(false);
        }
        let new = Box::into_raw(Backend::new(old)?);
        match self
            .current
            .compare_exchange(old, new, Ordering::SeqCst, Ordering::Acquire)
        {
            Ok(_) => {
                // Pairs with `notify`: either it sees the new backend, or we see its flag.
                if self.lost_notify.swap(false, Ordering::SeqCst) {
                    // SAFETY: just installed; freed only with the poller.
                    let _ = unsafe { &*new }.sys.notify();
                }
                Ok(true)
            }
            Err(_) => {
                // Another thread re-created it first: ours was never shared.
                // SAFETY: made by `Box::into_raw` above and never published.
                let mut ours = unsafe { Box::from_raw(new) };
                ours.replaced = std::ptr::null_mut();
                drop(ours);
                Ok(false)
            }
        }
    }

    /// Registers `source` under `key` with `interest` and `mode`.
    ///
    /// If the source is already ready for `interest`, the next `wait` reports it (in every
    /// mode). Delete the source before closing it.
    ///
    /// # Errors
    ///
    /// - `InvalidInput` if `key` is `usize::MAX` (reserved for [`Poller::notify`]);
    /// - `Unsupported` if `mode` is [`Mode::Edge`] and [`Poller::supports_edge`] is false;
    /// - `AlreadyExists` if the source is already registered with this poller;
    /// - otherwise the OS's error (for example, epoll refuses regular files).
    pub fn add(
        &self,
        source: impl AsSource,
        key: usize,
        interest: Interest,
        mode: Mode,
    ) -> io::Result<()> {
        self.check(key, mode)?;
        self.own()?.add(source.as_source(), key, interest, mode)
    }

    /// Changes the key, interest and mode of a registered source, and re-arms it.
    ///
    /// This is how a [`Mode::Oneshot`] source is re-armed after its event. In every mode, if
    /// the source is ready for the new interest, the next `wait` reports it.
    ///
    /// # Errors
    ///
    /// - `InvalidInput` if `key` is `usize::MAX`;
    /// - `Unsupported` if `mode` is [`Mode::Edge`] and [`Poller::supports_edge`] is false;
    /// - `NotFound` if the source is not registered with this poller;
    /// - otherwise the OS's error.
    pub fn modify(
        &self,
        source: impl AsSource,
        key: usize,
        interest: Interest,
        mode: Mode,
    ) -> io::Result<()> {
        self.check(key, mode)?;
        self.own()?.modify(source.as_source(), key, interest, mode)
    }

    /// Removes a source. No event for it is reported by a `wait` that starts afterwards.
    ///
    /// # Errors
    ///
    /// `NotFound` if the source is not registered with this poller; otherwise the OS's error.
    pub fn delete(&self, source: impl AsSource) -> io::Result<()> {
        self.own()?.delete(source.as_source())
    }

    /// Clears `events`, then waits until at least one registered source is ready, a
    /// [`Poller::notify`] arrives, or `timeout` has passed; returns the number of events
    /// now in `events` (0 on a timeout or a notification).
    ///
    /// `None` waits with no time limit, as does a timeout too large to add to
    /// [`Instant::now`]; `Some(Duration::ZERO)` only looks. A `wait` never returns before
    /// its timeout without an event or a notification; an interrupted system call (`EINTR`)
    /// is retried with the time that remains.
    ///
    /// # Errors
    ///
    /// The OS's error from the underlying system call (never `Interrupted`).
    pub fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        events.list.clear();
        let sys = self.own()?;
        let deadline = Deadline::after(timeout);
        sys.wait(&mut events.buf, &mut events.list, events.cap, deadline)?;
        Ok(events.list.len())
    }

    /// Wakes a thread blocked in [`Poller::wait`], or, if none is, makes the next `wait`
    /// return at once.
    ///
    /// Callable from any thread. Notifications coalesce: many `notify` calls before a
    /// `wait` returns wake it once, and a `wait` that consumed a notification leaves no
    /// trace that would make a later `wait` return early.
    ///
    /// On a poller inherited through `fork` and not re-created yet, the wake-up is kept
    /// for the new instance ([`reinit_after_fork`](Poller::reinit_after_fork)): the
    /// parent's eventfd is never written.
    pub fn notify(&self) -> io::Result<()> {
        let backend = self.current();
        if backend.is_own() {
            return backend.sys.notify();
        }
        self.lost_notify.store(true, Ordering::SeqCst);
        // A re-creation may have happened meanwhile (it then missed our flag or not: a
        // second wake-up is harmless).
        match self.own() {
            Ok(sys) => sys.notify(),
            Err(_) => Ok(()),
        }
    }

    /// Whether [`Mode::Edge`] is available (epoll, kqueue: yes; poll(2), IOCP: no).
    pub fn supports_edge(&self) -> bool {
        sys::Poller::SUPPORTS_EDGE
    }

    /// Whether [`Mode::Level`] is available (every backend: yes).
    pub fn supports_level(&self) -> bool {
        true
    }

    /// The name of the backend: `"epoll"`, `"kqueue"`, `"poll"` or `"iocp"`.
    pub fn backend(&self) -> &'static str {
        sys::Poller::NAME
    }

    fn check(&self, key: usize, mode: Mode) -> io::Result<()> {
        if key == NOTIFY_KEY {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "solo-poll: key usize::MAX is reserved for the poller's own notify event",
            ));
        }
        if mode == Mode::Edge && !self.supports_edge() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "solo-poll: Mode::Edge is not supported by the {} backend; \
                     check Poller::supports_edge() and use Mode::Oneshot (re-armed with \
                     modify) or Mode::Level",
                    self.backend()
                ),
            ));
        }
        Ok(())
    }
}

impl fmt::Debug for Poller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let backend = self.current();
        f.debug_struct("Poller")
            .field("backend", &sys::Poller::NAME)
            .field("inherited", &!backend.is_own())
            .field("sys", &backend.sys)
            .finish()
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        let mut next = *self.current.get_mut();
        while !next.is_null() {
            // SAFETY: every backend in the chain was made by `Box::into_raw` and is owned by
            // this poller alone; `&mut self` means no reference to one is alive.
            let backend = unsafe { Box::from_raw(next) };
            next = backend.replaced;
            backend.dispose();
        }
    }
}

/// The error of `add` for a source that is already registered.
pub(crate) fn already_registered() -> io::Error {
    io::Error::new(
        io::ErrorKind::AlreadyExists,
        "solo-poll: the source is already registered with this poller (use modify to change it)",
    )
}

/// The error of `modify` and `delete` for a source that is not registered.
pub(crate) fn not_registered() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        "solo-poll: the source is not registered with this poller",
    )
}

/// When a `wait` must give up, computed once from its timeout.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Deadline {
    /// No time limit.
    Never,
    /// A zero timeout: look once. No clock is read for it (the reactor polls this way
    /// between every two batches of a busy executor).
    Now,
    /// Give up at this instant.
    At(Instant),
}

impl Deadline {
    /// The deadline `timeout` from now; `Never` for `None` or a timeout that overflows the
    /// clock.
    pub(crate) fn after(timeout: Option<Duration>) -> Deadline {
        match timeout {
            None => Deadline::Never,
            Some(t) if t.is_zero() => Deadline::Now,
            Some(t) => Instant::now()
                .checked_add(t)
                .map_or(Deadline::Never, Deadline::At),
        }
    }

    /// The time left (zero once passed), or `None` for no limit.
    pub(crate) fn remaining(self) -> Option<Duration> {
        match self {
            Deadline::Never => None,
            Deadline::Now => Some(Duration::ZERO),
            Deadline::At(at) => Some(at.saturating_duration_since(Instant::now())),
        }
    }

    /// Whether the deadline has passed.
    pub(crate) fn expired(self) -> bool {
        match self {
            Deadline::Never => false,
            Deadline::Now => true,
            Deadline::At(at) => Instant::now() >= at,
        }
    }
}

// The poller is shared between threads (a reactor's waker notifies it from anywhere).
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    // `Poller` is `Send + Sync` by its fields (an `AtomicPtr`); what it shares between
    // threads through the pointer is the backend:
    assert_send_sync::<sys::Poller>();
    assert_send_sync::<Poller>();
    assert_send_sync::<Events>();
};

// The README's example uses a Unix socket pair.
#[cfg(all(doctest, unix))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interest_ops() {
        assert_eq!(Interest::READABLE | Interest::WRITABLE, Interest::BOTH);
        assert!(Interest::BOTH.is_readable() && Interest::BOTH.is_writable());
        assert!(!Interest::NONE.is_readable() && !Interest::NONE.is_writable());
        assert!(Interest::READABLE.is_readable() && !Interest::READABLE.is_writable());
        let mut i = Interest::NONE;
        i |= Interest::WRITABLE;
        assert_eq!(i, Interest::WRITABLE);
        assert_eq!(format!("{:?}", Interest::BOTH), "BOTH");
        assert_eq!(Interest::default(), Interest::NONE);
    }

    #[test]
    fn events_capacity() {
        assert_eq!(Events::new().capacity(), 1024);
        assert_eq!(Events::with_capacity(0).capacity(), 1);
        let e = Events::with_capacity(7);
        assert_eq!(e.capacity(), 7);
        assert!(e.is_empty() && e.iter().next().is_none());
        assert_eq!(e.len(), 0);
    }

    #[test]
    fn deadline_overflow_is_never() {
        assert!(matches!(
            Deadline::after(Some(Duration::MAX)),
            Deadline::Never
        ));
        assert!(matches!(Deadline::after(None), Deadline::Never));
        assert_eq!(Deadline::Never.remaining(), None);
        assert!(!Deadline::Never.expired());
        let d = Deadline::after(Some(Duration::ZERO));
        assert!(matches!(d, Deadline::Now));
        assert_eq!(d.remaining(), Some(Duration::ZERO));
        assert!(d.expired());
        let d = Deadline::after(Some(Duration::from_secs(3600)));
        assert!(d.remaining().unwrap() > Duration::from_secs(3599));
        assert!(!d.expired());
    }
}
