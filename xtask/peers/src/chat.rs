//! What a chat peer shares with the others and that is not its runtime: reading the two
//! chat requests, decoding a posted message, and the bytes of the event stream.
//!
//! The protocol is solo-server's: `GET /chat/events` answers `200` `text/event-stream`
//! with no length (the stream runs until the connection closes), a comment, the recent
//! history and then every new message as `id: N` and one `data:` line per line of text;
//! `POST /chat/send` takes `msg=` of a form or a `text/plain` body and answers `204`.
//!
//! ```
//! use solo_bench_peers::chat::{ChatRequest, next_request, write_event};
//! let input = b"POST /chat/send HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n\
//!               Content-Length: 15\r\n\r\nmsg=hi+there%21";
//! // Until the whole body is in, there is nothing to do.
//! assert_eq!(next_request(&input[..input.len() - 2]).unwrap(), None);
//! let (request, used) = next_request(input).unwrap().unwrap();
//! assert_eq!(request, ChatRequest::Send(Ok("hi there!".into())));
//! assert_eq!(used, input.len());
//! let mut out = Vec::new();
//! write_event(&mut out, 7, "two\nlines");
//! assert_eq!(out, b"id: 7\ndata: two\ndata: lines\n\n");
//! ```

use crate::HttpError;

/// The messages a new subscriber gets first, and how far a subscriber may fall behind
/// before it is told `lagged` and dropped.
pub const HISTORY: usize = 256;

/// The longest message, in bytes of text after decoding and trimming.
pub const MAX_MESSAGE: usize = 1000;

/// The largest request body read (a larger `Content-Length` closes the connection).
pub const MAX_BODY: usize = 4 * MAX_MESSAGE;

/// The head of an event stream and its first comment.
pub const EVENTS_HEAD: &[u8] =
    b"HTTP/1.1 200 OK\r\nServer: peer\r\nContent-Type: text/event-stream\r\n\
Cache-Control: no-cache\r\nConnection: close\r\n\r\n: peer chat: connected\n\n";

/// The keep-alive comment, sent every 15 seconds.
pub const PING: &[u8] = b": ping\n\n";

/// One request of a chat connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatRequest {
    /// `GET /chat/events`: the connection becomes an event stream.
    Events,
    /// `POST /chat/send`: the message, or the status that refuses it.
    Send(Result<String, u16>),
    /// Anything else: 404.
    Other,
}

/// The first complete request of `input` and the bytes it used; `Ok(None)` if more bytes
/// are needed. An error means the connection should be closed.
pub fn next_request(input: &[u8]) -> Result<Option<(ChatRequest, usize)>, HttpError> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    let head = match req.parse(input).map_err(HttpError::Parse)? {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => return Ok(None),
    };
    let (mut length, mut content_type) = (0usize, None);
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            length = std::str::from_utf8(h.value)
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .ok_or(HttpError::BadContentLength)?;
        } else if h.name.eq_ignore_ascii_case("content-type") {
            content_type = Some(h.value);
        }
    }
    if length > MAX_BODY {
        // Too large to wait for: refuse the connection.
        return Err(HttpError::BadContentLength);
    }
    if input.len() - head < length {
        return Ok(None);
    }
    let body = &input[head..head + length];
    let request = match (req.method, req.path) {
        (Some("GET"), Some("/chat/events")) => ChatRequest::Events,
        (Some("POST"), Some("/chat/send")) => ChatRequest::Send(decode_message(content_type, body)),
        _ => ChatRequest::Other,
    };
    Ok(Some((request, head + length)))
}

/// The message of a `POST /chat/send` body: the `msg` field of a form, or a `text/plain`
/// body (also without `Content-Type`), trimmed. `Err` is the status refusing it: 400
/// (empty, badly encoded), 413 (too long), 415 (another type).
pub fn decode_message(content_type: Option<&[u8]>, body: &[u8]) -> Result<String, u16> {
    let media = content_type.map(|v| v.split(|&b| b == b';').next().unwrap_or(v).trim_ascii());
    let bytes = match media {
        Some(t) if t.eq_ignore_ascii_case(b"application/x-www-form-urlencoded") => {
            let field = body
                .split(|&b| b == b'&')
                .find_map(|pair| pair.strip_prefix(b"msg="))
                .ok_or(400u16)?;
            form_decode(field).ok_or(400u16)?
        }
        None => body.to_vec(),
        Some(t) if t.eq_ignore_ascii_case(b"text/plain") => body.to_vec(),
        Some(_) => return Err(415),
    };
    let text = String::from_utf8(bytes).map_err(|_| 400u16)?;
    let text = text.trim();
    if text.is_empty() {
        return Err(400);
    }
    if text.len() > MAX_MESSAGE {
        return Err(413);
    }
    Ok(text.to_string())
}

/// Decodes `+` and `%XX` escapes; `None` for a bad escape.
fn form_decode(field: &[u8]) -> Option<Vec<u8>> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(field.len());
    let mut bytes = field.iter();
    while let Some(&b) = bytes.next() {
        out.push(match b {
            b'+' => b' ',
            b'%' => hex(*bytes.next()?)? << 4 | hex(*bytes.next()?)?,
            b => b,
        });
    }
    Some(out)
}

/// Appends the event of message `id`: `id:`, one `data:` line per line of `text`, and
/// the blank line that ends it.
pub fn write_event(out: &mut Vec<u8>, id: u64, text: &str) {
    out.extend_from_slice(b"id: ");
    out.extend_from_slice(id.to_string().as_bytes());
    out.push(b'\n');
    let text = text.replace("\r\n", "\n");
    for line in text.split(['\n', '\r']) {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out.push(b'\n');
}

/// Appends the `lagged` event: the subscriber missed `missed` messages and is dropped.
pub fn write_lagged(out: &mut Vec<u8>, missed: u64) {
    out.extend_from_slice(format!("event: lagged\ndata: {missed}\n\n").as_bytes());
}

/// Appends the answer to a `POST /chat/send` (204, or the refusal) with `date`.
pub fn write_answer(out: &mut Vec<u8>, status: Result<(), u16>, date: &[u8]) {
    let line: &[u8] = match status {
        Ok(()) => b"204 No Content",
        Err(400) => b"400 Bad Request",
        Err(413) => b"413 Content Too Large",
        Err(415) => b"415 Unsupported Media Type",
        Err(_) => b"404 Not Found",
    };
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(line);
    out.extend_from_slice(b"\r\nServer: peer\r\nDate: ");
    out.extend_from_slice(date);
    out.extend_from_slice(if status.is_ok() {
        b"\r\n\r\n".as_slice()
    } else {
        b"\r\nContent-Length: 0\r\n\r\n".as_slice()
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_requests_and_waits_for_a_whole_body() {
        let get = b"GET /chat/events HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(
            next_request(get).unwrap(),
            Some((ChatRequest::Events, get.len()))
        );
        let post = b"POST /chat/send HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
        assert_eq!(next_request(&post[..post.len() - 1]).unwrap(), None);
        assert_eq!(
            next_request(post).unwrap(),
            Some((ChatRequest::Send(Ok("hello".into())), post.len()))
        );
        let other = b"GET /plaintext HTTP/1.1\r\n\r\n";
        assert_eq!(
            next_request(other).unwrap(),
            Some((ChatRequest::Other, other.len()))
        );
        assert!(next_request(b"\x01 nonsense\r\n\r\n").is_err());
    }

    #[test]
    fn decodes_forms_and_plain_text_and_refuses_the_rest() {
        let form = Some(b"application/x-www-form-urlencoded; charset=utf-8".as_slice());
        assert_eq!(
            decode_message(form, b"from=a&msg=b1-2-3%2Bx+y"),
            Ok("b1-2-3+x y".into())
        );
        assert_eq!(decode_message(form, b"msg=%zz"), Err(400));
        assert_eq!(decode_message(form, b"other=1"), Err(400));
        assert_eq!(decode_message(None, b"  plain \n"), Ok("plain".into()));
        assert_eq!(decode_message(Some(b"text/plain"), b"   "), Err(400));
        assert_eq!(decode_message(Some(b"image/png"), b"x"), Err(415));
        assert_eq!(decode_message(None, &[b'a'; MAX_MESSAGE + 1]), Err(413));
    }

    #[test]
    fn formats_events_lines_and_answers() {
        let mut out = Vec::new();
        write_event(&mut out, 0, "a\r\nb\rc");
        assert_eq!(out, b"id: 0\ndata: a\ndata: b\ndata: c\n\n");
        out.clear();
        write_lagged(&mut out, 3);
        assert_eq!(out, b"event: lagged\ndata: 3\n\n");
        out.clear();
        write_answer(&mut out, Ok(()), b"D");
        assert_eq!(
            out,
            b"HTTP/1.1 204 No Content\r\nServer: peer\r\nDate: D\r\n\r\n"
        );
        out.clear();
        write_answer(&mut out, Err(413), b"D");
        assert!(out.starts_with(b"HTTP/1.1 413") && out.ends_with(b"Content-Length: 0\r\n\r\n"));
    }
}
