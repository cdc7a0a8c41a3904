//! `/dashboard`: a page of live charts, and `/dashboard/events`, the feed that draws them.
//!
//! The page (`assets/dashboard.html`, one file, no external script) opens an `EventSource`
//! on the feed and plots, per shard, the last two minutes of open connections, requests
//! per second, loop utilisation, timer lag (p50 and p99) and heap bytes per connection,
//! on canvases of its own.
//!
//! The feed is a connection turned into a Server-Sent Events stream: every [`INTERVAL`] it
//! gathers every shard's figures over the mesh (as `/metrics` does), turns two gatherings
//! into rates and quantiles over the interval ([`crate::metrics::write_sample`]) and sends
//! them as one `sample` event. It ends when the client leaves, or at shutdown.

use std::task::Poll;
use std::time::{Duration, Instant};

use solo::Timer;
use solo::future::{or, poll_fn};

use super::conn::Conn;
use super::mesh;
use crate::chat::{self, EVENT_STREAM};
use crate::http::{self, Exchange, ResponseWriter, Status};

/// The page.
pub(super) const PAGE: &str = include_str!("../../assets/dashboard.html");

/// Time between two samples of the feed.
pub(super) const INTERVAL: Duration = Duration::from_secs(1);

/// Streams samples to the client until it leaves (returns false) or the server shuts down
/// (returns true after asking the connection to close cleanly).
pub(super) async fn feed(conn: &mut Conn, exchange: Exchange) -> bool {
    let shard = conn.shard.clone();
    let mut out = conn.take_unsent();
    let _ = ResponseWriter::new(&mut out, Status::Ok, &http::date::now(), exchange)
        .header("Content-Type", EVENT_STREAM)
        .header("Cache-Control", "no-cache")
        .header("X-Accel-Buffering", "no")
        .stream();
    chat::write_comment(
        &mut out,
        "solo dashboard: a sample of every shard each second",
    );
    if conn.write_all(&out).await.is_err() {
        return false;
    }
    let mut before = mesh::gather(&shard).await;
    let mut at = Instant::now();
    let mut text = String::with_capacity(1024);
    loop {
        let tick = or(
            async {
                Timer::after(INTERVAL).await;
                Some(true)
            },
            poll_fn(|cx| {
                if shard.shutting_down() {
                    return Poll::Ready(Some(false));
                }
                // The client has nothing to say; end of input means it left.
                match conn.poll_discard(cx) {
                    Poll::Ready(false) => Poll::Ready(None),
                    Poll::Ready(true) => {
                        cx.waker().wake_by_ref();
                        Poll::Pending
                    }
                    Poll::Pending => Poll::Pending,
                }
            }),
        )
        .await;
        match tick {
            Some(true) => {}
            // Shutdown: close cleanly (write side first, then drain).
            Some(false) => {
                conn.resume(false);
                return true;
            }
            None => return false,
        }
        let now = mesh::gather(&shard).await;
        let interval = at.elapsed();
        at = Instant::now();
        text.clear();
        crate::metrics::write_sample(&before, &now, interval, &mut text);
        out.clear();
        chat::write_event(&mut out, None, Some("sample"), &text);
        if conn.write_all(&out).await.is_err() {
            return false;
        }
        before = now;
    }
}
