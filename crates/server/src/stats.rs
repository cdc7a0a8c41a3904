//! Counters for `/stats`, rendered as JSON by hand, and the process's resident memory.
//!
//! The counters are `Cell`s: one event loop owns them (share as `Rc<Stats>`), and counting
//! is a plain add. Each shard counts its own; `/stats` gathers every shard's
//! [`Snapshot`] into a [`Report`] with their sums. The memory per connection is an
//! estimate: resident memory above the baseline taken at startup, divided by the open
//! connections of the whole server.

use std::cell::Cell;

use crate::http::push_decimal;

/// The server's counters.
#[derive(Debug, Default)]
pub struct Stats {
    open_connections: Cell<u64>,
    accepted: Cell<u64>,
    rejected: Cell<u64>,
    requests: Cell<u64>,
    chat_subscribers: Cell<u64>,
    chat_messages: Cell<u64>,
    loop_iterations: Cell<u64>,
}

/// One shard's counters at one moment.
///
/// [`Stats::snapshot`] fills in the server's own counters; the event loop adds what it
/// knows itself (the shard, the reactor's counters). Summed over the shards with
/// [`Snapshot::add`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Which shard, from 0 (in a sum: the shard that answered).
    pub shard: u64,
    /// Connections open now.
    pub open_connections: u64,
    /// Connections accepted since startup.
    pub accepted: u64,
    /// Connections refused (`503`) because the shard was full, since startup.
    pub rejected: u64,
    /// Requests answered since startup.
    pub requests: u64,
    /// Event-stream subscribers now.
    pub chat_subscribers: u64,
    /// Chat messages posted (accepted) on this shard since startup.
    pub chat_messages: u64,
    /// Turns of the event loop since startup.
    pub loop_iterations: u64,
    /// Readiness events the reactor delivered since startup.
    pub reactor_events: u64,
    /// Sources registered with the reactor now (sockets, the listener).
    pub reactor_sources: u64,
    /// Timers pending on the reactor now.
    pub reactor_timers: u64,
}

impl Snapshot {
    /// Adds `other`'s counters to these (the shard stays).
    pub fn add(&mut self, other: &Snapshot) {
        let Snapshot {
            shard: _,
            open_connections,
            accepted,
            rejected,
            requests,
            chat_subscribers,
            chat_messages,
            loop_iterations,
            reactor_events,
            reactor_sources,
            reactor_timers,
        } = *other;
        self.open_connections += open_connections;
        self.accepted += accepted;
        self.rejected += rejected;
        self.requests += requests;
        self.chat_subscribers += chat_subscribers;
        self.chat_messages += chat_messages;
        self.loop_iterations += loop_iterations;
        self.reactor_events += reactor_events;
        self.reactor_sources += reactor_sources;
        self.reactor_timers += reactor_timers;
    }

    /// The counters as JSON fields (no braces), after `"shard"`.
    fn write_fields(&self, out: &mut Vec<u8>) {
        let fields = [
            ("shard", self.shard),
            ("open_connections", self.open_connections),
            ("accepted", self.accepted),
            ("rejected", self.rejected),
            ("requests", self.requests),
            ("chat_subscribers", self.chat_subscribers),
            ("chat_messages", self.chat_messages),
            ("loop_iterations", self.loop_iterations),
            ("reactor_events", self.reactor_events),
            ("reactor_sources", self.reactor_sources),
            ("reactor_timers", self.reactor_timers),
        ];
        for (i, (name, value)) in fields.into_iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_field(out, name, Some(value));
        }
    }
}

/// The whole server at one moment: every shard's counters, their sums, and the memory
/// figures of the process.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The shard that answered.
    pub shard: u64,
    /// Each shard's counters, by shard; `None` for a shard that did not answer in time.
    pub shards: Vec<Option<Snapshot>>,
    /// The size of one connection's future, in bytes (its task adds a small header).
    pub connection_future_bytes: u64,
    /// Resident memory now, where it can be read.
    pub rss_bytes: Option<u64>,
    /// Resident memory at startup, where it could be read.
    pub baseline_rss_bytes: Option<u64>,
    /// The I/O driver of the answering shard (`solo::reactor::driver()`: `"epoll"`,
    /// `"io_uring"`, ...); empty when unknown.
    pub driver: &'static str,
}

impl Report {
    /// The counters summed over the shards that answered.
    pub fn total(&self) -> Snapshot {
        let mut total = Snapshot {
            shard: self.shard,
            ..Snapshot::default()
        };
        for shard in self.shards.iter().flatten() {
            total.add(shard);
        }
        total
    }

    /// Resident memory above the baseline per open connection of the whole server, when
    /// both are known, every shard answered and a connection is open.
    pub fn bytes_per_connection(&self) -> Option<u64> {
        if self.shards.iter().any(Option::is_none) {
            return None;
        }
        let grown = self.rss_bytes?.saturating_sub(self.baseline_rss_bytes?);
        grown.checked_div(self.total().open_connections)
    }

    /// Appends the report as one JSON object: the sums first (so `"requests"` is the
    /// server's total), the process's figures, then `"per_shard"`, an array of each
    /// shard's counters (`null` for a shard that did not answer). Unknown figures are
    /// `null`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        self.total().write_fields(out);
        let process = [
            ("shards", Some(self.shards.len().max(1) as u64)),
            (
                "connection_future_bytes",
                Some(self.connection_future_bytes),
            ),
            ("rss_bytes", self.rss_bytes),
            ("baseline_rss_bytes", self.baseline_rss_bytes),
            ("bytes_per_connection", self.bytes_per_connection()),
        ];
        for (name, value) in process {
            out.push(b',');
            write_field(out, name, value);
        }
        // Driver names are plain identifiers: no escaping needed.
        out.extend_from_slice(b",\"driver\":\"");
        out.extend_from_slice(self.driver.as_bytes());
        out.extend_from_slice(b"\",\"per_shard\":[");
        for (i, shard) in self.shards.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            match shard {
                Some(shard) => {
                    out.push(b'{');
                    shard.write_fields(out);
                    out.push(b'}');
                }
                None => out.extend_from_slice(b"null"),
            }
        }
        out.extend_from_slice(b"]}");
    }
}

/// Appends `"name":value` (`null` when unknown).
fn write_field(out: &mut Vec<u8>, name: &str, value: Option<u64>) {
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
    match value {
        Some(value) => push_decimal(out, value),
        None => out.extend_from_slice(b"null"),
    }
}

impl Stats {
    /// Counters at zero.
    pub fn new() -> Stats {
        Stats::default()
    }

    /// A connection was accepted.
    pub fn connection_opened(&self) {
        bump(&self.open_connections, 1);
        bump(&self.accepted, 1);
    }

    /// A connection was refused because the shard was full.
    pub fn connection_rejected(&self) {
        bump(&self.rejected, 1);
    }

    /// Connections open now.
    pub fn open_connections(&self) -> u64 {
        self.open_connections.get()
    }

    /// A connection was closed.
    pub fn connection_closed(&self) {
        drop_one(&self.open_connections);
    }

    /// A request was answered.
    pub fn request_served(&self) {
        bump(&self.requests, 1);
    }

    /// An event-stream subscriber joined.
    pub fn subscriber_joined(&self) {
        bump(&self.chat_subscribers, 1);
    }

    /// An event-stream subscriber left.
    pub fn subscriber_left(&self) {
        drop_one(&self.chat_subscribers);
    }

    /// A chat message was published.
    pub fn message_published(&self) {
        bump(&self.chat_messages, 1);
    }

    /// The event loop turned once more.
    pub fn loop_iteration(&self) {
        bump(&self.loop_iterations, 1);
    }

    /// The counters now.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            open_connections: self.open_connections.get(),
            accepted: self.accepted.get(),
            rejected: self.rejected.get(),
            requests: self.requests.get(),
            chat_subscribers: self.chat_subscribers.get(),
            chat_messages: self.chat_messages.get(),
            loop_iterations: self.loop_iterations.get(),
            ..Snapshot::default()
        }
    }
}

fn bump(counter: &Cell<u64>, by: u64) {
    counter.set(counter.get().wrapping_add(by));
}

fn drop_one(counter: &Cell<u64>) {
    counter.set(counter.get().saturating_sub(1));
}

/// The process's resident memory in bytes: `VmRSS` from `/proc/self/status` on Linux,
/// `None` elsewhere or if it cannot be read.
pub fn rss_bytes() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        parse_vm_rss(&std::fs::read_to_string("/proc/self/status").ok()?)
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// The `VmRSS:` line of a `/proc/<pid>/status` text, in bytes.
pub fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?;
    let mut words = line.split_whitespace();
    let amount: u64 = words.next()?.parse().ok()?;
    let unit = match words.next()? {
        "kB" => 1024,
        "mB" | "MB" => 1024 * 1024,
        "B" => 1,
        _ => return None,
    };
    amount.checked_mul(unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counting() {
        let stats = Stats::new();
        stats.connection_opened();
        stats.connection_opened();
        stats.connection_closed();
        stats.connection_closed();
        stats.connection_closed();
        stats.connection_opened();
        stats.connection_rejected();
        assert_eq!(stats.open_connections(), 1);
        for _ in 0..5 {
            stats.request_served();
        }
        stats.subscriber_joined();
        stats.subscriber_joined();
        stats.subscriber_left();
        stats.message_published();
        stats.loop_iteration();
        let snapshot = stats.snapshot();
        assert_eq!(
            (
                snapshot.open_connections,
                snapshot.accepted,
                snapshot.requests
            ),
            (1, 3, 5)
        );
        assert_eq!(snapshot.rejected, 1);
        assert_eq!(
            (
                snapshot.chat_subscribers,
                snapshot.chat_messages,
                snapshot.loop_iterations
            ),
            (1, 1, 1)
        );
    }

    fn shard(shard: u64, open: u64) -> Snapshot {
        Snapshot {
            shard,
            open_connections: open,
            accepted: 10,
            rejected: 1,
            requests: 12_345,
            chat_subscribers: 2,
            chat_messages: 0,
            loop_iterations: 99,
            reactor_events: 120,
            reactor_sources: 6,
            reactor_timers: 4,
        }
    }

    #[test]
    fn json_rendering() {
        let report = Report {
            shard: 1,
            shards: vec![Some(shard(0, 4)), Some(shard(1, 0))],
            connection_future_bytes: 160,
            rss_bytes: Some(3_000_000),
            baseline_rss_bytes: Some(2_000_000),
            driver: "epoll",
        };
        let mut out = Vec::new();
        report.write_json(&mut out);
        let one = concat!(
            r#""open_connections":4,"accepted":10,"rejected":1,"#,
            r#""requests":12345,"chat_subscribers":2,"chat_messages":0,"loop_iterations":99,"#,
            r#""reactor_events":120,"reactor_sources":6,"reactor_timers":4"#,
        );
        let expected = [
            r#"{"shard":1,"open_connections":4,"accepted":20,"rejected":2,"#,
            r#""requests":24690,"chat_subscribers":4,"chat_messages":0,"loop_iterations":198,"#,
            r#""reactor_events":240,"reactor_sources":12,"reactor_timers":8,"#,
            r#""shards":2,"connection_future_bytes":160,"rss_bytes":3000000,"#,
            r#""baseline_rss_bytes":2000000,"bytes_per_connection":250000,"#,
            r#""driver":"epoll","per_shard":[{"shard":0,"#,
            one,
            r#"},{"shard":1,"#,
            &one.replace(r#""open_connections":4"#, r#""open_connections":0"#),
            "}]}",
        ]
        .concat();
        assert_eq!(String::from_utf8(out).unwrap(), expected);

        // A shard that did not answer: its entry is null, the memory per connection unknown.
        let partial = Report {
            shards: vec![Some(shard(0, 4)), None],
            ..report.clone()
        };
        assert_eq!(partial.total().open_connections, 4);
        assert_eq!(partial.bytes_per_connection(), None);
        let mut out = Vec::new();
        partial.write_json(&mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(r#""bytes_per_connection":null,"#), "{text}");
        assert!(text.ends_with("},null]}"), "{text}");

        let unknown = Report {
            rss_bytes: None,
            ..report.clone()
        };
        let mut out = Vec::new();
        unknown.write_json(&mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains(
                r#""rss_bytes":null,"baseline_rss_bytes":2000000,"bytes_per_connection":null,"#
            ),
            "{text}"
        );
        let idle = Report {
            shards: vec![Some(shard(0, 0))],
            ..report
        };
        assert_eq!(idle.bytes_per_connection(), None);
    }

    #[test]
    fn vm_rss_parsing() {
        let status = "Name:\tsolo-server\nVmPeak:\t  10000 kB\nVmRSS:\t    1234 kB\nThreads:\t1\n";
        assert_eq!(parse_vm_rss(status), Some(1234 * 1024));
        assert_eq!(parse_vm_rss("VmRSS: 12"), None);
        assert_eq!(parse_vm_rss("VmRSS: x kB"), None);
        assert_eq!(parse_vm_rss("Name: a\n"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_has_resident_memory() {
        let rss = rss_bytes().expect("/proc/self/status has VmRSS");
        assert!(rss > 0);
    }
}
