//! What decides a run: prune's selection (with `--all` and `--filter`), or a policy file.
//!
//! The policy is found the way a person expects: `--policy FILE`, else `SHED_POLICY`, else
//! `shed.toml` in the working directory; `--no-policy` ignores both. Reading the file happens
//! here, in the shell; parsing and evaluating are the core's.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
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
        match policy_path(args) {
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

    /// Refuses a plan over the policy's safety cap, as raised or lowered by the flags. Prune's
    /// selection has no cap: it removes what `docker image prune` would.
    pub fn check_cap(&self, plan: &Plan, graph: &Graph, cap: &CapArgs) -> Result<()> {
        let Decider::Policy(policy) = self else {
            return Ok(());
        };
        let limits = policy.limits.overridden_by(&cap_limits(cap)?);
        check_limits(plan, graph, &limits).map_err(|exceeded| {
            bad_input(format!(
                "refusing this plan: {exceeded}; raise the cap for this run with --max-images, \
                 --max-bytes or --max-percent"
            ))
        })
    }
}

fn policy_path(args: &SelectionArgs) -> Option<PathBuf> {
    if args.no_policy {
        return None;
    }
    if let Some(path) = &args.policy {
        return Some(path.clone());
    }
    // `--all` and `--filter` ask for prune's selection: neither SHED_POLICY nor a shed.toml
    // nearby overrides an explicit request.
    if args.all || !args.filters.is_empty() {
        return None;
    }
    if let Some(path) = std::env::var_os(POLICY_VARIABLE).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let local = Path::new(DEFAULT_POLICY_FILE);
    local.is_file().then(|| local.to_owned())
}

/// Reads and parses a policy file; every problem is reported, as bad input.
pub fn read_policy(path: &Path) -> Result<Policy> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading policy {}", path.display()))?;
    parse_policy(&text, &path.display().to_string()).map_err(|errors| bad_input(errors.to_string()))
}

fn cap_limits(cap: &CapArgs) -> Result<Limits> {
    let max_bytes = cap
        .max_bytes
        .as_deref()
        .map(|text| {
            text.parse::<bytesize::ByteSize>()
                .map(|size| size.as_u64())
                .map_err(|e| bad_input(format!("--max-bytes {text:?}: {e}")))
        })
        .transpose()?;
    Ok(Limits {
        max_images: cap.max_images,
        max_bytes,
        max_percent: cap.max_percent,
    })
}
