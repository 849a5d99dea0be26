//! Engine states at scale for shed's benchmarks.
//!
//! [`world::World::generate`] makes a deterministic engine state from a size and a seed: bases,
//! families of builds that share layers, tags, dangling rebuilds, containers. The same world is
//! written two ways: as `docker load` archives plus a list of containers ([`archive`], loaded by
//! [`engine`]) for the end-to-end benchmarks against a real engine, and as shed's inventory or a
//! snapshot file ([`snapshot`]) for the core benchmarks. The `shed-gen` binary drives both.

pub mod archive;
pub mod core_bench;
pub mod engine;
pub mod layer;
pub mod rng;
pub mod snapshot;
pub mod world;
