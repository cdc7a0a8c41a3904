//! `/chat/events`: a connection turned into a Server-Sent Events stream.
//!
//! The stream subscribes to the shard's [`Hub`](crate::chat::Hub) and keeps only a cursor
//! (the sequence number of the next message it wants). When woken by a publish it formats
//! every message since its cursor from the hub's shared ring and writes them; a comment
//! ping every [`PING`] keeps proxies from closing it. It ends when the client closes, when
//! it falls so far behind that the ring no longer holds its next message (it is told with
//! a `lagged` event), when its output stalls across two pings, or at shutdown.

use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use solo::future::poll_fn;

use super::Shard;
use super::conn::Conn;
use crate::chat::{self, SubscriberId};

/// The interval of keep-alive comments.
const PING: Duration = Duration::from_secs(15);

/// Stop taking messages from the ring while this much output waits for the client.
const MAX_BUFFERED: usize = 64 << 10;

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
    /// Formatted events (and the head, at first) not yet written, from `sent` on.
    out: Vec<u8>,
    sent: usize,
    /// Output was written since the last ping.
    progress: bool,
    /// Close once `out` is written (the client lagged).
    ending: bool,
}

/// Streams events to the client until the stream ends; then the connection closes
/// (returns false).
pub(super) async fn serve(conn: &mut Conn, request: EventsRequest) -> bool {
    let shard = conn.shard.clone();
    let subscription = Subscription::new(&shard);
    let mut stream = Stream {
        cursor: request.cursor,
        out: conn.take_unsent(),
        sent: 0,
        progress: true,
        ending: false,
    };
    conn.timer.set_interval(PING);
    poll_fn(|cx| stream.poll(conn, &subscription, cx)).await;
    false
}

impl Stream {
    fn poll(
        &mut self,
        conn: &mut Conn,
        subscription: &Subscription,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        let shard = &subscription.shard;
        // The client has nothing to say; end of input means it left.
        match conn.poll_discard(cx) {
            Poll::Ready(false) => return Poll::Ready(()),
            // It keeps sending: look again after the others had a turn.
            Poll::Ready(true) => cx.waker().wake_by_ref(),
            Poll::Pending => {}
        }
        if shard.shutting_down() {
            return Poll::Ready(());
        }
        while Pin::new(&mut conn.timer).poll(cx).is_ready() {
            if self.pending_output() {
                if !self.progress {
                    // Nothing written for a whole ping interval: the client is stuck.
                    return Poll::Ready(());
                }
            } else {
                chat::write_comment(&mut self.out, "ping");
            }
            self.progress = false;
        }
        if !self.ending && self.out.len() < MAX_BUFFERED {
            self.take_messages(shard);
        }
        let before = self.sent;
        let sent = conn.poll_send(cx, &self.out, &mut self.sent);
        self.progress |= self.sent > before;
        match sent {
            Poll::Ready(Ok(())) => {
                self.out.clear();
                self.sent = 0;
                if self.ending {
                    return Poll::Ready(());
                }
            }
            Poll::Ready(Err(_)) => return Poll::Ready(()),
            Poll::Pending => {}
        }
        shard.hub.borrow_mut().register(subscription.id, cx.waker());
        Poll::Pending
    }

    fn pending_output(&self) -> bool {
        self.sent < self.out.len()
    }

    /// Formats the messages since the cursor (up to the buffer limit).
    fn take_messages(&mut self, shard: &Shard) {
        if self.sent > 0 {
            self.out.drain(..self.sent);
            self.sent = 0;
        }
        let hub = shard.hub.borrow();
        match hub.messages_since(self.cursor) {
            Ok(messages) => {
                for (seq, message) in messages {
                    chat::write_event(&mut self.out, Some(seq), None, message);
                    self.cursor = seq + 1;
                    if self.out.len() >= MAX_BUFFERED {
                        break;
                    }
                }
            }
            Err(lagged) => {
                chat::write_event(
                    &mut self.out,
                    None,
                    Some("lagged"),
                    &lagged.missed.to_string(),
                );
                self.ending = true;
            }
        }
    }
}
