//! Subjects and selectors: what a rule is asked about, and whether its selectors match.
//!
//! A rule decides references, one at a time. The subject of a decision is one tag of an image,
//! or, for an image without tags, the image as a whole (its repo digests follow the image: they
//! go when it is deleted and are never untagged alone). Every selector test returns why it does
//! not match, so that evaluation and `shed why` share one definition.

use crate::graph::{Graph, ImageIdx};
use crate::inventory::Timestamp;
use crate::tag::TagVersion;

use super::{Action, Glob, Rule, Selector};

/// One thing a rule decides: a tag, or an image without tags.
#[derive(Debug, Clone)]
pub(crate) struct Subject {
    pub image: ImageIdx,
    /// The tag reference (`golang:1.22`); `None` for an image without tags.
    pub reference: Option<String>,
    /// The repositories the subject belongs to: the tag's, or those of the repo digests.
    pub repositories: Vec<String>,
    pub tag: Option<String>,
    pub version: Option<TagVersion>,
}

impl Subject {
    /// How the subject is named in reasons and traces.
    pub fn name(&self, graph: &Graph) -> String {
        match &self.reference {
            Some(reference) => reference.clone(),
            None => format!("image {}", graph.image(self.image).id.short()),
        }
    }
}

/// Every subject of the graph: images in graph order, each image's tags in its order.
pub(crate) fn subjects(graph: &Graph) -> Vec<Subject> {
    let mut out = Vec::new();
    for i in graph.images() {
        let image = graph.image(i);
        for reference in &image.tags {
            let (repository, tag) = split_tag(reference);
            out.push(Subject {
                image: i,
                reference: Some(reference.clone()),
                repositories: vec![repository.to_owned()],
                tag: Some(tag.to_owned()),
                version: TagVersion::parse(tag),
            });
        }
        if image.tags.is_empty() {
            let mut repositories: Vec<String> = image
                .repo_digests
                .iter()
                .map(|d| split_digest(d).to_owned())
                .collect();
            repositories.dedup();
            out.push(Subject {
                image: i,
                reference: None,
                repositories,
                tag: None,
                version: None,
            });
        }
    }
    out
}

/// `host:5000/app:v1` is repository `host:5000/app`, tag `v1`. A reference without a tag
/// (which the engine never reports among tags) is read as `latest`.
pub(crate) fn split_tag(reference: &str) -> (&str, &str) {
    match reference.rsplit_once(':') {
        Some((repository, tag)) if !tag.contains('/') => (repository, tag),
        _ => (reference, "latest"),
    }
}

fn split_digest(reference: &str) -> &str {
    reference
        .split_once('@')
        .map_or(reference, |(repository, _)| repository)
}

/// The facts selectors need beyond the graph: the time, and the images this plan already
/// deletes (an image whose children all go is dangling once they are gone).
pub(crate) struct View<'g> {
    pub graph: &'g Graph,
    pub now: Timestamp,
    pub gone: &'g [bool],
}

impl View<'_> {
    pub fn is_dangling(&self, i: ImageIdx) -> bool {
        let image = self.graph.image(i);
        image.is_untagged() && self.graph.children(i).iter().all(|c| self.gone[c.index()])
    }

    /// The last use known today: the newest of the image's containers' times and its
    /// creation time.
    pub fn last_used(&self, i: ImageIdx) -> Timestamp {
        let containers = self.graph.containers_of(i).iter();
        let used = containers.map(|&c| self.graph.container(c).last_used());
        used.fold(self.graph.image(i).created, Timestamp::max)
    }
}

/// Why `rule` does not decide `subject`, or `None` when it does.
pub(crate) fn rule_mismatch(rule: &Rule, view: &View<'_>, subject: &Subject) -> Option<String> {
    if let Some(why) = selector_mismatch(&rule.selector, view, subject) {
        return Some(why);
    }
    let Action::Retain(retain) = &rule.action else {
        return None;
    };
    // An untagged image has no repository and no version to group by: ranking them would put
    // every build leftover of the host in one group and keep only its newest N. They go on to
    // the next rule, and the families step removes intermediate parents with their children.
    let Some(tag) = &subject.tag else {
        return Some("the image has no tag, and a retain rule ranks only tags".to_owned());
    };
    if retain.needs_version() && subject.version.is_none() {
        return Some(format!(
            "tag {tag:?} is not a version, and the rule ranks versions"
        ));
    }
    None
}

/// Why the selector does not match the subject, or `None` when every part of it matches.
pub(crate) fn selector_mismatch(
    selector: &Selector,
    view: &View<'_>,
    subject: &Subject,
) -> Option<String> {
    reference_mismatch(selector, subject).or_else(|| image_mismatch(selector, view, subject.image))
}

fn reference_mismatch(selector: &Selector, subject: &Subject) -> Option<String> {
    if !selector.repository.is_empty() {
        let matched = subject
            .repositories
            .iter()
            .any(|r| any_glob(&selector.repository, r));
        if !matched {
            let repository = subject.repositories.first().map_or("none", String::as_str);
            return Some(format!(
                "repository {repository} does not match {}",
                glob_list(&selector.repository)
            ));
        }
    }
    if !selector.tag.is_empty() {
        match &subject.tag {
            None => return Some("the image has no tag".to_owned()),
            Some(tag) if !any_glob(&selector.tag, tag) => {
                return Some(format!(
                    "tag {tag} does not match {}",
                    glob_list(&selector.tag)
                ));
            }
            Some(_) => {}
        }
    }
    version_mismatch(selector, subject)
}

fn version_mismatch(selector: &Selector, subject: &Subject) -> Option<String> {
    if selector.version.is_none() && selector.variant.is_empty() {
        return None;
    }
    let Some(version) = &subject.version else {
        return Some("the tag is not a version".to_owned());
    };
    if let Some(range) = &selector.version
        && !range.req.matches(&version.to_semver())
    {
        return Some(format!(
            "version {} is not in {:?}",
            version.to_semver(),
            range.text
        ));
    }
    if !selector.variant.is_empty() {
        let variant = version.variant.as_deref().unwrap_or("");
        if !any_glob(&selector.variant, variant) {
            let shown = if variant.is_empty() { "none" } else { variant };
            return Some(format!(
                "variant {shown} does not match {}",
                glob_list(&selector.variant)
            ));
        }
    }
    None
}

fn image_mismatch(selector: &Selector, view: &View<'_>, i: ImageIdx) -> Option<String> {
    let image = view.graph.image(i);
    if let Some(label) = selector.labels.iter().find(|l| !l.matches(&image.labels)) {
        return Some(format!("labels do not pass {label}"));
    }
    if let Some(wanted) = selector.dangling
        && view.is_dangling(i) != wanted
    {
        let is = if wanted { "is not" } else { "is" };
        return Some(format!("the image {is} dangling"));
    }
    time_mismatch(selector, view, i).or_else(|| size_mismatch(selector, view, i))
}

fn time_mismatch(selector: &Selector, view: &View<'_>, i: ImageIdx) -> Option<String> {
    let created = view.graph.image(i).created;
    let age = view.now - created;
    if let Some(older_than) = selector.older_than
        && age < older_than.delta
    {
        return Some(format!(
            "created {} ago, not older than {older_than}",
            rough(age)
        ));
    }
    if let Some(before) = selector.created_before
        && created >= before
    {
        return Some(format!(
            "created {}, not before {}",
            created.to_rfc3339(),
            before.to_rfc3339()
        ));
    }
    if let Some(after) = selector.created_after
        && created <= after
    {
        return Some(format!(
            "created {}, not after {}",
            created.to_rfc3339(),
            after.to_rfc3339()
        ));
    }
    if let Some(unused_for) = selector.unused_for {
        let idle = view.now - view.last_used(i);
        if idle < unused_for.delta {
            return Some(format!(
                "last used {} ago, not unused for {unused_for}",
                rough(idle)
            ));
        }
    }
    None
}

fn size_mismatch(selector: &Selector, view: &View<'_>, i: ImageIdx) -> Option<String> {
    let size = view.graph.image(i).size;
    let shown = crate::units::size(size);
    if let Some(min) = selector.larger_than
        && size <= min
    {
        return Some(format!(
            "size {shown} is not larger than {}",
            crate::units::size(min)
        ));
    }
    if let Some(max) = selector.smaller_than
        && size >= max
    {
        return Some(format!(
            "size {shown} is not smaller than {}",
            crate::units::size(max)
        ));
    }
    None
}

fn any_glob(globs: &[Glob], text: &str) -> bool {
    globs.iter().any(|g| g.is_match(text))
}

fn glob_list(globs: &[Glob]) -> String {
    let quoted: Vec<String> = globs.iter().map(|g| format!("{:?}", g.text)).collect();
    quoted.join(" or ")
}

/// A duration as a person reads it in a trace: whole hours, or minutes below one hour.
fn rough(delta: chrono::TimeDelta) -> String {
    if delta.num_hours().abs() >= 1 {
        format!("{}h", delta.num_hours())
    } else {
        format!("{}m", delta.num_minutes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_tag_keeps_registry_ports() {
        assert_eq!(
            split_tag("registry:5000/app:v1"),
            ("registry:5000/app", "v1")
        );
        assert_eq!(split_tag("golang:1.22"), ("golang", "1.22"));
        assert_eq!(
            split_tag("registry:5000/app"),
            ("registry:5000/app", "latest")
        );
    }
}
