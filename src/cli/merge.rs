//! `nnsweep merge`: the shards of a sweep into one sweep in the normal layout.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use nnsweep::report;

#[derive(clap::Args)]
pub struct MergeArgs {
    /// The shards' results files, e.g. results/x.shard-0-of-4.csv … results/x.shard-3-of-4.csv.
    /// Their folders' curves and models are merged too.
    #[arg(required = true, value_name = "SHARD.csv")]
    shards: Vec<PathBuf>,
    /// The merged results file, e.g. results/x.csv (its folder results/x/ gets the curves,
    /// models and summaries). Must not exist yet.
    #[arg(long, value_name = "RESULTS.csv")]
    out: PathBuf,
    /// Merge shards of different configs (different config_hash) anyway.
    #[arg(long)]
    force: bool,
}

pub fn merge(args: MergeArgs) -> Result<ExitCode> {
    let merged = report::merge_shards(&args.shards, &args.out, args.force)?;
    for w in &merged.warnings {
        eprintln!("warning: {w}");
    }
    let summaries = report::write_summaries(merged.files.results())?;
    eprintln!(
        "merged {} shards into {}: {} runs, learning curves of {} runs ({} points), {} saved models; \
         summaries in {}",
        args.shards.len(),
        merged.files.results().display(),
        merged.runs,
        merged.curves.0,
        merged.curves.1,
        merged.models,
        summaries
            .first()
            .and_then(|p| p.parent())
            .map_or_else(String::new, |d| d.display().to_string()),
    );
    Ok(ExitCode::SUCCESS)
}
