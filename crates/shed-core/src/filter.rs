//! Prune filters: `until`, `label` and `label!`, with the engine's own semantics.
//!
//! `docker image prune --filter` sends these to the engine, which interprets them; shed
//! interprets them itself, the same way, so that `shed plan --filter …` selects exactly what
//! `docker image prune --filter …` would. [`PruneFilters::parse`] reads the `--filter` values
//! as the docker CLI and the engine (20.10 and later) read them; the `until` values themselves
//! are read by [`crate::engine_time`].

use std::collections::BTreeSet;

use chrono::FixedOffset;
use serde::{Deserialize, Serialize};

use crate::engine_time;
use crate::inventory::{Image, Labels, Timestamp};

/// The filter keys shed accepts, as the engine's image prune accepts them (less `dangling`,
/// which shed expresses as `--all`).
pub const FILTER_KEYS: &str = "until, label, label!";

/// The forms an `until` value may take, for error messages.
pub const UNTIL_FORMS: &str = "a duration back from now (Go syntax: 90s, 1h30m, 1.5h; shed also \
    takes whole days and weeks: 7d, 2w, 1w2d), a date or date-time (2024-01-02, \
    2024-01-02T15, 2024-01-02T15:04, 2024-01-02T15:04:05, optional fraction, optional zone Z \
    or +07:00; local time without a zone) or a Unix time (1700000000, 1700000000.5)";

/// Why a `--filter` value was rejected. Each variant names the filter as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// The value has no `=`.
    #[error("filter {written:?} is not of the form key=value (keys: {keys})", keys = FILTER_KEYS)]
    NotKeyValue { written: String },
    /// The key is not one of [`FILTER_KEYS`].
    #[error(
        "filter {written:?}: unknown key {key:?}; the accepted keys are {keys}",
        keys = FILTER_KEYS
    )]
    UnknownKey { written: String, key: String },
    /// `dangling=…`: the engine accepts it, shed asks for `--all` instead.
    #[error(
        "filter {written:?}: shed does not take the dangling key; it selects dangling images \
         unless --all is given (dangling=false is --all)"
    )]
    Dangling { written: String },
    /// A second `until` with another value; the engine rejects it too.
    #[error("filter {written:?}: until is already given as {first:?}; give one until filter")]
    SecondUntil { written: String, first: String },
    /// The `until` value is not a time.
    #[error("filter {written:?}: {reason}; until takes {forms}", forms = UNTIL_FORMS)]
    BadUntil { written: String, reason: String },
    /// `label=` or `label!=` without a key.
    #[error("filter {written:?}: a label filter needs a key: {key}=KEY or {key}=KEY=VALUE")]
    EmptyLabel { written: String, key: String },
}

/// One `key` or `key=value` test on an image's labels.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LabelTest {
    pub key: String,
    /// `None` tests only that the key is present.
    pub value: Option<String>,
}

impl LabelTest {
    fn matches(&self, labels: &Labels) -> bool {
        match (labels.get(&self.key), &self.value) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(actual), Some(wanted)) => actual == wanted,
        }
    }
}

/// The parsed prune filters of one run. An empty value selects everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneFilters {
    /// Only images created at or before this time are selected.
    pub until: Option<Timestamp>,
    /// `label=…`: an image is selected only if every one of these matches.
    pub label: Vec<LabelTest>,
    /// `label!=…`: an image is excluded if every one of these matches.
    pub label_not: Vec<LabelTest>,
    /// The filters as the user wrote them, for explanations (`until=24h`).
    pub written: Vec<String>,
}

impl PruneFilters {
    /// Parses the `--filter` values of one run.
    ///
    /// Each value is `key=value`, split at the first `=`; as the docker CLI does, the key is
    /// trimmed and lowercased, the value trimmed, and an empty value ignored. Keys: `until`
    /// (once; repeating the same value is allowed, as the engine keeps a set), `label` and
    /// `label!` (each `KEY` or `KEY=VALUE`, split at the first `=`; duplicates collapse).
    /// `now` anchors durations and `local_offset` is the zone of times written without one.
    ///
    /// One deliberate difference from the engine: an empty label key (`label=`) is rejected,
    /// where the engine accepts it and matches no image.
    pub fn parse(
        args: &[String],
        now: Timestamp,
        local_offset: FixedOffset,
    ) -> Result<PruneFilters, FilterError> {
        let mut filters = PruneFilters::default();
        let mut until_value: Option<String> = None;
        let mut label = BTreeSet::new();
        let mut label_not = BTreeSet::new();
        for written in args.iter().filter(|arg| !arg.is_empty()) {
            let (key, value) = split_filter(written)?;
            match key.as_str() {
                "until" => match &until_value {
                    Some(first) if *first == value => {}
                    Some(first) => {
                        let first = first.clone();
                        return Err(FilterError::SecondUntil {
                            written: written.clone(),
                            first,
                        });
                    }
                    None => {
                        filters.until = Some(parse_until(written, &value, now, local_offset)?);
                        until_value = Some(value);
                    }
                },
                "label" => {
                    label.insert(parse_label_test(written, &key, &value)?);
                }
                "label!" => {
                    label_not.insert(parse_label_test(written, &key, &value)?);
                }
                "dangling" => {
                    return Err(FilterError::Dangling {
                        written: written.clone(),
                    });
                }
                _ => {
                    return Err(FilterError::UnknownKey {
                        written: written.clone(),
                        key,
                    });
                }
            }
            filters.written.push(written.clone());
        }
        filters.label = label.into_iter().collect();
        filters.label_not = label_not.into_iter().collect();
        Ok(filters)
    }

    /// Whether the image passes the `until` filter (created at or before it).
    pub fn passes_until(&self, image: &Image) -> bool {
        self.until.is_none_or(|until| image.created <= until)
    }

    /// Whether the image passes the `label` and `label!` filters.
    ///
    /// The engine's rule: every `label` test must match; and when `label!` tests are given,
    /// the image is excluded only if all of them match. An image without labels fails any
    /// `label` test and passes any `label!` test.
    pub fn passes_labels(&self, image: &Image) -> bool {
        let all_label_match = self.label.iter().all(|test| test.matches(&image.labels));
        let excluded =
            !self.label_not.is_empty() && self.label_not.iter().all(|t| t.matches(&image.labels));
        all_label_match && !excluded
    }
}

/// Splits `key=value` at the first `=`, trimming both and lowercasing the key.
fn split_filter(written: &str) -> Result<(String, String), FilterError> {
    let (key, value) = written
        .split_once('=')
        .ok_or_else(|| FilterError::NotKeyValue {
            written: written.to_owned(),
        })?;
    Ok((key.trim().to_lowercase(), value.trim().to_owned()))
}

fn parse_until(
    written: &str,
    value: &str,
    now: Timestamp,
    local_offset: FixedOffset,
) -> Result<Timestamp, FilterError> {
    engine_time::parse_until(value, now, local_offset).map_err(|bad| FilterError::BadUntil {
        written: written.to_owned(),
        reason: bad.reason,
    })
}

/// `KEY` or `KEY=VALUE`, split at the first `=` as the engine splits it.
fn parse_label_test(written: &str, key: &str, value: &str) -> Result<LabelTest, FilterError> {
    let test = match value.split_once('=') {
        Some((label, wanted)) => LabelTest {
            key: label.to_owned(),
            value: Some(wanted.to_owned()),
        },
        None => LabelTest {
            key: value.to_owned(),
            value: None,
        },
    };
    if test.key.is_empty() {
        return Err(FilterError::EmptyLabel {
            written: written.to_owned(),
            key: key.to_owned(),
        });
    }
    Ok(test)
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;

    fn now() -> Timestamp {
        DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
            .expect("test time")
            .to_utc()
    }

    fn parse(args: &[&str]) -> Result<PruneFilters, FilterError> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let utc = FixedOffset::east_opt(0).expect("offset");
        PruneFilters::parse(&args, now(), utc)
    }

    fn test(key: &str, value: Option<&str>) -> LabelTest {
        LabelTest {
            key: key.to_owned(),
            value: value.map(str::to_owned),
        }
    }

    #[test]
    fn label_forms_split_at_the_first_equals_sign() {
        let cases: [(&str, LabelTest); 4] = [
            ("label=a", test("a", None)),
            ("label=a=b", test("a", Some("b"))),
            ("label=a=b=c", test("a", Some("b=c"))),
            ("label=a=", test("a", Some(""))),
        ];
        for (written, expected) in cases {
            let filters = parse(&[written]).expect(written);
            assert_eq!(filters.label, vec![expected], "{written}");
            assert!(filters.label_not.is_empty(), "{written}");
        }
    }

    #[test]
    fn label_not_forms_use_the_key_label_bang() {
        let cases: [(&str, LabelTest); 3] = [
            ("label!=a", test("a", None)),
            ("label!=a=b", test("a", Some("b"))),
            ("label!=a=b=c", test("a", Some("b=c"))),
        ];
        for (written, expected) in cases {
            let filters = parse(&[written]).expect(written);
            assert_eq!(filters.label_not, vec![expected], "{written}");
            assert!(filters.label.is_empty(), "{written}");
        }
    }

    #[test]
    fn keys_are_trimmed_and_lowercased_values_trimmed() {
        let filters = parse(&[" LABEL = a=b ", "Until= 24h"]).expect("filters");
        assert_eq!(filters.label, vec![test("a", Some("b"))]);
        assert_eq!(filters.until, Some(now() - chrono::TimeDelta::hours(24)));
        assert_eq!(filters.written, vec![" LABEL = a=b ", "Until= 24h"]);
    }

    #[test]
    fn duplicate_labels_collapse_and_are_sorted() {
        let filters =
            parse(&["label=b", "label=a=1", "label=b", "label=a=1", "label=a"]).expect("filters");
        assert_eq!(
            filters.label,
            vec![test("a", None), test("a", Some("1")), test("b", None)]
        );
        assert_eq!(filters.written.len(), 5);
    }

    #[test]
    fn until_is_parsed_with_the_engines_rules() {
        let filters = parse(&["until=2024-01-02T03:04:05Z"]).expect("filters");
        let expected = DateTime::parse_from_rfc3339("2024-01-02T03:04:05Z").expect("time");
        assert_eq!(filters.until, Some(expected.to_utc()));
        let filters = parse(&["until=1w"]).expect("filters");
        assert_eq!(filters.until, Some(now() - chrono::TimeDelta::weeks(1)));
    }

    #[test]
    fn the_same_until_twice_is_one_filter() {
        let filters = parse(&["until=24h", "until=24h"]).expect("filters");
        assert_eq!(filters.until, Some(now() - chrono::TimeDelta::hours(24)));
    }

    #[test]
    fn empty_values_are_ignored_as_the_docker_cli_ignores_them() {
        let filters = parse(&["", "label=a"]).expect("filters");
        assert_eq!(filters.written, vec!["label=a"]);
    }

    #[test]
    fn rejected_filters_say_which_and_why() {
        let cases: [(&[&str], FilterError); 7] = [
            (
                &["until"],
                FilterError::NotKeyValue {
                    written: "until".into(),
                },
            ),
            (
                &["before=1h"],
                FilterError::UnknownKey {
                    written: "before=1h".into(),
                    key: "before".into(),
                },
            ),
            (
                &["dangling=false"],
                FilterError::Dangling {
                    written: "dangling=false".into(),
                },
            ),
            (
                &["until=1h", "until=2h"],
                FilterError::SecondUntil {
                    written: "until=2h".into(),
                    first: "1h".into(),
                },
            ),
            (
                &["until=yesterday"],
                FilterError::BadUntil {
                    written: "until=yesterday".into(),
                    reason: "not a duration, a date, a date-time or a Unix time".into(),
                },
            ),
            (
                &["label="],
                FilterError::EmptyLabel {
                    written: "label=".into(),
                    key: "label".into(),
                },
            ),
            (
                &["label!==x"],
                FilterError::EmptyLabel {
                    written: "label!==x".into(),
                    key: "label!".into(),
                },
            ),
        ];
        for (args, expected) in cases {
            assert_eq!(parse(args), Err(expected), "{args:?}");
        }
    }

    #[test]
    fn error_messages_list_the_accepted_forms() {
        let unknown = parse(&["labels=a"]).unwrap_err().to_string();
        assert_eq!(
            unknown,
            concat!(
                "filter \"labels=a\": unknown key \"labels\"; ",
                "the accepted keys are until, label, label!"
            )
        );
        let bad_until = parse(&["until=2024-13-01"]).unwrap_err().to_string();
        assert!(
            bad_until.starts_with(
                "filter \"until=2024-13-01\": month out of range; until takes a duration"
            ),
            "{bad_until}"
        );
        assert!(
            bad_until.contains("1w2d") && bad_until.contains("1700000000.5"),
            "{bad_until}"
        );
    }
}
