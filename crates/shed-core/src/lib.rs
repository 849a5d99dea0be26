//! shed's pure core.
//!
//! Data flows one way: an [`inventory::Inventory`] (read by a backend, or from a snapshot) is
//! indexed into a [`graph::Graph`]; a selection or a policy turns it into decisions; the
//! decisions become a [`plan::Plan`]. Nothing here does I/O, reads a clock or runs async code:
//! the current time is always a parameter, so the same inventory, selection and time give the
//! same plan, byte for byte. The shell crate (`shed`) reads inventories and applies plans.

pub mod decide;
pub mod engine_time;
pub mod filter;
pub mod graph;
pub mod ids;
pub mod inventory;
pub mod json_file;
pub mod plan;
pub mod plan_file;
pub mod policy;
pub mod reference;
pub mod snapshot;
pub mod tag;
pub mod testkit;
pub mod units;
