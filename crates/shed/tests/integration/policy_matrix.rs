//! The golang matrix policy on a real engine: 60 tiny images tagged the way the golang official
//! repository tags its releases, decided by examples/policies/golang-matrix.toml, applied, and
//! checked tag by tag against a list written out by hand.

use std::collections::BTreeSet;

use chrono::Duration;
use shed_core::decide::Reason;
use shed_core::plan::{ActionKind, Plan};

use crate::common::{ArchiveImage, Fixture, now};

const VARIANTS: [&str; 4] = ["", "-alpine3.19", "-alpine3.20", "-bookworm"];

/// The release a stopped container uses: built with busybox, so that it can run.
const IN_USE_TAG: &str = "golang:1.21.0";

/// Loads `golang:<minor>.<patch><variant>` for minors 1.21 to 1.23, patches 0 to 4, each variant;
/// newer releases are created later. Returns every tag made.
fn load_releases(fx: &Fixture) -> Vec<String> {
    let mut tags = Vec::new();
    for (age, (minor, patch)) in releases().into_iter().rev().enumerate() {
        for variant in VARIANTS {
            let tag = format!("golang:{minor}.{patch}{variant}");
            if tag == IN_USE_TAG {
                fx.scratch_image(&tag);
            } else {
                let created = now() - Duration::days(age as i64 + 1);
                fx.load(&ArchiveImage::new(&tag, created).label("variant", variant));
            }
            tags.push(tag);
        }
    }
    tags
}

/// (minor, patch), oldest first.
fn releases() -> Vec<(&'static str, u32)> {
    ["1.21", "1.22", "1.23"]
        .into_iter()
        .flat_map(|m| (0..5).map(move |p| (m, p)))
        .collect()
}

/// The example policy, pointed at this fixture's golang repository.
fn matrix_policy(fx: &Fixture) -> std::path::PathBuf {
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/policies/golang-matrix.toml"
    );
    let text = std::fs::read_to_string(example).expect("the example policy");
    let repository = fx.reference("golang");
    let ours = text.replace(
        "repository = \"golang\"",
        &format!("repository = \"{repository}\""),
    );
    assert_ne!(ours, text, "the example names the golang repository");
    let path = fx.temp_path("golang-matrix.toml");
    std::fs::write(&path, ours).expect("write the policy");
    path
}

/// The tags the plan removes from this fixture's images, without the fixture prefix.
fn removed_tags(fx: &Fixture, plan: &Plan) -> BTreeSet<String> {
    let prefix = fx.reference("");
    plan.actions
        .iter()
        .flat_map(|a| a.references.iter())
        .filter_map(|r| r.strip_prefix(&prefix).map(str::to_owned))
        .collect()
}

#[test]
fn golang_matrix_keeps_three_patches_of_the_two_newest_minors_per_variant() {
    let fx = Fixture::new("golang-matrix");
    let all_tags = load_releases(&fx);
    let image_of = |tag: &str| fx.resolve(&fx.reference(tag));

    // The official repository's aliases: two or more tags on one image.
    for (alias, target) in [
        ("golang:1.22", "golang:1.22.4"),
        ("golang:1.23", "golang:1.23.4"),
        ("golang:latest", "golang:1.23.4"),
        ("golang:alpine", "golang:1.23.4-alpine3.20"),
        ("golang:bookworm", "golang:1.21.4-bookworm"),
    ] {
        fx.tag(image_of(target).text().as_str(), alias);
    }
    // One of the oldest releases is used by a stopped container.
    let in_use = image_of(IN_USE_TAG);
    fx.run_exited(in_use.text().as_str());

    let policy = matrix_policy(&fx);
    let policy = policy.to_str().expect("utf-8 temp path");
    let output = fx.shed(&["plan", "--policy", policy, "--format", "json"]);
    output.expect_status(0);
    let plan: Plan = output.json();

    // Written out by hand: every 1.21 release goes (1.21 is not among the 2 newest minors),
    // except 1.21.0, which a container uses; of 1.22 and 1.23, patches 0 and 1 go in every
    // variant, and patches 2 to 4 stay.
    let mut expected_removed: BTreeSet<String> = BTreeSet::new();
    for variant in VARIANTS {
        for patch in 1..5 {
            expected_removed.insert(format!("golang:1.21.{patch}{variant}"));
        }
        if !variant.is_empty() {
            expected_removed.insert(format!("golang:1.21.0{variant}"));
        }
        for minor in ["1.22", "1.23"] {
            for patch in 0..2 {
                expected_removed.insert(format!("golang:{minor}.{patch}{variant}"));
            }
        }
    }
    assert_eq!(removed_tags(&fx, &plan), expected_removed);

    // The in-use release survives, with the reason.
    let kept = plan
        .kept
        .iter()
        .find(|k| k.image_id == in_use)
        .expect("1.21.0 is kept");
    assert!(
        kept.reasons
            .iter()
            .any(|r| matches!(r, Reason::InUse { .. })),
        "{kept:?}"
    );

    // 1.21.4-bookworm also carries `bookworm`, which the aliases rule keeps: it is untagged,
    // not deleted.
    let shared = image_of("golang:1.21.4-bookworm");
    let action = plan
        .actions
        .iter()
        .find(|a| a.image_id == shared)
        .expect("an action");
    assert_eq!(action.kind, ActionKind::Untag);
    assert_eq!(action.references, [fx.reference("golang:1.21.4-bookworm")]);

    let report = fx.shed(&[
        "apply",
        "--policy",
        policy,
        "--yes",
        "--format",
        "json",
        "--max-percent",
        "100",
    ]);
    report.expect_status(0);

    for tag in &all_tags {
        let exists = fx
            .try_docker(&["image", "inspect", &fx.reference(tag)])
            .status
            .success();
        assert_eq!(exists, !expected_removed.contains(tag), "{tag} after apply");
    }
    for alias in [
        "golang:1.22",
        "golang:1.23",
        "golang:latest",
        "golang:alpine",
        "golang:bookworm",
    ] {
        assert!(fx.image_exists(&fx.reference(alias)), "{alias} stays");
    }

    let again = fx.shed(&["plan", "--policy", policy, "--format", "json"]);
    again.expect_status(0);
    assert!(
        removed_tags(&fx, &again.json()).is_empty(),
        "{}",
        again.stdout
    );
}
