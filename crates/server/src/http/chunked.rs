//! `Transfer-Encoding: chunked` (RFC 9112 §7.1), decoded once per byte across reads.
//!
//! ```text
//! chunked-body = *chunk last-chunk trailer-section CRLF
//! chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//! last-chunk   = 1*("0") [ chunk-ext ] CRLF
//! ```
//!
//! Lines end in CRLF (a bare LF is refused: lenient line endings in chunk framing are a
//! request-smuggling vector). Extensions are checked to be field-value characters and
//! ignored; trailer fields are checked by `httparse` and dropped.
//!
//! The decoded data is kept apart from the buffer; [`Decoder::compact`] then removes the
//! encoded chunks from the buffer, so that a body in one-byte chunks (six bytes each on the
//! wire) costs its payload, not its encoding.

use super::{Limits, MAX_HEADERS, ParseError};

/// The longest chunk-size line (size and extensions), in bytes before its CRLF.
pub(crate) const MAX_CHUNK_LINE: usize = 4096;

/// The chunked body of the request at the front of the buffer, as far as it is decoded.
#[derive(Debug, Default)]
pub(crate) struct Decoder {
    /// The data of the chunks decoded so far.
    pub(crate) body: Vec<u8>,
    /// Where the next chunk-size line starts, from the start of the request; 0 before the
    /// first one.
    next: usize,
    /// Where the body starts (the length of the head), once decoding began.
    start: usize,
    /// Encoded bytes of decoded chunks that [`compact`](Decoder::compact) removed from
    /// the buffer (they still count towards the limit on the encoded size).
    compacted: usize,
}

impl Decoder {
    /// Decodes the chunks that have arrived, from `request[self.next..]` (the body starts
    /// at `body_start`). `Some(end)` once the whole body and trailers are in: `end` is the
    /// length of the request.
    pub(crate) fn decode(
        &mut self,
        request: &[u8],
        body_start: usize,
        limits: &Limits,
    ) -> Result<Option<usize>, ParseError> {
        if self.start != body_start || self.next < body_start || self.next > request.len() {
            // Not started (or not this request's state): start at the first chunk.
            self.body.clear();
            self.next = body_start;
            self.start = body_start;
            self.compacted = 0;
        }
        let max_wire = limits
            .max_body
            .saturating_mul(2)
            .saturating_add(limits.max_header_bytes);
        loop {
            let Some((size, line_len)) = chunk_line(&request[self.next..])? else {
                return Ok(None);
            };
            let data = self.next + line_len;
            if size == 0 {
                return trailers(request, data, limits);
            }
            let room = limits.max_body.saturating_sub(self.body.len());
            let size = match usize::try_from(size) {
                Ok(size) if size <= room => size,
                _ => return Err(ParseError::BodyTooLarge),
            };
            let end = data.saturating_add(size).saturating_add(2);
            if (end - body_start).saturating_add(self.compacted) > max_wire {
                return Err(ParseError::BodyTooLarge);
            }
            if request.len() < end {
                return Ok(None);
            }
            if &request[end - 2..end] != b"\r\n" {
                return Err(ParseError::Malformed("chunk data not followed by CRLF"));
            }
            self.body.extend_from_slice(&request[data..end - 2]);
            self.next = end;
        }
    }
}

impl Decoder {
    /// Moves the encoded chunks decoded so far out of `request` (the buffer `decode` was
    /// last given, which still starts with the same request, perhaps with more bytes after
    /// it): what is left at its front is the head and the chunk in progress, and decoding
    /// goes on from there as if nothing were removed. Returns the length of what is left.
    pub(crate) fn compact(&mut self, request: &mut [u8]) -> usize {
        if self.start == 0 || self.next <= self.start || self.next > request.len() {
            return request.len();
        }
        request.copy_within(self.next.., self.start);
        let removed = self.next - self.start;
        self.compacted += removed;
        self.next = self.start;
        request.len() - removed
    }
}

/// Parses the chunk-size line at the start of `input`: the size and the length of the line
/// with its CRLF, or `None` if it has not all arrived.
fn chunk_line(input: &[u8]) -> Result<Option<(u64, usize)>, ParseError> {
    let window = &input[..input.len().min(MAX_CHUNK_LINE + 2)];
    let Some(lf) = window.iter().position(|&b| b == b'\n') else {
        return match input.len() >= MAX_CHUNK_LINE + 2 {
            true => Err(ParseError::Malformed("chunk-size line too long")),
            false => Ok(None),
        };
    };
    if lf == 0 || input[lf - 1] != b'\r' {
        return Err(ParseError::Malformed("chunk-size line not ended by CRLF"));
    }
    let line = &input[..lf - 1];
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(ParseError::Malformed("chunk size missing"));
    }
    // A size that overflows u64 is over any limit, however many leading zeros it has.
    let mut size: u64 = 0;
    for &digit in &line[..digits] {
        let value = u64::from(super::hex_value(digit).unwrap_or(0));
        size = size
            .checked_mul(16)
            .and_then(|s| s.checked_add(value))
            .ok_or(ParseError::BodyTooLarge)?;
    }
    if !valid_extensions(&line[digits..]) {
        return Err(ParseError::Malformed("invalid chunk extension"));
    }
    Ok(Some((size, lf + 1)))
}

/// `*( BWS ";" ... )`: nothing, or optional whitespace, `;`, then field-value characters.
/// Whitespace after the size is allowed only before a `;` (`3 \r\n` is refused).
fn valid_extensions(rest: &[u8]) -> bool {
    let space = rest
        .iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count();
    match &rest[space..] {
        [] => space == 0,
        [b';', ext @ ..] => ext.iter().all(|&b| b == b'\t' || b >= b' ' && b != 0x7f),
        _ => false,
    }
}

/// Whether `lines` has a line feed without a carriage return before it.
fn bare_lf(lines: &[u8]) -> bool {
    lines
        .iter()
        .enumerate()
        .any(|(at, &b)| b == b'\n' && (at == 0 || lines[at - 1] != b'\r'))
}

/// Parses the trailer section after the last chunk, which starts at `start`.
fn trailers(request: &[u8], start: usize, limits: &Limits) -> Result<Option<usize>, ParseError> {
    let section = &request[start..];
    let window = &section[..section.len().min(limits.max_header_bytes)];
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    match httparse::parse_headers(window, &mut fields) {
        Ok(httparse::Status::Complete((len, _))) if bare_lf(&section[..len]) => {
            Err(ParseError::Malformed("trailer line not ended by CRLF"))
        }
        Ok(httparse::Status::Complete((len, _))) => Ok(Some(start + len)),
        Ok(httparse::Status::Partial) if section.len() < limits.max_header_bytes => Ok(None),
        Ok(httparse::Status::Partial) | Err(httparse::Error::TooManyHeaders) => {
            Err(ParseError::HeadersTooLarge)
        }
        Err(_) => Err(ParseError::Malformed("invalid trailer field")),
    }
}
