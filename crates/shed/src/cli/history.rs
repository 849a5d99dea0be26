//! `shed history`: past applies as the journal recorded them, and any action an interrupted
//! apply started but never finished.

use anyhow::{Context as _, Result};
use serde::Serialize;
use shed::journal::{Entry, Journal, Phase, Run};

use super::args::{HistoryArgs, TableOrJson};
use super::error::ExitStatus;
use super::options::Options;
use super::{print, to_json};
use crate::output::table::Table;

#[derive(Debug, Serialize)]
struct History {
    runs: Vec<RunWithEntries>,
    interrupted: Vec<Entry>,
}

#[derive(Debug, Serialize)]
struct RunWithEntries {
    #[serde(flatten)]
    run: Run,
    entries: Vec<Entry>,
}

pub fn run(options: &Options, args: &HistoryArgs) -> Result<ExitStatus> {
    let journal = Journal::open(&options.state_dir)
        .with_context(|| format!("opening the journal in {}", options.state_dir.display()))?;
    let runs = journal
        .runs()?
        .into_iter()
        .map(|run| {
            Ok(RunWithEntries {
                entries: journal.entries(run.id)?,
                run,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let history = History {
        runs,
        interrupted: journal.interrupted()?,
    };

    let text = match args.format {
        TableOrJson::Json => to_json(&history)?,
        TableOrJson::Table => render(&history),
    };
    print(&text)?;
    Ok(ExitStatus::Done)
}

fn render(history: &History) -> String {
    let mut table = Table::new(&[
        "RUN",
        "STARTED",
        "FINISHED",
        "ACTIONS",
        "DONE",
        "SKIPPED",
        "FAILED",
        "SELECTION",
    ]);
    for RunWithEntries { run, entries } in &history.runs {
        let count = |phase| {
            entries
                .iter()
                .filter(|e| e.phase == phase)
                .count()
                .to_string()
        };
        table.row(vec![
            run.id.to_string(),
            run.started_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            run.finished_at.map_or("-".to_owned(), |t| {
                t.format("%Y-%m-%d %H:%M:%S").to_string()
            }),
            run.actions.to_string(),
            count(Phase::Done),
            count(Phase::Skipped),
            count(Phase::Failed),
            run.selection.clone(),
        ]);
    }
    let mut out = if table.is_empty() {
        "No applies recorded.\n".to_owned()
    } else {
        table.render()
    };
    if !history.interrupted.is_empty() {
        out.push_str("\nStarted but never finished (an interrupted apply):\n");
        for entry in &history.interrupted {
            out.push_str(&format!(
                "  run {} #{} {} {} {}\n",
                entry.run,
                entry.seq,
                entry.kind,
                entry.image_id,
                entry.references.join(", ")
            ));
        }
    }
    out
}
