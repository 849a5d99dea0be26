//! The generated world as shed's inventory, and as a snapshot file.
//!
//! The inventory is what shed would read from an engine that loaded the world's archives: the
//! same image IDs, tags, parents, layer diff IDs and sizes (overlay2 reports a layer's size as
//! the bytes of its files, here one file each). Two things cannot agree with a real engine and
//! are made up deterministically instead: container IDs (the engine draws them at random) and
//! the engine's identity (version 20.10.24, overlay2, classic store).

use std::io::Write;

use chrono::Duration;
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use shed_core::ids::ContainerId;
use shed_core::inventory::{
    Container, ContainerState, DiskUsage, EngineInfo, Image, ImageStore, Inventory, Layer,
};

use crate::world::{self, GenContainer, World};

/// The schema identifier of a snapshot file.
pub const SNAPSHOT_SCHEMA: &str = "shed.snapshot/v1";

/// The world as an inventory taken at [`world::now`].
pub fn inventory(world: &World) -> Inventory {
    let users = layer_users(world);
    let images = world
        .images
        .iter()
        .map(|image| to_image(world, &users, image))
        .collect();
    let containers = world
        .containers
        .iter()
        .map(|c| to_container(world, c))
        .collect();
    let layers_size = world
        .layers
        .iter()
        .zip(&users)
        .filter(|(_, n)| **n > 0)
        .map(|(l, _)| l.size);
    Inventory {
        taken_at: world::now(),
        engine: engine_info(),
        images,
        containers,
        build_cache: Vec::new(),
        disk: DiskUsage {
            layers_size: layers_size.sum(),
            build_cache_size: 0,
            filesystem: None,
        },
    }
}

/// Writes the inventory as a snapshot: the schema identifier, then the inventory's fields.
pub fn write_snapshot(inventory: &Inventory, out: impl Write) -> anyhow::Result<()> {
    #[derive(Serialize)]
    struct Snapshot<'a> {
        schema: &'static str,
        #[serde(flatten)]
        inventory: &'a Inventory,
    }
    let mut out = std::io::BufWriter::new(out);
    serde_json::to_writer(
        &mut out,
        &Snapshot {
            schema: SNAPSHOT_SCHEMA,
            inventory,
        },
    )?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

fn engine_info() -> EngineInfo {
    EngineInfo {
        version: "20.10.24+dfsg1".into(),
        api_version: "1.41".into(),
        os: "linux".into(),
        arch: "x86_64".into(),
        storage_driver: "overlay2".into(),
        data_root: "/var/lib/docker".into(),
        image_store: ImageStore::Classic,
    }
}

/// How many images use each layer.
fn layer_users(world: &World) -> Vec<u32> {
    let mut users = vec![0u32; world.layers.len()];
    for image in &world.images {
        for &layer in &image.layers {
            users[layer as usize] += 1;
        }
    }
    users
}

fn to_image(world: &World, users: &[u32], image: &world::GenImage) -> Image {
    let layers: Vec<Layer> = image
        .layers
        .iter()
        .map(|&l| Layer {
            diff_id: world.layers[l as usize].diff_id.clone(),
            size: world.layers[l as usize].size,
        })
        .collect();
    let shared: u64 = image
        .layers
        .iter()
        .filter(|&&l| users[l as usize] > 1)
        .map(|&l| world.layers[l as usize].size)
        .sum();
    Image {
        id: image.id.clone(),
        tags: image.tags.clone(),
        repo_digests: Vec::new(),
        parent: image.parent.map(|p| world.images[p as usize].id.clone()),
        created: image.created,
        size: layers.iter().map(|l| l.size).sum(),
        shared_size: Some(shared),
        labels: image.labels.clone().into(),
        layers,
    }
}

fn to_container(world: &World, container: &GenContainer) -> Container {
    let image = &world.images[container.image as usize];
    let created = image.created + Duration::hours(1);
    let hex: String = Sha256::digest(container.name.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let (started_at, finished_at) = match container.state {
        ContainerState::Created => (None, None),
        ContainerState::Running => (Some(created), None),
        _ => (Some(created), Some(created + Duration::seconds(1))),
    };
    Container {
        id: ContainerId(hex),
        names: vec![container.name.clone()],
        image_id: image.id.clone(),
        image: image
            .tags
            .first()
            .cloned()
            .unwrap_or_else(|| image.id.to_string()),
        state: container.state,
        created,
        started_at,
        finished_at,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use shed_core::ids::DiffId;

    use super::*;
    use crate::layer::ToolFile;
    use crate::world::Spec;

    fn generated(images: usize) -> (World, Inventory) {
        let world = World::generate(Spec { images, seed: 5 }, ToolFile::stand_in());
        let inventory = inventory(&world);
        (world, inventory)
    }

    #[test]
    fn inventory_has_every_image_and_container() {
        let (world, inventory) = generated(1500);
        assert_eq!(inventory.images.len(), 1500);
        assert_eq!(inventory.containers.len(), world.containers.len());
        let tags: usize = inventory.images.iter().map(|i| i.tags.len()).sum();
        assert_eq!(
            tags,
            world.images.iter().map(|i| i.tags.len()).sum::<usize>()
        );
    }

    #[test]
    fn layers_size_counts_each_shared_layer_once() {
        let (_, inventory) = generated(1500);
        let mut sizes: HashMap<&DiffId, u64> = HashMap::new();
        for layer in inventory.images.iter().flat_map(|i| &i.layers) {
            sizes.insert(&layer.diff_id, layer.size);
        }
        let per_image: u64 = inventory.images.iter().map(|i| i.size).sum();
        assert_eq!(inventory.disk.layers_size, sizes.values().sum::<u64>());
        assert!(
            per_image > 2 * inventory.disk.layers_size,
            "layers are shared"
        );
    }

    #[test]
    fn image_size_is_the_sum_of_its_layers_and_shared_size_at_most_that() {
        let (_, inventory) = generated(500);
        for image in &inventory.images {
            assert_eq!(image.size, image.layers.iter().map(|l| l.size).sum::<u64>());
            assert!(image.shared_size.unwrap() <= image.size);
        }
    }

    #[test]
    fn snapshot_is_the_schema_then_the_inventory() {
        let (_, inventory) = generated(200);
        let mut bytes = Vec::new();
        write_snapshot(&inventory, &mut bytes).unwrap();
        let mut value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let object = value.as_object_mut().unwrap();
        assert_eq!(object.remove("schema").unwrap(), SNAPSHOT_SCHEMA);
        let back: Inventory = serde_json::from_value(value).unwrap();
        assert_eq!(back, inventory);
    }
}
