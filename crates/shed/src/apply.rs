//! The executor: carries out a plan against an engine, one action at a time.
//!
//! For each action, in plan order: re-check it against the live engine (DESIGN.md invariant 3);
//! if anything changed, skip it with the reason. Otherwise journal it as started, carry it out,
//! and journal the result (invariant 6). Nothing is forced (invariant 2): a conflict the engine
//! reports becomes a skipped action with the engine's own message. Any other error fails that
//! action only; the run goes on, and the caller picks the exit status from the counts. Which
//! engine calls carry out an action depends on the plan's image store ([`crate::removal`]).
//!
//! Actions run one after another. Each one is self-contained (`run_action`), so independent
//! deletes could later run a few at a time without changing what each one does.

use serde::{Deserialize, Serialize};
use shed_core::ids::ImageId;
use shed_core::inventory::ImageStore;
use shed_core::plan::{Action, ActionKind, Plan};

use crate::engine::{Engine, EngineError, Recheck};
use crate::journal::{Journal, JournalError, Phase};
use crate::removal::{Removal, removals};

/// Called after each action: how many are done, and how many there are.
pub type ApplyProgress<'a> = Option<&'a (dyn Fn(usize, usize) + Send + Sync)>;

/// What stops an apply as a whole. One action failing does not: it is counted in the report.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The engine's disk-usage view could not be read before or after the run. The engine's
    /// error is the source, so that the CLI's chained line names it once.
    #[error("cannot measure the engine's layers")]
    Measure(#[source] EngineError),
    /// An action could not be journaled, so shed stops before it acts unrecorded.
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// How one action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Done,
    Skipped,
    Failed,
}

/// One action of the plan and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionOutcome {
    pub kind: ActionKind,
    pub image_id: ImageId,
    pub references: Vec<String>,
    pub status: Status,
    /// Why it was skipped or failed (the engine's message for a conflict).
    pub message: Option<String>,
    /// The bytes the plan said this action frees, whatever happened to it: for a skipped or
    /// failed action, what the plan promised, not what was freed.
    pub bytes: u64,
}

/// The schema id of the apply report's JSON form (docs/schema/apply-report.md).
pub const APPLY_REPORT_SCHEMA: &str = "shed.apply-report/v1";

/// The result of an apply, printed by `shed apply` (as JSON with `--format json`, whose schema
/// is docs/schema/apply-report.md: a change to these fields bumps [`APPLY_REPORT_SCHEMA`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyReport {
    /// Always [`APPLY_REPORT_SCHEMA`].
    pub schema: String,
    pub actions: Vec<ActionOutcome>,
    pub done: usize,
    pub skipped: usize,
    pub failed: usize,
    /// The bytes the plan promised: its total, whatever happened to each action.
    pub promised_bytes: u64,
    /// The engine's `LayersSize` before the first action.
    pub engine_layers_before: u64,
    /// The engine's `LayersSize` after the last action; `None` when the engine could not be
    /// measured any more (it stopped answering during the run).
    pub engine_layers_after: Option<u64>,
    /// `engine_layers_before - engine_layers_after` (0 if the engine grew meanwhile); `None`
    /// when `engine_layers_after` is.
    pub engine_freed_bytes: Option<u64>,
}

impl ApplyReport {
    /// The report of a plan with no actions: nothing done, nothing measured.
    pub fn empty() -> ApplyReport {
        ApplyReport {
            schema: APPLY_REPORT_SCHEMA.to_owned(),
            actions: Vec::new(),
            done: 0,
            skipped: 0,
            failed: 0,
            promised_bytes: 0,
            engine_layers_before: 0,
            engine_layers_after: Some(0),
            engine_freed_bytes: Some(0),
        }
    }
}

/// Applies `plan` to `engine`, journaling every action in a new run of `journal`.
///
/// Fails as a whole only when the journal cannot be written (or its lock is held by another
/// apply) or the engine's disk usage cannot be measured before the first action; each action's
/// own trouble is in its [`ActionOutcome`]. When the engine stops answering, the actions not yet
/// attempted are reported as failed without being tried, so that the run ends with a report
/// rather than one error per remaining image.
pub async fn apply(
    engine: &Engine,
    plan: &Plan,
    journal: &mut Journal,
    progress: ApplyProgress<'_>,
) -> Result<ApplyReport, ApplyError> {
    journal.begin_run(crate::now(), &plan.selection, plan.actions.len())?;
    let engine_layers_before = engine.layers_size().await.map_err(ApplyError::Measure)?;

    let mut actions = Vec::with_capacity(plan.actions.len());
    let mut engine_gone: Option<String> = None;
    for (seq, action) in plan.actions.iter().enumerate() {
        let outcome = match &engine_gone {
            Some(why) => not_attempted(action, why),
            None => {
                let store = plan.engine.image_store;
                let (outcome, unreachable) =
                    run_action(engine, journal, seq, action, store).await?;
                engine_gone = unreachable;
                outcome
            }
        };
        actions.push(outcome);
        if let Some(progress) = progress {
            progress(seq + 1, plan.actions.len());
        }
    }

    let engine_layers_after = match engine.layers_size().await {
        Ok(size) => Some(size),
        Err(error) => {
            tracing::error!(%error, "cannot measure the engine's layers after the apply");
            None
        }
    };
    journal.finish_run(crate::now())?;
    let count = |status| {
        actions
            .iter()
            .filter(|a: &&ActionOutcome| a.status == status)
            .count()
    };
    Ok(ApplyReport {
        schema: APPLY_REPORT_SCHEMA.to_owned(),
        done: count(Status::Done),
        skipped: count(Status::Skipped),
        failed: count(Status::Failed),
        actions,
        promised_bytes: plan.totals.bytes,
        engine_layers_before,
        engine_layers_after,
        engine_freed_bytes: engine_layers_after
            .map(|after| engine_layers_before.saturating_sub(after)),
    })
}

/// Re-checks, journals and carries out one action on an engine with image store `store`.
async fn run_action(
    engine: &Engine,
    journal: &mut Journal,
    seq: usize,
    action: &Action,
    store: ImageStore,
) -> Result<(ActionOutcome, Option<String>), JournalError> {
    let mut unreachable = None;
    let (status, message) = match removals(action, store) {
        Err(reason) => (Status::Skipped, Some(reason)),
        Ok(calls) => match engine.recheck(action).await {
            Ok(Recheck::Changed(reason)) => (Status::Skipped, Some(reason)),
            Err(error) => {
                unreachable = is_unreachable(&error).then(|| error.to_string());
                (Status::Failed, Some(format!("re-check failed: {error}")))
            }
            Ok(Recheck::Unchanged) => {
                journal.record(seq, crate::now(), Phase::Started, action, None)?;
                let (status, message, error) = carry_out(engine, action, &calls).await;
                unreachable = error.filter(is_unreachable).map(|e| e.to_string());
                (status, message)
            }
        },
    };
    let phase = match status {
        Status::Done => Phase::Done,
        Status::Skipped => Phase::Skipped,
        Status::Failed => Phase::Failed,
    };
    journal.record(seq, crate::now(), phase, action, message.as_deref())?;
    log_outcome(action, status, message.as_deref());
    Ok((outcome(action, status, message), unreachable))
}

fn outcome(action: &Action, status: Status, message: Option<String>) -> ActionOutcome {
    ActionOutcome {
        kind: action.kind,
        image_id: action.image_id.clone(),
        references: action.references.clone(),
        status,
        message,
        bytes: action.bytes,
    }
}

/// An action left untouched because the engine stopped answering earlier in the run. It was
/// neither started nor journaled: the image is as it was.
fn not_attempted(action: &Action, why: &str) -> ActionOutcome {
    let message = format!("not attempted: the engine stopped answering ({why})");
    outcome(action, Status::Failed, Some(message))
}

/// Whether an error means the engine is gone, rather than refusing this one action.
fn is_unreachable(error: &EngineError) -> bool {
    matches!(
        error,
        EngineError::NoSocket { .. } | EngineError::Refused { .. } | EngineError::Transport { .. }
    )
}

/// Makes the engine calls of one action in order, and says how it went.
async fn carry_out(
    engine: &Engine,
    action: &Action,
    calls: &[Removal<'_>],
) -> (Status, Option<String>, Option<EngineError>) {
    let mut untagged: Vec<&str> = Vec::new();
    for call in calls {
        let result = match *call {
            Removal::Untag(reference) => engine.untag(reference).await,
            Removal::DeleteById => engine.delete_image(&action.image_id).await,
            Removal::DeleteByName(name) => engine.delete_image_named(name).await,
        };
        if let Err(error) = result {
            let (status, message) = failure(&error, &untagged);
            return (status, message, Some(error));
        }
        if let Removal::Untag(reference) = *call {
            untagged.push(reference);
        }
    }
    (Status::Done, None, None)
}

/// A conflict is the engine refusing: skipped with its message. Anything else failed. Either
/// way the message says which references were already removed.
fn failure(error: &EngineError, untagged: &[&str]) -> (Status, Option<String>) {
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

fn log_outcome(action: &Action, status: Status, message: Option<&str>) {
    let image = action.image_id.text();
    let image = image.as_str();
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

    /// The first ```json block of docs/schema/apply-report.md.
    fn documented_example() -> &'static str {
        let doc = include_str!("../../../docs/schema/apply-report.md");
        let start = doc.find("```json\n").expect("a json block") + "```json\n".len();
        let len = doc[start..]
            .find("```\n")
            .expect("the end of the json block");
        &doc[start..start + len]
    }

    #[test]
    fn documented_example_is_a_report_and_prints_back_the_same() {
        let example = documented_example();
        let report: ApplyReport = serde_json::from_str(example).unwrap();
        assert_eq!(report.schema, APPLY_REPORT_SCHEMA);
        assert_eq!((report.done, report.skipped, report.failed), (2, 1, 0));
        assert_eq!(report.actions[2].status, Status::Skipped);
        // Every field is in the example, in the order shed prints them.
        let mut printed = serde_json::to_string_pretty(&report).unwrap();
        printed.push('\n');
        assert_eq!(printed, example);
    }

    #[test]
    fn empty_report_has_the_documented_fields() {
        let empty = serde_json::to_value(ApplyReport::empty()).unwrap();
        let example: serde_json::Value = serde_json::from_str(documented_example()).unwrap();
        let keys = |value: &serde_json::Value| -> Vec<String> {
            value.as_object().unwrap().keys().cloned().collect()
        };
        assert_eq!(keys(&empty), keys(&example));
        assert_eq!(empty["schema"], "shed.apply-report/v1");
        assert_eq!(empty["actions"], serde_json::json!([]));
    }

    #[test]
    fn conflicts_are_skips_and_other_errors_failures() {
        let conflict = EngineError::Conflict {
            message: "conflict: unable to delete".into(),
        };
        let (status, message) = failure(&conflict, &["a:2"]);
        assert_eq!(status, Status::Skipped);
        assert_eq!(
            message.unwrap(),
            "conflict: unable to delete (already removed: a:2)"
        );
        let other = EngineError::Status {
            status: 500,
            message: "boom".into(),
        };
        assert_eq!(failure(&other, &[]).0, Status::Failed);
    }
}
