//! What the shards tell each other: one chat for the whole server, and `/stats` (and, with
//! the `metrics` feature, `/metrics` and the dashboard's feed) of every shard.
//!
//! # One chat, one order
//!
//! Shard 0 is the chat's **sequencer**; every other shard is a **mirror**. A message posted
//! on any shard travels to shard 0 ([`Note::Post`]), which gives it the next sequence
//! number, stores it in its own hub (waking its subscribers) and sends it with its number
//! to every mirror ([`Note::Publish`]). Each mirror stores it in its own hub, in the order
//! shard 0 sent them, so every hub holds the same messages under the same ids and a
//! `Last-Event-ID` resumes on any shard. A message's text is one `Arc<str>` shared by all
//! the hubs. With one shard, shard 0 is the sequencer and has no mirrors.
//!
//! Ids start at a number derived from the startup time (seconds since 1970 shifted left
//! by 20 bits), so an id from before a restart is lower than every id of the new run and a
//! browser that reconnects across a restart gets the recent history instead of waiting
//! for an id that will not come.
//!
//! # Bursts
//!
//! Each shard's [`run`] loop takes at most [`BATCH`] notes at a time from its inbox, then
//! yields: the subscribers woken by a batch (queued before the loop) write it out before
//! the next batch is published. A subscriber that keeps up therefore never falls behind the
//! ring, however large the burst; only one whose socket stays full does.
//!
//! # Back-pressure
//!
//! Every queue is bounded. A post that finds shard 0's inbox full waits in a rare path of
//! its connection ([`post`]), which reads no further request meanwhile; shard 0 waits for
//! a mirror whose inbox is full. No message is dropped and none is refused while the
//! shards are running.

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use solo::Timer;
use solo::channel::cross::oneshot;
use solo::future::{or, poll_fn, yield_now};

use super::Shard;
use super::conn::Conn;
use super::routes::Report;
use crate::chat;
use crate::http::{self, Exchange, ResponseWriter, Status};
#[cfg(feature = "metrics")]
use crate::metrics::{Exposition, ShardFigures};
use crate::stats::{self, Snapshot};

/// The shard that sequences the chat.
pub(super) const SEQUENCER: usize = 0;

/// Notes taken from the inbox before the loop lets the subscribers they woke write.
/// Well below the ring's size, so that a subscriber that keeps up is never passed.
pub(super) const BATCH: usize = 64;

/// How long `/stats` waits for another shard's counters.
const STATS_WAIT: Duration = Duration::from_secs(2);

const _: () = assert!(BATCH * 4 <= super::CHAT_HISTORY);

/// What travels between the shards.
pub(crate) enum Note {
    /// A chat message posted on some shard, for the sequencer.
    Post(Arc<str>),
    /// A sequenced chat message, from the sequencer to a mirror.
    Publish(u64, Arc<str>),
    /// Asks a shard for its counters.
    Stats(oneshot::Sender<Snapshot>),
    /// Asks a shard for its counters and its runtime's figures.
    #[cfg(feature = "metrics")]
    Figures(oneshot::Sender<ShardFigures>),
}

/// The first chat id of a run that starts now: see the module docs.
pub(super) fn first_chat_id() -> u64 {
    // Under simulation the wall clock is the virtual one (from the start of 2026), so a
    // run's ids are the same every time and still grow across a restart.
    #[cfg(solo_sim)]
    let secs = 1_767_225_600 + solo::sim::now().as_secs();
    #[cfg(not(solo_sim))]
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    secs << 20
}

/// Serves the shard's inbox for as long as the shard runs.
pub(super) async fn run(shard: Rc<Shard>, mut inbox: solo::shard::Shard<Note>) {
    let mut batch = Vec::with_capacity(BATCH);
    while inbox.recv_many(&mut batch, BATCH).await > 0 {
        for note in batch.drain(..) {
            match note {
                Note::Post(text) => sequence(&shard, text).await,
                Note::Publish(id, text) => {
                    let stored = chat::publish_and_wake(&shard.hub, text);
                    debug_assert_eq!(stored, id, "shard {} mirrors out of order", shard.id);
                }
                Note::Stats(reply) => {
                    let _ = reply.send(snapshot(&shard));
                }
                #[cfg(feature = "metrics")]
                Note::Figures(reply) => {
                    let _ = reply.send(figures(&shard));
                }
            }
        }
        // The subscribers this batch woke are queued before us: they write it first.
        yield_now().await;
    }
}

/// On the sequencer: numbers a message, stores it, and sends it to every mirror.
async fn sequence(shard: &Shard, text: Arc<str>) {
    let id = chat::publish_and_wake(&shard.hub, text.clone());
    for mirror in (0..shard.mesh.count()).filter(|&i| i != shard.id) {
        // A mirror that stopped (shutdown) needs nothing more.
        let _ = shard
            .mesh
            .send_to(mirror, Note::Publish(id, text.clone()))
            .await;
    }
}

/// Hands a posted message to the sequencer if its inbox has room now; gives it back if
/// not (`Err(Some)`: full, post it with [`post`]) or if the sequencer stopped (`Err(None)`).
pub(super) fn try_post(shard: &Shard, text: Arc<str>) -> Result<(), Option<Arc<str>>> {
    match shard.mesh.try_send_to(SEQUENCER, Note::Post(text)) {
        Ok(()) => {
            shard.stats.message_published();
            Ok(())
        }
        Err(error) if error.is_full() => match error.into_inner() {
            Note::Post(text) => Err(Some(text)),
            _ => Err(None),
        },
        Err(_) => Err(None),
    }
}

/// A post that found the sequencer's inbox full.
#[derive(Debug)]
pub(super) struct PostRequest {
    pub(super) text: Arc<str>,
    pub(super) exchange: Exchange,
    /// Answer with a redirect to the page (a browser's form) rather than `204`.
    pub(super) browser: bool,
}

/// The rare path of a post that found the sequencer's inbox full: waits for room (for at
/// most the idle timeout, then `503`), answers, and lets the connection go on. Returns
/// whether it does.
pub(super) async fn post(conn: &mut Conn, request: PostRequest) -> bool {
    let idle_timeout = conn.shard.config.idle_timeout;
    let sent = {
        let Conn { shard, timer, .. } = &mut *conn;
        timer.set_after(idle_timeout);
        or(
            async {
                shard
                    .mesh
                    .send_to(SEQUENCER, Note::Post(request.text))
                    .await
                    .is_ok()
            },
            poll_fn(|cx| std::pin::Pin::new(&mut *timer).poll(cx).map(|_| false)),
        )
        .await
    };
    let date = http::date::now();
    let mut out = conn.take_unsent();
    let keep_alive = if sent {
        conn.shard.stats.message_published();
        posted(&mut out, &date, request.exchange, request.browser)
    } else {
        busy(&mut out, &date, request.exchange)
    };
    if conn.write_all(&out).await.is_err() {
        return false;
    }
    conn.resume(keep_alive && !conn.shard.shutting_down());
    true
}

/// The answer to an accepted post: `204`, or `303` back to the page for a browser's form.
/// Returns whether the connection stays open.
pub(super) fn posted(
    out: &mut Vec<u8>,
    date: &http::HttpDate,
    exchange: Exchange,
    browser: bool,
) -> bool {
    if browser {
        // A browser posting the form without script: back to the page.
        ResponseWriter::new(out, Status::SeeOther, date, exchange)
            .header("Location", "/chat")
            .header("Content-Type", "text/plain; charset=utf-8")
            .body(b"See /chat\n")
    } else {
        ResponseWriter::new(out, Status::NoContent, date, exchange).empty()
    }
}

/// The answer to a post the chat cannot take (the sequencer stopped or stayed full).
pub(super) fn busy(out: &mut Vec<u8>, date: &http::HttpDate, exchange: Exchange) -> bool {
    let status = Status::ServiceUnavailable;
    ResponseWriter::new(out, status, date, exchange)
        .header("Retry-After", "1")
        .header("Content-Type", "text/plain; charset=utf-8")
        .body(b"The chat is busy or shutting down: try again.\n")
}

/// This shard's counters, with its reactor's.
fn snapshot(shard: &Shard) -> Snapshot {
    let reactor = solo::reactor::stats();
    Snapshot {
        shard: shard.id as u64,
        loop_iterations: reactor.polls,
        reactor_events: reactor.events,
        reactor_sources: reactor.sources as u64,
        reactor_timers: reactor.timers as u64,
        ..shard.stats.snapshot()
    }
}

/// Asks shard `to` for its counters; `None` if it stopped or did not answer in time.
async fn ask(shard: &Shard, to: usize) -> Option<Snapshot> {
    let (reply, answer) = oneshot::channel();
    shard.mesh.send_to(to, Note::Stats(reply)).await.ok()?;
    or(async { answer.await.ok() }, async {
        Timer::after(STATS_WAIT).await;
        None
    })
    .await
}

/// This shard's counters and its runtime's figures.
#[cfg(feature = "metrics")]
pub(super) fn figures(shard: &Shard) -> ShardFigures {
    ShardFigures {
        server: snapshot(shard),
        runtime: solo::metrics(),
        heap_bytes: crate::heap::thread_bytes(),
        heap_baseline: shard.heap_baseline.get(),
    }
}

/// Every shard's figures, by shard (`None`: it stopped or did not answer in time).
#[cfg(feature = "metrics")]
pub(super) async fn gather(shard: &Shard) -> Vec<Option<ShardFigures>> {
    let mut all = Vec::with_capacity(shard.mesh.count());
    for i in 0..shard.mesh.count() {
        all.push(if i == shard.id {
            Some(figures(shard))
        } else {
            let (reply, answer) = oneshot::channel();
            match shard.mesh.send_to(i, Note::Figures(reply)).await {
                Ok(()) => {
                    or(async { answer.await.ok() }, async {
                        Timer::after(STATS_WAIT).await;
                        None
                    })
                    .await
                }
                Err(_) => None,
            }
        });
    }
    all
}

/// The rare path of `/stats` and `/metrics` (and the start of the dashboard's feed):
/// gathers every shard's figures, answers, and lets the connection go on. Returns whether
/// it does.
pub(super) async fn stats(conn: &mut Conn, exchange: Exchange, report: Report) -> bool {
    match report {
        Report::Json => {}
        #[cfg(feature = "metrics")]
        Report::Prometheus => return prometheus(conn, exchange).await,
        #[cfg(feature = "metrics")]
        Report::Feed => return super::dashboard::feed(conn, exchange).await,
    }
    let shard = conn.shard.clone();
    let mut shards = Vec::with_capacity(shard.mesh.count());
    for i in 0..shard.mesh.count() {
        shards.push(if i == shard.id {
            Some(snapshot(&shard))
        } else {
            ask(&shard, i).await
        });
    }
    let report = stats::Report {
        shard: shard.id as u64,
        shards,
        connection_future_bytes: super::connection_future_size() as u64,
        rss_bytes: crate::stats::rss_bytes(),
        baseline_rss_bytes: shard.baseline_rss,
        driver: solo::reactor::driver(),
    };
    let mut body = Vec::with_capacity(1024);
    report.write_json(&mut body);
    body.push(b'\n');
    let date = http::date::now();
    let mut out = conn.take_unsent();
    let keep_alive = ResponseWriter::new(&mut out, Status::Ok, &date, exchange)
        .header("Content-Type", "application/json")
        .header("Cache-Control", "no-store")
        .body(&body);
    if conn.write_all(&out).await.is_err() {
        return false;
    }
    conn.resume(keep_alive && !shard.shutting_down());
    true
}

/// `/metrics`: every shard's figures in the Prometheus text format.
#[cfg(feature = "metrics")]
async fn prometheus(conn: &mut Conn, exchange: Exchange) -> bool {
    let shard = conn.shard.clone();
    let exposition = Exposition {
        shards: gather(&shard).await,
        rss_bytes: crate::stats::rss_bytes(),
        baseline_rss_bytes: shard.baseline_rss,
    };
    let mut body = String::with_capacity(16 << 10);
    exposition.write(&mut body);
    let date = http::date::now();
    let mut out = conn.take_unsent();
    let keep_alive = ResponseWriter::new(&mut out, Status::Ok, &date, exchange)
        .header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        .header("Cache-Control", "no-store")
        .body(body.as_bytes());
    if conn.write_all(&out).await.is_err() {
        return false;
    }
    conn.resume(keep_alive && !shard.shutting_down());
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_of_a_later_run_are_higher() {
        let first = first_chat_id();
        // Startup in 2026 or later, and room for a million messages per second of uptime
        // below the next second's first id, within JavaScript's exact integers.
        assert!(first >> 20 > 1_700_000_000);
        assert!(first < 1 << 53);
    }

    #[test]
    fn answers() {
        const KEEP_ALIVE: Exchange = Exchange {
            head_only: false,
            keep_alive: true,
            http10: false,
        };
        let date = http::date::now();
        let mut out = Vec::new();
        assert!(posted(&mut out, &date, KEEP_ALIVE, false));
        assert!(out.starts_with(b"HTTP/1.1 204 No Content\r\n"));
        out.clear();
        assert!(posted(&mut out, &date, KEEP_ALIVE, true));
        assert!(out.starts_with(b"HTTP/1.1 303 See Other\r\n"));
        out.clear();
        busy(&mut out, &date, KEEP_ALIVE);
        let text = String::from_utf8_lossy(&out);
        assert!(text.starts_with("HTTP/1.1 503 "), "{text}");
        assert!(text.contains("\r\nRetry-After: 1\r\n"), "{text}");
    }
}
