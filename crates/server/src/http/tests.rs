//! Framing tests: pipelining, splits at every byte, chunked bodies, limits, connection
//! semantics.

use super::*;

const LIMITS: Limits = Limits {
    max_request_line: 8 << 10,
    max_header_bytes: 16 << 10,
    max_body: 1 << 20,
};

/// A request copied out of its buffer, for tests of one request alone.
#[derive(Debug)]
struct Owned {
    method: String,
    target: String,
    path: String,
    query: Option<String>,
    version: Version,
    keep_alive: bool,
    host: Option<Vec<u8>>,
    content_type: Option<Vec<u8>>,
    accept: Option<Vec<u8>>,
    body: Vec<u8>,
    exchange: Exchange,
}

/// Parses `input` alone; panics unless it is one complete request taking all of it.
fn one(input: &[u8]) -> Owned {
    match Parser::new().parse(input, &LIMITS) {
        Ok(Parsed::Complete { request, consumed }) => {
            assert_eq!(consumed, input.len(), "{request:?}");
            Owned {
                method: request.method.to_string(),
                target: request.target_str().to_string(),
                path: String::from_utf8(request.path().to_vec()).unwrap(),
                query: request
                    .query()
                    .map(|query| String::from_utf8(query.to_vec()).unwrap()),
                version: request.version,
                keep_alive: request.keep_alive,
                host: request.host.map(<[u8]>::to_vec),
                content_type: request.content_type.map(<[u8]>::to_vec),
                accept: request.accept.map(<[u8]>::to_vec),
                body: request.body.to_vec(),
                exchange: Exchange::of(&request),
            }
        }
        other => panic!("{other:?} for {:?}", String::from_utf8_lossy(input)),
    }
}

/// The error for `input`, parsed alone with `limits`.
fn refused_with(input: &[u8], limits: &Limits) -> ParseError {
    match Parser::new().parse(input, limits) {
        Err(error) => error,
        other => panic!("{other:?} for {:?}", String::from_utf8_lossy(input)),
    }
}

fn refused(input: &[u8]) -> ParseError {
    refused_with(input, &LIMITS)
}

/// What parsing `input` alone says when it needs more.
fn needs(input: &[u8]) -> Parsed<'static> {
    match Parser::new().parse(input, &LIMITS) {
        Ok(Parsed::NeedHead) => Parsed::NeedHead,
        Ok(Parsed::NeedBody { send_continue }) => Parsed::NeedBody { send_continue },
        other => panic!("{other:?} for {:?}", String::from_utf8_lossy(input)),
    }
}

/// Plays a connection loop: `input` arrives in reads of `sizes` (cycled); after each read,
/// every complete request is taken from the buffer and only the unparsed tail is kept. Each
/// request (as `Debug` text) or error is recorded, then the state of the tail at the end.
fn connection(input: &[u8], sizes: &[usize], limits: &Limits) -> Vec<String> {
    connection_with(input, sizes, limits, false).0
}

/// [`connection`], also compacting the buffer after each read that leaves a body in
/// progress when `compact`; with the largest the buffer became.
fn connection_with(
    input: &[u8],
    sizes: &[usize],
    limits: &Limits,
    compact: bool,
) -> (Vec<String>, usize) {
    let (mut parser, mut buffer, mut outcomes) = (Parser::new(), Vec::new(), Vec::new());
    let mut largest = 0;
    let mut rest = input;
    for &size in sizes.iter().cycle() {
        let (read, unread) = rest.split_at(size.clamp(1, rest.len().max(1)).min(rest.len()));
        buffer.extend_from_slice(read);
        largest = largest.max(buffer.len());
        rest = unread;
        let mut start = 0;
        let tail = loop {
            match parser.parse(&buffer[start..], limits) {
                Ok(Parsed::Complete { request, consumed }) => {
                    assert!(consumed > 0 && consumed <= buffer.len() - start);
                    assert!(request.body.len() <= limits.max_body);
                    outcomes.push(format!("{request:?}"));
                    start += consumed;
                }
                Ok(Parsed::NeedHead) => break "NeedHead",
                Ok(Parsed::NeedBody { .. }) => break "NeedBody",
                Err(error) => {
                    outcomes.push(format!("{error:?}"));
                    return (outcomes, largest);
                }
            }
        };
        buffer.drain(..start);
        if compact && tail == "NeedBody" {
            let left = parser.compact(&mut buffer);
            buffer.truncate(left);
        }
        if rest.is_empty() {
            outcomes.push(tail.to_string());
            return (outcomes, largest);
        }
    }
    unreachable!("sizes is never empty")
}

/// Checks that `input` gives the same outcomes however it is split: whole, at every byte
/// boundary into two reads, and one byte per read.
fn same_at_every_split(input: &[u8], limits: &Limits) -> Vec<String> {
    let whole = connection(input, &[input.len()], limits);
    for split in 1..input.len() {
        assert_eq!(
            connection(input, &[split, input.len()], limits),
            whole,
            "split at {split}"
        );
    }
    assert_eq!(connection(input, &[1], limits), whole, "one byte per read");
    for sizes in [&[1][..], &[3, 7], &[input.len() / 2 + 1]] {
        assert_eq!(
            connection_with(input, sizes, limits, true).0,
            whole,
            "compacting, reads of {sizes:?}"
        );
    }
    whole
}

#[test]
fn simple_get() {
    let request = one(b"GET /hello?x=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n");
    assert_eq!(request.method, "GET");
    assert_eq!(request.target, "/hello?x=1");
    assert_eq!(request.path, "/hello");
    assert_eq!(request.query.as_deref(), Some("x=1"));
    assert_eq!(request.version, Version::Http11);
    assert!(request.keep_alive);
    assert_eq!(request.host.as_deref(), Some(&b"example.com"[..]));
    assert_eq!(request.accept.as_deref(), Some(&b"*/*"[..]));
    assert_eq!(request.content_type, None);
    assert_eq!(request.body, b"");
    assert!(!request.exchange.head_only);
}

#[test]
fn paths_of_every_target_form() {
    let path = |target: &str| {
        let request = one(format!("OPTIONS {target} HTTP/1.1\r\nHost: h\r\n\r\n").as_bytes());
        format!("{} {:?}", request.path, request.query)
    };
    assert_eq!(path("/"), "/ None");
    assert_eq!(path("/a/b?"), "/a/b Some(\"\")");
    assert_eq!(path("http://h:80/a/b?q"), "/a/b Some(\"q\")");
    assert_eq!(path("http://h"), "/ None");
    assert_eq!(path("/a://b?c"), "/a://b Some(\"c\")");
    assert_eq!(path("*"), "* None");
}

#[test]
fn two_pipelined_and_a_partial_third() {
    let first = "GET /one HTTP/1.1\r\nHost: a\r\n\r\n";
    let second = "POST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello";
    let third = "GET /three HTTP/1.1\r\nHo";
    let input = format!("{first}{second}{third}");
    let mut parser = Parser::new();
    let mut at = 0;
    let mut seen = Vec::new();
    loop {
        match parser.parse(&input.as_bytes()[at..], &LIMITS).unwrap() {
            Parsed::Complete { request, consumed } => {
                seen.push((
                    request.target_str().to_string(),
                    request.body.to_vec(),
                    consumed,
                ));
                at += consumed;
            }
            other => {
                assert_eq!(other, Parsed::NeedHead);
                break;
            }
        }
    }
    let expected = [
        ("/one".to_string(), vec![], first.len()),
        ("/two".to_string(), b"hello".to_vec(), second.len()),
    ];
    assert_eq!(seen, expected);
    assert_eq!(&input[at..], third);
}

#[test]
fn a_hundred_pipelined_in_order() {
    let mut input = String::new();
    let mut lengths = Vec::new();
    for i in 0..100 {
        let request = if i % 3 == 0 {
            format!(
                "POST /{i} HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\nbody{i}",
                4 + i.to_string().len()
            )
        } else if i % 3 == 1 {
            format!("GET /{i} HTTP/1.1\r\nHost: a\r\n\r\n")
        } else {
            format!(
                "PUT /{i} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n0\r\n\r\n"
            )
        };
        lengths.push(request.len());
        input.push_str(&request);
    }
    input.push_str("GET /partial HTTP/1.1\r\n");
    let mut parser = Parser::new();
    let mut at = 0;
    for (i, &length) in lengths.iter().enumerate() {
        let Ok(Parsed::Complete { request, consumed }) =
            parser.parse(&input.as_bytes()[at..], &LIMITS)
        else {
            panic!("request {i} incomplete");
        };
        assert_eq!(request.target_str(), format!("/{i}"));
        assert_eq!(consumed, length);
        if i % 3 != 1 {
            assert!(request.body.starts_with(b"body"), "{request:?}");
        }
        at += consumed;
    }
    assert_eq!(
        parser.parse(&input.as_bytes()[at..], &LIMITS),
        Ok(Parsed::NeedHead)
    );
    assert_eq!(&input[at..], "GET /partial HTTP/1.1\r\n");
}

#[test]
fn splits_at_every_byte_give_the_same_requests() {
    let input = concat!(
        "\r\nGET /a HTTP/1.1\r\nHost: a\r\nAccept: text/html\r\n\r\n",
        "POST /b HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world",
        "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
        "5;name=value;q=\"x;y\"\r\nhello\r\n006\r\n world\r\n0;last\r\nTrailer: x\r\n\r\n",
        "HEAD /d HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        "GET /e HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        "GET /f HTTP/1.1\r\nHost: a\r\n",
    );
    let outcomes = same_at_every_split(input.as_bytes(), &LIMITS);
    assert_eq!(outcomes.len(), 6, "{outcomes:#?}");
    assert!(outcomes[2].contains("body: [104, 101, 108, 108, 111, 32, 119, 111, 114, 108, 100]"));
    assert_eq!(outcomes[5], "NeedHead");
}

#[test]
fn splits_at_every_byte_give_the_same_errors() {
    let cases: [&[u8]; 7] = [
        b"GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nBad Header\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nx\r\n\r\n",
        b"GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\x01 HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nX: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\x01\r\n\r\n",
    ];
    let small = Limits {
        max_request_line: 40,
        max_header_bytes: 80,
        max_body: 64,
    };
    for input in cases {
        for limits in [&LIMITS, &small] {
            let outcomes = same_at_every_split(input, limits);
            let last = outcomes.last().unwrap();
            assert!(
                !last.starts_with("Need"),
                "{outcomes:?} for {:?}",
                String::from_utf8_lossy(input)
            );
        }
    }
}

#[test]
fn connection_semantics() {
    let keep_alive = |input: &str| one(input.as_bytes()).keep_alive;
    assert!(keep_alive("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
    assert!(!keep_alive(
        "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    ));
    assert!(!keep_alive(
        "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, CLOSE\r\n\r\n"
    ));
    assert!(!keep_alive(
        "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n"
    ));
    assert!(!keep_alive("GET / HTTP/1.0\r\n\r\n"));
    assert!(keep_alive(
        "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"
    ));
    assert!(!keep_alive(
        "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"
    ));
    assert_eq!(one(b"GET / HTTP/1.0\r\n\r\n").version, Version::Http10);
}

#[test]
fn head() {
    let request = one(b"HEAD /index.html HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(request.method, "HEAD");
    let expected = Exchange {
        head_only: true,
        keep_alive: true,
        http10: false,
    };
    assert_eq!(request.exchange, expected);
}

#[test]
fn leading_empty_lines_are_skipped_and_counted() {
    let input = b"\r\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
    assert_eq!(one(input).target, "/");
    let flood = b"\r\n".repeat(50);
    let limits = Limits {
        max_request_line: 64,
        ..LIMITS
    };
    assert!(matches!(
        refused_with(&flood, &limits),
        ParseError::Malformed(_)
    ));
    assert_eq!(
        Parser::new().parse(&flood[..64], &limits),
        Ok(Parsed::NeedHead)
    );
    let outcomes = same_at_every_split(&flood, &limits);
    assert_eq!(
        outcomes,
        ["Malformed(\"too many empty lines before the request line\")"]
    );
}

#[test]
fn content_length_bodies() {
    let request = one(b"POST /chat/send HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 008\r\n\r\nhi there");
    assert_eq!(request.body, b"hi there");
    assert_eq!(request.content_type.as_deref(), Some(&b"text/plain"[..]));
    assert_eq!(
        needs(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhel"),
        Parsed::NeedBody {
            send_continue: false
        }
    );
    assert_eq!(
        one(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:  0 \r\n\r\n").body,
        b""
    );
}

#[test]
fn content_length_errors() {
    let cases: [(&[u8], ParseError); 6] = [
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
            ParseError::Malformed("more than one Content-Length"),
        ),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n",
            ParseError::Malformed("Content-Length is not a number"),
        ),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
            ParseError::Malformed("Content-Length is not a number"),
        ),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n",
            ParseError::Malformed("Content-Length is not a number"),
        ),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1048577\r\n\r\n",
            ParseError::BodyTooLarge,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999999\r\n\r\n",
            ParseError::BodyTooLarge,
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(
            refused(input),
            expected,
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
    let at_limit = format!(
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n{}",
        1 << 20,
        "x".repeat(1 << 20)
    );
    assert_eq!(one(at_limit.as_bytes()).body.len(), 1 << 20);
}

#[test]
fn chunked_bodies() {
    let head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    let body = |chunks: &str| one(format!("{head}{chunks}").as_bytes()).body.to_vec();
    assert_eq!(body("0\r\n\r\n"), b"");
    assert_eq!(body("3\r\nabc\r\n0\r\n\r\n"), b"abc");
    assert_eq!(
        body("000000000000000000000000003\r\nabc\r\n0000\r\n\r\n"),
        b"abc"
    );
    assert_eq!(
        body("A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n"),
        b"0123456789abcdefghij"
    );
    assert_eq!(
        body("3;ext\r\nabc\r\n1 ; a=b ; c=\"d;e\"\r\nd\r\n0;x=y\r\n\r\n"),
        b"abcd"
    );
    assert_eq!(
        body("3\r\nabc\r\n0\r\nExpires: never\r\nX-Checksum: 1\r\n\r\n"),
        b"abc"
    );
    assert_eq!(body("2\r\n\r\n\r\n0\r\n\r\n"), b"\r\n");
    let te = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n";
    assert_eq!(one(te.as_bytes()).body, b"x");
    let split = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    assert_eq!(one(split.as_bytes()).body, b"");
}

#[test]
fn chunked_errors() {
    let head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    let refused_body = |chunks: &[u8]| refused(&[head.as_bytes(), chunks].concat());
    let malformed = |chunks: &[u8]| matches!(refused_body(chunks), ParseError::Malformed(_));
    assert!(malformed(b"\r\n"), "size missing");
    assert!(malformed(b"x\r\n"), "not hex");
    assert!(malformed(b"3 x\r\nabc\r\n0\r\n\r\n"), "junk after size");
    // Whitespace may only come before a `;` (RFC 9112 §7.1.1: `BWS ";"`).
    assert!(malformed(b"3 \r\nabc\r\n0\r\n\r\n"), "space after size");
    assert!(malformed(b"3\t\r\nabc\r\n0\r\n\r\n"), "tab after size");
    assert!(malformed(b"0 \r\n\r\n"), "space after the last size");
    assert!(malformed(b"3\nabc\r\n0\r\n\r\n"), "bare LF after size");
    assert!(
        malformed(b"3\r\nabcd\r\n0\r\n\r\n"),
        "data longer than size"
    );
    assert!(
        malformed(b"3;\x01\r\nabc\r\n0\r\n\r\n"),
        "control character in extension"
    );
    assert!(malformed(b"0\r\nbad trailer\r\n\r\n"), "invalid trailer");
    assert!(malformed(b"0\r\nX: y\n\r\n"), "bare LF in trailers");
    assert!(
        malformed(&[b"1;".repeat(3000).as_slice(), b"\r\n"].concat()),
        "line too long"
    );
    assert_eq!(
        refused_body(b"ffffffffffffffffffff\r\n"),
        ParseError::BodyTooLarge,
        "overflows u64"
    );
    assert_eq!(
        refused_body(b"100001\r\n"),
        ParseError::BodyTooLarge,
        "one chunk over 1 MiB"
    );
    let mut two_halves = format!("80000\r\n{}\r\n", "x".repeat(1 << 19)).repeat(2);
    two_halves.push_str("1\r\n");
    assert_eq!(
        refused_body(two_halves.as_bytes()),
        ParseError::BodyTooLarge,
        "total over 1 MiB"
    );
    let trailers = (0..40).map(|i| format!("T{i}: v\r\n")).collect::<String>();
    assert_eq!(
        refused_body(format!("0\r\n{trailers}\r\n").as_bytes()),
        ParseError::HeadersTooLarge
    );
}

#[test]
fn chunked_wire_size_is_bounded() {
    // One-byte chunks with long extensions: a small body, a large encoding.
    let limits = Limits {
        max_request_line: 1024,
        max_header_bytes: 1024,
        max_body: 1024,
    };
    let head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    let chunk = format!("1;{}\r\nx\r\n", "e".repeat(100));
    let input = format!("{head}{}", chunk.repeat(40));
    assert_eq!(
        refused_with(input.as_bytes(), &limits),
        ParseError::BodyTooLarge
    );
}

#[test]
fn compacting_keeps_a_chunked_body_at_its_payload() {
    let head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    let input = format!(
        "{head}{}0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "1\r\nx\r\n".repeat(1000)
    );
    let (plain, plain_largest) = connection_with(input.as_bytes(), &[7], &LIMITS, false);
    let (compacted, largest) = connection_with(input.as_bytes(), &[7], &LIMITS, true);
    assert_eq!(compacted, plain);
    assert_eq!(compacted.len(), 3, "{compacted:?}");
    assert!(compacted[0].contains(&format!("body: {:?}", "x".repeat(1000).as_bytes())));
    // The buffer holds the head, a chunk in progress and a read, not the encoding.
    assert!(plain_largest > 6000, "{plain_largest}");
    assert!(largest < head.len() + 6 + 7, "{largest}");

    // The parser holds the payload.
    let mut parser = Parser::new();
    let mut buffer = format!("{head}{}", "1\r\nx\r\n".repeat(1000)).into_bytes();
    assert_eq!(
        parser.parse(&buffer, &LIMITS),
        Ok(Parsed::NeedBody {
            send_continue: false
        })
    );
    let left = parser.compact(&mut buffer);
    buffer.truncate(left);
    assert_eq!(buffer, head.as_bytes());
    assert!(parser.memory() >= 1000 && parser.memory() < 4000);
    // Compacting again, or in any other state, does nothing.
    assert_eq!(parser.compact(&mut buffer), head.len());
    buffer.extend_from_slice(b"2\r\nyz\r\n0\r\n\r\n");
    match parser.parse(&buffer, &LIMITS) {
        Ok(Parsed::Complete { request, consumed }) => {
            assert_eq!(request.body.len(), 1002);
            assert!(request.body.ends_with(b"xyz"));
            assert_eq!(consumed, buffer.len());
        }
        other => panic!("{other:?}"),
    }
    let mut fresh = b"GET / HTTP/1.1\r\n".to_vec();
    assert_eq!(Parser::new().compact(&mut fresh), fresh.len());
    assert_eq!(fresh, b"GET / HTTP/1.1\r\n");
}

#[test]
fn the_encoded_size_is_bounded_across_compactions() {
    let limits = Limits {
        max_request_line: 1024,
        max_header_bytes: 1024,
        max_body: 1024,
    };
    let head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    let chunk = format!("1;{}\r\nx\r\n", "e".repeat(100));
    let input = format!("{head}{}", chunk.repeat(40));
    let (outcomes, _) = connection_with(input.as_bytes(), &[50], &limits, true);
    assert_eq!(outcomes, ["BodyTooLarge"]);
}

#[test]
fn transfer_encoding_rules() {
    let with = |fields: &str| format!("POST / HTTP/1.1\r\nHost: a\r\n{fields}\r\n0\r\n\r\n");
    let cases = [
        (
            "Transfer-Encoding: gzip, chunked\r\n",
            ParseError::UnsupportedCoding,
        ),
        (
            "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",
            ParseError::UnsupportedCoding,
        ),
        (
            "Transfer-Encoding: gzip\r\n",
            ParseError::Malformed("Transfer-Encoding does not end in chunked"),
        ),
        (
            "Transfer-Encoding: chunked, gzip\r\n",
            ParseError::Malformed("Transfer-Encoding does not end in chunked"),
        ),
        (
            "Transfer-Encoding: chunked, chunked\r\n",
            ParseError::Malformed("chunked applied more than once"),
        ),
        (
            "Transfer-Encoding: \r\n",
            ParseError::Malformed("Transfer-Encoding does not end in chunked"),
        ),
        (
            "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
            ParseError::Malformed("both Transfer-Encoding and Content-Length"),
        ),
        (
            "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
            ParseError::Malformed("both Transfer-Encoding and Content-Length"),
        ),
    ];
    for (fields, expected) in cases {
        assert_eq!(refused(with(fields).as_bytes()), expected, "{fields:?}");
    }
    let http10 = "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    assert_eq!(
        refused(http10.as_bytes()),
        ParseError::Malformed("Transfer-Encoding in an HTTP/1.0 request")
    );
}

#[test]
fn host_rules() {
    assert_eq!(
        refused(b"GET / HTTP/1.1\r\n\r\n"),
        ParseError::Malformed("HTTP/1.1 request without Host")
    );
    assert_eq!(
        refused(b"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"),
        ParseError::Malformed("more than one Host")
    );
    assert_eq!(one(b"GET / HTTP/1.0\r\n\r\n").host.as_deref(), None);
    assert_eq!(
        one(b"GET / HTTP/1.1\r\nHost:\r\n\r\n").host.as_deref(),
        Some(&b""[..])
    );
}

#[test]
fn malformed_requests() {
    let cases: [&[u8]; 9] = [
        b"GET\r\n\r\n",
        b"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
        b"GET / FTP/1.1\r\nHost: a\r\n\r\n",
        b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /\x00 HTTP/1.1\r\nHost: a\r\n\r\n",
        b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\rX\r\n\r\n",
    ];
    for input in cases {
        let error = refused(input);
        assert!(
            matches!(error, ParseError::Malformed(_)),
            "{error:?} for {:?}",
            String::from_utf8_lossy(input)
        );
        assert_eq!(error.status(), Status::BadRequest);
    }
}

#[test]
fn request_line_limit_is_414() {
    let limits = Limits {
        max_request_line: 64,
        ..LIMITS
    };
    let line = |target_len: usize| format!("GET /{} HTTP/1.1", "a".repeat(target_len - 1));
    // "GET " + target + " HTTP/1.1\r" is 64 bytes before the line feed: allowed.
    let fits = format!("{}\r\nHost: a\r\n\r\n", line(64 - 14));
    assert_eq!(
        Parser::new()
            .parse(fits.as_bytes(), &limits)
            .map(|p| matches!(p, Parsed::Complete { .. })),
        Ok(true)
    );
    let too_long = format!("{}\r\nHost: a\r\n\r\n", line(64 - 13));
    assert_eq!(
        refused_with(too_long.as_bytes(), &limits),
        ParseError::UriTooLong
    );
    assert_eq!(
        refused_with(too_long.as_bytes(), &limits).status(),
        Status::UriTooLong
    );
}

#[test]
fn unfinished_long_request_line_is_414_not_431() {
    // hyper#3874: a request line that never ends must not be reported as a header problem,
    // even when it is longer than the whole header limit.
    let limits = Limits {
        max_request_line: 100,
        max_header_bytes: 200,
        max_body: 0,
    };
    let mut input = b"GET /".to_vec();
    input.resize(100, b'a');
    assert_eq!(Parser::new().parse(&input, &limits), Ok(Parsed::NeedHead));
    input.push(b'a');
    assert_eq!(refused_with(&input, &limits), ParseError::UriTooLong);
    input.resize(10_000, b'a');
    assert_eq!(refused_with(&input, &limits), ParseError::UriTooLong);
    assert_eq!(
        refused(&[b"GET /".as_slice(), &[b'a'; 9000]].concat()),
        ParseError::UriTooLong
    );
}

#[test]
fn header_section_limit_is_431() {
    let limits = Limits {
        max_request_line: 64,
        max_header_bytes: 128,
        max_body: 0,
    };
    let head = |filler: usize| {
        format!(
            "GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n\r\n",
            "b".repeat(filler)
        )
    };
    let exact = head(128 - head(0).len());
    assert_eq!(exact.len(), 128);
    assert!(matches!(
        Parser::new().parse(exact.as_bytes(), &limits),
        Ok(Parsed::Complete { .. })
    ));
    let over = head(129 - head(0).len());
    assert_eq!(
        refused_with(over.as_bytes(), &limits),
        ParseError::HeadersTooLarge
    );
    // Unfinished: decided once the limit is reached, never by waiting for the end.
    let unfinished = format!("GET / HTTP/1.1\r\nX: {}", "b".repeat(200));
    assert_eq!(
        Parser::new().parse(&unfinished.as_bytes()[..127], &limits),
        Ok(Parsed::NeedHead)
    );
    assert_eq!(
        refused_with(&unfinished.as_bytes()[..128], &limits),
        ParseError::HeadersTooLarge
    );
    assert_eq!(
        refused_with(unfinished.as_bytes(), &limits).status(),
        Status::HeaderFieldsTooLarge
    );
}

#[test]
fn more_than_32_fields_is_431() {
    let fields = |n: usize| (0..n).map(|i| format!("X-{i}: v\r\n")).collect::<String>();
    let request = |n: usize| format!("GET / HTTP/1.1\r\nHost: a\r\n{}\r\n", fields(n));
    assert_eq!(one(request(MAX_HEADERS - 1).as_bytes()).target, "/");
    assert_eq!(
        refused(request(MAX_HEADERS).as_bytes()),
        ParseError::HeadersTooLarge
    );
    // Known before the section ends.
    let unfinished = request(MAX_HEADERS);
    assert_eq!(
        refused(&unfinished.as_bytes()[..unfinished.len() - 2]),
        ParseError::HeadersTooLarge
    );
}

#[test]
fn expect_100_continue() {
    let head =
        "POST /chat/send HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";
    let mut parser = Parser::new();
    let mut buffer = head.as_bytes().to_vec();
    assert_eq!(
        parser.parse(&buffer, &LIMITS),
        Ok(Parsed::NeedBody {
            send_continue: true
        })
    );
    assert_eq!(
        parser.parse(&buffer, &LIMITS),
        Ok(Parsed::NeedBody {
            send_continue: false
        })
    );
    buffer.extend_from_slice(b"he");
    assert_eq!(
        parser.parse(&buffer, &LIMITS),
        Ok(Parsed::NeedBody {
            send_continue: false
        })
    );
    buffer.extend_from_slice(b"llo");
    let Ok(Parsed::Complete { request, .. }) = parser.parse(&buffer, &LIMITS) else {
        panic!()
    };
    assert_eq!(request.body, b"hello");
    // The next request gets its own 100 Continue.
    assert_eq!(
        parser.parse(head.as_bytes(), &LIMITS),
        Ok(Parsed::NeedBody {
            send_continue: true
        })
    );

    // Body already buffered: nothing to send.
    assert_eq!(one(format!("{head}hello").as_bytes()).body, b"hello");
    // Chunked bodies are waited for the same way.
    let chunked =
        "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert_eq!(
        needs(chunked.as_bytes()),
        Parsed::NeedBody {
            send_continue: true
        }
    );
    // HTTP/1.0 expectations are ignored, and so is one with no body to wait for.
    let http10 = "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";
    assert_eq!(
        needs(http10.as_bytes()),
        Parsed::NeedBody {
            send_continue: false
        }
    );
    let http10_other = "GET / HTTP/1.0\r\nExpect: something\r\n\r\n";
    assert_eq!(one(http10_other.as_bytes()).target, "/");
    assert_eq!(
        one(b"GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n").target,
        "/"
    );
    // Anything else is 417; a body too large is 413 before anything is sent.
    assert_eq!(
        refused(b"GET / HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\n\r\n"),
        ParseError::ExpectationFailed
    );
    let large =
        "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2000000\r\n\r\n";
    assert_eq!(refused(large.as_bytes()), ParseError::BodyTooLarge);
}

#[test]
fn parser_starts_afresh_after_an_error_or_a_chunked_body() {
    let mut parser = Parser::new();
    let chunked = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n";
    assert_eq!(
        parser.parse(chunked, &LIMITS),
        Ok(Parsed::NeedBody {
            send_continue: false
        })
    );
    assert!(parser.parse(b"GET / HTTP/9.9\r\n\r\n", &LIMITS).is_err());
    let other =
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n";
    let Ok(Parsed::Complete { request, .. }) = parser.parse(other, &LIMITS) else {
        panic!()
    };
    assert_eq!(request.body, b"xy");
    let third =
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n";
    let Ok(Parsed::Complete { request, .. }) = parser.parse(third, &LIMITS) else {
        panic!()
    };
    assert_eq!(request.body, b"z");
}

#[test]
fn every_error_maps_to_its_status() {
    let statuses = [
        (ParseError::Malformed("x"), 400),
        (ParseError::BodyTooLarge, 413),
        (ParseError::UriTooLong, 414),
        (ParseError::ExpectationFailed, 417),
        (ParseError::HeadersTooLarge, 431),
        (ParseError::UnsupportedCoding, 501),
    ];
    for (error, code) in statuses {
        assert_eq!(error.status().code(), code, "{error}");
    }
}

#[test]
fn zero_limits_refuse_without_panicking() {
    let zero = Limits {
        max_request_line: 0,
        max_header_bytes: 0,
        max_body: 0,
    };
    assert_eq!(Parser::new().parse(b"", &zero), Ok(Parsed::NeedHead));
    assert_eq!(refused_with(b"G", &zero), ParseError::UriTooLong);
    let huge = Limits {
        max_request_line: usize::MAX,
        max_header_bytes: usize::MAX,
        max_body: usize::MAX,
    };
    let input =
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffff\r\nabc";
    assert_eq!(
        Parser::new().parse(input, &huge),
        Ok(Parsed::NeedBody {
            send_continue: false
        })
    );
}

/// Inputs the `http_framing` fuzz target found, with the limits it used.
#[test]
fn fuzz_regressions() {
    // A CR at the end of the read may start an empty line: wait, do not call it a long line.
    let tiny = Limits {
        max_request_line: 0,
        max_header_bytes: 20,
        max_body: 792,
    };
    let input = b"\r\nHEAD /index.html HTT\0\0\x05\xbf\r*HEAD";
    assert_eq!(
        same_at_every_split(input, &tiny),
        ["Malformed(\"too many empty lines before the request line\")"]
    );
    for input in [&b"\r"[..], b"\r\n\r", b"\rX", b"\r\r\n"] {
        for limits in [&tiny, &LIMITS] {
            same_at_every_split(input, limits);
        }
    }
}
