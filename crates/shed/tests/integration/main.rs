//! shed's integration tests: one test binary, run against a private Docker Engine.
//!
//! Run them with `scripts/test`, which starts the engine and sets `SHED_TEST_DOCKER_HOST`; the
//! harness in [`common`] refuses to run against any other engine.

mod cli_offline;
mod common;
mod engine_backend;
mod hosts;
mod policy_matrix;
mod scenarios;
