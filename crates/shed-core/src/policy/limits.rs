//! The safety cap: a bound on what one run may delete, so that a typo in a glob cannot empty a
//! host. A plan above any bound is refused with the figures; the user may raise the cap on the
//! command line ([`Limits::overridden_by`]).

use std::fmt;

use crate::graph::Graph;
use crate::plan::Plan;

use super::Limits;

/// A plan over the cap, with the figures.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct CapExceeded {
    pub images_deleted: usize,
    pub images_present: usize,
    pub bytes: u64,
    /// Every bound the plan is over, as `max_images = 10`.
    pub exceeded: Vec<String>,
}

impl CapExceeded {
    /// The share of the images present that the plan deletes, in percent.
    pub fn percent(&self) -> f64 {
        percent(self.images_deleted, self.images_present)
    }
}

impl fmt::Display for CapExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the plan deletes {} of {} images ({:.1} %) and frees {}, over the cap {}",
            self.images_deleted,
            self.images_present,
            self.percent(),
            crate::units::size(self.bytes),
            self.exceeded.join(", ")
        )
    }
}

impl Limits {
    /// Checks every bound set: `max_images` and `max_bytes` at least 1, `max_percent` from 0 to
    /// 100. The policy file is checked by the same rules when it is parsed; this is for bounds
    /// from elsewhere (the command line). The error names the first bad bound by its key:
    /// `max_percent must be between 0 and 100, found 250`.
    pub fn validate(&self) -> Result<(), String> {
        let problems = [
            self.max_images
                .and_then(max_images_problem)
                .map(|p| format!("max_images {p}")),
            self.max_bytes
                .and_then(max_bytes_problem)
                .map(|p| format!("max_bytes {p}")),
            self.max_percent
                .and_then(max_percent_problem)
                .map(|p| format!("max_percent {p}")),
        ];
        match problems.into_iter().flatten().next() {
            Some(problem) => Err(problem),
            None => Ok(()),
        }
    }
}

/// What is wrong with a `max_images` bound: zero would refuse every plan that deletes anything,
/// which is what not running shed does.
pub(crate) fn max_images_problem(max: usize) -> Option<String> {
    (max == 0).then(|| "must be at least 1, found 0".to_owned())
}

/// What is wrong with a `max_bytes` bound (zero, as for `max_images`).
pub(crate) fn max_bytes_problem(max: u64) -> Option<String> {
    (max == 0).then(|| "must be at least 1 byte, found 0".to_owned())
}

/// What is wrong with a `max_percent` bound: outside 0 to 100, or not a number.
pub(crate) fn max_percent_problem(max: f64) -> Option<String> {
    (!(0.0..=100.0).contains(&max)).then(|| format!("must be between 0 and 100, found {max}"))
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// Refuses a plan that deletes more images, bytes or percent of the images present than
/// `limits` allow. `limits` is the policy's cap with the command line's applied:
/// `policy.limits.overridden_by(&from_flags)`. Bounds left unset do not limit.
pub fn check_limits(plan: &Plan, graph: &Graph, limits: &Limits) -> Result<(), CapExceeded> {
    let images_deleted = plan.totals.images_deleted;
    let images_present = graph.image_count();
    let bytes = plan.totals.bytes;
    let mut exceeded = Vec::new();
    if let Some(max) = limits.max_images
        && images_deleted > max
    {
        exceeded.push(format!("max_images = {max}"));
    }
    if let Some(max) = limits.max_bytes
        && bytes > max
    {
        exceeded.push(format!("max_bytes = {}", crate::units::size(max)));
    }
    if let Some(max) = limits.max_percent
        && percent(images_deleted, images_present) > max
    {
        exceeded.push(format!("max_percent = {max}"));
    }
    if exceeded.is_empty() {
        Ok(())
    } else {
        Err(CapExceeded {
            images_deleted,
            images_present,
            bytes,
            exceeded,
        })
    }
}
