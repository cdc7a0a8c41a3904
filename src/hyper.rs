//! Running [hyper] 1.x on solo (feature `hyper`): an executor, a timer on solo's wheel,
//! and the io adapter.
//!
//! hyper brings its own runtime traits (`hyper::rt`); these three types implement them on
//! the current thread's solo runtime:
//!
//! - [`SoloExecutor`]: hyper's [`Executor`](::hyper::rt::Executor). It spawns with
//!   [`solo::spawn`](crate::spawn) on the calling thread, so the futures hyper hands it
//!   (HTTP/2 streams, a client connection's background task) need not be `Send`: services
//!   may hold `Rc`s and `RefCell`s.
//! - [`SoloTimer`]: hyper's [`Timer`](::hyper::rt::Timer), on the thread's timing wheel:
//!   `http1::Builder::header_read_timeout`, HTTP/2 keep-alive pings and the client's
//!   timeouts cost one O(1) wheel entry each. Its [`SoloSleep`] is `Send + Sync` as hyper
//!   demands, soundly: it belongs to the thread that created it and panics if polled,
//!   reset or dropped on another (see its docs).
//! - [`SoloIo`]: hyper's [`Read`](::hyper::rt::Read) and [`Write`](::hyper::rt::Write)
//!   for any `futures-io` stream (`solo::net::TcpStream`, a TLS stream over it, ...), and
//!   the other way round, `futures-io` for a hyper stream (an `Upgraded` connection handed
//!   to a WebSocket crate).
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
//! smol-hyper's `FuturesIo` does the same job, and works on solo. This module has its
//! own for three reasons. Speed: `FuturesIo` zero-fills the whole unfilled part of
//! hyper's read buffer before every read (8 KiB and up, however few bytes arrive), where
//! [`SoloIo`] reads into a per-thread scratch buffer, zeroed once, and copies only the
//! bytes received, with no `unsafe` at all. Both directions: hyper's upgraded connections
//! become `futures-io` streams for WebSocket crates. And dependencies: smol-hyper's
//! default features bring async-io and async-executor, a second reactor and executor.
//!
//! [hyper]: https://docs.rs/hyper/1

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

/// A sleep of [`SoloTimer`]: a [`solo::Timer`](crate::Timer) bound to the thread that
/// created it.
///
/// hyper requires its sleeps to be `Send + Sync`, but a solo timer lives on its
/// thread's wheel and is not `Send`. A `SoloSleep` may be moved to and shared with other
/// threads, yet refuses to be used there: polling, [resetting](SoloSleep::reset) or
/// dropping it on any thread but its own panics with a message naming both threads.
/// (Dropped on another thread while that thread is already panicking, it is leaked
/// instead: a second panic would abort. Its wheel entry then fires on its own thread at
/// the deadline and is freed there.)
///
/// On solo this never happens: hyper creates, polls and drops a connection's sleeps in
/// the connection's task, and tasks never leave their thread.
pub struct SoloSleep {
    /// Always `Some` until dropped (taken to be leaked on a foreign thread).
    timer: Option<Timer>,
    /// The thread whose wheel holds the timer.
    owner: ThreadId,
}

// SAFETY: `solo::Timer` is `!Send` for one reason: its wheel entry lives in its thread's
// reactor (a thread-local), so every method must run on that thread. It holds no
// thread-bound pointer (its fields are a deadline, a period, a wheel key and a flag), so
// moving its bytes to another thread is harmless; using it there is what must not
// happen. `SoloSleep` never touches its timer without first checking that the calling
// thread is `owner` (`poll`, `reset`, `drop`: each panics otherwise, and `drop` on a
// foreign thread leaks the timer rather than dropping it), so the timer is only ever used
// on the thread that created it, exactly the guarantee `!Send` gives. `ThreadId`s are
// never reused, so a later thread cannot pass for the owner.
unsafe impl Send for SoloSleep {}

// SAFETY: through `&SoloSleep` nothing reaches the timer: the only `&self` methods are
// `Debug` (which prints `owner` alone) and hyper's type-id query (which reads nothing).
// Sharing a reference with other threads therefore gives them no access at all.
unsafe impl Sync for SoloSleep {}

impl SoloSleep {
    fn new(timer: Timer) -> SoloSleep {
        SoloSleep {
            timer: Some(timer),
            owner: this_thread(),
        }
    }

    /// The timer, once the calling thread is shown to be its owner.
    ///
    /// # Panics
    ///
    /// On any other thread.
    fn timer(&mut self, what: &str) -> &mut Timer {
        if this_thread() != self.owner {
            self.refuse(what);
        }
        self.timer
            .as_mut()
            .expect("the timer is only taken in drop")
    }

    /// Panics: `what` happened on a thread that does not own the sleep.
    fn refuse(&self, what: &str) -> ! {
        panic!(
            "solo::hyper::SoloSleep {what} on thread {:?}, but it belongs to thread {:?}: a \
             solo timer lives on its thread's wheel (run the hyper connection on the solo \
             thread that created the sleep)",
            this_thread(),
            self.owner
        )
    }

    /// Moves the sleep to fire at `deadline` instead: the wheel entry moves in place.
    ///
    /// # Panics
    ///
    /// On any thread but the one that created the sleep.
    pub fn reset(&mut self, deadline: Instant) {
        self.timer("reset").set_at(deadline);
    }
}

impl fmt::Debug for SoloSleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoloSleep")
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}

impl Future for SoloSleep {
    type Output = ();

    /// # Panics
    ///
    /// On any thread but the one that created the sleep.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(self.get_mut().timer("polled")).poll(cx).map(drop)
    }
}

impl Drop for SoloSleep {
    fn drop(&mut self) {
        if this_thread() == self.owner {
            drop(self.timer.take());
        } else if thread::panicking() {
            // Never touch another thread's wheel; a second panic would abort.
            std::mem::forget(self.timer.take());
        } else {
            std::mem::forget(self.timer.take());
            self.refuse("dropped");
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
