//! The inventory: everything shed knows about one engine, read at one instant.
//!
//! These types are what the backends produce (the Docker Engine backend, a snapshot file) and
//! what the rest of the core reads. They carry facts only; what follows from them (children,
//! chain IDs, who uses which layer) is computed by [`crate::graph`]. The same types are the
//! body of a snapshot file, so every field here is part of the documented snapshot schema
//! (docs/schema/snapshot.md): rename nothing without bumping the schema version.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ids::{ContainerId, DiffId, ImageId};

/// A point in time, always UTC, serialized as RFC 3339 with nanoseconds when present.
pub type Timestamp = DateTime<Utc>;

/// Everything read from one engine at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    /// When the inventory was read (by the backend's clock, not the core's).
    pub taken_at: Timestamp,
    pub engine: EngineInfo,
    pub images: Vec<Image>,
    pub containers: Vec<Container>,
    #[serde(default)]
    pub build_cache: Vec<BuildCacheRecord>,
    pub disk: DiskUsage,
}

/// Which engine the inventory came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineInfo {
    /// The engine's version, as it reports it (`20.10.24+dfsg1`).
    pub version: String,
    /// The API version shed and the engine agreed on (`1.41`).
    pub api_version: String,
    pub os: String,
    pub arch: String,
    /// `overlay2`, `vfs`, … or the containerd snapshotter's name.
    pub storage_driver: String,
    pub data_root: String,
    pub image_store: ImageStore,
}

/// The two ways a Docker Engine stores images; removal rules and IDs differ between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageStore {
    /// The graphdriver store: image ID = config digest, the classic builder records parents.
    Classic,
    /// The containerd image store: image ID = manifest or index digest, no parents.
    Containerd,
}

/// One image, including untagged intermediate images.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Image {
    pub id: ImageId,
    /// Tags in the familiar form the engine reports (`golang:1.22`, `registry:5000/app:v1`).
    #[serde(default, deserialize_with = "vec_without_slack")]
    pub tags: Vec<String>,
    /// Repo digests (`golang@sha256:…`): the manifest digests it was pulled or pushed as.
    #[serde(default)]
    pub repo_digests: Vec<String>,
    /// The image the classic builder built this one on; always `None` on the containerd store.
    #[serde(default)]
    pub parent: Option<ImageId>,
    pub created: Timestamp,
    /// The engine's size of the image: the sum of all its layers.
    pub size: u64,
    /// The engine's shared size (bytes of layers other images also use), when it reports one.
    #[serde(default)]
    pub shared_size: Option<u64>,
    #[serde(default)]
    pub labels: Labels,
    /// The image's layers, bottom first.
    #[serde(deserialize_with = "vec_without_slack")]
    pub layers: Vec<Layer>,
}

/// One layer of an image's stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    pub diff_id: DiffId,
    /// The bytes this layer adds on disk (the engine's diff size for it).
    pub size: u64,
}

/// One container, in any state. A container in any state keeps its image in use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Container {
    pub id: ContainerId,
    /// Names without the leading slash.
    #[serde(default)]
    pub names: Vec<String>,
    pub image_id: ImageId,
    /// The reference the container was created from, as the engine reports it.
    #[serde(default)]
    pub image: String,
    pub state: ContainerState,
    pub created: Timestamp,
    #[serde(default)]
    pub started_at: Option<Timestamp>,
    #[serde(default)]
    pub finished_at: Option<Timestamp>,
}

impl Container {
    /// The name to show a person: the first name, or the short ID.
    pub fn display_name(&self) -> &str {
        self.names
            .first()
            .map(String::as_str)
            .unwrap_or_else(|| self.id.short())
    }

    /// The last time this container was seen using its image: the newest of its creation,
    /// start and finish times.
    pub fn last_used(&self) -> Timestamp {
        [Some(self.created), self.started_at, self.finished_at]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(self.created)
    }
}

/// A container's state, as the engine names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContainerState {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

impl ContainerState {
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerState::Created => "created",
            ContainerState::Running => "running",
            ContainerState::Paused => "paused",
            ContainerState::Restarting => "restarting",
            ContainerState::Removing => "removing",
            ContainerState::Exited => "exited",
            ContainerState::Dead => "dead",
        }
    }
}

/// One BuildKit build cache record, as the engine's disk-usage view reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildCacheRecord {
    pub id: String,
    /// `regular`, `source.local`, `exec.cachemount`, …
    pub kind: String,
    pub size: u64,
    pub shared: bool,
    pub in_use: bool,
    pub created: Timestamp,
    #[serde(default)]
    pub last_used: Option<Timestamp>,
    #[serde(default)]
    pub description: String,
}

/// The engine's own disk accounting, as its disk-usage view reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiskUsage {
    /// The bytes of all image layers on disk, each layer counted once (`LayersSize`).
    pub layers_size: u64,
    /// The bytes of all build cache records.
    #[serde(default)]
    pub build_cache_size: u64,
    /// The filesystem that holds the engine's data root, when shed could measure it.
    #[serde(default)]
    pub filesystem: Option<Filesystem>,
}

/// Size and free space of a filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filesystem {
    pub total_bytes: u64,
    pub available_bytes: u64,
}

impl Image {
    /// Whether the image has no tags. (Dangling also needs "no children": see the graph.)
    pub fn is_untagged(&self) -> bool {
        self.tags.is_empty()
    }

    /// Every reference of the image: tags first, then repo digests.
    pub fn references(&self) -> impl Iterator<Item = &str> {
        self.tags
            .iter()
            .chain(&self.repo_digests)
            .map(String::as_str)
    }
}

/// Reads a list into a vector of exactly its length: a list read element by element grows by
/// doubling, and a million images' worth of spare capacity is a hundred megabytes.
fn vec_without_slack<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let mut items = Vec::<T>::deserialize(deserializer)?;
    items.shrink_to_fit();
    Ok(items)
}

/// An image's labels: keys and values, sorted by key, each key once.
///
/// A map in JSON, as a `BTreeMap` would be, but held as one sorted vector: images carry a few
/// labels each, and the first node of a `BTreeMap` costs 544 bytes however few it holds, a
/// third of an image's memory in a large inventory. Lookups are binary searches.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Labels(Vec<(String, String)>);

impl Labels {
    pub fn new() -> Labels {
        Labels(Vec::new())
    }

    /// The value of the label `key`.
    pub fn get(&self, key: &str) -> Option<&String> {
        let at = self.position(key).ok()?;
        Some(&self.0[at].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_ok()
    }

    /// Sets the label `key`, returning the value it replaces.
    pub fn insert(&mut self, key: String, value: String) -> Option<String> {
        match self.position(&key) {
            Ok(at) => Some(std::mem::replace(&mut self.0[at].1, value)),
            Err(at) => {
                self.0.insert(at, (key, value));
                None
            }
        }
    }

    /// Every label, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter().map(|(key, value)| (key, value))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn position(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(own, _)| own.as_str().cmp(key))
    }
}

/// Collects labels; of two values for one key, the later wins, as in a `BTreeMap`.
impl FromIterator<(String, String)> for Labels {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Labels {
        let mut labels: Vec<(String, String)> = pairs.into_iter().collect();
        // Stable: equal keys stay in the order they came, so the last of each run is the later.
        labels.sort_by(|a, b| a.0.cmp(&b.0));
        labels.reverse();
        labels.dedup_by(|later, earlier| later.0 == earlier.0);
        labels.reverse();
        labels.shrink_to_fit();
        Labels(labels)
    }
}

/// The value of a label that must be there, as `map[key]` reads a `BTreeMap`.
impl std::ops::Index<&str> for Labels {
    type Output = String;

    fn index(&self, key: &str) -> &String {
        self.get(key)
            .unwrap_or_else(|| panic!("no label {key:?} among the image's labels"))
    }
}

impl From<BTreeMap<String, String>> for Labels {
    fn from(map: BTreeMap<String, String>) -> Labels {
        map.into_iter().collect()
    }
}

impl Serialize for Labels {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Labels {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Labels, D::Error> {
        deserializer.deserialize_map(LabelsVisitor)
    }
}

struct LabelsVisitor;

impl<'de> Visitor<'de> for LabelsVisitor {
    type Value = Labels;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of label keys to values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Labels, A::Error> {
        let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(pair) = map.next_entry::<String, String>()? {
            pairs.push(pair);
        }
        Ok(pairs.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(key: &str, value: &str) -> (String, String) {
        (key.to_owned(), value.to_owned())
    }

    #[test]
    fn labels_read_and_write_as_a_sorted_map() {
        let labels: Labels = serde_json::from_str(r#"{"b":"2","a":"1","b":"3"}"#).unwrap();
        assert_eq!(
            labels.get("b").map(String::as_str),
            Some("3"),
            "the later value wins"
        );
        assert!(labels.contains_key("a") && !labels.contains_key("c"));
        assert_eq!(labels["a"], "1");
        assert_eq!(labels.len(), 2);
        assert_eq!(
            serde_json::to_string(&labels).unwrap(),
            r#"{"a":"1","b":"3"}"#
        );
        let map: BTreeMap<String, String> = [pair("a", "1"), pair("b", "3")].into();
        assert_eq!(Labels::from(map), labels);
    }

    #[test]
    fn inserting_a_label_keeps_keys_sorted_and_replaces_values() {
        let mut labels: Labels = [pair("m", "1"), pair("m", "2")].into_iter().collect();
        assert_eq!(labels.insert("a".to_owned(), "x".to_owned()), None);
        assert_eq!(
            labels.insert("m".to_owned(), "3".to_owned()),
            Some("2".to_owned())
        );
        let keys: Vec<&String> = labels.iter().map(|(key, _)| key).collect();
        assert_eq!(keys, ["a", "m"]);
        assert!(Labels::new().is_empty());
    }
}
