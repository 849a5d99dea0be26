//! Property tests of the default decisions and the plan on generated inventories.
//!
//! Each case is a random forest of classic-builder parents whose children extend their
//! parent's layer stack, roots drawn from a small pool of layers (so unrelated images share
//! bases), random tags, repo digests and labels, and random containers in every state. The
//! selection (`--all` or not, `until`, `label`, `label!`) is random too. The properties are
//! DESIGN.md's safety invariants 1, 4 and 5, and determinism.

use std::collections::HashSet;

use proptest::prelude::*;
use proptest::sample::Index;

use shed_core::decide::{Decisions, Selection, Verdict, decide};
use shed_core::filter::{LabelTest, PruneFilters};
use shed_core::graph::Graph;
use shed_core::inventory::{ContainerState, Inventory};
use shed_core::plan::{ActionKind, Plan, make_plan};
use shed_core::plan_file::{parse_plan, write_plan};
use shed_core::snapshot::{parse_snapshot, write_snapshot};
use shed_core::testkit::{InventoryBuilder, LAYER_BYTES, at, image};

const STATES: [ContainerState; 7] = [
    ContainerState::Created,
    ContainerState::Running,
    ContainerState::Paused,
    ContainerState::Restarting,
    ContainerState::Removing,
    ContainerState::Exited,
    ContainerState::Dead,
];

#[derive(Debug, Clone)]
struct GenImage {
    parent: Option<Index>,
    /// New layers on top of the parent's stack, or the whole stack of a root.
    layers: Vec<u32>,
    tags: Vec<u8>,
    has_digest: bool,
    created: i64,
    labels: (bool, bool),
}

#[derive(Debug, Clone)]
struct Case {
    images: Vec<GenImage>,
    containers: Vec<(Index, usize)>,
    all: bool,
    until: Option<i64>,
    label: Option<bool>,
    label_not: Option<bool>,
}

fn gen_image() -> impl Strategy<Value = GenImage> {
    (
        proptest::option::weighted(0.6, any::<Index>()),
        proptest::collection::vec(1u32..10, 0..3),
        proptest::collection::vec(0u8..8, 0..3),
        any::<bool>(),
        0i64..10,
        (any::<bool>(), any::<bool>()),
    )
        .prop_map(
            |(parent, layers, tags, has_digest, created, labels)| GenImage {
                parent,
                layers,
                tags,
                has_digest,
                created,
                labels,
            },
        )
}

fn gen_case() -> impl Strategy<Value = Case> {
    (
        proptest::collection::vec(gen_image(), 1..24),
        proptest::collection::vec((any::<Index>(), 0..STATES.len()), 0..6),
        any::<bool>(),
        proptest::option::of(0i64..10),
        proptest::option::of(any::<bool>()),
        proptest::option::of(any::<bool>()),
    )
        .prop_map(|(images, containers, all, until, label, label_not)| Case {
            images,
            containers,
            all,
            until,
            label,
            label_not,
        })
}

impl Case {
    fn inventory(&self) -> Inventory {
        let mut builder = InventoryBuilder::new();
        let mut stacks: Vec<Vec<u32>> = Vec::new();
        let mut claimed_tags: HashSet<u8> = HashSet::new();
        for (k, generated) in self.images.iter().enumerate() {
            // A parent always comes earlier, so the forest has no cycles.
            let parent = generated.parent.filter(|_| k > 0).map(|at| at.index(k));
            let mut stack = parent.map(|p| stacks[p].clone()).unwrap_or_default();
            stack.extend(&generated.layers);
            let tags: Vec<String> = generated
                .tags
                .iter()
                .filter(|&&t| claimed_tags.insert(t))
                .map(|t| format!("r{}:{t}", t / 3))
                .collect();
            let tag_refs: Vec<&str> = tags.iter().map(String::as_str).collect();
            let n = number(k);
            let digest = format!("r@sha256:{n:064x}");
            let digests: Vec<&str> = if generated.has_digest {
                vec![&digest]
            } else {
                vec![]
            };
            let mut spec = image(n)
                .layers(&stack)
                .tags(&tag_refs)
                .digests(&digests)
                .created(generated.created);
            if let Some(p) = parent {
                spec = spec.parent(number(p));
            }
            if generated.labels.0 {
                spec = spec.label("ci", "1");
            }
            if generated.labels.1 {
                spec = spec.label("keep", "yes");
            }
            builder = builder.image(spec);
            stacks.push(stack);
        }
        for (c, (at, state)) in self.containers.iter().enumerate() {
            let k = at.index(self.images.len());
            builder = builder.container(&format!("c{c}"), number(k), STATES[*state]);
        }
        builder.build()
    }

    fn selection(&self) -> Selection {
        let test = |key: &str, with_value: bool| LabelTest {
            key: key.to_owned(),
            value: with_value.then(|| if key == "ci" { "1" } else { "yes" }.to_owned()),
        };
        let filters = PruneFilters {
            until: self.until.map(at),
            label: self.label.map(|v| test("ci", v)).into_iter().collect(),
            label_not: self
                .label_not
                .map(|v| test("keep", v))
                .into_iter()
                .collect(),
            written: Vec::new(),
        };
        Selection {
            all: self.all,
            filters,
        }
    }
}

/// Image numbers start at 1 so that no image ID is all zeros.
fn number(k: usize) -> u32 {
    u32::try_from(k).expect("few images") + 1
}

fn plan(graph: &Graph, selection: &Selection) -> (Decisions, Plan) {
    let decisions = decide(graph, selection);
    let plan = make_plan(graph, &decisions, &selection.describe(), at(100));
    (decisions, plan)
}

/// The inventory after applying the plan: deleted images gone, untagged references gone.
fn apply(inventory: &Inventory, plan: &Plan) -> Inventory {
    let mut after = inventory.clone();
    let deleted: HashSet<_> = plan
        .actions
        .iter()
        .filter(|a| a.kind == ActionKind::Delete)
        .map(|a| a.image_id.clone())
        .collect();
    after.images.retain(|image| !deleted.contains(&image.id));
    for action in plan.actions.iter().filter(|a| a.kind == ActionKind::Untag) {
        let image = after.images.iter_mut().find(|i| i.id == action.image_id);
        let image = image.expect("an untagged image stays");
        image.tags.retain(|t| !action.references.contains(t));
        image
            .repo_digests
            .retain(|d| !action.references.contains(d));
    }
    after
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn in_use_images_are_never_deleted_nor_stripped_of_their_last_tag(case in gen_case()) {
        let graph = Graph::new(case.inventory());
        let (decisions, plan) = plan(&graph, &case.selection());
        for i in graph.images().filter(|&i| graph.is_in_use(i)) {
            prop_assert_ne!(decisions.verdict(i), Verdict::Delete);
        }
        for action in &plan.actions {
            let i = graph.find(&action.image_id).expect("actions name images of the graph");
            if graph.is_in_use(i) {
                prop_assert_eq!(action.kind, ActionKind::Untag);
                let left = action.expected_tags.iter().filter(|t| !action.references.contains(t));
                prop_assert!(left.count() > 0);
            }
        }
    }

    #[test]
    fn no_parent_of_a_kept_image_is_deleted(case in gen_case()) {
        let graph = Graph::new(case.inventory());
        let decisions = decide(&graph, &case.selection());
        for kept in graph.images().filter(|&i| decisions.verdict(i) != Verdict::Delete) {
            let mut ancestor = graph.parent(kept);
            while let Some(a) = ancestor {
                prop_assert_ne!(decisions.verdict(a), Verdict::Delete);
                ancestor = graph.parent(a);
            }
        }
    }

    #[test]
    fn dangling_mode_deletes_no_tagged_image_it_selected(case in gen_case()) {
        let graph = Graph::new(case.inventory());
        let selection = Selection { all: false, ..case.selection() };
        let decisions = decide(&graph, &selection);
        for i in graph.images().filter(|&i| decisions.verdict(i) == Verdict::Delete) {
            prop_assert!(graph.image(i).tags.is_empty());
        }
    }

    #[test]
    fn applied_plan_leaves_an_empty_plan_and_frees_its_bytes(case in gen_case()) {
        let inventory = case.inventory();
        let selection = case.selection();
        let before = Graph::new(inventory.clone());
        let (_, first) = plan(&before, &selection);

        let after = Graph::new(apply(&inventory, &first));
        let (_, second) = plan(&after, &selection);
        prop_assert!(second.is_empty(), "second plan: {:?}", second.actions);
        let freed = before.total_layer_bytes() - after.total_layer_bytes();
        prop_assert_eq!(first.totals.bytes, freed);
    }

    #[test]
    fn action_bytes_add_up_to_the_reclaimable_bytes_of_the_deleted_set(case in gen_case()) {
        let graph = Graph::new(case.inventory());
        let (decisions, plan) = plan(&graph, &case.selection());
        let deleted = graph.images().filter(|&i| decisions.verdict(i) == Verdict::Delete);
        let sum: u64 = plan.actions.iter().map(|a| a.bytes).sum();
        prop_assert_eq!(sum, graph.reclaimable_bytes(deleted));
        prop_assert_eq!(sum, plan.totals.bytes);
        prop_assert!(sum <= graph.total_layer_bytes());
        prop_assert_eq!(sum % LAYER_BYTES, 0);
    }

    #[test]
    fn children_are_deleted_before_their_parents(case in gen_case()) {
        let graph = Graph::new(case.inventory());
        let (_, plan) = plan(&graph, &case.selection());
        let mut deleted = HashSet::new();
        for action in &plan.actions {
            let i = graph.find(&action.image_id).expect("actions name images of the graph");
            for &child in graph.children(i) {
                prop_assert!(deleted.contains(&child), "a parent came before its child");
            }
            deleted.insert(i);
        }
    }

    #[test]
    fn same_inventory_gives_the_same_json_in_any_order(case in gen_case()) {
        let selection = case.selection();
        let inventory = case.inventory();
        let once = serde_json::to_string(&plan(&Graph::new(inventory.clone()), &selection).1);
        let twice = serde_json::to_string(&plan(&Graph::new(inventory.clone()), &selection).1);
        let mut reversed = inventory;
        reversed.images.reverse();
        reversed.containers.reverse();
        let reordered = serde_json::to_string(&plan(&Graph::new(reversed), &selection).1);
        let once = once.expect("a plan serializes");
        prop_assert_eq!(&once, &twice.expect("a plan serializes"));
        prop_assert_eq!(&once, &reordered.expect("a plan serializes"));
    }

    #[test]
    fn every_snapshot_and_plan_reads_back_from_its_file(case in gen_case()) {
        // The file checks accept everything the core writes: an engine's inventory and the
        // plans made from it are never refused as malformed.
        let inventory = case.inventory();
        let text = write_snapshot(&inventory);
        prop_assert_eq!(parse_snapshot(&text), Ok(inventory.clone()));
        let (_, plan) = plan(&Graph::new(inventory), &case.selection());
        prop_assert_eq!(parse_plan(&write_plan(&plan)), Ok(plan));
    }
}
