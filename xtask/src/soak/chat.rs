//! The chat side of the soak: the messages the poster sends (in several encodings), the
//! event-stream parser of a subscriber, and the check that a subscriber got every message
//! posted while it was subscribed, in order, with the text posted.
//!
//! The chat is one for the whole server, whatever shard a connection lands on. Messages are
//! posted by one connection at a time, one message in flight, so the chat's order is the
//! order of posting and message `k` (counting from 0 over the whole soak) gets the SSE `id`
//! `base + k`, where `base` (the server's first id) is learned from the first event seen.

use super::http::{Body, Expect, Request, parse_head};
use super::report::Kind;
use super::rng::Rng;

/// How a message is posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `text/plain` with `Content-Length`.
    Plain,
    /// `application/x-www-form-urlencoded`, `msg=` percent-encoded (`+` for spaces).
    Form,
    /// `text/plain`, chunked, in several chunks.
    Chunked,
    /// No `Content-Type` (read as plain text), several lines.
    Lines,
}

impl Encoding {
    /// Every encoding.
    pub const ALL: [Encoding; 4] = [
        Encoding::Plain,
        Encoding::Form,
        Encoding::Chunked,
        Encoding::Lines,
    ];
}

/// Message `k` of shard `shard` in `encoding`: its text (what subscribers must receive)
/// and the request that posts it.
pub fn post(shard: usize, k: usize, encoding: Encoding, rng: &mut Rng) -> (String, Request) {
    let mut request = Request::new("POST", "/chat/send");
    let text = match encoding {
        Encoding::Plain => format!("soak {shard}.{k}: plain, ünïcödé ✓"),
        Encoding::Form => format!("soak {shard}.{k}: form a+b=c&d %20 100%"),
        Encoding::Chunked => format!(
            "soak {shard}.{k}: chunked {}",
            "abcdefghij".repeat(rng.range(1, 20))
        ),
        Encoding::Lines => format!("soak {shard}.{k}: first line\nsecond line\n\tthird, indented"),
    };
    match encoding {
        Encoding::Plain => {
            request
                .headers
                .push(("Content-Type", "text/plain; charset=utf-8".into()));
            request.body = Body::Sized(text.clone().into_bytes());
        }
        Encoding::Form => {
            request
                .headers
                .push(("Content-Type", "application/x-www-form-urlencoded".into()));
            let mut body = b"from=soak&msg=".to_vec();
            for &b in text.as_bytes() {
                match b {
                    b' ' => body.push(b'+'),
                    b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                        body.push(b)
                    }
                    _ => body.extend_from_slice(format!("%{b:02X}").as_bytes()),
                }
            }
            body.extend_from_slice(b"&after=1");
            request.body = Body::Sized(body);
        }
        Encoding::Chunked => {
            request.headers.push(("Content-Type", "text/plain".into()));
            let bytes = text.as_bytes();
            let mut chunks = Vec::new();
            let mut at = 0;
            while at < bytes.len() {
                let n = rng.range(1, 40).min(bytes.len() - at);
                chunks.push(bytes[at..at + n].to_vec());
                at += n;
            }
            request.body = Body::Chunked {
                chunks,
                extension: rng.chance(0.5),
                trailer: rng.chance(0.5),
            };
        }
        Encoding::Lines => request.body = Body::Sized(text.clone().into_bytes()),
    }
    (text, request)
}

/// What a post must get: `204` and no body.
pub fn post_expect(shard: usize, k: usize) -> Expect {
    Expect {
        kind: Kind::ChatSend,
        what: format!("POST /chat/send (message {shard}.{k})"),
        status: 204,
        content_type: None,
        body: Vec::new().into(),
        head_only: false,
        close: false,
        allow: None,
    }
}

/// One event of a stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    /// Its `id`, if it had one.
    pub id: Option<u64>,
    /// Its `event` type, if it had one.
    pub event: Option<String>,
    /// Its `data` lines joined with `\n`.
    pub data: String,
}

/// Reads an event stream: the response head (which must be a `200` `text/event-stream`
/// that closes the connection, without a length), then events; comments are skipped.
#[derive(Debug, Default)]
pub struct EventStream {
    head_seen: bool,
    buf: Vec<u8>,
    current: Event,
    has_data: bool,
    id_error: Option<String>,
}

impl EventStream {
    /// Whether the head has arrived (and was right).
    pub fn head_seen(&self) -> bool {
        self.head_seen
    }

    /// Takes in bytes; returns the events they complete.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Event>, String> {
        self.buf.extend_from_slice(bytes);
        if !self.head_seen {
            let Some(head) = parse_head(&self.buf)? else {
                return Ok(Vec::new());
            };
            if head.status != 200 {
                return Err(format!("the event stream answered {}", head.status));
            }
            if head.single("Content-Type")? != Some("text/event-stream") {
                return Err(format!(
                    "the event stream has Content-Type {:?}",
                    head.single("Content-Type")?
                ));
            }
            if head.values("Content-Length").next().is_some() {
                return Err("the event stream has a Content-Length".into());
            }
            if !head
                .values("Connection")
                .any(|v| v.eq_ignore_ascii_case("close"))
            {
                return Err("the event stream does not say `Connection: close`".into());
            }
            self.buf.drain(..head.len);
            self.head_seen = true;
        }
        let mut events = Vec::new();
        let mut at = 0;
        while let Some(nl) = self.buf[at..].iter().position(|&b| b == b'\n') {
            let line = &self.buf[at..at + nl];
            at += nl + 1;
            let line = std::str::from_utf8(line)
                .map_err(|_| "an event line that is not UTF-8".to_string())?;
            if line.is_empty() {
                if let Some(e) = self.id_error.take() {
                    return Err(e);
                }
                if self.has_data {
                    events.push(std::mem::take(&mut self.current));
                } else {
                    self.current = Event::default();
                }
                self.has_data = false;
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "data" => {
                    if self.has_data {
                        self.current.data.push('\n');
                    }
                    self.current.data.push_str(value);
                    self.has_data = true;
                }
                "id" => match value.parse() {
                    Ok(id) => self.current.id = Some(id),
                    Err(_) => self.id_error = Some(format!("a bad event id {value:?}")),
                },
                "event" => self.current.event = Some(value.to_string()),
                other => return Err(format!("an unexpected event field {other:?}")),
            }
        }
        self.buf.drain(..at);
        Ok(events)
    }
}

/// One subscription's record: where it joined, the next event it expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// Messages posted (sent) before the stream's head arrived: every message from this
    /// one on was posted while subscribed and must arrive.
    pub joined: u64,
    next: Option<u64>,
    /// Events received.
    pub received: u64,
}

impl Subscription {
    /// A subscription whose head arrived after `joined` posts were sent.
    pub fn new(joined: u64) -> Subscription {
        Subscription {
            joined,
            next: None,
            received: 0,
        }
    }

    /// Checks one event against the messages `posted` so far (in order of posting); `base`
    /// is the id of message 0, learned from the first event any subscriber saw.
    pub fn on_event(
        &mut self,
        event: &Event,
        posted: &[String],
        base: &mut Option<u64>,
    ) -> Result<(), String> {
        if event.event.as_deref() == Some("lagged") {
            return Err(format!(
                "the server said `lagged` ({} messages missed) to a subscriber that reads at once",
                event.data
            ));
        }
        if let Some(other) = &event.event {
            return Err(format!("an unexpected event type {other:?}"));
        }
        let id = event
            .id
            .ok_or_else(|| format!("an event without id: {:?}", event.data))?;
        let base = match *base {
            Some(base) => base,
            None => {
                let k = posted
                    .iter()
                    .position(|text| *text == event.data)
                    .ok_or_else(|| format!("event {id}: no such message was posted"))?;
                let first = id
                    .checked_sub(k as u64)
                    .ok_or_else(|| format!("event {id} carries message {k}: ids below 0"))?;
                *base = Some(first);
                first
            }
        };
        let id = id
            .checked_sub(base)
            .ok_or_else(|| format!("event {id} is below the first id, {base}"))?;
        match self.next {
            Some(next) if id != next => {
                return Err(format!(
                    "event {id} arrived where {next} was due (a gap, a repeat or out of order)"
                ));
            }
            None if id > self.joined => {
                return Err(format!(
                    "the first event is {id}, but messages from {} on were posted while \
                     subscribed",
                    self.joined
                ));
            }
            _ => {}
        }
        let Some(text) = usize::try_from(id).ok().and_then(|i| posted.get(i)) else {
            return Err(format!("event {id}: no such message was posted"));
        };
        if *text != event.data {
            return Err(format!(
                "event {id}: expected {text:?}, got {:?}",
                event.data
            ));
        }
        self.next = Some(id + 1);
        self.received += 1;
        Ok(())
    }

    /// Whether every message before `target` has arrived (the history before the first
    /// event aside).
    pub fn caught_up(&self, target: u64) -> bool {
        self.next.unwrap_or(0) >= target
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nServer: solo\r\nDate: x\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nX-Accel-Buffering: no\r\nConnection: close\r\n\r\n";

    fn ev(id: u64, data: &str) -> Event {
        Event {
            id: Some(id),
            event: None,
            data: data.into(),
        }
    }

    #[test]
    fn parses_a_stream_fed_a_byte_at_a_time() {
        let body = b": solo chat: connected\n\nid: 0\ndata: hello yo\n\nid: 1\ndata: first line\ndata: second\n\n: ping\n\nevent: lagged\ndata: 7\n\n";
        let mut whole = HEAD.to_vec();
        whole.extend_from_slice(body);
        let expected = vec![
            ev(0, "hello yo"),
            ev(1, "first line\nsecond"),
            Event {
                id: None,
                event: Some("lagged".into()),
                data: "7".into(),
            },
        ];
        let mut s = EventStream::default();
        assert_eq!(s.feed(&whole).unwrap(), expected);
        let mut s = EventStream::default();
        let mut got = Vec::new();
        for b in &whole {
            got.extend(s.feed(std::slice::from_ref(b)).unwrap());
            if got.is_empty() {
                // The head is complete once its blank line is in.
            }
        }
        assert!(s.head_seen());
        assert_eq!(got, expected);
    }

    #[test]
    fn refuses_a_wrong_stream() {
        let mut s = EventStream::default();
        let e = s
            .feed(b"HTTP/1.1 404 Not Found\r\nServer: solo\r\n\r\n")
            .unwrap_err();
        assert!(e.contains("404"), "{e}");
        let head = String::from_utf8(HEAD.to_vec()).unwrap();
        for (from, to, says) in [
            ("text/event-stream", "text/plain", "Content-Type"),
            ("Connection: close\r\n", "", "Connection: close"),
            (
                "\r\n\r\n",
                "\r\nContent-Length: 5\r\n\r\n",
                "Content-Length",
            ),
        ] {
            let bad = head.replacen(from, to, 1);
            let e = EventStream::default().feed(bad.as_bytes()).unwrap_err();
            assert!(e.contains(says), "{e}");
        }
        let mut s = EventStream::default();
        s.feed(HEAD).unwrap();
        assert!(
            s.feed(b"id: x\ndata: y\n\n")
                .unwrap_err()
                .contains("bad event id")
        );
        let mut s = EventStream::default();
        s.feed(HEAD).unwrap();
        assert!(
            s.feed(b"retry: 5\n")
                .unwrap_err()
                .contains("unexpected event field")
        );
    }

    #[test]
    fn a_subscription_must_see_every_message_in_order() {
        let posted: Vec<String> = (0..6).map(|k| format!("m{k}")).collect();
        // Joined after 2 posts; the history starts at 0.
        let mut s = Subscription::new(2);
        assert!(s.caught_up(0) && !s.caught_up(1));
        for k in 0..4 {
            s.on_event(&ev(k, &format!("m{k}")), &posted, &mut Some(0))
                .unwrap();
        }
        assert!(s.caught_up(4) && !s.caught_up(5));
        assert_eq!(s.received, 4);
        // A gap, a repeat, a wrong text, a message never posted.
        let mut gap = s.clone();
        assert!(
            gap.on_event(&ev(5, "m5"), &posted, &mut Some(0))
                .unwrap_err()
                .contains("where 4 was due")
        );
        let mut repeat = s.clone();
        assert!(
            repeat
                .on_event(&ev(3, "m3"), &posted, &mut Some(0))
                .is_err()
        );
        let mut wrong = s.clone();
        assert!(
            wrong
                .on_event(&ev(4, "m5"), &posted, &mut Some(0))
                .unwrap_err()
                .contains("expected \"m4\"")
        );
        let mut s = Subscription::new(9);
        assert!(
            s.on_event(&ev(7, "m7"), &posted, &mut Some(0))
                .unwrap_err()
                .contains("no such message")
        );
        // Starting after the join point means messages posted while subscribed were lost.
        let mut late = Subscription::new(2);
        assert!(
            late.on_event(&ev(3, "m3"), &posted, &mut Some(0))
                .unwrap_err()
                .contains("first event is 3")
        );
        // Lagging, other types, no id.
        let mut s = Subscription::new(0);
        let lagged = Event {
            id: None,
            event: Some("lagged".into()),
            data: "12".into(),
        };
        assert!(
            s.on_event(&lagged, &posted, &mut Some(0))
                .unwrap_err()
                .contains("lagged")
        );
        let anon = Event {
            data: "m0".into(),
            ..Event::default()
        };
        assert!(
            s.on_event(&anon, &posted, &mut Some(0))
                .unwrap_err()
                .contains("without id")
        );
    }

    #[test]
    fn the_first_event_fixes_the_numbering() {
        let posted: Vec<String> = (0..4).map(|k| format!("m{k}")).collect();
        let mut base = None;
        // Joined after all four were posted: the history may start anywhere.
        let mut s = Subscription::new(4);
        s.on_event(&ev(1002, "m2"), &posted, &mut base).unwrap();
        assert_eq!(base, Some(1000));
        s.on_event(&ev(1003, "m3"), &posted, &mut base).unwrap();
        let mut other = Subscription::new(4);
        assert!(
            other
                .on_event(&ev(999, "m0"), &posted, &mut base)
                .unwrap_err()
                .contains("below the first id")
        );
    }

    #[test]
    fn posts_in_every_encoding_carry_their_text() {
        let mut rng = Rng::new(3);
        for (k, enc) in Encoding::ALL.into_iter().enumerate() {
            let (text, request) = post(1, k, enc, &mut rng);
            assert!(text.starts_with(&format!("soak 1.{k}: ")));
            assert_eq!(
                text.trim(),
                text,
                "the server trims; the soak must not need it"
            );
            let wire = String::from_utf8(request.encode("h")).unwrap();
            assert!(wire.starts_with("POST /chat/send HTTP/1.1\r\n"), "{wire}");
            match enc {
                Encoding::Form => {
                    assert!(wire.contains("msg=soak+1.1%3A+form"), "{wire}");
                    assert!(wire.contains("a%2Bb%3Dc%26d+%2520+100%25"), "{wire}");
                }
                Encoding::Chunked => assert!(wire.contains("Transfer-Encoding: chunked")),
                Encoding::Lines => {
                    assert!(!wire.contains("Content-Type"));
                    assert!(text.contains('\n'));
                }
                Encoding::Plain => assert!(wire.ends_with(&text)),
            }
        }
        assert_eq!(post_expect(0, 4).status, 204);
    }
}
