//! The plan: the ordered actions that carry out a set of decisions.
//!
//! A plan is data. It is printed (`shed plan`), saved (`shed plan -o FILE`) and applied
//! (`shed apply`), and its JSON form is a documented, versioned schema
//! (docs/schema/plan.md). Each action says what it removes, what the executor must find before
//! it may act (the references and the image the plan saw), why, and how many bytes it frees.
//!
//! Order: every untag comes before every delete; a child image is deleted before its parent.

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
    push_delete_actions(graph, decisions, &mut actions);
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

/// Appends the deletes to `actions`, children first.
fn push_delete_actions(graph: &Graph, decisions: &Decisions, actions: &mut Vec<Action>) {
    // For each chain ID, how many of its users are not deleted yet.
    let mut remaining_users: Vec<usize> = (0..graph.chain_count())
        .map(|c| graph.chain_users(ChainIdx::from_index(c)).len())
        .collect();
    // Sized up front: at a million images, doubling would briefly hold two copies of the
    // actions, a few hundred megabytes more than the plan itself.
    let deletes = decisions
        .iter()
        .filter(|(_, d)| d.verdict == Verdict::Delete)
        .count();
    actions.reserve_exact(deletes);
    for &i in graph.children_first() {
        if decisions.verdict(i) != Verdict::Delete {
            continue;
        }
        let mut bytes = 0;
        for &c in graph.chains(i) {
            let remaining = &mut remaining_users[c.index()];
            *remaining -= 1;
            if *remaining == 0 {
                bytes += graph.chain_size(c);
            }
        }
        actions.push(action(graph, decisions, i, ActionKind::Delete, bytes));
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::{Decision, Selection, decide};
    use crate::testkit::{InventoryBuilder, at, image, image_id};

    fn plan_for(graph: &Graph, all: bool) -> Plan {
        let selection = Selection {
            all,
            ..Selection::default()
        };
        make_plan(
            graph,
            &decide(graph, &selection),
            &selection.describe(),
            at(2000),
        )
    }

    fn action_ids(plan: &Plan) -> Vec<ImageId> {
        plan.actions.iter().map(|a| a.image_id.clone()).collect()
    }

    #[test]
    fn removing_one_of_two_images_on_a_base_frees_only_its_own_layers() {
        let graph = InventoryBuilder::new()
            .image(image(1).tags(&["base:1"]).layers(&[1, 2]))
            .image(image(2).tags(&["a:1"]).layers(&[1, 2, 3]))
            .image(image(3).layers(&[1, 2, 4]))
            .graph();
        let plan = plan_for(&graph, false);
        assert_eq!(action_ids(&plan), vec![image_id(3)]);
        assert_eq!(plan.actions[0].bytes, 4000);
        assert_eq!(plan.totals.bytes, 4000);
        assert_eq!(plan.totals.images_kept, 2);
    }

    #[test]
    fn children_are_deleted_before_parents_and_bytes_go_to_the_last_user() {
        let graph = InventoryBuilder::new()
            .image(image(1).tags(&["base:1"]).layers(&[1]))
            .image(image(2).parent(1).layers(&[1, 2]))
            .image(image(3).parent(2).layers(&[1, 2, 3]).created(1))
            .image(image(4).parent(2).layers(&[1, 2, 4]).created(2))
            .graph();
        let plan = plan_for(&graph, false);
        // Same depth: the newest first. The parent last, with the layer its children shared.
        assert_eq!(
            action_ids(&plan),
            vec![image_id(4), image_id(3), image_id(2)]
        );
        let bytes: Vec<u64> = plan.actions.iter().map(|a| a.bytes).collect();
        assert_eq!(bytes, vec![4000, 3000, 2000]);
        let deleted = [2, 3, 4].map(|n| graph.find(&image_id(n)).unwrap());
        assert_eq!(plan.totals.bytes, graph.reclaimable_bytes(deleted));
        assert_eq!(plan.actions[2].parent, Some(image_id(1)));
    }

    #[test]
    fn delete_lists_every_reference_and_what_it_expects() {
        let graph = InventoryBuilder::new()
            .image(image(1).tags(&["a:1", "a:2"]).digests(&["a@sha256:d"]))
            .graph();
        let plan = plan_for(&graph, true);
        let action = &plan.actions[0];
        assert_eq!(action.kind, ActionKind::Delete);
        assert_eq!(action.references, vec!["a:1", "a:2", "a@sha256:d"]);
        assert_eq!(action.expected_tags, vec!["a:1", "a:2"]);
        assert_eq!(action.expected_repo_digests, vec!["a@sha256:d"]);
        assert_eq!(plan.totals.references_removed, 3);
        assert_eq!(plan.selection, "unused images");
    }

    #[test]
    fn untags_come_first_sorted_by_image_id_and_free_nothing() {
        let graph = InventoryBuilder::new()
            .image(image(3).layers(&[3]))
            .image(image(2).tags(&["b:1", "b:old"]).layers(&[2]))
            .image(image(1).tags(&["a:1", "a:old"]).layers(&[1]))
            .graph();
        let untag = |old: &str| Decision {
            verdict: Verdict::Untag,
            removed_references: vec![old.to_owned()],
            reasons: vec![Reason::Unused],
        };
        let delete = Decision {
            verdict: Verdict::Delete,
            removed_references: Vec::new(),
            reasons: vec![Reason::Dangling],
        };
        let decisions = Decisions::from_vec(vec![delete, untag("b:old"), untag("a:old")]);
        let plan = make_plan(&graph, &decisions, "policy", at(2000));
        assert_eq!(
            action_ids(&plan),
            vec![image_id(1), image_id(2), image_id(3)]
        );
        let kinds: Vec<ActionKind> = plan.actions.iter().map(|a| a.kind).collect();
        assert_eq!(
            kinds,
            vec![ActionKind::Untag, ActionKind::Untag, ActionKind::Delete]
        );
        assert_eq!(plan.actions[0].references, vec!["a:old"]);
        assert_eq!(plan.actions[0].bytes, 0);
        assert_eq!(plan.totals.bytes, 3000);
        assert_eq!(plan.totals.images_deleted, 1);
    }

    #[test]
    fn kept_images_are_sorted_by_id_with_reasons() {
        let graph = InventoryBuilder::new()
            .image(image(2).tags(&["b:1"]))
            .image(image(1).tags(&["a:1"]))
            .graph();
        let plan = plan_for(&graph, false);
        assert!(plan.is_empty());
        let kept: Vec<&ImageId> = plan.kept.iter().map(|k| &k.image_id).collect();
        assert_eq!(kept, vec![&image_id(1), &image_id(2)]);
        assert_eq!(plan.kept[0].reasons, vec![Reason::Tagged]);
    }

    #[test]
    fn same_inventory_gives_the_same_json() {
        let build = || {
            InventoryBuilder::new()
                .image(image(1).tags(&["base:1"]).layers(&[1]))
                .image(image(2).parent(1).layers(&[1, 2]))
                .image(image(3).layers(&[1, 3]))
                .image(image(4).layers(&[1, 4]))
                .graph()
        };
        let first = serde_json::to_string(&plan_for(&build(), true)).unwrap();
        let second = serde_json::to_string(&plan_for(&build(), true)).unwrap();
        assert_eq!(first, second);
        assert!(first.contains("\"schema\":\"shed.plan/v1\""));
    }
}
