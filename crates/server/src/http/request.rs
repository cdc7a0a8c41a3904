//! Request framing (RFC 9112) around `httparse`.
//!
//! The connection loop keeps one buffer of bytes read and not yet parsed, and one [`Parser`]
//! per connection. After each read it calls [`Parser::parse`] on the unparsed part, again and
//! again, until it reports that more bytes are needed:
//!
//! - [`Parsed::Complete`]: a whole request, and how many bytes of the buffer it took. Answer
//!   it, skip those bytes and parse again: every request already in the buffer is answered,
//!   in order (pipelining).
//! - [`Parsed::NeedHead`] / [`Parsed::NeedBody`]: keep the unparsed bytes, read more. Only
//!   complete requests are ever consumed, so the bytes of a partial one stay at the front of
//!   the buffer until it completes. While in `NeedHead` the caller enforces the header-read
//!   timeout (slowloris).
//! - `Err(`[`ParseError`]`)`: answer with [`ParseError::status`] and close.
//!
//! # Rules
//!
//! - Empty lines before a request line are skipped (RFC 9112 §2.2), at most
//!   [`Limits::max_request_line`] bytes of them (400 beyond).
//! - A request line of more than [`Limits::max_request_line`] bytes before its line feed is
//!   414, decided as soon as that many bytes have arrived without one, even if the line never
//!   ends (a header-size check must not answer 431 for it).
//! - A header section (request line to blank line) of more than [`Limits::max_header_bytes`]
//!   bytes, or with more than [`MAX_HEADERS`] fields, is 431.
//! - A body (after chunked decoding) of more than [`Limits::max_body`] bytes is 413, decided
//!   from `Content-Length` or a chunk size before the body arrives. On the wire a chunked
//!   body may take at most `2 * max_body + max_header_bytes` bytes.
//! - HTTP/1.1 keeps the connection open unless `Connection: close`; HTTP/1.0 closes it unless
//!   `Connection: keep-alive`.
//! - HTTP/1.1 requires exactly one `Host`; more than one is 400 in any version.
//! - `Content-Length` is digits only and appears at most once; with `Transfer-Encoding` too,
//!   the request is 400. `Transfer-Encoding` in HTTP/1.0 is 400.
//! - `Transfer-Encoding` must end in `chunked` (400 otherwise); any other coding before it is
//!   501; `chunked` twice is 400.
//! - `Expect: 100-continue` on an HTTP/1.1 request with a body that has not arrived yet makes
//!   [`Parsed::NeedBody`] ask, once per request, for [`CONTINUE`](super::CONTINUE) to be
//!   written. If the body is already buffered, nothing is sent. Any other expectation is 417.
//!   HTTP/1.0 expectations are ignored (RFC 9110 §10.1.1).
//!
//! A plain head (capital-letter method, ASCII target, `HTTP/1.x`, `CRLF` lines, token names,
//! printable values), the usual one, is read by a short scan of our own; anything else goes
//! to httparse. Both feed the same rules, and a unit test checks they agree.
//!
//! The outcome for a buffer depends only on its bytes, never on how they were split into
//! reads: every prefix of a buffer either needs more bytes or gives the same result as the
//! whole buffer (the `http_framing` fuzz target checks this). [`Parser::compact`] between
//! reads, which drops the encoded chunks already decoded, does not change it either.

use std::mem::MaybeUninit;

use super::chunked::Decoder;
use super::{Limits, MAX_HEADERS, ParseError};

/// The protocol version of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    /// HTTP/1.0: the connection closes after each response unless asked otherwise.
    Http10,
    /// HTTP/1.1: the connection stays open unless asked otherwise.
    Http11,
}

/// A complete request, borrowed from the caller's buffer (and from the [`Parser`] for a
/// chunked body).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// The method, case-sensitive, e.g. `GET`.
    pub method: &'a str,
    /// The request target as sent: usually origin-form, `/path?query`. See [`Request::path`].
    /// Bytes, so that routing can match it without a UTF-8 check per request; always valid
    /// UTF-8 all the same (httparse refuses anything else, and the plain path takes only
    /// ASCII): [`Request::target_str`] has it as text.
    pub target: &'a [u8],
    /// The protocol version.
    pub version: Version,
    /// Whether the connection may stay open after the response.
    pub keep_alive: bool,
    /// The `Host` field value, if any.
    pub host: Option<&'a [u8]>,
    /// The first `Content-Type` field value, if any.
    pub content_type: Option<&'a [u8]>,
    /// The first `Accept` field value, if any.
    pub accept: Option<&'a [u8]>,
    /// The body: empty without one, decoded if it was chunked.
    pub body: &'a [u8],
}

impl<'a> Request<'a> {
    /// The target as text (it is always valid UTF-8; see [`Request::target`]).
    pub fn target_str(&self) -> &'a str {
        text(self.target)
    }

    /// The path of the target, without the query: `/a/b` for `/a/b?c`, and for the
    /// absolute-form `http://host/a/b?c` too; `*` for `OPTIONS *`. Still percent-encoded.
    #[inline]
    pub fn path(&self) -> &'a [u8] {
        let target = self.target;
        let without_query = match find_byte(target, b'?') {
            Some(at) => &target[..at],
            None => target,
        };
        if without_query.starts_with(b"/") {
            // Origin-form, the usual case: a `://` later on is part of the path.
            return without_query;
        }
        let Some(scheme_end) = without_query.windows(3).position(|w| w == b"://") else {
            return without_query;
        };
        let after_authority = &without_query[scheme_end + 3..];
        find_byte(after_authority, b'/').map_or(b"/", |slash| &after_authority[slash..])
    }

    /// The query of the target, after `?`, if any.
    pub fn query(&self) -> Option<&'a [u8]> {
        find_byte(self.target, b'?').map(|at| &self.target[at + 1..])
    }

    /// Whether this is a `HEAD` request, whose response carries no body.
    pub fn is_head(&self) -> bool {
        self.method == "HEAD"
    }
}

/// `bytes` known to be UTF-8 as text; the replacement text should they not be (never).
pub(crate) fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or("\u{fffd}")
}

/// The index of the first `byte` in `bytes`, eight bytes per step: targets are short (a
/// call to `memchr` costs more than it saves), but a byte-by-byte scan of every request's
/// target was a visible cost.
#[inline]
fn find_byte(bytes: &[u8], byte: u8) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let pattern = ONES * u64::from(byte);
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for word in &mut words {
        let mut eight = [0; 8];
        eight.copy_from_slice(word);
        // A zero byte of `x` is a byte equal to `byte`; the lowest flagged byte is exact
        // (a false flag only ever sits above a true one, and little-endian order puts the
        // first byte lowest).
        let x = u64::from_le_bytes(eight) ^ pattern;
        let found = x.wrapping_sub(ONES) & !x & HIGHS;
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let rest = words.remainder();
    rest.iter().position(|&b| b == byte).map(|i| at + i)
}

/// The outcome of [`Parser::parse`] when the input is not (yet) invalid.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed<'a> {
    /// A complete request, which took the first `consumed` bytes of the input (always at
    /// least one).
    Complete {
        /// The request.
        request: Request<'a>,
        /// How many bytes of the input belong to it.
        consumed: usize,
    },
    /// The input ends before the end of a request's header section (or is empty).
    NeedHead,
    /// The header section is complete; the body is still arriving.
    NeedBody {
        /// Write [`CONTINUE`](super::CONTINUE) now: the client waits for it before sending
        /// the body. True at most once per request.
        send_continue: bool,
    },
}

/// Per-connection framing state: the chunked body decoded so far (so each body byte is
/// decoded once however it is split into reads) and whether `100 Continue` was asked for.
///
/// It describes the request at the front of the buffer until that request completes or
/// fails; then the next call starts afresh. Call [`Parser::reset`] when the buffer is
/// discarded for any other reason. Idle, it holds no heap memory.
#[derive(Debug, Default)]
pub struct Parser {
    chunked: Decoder,
    continue_sent: bool,
    /// The last call returned a complete request or an error: forget it at the next call.
    finished: bool,
}

impl Parser {
    /// A parser with nothing in progress.
    pub fn new() -> Parser {
        Parser::default()
    }

    /// Forgets the request in progress and frees its memory.
    pub fn reset(&mut self) {
        *self = Parser::default();
    }

    /// Parses the request at the start of `input`, the bytes read and not yet consumed.
    /// See the [module docs](self) for the protocol and the rules.
    pub fn parse<'a>(
        &'a mut self,
        input: &'a [u8],
        limits: &Limits,
    ) -> Result<Parsed<'a>, ParseError> {
        if self.finished {
            self.reset();
        }
        // Until proven otherwise, this call ends the request (a partial one sets it back).
        self.finished = true;
        let Some(head) = parse_head(input, limits)? else {
            self.finished = false;
            return Ok(Parsed::NeedHead);
        };
        let (body, consumed) = match head.framing {
            Framing::Length(length) => {
                let end = head.len.saturating_add(length);
                if input.len() < end {
                    return Ok(self.need_body(&head));
                }
                (&input[head.len..end], end)
            }
            Framing::Chunked => match self.chunked.decode(input, head.len, limits)? {
                Some(end) => (&self.chunked.body[..], end),
                None => return Ok(self.need_body(&head)),
            },
        };
        let request = Request {
            method: head.method,
            target: head.target,
            version: head.version,
            keep_alive: head.keep_alive,
            host: head.host,
            content_type: head.content_type,
            accept: head.accept,
            body,
        };
        Ok(Parsed::Complete { request, consumed })
    }

    /// Frees the encoded chunks decoded so far: moves the rest of `buffer` over them and
    /// returns the length of what is left (truncate the buffer to it). `buffer` must start
    /// with the request this parser is in the middle of (the input of the last
    /// [`parse`](Parser::parse), which returned [`Parsed::NeedBody`], perhaps with bytes
    /// appended since). The parser keeps their data, and parsing goes on as if they were
    /// still there: a chunked body then costs its payload, not its encoding (one-byte
    /// chunks take six bytes each on the wire). In any other state it leaves `buffer` as
    /// it is and returns its length.
    pub fn compact(&mut self, buffer: &mut [u8]) -> usize {
        if self.finished {
            return buffer.len();
        }
        self.chunked.compact(buffer)
    }

    /// The heap memory the parser holds, in bytes: the chunked body decoded so far.
    pub fn memory(&self) -> usize {
        self.chunked.body.capacity()
    }

    fn need_body(&mut self, head: &Head<'_>) -> Parsed<'static> {
        self.finished = false;
        let send_continue = head.expect_continue && !self.continue_sent;
        self.continue_sent |= send_continue;
        Parsed::NeedBody { send_continue }
    }
}

/// A complete header section and what it says about the request.
#[derive(Debug, PartialEq, Eq)]
struct Head<'a> {
    /// Bytes from the start of the input through the blank line (leading empty lines too).
    len: usize,
    method: &'a str,
    target: &'a [u8],
    version: Version,
    keep_alive: bool,
    host: Option<&'a [u8]>,
    content_type: Option<&'a [u8]>,
    accept: Option<&'a [u8]>,
    framing: Framing,
    /// HTTP/1.1, `Expect: 100-continue` and a body to wait for.
    expect_continue: bool,
}

/// How the end of the body is found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    /// Exactly this many bytes (zero without `Content-Length` or `Transfer-Encoding`).
    Length(usize),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// Parses the header section at the start of `input`; `None` if it has not all arrived.
fn parse_head<'a>(input: &'a [u8], limits: &Limits) -> Result<Option<Head<'a>>, ParseError> {
    let max_line = limits.max_request_line.min(limits.max_header_bytes);
    let lead = empty_lines(input);
    if lead > max_line {
        return Err(ParseError::Malformed(
            "too many empty lines before the request line",
        ));
    }
    let rest = &input[lead..];
    if rest.is_empty() || rest == b"\r" {
        // Nothing yet (the usual end of a batch: every request in it answered); or
        // another empty line, or garbage: only the next byte can tell.
        return Ok(None);
    }
    // The usual case first: a plain head, complete within the limits, read without
    // httparse. It takes only heads httparse would take the same way, and gives up (for
    // the general path below) on anything else, so the outcome is the same.
    if let Some(head) = plain_head(rest, lead, limits, max_line) {
        return head.map(Some);
    }
    general_head(rest, lead, limits, max_line)
}

/// [`parse_head`] after the empty lines (`lead` bytes of them), for any input: httparse
/// and the limits.
fn general_head<'a>(
    rest: &'a [u8],
    lead: usize,
    limits: &Limits,
    max_line: usize,
) -> Result<Option<Head<'a>>, ParseError> {
    // Uninitialised slots: httparse fills in only the fields it finds, which saves
    // zeroing a kilobyte per request.
    let mut fields = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    // Next, a complete head within `max_header_bytes` whose request line ends within
    // `max_line`. The rules below would give httparse the same window (the line ended
    // within the limit) and reach the same outcome; this skips their scan of the input for
    // the line's end.
    let mut parsed = httparse::Request::new(&mut []);
    let head = &rest[..rest.len().min(limits.max_header_bytes)];
    if let Ok(httparse::Status::Complete(len)) = parsed.parse_with_uninit_headers(head, &mut fields)
    {
        if request_line_end(rest, &parsed).is_some_and(|end| end <= max_line) {
            return head_of(&parsed, lead + len, limits).map(Some);
        }
    }
    // httparse sees only what the limits allow, so that an error beyond a limit never
    // overrides the limit (and the answer does not depend on how much has arrived).
    let line_ended = rest[..rest.len().min(max_line.saturating_add(1))].contains(&b'\n');
    let window = if line_ended {
        limits.max_header_bytes
    } else {
        max_line
    };
    let mut parsed = httparse::Request::new(&mut []);
    let len = match parsed.parse_with_uninit_headers(&rest[..rest.len().min(window)], &mut fields) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => {
            return match line_ended {
                true if rest.len() >= limits.max_header_bytes => Err(ParseError::HeadersTooLarge),
                false if rest.len() > max_line => Err(ParseError::UriTooLong),
                _ => Ok(None),
            };
        }
        Err(httparse::Error::TooManyHeaders) => return Err(ParseError::HeadersTooLarge),
        Err(error) => return Err(ParseError::Malformed(describe(error))),
    };
    head_of(&parsed, lead + len, limits).map(Some)
}

/// The head at the start of `rest` (after `lead` bytes of empty lines), if it is plain:
/// a method of capital letters, a target of visible ASCII, ` HTTP/1.1` or ` HTTP/1.0`,
/// fields of a token name, a colon and a value of printable ASCII and spaces, every line
/// ending in `\r\n`; complete within `limits.max_header_bytes`, its request line within
/// `max_line`, at most [`MAX_HEADERS`] fields. httparse takes such a head the same way
/// (method, target, version, the fields' names and values up to surrounding spaces, the
/// length), so the rules reach the same outcome; `None` for any other input, which the
/// general path then reads (a partial head, a tab, a bare line feed, a byte beyond ASCII,
/// a limit reached...). A unit test checks the agreement on many mutated inputs.
#[inline(always)]
fn plain_head<'a>(
    rest: &'a [u8],
    lead: usize,
    limits: &Limits,
    max_line: usize,
) -> Option<Result<Head<'a>, ParseError>> {
    let window = &rest[..rest.len().min(limits.max_header_bytes)];
    let method_len = match window.get(..4) {
        Some(b"GET ") => 3,
        _ => window.iter().position(|b| !b.is_ascii_uppercase())?,
    };
    if method_len == 0 || window[method_len] != b' ' {
        return None;
    }
    let target_start = method_len + 1;
    let target_len = run_within(&window[target_start..], b'!', b'~');
    let after_target = target_start + target_len;
    // ` HTTP/1.` as one word, then the minor version and the line ending.
    let (prefix, ending) = window.get(after_target..after_target + 11)?.split_at(8);
    if prefix != b" HTTP/1." {
        return None;
    }
    let version = match ending {
        b"1\r\n" => Version::Http11,
        b"0\r\n" => Version::Http10,
        _ => return None,
    };
    let line_feed = after_target + 10;
    if target_len == 0 || line_feed > max_line {
        return None;
    }
    let mut at = line_feed + 1;
    let mut rules = Fields::default();
    // The first rule a field breaks: answered only once the whole head is known plain.
    let mut broken = None;
    for _ in 0..=MAX_HEADERS {
        let line = &window[at..];
        if line.starts_with(b"\r\n") {
            let method = method_str(&window[..method_len])?;
            let target = &window[target_start..after_target];
            if let Some(error) = broken {
                return Some(Err(error));
            }
            return Some(rules.head(lead + at + 2, method, target, version, limits));
        }
        let name_len = line.iter().position(|&b| !TOKEN[usize::from(b)])?;
        if name_len == 0 || line[name_len] != b':' {
            return None;
        }
        let value_start = name_len + 1;
        let value_end = value_start + run_within(&line[value_start..], b' ', b'~');
        if line.get(value_end..value_end + 2)? != b"\r\n" {
            return None;
        }
        if broken.is_none() {
            // Only spaces can surround it here (no tabs): what `trim` would take.
            let mut value = &line[value_start..value_end];
            while let [b' ', inner @ ..] = value {
                value = inner;
            }
            while let [inner @ .., b' '] = value {
                value = inner;
            }
            broken = rules.add(&line[..name_len], value, version).err();
        }
        at += value_end + 2;
    }
    // More than `MAX_HEADERS` fields: the general path says 431.
    None
}

/// The length of the run of bytes within `low..=high` at the start of `bytes`, eight
/// bytes per step. `low` must be at least 1 and `high` below `0x80`.
#[inline(always)]
fn run_within(bytes: &[u8], low: u8, high: u8) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    debug_assert!(low >= 1 && high < 0x80);
    let (below, above) = (ONES * u64::from(low), ONES * u64::from(0x7f - high));
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for word in &mut words {
        let mut eight = [0; 8];
        eight.copy_from_slice(word);
        let x = u64::from_le_bytes(eight);
        // A byte below `low` sets its high bit in the first term (a borrow can flag bytes
        // above it, never below); one above `high` (or beyond ASCII) in the second (a
        // carry likewise). Little-endian order puts the first byte lowest, so the lowest
        // flag is exact.
        let outside = (x.wrapping_sub(below) & !x | (x.wrapping_add(above) | x)) & HIGHS;
        if outside != 0 {
            return at + (outside.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    let rest = words.remainder();
    at + rest
        .iter()
        .position(|b| !(low..=high).contains(b))
        .unwrap_or(rest.len())
}

/// The bytes that may be part of a field name: `tchar` of RFC 9110 §5.6.2, as httparse
/// takes it.
static TOKEN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let others = b"!#$%&'*+-.^_`|~";
    let mut i = 0;
    while i < others.len() {
        table[others[i] as usize] = true;
        i += 1;
    }
    table
};

/// `method` (ASCII) as text: the usual ones without a UTF-8 check, which costs more than
/// the rest of a small head's framing.
#[inline(always)]
fn method_str(method: &[u8]) -> Option<&str> {
    Some(match method {
        b"GET" => "GET",
        b"HEAD" => "HEAD",
        b"POST" => "POST",
        b"PUT" => "PUT",
        b"DELETE" => "DELETE",
        b"OPTIONS" => "OPTIONS",
        b"PATCH" => "PATCH",
        _ => return std::str::from_utf8(method).ok(),
    })
}

/// The index in `rest` of the line feed that ends the request line httparse parsed
/// (complete) at its start: the first line feed after the target (the version and the
/// line ending hold none before it). httparse (default configuration) takes one space and
/// `HTTP/1.x` after the target, then `\r\n` or `\n`: looked up there, found by a scan
/// otherwise.
fn request_line_end(rest: &[u8], parsed: &httparse::Request<'_, '_>) -> Option<usize> {
    const VERSION: usize = b" HTTP/1.1".len();
    let target = parsed.path?;
    let after_target = (target.as_ptr() as usize - rest.as_ptr() as usize) + target.len();
    let after_version = after_target + VERSION;
    match rest.get(after_version..after_version + 2) {
        Some([b'\n', _]) => Some(after_version),
        Some([b'\r', b'\n']) => Some(after_version + 1),
        _ => {
            let to_feed = rest[after_target..].iter().position(|&b| b == b'\n')?;
            Some(after_target + to_feed)
        }
    }
}

/// What a complete header section of `len` bytes (leading empty lines included), parsed
/// by httparse, says about the request.
fn head_of<'a>(
    parsed: &httparse::Request<'_, 'a>,
    len: usize,
    limits: &Limits,
) -> Result<Head<'a>, ParseError> {
    let (Some(method), Some(target), Some(minor)) = (parsed.method, parsed.path, parsed.version)
    else {
        return Err(ParseError::Malformed("incomplete request line"));
    };
    let version = if minor == 0 {
        Version::Http10
    } else {
        Version::Http11
    };
    let mut rules = Fields::default();
    for field in parsed.headers.iter() {
        rules.add(field.name.as_bytes(), trim(field.value), version)?;
    }
    rules.head(len, method, target.as_bytes(), version, limits)
}

/// The rules of the header fields, fed the fields in order: what they say so far.
#[derive(Default)]
struct Fields<'a> {
    content_length: Option<u64>,
    codings: Codings,
    close: bool,
    keep_alive: bool,
    host: Option<&'a [u8]>,
    content_type: Option<&'a [u8]>,
    accept: Option<&'a [u8]>,
    expect_continue: bool,
}

impl<'a> Fields<'a> {
    /// Takes one field, its `value` without surrounding whitespace; an error if it breaks
    /// a rule (then the request is refused with it).
    #[inline(always)]
    fn add(&mut self, name: &[u8], value: &'a [u8], version: Version) -> Result<(), ParseError> {
        // By length first: most names match none of these.
        match name.len() {
            4 if is_host(name) => {
                let earlier = self.host.replace(value);
                if earlier.is_some() {
                    return Err(ParseError::Malformed("more than one Host"));
                }
            }
            6 if name.eq_ignore_ascii_case(b"accept") => {
                self.accept = self.accept.or(Some(value));
            }
            6 if name.eq_ignore_ascii_case(b"expect") && version == Version::Http11 => {
                if !value.eq_ignore_ascii_case(b"100-continue") {
                    return Err(ParseError::ExpectationFailed);
                }
                self.expect_continue = true;
            }
            10 if name.eq_ignore_ascii_case(b"connection") => {
                for option in list(value) {
                    self.close |= option.eq_ignore_ascii_case(b"close");
                    self.keep_alive |= option.eq_ignore_ascii_case(b"keep-alive");
                }
            }
            12 if name.eq_ignore_ascii_case(b"content-type") => {
                self.content_type = self.content_type.or(Some(value));
            }
            14 if name.eq_ignore_ascii_case(b"content-length") => {
                if self.content_length.is_some() {
                    return Err(ParseError::Malformed("more than one Content-Length"));
                }
                self.content_length = Some(parse_length(value)?);
            }
            17 if name.eq_ignore_ascii_case(b"transfer-encoding") => self.codings.add(value),
            _ => {}
        }
        Ok(())
    }

    /// The head, once every field is in: a complete header section of `len` bytes
    /// (leading empty lines included).
    #[inline(always)]
    fn head(
        self,
        len: usize,
        method: &'a str,
        target: &'a [u8],
        version: Version,
        limits: &Limits,
    ) -> Result<Head<'a>, ParseError> {
        if version == Version::Http11 && self.host.is_none() {
            return Err(ParseError::Malformed("HTTP/1.1 request without Host"));
        }
        let framing = match (self.codings.seen, self.content_length) {
            (true, Some(_)) => {
                return Err(ParseError::Malformed(
                    "both Transfer-Encoding and Content-Length",
                ));
            }
            (true, None) if version == Version::Http10 => {
                return Err(ParseError::Malformed(
                    "Transfer-Encoding in an HTTP/1.0 request",
                ));
            }
            (true, None) => self.codings.framing()?,
            (false, Some(length)) => match usize::try_from(length) {
                Ok(length) if length <= limits.max_body => Framing::Length(length),
                _ => return Err(ParseError::BodyTooLarge),
            },
            (false, None) => Framing::Length(0),
        };
        Ok(Head {
            len,
            method,
            target,
            version,
            keep_alive: !self.close && (version == Version::Http11 || self.keep_alive),
            host: self.host,
            content_type: self.content_type,
            accept: self.accept,
            framing,
            expect_continue: self.expect_continue && framing != Framing::Length(0),
        })
    }
}

/// Whether a field name is `Host`, in any case: one comparison of four bytes with the
/// case bit (`0x20`) set. Exact for any bytes: the only bytes that become `h`, `o`, `s` or
/// `t` with that bit set are those letters and their capitals.
#[inline]
fn is_host(name: &[u8]) -> bool {
    let Ok(four) = <[u8; 4]>::try_from(name) else {
        return false;
    };
    u32::from_le_bytes(four) | 0x2020_2020 == u32::from_le_bytes(*b"host")
}

/// The `Transfer-Encoding` codings of a request, from all its fields in order.
#[derive(Default)]
struct Codings {
    seen: bool,
    chunked: usize,
    other: bool,
    last_is_chunked: bool,
}

impl Codings {
    fn add(&mut self, value: &[u8]) {
        self.seen = true;
        for coding in list(value) {
            let chunked = coding.eq_ignore_ascii_case(b"chunked");
            self.chunked += usize::from(chunked);
            self.other |= !chunked;
            self.last_is_chunked = chunked;
        }
    }

    /// RFC 9112 §6.1 and §6.3: the body length is known only if `chunked` is last.
    fn framing(&self) -> Result<Framing, ParseError> {
        if !self.last_is_chunked {
            Err(ParseError::Malformed(
                "Transfer-Encoding does not end in chunked",
            ))
        } else if self.chunked > 1 {
            Err(ParseError::Malformed("chunked applied more than once"))
        } else if self.other {
            Err(ParseError::UnsupportedCoding)
        } else {
            Ok(Framing::Chunked)
        }
    }
}

/// The length of the empty lines (`\r\n` or `\n`) at the start of `input`.
fn empty_lines(input: &[u8]) -> usize {
    let mut at = 0;
    loop {
        match &input[at..] {
            [b'\r', b'\n', ..] => at += 2,
            [b'\n', ..] => at += 1,
            _ => return at,
        }
    }
}

/// `Content-Length = 1*DIGIT`; a value too large for `u64` saturates (and is then 413).
fn parse_length(value: &[u8]) -> Result<u64, ParseError> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return Err(ParseError::Malformed("Content-Length is not a number"));
    }
    Ok(value.iter().fold(0u64, |n, &digit| {
        n.saturating_mul(10).saturating_add(u64::from(digit - b'0'))
    }))
}

/// The non-empty elements of a comma-separated field value, without surrounding whitespace.
fn list(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim)
        .filter(|element| !element.is_empty())
}

/// `value` without leading and trailing spaces and tabs.
fn trim(value: &[u8]) -> &[u8] {
    let is_space = |b: &u8| *b == b' ' || *b == b'\t';
    let start = value
        .iter()
        .position(|b| !is_space(b))
        .unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !is_space(b))
        .map_or(start, |last| last + 1);
    &value[start..end]
}

fn describe(error: httparse::Error) -> &'static str {
    match error {
        httparse::Error::HeaderName => "invalid header name",
        httparse::Error::HeaderValue => "invalid header value",
        httparse::Error::NewLine => "invalid line ending",
        httparse::Error::Token => "invalid method or target",
        httparse::Error::Version => "invalid HTTP version",
        httparse::Error::Status | httparse::Error::TooManyHeaders => "invalid request",
    }
}

#[cfg(test)]
mod find_byte_tests {
    use super::find_byte;

    #[test]
    fn finds_the_first_occurrence_like_a_byte_scan() {
        // Every length through three words, the byte at every place (and twice), among
        // neighbours that trip a careless zero-byte test (the byte ± 1, 0x00, 0x80, 0xff).
        for len in 0..=24 {
            for fill in [b'a', b'?' - 1, b'?' + 1, 0x00, 0x80, 0xff] {
                let mut bytes = vec![fill; len];
                assert_eq!(find_byte(&bytes, b'?'), None, "{bytes:?}");
                for at in 0..len {
                    bytes[at] = b'?';
                    for later in at..len {
                        let mut twice = bytes.clone();
                        twice[later] = b'?';
                        assert_eq!(find_byte(&twice, b'?'), Some(at), "{twice:?}");
                    }
                    bytes[at] = fill;
                }
            }
        }
        assert_eq!(find_byte(b"/plaintext?x=1", b'?'), Some(10));
    }
}

#[cfg(test)]
mod plain_head_tests {
    use super::*;

    /// Heads to mutate: plain ones, and near misses of every shape `plain_head` checks.
    const SEEDS: &[&[u8]] = &[
        b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n",
        b"GET / HTTP/1.0\r\n\r\n",
        b"HEAD /json?x=1 HTTP/1.1\r\nhost:a\r\nAccept: text/html, */*\r\n\r\n",
        b"POST /chat/send HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        b"PUT /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx",
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close, keep-alive\r\n\r\n",
        b"GET / HTTP/1.0\r\nConnection:  Keep-Alive \r\nExpect: x\r\nContent-Length: 12x\r\n\r\n",
        b"GET http://a/b?c HTTP/1.1\r\nHost: a\r\nX-Y: \t v \r\n\r\nGET / HTTP/1.1\r\n",
        b"OPTIONS * HTTP/1.1\r\nHost:\r\nContent-Length: 99999999999999999999999\r\n\r\n",
    ];

    /// The bytes a mutation puts in: the ones each check of `plain_head` turns on.
    const BYTES: &[u8] = b" \t\r\n:/?!~\"(),;=@[]{}\x00\x01\x7f\x80\xff\xe2Aa0-HTTP1.";

    fn limits() -> [Limits; 4] {
        [
            Limits::default(),
            Limits {
                max_request_line: 20,
                max_header_bytes: 48,
                max_body: 4,
            },
            Limits {
                max_request_line: 1,
                max_header_bytes: 1000,
                max_body: 0,
            },
            Limits {
                max_request_line: 100,
                max_header_bytes: 16,
                max_body: 100,
            },
        ]
    }

    /// Wherever `plain_head` answers, httparse's path answers the same.
    fn agrees(input: &[u8], limits: &Limits) -> bool {
        let max_line = limits.max_request_line.min(limits.max_header_bytes);
        let lead = empty_lines(input);
        let rest = &input[lead..];
        let Some(plain) = plain_head(rest, lead, limits, max_line) else {
            return false;
        };
        let general = general_head(rest, lead, limits, max_line);
        assert_eq!(
            plain.map(Some),
            general,
            "{:?} with {limits:?}",
            String::from_utf8_lossy(input)
        );
        true
    }

    #[test]
    fn agrees_with_httparse_on_mutated_heads() {
        let mut seed = 0x2545_f491_u32;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed as usize
        };
        let (mut tried, mut taken) = (0, 0);
        for limits in limits() {
            for base in SEEDS {
                let mut inputs = vec![base.to_vec(), [b"\r\n\n", *base].concat()];
                for cut in 0..base.len() {
                    inputs.push(base[..cut].to_vec());
                }
                for at in 0..base.len() {
                    for &b in BYTES {
                        let mut replaced = base.to_vec();
                        replaced[at] = b;
                        let mut inserted = base.to_vec();
                        inserted.insert(at, b);
                        let mut removed = base.to_vec();
                        removed.remove(at);
                        inputs.extend([replaced, inserted, removed]);
                    }
                }
                for _ in 0..2000 {
                    let mut input = base.to_vec();
                    for _ in 0..1 + next() % 4 {
                        let at = next() % (input.len() + 1);
                        let b = BYTES[next() % BYTES.len()];
                        match next() % 3 {
                            0 if at < input.len() => input[at] = b,
                            1 if at < input.len() => drop(input.remove(at)),
                            _ => input.insert(at, b),
                        }
                    }
                    inputs.push(input);
                }
                for input in inputs {
                    tried += 1;
                    taken += usize::from(agrees(&input, &limits));
                }
            }
        }
        // The comparison means something only if both kinds of input were common.
        assert!(
            taken > tried / 20 && taken < tried / 2,
            "{taken} of {tried}"
        );
    }

    #[test]
    fn the_usual_heads_are_plain() {
        let heads: [&[u8]; 4] = [
            b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n",
            b"GET /json HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n",
            b"GET /chat HTTP/1.1\r\nHost: example.org\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n\
              Accept: text/html,application/xhtml+xml;q=0.9,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.5\r\n\
              Accept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\nCookie: a=b; c=d\r\n\r\n",
            b"POST /chat/send HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi",
        ];
        for head in heads {
            let plain = agrees(head, &Limits::default());
            assert!(plain, "{}", String::from_utf8_lossy(head));
        }
    }

    #[test]
    fn runs_within_a_range_like_a_byte_scan() {
        for len in 0..=24 {
            for fill in [b'a', b' ', b'!', b'~'] {
                for odd in [0x00, 0x09, b' ', b'!' - 1, b'~' + 1, 0x80, 0xff, b'\r'] {
                    for at in 0..=len {
                        let mut bytes = vec![fill; len];
                        if at < len {
                            bytes[at] = odd;
                        }
                        for (low, high) in [(b'!', b'~'), (b' ', b'~')] {
                            let expected = bytes
                                .iter()
                                .position(|b| !(low..=high).contains(b))
                                .unwrap_or(len);
                            assert_eq!(run_within(&bytes, low, high), expected, "{bytes:?}");
                        }
                    }
                }
            }
        }
    }
}
