//! Generated layers: the exact tar stream of each one, and its diff ID.
//!
//! Every layer holds one file at the root of the filesystem. A filler layer's file is a few bytes
//! to a few KB of text, so that loading thousands of images costs the engine little disk; the
//! tool layer holds a static busybox, so that containers can run on the images built on it. The
//! tar stream is fully deterministic (mtime 0, owner root), which makes the diff ID (the sha256 of
//! the uncompressed stream) a function of the layer's name and length alone, and so lets the
//! snapshot writer compute the same IDs the engine will report after `docker load`.

use anyhow::Context as _;
use sha2::{Digest as _, Sha256};
use shed_core::ids::DiffId;

/// The name of the busybox file in the tool layer; containers run `/busybox APPLET …`.
pub const TOOL_FILE: &str = "busybox";

const BLOCK: usize = 512;

/// The single file of the layer that holds busybox.
#[derive(Debug, Clone)]
pub struct ToolFile {
    pub contents: Vec<u8>,
    /// False for the stand-in used by in-memory benchmarks: nothing can run on it.
    pub is_runnable: bool,
}

impl ToolFile {
    /// Reads a static busybox (Debian's busybox-static installs one at /usr/bin/busybox).
    pub fn read(path: &std::path::Path) -> anyhow::Result<Self> {
        let contents =
            std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        Ok(ToolFile {
            contents,
            is_runnable: true,
        })
    }

    /// A small stand-in for benchmarks that never reach an engine.
    pub fn stand_in() -> Self {
        ToolFile {
            contents: b"shed-bench stand-in for busybox\n".to_vec(),
            is_runnable: false,
        }
    }
}

/// The uncompressed tar stream of a layer holding one file at `/name`.
pub fn layer_tar(name: &str, contents: &[u8], mode: u32) -> Vec<u8> {
    let mut header = tar::Header::new_ustar();
    // A name of a few dozen ASCII bytes always fits the ustar name field.
    header
        .set_path(name)
        .expect("layer file names are short ASCII");
    header.set_size(contents.len() as u64);
    header.set_mode(mode);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();

    let padded = contents.len().div_ceil(BLOCK) * BLOCK;
    let mut out = Vec::with_capacity(BLOCK + padded + 2 * BLOCK);
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(contents);
    out.resize(BLOCK + padded + 2 * BLOCK, 0);
    out
}

/// The text of a filler file: its name, repeated to `len` bytes.
pub fn filler_contents(name: &str, len: usize) -> Vec<u8> {
    name.bytes().chain(*b"\n").cycle().take(len).collect()
}

/// The diff ID of a layer's tar stream.
pub fn diff_id_of(tar: &[u8]) -> DiffId {
    DiffId::from_sha256(Sha256::digest(tar).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_tar_is_one_file_padded_to_blocks() {
        let tar = layer_tar("f", b"hello", 0o644);
        assert_eq!(tar.len(), 512 + 512 + 1024);

        let mut archive = tar::Archive::new(&tar[..]);
        let mut entries = archive.entries().unwrap();
        let mut entry = entries.next().unwrap().unwrap();
        assert_eq!(entry.path().unwrap().to_str(), Some("f"));
        let mut body = String::new();
        std::io::Read::read_to_string(&mut entry, &mut body).unwrap();
        assert_eq!(body, "hello");
        assert!(entries.next().is_none());
    }

    #[test]
    fn diff_id_depends_on_name_and_contents_only() {
        let a = diff_id_of(&layer_tar("a", b"x", 0o644));
        assert_eq!(a, diff_id_of(&layer_tar("a", b"x", 0o644)));
        assert_ne!(a, diff_id_of(&layer_tar("b", b"x", 0o644)));
        assert_ne!(a, diff_id_of(&layer_tar("a", b"y", 0o644)));
    }

    #[test]
    fn filler_contents_has_the_asked_length() {
        assert_eq!(filler_contents("ab", 7), b"ab\nab\na");
        assert!(filler_contents("ab", 0).is_empty());
    }
}
