//! Subcommands, their arguments (clap derive) and exit codes.

mod plan;
mod progress;
mod run;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit codes, documented in `--help` and the README.
pub mod exit {
    /// Something went wrong that is not the input's fault (a disk full, a bug).
    pub const FAILURE: u8 = 1;
    /// The input is wrong: a config, a data or results file, or the arguments.
    pub const BAD_INPUT: u8 = 2;
}

const AFTER_HELP: &str = "\
Exit codes: 0 done; 1 failure (I/O, ...); 2 bad input (config, data or results file, arguments).

Start with `nnsweep plan configs/circles.toml`, then `nnsweep run configs/circles.toml`.";

/// Train grids of small sigmoid networks in parallel and tabulate how they overfit.
///
/// A sweep file (TOML) names a dataset, a training recipe and a grid of hidden-layer sizes ×
/// learning rates × seeds. `run` trains every network of the grid on all cores and appends one
/// CSV row per finished run; `plan` checks the file and lists the runs first.
#[derive(Parser)]
#[command(name = "nnsweep", version, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train every run of a sweep and append one CSV row per finished run.
    ///
    /// Rows go to results/<name>.csv (name from the sweep file) as each run ends; a table of
    /// train accuracy, test accuracy and their gap, mean ± sd over seeds, ends the sweep.
    /// Runs already in the results file (same run id, same config hash) are not trained again.
    Run(run::RunArgs),
    /// Check a sweep file and list its runs (parameters, sizes, FLOPs) without training.
    Plan(plan::PlanArgs),
}

/// The config path argument shared by the subcommands.
#[derive(clap::Args)]
struct ConfigArg {
    /// The sweep file (TOML), e.g. configs/circles.toml.
    config: PathBuf,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Plan(args) => plan::plan(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(exit_code(&error))
        }
    }
}

/// Bad input is exit code 2, anything else 1: a batch script can tell "fix your file" from
/// "try again".
fn exit_code(error: &anyhow::Error) -> u8 {
    let bad_input = error.chain().any(|cause| {
        cause.is::<nnsweep::config::ConfigError>()
            || cause.is::<nnsweep::results::ReadError>()
            || cause.is::<nnsweep::report::ReportError>()
            || cause.is::<nnsweep::data::DataError>()
            || cause.is::<BadInput>()
    });
    if bad_input {
        exit::BAD_INPUT
    } else {
        exit::FAILURE
    }
}

/// An error in what the user asked for, found by the CLI itself.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);
