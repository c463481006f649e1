//! `nnsweep report`: tables of one or several results files, each run counted once.
//!
//! A thin command over `nnsweep::report`, enough for merging the shards of a job array; the
//! report issue owns its options and may grow it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use nnsweep::report::{self, Format, GroupKey, Metric, Tables};

use super::BadInput;

#[derive(clap::Args)]
pub struct ReportArgs {
    /// Results files of `nnsweep run`: one sweep, or its shards (results/<name>.shard-*.csv).
    #[arg(required = true, value_name = "RESULTS.csv")]
    files: Vec<PathBuf>,
    /// Group runs by these columns (comma-separated) [default: the swept ones].
    #[arg(long, value_name = "KEYS")]
    by: Option<String>,
    /// md, csv or latex.
    #[arg(long, default_value = "md")]
    format: Format,
    /// Metric of the pivot table: gap, test_acc or train_acc.
    #[arg(long, default_value = "gap")]
    metric: Metric,
    /// Pool files of different configs (different config hashes).
    #[arg(long)]
    force: bool,
}

pub fn report(args: ReportArgs) -> Result<ExitCode> {
    let by = match &args.by {
        Some(list) => GroupKey::parse_list(list).map_err(BadInput)?,
        None => Vec::new(),
    };
    let loaded = report::load(&args.files, args.force)?;
    for warning in &loaded.warnings {
        eprintln!("warning: {warning}");
    }
    eprintln!(
        "report: {} runs, each counted once, from {} file(s)",
        loaded.records.len(),
        args.files.len()
    );
    let summary = report::summarize(&loaded.records, &by);
    let tables = match args.format {
        Format::Csv => Tables::Long,
        _ => Tables::Both,
    };
    let text = report::render(&summary, args.format, args.metric, tables).map_err(BadInput)?;
    println!("{text}");
    Ok(ExitCode::SUCCESS)
}
