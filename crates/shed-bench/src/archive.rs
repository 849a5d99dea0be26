//! `docker load` archives of a generated world, in the format `docker save` writes.
//!
//! Each archive holds `manifest.json` (one entry per image: its config file, its tags, its layer
//! files, its parent), one config per image named `<hex>.json` after its image ID, and one
//! `<hex>/layer.tar` per layer named after its diff ID. An archive holds every layer its images
//! use, each once, so each archive loads on its own; the engine skips layers it already has.
//!
//! A world is split into archives of about [`IMAGES_PER_ARCHIVE`] images, cut only before an
//! image whose parent is a base (in the first archive) or none, because the engine records a
//! parent only when the parent is already loaded. The list of archives and the containers to
//! create after loading are written to [`LOAD_PLAN`] beside them.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use shed_core::inventory::ContainerState;

use crate::world::{GenImage, ImageIx, LayerIx, Role, World};

/// The largest number of images in one archive, before the cut reaches a family boundary.
pub const IMAGES_PER_ARCHIVE: usize = 2_000;

/// The file, beside the archives, that says how to load them.
pub const LOAD_PLAN: &str = "load-plan.json";

/// What [`crate::engine::load`] needs to recreate a world in an engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadPlan {
    /// Archive file names, in load order.
    pub archives: Vec<String>,
    pub images: usize,
    /// The number of tags over all images.
    pub tags: usize,
    pub containers: Vec<ContainerToCreate>,
}

/// One container to create once the images are loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerToCreate {
    pub name: String,
    pub image_id: String,
    pub state: ContainerState,
}

/// One entry of `manifest.json`, with the field names the engine reads.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ManifestEntry {
    config: String,
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent: Option<String>,
}

/// Writes the world's archives and load plan into `dir`, and returns the plan.
pub fn write_archives(world: &World, dir: &Path) -> anyhow::Result<LoadPlan> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut archives = Vec::new();
    for (number, images) in split(world).iter().enumerate() {
        let name = format!("images-{number:03}.tar");
        write_archive(world, images, &dir.join(&name))?;
        archives.push(name);
    }
    let plan = load_plan(world, archives);
    let path = dir.join(LOAD_PLAN);
    let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    serde_json::to_writer_pretty(BufWriter::new(file), &plan)?;
    Ok(plan)
}

fn load_plan(world: &World, archives: Vec<String>) -> LoadPlan {
    let containers = world
        .containers
        .iter()
        .map(|c| ContainerToCreate {
            name: c.name.clone(),
            image_id: world.images[c.image as usize].id.to_string(),
            state: c.state,
        })
        .collect();
    LoadPlan {
        archives,
        images: world.images.len(),
        tags: world.images.iter().map(|i| i.tags.len()).sum(),
        containers,
    }
}

/// The images of each archive, in load order.
pub fn split(world: &World) -> Vec<Vec<ImageIx>> {
    let mut archives: Vec<Vec<ImageIx>> = vec![Vec::new()];
    for (index, image) in world.images.iter().enumerate() {
        let current = archives.last_mut().expect("starts with one archive");
        if current.len() >= IMAGES_PER_ARCHIVE && may_start_archive(world, image) {
            archives.push(Vec::new());
        }
        archives
            .last_mut()
            .expect("never empty")
            .push(index as ImageIx);
    }
    archives.retain(|a| !a.is_empty());
    archives
}

fn may_start_archive(world: &World, image: &GenImage) -> bool {
    image.role != Role::Base
        && image
            .parent
            .is_none_or(|p| world.images[p as usize].role == Role::Base)
}

fn write_archive(world: &World, images: &[ImageIx], path: &Path) -> anyhow::Result<()> {
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut builder = tar::Builder::new(BufWriter::new(file));
    let mut written: HashSet<LayerIx> = HashSet::new();
    let mut manifest = Vec::with_capacity(images.len());
    for &index in images {
        let image = &world.images[index as usize];
        for &layer in &image.layers {
            if written.insert(layer) {
                append(
                    &mut builder,
                    &layer_path(world, layer),
                    &world.layer_tar(layer),
                )?;
            }
        }
        let config = format!("{}.json", image.id.text().hex());
        append(&mut builder, &config, &world.config_json(image))?;
        manifest.push(manifest_entry(world, image, config));
    }
    append(
        &mut builder,
        "manifest.json",
        &serde_json::to_vec(&manifest)?,
    )?;
    let mut out = builder
        .into_inner()
        .with_context(|| format!("writing {}", path.display()))?;
    out.flush()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn manifest_entry(world: &World, image: &GenImage, config: String) -> ManifestEntry {
    ManifestEntry {
        config,
        repo_tags: (!image.tags.is_empty()).then(|| image.tags.clone()),
        layers: image.layers.iter().map(|&l| layer_path(world, l)).collect(),
        parent: image
            .parent
            .map(|p| world.images[p as usize].id.to_string()),
    }
}

fn layer_path(world: &World, layer: LayerIx) -> String {
    format!(
        "{}/layer.tar",
        world.layers[layer as usize].diff_id.text().hex()
    )
}

fn append(builder: &mut tar::Builder<impl Write>, path: &str, data: &[u8]) -> anyhow::Result<()> {
    let mut header = tar::Header::new_ustar();
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    builder
        .append_data(&mut header, path, data)
        .with_context(|| format!("adding {path}"))?;
    Ok(())
}

/// The archives of a load plan, as paths under `dir`.
pub fn archive_paths(plan: &LoadPlan, dir: &Path) -> Vec<PathBuf> {
    plan.archives.iter().map(|name| dir.join(name)).collect()
}
