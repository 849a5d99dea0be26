//! The core on an inventory from the containerd image store.
//!
//! The integration tests run on Debian's engine, which uses the classic graphdriver store. This
//! file covers the other store with a hand-made snapshot (testdata/snapshot/containerd-store.json)
//! written from that store's documented and observable behaviour (docs/image-stores.md): image
//! IDs are index or manifest digests, a repo digest names the image ID itself, images built by
//! BuildKit or pulled have no parent, an image whose tag moved away is listed untagged with no
//! repo digest, and sizes are the snapshotter's per-chain usage. The inventory: a golang base
//! under three tags, a second golang release, images built on the base (one per container
//! state that matters), two dangling rebuilds, and an image known only by a pulled digest.

use std::collections::BTreeSet;

use shed_core::decide::{Decisions, Reason, Selection, Verdict, decide};
use shed_core::graph::{Graph, ImageIdx};
use shed_core::ids::ImageId;
use shed_core::inventory::{ContainerState, ImageStore, Inventory};
use shed_core::plan::{ActionKind, Plan, make_plan};
use shed_core::snapshot::{parse_snapshot, write_snapshot};

const FIXTURE: &str = include_str!("../testdata/snapshot/containerd-store.json");

/// The earlier build of `app-api:v1`, whose tag moved to the rebuild: untagged, unused.
const API_REBUILT: &str = "sha256:d89b163f578b83e728cae3f99f9c43562e93e49602d0658c514a6c90aa6cfb91";
/// The earlier build of `app-worker:v1`, still used by the exited container `worker-old`.
const WORKER_REBUILT: &str =
    "sha256:2fdfcf874999ef8c0344d7b5f9c979ee8092fd9ba7dfce1ad701c2b02a9ff085";

/// Bytes of the layers only one image has, from the fixture.
const TOOLS_LAYER: u64 = 41_943_040;
const GO121_TOOLCHAIN: u64 = 222_253_056;
const GOPATH_DIR: u64 = 4_096;
const API_OLD_BINARY: u64 = 25_124_864;
const ALPINE_ROOTFS: u64 = 8_482_816;

fn inventory() -> Inventory {
    parse_snapshot(FIXTURE).expect("the containerd fixture is a valid snapshot")
}

fn graph() -> Graph {
    Graph::new(inventory())
}

fn dangling_only() -> Selection {
    Selection::default()
}

fn every_unused() -> Selection {
    Selection {
        all: true,
        ..Selection::default()
    }
}

fn plan(graph: &Graph, selection: &Selection) -> Plan {
    let decisions = decide(graph, selection);
    let now = inventory().taken_at;
    make_plan(graph, &decisions, &selection.describe(), now)
}

/// The image a tag or an image ID names in the fixture.
fn find(graph: &Graph, reference: &str) -> ImageIdx {
    graph
        .resolve(reference)
        .unwrap_or_else(|| panic!("{reference} is in the fixture"))
}

/// A name for each image: its first tag, or its full image ID.
fn name(graph: &Graph, i: ImageIdx) -> String {
    let image = graph.image(i);
    image
        .tags
        .first()
        .cloned()
        .unwrap_or_else(|| image.id.to_string())
}

fn deleted(graph: &Graph, decisions: &Decisions) -> BTreeSet<String> {
    decisions
        .iter()
        .filter(|(_, decision)| decision.verdict == Verdict::Delete)
        .map(|(i, _)| name(graph, i))
        .collect()
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|name| name.to_string()).collect()
}

/// Whether a reason only exists because of classic-builder parent links.
fn is_about_parents(reason: &Reason) -> bool {
    matches!(
        reason,
        Reason::HasChildren { .. } | Reason::ParentOfKept { .. } | Reason::ParentOfDeleted { .. }
    )
}

#[test]
fn fixture_is_a_snapshot_as_shed_writes_it() {
    let inventory = inventory();
    assert_eq!(inventory.engine.image_store, ImageStore::Containerd);
    assert_eq!(inventory.images.len(), 8);
    assert_eq!(inventory.containers.len(), 4);
    assert_eq!(write_snapshot(&inventory), FIXTURE);
}

#[test]
fn no_image_has_a_parent_and_repo_digests_name_the_image_id() {
    let graph = graph();
    for i in graph.images() {
        assert_eq!(graph.parent(i), None, "{}", name(&graph, i));
        assert!(graph.children(i).is_empty(), "{}", name(&graph, i));
        assert_eq!(graph.depth(i), 0);
        // On this store the image ID is the digest the image was pulled or pushed as.
        let id = &graph.image(i).id;
        for digest in &graph.image(i).repo_digests {
            assert!(digest.ends_with(&format!("@{id}")), "{digest} names {id}");
        }
    }
}

#[test]
fn a_repo_digest_resolves_to_the_image_it_names() {
    let graph = graph();
    let golang = find(&graph, "golang:1.22");
    let id = graph.image(golang).id.clone();
    assert_eq!(graph.resolve(&format!("golang@{id}")), Some(golang));
    assert_eq!(graph.resolve("golang"), Some(golang), "golang:latest");
    assert_eq!(graph.resolve(&id.to_string()[7..19]), Some(golang));
}

#[test]
fn engine_shared_size_agrees_with_the_graph() {
    // The containerd store computes SharedSize over chain IDs that more than one image has,
    // which is the graph's definition of shared bytes.
    let graph = graph();
    for i in graph.images() {
        let image = graph.image(i);
        assert_eq!(
            Some(graph.shared_bytes(i)),
            image.shared_size,
            "{}",
            name(&graph, i)
        );
        assert_eq!(graph.unique_bytes(i) + graph.shared_bytes(i), image.size);
    }
}

#[test]
fn dangling_prune_selects_only_the_unused_rebuild() {
    let graph = graph();
    let decisions = decide(&graph, &dangling_only());
    assert_eq!(deleted(&graph, &decisions), names(&[API_REBUILT]));

    let worker_rebuilt = decisions.decision(find(&graph, WORKER_REBUILT));
    assert_eq!(worker_rebuilt.verdict, Verdict::Keep);
    let in_use = Reason::InUse {
        container: "worker-old".to_owned(),
        state: ContainerState::Exited,
    };
    assert_eq!(worker_rebuilt.reasons, vec![in_use]);

    // An image pulled by digest has a name on this store, so it is not dangling.
    let alpine = graph
        .images()
        .find(|&i| graph.image(i).tags.iter().any(|t| t.starts_with("alpine@")))
        .expect("the alpine image");
    assert_eq!(decisions.decision(alpine).reasons, vec![Reason::Tagged]);
}

#[test]
fn all_selects_every_unused_image_and_nothing_cascades() {
    let graph = graph();
    let decisions = decide(&graph, &every_unused());
    let alpine = graph
        .images()
        .find(|&i| {
            graph
                .image(i)
                .repo_digests
                .iter()
                .any(|d| d.starts_with("alpine@"))
        })
        .map(|i| name(&graph, i))
        .expect("the alpine image");
    let expected = names(&["golang:1.21", "ci-tools:v1", API_REBUILT, &alpine]);
    assert_eq!(deleted(&graph, &decisions), expected);

    for (i, decision) in decisions.iter() {
        let about_parents: Vec<&Reason> = decision
            .reasons
            .iter()
            .filter(|r| is_about_parents(r))
            .collect();
        assert!(
            about_parents.is_empty(),
            "{}: {about_parents:?}",
            name(&graph, i)
        );
    }
}

#[test]
fn every_container_state_keeps_its_image() {
    let graph = graph();
    let decisions = decide(&graph, &every_unused());
    let cases = [
        (
            "registry.example.com:5000/app-api:v1",
            "api",
            ContainerState::Running,
        ),
        (
            "registry.example.com:5000/app-worker:v1",
            "worker-migrate",
            ContainerState::Exited,
        ),
        (WORKER_REBUILT, "worker-old", ContainerState::Exited),
        ("golang:1.22", "go-shell", ContainerState::Created),
    ];
    for (reference, container, state) in cases {
        let decision = decisions.decision(find(&graph, reference));
        assert_eq!(decision.verdict, Verdict::Keep, "{reference}");
        let reason = Reason::InUse {
            container: container.to_owned(),
            state,
        };
        assert_eq!(decision.reasons, vec![reason], "{reference}");
    }
}

#[test]
fn in_use_multi_tag_image_keeps_all_its_tags() {
    let graph = graph();
    let golang = find(&graph, "golang:latest");
    let decisions = decide(&graph, &every_unused());
    assert_eq!(decisions.decision(golang).verdict, Verdict::Keep);
    assert!(decisions.decision(golang).removed_references.is_empty());

    let plan = plan(&graph, &every_unused());
    let id = &graph.image(golang).id;
    assert!(plan.actions.iter().all(|action| &action.image_id != id));
    let kept = plan
        .kept
        .iter()
        .find(|kept| &kept.image_id == id)
        .expect("kept");
    assert_eq!(
        kept.tags,
        ["golang:1.22", "golang:1.22-bookworm", "golang:latest"]
    );
}

#[test]
fn deleting_an_image_on_a_shared_base_frees_only_its_own_layers() {
    let graph = graph();
    let plan = plan(&graph, &every_unused());
    assert_eq!(plan.engine.image_store, ImageStore::Containerd);
    let bytes_of = |reference: &str| {
        let id = &graph.image(find(&graph, reference)).id;
        let action = plan
            .actions
            .iter()
            .find(|a| &a.image_id == id)
            .expect("planned");
        assert_eq!(action.kind, ActionKind::Delete);
        assert_eq!(action.parent, None);
        action.bytes
    };
    // Both sit on the same three Debian layers that golang:1.22 keeps.
    assert_eq!(bytes_of("ci-tools:v1"), TOOLS_LAYER);
    // The GOPATH layer has the same diff ID in both golang releases, but another chain ID.
    assert_eq!(bytes_of("golang:1.21"), GO121_TOOLCHAIN + GOPATH_DIR);
    // The rebuild shares its `go mod download` layer with the tagged build.
    assert_eq!(bytes_of(API_REBUILT), API_OLD_BINARY);

    let deleted: Vec<ImageIdx> = plan
        .actions
        .iter()
        .map(|action| graph.find(&action.image_id).expect("in the graph"))
        .collect();
    let expected = TOOLS_LAYER + GO121_TOOLCHAIN + GOPATH_DIR + API_OLD_BINARY + ALPINE_ROOTFS;
    assert_eq!(plan.totals.bytes, expected);
    assert_eq!(graph.reclaimable_bytes(deleted), expected);
}

#[test]
fn no_untagged_image_is_left_behind_by_an_applied_plan() {
    // On the classic store a deleted child can leave its untagged parent for the next plan;
    // this store has no parents, so the images left after the plan give an empty plan.
    for selection in [dangling_only(), every_unused()] {
        let graph = graph();
        let planned: BTreeSet<ImageId> = plan(&graph, &selection)
            .actions
            .into_iter()
            .map(|action| action.image_id)
            .collect();
        assert!(!planned.is_empty());
        let mut after = inventory();
        after.images.retain(|image| !planned.contains(&image.id));
        let again = plan(&Graph::new(after), &selection);
        assert!(
            again.is_empty(),
            "{}: {:?}",
            selection.describe(),
            again.actions
        );
    }
}
