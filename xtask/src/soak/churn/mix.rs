//! The mix: which scenario a new connection plays, the requests of the everyday mix with
//! the responses they must get, and the script of each scenario.

use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

use crate::soak::http::{Body, Expect, Request};
use crate::soak::report::{Kind, Scenario};
use crate::soak::rng::Rng;

use super::Shared;
use super::client::Step;

/// The everyday scenarios and their weights (subscribers and posters are counted apart).
const MIX: [(Scenario, u32); 8] = [
    (Scenario::KeepAlive, 30),
    (Scenario::Pipelined, 20),
    (Scenario::HalfClose, 10),
    (Scenario::Reset, 12),
    (Scenario::OpenClose, 6),
    (Scenario::SlowInTime, 3),
    (Scenario::SlowTimeout, 3),
    (Scenario::BadRequest, 4),
];

/// The scenario of a new everyday connection, drawn by weight from [`MIX`].
pub(super) fn draw(rng: &mut Rng) -> Scenario {
    let weights: Vec<u32> = MIX.iter().map(|&(_, w)| w).collect();
    MIX[rng.weighted(&weights)].0
}

const HELLO: &[u8] = b"Hello, World!";
const JSON: &[u8] = br#"{"message":"Hello, World!"}"#;

/// A request from the everyday mix and the response it must get.
pub(super) fn pick(sh: &mut Shared) -> (Request, Expect) {
    let rng = &mut sh.rng;
    let ok = |kind, what: &Request, content_type, body: Rc<[u8]>| Expect {
        kind,
        what: what.describe(),
        status: 200,
        content_type: Some(content_type),
        body,
        head_only: false,
        close: false,
        allow: None,
    };
    match rng.weighted(&[25, 15, 20, 8, 10, 10, 5, 7]) {
        0 => {
            let path = if rng.chance(0.2) {
                "/plaintext?q=1"
            } else {
                "/plaintext"
            };
            let mut r = Request::new("GET", path);
            if rng.chance(0.3) {
                r.headers.push(("User-Agent", "solo-soak/1".into()));
                r.headers.push(("Accept", "*/*".into()));
                r.headers
                    .push(("Cookie", "c=".to_string() + &"x".repeat(rng.range(1, 2000))));
            }
            let e = ok(Kind::Plaintext, &r, "text/plain", HELLO.into());
            (r, e)
        }
        1 => {
            let r = Request::new("GET", "/json");
            let e = ok(Kind::Json, &r, "application/json", JSON.into());
            (r, e)
        }
        2 => {
            let f = &sh.files[rng.range(0, sh.files.len() - 1)];
            let path = if f.name == "index.html" && rng.chance(0.5) {
                "/static/".to_string()
            } else {
                format!("/static/{}", f.name)
            };
            let r = Request::new("GET", path);
            let e = ok(Kind::Static, &r, f.content_type, f.body.clone());
            (r, e)
        }
        3 => {
            let (path, content_type, body) = match rng.range(0, 2) {
                0 => ("/plaintext".to_string(), "text/plain", HELLO.into()),
                1 => ("/json".to_string(), "application/json", JSON.into()),
                _ => {
                    let f = &sh.files[rng.range(0, sh.files.len() - 1)];
                    (
                        format!("/static/{}", f.name),
                        f.content_type,
                        f.body.clone(),
                    )
                }
            };
            let r = Request::new("HEAD", path);
            let e = Expect {
                head_only: true,
                ..ok(Kind::Head, &r, content_type, body)
            };
            (r, e)
        }
        4 => {
            let n = rng.range(0, 9999);
            let path = if rng.chance(0.5) {
                format!("/missing/{n}")
            } else {
                format!("/static/missing-{n}.txt")
            };
            let r = Request::new("GET", path);
            let e = Expect::error(Kind::NotFound, r.describe(), 404, "Not Found");
            (r, e)
        }
        5 => {
            let mut r = Request::new(
                "POST",
                if rng.chance(0.5) {
                    "/plaintext"
                } else {
                    "/json"
                },
            );
            r.body = chunked_body(rng, 1, 3000);
            let e = Expect {
                allow: Some("GET, HEAD"),
                ..Expect::error(Kind::NotAllowed, r.describe(), 405, "Method Not Allowed")
            };
            (r, e)
        }
        6 => {
            let mut r = Request::new("POST", format!("/nowhere/{}", rng.range(0, 99)));
            r.body = Body::Sized(vec![b'z'; rng.range(0, 5000)]);
            let e = Expect::error(Kind::NotFound, r.describe(), 404, "Not Found");
            (r, e)
        }
        _ => {
            let mut r = Request::new("POST", "/nowhere");
            r.body = chunked_body(rng, 0, 3000);
            let e = Expect::error(Kind::NotFound, r.describe(), 404, "Not Found");
            (r, e)
        }
    }
}

/// A chunked body of `lo..=hi` bytes in random chunks.
fn chunked_body(rng: &mut Rng, lo: usize, hi: usize) -> Body {
    let len = rng.range(lo, hi);
    let mut chunks = Vec::new();
    let mut left = len;
    while left > 0 {
        let n = rng.range(1, 700).min(left);
        chunks.push(vec![b'a' + (chunks.len() % 26) as u8; n]);
        left -= n;
    }
    Body::Chunked {
        chunks,
        extension: rng.chance(0.3),
        trailer: rng.chance(0.3),
    }
}

/// `req` asking to close, and its expectation saying so.
fn closing((mut r, e): (Request, Expect)) -> (Request, Expect) {
    r.close = true;
    let e = Expect {
        close: true,
        what: format!("{} (Connection: close)", e.what),
        ..e
    };
    (r, e)
}

/// The steps of a scripted scenario.
pub(super) fn script(scenario: Scenario, sh: &mut Shared) -> VecDeque<Step> {
    let mut steps = VecDeque::new();
    let host = sh.host.clone();
    match scenario {
        Scenario::KeepAlive => {
            let n = sh.rng.range(1, 12);
            for i in 0..n {
                let mut exchange = pick(sh);
                let last = i + 1 == n;
                if last && sh.rng.chance(0.25) {
                    exchange = closing(exchange);
                }
                let (r, e) = exchange;
                let close = e.close;
                steps.push_back(Step::Write(r.encode(&host)));
                steps.push_back(Step::Expect(e));
                if close {
                    steps.push_back(Step::ExpectEof { reset_ok: false });
                    steps.push_back(Step::Close);
                    return steps;
                }
                if sh.rng.chance(0.2) {
                    steps.push_back(Step::Pause(sh.rng.millis(0, 3)));
                }
            }
            steps.push_back(if sh.rng.chance(0.15) {
                Step::Reset
            } else {
                Step::Close
            });
        }
        Scenario::Pipelined => {
            let batches = sh.rng.range(1, 4);
            for b in 0..batches {
                let k = sh.rng.range(2, 16);
                let mut bytes = Vec::new();
                let mut expects = Vec::new();
                let mut close = false;
                for i in 0..k {
                    let mut exchange = pick(sh);
                    if b + 1 == batches && i + 1 == k && sh.rng.chance(0.2) {
                        exchange = closing(exchange);
                        close = true;
                    }
                    bytes.extend(exchange.0.encode(&host));
                    expects.push(exchange.1);
                }
                if sh.rng.chance(0.3) {
                    // In pieces: requests split anywhere, across reads of the server.
                    let pieces = sh.rng.range(2, 6);
                    let mut cuts: Vec<usize> = (1..pieces)
                        .map(|_| sh.rng.range(1, bytes.len() - 1))
                        .collect();
                    cuts.sort_unstable();
                    cuts.dedup();
                    let mut at = 0;
                    for cut in cuts.into_iter().chain([bytes.len()]) {
                        steps.push_back(Step::Write(bytes[at..cut].to_vec()));
                        steps.push_back(Step::Pause(sh.rng.millis(0, 2)));
                        at = cut;
                    }
                } else {
                    steps.push_back(Step::Write(bytes));
                }
                steps.extend(expects.into_iter().map(Step::Expect));
                if close {
                    steps.push_back(Step::ExpectEof { reset_ok: false });
                    steps.push_back(Step::Close);
                    return steps;
                }
            }
            steps.push_back(if sh.rng.chance(0.1) {
                Step::Reset
            } else {
                Step::Close
            });
        }
        Scenario::HalfClose => {
            let k = sh.rng.range(1, 4);
            let mut bytes = Vec::new();
            let mut expects = Vec::new();
            for _ in 0..k {
                let (r, e) = pick(sh);
                bytes.extend(r.encode(&host));
                expects.push(Step::Expect(e));
            }
            steps.push_back(Step::Write(bytes));
            steps.push_back(Step::ShutdownWrite);
            steps.extend(expects);
            steps.push_back(Step::ExpectEof { reset_ok: false });
            steps.push_back(Step::Close);
        }
        Scenario::Reset => {
            match sh.rng.range(0, 4) {
                0 => {}
                1 => {
                    let (r, _) = pick(sh);
                    steps.push_back(Step::Write(r.encode(&host)));
                    steps.push_back(Step::Pause(sh.rng.millis(0, 3)));
                }
                2 => {
                    let bytes = pick(sh).0.encode(&host);
                    let cut = sh.rng.range(1, bytes.len() - 1);
                    steps.push_back(Step::Write(bytes[..cut].to_vec()));
                    steps.push_back(Step::Pause(sh.rng.millis(0, 3)));
                }
                3 => {
                    // Mid-file: the server is still sending when the reset comes.
                    let mut bytes = Request::new("GET", "/static/blob.bin").encode(&host);
                    for _ in 0..sh.rng.range(0, 4) {
                        bytes.extend(pick(sh).0.encode(&host));
                    }
                    steps.push_back(Step::Write(bytes));
                    steps.push_back(Step::Pause(sh.rng.millis(0, 2)));
                }
                _ => {
                    let (r, e) = pick(sh);
                    steps.push_back(Step::Write(r.encode(&host)));
                    steps.push_back(Step::Expect(e));
                    let next = pick(sh).0.encode(&host);
                    let cut = sh.rng.range(1, next.len() - 1);
                    steps.push_back(Step::Write(next[..cut].to_vec()));
                }
            }
            steps.push_back(Step::Reset);
        }
        Scenario::OpenClose => {
            steps.push_back(Step::Pause(sh.rng.millis(0, 50)));
            steps.push_back(Step::Close);
        }
        Scenario::SlowInTime => {
            let (r, e) = if sh.rng.chance(0.5) {
                let r = Request::new("GET", "/json");
                let e = Expect {
                    kind: Kind::Json,
                    what: "GET /json, a byte at a time".into(),
                    status: 200,
                    content_type: Some("application/json"),
                    body: JSON.into(),
                    head_only: false,
                    close: false,
                    allow: None,
                };
                (r, e)
            } else {
                let r = Request::new("GET", "/missing/slowly");
                let e = Expect::error(
                    Kind::NotFound,
                    "GET /missing/slowly, a byte at a time".into(),
                    404,
                    "Not Found",
                );
                (r, e)
            };
            let bytes = r.encode(&host);
            // The whole request in a quarter of the header timeout, at most 20 ms a byte.
            let every =
                (sh.header_timeout / (4 * bytes.len() as u32)).min(Duration::from_millis(20));
            steps.push_back(Step::Trickle {
                bytes,
                at: 0,
                every,
            });
            steps.push_back(Step::Expect(e));
            steps.push_back(Step::Close);
        }
        Scenario::SlowTimeout => {
            let mut r = Request::new("GET", "/plaintext");
            r.headers.push(("X-Slow", "a".repeat(sh.rng.range(10, 40))));
            let bytes = r.encode(&host);
            // The head would end only after three header timeouts.
            let every = (3 * sh.header_timeout / bytes.len() as u32).max(Duration::from_millis(1));
            steps.push_back(Step::TooSlow {
                bytes,
                at: 0,
                every,
                first: None,
            });
            steps.push_back(Step::ExpectEof { reset_ok: true });
            steps.push_back(Step::Close);
        }
        Scenario::BadRequest => {
            if sh.rng.chance(0.3) {
                let (r, e) = pick(sh);
                steps.push_back(Step::Write(r.encode(&host)));
                steps.push_back(Step::Expect(e));
            }
            let bad: &[u8] = match sh.rng.range(0, 3) {
                0 => b"GARBAGE\r\n\r\n",
                1 => b"GET /json HTTP/1.1\r\nHost: h\r\nBad Header Line\r\n\r\n",
                2 => b"GET /json HTTP/1.1\r\nHost: h\r\nContent-Length: abc\r\n\r\n",
                _ => b"POST /json HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n",
            };
            let e = Expect {
                close: true,
                ..Expect::error(
                    Kind::BadRequest,
                    format!("{:?}", String::from_utf8_lossy(&bad[..bad.len().min(24)])),
                    400,
                    "Bad Request",
                )
            };
            steps.push_back(Step::Write(bad.to_vec()));
            steps.push_back(Step::Expect(e));
            steps.push_back(Step::ExpectEof { reset_ok: false });
            steps.push_back(Step::Close);
        }
        Scenario::Subscriber | Scenario::Poster => {
            unreachable!("subscribers and posters are not scripted")
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_end_with_a_close_or_a_reset() {
        let mut sh = Shared {
            rng: Rng::new(5),
            tally: crate::soak::report::Tally::default(),
            shards: 1,
            posted: Vec::new(),
            posted_at_wake: 0,
            id_base: None,
            poster_on: false,
            stopping: false,
            header_timeout: Duration::from_secs(2),
            host: "127.0.0.1:1".into(),
            files: crate::soak::http::static_files(5).into(),
            read_buf: Vec::new(),
        };
        for scenario in Scenario::ALL {
            if matches!(scenario, Scenario::Subscriber | Scenario::Poster) {
                continue;
            }
            for _ in 0..200 {
                let steps = script(scenario, &mut sh);
                assert!(
                    matches!(steps.back(), Some(Step::Close | Step::Reset)),
                    "{scenario:?}: {steps:?}"
                );
                // A close announced by a response is followed by reading the end.
                for (i, step) in steps.iter().enumerate() {
                    if let Step::Expect(e) = step {
                        if e.close {
                            assert!(matches!(steps.get(i + 1), Some(Step::ExpectEof { .. })));
                        }
                    }
                    if let Step::Write(bytes) = step {
                        assert!(!bytes.is_empty(), "{scenario:?}");
                    }
                }
                if scenario == Scenario::SlowTimeout {
                    let Some(Step::TooSlow { bytes, every, .. }) = steps.front() else {
                        panic!("{steps:?}")
                    };
                    // The head cannot be complete before three header timeouts.
                    assert!(*every * (bytes.len() as u32 - 1) >= 2 * sh.header_timeout);
                }
                if scenario == Scenario::SlowInTime {
                    let Some(Step::Trickle { bytes, every, .. }) = steps.front() else {
                        panic!("{steps:?}")
                    };
                    assert!(*every * (bytes.len() as u32) <= sh.header_timeout / 4);
                }
            }
        }
    }
}
