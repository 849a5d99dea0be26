//! Loading a generated world into an engine with the docker CLI.
//!
//! The archives go in with `docker load -i`, in order; then the containers are made: created
//! ones with `docker create`, exited ones with `docker run` of `/busybox true`, running ones with
//! `docker run -d` of `/busybox sleep`. Every container uses `--network none`. This is the slow,
//! engine-side half of the generator and is only ever pointed at a disposable engine.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context as _, bail};
use shed_core::inventory::ContainerState;

use crate::archive::{self, ContainerToCreate, LoadPlan};

/// How many archives load at once after the first.
const LOAD_WORKERS: usize = 2;
/// How many docker CLI processes create containers at once.
const CREATE_WORKERS: usize = 4;

/// Reads the load plan in `dir` and loads its archives and containers into the engine at `host`.
pub fn load(host: &str, dir: &Path) -> anyhow::Result<LoadPlan> {
    let plan_path = dir.join(archive::LOAD_PLAN);
    let text = std::fs::read_to_string(&plan_path)
        .with_context(|| format!("reading {}", plan_path.display()))?;
    let plan: LoadPlan =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", plan_path.display()))?;
    load_archives(host, &archive::archive_paths(&plan, dir))?;
    create_containers(host, &plan.containers)?;
    Ok(plan)
}

/// Loads the first archive (it holds the bases), then the others two at a time: they depend
/// only on the first, and the engine spends most of a load re-executing itself to unpack each
/// layer, which a second core speeds up.
fn load_archives(host: &str, paths: &[PathBuf]) -> anyhow::Result<()> {
    let Some((first, rest)) = paths.split_first() else {
        return Ok(());
    };
    load_archive(host, first)?;
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..LOAD_WORKERS)
            .map(|_| {
                scope.spawn(|| {
                    loop {
                        let Some(path) = rest.get(next.fetch_add(1, Ordering::Relaxed)) else {
                            return Ok(());
                        };
                        load_archive(host, path)?;
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .try_for_each(|w| w.join().expect("a worker does not panic"))
    })
}

fn load_archive(host: &str, path: &Path) -> anyhow::Result<()> {
    let path = path.to_str().context("archive path is not UTF-8")?;
    docker(host, &["load", "-q", "-i", path]).map(drop)
}

fn create_containers(host: &str, containers: &[ContainerToCreate]) -> anyhow::Result<()> {
    let chunk = containers.len().div_ceil(CREATE_WORKERS).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = containers
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().try_for_each(|c| create(host, c))))
            .collect();
        workers
            .into_iter()
            .try_for_each(|w| w.join().expect("a worker does not panic"))
    })
}

fn create(host: &str, container: &ContainerToCreate) -> anyhow::Result<()> {
    let name = container.name.as_str();
    let image = container.image_id.as_str();
    let common = ["--network", "none", "--name", name];
    let args: Vec<&str> = match container.state {
        ContainerState::Running => [
            &["run", "-d"][..],
            &common,
            &[image, "/busybox", "sleep", "86400"],
        ]
        .concat(),
        ContainerState::Created => [&["create"][..], &common, &[image]].concat(),
        _ => [&["run"][..], &common, &[image, "/busybox", "true"]].concat(),
    };
    docker(host, &args).map(drop)
}

/// Runs `docker --host HOST ARGS…` and fails with its stderr when it fails.
pub fn docker(host: &str, args: &[&str]) -> anyhow::Result<Output> {
    let output = Command::new("docker")
        .arg("--host")
        .arg(host)
        .args(args)
        .output()
        .context("running docker")?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        bail!("docker {} failed: {}", args.join(" "), stderr.trim());
    }
    Ok(output)
}
