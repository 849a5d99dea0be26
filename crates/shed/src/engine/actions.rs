//! The engine calls the executor makes for one action: re-check, untag, delete.
//!
//! Nothing here forces: every removal asks the engine with `force=false`, so the engine's own
//! checks (containers, child images, references in several repositories) still apply, and a
//! refusal comes back as [`EngineError::Conflict`] with the engine's message. `noprune=true`
//! keeps the engine from removing untagged parents the plan did not list.

use bollard::query_parameters::{ListContainersOptions, ListImagesOptions, RemoveImageOptions};
use shed_core::plan::{Action, ActionKind};

use super::{Engine, EngineError};

/// Whether the re-check must look for child images itself.
///
/// Deleting by ID is refused by the engine while an image has children, and that check comes
/// before it removes anything. But a delete of an image with several references untags some of
/// them first (see `crate::removal`), and those untags would go through before the engine's
/// refusal: so for those deletes shed looks for a new child first. An untag keeps the image, so
/// a child does not matter to it.
fn needs_child_check(action: &Action) -> bool {
    action.kind == ActionKind::Delete && action.references.len() > 1
}

/// What the re-check found, just before an action runs (DESIGN.md invariant 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recheck {
    /// The image and its references are as the plan saw them.
    Unchanged,
    /// Something changed; the action must be skipped for this reason.
    Changed(String),
}

impl Engine {
    /// Resolves the action's image and references again and looks for containers.
    ///
    /// Changed when: the image is gone; it has a tag or repo digest the plan did not know; a
    /// reference the action removes is gone or points to another image; a container (in any
    /// state) uses the image or an image built on it; an image was built on it since the plan
    /// (checked for deletes that untag first; see `needs_child_check`).
    pub async fn recheck(&self, action: &Action) -> Result<Recheck, EngineError> {
        let id = action.image_id.text();
        let id = id.as_str();
        let inspect = match self.docker.inspect_image(id).await {
            Ok(inspect) => inspect,
            Err(error) => {
                return match self.error(&format!("/images/{id}/json"), error) {
                    EngineError::NotFound { .. } => {
                        Ok(Recheck::Changed("image no longer exists".to_owned()))
                    }
                    other => Err(other),
                };
            }
        };

        let tags = inspect.repo_tags.unwrap_or_default();
        if let Some(tag) = tags.iter().find(|tag| !action.expected_tags.contains(tag)) {
            return Ok(Recheck::Changed(format!(
                "image gained tag {tag}, not in the plan"
            )));
        }
        let digests = inspect.repo_digests.unwrap_or_default();
        if let Some(digest) = digests
            .iter()
            .find(|d| !action.expected_repo_digests.contains(d))
        {
            return Ok(Recheck::Changed(format!(
                "image gained repo digest {digest}, not in the plan"
            )));
        }
        for reference in &action.references {
            if let Some(change) = self.resolve_again(reference, id).await? {
                return Ok(Recheck::Changed(change));
            }
        }
        if let Some(container) = self.first_container_using(id).await? {
            return Ok(Recheck::Changed(format!("in use by container {container}")));
        }
        if needs_child_check(action)
            && let Some(child) = self.first_child_of(id).await?
        {
            return Ok(Recheck::Changed(format!(
                "image gained child image {child}, not in the plan"
            )));
        }
        Ok(Recheck::Unchanged)
    }

    /// An image built on image `id` (its ID), if any.
    ///
    /// Children are created after their parent, so only images the engine lists as created
    /// `since` this one are read, not the whole store.
    async fn first_child_of(&self, id: &str) -> Result<Option<String>, EngineError> {
        let filters = [("since".to_owned(), vec![id.to_owned()])]
            .into_iter()
            .collect();
        let options = ListImagesOptions {
            all: true,
            filters: Some(filters),
            ..Default::default()
        };
        let images = self
            .docker
            .list_images(Some(options))
            .await
            .map_err(|e| self.error("/images/json", e))?;
        Ok(images
            .into_iter()
            .find(|image| image.parent_id == id)
            .map(|image| image.id))
    }

    /// Why `reference` no longer names image `id`, or `None` when it still does.
    async fn resolve_again(
        &self,
        reference: &str,
        id: &str,
    ) -> Result<Option<String>, EngineError> {
        match self.docker.inspect_image(reference).await {
            Ok(inspect) => {
                let now = inspect.id.unwrap_or_default();
                Ok((now != id).then(|| format!("{reference} now points to {now}")))
            }
            Err(error) => match self.error(&format!("/images/{reference}/json"), error) {
                EngineError::NotFound { .. } => Ok(Some(format!("{reference} no longer exists"))),
                other => Err(other),
            },
        }
    }

    /// The name and state of a container that uses image `id` or an image built on it.
    async fn first_container_using(&self, id: &str) -> Result<Option<String>, EngineError> {
        let filters = [("ancestor".to_owned(), vec![id.to_owned()])]
            .into_iter()
            .collect();
        let options = ListContainersOptions {
            all: true,
            filters: Some(filters),
            ..Default::default()
        };
        let containers = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(|e| self.error("/containers/json", e))?;
        Ok(containers.into_iter().next().map(|container| {
            let name = container
                .names
                .unwrap_or_default()
                .into_iter()
                .next()
                .unwrap_or_default();
            let state = container.state.map(|s| s.to_string()).unwrap_or_default();
            format!("{} ({state})", name.trim_start_matches('/'))
        }))
    }

    /// Removes one reference (a tag or a repo digest). Never forced. On the containerd store
    /// the engine may remove other names with it (see `crate::removal`).
    pub async fn untag(&self, reference: &str) -> Result<(), EngineError> {
        self.remove(reference).await
    }

    /// Deletes an image by ID. Never forced: the engine refuses when a container uses it, an
    /// image is built on it, or its references span several repositories.
    pub async fn delete_image(&self, id: &shed_core::ids::ImageId) -> Result<(), EngineError> {
        self.remove(id.text().as_str()).await
    }

    /// Deletes an image through one of its names (containerd store): the engine removes that
    /// name with the others of its repository and, when no name is left, the image. Never
    /// forced: the engine refuses when a container uses the image.
    pub async fn delete_image_named(&self, name: &str) -> Result<(), EngineError> {
        self.remove(name).await
    }

    async fn remove(&self, name: &str) -> Result<(), EngineError> {
        let options = RemoveImageOptions {
            force: false,
            noprune: true,
            ..Default::default()
        };
        self.docker
            .remove_image(name, Some(options), None)
            .await
            .map(drop)
            .map_err(|e| self.error(&format!("DELETE /images/{name}"), e))
    }
}
