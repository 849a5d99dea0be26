//! Reading an inventory from the engine.
//!
//! Round trips: `/version` and `/info` for the engine's identity, `/images/json?all=1`,
//! `/containers/json?all=1` and `/system/df` once each, then an inspect per container and an
//! inspect and a history per image that the image cache does not have (`cache`; on the
//! containerd store an image in the cache still gets an inspect, for its repo digests), at most
//! [`PARALLEL_REQUESTS`] at a time. An image or container
//! removed between the list and its inspect is left out: the inventory is what exists when each
//! object is read.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use bollard::models::{ContainerInspectResponse, ContainerStateStatusEnum, ImageSummary};
use bollard::query_parameters::{ListContainersOptions, ListImagesOptions};
use futures_util::{StreamExt as _, TryStreamExt as _, stream};
use serde::Deserialize;
use shed_core::ids::{ContainerId, DiffId, ImageId};
use shed_core::inventory::{
    BuildCacheRecord, Container, ContainerState, DiskUsage, EngineInfo, Image, ImageStore,
    Inventory, Layer, Timestamp,
};

use super::cache::{CachedImage, ImageCache, engine_key, gone_ids};
use super::layers::{HistoryStep, align_layer_sizes};
use super::{Engine, EngineError};

/// How many inspect calls are in flight at once.
const PARALLEL_REQUESTS: usize = 16;

/// How long a disk-usage read waits for another one to finish: the engine walks every layer for
/// it, which takes seconds on a large data root.
const DISK_USAGE_WAIT: Duration = Duration::from_secs(60);

/// The `driver-type` the engine reports in `/info`'s DriverStatus when images live in the
/// containerd image store.
const CONTAINERD_SNAPSHOTTER: &str = "io.containerd.snapshotter.v1";

/// Which part of the inventory read is under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Inspecting images and reading their history.
    Images,
    /// Inspecting containers.
    Containers,
}

/// Called as objects are read: the stage, how many are done, and how many there are.
pub type Progress<'a> = Option<&'a (dyn Fn(Stage, usize, usize) + Send + Sync)>;

impl Engine {
    /// Reads everything shed needs from the engine: images (intermediate ones too), containers
    /// in every state, the disk-usage view and the engine's identity.
    pub async fn read_inventory(&self, progress: Progress<'_>) -> Result<Inventory, EngineError> {
        self.read_inventory_cached(progress, None).await
    }

    /// [`read_inventory`](Engine::read_inventory), with the immutable part of each image taken
    /// from `cache` when it has the image, and the cache brought up to date afterwards (see
    /// `cache`). Trouble with the cache is logged and the engine is read as if it were empty.
    pub async fn read_inventory_cached(
        &self,
        progress: Progress<'_>,
        cache: Option<&mut ImageCache>,
    ) -> Result<Inventory, EngineError> {
        let (engine, summaries, containers, disk) = futures_util::try_join!(
            self.identity(),
            self.list_images(),
            self.read_containers(progress),
            self.disk_usage_answer(),
        )?;
        let key = engine_key(&self.host, &engine);
        let known = cache
            .as_deref()
            .map_or_else(HashMap::new, |c| cached_entries(c, &key));
        let listed: HashSet<&str> = summaries.iter().map(|s| s.id.as_str()).collect();
        let gone = gone_ids(&known, &listed);
        drop(listed);

        let (images, added) = self
            .read_images(summaries, &known, &disk, engine.image_store, progress)
            .await?;
        if let Some(cache) = cache {
            update_cache(cache, &key, &added, &gone);
        }
        Ok(Inventory {
            taken_at: crate::now(),
            engine,
            images,
            containers,
            build_cache: disk.build_cache_records()?,
            disk: DiskUsage {
                layers_size: disk.layers_size(),
                build_cache_size: non_negative(disk.builder_size.unwrap_or(0)),
                filesystem: None,
            },
        })
    }

    /// The bytes of all image layers on disk, each counted once, as the engine accounts them.
    pub async fn layers_size(&self) -> Result<u64, EngineError> {
        Ok(self.disk_usage_answer().await?.layers_size())
    }

    /// The engine's identity: version, storage driver, data root and image store.
    pub async fn identity(&self) -> Result<EngineInfo, EngineError> {
        let version: bollard::models::SystemVersion = self.raw.get_json("/version").await?;
        let info = self
            .docker
            .info()
            .await
            .map_err(|e| self.error("/info", e))?;
        let is_containerd = info.driver_status.iter().flatten().any(|pair| {
            pair.first().is_some_and(|key| key == "driver-type")
                && pair
                    .get(1)
                    .is_some_and(|value| value == CONTAINERD_SNAPSHOTTER)
        });
        Ok(EngineInfo {
            version: version.version.unwrap_or_default(),
            api_version: self.api_version.clone(),
            os: version.os.unwrap_or_default(),
            arch: version.arch.unwrap_or_default(),
            storage_driver: info.driver.unwrap_or_default(),
            data_root: info.docker_root_dir.unwrap_or_default(),
            image_store: if is_containerd {
                ImageStore::Containerd
            } else {
                ImageStore::Classic
            },
        })
    }

    async fn list_images(&self) -> Result<Vec<ImageSummary>, EngineError> {
        let options = ListImagesOptions {
            all: true,
            digests: true,
            ..Default::default()
        };
        self.docker
            .list_images(Some(options))
            .await
            .map_err(|e| self.error("/images/json", e))
    }

    /// `/system/df`, waiting for another caller's read of it to finish when the engine says one
    /// is running.
    async fn disk_usage_answer(&self) -> Result<DiskUsageAnswer, EngineError> {
        let deadline = tokio::time::Instant::now() + DISK_USAGE_WAIT;
        let mut pause = Duration::from_millis(100);
        loop {
            match self.raw.get_json("/system/df").await {
                Err(error)
                    if is_disk_usage_busy(&error)
                        && tokio::time::Instant::now() + pause < deadline =>
                {
                    tracing::debug!(%error, "waiting for the engine's other disk-usage read");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
                answer => return answer,
            }
        }
    }

    /// Reads every listed image: from the cache where it has the image, else from the engine.
    /// Also returns the cache entries of the images read from the engine.
    async fn read_images(
        &self,
        summaries: Vec<ImageSummary>,
        known: &HashMap<String, CachedImage>,
        disk: &DiskUsageAnswer,
        store: ImageStore,
        progress: Progress<'_>,
    ) -> Result<(Vec<Image>, Vec<(ImageId, CachedImage)>), EngineError> {
        let shared_sizes = disk.shared_sizes();
        let total = summaries.len();
        let read: Vec<(Image, Option<CachedImage>)> = stream::iter(summaries)
            .map(|summary| {
                let cached = known.get(&summary.id);
                self.read_image(summary, cached, &shared_sizes, store)
            })
            .buffer_unordered(PARALLEL_REQUESTS)
            .enumerate()
            .map(|(done, image)| {
                report(progress, Stage::Images, done + 1, total);
                image
            })
            .try_filter_map(|image| async move { Ok(image) })
            .try_collect()
            .await?;
        tracing::debug!(
            images = read.len(),
            from_engine = read.iter().filter(|(_, new)| new.is_some()).count(),
            "images read"
        );

        let mut added = Vec::new();
        let mut images = Vec::with_capacity(read.len());
        for (image, new) in read {
            if let Some(entry) = new {
                added.push((image.id.clone(), entry));
            }
            images.push(image);
        }
        images.sort_by(|a, b| a.id.cmp(&b.id));
        Ok((images, added))
    }

    /// One listed image; `None` when it is gone meanwhile. With a cache entry, its layers,
    /// sizes and creation time come from there; else from an inspect and a history, and the
    /// entry to cache comes back with the image.
    async fn read_image(
        &self,
        mut summary: ImageSummary,
        cached: Option<&CachedImage>,
        shared_sizes: &HashMap<String, Option<u64>>,
        store: ImageStore,
    ) -> Result<Option<(Image, Option<CachedImage>)>, EngineError> {
        let endpoint = format!("/images/{}/json", summary.id);
        let (fixed, repo_digests, new) = match cached {
            // On the classic store the list's repo digests are inspect's: nothing to ask.
            Some(cached) if store == ImageStore::Classic => {
                let digests = std::mem::take(&mut summary.repo_digests);
                (cached.clone(), digests, None)
            }
            Some(cached) => match self.docker.inspect_image(&summary.id).await {
                Ok(inspect) => (
                    cached.clone(),
                    inspect.repo_digests.unwrap_or_default(),
                    None,
                ),
                Err(error) => return self.gone_or(&endpoint, error),
            },
            None => match self.read_fixed(&summary, store).await? {
                Some((fixed, repo_digests)) => (fixed.clone(), repo_digests, Some(fixed)),
                None => return Ok(None),
            },
        };

        let id = parse_id(&endpoint, &summary.id)?;
        let image = Image {
            parent: optional_id(&endpoint, &summary.parent_id)?,
            tags: without_placeholder(summary.repo_tags),
            repo_digests: without_placeholder(repo_digests),
            created: fixed.created,
            size: fixed.size,
            shared_size: shared_sizes.get(&summary.id).copied().flatten(),
            labels: summary.labels.into_iter().collect(),
            layers: fixed.layers,
            id,
        };
        Ok(Some((image, new)))
    }

    /// Inspects one listed image and reads its history: its immutable part, and its repo
    /// digests. `None` when it is gone meanwhile.
    async fn read_fixed(
        &self,
        summary: &ImageSummary,
        store: ImageStore,
    ) -> Result<Option<(CachedImage, Vec<String>)>, EngineError> {
        let endpoint = format!("/images/{}/json", summary.id);
        let inspect = match self.docker.inspect_image(&summary.id).await {
            Ok(inspect) => inspect,
            Err(error) => return self.gone_or(&endpoint, error),
        };
        let history = match self.docker.image_history(&summary.id).await {
            Ok(history) => history,
            Err(error) => return self.gone_or(&format!("/images/{}/history", summary.id), error),
        };

        let id = parse_id(&endpoint, &summary.id)?;
        let diff_ids: Vec<DiffId> = inspect
            .root_fs
            .and_then(|root_fs| root_fs.layers)
            .unwrap_or_default()
            .iter()
            .map(|layer| DiffId::parse(layer).map_err(|e| bad(&endpoint, e)))
            .collect::<Result<_, _>>()?;
        // The engine lists history newest first.
        let steps: Vec<HistoryStep> = history
            .into_iter()
            .rev()
            .map(|item| HistoryStep {
                created_by: item.created_by,
                size: non_negative(item.size),
            })
            .collect();
        let sizes = align_layer_sizes(&steps, diff_ids.len());
        let size = image_size(&id, store, inspect.size.unwrap_or(summary.size), &sizes);

        let created = match inspect.created.as_deref() {
            Some(created) => parse_time(&endpoint, created)?,
            None => seconds(&endpoint, summary.created)?,
        };
        let fixed = CachedImage {
            created,
            size,
            layers: diff_ids
                .into_iter()
                .zip(sizes)
                .map(|(diff_id, size)| Layer { diff_id, size })
                .collect(),
        };
        // From inspect, not the list: on the containerd store the list gives one repo digest
        // per image and inspect one per repository that names it, and the executor's re-check
        // compares with inspect. On the classic store the two agree.
        Ok(Some((fixed, inspect.repo_digests.unwrap_or_default())))
    }

    async fn read_containers(&self, progress: Progress<'_>) -> Result<Vec<Container>, EngineError> {
        let options = ListContainersOptions {
            all: true,
            ..Default::default()
        };
        let summaries = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(|e| self.error("/containers/json", e))?;
        let total = summaries.len();
        let mut containers: Vec<Container> = stream::iter(summaries)
            .map(|summary| self.read_container(summary))
            .buffer_unordered(PARALLEL_REQUESTS)
            .enumerate()
            .map(|(done, container)| {
                report(progress, Stage::Containers, done + 1, total);
                container
            })
            .try_filter_map(|container| async move { Ok(container) })
            .try_collect()
            .await?;
        containers.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(containers)
    }

    /// Inspects one listed container; `None` when it is gone meanwhile.
    async fn read_container(
        &self,
        summary: bollard::models::ContainerSummary,
    ) -> Result<Option<Container>, EngineError> {
        let id = summary.id.unwrap_or_default();
        let endpoint = format!("/containers/{id}/json");
        let inspect = match self.docker.inspect_container(&id, None).await {
            Ok(inspect) => inspect,
            Err(error) => return self.gone_or(&endpoint, error),
        };
        // The classic builder's container for the first step after `FROM scratch` has no
        // image: it holds none in use, so it has no place in the inventory.
        if inspect.image.as_deref().is_none_or(str::is_empty) {
            tracing::debug!(container = %id, "left out: a container without an image");
            return Ok(None);
        }
        let names = summary.names.unwrap_or_default();
        let container = container_from_inspect(&endpoint, inspect, names, summary.image)?;
        Ok(Some(container))
    }

    /// `Ok(None)` when the engine says the object is gone, else the error.
    fn gone_or<T>(
        &self,
        endpoint: &str,
        error: bollard::errors::Error,
    ) -> Result<Option<T>, EngineError> {
        match self.error(endpoint, error) {
            EngineError::NotFound { message } => {
                tracing::debug!(%endpoint, %message, "left out: removed while reading");
                Ok(None)
            }
            other => Err(other),
        }
    }

    pub(super) fn error(&self, endpoint: &str, error: bollard::errors::Error) -> EngineError {
        EngineError::from_bollard(&self.host, endpoint, error)
    }
}

/// The cache's entries for engine `key`; none, with a debug log, when it cannot be read.
fn cached_entries(cache: &ImageCache, key: &str) -> HashMap<String, CachedImage> {
    cache.entries(key).unwrap_or_else(|error| {
        tracing::debug!(%error, "image cache not read: every image is read from the engine");
        HashMap::new()
    })
}

/// Stores the entries read from the engine and drops those of images gone. A failure only
/// means that the next read asks the engine again.
fn update_cache(
    cache: &mut ImageCache,
    key: &str,
    added: &[(ImageId, CachedImage)],
    gone: &[String],
) {
    if added.is_empty() && gone.is_empty() {
        return;
    }
    if let Err(error) = cache.update(key, added, gone) {
        tracing::debug!(%error, "image cache not updated");
    }
}

fn report(progress: Progress<'_>, stage: Stage, done: usize, total: usize) {
    if let Some(progress) = progress {
        progress(stage, done, total);
    }
}

fn container_from_inspect(
    endpoint: &str,
    inspect: ContainerInspectResponse,
    names: Vec<String>,
    image: Option<String>,
) -> Result<Container, EngineError> {
    let state = inspect.state.unwrap_or_default();
    let created = inspect.created.as_deref().unwrap_or_default();
    Ok(Container {
        id: ContainerId(inspect.id.unwrap_or_default()),
        names: names
            .into_iter()
            .map(|name| name.trim_start_matches('/').to_owned())
            .collect(),
        image_id: parse_id(endpoint, inspect.image.as_deref().unwrap_or_default())?,
        image: image.unwrap_or_default(),
        state: container_state(endpoint, state.status)?,
        created: parse_time(endpoint, created)?,
        started_at: optional_time(endpoint, state.started_at.as_deref())?,
        finished_at: optional_time(endpoint, state.finished_at.as_deref())?,
    })
}

fn container_state(
    endpoint: &str,
    status: Option<ContainerStateStatusEnum>,
) -> Result<ContainerState, EngineError> {
    use ContainerStateStatusEnum as S;
    Ok(match status {
        Some(S::CREATED) => ContainerState::Created,
        Some(S::RUNNING) => ContainerState::Running,
        Some(S::PAUSED) => ContainerState::Paused,
        Some(S::RESTARTING) => ContainerState::Restarting,
        Some(S::REMOVING) => ContainerState::Removing,
        Some(S::EXITED) => ContainerState::Exited,
        Some(S::DEAD) => ContainerState::Dead,
        // A container on its way down still holds its image.
        Some(S::STOPPING) => ContainerState::Running,
        Some(S::EMPTY) | None => return Err(bad(endpoint, "container without a State.Status")),
    })
}

/// The image's size in the inventory: the bytes on disk of its layers, which is what the core's
/// `Image::size` means.
///
/// On the classic store that is the engine's own `Size`, and it equals the sum of the layer sizes
/// read from the history; when it does not, the history could not be aligned with the layers
/// (see `layers`), which is logged. On the containerd store the inspect endpoint's `Size` is the
/// compressed content of one platform (moby's containerd image service), which never equals the
/// unpacked layers, so the size is the sum of the layer sizes: the history's per-step size there
/// is the snapshotter's usage of that layer's chain ID.
fn image_size(id: &ImageId, store: ImageStore, engine_size: i64, layer_sizes: &[u64]) -> u64 {
    let sum: u64 = layer_sizes.iter().sum();
    match store {
        ImageStore::Containerd => sum,
        ImageStore::Classic => {
            let size = non_negative(engine_size);
            check_layer_sum(id, sum, size);
            size
        }
    }
}

/// Logs when an image's layer sizes do not add up to the engine's size for it.
fn check_layer_sum(id: &ImageId, sum: u64, size: u64) {
    if sum != size {
        tracing::warn!(
            image = %id,
            layers_sum = sum,
            size,
            "layer sizes from the image history do not add up to the image size"
        );
    }
}

/// Whether the engine refused `/system/df` because another one is running. Docker 20.10 runs one
/// at a time and answers the others with HTTP 500 and this message (moby daemon/disk_usage.go);
/// later engines let concurrent callers share one run.
fn is_disk_usage_busy(error: &EngineError) -> bool {
    matches!(
        error,
        EngineError::Status { status: 500, message }
            if message.contains("a disk usage operation is already running")
    )
}

/// Drops the engine's `<none>:<none>` and `<none>@<none>` placeholders for untagged images.
fn without_placeholder(references: Vec<String>) -> Vec<String> {
    references
        .into_iter()
        .filter(|reference| !reference.starts_with("<none>"))
        .collect()
}

fn parse_id(endpoint: &str, id: &str) -> Result<ImageId, EngineError> {
    ImageId::parse(id).map_err(|e| bad(endpoint, e))
}

fn optional_id(endpoint: &str, id: &str) -> Result<Option<ImageId>, EngineError> {
    if id.is_empty() {
        Ok(None)
    } else {
        parse_id(endpoint, id).map(Some)
    }
}

/// Go's zero time, which the engine reports for "never" (a container not yet started).
const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn optional_time(endpoint: &str, time: Option<&str>) -> Result<Option<Timestamp>, EngineError> {
    match time {
        None | Some("") | Some(GO_ZERO_TIME) => Ok(None),
        Some(time) => parse_time(endpoint, time).map(Some),
    }
}

fn parse_time(endpoint: &str, time: &str) -> Result<Timestamp, EngineError> {
    chrono::DateTime::parse_from_rfc3339(time)
        .map(|time| time.to_utc())
        .map_err(|e| bad(endpoint, format!("time {time:?}: {e}")))
}

fn seconds(endpoint: &str, seconds: i64) -> Result<Timestamp, EngineError> {
    chrono::DateTime::from_timestamp(seconds, 0)
        .ok_or_else(|| bad(endpoint, format!("time {seconds} out of range")))
}

/// The engine reports unknown sizes as -1; shed has no negative sizes.
fn non_negative(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn bad(endpoint: &str, detail: impl std::fmt::Display) -> EngineError {
    EngineError::BadAnswer {
        endpoint: endpoint.to_owned(),
        detail: detail.to_string(),
    }
}

/// `/system/df` in its legacy shape (API below 1.52), which bollard 0.21 does not model.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DiskUsageAnswer {
    layers_size: Option<i64>,
    #[serde(default)]
    images: Option<Vec<DiskUsageImage>>,
    #[serde(default)]
    build_cache: Option<Vec<DiskUsageBuildCache>>,
    #[serde(default)]
    builder_size: Option<i64>,
    /// The shape of API 1.52 and later, read only for its total when `LayersSize` is absent.
    #[serde(default)]
    image_usage: Option<ImageUsage>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DiskUsageImage {
    id: String,
    shared_size: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ImageUsage {
    total_size: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DiskUsageBuildCache {
    #[serde(rename = "ID")]
    id: String,
    #[serde(rename = "Type", default)]
    kind: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    in_use: bool,
    #[serde(default)]
    shared: bool,
    #[serde(default)]
    size: i64,
    created_at: String,
    #[serde(default)]
    last_used_at: Option<String>,
}

impl DiskUsageAnswer {
    fn layers_size(&self) -> u64 {
        let total = self
            .layers_size
            .or_else(|| self.image_usage.as_ref()?.total_size);
        non_negative(total.unwrap_or(0))
    }

    /// Each image's shared size; -1 (not computed) becomes `None`.
    fn shared_sizes(&self) -> HashMap<String, Option<u64>> {
        let images = self.images.iter().flatten();
        images
            .map(|image| (image.id.clone(), u64::try_from(image.shared_size).ok()))
            .collect()
    }

    fn build_cache_records(&self) -> Result<Vec<BuildCacheRecord>, EngineError> {
        let endpoint = "/system/df";
        let records = self.build_cache.iter().flatten().map(|record| {
            Ok(BuildCacheRecord {
                id: record.id.clone(),
                kind: record.kind.clone(),
                size: non_negative(record.size),
                shared: record.shared,
                in_use: record.in_use,
                created: parse_time(endpoint, &record.created_at)?,
                last_used: optional_time(endpoint, record.last_used_at.as_deref())?,
                description: record.description.clone(),
            })
        });
        records.collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_zero_time_means_never() {
        assert_eq!(
            optional_time("e", Some("0001-01-01T00:00:00Z")).unwrap(),
            None
        );
        let started = optional_time("e", Some("2024-05-01T10:00:00.123456789Z")).unwrap();
        assert_eq!(started.unwrap().timestamp_subsec_nanos(), 123_456_789);
    }

    fn some_id() -> ImageId {
        ImageId::parse(&format!("sha256:{}", "ab".repeat(32))).unwrap()
    }

    #[test]
    fn classic_store_size_is_the_engines() {
        // A misaligned history is only logged: the engine's size stands.
        assert_eq!(
            image_size(&some_id(), ImageStore::Classic, 300, &[100, 200]),
            300
        );
        assert_eq!(
            image_size(&some_id(), ImageStore::Classic, 300, &[100, 100]),
            300
        );
        assert_eq!(image_size(&some_id(), ImageStore::Classic, -1, &[]), 0);
    }

    #[test]
    fn containerd_store_size_is_the_sum_of_the_layers() {
        // Inspect's size there is one platform's compressed content: not what the core counts.
        assert_eq!(
            image_size(&some_id(), ImageStore::Containerd, 120, &[100, 200]),
            300
        );
        assert_eq!(image_size(&some_id(), ImageStore::Containerd, 120, &[]), 0);
    }

    #[test]
    fn placeholders_for_untagged_images_are_dropped() {
        let references = vec!["<none>:<none>".to_owned(), "<none>@<none>".to_owned()];
        assert!(without_placeholder(references).is_empty());
        assert_eq!(without_placeholder(vec!["a:1".to_owned()]), vec!["a:1"]);
    }

    #[test]
    fn legacy_disk_usage_is_read() {
        let answer: DiskUsageAnswer = serde_json::from_str(
            r#"{"LayersSize":1092588,"Images":[{"Id":"sha256:aa","SharedSize":-1,"Size":5},
                {"Id":"sha256:bb","SharedSize":7,"Size":9}],"Containers":[],"Volumes":[],
                "BuildCache":[{"ID":"x1","Type":"regular","Description":"mount","InUse":false,
                "Shared":true,"Size":42,"CreatedAt":"2024-05-01T10:00:00Z","LastUsedAt":null,
                "UsageCount":1}],"BuilderSize":42}"#,
        )
        .unwrap();
        assert_eq!(answer.layers_size(), 1_092_588);
        let shared = answer.shared_sizes();
        assert_eq!(shared["sha256:aa"], None);
        assert_eq!(shared["sha256:bb"], Some(7));
        let records = answer.build_cache_records().unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(
            (records[0].size, records[0].shared, records[0].last_used),
            (42, true, None)
        );
    }

    #[test]
    fn a_running_disk_usage_read_is_waited_for() {
        let busy =
            EngineError::from_status(500, "a disk usage operation is already running".to_owned());
        assert!(is_disk_usage_busy(&busy));
        let other = EngineError::from_status(500, "boom".to_owned());
        assert!(!is_disk_usage_busy(&other));
    }

    #[test]
    fn newer_disk_usage_shape_gives_its_total() {
        let answer: DiskUsageAnswer =
            serde_json::from_str(r#"{"ImageUsage":{"TotalSize":300,"Items":[]}}"#).unwrap();
        assert_eq!(answer.layers_size(), 300);
    }
}
