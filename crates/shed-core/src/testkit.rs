//! Hand-made inventories for tests and benchmarks.
//!
//! Tests of the core, of the shell and the benchmarks describe engine states with small
//! integers instead of digests, so that each test shows only what differs:
//!
//! ```
//! use shed_core::inventory::ContainerState;
//! use shed_core::testkit::{InventoryBuilder, image};
//!
//! let graph = InventoryBuilder::new()
//!     .image(image(1).tags(&["golang:1.22"]).layers(&[1, 2]))
//!     .image(image(2).parent(1).layers(&[1, 2, 3]).created(5))
//!     .container("build", 2, ContainerState::Exited)
//!     .graph();
//! assert_eq!(graph.image_count(), 2);
//! ```
//!
//! Image `n` has ID `image_id(n)`; layer `n` has diff ID `diff_id(n)` and is `n * 1000` bytes
//! unless given a size; `created(h)` is `h` hours after 2024-01-01T00:00:00Z.

use chrono::{TimeZone as _, Utc};

use crate::graph::Graph;
use crate::ids::{ContainerId, DiffId, ImageId};
use crate::inventory::{
    Container, ContainerState, DiskUsage, EngineInfo, Image, ImageStore, Inventory, Labels, Layer,
    Timestamp,
};

/// The bytes of layer `n` when no size is given: `n * LAYER_BYTES`.
pub const LAYER_BYTES: u64 = 1000;

fn digest_hex(n: u32) -> String {
    format!("{n:08x}").repeat(8)
}

/// The image ID of image `n`: `sha256:` and `n` in 8 hex digits, eight times.
pub fn image_id(n: u32) -> ImageId {
    ImageId::parse(&format!("sha256:{}", digest_hex(n))).expect("64 lowercase hex digits")
}

/// The diff ID of layer `n`, built like [`image_id`].
pub fn diff_id(n: u32) -> DiffId {
    DiffId::parse(&format!("sha256:{}", digest_hex(n))).expect("64 lowercase hex digits")
}

/// The container ID of container `n`.
pub fn container_id(n: u32) -> ContainerId {
    ContainerId(digest_hex(n))
}

/// `hours` hours after 2024-01-01T00:00:00Z (negative hours are before it).
pub fn at(hours: i64) -> Timestamp {
    let epoch = Utc
        .with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
        .single()
        .expect("a valid date");
    epoch + chrono::Duration::hours(hours)
}

/// One image, described by small integers. Start with [`image`].
#[derive(Debug, Clone)]
pub struct ImageSpec {
    image: Image,
}

/// Image `n`: no tags, no parent, no layers, created at [`at`]`(0)`.
pub fn image(n: u32) -> ImageSpec {
    ImageSpec {
        image: Image {
            id: image_id(n),
            tags: Vec::new(),
            repo_digests: Vec::new(),
            parent: None,
            created: at(0),
            size: 0,
            shared_size: None,
            labels: Labels::new(),
            layers: Vec::new(),
        },
    }
}

impl ImageSpec {
    pub fn tags(mut self, tags: &[&str]) -> Self {
        self.image.tags = tags.iter().map(|tag| tag.to_string()).collect();
        self
    }

    pub fn digests(mut self, repo_digests: &[&str]) -> Self {
        self.image.repo_digests = repo_digests.iter().map(|d| d.to_string()).collect();
        self
    }

    /// Built on image `n` (the classic builder's parent link).
    pub fn parent(mut self, n: u32) -> Self {
        self.image.parent = Some(image_id(n));
        self
    }

    /// The whole layer stack, bottom first; layer `n` is `n * LAYER_BYTES` bytes.
    pub fn layers(self, layers: &[u32]) -> Self {
        let sized: Vec<(u32, u64)> = layers
            .iter()
            .map(|&n| (n, u64::from(n) * LAYER_BYTES))
            .collect();
        self.sized_layers(&sized)
    }

    /// The whole layer stack, bottom first, as `(layer, bytes)` pairs.
    pub fn sized_layers(mut self, layers: &[(u32, u64)]) -> Self {
        self.image.layers = layers
            .iter()
            .map(|&(n, size)| Layer {
                diff_id: diff_id(n),
                size,
            })
            .collect();
        self.image.size = layers.iter().map(|&(_, size)| size).sum();
        self
    }

    /// Created `hours` hours after 2024-01-01T00:00:00Z.
    pub fn created(mut self, hours: i64) -> Self {
        self.image.created = at(hours);
        self
    }

    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.image.labels.insert(key.to_owned(), value.to_owned());
        self
    }

    pub fn build(self) -> Image {
        self.image
    }
}

/// Collects images and containers into an [`Inventory`] taken at [`at`]`(1000)` from a
/// classic-store engine.
#[derive(Debug, Clone, Default)]
pub struct InventoryBuilder {
    images: Vec<Image>,
    containers: Vec<Container>,
}

impl InventoryBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn image(mut self, spec: ImageSpec) -> Self {
        self.images.push(spec.build());
        self
    }

    /// A container named `name` using image `image`, created at [`at`]`(0)`.
    pub fn container(mut self, name: &str, image: u32, state: ContainerState) -> Self {
        let n = u32::try_from(self.containers.len()).expect("few containers in a test") + 1;
        self.containers.push(Container {
            id: container_id(n),
            names: vec![name.to_owned()],
            image_id: image_id(image),
            image: String::new(),
            state,
            created: at(0),
            started_at: None,
            finished_at: None,
        });
        self
    }

    pub fn build(self) -> Inventory {
        Inventory {
            taken_at: at(1000),
            engine: EngineInfo {
                version: "20.10.24+dfsg1".to_owned(),
                api_version: "1.41".to_owned(),
                os: "linux".to_owned(),
                arch: "amd64".to_owned(),
                storage_driver: "overlay2".to_owned(),
                data_root: "/var/lib/docker".to_owned(),
                image_store: ImageStore::Classic,
            },
            images: self.images,
            containers: self.containers,
            build_cache: Vec::new(),
            disk: DiskUsage {
                layers_size: 0,
                build_cache_size: 0,
                filesystem: None,
            },
        }
    }

    pub fn graph(self) -> Graph {
        Graph::new(self.build())
    }
}
