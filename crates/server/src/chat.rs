//! The chat: a broadcast hub for Server-Sent Events, plain single-threaded data.
//!
//! - [`Hub`] keeps a bounded ring of recent messages, each with a sequence number, and one
//!   slot per subscriber holding at most a [`Waker`]. A subscriber's position (its
//!   *cursor*, the sequence number of the next message it wants) lives in its connection,
//!   not in the hub. [`publish_and_wake`] stores a message and wakes every waiting
//!   subscriber once the hub is no longer borrowed; each one then reads
//!   [`Hub::messages_since`] its cursor. A subscriber that fell behind the ring gets
//!   [`Lagged`] and skips ahead to the oldest message held ([`write_lagged`] tells the
//!   client how many it missed).
//! - Messages are `Arc<str>`: with several shards, each shard's hub mirrors the same
//!   messages with the same sequence numbers, sharing one allocation per message.
//! - [`write_event`] / [`write_comment`] format the `text/event-stream` wire format.
//! - [`PAGE`] is the page served at `/chat`; [`decode_message`] reads the body of
//!   `POST /chat/send`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::Arc;
use std::task::Waker;

use crate::http::{Status, percent_decode, push_decimal};

/// The page served at `/chat`: it listens on `EventSource('/chat/events')` and posts to
/// `/chat/send`.
pub const PAGE: &str = include_str!("../assets/chat.html");

/// The content type of an event stream.
pub const EVENT_STREAM: &str = "text/event-stream";

/// The longest chat message, in bytes after decoding.
pub const MAX_MESSAGE: usize = 1000;

/// Names a subscriber of a [`Hub`]; valid until [`Hub::unsubscribe`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SubscriberId(u32);

/// A subscriber's cursor fell behind the oldest message the hub still holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lagged {
    /// How many messages it missed.
    pub missed: u64,
    /// The cursor to resume from: the oldest message held.
    pub resume_at: u64,
}

/// One slot of the subscriber slab.
#[derive(Debug)]
enum Slot {
    /// A subscriber, and the waker to wake at the next message if it is waiting for one.
    Subscribed(Option<Waker>),
    /// Free; links to the next free slot.
    Vacant(Option<u32>),
}

/// The broadcast hub. Single-threaded: share it as `Rc<RefCell<Hub>>`.
#[derive(Debug)]
pub struct Hub {
    /// The most recent messages, oldest first; `recent[i]` has sequence `first + i`.
    recent: VecDeque<Arc<str>>,
    first: u64,
    /// The sequence number of the first message ever published here.
    start: u64,
    capacity: usize,
    slots: Vec<Slot>,
    free: Option<u32>,
    subscribers: usize,
    /// Wakers taken by `publish`, kept for the next one so publishing does not allocate.
    spare: Vec<Waker>,
}

impl Hub {
    /// A hub that keeps the last `capacity` messages (at least one); the first message
    /// published gets the sequence number `first`.
    pub fn new(capacity: usize, first: u64) -> Hub {
        let capacity = capacity.max(1);
        Hub {
            recent: VecDeque::with_capacity(capacity),
            first,
            start: first,
            capacity,
            slots: Vec::new(),
            free: None,
            subscribers: 0,
            spare: Vec::new(),
        }
    }

    /// Adds a subscriber.
    pub fn subscribe(&mut self) -> SubscriberId {
        self.subscribers += 1;
        let subscribed = Slot::Subscribed(None);
        match self.free {
            Some(index) => {
                if let Slot::Vacant(next) =
                    std::mem::replace(&mut self.slots[index as usize], subscribed)
                {
                    self.free = next;
                }
                SubscriberId(index)
            }
            None => {
                self.slots.push(subscribed);
                SubscriberId((self.slots.len() - 1) as u32)
            }
        }
    }

    /// Removes a subscriber (dropping its waker). Unknown ids are ignored.
    pub fn unsubscribe(&mut self, id: SubscriberId) {
        if let Some(slot @ Slot::Subscribed(_)) = self.slots.get_mut(id.0 as usize) {
            *slot = Slot::Vacant(self.free);
            self.free = Some(id.0);
            self.subscribers -= 1;
        }
    }

    /// How many subscribers there are.
    pub fn subscribers(&self) -> usize {
        self.subscribers
    }

    /// Asks to be woken by the next published message (keeping the stored waker if it
    /// would wake the same task). Call it after finding no new messages.
    pub fn register(&mut self, id: SubscriberId, waker: &Waker) {
        if let Some(Slot::Subscribed(slot)) = self.slots.get_mut(id.0 as usize) {
            match slot {
                Some(stored) if stored.will_wake(waker) => {}
                _ => *slot = Some(waker.clone()),
            }
        }
    }

    /// The cursor of the next message to be published: start here to get only new ones.
    pub fn next_seq(&self) -> u64 {
        self.first + self.recent.len() as u64
    }

    /// The cursor of the oldest message held: start here to get the recent history.
    pub fn oldest_seq(&self) -> u64 {
        self.first
    }

    /// Where a subscriber that last saw `last_seen` (its `Last-Event-ID`) starts: just
    /// after it, if it is an id of this hub's run, even one not published here yet but at
    /// most `ahead` beyond (a mirror may trail the shard the client saw it on); otherwise
    /// (no id, an id from before a restart, a made-up one) the oldest message held. A
    /// cursor the ring has already passed is reported as [`Lagged`] when read.
    pub fn cursor_after(&self, last_seen: Option<u64>, ahead: u64) -> u64 {
        match last_seen {
            Some(id) if id >= self.start && id < self.next_seq().saturating_add(ahead) => id + 1,
            _ => self.oldest_seq(),
        }
    }

    /// The messages from `cursor` on, with their sequence numbers (the cursor to store
    /// afterwards is the last one plus one, or [`next_seq`](Hub::next_seq)). A cursor past
    /// the end gives nothing.
    pub fn messages_since(
        &self,
        cursor: u64,
    ) -> Result<impl Iterator<Item = (u64, &Arc<str>)>, Lagged> {
        if cursor < self.first {
            return Err(Lagged {
                missed: self.first - cursor,
                resume_at: self.first,
            });
        }
        let skip = usize::try_from(cursor - self.first).unwrap_or(usize::MAX);
        Ok(self
            .recent
            .iter()
            .enumerate()
            .skip(skip)
            .map(|(i, message)| (self.first + i as u64, message)))
    }

    /// Stores `message` (dropping the oldest if the ring is full) and takes the waker of
    /// every waiting subscriber. Wake them with [`Wakeups::wake_all`] once the hub is no
    /// longer borrowed, then hand the buffer back with [`Hub::recycle`];
    /// [`publish_and_wake`] does all three. Returns the message's sequence number.
    pub fn publish(&mut self, message: impl Into<Arc<str>>) -> (u64, Wakeups) {
        if self.recent.len() == self.capacity {
            self.recent.pop_front();
            self.first += 1;
        }
        self.recent.push_back(message.into());
        let mut wakers = std::mem::take(&mut self.spare);
        for slot in &mut self.slots {
            if let Slot::Subscribed(waker @ Some(_)) = slot {
                wakers.extend(waker.take());
            }
        }
        (self.next_seq() - 1, Wakeups(wakers))
    }

    /// Takes back the (emptied) buffer of a [`Wakeups`] for the next publish.
    pub fn recycle(&mut self, mut wakeups: Wakeups) {
        wakeups.wake_all();
        if wakeups.0.capacity() > self.spare.capacity() {
            self.spare = std::mem::take(&mut wakeups.0);
        }
    }
}

/// Publishes `message` to the hub in `hub` and wakes the waiting subscribers after the
/// borrow ends, so a waker may touch the hub. Returns the message's sequence number.
pub fn publish_and_wake(hub: &RefCell<Hub>, message: impl Into<Arc<str>>) -> u64 {
    let (seq, mut wakeups) = hub.borrow_mut().publish(message);
    wakeups.wake_all();
    hub.borrow_mut().recycle(wakeups);
    seq
}

/// Wakers taken by [`Hub::publish`]. Any not woken explicitly are woken on drop, so a
/// wakeup is never lost.
#[derive(Debug)]
pub struct Wakeups(Vec<Waker>);

impl Wakeups {
    /// Wakes every waker taken.
    pub fn wake_all(&mut self) {
        for waker in self.0.drain(..) {
            waker.wake();
        }
    }

    /// How many wakers are left to wake.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no waker left to wake.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Drop for Wakeups {
    fn drop(&mut self) {
        self.wake_all();
    }
}

/// Appends one event: `id:` (if any), `event:` (if any, cut at a line break), then one
/// `data:` line per line of `data` (split at CRLF, CR and LF, as the client will), then the
/// blank line that dispatches it.
pub fn write_event(out: &mut Vec<u8>, id: Option<u64>, event: Option<&str>, data: &str) {
    if let Some(id) = id {
        out.extend_from_slice(b"id: ");
        push_decimal(out, id);
        out.push(b'\n');
    }
    if let Some(event) = event {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(first_line(event).as_bytes());
        out.push(b'\n');
    }
    let mut rest = data;
    loop {
        let line = first_line(rest);
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
        let Some(after) = rest[line.len()..].strip_prefix(['\r', '\n']) else {
            break;
        };
        rest = if rest[line.len()..].starts_with("\r\n") {
            &after[1..]
        } else {
            after
        };
    }
    out.push(b'\n');
}

/// Appends the event that tells a subscriber it fell behind the ring: `event: lagged`, how
/// many messages it missed as the data, and as its `id:` the last missed message, so that
/// a client reconnecting with that `Last-Event-ID` resumes where the stream resumes.
pub fn write_lagged(out: &mut Vec<u8>, lagged: Lagged) {
    let mut missed = Vec::with_capacity(20);
    push_decimal(&mut missed, lagged.missed);
    let missed = std::str::from_utf8(&missed).unwrap_or("0");
    write_event(out, lagged.resume_at.checked_sub(1), Some("lagged"), missed);
}

/// Appends a comment line, which clients ignore: a keep-alive ping. Cut at a line break.
pub fn write_comment(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(b": ");
    out.extend_from_slice(first_line(text).as_bytes());
    out.extend_from_slice(b"\n\n");
}

/// `text` up to its first CR or LF.
fn first_line(text: &str) -> &str {
    text.find(['\r', '\n']).map_or(text, |end| &text[..end])
}

/// Why a message posted to `/chat/send` is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageError {
    /// 400: blank after trimming.
    Empty,
    /// 413: longer than [`MAX_MESSAGE`].
    TooLong,
    /// 400: badly encoded, not UTF-8, or has control characters other than line breaks
    /// and tabs; says which.
    Invalid(&'static str),
    /// 415: neither `application/x-www-form-urlencoded` nor `text/plain`.
    UnsupportedType,
}

impl MessageError {
    /// The status to answer with.
    pub fn status(self) -> Status {
        match self {
            MessageError::Empty | MessageError::Invalid(_) => Status::BadRequest,
            MessageError::TooLong => Status::ContentTooLarge,
            MessageError::UnsupportedType => Status::UnsupportedMediaType,
        }
    }
}

/// Reads the message from the body of `POST /chat/send`: the `msg` field of a
/// form-urlencoded body, or a whole `text/plain` body (also without `Content-Type`).
/// Trimmed; at most [`MAX_MESSAGE`] bytes.
pub fn decode_message(content_type: Option<&[u8]>, body: &[u8]) -> Result<String, MessageError> {
    let media_type = content_type.map(|value| {
        let essence = value.split(|&b| b == b';').next().unwrap_or(value);
        essence.trim_ascii()
    });
    let mut decoded = Vec::new();
    match media_type {
        Some(t) if t.eq_ignore_ascii_case(b"application/x-www-form-urlencoded") => {
            let field = body
                .split(|&b| b == b'&')
                .find_map(|pair| pair.strip_prefix(b"msg="));
            let field = field.ok_or(MessageError::Invalid("no msg field"))?;
            // Each byte decodes to at most one: refuse early what cannot fit.
            if field.len() > 3 * MAX_MESSAGE + 64 {
                return Err(MessageError::TooLong);
            }
            percent_decode(field, true, &mut decoded)
                .ok_or(MessageError::Invalid("invalid percent escape"))?;
        }
        None => decoded.extend_from_slice(body),
        Some(t) if t.eq_ignore_ascii_case(b"text/plain") => decoded.extend_from_slice(body),
        Some(_) => return Err(MessageError::UnsupportedType),
    }
    let text = String::from_utf8(decoded).map_err(|_| MessageError::Invalid("not UTF-8"))?;
    let message = text.trim();
    if message.is_empty() {
        return Err(MessageError::Empty);
    }
    if message.len() > MAX_MESSAGE {
        return Err(MessageError::TooLong);
    }
    if message
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(MessageError::Invalid("control character"));
    }
    Ok(message.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    /// A waker that counts its wakes.
    struct Counter(AtomicUsize);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counter() -> (Arc<Counter>, Waker) {
        let counter = Arc::new(Counter(AtomicUsize::new(0)));
        (counter.clone(), Waker::from(counter))
    }

    fn wakes(counter: &Counter) -> usize {
        counter.0.load(Ordering::SeqCst)
    }

    fn texts(hub: &Hub, cursor: u64) -> Vec<(u64, String)> {
        hub.messages_since(cursor)
            .unwrap()
            .map(|(seq, m)| (seq, m.to_string()))
            .collect()
    }

    #[test]
    fn publish_wakes_each_waiting_subscriber_once() {
        let hub = RefCell::new(Hub::new(8, 0));
        let (a, a_waker) = counter();
        let (b, b_waker) = counter();
        let first = hub.borrow_mut().subscribe();
        let second = hub.borrow_mut().subscribe();
        let idle = hub.borrow_mut().subscribe();
        hub.borrow_mut().register(first, &a_waker);
        hub.borrow_mut().register(first, &a_waker);
        hub.borrow_mut().register(second, &b_waker);

        assert_eq!(publish_and_wake(&hub, "one"), 0);
        assert_eq!((wakes(&a), wakes(&b)), (1, 1));
        // Not registered again: the next message wakes nobody.
        assert_eq!(publish_and_wake(&hub, "two"), 1);
        assert_eq!((wakes(&a), wakes(&b)), (1, 1));
        hub.borrow_mut().register(second, &b_waker);
        publish_and_wake(&hub, "three");
        assert_eq!((wakes(&a), wakes(&b)), (1, 2));
        // Unsubscribed: its waker is dropped, never woken.
        hub.borrow_mut().register(first, &a_waker);
        hub.borrow_mut().unsubscribe(first);
        publish_and_wake(&hub, "four");
        assert_eq!(wakes(&a), 1);
        assert_eq!(hub.borrow().subscribers(), 2);
        assert_eq!(
            texts(&hub.borrow(), 2),
            [(2, "three".to_string()), (3, "four".to_string())]
        );
        let _ = idle;
    }

    #[test]
    // Clippy on windows-gnu asks for a `const` initializer that cannot be const.
    #[cfg_attr(windows, allow(clippy::missing_const_for_thread_local))]
    fn wakers_run_after_the_borrow_ends() {
        thread_local! {
            static HUB: RefCell<Hub> = RefCell::new(Hub::new(4, 0));
            static SEEN: Cell<usize> = const { Cell::new(0) };
        }
        /// A waker that reads the hub when woken, as a task polled in place would.
        struct Reader;
        impl Wake for Reader {
            fn wake(self: Arc<Self>) {
                HUB.with(|hub| {
                    SEEN.with(|seen| seen.set(hub.borrow().messages_since(0).unwrap().count()))
                });
            }
        }
        HUB.with(|hub| {
            let id = hub.borrow_mut().subscribe();
            hub.borrow_mut()
                .register(id, &Waker::from(Arc::new(Reader)));
            publish_and_wake(hub, "hello");
        });
        assert_eq!(SEEN.with(Cell::get), 1);
    }

    #[test]
    fn dropped_wakeups_still_wake() {
        let mut hub = Hub::new(4, 0);
        let (count, waker) = counter();
        let id = hub.subscribe();
        hub.register(id, &waker);
        let (_, wakeups) = hub.publish("x");
        assert_eq!(wakeups.len(), 1);
        drop(wakeups);
        assert_eq!(wakes(&count), 1);
    }

    #[test]
    fn lagging_subscribers_are_told_and_can_resync() {
        let mut hub = Hub::new(3, 0);
        let cursor = hub.next_seq();
        for i in 0..5 {
            hub.publish(format!("m{i}"));
        }
        assert_eq!(
            hub.messages_since(cursor).err(),
            Some(Lagged {
                missed: 2,
                resume_at: 2
            })
        );
        assert_eq!(hub.oldest_seq(), 2);
        let resumed = texts(&hub, 2);
        assert_eq!(
            resumed,
            [(2, "m2".into()), (3, "m3".into()), (4, "m4".into())]
        );
        assert!(texts(&hub, hub.next_seq()).is_empty());
        assert!(texts(&hub, 1000).is_empty());
    }

    #[test]
    fn slots_are_reused() {
        let mut hub = Hub::new(1, 0);
        let ids: Vec<_> = (0..4).map(|_| hub.subscribe()).collect();
        hub.unsubscribe(ids[1]);
        hub.unsubscribe(ids[1]);
        hub.unsubscribe(ids[2]);
        assert_eq!(hub.subscribers(), 2);
        let again = [hub.subscribe(), hub.subscribe(), hub.subscribe()];
        assert_eq!(again, [ids[2], ids[1], SubscriberId(4)]);
        assert_eq!(hub.subscribers(), 5);
        // The memory a subscriber costs the hub: one slot.
        assert!(std::mem::size_of::<Slot>() <= 24);
    }

    #[test]
    fn publishing_reuses_the_waker_buffer() {
        let hub = RefCell::new(Hub::new(2, 0));
        let (count, waker) = counter();
        let ids: Vec<_> = (0..10).map(|_| hub.borrow_mut().subscribe()).collect();
        for round in 1..=3 {
            for &id in &ids {
                hub.borrow_mut().register(id, &waker);
            }
            publish_and_wake(&hub, "x");
            assert_eq!(wakes(&count), 10 * round);
            assert!(hub.borrow().spare.capacity() >= 10);
        }
    }

    fn event(id: Option<u64>, name: Option<&str>, data: &str) -> String {
        let mut out = Vec::new();
        write_event(&mut out, id, name, data);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn event_format() {
        assert_eq!(event(Some(7), None, "hello"), "id: 7\ndata: hello\n\n");
        assert_eq!(event(None, None, ""), "data: \n\n");
        assert_eq!(
            event(Some(0), Some("lagged"), "3"),
            "id: 0\nevent: lagged\ndata: 3\n\n"
        );
        assert_eq!(
            event(None, Some("a\nevent: b"), "x"),
            "event: a\ndata: x\n\n"
        );
    }

    #[test]
    fn multi_line_data_is_split_at_every_line_ending() {
        assert_eq!(event(None, None, "a\nb"), "data: a\ndata: b\n\n");
        assert_eq!(
            event(None, None, "a\r\nb\rc\n\nd"),
            "data: a\ndata: b\ndata: c\ndata: \ndata: d\n\n"
        );
        assert_eq!(event(None, None, "a\n"), "data: a\ndata: \n\n");
        assert_eq!(event(None, None, "\r\n"), "data: \ndata: \n\n");
        // No line can smuggle a field of its own.
        let sneaky = event(Some(1), None, "hi\nid: 999\n\ndata: fake");
        assert_eq!(
            sneaky,
            "id: 1\ndata: hi\ndata: id: 999\ndata: \ndata: data: fake\n\n"
        );
    }

    #[test]
    fn lagged_event_carries_the_last_missed_id() {
        let mut out = Vec::new();
        write_lagged(
            &mut out,
            Lagged {
                missed: 44,
                resume_at: 300,
            },
        );
        assert_eq!(out, b"id: 299\nevent: lagged\ndata: 44\n\n");
    }

    #[test]
    fn a_hub_can_start_at_any_sequence_number() {
        let mut hub = Hub::new(2, 1 << 40);
        let (seq, _) = hub.publish("a");
        assert_eq!(seq, 1 << 40);
        assert_eq!(hub.oldest_seq(), 1 << 40);
        assert_eq!(hub.next_seq(), (1 << 40) + 1);
        assert!(hub.messages_since(0).is_err());
    }

    #[test]
    fn where_a_reconnecting_subscriber_resumes() {
        let mut hub = Hub::new(4, 100);
        for i in 0..6 {
            hub.publish(format!("m{i}"));
        }
        // Held: 102..=105; next 106.
        assert_eq!(hub.cursor_after(None, 10), 102);
        assert_eq!(hub.cursor_after(Some(103), 10), 104);
        assert_eq!(hub.cursor_after(Some(105), 10), 106);
        // Older than the ring: resumes just after it, and is told it lagged when read.
        assert_eq!(hub.cursor_after(Some(100), 10), 101);
        assert!(hub.messages_since(101).is_err());
        // Not published here yet, but close: a mirror behind the sequencer waits for it.
        assert_eq!(hub.cursor_after(Some(110), 10), 111);
        // Far beyond anything published, or from before this run: the history.
        assert_eq!(hub.cursor_after(Some(116), 10), 102);
        assert_eq!(hub.cursor_after(Some(u64::MAX), u64::MAX), 102);
        assert_eq!(hub.cursor_after(Some(99), 10), 102);
    }

    #[test]
    fn comments() {
        let mut out = Vec::new();
        write_comment(&mut out, "ping");
        write_comment(&mut out, "a\nb");
        assert_eq!(out, b": ping\n\n: a\n\n");
    }

    #[test]
    fn decode_form_and_text_messages() {
        let form = Some(&b"application/x-www-form-urlencoded; charset=UTF-8"[..]);
        assert_eq!(
            decode_message(form, b"msg=hello+world%21").unwrap(),
            "hello world!"
        );
        assert_eq!(
            decode_message(form, b"name=x&msg=caf%C3%A9&z=1").unwrap(),
            "café"
        );
        assert_eq!(decode_message(form, b"msg=a%0Ab").unwrap(), "a\nb");
        assert_eq!(
            decode_message(Some(b"text/plain"), b"  hi  \n").unwrap(),
            "hi"
        );
        assert_eq!(decode_message(None, "héllo".as_bytes()).unwrap(), "héllo");
        assert_eq!(
            decode_message(form, b"name=x"),
            Err(MessageError::Invalid("no msg field"))
        );
        assert_eq!(
            decode_message(form, b"msg=%zz"),
            Err(MessageError::Invalid("invalid percent escape"))
        );
        assert_eq!(
            decode_message(form, b"msg=%ff"),
            Err(MessageError::Invalid("not UTF-8"))
        );
        assert_eq!(decode_message(form, b"msg=+%20+"), Err(MessageError::Empty));
        assert_eq!(
            decode_message(None, b"a\x00b"),
            Err(MessageError::Invalid("control character"))
        );
        assert_eq!(
            decode_message(Some(b"application/json"), b"{}"),
            Err(MessageError::UnsupportedType)
        );
        assert_eq!(
            decode_message(None, &[b'x'; MAX_MESSAGE]).unwrap().len(),
            MAX_MESSAGE
        );
        assert_eq!(
            decode_message(None, &[b'x'; MAX_MESSAGE + 1]),
            Err(MessageError::TooLong)
        );
        let long_form = [b"msg=".as_slice(), &b"%41".repeat(MAX_MESSAGE + 1)].concat();
        assert_eq!(decode_message(form, &long_form), Err(MessageError::TooLong));
        assert_eq!(MessageError::TooLong.status(), Status::ContentTooLarge);
        assert_eq!(
            MessageError::UnsupportedType.status(),
            Status::UnsupportedMediaType
        );
    }

    #[test]
    fn page_uses_the_routes() {
        assert!(PAGE.contains("EventSource('/chat/events')"));
        assert!(PAGE.contains("/chat/send"));
    }
}
