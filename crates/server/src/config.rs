//! The server's settings, and the hand-written parsers for the humane values of its flags
//! (`10s`, `500ms`, `16KiB`).

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::http::Limits;

/// Everything [`server::run`](crate::server::run) needs to know.
#[derive(Clone, Debug)]
pub struct Config {
    /// The address to listen on; port 0 picks a free port (printed at startup).
    pub addr: SocketAddr,
    /// The directory served under `/static/`, or `None` to serve no files.
    pub root: Option<PathBuf>,
    /// Shards: independent single-threaded loops, each with its own `SO_REUSEPORT`
    /// listener. At least one.
    pub threads: usize,
    /// The core to pin the single-threaded server to.
    pub cpu: Option<usize>,
    /// The longest time from the first byte of a request to the end of its header
    /// section; a slower client gets `408` and is disconnected.
    pub header_timeout: Duration,
    /// How long a keep-alive connection may wait for its next request (then it is closed
    /// silently), and how long a body or a response may go without progress.
    pub idle_timeout: Duration,
    /// The longest time from the end of a request's head to the end of its body; a slower
    /// client gets `408` and is disconnected.
    pub body_timeout: Duration,
    /// Request size limits (request line, header section, body).
    pub limits: Limits,
    /// The memory all bodies in progress may hold together, across every shard; a body
    /// that would take more is refused with `503` (and `Retry-After`).
    pub max_body_memory: usize,
    /// Open connections per shard; beyond it a connection gets `503` and is closed.
    pub max_connections: usize,
    /// Connections beyond `max_connections` being answered `503` at once, per shard (each
    /// holds a descriptor for at most 2 s). Beyond it the shard stops accepting until one
    /// of them ends: new clients wait in the listener's backlog, then get their `503`.
    pub max_refusing: usize,
    /// Send static files with `sendfile` where the system has it (else, and when false,
    /// read them on the blocking pool and write them from a buffer).
    pub sendfile: bool,
    /// How long a graceful shutdown waits for responses in flight before dropping them.
    pub shutdown_grace: Duration,
    /// Print only the line with the address.
    pub quiet: bool,
    /// Also print the memory layout of a connection at startup.
    pub verbose: bool,
    /// The long-poll threshold of every shard: a poll of a task longer than this is
    /// counted in `/metrics` and reported once per task on stderr (with the `metrics`
    /// feature; `None`: the runtime's default, off in release builds).
    pub long_poll: Option<Duration>,
}

impl Default for Config {
    /// `127.0.0.1:8080`, no static root, one thread, 10 s header timeout, 60 s idle
    /// timeout, 30 s body timeout, the core's default limits, 64 MiB for bodies in
    /// progress, 50,000 connections, 1,024 refusals at once, 10 s grace.
    fn default() -> Config {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            root: None,
            threads: 1,
            cpu: None,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(30),
            limits: Limits::default(),
            max_body_memory: 64 << 20,
            max_connections: 50_000,
            max_refusing: 1024,
            sendfile: true,
            shutdown_grace: Duration::from_secs(10),
            quiet: false,
            verbose: false,
            long_poll: None,
        }
    }
}

/// A flag value that could not be read; says what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueError(String);

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ValueError {}

/// Splits `text` into its leading number (digits, at most one `.`) and the unit after it.
fn split_number(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    (&text[..end], text[end..].trim_start())
}

/// `number * scale` for a decimal `number` such as `1.5`, exactly for whole numbers and
/// to the unit for fractions; `None` if it is not a number or overflows.
fn scaled(number: &str, scale: u128) -> Option<u128> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(fraction) || fraction.len() > 9 {
        return None;
    }
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut value = whole.checked_mul(scale)?;
    if !fraction.is_empty() {
        let denominator = 10u128.pow(fraction.len() as u32);
        let numerator: u128 = fraction.parse().ok()?;
        value = value.checked_add(numerator.checked_mul(scale)? / denominator)?;
    }
    Some(value)
}

/// Reads a duration such as `10s`, `500ms`, `1.5s`, `2m`, `1h`, `250us` or `0s`.
///
/// Units: `ns`, `us` (or `µs`), `ms`, `s`, `m`, `h`; a unit is required (a bare `0` is
/// allowed).
///
/// ```
/// use solo_server::config::parse_duration;
/// use std::time::Duration;
///
/// assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
/// assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
/// assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
/// assert!(parse_duration("10").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, ValueError> {
    let text = text.trim();
    let bad = || {
        ValueError(format!(
            "`{text}` is not a duration: write a number and a unit, e.g. 10s, 500ms, 1.5s, 2m"
        ))
    };
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let (number, unit) = split_number(text);
    let nanos_per_unit: u128 = match unit {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" | "sec" | "secs" => 1_000_000_000,
        "m" | "min" | "mins" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return Err(bad()),
    };
    let nanos = scaled(number, nanos_per_unit).ok_or_else(bad)?;
    let secs = u64::try_from(nanos / 1_000_000_000).map_err(|_| bad())?;
    Ok(Duration::new(secs, (nanos % 1_000_000_000) as u32))
}

/// Reads a size in bytes such as `8192`, `16k`, `16KiB`, `1M` or `1MiB` (binary units:
/// `k` is 1024).
///
/// ```
/// use solo_server::config::parse_size;
///
/// assert_eq!(parse_size("8192"), Ok(8192));
/// assert_eq!(parse_size("16KiB"), Ok(16 << 10));
/// assert_eq!(parse_size("1M"), Ok(1 << 20));
/// assert!(parse_size("lots").is_err());
/// ```
pub fn parse_size(text: &str) -> Result<usize, ValueError> {
    let text = text.trim();
    let bad = || {
        ValueError(format!(
            "`{text}` is not a size: write a number of bytes, optionally with k, KiB, M or MiB"
        ))
    };
    let (number, unit) = split_number(text);
    let scale: u128 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(bad()),
    };
    let bytes = scaled(number, scale).ok_or_else(bad)?;
    usize::try_from(bytes).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let ok = |text: &str| parse_duration(text).unwrap();
        assert_eq!(ok("10s"), Duration::from_secs(10));
        assert_eq!(ok(" 10 s "), Duration::from_secs(10));
        assert_eq!(ok("500ms"), Duration::from_millis(500));
        assert_eq!(ok("1.5s"), Duration::from_millis(1500));
        assert_eq!(ok(".25s"), Duration::from_millis(250));
        assert_eq!(ok("2m"), Duration::from_secs(120));
        assert_eq!(ok("1h"), Duration::from_secs(3600));
        assert_eq!(ok("250us"), Duration::from_micros(250));
        assert_eq!(ok("7ns"), Duration::from_nanos(7));
        assert_eq!(ok("0"), Duration::ZERO);
        assert_eq!(ok("0ms"), Duration::ZERO);
        for bad in [
            "",
            "10",
            "s",
            "ms",
            "1.2.3s",
            "-1s",
            "1 parsec",
            "1e3s",
            ".s",
            "1.0000000001s",
        ] {
            let error = parse_duration(bad).unwrap_err();
            assert!(
                error.to_string().contains("not a duration"),
                "{bad}: {error}"
            );
        }
        assert!(parse_duration("99999999999999999999999h").is_err());
    }

    #[test]
    fn sizes() {
        let ok = |text: &str| parse_size(text).unwrap();
        assert_eq!(ok("0"), 0);
        assert_eq!(ok("8192"), 8192);
        assert_eq!(ok("16k"), 16 << 10);
        assert_eq!(ok("16KiB"), 16 << 10);
        assert_eq!(ok("1M"), 1 << 20);
        assert_eq!(ok("1.5MiB"), 3 << 19);
        for bad in ["", "k", "12 bananas", "-4", "1.2.3k"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
