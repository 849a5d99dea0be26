//! Snapshot files: an inventory saved as JSON, for offline planning and for tests of the core.
//!
//! A snapshot is the JSON form of an [`Inventory`] with a schema id beside its fields, at the
//! top level: `{"schema": "shed.snapshot/v1", "taken_at": …, "engine": …, "images": …}`
//! (docs/schema/snapshot.md). The fields sit beside the id rather than under an `inventory` key
//! so that paths in errors and in `jq` read `images[3].created`. Reading a snapshot checks its
//! schema id, parses it with the field path and position of any error, and then checks what
//! JSON cannot: IDs are unique, tags and repo digests follow Docker's reference grammar and
//! each names one image, every parent and every container's image is in the snapshot, and no
//! image is its own ancestor. A snapshot that passes is one an engine could have reported, so
//! nothing downstream has to guess what a malformed one meant.

use std::collections::HashMap;

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use crate::ids::ImageId;
use crate::inventory::{
    BuildCacheRecord, Container, DiskUsage, EngineInfo, Image, ImageStore, Inventory, Timestamp,
};
use crate::json_file::{self, FileError};
use crate::reference;

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
/// ID; a tag or repo digest outside Docker's reference grammar ([`mod@reference`]); a tag on two
/// images, or twice on one, and likewise a repo digest; a parent that names no image in the
/// snapshot, or the image itself; a cycle of parents; two containers with one ID; a
/// container's `image_id` that names no image in the snapshot. The first error in that order
/// is reported.
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

/// The checks JSON cannot express: unique IDs, well-formed and unique references, parents and
/// containers' images that resolve, and no parent cycle.
fn check_references(inventory: &Inventory) -> Result<(), FileError> {
    let images = index_images(&inventory.images)?;
    check_reference_syntax(inventory)?;
    check_unique_references(&inventory.images)?;
    let parents = resolve_parents(&images, &inventory.images)?;
    check_parent_cycles(&parents)?;
    check_containers(&images, &inventory.containers)
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

/// Every tag and repo digest follows Docker's reference grammar ([`mod@reference`]).
///
/// The containerd store lists the name of an image pulled by digest (`alpine@sha256:…`) among
/// its tags (docs/image-stores.md), so there a tag may also be a digest name.
fn check_reference_syntax(inventory: &Inventory) -> Result<(), FileError> {
    let digest_names_are_tags = inventory.engine.image_store == ImageStore::Containerd;
    for (i, image) in inventory.images.iter().enumerate() {
        for (t, tag) in image.tags.iter().enumerate() {
            let checked = if digest_names_are_tags && tag.contains('@') {
                reference::check_repo_digest(tag)
            } else {
                reference::check_tag(tag)
            };
            checked.map_err(|err| {
                let message = format!("{tag:?} is not a valid tag: {err}");
                FileError::at(format!("images[{i}].tags[{t}]"), message)
            })?;
        }
        for (d, digest) in image.repo_digests.iter().enumerate() {
            reference::check_repo_digest(digest).map_err(|err| {
                let message = format!("{digest:?} is not a valid repo digest: {err}");
                FileError::at(format!("images[{i}].repo_digests[{d}]"), message)
            })?;
        }
    }
    Ok(())
}

/// A reference names one image: no tag is on two images or twice on one, and likewise for repo
/// digests. (A tag and a repo digest can be the same text only on the containerd store, for
/// one image pulled by digest, so the two kinds are checked apart.)
fn check_unique_references(images: &[Image]) -> Result<(), FileError> {
    check_unique(images, "tag", "tags", |image| &image.tags)?;
    check_unique(images, "repo digest", "repo_digests", |image| {
        &image.repo_digests
    })
}

fn check_unique(
    images: &[Image],
    kind: &str,
    field: &str,
    references: impl Fn(&Image) -> &[String],
) -> Result<(), FileError> {
    let mut seen: HashMap<&str, String> = HashMap::new();
    for (i, image) in images.iter().enumerate() {
        for (r, reference) in references(image).iter().enumerate() {
            let path = format!("images[{i}].{field}[{r}]");
            if let Some(first) = seen.get(reference.as_str()) {
                let message = format!("duplicate {kind} {reference}; {first} has it too");
                return Err(FileError::at(path, message));
            }
            seen.insert(reference, path);
        }
    }
    Ok(())
}

/// Each image's parent, by index; an error at a parent that is not in the snapshot or is the
/// image itself.
fn resolve_parents(
    index: &HashMap<&ImageId, usize>,
    images: &[Image],
) -> Result<Vec<Option<usize>>, FileError> {
    let mut parents = Vec::with_capacity(images.len());
    for (i, image) in images.iter().enumerate() {
        let Some(parent) = &image.parent else {
            parents.push(None);
            continue;
        };
        let path = format!("images[{i}].parent");
        let p = find_image(index, parent, &path)?;
        if p == i {
            return Err(FileError::at(path, "names the image itself"));
        }
        parents.push(Some(p));
    }
    Ok(parents)
}

/// An engine cannot produce a cycle of parents (a parent exists before its child); a cycle in
/// a file means it was edited or corrupted, and no order could delete children first.
///
/// Each image has at most one parent, so a walk up from an image either ends or runs into a
/// cycle; marking each image with the walk that first reached it finds every cycle in linear
/// time. The error is reported at the cycle's image that comes first in the file.
fn check_parent_cycles(parents: &[Option<usize>]) -> Result<(), FileError> {
    const UNSEEN: usize = usize::MAX;
    let mut walk_of = vec![UNSEEN; parents.len()];
    for start in 0..parents.len() {
        let mut at = start;
        // Ends at a root, at an image an earlier walk reached (no cycle, or one already
        // reported), or at an image this walk reached: then `at` is on a cycle.
        let is_cycle = loop {
            if walk_of[at] != UNSEEN {
                break walk_of[at] == start;
            }
            walk_of[at] = start;
            match parents[at] {
                Some(parent) => at = parent,
                None => break false,
            }
        };
        if is_cycle {
            return Err(cycle_error(&cycle_through(parents, at)));
        }
    }
    Ok(())
}

/// The images of the cycle through `on_cycle`, starting at the one first in the file.
fn cycle_through(parents: &[Option<usize>], on_cycle: usize) -> Vec<usize> {
    let mut cycle = vec![on_cycle];
    let mut at = parents[on_cycle];
    while let Some(next) = at.filter(|&next| next != on_cycle) {
        cycle.push(next);
        at = parents[next];
    }
    let first = (0..cycle.len()).min_by_key(|&k| cycle[k]).unwrap_or(0);
    cycle.rotate_left(first);
    cycle
}

fn cycle_error(cycle: &[usize]) -> FileError {
    // A long cycle is shown by its ends: the message stays one readable line.
    const SHOWN: usize = 6;
    let names: Vec<String> = if cycle.len() <= SHOWN {
        cycle.iter().map(|i| format!("images[{i}]")).collect()
    } else {
        let mut names: Vec<String> = cycle[..SHOWN - 1]
            .iter()
            .map(|i| format!("images[{i}]"))
            .collect();
        names.push(format!("… ({} images in all)", cycle.len()));
        names
    };
    let message = format!(
        "parents form a cycle: {} → images[{}]",
        names.join(" → "),
        cycle[0]
    );
    FileError::at(format!("images[{}].parent", cycle[0]), message)
}

/// Container IDs are unique and each container's image is in the snapshot.
fn check_containers(
    images: &HashMap<&ImageId, usize>,
    containers: &[Container],
) -> Result<(), FileError> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, container) in containers.iter().enumerate() {
        if let Some(first) = seen.insert(&container.id.0, i) {
            let message = format!(
                "duplicate container ID {}; containers[{first}] has it too",
                container.id
            );
            return Err(FileError::at(format!("containers[{i}].id"), message));
        }
        find_image(
            images,
            &container.image_id,
            &format!("containers[{i}].image_id"),
        )?;
    }
    Ok(())
}

/// The index of the image with ID `id`; an error at `path` when the snapshot has none.
fn find_image(
    images: &HashMap<&ImageId, usize>,
    id: &ImageId,
    path: &str,
) -> Result<usize, FileError> {
    images.get(id).copied().ok_or_else(|| {
        FileError::at(
            path,
            format!("names image {id}, which is not in the snapshot"),
        )
    })
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

    /// The error for the valid snapshot after `edit`, written out and read back.
    fn rejected_after(edit: impl FnOnce(&mut Inventory)) -> FileError {
        let mut inventory = parse_snapshot(VALID).expect("valid snapshot");
        edit(&mut inventory);
        rejected(&write_snapshot(&inventory))
    }

    fn id(n: u32) -> ImageId {
        crate::testkit::image_id(n)
    }

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|t| (*t).to_owned()).collect()
    }

    /// The message for a component outside the grammar.
    fn bad_component(reference: &str, kind: &str, component: &str) -> String {
        format!(
            "{reference:?} is not a valid {kind}: repository path component {component:?} must \
             be lower-case letters and digits separated by \".\", \"_\", \"__\" or \"-\""
        )
    }

    #[test]
    fn an_image_that_is_its_own_parent_is_rejected() {
        let err = rejected_after(|inv| inv.images[2].parent = Some(id(3)));
        assert_eq!(
            err,
            FileError::at("images[2].parent", "names the image itself")
        );
    }

    #[test]
    fn a_parent_cycle_is_rejected_at_its_first_image() {
        // images[0] → images[1] → images[0]; images[1]'s parent is images[0] in the fixture.
        let err = rejected_after(|inv| inv.images[0].parent = Some(id(2)));
        let message = "parents form a cycle: images[0] → images[1] → images[0]";
        assert_eq!(err, FileError::at("images[0].parent", message));
        assert_eq!(
            err.to_string(),
            "images[0].parent: parents form a cycle: images[0] → images[1] → images[0]"
        );
    }

    #[test]
    fn a_parent_cycle_below_a_chain_is_reported_once_at_the_cycle() {
        // images[0] → images[1] ⇄ images[2]: images[0] is not on the cycle.
        let err = rejected_after(|inv| {
            inv.images[0].parent = Some(id(2));
            inv.images[1].parent = Some(id(3));
            inv.images[2].parent = Some(id(2));
        });
        let message = "parents form a cycle: images[1] → images[2] → images[1]";
        assert_eq!(err, FileError::at("images[1].parent", message));
    }

    #[test]
    fn a_long_parent_cycle_is_shown_by_its_start() {
        use crate::testkit::{InventoryBuilder, image};
        let mut builder = InventoryBuilder::new();
        for n in 0..8 {
            builder = builder.image(image(n + 1).parent((n + 1) % 8 + 1));
        }
        let err = rejected(&write_snapshot(&builder.build()));
        let message = "parents form a cycle: images[0] → images[1] → images[2] → images[3] → \
                       images[4] → … (8 images in all) → images[0]";
        assert_eq!(err, FileError::at("images[0].parent", message));
    }

    #[test]
    fn a_tag_on_two_images_is_rejected() {
        let err = rejected_after(|inv| {
            inv.images[0].tags = tags(&["busybox:1.36", "shop/web:latest"]);
            inv.images[2].tags = tags(&["app:v1", "shop/web:latest"]);
        });
        let message = "duplicate tag shop/web:latest; images[0].tags[1] has it too";
        assert_eq!(err, FileError::at("images[2].tags[1]", message));
    }

    #[test]
    fn a_tag_listed_twice_on_one_image_is_rejected() {
        let err = rejected_after(|inv| inv.images[2].tags = tags(&["app:v1", "app:v1"]));
        let message = "duplicate tag app:v1; images[2].tags[0] has it too";
        assert_eq!(err, FileError::at("images[2].tags[1]", message));
    }

    #[test]
    fn a_repo_digest_on_two_images_is_rejected() {
        let digest = format!("busybox@sha256:{}", "00000077".repeat(8));
        let err = rejected_after(|inv| inv.images[1].repo_digests = vec![digest.clone()]);
        let message =
            format!("duplicate repo digest {digest}; images[0].repo_digests[0] has it too");
        assert_eq!(err, FileError::at("images[1].repo_digests[0]", message));
    }

    #[test]
    fn tags_outside_the_reference_grammar_are_rejected() {
        for tag in ["UPPER:Case", "a b:c"] {
            let err = rejected_after(|inv| inv.images[2].tags = tags(&[tag]));
            let component = tag.split(':').next().unwrap();
            let message = bad_component(tag, "tag", component);
            assert_eq!(err, FileError::at("images[2].tags[0]", message), "{tag}");
        }
        let err = rejected_after(|inv| inv.images[2].tags = tags(&["app:v1", "app:-rc"]));
        let message = "\"app:-rc\" is not a valid tag: tag \"-rc\" must be 1 to 128 letters, \
                       digits, \"_\", \".\" or \"-\", and not start with \".\" or \"-\"";
        assert_eq!(err, FileError::at("images[2].tags[1]", message));
        let err = rejected_after(|inv| inv.images[2].tags = tags(&["app"]));
        let message = "\"app\" is not a valid tag: has no \":tag\" after the repository name";
        assert_eq!(err, FileError::at("images[2].tags[0]", message));
    }

    #[test]
    fn repo_digests_outside_the_reference_grammar_are_rejected() {
        let hex = "00000077".repeat(8);
        let upper = format!("UPPER@sha256:{hex}");
        let err = rejected_after(|inv| inv.images[0].repo_digests = vec![upper.clone()]);
        let message = bad_component(&upper, "repo digest", "UPPER");
        assert_eq!(err, FileError::at("images[0].repo_digests[0]", message));

        let err = rejected_after(|inv| inv.images[0].repo_digests = tags(&["busybox@sha256:77"]));
        let message = "\"busybox@sha256:77\" is not a valid repo digest: digest \"sha256:77\" \
                       must be \"sha256:\" followed by 64 lower-case hex digits";
        assert_eq!(err, FileError::at("images[0].repo_digests[0]", message));
    }

    #[test]
    fn a_digest_name_is_a_tag_only_on_the_containerd_store() {
        let name = format!("busybox@sha256:{}", "00000077".repeat(8));
        let err = rejected_after(|inv| inv.images[0].tags = vec![name.clone()]);
        let message = format!("{name:?} is not a valid tag: names a digest (\"@\"), not a tag");
        assert_eq!(err, FileError::at("images[0].tags[0]", message));

        let mut inventory = parse_snapshot(VALID).expect("valid snapshot");
        inventory.engine.image_store = ImageStore::Containerd;
        inventory.images[0].tags = vec![name];
        let text = write_snapshot(&inventory);
        assert_eq!(parse_snapshot(&text), Ok(inventory));
    }
}
