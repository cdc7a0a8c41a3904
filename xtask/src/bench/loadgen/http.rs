//! Just enough HTTP/1.1 for a load generator: build a request, find where a response ends.
//!
//! Responses are framed by `Content-Length` (every server under test sends it); a chunked
//! or unframed response is an error rather than a guess.

/// One complete response at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response {
    /// Bytes the response occupies (head and body).
    pub len: usize,
    /// The status code.
    pub status: u16,
}

/// Headers larger than this are an error, not a reason to buffer forever.
pub const MAX_HEAD: usize = 16 * 1024;

/// The request every workload sends: `GET path` with a `Host` header.
pub fn request(path: &str, host: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n").into_bytes()
}

/// Finds the first complete response in `buf`: `Ok(None)` if more bytes are needed.
pub fn parse_response(buf: &[u8]) -> Result<Option<Response>, String> {
    let Some(head_end) = find_head_end(buf) else {
        if buf.len() > MAX_HEAD {
            return Err(format!("response head larger than {MAX_HEAD} bytes"));
        }
        if buf.len() >= 5 && !buf.starts_with(b"HTTP/") {
            return Err(format!("not an HTTP response: {:?}", preview(buf)));
        }
        return Ok(None);
    };
    let head = &buf[..head_end];
    let status =
        parse_status(head).ok_or_else(|| format!("bad status line: {:?}", preview(head)))?;
    let mut body = None;
    for line in head.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if name.eq_ignore_ascii_case(b"content-length") {
            let n = std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.parse::<usize>().ok())
                .ok_or_else(|| format!("bad Content-Length: {:?}", preview(value)))?;
            body = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            return Err("chunked responses are not supported; send Content-Length".into());
        }
    }
    let body = match body {
        Some(n) => n,
        None if status == 204 || status == 304 || (100..200).contains(&status) => 0,
        None => return Err(format!("response {status} without Content-Length")),
    };
    let len = head_end + body;
    Ok((buf.len() >= len).then_some(Response { len, status }))
}

/// [`parse_response`] with a fast path: a response byte-for-byte equal to the last one
/// parsed is the same response (same length, same status), so it is recognised with one
/// comparison instead of a header scan. Servers answering the same request send the same
/// bytes, so a pipelined batch costs one parse and fifteen comparisons; a server whose
/// responses differ (a `Date` header ticking) falls back to parsing.
#[derive(Debug, Default)]
pub struct ResponseParser {
    last: Vec<u8>,
    last_status: u16,
}

impl ResponseParser {
    /// Responses longer than this are not remembered.
    const MAX_TEMPLATE: usize = 4096;

    /// Finds the first complete response in `buf`, like [`parse_response`].
    pub fn next(&mut self, buf: &[u8]) -> Result<Option<Response>, String> {
        let n = self.last.len();
        if n > 0 && buf.get(..n) == Some(&self.last[..]) {
            return Ok(Some(Response {
                len: n,
                status: self.last_status,
            }));
        }
        let r = parse_response(buf)?;
        if let Some(r) = r.filter(|r| r.len <= Self::MAX_TEMPLATE) {
            self.last.clear();
            self.last.extend_from_slice(&buf[..r.len]);
            self.last_status = r.status;
        }
        Ok(r)
    }
}

/// Index just past the blank line that ends the head.
pub(super) fn find_head_end(buf: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = buf[from..].iter().position(|&b| b == b'\n') {
        let at = from + i;
        if at >= 1 && buf[at - 1] == b'\n' {
            return Some(at + 1);
        }
        if at >= 3 && &buf[at - 3..at] == b"\r\n\r" {
            return Some(at + 1);
        }
        from = at + 1;
    }
    None
}

/// The status code of a response head (`HTTP/1.x NNN ...`).
pub(super) fn parse_status(head: &[u8]) -> Option<u16> {
    let rest = head.strip_prefix(b"HTTP/1.")?;
    let code = rest.get(2..5)?;
    if rest.get(1) != Some(&b' ') || !code.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(code).ok()?.parse().ok()
}

fn preview(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.len().min(60)]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO: &[u8] =
        b"HTTP/1.1 200 OK\r\nServer: peer\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";

    #[test]
    fn finds_each_response_of_a_pipelined_batch() {
        let mut buf = HELLO.repeat(3);
        buf.extend_from_slice(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
        let mut at = 0;
        let mut statuses = Vec::new();
        while let Some(r) = parse_response(&buf[at..]).unwrap() {
            statuses.push(r.status);
            at += r.len;
        }
        assert_eq!(statuses, [200, 200, 200, 404]);
        assert_eq!(at, buf.len());
    }

    #[test]
    fn waits_for_the_rest_of_a_split_response() {
        for cut in 0..HELLO.len() {
            assert_eq!(parse_response(&HELLO[..cut]).unwrap(), None, "cut at {cut}");
        }
        assert_eq!(
            parse_response(HELLO).unwrap(),
            Some(Response {
                len: HELLO.len(),
                status: 200
            })
        );
    }

    #[test]
    fn accepts_other_servers_headers() {
        let node = b"HTTP/1.1 200 OK\r\nDate: Sat, 28 Nov 2026 07:27:56 GMT\r\nConnection: keep-alive\r\nContent-Length:13\r\n\r\nHello, World!";
        assert_eq!(
            parse_response(node).unwrap().map(|r| r.len),
            Some(node.len())
        );
        let bare_lf = b"HTTP/1.0 204 No Content\n\n";
        assert_eq!(
            parse_response(bare_lf).unwrap(),
            Some(Response {
                len: bare_lf.len(),
                status: 204
            })
        );
    }

    #[test]
    fn rejects_what_it_cannot_frame() {
        assert!(
            parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                .unwrap_err()
                .contains("chunked")
        );
        assert!(
            parse_response(b"HTTP/1.1 200 OK\r\n\r\n")
                .unwrap_err()
                .contains("without Content-Length")
        );
        assert!(
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n")
                .unwrap_err()
                .contains("bad Content-Length")
        );
        assert!(
            parse_response(b"SSH-2.0-OpenSSH\r\n")
                .unwrap_err()
                .contains("not an HTTP")
        );
        assert!(
            parse_response(b"HTTP/1.1 2x0 OK\r\n\r\n")
                .unwrap_err()
                .contains("bad status")
        );
        let endless = [b"HTTP/1.1 200 OK\r\n".as_slice(), &b"X: y\r\n".repeat(4000)].concat();
        assert!(
            parse_response(&endless)
                .unwrap_err()
                .contains("larger than")
        );
    }

    #[test]
    fn the_fast_path_agrees_with_the_parser() {
        let date = |s: u8| {
            format!("HTTP/1.1 200 OK\r\nDate: 0{s}\r\nContent-Length: 2\r\n\r\nhi").into_bytes()
        };
        let mut stream = HELLO.repeat(3);
        stream.extend(date(1));
        stream.extend(date(2));
        stream.extend(date(2));
        stream.extend_from_slice(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        stream.extend_from_slice(&HELLO[..20]);
        let mut parser = ResponseParser::default();
        let (mut a, mut b) = (0, 0);
        loop {
            let fast = parser.next(&stream[a..]).unwrap();
            let slow = parse_response(&stream[b..]).unwrap();
            assert_eq!(fast, slow, "at {a}");
            let Some(r) = fast else { break };
            a += r.len;
            b += r.len;
        }
        assert_eq!(a, stream.len() - 20);
        // A prefix of the remembered response is incomplete, not a match.
        assert_eq!(parser.next(&HELLO[..HELLO.len() - 1]).unwrap(), None);
    }

    #[test]
    fn builds_requests() {
        assert_eq!(
            request("/plaintext", "127.0.0.1:80"),
            b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n"
        );
    }
}
