//! Evaluating a policy: a decision per reference, then an effect per image.
//!
//! Each subject (a tag, or an image without tags) is decided by the first rule that matches it,
//! or by the default; a retain rule ranks the members of each group first. Then each image gets
//! one effect: protected images keep everything; an image whose every reference is removed is
//! deleted; one that loses only some is untagged. Last, families settle, children first: a
//! parent of an image that stays stays too, and an untagged, unused parent whose children all
//! go is deleted with them, as the engine itself would remove it.
//!
//! Whether an image is dangling depends on its children being deleted, so evaluation repeats
//! with the images the previous round deleted until the deleted set no longer changes. That
//! makes a plan applied leave nothing for the next plan to do.

use std::collections::{BTreeMap, BTreeSet};

use crate::decide::{Decision, Decisions, Reason, Verdict};
use crate::graph::{Graph, ImageIdx};
use crate::inventory::Timestamp;

use super::select::{Subject, View, rule_mismatch, subjects};
use super::{Action, GroupPart, Policy, Retain, RetainOrder};

/// Decides every image of `graph` under `policy` at time `now`.
///
/// Guarantees: a protected image (in use by a container in any state, or matched by the
/// policy's `protect`) is neither deleted nor untagged; an image is deleted only when every one
/// of its tags is removed; a parent of an image that stays is not deleted. Deterministic: the
/// same graph, policy and time give the same decisions.
pub fn evaluate(graph: &Graph, policy: &Policy, now: Timestamp) -> Decisions {
    Decisions::from_vec(evaluation(graph, policy, now).decisions)
}

/// Everything evaluation learnt, for [`super::trace`].
pub(crate) struct Evaluation {
    pub subjects: Vec<Subject>,
    pub outcomes: Vec<Outcome>,
    pub groups: Vec<Group>,
    pub protections: Vec<Vec<Reason>>,
    pub decisions: Vec<Decision>,
    pub gone: Vec<bool>,
}

/// How one subject was decided.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    /// The index of the deciding rule; `None` for the default.
    pub rule: Option<usize>,
    pub remove: bool,
    pub reason: Reason,
    /// The retain group the subject was ranked in, an index into [`Evaluation::groups`].
    pub group: Option<usize>,
}

/// One retain group: its rule, its key in words, and its images, newest first.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub rule: usize,
    pub key: String,
    pub members: Vec<ImageIdx>,
    /// For each member, the subjects of the group on that image.
    pub member_subjects: Vec<Vec<usize>>,
}

pub(crate) fn evaluation(graph: &Graph, policy: &Policy, now: Timestamp) -> Evaluation {
    let subjects = subjects(graph);
    let protections: Vec<Vec<Reason>> = graph
        .images()
        .map(|i| protection(graph, policy, now, i))
        .collect();
    let mut gone = vec![false; graph.image_count()];
    // Each round can only follow a longer chain of parents; the bound stops a pathological
    // policy (one that keeps only what is not dangling) from alternating forever: after it, the
    // next round is taken as it is.
    let mut rounds = 0;
    loop {
        let view = View {
            graph,
            now,
            gone: &gone,
        };
        let (outcomes, groups) = decide_subjects(policy, &view, &subjects);
        let decisions = decide_images(graph, &subjects, &outcomes, &protections);
        let next: Vec<bool> = decisions
            .iter()
            .map(|d| d.verdict == Verdict::Delete)
            .collect();
        if next == gone || rounds > graph.image_count() {
            return Evaluation {
                subjects,
                outcomes,
                groups,
                protections,
                decisions,
                gone,
            };
        }
        gone = next;
        rounds += 1;
    }
}

/// Why the image is protected: its containers, then the policy's protections.
pub(crate) fn protection(
    graph: &Graph,
    policy: &Policy,
    now: Timestamp,
    i: ImageIdx,
) -> Vec<Reason> {
    let image = graph.image(i);
    let mut reasons: Vec<Reason> = graph
        .containers_of(i)
        .iter()
        .map(|&c| {
            let container = graph.container(c);
            let name = container.display_name().to_owned();
            Reason::InUse {
                container: name,
                state: container.state,
            }
        })
        .collect();
    let protect = &policy.protect;
    for reference in image.references() {
        if let Some(glob) = protect.references.iter().find(|g| g.is_match(reference)) {
            let pattern = glob.text.clone();
            reasons.push(Reason::ProtectedReference {
                reference: reference.to_owned(),
                pattern,
            });
        }
    }
    if let Some(label) = protect.labels.iter().find(|l| l.matches(&image.labels)) {
        reasons.push(Reason::ProtectedLabel {
            label: label.to_string(),
        });
    }
    if let Some(min_age) = protect.min_age
        && now - image.created < min_age.delta
    {
        reasons.push(Reason::YoungerThanMinAge {
            min_age: min_age.to_string(),
        });
    }
    reasons
}

fn decide_subjects(
    policy: &Policy,
    view: &View<'_>,
    subjects: &[Subject],
) -> (Vec<Outcome>, Vec<Group>) {
    let first_rule: Vec<Option<usize>> = subjects
        .iter()
        .map(|s| {
            policy
                .rules
                .iter()
                .position(|r| rule_mismatch(r, view, s).is_none())
        })
        .collect();
    let mut outcomes: Vec<Option<Outcome>> = subjects
        .iter()
        .zip(&first_rule)
        .map(|(subject, rule)| simple_outcome(policy, subject, *rule))
        .collect();
    let mut groups = Vec::new();
    for (r, rule) in policy.rules.iter().enumerate() {
        let Action::Retain(retain) = &rule.action else {
            continue;
        };
        let members: Vec<usize> = (0..subjects.len())
            .filter(|&s| first_rule[s] == Some(r))
            .collect();
        rank_retained(
            view,
            subjects,
            r,
            &rule.name,
            retain,
            &members,
            &mut outcomes,
            &mut groups,
        );
    }
    // Every subject has an outcome: a retain rule ranks every subject it decides.
    let outcomes = outcomes.into_iter().flatten().collect();
    (outcomes, groups)
}

/// The outcome of a keep or delete rule, or of the default; `None` for a retain rule.
fn simple_outcome(policy: &Policy, subject: &Subject, rule: Option<usize>) -> Option<Outcome> {
    let reference = subject.reference.clone();
    match rule {
        None => {
            let action = policy.default.as_str().to_owned();
            let remove = policy.default == Action::Delete;
            let reason = Reason::PolicyDefault { action, reference };
            Some(Outcome {
                rule: None,
                remove,
                reason,
                group: None,
            })
        }
        Some(r) => {
            let rule_def = &policy.rules[r];
            let remove = match rule_def.action {
                Action::Keep => false,
                Action::Delete => true,
                Action::Retain(_) => return None,
            };
            let action = rule_def.action.as_str().to_owned();
            let reason = Reason::Rule {
                rule: rule_def.name.clone(),
                action,
                reference,
            };
            Some(Outcome {
                rule: Some(r),
                remove,
                reason,
                group: None,
            })
        }
    }
}

/// Ranks the subjects a retain rule decides, group by group, and records their outcomes.
#[allow(clippy::too_many_arguments)] // the rule's parts and the two outputs, nothing hidden
fn rank_retained(
    view: &View<'_>,
    subjects: &[Subject],
    r: usize,
    name: &str,
    retain: &Retain,
    members: &[usize],
    outcomes: &mut [Option<Outcome>],
    groups: &mut Vec<Group>,
) {
    let minors = newest_minors(subjects, retain, members);
    let mut by_key: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for &s in members {
        let in_newest_minors = minors
            .as_ref()
            .is_none_or(|m| m.contains(&minor_of(&subjects[s])));
        // A tag of an old minor is removed whatever its rank, so it does not rank its image:
        // if it did, the image would rank lower once the tag is gone, and the next plan would
        // find more to remove.
        if !in_newest_minors {
            outcomes[s] = Some(old_minor_outcome(&subjects[s], r, name, retain));
            continue;
        }
        by_key
            .entry(group_key(&subjects[s], &retain.per))
            .or_default()
            .push(s);
    }
    for (key, group_subjects) in by_key {
        let group = ranked_group(view, subjects, r, key, &group_subjects, retain.order);
        for (rank0, member_subjects) in group.member_subjects.iter().enumerate() {
            for &s in member_subjects {
                let rank = rank0 + 1;
                let kept = rank <= retain.keep;
                let reason = Reason::Retain {
                    rule: name.to_owned(),
                    reference: subjects[s].reference.clone(),
                    group: group.key.clone(),
                    rank,
                    keep: retain.keep,
                    kept,
                };
                outcomes[s] = Some(Outcome {
                    rule: Some(r),
                    remove: !kept,
                    reason,
                    group: Some(groups.len()),
                });
            }
        }
        groups.push(group);
    }
}

/// The outcome of a tag whose minor is not among the rule's `newest_minors`: removed, unranked.
fn old_minor_outcome(subject: &Subject, r: usize, name: &str, retain: &Retain) -> Outcome {
    let reason = Reason::OldMinor {
        rule: name.to_owned(),
        reference: subject.reference.clone(),
        minor: minor_text(subject),
        newest_minors: retain.newest_minors.unwrap_or(0),
    };
    Outcome {
        rule: Some(r),
        remove: true,
        reason,
        group: None,
    }
}

/// The images of one group, newest first, each with its subjects in the group.
fn ranked_group(
    view: &View<'_>,
    subjects: &[Subject],
    rule: usize,
    key: String,
    group_subjects: &[usize],
    order: RetainOrder,
) -> Group {
    let mut by_image: BTreeMap<ImageIdx, Vec<usize>> = BTreeMap::new();
    for &s in group_subjects {
        by_image.entry(subjects[s].image).or_default().push(s);
    }
    let mut ranked: Vec<(ImageIdx, Vec<usize>)> = by_image.into_iter().collect();
    ranked.sort_by(|(a, sa), (b, sb)| {
        let version = |ss: &[usize]| ss.iter().filter_map(|&s| subjects[s].version.clone()).max();
        let image_a = view.graph.image(*a);
        let image_b = view.graph.image(*b);
        let by_version = match order {
            RetainOrder::Version => version(sb).cmp(&version(sa)),
            RetainOrder::Created => std::cmp::Ordering::Equal,
        };
        by_version
            .then_with(|| image_b.created.cmp(&image_a.created))
            .then_with(|| image_a.id.cmp(&image_b.id))
    });
    let (members, member_subjects) = ranked.into_iter().unzip();
    Group {
        rule,
        key,
        members,
        member_subjects,
    }
}

/// The group key in words: `repository=golang minor=1.22 variant=alpine3.20`.
fn group_key(subject: &Subject, per: &[GroupPart]) -> String {
    if per.is_empty() {
        return "one group".to_owned();
    }
    let version = subject.version.as_ref();
    let parts: Vec<String> = per
        .iter()
        .map(|part| {
            let value = match part {
                GroupPart::Repository => subject.repositories.first().cloned().unwrap_or_default(),
                GroupPart::Major => version.map(|v| v.major.to_string()).unwrap_or_default(),
                GroupPart::Minor => minor_text(subject),
                GroupPart::Variant => version
                    .and_then(|v| v.variant.clone())
                    .unwrap_or_else(|| "none".to_owned()),
            };
            format!("{}={value}", part.as_str())
        })
        .collect();
    parts.join(" ")
}

/// `1.22`, or `1` for a tag that names a whole major line.
fn minor_text(subject: &Subject) -> String {
    match subject.version.as_ref() {
        Some(v) => match v.minor {
            Some(minor) => format!("{}.{minor}", v.major),
            None => v.major.to_string(),
        },
        None => String::new(),
    }
}

/// The repository and major.minor a subject's minor is compared by; a major line (`1`) is
/// newer than any of its minors.
fn minor_of(subject: &Subject) -> (String, u64, u64) {
    let repository = subject.repositories.first().cloned().unwrap_or_default();
    let v = subject.version.as_ref();
    (
        repository,
        v.map_or(0, |v| v.major),
        v.map_or(0, |v| v.minor.unwrap_or(u64::MAX)),
    )
}

/// The `newest_minors` newest minors of each repository among the rule's released versions
/// (pre-releases do not make a minor count), or `None` when the rule does not limit minors.
fn newest_minors(
    subjects: &[Subject],
    retain: &Retain,
    members: &[usize],
) -> Option<BTreeSet<(String, u64, u64)>> {
    let limit = retain.newest_minors?;
    let mut per_repository: BTreeMap<String, BTreeSet<(u64, u64)>> = BTreeMap::new();
    for &s in members {
        let subject = &subjects[s];
        if subject.version.as_ref().is_some_and(|v| v.pre.is_none()) {
            let (repository, major, minor) = minor_of(subject);
            per_repository
                .entry(repository)
                .or_default()
                .insert((major, minor));
        }
    }
    let mut kept = BTreeSet::new();
    for (repository, minors) in per_repository {
        for (major, minor) in minors.into_iter().rev().take(limit) {
            kept.insert((repository.clone(), major, minor));
        }
    }
    Some(kept)
}

/// The effect on each image of its subjects' outcomes, then the families settled.
fn decide_images(
    graph: &Graph,
    subjects: &[Subject],
    outcomes: &[Outcome],
    protections: &[Vec<Reason>],
) -> Vec<Decision> {
    let mut of_image: Vec<Vec<usize>> = vec![Vec::new(); graph.image_count()];
    for (s, subject) in subjects.iter().enumerate() {
        of_image[subject.image.index()].push(s);
    }
    let mut decisions: Vec<Decision> = graph
        .images()
        .map(|i| {
            image_decision(
                graph,
                i,
                &of_image[i.index()],
                subjects,
                outcomes,
                &protections[i.index()],
            )
        })
        .collect();
    for &i in graph.children_first() {
        settle_family(graph, i, protections, &mut decisions);
    }
    decisions
}

fn image_decision(
    graph: &Graph,
    i: ImageIdx,
    own: &[usize],
    subjects: &[Subject],
    outcomes: &[Outcome],
    protection: &[Reason],
) -> Decision {
    if !protection.is_empty() {
        // Why the image stays comes first; what the rules wanted follows, as overruled.
        let mut reasons = protection.to_vec();
        reasons.extend(own.iter().map(|&s| overruled_if_removed(&outcomes[s])));
        return Decision {
            verdict: Verdict::Keep,
            removed_references: Vec::new(),
            reasons,
        };
    }
    let reasons: Vec<Reason> = own.iter().map(|&s| outcomes[s].reason.clone()).collect();
    let removed: Vec<usize> = own
        .iter()
        .copied()
        .filter(|&s| outcomes[s].remove)
        .collect();
    if removed.len() == own.len() {
        let removed_references = graph.image(i).references().map(str::to_owned).collect();
        return Decision {
            verdict: Verdict::Delete,
            removed_references,
            reasons,
        };
    }
    let removed_references: Vec<String> = removed
        .iter()
        .filter_map(|&s| subjects[s].reference.clone())
        .collect();
    let verdict = if removed_references.is_empty() {
        Verdict::Keep
    } else {
        Verdict::Untag
    };
    Decision {
        verdict,
        removed_references,
        reasons,
    }
}

/// The subject's reason, marked as overruled when the outcome removes it: the image stays.
fn overruled_if_removed(outcome: &Outcome) -> Reason {
    if outcome.remove {
        overruled(outcome.reason.clone())
    } else {
        outcome.reason.clone()
    }
}

fn overruled(reason: Reason) -> Reason {
    Reason::Overruled {
        removal: Box::new(reason),
    }
}

/// Once every child of `i` is decided: a parent of a kept image is not deleted (its tags may
/// still go), and an untagged, unused, unprotected parent whose children all go is deleted.
fn settle_family(
    graph: &Graph,
    i: ImageIdx,
    protections: &[Vec<Reason>],
    decisions: &mut [Decision],
) {
    let children = graph.children(i);
    if children.is_empty() {
        return;
    }
    let by_id = |a: &&ImageIdx, b: &&ImageIdx| graph.image(**a).id.cmp(&graph.image(**b).id);
    let kept_child = children
        .iter()
        .filter(|c| decisions[c.index()].verdict != Verdict::Delete)
        .min_by(by_id);
    let image = graph.image(i);
    let decision = &mut decisions[i.index()];
    match kept_child {
        Some(&child) => {
            let child_image = graph.image(child);
            let child_name = child_image
                .tags
                .first()
                .cloned()
                .unwrap_or_else(|| child_image.id.short().to_owned());
            if decision.verdict == Verdict::Delete {
                decision.removed_references = image.tags.clone();
                decision.verdict = if image.tags.is_empty() {
                    // Its one subject, the untagged image, was to be removed: it stays.
                    decision.reasons = decision.reasons.drain(..).map(overruled).collect();
                    Verdict::Keep
                } else {
                    Verdict::Untag
                };
            }
            // Why the image stays leads, after any protection of its own.
            let at = protections[i.index()].len();
            let reason = Reason::ParentOfKept {
                child: child_image.id.clone(),
                child_name,
            };
            decision.reasons.insert(at, reason);
        }
        None if decision.verdict == Verdict::Keep
            && image.is_untagged()
            && protections[i.index()].is_empty() =>
        {
            let Some(first) = children.iter().min_by(by_id) else {
                return;
            };
            decision.verdict = Verdict::Delete;
            decision.removed_references = image.references().map(str::to_owned).collect();
            decision.reasons.push(Reason::ParentOfDeleted {
                child: graph.image(*first).id.clone(),
            });
        }
        None => {}
    }
}
