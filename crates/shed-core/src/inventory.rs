//! The inventory: everything shed knows about one engine, read at one instant.
//!
//! These types are what the backends produce (the Docker Engine backend, a snapshot file) and
//! what the rest of the core reads. They carry facts only; what follows from them (children,
//! chain IDs, who uses which layer) is computed by [`crate::graph`]. The same types are the
//! body of a snapshot file, so every field here is part of the documented snapshot schema
//! (docs/schema/snapshot.md): rename nothing without bumping the schema version.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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
    #[serde(default)]
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
    pub labels: BTreeMap<String, String>,
    /// The image's layers, bottom first.
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
