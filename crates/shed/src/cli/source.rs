//! Where a command's inventory comes from: a live engine or a snapshot file.

use anyhow::{Context as _, Result};
use shed::engine::{Engine, EngineError, ImageCache};
use shed_core::graph::Graph;
use shed_core::inventory::{Inventory, Timestamp};
use shed_core::snapshot::parse_snapshot;

use super::error::bad_input;
use super::options::{Options, Source};
use crate::output::progress::InventoryProgress;

/// An inventory ready for the core, with the time to decide at.
pub struct Loaded {
    pub graph: Graph,
    /// The user's `--now`; else the snapshot's time; else the wall clock.
    pub now: Timestamp,
    /// The engine the inventory was read from; `None` for a snapshot.
    pub engine: Option<Engine>,
}

/// Reads the inventory the options name.
pub async fn load(options: &Options) -> Result<Loaded> {
    match &options.source {
        Source::Snapshot(path) => {
            let inventory = read_snapshot(path)?;
            let now = options.now.unwrap_or(inventory.taken_at);
            Ok(Loaded {
                graph: Graph::new(inventory),
                now,
                engine: None,
            })
        }
        Source::Engine { host } => {
            let engine = connect(host.as_deref()).await?;
            let mut cache = open_cache(&options.state_dir);
            let inventory = read_inventory(&engine, cache.as_mut()).await?;
            let now = options.now.unwrap_or_else(shed::now);
            Ok(Loaded {
                graph: Graph::new(inventory),
                now,
                engine: Some(engine),
            })
        }
    }
}

/// Connects to the engine, or fails with the backend's one-line reason. A host that is not an
/// address shed can use is the user's input being wrong (exit status 2).
pub async fn connect(host: Option<&str>) -> Result<Engine> {
    Engine::connect(host).await.map_err(|error| match error {
        EngineError::UnsupportedHost { .. } => bad_input(error.to_string()),
        other => other.into(),
    })
}

/// The image cache in the state directory; `None`, with a debug log, when it cannot be opened
/// (a read-only home, say): the inventory is then read without it.
fn open_cache(state_dir: &std::path::Path) -> Option<ImageCache> {
    ImageCache::open(state_dir)
        .inspect_err(
            |error| tracing::debug!(%error, "reading the inventory without the image cache"),
        )
        .ok()
}

/// Reads an inventory from the engine (asking only about images `cache` lacks), with a progress
/// bar on a terminal.
pub async fn read_inventory(engine: &Engine, cache: Option<&mut ImageCache>) -> Result<Inventory> {
    let progress = InventoryProgress::new();
    let update = |stage, done, total| {
        if let Some(progress) = &progress {
            progress.update(stage, done, total);
        }
    };
    let inventory = engine
        .read_inventory_cached(Some(&update), cache)
        .await
        .with_context(|| format!("reading the inventory of {}", engine.host()))?;
    if let Some(progress) = progress {
        progress.finish();
    }
    Ok(inventory)
}

fn read_snapshot(path: &std::path::Path) -> Result<Inventory> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad_input(format!("reading snapshot {}: {e}", path.display())))?;
    parse_snapshot(&text).map_err(|e| bad_input(format!("{}: {e}", path.display())))
}

/// Resolves a user's reference, or fails as bad input naming it.
pub fn resolve(graph: &Graph, reference: &str) -> Result<shed_core::graph::ImageIdx> {
    graph
        .resolve(reference)
        .ok_or_else(|| bad_input(format!("no such image: {reference}")))
}
