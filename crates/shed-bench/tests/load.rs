//! The generator against a real engine: its archives load, and the engine then reports exactly
//! the images, tags, parents, sizes and containers that the generated inventory says.
//!
//! Runs only against the disposable engine that `scripts/test` starts (`SHED_TEST_DOCKER_HOST`);
//! it refuses to run without one, and removes everything it made when it ends.

use std::collections::BTreeMap;

use serde::Deserialize;
use shed_bench::archive::write_archives;
use shed_bench::engine::{docker, load};
use shed_bench::layer::ToolFile;
use shed_bench::snapshot;
use shed_bench::world::{Spec, World};
use shed_core::inventory::{ContainerState, Inventory};

const HOST_VARIABLE: &str = "SHED_TEST_DOCKER_HOST";
const DEFAULT_SOCKETS: [&str; 2] = ["unix:///var/run/docker.sock", "unix:///run/docker.sock"];

fn engine_host() -> String {
    let Ok(host) = std::env::var(HOST_VARIABLE) else {
        panic!("{HOST_VARIABLE} is not set: run this test with scripts/test (a private engine)");
    };
    assert!(
        !DEFAULT_SOCKETS.contains(&host.as_str()),
        "refusing the default engine {host}"
    );
    host
}

/// Removes the world's containers and images, children first, when the test ends.
struct Cleanup<'a> {
    host: &'a str,
    inventory: &'a Inventory,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for container in &self.inventory.containers {
            let _ = docker(self.host, &["rm", "-f", &container.names[0]]);
        }
        for image in self.inventory.images.iter().rev() {
            let _ = docker(self.host, &["rmi", "-f", &image.id.to_string()]);
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InspectedImage {
    id: String,
    repo_tags: Vec<String>,
    parent: String,
    size: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InspectedContainer {
    name: String,
    image: String,
    state: InspectedState,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InspectedState {
    status: String,
}

fn inspect<T: for<'de> Deserialize<'de>>(host: &str, kind: &str, names: &[&str]) -> Vec<T> {
    let args = [&[kind, "inspect"][..], names].concat();
    let output = docker(host, &args).expect("docker inspect runs");
    serde_json::from_slice(&output.stdout).expect("docker inspect prints a JSON array")
}

#[test]
fn generated_archives_load_into_the_state_the_snapshot_describes() {
    let host = engine_host();
    let tool = ToolFile::read("/usr/bin/busybox".as_ref()).unwrap();
    let world = World::generate(
        Spec {
            images: 90,
            seed: 0x5eed,
        },
        tool,
    );
    let inventory = snapshot::inventory(&world);
    let dir = tempfile::tempdir().unwrap();
    let plan = write_archives(&world, dir.path()).unwrap();

    let _cleanup = Cleanup {
        host: &host,
        inventory: &inventory,
    };
    load(&host, dir.path()).unwrap();

    let ids: Vec<String> = inventory.images.iter().map(|i| i.id.to_string()).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let found: Vec<InspectedImage> = inspect(&host, "image", &ids);
    assert_eq!(found.len(), 90);
    assert_eq!(
        found.iter().map(|i| i.repo_tags.len()).sum::<usize>(),
        plan.tags
    );
    for (image, engine) in inventory.images.iter().zip(&found) {
        let mut tags = engine.repo_tags.clone();
        tags.sort();
        let mut expected = image.tags.clone();
        expected.sort();
        let parent = image
            .parent
            .as_ref()
            .map_or(String::new(), ToString::to_string);
        assert_eq!(image.id, engine.id);
        assert_eq!(
            (tags, engine.parent.as_str()),
            (expected, parent.as_str()),
            "{}",
            image.id
        );
        assert_eq!(engine.size, image.size, "{}", image.id);
    }

    let names: Vec<&str> = inventory
        .containers
        .iter()
        .map(|c| c.names[0].as_str())
        .collect();
    let containers: Vec<InspectedContainer> = inspect(&host, "container", &names);
    let by_name: BTreeMap<_, _> = containers
        .iter()
        .map(|c| (c.name.trim_start_matches('/'), c))
        .collect();
    for container in &inventory.containers {
        let engine = by_name[container.names[0].as_str()];
        assert_eq!(container.image_id, engine.image);
        let expected = match container.state {
            ContainerState::Created => "created",
            ContainerState::Running => "running",
            _ => "exited",
        };
        assert_eq!(engine.state.status, expected, "{}", container.names[0]);
    }
}
