//! Policies: what a person wants kept and removed, written as a TOML file.
//!
//! A policy has protections (never deleted, whatever a rule says), ordered rules (the first rule
//! whose selectors all match a reference decides it: keep, delete, or retain the newest N of
//! its group), a default for references no rule matches, and limits that bound one run. The
//! language is documented in docs/policy.md; this module holds its parsed form.
//!
//! - [`parse_policy`] reads the text (the caller reads the file) and reports every problem
//!   with its file, line and column.
//! - [`evaluate`] turns a graph and a policy into per-image
//!   [`Decisions`](crate::decide::Decisions), deciding each reference and then each image;
//!   [`trace`] explains one reference or image.
//! - [`check_limits`] refuses a plan above the policy's safety cap.

mod eval;
mod limits;
mod parse;
mod select;
mod shadow;
mod trace;

use chrono::TimeDelta;
use globset::GlobMatcher;

use crate::inventory::Timestamp;

pub use eval::evaluate;
pub use limits::{CapExceeded, check_limits};
pub use parse::{PolicyError, PolicyErrors, parse_policy};
pub use trace::{GroupTrace, RuleTrace, Trace, trace};

/// A parsed, validated policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The file name the policy was read from, for messages.
    pub file: String,
    pub protect: Protect,
    pub rules: Vec<Rule>,
    /// What happens to a reference that no rule matches (`keep` unless the file says so).
    pub default: Action,
    pub limits: Limits,
}

/// Images that are never deleted nor untagged, whatever a rule says (invariant 4).
#[derive(Debug, Clone, Default)]
pub struct Protect {
    /// An image with any reference (tag or repo digest) matching one of these is protected.
    pub references: Vec<Glob>,
    /// An image whose labels pass any one of these is protected.
    pub labels: Vec<LabelSelector>,
    /// Images created less than this long before `now` are protected.
    pub min_age: Option<Duration>,
}

/// One `[[rule]]`: selectors that must all match, and the action for what they match.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    /// 1-based line of the rule's `[[rule]]` header, for messages.
    pub line: usize,
    pub selector: Selector,
    pub action: Action,
}

/// What a rule (or the default) does with the references it decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Keep,
    Delete,
    Retain(Retain),
}

impl Action {
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::Keep => "keep",
            Action::Delete => "delete",
            Action::Retain(_) => "retain",
        }
    }
}

/// `action = "retain"`: keep the newest `keep` images of each group, delete the rest. Only tags
/// are ranked; an image without tags goes on to the next rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retain {
    /// How many images each group keeps; at least 1.
    pub keep: usize,
    /// The group key. Empty means one group for everything the rule decides.
    pub per: Vec<GroupPart>,
    pub order: RetainOrder,
    /// When set, only the images of the newest this-many minors (major.minor) of each
    /// repository keep anything.
    pub newest_minors: Option<usize>,
}

impl Retain {
    /// Whether the rule ranks versions, and so decides only tags that are versions.
    pub fn needs_version(&self) -> bool {
        self.order == RetainOrder::Version
    }
}

/// A part of a retain group's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GroupPart {
    Repository,
    /// The version's major number.
    Major,
    /// The version's major and minor numbers.
    Minor,
    /// The version's variant (`alpine3.20`), or none.
    Variant,
}

impl GroupPart {
    pub const ALL: [GroupPart; 4] = [
        GroupPart::Repository,
        GroupPart::Major,
        GroupPart::Minor,
        GroupPart::Variant,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GroupPart::Repository => "repository",
            GroupPart::Major => "major",
            GroupPart::Minor => "minor",
            GroupPart::Variant => "variant",
        }
    }

    /// Whether the part exists only for tags that are versions.
    pub fn is_version_part(self) -> bool {
        self != GroupPart::Repository
    }
}

/// How a retain rule ranks the members of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetainOrder {
    /// The highest version first, ties broken by the newest creation time. Only tags that are
    /// versions take part; other references fall through to later rules.
    Version,
    /// The newest creation time first. Every tag takes part.
    Created,
}

/// The selectors of one rule. Each one set must match; an empty selector matches everything.
#[derive(Debug, Clone, Default)]
pub struct Selector {
    /// The reference's repository matches any of these (familiar form: `golang`, `ghcr.io/a/b`).
    pub repository: Vec<Glob>,
    /// The tag matches any of these. Never matches an image without tags.
    pub tag: Vec<Glob>,
    /// The tag is a version in this semver range.
    pub version: Option<VersionRange>,
    /// The tag is a version whose variant matches any of these.
    pub variant: Vec<Glob>,
    /// Every one of these matches the image's labels.
    pub labels: Vec<LabelSelector>,
    /// The image is (or is not) dangling.
    pub dangling: Option<bool>,
    /// The image was created at least this long before `now`.
    pub older_than: Option<Duration>,
    pub created_before: Option<Timestamp>,
    pub created_after: Option<Timestamp>,
    /// The image's last use is at least this long before `now`.
    pub unused_for: Option<Duration>,
    /// The image's size is above this many bytes.
    pub larger_than: Option<u64>,
    /// The image's size is below this many bytes.
    pub smaller_than: Option<u64>,
}

/// A glob as written and compiled (`*` stays within one path segment, `**` crosses them).
#[derive(Debug, Clone)]
pub struct Glob {
    pub text: String,
    pub matcher: GlobMatcher,
}

impl Glob {
    pub fn is_match(&self, text: &str) -> bool {
        self.matcher.is_match(text)
    }
}

/// A semver range as written and parsed.
#[derive(Debug, Clone)]
pub struct VersionRange {
    pub text: String,
    pub req: semver::VersionReq,
}

/// A duration as written (`72h`) and its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duration {
    pub delta: TimeDelta,
}

impl std::fmt::Display for Duration {
    /// The duration in the largest whole unit: `72h`, `7d`, `90m`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let seconds = self.delta.num_seconds();
        let units = [(604_800, "w"), (86_400, "d"), (3_600, "h"), (60, "m")];
        match units
            .iter()
            .find(|(size, _)| seconds != 0 && seconds % size == 0)
        {
            Some((size, unit)) => write!(f, "{}{unit}", seconds / size),
            None => write!(f, "{seconds}s"),
        }
    }
}

/// One label test: `key`, `key=value` or `key!=value`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LabelSelector {
    Present {
        key: String,
    },
    Equals {
        key: String,
        value: String,
    },
    /// The label is absent, or has another value.
    NotEquals {
        key: String,
        value: String,
    },
}

impl LabelSelector {
    pub fn matches(&self, labels: &crate::inventory::Labels) -> bool {
        match self {
            LabelSelector::Present { key } => labels.contains_key(key),
            LabelSelector::Equals { key, value } => labels.get(key) == Some(value),
            LabelSelector::NotEquals { key, value } => labels.get(key) != Some(value),
        }
    }
}

impl std::fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LabelSelector::Present { key } => f.write_str(key),
            LabelSelector::Equals { key, value } => write!(f, "{key}={value}"),
            LabelSelector::NotEquals { key, value } => write!(f, "{key}!={value}"),
        }
    }
}

/// The safety cap of one run. A plan above any bound is refused (see [`check_limits`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Limits {
    /// At most this many images deleted.
    pub max_images: Option<usize>,
    /// At most this many bytes freed.
    pub max_bytes: Option<u64>,
    /// At most this percentage of the images present deleted.
    pub max_percent: Option<f64>,
}

impl Limits {
    /// These limits, with every bound that `raised` sets replacing this one (the command
    /// line raising or lowering the cap of the file).
    pub fn overridden_by(&self, raised: &Limits) -> Limits {
        Limits {
            max_images: raised.max_images.or(self.max_images),
            max_bytes: raised.max_bytes.or(self.max_bytes),
            max_percent: raised.max_percent.or(self.max_percent),
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod properties;
