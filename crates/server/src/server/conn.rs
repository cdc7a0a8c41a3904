//! One connection: the HTTP/1.1 loop.
//!
//! # Buffers lent by the loop
//!
//! A connection owns no buffer while it waits. When its socket is readable, it borrows the
//! thread's 64 KiB read buffer, reads once, answers the complete requests in it (in order,
//! pipelining) into the thread's output buffer, and writes that at once: on the
//! common path one `recv` and one `send` per batch, no allocation, nothing copied. Only
//! two things are ever copied into storage of the connection's own ([`Pending`], boxed,
//! absent while idle):
//!
//! - the unparsed tail of a partial request (and the parser's state for it), and the
//!   requests pipelined behind a static file or beyond the poll's budget (below), answered
//!   later;
//! - output the socket would not take yet (and no more is read until it does).
//!
//! # A budget per poll
//!
//! One poll produces at most about [`OUTPUT_PER_POLL`] bytes of responses (and reads at
//! most four times); then the task wakes itself and goes to the back of the run queue. A
//! client that pipelines thousands of requests therefore gets its answers a slice at a
//! time, and a turn of the loop over every busy connection stays short: a normal request
//! waits for one turn, not for the floods before it (`cargo xtask flood` measures it).
//!
//! Neither buffer is borrowed across an `.await`: the loop is a hand-written poll function,
//! and the rare paths (static files, event streams) are boxed futures of their own, so the
//! connection future stays small.
//!
//! # One timer
//!
//! Each connection has one [`Timer`], moved in O(1) as its state changes: the idle
//! timeout between requests (expiry closes silently), the header timeout from the first
//! byte of a request to the end of its head (expiry answers `408` and closes: slowloris),
//! the body timeout from the end of the head to the end of the body (`408` too, however
//! steadily the body trickles in), the idle timeout again for a response that makes no
//! progress, and the lingering close. Event streams use it for their pings.
//!
//! # Bodies
//!
//! A body in progress is the one thing a client can make a connection hold for a while:
//! its bytes so far (a chunked body's decoded payload, its encoding dropped as it is
//! decoded) are counted in a server-wide total, and a body that would take that total
//! beyond `--max-body-memory` is refused with `503` and `Retry-After`.
//!
//! # Closing
//!
//! After its last response (an error, `Connection: close`, HTTP/1.0) a connection shuts
//! its write side and reads until the client closes, for at most [`LINGER`]: closing with
//! unread input would reset the connection and could destroy the response before the
//! client read it.
//!
//! At shutdown an idle connection first reads: a request that has already arrived is
//! answered (with `Connection: close`); if none has, the connection closes the same way,
//! write side first, input drained, so a request that crosses the close is never answered
//! by a reset.

// Clippy on windows-gnu asks for `const` on every thread-local initializer, even those that
// cannot be (the read buffer's) or already are; other targets do not.
#![cfg_attr(windows, allow(clippy::missing_const_for_thread_local))]

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::net::Shutdown;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use solo::Timer;
use solo::future::poll_fn;
use solo::io::{AsyncRead, AsyncWrite};
use solo::net::TcpStream;

use super::events::{self, EventsRequest};
use super::file::{self, FileRequest};
use super::mesh::{self, PostRequest};
use super::routes::{self, Answer, Report};
use super::{BodyMemory, Shard};
use crate::http::{self, CONTINUE, Exchange, Parsed, Parser, ResponseWriter, Status, response};

/// The size of the thread's read buffer.
const READ_BUFFER: usize = 64 << 10;

/// Output a connection may produce in one poll; then it lets the other tasks run, and
/// the requests it has not answered yet wait in its tail. This bounds the work one client
/// can make a turn of the loop do (pipelining thousands of requests for a 2 KB page):
/// a round over every busy connection takes about this much per connection.
pub(super) const OUTPUT_PER_POLL: usize = 32 << 10;

/// The output buffer is shrunk back to this after a batch that grew it beyond.
const OUTPUT_KEEP: usize = 1 << 20;

/// A partial request up to this size is copied in front of the next read in the shared
/// buffer; a larger one takes the next read appended to it instead.
const SMALL_TAIL: usize = 16 << 10;

/// Reads per poll before the task lets others run (a client that keeps the socket full).
const READS_PER_POLL: usize = 4;

/// How long a closing connection waits for the client to close first.
pub(super) const LINGER: Duration = Duration::from_secs(2);

thread_local! {
    /// The buffer every connection of this thread reads into: lent for one read and the
    /// answering of what it brought, never across an `.await`.
    static READ_BUF: RefCell<Box<[u8]>> = RefCell::new(vec![0; READ_BUFFER].into_boxed_slice());
    /// The responses to one batch of requests, written with one `send`.
    static OUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Lends the thread's output buffer, empty, to `f` (for a rare path that formats its own
/// output); it is emptied again afterwards.
pub(super) fn with_output<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    OUT.with_borrow_mut(|out| {
        out.clear();
        let result = f(out);
        out.clear();
        if out.capacity() > OUTPUT_KEEP {
            out.shrink_to(OUTPUT_KEEP);
        }
        result
    })
}

/// Counts a new connection (at once, so the accept loop's limit is exact) and returns
/// the task that serves it.
pub(super) fn start(stream: TcpStream, shard: Rc<Shard>) -> impl Future<Output = ()> {
    serve(Conn::new(stream, shard))
}

/// Serves one connection until it closes.
///
/// An `async move` block rather than an `async fn`: the block keeps the connection where it
/// captured it, where an `async fn` would also keep a copy of its argument.
#[allow(clippy::manual_async_fn)] // See above: `async fn` costs a second `Conn`.
pub(super) fn serve(mut conn: Conn) -> impl Future<Output = ()> {
    async move {
        loop {
            // The rare paths are boxed, and the `Next` that named them is gone before they
            // run: only a pointer is held across their awaits.
            let rare: Pin<Box<dyn Future<Output = bool> + '_>> =
                match poll_fn(|cx| conn.poll_http(cx)).await {
                    Next::Close => return,
                    Next::File(request) => Box::pin(file::serve(&mut conn, request)),
                    Next::Events(request) => Box::pin(events::serve(&mut conn, request)),
                    Next::Post(request) => Box::pin(mesh::post(&mut conn, request)),
                    Next::Stats(exchange, report) => {
                        Box::pin(mesh::stats(&mut conn, exchange, report))
                    }
                };
            if !rare.await {
                return;
            }
        }
    }
}

/// What the HTTP loop hands to [`serve`].
pub(super) enum Next {
    /// Close the connection now.
    Close,
    /// Send a static file, then go on (the loop has sent every response before it).
    File(FileRequest),
    /// Turn into an event stream (the head is sent or queued).
    Events(EventsRequest),
    /// Post a chat message that found the sequencer's inbox full, then go on.
    Post(PostRequest),
    /// Answer `/stats` or `/metrics` (the figures of every shard) and go on, or stream
    /// them to `/dashboard`.
    Stats(Exchange, Report),
}

/// Where a connection is between two polls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Between requests. Timer: the idle timeout.
    Idle,
    /// A request's head is arriving. Timer: the header timeout, from its first byte.
    Head,
    /// A request's body is arriving. Timer: the body timeout, from the end of its head.
    Body,
    /// The last response is queued: once sent, shut the write side and linger.
    Closing,
    /// Write side shut; reading until the client closes. Timer: [`LINGER`].
    Lingering,
    /// The client closed its side: close once the output is sent.
    Finishing,
}

/// The storage a connection has only while it needs it.
#[derive(Debug, Default)]
struct Pending {
    /// Bytes read and not answered: the start of a partial request, or requests that
    /// wait behind a static file or a large output.
    tail: Vec<u8>,
    /// The framing state of the partial request at the front of `tail`.
    parser: Parser,
    /// `tail` may start (after `skip`) with complete requests: answer them before reading
    /// again.
    unanswered: bool,
    /// Bytes at the front of `tail` already answered, while a run of full batches goes on
    /// (nothing else looks at the tail meanwhile).
    skip: usize,
    /// Output the socket did not take yet, from `sent` on.
    unsent: Vec<u8>,
    sent: usize,
    /// What a body in progress holds (the tail and the parser's decoded chunks), counted
    /// against `--max-body-memory`.
    charge: Option<BodyCharge>,
}

/// Bytes held by a body in progress, counted in the server-wide [`BodyMemory`] until
/// dropped.
#[derive(Debug)]
struct BodyCharge {
    memory: Arc<BodyMemory>,
    bytes: usize,
}

impl Drop for BodyCharge {
    fn drop(&mut self) {
        self.memory.change(self.bytes, 0);
    }
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.tail.is_empty() && self.unsent.is_empty()
    }
}

/// How a batch of requests ended.
enum Stop {
    /// Every complete request is answered; what is left is a partial request (or nothing).
    Need {
        /// The partial request's head is complete; its body is arriving.
        body: bool,
    },
    /// The batch produced the output the poll had room for: the rest waits for the next
    /// poll.
    Full,
    /// The last response closes the connection.
    Close,
    /// A static file is next.
    File(FileRequest),
    /// The connection becomes an event stream.
    Events(EventsRequest),
    /// A post waits for room in the sequencer's inbox.
    Post(PostRequest),
    /// `/stats`, `/metrics` or the dashboard's feed asks the other shards.
    Stats(Exchange, Report),
}

/// A connection: its socket, its one timer, and storage only while needed.
pub(super) struct Conn {
    pub(super) stream: TcpStream,
    pub(super) timer: Timer,
    pub(super) shard: Rc<Shard>,
    pending: Option<Box<Pending>>,
    state: State,
    /// This task's slot among the shard's wakers, or [`UNREGISTERED`] before the first
    /// poll (a plain `u32` so that it packs beside `state`).
    slot: u32,
}

/// The `slot` of a connection not registered yet.
const UNREGISTERED: u32 = u32::MAX;

impl Drop for Conn {
    fn drop(&mut self) {
        let slot = (self.slot != UNREGISTERED).then_some(self.slot as usize);
        self.shard.connection_closed(slot);
    }
}

impl Conn {
    fn new(stream: TcpStream, shard: Rc<Shard>) -> Conn {
        shard.stats.connection_opened();
        Conn {
            stream,
            timer: Timer::after(shard.config.idle_timeout),
            shard,
            pending: None,
            state: State::Idle,
            slot: UNREGISTERED,
        }
    }

    /// Runs the HTTP loop until the connection closes or turns to a rare path.
    fn poll_http(&mut self, cx: &mut Context<'_>) -> Poll<Next> {
        if self.slot == UNREGISTERED {
            // Slots are bounded by the reactor's sources, far below `u32::MAX`; beyond, the
            // connection would simply not be woken at shutdown (it closes at its timeout).
            let slot = self.shard.register(cx.waker());
            self.slot = u32::try_from(slot).unwrap_or(UNREGISTERED - 1);
        }
        let mut reads = 0;
        // The output this poll may still produce.
        let mut room = OUTPUT_PER_POLL;
        loop {
            // Output first: nothing is read or answered until the socket took it all.
            match self.poll_unsent(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(_)) => return Poll::Ready(Next::Close),
                Poll::Pending => match self.wait(cx) {
                    Some(poll) => return poll,
                    None => continue,
                },
            }
            match self.state {
                State::Closing => {
                    self.pending = None;
                    if self.stream.shutdown(Shutdown::Write).is_err() {
                        return Poll::Ready(Next::Close);
                    }
                    self.state = State::Lingering;
                    self.timer.set_after(LINGER);
                    continue;
                }
                State::Finishing => return Poll::Ready(Next::Close),
                _ => {}
            }
            if room == 0 {
                // Enough work for one turn: the others go first.
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            if self.pending.as_ref().is_some_and(|p| p.unanswered) {
                if let Some(next) = self.answer_tail(cx, &mut room) {
                    return Poll::Ready(next);
                }
                continue;
            }
            if reads == READS_PER_POLL {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            reads += 1;
            match READ_BUF.with_borrow_mut(|buf| self.read(cx, buf, &mut room)) {
                Poll::Ready(Some(next)) => return Poll::Ready(next),
                Poll::Ready(None) => {}
                Poll::Pending => match self.wait(cx) {
                    Some(poll) => return poll,
                    None => continue,
                },
            }
        }
    }

    /// Idle: between requests, with nothing buffered.
    fn idle(&self) -> bool {
        self.state == State::Idle && self.pending.is_none()
    }

    /// The socket is not ready: poll the timer. `None` means the state changed (the timer
    /// fired, or shutdown closes an idle connection), so the loop goes on.
    fn wait(&mut self, cx: &mut Context<'_>) -> Option<Poll<Next>> {
        if self.idle() && self.shard.shutting_down() {
            // Nothing has arrived (the read that led here found the socket empty), but a
            // request may be on its way: shut the write side and drain, never close with
            // input unread (that resets the connection).
            self.state = State::Closing;
            return None;
        }
        if Pin::new(&mut self.timer).poll(cx).is_pending() {
            return Some(Poll::Pending);
        }
        let stalled_output = self.pending.as_ref().is_some_and(|p| !p.unsent.is_empty());
        match self.state {
            State::Head | State::Body if !stalled_output => {
                // Too slow to send a request: say so, then close.
                self.pending = None;
                OUT.with_borrow_mut(|out| {
                    let date = http::date::now();
                    response::error(out, &date, Status::RequestTimeout, Exchange::CLOSE);
                });
                self.state = State::Closing;
                match self.send_output(cx) {
                    Ok(()) => None,
                    Err(_) => Some(Poll::Ready(Next::Close)),
                }
            }
            // Idle too long, output stalled, or lingering over: close without a word.
            _ => Some(Poll::Ready(Next::Close)),
        }
    }

    /// Reads once into `buf` (after a small partial request copied to its front) and
    /// answers what arrived, producing at most about `room` bytes of output (and taking
    /// them from it). `Some` ends the loop.
    fn read(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
        room: &mut usize,
    ) -> Poll<Option<Next>> {
        // Only a run of full batches skips part of the tail, and it ends before a read.
        debug_assert!(self.pending.as_ref().is_none_or(|p| p.skip == 0));
        let tail_len = self.pending.as_ref().map_or(0, |p| p.tail.len());
        let in_buffer = tail_len <= SMALL_TAIL && self.state != State::Lingering;
        let start = if in_buffer { tail_len } else { 0 };
        if let (true, Some(pending)) = (in_buffer, &self.pending) {
            buf[..start].copy_from_slice(&pending.tail);
        }
        let n = match Pin::new(&mut &self.stream).poll_read(cx, &mut buf[start..]) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Err(_)) => return Poll::Ready(Some(Next::Close)),
            Poll::Ready(Ok(0)) => return Poll::Ready(self.end_of_input()),
            Poll::Ready(Ok(n)) => n,
        };
        if self.state == State::Lingering {
            return Poll::Ready(None);
        }
        if in_buffer {
            let input = &buf[..start + n];
            let (consumed, stop) = match &mut self.pending {
                Some(pending) => answer(&self.shard, input, &mut pending.parser, *room),
                None => {
                    let mut parser = Parser::new();
                    let answered = answer(&self.shard, input, &mut parser, *room);
                    if answered.0 < input.len() && keeps_tail(&answered.1) {
                        // A partial request: its parser state goes with it.
                        self.pending = Some(Box::new(Pending {
                            parser,
                            ..Pending::default()
                        }));
                    }
                    answered
                }
            };
            let end = input.len();
            if let Some(pending) = &mut self.pending {
                pending.tail.clear();
                if keeps_tail(&stop) {
                    // A chunked body keeps its payload (in the parser), not its encoding.
                    let left = match stop {
                        Stop::Need { body: true } => {
                            pending.parser.compact(&mut buf[consumed..end])
                        }
                        _ => end - consumed,
                    };
                    pending
                        .tail
                        .extend_from_slice(&buf[consumed..consumed + left]);
                }
            }
            Poll::Ready(self.finish_batch(cx, consumed > 0, stop, room))
        } else {
            let Some(pending) = &mut self.pending else {
                return Poll::Ready(Some(Next::Close));
            };
            pending.tail.extend_from_slice(&buf[..n]);
            Poll::Ready(self.answer_tail(cx, room))
        }
    }

    /// Answers the requests at the front of the tail (no read), producing at most about
    /// `room` bytes of output (and taking them from it).
    fn answer_tail(&mut self, cx: &mut Context<'_>, room: &mut usize) -> Option<Next> {
        let Some(pending) = &mut self.pending else {
            return None;
        };
        pending.unanswered = false;
        let Pending {
            tail, parser, skip, ..
        } = &mut **pending;
        let (consumed, stop) = answer(&self.shard, &tail[*skip..], parser, *room);
        if keeps_tail(&stop) {
            *skip += consumed;
            // A run of full batches drops what it answered at its end, not after each
            // batch (which would move a tail of many small requests once per batch).
            if !matches!(stop, Stop::Full) || *skip == tail.len() {
                tail.drain(..*skip);
                *skip = 0;
            }
            if let Stop::Need { body: true } = stop {
                let left = parser.compact(tail);
                tail.truncate(left);
                if tail.capacity() > 4 * tail.len() + SMALL_TAIL {
                    tail.shrink_to(2 * tail.len());
                }
            }
        } else {
            tail.clear();
            *skip = 0;
        }
        self.finish_batch(cx, consumed > 0, stop, room)
    }

    /// After a batch: send its responses (taking their size from `room`), move the state
    /// and the timer, hand over to a rare path if one is next.
    fn finish_batch(
        &mut self,
        cx: &mut Context<'_>,
        answered: bool,
        stop: Stop,
        room: &mut usize,
    ) -> Option<Next> {
        let tail_left = self.pending.as_ref().is_some_and(|p| p.tail.len() > p.skip);
        if let Some(pending) = &mut self.pending {
            pending.unanswered = tail_left && stop.resumes();
        }
        let next = match stop {
            Stop::Need { body: false } if tail_left => {
                // The header timeout runs from the first byte of a request: it starts
                // when a new request began in this batch, and is never moved after.
                if answered || self.state != State::Head {
                    self.state = State::Head;
                    self.timer.set_after(self.shard.config.header_timeout);
                }
                None
            }
            Stop::Need { body: true } => {
                // The body timeout runs from the end of the head, and is never moved after
                // (progress does not extend it: a trickle would hold its buffer for ever).
                if answered || self.state != State::Body {
                    self.state = State::Body;
                    self.timer.set_after(self.shard.config.body_timeout);
                }
                if !self.hold_body() {
                    self.refuse_body();
                }
                None
            }
            Stop::Need { body: false } | Stop::Full => {
                self.state = State::Idle;
                self.timer.set_after(self.shard.config.idle_timeout);
                None
            }
            Stop::Close => {
                self.state = State::Closing;
                None
            }
            Stop::File(request) => {
                self.state = State::Idle;
                Some(Next::File(request))
            }
            Stop::Post(request) => {
                self.state = State::Idle;
                Some(Next::Post(request))
            }
            Stop::Stats(exchange, report) => {
                self.state = State::Idle;
                Some(Next::Stats(exchange, report))
            }
            Stop::Events(request) => Some(Next::Events(request)),
        };
        if self.state != State::Body {
            if let Some(pending) = &mut self.pending {
                pending.charge = None;
            }
        }
        *room = room.saturating_sub(OUT.with_borrow(Vec::len));
        if self.send_output(cx).is_err() {
            return Some(Next::Close);
        }
        self.tidy();
        next
    }

    /// Counts what the body in progress holds against `--max-body-memory`; `false` if it
    /// does not fit.
    fn hold_body(&mut self) -> bool {
        let Some(pending) = &mut self.pending else {
            return true;
        };
        let bytes = pending.tail.capacity() + pending.parser.memory();
        let charge = pending.charge.get_or_insert_with(|| BodyCharge {
            memory: self.shard.body_memory.clone(),
            bytes: 0,
        });
        if !charge.memory.change(charge.bytes, bytes) {
            return false;
        }
        charge.bytes = bytes;
        true
    }

    /// The bodies in progress hold all the memory they may: refuse this one with `503`
    /// (the request is not too large; the server is short of room now) and close.
    fn refuse_body(&mut self) {
        // Dropping the storage gives back what the body held.
        self.pending = None;
        OUT.with_borrow_mut(|out| {
            let status = Status::ServiceUnavailable;
            let _ = ResponseWriter::new(out, status, &http::date::now(), Exchange::CLOSE)
                .header("Retry-After", "1")
                .header("Content-Type", "text/plain; charset=utf-8")
                .body(b"Too many request bodies in progress: try again.\n");
        });
        self.state = State::Closing;
    }

    /// Sends the thread's output buffer; what the socket does not take now is kept.
    fn send_output(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        OUT.with_borrow_mut(|out| {
            let mut sent = 0;
            let result = match send(&self.stream, cx, out, &mut sent) {
                Poll::Ready(result) => result,
                Poll::Pending => {
                    let pending = self.pending.get_or_insert_with(Box::default);
                    pending.unsent.extend_from_slice(&out[sent..]);
                    self.timer.set_after(self.shard.config.idle_timeout);
                    Ok(())
                }
            };
            out.clear();
            if out.capacity() > OUTPUT_KEEP {
                out.shrink_to(OUTPUT_KEEP);
            }
            result
        })
    }

    /// Sends the output kept from earlier batches. Ready once there is none.
    pub(super) fn poll_unsent(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(pending) = &mut self.pending else {
            return Poll::Ready(Ok(()));
        };
        if pending.unsent.is_empty() {
            return Poll::Ready(Ok(()));
        }
        let before = pending.sent;
        let poll = send(&self.stream, cx, &pending.unsent, &mut pending.sent);
        if pending.sent > before {
            // Progress: the client reads, give it time for the rest.
            self.timer.set_after(self.shard.config.idle_timeout);
        }
        std::task::ready!(poll)?;
        pending.unsent = Vec::new();
        pending.sent = 0;
        self.tidy();
        Poll::Ready(Ok(()))
    }

    /// Takes the output kept from earlier batches (for a rare path to send first).
    pub(super) fn take_unsent(&mut self) -> Vec<u8> {
        let Some(pending) = &mut self.pending else {
            return Vec::new();
        };
        let mut unsent = std::mem::take(&mut pending.unsent);
        unsent.drain(..pending.sent.min(unsent.len()));
        pending.sent = 0;
        self.tidy();
        unsent
    }

    /// Frees the connection's storage once it holds nothing.
    fn tidy(&mut self) {
        if self.pending.as_ref().is_some_and(|p| p.is_empty()) {
            self.pending = None;
        }
    }

    /// The client closed its side: a partial request will never complete. Answered
    /// requests still get their output; then the connection closes.
    fn end_of_input(&mut self) -> Option<Next> {
        if self.state == State::Lingering {
            return Some(Next::Close);
        }
        if let Some(pending) = &mut self.pending {
            pending.tail = Vec::new();
            pending.skip = 0;
            pending.unanswered = false;
            pending.charge = None;
        }
        self.tidy();
        self.state = State::Finishing;
        None
    }

    /// After a rare path that answered a request (a static file, a post that waited,
    /// `/stats`): close as asked, or carry on with the requests behind it.
    pub(super) fn resume(&mut self, keep_alive: bool) {
        if keep_alive {
            self.timer.set_after(self.shard.config.idle_timeout);
        } else {
            self.pending = None;
            self.state = State::Closing;
        }
    }

    /// Reads and discards input (an event stream's client has nothing to say). Ready
    /// with `false` once the client is gone.
    pub(super) fn poll_discard(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        READ_BUF.with_borrow_mut(|buf| {
            for _ in 0..READS_PER_POLL {
                match Pin::new(&mut &self.stream).poll_read(cx, buf) {
                    Poll::Ready(Ok(0) | Err(_)) => return Poll::Ready(false),
                    Poll::Ready(Ok(_)) => {}
                    Poll::Pending => return Poll::Pending,
                }
            }
            Poll::Ready(true)
        })
    }

    /// Writes `bytes` from `*sent` on; Ready once all are written.
    pub(super) fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
        bytes: &[u8],
        sent: &mut usize,
    ) -> Poll<io::Result<()>> {
        send(&self.stream, cx, bytes, sent)
    }

    /// Writes all of `bytes`, failing with `TimedOut` if the client takes nothing for the
    /// idle timeout.
    pub(super) async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        let idle_timeout = self.shard.config.idle_timeout;
        self.timer.set_after(idle_timeout);
        let mut sent = 0;
        poll_fn(|cx| {
            let before = sent;
            let poll = self.poll_send(cx, bytes, &mut sent);
            if sent > before {
                self.timer.set_after(idle_timeout);
            }
            match poll {
                Poll::Pending if Pin::new(&mut self.timer).poll(cx).is_ready() => {
                    Poll::Ready(Err(io::ErrorKind::TimedOut.into()))
                }
                poll => poll,
            }
        })
        .await
    }
}

/// Writes `bytes` from `*sent` on to `stream`; Ready once all are written.
fn send(
    stream: &TcpStream,
    cx: &mut Context<'_>,
    bytes: &[u8],
    sent: &mut usize,
) -> Poll<io::Result<()>> {
    while *sent < bytes.len() {
        match Pin::new(&mut &*stream).poll_write(cx, &bytes[*sent..]) {
            Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
            Poll::Ready(Ok(n)) => *sent += n,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        }
    }
    Poll::Ready(Ok(()))
}

/// Whether the input after the requests answered is kept for later.
fn keeps_tail(stop: &Stop) -> bool {
    matches!(stop, Stop::Need { .. }) || stop.resumes()
}

impl Stop {
    /// Whether the requests after the batch are answered later, on this connection.
    fn resumes(&self) -> bool {
        matches!(
            self,
            Stop::Full | Stop::File(_) | Stop::Post(_) | Stop::Stats(..)
        )
    }
}

/// Answers the complete requests at the start of `input` into the thread's output
/// buffer, until the output reaches `room` bytes. Returns how many bytes they took and why
/// it stopped.
fn answer(shard: &Shard, input: &[u8], parser: &mut Parser, room: usize) -> (usize, Stop) {
    OUT.with_borrow_mut(|out| {
        let limits = &shard.config.limits;
        let date = http::date::now();
        let mut at = 0;
        loop {
            if out.len() >= room {
                return (at, Stop::Full);
            }
            match parser.parse(&input[at..], limits) {
                Ok(Parsed::Complete {
                    ref request,
                    consumed,
                }) => {
                    let raw = &input[at..at + consumed];
                    at += consumed;
                    shard.stats.request_served();
                    match routes::answer(shard, request, raw, out, &date) {
                        Answer::Open => {}
                        Answer::Close => return (at, Stop::Close),
                        Answer::File(file) => return (at, Stop::File(file)),
                        Answer::Events(events) => return (at, Stop::Events(events)),
                        Answer::Post(post) => return (at, Stop::Post(post)),
                        Answer::Stats(exchange, report) => {
                            return (at, Stop::Stats(exchange, report));
                        }
                    }
                }
                Ok(Parsed::NeedHead) => return (at, Stop::Need { body: false }),
                Ok(Parsed::NeedBody { send_continue }) => {
                    if send_continue {
                        out.extend_from_slice(CONTINUE);
                    }
                    return (at, Stop::Need { body: true });
                }
                Err(error) => {
                    response::error(out, &date, error.status(), Exchange::CLOSE);
                    return (at, Stop::Close);
                }
            }
        }
    })
}
