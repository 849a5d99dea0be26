//! criterion benchmarks of the core's stages on generated inventories of 10,000, 100,000 and
//! 1,000,000 images: graph build, decide (the `--all` selection) and plan.
//!
//! Each inventory is generated in memory once per size (not read from disk, so parsing is not
//! measured) and the stages run on it in turn. Samples are few, so that the 1,000,000 case
//! finishes in minutes on two cores; peak memory is measured by `shed-gen core-bench`, which
//! runs each stage once in a fresh process.

use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use shed_bench::layer::ToolFile;
use shed_bench::snapshot;
use shed_bench::world::{self, Spec, World};
use shed_core::decide::{Selection, decide};
use shed_core::graph::Graph;
use shed_core::inventory::Inventory;
use shed_core::plan::make_plan;

const SIZES: [usize; 3] = [10_000, 100_000, 1_000_000];

fn generated(images: usize) -> Inventory {
    snapshot::inventory(&World::generate(
        Spec { images, seed: 1 },
        ToolFile::stand_in(),
    ))
}

fn stages(c: &mut Criterion) {
    let sizes: Vec<usize> = match std::env::var("SHED_BENCH_MAX_IMAGES") {
        Ok(max) => SIZES
            .into_iter()
            .filter(|&n| max.parse().is_ok_and(|m: usize| n <= m))
            .collect(),
        Err(_) => SIZES.to_vec(),
    };
    let selection = Selection {
        all: true,
        ..Selection::default()
    };
    let mut group = c.benchmark_group("core");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(3));
    for images in sizes {
        let inventory = generated(images);
        group.throughput(Throughput::Elements(images as u64));
        group.bench_with_input(BenchmarkId::new("graph", images), &inventory, |b, inv| {
            b.iter_batched(|| inv.clone(), Graph::new, BatchSize::PerIteration)
        });

        let graph = Graph::new(inventory);
        group.bench_with_input(BenchmarkId::new("decide", images), &graph, |b, graph| {
            b.iter(|| decide(graph, &selection))
        });

        let decisions = decide(&graph, &selection);
        let describe = selection.describe();
        group.bench_with_input(BenchmarkId::new("plan", images), &graph, |b, graph| {
            b.iter(|| make_plan(graph, &decisions, &describe, world::now()))
        });
    }
    group.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
