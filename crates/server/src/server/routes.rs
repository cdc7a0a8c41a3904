//! The routes: one request in, its response appended to the batch's output.
//!
//! | path | methods | answer |
//! |---|---|---|
//! | `/`, `/plaintext` | GET, HEAD | `Hello, World!` (a browser asking for HTML at `/` is sent to `/static/`) |
//! | `/json` | GET, HEAD | `{"message":"Hello, World!"}` |
//! | `/static/...` | GET, HEAD | a file under the root (read off the loop) |
//! | `/chat` | GET, HEAD | the chat page |
//! | `/chat/events` | GET | the chat as Server-Sent Events |
//! | `/chat/send` | POST | publish a message: `204`, or `303` to `/chat` for a browser's form |
//! | `/stats` | GET, HEAD | this shard's counters as JSON |
//!
//! Anything else is `404`; a known path with another method is `405` with `Allow`.

use super::Shard;
use super::events::EventsRequest;
use super::file::FileRequest;
use crate::chat::{self, EVENT_STREAM};
use crate::http::{Exchange, HttpDate, MAX_HEADERS, Request, ResponseWriter, Status, response};

/// What a request leads to, after its response (or head) is in the output.
pub(super) enum Answer {
    /// The connection stays open for the next request.
    Open,
    /// The connection closes after the output.
    Close,
    /// A static file is to be sent next.
    File(FileRequest),
    /// The connection becomes an event stream.
    Events(EventsRequest),
}

/// Answers `request`, whose bytes are `raw`, into `out`.
pub(super) fn answer(
    shard: &Shard,
    request: &Request<'_>,
    raw: &[u8],
    out: &mut Vec<u8>,
    date: &HttpDate,
) -> Answer {
    let mut exchange = Exchange::of(request);
    if shard.shutting_down() {
        exchange = exchange.closing();
    }
    let readable = matches!(request.method, "GET" | "HEAD");
    let path = request.path();
    let open = match path {
        "/" if readable && shard.root.is_some() && wants_html(request) => {
            ResponseWriter::new(out, Status::SeeOther, date, exchange)
                .header("Location", "/static/")
                .header("Content-Type", "text/plain; charset=utf-8")
                .body(b"See /static/\n")
        }
        "/" | "/plaintext" if readable => response::plaintext(out, date, exchange),
        "/json" if readable => response::json(out, date, exchange),
        "/chat" if readable => ResponseWriter::new(out, Status::Ok, date, exchange)
            .header("Content-Type", "text/html; charset=utf-8")
            .body(chat::PAGE.as_bytes()),
        "/stats" if readable => stats(shard, out, date, exchange),
        "/chat/events" if request.method == "GET" => {
            return events(shard, raw, out, date, exchange);
        }
        "/chat/send" if request.method == "POST" => send(shard, request, out, date, exchange),
        "/chat/send" => response::method_not_allowed(out, date, "POST", exchange),
        "/chat/events" => response::method_not_allowed(out, date, "GET", exchange),
        "/" | "/plaintext" | "/json" | "/chat" | "/stats" => {
            response::method_not_allowed(out, date, "GET, HEAD", exchange)
        }
        _ => match path.strip_prefix("/static") {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                if !readable {
                    response::method_not_allowed(out, date, "GET, HEAD", exchange)
                } else {
                    let path = if rest.is_empty() { "/" } else { rest };
                    return Answer::File(FileRequest {
                        path: path.to_string(),
                        exchange,
                    });
                }
            }
            _ => response::not_found(out, date, exchange),
        },
    };
    if open { Answer::Open } else { Answer::Close }
}

/// Whether the client prefers HTML (a browser).
fn wants_html(request: &Request<'_>) -> bool {
    request.accept.is_some_and(|accept| {
        accept
            .windows(9)
            .any(|w| w.eq_ignore_ascii_case(b"text/html"))
    })
}

/// `/stats`: this shard's counters, the reactor's, and the memory figures.
fn stats(shard: &Shard, out: &mut Vec<u8>, date: &HttpDate, exchange: Exchange) -> bool {
    let mut snapshot = shard.stats.snapshot();
    let reactor = solo::reactor::stats();
    snapshot.shard = shard.id as u64;
    snapshot.shards = shard.shards as u64;
    snapshot.loop_iterations = reactor.polls;
    snapshot.reactor_events = reactor.events;
    snapshot.reactor_sources = reactor.sources as u64;
    snapshot.reactor_timers = reactor.timers as u64;
    snapshot.connection_future_bytes = super::connection_future_size() as u64;
    let mut body = Vec::with_capacity(640);
    snapshot.write_json(&mut body);
    body.push(b'\n');
    ResponseWriter::new(out, Status::Ok, date, exchange)
        .header("Content-Type", "application/json")
        .header("Cache-Control", "no-store")
        .body(&body)
}

/// `POST /chat/send`: publishes the message to every subscriber of this shard.
fn send(
    shard: &Shard,
    request: &Request<'_>,
    out: &mut Vec<u8>,
    date: &HttpDate,
    exchange: Exchange,
) -> bool {
    match chat::decode_message(request.content_type, request.body) {
        Ok(message) => {
            chat::publish_and_wake(&shard.hub, message);
            shard.stats.message_published();
            if wants_html(request) {
                // A browser posting the form without script: back to the page.
                ResponseWriter::new(out, Status::SeeOther, date, exchange)
                    .header("Location", "/chat")
                    .header("Content-Type", "text/plain; charset=utf-8")
                    .body(b"See /chat\n")
            } else {
                ResponseWriter::new(out, Status::NoContent, date, exchange).empty()
            }
        }
        Err(error) => response::error(out, date, error.status(), exchange),
    }
}

/// `GET /chat/events`: writes the head of the stream and hands the connection over.
fn events(
    shard: &Shard,
    raw: &[u8],
    out: &mut Vec<u8>,
    date: &HttpDate,
    exchange: Exchange,
) -> Answer {
    if shard.shutting_down() {
        response::error(out, date, Status::ServiceUnavailable, exchange.closing());
        return Answer::Close;
    }
    let _ = ResponseWriter::new(out, Status::Ok, date, exchange)
        .header("Content-Type", EVENT_STREAM)
        .header("Cache-Control", "no-cache")
        .header("X-Accel-Buffering", "no")
        .stream();
    chat::write_comment(out, "solo chat: connected");
    let hub = shard.hub.borrow();
    // A browser reconnecting says where it was; start after that (unless the id is from
    // before a restart), else with the recent history.
    let cursor = match last_event_id(raw) {
        Some(id) if id < hub.next_seq() => id + 1,
        _ => hub.oldest_seq(),
    };
    Answer::Events(EventsRequest { cursor })
}

/// The `Last-Event-ID` of a request's head, if it has a valid one.
fn last_event_id(raw: &[u8]) -> Option<u64> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut fields);
    request.parse(raw).ok()?;
    let field = request
        .headers
        .iter()
        .find(|field| field.name.eq_ignore_ascii_case("last-event-id"))?;
    std::str::from_utf8(field.value).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_event_id_is_read_from_the_head() {
        let raw = b"GET /chat/events HTTP/1.1\r\nHost: a\r\nLast-Event-ID: 41\r\n\r\n";
        assert_eq!(last_event_id(raw), Some(41));
        let raw = b"GET /chat/events HTTP/1.1\r\nHost: a\r\nlast-event-id: x\r\n\r\n";
        assert_eq!(last_event_id(raw), None);
        assert_eq!(last_event_id(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"), None);
    }
}
