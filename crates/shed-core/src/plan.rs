//! The plan: the ordered actions that carry out a set of decisions.
//!
//! A plan is data. It is printed (`shed plan`), saved (`shed plan -o FILE`) and applied
//! (`shed apply`), and its JSON form is a documented, versioned schema
//! (docs/schema/plan.md). Each action says what it removes, what the executor must find before
//! it may act (the references and the image the plan saw), why, and how many bytes it frees.
//!
//! Order: every untag comes before every delete; a child image is deleted before its parent.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::decide::{Decisions, Reason, Verdict};
use crate::graph::{ChainIdx, Graph, ImageIdx};
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

impl Plan {
    /// Whether the plan does nothing.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
}

/// Turns decisions into a plan.
///
/// Actions: every untag first, by image ID; then every delete, children before parents
/// (deepest first, then newest, then by image ID: [`Graph::children_first`]). Each delete's
/// `bytes` are the sizes of the chain IDs whose last remaining user it deletes, so the actions'
/// bytes add up to [`Graph::reclaimable_bytes`] of the deleted images. `kept` lists every kept
/// image by image ID. `selection` is the text for [`Plan::selection`]
/// ([`Selection::describe`](crate::decide::Selection::describe) for the default decisions).
///
/// The decisions must have been made for this graph. Deterministic: the same graph,
/// decisions, selection and `now` give the same plan, and the same JSON.
pub fn make_plan(graph: &Graph, decisions: &Decisions, selection: &str, now: Timestamp) -> Plan {
    let mut actions = untag_actions(graph, decisions);
    actions.extend(delete_actions(graph, decisions));
    let kept = kept_images(graph, decisions);
    let totals = Totals {
        images_deleted: actions
            .iter()
            .filter(|a| a.kind == ActionKind::Delete)
            .count(),
        references_removed: actions.iter().map(|a| a.references.len()).sum(),
        images_kept: kept.len(),
        bytes: actions.iter().map(|a| a.bytes).sum(),
    };
    let engine = &graph.inventory().engine;
    Plan {
        schema: PLAN_SCHEMA.to_owned(),
        now,
        engine: PlanEngine {
            version: engine.version.clone(),
            data_root: engine.data_root.clone(),
            image_store: engine.image_store,
        },
        selection: selection.to_owned(),
        actions,
        kept,
        totals,
    }
}

fn untag_actions(graph: &Graph, decisions: &Decisions) -> Vec<Action> {
    graph
        .images_by_id()
        .iter()
        .filter(|&&i| decisions.verdict(i) == Verdict::Untag)
        .map(|&i| action(graph, decisions, i, ActionKind::Untag, 0))
        .collect()
}

fn delete_actions(graph: &Graph, decisions: &Decisions) -> Vec<Action> {
    // For each chain ID met so far, how many of its users are not deleted yet.
    let mut remaining_users: HashMap<ChainIdx, usize> = HashMap::new();
    let mut actions = Vec::new();
    for &i in graph.children_first() {
        if decisions.verdict(i) != Verdict::Delete {
            continue;
        }
        let mut bytes = 0;
        for &c in graph.chains(i) {
            let remaining = remaining_users
                .entry(c)
                .or_insert(graph.chain_users(c).len());
            *remaining -= 1;
            if *remaining == 0 {
                bytes += graph.chain_size(c);
            }
        }
        actions.push(action(graph, decisions, i, ActionKind::Delete, bytes));
    }
    actions
}

fn action(
    graph: &Graph,
    decisions: &Decisions,
    i: ImageIdx,
    kind: ActionKind,
    bytes: u64,
) -> Action {
    let image = graph.image(i);
    let decision = decisions.decision(i);
    Action {
        kind,
        image_id: image.id.clone(),
        references: decision.removed_references.clone(),
        expected_tags: image.tags.clone(),
        expected_repo_digests: image.repo_digests.clone(),
        parent: graph.parent(i).map(|p| graph.image(p).id.clone()),
        created: image.created,
        size: image.size,
        bytes,
        reasons: decision.reasons.clone(),
    }
}

fn kept_images(graph: &Graph, decisions: &Decisions) -> Vec<Kept> {
    graph
        .images_by_id()
        .iter()
        .filter(|&&i| decisions.verdict(i) == Verdict::Keep)
        .map(|&i| {
            let image = graph.image(i);
            Kept {
                image_id: image.id.clone(),
                tags: image.tags.clone(),
                size: image.size,
                reasons: decisions.decision(i).reasons.clone(),
            }
        })
        .collect()
}
