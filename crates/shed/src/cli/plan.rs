//! `shed plan`: decide, order the actions, and show them with their reasons and bytes.

use anyhow::{Context as _, Result};
use shed_core::decide::Decisions;
use shed_core::graph::Graph;
use shed_core::plan::{Plan, make_plan};
use shed_core::plan_file::write_plan;

use super::args::{PlanArgs, TableOrJson};
use super::decider::{Decider, cap_limits};
use super::error::ExitStatus;
use super::options::Options;
use super::print;
use super::source::{self, Loaded};
use crate::output;

pub async fn run(options: &Options, args: &PlanArgs) -> Result<ExitStatus> {
    cap_limits(&args.cap)?;
    let loaded = source::load(options).await?;
    let decider = Decider::from_args(&args.selection, loaded.now)?;
    let plan = make(&loaded, &decider);
    if let Err(refusal) = decider.check_cap(&plan, &loaded.graph, &args.cap) {
        // Show what the plan would do, so the figures in the refusal can be checked.
        print(&output::plan::render(&plan, args.verbose))?;
        return Err(refusal);
    }

    if let Some(path) = &args.output {
        std::fs::write(path, write_plan(&plan))
            .with_context(|| format!("writing the plan to {}", path.display()))?;
    }
    let text = match args.format {
        TableOrJson::Table => output::plan::render(&plan, args.verbose),
        TableOrJson::Json => write_plan(&plan),
    };
    print(&text)?;
    Ok(ExitStatus::Done)
}

/// Decides over the loaded inventory and makes the plan, logging each decision at debug level.
pub fn make(loaded: &Loaded, decider: &Decider) -> Plan {
    let decisions = decider.decide(&loaded.graph, loaded.now);
    log_decisions(&loaded.graph, &decisions);
    make_plan(&loaded.graph, &decisions, &decider.describe(), loaded.now)
}

/// One debug event per image, with the same reason text `shed why` prints.
fn log_decisions(graph: &Graph, decisions: &Decisions) {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    for (i, decision) in decisions.iter() {
        let image = graph.image(i);
        tracing::debug!(
            image = image.id.short(),
            tags = ?image.tags,
            verdict = ?decision.verdict,
            reason = %output::plan::reasons_cell(&decision.reasons),
            "decision"
        );
    }
}
