//! The command line as clap parses it: raw strings and flags, nothing validated yet.
//!
//! [`super::options`] turns these into the validated options the commands receive; clap's
//! types stay in this module.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// shed deletes container images safely and explains every decision.
#[derive(Debug, Parser)]
#[command(name = "shed", version, about, after_help = EXIT_STATUS_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

const EXIT_STATUS_HELP: &str = "\
Exit status: 0 done, 1 failure, 2 bad input or usage, 3 applied with skipped actions.
Logs go to stderr; set RUST_LOG=debug to see every decision and its reason.";

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The engine to talk to (unix:///path/to/docker.sock or tcp://host:port)
    #[arg(
        short = 'H',
        long,
        global = true,
        env = "DOCKER_HOST",
        value_name = "HOST"
    )]
    pub host: Option<String>,

    /// Read the inventory from a snapshot file instead of an engine
    #[arg(long, global = true, value_name = "FILE")]
    pub from: Option<PathBuf>,

    /// Plan as of this time (RFC 3339) instead of now; with --from, the snapshot's time
    #[arg(long, global = true, value_name = "TIME")]
    pub now: Option<String>,

    /// Where the journal and the apply lock live
    #[arg(long, global = true, env = "SHED_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List images, like `docker images -a`, with usage and shared sizes
    Ls(LsArgs),
    /// Explain one image: references, containers, parent, children, shared layers, decision
    Why(WhyArgs),
    /// Draw images, references, containers and parent links as Graphviz dot or Mermaid
    Graph(GraphArgs),
    /// Show what would be deleted, untagged and kept, why, and the bytes it frees
    Plan(PlanArgs),
    /// Carry out a plan: the one made now from the same flags as `plan`, or a saved one
    Apply(ApplyArgs),
    /// Write the inventory as a JSON snapshot to stdout
    Snapshot,
    /// List past applies from the journal
    History(HistoryArgs),
    /// Work with policy files
    #[command(subcommand)]
    Policy(PolicyCommand),
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Parse and validate a policy file without touching an engine (exit status 2 on errors)
    Check {
        /// The policy file
        file: PathBuf,
    },
}

/// Which images a run selects. Shared by `why`, `plan` and `apply`.
///
/// Without a policy, shed selects what `docker image prune` would (`--all`: `prune -a`),
/// narrowed by prune's filters. With a policy (`--policy`, `SHED_POLICY`, or `shed.toml` in the
/// working directory), the policy's rules decide instead.
#[derive(Debug, Args, Clone, Default)]
pub struct SelectionArgs {
    /// Select every image no container uses, not only dangling ones (like `prune -a`)
    #[arg(short, long, conflicts_with = "policy")]
    pub all: bool,

    /// Prune filters: until=<timestamp|duration>, label=<key>[=<value>], label!=<key>[=<value>]
    #[arg(long = "filter", value_name = "FILTER", conflicts_with = "policy")]
    pub filters: Vec<String>,

    /// Decide with this policy file (default: $SHED_POLICY, else ./shed.toml if present)
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,

    /// Ignore ./shed.toml and decide like `docker image prune`
    #[arg(long, conflicts_with = "policy")]
    pub no_policy: bool,
}

/// Raise (or lower) the policy's safety cap for this run.
#[derive(Debug, Args, Clone, Default)]
pub struct CapArgs {
    /// Allow deleting at most N images in this run
    #[arg(long, value_name = "N")]
    pub max_images: Option<usize>,

    /// Allow freeing at most SIZE in this run (500MB, 1.2GB)
    #[arg(long, value_name = "SIZE")]
    pub max_bytes: Option<String>,

    /// Allow deleting at most this percentage of the images present
    #[arg(long, value_name = "PERCENT")]
    pub max_percent: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableOrJson {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Dot,
    Mermaid,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// dangling=true|false, label=<key>[=<value>], reference=<glob>
    #[arg(long = "filter", value_name = "FILTER")]
    pub filters: Vec<String>,

    #[arg(long, value_enum, default_value_t = TableOrJson::Table)]
    pub format: TableOrJson,
}

#[derive(Debug, Args)]
pub struct WhyArgs {
    /// A tag (`golang:1.22`), a repo digest, or an image ID or ID prefix
    pub reference: String,

    #[command(flatten)]
    pub selection: SelectionArgs,

    #[arg(long, value_enum, default_value_t = TableOrJson::Table)]
    pub format: TableOrJson,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Draw only this image and what is connected to it
    pub reference: Option<String>,

    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub selection: SelectionArgs,

    #[command(flatten)]
    pub cap: CapArgs,

    #[arg(long, value_enum, default_value_t = TableOrJson::Table)]
    pub format: TableOrJson,

    /// Also write the plan as JSON to FILE, for `shed apply FILE`
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// List every kept image, not only the first ones
    #[arg(short, long)]
    pub verbose: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved by `shed plan -o FILE`; without it, plan now from the selection flags
    #[arg(conflicts_with_all = ["all", "filters", "policy", "no_policy"])]
    pub plan_file: Option<PathBuf>,

    #[command(flatten)]
    pub selection: SelectionArgs,

    #[command(flatten)]
    pub cap: CapArgs,

    /// Do not ask for confirmation
    #[arg(short, long)]
    pub yes: bool,

    #[arg(long, value_enum, default_value_t = TableOrJson::Table)]
    pub format: TableOrJson,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[arg(long, value_enum, default_value_t = TableOrJson::Table)]
    pub format: TableOrJson,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
