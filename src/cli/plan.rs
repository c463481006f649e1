//! `nnsweep plan`: validate a sweep and show what `run` would do.

use std::process::ExitCode;

use anyhow::Result;
use nnsweep::config::Config;
use nnsweep::{data, plan};

use super::ConfigArg;

#[derive(clap::Args)]
pub struct PlanArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Do not time a few training steps of each network shape on this machine (the estimates
    /// then use a fixed rate of 40 GFLOP/s).
    #[arg(long)]
    no_measure: bool,
}

pub fn plan(args: PlanArgs) -> Result<ExitCode> {
    let _measure = !args.no_measure;
    let config = Config::load(&args.config.config)?;
    let dataset = data::load(&config.data)?;
    config.check_against_data(dataset.train.len())?;
    let runs = plan::expand(&config);
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
    println!(
        "{:<5} {:<40} {:>9} {:>8} {:>7} {:>9} {:>10}",
        "#", "run id", "params", "train", "steps", "eta", "GFLOP"
    );
    let mut total = 0.0;
    for run in &runs {
        let flops = run.flops(d, k, n);
        total += flops;
        println!(
            "{:<5} {:<40} {:>9} {:>8} {:>7} {:>9} {:>10.2}",
            run.index,
            run.id,
            run.n_params(d, k),
            run.n_train(n),
            run.steps,
            run.eta,
            flops / 1e9
        );
    }
    println!(
        "total: {:.1} GFLOP, about {:.0} core-seconds at 40 GFLOP/s (what one recent x86 core \
         reaches in f64; see bench/README.md)",
        total / 1e9,
        total / 4e10
    );
    Ok(ExitCode::SUCCESS)
}
