//! `shed`: the command-line entry point. It parses the command line, runs one verb (see
//! [`cli::run`], a table of verbs) and turns the outcome into an exit status.

mod cli;
mod output;
mod telemetry;

use std::process::ExitCode;

use clap::Parser as _;

use cli::args::Cli;
use cli::error::ExitStatus;

fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init_logging();

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("shed: starting the async runtime: {e}");
            return ExitCode::from(ExitStatus::Failure as u8);
        }
    };
    let status = match runtime.block_on(cli::run(cli)) {
        Ok(status) => status,
        Err(error) => {
            eprintln!("shed: {error:#}");
            ExitStatus::of_error(&error)
        }
    };
    ExitCode::from(status as u8)
}
