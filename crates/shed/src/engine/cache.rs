//! The image cache: what never changes about an image, kept by image ID between runs.
//!
//! An image ID is a content digest (of the config on the classic store, of the manifest or
//! index on the containerd store), so an image's layers (diff IDs), the size of each layer, its
//! size and its exact creation time are fixed for a given ID. Reading them costs two requests
//! per image (inspect and history); the cache keeps them in `image-cache.db` (SQLite) in the
//! state directory, so that a repeat inventory read asks the engine only about images it has not
//! seen. Tags, repo digests, parents and labels come from the image list on every read and are
//! not cached.
//!
//! Entries are kept per engine (host, data root, storage driver and image store), since the
//! per-layer sizes are the engine's own measure of its disk. An entry is only looked up for an
//! ID the engine lists right now, and entries of images the engine no longer lists are dropped
//! after each read. The file is only a cache: deleting it is always safe, and any trouble with
//! it (an unwritable state directory, a corrupt file, a locked database) makes shed read from
//! the engine as if it were empty.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, params};
use shed_core::ids::ImageId;
use shed_core::inventory::{EngineInfo, Layer, Timestamp};

/// The cache file in the state directory.
pub const CACHE_FILE: &str = "image-cache.db";

/// How long a write waits for another shed writing the same cache.
const BUSY_TIMEOUT: Duration = Duration::from_secs(2);

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS images (
    engine  TEXT NOT NULL,
    id      TEXT NOT NULL,
    created TEXT NOT NULL,
    size    INTEGER NOT NULL,
    layers  TEXT NOT NULL,
    PRIMARY KEY (engine, id)
) WITHOUT ROWID;
";

/// What the cache could not do. The inventory read logs it and goes on without the cache.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cannot create the state directory {path}: {source}")]
    StateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("image cache {path}: {source}")]
    Database {
        path: PathBuf,
        source: rusqlite::Error,
    },
}

/// The immutable part of one image, as the cache keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedImage {
    pub created: Timestamp,
    /// The image's size as the inventory counts it (see `inventory::image_size`).
    pub size: u64,
    /// Bottom layer first, each with its size.
    pub layers: Vec<Layer>,
}

/// The image cache of one state directory.
#[derive(Debug)]
pub struct ImageCache {
    connection: Connection,
    path: PathBuf,
}

impl ImageCache {
    /// Opens (creating if needed) the state directory and its cache file.
    pub fn open(state_dir: &Path) -> Result<ImageCache, CacheError> {
        std::fs::create_dir_all(state_dir).map_err(|source| CacheError::StateDir {
            path: state_dir.to_owned(),
            source,
        })?;
        let path = state_dir.join(CACHE_FILE);
        let database = |source| CacheError::Database {
            path: path.clone(),
            source,
        };
        let connection = Connection::open(&path).map_err(database)?;
        connection.busy_timeout(BUSY_TIMEOUT).map_err(database)?;
        connection.execute_batch(SCHEMA).map_err(database)?;
        Ok(ImageCache { connection, path })
    }

    /// Every entry kept for `engine`, by image ID. An entry that does not read back (a file
    /// written by something else) is left out, so that its image is read from the engine.
    pub fn entries(&self, engine: &str) -> Result<HashMap<String, CachedImage>, CacheError> {
        let sql = "SELECT id, created, size, layers FROM images WHERE engine = ?1";
        let mut statement = self.connection.prepare(sql).map_err(|e| self.database(e))?;
        let rows = statement
            .query_map(params![engine], |row| {
                let id: String = row.get(0)?;
                let created: String = row.get(1)?;
                let size: i64 = row.get(2)?;
                let layers: String = row.get(3)?;
                Ok((id, created, size, layers))
            })
            .map_err(|e| self.database(e))?;
        let mut entries = HashMap::new();
        for row in rows {
            let (id, created, size, layers) = row.map_err(|e| self.database(e))?;
            match entry_from_columns(&created, size, &layers) {
                Some(entry) => {
                    entries.insert(id, entry);
                }
                None => tracing::debug!(image = %id, "image cache entry unreadable: ignored"),
            }
        }
        Ok(entries)
    }

    /// Adds the entries of images read from the engine and drops those of images `engine` no
    /// longer lists (every known ID not in `listed`), in one transaction.
    pub fn update(
        &mut self,
        engine: &str,
        added: &[(ImageId, CachedImage)],
        gone: &[String],
    ) -> Result<(), CacheError> {
        let transaction = self
            .connection
            .transaction()
            .map_err(|e| database(&self.path, e))?;
        {
            let insert = "INSERT OR REPLACE INTO images (engine, id, created, size, layers)
                          VALUES (?1, ?2, ?3, ?4, ?5)";
            let mut insert = transaction
                .prepare(insert)
                .map_err(|e| database(&self.path, e))?;
            for (id, entry) in added {
                let layers = serde_json::to_string(&entry.layers).unwrap_or_default();
                let created = entry.created.to_rfc3339();
                let size = i64::try_from(entry.size).unwrap_or(i64::MAX);
                insert
                    .execute(params![engine, id.to_string(), created, size, layers])
                    .map_err(|e| database(&self.path, e))?;
            }
            let delete = "DELETE FROM images WHERE engine = ?1 AND id = ?2";
            let mut delete = transaction
                .prepare(delete)
                .map_err(|e| database(&self.path, e))?;
            for id in gone {
                delete
                    .execute(params![engine, id])
                    .map_err(|e| database(&self.path, e))?;
            }
        }
        transaction.commit().map_err(|e| database(&self.path, e))
    }

    fn database(&self, source: rusqlite::Error) -> CacheError {
        database(&self.path, source)
    }
}

fn database(path: &Path, source: rusqlite::Error) -> CacheError {
    CacheError::Database {
        path: path.to_owned(),
        source,
    }
}

/// The key that keeps one engine's entries apart from another's: the same image ID on another
/// engine (or another storage driver) may have its layers measured differently.
pub fn engine_key(host: &str, engine: &EngineInfo) -> String {
    format!(
        "{host}|{}|{}|{:?}",
        engine.data_root, engine.storage_driver, engine.image_store
    )
}

/// The IDs among `known` that are not in `listed`: images gone from the engine.
pub fn gone_ids(known: &HashMap<String, CachedImage>, listed: &HashSet<&str>) -> Vec<String> {
    let mut gone: Vec<String> = known
        .keys()
        .filter(|id| !listed.contains(id.as_str()))
        .cloned()
        .collect();
    gone.sort();
    gone
}

fn entry_from_columns(created: &str, size: i64, layers: &str) -> Option<CachedImage> {
    let created = chrono::DateTime::parse_from_rfc3339(created).ok()?.to_utc();
    let layers: Vec<Layer> = serde_json::from_str(layers).ok()?;
    Some(CachedImage {
        created,
        size: u64::try_from(size).ok()?,
        layers,
    })
}

#[cfg(test)]
mod tests {
    use shed_core::ids::DiffId;

    use super::*;

    fn id(n: u8) -> ImageId {
        ImageId::parse(&format!("sha256:{}", format!("{n:02x}").repeat(32))).unwrap()
    }

    fn entry(size: u64) -> CachedImage {
        let diff_id = DiffId::parse(&format!("sha256:{}", "cd".repeat(32))).unwrap();
        CachedImage {
            created: chrono::DateTime::parse_from_rfc3339("2024-05-01T10:00:00.123456789Z")
                .unwrap()
                .to_utc(),
            size,
            layers: vec![Layer { diff_id, size }],
        }
    }

    #[test]
    fn entries_read_back_exactly_and_per_engine() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = ImageCache::open(dir.path()).unwrap();
        cache
            .update("a", &[(id(1), entry(10)), (id(2), entry(20))], &[])
            .unwrap();
        cache.update("b", &[(id(1), entry(99))], &[]).unwrap();

        let reopened = ImageCache::open(dir.path()).unwrap();
        let a = reopened.entries("a").unwrap();
        assert_eq!(a.len(), 2);
        // Nanoseconds survive: the core compares creation times exactly.
        assert_eq!(a[&id(1).to_string()], entry(10));
        assert_eq!(reopened.entries("b").unwrap()[&id(1).to_string()].size, 99);
    }

    #[test]
    fn gone_images_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = ImageCache::open(dir.path()).unwrap();
        cache
            .update("a", &[(id(1), entry(10)), (id(2), entry(20))], &[])
            .unwrap();
        let known = cache.entries("a").unwrap();
        let second = id(2).to_string();
        let listed: HashSet<&str> = [second.as_str()].into_iter().collect();
        let gone = gone_ids(&known, &listed);
        assert_eq!(gone, [id(1).to_string()]);

        cache.update("a", &[], &gone).unwrap();
        let left = cache.entries("a").unwrap();
        assert_eq!(left.keys().collect::<Vec<_>>(), [&second]);
    }

    #[test]
    fn unreadable_entries_are_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ImageCache::open(dir.path()).unwrap();
        cache
            .connection
            .execute(
                "INSERT INTO images VALUES ('a', 'sha256:x', 'yesterday', 1, '[]')",
                [],
            )
            .unwrap();
        assert!(cache.entries("a").unwrap().is_empty());
    }

    #[test]
    fn a_state_dir_that_cannot_be_created_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, "").unwrap();
        let error = ImageCache::open(&file.join("state")).unwrap_err();
        assert!(matches!(error, CacheError::StateDir { .. }), "{error}");
    }
}
