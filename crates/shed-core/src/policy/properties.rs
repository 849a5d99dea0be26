//! Property tests of policy evaluation on generated inventories and policies: protected images
//! are never deleted nor untagged, a retain group never keeps more than N unprotected members,
//! evaluation is deterministic, and a plan applied to the model leaves an empty plan.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::eval::evaluation;
use super::{Policy, evaluate, parse_policy};
use crate::decide::Verdict;
use crate::graph::Graph;
use crate::inventory::{ContainerState, Inventory};
use crate::plan::{ActionKind, Plan, make_plan};
use crate::testkit::{InventoryBuilder, at, image};

const TAGS: &[&str] = &[
    "golang:1.21.0",
    "golang:1.21.1",
    "golang:1.22.0",
    "golang:1.22.3",
    "golang:1.22",
    "golang:1.23rc1",
    "golang:1.23.0",
    "golang:latest",
    "golang:alpine",
    "golang:1.22.0-alpine",
    "golang:1.21.1-alpine",
    "app:1.0.0",
    "app:1.1.0",
    "app:latest",
];

#[derive(Debug, Clone)]
struct ImagePlan {
    tags: Vec<usize>,
    parent: Option<usize>,
    created: i64,
    keep_label: bool,
    ci_label: bool,
    in_use: bool,
}

fn image_plan() -> impl Strategy<Value = ImagePlan> {
    (
        proptest::collection::vec(0..TAGS.len(), 0..3),
        proptest::option::weighted(0.3, 0usize..12),
        0i64..100,
        proptest::bool::weighted(0.15),
        proptest::bool::weighted(0.3),
        proptest::bool::weighted(0.15),
    )
        .prop_map(
            |(tags, parent, created, keep_label, ci_label, in_use)| ImagePlan {
                tags,
                parent,
                created,
                keep_label,
                ci_label,
                in_use,
            },
        )
}

/// An inventory from the plans: a tag goes to the first image that draws it, a parent must
/// come earlier in the list, every image has a layer of its own above its parent's.
fn inventory(plans: &[ImagePlan]) -> Inventory {
    let mut builder = InventoryBuilder::new();
    let mut taken = BTreeSet::new();
    for (n, plan) in plans.iter().enumerate() {
        let number = u32::try_from(n + 1).expect("few images");
        let tags: Vec<&str> = plan
            .tags
            .iter()
            .filter(|&&t| taken.insert(t))
            .map(|&t| TAGS[t])
            .collect();
        let mut spec = image(number).tags(&tags).created(plan.created);
        let parent = plan.parent.filter(|&p| p < n);
        let layers: Vec<u32> = match parent {
            Some(p) => {
                spec = spec.parent(u32::try_from(p + 1).expect("few images"));
                vec![u32::try_from(p + 1).expect("few images"), number]
            }
            None => vec![number],
        };
        spec = spec.layers(&layers);
        if plan.keep_label {
            spec = spec.label("keep", "yes");
        }
        if plan.ci_label {
            spec = spec.label("ci.job.id", "1");
        }
        builder = builder.image(spec);
        if plan.in_use {
            builder = builder.container("c", number, ContainerState::Exited);
        }
    }
    builder.build()
}

/// One of a few rule shapes, with generated numbers.
fn rule_text() -> impl Strategy<Value = String> {
    prop_oneof![
        (1usize..4, 0usize..4, proptest::option::of(1usize..3)).prop_map(|(keep, per, minors)| {
            let per = [
                "[]",
                "[\"repository\"]",
                "[\"repository\", \"minor\"]",
                "[\"repository\", \"minor\", \"variant\"]",
            ][per];
            let minors = minors
                .map(|m| format!("newest_minors = {m}\n"))
                .unwrap_or_default();
            format!("action = \"retain\"\nretain = {keep}\nper = {per}\n{minors}")
        }),
        (1usize..4).prop_map(|keep| {
            format!(
                "action = \"retain\"\nretain = {keep}\norder = \"created\"\nrepository = \"app\"\n"
            )
        }),
        (1i64..90).prop_map(|h| format!("action = \"delete\"\nunused_for = \"{h}h\"\n")),
        Just("action = \"delete\"\ndangling = true\n".to_owned()),
        Just("action = \"keep\"\ntag = \"latest\"\n".to_owned()),
        Just("action = \"delete\"\nlabels = \"ci.job.id\"\n".to_owned()),
        Just("action = \"delete\"\nrepository = \"app\"\nversion = \"<1.1\"\n".to_owned()),
    ]
}

fn policy_text() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(rule_text(), 0..4),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(rules, delete_by_default, min_age)| {
            let default = if delete_by_default { "delete" } else { "keep" };
            let mut text = format!("default = \"{default}\"\n[protect]\nlabels = [\"keep\"]\n");
            if min_age {
                text.push_str("min_age = \"5h\"\n");
            }
            for (n, rule) in rules.iter().enumerate() {
                text.push_str(&format!("[[rule]]\nname = \"r{n}\"\n{rule}"));
            }
            text
        })
}

/// The model after a plan: deleted images gone, removed references gone.
fn applied(inventory: &Inventory, plan: &Plan) -> Inventory {
    let mut next = inventory.clone();
    for action in &plan.actions {
        match action.kind {
            ActionKind::Delete => next.images.retain(|image| image.id != action.image_id),
            ActionKind::Untag => {
                let image = next.images.iter_mut().find(|i| i.id == action.image_id);
                let image = image.expect("an untag names an image of the inventory");
                image.tags.retain(|t| !action.references.contains(t));
                image
                    .repo_digests
                    .retain(|d| !action.references.contains(d));
            }
        }
    }
    next
}

fn parsed(text: &str) -> Option<Policy> {
    // A generated policy may put a rule after a broader one, which `policy check` rejects.
    parse_policy(text, "generated.toml").ok()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn protected_images_are_never_deleted_nor_untagged(
        plans in proptest::collection::vec(image_plan(), 1..12),
        text in policy_text(),
    ) {
        let Some(policy) = parsed(&text) else { return Ok(()) };
        let graph = Graph::new(inventory(&plans));
        let now = at(100);
        let found = evaluation(&graph, &policy, now);
        for i in graph.images() {
            let image = graph.image(i);
            let protected = graph.is_in_use(i)
                || image.labels.contains_key("keep")
                || (policy.protect.min_age.is_some() && image.created > at(95));
            prop_assert_eq!(protected, !found.protections[i.index()].is_empty());
            if protected {
                prop_assert_eq!(found.decisions[i.index()].verdict, Verdict::Keep);
            }
        }
    }

    #[test]
    fn a_retain_group_keeps_at_most_n_unprotected_members(
        plans in proptest::collection::vec(image_plan(), 1..12),
        text in policy_text(),
    ) {
        let Some(policy) = parsed(&text) else { return Ok(()) };
        let graph = Graph::new(inventory(&plans));
        let found = evaluation(&graph, &policy, at(100));
        for group in &found.groups {
            let super::Action::Retain(retain) = &policy.rules[group.rule].action else {
                unreachable!("groups come from retain rules");
            };
            let kept_unprotected = group
                .members
                .iter()
                .zip(&group.member_subjects)
                .filter(|(m, _)| found.protections[m.index()].is_empty())
                .filter(|(_, subjects)| subjects.iter().any(|&s| !found.outcomes[s].remove))
                .count();
            prop_assert!(kept_unprotected <= retain.keep, "group {}", group.key);
        }
    }

    #[test]
    fn evaluation_is_deterministic(
        plans in proptest::collection::vec(image_plan(), 1..12),
        text in policy_text(),
    ) {
        let Some(policy) = parsed(&text) else { return Ok(()) };
        let graph = Graph::new(inventory(&plans));
        let first = make_plan(&graph, &evaluate(&graph, &policy, at(100)), "p", at(100));
        let again = Graph::new(inventory(&plans));
        let second = make_plan(&again, &evaluate(&again, &policy, at(100)), "p", at(100));
        let json = |plan: &Plan| serde_json::to_string(plan).expect("plans serialize");
        prop_assert_eq!(json(&first), json(&second));
    }

    #[test]
    fn a_plan_applied_leaves_nothing_to_do(
        plans in proptest::collection::vec(image_plan(), 1..12),
        text in policy_text(),
    ) {
        let Some(policy) = parsed(&text) else { return Ok(()) };
        let before = inventory(&plans);
        let graph = Graph::new(before.clone());
        let plan = make_plan(&graph, &evaluate(&graph, &policy, at(100)), "p", at(100));
        let after = Graph::new(applied(&before, &plan));
        let next = make_plan(&after, &evaluate(&after, &policy, at(100)), "p", at(100));
        prop_assert!(next.actions.is_empty(), "{:?}\nafter {:?}", next.actions, plan.actions);
    }
}
