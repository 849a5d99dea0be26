//! `shed why REF`: everything shed knows about one image, and the decision with its reasons.

use anyhow::Result;
use serde::Serialize;
use shed_core::decide::{Decision, Verdict};
use shed_core::graph::{Graph, ImageIdx};
use shed_core::ids::ImageId;
use shed_core::policy::trace;

use super::args::{TableOrJson, WhyArgs};
use super::decider::Decider;
use super::error::ExitStatus;
use super::ls::ImageRow;
use super::options::Options;
use super::{print, source, to_json};
use crate::output::plan::reasons_cell;
use crate::output::units::{age, size};

pub async fn run(options: &Options, args: &WhyArgs) -> Result<ExitStatus> {
    let loaded = source::load(options).await?;
    let graph = &loaded.graph;
    let image = source::resolve(graph, &args.reference)?;
    let decider = Decider::from_args(&args.selection, loaded.now)?;
    let decisions = decider.decide(graph, loaded.now);
    let mut explanation = Explanation::new(graph, image, decisions.decision(image).clone());
    if let Decider::Policy(policy) = &decider {
        explanation.trace =
            trace(graph, policy, loaded.now, &args.reference).map(|t| t.to_string());
    }

    let text = match args.format {
        TableOrJson::Json => to_json(&explanation)?,
        TableOrJson::Table => render(&explanation, &decider.describe(), loaded.now),
    };
    print(&text)?;
    Ok(ExitStatus::Done)
}

/// The answer to `shed why`, as JSON prints it.
#[derive(Debug, Serialize)]
struct Explanation {
    image: ImageRow,
    children: Vec<ImageId>,
    sharing: Vec<Sharing>,
    decision: Decision,
    /// With a policy: how each rule in order met this image's references.
    #[serde(skip_serializing_if = "Option::is_none")]
    trace: Option<String>,
}

/// Another image that uses some of the same layers.
#[derive(Debug, Serialize)]
struct Sharing {
    image_id: ImageId,
    tags: Vec<String>,
    bytes: u64,
}

impl Explanation {
    fn new(graph: &Graph, i: ImageIdx, decision: Decision) -> Explanation {
        let children = graph
            .children(i)
            .iter()
            .map(|&c| graph.image(c).id.clone())
            .collect();
        let mut sharing: Vec<Sharing> = graph
            .sharing(i)
            .into_iter()
            .map(|(other, bytes)| Sharing {
                image_id: graph.image(other).id.clone(),
                tags: graph.image(other).tags.clone(),
                bytes,
            })
            .collect();
        // Most bytes first; among equals, images a person can name before intermediate ones.
        sharing.sort_by_key(|s| (std::cmp::Reverse(s.bytes), s.tags.is_empty()));
        Explanation {
            image: ImageRow::new(graph, i),
            children,
            sharing,
            decision,
            trace: None,
        }
    }
}

fn render(
    explanation: &Explanation,
    selection: &str,
    now: shed_core::inventory::Timestamp,
) -> String {
    let image = &explanation.image;
    let mut lines = vec![
        format!("Image       {}", image.id),
        format!("Tags        {}", list_or_none(&image.tags)),
        format!("Digests     {}", list_or_none(&image.repo_digests)),
        format!(
            "Created     {} ({})",
            image.created.to_rfc3339(),
            age(image.created, now)
        ),
        format!(
            "Size        {} (unique {}, shared {})",
            size(image.size),
            size(image.unique_size),
            size(image.shared_size)
        ),
    ];
    let containers: Vec<String> = image
        .containers
        .iter()
        .map(|c| format!("{} ({})", c.name, c.state.as_str()))
        .collect();
    lines.push(format!("Containers  {}", list_or_none(&containers)));
    let parent = image
        .parent
        .as_ref()
        .map_or("-".to_owned(), |p| p.short().to_owned());
    lines.push(format!("Parent      {parent}"));
    let children: Vec<String> = explanation
        .children
        .iter()
        .map(|c| c.short().to_owned())
        .collect();
    lines.push(format!("Children    {}", list_or_none(&children)));
    lines.push("Shares      ".to_owned() + &sharing_text(&explanation.sharing));

    lines.push(String::new());
    let decision = &explanation.decision;
    lines.push(format!(
        "Decision    {} ({selection})",
        verdict_word(decision.verdict)
    ));
    if !decision.removed_references.is_empty() {
        lines.push(format!(
            "Removes     {}",
            decision.removed_references.join(", ")
        ));
    }
    lines.push(format!("Because     {}", reasons_cell(&decision.reasons)));
    if let Some(trace) = &explanation.trace {
        lines.push(String::new());
        lines.push(trace.trim_end().to_owned());
    }
    lines.join("\n") + "\n"
}

/// How many sharing images the text lists; `--format json` lists them all.
const SHARING_ROWS: usize = 8;

/// The images sharing layers with this one, most bytes first: the first few, then a count, so
/// that a base image used by hundreds of builds still fits a screen.
fn sharing_text(sharing: &[Sharing]) -> String {
    if sharing.is_empty() {
        return "no layers with other images".to_owned();
    }
    let mut rows: Vec<String> = sharing
        .iter()
        .take(SHARING_ROWS)
        .map(|s| {
            let name = s
                .tags
                .first()
                .cloned()
                .unwrap_or_else(|| s.image_id.short());
            format!("{} with {name}", size(s.bytes))
        })
        .collect();
    if sharing.len() > SHARING_ROWS {
        rows.push(format!(
            "… and {} more images (--format json lists them)",
            sharing.len() - SHARING_ROWS
        ));
    }
    rows.join("\n            ")
}

fn verdict_word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Keep => "keep",
        Verdict::Untag => "untag",
        Verdict::Delete => "delete",
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "-".to_owned()
    } else {
        items.join(", ")
    }
}
