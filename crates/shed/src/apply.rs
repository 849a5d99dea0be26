//! The executor: carries out a plan against an engine, a few independent deletes at a time.
//!
//! For each action: re-check it against the live engine just before it runs (DESIGN.md invariant
//! 3); if anything changed, skip it with the reason. Otherwise journal it as started, carry it
//! out, and journal the result (invariant 6). Nothing is forced (invariant 2): a conflict the
//! engine reports becomes a skipped action with the engine's own message. Any other error fails
//! that action only; the run goes on, and the caller picks the exit status from the counts.
//! Which engine calls carry out an action depends on the plan's image store
//! ([`crate::removal`]).
//!
//! Actions start in plan order, at most [`ApplyOptions::parallel`] at a time, under two rules
//! that keep the engine's view the one each action was planned against (see `may_start`):
//! an untag runs alone, so untags (which the plan puts first) are all done before any delete
//! starts; and an action never runs beside one on its parent or its child, so a child's delete
//! (planned before its parent's) has finished before its parent's re-check looks for children.
//! The re-checks of deletes by image ID overlap, while the journal entries, the re-checks of
//! actions that remove a name, and the engine calls that change anything go one action at a
//! time, in plan order (each action waits for its turn; see `run_action`). So the journal reads
//! in plan order, and when the engine stops answering only the action that met it fails: no
//! later action starts its removal, and those are reported as not attempted. The report lists
//! the actions in plan order.

use std::sync::Mutex;

use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use serde::{Deserialize, Serialize};
use shed_core::ids::ImageId;
use shed_core::inventory::ImageStore;
use shed_core::plan::{Action, ActionKind, Plan};
use tokio::sync::watch;

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

/// How many actions run at once by default. The engine serialises much of a delete itself;
/// a few in flight keep it busy while shed re-checks the next ones.
pub const PARALLEL_ACTIONS: usize = 4;

/// How one apply runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApplyOptions {
    /// The engine's `LayersSize` just before the run, when the caller has just read it (an
    /// inventory read right before, with no pause for confirmation); `None` measures it.
    pub engine_layers_before: Option<u64>,
    /// At most this many actions at once (1 runs them one after another; 0 counts as 1).
    pub parallel: usize,
}

impl Default for ApplyOptions {
    fn default() -> ApplyOptions {
        ApplyOptions {
            engine_layers_before: None,
            parallel: PARALLEL_ACTIONS,
        }
    }
}

/// Applies `plan` to `engine` with the default [`ApplyOptions`]; see [`apply_with`].
pub async fn apply(
    engine: &Engine,
    plan: &Plan,
    journal: &mut Journal,
    progress: ApplyProgress<'_>,
) -> Result<ApplyReport, ApplyError> {
    apply_with(engine, plan, journal, ApplyOptions::default(), progress).await
}

/// Applies `plan` to `engine`, journaling every action in a new run of `journal`.
///
/// Fails as a whole only when the journal cannot be written (or its lock is held by another
/// apply) or the engine's disk usage cannot be measured before the first action; each action's
/// own trouble is in its [`ActionOutcome`]. When the engine stops answering, the actions not yet
/// attempted are reported as failed without being tried, so that the run ends with a report
/// rather than one error per remaining image.
pub async fn apply_with(
    engine: &Engine,
    plan: &Plan,
    journal: &mut Journal,
    options: ApplyOptions,
    progress: ApplyProgress<'_>,
) -> Result<ApplyReport, ApplyError> {
    journal.begin_run(crate::now(), &plan.selection, plan.actions.len())?;
    let engine_layers_before = match options.engine_layers_before {
        Some(size) => size,
        None => engine.layers_size().await.map_err(ApplyError::Measure)?,
    };

    let actions = run_actions(engine, plan, journal, options.parallel.max(1), progress).await?;

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

/// What every action under way shares with the others.
struct Run<'a> {
    engine: &'a Engine,
    store: ImageStore,
    /// Only touched between awaits, so the lock is never held while the engine is asked.
    journal: Mutex<&'a mut Journal>,
    /// The position in the plan whose turn it is to journal and change the engine.
    turn: watch::Sender<usize>,
    /// Why the run stops: the first error that said the engine is gone.
    engine_gone: Mutex<Option<String>>,
}

impl Run<'_> {
    fn is_stopping(&self) -> bool {
        lock(&self.engine_gone).is_some()
    }

    fn stop(&self, why: String) {
        lock(&self.engine_gone).get_or_insert(why);
    }
}

/// Holds action `seq`'s turn, and hands it to the next action when dropped (also when the
/// action ends early with a journal error), so that turns never stall.
struct Turn<'a> {
    turn: &'a watch::Sender<usize>,
    seq: usize,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.turn.send_replace(self.seq + 1);
    }
}

/// Runs the plan's actions, at most `parallel` at a time, and returns their outcomes in plan
/// order. A journal error stops new actions; those under way finish, and the error is returned.
async fn run_actions(
    engine: &Engine,
    plan: &Plan,
    journal: &mut Journal,
    parallel: usize,
    progress: ApplyProgress<'_>,
) -> Result<Vec<ActionOutcome>, ApplyError> {
    let total = plan.actions.len();
    let run = Run {
        engine,
        store: plan.engine.image_store,
        journal: Mutex::new(journal),
        turn: watch::Sender::new(0),
        engine_gone: Mutex::new(None),
    };
    let mut outcomes: Vec<Option<ActionOutcome>> = vec![None; total];
    let mut running: Vec<usize> = Vec::new();
    let mut under_way = FuturesUnordered::new();
    let mut next = 0;
    let mut journal_error: Option<JournalError> = None;
    let mut finished = 0;

    loop {
        let stopping = run.is_stopping() || journal_error.is_some();
        while !stopping && next < total && may_start(&plan.actions, &running, next, parallel) {
            let (seq, run) = (next, &run);
            under_way.push(async move { (seq, run_action(run, seq, &plan.actions[seq]).await) });
            running.push(seq);
            next += 1;
        }
        let Some((seq, result)) = under_way.next().await else {
            break;
        };
        running.retain(|&other| other != seq);
        match result {
            Ok(outcome) => outcomes[seq] = outcome,
            Err(error) => {
                journal_error.get_or_insert(error);
            }
        }
        finished += 1;
        report_progress(progress, finished, total);
    }

    if let Some(error) = journal_error {
        return Err(error.into());
    }
    let why = lock(&run.engine_gone).clone().unwrap_or_default();
    let outcomes = outcomes
        .into_iter()
        .zip(&plan.actions)
        .map(|(outcome, action)| outcome.unwrap_or_else(|| not_attempted(action, &why)))
        .collect();
    report_progress(progress, total, total);
    Ok(outcomes)
}

/// Whether action `seq` may start while the actions `running` (positions in `actions`) are
/// under way.
///
/// At most `parallel` at once. An untag runs alone, and nothing starts beside one: untags come
/// first in a plan, and the deletes are re-checked against the references the untags left. No
/// two actions on a parent and its child run together: the plan puts a child's delete before
/// its parent's, and the parent's re-check must see the child gone.
fn may_start(actions: &[Action], running: &[usize], seq: usize, parallel: usize) -> bool {
    if running.len() >= parallel {
        return false;
    }
    let action = &actions[seq];
    if action.kind == ActionKind::Untag {
        return running.is_empty();
    }
    !running.iter().map(|&other| &actions[other]).any(|other| {
        other.kind == ActionKind::Untag
            || other.parent.as_ref() == Some(&action.image_id)
            || action.parent.as_ref() == Some(&other.image_id)
    })
}

fn report_progress(progress: ApplyProgress<'_>, done: usize, total: usize) {
    if let Some(progress) = progress {
        progress(done, total);
    }
}

/// Re-checks, journals and carries out one action; `None` when it was not attempted because
/// the engine stopped answering.
///
/// Actions journal and change the engine one at a time, in plan order (each waits for its
/// turn), so the first action to meet an engine that stopped answering is the only one that
/// fails of it, and every later one is left untouched and unjournaled. An action that only
/// deletes by image ID is re-checked as soon as it starts, beside the actions ahead of it: the
/// engine resolves an ID to the same image whenever it runs, and refuses by itself to delete an
/// image that gained a container or a child meanwhile. An action that removes a name (a tag or
/// a digest) is re-checked in its turn, right before the removal, as a name can move.
async fn run_action(
    run: &Run<'_>,
    seq: usize,
    action: &Action,
) -> Result<Option<ActionOutcome>, JournalError> {
    let calls = removals(action, run.store);
    let early = calls.as_ref().is_ok_and(|calls| only_by_id(calls));
    let mut checked = None;
    if early {
        checked = Some(recheck(run, action, calls.clone()).await);
    }

    let mut turn = run.turn.subscribe();
    // The sender lives in `run`, which outlives every action.
    let _ = turn.wait_for(|&turn| turn == seq).await;
    let _turn = Turn {
        turn: &run.turn,
        seq,
    };
    if run.is_stopping() {
        return Ok(None);
    }
    let checked = match checked {
        Some(checked) => checked,
        None => recheck(run, action, calls).await,
    };
    // Nothing was asked of the image yet when the re-check met a dead engine: it stays as it
    // was, like every action after it.
    let Some(checked) = checked else {
        return Ok(None);
    };

    let (status, message) = match checked {
        Err((status, reason)) => (status, Some(reason)),
        Ok(calls) => {
            record(&run.journal, seq, Phase::Started, action, None)?;
            let (status, message, error) = carry_out(run.engine, action, &calls).await;
            if let Some(error) = error.filter(is_unreachable) {
                run.stop(error.to_string());
            }
            (status, message)
        }
    };
    let phase = match status {
        Status::Done => Phase::Done,
        Status::Skipped => Phase::Skipped,
        Status::Failed => Phase::Failed,
    };
    record(&run.journal, seq, phase, action, message.as_deref())?;
    log_outcome(action, status, message.as_deref());
    Ok(Some(outcome(action, status, message)))
}

/// What the re-check of `action` says: the calls to make, or why it is skipped or failed;
/// `None` when the engine stopped answering (the run then stops).
async fn recheck<'a>(
    run: &Run<'_>,
    action: &'a Action,
    calls: Result<Vec<Removal<'a>>, String>,
) -> Option<Result<Vec<Removal<'a>>, (Status, String)>> {
    let calls = match calls {
        Ok(calls) => calls,
        Err(reason) => return Some(Err((Status::Skipped, reason))),
    };
    match run.engine.recheck(action).await {
        Ok(Recheck::Unchanged) => Some(Ok(calls)),
        Ok(Recheck::Changed(reason)) => Some(Err((Status::Skipped, reason))),
        Err(error) if is_unreachable(&error) => {
            run.stop(error.to_string());
            None
        }
        Err(error) => Some(Err((Status::Failed, format!("re-check failed: {error}")))),
    }
}

/// Whether the calls only delete by image ID, which names the same image whenever it runs.
fn only_by_id(calls: &[Removal<'_>]) -> bool {
    calls.iter().all(|call| *call == Removal::DeleteById)
}

/// Locks a mutex of the executor's. A panic while one was held would have ended the run
/// already, so a poisoned lock still holds good data.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Appends one entry to the run's journal.
fn record(
    journal: &Mutex<&mut Journal>,
    seq: usize,
    phase: Phase,
    action: &Action,
    message: Option<&str>,
) -> Result<(), JournalError> {
    lock(journal).record(seq, crate::now(), phase, action, message)
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

/// An action left untouched because the engine stopped answering during the run. It was
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
    // Display is the ID's text whatever the ID type holds inside.
    let image = action.image_id.to_string();
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

    fn action(kind: ActionKind, n: u8, parent: Option<u8>) -> Action {
        let id = |n: u8| ImageId::parse(&format!("sha256:{}", format!("{n:02x}").repeat(32)));
        Action {
            kind,
            image_id: id(n).unwrap(),
            references: Vec::new(),
            expected_tags: Vec::new(),
            expected_repo_digests: Vec::new(),
            parent: parent.map(|p| id(p).unwrap()),
            created: chrono::DateTime::from_timestamp(0, 0).unwrap(),
            size: 0,
            bytes: 0,
            reasons: Vec::new(),
        }
    }

    #[test]
    fn independent_deletes_start_together_up_to_the_bound() {
        let actions: Vec<Action> = (1..=5)
            .map(|n| action(ActionKind::Delete, n, None))
            .collect();
        assert!(may_start(&actions, &[0, 1, 2], 3, 4));
        assert!(!may_start(&actions, &[0, 1, 2, 3], 4, 4));
        assert!(!may_start(&actions, &[0], 1, 1));
    }

    #[test]
    fn a_parent_waits_for_its_child_and_a_child_for_its_parent() {
        let actions = vec![
            action(ActionKind::Delete, 1, Some(2)),
            action(ActionKind::Delete, 2, None),
            action(ActionKind::Delete, 3, Some(2)),
        ];
        assert!(!may_start(&actions, &[0], 1, 4), "parent beside its child");
        assert!(!may_start(&actions, &[1], 2, 4), "child beside its parent");
        assert!(may_start(&actions, &[0], 2, 4), "siblings are independent");
    }

    #[test]
    fn untags_run_alone() {
        let actions = vec![
            action(ActionKind::Untag, 1, None),
            action(ActionKind::Untag, 2, None),
            action(ActionKind::Delete, 3, None),
        ];
        assert!(may_start(&actions, &[], 0, 4));
        assert!(!may_start(&actions, &[0], 1, 4));
        assert!(
            !may_start(&actions, &[1], 2, 4),
            "no delete beside an untag"
        );
    }

    #[test]
    fn only_deletes_by_id_are_rechecked_ahead_of_their_turn() {
        assert!(only_by_id(&[Removal::DeleteById]));
        assert!(!only_by_id(&[Removal::Untag("a:1"), Removal::DeleteById]));
        assert!(!only_by_id(&[Removal::DeleteByName("a:1")]));
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
