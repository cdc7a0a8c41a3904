//! Responses, written into a caller-provided `Vec<u8>` so the answers to a batch of
//! pipelined requests leave in one write.
//!
//! Every response has a status line (always `HTTP/1.1`), `Server: solo`, `Date`, the
//! headers the caller adds, its framing (`Content-Length`, or none for a stream that ends
//! with the connection) and `Connection: close` when the connection closes after it
//! (`Connection: keep-alive` when an HTTP/1.0 client asked to keep it). A `HEAD` response
//! carries the headers of the `GET` response and no body.

use super::{HttpDate, Request, Status, Version, push_decimal};

/// The interim response that tells a client waiting on `Expect: 100-continue` to send the
/// body. See [`Parsed::NeedBody`](super::Parsed::NeedBody).
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// What a response depends on from its request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exchange {
    /// The request was `HEAD`: write the head, never the body.
    pub head_only: bool,
    /// The connection stays open after the response.
    pub keep_alive: bool,
    /// The client speaks HTTP/1.0, so keeping the connection open must be said out loud.
    pub http10: bool,
}

impl Exchange {
    /// The last exchange of a connection: for answering a [`ParseError`](super::ParseError),
    /// when there is no request to go by.
    pub const CLOSE: Exchange = Exchange {
        head_only: false,
        keep_alive: false,
        http10: false,
    };

    /// The exchange for `request`.
    pub fn of(request: &Request<'_>) -> Exchange {
        Exchange {
            head_only: request.is_head(),
            keep_alive: request.keep_alive,
            http10: request.version == Version::Http10,
        }
    }

    /// The same exchange, closing the connection afterwards (shutting down, or a request
    /// refused before its body was read).
    pub fn closing(self) -> Exchange {
        Exchange {
            keep_alive: false,
            ..self
        }
    }
}

/// One response being written: [`new`](ResponseWriter::new) writes the status line, `Server`
/// and `Date`; [`header`](ResponseWriter::header) adds fields; one of
/// [`body`](ResponseWriter::body), [`sized`](ResponseWriter::sized),
/// [`empty`](ResponseWriter::empty) or [`stream`](ResponseWriter::stream) ends the head.
/// Each returns whether the connection stays open.
#[derive(Debug)]
#[must_use = "a response is written only when its head is finished"]
pub struct ResponseWriter<'o> {
    out: &'o mut Vec<u8>,
    exchange: Exchange,
}

impl<'o> ResponseWriter<'o> {
    /// Starts a response to `exchange` at the end of `out`.
    pub fn new(out: &'o mut Vec<u8>, status: Status, date: &HttpDate, exchange: Exchange) -> Self {
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(status.text().trim_end().as_bytes());
        out.extend_from_slice(b"\r\nServer: solo\r\nDate: ");
        out.extend_from_slice(date.as_bytes());
        out.extend_from_slice(b"\r\n");
        ResponseWriter { out, exchange }
    }

    /// Adds a header field. The name and value come from the server's code, never from a
    /// client, and must not contain line breaks.
    pub fn header(self, name: &str, value: &str) -> Self {
        debug_assert!(!name.contains(['\r', '\n', ':']) && !value.contains(['\r', '\n']));
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b": ");
        self.out.extend_from_slice(value.as_bytes());
        self.out.extend_from_slice(b"\r\n");
        self
    }

    /// Ends the head with `Content-Length` and writes `body` (not for `HEAD`).
    pub fn body(self, body: &[u8]) -> bool {
        let (out, exchange) = self.finish(Some(body.len() as u64));
        if !exchange.head_only {
            out.extend_from_slice(body);
        }
        exchange.keep_alive
    }

    /// Ends the head with `Content-Length: length`; the caller then writes exactly `length`
    /// bytes of body, unless the exchange is [`head_only`](Exchange::head_only).
    pub fn sized(self, length: u64) -> bool {
        self.finish(Some(length)).1.keep_alive
    }

    /// Ends the head of a response that never has a body (`204 No Content`): no
    /// `Content-Length` is sent (RFC 9110 §8.6).
    pub fn empty(self) -> bool {
        self.finish(None).1.keep_alive
    }

    /// Ends the head of a body without a length (an event stream): it ends when the
    /// connection closes, so this always says `Connection: close` and returns false.
    pub fn stream(mut self) -> bool {
        self.exchange.keep_alive = false;
        self.finish(None).1.keep_alive
    }

    fn finish(self, length: Option<u64>) -> (&'o mut Vec<u8>, Exchange) {
        let ResponseWriter { out, exchange } = self;
        if let Some(length) = length {
            out.extend_from_slice(b"Content-Length: ");
            push_decimal(out, length);
            out.extend_from_slice(b"\r\n");
        }
        if !exchange.keep_alive {
            out.extend_from_slice(b"Connection: close\r\n");
        } else if exchange.http10 {
            out.extend_from_slice(b"Connection: keep-alive\r\n");
        }
        out.extend_from_slice(b"\r\n");
        (out, exchange)
    }
}

/// `200 OK`, `text/plain`, `Hello, World!` (the plaintext benchmark).
pub fn plaintext(out: &mut Vec<u8>, date: &HttpDate, exchange: Exchange) -> bool {
    const BODY: &[u8] = b"Hello, World!";
    const TAIL: &[u8] = b"\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";
    if fixed(out, date, exchange, TAIL) {
        return true;
    }
    ResponseWriter::new(out, Status::Ok, date, exchange)
        .header("Content-Type", "text/plain")
        .body(BODY)
}

/// `200 OK`, `application/json`, `{"message":"Hello, World!"}` (the JSON benchmark).
pub fn json(out: &mut Vec<u8>, date: &HttpDate, exchange: Exchange) -> bool {
    const BODY: &[u8] = br#"{"message":"Hello, World!"}"#;
    const TAIL: &[u8] = b"\r\nContent-Type: application/json\r\nContent-Length: 27\r\n\r\n{\"message\":\"Hello, World!\"}";
    if fixed(out, date, exchange, TAIL) {
        return true;
    }
    ResponseWriter::new(out, Status::Ok, date, exchange)
        .header("Content-Type", "application/json")
        .body(BODY)
}

/// The fast path of the fixed `200 OK` responses, for the common exchange (HTTP/1.1,
/// keep-alive, not `HEAD`): the head up to the date, the date, and a precomputed `tail`
/// (the rest of the head and the body) in three copies. It writes exactly what
/// [`ResponseWriter`] would (a test checks); returns false, writing nothing, otherwise.
#[inline(always)]
fn fixed(out: &mut Vec<u8>, date: &HttpDate, exchange: Exchange, tail: &[u8]) -> bool {
    const HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nServer: solo\r\nDate: ";
    if !exchange.keep_alive || exchange.http10 || exchange.head_only {
        return false;
    }
    out.reserve(HEAD.len() + date.as_bytes().len() + tail.len());
    out.extend_from_slice(HEAD);
    out.extend_from_slice(date.as_bytes());
    out.extend_from_slice(tail);
    true
}

/// An error (or any status) with a short text body, e.g. `404 Not Found\n`.
pub fn error(out: &mut Vec<u8>, date: &HttpDate, status: Status, exchange: Exchange) -> bool {
    ResponseWriter::new(out, status, date, exchange)
        .header("Content-Type", "text/plain; charset=utf-8")
        .body(status.text().as_bytes())
}

/// `404 Not Found`.
pub fn not_found(out: &mut Vec<u8>, date: &HttpDate, exchange: Exchange) -> bool {
    error(out, date, Status::NotFound, exchange)
}

/// `405 Method Not Allowed` with `Allow: {allow}`, e.g. `GET, HEAD`.
pub fn method_not_allowed(
    out: &mut Vec<u8>,
    date: &HttpDate,
    allow: &str,
    exchange: Exchange,
) -> bool {
    let status = Status::MethodNotAllowed;
    ResponseWriter::new(out, status, date, exchange)
        .header("Allow", allow)
        .header("Content-Type", "text/plain; charset=utf-8")
        .body(status.text().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Limits, Parsed, Parser};

    const DATE: &str = "Sun, 06 Nov 1994 08:49:37 GMT";

    fn date() -> HttpDate {
        HttpDate::from_unix(784_111_777)
    }

    /// Answers the one request in `input` with `respond`.
    fn answer(
        input: &str,
        respond: fn(&mut Vec<u8>, &HttpDate, Exchange) -> bool,
    ) -> (String, bool) {
        let mut parser = Parser::new();
        let Ok(Parsed::Complete { request, .. }) =
            parser.parse(input.as_bytes(), &Limits::default())
        else {
            panic!("not a complete request: {input:?}");
        };
        let mut out = Vec::new();
        let keep_alive = respond(&mut out, &date(), Exchange::of(&request));
        (String::from_utf8(out).unwrap(), keep_alive)
    }

    #[test]
    fn plaintext_keep_alive() {
        let (text, keep_alive) = answer("GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n", plaintext);
        let expected = format!(
            "HTTP/1.1 200 OK\r\nServer: solo\r\nDate: {DATE}\r\nContent-Type: text/plain\r\n\
             Content-Length: 13\r\n\r\nHello, World!"
        );
        assert_eq!(text, expected);
        assert!(keep_alive);
    }

    #[test]
    fn the_fast_path_writes_what_the_writer_would() {
        let keep = Exchange {
            head_only: false,
            keep_alive: true,
            http10: false,
        };
        for (respond, content_type, body) in [
            (
                plaintext as fn(&mut Vec<u8>, &HttpDate, Exchange) -> bool,
                "text/plain",
                &b"Hello, World!"[..],
            ),
            (json, "application/json", br#"{"message":"Hello, World!"}"#),
        ] {
            let mut fast = Vec::new();
            assert!(respond(&mut fast, &date(), keep));
            let mut slow = Vec::new();
            assert!(
                ResponseWriter::new(&mut slow, Status::Ok, &date(), keep)
                    .header("Content-Type", content_type)
                    .body(body)
            );
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                String::from_utf8(slow).unwrap()
            );
        }
    }

    #[test]
    fn json_closing() {
        let request = "GET /json HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
        let (text, keep_alive) = answer(request, json);
        let expected = format!(
            "HTTP/1.1 200 OK\r\nServer: solo\r\nDate: {DATE}\r\nContent-Type: application/json\r\n\
             Content-Length: 27\r\nConnection: close\r\n\r\n{{\"message\":\"Hello, World!\"}}"
        );
        assert_eq!(text, expected);
        assert!(!keep_alive);
    }

    #[test]
    fn head_has_the_headers_and_no_body() {
        let (text, keep_alive) = answer("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n", plaintext);
        assert!(text.ends_with("Content-Length: 13\r\n\r\n"), "{text}");
        assert!(keep_alive);
    }

    #[test]
    fn http10_keep_alive_is_said_out_loud() {
        let (text, keep_alive) = answer(
            "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
            plaintext,
        );
        assert!(text.contains("\r\nConnection: keep-alive\r\n"), "{text}");
        assert!(keep_alive);
        let (text, keep_alive) = answer("GET / HTTP/1.0\r\n\r\n", plaintext);
        assert!(text.contains("\r\nConnection: close\r\n"), "{text}");
        assert!(!keep_alive);
    }

    #[test]
    fn errors_have_a_short_text_body() {
        let mut out = Vec::new();
        assert!(!error(
            &mut out,
            &date(),
            Status::HeaderFieldsTooLarge,
            Exchange::CLOSE
        ));
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
            "{text}"
        );
        assert!(
            text.ends_with("Connection: close\r\n\r\n431 Request Header Fields Too Large\n"),
            "{text}"
        );
        assert!(text.contains("Content-Length: 36\r\n"), "{text}");
    }

    #[test]
    fn not_found_and_method_not_allowed() {
        let (text, _) = answer("GET /nope HTTP/1.1\r\nHost: a\r\n\r\n", not_found);
        assert!(
            text.starts_with("HTTP/1.1 404 Not Found\r\n")
                && text.ends_with("\r\n\r\n404 Not Found\n")
        );
        let mut out = Vec::new();
        let exchange = Exchange {
            head_only: false,
            keep_alive: true,
            http10: false,
        };
        assert!(method_not_allowed(&mut out, &date(), "GET, HEAD", exchange));
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"),
            "{text}"
        );
        assert!(text.contains("\r\nAllow: GET, HEAD\r\n"), "{text}");
    }

    #[test]
    fn sized_and_stream() {
        let mut out = Vec::new();
        let exchange = Exchange {
            head_only: false,
            keep_alive: true,
            http10: false,
        };
        let writer = ResponseWriter::new(&mut out, Status::Ok, &date(), exchange);
        assert!(writer.header("Content-Type", "image/png").sized(1 << 40));
        assert!(out.ends_with(b"Content-Type: image/png\r\nContent-Length: 1099511627776\r\n\r\n"));
        out.clear();
        let writer = ResponseWriter::new(&mut out, Status::Ok, &date(), exchange);
        assert!(!writer.header("Content-Type", "text/event-stream").stream());
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.ends_with("Content-Type: text/event-stream\r\nConnection: close\r\n\r\n"),
            "{text}"
        );
        assert!(!text.contains("Content-Length"));
    }

    #[test]
    fn no_content_has_no_length() {
        let mut out = Vec::new();
        let exchange = Exchange {
            head_only: false,
            keep_alive: true,
            http10: false,
        };
        assert!(ResponseWriter::new(&mut out, Status::NoContent, &date(), exchange).empty());
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 204 No Content\r\n"), "{text}");
        assert!(text.ends_with(&format!("Date: {DATE}\r\n\r\n")), "{text}");
    }

    #[test]
    fn pipelined_responses_append() {
        let mut out = Vec::new();
        let exchange = Exchange {
            head_only: false,
            keep_alive: true,
            http10: false,
        };
        for _ in 0..3 {
            assert!(plaintext(&mut out, &date(), exchange));
        }
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches("HTTP/1.1 200 OK\r\n").count(), 3);
        assert_eq!(text.matches("Hello, World!").count(), 3);
    }
}
