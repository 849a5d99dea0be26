//! The command line: parsing, wiring and output. It holds no decision logic of its own: each
//! verb loads an inventory, asks the core, and prints the answer (or, for `apply`, hands the
//! plan to the executor).

pub mod args;
pub mod error;
pub mod options;

mod apply;
mod decider;
mod graph;
mod history;
mod ls;
mod plan;
mod policy;
mod snapshot;
mod source;
mod why;

use anyhow::Result;

use args::{Cli, Command, PolicyCommand};
use error::ExitStatus;
use options::Options;

/// Runs one command and returns the exit status it earned.
pub async fn run(cli: Cli) -> Result<ExitStatus> {
    let options = Options::from_args(&cli.global)?;
    match cli.command {
        Command::Ls(args) => ls::run(&options, &args).await,
        Command::Why(args) => why::run(&options, &args).await,
        Command::Graph(args) => graph::run(&options, &args).await,
        Command::Plan(args) => plan::run(&options, &args).await,
        Command::Apply(args) => apply::run(&options, &args).await,
        Command::Snapshot => snapshot::run(&options).await,
        Command::History(args) => history::run(&options, &args),
        Command::Policy(PolicyCommand::Check { file }) => policy::check(&file),
    }
}

/// Writes `text` to stdout. A closed pipe (`shed ls | head`) ends the output quietly.
fn print(text: &str) -> Result<()> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// Serializes `value` as pretty JSON with a final newline.
fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    Ok(text)
}
