//! Removals: the engine calls that carry out one action, on each image store.
//!
//! An action says which references go (an untag) or that the image goes with all of them (a
//! delete). The engine removes by name or by image ID, never forced, and what one call removes
//! depends on the image store (docs/image-stores.md, "What a removal does"):
//!
//! - **Classic store.** Each tag and each repo digest is a reference of its own, and removing one
//!   removes only it. Deleting by image ID takes the remaining references with it only when they
//!   are one tag plus repo digests of that tag's repository.
//! - **containerd store.** Only the names are references of their own: the tags, and the
//!   `repo@sha256:…` names of images pulled by digest, which the engine lists as tags. A repo
//!   digest stands for the names of its repository: removing one removes every name of that
//!   repository, and removing a repository's last tag removes its digest names too. Deleting by
//!   image ID is refused while the image has more than one name.
//!
//! [`removals`] turns an action into the list of calls for its store. It is pure, so the rules
//! above are tested here for both stores without an engine.

use shed_core::inventory::ImageStore;
use shed_core::plan::{Action, ActionKind};

/// One engine call of an action, all of them `DELETE /images/{name}` without force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal<'a> {
    /// Remove this reference; the image stays while it has others.
    Untag(&'a str),
    /// Delete the image by its ID, with the references it still has.
    DeleteById,
    /// Delete the image through this name (containerd store): its remaining names are this one
    /// and digest names of the same repository, which the engine removes together and then
    /// deletes the image. Deleting by ID would be refused, since it has more than one name.
    DeleteByName(&'a str),
}

/// The calls that carry out `action` on an engine with image store `store`, in order.
///
/// Fails, with the reason to skip the action for, when the store cannot remove the action's
/// references without removing a reference the plan keeps (an untag on the containerd store
/// whose name takes digest names with it that the plan keeps).
pub fn removals(action: &Action, store: ImageStore) -> Result<Vec<Removal<'_>>, String> {
    match (store, action.kind) {
        (ImageStore::Classic, ActionKind::Untag) => Ok(action
            .references
            .iter()
            .map(|r| Removal::Untag(r))
            .collect()),
        (ImageStore::Classic, ActionKind::Delete) => {
            let mut calls: Vec<Removal<'_>> = references_to_untag_first(&action.references)
                .into_iter()
                .map(Removal::Untag)
                .collect();
            calls.push(Removal::DeleteById);
            Ok(calls)
        }
        (ImageStore::Containerd, ActionKind::Untag) => containerd_untag(action),
        (ImageStore::Containerd, ActionKind::Delete) => Ok(containerd_delete(action)),
    }
}

/// The references to remove one by one before an image can be deleted by ID on the classic
/// store.
///
/// Deleting by ID without force removes the image's references with it only when they are all
/// in one repository and at most one is a tag; otherwise the engine refuses ("referenced in
/// multiple repositories"). So shed keeps the first tag's repository (or the first reference's,
/// without tags): its repo digests and one tag stay for the engine to remove, the rest are
/// untagged first.
pub fn references_to_untag_first(references: &[String]) -> Vec<&str> {
    let is_tag = |reference: &&String| !is_digest_reference(reference);
    let Some(first) = references.iter().find(is_tag).or(references.first()) else {
        return Vec::new();
    };
    let kept_repository = repository(first);
    let mut kept_tag = false;
    references
        .iter()
        .filter(|reference| {
            if repository(reference) != kept_repository {
                return true;
            }
            if !is_tag(reference) {
                return false;
            }
            // The first tag of the kept repository stays; any further one goes first.
            std::mem::replace(&mut kept_tag, true)
        })
        .map(String::as_str)
        .collect()
}

/// A delete on the containerd store: untag names until one is left (or only names that go
/// together with it), then delete.
///
/// The name kept for last is the first tag, or the first name when the image has no tags. Tags
/// go before digest names, so a repository's digest names leave with its last tag and are
/// never removed on their own when a tag would do. Repo digests are not removed at all: each
/// leaves with the names of its repository.
fn containerd_delete(action: &Action) -> Vec<Removal<'_>> {
    let names = names_removed(action);
    let Some(&kept) = names
        .iter()
        .find(|n| !is_digest_reference(n))
        .or(names.first())
    else {
        return vec![Removal::DeleteById];
    };
    let mut left = names.clone();
    let mut calls = Vec::new();
    for &name in &names {
        if name == kept || !left.contains(&name) {
            continue;
        }
        let gone = removed_with(name, &left);
        if gone.contains(&kept) {
            // A digest name of the kept name's repository: it leaves with the kept name.
            continue;
        }
        left.retain(|n| !gone.contains(n));
        calls.push(Removal::Untag(name));
    }
    calls.push(if left.len() > 1 {
        Removal::DeleteByName(kept)
    } else {
        Removal::DeleteById
    });
    calls
}

/// An untag on the containerd store: the action's names, each unless an earlier one took it
/// with it. Its repo digests need no call: each leaves with the last name of its repository,
/// which the action must then remove too.
fn containerd_untag(action: &Action) -> Result<Vec<Removal<'_>>, String> {
    let mut left: Vec<&str> = action.expected_tags.iter().map(String::as_str).collect();
    let mut calls = Vec::new();
    for name in names_removed(action) {
        if !left.contains(&name) {
            continue;
        }
        let gone = removed_with(name, &left);
        if let Some(kept) = gone
            .iter()
            .find(|n| !action.references.iter().any(|r| r == *n))
        {
            return Err(format!(
                "on the containerd store removing {name} also removes {kept}, which the plan keeps"
            ));
        }
        left.retain(|n| !gone.contains(n));
        calls.push(Removal::Untag(name));
    }
    let repo_digests = action.references.iter().filter(|r| !is_name(action, r));
    for digest in repo_digests {
        let repo = repository(digest);
        if let Some(kept) = left.iter().find(|n| repository(n) == repo) {
            return Err(format!(
                "on the containerd store repo digest {digest} cannot be removed while {kept} \
                 stays"
            ));
        }
    }
    Ok(calls)
}

/// The names (containerd store) among the action's references, tags before digest names.
fn names_removed(action: &Action) -> Vec<&str> {
    let names = action.references.iter().filter(|r| is_name(action, r));
    let (tags, digest_names): (Vec<&String>, Vec<&String>) =
        names.partition(|name| !is_digest_reference(name));
    let mut ordered: Vec<&str> = Vec::new();
    // A digest name can also be a repo digest, so it can be among the references twice.
    for name in tags.into_iter().chain(digest_names) {
        if !ordered.contains(&name.as_str()) {
            ordered.push(name);
        }
    }
    ordered
}

/// On the containerd store a reference is a name when the engine lists it among the tags.
fn is_name(action: &Action, reference: &str) -> bool {
    action.expected_tags.iter().any(|tag| tag == reference)
}

/// The names the containerd store removes for `DELETE /images/{name}` while `left` are the
/// image's names (moby's containerd image service, Docker 24 to 28: `getSameReferences`).
///
/// A digest name takes every name of its repository. A tag takes itself, and the digest names
/// of its repository when it is the repository's last tag.
fn removed_with<'a>(name: &'a str, left: &[&'a str]) -> Vec<&'a str> {
    let repo = repository(name);
    let same_repository = left.iter().copied().filter(|n| repository(n) == repo);
    if is_digest_reference(name) {
        return same_repository.collect();
    }
    let is_last_tag = !same_repository
        .clone()
        .any(|n| n != name && !is_digest_reference(n));
    let mut gone = vec![name];
    if is_last_tag {
        gone.extend(same_repository.filter(|n| is_digest_reference(n)));
    }
    gone
}

/// `repo@sha256:…` rather than `repo:tag`.
fn is_digest_reference(reference: &str) -> bool {
    reference.contains('@')
}

/// The repository of a reference: `registry:5000/app` for `registry:5000/app:v1` and for
/// `registry:5000/app@sha256:…`.
fn repository(reference: &str) -> &str {
    if let Some((repository, _)) = reference.split_once('@') {
        return repository;
    }
    match reference.rsplit_once(':') {
        // A colon before the last slash belongs to a registry port, not a tag.
        Some((repository, tag)) if !tag.contains('/') => repository,
        _ => reference,
    }
}

#[cfg(test)]
mod tests {
    use shed_core::ids::ImageId;

    use super::*;

    fn refs(list: &[&str]) -> Vec<String> {
        list.iter().map(|r| r.to_string()).collect()
    }

    /// An action on an image with these tags and repo digests; a delete removes all of them.
    fn action(kind: ActionKind, tags: &[&str], digests: &[&str], removed: &[&str]) -> Action {
        let references = match kind {
            ActionKind::Delete => refs(tags).into_iter().chain(refs(digests)).collect(),
            ActionKind::Untag => refs(removed),
        };
        Action {
            kind,
            image_id: ImageId::parse(&format!("sha256:{}", "ab".repeat(32))).unwrap(),
            references,
            expected_tags: refs(tags),
            expected_repo_digests: refs(digests),
            parent: None,
            created: chrono::DateTime::from_timestamp(0, 0).unwrap(),
            size: 0,
            bytes: 0,
            reasons: Vec::new(),
        }
    }

    fn delete(tags: &[&str], digests: &[&str]) -> Action {
        action(ActionKind::Delete, tags, digests, &[])
    }

    #[test]
    fn one_tag_and_its_digests_are_left_for_the_delete() {
        let references = refs(&["app:1", "app@sha256:aa"]);
        assert!(references_to_untag_first(&references).is_empty());
        let action = delete(&["app:1"], &["app@sha256:aa"]);
        let classic = removals(&action, ImageStore::Classic).unwrap();
        assert_eq!(classic, [Removal::DeleteById]);
    }

    #[test]
    fn extra_tags_and_other_repositories_are_untagged_first() {
        let references = refs(&[
            "app:1",
            "app:2",
            "other:1",
            "app@sha256:aa",
            "other@sha256:bb",
        ]);
        assert_eq!(
            references_to_untag_first(&references),
            ["app:2", "other:1", "other@sha256:bb"]
        );
    }

    #[test]
    fn registry_ports_are_not_tags() {
        assert_eq!(repository("registry:5000/app:v1"), "registry:5000/app");
        assert_eq!(repository("registry:5000/app"), "registry:5000/app");
        assert_eq!(
            repository("registry:5000/app@sha256:aa"),
            "registry:5000/app"
        );
        let references = refs(&["registry:5000/app:v1", "registry:5000/app:v2"]);
        assert_eq!(
            references_to_untag_first(&references),
            ["registry:5000/app:v2"]
        );
    }

    #[test]
    fn digests_only_keep_the_first_repository() {
        let references = refs(&["a@sha256:aa", "b@sha256:bb"]);
        assert_eq!(references_to_untag_first(&references), ["b@sha256:bb"]);
        assert!(references_to_untag_first(&[]).is_empty());
    }

    #[test]
    fn classic_delete_untags_other_repositories_and_their_digests() {
        let action = delete(&["app:1", "other:1"], &["app@sha256:aa", "other@sha256:aa"]);
        assert_eq!(
            removals(&action, ImageStore::Classic).unwrap(),
            [
                Removal::Untag("other:1"),
                Removal::Untag("other@sha256:aa"),
                Removal::DeleteById
            ]
        );
    }

    #[test]
    fn classic_untag_removes_each_reference() {
        let action = action(
            ActionKind::Untag,
            &["a:1", "a:2"],
            &["a@sha256:aa"],
            &["a:2"],
        );
        assert_eq!(
            removals(&action, ImageStore::Classic).unwrap(),
            [Removal::Untag("a:2")]
        );
    }

    #[test]
    fn containerd_delete_in_two_repositories_untags_tags_only() {
        // The bug this module fixes: untagging other@sha256:… after other:1 is "No such image".
        let action = delete(&["app:1", "other:1"], &["app@sha256:aa", "other@sha256:aa"]);
        assert_eq!(
            removals(&action, ImageStore::Containerd).unwrap(),
            [Removal::Untag("other:1"), Removal::DeleteById]
        );
    }

    #[test]
    fn containerd_delete_by_id_needs_a_single_name() {
        // Two tags of one repository are already two names there.
        let action = delete(&["app:1", "app:2"], &["app@sha256:aa"]);
        assert_eq!(
            removals(&action, ImageStore::Containerd).unwrap(),
            [Removal::Untag("app:2"), Removal::DeleteById]
        );
        let untagged = delete(&[], &[]);
        assert_eq!(
            removals(&untagged, ImageStore::Containerd).unwrap(),
            [Removal::DeleteById]
        );
    }

    #[test]
    fn containerd_digest_names_leave_with_their_repositorys_last_tag() {
        let tags = [
            "app:1",
            "app@sha256:aa",
            "other@sha256:aa",
            "other:1",
            "other:2",
        ];
        let action = delete(&tags, &["app@sha256:aa", "other@sha256:aa"]);
        // other:2 is other's last tag and takes other@sha256:aa; app's digest name goes with
        // app:1, so the image ends through that name rather than by ID.
        assert_eq!(
            removals(&action, ImageStore::Containerd).unwrap(),
            [
                Removal::Untag("other:1"),
                Removal::Untag("other:2"),
                Removal::DeleteByName("app:1")
            ]
        );
    }

    #[test]
    fn containerd_image_pulled_by_digest_only() {
        let action = delete(
            &["a@sha256:aa", "b@sha256:aa"],
            &["a@sha256:aa", "b@sha256:aa"],
        );
        assert_eq!(
            removals(&action, ImageStore::Containerd).unwrap(),
            [Removal::Untag("b@sha256:aa"), Removal::DeleteById]
        );
    }

    #[test]
    fn containerd_untag_skips_names_already_gone() {
        let tags = ["a:1", "a@sha256:aa", "b:1"];
        let action = action(ActionKind::Untag, &tags, &["a@sha256:aa"], &tags[..2]);
        assert_eq!(
            removals(&action, ImageStore::Containerd).unwrap(),
            [Removal::Untag("a:1")]
        );
    }

    #[test]
    fn containerd_untag_that_would_take_a_kept_name_is_refused() {
        let tags = ["a:1", "a@sha256:aa", "b:1"];
        let action = action(ActionKind::Untag, &tags, &["a@sha256:aa"], &["a:1"]);
        let reason = removals(&action, ImageStore::Containerd).unwrap_err();
        assert!(reason.contains("also removes a@sha256:aa"), "{reason}");
    }

    #[test]
    fn containerd_repo_digest_goes_only_with_its_repositorys_names() {
        let tags = ["a:1", "a:2", "b:1"];
        let whole = action(
            ActionKind::Untag,
            &tags,
            &["a@sha256:aa"],
            &["a:1", "a:2", "a@sha256:aa"],
        );
        assert_eq!(
            removals(&whole, ImageStore::Containerd).unwrap(),
            [Removal::Untag("a:1"), Removal::Untag("a:2")]
        );
        let part = action(
            ActionKind::Untag,
            &tags,
            &["a@sha256:aa"],
            &["a:1", "a@sha256:aa"],
        );
        let reason = removals(&part, ImageStore::Containerd).unwrap_err();
        assert!(reason.contains("while a:2 stays"), "{reason}");
    }
}
