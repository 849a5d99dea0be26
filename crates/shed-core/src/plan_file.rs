//! Plan files: a [`Plan`] saved by `shed plan -o FILE` and read back by `shed apply FILE`.
//!
//! The file is the plan's own JSON form (docs/schema/plan.md), whose `schema` field is
//! [`PLAN_SCHEMA`]. Reading one checks the schema id before anything else and reports any
//! error with the field path and, from the JSON parser, the line and column. Then it checks
//! what JSON cannot, so that a plan edited by hand or cut short is not applied: each action is
//! consistent in itself, each image has one entry, actions come in the order the executor
//! relies on, and the totals are the sums of the actions that `shed apply` promises.

use std::collections::{HashMap, HashSet};

use crate::ids::ImageId;
use crate::json_file::{self, FileError};
use crate::plan::{Action, ActionKind, PLAN_SCHEMA, Plan};

/// Reads a plan file's text.
///
/// Rejects, with the path of the field: a schema id other than [`PLAN_SCHEMA`] or none; JSON
/// that does not parse as a plan (also with line and column), including unknown fields and
/// malformed image IDs; an action that removes a reference the image was not expected to
/// have; an untag that removes no reference or frees bytes; a delete that leaves out one of
/// the image's references; an image ID in two actions, or in an action and in `kept`; an
/// untag after a delete; the delete of a parent before the delete of its child; totals that
/// are not the sums of the actions and of `kept`. The first error in that order is reported.
pub fn parse_plan(text: &str) -> Result<Plan, FileError> {
    let plan: Plan = json_file::read_versioned(text, PLAN_SCHEMA)?;
    for (i, action) in plan.actions.iter().enumerate() {
        check_action(i, action)?;
    }
    check_unique_images(&plan)?;
    check_order(&plan.actions)?;
    check_totals(&plan)?;
    Ok(plan)
}

/// Writes a plan as a plan file: pretty JSON ending in a newline, the same text for the same
/// plan, read back unchanged by [`parse_plan`]. The plan's own `schema` field is written as it
/// is; plans made by [`crate::plan`] carry [`PLAN_SCHEMA`].
pub fn write_plan(plan: &Plan) -> String {
    json_file::write_pretty(plan)
}

/// An action's references are the image's own, and its kind agrees with what it removes.
///
/// References are compared as sets: on the containerd store the name of an image pulled by
/// digest is both a tag and a repo digest, so a delete lists it twice.
fn check_action(i: usize, action: &Action) -> Result<(), FileError> {
    let field = |name: &str| format!("actions[{i}].{name}");
    let expected: HashSet<&str> = expected_references(action).collect();
    for (r, reference) in action.references.iter().enumerate() {
        if !expected.contains(reference.as_str()) {
            let message =
                format!("{reference} is not one of the image's expected tags and repo digests");
            return Err(FileError::at(field(&format!("references[{r}]")), message));
        }
    }
    match action.kind {
        ActionKind::Untag if action.references.is_empty() => Err(FileError::at(
            field("references"),
            "is empty; an untag removes at least one reference",
        )),
        ActionKind::Untag if action.bytes != 0 => Err(FileError::at(
            field("bytes"),
            format!("is {}; an untag frees no bytes", action.bytes),
        )),
        ActionKind::Untag => Ok(()),
        ActionKind::Delete => {
            let removed: HashSet<&str> = action.references.iter().map(String::as_str).collect();
            match expected_references(action).find(|r| !removed.contains(r)) {
                Some(missing) => Err(FileError::at(
                    field("references"),
                    format!("leaves out {missing}; a delete removes every reference the image has"),
                )),
                None => Ok(()),
            }
        }
    }
}

fn expected_references(action: &Action) -> impl Iterator<Item = &str> {
    action
        .expected_tags
        .iter()
        .chain(&action.expected_repo_digests)
        .map(String::as_str)
}

/// Each image has one entry: one action, or one entry in `kept`.
fn check_unique_images(plan: &Plan) -> Result<(), FileError> {
    let actions = (plan.actions.iter().enumerate()).map(|(i, a)| (&a.image_id, "actions", i));
    let kept = (plan.kept.iter().enumerate()).map(|(k, kept)| (&kept.image_id, "kept", k));
    let mut seen: HashMap<&ImageId, String> = HashMap::new();
    for (id, list, n) in actions.chain(kept) {
        let entry = format!("{list}[{n}]");
        if let Some(first) = seen.get(id) {
            let message = format!("duplicate image ID {id}; {first} has it too");
            return Err(FileError::at(format!("{entry}.image_id"), message));
        }
        seen.insert(id, entry);
    }
    Ok(())
}

/// The order [`crate::plan::make_plan`] gives and the executor relies on: every untag before
/// every delete (an untag must not find its image gone), and a child's delete before its
/// parent's (the engine refuses to delete an image that has children).
fn check_order(actions: &[Action]) -> Result<(), FileError> {
    let mut first_delete = None;
    let mut deleted: HashMap<&ImageId, usize> = HashMap::new();
    for (i, action) in actions.iter().enumerate() {
        if action.kind == ActionKind::Untag {
            if let Some(d) = first_delete {
                let message =
                    format!("is an untag after a delete (actions[{d}]); untags come first");
                return Err(FileError::at(format!("actions[{i}].kind"), message));
            }
            continue;
        }
        first_delete.get_or_insert(i);
        if let Some(parent) = &action.parent
            && let Some(&p) = deleted.get(parent)
        {
            let message = format!(
                "names the image that actions[{p}] deletes before it; a child is deleted \
                 before its parent"
            );
            return Err(FileError::at(format!("actions[{i}].parent"), message));
        }
        deleted.insert(&action.image_id, i);
    }
    Ok(())
}

/// The totals are what `shed plan` prints and `shed apply` promises: they must be the sums
/// of what the actions and `kept` say, not numbers of their own.
fn check_totals(plan: &Plan) -> Result<(), FileError> {
    let actions = &plan.actions;
    let totals = &plan.totals;
    let deletes = actions
        .iter()
        .filter(|a| a.kind == ActionKind::Delete)
        .count();
    let references: usize = actions.iter().map(|a| a.references.len()).sum();
    // In u128 so that a file whose bytes overflow u64 is reported, not a panic.
    let bytes: u128 = actions.iter().map(|a| u128::from(a.bytes)).sum();
    let mismatch =
        |field: &str, message: String| Err(FileError::at(format!("totals.{field}"), message));
    if totals.images_deleted != deletes {
        let found = totals.images_deleted;
        return mismatch(
            "images_deleted",
            format!("is {found}; the actions delete {deletes}"),
        );
    }
    if totals.references_removed != references {
        let found = totals.references_removed;
        return mismatch(
            "references_removed",
            format!("is {found}; the actions remove {references}"),
        );
    }
    if totals.images_kept != plan.kept.len() {
        let (found, kept) = (totals.images_kept, plan.kept.len());
        return mismatch("images_kept", format!("is {found}; kept lists {kept}"));
    }
    if u128::from(totals.bytes) != bytes {
        let found = totals.bytes;
        return mismatch(
            "bytes",
            format!("is {found}; the actions' bytes add up to {bytes}"),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::Reason;
    use crate::ids::ImageId;
    use crate::inventory::ContainerState;
    use crate::json_file::Position;
    use crate::plan::ActionKind;

    const VALID: &str = include_str!("../testdata/plan/valid.json");

    fn at(line: usize, column: usize) -> Option<Position> {
        Some(Position { line, column })
    }

    fn rejected(text: &str) -> FileError {
        parse_plan(text).expect_err("the plan should be rejected")
    }

    #[test]
    fn a_written_plan_reads_back_unchanged() {
        let plan = parse_plan(VALID).expect("valid plan");
        assert_eq!(plan.actions.len(), 2);
        assert_eq!(plan.actions[0].kind, ActionKind::Untag);
        assert_eq!(write_plan(&plan), VALID);
        assert_eq!(parse_plan(&write_plan(&plan)), Ok(plan));
    }

    #[test]
    fn the_documented_example_is_a_plan_as_shed_writes_it() {
        let example = json_file::json_example(include_str!("../../../docs/schema/plan.md"));
        let plan = parse_plan(example).expect("the documented example");
        assert_eq!(write_plan(&plan), example);
    }

    /// One reason of each kind. The match fails to compile when a kind is added, as a reminder
    /// to list it here and in docs/schema/plan.md.
    fn one_reason_of_each_kind() -> Vec<Reason> {
        let id = ImageId::parse(&format!("sha256:{}", "a".repeat(64))).unwrap();
        let (text, reference) = (String::new(), Some(String::new()));
        let reasons = vec![
            Reason::InUse {
                container: text.clone(),
                state: ContainerState::Exited,
            },
            Reason::ParentOfKept {
                child: id.clone(),
                child_name: text.clone(),
            },
            Reason::Tagged,
            Reason::HasChildren { children: 2 },
            Reason::NewerThanUntil {
                until: chrono::DateTime::from_timestamp(0, 0).unwrap(),
            },
            Reason::LabelFilter {
                filter: text.clone(),
            },
            Reason::Dangling,
            Reason::Unused,
            Reason::ParentOfDeleted { child: id },
            Reason::ProtectedReference {
                reference: text.clone(),
                pattern: text.clone(),
            },
            Reason::ProtectedLabel {
                label: text.clone(),
            },
            Reason::YoungerThanMinAge {
                min_age: text.clone(),
            },
            Reason::Rule {
                rule: text.clone(),
                action: text.clone(),
                reference: reference.clone(),
            },
            Reason::Retain {
                rule: text.clone(),
                reference: reference.clone(),
                group: text.clone(),
                rank: 1,
                keep: 1,
                kept: true,
            },
            Reason::OldMinor {
                rule: text.clone(),
                reference: reference.clone(),
                minor: text.clone(),
                newest_minors: 1,
            },
            Reason::PolicyDefault {
                action: text.clone(),
                reference: reference.clone(),
            },
            Reason::Overruled {
                removal: Box::new(Reason::Rule {
                    rule: text.clone(),
                    action: text,
                    reference,
                }),
            },
        ];
        for reason in &reasons {
            match reason {
                Reason::InUse { .. }
                | Reason::ParentOfKept { .. }
                | Reason::Tagged
                | Reason::HasChildren { .. }
                | Reason::NewerThanUntil { .. }
                | Reason::LabelFilter { .. }
                | Reason::Dangling
                | Reason::Unused
                | Reason::ParentOfDeleted { .. }
                | Reason::ProtectedReference { .. }
                | Reason::ProtectedLabel { .. }
                | Reason::YoungerThanMinAge { .. }
                | Reason::Rule { .. }
                | Reason::Retain { .. }
                | Reason::OldMinor { .. }
                | Reason::PolicyDefault { .. }
                | Reason::Overruled { .. } => {}
            }
        }
        reasons
    }

    /// The rows of plan.md's reason tables: "| `in_use` | `container` (…), … | … |".
    fn documented_reason_rows() -> Vec<&'static str> {
        let doc = include_str!("../../../docs/schema/plan.md");
        let start = doc.find("### Reason\n").expect("a Reason section");
        let end = start + doc[start..].find("## Example").expect("an Example section");
        doc[start..end]
            .lines()
            .filter(|line| line.starts_with("| `") && !line.starts_with("| `kind`"))
            .collect()
    }

    /// A reason's fields other than `kind`, in the order the plan writes them.
    fn written_fields(reason: &Reason) -> Vec<String> {
        let text = serde_json::to_string(reason).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut fields: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
        fields.retain(|field| field != "kind");
        fields.sort_by_key(|field| text.find(&format!("\"{field}\"")));
        fields
    }

    #[test]
    fn the_documented_reasons_are_exactly_the_reason_kinds_and_fields() {
        let rows = documented_reason_rows();
        let reasons = one_reason_of_each_kind();
        assert_eq!(
            rows.len(),
            reasons.len(),
            "one row per kind:\n{}",
            rows.join("\n")
        );
        for reason in &reasons {
            let kind = serde_json::to_value(reason).unwrap()["kind"].clone();
            let kind = kind.as_str().unwrap();
            let row = rows
                .iter()
                .find(|row| row.starts_with(&format!("| `{kind}` ")))
                .unwrap_or_else(|| panic!("no row for `{kind}`"));
            let written = written_fields(reason);
            // The code-formatted words of the fields cell that are field names, in order.
            let fields_cell = row.split('|').nth(2).unwrap();
            let documented: Vec<&str> = fields_cell
                .split('`')
                .skip(1)
                .step_by(2)
                .filter(|word| written.iter().any(|field| field == word))
                .collect();
            assert_eq!(documented, written, "fields of `{kind}`");
        }
    }

    #[test]
    fn a_wrong_schema_says_which_is_expected() {
        let text = VALID.replacen("shed.plan/v1", "shed.snapshot/v1", 1);
        let err = rejected(&text);
        assert_eq!(
            err,
            FileError::at(
                "schema",
                "is \"shed.snapshot/v1\"; expected \"shed.plan/v1\""
            )
        );
    }

    #[test]
    fn a_missing_schema_says_which_is_expected() {
        let text = VALID.replacen("  \"schema\": \"shed.plan/v1\",\n", "", 1);
        let err = rejected(&text);
        assert_eq!(
            err.to_string(),
            "schema: missing; expected \"shed.plan/v1\""
        );
    }

    #[test]
    fn an_unknown_reason_kind_names_its_path_and_position() {
        let text = VALID.replacen("\"kind\": \"dangling\"", "\"kind\": \"stale\"", 1);
        let err = rejected(&text);
        assert_eq!(err.path, "actions[1].reasons[0].kind");
        assert_eq!(err.position, at(44, 25));
        assert!(
            err.message
                .starts_with("unknown variant `stale`, expected one of `in_use`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn a_truncated_plan_names_the_field_and_position() {
        let cut = VALID.find("\"bytes\": 3000").expect("fixture") + 9;
        let err = rejected(&VALID[..cut]);
        assert_eq!(err.path, "actions[1].bytes");
        assert_eq!(err.position, at(41, 15));
        assert_eq!(err.message, "EOF while parsing a value");
    }

    #[test]
    fn a_negative_size_is_rejected_at_its_field() {
        let text = VALID.replacen("\"size\": 3000", "\"size\": -1", 1);
        let err = rejected(&text);
        assert_eq!(err.path, "actions[0].size");
        assert_eq!(err.position, at(24, 16));
        assert_eq!(err.message, "invalid value: integer `-1`, expected u64");
    }

    /// The error for the valid plan after `edit`, written out and read back.
    fn rejected_after(edit: impl FnOnce(&mut Plan)) -> FileError {
        let mut plan = parse_plan(VALID).expect("valid plan");
        edit(&mut plan);
        rejected(&write_plan(&plan))
    }

    fn id(n: u32) -> ImageId {
        crate::testkit::image_id(n)
    }

    #[test]
    fn totals_that_are_not_the_sums_of_the_actions_are_rejected() {
        let err = rejected_after(|plan| plan.totals.bytes = 999);
        let message = "is 999; the actions' bytes add up to 3000";
        assert_eq!(err, FileError::at("totals.bytes", message));
        assert_eq!(err.to_string(), format!("totals.bytes: {message}"));

        let err = rejected_after(|plan| plan.totals.images_deleted = 2);
        let message = "is 2; the actions delete 1";
        assert_eq!(err, FileError::at("totals.images_deleted", message));

        let err = rejected_after(|plan| plan.totals.references_removed = 4);
        let message = "is 4; the actions remove 1";
        assert_eq!(err, FileError::at("totals.references_removed", message));

        let err = rejected_after(|plan| plan.totals.images_kept = 0);
        assert_eq!(
            err,
            FileError::at("totals.images_kept", "is 0; kept lists 1")
        );
    }

    #[test]
    fn bytes_beyond_u64_are_reported_not_a_panic() {
        let err = rejected_after(|plan| {
            plan.actions[1].bytes = u64::MAX;
            let mut second = plan.actions[1].clone();
            second.image_id = id(4);
            second.parent = None;
            plan.actions.push(second);
            plan.totals.images_deleted = 2;
        });
        let message = "is 3000; the actions' bytes add up to 36893488147419103230";
        assert_eq!(err, FileError::at("totals.bytes", message));
    }

    #[test]
    fn an_untag_that_frees_bytes_is_rejected() {
        let err = rejected_after(|plan| plan.actions[0].bytes = 999);
        let message = "is 999; an untag frees no bytes";
        assert_eq!(err, FileError::at("actions[0].bytes", message));
    }

    #[test]
    fn an_untag_that_removes_nothing_is_rejected() {
        let err = rejected_after(|plan| plan.actions[0].references.clear());
        let message = "is empty; an untag removes at least one reference";
        assert_eq!(err, FileError::at("actions[0].references", message));
    }

    #[test]
    fn a_reference_the_image_did_not_have_is_rejected() {
        let err = rejected_after(|plan| plan.actions[0].references = vec!["other:1".to_owned()]);
        let message = "other:1 is not one of the image's expected tags and repo digests";
        assert_eq!(err, FileError::at("actions[0].references[0]", message));
    }

    #[test]
    fn a_delete_that_leaves_out_a_reference_is_rejected() {
        let err = rejected_after(|plan| plan.actions[1].expected_tags = vec!["old:1".to_owned()]);
        let message = "leaves out old:1; a delete removes every reference the image has";
        assert_eq!(err, FileError::at("actions[1].references", message));
    }

    #[test]
    fn an_image_in_two_actions_is_rejected() {
        let err = rejected_after(|plan| plan.actions[1].image_id = id(3));
        let message = format!("duplicate image ID {}; actions[0] has it too", id(3));
        assert_eq!(err, FileError::at("actions[1].image_id", message));
    }

    #[test]
    fn an_image_both_acted_on_and_kept_is_rejected() {
        let err = rejected_after(|plan| plan.kept[0].image_id = id(2));
        let message = format!("duplicate image ID {}; actions[1] has it too", id(2));
        assert_eq!(err, FileError::at("kept[0].image_id", message));
    }

    #[test]
    fn an_untag_after_a_delete_is_rejected() {
        let err = rejected_after(|plan| plan.actions.swap(0, 1));
        let message = "is an untag after a delete (actions[0]); untags come first";
        assert_eq!(err, FileError::at("actions[1].kind", message));
    }

    #[test]
    fn a_parent_deleted_before_its_child_is_rejected() {
        let err = rejected_after(|plan| {
            // Delete the kept parent, image 1, between the untag and its child's delete.
            let mut parent = plan.actions[1].clone();
            parent.image_id = id(1);
            parent.parent = None;
            parent.bytes = 0;
            plan.actions.insert(1, parent);
            plan.kept.clear();
            plan.totals.images_deleted = 2;
            plan.totals.images_kept = 0;
        });
        let message = "names the image that actions[1] deletes before it; \
                       a child is deleted before its parent";
        assert_eq!(err, FileError::at("actions[2].parent", message));
    }

    /// Plans made from the snapshot fixtures, of both image stores, with every unused image
    /// selected, read back unchanged: the checks accept what `make_plan` writes, including a
    /// containerd delete that lists a digest name both as tag and as repo digest.
    #[test]
    fn plans_made_from_the_fixtures_read_back() {
        use crate::decide::{Selection, decide};
        use crate::graph::Graph;
        use crate::plan::make_plan;
        use crate::snapshot::parse_snapshot;
        let fixtures = [
            include_str!("../testdata/snapshot/valid.json"),
            include_str!("../testdata/snapshot/containerd-store.json"),
            include_str!("../../../examples/engine-snapshot.json"),
        ];
        for (f, fixture) in fixtures.into_iter().enumerate() {
            let inventory = parse_snapshot(fixture).expect("a valid snapshot");
            let now = inventory.taken_at;
            let graph = Graph::new(inventory);
            for all in [false, true] {
                let selection = Selection {
                    all,
                    ..Selection::default()
                };
                let decisions = decide(&graph, &selection);
                let plan = make_plan(&graph, &decisions, &selection.describe(), now);
                assert!(!plan.is_empty() || !all, "fixture {f} has unused images");
                assert_eq!(
                    parse_plan(&write_plan(&plan)),
                    Ok(plan),
                    "fixture {f}, all={all}"
                );
            }
        }
    }
}
