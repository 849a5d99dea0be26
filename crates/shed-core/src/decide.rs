//! Decisions: keep, untag or delete, for each image, with the reasons.
//!
//! Every decision carries its reasons, kept images too, so that `shed why` and `shed plan` can
//! say why an image goes or stays. A [`Reason`] is structured (it is part of the plan's JSON
//! schema) and displays as one short English clause.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::ImageId;
use crate::inventory::{ContainerState, Timestamp};

/// Why an image is kept, untagged or deleted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Reason {
    /// A container in some state uses the image (invariant 1).
    InUse { container: String, state: ContainerState },
    /// The image is the parent of an image that stays (invariant 4).
    ParentOfKept { child: ImageId, child_name: String },
    /// The image has tags, and only dangling images were selected.
    Tagged,
    /// The image is an untagged intermediate image: other images are built on it.
    HasChildren { children: usize },
    /// The image was created after the `until` filter's time.
    NewerThanUntil { until: Timestamp },
    /// The image's labels do not pass a `label` or `label!` filter.
    LabelFilter { filter: String },
    /// Selected: untagged, no image built on it, no container uses it.
    Dangling,
    /// Selected with `--all`: no container uses it.
    Unused,
    /// Selected: an untagged parent whose every child is deleted, as the engine's own prune
    /// would remove it.
    ParentOfDeleted { child: ImageId },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::InUse { container, state } => {
                write!(f, "in use by {} container {container}", state.as_str())
            }
            Reason::ParentOfKept { child_name, .. } => write!(f, "parent of kept image {child_name}"),
            Reason::Tagged => f.write_str("has tags (not dangling)"),
            Reason::HasChildren { children: 1 } => f.write_str("an image is built on it"),
            Reason::HasChildren { children } => write!(f, "{children} images are built on it"),
            Reason::NewerThanUntil { until } => {
                write!(f, "created after until={}", until.to_rfc3339())
            }
            Reason::LabelFilter { filter } => write!(f, "does not pass filter {filter}"),
            Reason::Dangling => f.write_str("dangling, unused"),
            Reason::Unused => f.write_str("no container uses it"),
            Reason::ParentOfDeleted { child } => {
                write!(f, "untagged parent of deleted image {}", child.short())
            }
        }
    }
}
