//! `/chat/events`: a connection turned into a Server-Sent Events stream.
//!
//! The stream subscribes to its shard's [`Hub`] and keeps only a cursor
//! (the sequence number of the next message it wants). When woken by a publish it formats
//! the messages since its cursor from the hub's ring into the thread's output buffer and
//! writes them, again and again, until it is caught up or the socket is full: then it
//! waits for the next publish or for the socket to drain. A comment ping every [`PING`]
//! keeps proxies from closing it.
//!
//! # Memory
//!
//! A caught-up stream holds no buffer: only the bytes the socket would not take are copied
//! into storage of the stream's own, freed as soon as they are written. Messages live once
//! per shard in the hub's ring, shared by every subscriber.
//!
//! # Falling behind
//!
//! A subscriber whose cursor the ring has passed (its socket was full for that long) is
//! not dropped: it gets a `lagged` event that says how many messages it missed, with the
//! last missed id as its `id:`, and goes on from the oldest message held. A reconnect with
//! a `Last-Event-ID` older than the ring resumes the same way.
//!
//! The stream ends when the client closes, when its output stalls across a whole ping
//! interval, or at shutdown.

use std::cell::RefCell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use solo::future::poll_fn;

use super::Shard;
use super::conn::{self, Conn};
use crate::chat::{self, Hub, SubscriberId};

/// The interval of keep-alive comments.
const PING: Duration = Duration::from_secs(15);

/// Events formatted at once into the thread's output buffer, then written.
const CHUNK: usize = 64 << 10;

/// Bytes a stream writes in one poll before it lets the other tasks run.
const BYTES_PER_POLL: usize = 256 << 10;

/// Where a stream starts: the cursor of the first message it sends.
#[derive(Debug)]
pub(super) struct EventsRequest {
    pub(super) cursor: u64,
}

/// A subscription, ended on drop.
struct Subscription {
    shard: Rc<Shard>,
    id: SubscriberId,
}

impl Subscription {
    fn new(shard: &Rc<Shard>) -> Subscription {
        let id = shard.hub.borrow_mut().subscribe();
        shard.stats.subscriber_joined();
        Subscription {
            shard: shard.clone(),
            id,
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.shard.hub.borrow_mut().unsubscribe(self.id);
        self.shard.stats.subscriber_left();
    }
}

/// The stream's state between polls.
struct Stream {
    cursor: u64,
    /// Output the socket did not take yet (the head, at first), from `sent` on. Empty, with
    /// no allocation, whenever the socket took everything.
    unsent: Vec<u8>,
    sent: usize,
    /// Output was written since the last ping interval began.
    progress: bool,
    /// A keep-alive comment is due.
    ping: bool,
}

/// What one round of formatting and writing came to.
enum Round {
    /// Everything formatted was written; there may be more.
    Written,
    /// Caught up: nothing new to write.
    CaughtUp,
    /// The socket is full; the rest is kept in `unsent`.
    Full,
    /// The connection failed.
    Failed,
}

/// Streams events to the client until the stream ends; then the connection closes
/// (returns false, or, at shutdown, goes on to close cleanly).
pub(super) async fn serve(conn: &mut Conn, request: EventsRequest) -> bool {
    let shard = conn.shard.clone();
    let subscription = Subscription::new(&shard);
    let mut stream = Stream {
        cursor: request.cursor,
        unsent: conn.take_unsent(),
        sent: 0,
        progress: true,
        ping: false,
    };
    conn.timer.set_interval(PING);
    poll_fn(|cx| stream.poll(conn, &subscription, cx)).await
}

impl Stream {
    /// Ready when the stream ends: `true` if the connection then closes cleanly (at
    /// shutdown), `false` if it just closes (the client left or is stuck).
    fn poll(
        &mut self,
        conn: &mut Conn,
        subscription: &Subscription,
        cx: &mut Context<'_>,
    ) -> Poll<bool> {
        let shard = &subscription.shard;
        // The client has nothing to say; end of input means it left.
        match conn.poll_discard(cx) {
            Poll::Ready(false) => return Poll::Ready(false),
            // It keeps sending: look again after the others had a turn.
            Poll::Ready(true) => cx.waker().wake_by_ref(),
            Poll::Pending => {}
        }
        if shard.shutting_down() {
            // Close cleanly: write side first, then drain what the client still sends.
            conn.resume(false);
            return Poll::Ready(true);
        }
        while Pin::new(&mut conn.timer).poll(cx).is_ready() {
            if self.unsent.is_empty() {
                self.ping = true;
            } else if !self.progress {
                // Nothing written for a whole ping interval: the client is stuck.
                return Poll::Ready(false);
            }
            self.progress = false;
        }
        let mut written = 0;
        loop {
            if !self.unsent.is_empty() {
                let before = self.sent;
                let poll = conn.poll_send(cx, &self.unsent, &mut self.sent);
                written += self.sent - before;
                self.progress |= self.sent > before;
                match poll {
                    Poll::Ready(Ok(())) => {
                        self.unsent = Vec::new();
                        self.sent = 0;
                    }
                    Poll::Ready(Err(_)) => return Poll::Ready(false),
                    // The socket's write readiness wakes us.
                    Poll::Pending => return Poll::Pending,
                }
            }
            if written >= BYTES_PER_POLL {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            match self.write_new(conn, &shard.hub, cx, &mut written) {
                Round::Written => {}
                Round::CaughtUp => {
                    // Nothing can be published while this task runs: no message slips
                    // between the check and the registration.
                    shard.hub.borrow_mut().register(subscription.id, cx.waker());
                    return Poll::Pending;
                }
                Round::Full => return Poll::Pending,
                Round::Failed => return Poll::Ready(false),
            }
        }
    }

    /// Formats up to [`CHUNK`] bytes of what is new (and a due ping) into the thread's
    /// output buffer and writes it; keeps what the socket does not take.
    fn write_new(
        &mut self,
        conn: &mut Conn,
        hub: &RefCell<Hub>,
        cx: &mut Context<'_>,
        written: &mut usize,
    ) -> Round {
        conn::with_output(|out| {
            if std::mem::take(&mut self.ping) {
                chat::write_comment(out, "ping");
            }
            self.format(&hub.borrow(), out);
            if out.is_empty() {
                return Round::CaughtUp;
            }
            let mut sent = 0;
            let poll = conn.poll_send(cx, out, &mut sent);
            *written += sent;
            self.progress |= sent > 0;
            match poll {
                Poll::Ready(Ok(())) => Round::Written,
                Poll::Ready(Err(_)) => Round::Failed,
                Poll::Pending => {
                    self.unsent = out[sent..].to_vec();
                    self.sent = 0;
                    Round::Full
                }
            }
        })
    }

    /// Appends the messages since the cursor, up to [`CHUNK`] bytes; a cursor the ring has
    /// passed is told so and moved to the oldest message held.
    fn format(&mut self, hub: &Hub, out: &mut Vec<u8>) {
        let messages = match hub.messages_since(self.cursor) {
            Ok(messages) => messages,
            Err(lagged) => {
                chat::write_lagged(out, lagged);
                self.cursor = lagged.resume_at;
                let Ok(messages) = hub.messages_since(self.cursor) else {
                    return;
                };
                messages
            }
        };
        for (seq, message) in messages {
            chat::write_event(out, Some(seq), None, message);
            self.cursor = seq + 1;
            if out.len() >= CHUNK {
                break;
            }
        }
    }
}
