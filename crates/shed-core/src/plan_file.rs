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
