//! `shed policy check FILE`: parse and validate a policy without touching an engine.

use std::path::Path;

use anyhow::Result;

use super::decider::read_policy;
use super::error::ExitStatus;
use super::print;

pub fn check(file: &Path) -> Result<ExitStatus> {
    let policy = read_policy(file)?;
    let rules = policy.rules.len();
    print(&format!(
        "{}: ok ({rules} {}, default {})\n",
        file.display(),
        if rules == 1 { "rule" } else { "rules" },
        policy.default.as_str()
    ))?;
    Ok(ExitStatus::Done)
}
