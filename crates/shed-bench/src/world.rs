//! The generated engine state: images, layers and containers, deterministic from a seed.
//!
//! The shape follows what a busy CI host accumulates. A few dozen **base** images (pulled, so
//! no parent), one of them a busybox that containers can run on. **Families** of images built on
//! one base: each family has its own dependency layers, shared by all of its builds, and each
//! build adds one layer of its own. Families made by the classic builder also keep an untagged
//! **intermediate** image (base + dependencies) that is the parent of every build. Builds carry
//! several tags (`build-N`, a version, `pr-N`, `latest` on the newest); some older ones lost
//! theirs to a rebuild and are dangling. A few hundred **containers** in mixed states use images
//! anywhere in the graph, dangling ones included.
//!
//! A [`World`] is the one description both outputs are written from: the `docker load` archives
//! ([`crate::archive`]) and the snapshot ([`crate::snapshot`]); image IDs and diff IDs are the
//! ones the engine computes, so the two agree.

use std::collections::BTreeMap;

use chrono::{Duration, SecondsFormat};
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use shed_core::ids::{DiffId, ImageId};
use shed_core::inventory::{ContainerState, Timestamp};

use crate::layer::{self, ToolFile};
use crate::rng::Rng;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    /// The number of images, bases and intermediates included.
    pub images: usize,
    pub seed: u64,
}

/// Index of a layer in [`World::layers`].
pub type LayerIx = u32;
/// Index of an image in [`World::images`].
pub type ImageIx = u32;

/// One generated layer.
#[derive(Debug, Clone)]
pub struct GenLayer {
    pub kind: LayerKind,
    pub diff_id: DiffId,
    /// The bytes the engine reports for it: its one file's length.
    pub size: u64,
}

/// What a layer's one file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerKind {
    /// The busybox binary ([`World::tool`]).
    Tool,
    /// Text named after the layer, `len` bytes long.
    Filler { len: u32 },
}

/// How an image came to be on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Base,
    Intermediate,
    Build,
}

/// One generated image.
#[derive(Debug, Clone)]
pub struct GenImage {
    pub id: ImageId,
    pub role: Role,
    /// Bottom first.
    pub layers: Vec<LayerIx>,
    /// Full references (`repo:tag`); empty for intermediates and dangling rebuilds.
    pub tags: Vec<String>,
    pub parent: Option<ImageIx>,
    pub created: Timestamp,
    pub labels: BTreeMap<String, String>,
}

/// One generated container.
#[derive(Debug, Clone)]
pub struct GenContainer {
    pub name: String,
    pub image: ImageIx,
    /// Created, exited or running; exited and running ones use images built on busybox.
    pub state: ContainerState,
}

/// A whole generated engine state.
#[derive(Debug, Clone)]
pub struct World {
    pub seed: u64,
    pub tool: ToolFile,
    pub layers: Vec<GenLayer>,
    pub images: Vec<GenImage>,
    pub containers: Vec<GenContainer>,
}

/// The names of the base repositories, after what CI hosts pull most.
const BASE_REPOS: [&str; 12] = [
    "golang",
    "debian",
    "alpine",
    "node",
    "python",
    "rust",
    "ubuntu",
    "postgres",
    "redis",
    "nginx",
    "eclipse-temurin",
    "ruby",
];
const VARIANTS: [&str; 4] = ["bookworm", "alpine3.20", "slim", "bullseye"];
const APP_WORDS: [&str; 8] = [
    "api", "web", "worker", "cli", "gateway", "billing", "search", "auth",
];

/// The time generated histories start from; every timestamp is after it.
pub fn epoch() -> Timestamp {
    // A fixed RFC 3339 literal always parses.
    "2025-01-01T00:00:00Z"
        .parse()
        .expect("a valid RFC 3339 literal")
}

/// A time after every generated timestamp: the `now` that benchmarks plan at.
pub fn now() -> Timestamp {
    epoch() + Duration::days(400)
}

impl World {
    /// Generates the state described by `spec`. Same spec and tool file, same world.
    pub fn generate(spec: Spec, tool: ToolFile) -> World {
        World::generate_shaped(spec, tool, false)
    }

    /// Generates a **prune set**: the same bases (tagged under `prune-set/`, so that they take no
    /// tag from another world in the same engine), and families whose every build is dangling,
    /// with no parents and no containers. `docker image prune` and `shed apply` both remove all
    /// of its builds, which makes it the set the two are timed on.
    pub fn generate_prune_set(spec: Spec, tool: ToolFile) -> World {
        World::generate_shaped(spec, tool, true)
    }

    fn generate_shaped(spec: Spec, tool: ToolFile, is_prune_set: bool) -> World {
        let mut generator = Generator::new(spec.seed, tool);
        generator.is_prune_set = is_prune_set;
        let bases = base_count(spec.images);
        for index in 0..bases {
            generator.add_base(index);
        }
        let mut family = 0;
        while generator.world.images.len() < spec.images {
            let room = spec.images - generator.world.images.len();
            generator.add_family(family, bases, room);
            family += 1;
        }
        if !is_prune_set {
            generator.add_containers(container_count(spec.images));
        }
        generator.world
    }

    /// The file name of a filler layer: unique per seed and layer, so that worlds of different
    /// seeds loaded into one engine share no layer.
    pub fn filler_name(&self, layer: LayerIx) -> String {
        format!("shed-bench-{:x}-{layer}", self.seed)
    }

    /// The exact tar stream of a layer.
    pub fn layer_tar(&self, layer: LayerIx) -> Vec<u8> {
        match self.layers[layer as usize].kind {
            LayerKind::Tool => layer::layer_tar(layer::TOOL_FILE, &self.tool.contents, 0o755),
            LayerKind::Filler { len } => {
                let name = self.filler_name(layer);
                layer::layer_tar(&name, &layer::filler_contents(&name, len as usize), 0o644)
            }
        }
    }

    /// The exact bytes of an image's config; its sha256 is the image ID.
    pub fn config_json(&self, image: &GenImage) -> Vec<u8> {
        config_json(&self.layers, image)
    }

    /// Whether containers can run on the image: its bottom layer is busybox.
    pub fn is_runnable(&self, image: &GenImage) -> bool {
        image
            .layers
            .first()
            .is_some_and(|&l| self.layers[l as usize].kind == LayerKind::Tool)
    }
}

/// A few dozen bases, fewer on small hosts.
fn base_count(images: usize) -> usize {
    (images / 40).clamp(2, 36).min(images)
}

/// A few hundred containers, fewer on small hosts.
fn container_count(images: usize) -> usize {
    (images / 25).clamp(4, 400).min(images)
}

/// The config fields the engine reads on load; field order is fixed, so the bytes are too.
#[derive(Serialize)]
struct Config<'a> {
    architecture: &'static str,
    os: &'static str,
    created: String,
    config: RunConfig<'a>,
    rootfs: RootFs<'a>,
    /// One step per layer, as a builder writes it: the engine's image history pairs each step
    /// that is not an empty layer with the next layer, and that is where per-layer sizes come
    /// from.
    history: Vec<HistoryStep>,
}

#[derive(Serialize)]
struct HistoryStep {
    created: String,
    created_by: String,
}

#[derive(Serialize)]
struct RunConfig<'a> {
    #[serde(rename = "Cmd")]
    cmd: [&'static str; 2],
    #[serde(rename = "Labels")]
    labels: &'a BTreeMap<String, String>,
}

#[derive(Serialize)]
struct RootFs<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    diff_ids: Vec<&'a DiffId>,
}

fn config_json(layers: &[GenLayer], image: &GenImage) -> Vec<u8> {
    let created = image.created.to_rfc3339_opts(SecondsFormat::Secs, true);
    // A layer's step reads the same in every image that has the layer, as the engine requires
    // of a parent's history and its child's.
    let step_created = epoch().to_rfc3339_opts(SecondsFormat::Secs, true);
    let history = image
        .layers
        .iter()
        .map(|l| HistoryStep {
            created: step_created.clone(),
            created_by: format!("COPY layer-{l} /"),
        })
        .collect();
    let config = Config {
        architecture: "amd64",
        os: "linux",
        created,
        config: RunConfig {
            cmd: ["/busybox", "sh"],
            labels: &image.labels,
        },
        rootfs: RootFs {
            kind: "layers",
            diff_ids: image
                .layers
                .iter()
                .map(|&l| &layers[l as usize].diff_id)
                .collect(),
        },
        history,
    };
    // Serializing plain strings and maps cannot fail.
    serde_json::to_vec(&config).expect("a config serializes")
}

fn image_id_of(config: &[u8]) -> ImageId {
    ImageId::from_sha256(Sha256::digest(config).into())
}

/// The state of one generation run.
struct Generator {
    rng: Rng,
    world: World,
    /// Images whose bottom layer is busybox, for containers that run.
    runnable: Vec<ImageIx>,
    /// See [`World::generate_prune_set`].
    is_prune_set: bool,
}

impl Generator {
    fn new(seed: u64, tool: ToolFile) -> Self {
        let tool_tar = layer::layer_tar(layer::TOOL_FILE, &tool.contents, 0o755);
        let tool_layer = GenLayer {
            kind: LayerKind::Tool,
            diff_id: layer::diff_id_of(&tool_tar),
            size: tool.contents.len() as u64,
        };
        let world = World {
            seed,
            tool,
            layers: vec![tool_layer],
            images: Vec::new(),
            containers: vec![],
        };
        Generator {
            rng: Rng::new(seed),
            world,
            runnable: Vec::new(),
            is_prune_set: false,
        }
    }

    fn add_filler_layer(&mut self, min_len: u64, max_len: u64) -> LayerIx {
        let index = self.world.layers.len() as LayerIx;
        let len = self.rng.range(min_len, max_len) as u32;
        let name = self.world.filler_name(index);
        let tar = layer::layer_tar(&name, &layer::filler_contents(&name, len as usize), 0o644);
        let diff_id = layer::diff_id_of(&tar);
        self.world.layers.push(GenLayer {
            kind: LayerKind::Filler { len },
            diff_id,
            size: len.into(),
        });
        index
    }

    /// Adds an image, computing its ID from its config, and returns its index.
    fn add_image(&mut self, mut image: GenImage) -> ImageIx {
        image.id = image_id_of(&config_json(&self.world.layers, &image));
        let index = self.world.images.len() as ImageIx;
        if self.world.is_runnable(&image) {
            self.runnable.push(index);
        }
        self.world.images.push(image);
        index
    }

    /// Base 0 is busybox; the others are language and distribution images, a few of them built
    /// on the layers of an earlier one (as `golang` is on `debian`).
    fn add_base(&mut self, index: usize) {
        let created = epoch() - Duration::days(60) + Duration::hours(index as i64);
        let (layers, mut tags) = if index == 0 {
            (
                vec![0],
                vec![
                    "shed-bench/busybox:1.36".into(),
                    "shed-bench/busybox:latest".into(),
                ],
            )
        } else {
            (self.base_layers(index), self.base_tags(index))
        };
        if self.is_prune_set {
            tags = tags.into_iter().map(|t| format!("prune-set/{t}")).collect();
        }
        let labels = BTreeMap::from([("shed.bench/role".to_owned(), "base".to_owned())]);
        let image = GenImage {
            id: placeholder_id(),
            role: Role::Base,
            layers,
            tags,
            parent: None,
            created,
            labels,
        };
        self.add_image(image);
    }

    fn base_layers(&mut self, index: usize) -> Vec<LayerIx> {
        let mut layers = if index > 3 && self.rng.chance(30) {
            let below = self.rng.range(1, 3) as usize;
            self.world.images[below].layers.clone()
        } else {
            Vec::new()
        };
        for _ in 0..self.rng.range(2, 3) {
            layers.push(self.add_filler_layer(512, 4096));
        }
        layers
    }

    /// Unique per base: the repository cycles, the minor version grows with each cycle.
    fn base_tags(&mut self, index: usize) -> Vec<String> {
        let repo = BASE_REPOS[index % BASE_REPOS.len()];
        let minor = 20 + index / BASE_REPOS.len();
        let variant = VARIANTS[self.rng.range(0, VARIANTS.len() as u64 - 1) as usize];
        let mut tags = vec![
            format!("{repo}:1.{minor}.3"),
            format!("{repo}:1.{minor}.3-{variant}"),
        ];
        if self.rng.chance(50) {
            tags.push(format!("{repo}:1.{minor}"));
        }
        tags
    }

    /// One family of up to `room` images built on one base.
    fn add_family(&mut self, family: usize, bases: usize, room: usize) {
        let size = (self.rng.range(5, 40) as usize).min(room);
        let base = if family.is_multiple_of(8) || bases == 1 {
            0
        } else {
            self.rng.range(1, bases as u64 - 1)
        };
        let base = base as ImageIx;
        let repo = format!("ci/{}-{family}", APP_WORDS[family % APP_WORDS.len()]);
        let start = epoch() + Duration::hours(self.rng.range(0, 300 * 24) as i64);
        let labels = BTreeMap::from([
            ("shed.bench/family".to_owned(), repo.clone()),
            ("shed.bench/role".to_owned(), "build".to_owned()),
        ]);

        // The engine accepts a parent only when the child's history is the parent's plus one
        // step, so a classic family's intermediate adds exactly one layer to its base.
        let is_classic = size >= 2 && self.rng.chance(40) && !self.is_prune_set;
        let dependency_layers = if is_classic { 1 } else { self.rng.range(1, 2) };
        let mut stack = self.world.images[base as usize].layers.clone();
        for _ in 0..dependency_layers {
            stack.push(self.add_filler_layer(256, 4096));
        }
        let parent = if is_classic {
            let image = GenImage {
                id: placeholder_id(),
                role: Role::Intermediate,
                layers: stack.clone(),
                tags: Vec::new(),
                parent: Some(base),
                created: start,
                labels: labels.clone(),
            };
            Some(self.add_image(image))
        } else {
            None
        };

        let builds = size - usize::from(is_classic);
        let mut created = start;
        for build in 0..builds {
            created += Duration::minutes(self.rng.range(10, 720) as i64);
            let mut layers = stack.clone();
            layers.push(self.add_filler_layer(16, 2048));
            let tags = self.build_tags(&repo, build, build + 1 == builds);
            let labels = labels.clone();
            let image = GenImage {
                id: placeholder_id(),
                role: Role::Build,
                layers,
                tags,
                parent,
                created,
                labels,
            };
            self.add_image(image);
        }
    }

    /// The newest build is `latest`; an older one is dangling one time in seven (a rebuild
    /// took its tags), else it has `build-N` and maybe a version and a `pr-N` tag.
    fn build_tags(&mut self, repo: &str, build: usize, is_newest: bool) -> Vec<String> {
        if self.is_prune_set || (!is_newest && self.rng.chance(14)) {
            return Vec::new();
        }
        let mut tags = vec![format!("{repo}:build-{build}")];
        if self.rng.chance(50) {
            tags.push(format!("{repo}:1.{}.{}", build / 4, build % 4));
        }
        if self.rng.chance(20) {
            tags.push(format!("{repo}:pr-{build}"));
        }
        if is_newest {
            tags.push(format!("{repo}:latest"));
        }
        tags
    }

    /// Created containers anywhere; exited and running ones only where busybox can run.
    fn add_containers(&mut self, count: usize) {
        let images = self.world.images.len() as u64;
        for index in 0..count {
            let roll = self.rng.range(0, 99);
            let (state, image) = match roll {
                0..=59 => (
                    ContainerState::Created,
                    self.rng.range(0, images - 1) as ImageIx,
                ),
                60..=84 => (ContainerState::Exited, self.pick_runnable()),
                _ => (ContainerState::Running, self.pick_runnable()),
            };
            let name = format!("shed-bench-{:x}-c{index}", self.world.seed);
            self.world
                .containers
                .push(GenContainer { name, image, state });
        }
    }

    fn pick_runnable(&mut self) -> ImageIx {
        // Base 0 is busybox, so the list is never empty.
        let at = self.rng.range(0, self.runnable.len() as u64 - 1) as usize;
        self.runnable[at]
    }
}

/// An ID that [`Generator::add_image`] replaces before the image is stored.
fn placeholder_id() -> ImageId {
    // 64 zeros form a valid digest.
    ImageId::parse(&format!("sha256:{}", "0".repeat(64))).expect("a valid digest")
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use shed_core::graph::Graph;

    use super::*;
    use crate::snapshot;

    fn world(images: usize, seed: u64) -> World {
        World::generate(Spec { images, seed }, ToolFile::stand_in())
    }

    #[test]
    fn same_seed_gives_the_same_world() {
        let ids = |w: &World| w.images.iter().map(|i| i.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&world(300, 9)), ids(&world(300, 9)));
        assert_ne!(ids(&world(300, 9)), ids(&world(300, 10)));
    }

    #[test]
    fn makes_exactly_the_asked_number_of_distinct_images() {
        for images in [1, 2, 7, 41, 1000] {
            let world = world(images, 1);
            let distinct: HashSet<_> = world.images.iter().map(|i| &i.id).collect();
            assert_eq!(
                (world.images.len(), distinct.len()),
                (images, images),
                "{images}"
            );
        }
    }

    #[test]
    fn has_a_few_dozen_bases_and_families_on_them() {
        let world = world(10_000, 1);
        let bases = world.images.iter().filter(|i| i.role == Role::Base).count();
        let families: HashSet<_> = world
            .images
            .iter()
            .filter_map(|i| i.labels.get("shed.bench/family"))
            .collect();
        assert_eq!(bases, 36);
        assert!(
            (250..=650).contains(&families.len()),
            "{} families",
            families.len()
        );
    }

    #[test]
    fn no_tag_names_two_images() {
        let world = world(3000, 1);
        let mut seen = HashSet::new();
        for tag in world.images.iter().flat_map(|i| &i.tags) {
            assert!(seen.insert(tag), "{tag} is on two images");
        }
        let tagged = world.images.iter().filter(|i| !i.tags.is_empty()).count();
        assert!(
            seen.len() as f64 / tagged as f64 > 1.4,
            "several tags per tagged image"
        );
    }

    #[test]
    fn builds_share_their_base_and_family_layers() {
        let world = world(2000, 1);
        let mut users: HashMap<LayerIx, usize> = HashMap::new();
        for layer in world.images.iter().flat_map(|i| &i.layers) {
            *users.entry(*layer).or_default() += 1;
        }
        let shared = users.values().filter(|&&n| n > 1).count();
        assert!(shared > 100, "{shared} shared layers");
        assert!(
            users.values().any(|&n| n >= 100),
            "some base is under 100 images"
        );
        // Each build adds exactly one layer of its own.
        let unique_per_build = world
            .images
            .iter()
            .filter(|i| i.role == Role::Build)
            .all(|i| i.layers.iter().filter(|l| users[*l] == 1).count() == 1);
        assert!(unique_per_build);
    }

    #[test]
    fn a_parents_layers_are_a_prefix_of_its_childs() {
        let world = world(2000, 3);
        let with_parent: Vec<_> = world.images.iter().filter(|i| i.parent.is_some()).collect();
        assert!(
            with_parent.len() > 200,
            "{} images have a parent",
            with_parent.len()
        );
        for image in with_parent {
            let parent = &world.images[image.parent.unwrap() as usize];
            assert!(image.layers.starts_with(&parent.layers));
            assert!(parent.created <= image.created);
        }
    }

    #[test]
    fn some_rebuilds_are_dangling_and_no_intermediate_is() {
        let world = world(5000, 1);
        let graph = Graph::new(snapshot::inventory(&world));
        let dangling: Vec<usize> = graph
            .images()
            .filter(|&i| graph.is_dangling(i))
            .map(|i| i.index())
            .collect();
        let share = dangling.len() as f64 / world.images.len() as f64;
        assert!(
            (0.05..0.25).contains(&share),
            "{share} of images are dangling"
        );
        assert!(
            dangling
                .iter()
                .all(|&i| world.images[i].role == Role::Build)
        );
    }

    #[test]
    fn a_prune_set_is_tagged_bases_and_dangling_builds() {
        let world = World::generate_prune_set(
            Spec {
                images: 1000,
                seed: 2,
            },
            ToolFile::stand_in(),
        );
        let graph = Graph::new(snapshot::inventory(&world));
        let dangling = graph.images().filter(|&i| graph.is_dangling(i)).count();
        let bases = world.images.iter().filter(|i| i.role == Role::Base);
        assert_eq!(dangling, 1000 - base_count(1000));
        assert!(
            bases
                .flat_map(|i| &i.tags)
                .all(|t| t.starts_with("prune-set/"))
        );
        assert!(world.containers.is_empty());
    }

    #[test]
    fn containers_mix_states_and_run_only_on_busybox() {
        let world = world(10_000, 1);
        assert_eq!(world.containers.len(), 400);
        let states: HashSet<_> = world.containers.iter().map(|c| c.state).collect();
        assert_eq!(states.len(), 3, "{states:?}");
        for container in &world.containers {
            let image = &world.images[container.image as usize];
            if container.state != ContainerState::Created {
                assert!(
                    world.is_runnable(image),
                    "{} runs on {}",
                    container.name,
                    image.id
                );
            }
        }
    }
}
