//! Snapshot files: an inventory saved as JSON, for offline planning and for tests of the core.
//!
//! A snapshot is the JSON form of an [`Inventory`] with a schema id beside its fields, at the
//! top level: `{"schema": "shed.snapshot/v1", "taken_at": …, "engine": …, "images": …}`
//! (docs/schema/snapshot.md). The fields sit beside the id rather than under an `inventory` key
//! so that paths in errors and in `jq` read `images[3].created`. Reading a snapshot checks its
//! schema id, parses it with the field path and position of any error, and then checks what
//! JSON cannot: IDs are unique, and every parent and every container's image is in the snapshot.

use std::collections::HashMap;

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use crate::ids::ImageId;
use crate::inventory::{
    BuildCacheRecord, Container, DiskUsage, EngineInfo, Image, Inventory, Timestamp,
};
use crate::json_file::{self, FileError};

/// The schema id written into every snapshot file.
pub const SNAPSHOT_SCHEMA: &str = "shed.snapshot/v1";

/// A snapshot as read: the inventory's fields beside the schema id.
///
/// The fields are listed again rather than flattened, because serde's `flatten` buffers the
/// document, which loses the parser's positions and `deny_unknown_fields`. Building the
/// [`Inventory`] from it with a struct literal makes the compiler catch a field added to one
/// and not the other.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapshotFile {
    /// Checked before this struct is read, by [`json_file::read_versioned`].
    #[serde(rename = "schema")]
    _schema: IgnoredAny,
    taken_at: Timestamp,
    engine: EngineInfo,
    images: Vec<Image>,
    containers: Vec<Container>,
    #[serde(default)]
    build_cache: Vec<BuildCacheRecord>,
    disk: DiskUsage,
}

/// A snapshot as written: the schema id first, then the inventory's fields in their order.
#[derive(Serialize)]
struct SnapshotOut<'a> {
    schema: &'static str,
    #[serde(flatten)]
    inventory: &'a Inventory,
}

/// Reads a snapshot file's text into an inventory.
///
/// Rejects, with the path of the field: a schema id other than [`SNAPSHOT_SCHEMA`] or none;
/// JSON that does not parse as a snapshot (also with line and column); two images with one
/// ID; two containers with one ID; a parent or a container's `image_id` that names no image
/// in the snapshot.
pub fn parse_snapshot(text: &str) -> Result<Inventory, FileError> {
    let file: SnapshotFile = json_file::read_versioned(text, SNAPSHOT_SCHEMA)?;
    let inventory = Inventory {
        taken_at: file.taken_at,
        engine: file.engine,
        images: file.images,
        containers: file.containers,
        build_cache: file.build_cache,
        disk: file.disk,
    };
    check_references(&inventory)?;
    Ok(inventory)
}

/// Writes an inventory as a snapshot file: pretty JSON ending in a newline. The same
/// inventory always gives the same text, and [`parse_snapshot`] reads it back unchanged.
pub fn write_snapshot(inventory: &Inventory) -> String {
    json_file::write_pretty(&SnapshotOut {
        schema: SNAPSHOT_SCHEMA,
        inventory,
    })
}

/// The checks JSON cannot express: unique IDs, and references that resolve.
fn check_references(inventory: &Inventory) -> Result<(), FileError> {
    let images = index_images(&inventory.images)?;
    for (i, image) in inventory.images.iter().enumerate() {
        if let Some(parent) = &image.parent {
            check_known(&images, parent, format!("images[{i}].parent"))?;
        }
    }
    let mut containers: HashMap<&str, usize> = HashMap::new();
    for (i, container) in inventory.containers.iter().enumerate() {
        if let Some(first) = containers.insert(&container.id.0, i) {
            let message = format!(
                "duplicate container ID {}; containers[{first}] has it too",
                container.id
            );
            return Err(FileError::at(format!("containers[{i}].id"), message));
        }
        check_known(
            &images,
            &container.image_id,
            format!("containers[{i}].image_id"),
        )?;
    }
    Ok(())
}

/// Each image's index by ID; an error at the second image with an ID already seen.
fn index_images(images: &[Image]) -> Result<HashMap<&ImageId, usize>, FileError> {
    let mut index = HashMap::with_capacity(images.len());
    for (i, image) in images.iter().enumerate() {
        if let Some(first) = index.insert(&image.id, i) {
            let message = format!(
                "duplicate image ID {}; images[{first}] has it too",
                image.id
            );
            return Err(FileError::at(format!("images[{i}].id"), message));
        }
    }
    Ok(index)
}

fn check_known(
    images: &HashMap<&ImageId, usize>,
    id: &ImageId,
    path: String,
) -> Result<(), FileError> {
    if images.contains_key(id) {
        Ok(())
    } else {
        Err(FileError::at(
            path,
            format!("names image {id}, which is not in the snapshot"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json_file::Position;

    const VALID: &str = include_str!("../testdata/snapshot/valid.json");

    fn at(line: usize, column: usize) -> Option<Position> {
        Some(Position { line, column })
    }

    fn rejected(text: &str) -> FileError {
        parse_snapshot(text).expect_err("the snapshot should be rejected")
    }

    #[test]
    fn a_written_snapshot_reads_back_unchanged() {
        let inventory = parse_snapshot(VALID).expect("valid snapshot");
        assert_eq!(inventory.images.len(), 3);
        assert_eq!(inventory.containers.len(), 1);
        assert_eq!(write_snapshot(&inventory), VALID);
        assert_eq!(parse_snapshot(&write_snapshot(&inventory)), Ok(inventory));
    }

    #[test]
    fn the_documented_example_is_a_snapshot_as_shed_writes_it() {
        let example = json_file::json_example(include_str!("../../../docs/schema/snapshot.md"));
        let inventory = parse_snapshot(example).expect("the documented example");
        assert_eq!(write_snapshot(&inventory), example);
    }

    #[test]
    fn the_schema_id_comes_first_and_the_text_ends_with_a_newline() {
        let text = write_snapshot(&parse_snapshot(VALID).expect("valid snapshot"));
        assert!(text.starts_with("{\n  \"schema\": \"shed.snapshot/v1\",\n  \"taken_at\""));
        assert!(text.ends_with("}\n"));
    }

    #[test]
    fn a_truncated_snapshot_names_the_field_and_position() {
        // Cut inside images[1] (the second image), just after `"created": `.
        let cut = VALID
            .find("\"created\": \"2024-01-01T01:00:00Z\"")
            .expect("fixture")
            + 11;
        let err = rejected(&VALID[..cut]);
        assert_eq!(err.path, "images[1].created");
        assert_eq!(err.position, at(39, 17));
        assert_eq!(err.message, "EOF while parsing a value");
        assert_eq!(
            err.to_string(),
            "line 39, column 17: images[1].created: EOF while parsing a value"
        );
    }

    #[test]
    fn a_field_of_the_wrong_type_names_its_path() {
        let text = VALID.replacen("\"size\": 3000,", "\"size\": \"2 kB\",", 1);
        let err = rejected(&text);
        assert_eq!(err.path, "images[1].size");
        assert_eq!(err.position, at(40, 20));
        assert_eq!(err.message, "invalid type: string \"2 kB\", expected u64");
    }

    #[test]
    fn an_unknown_field_is_rejected() {
        let text = VALID.replacen("\"taken_at\"", "\"taken\"", 1);
        let err = rejected(&text);
        assert_eq!(err.path, "taken");
        assert_eq!(err.position, at(3, 9));
        assert!(
            err.message.starts_with("unknown field `taken`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn a_bad_image_id_names_its_path() {
        let text = VALID.replacen(
            "\"id\": \"sha256:0000000300",
            "\"id\": \"sha256:zz00000300",
            1,
        );
        let err = rejected(&text);
        assert_eq!(err.path, "images[2].id");
        assert_eq!(err.position, at(55, 85));
        assert!(err.message.contains("is not a digest"), "{}", err.message);
    }

    #[test]
    fn text_after_the_document_is_rejected() {
        let err = rejected(&format!("{VALID}{{}}"));
        assert_eq!(err.path, "");
        assert_eq!(err.position, at(111, 1));
        assert_eq!(err.to_string(), "line 111, column 1: trailing characters");
    }

    #[test]
    fn a_missing_schema_says_which_is_expected() {
        let text = VALID.replacen("  \"schema\": \"shed.snapshot/v1\",\n", "", 1);
        let err = rejected(&text);
        assert_eq!(
            err,
            FileError::at("schema", "missing; expected \"shed.snapshot/v1\"")
        );
        assert_eq!(
            err.to_string(),
            "schema: missing; expected \"shed.snapshot/v1\""
        );
    }

    #[test]
    fn a_wrong_schema_is_reported_before_other_fields() {
        // A plan file has other fields: the schema id is what to report.
        let text = "{\"schema\": \"shed.plan/v1\", \"actions\": []}";
        let err = rejected(text);
        assert_eq!(
            err,
            FileError::at(
                "schema",
                "is \"shed.plan/v1\"; expected \"shed.snapshot/v1\""
            )
        );
        let err = rejected("{\"schema\": 1}");
        assert_eq!(
            err,
            FileError::at("schema", "is 1; expected \"shed.snapshot/v1\"")
        );
    }

    #[test]
    fn not_json_at_all_is_reported_with_position() {
        let err = rejected("schema: v1\n");
        assert_eq!(err.position, at(1, 1));
        assert_eq!(err.path, "");
        assert_eq!(err.message, "expected value");
    }

    #[test]
    fn duplicate_image_ids_are_rejected() {
        let id2 = "sha256:0000000200000002000000020000000200000002000000020000000200000002";
        let id3 = "sha256:0000000300000003000000030000000300000003000000030000000300000003";
        let text = VALID.replacen(
            &format!("\"id\": \"{id3}\""),
            &format!("\"id\": \"{id2}\""),
            1,
        );
        let err = rejected(&text);
        let message = format!("duplicate image ID {id2}; images[1] has it too");
        assert_eq!(err, FileError::at("images[2].id", message));
    }

    #[test]
    fn a_parent_not_in_the_snapshot_is_rejected() {
        let id1 = "sha256:0000000100000001000000010000000100000001000000010000000100000001";
        let id9 = "sha256:0000000900000009000000090000000900000009000000090000000900000009";
        let text = VALID.replacen(
            &format!("\"parent\": \"{id1}\""),
            &format!("\"parent\": \"{id9}\""),
            1,
        );
        let err = rejected(&text);
        let message = format!("names image {id9}, which is not in the snapshot");
        assert_eq!(err, FileError::at("images[1].parent", message));
    }

    #[test]
    fn a_container_image_not_in_the_snapshot_is_rejected() {
        let id3 = "sha256:0000000300000003000000030000000300000003000000030000000300000003";
        let id9 = "sha256:0000000900000009000000090000000900000009000000090000000900000009";
        let text = VALID.replacen(
            &format!("\"image_id\": \"{id3}\""),
            &format!("\"image_id\": \"{id9}\""),
            1,
        );
        let err = rejected(&text);
        let message = format!("names image {id9}, which is not in the snapshot");
        assert_eq!(err, FileError::at("containers[0].image_id", message));
    }

    #[test]
    fn duplicate_container_ids_are_rejected() {
        let mut inventory = parse_snapshot(VALID).expect("valid snapshot");
        let copy = inventory.containers[0].clone();
        inventory.containers.push(copy);
        let err = rejected(&write_snapshot(&inventory));
        let id = &inventory.containers[0].id;
        let message = format!("duplicate container ID {id}; containers[0] has it too");
        assert_eq!(err, FileError::at("containers[1].id", message));
    }
}
