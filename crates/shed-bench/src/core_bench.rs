//! One timed pass over the core's stages on a generated inventory, with peak memory.
//!
//! criterion (benches/core.rs) gives the statistically sound times; this pass answers what
//! criterion cannot: how much memory the core needs at a given size. It generates the inventory
//! in memory (or reads a snapshot file), then times graph build, decide (`--all`) and plan once
//! each. Generating holds the world and the inventory at once, more than the core ever needs,
//! so the peak resident set size (`VmHWM`) is reset (`/proc/self/clear_refs`, Linux 4.0+) once
//! the inventory is ready: the peak it reports is the inventory plus what the core allocates.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::Deserialize;
use shed_core::decide::{Selection, decide};
use shed_core::graph::Graph;
use shed_core::inventory::{
    BuildCacheRecord, Container, DiskUsage, EngineInfo, Image, Inventory, Timestamp,
};
use shed_core::plan::make_plan;

use crate::layer::ToolFile;
use crate::snapshot;
use crate::world::{self, Spec, World};

/// Runs the pass on a generated inventory and prints one line per stage, then the peak RSS.
pub fn run(spec: Spec) -> anyhow::Result<()> {
    let (world, generate) = timed(|| World::generate(spec, ToolFile::stand_in()));
    let (inventory, convert) = timed(|| snapshot::inventory(&world));
    drop(world);
    println!("generate_ms {:.1}", ms(generate + convert));
    run_core(inventory)
}

/// Runs the pass on the inventory of a snapshot file (`shed-gen snapshot`).
pub fn run_from(path: &Path) -> anyhow::Result<()> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let (file, read) = timed(|| serde_json::from_reader(BufReader::new(file)));
    let file: SnapshotFile = file.with_context(|| format!("parsing {}", path.display()))?;
    println!("read_ms {:.1}", ms(read));
    run_core(file.into_inventory())
}

/// A snapshot file read straight into the inventory's parts, without an intermediate JSON
/// tree (which would take more memory than the core itself).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapshotFile {
    #[serde(rename = "schema")]
    _schema: String,
    taken_at: Timestamp,
    engine: EngineInfo,
    images: Vec<Image>,
    containers: Vec<Container>,
    #[serde(default)]
    build_cache: Vec<BuildCacheRecord>,
    disk: DiskUsage,
}

impl SnapshotFile {
    fn into_inventory(self) -> Inventory {
        Inventory {
            taken_at: self.taken_at,
            engine: self.engine,
            images: self.images,
            containers: self.containers,
            build_cache: self.build_cache,
            disk: self.disk,
        }
    }
}

fn run_core(inventory: Inventory) -> anyhow::Result<()> {
    let images = inventory.images.len();
    println!(
        "peak_rss_generating_mib {:.1}",
        peak_rss_kib()? as f64 / 1024.0
    );
    reset_peak_rss()?;
    println!("rss_inventory_mib {:.1}", rss_kib()? as f64 / 1024.0);

    let selection = Selection {
        all: true,
        ..Selection::default()
    };
    let (graph, build) = timed(|| Graph::new(inventory));
    println!("rss_after_graph_mib {:.1}", rss_kib()? as f64 / 1024.0);
    let (decisions, decided) = timed(|| decide(&graph, &selection));
    println!("rss_after_decide_mib {:.1}", rss_kib()? as f64 / 1024.0);
    let (plan, planned) =
        timed(|| make_plan(&graph, &decisions, &selection.describe(), world::now()));

    println!("images {images}");
    println!("graph_ms {:.1}", ms(build));
    println!("decide_ms {:.1}", ms(decided));
    println!("plan_ms {:.1}", ms(planned));
    println!("core_total_ms {:.1}", ms(build + decided + planned));
    println!("actions {}", plan.actions.len());
    println!("rss_after_plan_mib {:.1}", rss_kib()? as f64 / 1024.0);
    println!("peak_rss_core_mib {:.1}", peak_rss_kib()? as f64 / 1024.0);
    Ok(())
}

fn timed<T>(stage: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let value = stage();
    (value, start.elapsed())
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The process's peak resident set size, in KiB (Linux only).
pub fn peak_rss_kib() -> anyhow::Result<u64> {
    status_kib("VmHWM:")
}

/// The process's current resident set size, in KiB (Linux only).
fn rss_kib() -> anyhow::Result<u64> {
    status_kib("VmRSS:")
}

/// Makes the peak resident set size start again from the current one.
fn reset_peak_rss() -> anyhow::Result<()> {
    std::fs::write("/proc/self/clear_refs", "5").context("resetting VmHWM")
}

fn status_kib(field: &str) -> anyhow::Result<u64> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    parse_status_kib(&status, field).with_context(|| format!("no {field} in /proc/self/status"))
}

fn parse_status_kib(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_hwm_is_read_in_kib() {
        let status = "Name:\tx\nVmPeak:\t  9 kB\nVmHWM:\t   123456 kB\nVmRSS:\t 1 kB\n";
        assert_eq!(parse_status_kib(status, "VmHWM:"), Some(123_456));
        assert_eq!(parse_status_kib(status, "VmRSS:"), Some(1));
        assert_eq!(parse_status_kib("Name:\tx\n", "VmHWM:"), None);
    }
}
