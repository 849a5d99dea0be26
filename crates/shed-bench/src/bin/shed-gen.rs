//! `shed-gen`: generates engine states for shed's benchmarks, loads them, and times the core.
//!
//! Each subcommand is one mode: `archives` writes `docker load` archives, `load` puts them into
//! a disposable engine, `snapshot` writes the same state as a snapshot file, `core-bench` times
//! the core's stages on a generated inventory and reports peak memory.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use shed_bench::layer::ToolFile;
use shed_bench::world::{Spec, World};
use shed_bench::{archive, core_bench, engine, snapshot};

#[derive(Parser)]
#[command(about = "Generates engine states at scale for shed's benchmarks")]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(clap::Args)]
struct WorldArgs {
    /// Number of images, bases and intermediates included.
    #[arg(long)]
    images: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Make a prune set instead: tagged bases and dangling builds only, no containers.
    #[arg(long)]
    prune_set: bool,
    /// The static busybox the runnable base image is made of.
    #[arg(long, default_value = "/usr/bin/busybox")]
    busybox: PathBuf,
}

#[derive(Subcommand)]
enum Mode {
    /// Write `docker load` archives and load-plan.json into a directory.
    Archives {
        #[command(flatten)]
        world: WorldArgs,
        #[arg(long)]
        out: PathBuf,
    },
    /// Load archives written by `archives` into an engine, then create the containers.
    Load {
        /// The engine, as DOCKER_HOST would name it; only ever a disposable one.
        #[arg(long)]
        host: String,
        #[arg(long)]
        dir: PathBuf,
    },
    /// Write the same state as a shed snapshot (JSON) on stdout.
    Snapshot {
        #[command(flatten)]
        world: WorldArgs,
    },
    /// Generate an inventory in memory (or read --from), time each core stage, print peak RSS.
    CoreBench {
        #[arg(long, required_unless_present = "from")]
        images: Option<usize>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// A snapshot file to read instead of generating.
        #[arg(long, conflicts_with = "images")]
        from: Option<PathBuf>,
    },
}

fn main() {
    if let Err(error) = run(Cli::parse()) {
        eprintln!("shed-gen: {error:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.mode {
        Mode::Archives { world, out } => {
            let plan = archive::write_archives(&generate(&world)?, &out)?;
            println!(
                "{} images, {} tags, {} containers in {} archives under {}",
                plan.images,
                plan.tags,
                plan.containers.len(),
                plan.archives.len(),
                out.display()
            );
        }
        Mode::Load { host, dir } => {
            let plan = engine::load(&host, &dir)?;
            println!(
                "loaded {} images and {} containers",
                plan.images,
                plan.containers.len()
            );
        }
        Mode::Snapshot { world } => {
            let inventory = snapshot::inventory(&generate(&world)?);
            snapshot::write_snapshot(&inventory, std::io::stdout().lock())?;
        }
        Mode::CoreBench {
            from: Some(path), ..
        } => core_bench::run_from(&path)?,
        Mode::CoreBench { images, seed, .. } => {
            // clap requires --images whenever --from is absent.
            let images = images.expect("--images is required without --from");
            core_bench::run(Spec { images, seed })?
        }
    }
    Ok(())
}

fn generate(args: &WorldArgs) -> anyhow::Result<World> {
    let tool = ToolFile::read(&args.busybox)?;
    let spec = Spec {
        images: args.images,
        seed: args.seed,
    };
    if args.prune_set {
        Ok(World::generate_prune_set(spec, tool))
    } else {
        Ok(World::generate(spec, tool))
    }
}
