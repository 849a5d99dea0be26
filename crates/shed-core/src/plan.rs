//! The plan: the ordered actions that carry out a set of decisions.
//!
//! A plan is data. It is printed (`shed plan`), saved (`shed plan -o FILE`) and applied
//! (`shed apply`), and its JSON form is a documented, versioned schema
//! (docs/schema/plan.md). Each action says what it removes, what the executor must find before
//! it may act (the references and the image the plan saw), why, and how many bytes it frees.
//!
//! Order: every untag comes before every delete; a child image is deleted before its parent.

use serde::{Deserialize, Serialize};

use crate::decide::Reason;
use crate::ids::ImageId;
use crate::inventory::{ImageStore, Timestamp};

/// The schema identifier written into every plan file.
pub const PLAN_SCHEMA: &str = "shed.plan/v1";

/// An ordered list of actions, with the context it was made in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Always [`PLAN_SCHEMA`].
    pub schema: String,
    /// The time the plan was made for (the core's `now` parameter).
    pub now: Timestamp,
    /// The engine the inventory came from; `shed apply FILE` refuses another one.
    pub engine: PlanEngine,
    /// What selected the images, in words (`dangling images`, `unused images, until=24h`).
    pub selection: String,
    pub actions: Vec<Action>,
    /// Images that stay, each with the reasons it stays.
    pub kept: Vec<Kept>,
    pub totals: Totals,
}

/// Identifies the engine a plan was made against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanEngine {
    pub version: String,
    pub data_root: String,
    pub image_store: ImageStore,
}

/// What an action does to its image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Remove some references; the image stays because other references remain.
    Untag,
    /// Remove the image: all its references, then the image itself.
    Delete,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Untag => "untag",
            ActionKind::Delete => "delete",
        }
    }
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    pub kind: ActionKind,
    pub image_id: ImageId,
    /// The references this action removes. For a delete: every reference the image has.
    pub references: Vec<String>,
    /// Every tag the image had when the plan was made. The executor skips the action when the
    /// image now has a tag that is not in this list (invariant 3).
    pub expected_tags: Vec<String>,
    /// Every repo digest the image had when the plan was made.
    pub expected_repo_digests: Vec<String>,
    /// The parent, if any, so that the executor can check the order and the journal can tell.
    pub parent: Option<ImageId>,
    pub created: Timestamp,
    /// The engine's size of the image.
    pub size: u64,
    /// The bytes this action frees: the layers that no image outside the deleted set uses,
    /// counted for the first action (in plan order) that deletes their last user. Zero for an
    /// untag.
    pub bytes: u64,
    pub reasons: Vec<Reason>,
}

/// An image the plan keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kept {
    pub image_id: ImageId,
    pub tags: Vec<String>,
    pub size: u64,
    pub reasons: Vec<Reason>,
}

/// Sums over a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Totals {
    pub images_deleted: usize,
    pub references_removed: usize,
    pub images_kept: usize,
    /// The bytes deleting the planned images frees, each layer counted once.
    pub bytes: u64,
}
