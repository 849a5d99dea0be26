//! Decisions: keep, untag or delete, for each image, with the reasons.
//!
//! Every decision carries its reasons, kept images too, so that `shed why` and `shed plan` can
//! say why an image goes or stays. A [`Reason`] is structured (it is part of the plan's JSON
//! schema) and displays as one short English clause.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::filter::PruneFilters;
use crate::graph::{Graph, ImageIdx};
use crate::ids::ImageId;
use crate::inventory::{ContainerState, Image, Timestamp};

/// Why an image is kept, untagged or deleted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Reason {
    /// A container in some state uses the image (invariant 1).
    InUse {
        container: String,
        state: ContainerState,
    },
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
    /// Policy: a reference of the image matches a `protect.references` pattern.
    ProtectedReference { reference: String, pattern: String },
    /// Policy: the image's labels pass a `protect.labels` test.
    ProtectedLabel { label: String },
    /// Policy: the image is younger than `protect.min_age`.
    YoungerThanMinAge { min_age: String },
    /// Policy: a `keep` or `delete` rule decided a reference (`None`: the untagged image).
    Rule {
        rule: String,
        action: String,
        reference: Option<String>,
    },
    /// Policy: a `retain` rule ranked the image `rank` (1 = newest) in `group`, and keeps the
    /// `keep` newest; `kept` says which side of that line it fell on.
    Retain {
        rule: String,
        reference: Option<String>,
        group: String,
        rank: usize,
        keep: usize,
        kept: bool,
    },
    /// Policy: a `retain` rule with `newest_minors` removes a minor that is not among them.
    OldMinor {
        rule: String,
        reference: Option<String>,
        minor: String,
        newest_minors: usize,
    },
    /// Policy: no rule matched a reference; the policy's `default` decided it.
    PolicyDefault {
        action: String,
        reference: Option<String>,
    },
    /// Policy: a rule or the default would remove a reference (`removal` says which and why),
    /// but the image stays, protected (invariant 4); the reasons before this one say how.
    Overruled { removal: Box<Reason> },
}

/// How a policy reason names what it decided: the tag, or the image when it has none.
fn subject(reference: &Option<String>) -> &str {
    reference.as_deref().unwrap_or("the untagged image")
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::InUse { container, state } => {
                write!(f, "in use by {} container {container}", state.as_str())
            }
            Reason::ParentOfKept { child_name, .. } => {
                write!(f, "parent of kept image {child_name}")
            }
            Reason::Tagged => f.write_str("has tags (not dangling)"),
            Reason::HasChildren { children: 1 } => f.write_str("an image is built on it"),
            Reason::HasChildren { children } => write!(f, "{children} images are built on it"),
            Reason::NewerThanUntil { until } => {
                write!(f, "created after until={}", until.to_rfc3339())
            }
            Reason::LabelFilter { filter } => write!(f, "does not pass filter {filter}"),
            Reason::Dangling => f.write_str("dangling, unused"),
            Reason::Unused => f.write_str("no container uses it"),
            Reason::ProtectedReference { reference, pattern } => {
                write!(f, "protected: {reference} matches {pattern:?}")
            }
            Reason::ProtectedLabel { label } => write!(f, "protected by label {label}"),
            Reason::YoungerThanMinAge { min_age } => {
                write!(f, "protected: younger than min_age {min_age}")
            }
            Reason::Rule {
                rule,
                action,
                reference,
            } => {
                let done = if action == "delete" {
                    "removed"
                } else {
                    "kept"
                };
                write!(f, "{}: {done} by rule {rule:?}", subject(reference))
            }
            Reason::Retain {
                rule,
                reference,
                group,
                rank,
                keep,
                kept: true,
            } => write!(
                f,
                "{}: newest #{rank} in {group}, within the {keep} rule {rule:?} retains",
                subject(reference)
            ),
            Reason::Retain {
                rule,
                reference,
                group,
                rank,
                keep,
                kept: false,
            } => write!(
                f,
                "{}: newest #{rank} in {group}, beyond the {keep} rule {rule:?} retains",
                subject(reference)
            ),
            Reason::OldMinor {
                rule,
                reference,
                minor,
                newest_minors,
            } => write!(
                f,
                "{}: minor {minor} is not among the {newest_minors} newest (rule {rule:?})",
                subject(reference)
            ),
            Reason::PolicyDefault { action, reference } => {
                write!(
                    f,
                    "{}: no rule matches, default {action}",
                    subject(reference)
                )
            }
            Reason::ParentOfDeleted { child } => {
                write!(f, "untagged parent of deleted image {}", child.short())
            }
            Reason::Overruled { removal } => overruled(f, removal),
        }
    }
}

/// A removal that a protection overrules, as a conditional: `rule "old" would remove a:1
/// (protected)`, so that a kept image's reasons never read as if it went.
fn overruled(f: &mut fmt::Formatter<'_>, removal: &Reason) -> fmt::Result {
    match removal {
        Reason::Rule {
            rule, reference, ..
        } => write!(f, "rule {rule:?} would remove {}", subject(reference))?,
        Reason::Retain {
            rule,
            reference,
            group,
            rank,
            keep,
            ..
        } => write!(
            f,
            "rule {rule:?} would remove {}, newest #{rank} in {group}, beyond the {keep} it \
             retains",
            subject(reference)
        )?,
        Reason::OldMinor {
            rule,
            reference,
            minor,
            newest_minors,
        } => write!(
            f,
            "rule {rule:?} would remove {}, as minor {minor} is not among the {newest_minors} \
             newest",
            subject(reference)
        )?,
        Reason::PolicyDefault { action, reference } => {
            write!(f, "default {action} would remove {}", subject(reference))?
        }
        other => write!(f, "overruled: {other}")?,
    }
    f.write_str(" (protected)")
}

/// What a run selects when no policy file is given: `docker image prune`'s set, or with
/// `all` (`--all`) `docker image prune -a`'s, narrowed by prune's filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub all: bool,
    pub filters: PruneFilters,
}

impl Selection {
    /// The selection in words, for the plan: `dangling images` or `unused images`, then the
    /// filters as the user wrote them (`unused images, until=24h`).
    pub fn describe(&self) -> String {
        let base = if self.all {
            "unused images"
        } else {
            "dangling images"
        };
        let mut text = base.to_owned();
        for filter in &self.filters.written {
            text.push_str(", ");
            text.push_str(filter);
        }
        text
    }
}

/// What happens to one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Keep,
    /// Some references go; the image stays.
    Untag,
    /// Every reference goes, then the image.
    Delete,
}

/// The decision for one image, with its reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub verdict: Verdict,
    /// The references the decision removes: for a delete, all tags then all repo digests;
    /// empty for a keep.
    pub removed_references: Vec<String>,
    pub reasons: Vec<Reason>,
}

impl Decision {
    fn keep(reasons: Vec<Reason>) -> Decision {
        Decision {
            verdict: Verdict::Keep,
            removed_references: Vec::new(),
            reasons,
        }
    }

    fn delete(image: &Image, reason: Reason) -> Decision {
        let removed_references = image.references().map(str::to_owned).collect();
        Decision {
            verdict: Verdict::Delete,
            removed_references,
            reasons: vec![reason],
        }
    }
}

/// One decision per image of a graph, indexed like the graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decisions {
    decisions: Vec<Decision>,
}

impl Decisions {
    /// Wraps decisions made elsewhere (a policy). `decisions[i]` must be the decision for the
    /// image at index `i` of the graph they are used with, one for every image.
    pub fn from_vec(decisions: Vec<Decision>) -> Decisions {
        Decisions { decisions }
    }

    /// The decision for an image of the graph these decisions were made for.
    pub fn decision(&self, i: ImageIdx) -> &Decision {
        &self.decisions[i.index()]
    }

    pub fn verdict(&self, i: ImageIdx) -> Verdict {
        self.decision(i).verdict
    }

    pub fn len(&self) -> usize {
        self.decisions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.decisions.is_empty()
    }

    /// Every decision in graph index order (the inventory's order), which is deterministic
    /// for a given inventory; the plan sorts by image ID where order is visible.
    pub fn iter(&self) -> impl Iterator<Item = (ImageIdx, &Decision)> + '_ {
        self.decisions
            .iter()
            .enumerate()
            .map(|(i, d)| (ImageIdx::from_index(i), d))
    }
}

/// Decides every image as the engine's prune would, image by image (Docker 20.10, classic
/// store, `daemon/images/image_prune.go`), with shed's two safety fixes:
///
/// - Candidates: with `all`, every image; otherwise only images without children. An untagged
///   image with children is never one (it is an intermediate image of a build).
/// - A candidate that fails `until` or `label`/`label!` is kept; without `all`, a tagged one
///   is kept. The rest is selected (`Dangling`, or `Unused` with `all`), unless in use.
/// - In use (a container in any state) is kept with all its tags. Prune `-a` would untag it
///   down to its last tag.
/// - An image with a kept child is kept, even when selected: prune `-a` would untag it, which
///   frees nothing.
/// - An untagged image no container uses, whose children are all deleted, is deleted too,
///   whatever the filters say, recursively up the parents: the engine's prune deletes with
///   `prune=true`, which removes such parents as it goes. The engine stops at a parent that
///   still has a repo digest (it deletes it only on the next prune); shed deletes it in the
///   same plan, so that a plan applied leaves nothing for the next one.
///
/// Pure: `until` is an absolute time inside the filters.
pub fn decide(graph: &Graph, selection: &Selection) -> Decisions {
    let mut decisions: Vec<Decision> = graph
        .images()
        .map(|i| first_decision(graph, selection, i))
        .collect();
    // Children come before parents, so every child's verdict is final when its parent's
    // turn comes.
    for &i in graph.children_first() {
        let decision = settle_family(graph, &decisions, i);
        if let Some(decision) = decision {
            decisions[i.index()] = decision;
        }
    }
    Decisions { decisions }
}

/// The decision for an image on its own, before looking at its children's verdicts.
fn first_decision(graph: &Graph, selection: &Selection, i: ImageIdx) -> Decision {
    let image = graph.image(i);
    let mut reasons = in_use_reasons(graph, i);
    let has_children = !graph.children(i).is_empty();
    let is_candidate = if image.is_untagged() {
        !has_children
    } else {
        selection.all || !has_children
    };

    if image.is_untagged() && has_children {
        reasons.push(Reason::HasChildren {
            children: graph.children(i).len(),
        });
    }
    if !selection.all && !image.is_untagged() {
        reasons.push(Reason::Tagged);
    }
    if is_candidate {
        reasons.extend(filter_reasons(&selection.filters, image));
    }

    if reasons.is_empty() {
        let reason = if selection.all {
            Reason::Unused
        } else {
            Reason::Dangling
        };
        Decision::delete(image, reason)
    } else {
        Decision::keep(reasons)
    }
}

fn in_use_reasons(graph: &Graph, i: ImageIdx) -> Vec<Reason> {
    graph
        .containers_of(i)
        .iter()
        .map(|&c| {
            let container = graph.container(c);
            Reason::InUse {
                container: container.display_name().to_owned(),
                state: container.state,
            }
        })
        .collect()
}

fn filter_reasons(filters: &PruneFilters, image: &Image) -> Vec<Reason> {
    let mut reasons = Vec::new();
    if let Some(until) = filters.until
        && !filters.passes_until(image)
    {
        reasons.push(Reason::NewerThanUntil { until });
    }
    if !filters.passes_labels(image) {
        reasons.push(Reason::LabelFilter {
            filter: label_filter_text(filters),
        });
    }
    reasons
}

/// The label filters as written (`label=ci, label!=keep`), or rebuilt from the parsed tests
/// when the filters were made without their text.
fn label_filter_text(filters: &PruneFilters) -> String {
    let written: Vec<&str> = filters
        .written
        .iter()
        .map(String::as_str)
        .filter(|text| text.starts_with("label"))
        .collect();
    if !written.is_empty() {
        return written.join(", ");
    }
    let render = |key: &str, test: &crate::filter::LabelTest| match &test.value {
        Some(value) => format!("{key}={}={value}", test.key),
        None => format!("{key}={}", test.key),
    };
    let tests = filters.label.iter().map(|t| render("label", t));
    let not_tests = filters.label_not.iter().map(|t| render("label!", t));
    tests.chain(not_tests).collect::<Vec<_>>().join(", ")
}

/// The decision for an image once its children's verdicts are final, when they change it:
/// an image with a kept child is kept (invariant 4), and an untagged, unused image whose
/// children are all deleted is deleted with them.
fn settle_family(graph: &Graph, decisions: &[Decision], i: ImageIdx) -> Option<Decision> {
    let children = graph.children(i);
    if children.is_empty() {
        return None;
    }
    let current = &decisions[i.index()];
    let kept_child = children
        .iter()
        .filter(|&&child| decisions[child.index()].verdict != Verdict::Delete)
        .min_by_key(|&&child| graph.id_rank(child));

    match kept_child {
        Some(&child) => {
            let reason = parent_of_kept(graph, child);
            // A selected image that must stay is kept for this reason alone.
            let mut reasons = match current.verdict {
                Verdict::Delete => Vec::new(),
                Verdict::Keep | Verdict::Untag => current.reasons.clone(),
            };
            reasons.push(reason);
            Some(Decision::keep(reasons))
        }
        None if current.verdict == Verdict::Keep
            && graph.image(i).is_untagged()
            && !graph.is_in_use(i) =>
        {
            let first_child = children
                .iter()
                .min_by_key(|&&child| graph.id_rank(child))
                .map(|&child| graph.image(child).id.clone())?;
            Some(Decision::delete(
                graph.image(i),
                Reason::ParentOfDeleted { child: first_child },
            ))
        }
        None => None,
    }
}

fn parent_of_kept(graph: &Graph, child: ImageIdx) -> Reason {
    let image = graph.image(child);
    let child_name = image
        .tags
        .first()
        .cloned()
        .unwrap_or_else(|| image.id.short());
    Reason::ParentOfKept {
        child: image.id.clone(),
        child_name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::LabelTest;
    use crate::inventory::ContainerState::{Created, Exited, Running};
    use crate::testkit::{InventoryBuilder, at, image, image_id};

    const DANGLING: Selection = Selection {
        all: false,
        filters: empty_filters(),
    };
    const ALL: Selection = Selection {
        all: true,
        filters: empty_filters(),
    };

    const fn empty_filters() -> PruneFilters {
        PruneFilters {
            until: None,
            label: Vec::new(),
            label_not: Vec::new(),
            written: Vec::new(),
        }
    }

    /// The decision for image `n`.
    fn decision_of(graph: &Graph, decisions: &Decisions, n: u32) -> Decision {
        let i = graph
            .find(&image_id(n))
            .expect("image n is in the inventory");
        decisions.decision(i).clone()
    }

    fn verdicts(graph: &Graph, selection: &Selection, images: &[u32]) -> Vec<Verdict> {
        let decisions = decide(graph, selection);
        images
            .iter()
            .map(|&n| decision_of(graph, &decisions, n).verdict)
            .collect()
    }

    #[test]
    fn dangling_image_is_deleted_with_its_repo_digest() {
        let graph = InventoryBuilder::new()
            .image(image(1).digests(&["bb@sha256:d1"]))
            .image(image(2).tags(&["bb:1"]))
            .graph();
        let decisions = decide(&graph, &DANGLING);
        let dangling = decision_of(&graph, &decisions, 1);
        assert_eq!(dangling.verdict, Verdict::Delete);
        assert_eq!(dangling.reasons, vec![Reason::Dangling]);
        assert_eq!(dangling.removed_references, vec!["bb@sha256:d1"]);
        assert_eq!(
            decision_of(&graph, &decisions, 2).reasons,
            vec![Reason::Tagged]
        );
    }

    #[test]
    fn multi_tag_image_used_by_stopped_container_keeps_all_tags_with_all() {
        let graph = InventoryBuilder::new()
            .image(image(1).tags(&["app:1", "app:latest", "app:stable"]))
            .container("job", 1, Exited)
            .graph();
        let decisions = decide(&graph, &ALL);
        let kept = decision_of(&graph, &decisions, 1);
        assert_eq!(kept.verdict, Verdict::Keep);
        assert!(kept.removed_references.is_empty());
        assert_eq!(
            kept.reasons,
            vec![Reason::InUse {
                container: "job".into(),
                state: Exited
            }]
        );
    }

    #[test]
    fn running_and_created_only_containers_both_keep_their_image() {
        let graph = InventoryBuilder::new()
            .image(image(1))
            .image(image(2))
            .image(image(3))
            .container("web", 1, Running)
            .container("never-started", 2, Created)
            .graph();
        assert_eq!(
            verdicts(&graph, &DANGLING, &[1, 2, 3]),
            [Verdict::Keep, Verdict::Keep, Verdict::Delete]
        );
        let decisions = decide(&graph, &DANGLING);
        let reasons = decision_of(&graph, &decisions, 2).reasons;
        assert_eq!(
            reasons,
            vec![Reason::InUse {
                container: "never-started".into(),
                state: Created
            }]
        );
    }

    #[test]
    fn image_used_by_two_containers_lists_both() {
        let graph = InventoryBuilder::new()
            .image(image(1))
            .container("a", 1, Running)
            .container("b", 1, Exited)
            .graph();
        let decisions = decide(&graph, &DANGLING);
        assert_eq!(decision_of(&graph, &decisions, 1).reasons.len(), 2);
    }

    #[test]
    fn dangling_rebuilds_go_except_the_one_an_exited_container_uses() {
        // Three rebuilds of app:1 on one base; the tag moved to the newest each time.
        let graph = InventoryBuilder::new()
            .image(image(1).tags(&["base:1"]).layers(&[1]))
            .image(image(2).layers(&[1, 2]).created(1))
            .image(image(3).layers(&[1, 3]).created(2))
            .image(image(4).tags(&["app:1"]).layers(&[1, 4]).created(3))
            .container("old-run", 2, Exited)
            .graph();
        assert_eq!(
            verdicts(&graph, &DANGLING, &[1, 2, 3, 4]),
            [Verdict::Keep, Verdict::Keep, Verdict::Delete, Verdict::Keep]
        );
    }

    #[test]
    fn classic_builder_child_kept_keeps_its_untagged_parent() {
        let graph = InventoryBuilder::new()
            .image(image(1).tags(&["base:1"]).layers(&[1]))
            .image(image(2).parent(1).layers(&[1, 2]))
            .image(image(3).parent(2).tags(&["app:1"]).layers(&[1, 2, 3]))
            .graph();
        let decisions = decide(&graph, &DANGLING);
        let intermediate = decision_of(&graph, &decisions, 2);
        assert_eq!(intermediate.verdict, Verdict::Keep);
        assert_eq!(
            intermediate.reasons,
            vec![
                Reason::HasChildren { children: 1 },
                Reason::ParentOfKept {
                    child: image_id(3),
                    child_name: "app:1".into()
                }
            ]
        );
    }

    #[test]
    fn all_keeps_tagged_parent_of_an_image_in_use() {
        let graph = InventoryBuilder::new()
            .image(image(1).tags(&["base:1"]).layers(&[1]))
            .image(image(2).parent(1).layers(&[1, 2]))
            .image(image(3).parent(2).tags(&["app:1"]).layers(&[1, 2, 3]))
            .image(image(4).tags(&["other:1"]).layers(&[9]))
            .container("web", 3, Running)
            .graph();
        assert_eq!(
            verdicts(&graph, &ALL, &[1, 2, 3, 4]),
            [Verdict::Keep, Verdict::Keep, Verdict::Keep, Verdict::Delete]
        );
        let decisions = decide(&graph, &ALL);
        let base = decision_of(&graph, &decisions, 1);
        assert_eq!(
            base.reasons,
            vec![Reason::ParentOfKept {
                child: image_id(2),
                child_name: image_id(2).short()
            }]
        );
        assert_eq!(
            decision_of(&graph, &decisions, 4).reasons,
            vec![Reason::Unused]
        );
    }

    #[test]
    fn deleting_a_child_deletes_its_untagged_parent_chain() {
        let graph = InventoryBuilder::new()
            .image(image(1).tags(&["base:1"]).layers(&[1]))
            .image(image(2).parent(1).layers(&[1, 2]))
            .image(image(3).parent(2).layers(&[1, 2, 3]))
            .image(image(4).parent(3).layers(&[1, 2, 3, 4]))
            .graph();
        assert_eq!(
            verdicts(&graph, &DANGLING, &[1, 2, 3, 4]),
            [
                Verdict::Keep,
                Verdict::Delete,
                Verdict::Delete,
                Verdict::Delete
            ]
        );
        let decisions = decide(&graph, &DANGLING);
        assert_eq!(
            decision_of(&graph, &decisions, 2).reasons,
            vec![Reason::ParentOfDeleted { child: image_id(3) }]
        );
    }

    #[test]
    fn untagged_parent_with_a_surviving_child_stays() {
        let graph = InventoryBuilder::new()
            .image(image(2).layers(&[2]))
            .image(image(3).parent(2).layers(&[2, 3]))
            .image(image(4).parent(2).layers(&[2, 4]))
            .container("c", 4, Exited)
            .graph();
        assert_eq!(
            verdicts(&graph, &DANGLING, &[2, 3, 4]),
            [Verdict::Keep, Verdict::Delete, Verdict::Keep]
        );
    }

    #[test]
    fn parent_chain_deletion_ignores_filters() {
        let mut selection = DANGLING;
        selection.filters.until = Some(at(5));
        let graph = InventoryBuilder::new()
            .image(image(2).layers(&[2]).created(10))
            .image(image(3).parent(2).layers(&[2, 3]).created(1))
            .graph();
        assert_eq!(
            verdicts(&graph, &selection, &[2, 3]),
            [Verdict::Delete, Verdict::Delete]
        );
    }

    #[test]
    fn until_keeps_images_created_after_it() {
        let mut selection = DANGLING;
        selection.filters.until = Some(at(5));
        let graph = InventoryBuilder::new()
            .image(image(1).created(4))
            .image(image(2).created(5))
            .image(image(3).created(6))
            .graph();
        assert_eq!(
            verdicts(&graph, &selection, &[1, 2, 3]),
            [Verdict::Delete, Verdict::Delete, Verdict::Keep]
        );
        let decisions = decide(&graph, &selection);
        assert_eq!(
            decision_of(&graph, &decisions, 3).reasons,
            vec![Reason::NewerThanUntil { until: at(5) }]
        );
    }

    #[test]
    fn label_filters_select_and_exclude() {
        let mut selection = ALL;
        selection.filters.label = vec![LabelTest {
            key: "ci".into(),
            value: None,
        }];
        selection.filters.label_not = vec![LabelTest {
            key: "keep".into(),
            value: Some("yes".into()),
        }];
        selection.filters.written = vec!["label=ci".into(), "label!=keep=yes".into()];
        let graph = InventoryBuilder::new()
            .image(image(1).tags(&["a:1"]).label("ci", "1"))
            .image(
                image(2)
                    .tags(&["b:1"])
                    .label("ci", "1")
                    .label("keep", "yes"),
            )
            .image(image(3).tags(&["c:1"]))
            .graph();
        assert_eq!(
            verdicts(&graph, &selection, &[1, 2, 3]),
            [Verdict::Delete, Verdict::Keep, Verdict::Keep]
        );
        let decisions = decide(&graph, &selection);
        let filter = "label=ci, label!=keep=yes".to_owned();
        assert_eq!(
            decision_of(&graph, &decisions, 3).reasons,
            vec![Reason::LabelFilter { filter }]
        );
    }

    #[test]
    fn all_deletes_every_unused_image_with_all_its_references() {
        let graph = InventoryBuilder::new()
            .image(image(1).tags(&["a:1", "a:latest"]).digests(&["a@sha256:d"]))
            .image(image(2))
            .graph();
        let decisions = decide(&graph, &ALL);
        let a = decision_of(&graph, &decisions, 1);
        assert_eq!(a.verdict, Verdict::Delete);
        assert_eq!(a.removed_references, vec!["a:1", "a:latest", "a@sha256:d"]);
        assert_eq!(
            decision_of(&graph, &decisions, 2).reasons,
            vec![Reason::Unused]
        );
    }

    #[test]
    fn selection_describes_itself_with_written_filters() {
        let mut selection = ALL;
        selection.filters.written = vec!["until=24h".into()];
        assert_eq!(selection.describe(), "unused images, until=24h");
        assert_eq!(DANGLING.describe(), "dangling images");
    }
}
