//! How a failure maps to an exit status.
//!
//! Bad input (a malformed snapshot, plan file or filter, a wrong usage) exits 2 and changes
//! nothing; any other failure exits 1. Code that detects bad input wraps its error in
//! [`BadInput`]; `main` looks for it anywhere in the error's chain.

use std::fmt;

/// Marks an error as the user's input being wrong (exit status 2).
#[derive(Debug)]
pub struct BadInput(pub String);

impl fmt::Display for BadInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// Builds an `anyhow::Error` marked as bad input.
pub fn bad_input(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(BadInput(message.into()))
}

/// The documented exit statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Done = 0,
    Failure = 1,
    BadInput = 2,
    Skipped = 3,
}

impl ExitStatus {
    /// The status for an error: 2 when any error in its chain is [`BadInput`], else 1.
    pub fn of_error(error: &anyhow::Error) -> ExitStatus {
        if error.chain().any(|cause| cause.is::<BadInput>()) {
            ExitStatus::BadInput
        } else {
            ExitStatus::Failure
        }
    }
}
