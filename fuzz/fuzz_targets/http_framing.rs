//! Feeds arbitrary bytes through the request framing, whole and in arbitrary reads, like a
//! connection loop, and checks that:
//!
//! - nothing panics;
//! - every complete request consumes at least one byte and no more than the input;
//! - no body is larger than the limit;
//! - a request parses the same from exactly its own bytes (framing never looks past a
//!   request's end);
//! - the requests, the error and the final state are the same however the bytes were split
//!   into reads (which also checks that chunked decoding resumes correctly).
//!
//! Input layout: byte 0 picks the limits (default or small, from bytes 1 and 2), bytes 3
//! and 4 seed the read sizes, the rest is the byte stream.

#![no_main]

use libfuzzer_sys::fuzz_target;
use solo_server::http::{Limits, Parsed, Parser};

fuzz_target!(|data: &[u8]| {
    let Some((control, input)) = data.split_first_chunk::<5>() else {
        return;
    };
    let limits = if control[0] & 1 == 0 {
        Limits::default()
    } else {
        // Small limits, so the fuzzer reaches every one of them.
        Limits {
            max_request_line: usize::from(control[1]),
            max_header_bytes: usize::from(control[2]) * 4,
            max_body: usize::from(control[0] >> 1) * 8,
        }
    };
    let whole = connection(input, &mut std::iter::repeat(input.len().max(1)), &limits);
    let mut seed = u16::from_le_bytes([control[3], control[4]]) as u32 | 1;
    let mut reads = std::iter::from_fn(|| {
        // xorshift: sizes of 1 to 16 bytes, now and then up to 256.
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        Some(if seed % 8 == 0 {
            seed as usize % 256 + 1
        } else {
            seed as usize % 16 + 1
        })
    });
    let split = connection(input, &mut reads, &limits);
    assert_eq!(whole, split, "outcome depends on how the input was split");
});

/// Plays a connection loop over `input` arriving in reads of the sizes `reads` yields:
/// after each read, every complete request is taken and only the unparsed tail is kept.
/// Returns each request (as text) or the error, then the state the tail was left in.
fn connection(
    input: &[u8],
    reads: &mut dyn Iterator<Item = usize>,
    limits: &Limits,
) -> Vec<String> {
    let (mut parser, mut buffer, mut outcomes) = (Parser::new(), Vec::new(), Vec::new());
    let mut rest = input;
    loop {
        let size = reads
            .next()
            .unwrap_or(1)
            .clamp(1, rest.len().max(1))
            .min(rest.len());
        let (read, unread) = rest.split_at(size);
        buffer.extend_from_slice(read);
        rest = unread;
        let mut start = 0;
        let tail = loop {
            match parser.parse(&buffer[start..], limits) {
                Ok(Parsed::Complete { request, consumed }) => {
                    assert!(consumed > 0, "no progress");
                    assert!(
                        consumed <= buffer.len() - start,
                        "consumed more than the input"
                    );
                    assert!(request.body.len() <= limits.max_body, "body over the limit");
                    let text = format!("{request:?} consumed {consumed}");
                    let own_bytes = &buffer[start..start + consumed];
                    match Parser::new().parse(own_bytes, limits) {
                        Ok(Parsed::Complete {
                            request: again,
                            consumed: again_consumed,
                        }) => {
                            assert_eq!(format!("{again:?} consumed {again_consumed}"), text);
                        }
                        other => panic!("its own bytes parse as {other:?}, not {text}"),
                    }
                    outcomes.push(text);
                    start += consumed;
                }
                Ok(Parsed::NeedHead) => break "need head",
                Ok(Parsed::NeedBody { .. }) => break "need body",
                Err(error) => {
                    outcomes.push(format!("{error:?}"));
                    return outcomes;
                }
            }
        };
        buffer.drain(..start);
        if rest.is_empty() {
            outcomes.push(tail.to_string());
            return outcomes;
        }
    }
}
