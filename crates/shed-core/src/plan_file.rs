//! Plan files: a [`Plan`] saved by `shed plan -o FILE` and read back by `shed apply FILE`.
//!
//! The file is the plan's own JSON form (docs/schema/plan.md), whose `schema` field is
//! [`PLAN_SCHEMA`]. Reading one checks the schema id before anything else and reports any
//! error with the field path and, from the JSON parser, the line and column.

use crate::json_file::{self, FileError};
use crate::plan::{PLAN_SCHEMA, Plan};

/// Reads a plan file's text.
///
/// Rejects, with the path of the field: a schema id other than [`PLAN_SCHEMA`] or none; JSON
/// that does not parse as a plan (also with line and column), including unknown fields and
/// malformed image IDs.
pub fn parse_plan(text: &str) -> Result<Plan, FileError> {
    json_file::read_versioned(text, PLAN_SCHEMA)
}

/// Writes a plan as a plan file: pretty JSON ending in a newline, the same text for the same
/// plan, read back unchanged by [`parse_plan`]. The plan's own `schema` field is written as it
/// is; plans made by [`crate::plan`] carry [`PLAN_SCHEMA`].
pub fn write_plan(plan: &Plan) -> String {
    json_file::write_pretty(plan)
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
                action: text,
                reference,
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
                | Reason::PolicyDefault { .. } => {}
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
}
