//! Logs and terminal detection.
//!
//! Logs go to stderr through tracing, filtered by `RUST_LOG` (default: warnings and errors),
//! so stdout carries only the table or JSON a command prints. Progress bars and questions
//! appear only when the stream they use is a terminal.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the stderr subscriber. Call once, first thing.
pub fn init_logging() {
    let directives = log_directives(std::env::var("RUST_LOG").ok().as_deref());
    let filter = EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}

/// The filter for `RUST_LOG`. A bare level (`RUST_LOG=debug`) applies to shed's own crates
/// only: at debug, the HTTP client logs every answer of the engine, which would bury shed's
/// decisions. Anything with a target (`RUST_LOG=bollard=debug,shed=debug`) is used as written.
fn log_directives(rust_log: Option<&str>) -> String {
    match rust_log.map(str::trim) {
        None | Some("") => "warn".to_owned(),
        Some(level) if !level.contains(['=', ',', ':']) => {
            format!("warn,shed={level},shed_core={level}")
        }
        Some(directives) => directives.to_owned(),
    }
}

/// Whether progress bars may be drawn: only on a terminal, never in a pipe or a log file.
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// Whether the user can be asked a question.
pub fn stdin_is_terminal() -> bool {
    std::io::stdin().is_terminal()
}

#[cfg(test)]
mod tests {
    use super::log_directives;

    #[test]
    fn a_bare_level_applies_to_shed_only() {
        assert_eq!(log_directives(None), "warn");
        assert_eq!(
            log_directives(Some("debug")),
            "warn,shed=debug,shed_core=debug"
        );
        assert_eq!(log_directives(Some("bollard=debug")), "bollard=debug");
    }
}
