//! Progress bars on stderr, drawn only when stderr is a terminal: a pipe or a log file gets
//! nothing but the final output.

use indicatif::{ProgressBar, ProgressStyle};
use shed::engine::Stage;

use crate::telemetry::stderr_is_terminal;

/// A bar for reading an inventory, or `None` when stderr is not a terminal.
#[derive(Debug)]
pub struct InventoryProgress {
    bar: ProgressBar,
}

impl InventoryProgress {
    pub fn new() -> Option<InventoryProgress> {
        stderr_is_terminal().then(|| InventoryProgress {
            bar: bar("reading"),
        })
    }

    /// The callback the engine backend calls as it reads.
    pub fn update(&self, stage: Stage, done: usize, total: usize) {
        let what = match stage {
            Stage::Images => "images",
            Stage::Containers => "containers",
        };
        self.bar.set_message(what);
        self.bar.set_length(total as u64);
        self.bar.set_position(done as u64);
    }

    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}

/// A bar counting the actions of an apply, or `None` when stderr is not a terminal.
pub fn apply_bar(actions: usize) -> Option<ProgressBar> {
    stderr_is_terminal().then(|| {
        let bar = bar("applying");
        bar.set_length(actions as u64);
        bar
    })
}

fn bar(prefix: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(0);
    // The template is a constant; it parses.
    if let Ok(style) = ProgressStyle::with_template("{prefix} {msg} {wide_bar} {pos}/{len}") {
        bar.set_style(style);
    }
    bar.set_prefix(prefix);
    bar
}
