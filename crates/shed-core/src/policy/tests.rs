//! Tests of policies: `policy check` on broken files, evaluation of the examples on hand-made
//! inventories, traces, the safety cap, and the worked example of docs/policy.md.

use std::collections::BTreeSet;

use super::*;
use crate::decide::{Decisions, Reason, Verdict};
use crate::graph::Graph;
use crate::inventory::{ContainerState, Inventory};
use crate::plan::make_plan;
use crate::testkit::{InventoryBuilder, at, image};

fn policy(text: &str) -> Policy {
    parse_policy(text, "test.toml").unwrap_or_else(|errors| panic!("{errors}"))
}

/// Every tag that is still there once the decisions are applied.
fn remaining_tags(graph: &Graph, decisions: &Decisions) -> BTreeSet<String> {
    let mut tags = BTreeSet::new();
    for (i, decision) in decisions.iter() {
        if decision.verdict == Verdict::Delete {
            continue;
        }
        let image = graph.image(i);
        let kept = image
            .tags
            .iter()
            .filter(|t| !decision.removed_references.contains(t));
        tags.extend(kept.cloned());
    }
    tags
}

macro_rules! broken {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!("../../testdata/policy-check/", $name)),
        )
    };
}

/// Line, column, message and suggestion of one expected error.
type Expected<'a> = (usize, usize, &'a str, Option<&'a str>);

#[test]
fn policy_check_reports_file_line_column_and_fix() {
    #[rustfmt::skip]
    let cases: &[((&str, &str), &[Expected])] = &[
        (broken!("unknown-key.toml"), &[
            (3, 1, "unknown key `label` in [[rule]]", Some("did you mean `labels`?")),
        ]),
        (broken!("bad-duration.toml"), &[
            (3, 14, "bad duration \"3 days\" in `unused_for`",
             Some("write a positive number and a unit: 90m, 72h, 7d, 2w, 1h30m")),
        ]),
        (broken!("bad-glob.toml"), &[
            (2, 27, "bad glob \"debian:{bookworm\" in `references`: unclosed alternate group; \
                     missing '}' (maybe escape '{' with '[{]'?)", None),
        ]),
        (broken!("bare-version.toml"), &[
            (4, 11, "version range \"1.22\" has no operator before \"1.22\"",
             Some("write \"=1.22\" for that line only, or \">=1.22\" for it and newer")),
        ]),
        (broken!("bad-range.toml"), &[
            (4, 11, "bad version range \">=1.21 <<1.23\": expected comma after minor version \
                     number, found '<'",
             Some("write comparators separated by commas: \">=1.21, <1.23\"")),
        ]),
        (broken!("bad-size.toml"), &[
            (2, 13, "bad size \"20 gigs\" in `max_bytes`",
             Some("write a number and a unit: 500MB, 1.2GB, 2GiB, or bytes as an integer")),
        ]),
        (broken!("retain-zero.toml"), &[
            (5, 10, "`retain` must be at least 1, found 0",
             Some("to remove a whole group, use action = \"delete\"")),
        ]),
        (broken!("shadowed.toml"), &[
            (6, 1, "rule \"golang latest\" can never match: rule \"all golang\" (line 1) comes \
                    first and matches everything it would",
             Some("move rule \"golang latest\" above rule \"all golang\", or narrow rule \
                   \"all golang\"")),
        ]),
        (broken!("default-after-table.toml"), &[
            (3, 1, "unknown key `default` in [limits]",
             Some("`default` is a top-level key, but TOML puts every key after a [section] \
                   header in that section: move it above the first [section]")),
        ]),
        (broken!("duplicate-name.toml"), &[
            (7, 8, "rule name \"golang\" is already used by the rule on line 1",
             Some("give this rule a name of its own, such as name = \"golang 3\": reasons name \
                   the rule that decided")),
        ]),
        (broken!("bad-limits.toml"), &[
            (2, 14, "`max_images` must be at least 1, found 0", None),
            (3, 13, "`max_bytes` must be at least 1 byte, found 0", None),
            (4, 15, "`max_percent` must be between 0 and 100, found 150", None),
        ]),
        (broken!("percent-nan.toml"), &[
            (2, 15, "`max_percent` must be between 0 and 100, found NaN", None),
        ]),
        (broken!("syntax.toml"), &[
            (2, 15, "invalid TOML: invalid basic string, expected `\"`", None),
        ]),
        (broken!("action-typo.toml"), &[
            (3, 10, "unknown action \"delet\"", Some("did you mean \"delete\"?")),
        ]),
        (broken!("several.toml"), &[
            (1, 11, "`default` must be \"keep\" or \"delete\", not \"remove\"",
             Some("use \"keep\" or \"delete\"")),
            (3, 1, "rule 1 has no name",
             Some("add name = \"…\": `shed why` and `shed plan` show it")),
            (5, 14, "bad duration \"2x\" in `older_than`",
             Some("write a positive number and a unit: 90m, 72h, 7d, 2w, 1h30m")),
            (12, 1, "`per` groups by minor, which only versions have",
             Some("use order = \"version\", or group by \"repository\" only")),
        ]),
    ];
    for ((file, text), expected) in cases {
        let errors = parse_policy(text, file).expect_err(file).errors;
        let found: Vec<_> = errors
            .iter()
            .map(|e| {
                (
                    e.line,
                    e.column,
                    e.message.as_str(),
                    e.suggestion.as_deref(),
                )
            })
            .collect();
        assert_eq!(&found, expected, "{file}");
        assert!(errors.iter().all(|e| e.file == *file));
    }
}

#[test]
fn errors_print_as_file_line_column_with_help() {
    let errors = parse_policy(broken!("unknown-key.toml").1, "ci.toml").unwrap_err();
    assert_eq!(
        errors.to_string(),
        "ci.toml:3:1: unknown key `label` in [[rule]]\n  help: did you mean `labels`?"
    );
}

#[test]
fn an_empty_policy_keeps_everything() {
    let policy = policy("");
    assert_eq!(policy.default, Action::Keep);
    assert!(policy.rules.is_empty());
    let graph = InventoryBuilder::new()
        .image(image(1).tags(&["a:1"]))
        .graph();
    assert_eq!(
        evaluate(&graph, &policy, at(10)).verdict(crate::graph::ImageIdx::from_index(0)),
        Verdict::Keep
    );
}

#[test]
fn values_parse_into_their_types() {
    let policy = policy(
        r#"
        default = "delete"
        [protect]
        references = "base:*"
        labels = ["keep", "tier=base", "env!=dev"]
        min_age = "1h30m"
        [limits]
        max_images = 5
        max_bytes = "1.2GB"
        max_percent = 12.5
        [[rule]]
        name = "big and old"
        larger_than = "500MB"
        smaller_than = 2000000000
        created_before = 2024-05-01
        created_after = "2024-01-01T12:00:00Z"
        older_than = "2w"
        action = "delete"
        "#,
    );
    assert_eq!(policy.default, Action::Delete);
    assert_eq!(policy.protect.references[0].text, "base:*");
    assert_eq!(policy.protect.labels.len(), 3);
    assert_eq!(
        policy.protect.min_age.unwrap().delta,
        chrono::TimeDelta::minutes(90)
    );
    assert_eq!(policy.limits.max_images, Some(5));
    assert_eq!(policy.limits.max_bytes, Some(1_200_000_000));
    assert_eq!(policy.limits.max_percent, Some(12.5));
    let selector = &policy.rules[0].selector;
    assert_eq!(selector.larger_than, Some(500_000_000));
    assert_eq!(selector.smaller_than, Some(2_000_000_000));
    assert_eq!(
        selector.created_before.unwrap().to_rfc3339(),
        "2024-05-01T00:00:00+00:00"
    );
    assert_eq!(
        selector.created_after.unwrap().to_rfc3339(),
        "2024-01-01T12:00:00+00:00"
    );
    assert_eq!(selector.older_than.unwrap().to_string(), "2w");
    assert_eq!(policy.rules[0].line, 11);
}

/// The golang repository as an official image publishes it: 1.21.0 … 1.23.4, each plain and
/// with `-alpine3.20` and `-bookworm`, the newest patch of each minor also tagged as the minor
/// (`1.22`, `1.22-bookworm`), `latest` and `alpine` on the newest; image 1 (`1.21.0`) used by
/// a stopped container. Newer releases have higher image numbers and creation times.
fn golang_matrix() -> Inventory {
    let mut builder = InventoryBuilder::new();
    let mut n = 1;
    for minor in 21..=23 {
        for patch in 0..=4 {
            for variant in ["", "-alpine3.20", "-bookworm"] {
                let mut tags = vec![format!("golang:1.{minor}.{patch}{variant}")];
                if patch == 4 {
                    tags.push(format!("golang:1.{minor}{variant}"));
                }
                if (minor, patch) == (23, 4) && variant.is_empty() {
                    tags.push("golang:latest".to_owned());
                }
                if (minor, patch) == (23, 4) && variant == "-alpine3.20" {
                    tags.push("golang:alpine".to_owned());
                }
                let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
                let spec = image(n)
                    .tags(&tags)
                    .layers(&[1, n + 1])
                    .created(i64::from(n));
                builder = builder.image(spec);
                n += 1;
            }
        }
    }
    builder
        .container("old-build", 1, ContainerState::Exited)
        .build()
}

fn example(name: &str) -> Policy {
    let text = match name {
        "golang-matrix.toml" => include_str!("../../../../examples/policies/golang-matrix.toml"),
        "ci-runner.toml" => include_str!("../../../../examples/policies/ci-runner.toml"),
        "time-space.toml" => include_str!("../../../../examples/policies/time-space.toml"),
        _ => unreachable!("no example {name}"),
    };
    parse_policy(text, name).unwrap_or_else(|errors| panic!("{errors}"))
}

#[test]
fn golang_matrix_keeps_three_patches_of_the_two_newest_minors_per_variant() {
    let graph = Graph::new(golang_matrix());
    let decisions = evaluate(&graph, &example("golang-matrix.toml"), at(100));
    let mut expected: BTreeSet<String> = BTreeSet::new();
    for minor in [22, 23] {
        for variant in ["", "-alpine3.20", "-bookworm"] {
            for patch in [2, 3, 4] {
                expected.insert(format!("golang:1.{minor}.{patch}{variant}"));
            }
            expected.insert(format!("golang:1.{minor}{variant}"));
        }
    }
    expected.extend(["golang:latest", "golang:alpine", "golang:1.21.0"].map(String::from));
    assert_eq!(remaining_tags(&graph, &decisions), expected);

    let in_use = decisions.decision(graph.resolve("golang:1.21.0").unwrap());
    assert_eq!(in_use.verdict, Verdict::Keep);
    assert!(
        matches!(&in_use.reasons[0], Reason::InUse { container, .. } if container == "old-build")
    );
    let plan = make_plan(&graph, &decisions, "policy golang-matrix.toml", at(100));
    assert_eq!(plan.totals.images_deleted, 45 - 19);
    assert!(
        plan.actions
            .iter()
            .all(|a| a.kind == crate::plan::ActionKind::Delete)
    );
}

#[test]
fn a_shared_image_is_untagged_while_one_of_its_tags_stays() {
    let graph = InventoryBuilder::new()
        .image(
            image(1)
                .tags(&["golang:1.22.0", "golang:1.22.1", "golang:1.22.2"])
                .created(1),
        )
        .image(image(2).tags(&["golang:1.22.3", "myapp:base"]).created(2))
        .image(image(3).tags(&["golang:1.22.4"]).created(3))
        .image(image(4).tags(&["golang:1.22.5"]).created(4))
        .graph();
    let policy = policy(
        r#"
        [[rule]]
        name = "two per minor"
        repository = "golang"
        action = "retain"
        retain = 2
        per = ["repository", "minor"]
        "#,
    );
    let decisions = evaluate(&graph, &policy, at(10));
    let shared = decisions.decision(graph.resolve("myapp:base").unwrap());
    assert_eq!(shared.verdict, Verdict::Untag);
    assert_eq!(shared.removed_references, ["golang:1.22.3"]);
    // Three tags on one image rank as one member: the image of 1.22.2 is third.
    assert_eq!(
        decisions.verdict(graph.resolve("golang:1.22.0").unwrap()),
        Verdict::Delete
    );
    let plan = make_plan(&graph, &decisions, "test", at(10));
    assert_eq!(plan.totals.images_deleted, 1);
    assert_eq!(plan.totals.references_removed, 4);
}

#[test]
fn a_parent_of_a_kept_image_stays_and_its_orphaned_parent_goes() {
    let graph = InventoryBuilder::new()
        .image(image(1).tags(&["base:old"]).layers(&[1]))
        .image(image(2).parent(1).tags(&["app:1"]).layers(&[1, 2]))
        .image(image(3).layers(&[3]))
        .image(image(4).parent(3).tags(&["tmp:1"]).layers(&[3, 4]))
        .graph();
    let policy = policy(
        r#"
        [[rule]]
        name = "drop base and tmp"
        repository = ["base", "tmp"]
        action = "delete"
        "#,
    );
    let decisions = evaluate(&graph, &policy, at(10));
    let base = decisions.decision(graph.resolve("base:old").unwrap());
    assert_eq!(base.verdict, Verdict::Untag);
    assert!(
        base.reasons
            .iter()
            .any(|r| matches!(r, Reason::ParentOfKept { child_name, .. } if child_name == "app:1"))
    );
    let orphan = decisions.decision(graph.find(&crate::testkit::image_id(3)).unwrap());
    assert_eq!(orphan.verdict, Verdict::Delete);
    assert!(matches!(
        orphan.reasons.last(),
        Some(Reason::ParentOfDeleted { .. })
    ));
}

#[test]
fn a_dangling_rule_sees_parents_whose_children_this_plan_deletes() {
    // Image 1 is untagged with a child, so not dangling yet; once rule "old apps" deletes the
    // child it is, and "dangling" deletes it in the same plan rather than in the next one.
    let graph = InventoryBuilder::new()
        .image(image(1).label("keep", "no").layers(&[1]))
        .image(image(2).parent(1).tags(&["app:1"]).layers(&[1, 2]))
        .graph();
    let policy = policy(
        r#"
        default = "keep"
        [[rule]]
        name = "old apps"
        repository = "app"
        action = "delete"
        [[rule]]
        name = "dangling"
        dangling = true
        action = "delete"
        "#,
    );
    let decisions = evaluate(&graph, &policy, at(10));
    let parent = decisions.decision(graph.find(&crate::testkit::image_id(1)).unwrap());
    assert_eq!(parent.verdict, Verdict::Delete);
    assert!(matches!(&parent.reasons[0], Reason::Rule { rule, .. } if rule == "dangling"));
}

/// The repro policy of the bug: the two newest builds of each repository, by creation time.
const TWO_NEWEST_BUILDS: &str = r#"
    [[rule]]
    name = "two newest builds"
    action = "retain"
    retain = 2
    order = "created"
    per = ["repository"]
"#;

/// Three classic-builder builds of `app` (images 1–3, each on an untagged intermediate parent,
/// images 11–13, on the tagged base image 20) and `untagged` dangling build leftovers (images
/// 100 and up), the newest created last.
fn builds_and_leftovers(untagged: u32) -> Graph {
    let mut builder = InventoryBuilder::new().image(image(20).tags(&["base:1"]).layers(&[20]));
    for n in 1..=3 {
        let parent = image(10 + n)
            .parent(20)
            .layers(&[20, 10 + n])
            .created(i64::from(n));
        let layers = [20, 10 + n, n];
        let tag = format!("app:{n}");
        let child = image(n).parent(10 + n).tags(&[&tag]).layers(&layers);
        builder = builder.image(parent).image(child.created(i64::from(n)));
    }
    for n in 100..100 + untagged {
        builder = builder.image(image(n).layers(&[n]).created(i64::from(n)));
    }
    builder.graph()
}

fn verdict_of(graph: &Graph, decisions: &Decisions, n: u32) -> Verdict {
    decisions.verdict(graph.find(&crate::testkit::image_id(n)).unwrap())
}

#[test]
fn retain_by_created_does_not_rank_untagged_images() {
    let graph = builds_and_leftovers(1000);
    let decisions = evaluate(&graph, &policy(TWO_NEWEST_BUILDS), at(2000));
    // The oldest build goes, and its intermediate parent with it; the base stays.
    let verdicts: Vec<Verdict> = [1, 11, 2, 12, 3, 13, 20]
        .iter()
        .map(|&n| verdict_of(&graph, &decisions, n))
        .collect();
    use Verdict::{Delete, Keep};
    assert_eq!(verdicts, [Delete, Delete, Keep, Keep, Keep, Keep, Keep]);
    let parent = decisions.decision(graph.find(&crate::testkit::image_id(11)).unwrap());
    assert!(matches!(
        parent.reasons.last(),
        Some(Reason::ParentOfDeleted { .. })
    ));
    // Every leftover falls through to the default, none is ranked.
    for n in 100..1100 {
        let decision = decisions.decision(graph.find(&crate::testkit::image_id(n)).unwrap());
        assert_eq!(decision.verdict, Keep, "image {n}");
        assert_eq!(
            decision.reasons,
            [Reason::PolicyDefault {
                action: "keep".to_owned(),
                reference: None
            }],
            "image {n}"
        );
    }
    let ranked_untagged = decisions.iter().flat_map(|(_, d)| &d.reasons).any(|r| {
        matches!(
            r,
            Reason::Retain {
                reference: None,
                ..
            }
        )
    });
    assert!(!ranked_untagged);
}

#[test]
fn untagged_images_fall_through_a_retain_rule_to_the_next_rule() {
    let text = format!(
        "{TWO_NEWEST_BUILDS}
        [[rule]]
        name = \"leftovers\"
        dangling = true
        action = \"delete\"
        "
    );
    let policy = policy(&text);
    let graph = builds_and_leftovers(5);
    let decisions = evaluate(&graph, &policy, at(2000));
    for n in 100..105 {
        let decision = decisions.decision(graph.find(&crate::testkit::image_id(n)).unwrap());
        assert_eq!(decision.verdict, Verdict::Delete, "image {n}");
        assert_eq!(
            decision.reasons[0].to_string(),
            "the untagged image: removed by rule \"leftovers\""
        );
    }
    let id = crate::testkit::image_id(100).to_string();
    let trace = trace(&graph, &policy, at(2000), &id).expect("the image exists");
    assert_eq!(
        trace.references[0].rules[0].not_matched.as_deref(),
        Some("the image has no tag, and a retain rule ranks only tags")
    );
}

#[test]
fn ci_runner_deletes_stale_job_images_and_old_dangling_ones_and_protects_bases() {
    let graph = InventoryBuilder::new()
        .image(image(1).tags(&["golang:1.22"]).created(-1000))
        .image(image(2).tags(&["ci-job-1:latest"]).label("ci.job.id", "1"))
        .image(
            image(3)
                .tags(&["ci-job-3:latest"])
                .label("ci.job.id", "3")
                .created(50),
        )
        .image(image(4).created(100))
        .image(image(5).created(101))
        .image(
            image(6)
                .tags(&["ci-job-6:latest"])
                .label("ci.job.id", "6")
                .label("ci.keep", "true"),
        )
        .image(
            image(7)
                .tags(&["registry:5000/team/ci-base:1"])
                .label("ci.job.id", "7"),
        )
        .image(
            image(8)
                .tags(&["ci-job-8:latest", "golang:1.23"])
                .label("ci.job.id", "8"),
        )
        .image(image(9).tags(&["ci-job-9:latest"]).label("ci.job.id", "9"))
        .container("job-9", 9, ContainerState::Running)
        .graph();
    let decisions = evaluate(&graph, &example("ci-runner.toml"), at(101));
    let verdicts: Vec<Verdict> = decisions.iter().map(|(_, d)| d.verdict).collect();
    use Verdict::{Delete, Keep};
    assert_eq!(
        verdicts,
        [Keep, Delete, Keep, Delete, Keep, Keep, Keep, Keep, Keep]
    );
    let young = &decisions
        .decision(graph.find(&crate::testkit::image_id(5)).unwrap())
        .reasons;
    assert_eq!(
        young[0],
        Reason::YoungerThanMinAge {
            min_age: "10m".to_owned()
        }
    );
    let base = &decisions
        .decision(graph.resolve("golang:1.23").unwrap())
        .reasons;
    assert_eq!(
        base[0].to_string(),
        "protected: golang:1.23 matches \"golang:*\""
    );
}

#[test]
fn time_space_deletes_images_unused_for_a_day() {
    let graph = InventoryBuilder::new()
        .image(image(1).tags(&["old:1"]).created(0))
        .image(image(2).tags(&["new:1"]).created(80))
        .image(image(3).tags(&["used:1"]).created(0))
        .container("web", 3, ContainerState::Running)
        .graph();
    let decisions = evaluate(&graph, &example("time-space.toml"), at(100));
    let verdicts: Vec<Verdict> = decisions.iter().map(|(_, d)| d.verdict).collect();
    assert_eq!(verdicts, [Verdict::Delete, Verdict::Keep, Verdict::Keep]);
}

/// The reasons of one image as the plan table prints them.
fn reasons_text(graph: &Graph, decisions: &Decisions, reference: &str) -> String {
    let decision = decisions.decision(graph.resolve(reference).unwrap());
    let texts: Vec<String> = decision.reasons.iter().map(Reason::to_string).collect();
    texts.join("; ")
}

#[test]
fn a_kept_in_use_image_says_the_rule_would_remove_it() {
    let graph = InventoryBuilder::new()
        .image(image(1).tags(&["golang:1.22"]).created(0))
        .container("x", 1, ContainerState::Exited)
        .graph();
    let decisions = evaluate(&graph, &example("time-space.toml"), at(1000));
    assert_eq!(verdict_of(&graph, &decisions, 1), Verdict::Keep);
    assert_eq!(
        reasons_text(&graph, &decisions, "golang:1.22"),
        "in use by exited container x; rule \"unused for a day\" would remove golang:1.22 \
         (protected)"
    );
}

#[test]
fn protections_overrule_retain_and_default_removals_in_words() {
    let graph = InventoryBuilder::new()
        .image(image(1).tags(&["app:1.0.0", "app:latest"]).created(1))
        .image(image(2).tags(&["app:1.1.0"]).created(2))
        .image(image(3).tags(&["app:1.2.0"]).created(3))
        .container("web", 1, ContainerState::Running)
        .graph();
    let policy = policy(
        r#"
        default = "delete"
        [[rule]]
        name = "newest two"
        repository = "app"
        action = "retain"
        retain = 2
        "#,
    );
    let decisions = evaluate(&graph, &policy, at(10));
    assert_eq!(
        reasons_text(&graph, &decisions, "app:latest"),
        "in use by running container web; rule \"newest two\" would remove app:1.0.0, newest #3 \
         in repository=app, beyond the 2 it retains (protected); default delete would remove \
         app:latest (protected)"
    );
    // Reasons are data in the plan file: the overruled removal is kept whole.
    let reason = &decisions
        .decision(graph.resolve("app:latest").unwrap())
        .reasons[1];
    let json = serde_json::to_string(reason).unwrap();
    assert!(
        json.starts_with(r#"{"kind":"overruled","removal":{"kind":"retain","#),
        "{json}"
    );
    assert_eq!(&serde_json::from_str::<Reason>(&json).unwrap(), reason);
}

#[test]
fn an_untagged_parent_kept_for_its_child_leads_with_why() {
    let graph = InventoryBuilder::new()
        .image(image(1).layers(&[1]).created(0))
        .image(
            image(2)
                .parent(1)
                .tags(&["app:1"])
                .layers(&[1, 2])
                .created(0),
        )
        .container("web", 2, ContainerState::Running)
        .graph();
    let policy = policy(
        r#"
        [[rule]]
        name = "old"
        older_than = "1h"
        action = "delete"
        "#,
    );
    let decisions = evaluate(&graph, &policy, at(10));
    let parent = decisions.decision(graph.find(&crate::testkit::image_id(1)).unwrap());
    assert_eq!(parent.verdict, Verdict::Keep);
    let texts: Vec<String> = parent.reasons.iter().map(Reason::to_string).collect();
    assert_eq!(
        texts,
        [
            "parent of kept image app:1",
            "rule \"old\" would remove the untagged image (protected)"
        ]
    );
}

#[test]
fn a_pre_release_of_an_old_minor_does_not_rank_its_image() {
    // Image 3's 1.23rc1 is outside the newest minors (a pre-release makes no minor count), so it
    // goes; had it ranked image 3 first, image 3 would drop to #2 once it is gone, and the next
    // plan would delete it.
    let graph = InventoryBuilder::new()
        .image(
            image(1)
                .tags(&["golang:1.22.0-alpine"])
                .label("keep", "yes"),
        )
        .image(image(2).tags(&["golang:1.22.3"]))
        .image(image(3).tags(&["golang:1.21.0", "golang:1.23rc1"]))
        .graph();
    let policy = policy(
        r#"
        [protect]
        labels = ["keep"]
        [[rule]]
        name = "newest"
        action = "retain"
        retain = 1
        per = []
        newest_minors = 2
        "#,
    );
    let decisions = evaluate(&graph, &policy, at(100));
    let verdicts: Vec<Verdict> = decisions.iter().map(|(_, d)| d.verdict).collect();
    assert_eq!(verdicts, [Verdict::Keep, Verdict::Keep, Verdict::Delete]);
    let deleted = decisions.decision(graph.resolve("golang:1.21.0").unwrap());
    let texts: Vec<String> = deleted.reasons.iter().map(Reason::to_string).collect();
    assert_eq!(
        texts,
        [
            "golang:1.21.0: newest #3 in one group, beyond the 1 rule \"newest\" retains",
            "golang:1.23rc1: minor 1.23 is not among the 2 newest (rule \"newest\")"
        ]
    );
}

#[test]
fn trace_shows_each_rule_the_group_and_the_rank() {
    let graph = Graph::new(golang_matrix());
    let trace = trace(
        &graph,
        &example("golang-matrix.toml"),
        at(100),
        "golang:1.22.1-bookworm",
    )
    .expect("the tag exists");
    assert_eq!(trace.references.len(), 1);
    let reference = &trace.references[0];
    assert_eq!(reference.version.as_deref(), Some("1.22.1-bookworm"));
    assert_eq!(reference.rules.len(), 2);
    assert_eq!(
        reference.rules[0].not_matched.as_deref(),
        Some("tag 1.22.1-bookworm does not match \"latest\" or \"alpine\" or \"bookworm\"")
    );
    let group = reference.rules[1]
        .group
        .as_ref()
        .expect("a retain rule ranks");
    assert_eq!(group.key, "repository=golang minor=1.22 variant=bookworm");
    assert_eq!(
        group.members[0],
        "golang:1.22.4-bookworm, golang:1.22-bookworm"
    );
    assert_eq!((group.rank, group.keep, group.members.len()), (4, 3, 5));
    assert_eq!(
        reference.outcome.to_string(),
        "golang:1.22.1-bookworm: newest #4 in repository=golang minor=1.22 variant=bookworm, \
         beyond the 3 rule \"golang matrix\" retains"
    );
    assert_eq!(trace.decision.verdict, Verdict::Delete);
}

#[test]
fn trace_of_an_image_covers_every_tag() {
    let graph = Graph::new(golang_matrix());
    let id = graph
        .resolve("golang:latest")
        .map(|i| graph.image(i).id.to_string())
        .unwrap();
    let trace = trace(&graph, &example("golang-matrix.toml"), at(100), &id).unwrap();
    let subjects: Vec<&str> = trace
        .references
        .iter()
        .map(|r| r.subject.as_str())
        .collect();
    assert_eq!(subjects, ["golang:1.23.4", "golang:1.23", "golang:latest"]);
    assert!(trace.references[2].rules[0].not_matched.is_none());
}

#[test]
fn the_cap_refuses_a_plan_with_the_figures() {
    let graph = Graph::new(golang_matrix());
    let policy = example("golang-matrix.toml");
    let decisions = evaluate(&graph, &policy, at(100));
    let plan = make_plan(&graph, &decisions, "test", at(100));
    assert_eq!(check_limits(&plan, &graph, &policy.limits), Ok(()));
    let tight = Limits {
        max_images: Some(10),
        max_bytes: None,
        max_percent: Some(50.0),
    };
    let refused = check_limits(&plan, &graph, &tight).unwrap_err();
    assert_eq!(refused.exceeded, ["max_images = 10", "max_percent = 50"]);
    assert!(
        refused
            .to_string()
            .starts_with("the plan deletes 26 of 45 images (57.8 %)")
    );
    let raised = tight.overridden_by(&Limits {
        max_images: Some(30),
        ..Limits::default()
    });
    assert_eq!(
        check_limits(&plan, &graph, &raised).unwrap_err().exceeded,
        ["max_percent = 50"]
    );
}

#[test]
fn limits_validate_the_bounds_the_file_is_held_to() {
    let bounds = |max_images, max_bytes, max_percent| Limits {
        max_images,
        max_bytes,
        max_percent,
    };
    assert_eq!(Limits::default().validate(), Ok(()));
    assert_eq!(bounds(Some(1), Some(1), Some(0.0)).validate(), Ok(()));
    assert_eq!(bounds(None, None, Some(100.0)).validate(), Ok(()));
    #[rustfmt::skip]
    let refused = [
        (bounds(None, None, Some(250.0)), "max_percent must be between 0 and 100, found 250"),
        (bounds(None, None, Some(-1.0)), "max_percent must be between 0 and 100, found -1"),
        (bounds(None, None, Some(f64::NAN)), "max_percent must be between 0 and 100, found NaN"),
        (bounds(Some(0), None, None), "max_images must be at least 1, found 0"),
        (bounds(None, Some(0), None), "max_bytes must be at least 1 byte, found 0"),
        (bounds(Some(0), None, Some(250.0)), "max_images must be at least 1, found 0"),
    ];
    for (limits, message) in refused {
        assert_eq!(limits.validate(), Err(message.to_owned()), "{limits:?}");
    }
}

#[test]
fn a_zero_percent_cap_is_valid_and_refuses_any_deletion() {
    let policy = policy(
        r#"
        [limits]
        max_percent = 0
        [[rule]]
        name = "everything"
        action = "delete"
        "#,
    );
    assert_eq!(policy.limits.max_percent, Some(0.0));
    let graph = InventoryBuilder::new()
        .image(image(1).tags(&["a:1"]))
        .image(image(2).tags(&["b:1"]))
        .container("web", 2, ContainerState::Running)
        .graph();
    let plan = make_plan(&graph, &evaluate(&graph, &policy, at(10)), "test", at(10));
    let refused = check_limits(&plan, &graph, &policy.limits).unwrap_err();
    assert_eq!(refused.exceeded, ["max_percent = 0"]);
}

/// The fenced block that follows `marker` in `doc`.
fn block_after<'d>(doc: &'d str, marker: &str) -> &'d str {
    let after = &doc[doc.find(marker).unwrap_or_else(|| panic!("no {marker}")) + marker.len()..];
    let start = after
        .find("```")
        .expect("a fenced block follows the marker");
    let body = &after[start..];
    let body = &body[body.find('\n').expect("a fence line") + 1..];
    &body[..body.find("```").expect("a closing fence")]
}

/// The inventory of the worked example in docs/policy.md, described there in words.
fn worked_example() -> Graph {
    InventoryBuilder::new()
        .image(image(1).tags(&["golang:1.22.0"]).created(1))
        .image(image(2).tags(&["golang:1.22.1"]).created(2))
        .image(
            image(3)
                .tags(&["golang:1.22.2", "golang:1.22", "golang:latest"])
                .created(3),
        )
        .image(image(4).tags(&["golang:1.21.9"]).created(0))
        .image(
            image(5)
                .tags(&["golang:1.21.8", "tools:go1.21"])
                .created(-1),
        )
        .image(
            image(6)
                .tags(&["ci-job-7:latest"])
                .label("ci.job.id", "7")
                .created(10),
        )
        .image(
            image(8)
                .tags(&["ci-job-6:latest"])
                .label("ci.job.id", "6")
                .created(10),
        )
        .image(image(7).created(99))
        .container("old-build", 4, ContainerState::Exited)
        .container("job-6", 8, ContainerState::Exited)
        .graph()
}

/// Decisions as the worked example shows them: one image a paragraph, its reasons below.
fn render(graph: &Graph, decisions: &Decisions) -> String {
    let mut out = String::new();
    for (i, decision) in decisions.iter() {
        let image = graph.image(i);
        let name = if image.tags.is_empty() {
            image.id.short().to_owned()
        } else {
            image.tags.join(", ")
        };
        let verdict = format!("{:?}", decision.verdict).to_lowercase();
        out.push_str(&format!("{verdict:<6} {name}\n"));
        for reason in &decision.reasons {
            out.push_str(&format!("         {reason}\n"));
        }
    }
    out
}

#[test]
fn the_worked_example_in_the_docs_gives_the_output_shown() {
    let doc = include_str!("../../../../docs/policy.md");
    let policy = parse_policy(block_after(doc, "<!-- example-policy -->"), "shed.toml")
        .unwrap_or_else(|errors| panic!("{errors}"));
    let graph = worked_example();
    let decisions = evaluate(&graph, &policy, at(100));
    let output = render(&graph, &decisions);
    let trace = trace(&graph, &policy, at(100), "golang:1.22.0").expect("the tag exists");
    assert_eq!(output, block_after(doc, "<!-- example-output -->"));
    assert_eq!(
        trace.to_string(),
        block_after(doc, "<!-- example-trace -->")
    );
}
