//! `shed apply`: show the plan, ask, carry it out through the executor, and report what the
//! engine's own accounting shows freed.

use std::io::{BufRead as _, Write as _};
use std::path::Path;

use anyhow::{Context as _, Result};
use shed::apply::{ApplyOptions, ApplyReport, Status, apply_with};
use shed::engine::Engine;
use shed::journal::Journal;
use shed_core::plan::Plan;
use shed_core::plan_file::parse_plan;

use super::args::{ApplyArgs, TableOrJson};
use super::decider::{Decider, cap_limits};
use super::error::{ExitStatus, bad_input};
use super::options::{Options, Source};
use super::{plan, print, source, to_json};
use crate::output;
use crate::output::table::Table;
use crate::output::units::size;
use crate::telemetry::stdin_is_terminal;

pub async fn run(options: &Options, args: &ApplyArgs) -> Result<ExitStatus> {
    let Source::Engine { host } = &options.source else {
        return Err(bad_input(
            "apply needs an engine; --from only works with ls, why, graph and plan",
        ));
    };
    cap_limits(&args.cap)?;
    if options.now.is_some() {
        // A plan for another time would let `min_age` and `until` be stepped around.
        return Err(bad_input(
            "--now only works with planning verbs, not with apply",
        ));
    }
    let (engine, plan, layers_read) = match &args.plan_file {
        Some(path) => {
            let (engine, plan) = saved_plan(host.as_deref(), path).await?;
            (engine, plan, None)
        }
        None => fresh_plan(options, args).await?,
    };

    if args.format == TableOrJson::Table {
        print(&output::plan::render(&plan, false))?;
    }
    if plan.actions.is_empty() {
        return finish(args, None);
    }
    if !args.yes && !confirm()? {
        eprintln!("Nothing applied.");
        return Ok(ExitStatus::Done);
    }

    let mut journal = Journal::open(&options.state_dir)
        .with_context(|| format!("opening the journal in {}", options.state_dir.display()))?;
    let bar = output::progress::apply_bar(plan.actions.len());
    let update = |done: usize, _total: usize| {
        if let Some(bar) = &bar {
            bar.set_position(done as u64);
        }
    };
    let apply_options = ApplyOptions {
        // The inventory's own figure is the "before" only when nothing waited between the read
        // and the run; after a confirmation, the engine is measured again.
        engine_layers_before: layers_read.filter(|_| args.yes),
        ..ApplyOptions::default()
    };
    let report = apply_with(&engine, &plan, &mut journal, apply_options, Some(&update)).await?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    finish(args, Some(&report))
}

/// Reads a plan saved by `shed plan -o FILE` and checks it was made for this engine.
async fn saved_plan(host: Option<&str>, path: &Path) -> Result<(Engine, Plan)> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad_input(format!("reading plan {}: {e}", path.display())))?;
    let plan = parse_plan(&text).map_err(|e| bad_input(format!("{}: {e}", path.display())))?;
    let engine = source::connect(host).await?;
    let identity = engine.identity().await?;
    if identity.data_root != plan.engine.data_root
        || identity.image_store != plan.engine.image_store
    {
        return Err(bad_input(format!(
            "{}: the plan was made for the engine with data root {} ({:?} store), not this one \
             ({}, {:?} store)",
            path.display(),
            plan.engine.data_root,
            plan.engine.image_store,
            identity.data_root,
            identity.image_store,
        )));
    }
    Ok((engine, plan))
}

/// Plans now from the selection flags, exactly as `shed plan` would; also returns the engine's
/// `LayersSize` as the inventory read it.
async fn fresh_plan(options: &Options, args: &ApplyArgs) -> Result<(Engine, Plan, Option<u64>)> {
    let loaded = source::load(options).await?;
    let decider = Decider::from_args(&args.selection, loaded.now)?;
    let plan = plan::make(&loaded, &decider);
    decider.check_cap(&plan, &loaded.graph, &args.cap)?;
    let layers_size = loaded.graph.inventory().disk.layers_size;
    let engine = loaded
        .engine
        .context("an engine source always yields an engine")?;
    Ok((engine, plan, Some(layers_size)))
}

/// Asks on the terminal; without one, refuses rather than guess.
fn confirm() -> Result<bool> {
    if !stdin_is_terminal() {
        return Err(bad_input(
            "refusing to apply without confirmation: stdin is not a terminal; pass --yes",
        ));
    }
    eprint!("Apply this plan? [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

/// Prints the summary (or the JSON report) and picks the exit status: 3 when anything was
/// skipped, 1 when anything failed.
fn finish(args: &ApplyArgs, report: Option<&ApplyReport>) -> Result<ExitStatus> {
    let empty = ApplyReport::empty();
    let report = report.unwrap_or(&empty);
    match args.format {
        TableOrJson::Json => print(&to_json(report)?)?,
        TableOrJson::Table => print(&summary(report))?,
    }
    Ok(if report.failed > 0 {
        ExitStatus::Failure
    } else if report.skipped > 0 {
        ExitStatus::Skipped
    } else {
        ExitStatus::Done
    })
}

fn summary(report: &ApplyReport) -> String {
    let mut out = String::new();
    let troubled: Vec<_> = report
        .actions
        .iter()
        .filter(|a| a.status != Status::Done)
        .collect();
    if !troubled.is_empty() {
        let mut table = Table::new(&["NOT DONE", "ACTION", "IMAGE ID", "REFERENCES", "WHY"]);
        for outcome in troubled {
            table.row(vec![
                status_word(outcome.status).to_owned(),
                outcome.kind.as_str().to_owned(),
                outcome.image_id.short().to_owned(),
                outcome.references.join(", "),
                outcome.message.clone().unwrap_or_default(),
            ]);
        }
        out.push('\n');
        out.push_str(&table.render());
    }
    let freed = match report.engine_freed_bytes {
        Some(bytes) => format!("Freed {} by the engine's layer total", size(bytes)),
        None => "The engine could not be measured afterwards".to_owned(),
    };
    out.push_str(&format!(
        "\nApplied: {} done, {} skipped, {} failed. {freed} (the plan promised {}).\n",
        report.done,
        report.skipped,
        report.failed,
        size(report.promised_bytes),
    ));
    out
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Done => "done",
        Status::Skipped => "skipped",
        Status::Failed => "failed",
    }
}
