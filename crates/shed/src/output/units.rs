//! Sizes and durations printed the way the docker CLI prints them.
//!
//! Sizes use decimal units with three significant digits (`1.99MB`, `0B`, `12.3kB`), as
//! `docker images` does with go-units' `HumanSizeWithPrecision(size, 3)`. Ages read like the
//! CREATED column of `docker images` (`2 hours ago`), relative to the plan's `now`, so a plan
//! made for a given time prints the same text whenever it is printed.

use chrono::{DateTime, Utc};

const DECIMAL_UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];

/// A byte count as `docker images` prints it: `1.99MB`.
pub fn size(bytes: u64) -> String {
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < DECIMAL_UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    let mut text = significant(value, 3);
    if text == "1000" && unit < DECIMAL_UNITS.len() - 1 {
        // 999.95kB and up round to 1000kB; print 1MB instead.
        text = "1".to_owned();
        unit += 1;
    }
    format!("{text}{}", DECIMAL_UNITS[unit])
}

/// `value` with `digits` significant digits and no trailing zeros, like Go's `%.3g` for the
/// magnitudes a size takes (0 to 999.999…). Go switches to an exponent when rounding reaches
/// 1000 (`1e+03kB`); shed prints the next unit's `1` instead, which is what was meant.
fn significant(value: f64, digits: usize) -> String {
    if value == 0.0 {
        return "0".to_owned();
    }
    let magnitude = value.abs().log10().floor() as i32;
    let decimals = (digits as i32 - 1 - magnitude).max(0) as usize;
    let text = format!("{value:.decimals$}");
    let trimmed = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    trimmed.to_owned()
}

/// How long ago `then` was, seen from `now`, as `docker images` words it.
pub fn age(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (now - then).num_seconds();
    if seconds < 0 {
        return "in the future".to_owned();
    }
    format!("{} ago", duration_words(seconds))
}

/// A duration in the coarse words go-units' `HumanDuration` uses.
pub fn duration_words(seconds: i64) -> String {
    const MINUTE: i64 = 60;
    const HOUR: i64 = 60 * MINUTE;
    const DAY: i64 = 24 * HOUR;
    match seconds {
        s if s < 1 => "Less than a second".to_owned(),
        1 => "1 second".to_owned(),
        s if s < MINUTE => format!("{s} seconds"),
        s if s / MINUTE == 1 => "About a minute".to_owned(),
        s if s < HOUR => format!("{} minutes", s / MINUTE),
        s if (s as f64 / HOUR as f64).round() as i64 == 1 => "About an hour".to_owned(),
        s if s < 48 * HOUR => format!("{} hours", (s as f64 / HOUR as f64).round() as i64),
        s if s < 7 * 2 * DAY => format!("{} days", s / DAY),
        s if s < 30 * 3 * DAY => format!("{} weeks", s / (7 * DAY)),
        s if s < 365 * 2 * DAY => format!("{} months", s / (30 * DAY)),
        s => format!("{} years", s / (365 * DAY)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_docker_images() {
        let cases = [
            (0, "0B"),
            (999, "999B"),
            (1_000, "1kB"),
            (12_345, "12.3kB"),
            (1_985_472, "1.99MB"),
            (999_999, "1MB"),
            (1_200_000_000, "1.2GB"),
            (5_000_000_000_000, "5TB"),
        ];
        for (bytes, expected) in cases {
            assert_eq!(size(bytes), expected, "{bytes} bytes");
        }
    }

    #[test]
    fn ages_read_like_docker_images() {
        let now = DateTime::parse_from_rfc3339("2026-12-03T12:00:00Z")
            .unwrap()
            .to_utc();
        let cases = [
            (0, "Less than a second ago"),
            (45, "45 seconds ago"),
            (90, "About a minute ago"),
            (600, "10 minutes ago"),
            (3_700, "About an hour ago"),
            (5 * 3600, "5 hours ago"),
            (3 * 86400, "3 days ago"),
            (20 * 86400, "2 weeks ago"),
            (100 * 86400, "3 months ago"),
            (800 * 86400, "2 years ago"),
        ];
        for (seconds, expected) in cases {
            let then = now - chrono::Duration::seconds(seconds);
            assert_eq!(age(then, now), expected, "{seconds} s");
        }
    }
}
