//! The executor: carries out a plan against an engine, one action at a time.
//!
//! For each action, in plan order: re-check it against the live engine (DESIGN.md invariant 3);
//! if anything changed, skip it with the reason. Otherwise journal it as started, carry it out,
//! and journal the result (invariant 6). Nothing is forced (invariant 2): a conflict the engine
//! reports becomes a skipped action with the engine's own message. Any other error fails that
//! action only; the run goes on, and the caller picks the exit status from the counts.
//!
//! Actions run one after another. Each one is self-contained (`run_action`), so independent
//! deletes could later run a few at a time without changing what each one does.

use serde::Serialize;
use shed_core::ids::ImageId;
use shed_core::plan::{Action, ActionKind, Plan};

use crate::engine::{Engine, EngineError, Recheck};
use crate::journal::{Journal, JournalError, Phase};

/// Called after each action: how many are done, and how many there are.
pub type ApplyProgress<'a> = Option<&'a (dyn Fn(usize, usize) + Send + Sync)>;

/// What stops an apply as a whole. One action failing does not: it is counted in the report.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The engine's disk-usage view could not be read before or after the run.
    #[error("cannot measure the engine's layers: {0}")]
    Measure(#[source] EngineError),
    /// An action could not be journaled, so shed stops before it acts unrecorded.
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// How one action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Done,
    Skipped,
    Failed,
}

/// One action of the plan and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionOutcome {
    pub kind: ActionKind,
    pub image_id: ImageId,
    pub references: Vec<String>,
    pub status: Status,
    /// Why it was skipped or failed (the engine's message for a conflict).
    pub message: Option<String>,
    /// The bytes the plan said this action frees.
    pub bytes: u64,
}

/// The result of an apply, printed by `shed apply` (as JSON with `--format json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    pub actions: Vec<ActionOutcome>,
    pub done: usize,
    pub skipped: usize,
    pub failed: usize,
    /// The bytes the plan promised: its total, whatever happened to each action.
    pub promised_bytes: u64,
    /// The engine's `LayersSize` before the first action.
    pub engine_layers_before: u64,
    /// The engine's `LayersSize` after the last action.
    pub engine_layers_after: u64,
    /// `engine_layers_before - engine_layers_after` (0 if the engine grew meanwhile).
    pub engine_freed_bytes: u64,
}

/// Applies `plan` to `engine`, journaling every action in a new run of `journal`.
///
/// Fails as a whole only when the journal cannot be written (or its lock is held by another
/// apply) or the engine's disk usage cannot be measured; each action's own trouble is in its
/// [`ActionOutcome`].
pub async fn apply(
    engine: &Engine,
    plan: &Plan,
    journal: &mut Journal,
    progress: ApplyProgress<'_>,
) -> Result<ApplyReport, ApplyError> {
    journal.begin_run(crate::now(), &plan.selection, plan.actions.len())?;
    let engine_layers_before = engine.layers_size().await.map_err(ApplyError::Measure)?;

    let mut actions = Vec::with_capacity(plan.actions.len());
    for (seq, action) in plan.actions.iter().enumerate() {
        actions.push(run_action(engine, journal, seq, action).await?);
        if let Some(progress) = progress {
            progress(seq + 1, plan.actions.len());
        }
    }

    let engine_layers_after = engine.layers_size().await.map_err(ApplyError::Measure)?;
    journal.finish_run(crate::now())?;
    let count = |status| {
        actions
            .iter()
            .filter(|a: &&ActionOutcome| a.status == status)
            .count()
    };
    Ok(ApplyReport {
        done: count(Status::Done),
        skipped: count(Status::Skipped),
        failed: count(Status::Failed),
        actions,
        promised_bytes: plan.totals.bytes,
        engine_layers_before,
        engine_layers_after,
        engine_freed_bytes: engine_layers_before.saturating_sub(engine_layers_after),
    })
}

/// Re-checks, journals and carries out one action.
async fn run_action(
    engine: &Engine,
    journal: &mut Journal,
    seq: usize,
    action: &Action,
) -> Result<ActionOutcome, JournalError> {
    let (status, message) = match engine.recheck(action).await {
        Ok(Recheck::Changed(reason)) => (Status::Skipped, Some(reason)),
        Err(error) => (Status::Failed, Some(format!("re-check failed: {error}"))),
        Ok(Recheck::Unchanged) => {
            journal.record(seq, crate::now(), Phase::Started, action, None)?;
            carry_out(engine, action).await
        }
    };
    let phase = match status {
        Status::Done => Phase::Done,
        Status::Skipped => Phase::Skipped,
        Status::Failed => Phase::Failed,
    };
    journal.record(seq, crate::now(), phase, action, message.as_deref())?;
    log_outcome(action, status, message.as_deref());
    Ok(ActionOutcome {
        kind: action.kind,
        image_id: action.image_id.clone(),
        references: action.references.clone(),
        status,
        message,
        bytes: action.bytes,
    })
}

/// Asks the engine to untag or delete, and says how it went.
async fn carry_out(engine: &Engine, action: &Action) -> (Status, Option<String>) {
    let to_untag: Vec<&str> = match action.kind {
        ActionKind::Untag => action.references.iter().map(String::as_str).collect(),
        ActionKind::Delete => references_to_untag_first(&action.references),
    };
    let mut untagged: Vec<&str> = Vec::new();
    for reference in to_untag {
        if let Err(error) = engine.untag(reference).await {
            return failure(error, &untagged);
        }
        untagged.push(reference);
    }
    if action.kind == ActionKind::Delete
        && let Err(error) = engine.delete_image(&action.image_id).await
    {
        return failure(error, &untagged);
    }
    (Status::Done, None)
}

/// A conflict is the engine refusing: skipped with its message. Anything else failed. Either
/// way the message says which references were already removed.
fn failure(error: EngineError, untagged: &[&str]) -> (Status, Option<String>) {
    let status = match error {
        EngineError::Conflict { .. } => Status::Skipped,
        _ => Status::Failed,
    };
    let mut message = error.to_string();
    if !untagged.is_empty() {
        message.push_str(&format!(" (already removed: {})", untagged.join(", ")));
    }
    (status, Some(message))
}

/// The references to remove one by one before an image can be deleted by ID.
///
/// Deleting by ID without force removes the image's references with it only when they are all
/// in one repository and at most one is a tag; otherwise the engine refuses ("referenced in
/// multiple repositories"). So shed keeps the first tag's repository (or the first reference's,
/// without tags): its repo digests and one tag stay for the engine to remove, the rest are
/// untagged first.
pub fn references_to_untag_first(references: &[String]) -> Vec<&str> {
    let is_tag = |reference: &&String| !reference.contains('@');
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

fn log_outcome(action: &Action, status: Status, message: Option<&str>) {
    let image = action.image_id.as_str();
    let reference = action.references.join(", ");
    let reason = message.unwrap_or_default();
    let kind = action.kind.as_str();
    match status {
        Status::Done => tracing::info!(image, %reference, kind, bytes = action.bytes, "done"),
        Status::Skipped => tracing::warn!(image, %reference, kind, reason, "skipped"),
        Status::Failed => tracing::warn!(image, %reference, kind, reason, "failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(list: &[&str]) -> Vec<String> {
        list.iter().map(|r| r.to_string()).collect()
    }

    #[test]
    fn one_tag_and_its_digests_are_left_for_the_delete() {
        let references = refs(&["app:1", "app@sha256:aa"]);
        assert!(references_to_untag_first(&references).is_empty());
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
    fn conflicts_are_skips_and_other_errors_failures() {
        let conflict = EngineError::Conflict {
            message: "conflict: unable to delete".into(),
        };
        let (status, message) = failure(conflict, &["a:2"]);
        assert_eq!(status, Status::Skipped);
        assert_eq!(
            message.unwrap(),
            "conflict: unable to delete (already removed: a:2)"
        );
        let other = EngineError::Status {
            status: 500,
            message: "boom".into(),
        };
        assert_eq!(failure(other, &[]).0, Status::Failed);
    }
}
