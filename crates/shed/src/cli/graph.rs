//! `shed graph`: draw the reference graph as Graphviz dot or Mermaid.

use anyhow::Result;

use super::args::{GraphArgs, GraphFormat};
use super::error::ExitStatus;
use super::options::Options;
use super::{print, source};
use crate::output::graph::{dot, family, mermaid};

pub async fn run(options: &Options, args: &GraphArgs) -> Result<ExitStatus> {
    let loaded = source::load(options).await?;
    let graph = &loaded.graph;
    let root = args
        .reference
        .as_deref()
        .map(|r| source::resolve(graph, r))
        .transpose()?;
    let images = family(graph, root);
    let text = match args.format {
        GraphFormat::Dot => dot(graph, &images),
        GraphFormat::Mermaid => mermaid(graph, &images),
    };
    print(&text)?;
    Ok(ExitStatus::Done)
}
