//! `shed ls`: the images, like `docker images -a`, plus who uses them and how much of their
//! size is theirs alone.

use anyhow::Result;
use globset::{Glob, GlobMatcher};
use serde::Serialize;
use shed_core::graph::{Graph, ImageIdx};
use shed_core::ids::ImageId;
use shed_core::inventory::{ContainerState, Timestamp};

use super::args::{LsArgs, TableOrJson};
use super::error::{ExitStatus, bad_input};
use super::options::Options;
use super::{print, source, to_json};
use crate::output::table::Table;
use crate::output::units::{age, size};

pub async fn run(options: &Options, args: &LsArgs) -> Result<ExitStatus> {
    let filter = LsFilter::parse(&args.filters)?;
    let loaded = source::load(options).await?;
    let graph = &loaded.graph;
    let images: Vec<ImageIdx> = graph
        .images_by_id()
        .iter()
        .copied()
        .filter(|&i| filter.passes(graph, i))
        .collect();

    let text = match args.format {
        TableOrJson::Table => table(graph, &images, &filter, loaded.now),
        TableOrJson::Json => to_json(
            &images
                .iter()
                .map(|&i| ImageRow::new(graph, i))
                .collect::<Vec<_>>(),
        )?,
    };
    print(&text)?;
    Ok(ExitStatus::Done)
}

/// `--filter` for `ls`: the keys of `docker images --filter` that shed supports.
#[derive(Debug, Default)]
struct LsFilter {
    dangling: Option<bool>,
    labels: Vec<(String, Option<String>)>,
    references: Vec<GlobMatcher>,
}

impl LsFilter {
    fn parse(filters: &[String]) -> Result<LsFilter> {
        let mut parsed = LsFilter::default();
        for filter in filters {
            let (key, value) = filter
                .split_once('=')
                .ok_or_else(|| bad_input(format!("--filter {filter:?}: expected key=value")))?;
            match key {
                "dangling" => parsed.dangling = Some(parse_bool(filter, value)?),
                "label" => parsed.labels.push(match value.split_once('=') {
                    Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
                    None => (value.to_owned(), None),
                }),
                "reference" => parsed.references.push(
                    Glob::new(value)
                        .map_err(|e| bad_input(format!("--filter {filter:?}: {e}")))?
                        .compile_matcher(),
                ),
                _ => {
                    return Err(bad_input(format!(
                        "--filter {filter:?}: unknown key {key:?}; shed ls accepts dangling, \
                         label and reference"
                    )));
                }
            }
        }
        Ok(parsed)
    }

    /// Whether a tag passes the `reference` filters: like the engine, a pattern matches
    /// `repo:tag` or just `repo`. Without `reference` filters every tag does.
    fn shows_tag(&self, tag: &str) -> bool {
        let repo = tag.rsplit_once(':').map_or(tag, |(repo, _)| repo);
        self.references.is_empty()
            || self
                .references
                .iter()
                .any(|m| m.is_match(tag) || m.is_match(repo))
    }

    fn passes(&self, graph: &Graph, i: ImageIdx) -> bool {
        let image = graph.image(i);
        let dangling_ok = self
            .dangling
            .is_none_or(|wanted| graph.is_dangling(i) == wanted);
        let labels_ok = self
            .labels
            .iter()
            .all(|(key, value)| match image.labels.get(key) {
                None => false,
                Some(actual) => value.as_ref().is_none_or(|wanted| wanted == actual),
            });
        let reference_ok =
            self.references.is_empty() || image.tags.iter().any(|tag| self.shows_tag(tag));
        dangling_ok && labels_ok && reference_ok
    }
}

fn parse_bool(filter: &str, value: &str) -> Result<bool> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(bad_input(format!(
            "--filter {filter:?}: expected true or false"
        ))),
    }
}

/// One row per tag, like `docker images`: only the tags the `reference` filters pass.
fn table(graph: &Graph, images: &[ImageIdx], filter: &LsFilter, now: Timestamp) -> String {
    let mut table = Table::new(&[
        "REPOSITORY",
        "TAG",
        "IMAGE ID",
        "CREATED",
        "SIZE",
        "UNIQUE SIZE",
        "SHARED SIZE",
        "DANGLING",
        "IN USE BY",
    ]);
    for &i in images {
        let image = graph.image(i);
        let mut names: Vec<(String, String)> = image
            .tags
            .iter()
            .filter(|tag| filter.shows_tag(tag))
            .map(|tag| match tag.rsplit_once(':') {
                Some((repo, tag)) => (repo.to_owned(), tag.to_owned()),
                None => (tag.clone(), String::new()),
            })
            .collect();
        if names.is_empty() {
            names.push(("<none>".to_owned(), "<none>".to_owned()));
        }
        for (repository, tag) in names {
            table.row(vec![
                repository,
                tag,
                image.id.short().to_owned(),
                age(image.created, now),
                size(image.size),
                size(graph.unique_bytes(i)),
                size(graph.shared_bytes(i)),
                if graph.is_dangling(i) { "yes" } else { "no" }.to_owned(),
                in_use_by(graph, i),
            ]);
        }
    }
    table.render()
}

fn in_use_by(graph: &Graph, i: ImageIdx) -> String {
    let names: Vec<String> = graph
        .containers_of(i)
        .iter()
        .map(|&c| {
            let container = graph.container(c);
            format!(
                "{} ({})",
                container.display_name(),
                container.state.as_str()
            )
        })
        .collect();
    if names.is_empty() {
        "-".to_owned()
    } else {
        names.join(", ")
    }
}

/// One image in `shed ls --format json`.
#[derive(Debug, Serialize)]
pub struct ImageRow {
    pub id: ImageId,
    pub tags: Vec<String>,
    pub repo_digests: Vec<String>,
    pub parent: Option<ImageId>,
    pub created: Timestamp,
    pub size: u64,
    pub unique_size: u64,
    pub shared_size: u64,
    pub dangling: bool,
    pub containers: Vec<ContainerRow>,
}

/// A container as `ls` and `why` show it.
#[derive(Debug, Serialize)]
pub struct ContainerRow {
    pub id: String,
    pub name: String,
    pub state: ContainerState,
}

impl ImageRow {
    pub fn new(graph: &Graph, i: ImageIdx) -> ImageRow {
        let image = graph.image(i);
        ImageRow {
            id: image.id.clone(),
            tags: image.tags.clone(),
            repo_digests: image.repo_digests.clone(),
            parent: image.parent.clone(),
            created: image.created,
            size: image.size,
            unique_size: graph.unique_bytes(i),
            shared_size: graph.shared_bytes(i),
            dangling: graph.is_dangling(i),
            containers: graph
                .containers_of(i)
                .iter()
                .map(|&c| {
                    let container = graph.container(c);
                    ContainerRow {
                        id: container.id.to_string(),
                        name: container.display_name().to_owned(),
                        state: container.state,
                    }
                })
                .collect(),
        }
    }
}
