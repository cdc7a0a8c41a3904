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
//! | `/stats` | GET, HEAD | the server's counters as JSON: sums, then each shard's |
//! | `/metrics` | GET, HEAD | every shard's and the runtime's figures, Prometheus text format (feature `metrics`) |
//! | `/dashboard` | GET, HEAD | the live dashboard page (feature `metrics`) |
//! | `/dashboard/events` | GET | its feed: a sample of every shard each second, as Server-Sent Events (feature `metrics`) |
//!
//! Anything else is `404`; a known path with another method is `405` with `Allow`.

use std::sync::Arc;

use super::Shard;
use super::events::EventsRequest;
use super::file::FileRequest;
use super::mesh::{self, PostRequest};
use crate::chat::{self, EVENT_STREAM};
use crate::http::{
    self, Exchange, HttpDate, MAX_HEADERS, Request, ResponseWriter, Status, response,
};

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
    /// A chat message waits for room in the sequencer's inbox.
    Post(PostRequest),
    /// `/stats`, `/metrics` or the dashboard's feed gathers the figures of every shard.
    Stats(Exchange, Report),
}

/// What a gathering of every shard's figures is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Report {
    /// `/stats`: the counters as JSON.
    Json,
    /// `/metrics`: the Prometheus text format.
    #[cfg(feature = "metrics")]
    Prometheus,
    /// `/dashboard/events`: a sample each second, as Server-Sent Events.
    #[cfg(feature = "metrics")]
    Feed,
}

/// Answers `request`, whose bytes are `raw`, into `out`.
#[inline]
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
    // The fixed pages, most of the traffic, first: answered here, without the stack frame
    // and the moves of the whole table below (which has the same arms for them). A target
    // of these is its own path (one with a query goes to the table).
    if matches!(request.method, "GET" | "HEAD") {
        match request.target {
            b"/plaintext" => return open_if(response::plaintext(out, date, exchange)),
            b"/json" => return open_if(response::json(out, date, exchange)),
            b"/" if shard.root.is_none() || !wants_html(request) => {
                return open_if(response::plaintext(out, date, exchange));
            }
            _ => {}
        }
    }
    route(shard, request, raw, out, date, exchange)
}

/// The table of routes.
#[inline(never)]
fn route(
    shard: &Shard,
    request: &Request<'_>,
    raw: &[u8],
    out: &mut Vec<u8>,
    date: &HttpDate,
    exchange: Exchange,
) -> Answer {
    let readable = matches!(request.method, "GET" | "HEAD");
    let path = request.path();
    let open = match path {
        b"/" if readable && shard.root.is_some() && wants_html(request) => {
            ResponseWriter::new(out, Status::SeeOther, date, exchange)
                .header("Location", "/static/")
                .header("Content-Type", "text/plain; charset=utf-8")
                .body(b"See /static/\n")
        }
        b"/" | b"/plaintext" if readable => response::plaintext(out, date, exchange),
        b"/json" if readable => response::json(out, date, exchange),
        b"/chat" if readable => ResponseWriter::new(out, Status::Ok, date, exchange)
            .header("Content-Type", "text/html; charset=utf-8")
            .body(chat::PAGE.as_bytes()),
        b"/stats" if readable => return Answer::Stats(exchange, Report::Json),
        #[cfg(feature = "metrics")]
        b"/metrics" if readable => return Answer::Stats(exchange, Report::Prometheus),
        #[cfg(feature = "metrics")]
        b"/dashboard" if readable => ResponseWriter::new(out, Status::Ok, date, exchange)
            .header("Content-Type", "text/html; charset=utf-8")
            .header("Cache-Control", "no-store")
            .body(super::dashboard::PAGE.as_bytes()),
        #[cfg(feature = "metrics")]
        b"/dashboard/events" if request.method == "GET" => {
            if shard.shutting_down() {
                response::error(out, date, Status::ServiceUnavailable, exchange.closing());
                return Answer::Close;
            }
            return Answer::Stats(exchange, Report::Feed);
        }
        #[cfg(feature = "metrics")]
        b"/dashboard/events" => response::method_not_allowed(out, date, "GET", exchange),
        #[cfg(feature = "metrics")]
        b"/metrics" | b"/dashboard" => {
            response::method_not_allowed(out, date, "GET, HEAD", exchange)
        }
        b"/chat/events" if request.method == "GET" => {
            return events(shard, raw, out, date, exchange);
        }
        b"/chat/send" if request.method == "POST" => {
            return send(shard, request, out, date, exchange);
        }
        b"/chat/send" => response::method_not_allowed(out, date, "POST", exchange),
        b"/chat/events" => response::method_not_allowed(out, date, "GET", exchange),
        b"/" | b"/plaintext" | b"/json" | b"/chat" | b"/stats" => {
            response::method_not_allowed(out, date, "GET, HEAD", exchange)
        }
        _ => match path.strip_prefix(b"/static") {
            Some(rest) if rest.is_empty() || rest.starts_with(b"/") => {
                if !readable {
                    response::method_not_allowed(out, date, "GET, HEAD", exchange)
                } else {
                    let path = if rest.is_empty() { b"/" } else { rest };
                    return Answer::File(FileRequest {
                        path: http::request::text(path).to_string(),
                        exchange,
                    });
                }
            }
            _ => response::not_found(out, date, exchange),
        },
    };
    open_if(open)
}

/// Whether the client prefers HTML (a browser).
fn wants_html(request: &Request<'_>) -> bool {
    request.accept.is_some_and(|accept| {
        accept
            .windows(9)
            .any(|w| w.eq_ignore_ascii_case(b"text/html"))
    })
}

/// `POST /chat/send`: hands the message to the chat's sequencer (shard 0), which sends it
/// to every subscriber of every shard.
fn send(
    shard: &Shard,
    request: &Request<'_>,
    out: &mut Vec<u8>,
    date: &HttpDate,
    exchange: Exchange,
) -> Answer {
    let text: Arc<str> = match chat::decode_message(request.content_type, request.body) {
        Ok(message) => message.into(),
        Err(error) => return open_if(response::error(out, date, error.status(), exchange)),
    };
    let browser = wants_html(request);
    match mesh::try_post(shard, text) {
        Ok(()) => open_if(mesh::posted(out, date, exchange, browser)),
        Err(Some(text)) => Answer::Post(PostRequest {
            text,
            exchange,
            browser,
        }),
        Err(None) => open_if(mesh::busy(out, date, exchange)),
    }
}

/// [`Answer::Open`] if the response keeps the connection open, else [`Answer::Close`].
fn open_if(keep_alive: bool) -> Answer {
    if keep_alive {
        Answer::Open
    } else {
        Answer::Close
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
    // A browser reconnecting says where it was: start after that, else with the recent
    // history. A mirror trails the sequencer by at most its inbox.
    let ahead = solo::shard::INBOX_CAPACITY as u64;
    let cursor = shard.hub.borrow().cursor_after(last_event_id(raw), ahead);
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
