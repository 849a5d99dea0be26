//! Prune filters: `until`, `label` and `label!`, with the engine's own semantics.
//!
//! `docker image prune --filter` sends these to the engine, which interprets them; shed
//! interprets them itself, the same way, so that `shed plan --filter …` selects exactly what
//! `docker image prune --filter …` would.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::inventory::{Image, Timestamp};

/// One `key` or `key=value` test on an image's labels.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LabelTest {
    pub key: String,
    /// `None` tests only that the key is present.
    pub value: Option<String>,
}

impl LabelTest {
    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
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
