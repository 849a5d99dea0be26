//! The scenarios of shed's main job on a real engine: each makes images and containers, checks
//! the plan, applies it, and checks what the engine holds afterwards.
//!
//! Plans are scoped to the test's own images with `--filter label=shedtest.case=…`, so tests
//! run in parallel on one engine. The two that compare the engine's whole layer total before
//! and after an apply take the engine for themselves ([`Fixture::exclusive`]).

use std::collections::BTreeSet;

use chrono::{Duration, TimeZone as _, Utc};
use shed_core::decide::Reason;
use shed_core::ids::ImageId;
use shed_core::inventory::ContainerState;
use shed_core::plan::{ActionKind, Kept, Plan};

use crate::common::{ApplyReport, ArchiveImage, Fixture};

// ---- assertions on plans and reports ----------------------------------------------------------

fn deleted(plan: &Plan) -> BTreeSet<ImageId> {
    plan.actions
        .iter()
        .filter(|a| a.kind == ActionKind::Delete)
        .map(|a| a.image_id.clone())
        .collect()
}

fn touched(plan: &Plan, image: &ImageId) -> bool {
    plan.actions.iter().any(|a| &a.image_id == image)
}

fn kept<'p>(plan: &'p Plan, image: &ImageId) -> &'p Kept {
    plan.kept
        .iter()
        .find(|k| &k.image_id == image)
        .unwrap_or_else(|| panic!("image {image} is not among the kept images of {plan:#?}"))
}

fn kept_in_use(plan: &Plan, image: &ImageId, state: ContainerState) {
    let entry = kept(plan, image);
    assert!(
        entry
            .reasons
            .iter()
            .any(|r| matches!(r, Reason::InUse { state: s, .. } if *s == state)),
        "image {image} should be kept as in use by a {} container: {:?}",
        state.as_str(),
        entry.reasons
    );
}

fn action_status<'r>(report: &'r ApplyReport, image: &ImageId) -> &'r str {
    report
        .actions
        .iter()
        .find(|a| &a.image_id == image)
        .map(|a| a.status.as_str())
        .unwrap_or_else(|| panic!("no action on {image} in {report:#?}"))
}

fn assert_all_done(report: &ApplyReport, status: i32) {
    assert_eq!(status, 0, "apply exit status: {report:#?}");
    assert_eq!((report.skipped, report.failed), (0, 0), "{report:#?}");
    assert!(
        report.actions.iter().all(|a| a.status == "done"),
        "{report:#?}"
    );
}

/// Invariant 5: a new plan right after an apply has nothing left to do.
fn assert_nothing_left(fx: &Fixture, selection: &[&str]) {
    let plan = fx.plan(selection);
    assert!(
        plan.actions.is_empty(),
        "a second plan should be empty: {:#?}",
        plan.actions
    );
    assert_eq!(plan.totals.bytes, 0);
}

fn within_one_percent(measured: u64, promised: u64) -> bool {
    measured.abs_diff(promised) as f64 <= promised as f64 * 0.01
}

// ---- keeping what is in use -------------------------------------------------------------------

#[test]
fn image_with_three_tags_used_by_a_stopped_container_keeps_every_tag() {
    let fx = Fixture::new("three-tags");
    let image = fx.scratch_image("multi:one");
    fx.tag(image.text().as_str(), "multi:two");
    fx.tag(image.text().as_str(), "other:three");
    fx.run_exited(image.text().as_str());
    let unused = fx.scratch_build().file("/unused", 2048).tag("unused");

    let plan = fx.plan(&["--all"]);
    assert!(
        !touched(&plan, &image),
        "no action may touch an image in use: {:#?}",
        plan.actions
    );
    kept_in_use(&plan, &image, ContainerState::Exited);
    assert_eq!(kept(&plan, &image).tags.len(), 3);
    assert!(
        deleted(&plan).contains(&unused),
        "the unused image goes: {:#?}",
        plan.actions
    );

    let (report, status) = fx.apply(&["--all"]);
    assert_all_done(&report, status);
    assert_eq!(
        fx.tags_of(image.text().as_str()).len(),
        3,
        "all three tags stay"
    );
    assert!(!fx.image_exists(unused.text().as_str()));
    assert_nothing_left(&fx, &["--all"]);
}

#[test]
fn images_of_running_and_never_started_containers_are_kept() {
    let fx = Fixture::new("running-created");
    let running = fx.scratch_build().file("/running", 1024).tag("running");
    let created = fx.scratch_build().file("/created", 1024).tag("created");
    let running_container = fx.run_container(running.text().as_str());
    let created_container = fx.create_container(created.text().as_str());

    let plan = fx.plan(&["--all"]);
    assert!(
        !touched(&plan, &running) && !touched(&plan, &created),
        "{:#?}",
        plan.actions
    );
    kept_in_use(&plan, &running, ContainerState::Running);
    kept_in_use(&plan, &created, ContainerState::Created);

    let (report, status) = fx.apply(&["--all"]);
    assert_eq!(status, 0, "{report:#?}");
    assert!(fx.image_exists(running.text().as_str()) && fx.image_exists(created.text().as_str()));
    assert_eq!(fx.container_state(&running_container), "running");
    assert_eq!(fx.container_state(&created_container), "created");
}

#[test]
fn rebuilt_tag_leaves_dangling_images_and_the_used_one_stays() {
    let fx = Fixture::new("rebuilt");
    let first = fx.scratch_build().file("/version", 1000).tag("app");
    fx.run_exited(&fx.reference("app"));
    let second = fx.scratch_build().file("/version", 1000).tag("app");
    let third = fx.scratch_build().file("/version", 1000).tag("app");
    assert_eq!(
        fx.tags_of(first.text().as_str()),
        Vec::<String>::new(),
        "first build is dangling"
    );
    assert_eq!(fx.resolve(&fx.reference("app")), third);

    let plan = fx.plan(&[]);
    assert_eq!(
        deleted(&plan),
        BTreeSet::from([second.clone()]),
        "{:#?}",
        plan.actions
    );
    kept_in_use(&plan, &first, ContainerState::Exited);
    assert!(kept(&plan, &third).reasons.contains(&Reason::Tagged));

    let (report, status) = fx.apply(&[]);
    assert_all_done(&report, status);
    assert!(
        !fx.image_exists(second.text().as_str()),
        "the unused dangling image is deleted"
    );
    assert!(
        fx.image_exists(first.text().as_str()),
        "the dangling image in use stays"
    );
    assert_eq!(fx.resolve(&fx.reference("app")), third);
    assert_nothing_left(&fx, &[]);
}

#[test]
fn untagged_parent_of_a_kept_classic_builder_child_survives() {
    let fx = Fixture::new("parent");
    let child = fx
        .scratch_build()
        .file("/base", 4096)
        .file("/top", 4096)
        .tag("child");
    let parent = fx
        .parent_of(child.text().as_str())
        .expect("the classic builder records a parent");
    assert!(
        fx.tags_of(parent.text().as_str()).is_empty(),
        "the parent is an untagged intermediate"
    );
    fx.create_container(child.text().as_str());
    let before = fx.own_images();

    let dangling = fx.plan(&[]);
    assert!(
        dangling.actions.is_empty(),
        "nothing here is dangling: {:#?}",
        dangling.actions
    );

    let plan = fx.plan(&["--all"]);
    assert!(
        !touched(&plan, &parent) && !touched(&plan, &child),
        "{:#?}",
        plan.actions
    );
    kept_in_use(&plan, &child, ContainerState::Created);
    let parent_reasons = &kept(&plan, &parent).reasons;
    assert!(
        parent_reasons
            .iter()
            .any(|r| matches!(r, Reason::ParentOfKept { child: c, .. } if *c == child)),
        "the parent is kept for its child: {parent_reasons:?}"
    );

    let (report, status) = fx.apply(&["--all"]);
    assert_all_done(&report, status);
    assert_eq!(
        fx.own_images(),
        before,
        "the whole chain of intermediate images stays"
    );
}

// ---- bytes ------------------------------------------------------------------------------------

#[test]
fn removing_one_of_two_images_on_a_shared_base_frees_only_its_own_layers() {
    let fx = Fixture::exclusive("shared-base");
    let base = fx.scratch_build().file("/base", 1_000_000).tag("base");
    let left = fx
        .build_on(&fx.reference("base"))
        .file("/left", 300_000)
        .tag("left");
    let right = fx
        .build_on(&fx.reference("base"))
        .file("/right", 500_000)
        .tag("right");
    fx.create_container(right.text().as_str());
    let own_layer = fx.image_size(left.text().as_str()) - fx.image_size(base.text().as_str());
    assert!(
        own_layer >= 300_000,
        "the left image's own layer holds its file: {own_layer}"
    );

    let plan = fx.plan(&["--all"]);
    assert!(deleted(&plan).contains(&left), "{:#?}", plan.actions);
    assert!(
        !touched(&plan, &base) && !touched(&plan, &right),
        "{:#?}",
        plan.actions
    );
    assert!(
        within_one_percent(plan.totals.bytes, own_layer),
        "the plan counts only the left image's own layer ({own_layer}): {:#?}",
        plan.totals
    );
    assert!(
        plan.totals.bytes < fx.image_size(base.text().as_str()),
        "the shared base is not counted"
    );

    let layers_before = fx.layers_size();
    let (report, status) = fx.apply(&["--all"]);
    assert_all_done(&report, status);
    let freed = layers_before - fx.layers_size();
    assert!(
        within_one_percent(freed, plan.totals.bytes),
        "freed {freed}, plan {}",
        plan.totals.bytes
    );
    assert!(fx.image_exists(base.text().as_str()) && fx.image_exists(right.text().as_str()));
}

#[test]
fn engine_layer_total_drops_by_the_planned_bytes() {
    let fx = Fixture::exclusive("bytes");
    let base = fx.scratch_build().file("/base", 800_000).tag("base");
    let kept_image = fx
        .build_on(&fx.reference("base"))
        .file("/kept", 100_000)
        .tag("kept");
    fx.run_exited(kept_image.text().as_str());
    fx.build_on(&fx.reference("base"))
        .file("/middle", 400_000)
        .tag("middle");
    fx.build_on(&fx.reference("middle"))
        .file("/top", 200_000)
        .tag("top");
    fx.build_on(&fx.reference("middle"))
        .run("echo layer > /made-by-run")
        .untagged();
    fx.import("imported", &[("bin/data", 250_000), ("etc/conf", 3000)]);

    let plan_file = fx.save_plan(&["--all"]);
    let plan: Plan = serde_json::from_slice(&std::fs::read(&plan_file).expect("plan file"))
        .expect("the saved plan is a Plan");
    assert!(
        plan.totals.bytes >= 850_000,
        "three files and an import go: {:#?}",
        plan.totals
    );

    let layers_before = fx.layers_size();
    let (report, status) = fx.apply_file(&plan_file);
    assert_all_done(&report, status);
    let freed = layers_before - fx.layers_size();
    assert_eq!(report.promised_bytes, plan.totals.bytes);
    assert_eq!(report.done, plan.actions.len(), "{report:#?}");
    let action_bytes: u64 = report.actions.iter().map(|a| a.bytes).sum();
    assert_eq!(
        action_bytes, plan.totals.bytes,
        "each action reports its share: {report:#?}"
    );
    assert_eq!(report.engine_layers_before, layers_before);
    let after = report
        .engine_layers_after
        .expect("the engine was measured after the run");
    let engine_freed = report.engine_freed_bytes.expect("freed bytes are known");
    assert_eq!(report.engine_layers_before - after, engine_freed);
    assert!(
        within_one_percent(freed, plan.totals.bytes),
        "freed {freed}, plan {}",
        plan.totals.bytes
    );
    assert!(
        within_one_percent(engine_freed, freed),
        "report says {engine_freed} freed, engine {freed}"
    );
    assert!(fx.image_exists(base.text().as_str()) && fx.image_exists(kept_image.text().as_str()));
    assert_nothing_left(&fx, &["--all"]);
}

// ---- the race ---------------------------------------------------------------------------------

#[test]
fn container_created_between_plan_and_apply_saves_its_image() {
    let fx = Fixture::new("race");
    let victim = fx.scratch_image("victim");
    let other = fx.scratch_build().file("/other", 2048).tag("other");
    let plan_file = fx.save_plan(&["--all"]);

    fx.create_container(victim.text().as_str());
    let (report, status) = fx.apply_file(&plan_file);

    assert_eq!(
        status, 3,
        "a skipped action makes exit status 3: {report:#?}"
    );
    assert_eq!(action_status(&report, &victim), "skipped");
    let skipped = report
        .actions
        .iter()
        .find(|a| a.image_id == victim)
        .expect("victim action");
    assert_eq!(skipped.kind, "delete");
    assert!(
        skipped
            .references
            .contains(&format!("{}:latest", fx.reference("victim")))
    );
    assert!(
        skipped.message.as_deref().is_some_and(|m| !m.is_empty()),
        "a skipped action says why: {skipped:#?}"
    );
    assert_eq!(action_status(&report, &other), "done");
    assert!(report.skipped >= 1, "{report:#?}");
    assert!(
        fx.image_exists(victim.text().as_str()),
        "the image that gained a container survives"
    );
    assert_eq!(
        fx.tags_of(victim.text().as_str()),
        vec![format!("{}:latest", fx.reference("victim"))]
    );
    assert!(!fx.image_exists(other.text().as_str()));
}

#[test]
fn image_built_on_between_plan_and_apply_keeps_every_tag() {
    let fx = Fixture::new("child-race");
    let base = fx.scratch_image("base:one");
    fx.tag(base.text().as_str(), "base:two");
    let plan_file = fx.save_plan(&["--all"]);

    // A build on the planned image, after the plan: the delete would first untag one of the two
    // tags, then be refused for the child; shed must notice before removing anything.
    let child = fx
        .build_on(base.text().as_str())
        .file("/child", 512)
        .tag("child");
    let (report, status) = fx.apply_file(&plan_file);

    assert_eq!(status, 3, "{report:#?}");
    assert_eq!(action_status(&report, &base), "skipped");
    let message = report
        .actions
        .iter()
        .find(|a| a.image_id == base)
        .and_then(|a| a.message.clone());
    assert!(
        message
            .as_deref()
            .is_some_and(|m| m.contains("gained child image")),
        "{message:?}"
    );
    let mut tags = fx.tags_of(base.text().as_str());
    tags.sort();
    assert_eq!(tags, [fx.reference("base:one"), fx.reference("base:two")]);
    assert!(fx.image_exists(child.text().as_str()));
}

// ---- prune's filters, against the engine's own prune ----------------------------------------

/// The images of one filter case: the same roles, made twice (sets `a` and `b`), so that shed
/// plans on one set and the engine's own `docker image prune` removes from the other.
const ROLES: [&str; 5] = ["old-a", "old-prod", "mid-b", "hour-a", "fresh"];

fn load_roles(fx: &Fixture, set: &str) -> Vec<(String, ImageId)> {
    let now = crate::common::now();
    let at = |y, m, d| {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0)
            .single()
            .expect("a valid date")
    };
    let images = [
        ArchiveImage::new("old-a", at(2020, 1, 1)).label("tier", "a"),
        ArchiveImage::new("old-prod", at(2020, 6, 1))
            .label("tier", "a")
            .label("env", "prod"),
        ArchiveImage::new("mid-b", at(2022, 6, 1)).label("tier", "b"),
        ArchiveImage::new("hour-a", now - Duration::hours(1)).label("tier", "a"),
        ArchiveImage::new("fresh", now - Duration::minutes(5)),
    ];
    images
        .into_iter()
        .zip(ROLES)
        .map(|(image, role)| {
            let mut image = image.label("shedtest.set", set);
            image.tags = vec![format!("{set}-{role}")];
            (role.to_owned(), fx.load(&image))
        })
        .collect()
}

fn roles_of(images: &[(String, ImageId)], ids: &BTreeSet<ImageId>) -> BTreeSet<String> {
    images
        .iter()
        .filter(|(_, id)| ids.contains(id))
        .map(|(role, _)| role.clone())
        .collect()
}

/// What `docker image prune -a` removes with these filters from a fresh set `b`.
fn engine_prune_roles(fx: &Fixture, filters: &[&str]) -> BTreeSet<String> {
    let images = load_roles(fx, "b");
    let case = fx.case_filter();
    let mut args = vec!["image", "prune", "--all", "--force", "--filter", &case];
    args.extend(["--filter", "label=shedtest.set=b"]);
    for filter in filters {
        args.extend(["--filter", filter]);
    }
    fx.docker(&args);
    let gone = images
        .iter()
        .filter(|(_, id)| !fx.image_exists(id.text().as_str()));
    gone.map(|(role, _)| role.clone()).collect()
}

#[test]
fn prune_filters_select_what_the_engine_prune_removes() {
    let fx = Fixture::new("filters");
    let set_a = load_roles(&fx, "a");
    let cases: [(&[&str], &[&str]); 8] = [
        (&["until=2021-01-01T00:00:00Z"], &["old-a", "old-prod"]),
        (&["until=2021-01-01"], &["old-a", "old-prod"]),
        (&["until=30m"], &["old-a", "old-prod", "mid-b", "hour-a"]),
        (&["until=2h"], &["old-a", "old-prod", "mid-b"]),
        (&["label=tier=a"], &["old-a", "old-prod", "hour-a"]),
        (&["label=env"], &["old-prod"]),
        (&["label!=tier=a"], &["mid-b", "fresh"]),
        (&["label!=tier", "until=2h"], &[]),
    ];
    for (filters, expected) in cases {
        let mut selection = vec!["--all", "--filter", "label=shedtest.set=a"];
        for filter in filters {
            selection.extend(["--filter", filter]);
        }
        let planned = roles_of(&set_a, &deleted(&fx.plan(&selection)));
        let expected: BTreeSet<String> = expected.iter().map(|r| r.to_string()).collect();
        assert_eq!(planned, expected, "shed plan with {filters:?}");
        assert_eq!(
            engine_prune_roles(&fx, filters),
            planned,
            "engine prune with {filters:?}"
        );
    }

    let (report, status) = fx.apply(&[
        "--all",
        "--filter",
        "label=shedtest.set=a",
        "--filter",
        "until=2h",
    ]);
    assert_all_done(&report, status);
    let left: Vec<&str> = set_a
        .iter()
        .filter(|(_, id)| fx.image_exists(id.text().as_str()))
        .map(|(r, _)| r.as_str())
        .collect();
    assert_eq!(left, ["hour-a", "fresh"]);
}

#[test]
fn dangling_prune_with_until_matches_the_engine() {
    let fx = Fixture::new("dangling-until");
    let load_untagged = |set: &str| -> Vec<(String, ImageId)> {
        let now = crate::common::now();
        [("week", Duration::days(8)), ("hour", Duration::hours(1))]
            .into_iter()
            .map(|(role, age)| {
                let mut image = ArchiveImage::new(role, now - age).label("shedtest.set", set);
                image.tags.clear();
                (role.to_owned(), fx.load(&image))
            })
            .collect()
    };
    let set_a = load_untagged("a");
    let tagged = fx.load(&ArchiveImage::new(
        "tagged",
        crate::common::now() - Duration::days(30),
    ));

    let plan = fx.plan(&["--filter", "until=7d"]);
    assert_eq!(
        roles_of(&set_a, &deleted(&plan)),
        BTreeSet::from(["week".to_owned()])
    );
    assert!(kept(&plan, &tagged).reasons.contains(&Reason::Tagged));

    // The engine has no `d` unit; 168h is the same week.
    let set_b = load_untagged("b");
    let case = fx.case_filter();
    fx.docker(&[
        "image",
        "prune",
        "--force",
        "--filter",
        &case,
        "--filter",
        "until=168h",
    ]);
    let engine_removed: Vec<&str> = set_b
        .iter()
        .filter(|(_, id)| !fx.image_exists(id.text().as_str()))
        .map(|(r, _)| r.as_str())
        .collect();
    assert_eq!(engine_removed, ["week"]);
    assert!(fx.image_exists(tagged.text().as_str()));
}
