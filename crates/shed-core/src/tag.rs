//! Docker tags read as versions: shed's tag grammar.
//!
//! Strict semver reads image tags wrongly: `1.21.0-alpine3.19` would be a pre-release of 1.21.0,
//! `1.22` and `1` would be rejected, Go's `1.23rc2` could not be read, and tags cannot carry
//! `+`. So shed reads a tag the way official images name their builds:
//!
//! ```text
//! tag      = [ "v" ] release [ pre ] [ "-" variant ]
//! release  = number [ "." number [ "." number ] ]          at most three numbers
//! pre      = ( "alpha" | "beta" | "rc" ) [ digits ]          attached: 1.23rc2, 1.0beta
//!          | ( "a" | "b" ) digits                            attached: 3.13.0a1
//!          | "-" ( "alpha" | "beta" | "rc" ) [ [ "." ] digits ]   dashed: 7.4-rc1, 2.0-beta.3
//! variant  = any non-empty rest                              alpine3.20, bookworm, slim-bookworm
//! ```
//!
//! Anything else is not a version (`latest`, `alpine`, `bookworm`, `1.2.3.4`, `1.22x`, `v`) and
//! is never put in a version group, although globs still match it.
//!
//! Order: a pre-release comes before its release, and its missing numbers are zeros (`1.23rc2`
//! is a pre-release of 1.23.0). A partial version without a pre-release stands for the newest
//! release of its line, the way `golang:1.22` follows the newest 1.22.x, so it orders after
//! every full version of that line: `1.22.4 < 1.22.5 < 1.22 < 1.23rc2 < 1.23.0 < 1.23 < 1`.
//! Versions that tie on all numbers are ordered by the variant, then by how they were written,
//! so the order is total and agrees with equality.

use std::cmp::Ordering;
use std::fmt;

/// The stage of a pre-release; the derived order is alpha < beta < rc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PreKind {
    Alpha,
    Beta,
    Rc,
}

impl PreKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PreKind::Alpha => "alpha",
            PreKind::Beta => "beta",
            PreKind::Rc => "rc",
        }
    }
}

/// A pre-release marker: its stage and optional number (`rc2`, `beta`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PreRelease {
    pub kind: PreKind,
    pub number: Option<u64>,
}

/// A tag read as a version. See the module documentation for the grammar and the order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TagVersion {
    pub major: u64,
    pub minor: Option<u64>,
    pub patch: Option<u64>,
    pub pre: Option<PreRelease>,
    /// What follows the version after a dash: `alpine3.20` in `1.22.5-alpine3.20`.
    pub variant: Option<String>,
}

impl TagVersion {
    /// Reads a tag (the part after the `:` of a reference) as a version, or `None` when the tag
    /// is not a version in shed's grammar.
    pub fn parse(tag: &str) -> Option<TagVersion> {
        let rest = match tag.strip_prefix('v') {
            Some(after) if after.starts_with(|c: char| c.is_ascii_digit()) => after,
            _ => tag,
        };
        let (numbers, rest) = release(rest)?;
        let (pre, rest) = pre_release(rest)?;
        let variant = match rest {
            "" => None,
            _ => Some(rest.strip_prefix('-').filter(|v| !v.is_empty())?.to_owned()),
        };
        Some(TagVersion {
            major: numbers[0]?,
            minor: numbers[1],
            patch: numbers[2],
            pre,
            variant,
        })
    }

    /// Whether the tag names a whole release (`1.22.5`, `1.23rc2`) rather than a line of
    /// releases (`1.22`, `1`).
    pub fn is_partial(&self) -> bool {
        self.pre.is_none() && self.patch.is_none()
    }

    /// The version as semver, for matching ranges such as `>=1.21, <1.23`: missing numbers are
    /// zeros (`1.22` is 1.22.0), a pre-release becomes `rc.2`, and the variant is dropped.
    /// The semver crate matches a pre-release only against a range that names a pre-release
    /// of the same major.minor.patch.
    pub fn to_semver(&self) -> semver::Version {
        let mut version =
            semver::Version::new(self.major, self.minor.unwrap_or(0), self.patch.unwrap_or(0));
        if let Some(pre) = self.pre {
            let text = match pre.number {
                Some(n) => format!("{}.{n}", pre.kind.as_str()),
                None => pre.kind.as_str().to_owned(),
            };
            // `alpha.3` and friends are always valid semver pre-release identifiers.
            version.pre = semver::Prerelease::new(&text).unwrap_or(semver::Prerelease::EMPTY);
        }
        version
    }

    /// The numbers the order compares first. A missing number is the largest value for a
    /// release (a line follows its newest release) and zero for a pre-release.
    fn release_key(&self) -> (u64, u64, u64, u8, u64) {
        let missing = if self.pre.is_some() { 0 } else { u64::MAX };
        let stage = match self.pre {
            Some(pre) => pre.kind as u8,
            None => u8::MAX,
        };
        let pre_number = self.pre.and_then(|p| p.number).unwrap_or(0);
        let minor = self.minor.unwrap_or(missing);
        (
            self.major,
            minor,
            self.patch.unwrap_or(missing),
            stage,
            pre_number,
        )
    }
}

impl Ord for TagVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.release_key()
            .cmp(&other.release_key())
            .then_with(|| self.variant.cmp(&other.variant))
            .then_with(|| self.minor.cmp(&other.minor))
            .then_with(|| self.patch.cmp(&other.patch))
            .then_with(|| self.pre.cmp(&other.pre))
    }
}

impl PartialOrd for TagVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for TagVersion {
    /// The canonical spelling: `1.23-rc2-alpine`, `1.22.5`, `1-bookworm`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.major)?;
        for number in [self.minor, self.patch].into_iter().flatten() {
            write!(f, ".{number}")?;
        }
        if let Some(pre) = self.pre {
            write!(f, "-{}", pre.kind.as_str())?;
            if let Some(n) = pre.number {
                write!(f, "{n}")?;
            }
        }
        if let Some(variant) = &self.variant {
            write!(f, "-{variant}")?;
        }
        Ok(())
    }
}

/// Reads `number[.number[.number]]`; returns the numbers and the rest of the tag.
fn release(text: &str) -> Option<([Option<u64>; 3], &str)> {
    let mut numbers = [None; 3];
    let (first, mut rest) = number(text)?;
    numbers[0] = Some(first);
    for slot in numbers.iter_mut().skip(1) {
        let Some(after_dot) = rest.strip_prefix('.') else {
            break;
        };
        let (value, after) = number(after_dot)?;
        *slot = Some(value);
        rest = after;
    }
    // A fourth number (`1.2.3.4`) is not a version.
    if rest.starts_with('.') {
        return None;
    }
    Some((numbers, rest))
}

/// Reads a run of ASCII digits as a number; `None` when there is none or it overflows.
fn number(text: &str) -> Option<(u64, &str)> {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let value = text[..end].parse().ok()?;
    Some((value, &text[end..]))
}

/// Reads an optional pre-release marker. `None` means the text after the release is not
/// allowed there (`1.22x`), so the tag is not a version.
fn pre_release(text: &str) -> Option<(Option<PreRelease>, &str)> {
    if text.starts_with(|c: char| c.is_ascii_alphabetic()) {
        let (pre, rest) = attached_pre(text)?;
        return Some((Some(pre), rest));
    }
    if let Some(after_dash) = text.strip_prefix('-') {
        let segment_end = after_dash.find('-').unwrap_or(after_dash.len());
        if let Some(pre) = dashed_pre(&after_dash[..segment_end]) {
            return Some((Some(pre), &after_dash[segment_end..]));
        }
    }
    Some((None, text))
}

/// `rc2`, `beta`, `a1`, directly after the release.
fn attached_pre(text: &str) -> Option<(PreRelease, &str)> {
    let letters_end = text
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (word, rest) = text.split_at(letters_end);
    let (number, rest) = match number(rest) {
        Some((n, after)) => (Some(n), after),
        None => (None, rest),
    };
    let kind = match (word, number) {
        ("alpha", _) | ("a", Some(_)) => PreKind::Alpha,
        ("beta", _) | ("b", Some(_)) => PreKind::Beta,
        ("rc", _) => PreKind::Rc,
        _ => return None,
    };
    Some((PreRelease { kind, number }, rest))
}

/// A whole dash-separated segment that is a pre-release: `rc1`, `rc.1`, `beta`.
fn dashed_pre(segment: &str) -> Option<PreRelease> {
    let kind = [PreKind::Alpha, PreKind::Beta, PreKind::Rc]
        .into_iter()
        .find(|kind| segment.starts_with(kind.as_str()))?;
    let digits = &segment[kind.as_str().len()..];
    let digits = digits.strip_prefix('.').unwrap_or(digits);
    if digits.is_empty() {
        return Some(PreRelease { kind, number: None });
    }
    match number(digits)? {
        (n, "") => Some(PreRelease {
            kind,
            number: Some(n),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(tag: &str) -> TagVersion {
        TagVersion::parse(tag).unwrap_or_else(|| panic!("{tag} should be a version"))
    }

    fn pre(kind: PreKind, number: Option<u64>) -> Option<PreRelease> {
        Some(PreRelease { kind, number })
    }

    /// A tag and the parts it should parse into.
    type Row<'a> = (
        &'a str,
        u64,
        Option<u64>,
        Option<u64>,
        Option<PreRelease>,
        Option<&'a str>,
    );

    #[test]
    fn official_image_tags_parse_into_their_parts() {
        use PreKind::*;
        #[rustfmt::skip]
        let table: &[Row] = &[
            ("1.22",              1, Some(22), None,    None,                 None),
            ("1.22.5",            1, Some(22), Some(5), None,                 None),
            ("1.22.5-alpine3.20", 1, Some(22), Some(5), None,                 Some("alpine3.20")),
            ("1.22-bookworm",     1, Some(22), None,    None,                 Some("bookworm")),
            ("1-alpine",          1, None,     None,    None,                 Some("alpine")),
            ("1.23rc2",           1, Some(23), None,    pre(Rc, Some(2)),     None),
            ("1.23rc2-alpine",    1, Some(23), None,    pre(Rc, Some(2)),     Some("alpine")),
            ("3.13.0a1",          3, Some(13), Some(0), pre(Alpha, Some(1)),  None),
            ("7.4-rc1",           7, Some(4),  None,    pre(Rc, Some(1)),     None),
            ("2.0-beta.3-slim",   2, Some(0),  None,    pre(Beta, Some(3)),   Some("slim")),
            ("1.0beta",           1, Some(0),  None,    pre(Beta, None),      None),
            ("v2.3.0",            2, Some(3),  Some(0), None,                 None),
            ("2024.05.01",        2024, Some(5), Some(1), None,               None),
            ("12",                12, None,    None,    None,                 None),
            ("1.22-slim-bookworm", 1, Some(22), None,   None,               Some("slim-bookworm")),
            ("1-alpine3.20",      1, None,     None,    None,                 Some("alpine3.20")),
        ];
        for &(tag, major, minor, patch, pre, variant) in table {
            let parsed = v(tag);
            let expected = TagVersion {
                major,
                minor,
                patch,
                pre,
                variant: variant.map(str::to_owned),
            };
            assert_eq!(parsed, expected, "tag {tag}");
        }
    }

    #[test]
    fn tags_that_are_not_versions() {
        for tag in [
            "latest",
            "alpine",
            "bookworm",
            "v",
            "vnext",
            "1.2.3.4",
            "1.22x",
            "1.22.",
            "1..2",
            "1.2b",
            "1-",
            "1.22_beta",
            "",
            "-1",
            "99999999999999999999999",
        ] {
            assert_eq!(TagVersion::parse(tag), None, "tag {tag:?}");
        }
    }

    #[test]
    fn order_puts_pre_releases_first_and_lines_last() {
        let ascending = [
            "1.21",
            "1.22.0",
            "1.22.4",
            "1.22.5",
            "1.22",
            "1.23alpha1",
            "1.23beta",
            "1.23rc1",
            "1.23rc2",
            "1.23.0",
            "1.23.4",
            "1.23",
            "1",
            "2.0.0",
        ];
        for pair in ascending.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn order_is_total_and_agrees_with_equality() {
        assert_eq!(v("v2.3.0").cmp(&v("2.3.0")), Ordering::Equal);
        assert_ne!(v("1.23.0rc1").cmp(&v("1.23rc1")), Ordering::Equal);
        assert!(v("1.22.5") < v("1.22.5-alpine"));
        assert!(v("1.22.5-alpine3.19") < v("1.22.5-alpine3.20"));
    }

    #[test]
    fn semver_ranges_match_the_release() {
        let range = semver::VersionReq::parse(">=1.21, <1.23").unwrap();
        let matching = ["1.21.0", "1.22", "1.22.5-alpine3.20", "1.21-bookworm"];
        for tag in matching {
            assert!(range.matches(&v(tag).to_semver()), "{tag}");
        }
        for tag in ["1.20.9", "1.23", "1.23.0", "1.23rc2", "1"] {
            assert!(!range.matches(&v(tag).to_semver()), "{tag}");
        }
        assert_eq!(v("1.23rc2").to_semver().to_string(), "1.23.0-rc.2");
        let pre_range = semver::VersionReq::parse(">=1.23.0-rc.1").unwrap();
        assert!(pre_range.matches(&v("1.23rc2-alpine").to_semver()));
    }

    #[test]
    fn display_is_canonical() {
        assert_eq!(v("v1.23rc2-alpine").to_string(), "1.23-rc2-alpine");
        assert_eq!(v("1.22.5").to_string(), "1.22.5");
        assert_eq!(
            TagVersion::parse(&v("2.0-beta.3-slim").to_string()),
            Some(v("2.0-beta.3-slim"))
        );
    }
}
