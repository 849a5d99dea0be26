//! Logs and terminal detection.
//!
//! Logs go to stderr through tracing, filtered by `RUST_LOG` (default: warnings and errors),
//! so stdout carries only the table or JSON a command prints. Progress bars and questions
//! appear only when the stream they use is a terminal.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the stderr subscriber. Call once, first thing.
pub fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}

/// Whether progress bars may be drawn: only on a terminal, never in a pipe or a log file.
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// Whether the user can be asked a question.
pub fn stdin_is_terminal() -> bool {
    std::io::stdin().is_terminal()
}
