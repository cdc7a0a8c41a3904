//! The soak's HTTP: the requests it sends and the exact responses they must get.
//!
//! Every response is checked whole: the status line, the framing headers (exactly one
//! `Content-Length`, or none for `204`; never `Transfer-Encoding`), `Connection: close`
//! exactly when the exchange ends the connection, `Server`, `Date`, the content type, and
//! the body byte for byte.

use std::rc::Rc;

use super::report::Kind;

/// Response heads larger than this are an error, not a reason to buffer forever.
pub const MAX_HEAD: usize = 16 * 1024;

/// A request body and how it is framed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// No body.
    None,
    /// A body with `Content-Length`.
    Sized(Vec<u8>),
    /// A chunked body in these chunks (the last, empty chunk is added), optionally with a
    /// chunk extension on the first and a trailer field.
    Chunked {
        /// The chunks, each non-empty.
        chunks: Vec<Vec<u8>>,
        /// Write `;ext=1` after the first chunk size.
        extension: bool,
        /// Write a trailer field after the last chunk.
        trailer: bool,
    },
}

/// One request to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `HEAD`, `POST`.
    pub method: &'static str,
    /// The target, e.g. `/json`.
    pub path: String,
    /// Extra header fields.
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: Body,
    /// Ask for the connection to close after the response.
    pub close: bool,
}

impl Request {
    /// A request without body or extra fields.
    pub fn new(method: &'static str, path: impl Into<String>) -> Request {
        Request {
            method,
            path: path.into(),
            headers: Vec::new(),
            body: Body::None,
            close: false,
        }
    }

    /// The bytes on the wire (HTTP/1.1, with `Host: host`).
    pub fn encode(&self, host: &str) -> Vec<u8> {
        let mut out = format!("{} {} HTTP/1.1\r\nHost: {host}\r\n", self.method, self.path);
        for (name, value) in &self.headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        if self.close {
            out.push_str("Connection: close\r\n");
        }
        let mut out = out.into_bytes();
        match &self.body {
            Body::None => out.extend_from_slice(b"\r\n"),
            Body::Sized(body) => {
                out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
                out.extend_from_slice(body);
            }
            Body::Chunked {
                chunks,
                extension,
                trailer,
            } => {
                out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                for (i, chunk) in chunks.iter().enumerate() {
                    let ext = if i == 0 && *extension { ";ext=1" } else { "" };
                    out.extend_from_slice(format!("{:x}{ext}\r\n", chunk.len()).as_bytes());
                    out.extend_from_slice(chunk);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"0\r\n");
                if *trailer {
                    out.extend_from_slice(b"X-Soak-Trailer: done\r\n");
                }
                out.extend_from_slice(b"\r\n");
            }
        }
        out
    }

    /// `METHOD path`, for error messages.
    pub fn describe(&self) -> String {
        let framing = match self.body {
            Body::None => "",
            Body::Sized(_) => " (sized body)",
            Body::Chunked { .. } => " (chunked body)",
        };
        format!("{} {}{framing}", self.method, self.path)
    }
}

/// The response a request must get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expect {
    /// What it counts as.
    pub kind: Kind,
    /// The request, for error messages.
    pub what: String,
    /// The status code.
    pub status: u16,
    /// The `Content-Type`, if one is required.
    pub content_type: Option<&'static str>,
    /// The body (for a `HEAD`, the body a `GET` would get: its length is announced).
    pub body: Rc<[u8]>,
    /// A `HEAD`: the length is announced, no body follows.
    pub head_only: bool,
    /// The response must say `Connection: close` (and the connection then ends).
    pub close: bool,
    /// The `Allow` field, if one is required.
    pub allow: Option<&'static str>,
}

impl Expect {
    /// `status` with the server's short text body (`404 Not Found\n`).
    pub fn error(kind: Kind, what: String, status: u16, reason: &str) -> Expect {
        Expect {
            kind,
            what,
            status,
            content_type: Some("text/plain; charset=utf-8"),
            body: format!("{status} {reason}\n").into_bytes().into(),
            head_only: false,
            close: false,
            allow: None,
        }
    }
}

/// A parsed response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Bytes of the head, the blank line included.
    pub len: usize,
    /// The status code.
    pub status: u16,
    /// The header fields, names as sent.
    pub fields: Vec<(String, String)>,
}

impl Head {
    /// Every value of the field `name` (case-insensitive).
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The only value of `name`: `Ok(None)` if absent, an error if repeated.
    pub fn single<'a>(&'a self, name: &'a str) -> Result<Option<&'a str>, String> {
        let mut values = self.values(name);
        let first = values.next();
        if values.next().is_some() {
            return Err(format!("the {name} field is repeated"));
        }
        Ok(first)
    }
}

/// Parses the head at the start of `buf`: `Ok(None)` while it is incomplete.
pub fn parse_head(buf: &[u8]) -> Result<Option<Head>, String> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        if buf.len() > MAX_HEAD {
            return Err(format!("a response head larger than {MAX_HEAD} bytes"));
        }
        let n = buf.len().min(9);
        if buf[..n] != b"HTTP/1.1 "[..n] {
            return Err(format!("not an HTTP/1.1 response: {:?}", preview(buf)));
        }
        return Ok(None);
    };
    let text = std::str::from_utf8(&buf[..end])
        .map_err(|_| format!("a response head that is not UTF-8: {:?}", preview(buf)))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| {
            let (code, reason) = rest.split_at_checked(3)?;
            (code.bytes().all(|b| b.is_ascii_digit()) && reason.starts_with(' '))
                .then(|| code.parse().ok())?
        })
        .ok_or_else(|| format!("a bad status line: {status_line:?}"))?;
    let mut fields = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .filter(|(n, _)| !n.is_empty() && !n.contains([' ', '\t']))
            .ok_or_else(|| format!("a malformed header line: {line:?}"))?;
        fields.push((name.to_string(), value.trim().to_string()));
    }
    Ok(Some(Head {
        len: end + 4,
        status,
        fields,
    }))
}

/// Checks the response at the start of `buf` against `e`: `Ok(Some(len))` when it is
/// complete and right (`len` bytes long), `Ok(None)` while more bytes are needed.
pub fn check_response(buf: &[u8], e: &Expect) -> Result<Option<usize>, String> {
    let Some(head) = parse_head(buf)? else {
        return Ok(None);
    };
    let fail = |what: String| Err(format!("{}: {what}", e.what));
    if head.status != e.status {
        let first = std::str::from_utf8(&buf[..head.len])
            .unwrap_or("")
            .lines()
            .next()
            .unwrap_or("");
        return fail(format!("expected {}, got {first:?}", e.status));
    }
    if head.single("Server")? != Some("solo") {
        return fail("no `Server: solo`".into());
    }
    if head.single("Date")?.is_none_or(str::is_empty) {
        return fail("no Date".into());
    }
    if head.values("Transfer-Encoding").next().is_some() {
        return fail("a Transfer-Encoding on a response that should have a length".into());
    }
    let length = head.single("Content-Length")?;
    let length = if e.status == 204 {
        if length.is_some() {
            return fail("a 204 with a Content-Length".into());
        }
        0
    } else {
        let Some(length) = length else {
            return fail("no Content-Length".into());
        };
        let length: usize = length
            .parse()
            .map_err(|_| format!("{}: bad Content-Length {length:?}", e.what))?;
        if length != e.body.len() {
            return fail(format!(
                "Content-Length {length}, expected {}",
                e.body.len()
            ));
        }
        length
    };
    if let Some(ct) = e.content_type {
        if head.single("Content-Type")? != Some(ct) {
            return fail(format!(
                "Content-Type {:?}, expected {ct:?}",
                head.single("Content-Type")?
            ));
        }
    }
    if let Some(allow) = e.allow {
        if head.single("Allow")? != Some(allow) {
            return fail(format!(
                "Allow {:?}, expected {allow:?}",
                head.single("Allow")?
            ));
        }
    }
    let closes = head
        .values("Connection")
        .any(|v| v.eq_ignore_ascii_case("close"));
    if closes != e.close {
        return fail(if e.close {
            "no `Connection: close` on the last response".into()
        } else {
            "`Connection: close` on a keep-alive exchange".into()
        });
    }
    let body_len = if e.head_only { 0 } else { length };
    let total = head.len + body_len;
    if buf.len() < total {
        return Ok(None);
    }
    if !e.head_only && buf[head.len..total] != e.body[..] {
        let at = buf[head.len..total]
            .iter()
            .zip(e.body.iter())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        return fail(format!("the body differs at byte {at} of {length}"));
    }
    Ok(Some(total))
}

/// A complete `200` JSON response with a `Content-Length` at the start of `buf` (such as
/// `/stats`, whose body is not known in advance): its body and total length, or
/// `Ok(None)` while incomplete.
pub fn take_json(buf: &[u8], what: &str) -> Result<Option<(serde_json::Value, usize)>, String> {
    let Some(head) = parse_head(buf)? else {
        return Ok(None);
    };
    if head.status != 200 {
        return Err(format!("{what}: expected 200, got {}", head.status));
    }
    if head.single("Content-Type")? != Some("application/json") {
        return Err(format!("{what}: not application/json"));
    }
    let length: usize = head
        .single("Content-Length")?
        .and_then(|l| l.parse().ok())
        .ok_or_else(|| format!("{what}: no valid Content-Length"))?;
    let total = head.len + length;
    if buf.len() < total {
        return Ok(None);
    }
    let value = serde_json::from_slice(&buf[head.len..total])
        .map_err(|e| format!("{what}: the body is not JSON: {e}"))?;
    Ok(Some((value, total)))
}

fn preview(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.len().min(80)]).into_owned()
}

/// A file the soak puts under the server's `--root`.
#[derive(Debug, Clone)]
pub struct StaticFile {
    /// Its name under the root (`index.html` is also served as `/static/`).
    pub name: &'static str,
    /// The `Content-Type` the server gives it.
    pub content_type: &'static str,
    /// Its bytes.
    pub body: Rc<[u8]>,
}

/// The files of the soak's root: a small text file, a page, and a binary larger than the
/// server's 128 KiB read chunk (so it is sent in several trips to the blocking pool).
pub fn static_files(seed: u64) -> Vec<StaticFile> {
    let mut x = seed | 1;
    let blob: Vec<u8> = (0..300 * 1024 + 17)
        .map(|_| {
            // xorshift64: incompressible, unlike a repeated pattern.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let page = format!(
        "<!doctype html>\n<title>soak</title>\n{}",
        "<p>The soak reads this page whole.</p>\n".repeat(60)
    );
    vec![
        StaticFile {
            name: "hello.txt",
            content_type: "text/plain; charset=utf-8",
            body: Rc::from(&b"Hello from the soak.\n"[..]),
        },
        StaticFile {
            name: "index.html",
            content_type: "text/html; charset=utf-8",
            body: Rc::from(page.into_bytes()),
        },
        StaticFile {
            name: "blob.bin",
            content_type: "application/octet-stream",
            body: Rc::from(blob),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: &[u8] = b"HTTP/1.1 200 OK\r\nServer: solo\r\nDate: Sat, 28 Nov 2026 09:00:11 GMT\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";

    fn plaintext() -> Expect {
        Expect {
            kind: Kind::Plaintext,
            what: "GET /plaintext".into(),
            status: 200,
            content_type: Some("text/plain"),
            body: Rc::from(&b"Hello, World!"[..]),
            head_only: false,
            close: false,
            allow: None,
        }
    }

    #[test]
    fn encodes_every_framing() {
        let mut r = Request::new("GET", "/json");
        assert_eq!(r.encode("h"), b"GET /json HTTP/1.1\r\nHost: h\r\n\r\n");
        r.method = "POST";
        r.headers.push(("Content-Type", "text/plain".into()));
        r.body = Body::Sized(b"hi".to_vec());
        r.close = true;
        assert_eq!(
            r.encode("h"),
            b"POST /json HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi"
        );
        r.close = false;
        r.headers.clear();
        r.body = Body::Chunked {
            chunks: vec![vec![b'a'; 17], b"b".to_vec()],
            extension: true,
            trailer: true,
        };
        let expected = [
            b"POST /json HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n11;ext=1\r\n"
                .as_slice(),
            &[b'a'; 17],
            b"\r\n1\r\nb\r\n0\r\nX-Soak-Trailer: done\r\n\r\n",
        ]
        .concat();
        assert_eq!(r.encode("h"), expected);
        assert_eq!(r.describe(), "POST /json (chunked body)");
    }

    #[test]
    fn accepts_the_exact_response_split_anywhere() {
        let e = plaintext();
        for cut in 0..PLAIN.len() {
            assert_eq!(check_response(&PLAIN[..cut], &e), Ok(None), "cut at {cut}");
        }
        assert_eq!(check_response(PLAIN, &e), Ok(Some(PLAIN.len())));
        let mut two = PLAIN.to_vec();
        two.extend_from_slice(PLAIN);
        assert_eq!(check_response(&two, &e), Ok(Some(PLAIN.len())));
    }

    #[test]
    fn rejects_every_kind_of_wrong_response() {
        let e = plaintext();
        let text = std::str::from_utf8(PLAIN).unwrap();
        let wrong = |from: &str, to: &str| {
            let bad = text.replacen(from, to, 1);
            check_response(bad.as_bytes(), &e).unwrap_err()
        };
        assert!(wrong("200 OK", "503 Service Unavailable").contains("expected 200, got"));
        assert!(wrong("Hello, World!", "Hello, world!").contains("differs at byte 7"));
        assert!(wrong("Length: 13", "Length: 12").contains("Content-Length 12, expected 13"));
        assert!(wrong("Length: 13", "Length: x").contains("bad Content-Length"));
        assert!(wrong("Content-Length: 13\r\n", "").contains("no Content-Length"));
        assert!(
            wrong(
                "Content-Length: 13\r\n",
                "Content-Length: 13\r\nContent-Length: 13\r\n"
            )
            .contains("repeated")
        );
        assert!(
            wrong("\r\n\r\n", "\r\nTransfer-Encoding: chunked\r\n\r\n")
                .contains("Transfer-Encoding")
        );
        assert!(wrong("\r\n\r\n", "\r\nConnection: close\r\n\r\n").contains("keep-alive"));
        assert!(wrong("text/plain", "text/html").contains("Content-Type"));
        assert!(wrong("Server: solo", "Server: other").contains("Server"));
        assert!(wrong("Date: ", "X-Date: ").contains("no Date"));
        assert!(wrong("Server: solo", "Server solo").contains("malformed header"));
        assert!(wrong("HTTP/1.1 200", "HTTP/1.1 2x0").contains("bad status line"));
        assert!(
            check_response(b"SSH-2.0-OpenSSH_9\r\n", &e)
                .unwrap_err()
                .contains("not an HTTP/1.1 response")
        );
        let endless = [b"HTTP/1.1 200 OK\r\n".as_slice(), &b"X: y\r\n".repeat(4000)].concat();
        assert!(
            check_response(&endless, &e)
                .unwrap_err()
                .contains("larger than")
        );
        let mut closing = e.clone();
        closing.close = true;
        assert!(
            check_response(PLAIN, &closing)
                .unwrap_err()
                .contains("no `Connection: close`")
        );
    }

    #[test]
    fn head_responses_announce_a_length_and_send_no_body() {
        let mut e = plaintext();
        e.head_only = true;
        let head = &PLAIN[..PLAIN.len() - 13];
        assert_eq!(check_response(head, &e), Ok(Some(head.len())));
        // What follows a HEAD response is the next response, not its body.
        assert_eq!(check_response(PLAIN, &e), Ok(Some(head.len())));
    }

    #[test]
    fn no_content_has_no_length_and_errors_have_their_text() {
        let e = Expect {
            kind: Kind::ChatSend,
            what: "POST /chat/send".into(),
            status: 204,
            content_type: None,
            body: Rc::from(&b""[..]),
            head_only: false,
            close: false,
            allow: None,
        };
        let ok = b"HTTP/1.1 204 No Content\r\nServer: solo\r\nDate: x\r\n\r\n";
        assert_eq!(check_response(ok, &e), Ok(Some(ok.len())));
        let bad =
            b"HTTP/1.1 204 No Content\r\nServer: solo\r\nDate: x\r\nContent-Length: 0\r\n\r\n";
        assert!(check_response(bad, &e).unwrap_err().contains("204 with a"));

        let mut e = Expect::error(
            Kind::NotAllowed,
            "POST /json".into(),
            405,
            "Method Not Allowed",
        );
        e.allow = Some("GET, HEAD");
        let r = b"HTTP/1.1 405 Method Not Allowed\r\nServer: solo\r\nDate: x\r\nAllow: GET, HEAD\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 23\r\n\r\n405 Method Not Allowed\n";
        assert_eq!(check_response(r, &e), Ok(Some(r.len())));
        e.allow = Some("POST");
        assert!(check_response(r, &e).unwrap_err().contains("Allow"));
    }

    #[test]
    fn takes_json_of_unknown_length() {
        let r = b"HTTP/1.1 200 OK\r\nServer: solo\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{\"a\": 1}\nrest";
        let (v, n) = take_json(r, "GET /stats").unwrap().unwrap();
        assert_eq!(v["a"], 1);
        assert_eq!(&r[n..], b"rest");
        assert_eq!(take_json(&r[..r.len() - 6], "x"), Ok(None));
        let bad = String::from_utf8(r.to_vec())
            .unwrap()
            .replace("{\"a\": 1}\n", "not json!");
        assert!(
            take_json(bad.as_bytes(), "x")
                .unwrap_err()
                .contains("not JSON")
        );
        assert!(
            take_json(PLAIN, "x")
                .unwrap_err()
                .contains("not application/json")
        );
    }

    #[test]
    fn the_files_cover_several_read_chunks() {
        let files = static_files(42);
        assert_eq!(files.len(), 3);
        let blob = files.iter().find(|f| f.name == "blob.bin").unwrap();
        assert!(blob.body.len() > 2 * 128 * 1024);
        assert_eq!(*static_files(42)[2].body, *blob.body);
        assert!(files.iter().any(|f| f.name == "index.html"));
    }
}
