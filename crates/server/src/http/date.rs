//! The `Date` header value: an IMF-fixdate (RFC 9110 §5.6.7), e.g.
//! `Sun, 06 Nov 1994 08:49:37 GMT`, formatted by hand and computed at most once per second.

use std::cell::Cell;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// An IMF-fixdate: always 29 ASCII bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct HttpDate([u8; 29]);

/// The last second an IMF-fixdate can show: 9999-12-31 23:59:59.
const LAST_SECOND: u64 = 253_402_300_799;

impl HttpDate {
    /// The date `secs` seconds after the Unix epoch; clamped to the year 9999.
    pub fn from_unix(secs: u64) -> HttpDate {
        const WEEKDAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
        const MONTHS: [&[u8; 3]; 12] = [
            b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
            b"Dec",
        ];
        let secs = secs.min(LAST_SECOND);
        let (mut days, second_of_day) = (secs / 86_400, secs % 86_400);
        let weekday = WEEKDAYS[(days % 7) as usize]; // 1970-01-01 was a Thursday.
        let mut year = 1970;
        while days >= days_in_year(year) {
            days -= days_in_year(year);
            year += 1;
        }
        let mut month = 0;
        while days >= days_in_month(year, month) {
            days -= days_in_month(year, month);
            month += 1;
        }
        let mut out = *b"Thu, 01 Jan 1970 00:00:00 GMT";
        out[..3].copy_from_slice(weekday);
        two_digits(&mut out[5..7], days + 1);
        out[8..11].copy_from_slice(MONTHS[month]);
        two_digits(&mut out[12..14], year / 100);
        two_digits(&mut out[14..16], year % 100);
        two_digits(&mut out[17..19], second_of_day / 3600);
        two_digits(&mut out[20..22], second_of_day / 60 % 60);
        two_digits(&mut out[23..25], second_of_day % 60);
        HttpDate(out)
    }

    /// The date of `time`; times before the epoch show the epoch.
    pub fn from_system_time(time: SystemTime) -> HttpDate {
        HttpDate::from_unix(unix_seconds(time))
    }

    /// The 29 bytes of the date.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The date as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever written into the array, so the fallback is never taken.
        std::str::from_utf8(&self.0).unwrap_or("Thu, 01 Jan 1970 00:00:00 GMT")
    }
}

impl fmt::Display for HttpDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for HttpDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HttpDate({:?})", self.as_str())
    }
}

/// The date of the current second, recomputed only when the second changes.
#[derive(Clone, Copy, Debug)]
pub struct DateCache {
    second: u64,
    date: HttpDate,
}

impl DateCache {
    /// An empty cache; the first call to [`at`](DateCache::at) computes.
    pub fn new() -> DateCache {
        DateCache {
            second: u64::MAX,
            date: HttpDate::from_unix(0),
        }
    }

    /// The date at `now`, from the cache if `now` falls in the same second as last time.
    pub fn at(&mut self, now: SystemTime) -> HttpDate {
        let second = unix_seconds(now);
        if second != self.second {
            self.second = second;
            self.date = HttpDate::from_unix(second);
        }
        self.date
    }
}

impl Default for DateCache {
    fn default() -> DateCache {
        DateCache::new()
    }
}

thread_local! {
    static CACHE: Cell<DateCache> = Cell::new(DateCache::new());
}

/// The current date, from this thread's cache.
pub fn now() -> HttpDate {
    CACHE.with(|cache| {
        let mut current = cache.get();
        // Under simulation the wall clock is the virtual one (from the start of 2026, as
        // the chat's ids), so a run sends the same bytes every time.
        #[cfg(solo_sim)]
        let wall = UNIX_EPOCH + std::time::Duration::from_secs(1_767_225_600) + solo::sim::now();
        #[cfg(not(solo_sim))]
        let wall = SystemTime::now();
        let date = current.at(wall);
        cache.set(current);
        date
    })
}

fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

fn is_leap(year: u64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_year(year: u64) -> u64 {
    if is_leap(year) { 366 } else { 365 }
}

fn days_in_month(year: u64, month: usize) -> u64 {
    const DAYS: [u64; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    DAYS[month] + u64::from(month == 1 && is_leap(year))
}

fn two_digits(out: &mut [u8], n: u64) {
    out[0] = b'0' + (n / 10 % 10) as u8;
    out[1] = b'0' + (n % 10) as u8;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn known_timestamps() {
        let cases = [
            (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
            (784_111_777, "Sun, 06 Nov 1994 08:49:37 GMT"), // RFC 9110's example
            (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"), // leap day of a 400-year
            (1_700_000_000, "Tue, 14 Nov 2023 22:13:20 GMT"),
            (4_107_542_400, "Mon, 01 Mar 2100 00:00:00 GMT"), // 2100 is not a leap year
            (LAST_SECOND, "Fri, 31 Dec 9999 23:59:59 GMT"),
            (u64::MAX, "Fri, 31 Dec 9999 23:59:59 GMT"),
        ];
        for (secs, expected) in cases {
            assert_eq!(HttpDate::from_unix(secs).as_str(), expected, "{secs}");
        }
    }

    #[test]
    fn consecutive_days_differ_and_keep_the_shape() {
        let mut previous = HttpDate::from_unix(0);
        for day in 1..(366 * 5) {
            let date = HttpDate::from_unix(day * 86_400 + 1);
            let text = date.as_str();
            assert_eq!(text.len(), 29);
            assert!(text.ends_with(" 00:00:01 GMT"), "{text}");
            assert_ne!(date.as_str()[..16], previous.as_str()[..16]);
            previous = date;
        }
    }

    #[test]
    fn before_the_epoch_shows_the_epoch() {
        let date = HttpDate::from_system_time(UNIX_EPOCH - Duration::from_secs(10));
        assert_eq!(date.as_str(), "Thu, 01 Jan 1970 00:00:00 GMT");
    }

    #[test]
    fn cache_changes_only_with_the_second() {
        let mut cache = DateCache::new();
        let start = UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(cache.at(start).as_str(), "Sun, 06 Nov 1994 08:49:37 GMT");
        let later = start + Duration::from_millis(999);
        assert_eq!(cache.at(later).as_str(), "Sun, 06 Nov 1994 08:49:37 GMT");
        let next = start + Duration::from_secs(1);
        assert_eq!(cache.at(next).as_str(), "Sun, 06 Nov 1994 08:49:38 GMT");
    }

    #[test]
    fn thread_local_now_is_current() {
        let before = unix_seconds(SystemTime::now());
        let (first, second) = (now(), now());
        let after = unix_seconds(SystemTime::now());
        for date in [first, second] {
            assert!(
                (before..=after).any(|s| HttpDate::from_unix(s) == date),
                "{date}"
            );
        }
    }
}
