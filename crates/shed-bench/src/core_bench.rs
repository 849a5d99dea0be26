//! One timed pass over the core's stages on a generated inventory, with peak memory.
//!
//! criterion (benches/core.rs) gives the statistically sound times; this pass answers what
//! criterion cannot: how much memory the whole pipeline needs at a given size. It generates
//! the inventory in memory, then times graph build, decide (`--all`) and plan once each, and
//! reads the process's peak resident set size (`VmHWM`) from /proc/self/status at the end.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use shed_core::decide::{Selection, decide};
use shed_core::graph::Graph;
use shed_core::plan::make_plan;

use crate::layer::ToolFile;
use crate::snapshot;
use crate::world::{self, Spec, World};

/// Runs the pass and prints one line per stage, then the peak RSS.
pub fn run(spec: Spec) -> anyhow::Result<()> {
    let (world, generate) = timed(|| World::generate(spec, ToolFile::stand_in()));
    let (inventory, convert) = timed(|| snapshot::inventory(&world));
    drop(world);
    let rss_inventory = peak_rss_kib()?;

    let selection = Selection {
        all: true,
        ..Selection::default()
    };
    let (graph, build) = timed(|| Graph::new(inventory));
    let (decisions, decided) = timed(|| decide(&graph, &selection));
    let (plan, planned) =
        timed(|| make_plan(&graph, &decisions, &selection.describe(), world::now()));

    println!("images {}", spec.images);
    println!("generate_ms {:.1}", ms(generate));
    println!("inventory_ms {:.1}", ms(convert));
    println!("graph_ms {:.1}", ms(build));
    println!("decide_ms {:.1}", ms(decided));
    println!("plan_ms {:.1}", ms(planned));
    println!("core_total_ms {:.1}", ms(build + decided + planned));
    println!("actions {}", plan.actions.len());
    println!(
        "peak_rss_after_inventory_mib {:.1}",
        rss_inventory as f64 / 1024.0
    );
    println!("peak_rss_mib {:.1}", peak_rss_kib()? as f64 / 1024.0);
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
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    parse_vm_hwm(&status).context("no VmHWM line in /proc/self/status")
}

fn parse_vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_hwm_is_read_in_kib() {
        let status = "Name:\tx\nVmPeak:\t  9 kB\nVmHWM:\t   123456 kB\nVmRSS:\t 1 kB\n";
        assert_eq!(parse_vm_hwm(status), Some(123_456));
        assert_eq!(parse_vm_hwm("Name:\tx\n"), None);
    }
}
