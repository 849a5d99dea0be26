//! Sizes and durations printed the way the docker CLI prints them.
//!
//! Sizes come from the core ([`shed_core::units::size`]), which writes them the same way in its
//! own texts. Ages read like the CREATED column of `docker images` (`2 hours ago`), relative to
//! the plan's `now`, so a plan made for a given time prints the same text whenever it is printed.

use chrono::{DateTime, Utc};
pub use shed_core::units::size;

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
