//! Times as the Docker Engine reads them in an `until` filter.
//!
//! The engine (20.10 and later: `GetTimestamp` in the API's `types/time` package) accepts three
//! kinds of value: a Go duration, counted back from now; a date or date-time, with or without a
//! zone; and a Unix time in seconds. It does not try each kind in turn: it looks at which
//! characters the value holds (`.`, `T`, `Z`, `+`, the number of `-` and `:`) and picks one
//! layout, falling back to a Unix time only when the value has no `-`. This module makes the
//! same choices, so that a value selects here exactly what it selects in `docker image prune`.
//!
//! shed adds one form of its own: whole days and weeks (`7d`, `2w`, `1w2d`, `1d12h`). The
//! engine rejects every value that contains a `d` or `w`, so the addition changes the meaning
//! of no value the engine accepts.

use chrono::{
    DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta, TimeZone, Utc,
};

use crate::inventory::Timestamp;

/// Why a value is not a time the `until` filter understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct BadTime {
    pub reason: String,
}

impl BadTime {
    fn new(reason: impl Into<String>) -> Self {
        BadTime {
            reason: reason.into(),
        }
    }
}

/// Parses an `until` value into the time it names.
///
/// `now` anchors durations; the result of a duration is truncated to whole seconds, as the
/// engine truncates it. `local_offset` is the zone of dates and date-times written without one:
/// the engine uses its own current offset (a fixed offset, not the zone's rules for that date),
/// and the core has no zone of its own, so the caller passes it.
pub fn parse_until(
    value: &str,
    now: Timestamp,
    local_offset: FixedOffset,
) -> Result<Timestamp, BadTime> {
    // The engine's own special case: a lone "0" is a Unix time, not a zero duration.
    if value != "0"
        && let Some(nanos) = parse_duration(value)
    {
        return before_now(now, nanos);
    }
    parse_timestamp(value, local_offset)
}

fn before_now(now: Timestamp, nanos: i64) -> Result<Timestamp, BadTime> {
    let out_of_range = || BadTime::new("the duration reaches outside the representable times");
    let exact = now
        .checked_sub_signed(TimeDelta::nanoseconds(nanos))
        .ok_or_else(out_of_range)?;
    DateTime::from_timestamp(exact.timestamp(), 0).ok_or_else(out_of_range)
}

/// The nanoseconds in one of each unit, and whether the unit takes only whole numbers.
fn unit_nanos(unit: &str) -> Option<(u128, bool)> {
    const SECOND: u128 = 1_000_000_000;
    let found = match unit {
        "ns" => (1, false),
        // Go accepts the micro sign (U+00B5) and the Greek mu (U+03BC) alike.
        "us" | "\u{b5}s" | "\u{3bc}s" => (1_000, false),
        "ms" => (1_000_000, false),
        "s" => (SECOND, false),
        "m" => (60 * SECOND, false),
        "h" => (3_600 * SECOND, false),
        // shed's addition, whole numbers only.
        "d" => (86_400 * SECOND, true),
        "w" => (604_800 * SECOND, true),
        _ => return None,
    };
    Some(found)
}

/// Parses a Go duration (`1h30m`, `1.5h`, `-90s`, `300ms`) or shed's days and weeks (`7d`,
/// `1w2d`) into signed nanoseconds. `None` when the value is not one, or does not fit in the
/// 64-bit nanosecond count Go uses.
pub fn parse_duration(text: &str) -> Option<i64> {
    let (negative, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if body == "0" {
        return Some(0);
    }
    if body.is_empty() {
        return None;
    }
    let mut total: u128 = 0;
    let mut rest = body;
    while !rest.is_empty() {
        let (nanos, after) = duration_component(rest)?;
        total = total
            .checked_add(nanos)
            .filter(|t| *t <= i64::MAX as u128)?;
        rest = after;
    }
    let total = i64::try_from(total).ok()?;
    Some(if negative { -total } else { total })
}

/// One `<number><unit>` of a duration: its nanoseconds and the text after it.
fn duration_component(text: &str) -> Option<(u128, &str)> {
    let (whole, rest) = split_digits(text);
    let (fraction, rest) = match rest.strip_prefix('.') {
        Some(after_point) => {
            let (fraction, rest) = split_digits(after_point);
            (Some(fraction), rest)
        }
        None => (None, rest),
    };
    if whole.is_empty() && fraction.is_none_or(str::is_empty) {
        return None;
    }
    let unit_end = rest
        .find(|c: char| c == '.' || c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (unit, rest) = rest.split_at(unit_end);
    let (scale, whole_only) = unit_nanos(unit)?;
    if whole_only && fraction.is_some() {
        return None;
    }
    let whole_nanos = parse_whole(whole)?.checked_mul(scale)?;
    let nanos = whole_nanos.checked_add(fraction_nanos(fraction.unwrap_or(""), scale))?;
    Some((nanos, rest))
}

fn split_digits(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    text.split_at(end)
}

/// The integer part of a component; Go rejects one above 2^63.
fn parse_whole(digits: &str) -> Option<u128> {
    if digits.is_empty() {
        return Some(0);
    }
    let value: u128 = digits.parse().ok()?;
    (value <= 1 << 63).then_some(value)
}

/// The nanoseconds of a fractional part (the digits after the point) of `scale` units.
fn fraction_nanos(digits: &str, scale: u128) -> u128 {
    // Digits past the 18th change nothing at nanosecond precision.
    let digits = &digits[..digits.len().min(18)];
    let Ok(value) = digits.parse::<u128>() else {
        return 0;
    };
    value * scale / 10u128.pow(digits.len() as u32)
}

/// How much of the time of day a layout holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Clock {
    /// A date alone: midnight.
    Midnight,
    Hour,
    Minute,
    /// Seconds, with an optional fraction.
    Second,
}

/// The one layout the engine tries for a value, chosen from the value's characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    clock: Clock,
    /// Whether the layout ends in a zone (`Z` or `±hh:mm`); without one, local time.
    has_zone: bool,
}

impl Layout {
    fn for_value(value: &str) -> Layout {
        // A `Z`, `z` or `+`, or exactly three `-` (two in the date, one in the offset) mean a
        // zone is written.
        let has_zone = value.contains(['z', 'Z', '+']) || value.matches('-').count() == 3;
        let clock = if value.contains('.') {
            Clock::Second
        } else if value.contains('T') {
            let mut colons = value.matches(':').count();
            // A numeric offset brings a colon of its own.
            if has_zone && !value.contains(['z', 'Z']) && colons > 0 {
                colons -= 1;
            }
            match colons {
                0 => Clock::Hour,
                1 => Clock::Minute,
                _ => Clock::Second,
            }
        } else {
            Clock::Midnight
        };
        Layout { clock, has_zone }
    }

    fn parse(self, value: &str, local_offset: FixedOffset) -> Result<Timestamp, BadTime> {
        let mut cursor = Cursor { rest: value };
        let date = cursor.date()?;
        let time = cursor.time_of_day(self.clock)?;
        let offset = if self.has_zone {
            cursor.zone()?
        } else {
            local_offset
        };
        if !cursor.rest.is_empty() {
            return Err(BadTime::new(format!(
                "unexpected {:?} at the end",
                cursor.rest
            )));
        }
        let local = NaiveDateTime::new(date, time);
        let time = offset
            .from_local_datetime(&local)
            .single()
            .ok_or_else(|| BadTime::new("the time is outside the representable times"))?;
        Ok(time.to_utc())
    }
}

/// Reads a date-time left to right, as Go's `time.Parse` reads it against one layout.
struct Cursor<'a> {
    rest: &'a str,
}

impl Cursor<'_> {
    fn literal(&mut self, expected: char) -> Result<(), BadTime> {
        match self.rest.strip_prefix(expected) {
            Some(rest) => {
                self.rest = rest;
                Ok(())
            }
            None => Err(BadTime::new(format!(
                "expected {expected:?} before {:?}",
                self.rest
            ))),
        }
    }

    /// Exactly `count` digits.
    fn digits(&mut self, count: usize, what: &str) -> Result<u32, BadTime> {
        let field = self
            .rest
            .get(..count)
            .filter(|f| f.bytes().all(|b| b.is_ascii_digit()));
        let Some(field) = field else {
            return Err(BadTime::new(format!("expected {count} digits of {what}")));
        };
        self.rest = &self.rest[count..];
        field
            .parse()
            .map_err(|_| BadTime::new(format!("bad {what}")))
    }

    fn in_range(value: u32, max: u32, what: &str) -> Result<u32, BadTime> {
        if value <= max {
            Ok(value)
        } else {
            Err(BadTime::new(format!("{what} out of range")))
        }
    }

    fn date(&mut self) -> Result<NaiveDate, BadTime> {
        let year = self.digits(4, "year")?;
        self.literal('-')?;
        let month = self.digits(2, "month")?;
        if !(1..=12).contains(&month) {
            return Err(BadTime::new("month out of range"));
        }
        self.literal('-')?;
        let day = self.digits(2, "day")?;
        // Year is at most 9999 and so fits an i32.
        NaiveDate::from_ymd_opt(year as i32, month, day)
            .ok_or_else(|| BadTime::new("day out of range"))
    }

    fn time_of_day(&mut self, clock: Clock) -> Result<NaiveTime, BadTime> {
        let (mut hour, mut minute, mut second, mut nano) = (0, 0, 0, 0);
        if clock != Clock::Midnight {
            self.literal('T')?;
            hour = Self::in_range(self.hour()?, 23, "hour")?;
        }
        if matches!(clock, Clock::Minute | Clock::Second) {
            self.literal(':')?;
            minute = Self::in_range(self.digits(2, "minute")?, 59, "minute")?;
        }
        if clock == Clock::Second {
            self.literal(':')?;
            second = Self::in_range(self.digits(2, "second")?, 59, "second")?;
            nano = self.fraction();
        }
        NaiveTime::from_hms_nano_opt(hour, minute, second, nano)
            .ok_or_else(|| BadTime::new("time of day out of range"))
    }

    /// Go reads the hour of this layout as one or two digits.
    fn hour(&mut self) -> Result<u32, BadTime> {
        let bytes = self.rest.as_bytes();
        let len = match (bytes.first(), bytes.get(1)) {
            (Some(a), Some(b)) if a.is_ascii_digit() && b.is_ascii_digit() => 2,
            (Some(a), _) if a.is_ascii_digit() => 1,
            _ => return Err(BadTime::new("expected the hour")),
        };
        self.digits(len, "hour")
    }

    /// An optional fraction of a second after `.` or `,`; digits past the ninth are dropped.
    fn fraction(&mut self) -> u32 {
        let mut chars = self.rest.chars();
        let starts_fraction = matches!(chars.next(), Some('.' | ','))
            && chars.next().is_some_and(|c| c.is_ascii_digit());
        if !starts_fraction {
            return 0;
        }
        let (digits, rest) = split_digits(&self.rest[1..]);
        self.rest = rest;
        let kept = &digits[..digits.len().min(9)];
        // At most nine digits: below 10^9, so the parse and the product fit a u32.
        kept.parse::<u32>().unwrap_or(0) * 10u32.pow(9 - kept.len() as u32)
    }

    /// `Z`, or `+hh:mm` / `-hh:mm`.
    fn zone(&mut self) -> Result<FixedOffset, BadTime> {
        if let Some(rest) = self.rest.strip_prefix('Z') {
            self.rest = rest;
            return Ok(Utc.fix());
        }
        let bad_zone = || BadTime::new(format!("expected a zone (Z or ±hh:mm) at {:?}", self.rest));
        let sign = match self.rest.as_bytes().first() {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return Err(bad_zone()),
        };
        if self.rest.len() < 6 || self.rest.as_bytes()[3] != b':' {
            return Err(bad_zone());
        }
        self.rest = &self.rest[1..];
        let hours = self.digits(2, "zone hours")?;
        self.literal(':')?;
        let minutes = self.digits(2, "zone minutes")?;
        let seconds = (hours * 3600 + minutes * 60) as i32;
        FixedOffset::east_opt(sign * seconds)
            .ok_or_else(|| BadTime::new("zone offset out of range"))
    }
}

/// A date or date-time, in the one layout the value's characters select, or else a Unix time.
fn parse_timestamp(value: &str, local_offset: FixedOffset) -> Result<Timestamp, BadTime> {
    match Layout::for_value(value).parse(value, local_offset) {
        Ok(time) => Ok(time),
        // With a `-` the value was meant as a date: the engine reports the date's error.
        Err(err) if value.contains('-') => Err(err),
        Err(_) => parse_unix(value),
    }
}

/// `1700000000` or `1700000000.123456789`: seconds since the Unix epoch, with an optional
/// fraction. Like Go's integer parser, the seconds may carry a leading `+`.
fn parse_unix(value: &str) -> Result<Timestamp, BadTime> {
    let not_a_time = || BadTime::new("not a duration, a date, a date-time or a Unix time");
    let (seconds, fraction) = match value.split_once('.') {
        Some((seconds, fraction)) => (seconds, Some(fraction)),
        None => (value, None),
    };
    let unsigned = seconds.strip_prefix('+').unwrap_or(seconds);
    let seconds: i64 = parse_digits(unsigned).ok_or_else(not_a_time)?;
    let nanos = match fraction {
        None => 0,
        Some(fraction) => {
            let value: i64 = parse_digits(fraction).ok_or_else(not_a_time)?;
            scale_to_nanos(value, fraction.len())
        }
    };
    DateTime::from_timestamp(seconds, nanos)
        .ok_or_else(|| BadTime::new("the Unix time is outside the representable times"))
}

fn parse_digits(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The engine reads the fraction as an integer and scales it by its number of digits.
fn scale_to_nanos(value: i64, digits: usize) -> u32 {
    let nanos = if digits <= 9 {
        value * 10i64.pow(9 - digits as u32)
    } else {
        value / 10i64.pow((digits - 9).min(18) as u32)
    };
    // Below 10^9 by construction: at most nine significant digits remain.
    nanos as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> Timestamp {
        DateTime::parse_from_rfc3339(text)
            .expect("test time")
            .to_utc()
    }

    fn now() -> Timestamp {
        utc("2024-05-01T12:00:00.75Z")
    }

    fn plus_two() -> FixedOffset {
        FixedOffset::east_opt(2 * 3600).expect("offset")
    }

    fn until(value: &str) -> Result<Timestamp, BadTime> {
        parse_until(value, now(), plus_two())
    }

    #[test]
    fn accepted_values_name_the_engines_times() {
        let cases = [
            // Go durations, counted back from now and truncated to whole seconds.
            ("24h", "2024-04-30T12:00:00Z"),
            ("1h30m", "2024-05-01T10:30:00Z"),
            ("1.5h", "2024-05-01T10:30:00Z"),
            (".5h", "2024-05-01T11:30:00Z"),
            ("5.m", "2024-05-01T11:55:00Z"),
            ("90s", "2024-05-01T11:58:30Z"),
            ("500ms", "2024-05-01T12:00:00Z"),
            ("1500ms", "2024-05-01T11:59:59Z"),
            ("1us", "2024-05-01T12:00:00Z"),
            ("1\u{b5}s", "2024-05-01T12:00:00Z"),
            ("1\u{3bc}s", "2024-05-01T12:00:00Z"),
            ("999999999ns", "2024-05-01T11:59:59Z"),
            ("-1h", "2024-05-01T13:00:00Z"),
            ("+0", "2024-05-01T12:00:00Z"),
            ("-0", "2024-05-01T12:00:00Z"),
            ("1h0m0s", "2024-05-01T11:00:00Z"),
            // shed's days and weeks.
            ("7d", "2024-04-24T12:00:00Z"),
            ("2w", "2024-04-17T12:00:00Z"),
            ("1w2d", "2024-04-22T12:00:00Z"),
            ("1d12h", "2024-04-30T00:00:00Z"),
            // A lone 0 is the Unix epoch, not a zero duration.
            ("0", "1970-01-01T00:00:00Z"),
            // RFC 3339, with and without a fraction.
            ("2024-01-02T03:04:05Z", "2024-01-02T03:04:05Z"),
            ("2024-01-02T03:04:05+01:00", "2024-01-02T02:04:05Z"),
            ("2024-01-02T03:04:05-01:00", "2024-01-02T04:04:05Z"),
            (
                "2024-01-02T03:04:05.123456789Z",
                "2024-01-02T03:04:05.123456789Z",
            ),
            ("2024-01-02T03:04:05.5+01:00", "2024-01-02T02:04:05.5Z"),
            (
                "2024-01-02T03:04:05.1234567891Z",
                "2024-01-02T03:04:05.123456789Z",
            ),
            ("2024-01-02T03:04:05,25Z", "2024-01-02T03:04:05.25Z"),
            // Without a zone: local time (+02:00 here).
            ("2024-01-02T03:04:05.5", "2024-01-02T01:04:05.5Z"),
            ("2024-01-02T03:04:05", "2024-01-02T01:04:05Z"),
            ("2024-01-02T03:04", "2024-01-02T01:04:00Z"),
            ("2024-01-02T03", "2024-01-02T01:00:00Z"),
            ("2024-01-02T3", "2024-01-02T01:00:00Z"),
            ("2024-01-02", "2024-01-01T22:00:00Z"),
            // Shorter layouts with a zone.
            ("2024-01-02T03:04Z", "2024-01-02T03:04:00Z"),
            ("2024-01-02T03:04+01:00", "2024-01-02T02:04:00Z"),
            ("2024-01-02T03Z", "2024-01-02T03:00:00Z"),
            ("2024-01-02T03-01:00", "2024-01-02T04:00:00Z"),
            ("2024-01-02Z", "2024-01-02T00:00:00Z"),
            ("2024-01-02+05:00", "2024-01-01T19:00:00Z"),
            ("2024-01-02-01:00", "2024-01-02T01:00:00Z"),
            // Unix times.
            ("1700000000", "2023-11-14T22:13:20Z"),
            ("1700000000.123456789", "2023-11-14T22:13:20.123456789Z"),
            ("1700000000.5", "2023-11-14T22:13:20.5Z"),
            ("1700000000.1234567891", "2023-11-14T22:13:20.123456789Z"),
            ("+1700000000", "2023-11-14T22:13:20Z"),
        ];
        for (value, expected) in cases {
            assert_eq!(until(value), Ok(utc(expected)), "until={value}");
        }
    }

    #[test]
    fn rejected_values_are_errors() {
        let cases = [
            "",
            "abc",
            "1x",
            "24H",
            "24 h",
            "h",
            ".h",
            "1h-5m",
            "1.5d",
            "1.d",
            "d",
            "-5",
            "2024-13-01",
            "2024-00-01",
            "2024-02-30",
            "2024-1-02",
            "2024-01-02T24:00",
            "2024-01-02T03:60",
            "2024-01-02T03:04:60",
            "2024-01-02t03",
            "2024-01-02T03:04:05z",
            "2024-01-02T03:04:05+0100",
            "2024-01-02T03:04:05Zjunk",
            "2024-01-02T03:04:05-01:00-",
            "2024-01-02 03:04:05",
            "1700000000.",
            "1700000000.x",
            "1700000000Z",
            "99999999999999999999",
            "3000000h",
        ];
        for value in cases {
            assert!(
                until(value).is_err(),
                "until={value} should be rejected: {:?}",
                until(value)
            );
        }
    }

    #[test]
    fn a_date_with_a_dash_reports_the_dates_own_error() {
        assert_eq!(
            until("2024-13-01").unwrap_err().reason,
            "month out of range"
        );
        assert_eq!(until("2024-02-30").unwrap_err().reason, "day out of range");
        assert_eq!(
            until("2024-01-02T25").unwrap_err().reason,
            "hour out of range"
        );
    }

    #[test]
    fn duration_parsing_follows_go() {
        assert_eq!(parse_duration("1h30m"), Some(5_400_000_000_000));
        assert_eq!(parse_duration("1.5s"), Some(1_500_000_000));
        assert_eq!(parse_duration("-2m"), Some(-120_000_000_000));
        assert_eq!(
            parse_duration("2562047h"),
            Some(2_562_047 * 3_600_000_000_000)
        );
        // One hour more overflows Go's 64-bit nanosecond count.
        assert_eq!(parse_duration("2562048h"), None);
        assert_eq!(parse_duration("1"), None);
        assert_eq!(parse_duration("0"), Some(0));
    }
}
