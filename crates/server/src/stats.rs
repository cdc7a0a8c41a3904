//! Counters for `/stats`, rendered as JSON by hand, and the process's resident memory.
//!
//! The counters are `Cell`s: one event loop owns them (share as `Rc<Stats>`), and counting
//! is a plain add. The memory per connection is an estimate: resident memory above the
//! baseline taken at startup, divided by the open connections (only with one shard: the
//! resident memory is the process's, the counters are the shard's).

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
    baseline_rss: Option<u64>,
}

/// The counters at one moment, with the memory figures.
///
/// [`Stats::snapshot`] fills in the counters; the event loop adds what it knows itself
/// (the shard, the reactor's counters, the size of a connection's future).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Which shard (event loop) answered, from 0.
    pub shard: u64,
    /// How many shards the process runs (0 and 1 both mean one).
    pub shards: u64,
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
    /// Chat messages published since startup.
    pub chat_messages: u64,
    /// Turns of the event loop since startup.
    pub loop_iterations: u64,
    /// Readiness events the reactor delivered since startup.
    pub reactor_events: u64,
    /// Sources registered with the reactor now (sockets, the listener).
    pub reactor_sources: u64,
    /// Timers pending on the reactor now.
    pub reactor_timers: u64,
    /// The size of one connection's future, in bytes (its task adds a small header).
    pub connection_future_bytes: u64,
    /// Resident memory now, where it can be read.
    pub rss_bytes: Option<u64>,
    /// Resident memory at startup, where it could be read.
    pub baseline_rss_bytes: Option<u64>,
}

impl Snapshot {
    /// Resident memory above the baseline per open connection, when both are known, a
    /// connection is open and the process has one shard.
    pub fn bytes_per_connection(&self) -> Option<u64> {
        if self.shards > 1 {
            return None;
        }
        let grown = self.rss_bytes?.saturating_sub(self.baseline_rss_bytes?);
        grown.checked_div(self.open_connections)
    }

    /// Appends the snapshot as one JSON object; unknown figures are `null`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let fields = [
            ("shard", Some(self.shard)),
            ("shards", Some(self.shards.max(1))),
            ("open_connections", Some(self.open_connections)),
            ("accepted", Some(self.accepted)),
            ("rejected", Some(self.rejected)),
            ("requests", Some(self.requests)),
            ("chat_subscribers", Some(self.chat_subscribers)),
            ("chat_messages", Some(self.chat_messages)),
            ("loop_iterations", Some(self.loop_iterations)),
            ("reactor_events", Some(self.reactor_events)),
            ("reactor_sources", Some(self.reactor_sources)),
            ("reactor_timers", Some(self.reactor_timers)),
            (
                "connection_future_bytes",
                Some(self.connection_future_bytes),
            ),
            ("rss_bytes", self.rss_bytes),
            ("baseline_rss_bytes", self.baseline_rss_bytes),
            ("bytes_per_connection", self.bytes_per_connection()),
        ];
        out.push(b'{');
        for (i, (name, value)) in fields.into_iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'"');
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\":");
            match value {
                Some(value) => push_decimal(out, value),
                None => out.extend_from_slice(b"null"),
            }
        }
        out.push(b'}');
    }
}

impl Stats {
    /// Counters at zero, with the current resident memory as the baseline.
    pub fn new() -> Stats {
        Stats {
            baseline_rss: rss_bytes(),
            ..Stats::default()
        }
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

    /// The counters now, with the resident memory read now.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            open_connections: self.open_connections.get(),
            accepted: self.accepted.get(),
            rejected: self.rejected.get(),
            requests: self.requests.get(),
            chat_subscribers: self.chat_subscribers.get(),
            chat_messages: self.chat_messages.get(),
            loop_iterations: self.loop_iterations.get(),
            rss_bytes: rss_bytes(),
            baseline_rss_bytes: self.baseline_rss,
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

    #[test]
    fn json_rendering() {
        let snapshot = Snapshot {
            shard: 0,
            shards: 1,
            open_connections: 4,
            accepted: 10,
            rejected: 1,
            requests: 12_345,
            chat_subscribers: 2,
            chat_messages: 0,
            loop_iterations: 99,
            reactor_events: 120,
            reactor_sources: 6,
            reactor_timers: 4,
            connection_future_bytes: 160,
            rss_bytes: Some(3_000_000),
            baseline_rss_bytes: Some(2_000_000),
        };
        let mut out = Vec::new();
        snapshot.write_json(&mut out);
        let expected = concat!(
            r#"{"shard":0,"shards":1,"open_connections":4,"accepted":10,"rejected":1,"#,
            r#""requests":12345,"chat_subscribers":2,"chat_messages":0,"loop_iterations":99,"#,
            r#""reactor_events":120,"reactor_sources":6,"reactor_timers":4,"#,
            r#""connection_future_bytes":160,"rss_bytes":3000000,"#,
            r#""baseline_rss_bytes":2000000,"bytes_per_connection":250000}"#
        );
        assert_eq!(String::from_utf8(out).unwrap(), expected);
        let sharded = Snapshot {
            shards: 2,
            ..snapshot
        };
        assert_eq!(sharded.bytes_per_connection(), None);

        let unknown = Snapshot {
            rss_bytes: None,
            ..snapshot
        };
        let mut out = Vec::new();
        unknown.write_json(&mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.ends_with(
            r#""rss_bytes":null,"baseline_rss_bytes":2000000,"bytes_per_connection":null}"#
        ));
        let idle = Snapshot {
            open_connections: 0,
            ..snapshot
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
        assert!(Stats::new().snapshot().baseline_rss_bytes.is_some());
    }
}
