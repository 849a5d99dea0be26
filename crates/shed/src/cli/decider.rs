//! What decides a run: prune's selection (with `--all` and `--filter`), or a policy file.
//!
//! The policy is found the way a person expects: `--policy FILE`, else `SHED_POLICY`, else
//! `shed.toml` in the working directory; `--no-policy` ignores both. Reading the file happens
//! here, in the shell; parsing and evaluating are the core's.

use std::path::{Path, PathBuf};

use anyhow::Result;
use shed_core::decide::{Decisions, Selection, decide};
use shed_core::graph::Graph;
use shed_core::inventory::Timestamp;
use shed_core::plan::Plan;
use shed_core::policy::{Limits, Policy, check_limits, evaluate, parse_policy};

use super::args::{CapArgs, SelectionArgs};
use super::error::bad_input;
use super::options;

/// The variable that names a policy file when `--policy` is not given.
const POLICY_VARIABLE: &str = "SHED_POLICY";

/// The policy file looked for in the working directory.
const DEFAULT_POLICY_FILE: &str = "shed.toml";

/// Decides images for one run.
#[derive(Debug)]
pub enum Decider {
    Prune(Selection),
    Policy(Box<Policy>),
}

impl Decider {
    /// The decider the flags ask for; filters are resolved against `now`.
    pub fn from_args(args: &SelectionArgs, now: Timestamp) -> Result<Decider> {
        match policy_path(args)? {
            Some(path) => Ok(Decider::Policy(Box::new(read_policy(&path)?))),
            None => Ok(Decider::Prune(options::selection(args, now)?)),
        }
    }

    pub fn decide(&self, graph: &Graph, now: Timestamp) -> Decisions {
        match self {
            Decider::Prune(selection) => decide(graph, selection),
            Decider::Policy(policy) => evaluate(graph, policy, now),
        }
    }

    /// In words, for the plan's header: `dangling images`, `policy shed.toml`.
    pub fn describe(&self) -> String {
        match self {
            Decider::Prune(selection) => selection.describe(),
            Decider::Policy(policy) => format!("policy {}", policy.file),
        }
    }

    /// Refuses a plan over the safety cap: the policy's, with each bound the flags give
    /// replacing the file's. Without a policy only the flags bound the run.
    pub fn check_cap(&self, plan: &Plan, graph: &Graph, cap: &CapArgs) -> Result<()> {
        let flags = cap_limits(cap)?;
        let limits = match self {
            Decider::Policy(policy) => policy.limits.overridden_by(&flags),
            Decider::Prune(_) => flags,
        };
        check_limits(plan, graph, &limits).map_err(|exceeded| {
            bad_input(format!(
                "refusing this plan: {exceeded}; raise the cap for this run with --max-images, \
                 --max-bytes or --max-percent"
            ))
        })
    }
}

/// The policy file to decide with, if any.
///
/// `--all` and `--filter` ask for prune's selection. When a policy is nevertheless in force
/// (`SHED_POLICY`, or a shed.toml here), dropping it silently would drop its protections too,
/// so that is refused: the user says `--no-policy` to mean it.
fn policy_path(args: &SelectionArgs) -> Result<Option<PathBuf>> {
    if args.no_policy {
        return Ok(None);
    }
    if let Some(path) = &args.policy {
        return Ok(Some(path.clone()));
    }
    let found = std::env::var_os(POLICY_VARIABLE)
        .filter(|p| !p.is_empty())
        .map(|path| (PathBuf::from(path), POLICY_VARIABLE))
        .or_else(|| {
            let local = Path::new(DEFAULT_POLICY_FILE);
            local
                .is_file()
                .then(|| (local.to_owned(), "the working directory"))
        });
    match found {
        Some((path, origin)) if args.all || !args.filters.is_empty() => Err(bad_input(format!(
            "--all and --filter select like docker image prune, but a policy is in force \
             ({} from {origin}); pass --no-policy to decide without it, or drop --all/--filter",
            path.display()
        ))),
        found => Ok(found.map(|(path, _)| path)),
    }
}

/// Reads and parses a policy file; every problem is reported, as bad input.
pub fn read_policy(path: &Path) -> Result<Policy> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad_input(format!("reading policy {}: {e}", path.display())))?;
    parse_policy(&text, &path.display().to_string()).map_err(|errors| bad_input(errors.to_string()))
}

/// The cap the flags set, each value checked with the rules of the policy file's `[limits]`.
/// Commands call it before any work, so that a bad flag is reported alone.
pub fn cap_limits(cap: &CapArgs) -> Result<Limits> {
    let max_bytes = cap
        .max_bytes
        .as_deref()
        .map(|text| {
            text.parse::<bytesize::ByteSize>()
                .map(|size| size.as_u64())
                .map_err(|e| bad_input(format!("--max-bytes {text:?}: {e}")))
        })
        .transpose()?;
    let limits = Limits {
        max_images: cap.max_images,
        max_bytes,
        max_percent: cap.max_percent,
    };
    // The core names the bound as the file does (`max_percent …`); here it is a flag.
    limits
        .validate()
        .map_err(|problem| bad_input(format!("--{}", problem.replacen("max_", "max-", 1))))?;
    Ok(limits)
}
