//! shed's versioned JSON files: reading them with a schema check, and the error that says where.
//!
//! Snapshot files and plan files are JSON documents whose top level carries a `schema` id
//! (`shed.snapshot/v1`, `shed.plan/v1`). Reading one checks the id first, so that a file of
//! another kind or version is reported as such rather than as a stray field. Every error names
//! the field by its path (`images[3].created`) and, when the JSON parser found it, the line and
//! column, so that the caller can print `FILE: line 12, column 5: images[3].created: …` and
//! exit with status 2 before changing anything (DESIGN.md invariant 7).

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A line and column in a file, both counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// Why a snapshot or plan file was rejected, and where.
///
/// Displays as `line 12, column 5: images[3].created: premature end of input`; the position is
/// left out for checks made after parsing (a duplicate ID has a path but no position) and the
/// path for errors in the document as a whole. The caller prefixes the file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// Where the JSON parser stopped; `None` for checks made after parsing.
    pub position: Option<Position>,
    /// The field, as `images[3].created`; empty for the document as a whole.
    pub path: String,
    pub message: String,
}

impl FileError {
    /// An error found after parsing, at a field.
    pub(crate) fn at(path: impl Into<String>, message: impl Into<String>) -> FileError {
        FileError {
            position: None,
            path: path.into(),
            message: message.into(),
        }
    }

    fn from_tracked(err: serde_path_to_error::Error<serde_json::Error>) -> FileError {
        let path = err.path().to_string();
        // serde_path_to_error writes the document itself as ".".
        let path = if path == "." { String::new() } else { path };
        FileError::from_json(path, &err.into_inner())
    }

    fn from_json(path: String, err: &serde_json::Error) -> FileError {
        let position = (err.line() > 0).then(|| Position {
            line: err.line(),
            column: err.column(),
        });
        FileError {
            position,
            path,
            message: bare_message(err),
        }
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(Position { line, column }) = self.position {
            write!(f, "line {line}, column {column}: ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for FileError {}

/// serde_json's message without the ` at line L column C` it appends: the position is
/// reported in front, with the path.
fn bare_message(err: &serde_json::Error) -> String {
    let full = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    match full.strip_suffix(&suffix) {
        Some(bare) => bare.to_owned(),
        None => full,
    }
}

/// Only the schema id of a document; every other field is skipped.
#[derive(serde::Deserialize)]
struct SchemaProbe {
    #[serde(default)]
    schema: Option<serde_json::Value>,
}

/// Parses a document whose top-level `schema` must be `schema`.
///
/// A wrong or missing schema id is reported as such even when the rest of the document would
/// not parse as `T` (a file of another version has other fields); a document that is not JSON
/// at all is reported with the parser's position.
pub(crate) fn read_versioned<T: DeserializeOwned>(
    text: &str,
    schema: &str,
) -> Result<T, FileError> {
    let parsed = deserialize::<T>(text);
    if let Ok(probe) = deserialize::<SchemaProbe>(text) {
        check_schema(probe.schema.as_ref(), schema)?;
    }
    parsed
}

fn deserialize<T: DeserializeOwned>(text: &str) -> Result<T, FileError> {
    let mut json = serde_json::Deserializer::from_str(text);
    let value: T = serde_path_to_error::deserialize(&mut json).map_err(FileError::from_tracked)?;
    json.end()
        .map_err(|err| FileError::from_json(String::new(), &err))?;
    Ok(value)
}

fn check_schema(found: Option<&serde_json::Value>, expected: &str) -> Result<(), FileError> {
    match found {
        Some(serde_json::Value::String(id)) if id == expected => Ok(()),
        Some(other) => Err(FileError::at(
            "schema",
            format!("is {other}; expected {expected:?}"),
        )),
        None => Err(FileError::at(
            "schema",
            format!("missing; expected {expected:?}"),
        )),
    }
}

/// Pretty JSON with a final newline. Deterministic: struct fields in declaration order, maps
/// sorted (shed's types use `BTreeMap`), lists as given.
pub(crate) fn write_pretty<T: Serialize>(value: &T) -> String {
    // shed's file types have only string map keys and no fallible Serialize impls, the two
    // ways serde_json's serializer can fail.
    let mut text = serde_json::to_string_pretty(value).expect("shed's file types serialize");
    text.push('\n');
    text
}

/// The first ```json block of a Markdown document: the examples in docs/schema are tested.
#[cfg(test)]
pub(crate) fn json_example(markdown: &str) -> &str {
    let start = markdown.find("```json\n").expect("a json block") + "```json\n".len();
    let len = markdown[start..]
        .find("```\n")
        .expect("the end of the json block");
    &markdown[start..start + len]
}
