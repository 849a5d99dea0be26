//! `shed snapshot`: the inventory as a JSON snapshot on stdout, for offline planning with
//! `--from FILE`.

use anyhow::Result;
use shed_core::snapshot::write_snapshot;

use super::error::ExitStatus;
use super::options::Options;
use super::{print, source};

pub async fn run(options: &Options) -> Result<ExitStatus> {
    let loaded = source::load(options).await?;
    print(&write_snapshot(loaded.graph.inventory()))?;
    Ok(ExitStatus::Done)
}
