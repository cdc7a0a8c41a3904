//! HTTP/1.1, independent of any runtime.
//!
//! - [`request`]: framing. The bytes read so far go in; complete requests (every one in the
//!   buffer, in order, for pipelining), "need more bytes", or a [`ParseError`] that names the
//!   status to answer with before closing come out.
//! - [`response`]: responses written into a caller-provided `Vec<u8>`, so the answers to a
//!   batch of pipelined requests leave in one write.
//! - [`date`]: the `Date` header value, formatted by hand and cached per second.
//! - Here: what they share, the [`Limits`] of a request, the [`ParseError`] that refuses
//!   one, and the [`Status`] codes.

mod chunked;
pub mod date;
pub mod request;
pub mod response;
#[cfg(test)]
mod tests;

pub use date::{DateCache, HttpDate};
pub use request::{Parsed, Parser, Request, Version};
pub use response::{CONTINUE, Exchange, ResponseWriter};

use std::fmt;

// The limits and the error of framing live here, above both `request` (the parser) and
// `chunked` (its body decoder), so that the decoder needs nothing of the parser.

/// The most header fields a request may carry; more is 431. They are parsed into an array
/// of this size on the stack, so a request without a chunked body allocates nothing.
pub const MAX_HEADERS: usize = 32;

/// Size limits for a request. Limits of zero are allowed (and refuse everything).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The longest request line, in bytes before its line feed. Longer is 414. Capped at
    /// `max_header_bytes`.
    pub max_request_line: usize,
    /// The largest header section (request line through blank line), in bytes. Larger is 431.
    pub max_header_bytes: usize,
    /// The largest body, in bytes after chunked decoding. Larger is 413.
    pub max_body: usize,
}

impl Default for Limits {
    /// 8 KiB request line, 16 KiB header section, 1 MiB body.
    fn default() -> Limits {
        Limits {
            max_request_line: 8 << 10,
            max_header_bytes: 16 << 10,
            max_body: 1 << 20,
        }
    }
}

/// Why a request is refused. Each one is answered with [`status`](ParseError::status) and
/// the connection is closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// 400: the request breaks the grammar or the framing rules; says which.
    Malformed(&'static str),
    /// 414: the request line is longer than [`Limits::max_request_line`].
    UriTooLong,
    /// 431: the header section (or the trailer section) is larger than
    /// [`Limits::max_header_bytes`] or has more than [`MAX_HEADERS`] fields.
    HeadersTooLarge,
    /// 413: the body is larger than [`Limits::max_body`].
    BodyTooLarge,
    /// 501: a transfer coding other than `chunked`.
    UnsupportedCoding,
    /// 417: an `Expect` other than `100-continue`.
    ExpectationFailed,
}

impl ParseError {
    /// The status to answer with.
    pub fn status(self) -> Status {
        match self {
            ParseError::Malformed(_) => Status::BadRequest,
            ParseError::UriTooLong => Status::UriTooLong,
            ParseError::HeadersTooLarge => Status::HeaderFieldsTooLarge,
            ParseError::BodyTooLarge => Status::ContentTooLarge,
            ParseError::UnsupportedCoding => Status::NotImplemented,
            ParseError::ExpectationFailed => Status::ExpectationFailed,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Malformed(why) => write!(f, "malformed request: {why}"),
            ParseError::UriTooLong => f.write_str("request line too long"),
            ParseError::HeadersTooLarge => f.write_str("header section too large"),
            ParseError::BodyTooLarge => f.write_str("body too large"),
            ParseError::UnsupportedCoding => f.write_str("unsupported transfer coding"),
            ParseError::ExpectationFailed => f.write_str("unsupported expectation"),
        }
    }
}

impl std::error::Error for ParseError {}

/// Declares [`Status`] from one table: variant, code, reason phrase.
macro_rules! statuses {
    ($($(#[$doc:meta])* $name:ident = $code:literal $reason:literal,)*) => {
        /// The status codes the server sends (RFC 9110 §15).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Status {
            $($(#[$doc])* $name,)*
        }

        impl Status {
            /// The three-digit status code.
            pub const fn code(self) -> u16 {
                match self { $(Self::$name => $code,)* }
            }

            /// The reason phrase, e.g. `Not Found`.
            pub const fn reason(self) -> &'static str {
                match self { $(Self::$name => $reason,)* }
            }

            /// Code and reason followed by a line feed, e.g. `"404 Not Found\n"`: the status
            /// line's text and the body of the short error responses.
            pub const fn text(self) -> &'static str {
                match self { $(Self::$name => concat!($code, " ", $reason, "\n"),)* }
            }
        }
    };
}

statuses! {
    /// 200: the request succeeded.
    Ok = 200 "OK",
    /// 204: the request succeeded and there is nothing to say.
    NoContent = 204 "No Content",
    /// 303: the answer is at the `Location` given (after a form post).
    SeeOther = 303 "See Other",
    /// 400: the request is malformed.
    BadRequest = 400 "Bad Request",
    /// 403: the target exists but is not served.
    Forbidden = 403 "Forbidden",
    /// 404: nothing is served at the target.
    NotFound = 404 "Not Found",
    /// 405: the target does not support the method; sent with `Allow`.
    MethodNotAllowed = 405 "Method Not Allowed",
    /// 408: the client was too slow to send its request.
    RequestTimeout = 408 "Request Timeout",
    /// 413: the body is larger than the limit.
    ContentTooLarge = 413 "Content Too Large",
    /// 414: the request line is longer than the limit.
    UriTooLong = 414 "URI Too Long",
    /// 415: the body's media type is not understood.
    UnsupportedMediaType = 415 "Unsupported Media Type",
    /// 417: the request carries an `Expect` other than `100-continue`.
    ExpectationFailed = 417 "Expectation Failed",
    /// 431: the header section is larger than the limit or has too many fields.
    HeaderFieldsTooLarge = 431 "Request Header Fields Too Large",
    /// 500: the server failed.
    InternalServerError = 500 "Internal Server Error",
    /// 501: the request uses a transfer coding the server does not implement.
    NotImplemented = 501 "Not Implemented",
    /// 503: the server is shutting down or out of capacity.
    ServiceUnavailable = 503 "Service Unavailable",
}

/// Appends the decimal digits of `n` (no allocation beyond `out` growing).
pub(crate) fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
}

/// Decodes `%XX` escapes (and `+` as a space when `plus_is_space`, for forms) into `out`.
/// Returns `None` for a `%` not followed by two hex digits.
pub(crate) fn percent_decode(input: &[u8], plus_is_space: bool, out: &mut Vec<u8>) -> Option<()> {
    let mut bytes = input.iter();
    while let Some(&b) = bytes.next() {
        out.push(match b {
            b'%' => {
                let high = hex_value(*bytes.next()?)?;
                let low = hex_value(*bytes.next()?)?;
                high << 4 | low
            }
            b'+' if plus_is_space => b' ',
            _ => b,
        });
    }
    Some(())
}

/// The value of one hex digit.
pub(crate) fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    #[test]
    fn status_table() {
        assert_eq!(Status::NotFound.code(), 404);
        assert_eq!(Status::NotFound.reason(), "Not Found");
        assert_eq!(
            Status::HeaderFieldsTooLarge.text(),
            "431 Request Header Fields Too Large\n"
        );
    }

    #[test]
    fn decimal() {
        for n in [0, 7, 10, 99, 100, 12345, u64::MAX] {
            let mut out = b"x".to_vec();
            push_decimal(&mut out, n);
            assert_eq!(out, format!("x{n}").into_bytes());
        }
    }

    #[test]
    fn percent() {
        let decode = |s: &str, plus| {
            let mut out = Vec::new();
            percent_decode(s.as_bytes(), plus, &mut out).map(|()| out)
        };
        assert_eq!(decode("a%20b%2Fc%2f", false).unwrap(), b"a b/c/");
        assert_eq!(decode("a+b", false).unwrap(), b"a+b");
        assert_eq!(decode("a+b%2B", true).unwrap(), b"a b+");
        assert_eq!(decode("%e2%82%AC", false).unwrap(), "€".as_bytes());
        assert_eq!(decode("%", false), None);
        assert_eq!(decode("%4", false), None);
        assert_eq!(decode("%zz", false), None);
    }
}
