//! `shed graph`: images, references, containers and parent links as a picture description,
//! in Graphviz dot or Mermaid, so a person can look at the graph instead of reading it.
//!
//! Images are boxes labelled with their short ID and size; each tag and repo digest is a note
//! pointing at its image; containers are ellipses pointing at their image; a parent link points
//! from the child to the parent. With a reference, only the images connected to it by parent
//! links are drawn (its ancestors and descendants), with their references and containers.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use shed_core::graph::{Graph, ImageIdx};

use super::units::size;

/// The images to draw: all, or the family of `root`.
pub fn family(graph: &Graph, root: Option<ImageIdx>) -> BTreeSet<ImageIdx> {
    let Some(root) = root else {
        return graph.images().collect();
    };
    let mut members = BTreeSet::from([root]);
    let mut up = graph.parent(root);
    while let Some(parent) = up {
        members.insert(parent);
        up = graph.parent(parent);
    }
    let mut stack = vec![root];
    while let Some(image) = stack.pop() {
        for &child in graph.children(image) {
            if members.insert(child) {
                stack.push(child);
            }
        }
    }
    members
}

/// Graphviz dot.
pub fn dot(graph: &Graph, images: &BTreeSet<ImageIdx>) -> String {
    let mut out = String::from("digraph shed {\n  rankdir=LR;\n  node [fontname=\"monospace\"];\n");
    for &i in images {
        let image = graph.image(i);
        let id = image.id.short();
        let label = format!("{id}\\n{}", size(image.size));
        let _ = writeln!(out, "  \"img_{id}\" [shape=box, label=\"{label}\"];");
        for reference in image.references() {
            let _ = writeln!(
                out,
                "  \"ref_{reference}\" [shape=note, label=\"{reference}\"];"
            );
            let _ = writeln!(out, "  \"ref_{reference}\" -> \"img_{id}\";");
        }
        for &c in graph.containers_of(i) {
            let container = graph.container(c);
            let name = container.display_name();
            let state = container.state.as_str();
            let _ = writeln!(
                out,
                "  \"ctr_{name}\" [shape=ellipse, label=\"{name}\\n{state}\"];"
            );
            let _ = writeln!(out, "  \"ctr_{name}\" -> \"img_{id}\";");
        }
        if let Some(parent) = graph.parent(i) {
            let parent_id = graph.image(parent).id.short();
            let _ = writeln!(
                out,
                "  \"img_{id}\" -> \"img_{parent_id}\" [label=\"parent\", style=dashed];"
            );
        }
    }
    out.push_str("}\n");
    out
}

/// Mermaid flowchart.
pub fn mermaid(graph: &Graph, images: &BTreeSet<ImageIdx>) -> String {
    let mut out = String::from("flowchart LR\n");
    let mut next_ref = 0usize;
    for &i in images {
        let image = graph.image(i);
        let id = image.id.short();
        let _ = writeln!(out, "  img_{id}[\"{id}<br/>{}\"]", size(image.size));
        for reference in image.references() {
            let _ = writeln!(
                out,
                "  ref{next_ref}>\"{}\"] --> img_{id}",
                mermaid_text(reference)
            );
            next_ref += 1;
        }
        for &c in graph.containers_of(i) {
            let container = graph.container(c);
            let short = container.id.short();
            let name = mermaid_text(container.display_name());
            let state = container.state.as_str();
            let _ = writeln!(out, "  ctr_{short}([\"{name}<br/>{state}\"]) --> img_{id}");
        }
        if let Some(parent) = graph.parent(i) {
            let _ = writeln!(
                out,
                "  img_{id} -. parent .-> img_{}",
                graph.image(parent).id.short()
            );
        }
    }
    out
}

/// Mermaid breaks on quotes inside labels; references and names never contain them, but a
/// hand-edited snapshot could.
fn mermaid_text(text: &str) -> String {
    text.replace('"', "#quot;")
}
