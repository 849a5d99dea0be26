//! Traces: how a policy decided one reference or image, rule by rule, for `shed why`.
//!
//! A trace replays the evaluation and keeps what it saw: the protections of the image; for each
//! tag (or the untagged image), every rule in order up to the one that decided it, with why each
//! earlier rule did not match; for a retain rule, the group, its members newest first and the
//! rank of this image; and the image's final decision.

use std::fmt;

use crate::decide::{Decision, Reason};
use crate::graph::{Graph, ImageIdx};
use crate::ids::ImageId;
use crate::inventory::Timestamp;

use super::Policy;
use super::eval::{Evaluation, evaluation};
use super::select::{View, rule_mismatch};

/// How a policy decided one image, or one of its tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    pub image: ImageId,
    /// Why the image is protected; empty when it is not.
    pub protections: Vec<Reason>,
    /// One entry per traced tag, or one for an image without tags.
    pub references: Vec<ReferenceTrace>,
    /// The image's decision, as the plan uses it.
    pub decision: Decision,
}

/// The rules one subject went through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceTrace {
    /// The tag, or `image <short id>` for an image without tags.
    pub subject: String,
    /// The tag read as a version (canonical form), when it is one.
    pub version: Option<String>,
    /// The rules in order, up to and including the one that matched.
    pub rules: Vec<RuleTrace>,
    /// The decision for this subject; names the rule, or the default.
    pub outcome: Reason,
}

/// One rule, as one subject met it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleTrace {
    pub rule: String,
    /// The line of the rule's `[[rule]]` header.
    pub line: usize,
    /// Why the rule did not match; `None` when it matched (and decided).
    pub not_matched: Option<String>,
    /// For a retain rule that matched: the group and the ranking.
    pub group: Option<GroupTrace>,
}

/// A retain group as one subject saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupTrace {
    /// The group key: `repository=golang minor=1.22 variant=none`.
    pub key: String,
    /// The members, newest first, each named by its tags in the group.
    pub members: Vec<String>,
    /// The subject's image's rank, 1 for the newest.
    pub rank: usize,
    /// How many the rule keeps.
    pub keep: usize,
}

/// Traces how `policy` decides the image or tag that `image_or_ref` names (a tag, a repo
/// digest, an image ID or an ID prefix, as [`Graph::resolve`] reads them). A tag traces only
/// that tag; anything else traces every tag of the image. `None` when nothing matches.
pub fn trace(graph: &Graph, policy: &Policy, now: Timestamp, image_or_ref: &str) -> Option<Trace> {
    let i = graph.resolve(image_or_ref)?;
    let evaluation = evaluation(graph, policy, now);
    let own: Vec<usize> = (0..evaluation.subjects.len())
        .filter(|&s| evaluation.subjects[s].image == i)
        .collect();
    let named: Vec<usize> = own
        .iter()
        .copied()
        .filter(|&s| names_tag(evaluation.subjects[s].reference.as_deref(), image_or_ref))
        .collect();
    let traced = if named.is_empty() { own } else { named };
    let references = traced
        .iter()
        .map(|&s| reference_trace(graph, policy, now, &evaluation, s))
        .collect();
    Some(Trace {
        image: graph.image(i).id.clone(),
        protections: evaluation.protections[i.index()].clone(),
        references,
        decision: evaluation.decisions[i.index()].clone(),
    })
}

/// Whether the text a person typed names this tag (`bb` is `bb:latest`).
fn names_tag(tag: Option<&str>, typed: &str) -> bool {
    let Some(tag) = tag else { return false };
    let typed = typed.strip_prefix("docker.io/").unwrap_or(typed);
    let typed = typed.strip_prefix("library/").unwrap_or(typed);
    tag == typed || tag.strip_suffix(":latest") == Some(typed)
}

fn reference_trace(
    graph: &Graph,
    policy: &Policy,
    now: Timestamp,
    evaluation: &Evaluation,
    s: usize,
) -> ReferenceTrace {
    let subject = &evaluation.subjects[s];
    let outcome = &evaluation.outcomes[s];
    let view = View {
        graph,
        now,
        gone: &evaluation.gone,
    };
    let last = outcome.rule.map_or(policy.rules.len(), |r| r + 1);
    let rules = policy.rules[..last]
        .iter()
        .map(|rule| RuleTrace {
            rule: rule.name.clone(),
            line: rule.line,
            not_matched: rule_mismatch(rule, &view, subject),
            group: None,
        })
        .collect::<Vec<_>>();
    let mut rules = rules;
    if let (Some(group), Some(last_rule)) = (outcome.group, rules.last_mut()) {
        last_rule.group = Some(group_trace(graph, policy, evaluation, group, subject.image));
    }
    ReferenceTrace {
        subject: subject.name(graph),
        version: subject.version.as_ref().map(ToString::to_string),
        rules,
        outcome: outcome.reason.clone(),
    }
}

fn group_trace(
    graph: &Graph,
    policy: &Policy,
    evaluation: &Evaluation,
    group: usize,
    image: ImageIdx,
) -> GroupTrace {
    let group = &evaluation.groups[group];
    let members = group
        .member_subjects
        .iter()
        .map(|subjects| {
            let names: Vec<String> = subjects
                .iter()
                .map(|&s| evaluation.subjects[s].name(graph))
                .collect();
            names.join(", ")
        })
        .collect();
    let rank = group
        .members
        .iter()
        .position(|&m| m == image)
        .map_or(0, |p| p + 1);
    let keep = match &policy.rules[group.rule].action {
        super::Action::Retain(retain) => retain.keep,
        _ => 0,
    };
    GroupTrace {
        key: group.key.clone(),
        members,
        rank,
        keep,
    }
}

impl fmt::Display for Trace {
    /// The trace as `shed why --policy` prints it: protections, then each reference's rules,
    /// then the decision.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "image {}", self.image.short())?;
        for reason in &self.protections {
            writeln!(f, "  {reason}")?;
        }
        for reference in &self.references {
            write!(f, "{}", reference)?;
        }
        let verdict = format!("{:?}", self.decision.verdict).to_lowercase();
        write!(f, "decision: {verdict}")?;
        if !self.decision.removed_references.is_empty() {
            write!(f, " ({})", self.decision.removed_references.join(", "))?;
        }
        writeln!(f)
    }
}

impl fmt::Display for ReferenceTrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.version {
            Some(version) => writeln!(f, "{} (version {version})", self.subject)?,
            None => writeln!(f, "{} (not a version)", self.subject)?,
        }
        for rule in &self.rules {
            match &rule.not_matched {
                Some(why) => writeln!(f, "  rule {:?} (line {}): no: {why}", rule.rule, rule.line)?,
                None => writeln!(f, "  rule {:?} (line {}): matches", rule.rule, rule.line)?,
            }
            if let Some(group) = &rule.group {
                writeln!(f, "    group {}, keeps {}:", group.key, group.keep)?;
                for (n, member) in group.members.iter().enumerate() {
                    let here = if n + 1 == group.rank { "  <-" } else { "" };
                    writeln!(f, "      #{} {member}{here}", n + 1)?;
                }
            }
        }
        writeln!(f, "  => {}", self.outcome)
    }
}
