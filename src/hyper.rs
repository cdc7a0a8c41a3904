//! Running [hyper] 1.x on solo (feature `hyper`): an executor, a timer on solo's wheel,
//! and the io adapter.
//!
//! hyper brings its own runtime traits (`hyper::rt`); these types implement them on the
//! current thread's solo runtime:
//!
//! - [`SoloExecutor`]: hyper's [`Executor`](::hyper::rt::Executor). It spawns with
//!   [`solo::spawn`](crate::spawn) on the calling thread, so the futures hyper hands it
//!   (HTTP/2 streams, a client connection's background task) need not be `Send`: services
//!   may hold `Rc`s and `RefCell`s.
//! - [`SoloTimer`]: hyper's [`Timer`](::hyper::rt::Timer), on the thread's timing wheel:
//!   `http1::Builder::header_read_timeout`, HTTP/2 keep-alive pings and the client's
//!   timeouts cost one O(1) wheel entry each. Its [`SoloSleep`] is `Send + Sync` as hyper
//!   demands, soundly: it belongs to the thread that created it and panics if polled,
//!   reset or dropped on another (a [`ThreadBound`] timer; see its docs).
//! - [`SoloIo`]: hyper's [`Read`](::hyper::rt::Read) and [`Write`](::hyper::rt::Write)
//!   for any `futures-io` stream (`solo::net::TcpStream`, a TLS stream over it, ...), and
//!   the other way round, `futures-io` for a hyper stream (an `Upgraded` connection handed
//!   to a WebSocket crate).
//! - [`ThreadBound`]: `Send + Sync` for any value, used only on its own thread. hyper wants
//!   a `Send` io for connections that may be upgraded (`with_upgrades`, WebSockets behind
//!   hyper): `SoloIo::new(ThreadBound::new(stream))`.
//!
//! # Example
//!
//! An HTTP/1.1 server with a header-read timeout on solo's wheel, and a `!Send` service.
//! The full version, with HTTP/2 and a client, is `examples/hyper-server.rs` and
//! `examples/hyper-client.rs` (`cargo run --example hyper-server --features
//! ecosystem-examples`).
//!
//! ```
//! # #[cfg(feature = "ecosystem-examples")] {
//! use std::cell::Cell;
//! use std::convert::Infallible;
//! use std::rc::Rc;
//! use std::time::Duration;
//!
//! use http_body_util::Full;
//! use hyper::body::{Bytes, Incoming};
//! use hyper::server::conn::http1;
//! use hyper::{Request, Response};
//! use solo::hyper::{SoloIo, SoloTimer};
//! use solo::io::{AsyncReadExt, AsyncWriteExt};
//! use solo::net::{TcpListener, TcpStream};
//!
//! solo::block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     let hits = Rc::new(Cell::new(0)); // not Send: fine on solo
//!     solo::spawn(async move {
//!         let (stream, _) = listener.accept().await?;
//!         let service = hyper::service::service_fn(move |_: Request<Incoming>| {
//!             hits.set(hits.get() + 1);
//!             let body = format!("hit {}", hits.get());
//!             async move { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body)))) }
//!         });
//!         http1::Builder::new()
//!             .timer(SoloTimer)
//!             .header_read_timeout(Duration::from_secs(5))
//!             .serve_connection(SoloIo::new(stream), service)
//!             .await
//!             .map_err(std::io::Error::other)
//!     })
//!     .detach();
//!
//!     let mut client = TcpStream::connect(addr).await?;
//!     client.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await?;
//!     let mut response = String::new();
//!     client.read_to_string(&mut response).await?;
//!     assert!(response.starts_with("HTTP/1.1 200 OK\r\n"));
//!     assert!(response.ends_with("hit 1"));
//!     std::io::Result::Ok(())
//! })
//! .unwrap();
//! # }
//! ```
//!
//! # Why a hand-written io adapter
//!
//! smol-hyper's `FuturesIo` (0.1) does the same job over `futures-io`, and solo's streams
//! would work with it. This module has its own for three reasons. Work per read:
//! `FuturesIo` zero-fills the whole unfilled part of hyper's read buffer before every
//! read (8 KiB and up, however few bytes arrive) and then hands it over with `unsafe`;
//! [`SoloIo`] reads into a per-thread scratch buffer, zeroed once, and copies only the
//! bytes received, with no `unsafe` at all (both are cheap next to the kernel's TCP work,
//! most of a request's cost in `cargo xtask bench`'s profiles; the point is to do no
//! needless work). Both directions: hyper's upgraded connections become `futures-io` streams for
//! WebSocket crates, which `FuturesIo` does not do. And dependencies: smol-hyper's default
//! features bring async-io and async-executor, a second reactor and executor.
//!
//! [hyper]: https://docs.rs/hyper/1

use std::any::type_name;
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use ::hyper::rt::{self, ReadBuf, ReadBufCursor};
use solo_lite::io::{AsyncRead, AsyncWrite};

use crate::Timer;

/// hyper's [`Executor`](::hyper::rt::Executor) on the current thread's solo runtime.
///
/// `execute` spawns the future with [`solo::spawn`](crate::spawn) and detaches it: it
/// runs on this thread, need not be `Send`, and its output is dropped. hyper calls it for
/// HTTP/2 streams and for a client connection's background work; pass it to
/// `hyper::server::conn::http2::Builder::new` or `hyper::client::conn::http2::handshake`.
///
/// # Panics
///
/// `execute` panics outside [`solo::block_on`](crate::block_on), like
/// [`solo::spawn`](crate::spawn).
#[derive(Clone, Copy, Debug, Default)]
pub struct SoloExecutor;

impl<F: Future + 'static> rt::Executor<F> for SoloExecutor {
    fn execute(&self, fut: F) {
        crate::spawn(async move {
            fut.await;
        })
        .detach();
    }
}

/// hyper's [`Timer`](::hyper::rt::Timer) on the current thread's timing wheel.
///
/// Its sleeps are [`SoloSleep`]s: a `solo::Timer` each, O(1) to arm, move and cancel.
/// `reset` moves the existing wheel entry instead of allocating a new sleep. Pass it to
/// `http1::Builder::timer` (then `header_read_timeout` works), `http2::Builder::timer`
/// (keep-alive pings) or the client builders.
///
/// Every sleep belongs to the thread that created it, which is the thread running the
/// connection: on solo, tasks never move. See [`SoloSleep`] for what happens otherwise.
#[derive(Clone, Copy, Debug, Default)]
pub struct SoloTimer;

impl rt::Timer for SoloTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn rt::Sleep>> {
        Box::pin(SoloSleep::new(Timer::after(duration)))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn rt::Sleep>> {
        Box::pin(SoloSleep::new(Timer::at(deadline)))
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<SoloSleep>() {
            Some(ours) => ours.get_mut().reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

thread_local! {
    /// This thread's id, cached: `thread::current()` costs a reference count each call.
    static THIS_THREAD: ThreadId = thread::current().id();
}

/// The calling thread's id (also while its thread-locals are being destroyed).
fn this_thread() -> ThreadId {
    THIS_THREAD
        .try_with(|id| *id)
        .unwrap_or_else(|_| thread::current().id())
}

/// A value that may be sent to and shared with other threads, but is used, and dropped,
/// only on the thread that created it.
///
/// hyper asks for `Send` in two places where solo's types are `!Send` because they belong
/// to their thread's reactor: its sleeps ([`SoloSleep`] is a `ThreadBound` timer) and the
/// io of a connection that may be upgraded (`with_upgrades`, `hyper::upgrade::on`: hyper
/// boxes the io as `Send`). `ThreadBound<T>` is `Send + Sync` for any `T`, soundly,
/// because it refuses to be used anywhere else: [`get_ref`](Self::get_ref),
/// [`get_mut`](Self::get_mut), [`into_inner`](Self::into_inner), its io and its drop panic
/// on any thread but the owner, with a message naming both threads. Dropped on another
/// thread while that thread is already panicking, the value is leaked instead (a second
/// panic would abort the process): never dropped on the wrong thread.
///
/// On solo none of this happens: a task never leaves its thread, so whatever hyper keeps in
/// a connection's task stays there.
///
/// ```
/// use solo::hyper::ThreadBound;
///
/// let bound = ThreadBound::new(std::rc::Rc::new(5)); // Rc: not Send
/// assert_eq!(**bound.get_ref(), 5);
/// let elsewhere = std::thread::spawn(move || {
///     let used = std::panic::catch_unwind(|| **bound.get_ref());
///     std::mem::forget(bound); // dropping it here would panic too
///     used.is_err()
/// });
/// assert!(elsewhere.join().unwrap(), "refused on another thread");
/// ```
pub struct ThreadBound<T> {
    /// `Some` until dropped or unwrapped (taken to be leaked on a foreign thread).
    value: Option<T>,
    /// The only thread that may touch `value`.
    owner: ThreadId,
}

// SAFETY: a `!Send` type is one that must not be used, or dropped, on a thread other than
// the one it was created on (its reactor registration, thread-local state or unsynchronised
// reference counts live there). Moving its bytes is not a use. `ThreadBound` never touches
// `value` without first checking that the calling thread is `owner` (`get_ref`, `get_mut`,
// `into_inner`, the io traits and `drop` all check; `drop` on a foreign thread leaks the
// value instead of dropping it), so the value is only ever used on the thread that created
// it: what `!Send` guarantees. `ThreadId`s are never reused, so a later thread cannot pass
// for the owner.
unsafe impl<T> Send for ThreadBound<T> {}

// SAFETY: through `&ThreadBound<T>` the value is reached only by `get_ref`, which checks the
// thread first; `Debug` and `is_owner` read `owner` alone. A reference shared with other
// threads therefore lets only the owner thread at the value, so `T` needs no `Sync`.
unsafe impl<T> Sync for ThreadBound<T> {}

impl<T> ThreadBound<T> {
    /// Binds `value` to the calling thread.
    pub fn new(value: T) -> ThreadBound<T> {
        ThreadBound {
            value: Some(value),
            owner: this_thread(),
        }
    }

    /// Whether the calling thread is the one the value belongs to.
    pub fn is_owner(&self) -> bool {
        this_thread() == self.owner
    }

    /// The value.
    ///
    /// # Panics
    ///
    /// On any thread but the owner.
    pub fn get_ref(&self) -> &T {
        self.check(type_name::<Self>(), "used");
        self.value
            .as_ref()
            .expect("taken only by drop and into_inner")
    }

    /// The value, mutably.
    ///
    /// # Panics
    ///
    /// On any thread but the owner.
    pub fn get_mut(&mut self) -> &mut T {
        self.access(type_name::<Self>(), "used")
    }

    /// Unwraps the value.
    ///
    /// # Panics
    ///
    /// On any thread but the owner.
    pub fn into_inner(mut self) -> T {
        self.check(type_name::<Self>(), "unwrapped");
        self.value
            .take()
            .expect("taken only by drop and into_inner")
    }

    /// The value, mutably, for `name`'s `what` (the words of the panic message).
    fn access(&mut self, name: &str, what: &str) -> &mut T {
        self.check(name, what);
        self.value
            .as_mut()
            .expect("taken only by drop and into_inner")
    }

    /// Panics unless the calling thread is the owner.
    fn check(&self, name: &str, what: &str) {
        let here = this_thread();
        if here != self.owner {
            panic!(
                "{name} {what} on thread {here:?}, but it belongs to thread {:?}: a solo \
                 value lives on its thread (its reactor registration or timer is there); run \
                 the hyper connection on the solo thread that created it",
                self.owner
            );
        }
    }
}

impl<T> fmt::Debug for ThreadBound<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadBound")
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}

impl<T> Drop for ThreadBound<T> {
    fn drop(&mut self) {
        if self.value.is_none() || self.is_owner() {
            return; // the field drops it, here
        }
        // Never drop it on the wrong thread: leak it.
        std::mem::forget(self.value.take());
        if !thread::panicking() {
            self.check(type_name::<Self>(), "dropped");
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ThreadBound<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(self.get_mut().get_mut()).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ThreadBound<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(self.get_mut().get_mut()).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(self.get_mut().get_mut()).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(self.get_mut().get_mut()).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(self.get_mut().get_mut()).poll_close(cx)
    }
}

/// A sleep of [`SoloTimer`]: a [`solo::Timer`](crate::Timer) bound to the thread that
/// created it ([`ThreadBound`]).
///
/// hyper requires its sleeps to be `Send + Sync`; a solo timer lives on its thread's wheel
/// and is not `Send`. A `SoloSleep` may be moved to and shared with other threads, but
/// polling, [resetting](SoloSleep::reset) or dropping it on any thread but its own panics
/// with a message naming both threads. (Dropped on another thread that is already
/// panicking, its timer is leaked: the wheel entry fires on its own thread at the deadline
/// and is freed there.)
///
/// On solo this never happens: hyper creates, polls and drops a connection's sleeps in
/// the connection's task, and tasks never leave their thread.
#[derive(Debug)]
pub struct SoloSleep {
    timer: ThreadBound<Timer>,
}

/// The name in `SoloSleep`'s panic messages.
const SLEEP: &str = "solo::hyper::SoloSleep";

impl SoloSleep {
    fn new(timer: Timer) -> SoloSleep {
        SoloSleep {
            timer: ThreadBound::new(timer),
        }
    }

    /// Moves the sleep to fire at `deadline` instead: the wheel entry moves in place.
    ///
    /// # Panics
    ///
    /// On any thread but the one that created the sleep.
    pub fn reset(&mut self, deadline: Instant) {
        self.timer.access(SLEEP, "reset").set_at(deadline);
    }
}

impl Future for SoloSleep {
    type Output = ();

    /// # Panics
    ///
    /// On any thread but the one that created the sleep.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let timer = self.get_mut().timer.access(SLEEP, "polled");
        Pin::new(timer).poll(cx).map(drop)
    }
}

impl Drop for SoloSleep {
    fn drop(&mut self) {
        // Name the sleep in the message (the `ThreadBound` would leak it just the same).
        if !self.timer.is_owner() && !thread::panicking() {
            std::mem::forget(self.timer.value.take());
            self.timer.check(SLEEP, "dropped");
        }
    }
}

impl rt::Sleep for SoloSleep {}

/// hyper's io traits for a `futures-io` stream, and `futures-io` for a hyper stream.
///
/// - `SoloIo<T>` where `T: AsyncRead + AsyncWrite` (a `solo::net::TcpStream`, a
///   `futures-rustls` stream, ...) is a hyper [`Read`](::hyper::rt::Read) +
///   [`Write`](::hyper::rt::Write): give it to `serve_connection` or `handshake`.
/// - `SoloIo<T>` where `T` is a hyper stream (`hyper::upgrade::Upgraded`) is a
///   `futures-io` [`AsyncRead`] + [`AsyncWrite`], for crates that speak those
///   (async-tungstenite after an HTTP upgrade).
///
/// Reads from a `futures-io` stream go through a per-thread 64 KiB scratch buffer (zeroed
/// once) and only the bytes received are copied into hyper's buffer, so no uninitialised
/// memory is ever handed out and nothing is zero-filled per read. Writes pass straight
/// through; `poll_shutdown` is `poll_close`. Vectored writes are passed on, but hyper is
/// told they are not preferred (`futures-io` cannot say), so it gathers each response
/// into one buffer, which suits small responses best.
#[derive(Clone, Copy, Debug, Default)]
pub struct SoloIo<T> {
    inner: T,
}

impl<T> SoloIo<T> {
    /// Wraps `inner`.
    pub fn new(inner: T) -> SoloIo<T> {
        SoloIo { inner }
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped stream, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Unwraps the stream.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

/// Bytes read from a `futures-io` stream per call at most (the scratch buffer's size).
const SCRATCH: usize = 64 * 1024;
/// The fallback when the scratch buffer is in use (a `SoloIo` read inside another).
const FALLBACK: usize = 4 * 1024;

thread_local! {
    /// Zeroed once, then reused by every read of this thread.
    static SCRATCH_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl<T: AsyncRead + Unpin> rt::Read for SoloIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let inner = &mut self.get_mut().inner;
        let want = buf.remaining().min(SCRATCH);
        let mut read = |scratch: &mut [u8]| {
            let n = ready!(Pin::new(&mut *inner).poll_read(cx, scratch))?;
            buf.put_slice(&scratch[..n]);
            Poll::Ready(Ok(()))
        };
        let pooled = SCRATCH_BUF.try_with(|cell| {
            // Busy only when this read runs inside another one on the same thread.
            let mut scratch = cell.try_borrow_mut().ok()?;
            if scratch.is_empty() {
                *scratch = vec![0; SCRATCH];
            }
            Some(read(&mut scratch[..want]))
        });
        match pooled {
            Ok(Some(poll)) => poll,
            // Nested, or during thread teardown: a small buffer on the stack.
            _ => read(&mut [0; FALLBACK][..want.min(FALLBACK)]),
        }
    }
}

impl<T: AsyncWrite + Unpin> rt::Write for SoloIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }
}

impl<T: rt::Read + Unpin> AsyncRead for SoloIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut read_buf = ReadBuf::new(buf);
        ready!(Pin::new(&mut self.get_mut().inner).poll_read(cx, read_buf.unfilled()))?;
        Poll::Ready(Ok(read_buf.filled().len()))
    }
}

impl<T: rt::Write + Unpin> AsyncWrite for SoloIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::hyper::rt::{Executor, Timer as _};
    use std::cell::Cell;
    use std::rc::Rc;

    fn panic_message(e: Box<dyn std::any::Any + Send>) -> String {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    }

    #[test]
    fn sleeps_fire_on_the_wheel_and_reset_moves_them() {
        crate::block_on(async {
            let start = Instant::now();
            let before = crate::reactor::stats().timers;
            let mut sleep = SoloTimer.sleep(Duration::from_secs(3600));
            // Armed on first poll: one more entry on this thread's wheel.
            assert!(crate::future::poll_once(sleep.as_mut()).await.is_none());
            assert_eq!(crate::reactor::stats().timers, before + 1);
            SoloTimer.reset(&mut sleep, Instant::now() + Duration::from_millis(5));
            assert!(sleep.is::<SoloSleep>(), "reset kept the same sleep");
            sleep.await;
            assert!(start.elapsed() >= Duration::from_millis(5));
            assert!(start.elapsed() < Duration::from_secs(60));
            assert_eq!(crate::reactor::stats().timers, before);
            // Dropping a pending sleep takes it off the wheel.
            let mut pending = SoloTimer.sleep_until(Instant::now() + Duration::from_secs(60));
            assert!(crate::future::poll_once(pending.as_mut()).await.is_none());
            assert_eq!(crate::reactor::stats().timers, before + 1);
            drop(pending);
            assert_eq!(crate::reactor::stats().timers, before);
        });
    }

    #[test]
    fn a_sleep_refuses_to_be_polled_on_another_thread() {
        let mut sleep = SoloTimer.sleep(Duration::from_secs(3600));
        crate::block_on(async {
            assert!(crate::future::poll_once(sleep.as_mut()).await.is_none());
        });
        // `Pin<Box<dyn Sleep>>` is Send: hyper's bound. Polling it elsewhere panics.
        let err = thread::spawn(move || {
            let mut sleep = sleep;
            let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                crate::block_on(crate::future::poll_once(sleep.as_mut()))
            }));
            // Give it back so that it is dropped on its own thread.
            (polled.map(drop).unwrap_err(), sleep)
        })
        .join()
        .unwrap();
        let (panic, sleep) = err;
        let msg = panic_message(panic);
        assert!(
            msg.contains("SoloSleep polled on thread") && msg.contains("belongs to thread"),
            "{msg}"
        );
        // Back home it works, and is cancelled cleanly.
        let before = crate::reactor::stats().timers;
        drop(sleep);
        assert_eq!(crate::reactor::stats().timers, before - 1);
    }

    #[test]
    fn a_sleep_refuses_to_be_reset_or_dropped_on_another_thread() {
        let mut reset_here = SoloTimer.sleep(Duration::from_secs(3600));
        let mut drop_here = SoloTimer.sleep(Duration::from_secs(3600));
        crate::block_on(async {
            assert!(
                crate::future::poll_once(reset_here.as_mut())
                    .await
                    .is_none()
            );
            assert!(crate::future::poll_once(drop_here.as_mut()).await.is_none());
        });
        let pending = crate::reactor::stats().timers;
        let (reset, a) = thread::spawn(move || {
            let mut a = reset_here;
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                SoloTimer.reset(&mut a, Instant::now());
            }));
            (r.unwrap_err(), a)
        })
        .join()
        .unwrap();
        assert!(panic_message(reset).contains("SoloSleep reset on thread"));
        drop(a);
        let dropped = thread::spawn(move || drop(drop_here)).join().unwrap_err();
        assert!(panic_message(dropped).contains("SoloSleep dropped on thread"));
        // The first was cancelled at home; the second was leaked, not cancelled from the
        // wrong thread: its entry stays on this thread's wheel until its deadline.
        assert_eq!(crate::reactor::stats().timers, pending - 1);
    }

    #[test]
    fn a_thread_bound_stream_works_at_home_and_refuses_elsewhere() {
        use crate::io::{AsyncReadExt, AsyncWriteExt};
        use crate::net::{TcpListener, TcpStream};

        let (bound, mut peer) = crate::block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let mut client = ThreadBound::new(
                TcpStream::connect(listener.local_addr().unwrap())
                    .await
                    .unwrap(),
            );
            let (mut server, _) = listener.accept().await.unwrap();
            client.write_all(b"ping").await.unwrap();
            let mut buf = [0; 4];
            server.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"ping");
            assert!(client.is_owner());
            (client, server)
        });
        // Moved to another thread (it is Send), it can be neither used nor dropped there.
        let (used, bound) = thread::spawn(move || {
            assert!(!bound.is_owner());
            let used = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let _ = bound.get_ref().local_addr();
            }));
            (used.unwrap_err(), bound)
        })
        .join()
        .unwrap();
        assert!(
            panic_message(used)
                .contains("ThreadBound<solo_io::net::tcp::TcpStream> used on thread")
        );
        // Back home it unwraps; closing it is seen by the peer.
        drop(bound.into_inner());
        crate::block_on(async {
            let mut rest = Vec::new();
            peer.read_to_end(&mut rest).await.unwrap();
            assert!(rest.is_empty());
        });
        let other = ThreadBound::new(std::rc::Rc::new(()));
        let dropped = thread::spawn(move || drop(other)).join().unwrap_err();
        let msg = panic_message(dropped);
        assert!(
            msg.contains("dropped on thread") && msg.contains("belongs to thread"),
            "{msg}"
        );
    }

    #[test]
    fn the_executor_runs_non_send_futures_on_this_thread() {
        let ran = Rc::new(Cell::new(0));
        crate::block_on(async {
            for _ in 0..3 {
                let ran = ran.clone();
                SoloExecutor.execute(async move { ran.set(ran.get() + 1) });
            }
            crate::future::yield_now().await;
        });
        assert_eq!(ran.get(), 3);
    }

    /// A `futures-io` reader handing out `data` in pieces of at most `chunk` bytes.
    struct Chunks<'a> {
        data: &'a [u8],
        chunk: usize,
    }

    impl AsyncRead for Chunks<'_> {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            let n = buf.len().min(self.chunk).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Poll::Ready(Ok(n))
        }
    }

    /// Reads `io` to its end through hyper's `Read`, into buffers of `cap` bytes.
    fn read_all(io: &mut SoloIo<impl AsyncRead + Unpin>, cap: usize) -> Vec<u8> {
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut out = Vec::new();
        loop {
            let mut storage = vec![std::mem::MaybeUninit::uninit(); cap];
            let mut buf = ReadBuf::uninit(&mut storage);
            let r = rt::Read::poll_read(Pin::new(io), &mut cx, buf.unfilled());
            assert!(matches!(r, Poll::Ready(Ok(()))));
            if buf.filled().is_empty() {
                return out;
            }
            assert!(buf.filled().len() <= cap.min(SCRATCH));
            out.extend_from_slice(buf.filled());
        }
    }

    #[test]
    fn io_reads_copy_exactly_what_arrived() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        for (cap, chunk) in [(7, 1000), (8192, 3), (100_000, 100_000), (1 << 20, 1 << 20)] {
            let mut io = SoloIo::new(Chunks { data: &data, chunk });
            assert_eq!(read_all(&mut io, cap), data, "cap {cap}, chunk {chunk}");
        }
        // A read nested inside another (the scratch buffer busy) takes the fallback.
        let mut outer = SoloIo::new(Nested { data: &data });
        assert_eq!(read_all(&mut outer, 50_000), data);
    }

    /// A reader whose own read goes through a `SoloIo`, as a TLS stream over one would.
    struct Nested<'a> {
        data: &'a [u8],
    }

    impl AsyncRead for Nested<'_> {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            let mut inner = SoloIo::new(Chunks {
                data: self.data,
                chunk: usize::MAX,
            });
            let mut read_buf = ReadBuf::new(buf);
            ready!(rt::Read::poll_read(
                Pin::new(&mut inner),
                cx,
                read_buf.unfilled()
            ))?;
            let n = read_buf.filled().len();
            assert!(n <= FALLBACK, "the nested read used the fallback buffer");
            self.data = &self.data[n..];
            Poll::Ready(Ok(n))
        }
    }

    #[test]
    fn a_hyper_stream_reads_and_writes_as_futures_io() {
        use crate::io::{AsyncReadExt, AsyncWriteExt};
        crate::block_on(async {
            let data = b"hello through both adapters".to_vec();
            // futures-io -> hyper -> futures-io: the round trip is the identity.
            let mut io = SoloIo::new(SoloIo::new(Chunks {
                data: &data,
                chunk: 4,
            }));
            let mut back = Vec::new();
            io.read_to_end(&mut back).await.unwrap();
            assert_eq!(back, data);
            let mut sink = SoloIo::new(SoloIo::new(Vec::<u8>::new()));
            sink.write_all(b"written").await.unwrap();
            sink.close().await.unwrap();
            assert_eq!(sink.into_inner().into_inner(), b"written");
        });
    }
}
