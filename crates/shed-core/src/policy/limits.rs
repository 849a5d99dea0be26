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
            bytesize::ByteSize::b(self.bytes),
            self.exceeded.join(", ")
        )
    }
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
        exceeded.push(format!("max_bytes = {}", bytesize::ByteSize::b(max)));
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
