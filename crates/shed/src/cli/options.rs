//! Validated options: what the commands receive once the raw command line has been checked.

use std::path::PathBuf;

use anyhow::Result;
use chrono::{DateTime, FixedOffset, Local, Offset};
use shed_core::decide::Selection;
use shed_core::filter::PruneFilters;
use shed_core::inventory::Timestamp;

use super::args::{GlobalArgs, SelectionArgs};
use super::error::bad_input;

/// Where the inventory comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A live engine; `None` means `DOCKER_HOST` or the default socket.
    Engine { host: Option<String> },
    /// A snapshot file written by `shed snapshot`.
    Snapshot(PathBuf),
}

/// The options every command shares.
#[derive(Debug, Clone)]
pub struct Options {
    pub source: Source,
    /// The time to plan for, when the user gave one.
    pub now: Option<Timestamp>,
    pub state_dir: PathBuf,
}

impl Options {
    pub fn from_args(global: &GlobalArgs) -> Result<Options> {
        let source = match &global.from {
            Some(path) => Source::Snapshot(path.clone()),
            None => Source::Engine {
                host: global.host.clone(),
            },
        };
        let now = global.now.as_deref().map(parse_now).transpose()?;
        let state_dir = global.state_dir.clone().unwrap_or_else(default_state_dir);
        Ok(Options {
            source,
            now,
            state_dir,
        })
    }
}

fn parse_now(text: &str) -> Result<Timestamp> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.to_utc())
        .map_err(|e| {
            bad_input(format!(
                "--now {text:?}: {e}; expected RFC 3339, e.g. 2026-01-31T12:00:00Z"
            ))
        })
}

/// `$XDG_STATE_HOME/shed`, else `~/.local/state/shed`, else `/var/lib/shed`.
fn default_state_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("shed");
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(home) => PathBuf::from(home).join(".local/state/shed"),
        None => PathBuf::from("/var/lib/shed"),
    }
}

/// The selection of `why`, `plan` and `apply`, with filters resolved against `now` and the
/// local time zone (the engine reads zone-less timestamps in local time too).
pub fn selection(args: &SelectionArgs, now: Timestamp) -> Result<Selection> {
    let filters = PruneFilters::parse(&args.filters, now, local_offset(now))
        .map_err(|e| bad_input(format!("--filter: {e}")))?;
    Ok(Selection {
        all: args.all,
        filters,
    })
}

fn local_offset(now: Timestamp) -> FixedOffset {
    now.with_timezone(&Local).offset().fix()
}
