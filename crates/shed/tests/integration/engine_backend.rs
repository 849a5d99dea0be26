//! The engine backend and the executor against the private engine: the inventory it reads,
//! its connection errors, the re-check, the engine's conflicts, and apply's journal.

use std::sync::atomic::{AtomicUsize, Ordering};

use shed::apply::{Status, apply};
use shed::engine::{Engine, EngineError, Recheck, Stage};
use shed::journal::{Journal, Phase};
use shed_core::ids::ImageId;
use shed_core::inventory::{ContainerState, ImageStore, Inventory};
use shed_core::plan::{Action, ActionKind, PLAN_SCHEMA, Plan, PlanEngine, Totals};

use crate::common::{CASE_LABEL, Fixture, engine_get, engine_host};

async fn connect() -> Engine {
    Engine::connect(Some(&engine_host()))
        .await
        .expect("connect to the test engine")
}

fn image<'i>(inventory: &'i Inventory, id: &ImageId) -> &'i shed_core::inventory::Image {
    inventory
        .images
        .iter()
        .find(|image| &image.id == id)
        .expect("image in the inventory")
}

/// What the engine itself says about an image's layers, for comparison.
fn engine_layers(id: &ImageId) -> Vec<String> {
    let inspect = engine_get(&engine_host(), &format!("/images/{id}/json"));
    let layers = inspect["RootFS"]["Layers"]
        .as_array()
        .expect("RootFS.Layers");
    layers
        .iter()
        .map(|layer| layer.as_str().expect("diff ID").to_owned())
        .collect()
}

#[tokio::test]
async fn inventory_reads_built_images_with_parents_layers_and_sizes() {
    let fixture = Fixture::new("inventory-images");
    let base = fixture
        .scratch_build()
        .file("/data/a", 20_000)
        .tag("base:1");
    let child = fixture
        .build_on(base.text().as_str())
        .file("/data/b", 7_000)
        .run("echo hi > /c")
        .tag("child:1");
    let imported = fixture.import("imported:1", &[("/f", 3_000)]);

    let engine = connect().await;
    let images_seen = AtomicUsize::new(0);
    let progress = |stage: Stage, _done: usize, _total: usize| {
        if stage == Stage::Images {
            images_seen.fetch_add(1, Ordering::Relaxed);
        }
    };
    let inventory = engine.read_inventory(Some(&progress)).await.unwrap();

    assert_eq!(images_seen.load(Ordering::Relaxed), inventory.images.len());
    assert_eq!(inventory.engine.api_version, "1.41");
    assert_eq!(inventory.engine.image_store, ImageStore::Classic);
    assert!(!inventory.engine.data_root.is_empty());
    assert!(inventory.disk.layers_size > 0);

    let base_image = image(&inventory, &base);
    assert_eq!(base_image.tags, [fixture.reference("base:1")]);
    assert!(base_image.repo_digests.is_empty());
    let diff_ids: Vec<String> = base_image
        .layers
        .iter()
        .map(|l| l.diff_id.to_string())
        .collect();
    assert_eq!(diff_ids, engine_layers(&base));
    assert_eq!(base_image.layers.len(), 2, "busybox and /data/a");
    assert!(
        base_image.layers[1].size >= 20_000,
        "{:?}",
        base_image.layers
    );
    let label = format!("label={CASE_LABEL}={}", base_image.labels[CASE_LABEL]);
    assert_eq!(label, fixture.case_filter());

    let child_image = image(&inventory, &child);
    assert_eq!(child_image.layers.len(), 4);
    assert!(
        child_image.layers[2].size >= 7_000,
        "{:?}",
        child_image.layers
    );
    // The child's parent chain, through the build's intermediate images, reaches the base.
    let mut parent = child_image.parent.clone();
    let mut steps = 0;
    while let Some(id) = parent.filter(|id| id != &base) {
        let intermediate = image(&inventory, &id);
        assert!(
            intermediate.tags.is_empty(),
            "intermediate images have no tags"
        );
        parent = intermediate.parent.clone();
        steps += 1;
        assert!(steps < 10, "parent chain from child never reached base");
    }

    let imported_image = image(&inventory, &imported);
    assert_eq!(imported_image.parent, None);
    assert_eq!(imported_image.layers.len(), 1);

    for id in [&base, &child, &imported] {
        let image = image(&inventory, id);
        let sum: u64 = image.layers.iter().map(|l| l.size).sum();
        assert_eq!(sum, image.size, "layer sizes of {id} add up to its size");
        assert_eq!(image.size, fixture.image_size(id.text().as_str()));
        assert!(
            image.created.timestamp_subsec_nanos() > 0,
            "created keeps nanoseconds"
        );
    }
}

#[tokio::test]
async fn inventory_reads_containers_in_their_states_and_times() {
    let fixture = Fixture::new("inventory-containers");
    let id = fixture.scratch_image("runner:1");
    let created = fixture.create_container(&fixture.reference("runner:1"));
    let running = fixture.run_container(id.text().as_str());
    let exited = fixture.run_exited(id.text().as_str());

    let inventory = connect().await.read_inventory(None).await.unwrap();
    let find = |container: &str| {
        inventory
            .containers
            .iter()
            .find(|c| c.id.0 == container)
            .expect("container listed")
    };

    let created = find(&created);
    assert_eq!(created.state, ContainerState::Created);
    assert_eq!((created.started_at, created.finished_at), (None, None));
    assert_eq!(created.image_id, id);
    assert_eq!(created.image, fixture.reference("runner:1"));
    assert!(
        created
            .names
            .iter()
            .all(|name| !name.starts_with('/') && !name.is_empty())
    );

    let running = find(&running);
    assert_eq!(running.state, ContainerState::Running);
    assert!(running.started_at.is_some_and(|t| t >= running.created));
    assert_eq!(running.finished_at, None);

    let exited = find(&exited);
    assert_eq!(exited.state, ContainerState::Exited);
    // Both are set; their order is not checked, since for a container that exits at once the
    // engine can record FinishedAt a little before StartedAt.
    let (started, finished) = (exited.started_at.unwrap(), exited.finished_at.unwrap());
    assert!(started >= exited.created && finished >= exited.created);
    fixture.docker(&["rm", "--force", &running.id.0]);
}

#[tokio::test]
async fn connecting_to_a_missing_socket_asks_whether_dockerd_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.sock");
    let host = format!("unix://{}", path.display());
    let error = Engine::connect(Some(&host)).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "no engine socket at {}: is dockerd running?",
            path.display()
        )
    );
}

#[tokio::test]
async fn connecting_to_a_dead_socket_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dead.sock");
    // Binding and dropping a listener leaves a socket file that nobody listens on.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let host = format!("unix://{}", path.display());
    let error = Engine::connect(Some(&host)).await.unwrap_err();
    assert!(matches!(error, EngineError::Refused { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!("connection refused by {host}: is dockerd running?")
    );
}

/// A delete action for `id` as a plan made now would write it.
fn delete_action(fixture: &Fixture, id: &ImageId, bytes: u64) -> Action {
    let tags = fixture.tags_of(id.text().as_str());
    Action {
        kind: ActionKind::Delete,
        image_id: id.clone(),
        references: tags.clone(),
        expected_tags: tags,
        expected_repo_digests: Vec::new(),
        parent: fixture.parent_of(id.text().as_str()),
        created: crate::common::now(),
        size: fixture.image_size(id.text().as_str()),
        bytes,
        reasons: Vec::new(),
    }
}

#[tokio::test]
async fn recheck_sees_new_containers_tags_and_moved_references() {
    let fixture = Fixture::new("recheck");
    let id = fixture.import("subject:1", &[("/f", 1_000)]);
    let other = fixture.import("other:1", &[("/g", 1_000)]);
    let engine = connect().await;
    let action = delete_action(&fixture, &id, 0);
    assert_eq!(engine.recheck(&action).await.unwrap(), Recheck::Unchanged);

    let extra = fixture.tag(id.text().as_str(), "subject:extra");
    let Recheck::Changed(reason) = engine.recheck(&action).await.unwrap() else {
        panic!("a new tag must be noticed");
    };
    assert_eq!(reason, format!("image gained tag {extra}, not in the plan"));
    fixture.docker(&["rmi", &extra]);

    let moved = fixture.tag(other.text().as_str(), "subject:1");
    let Recheck::Changed(reason) = engine.recheck(&action).await.unwrap() else {
        panic!("a moved tag must be noticed");
    };
    assert_eq!(reason, format!("{moved} now points to {other}"));
    fixture.tag(id.text().as_str(), "subject:1");

    let container = fixture.create_container(id.text().as_str());
    let Recheck::Changed(reason) = engine.recheck(&action).await.unwrap() else {
        panic!("a new container must be noticed");
    };
    assert!(
        reason.starts_with("in use by container ") && reason.ends_with("(created)"),
        "{reason}"
    );
    fixture.docker(&["rm", &container]);

    fixture.docker(&["rmi", &fixture.reference("subject:1")]);
    let gone = engine.recheck(&action).await.unwrap();
    assert_eq!(gone, Recheck::Changed("image no longer exists".to_owned()));
}

#[tokio::test]
async fn conflicts_carry_the_engines_message_and_change_nothing() {
    let fixture = Fixture::new("conflicts");
    let base = fixture.scratch_image("used:1");
    let child = fixture
        .build_on(base.text().as_str())
        .file("/x", 500)
        .tag("child:1");
    fixture.create_container(base.text().as_str());
    let engine = connect().await;

    let error = engine.delete_image(&base).await.unwrap_err();
    let EngineError::Conflict { message } = &error else {
        panic!("{error:?}")
    };
    assert!(
        message.starts_with("conflict: unable to delete"),
        "{message}"
    );
    assert_eq!(
        error.to_string(),
        *message,
        "the engine's message, verbatim"
    );

    let error = engine
        .untag(&fixture.reference("used:1"))
        .await
        .unwrap_err();
    let EngineError::Conflict { message } = &error else {
        panic!("{error:?}")
    };
    assert!(message.contains("used:1"), "{message}");
    assert_eq!(
        fixture.tags_of(base.text().as_str()),
        [fixture.reference("used:1")]
    );

    let intermediate = fixture.parent_of(child.text().as_str()).unwrap();
    let error = engine.delete_image(&intermediate).await.unwrap_err();
    let EngineError::Conflict { message } = &error else {
        panic!("{error:?}")
    };
    assert!(message.contains("child"), "{message}");
    assert!(fixture.image_exists(intermediate.text().as_str()));
}

fn plan_of(actions: Vec<Action>) -> Plan {
    let bytes = actions.iter().map(|a| a.bytes).sum();
    Plan {
        schema: PLAN_SCHEMA.to_owned(),
        now: crate::common::now(),
        engine: PlanEngine {
            version: String::new(),
            data_root: String::new(),
            image_store: ImageStore::Classic,
        },
        selection: "engine backend test".to_owned(),
        totals: Totals {
            images_deleted: actions.len(),
            bytes,
            ..Totals::default()
        },
        actions,
        kept: Vec::new(),
    }
}

#[tokio::test]
async fn apply_deletes_journals_and_skips_what_gained_a_container() {
    let fixture = Fixture::exclusive("apply");
    let doomed = fixture.import("doomed:1", &[("/d", 40_000)]);
    fixture.tag(doomed.text().as_str(), "doomed:2");
    fixture.tag(doomed.text().as_str(), "elsewhere:1");
    let kept = fixture.scratch_image("kept:1");
    let doomed_size = fixture.image_size(doomed.text().as_str());
    let plan = plan_of(vec![
        delete_action(&fixture, &doomed, doomed_size),
        delete_action(&fixture, &kept, 1),
    ]);
    let container = fixture.create_container(kept.text().as_str());

    let engine = connect().await;
    let state = tempfile::tempdir().unwrap();
    let mut journal = Journal::open(state.path()).unwrap();
    let report = apply(&engine, &plan, &mut journal, None).await.unwrap();

    assert_eq!((report.done, report.skipped, report.failed), (1, 1, 0));
    assert_eq!(report.actions[0].status, Status::Done);
    assert_eq!(report.actions[1].status, Status::Skipped);
    let reason = report.actions[1].message.as_deref().unwrap();
    assert!(reason.starts_with("in use by container"), "{reason}");
    assert!(!fixture.image_exists(doomed.text().as_str()));
    assert!(fixture.image_exists(kept.text().as_str()));
    assert_eq!(report.promised_bytes, doomed_size + 1);
    assert_eq!(report.engine_freed_bytes, Some(doomed_size), "{report:?}");

    let run = journal.last_run().unwrap().unwrap();
    let entries = journal.entries(run).unwrap();
    let phases: Vec<(usize, Phase)> = entries.iter().map(|e| (e.seq, e.phase)).collect();
    assert_eq!(
        phases,
        [(0, Phase::Started), (0, Phase::Done), (1, Phase::Skipped)]
    );
    assert_eq!(entries[0].image_id, doomed.text().as_str());
    assert_eq!(entries[0].references.len(), 3);
    assert!(journal.interrupted().unwrap().is_empty());
    fixture.docker(&["rm", &container]);
}

#[tokio::test]
async fn apply_skips_an_untag_the_containerd_store_cannot_do_alone() {
    let fixture = Fixture::new("store-untag");
    let id = fixture.import("named:1", &[("/n", 1_000)]);
    let tag = fixture.reference("named:1");
    // As the containerd store would list an image both tagged and pulled by digest: removing
    // its repository's last tag would take the digest name, which the action keeps.
    let digest_name = format!("{}@{id}", fixture.reference("named"));
    let mut untag = delete_action(&fixture, &id, 0);
    untag.kind = ActionKind::Untag;
    untag.references = vec![tag.clone()];
    untag.expected_tags = vec![tag.clone(), digest_name.clone()];
    let mut plan = plan_of(vec![untag]);
    plan.engine.image_store = ImageStore::Containerd;

    let engine = connect().await;
    let state = tempfile::tempdir().unwrap();
    let mut journal = Journal::open(state.path()).unwrap();
    let report = apply(&engine, &plan, &mut journal, None).await.unwrap();

    assert_eq!(report.actions[0].status, Status::Skipped);
    let reason = report.actions[0].message.as_deref().unwrap();
    assert!(
        reason.contains(&format!("also removes {digest_name}")),
        "{reason}"
    );
    assert_eq!(
        fixture.tags_of(id.text().as_str()),
        [tag],
        "nothing was removed"
    );
    let run = journal.last_run().unwrap().unwrap();
    let phases: Vec<Phase> = journal
        .entries(run)
        .unwrap()
        .iter()
        .map(|e| e.phase)
        .collect();
    assert_eq!(phases, [Phase::Skipped], "skipped before it started");
}
