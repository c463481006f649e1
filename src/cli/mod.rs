//! Subcommands, their arguments (clap derive) and exit codes.

mod merge;
mod plan;
mod plot;
mod progress;
mod report;
mod run;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit codes, documented in `--help` and the README: decided by each error's type.
pub use nnsweep::exit;

const AFTER_HELP: &str = "\
Training keys ([train]; each also a [grid] / [[variant]] axis, a list of values):
  steps, eta ([grid] only), l2, dropout, augment, select, patience, train_size ([grid] only),
  cost, output, activation, init, batch_size
  l2 = L     w <- w - eta*(L*w + dC/dw), C summed over samples; biases not penalised. This L is
             neuralnetworksanddeeplearning.com's lambda (its cost divides both terms by n)
  dropout = P        each hidden unit dropped with probability P at each training step (0: none)
  augment = \"shift\"  each training image plus its 4 one-pixel shifts (square images only)
  select = \"validation\"  keep the model best on validation data (default \"train\"): [data]
             validation = N (mnist) or validation_fraction = F (circles, moons, csv: that part
             of the training samples, seeded by [data] seed, carved before train_size)
  patience = S       stop a run S steps after the selecting accuracy last improved
  cost = \"quadratic\"|\"cross_entropy\"   summed over samples (default: the lecture's quadratic)
  output = \"sigmoid\"|\"softmax\"          the output layer's function (default sigmoid)
  activation = \"sigmoid\"|\"tanh\"|\"relu\"  the hidden layers' function (default sigmoid)
  init = \"normal\"|\"scaled\"|\"he\"         initial weights N(0,1), N(0,1/fan_in), N(0,2/fan_in)
  batch_size = B     mini-batches of B samples, reshuffled each epoch (default: all samples);
                     steps counts updates; a mean-cost learning rate is eta*B (eta*n full batch)
  eval_every = K     [train] only: evaluate (accuracy, best model, patience, curves) every K
                     updates (default 1 for full batches, one epoch for mini-batches)
[[variant]] tables: [grid] with some axes replaced; a sweep runs the union, each run once.

Exit codes:
  0  done: every run of the sweep (or of the shard) is in the results file
  1  failure not caused by the input (I/O error, disk full, ...)
  2  bad input: config, data or results file, or arguments (e.g. --shard 3/3)
  3  stopped by SIGTERM, SIGINT or SIGUSR1 (a batch job's time limit, Ctrl-C) before every run
     was done: finished runs are saved; run the same command again to resume

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
    /// Runs already in the results file (same run id, same config hash) are not trained again,
    /// so after a time limit or Ctrl-C the same command resumes. SIGTERM, SIGINT and SIGUSR1
    /// stop it cleanly (see --grace; exit code 3).
    #[command(after_help = AFTER_HELP)]
    Run(run::RunArgs),
    /// Check a sweep file and list its runs (parameters, sizes, FLOPs) without training.
    Plan(plan::PlanArgs),
    /// Overfitting tables from results files: mean ± sd over seeds, Markdown, CSV, LaTeX or
    /// one HTML page.
    ///
    /// Reads one sweep's results or the shards of one sweep (each run counted once; files of
    /// different configs are refused unless --force). Prints the long table (one row per
    /// group) and a pivot of one metric (hidden sizes × etas).
    Report(report::ReportArgs),
    /// Charts (PNG or SVG): accuracy vs hidden size, gap heatmap, learning curves, decision
    /// boundary.
    ///
    /// Examples:
    ///   nnsweep plot results/circles_overfit.csv --kind accuracy --out accuracy.png
    ///   nnsweep plot results/circles_overfit.csv --kind curves --group hidden=10,eta=0.005 --out c.svg
    ///   nnsweep plot results/circles.csv --kind boundary --run <run id> --out boundary.png
    #[command(verbatim_doc_comment)]
    Plot(plot::PlotArgs),
    /// Merge the shards of a sweep (rows, learning curves, saved models) into one sweep.
    ///
    /// Writes results/<name>.csv and results/<name>/ (curves.csv, models/, summaries) as an
    /// unsharded `run` would, so `report` and `plot` work on the merged sweep as on any other.
    /// Each run once; disagreeing duplicates are warned; shards of another config are refused
    /// unless --force. Never writes over an existing file: move an earlier merge aside first.
    Merge(merge::MergeArgs),
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
        Command::Report(args) => report::report(args),
        Command::Plot(args) => plot::plot(args),
        Command::Merge(args) => merge::merge(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", message(&error));
            ExitCode::from(exit_code(&error))
        }
    }
}

/// The error and its causes, each cause once: our error types already put their I/O cause in
/// their own message (to say which file), so a cause already quoted is not repeated.
fn message(error: &anyhow::Error) -> String {
    let mut message = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !message.contains(&cause) {
            message.push_str(": ");
            message.push_str(&cause);
        }
    }
    message
}

/// The exit code of an error: decided by the type of the outermost error that knows it
/// ([`nnsweep::exit::ExitStatus`]), so a batch script can tell "fix your file" (2) from "try
/// again" (1) and "stopped" (3).
fn exit_code(error: &anyhow::Error) -> u8 {
    exit::code_of(&mut error.chain())
}

/// An error in what the user asked for, found by the CLI itself.
pub use nnsweep::exit::InputError as BadInput;

/// Most threads `--threads` may ask for, per core: more only adds switching and memory.
const THREADS_PER_CORE: usize = 4;

/// Runs at once, as decided (`--threads`, the batch system's CPUs, or every core: see
/// `nnsweep::batch::place`), checked: a number above [`THREADS_PER_CORE`] times the cores is
/// refused (a typo such as 100000 would spend memory on stacks and buffers, and creating the
/// threads can fail). `source` names where the number came from.
fn bounded_threads(n: usize, source: &str) -> anyhow::Result<usize> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let limit = cores.saturating_mul(THREADS_PER_CORE).max(64);
    if n > limit {
        return Err(BadInput(format!(
            "{source} asks for {n} threads; this machine has {cores} cores, and more than \
             {limit} threads only cost memory: pass --threads {cores}"
        ))
        .into());
    }
    Ok(n)
}
