//! `nnsweep plan`: validate a sweep and show what `run` would do, and what it will cost.

use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use nnsweep::config::Config;
use nnsweep::estimate::{self, CostModel, TIME_MARGIN, TIME_SLACK};
use nnsweep::layout::SweepFiles;
use nnsweep::{data, memory, plan};

use super::progress::human;
use super::{BadInput, ConfigArg};

/// Time the measurement of the network shapes may take in all.
const MEASURE_BUDGET: Duration = Duration::from_millis(800);

#[derive(clap::Args)]
pub struct PlanArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Threads each job will run (its --threads, or the CPUs the batch system gives it)
    /// [default: this machine's cores].
    #[arg(long, value_name = "N")]
    threads: Option<NonZeroUsize>,
    /// Number of shards (array tasks) the sweep will be split into.
    #[arg(long, value_name = "N", default_value = "1")]
    shards: NonZeroUsize,
    /// Do not time a few training steps of each network shape on this machine (under a second
    /// in all); estimate at a fixed 40 GFLOP/s instead, far too fast for small networks.
    #[arg(long)]
    no_measure: bool,
}

pub fn plan(args: PlanArgs) -> Result<ExitCode> {
    let config = Config::load(&args.config.config)?;
    memory::check_source(&config)?;
    let dataset = data::load(&config.data)?;
    config.check_against_data(dataset.train.len())?;
    let threads = super::bounded_threads(
        args.threads.map_or_else(
            || std::thread::available_parallelism().map_or(1, NonZeroUsize::get),
            NonZeroUsize::get,
        ),
        "--threads",
    )?;
    let runs = plan::expand(&config, &dataset)
        .map_err(|e| BadInput(format!("{}: {e}", config.path.display())))?;
    // Before any figure is printed: a size that overflows or cannot fit is refused here.
    let mem = memory::check_runs(&config, &runs, &dataset, threads)?;
    if config.output.save_models {
        SweepFiles::check_model_names(runs.iter().map(|r| r.id.as_str())).map_err(|e| {
            BadInput(format!(
                "{}: [output] save_models: {e}",
                config.path.display()
            ))
        })?;
    }
    let shards = args.shards.get();
    let model = if args.no_measure {
        CostModel::assumed()
    } else {
        CostModel::measure(&runs, &dataset, MEASURE_BUDGET)
    };
    let (d, k, n) = (dataset.n_features(), dataset.n_classes, dataset.train.len());
    println!(
        "{}: {} runs on {} ({} train / {} test samples, {d} features, {k} classes), config hash {}",
        config.name,
        runs.len(),
        dataset.name,
        n,
        dataset.test.len(),
        config.results_hash(&dataset)
    );
    // The id column as wide as the longest id: the next lecture's ids run past 50 characters.
    let w = runs
        .iter()
        .map(|r| r.id.chars().count())
        .fold(40, usize::max);
    println!(
        "{:<5} {:<w$} {:>9} {:>8} {:>7} {:>9} {:>10} {:>10}",
        "#", "run id", "params", "train", "steps", "eta", "GFLOP", "core-s"
    );
    let mut total = 0.0;
    for run in &runs {
        let flops = run.flops();
        total += flops;
        println!(
            "{:<5} {:<w$} {:>9} {:>8} {:>7} {:>9} {:>10.2} {:>10.2}",
            run.index,
            run.id,
            run.n_params(),
            run.n_train(n),
            run.recipe.steps(),
            run.recipe.eta(),
            flops / 1e9,
            model.run_seconds(run)
        );
    }
    let e = estimate::estimate(&model, &runs, shards, threads);
    let how = if args.no_measure {
        format!(
            "at an assumed {:.0} GFLOP/s (--no-measure; small networks run far slower)",
            model.flop_rate / 1e9
        )
    } else {
        format!(
            "timed on this machine: {} network shape{} in {:.2} s, {:.1} GFLOP/s on average",
            model.measured,
            if model.measured == 1 { "" } else { "s" },
            model.took.as_secs_f64(),
            model.flop_rate / 1e9
        )
    };
    println!(
        "total: {:.1} GFLOP, {:.1} core-seconds {how}",
        total / 1e9,
        e.core_seconds
    );
    println!(
        "wall time on {threads} thread{} per job, {shards} shard{}: {} (the slowest shard)",
        if threads == 1 { "" } else { "s" },
        if shards == 1 { "" } else { "s" },
        human(e.wall_seconds),
    );
    println!(
        "ask for --time {} per job ({TIME_MARGIN}× the wall time + {TIME_SLACK:.0} s for the stop \
         before the limit, in whole minutes); other counts: --threads N --shards N",
        estimate::hms(e.ask_seconds)
    );
    println!(
        "memory: {} per run (the largest), {} for the data, {} for {} runs at once on {} \
         threads{}",
        memory::human(mem.per_run),
        memory::human(mem.data),
        memory::human(mem.at_once),
        mem.threads,
        threads,
        mem.available.map_or(String::new(), |a| format!(
            "; {} available",
            memory::human(a)
        ))
    );
    Ok(ExitCode::SUCCESS)
}
