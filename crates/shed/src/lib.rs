//! shed's imperative shell: the engine backend, the executor and the journal.
//!
//! Everything here does I/O around the pure core in `shed-core`: [`engine`] reads an inventory
//! from a Docker Engine and carries out single actions, [`apply`] runs a plan against it (with
//! the engine calls for each action from [`removal`]), and [`journal`] records every action in
//! the state directory.

pub mod apply;
pub mod engine;
pub mod journal;
pub mod removal;

use shed_core::inventory::Timestamp;

/// The current time, read from the system clock.
///
/// The core never reads a clock (its `now` is a parameter); the shell reads it here, once per
/// use, so that the one place shed asks for the time is easy to find.
#[allow(
    clippy::disallowed_methods,
    reason = "the shell is where the clock is read"
)]
pub fn now() -> Timestamp {
    chrono::Utc::now()
}
