//! `nnsweep report`: overfitting tables from one or several results files.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use nnsweep::report::{self, Format, GroupKey, Metric, Tables};

use super::BadInput;

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum FormatArg {
    /// Markdown, for READMEs and notebooks (accuracies in %).
    Md,
    /// CSV, for spreadsheets and pandas (accuracies as fractions, one table).
    Csv,
    /// LaTeX tabular with booktabs rules, for papers and Beamer slides.
    Latex,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum MetricArg {
    /// Train accuracy minus test accuracy.
    Gap,
    /// Test accuracy of the best model.
    #[value(name = "test_acc")]
    TestAcc,
    /// Best train accuracy.
    #[value(name = "train_acc")]
    TrainAcc,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum TableArg {
    /// One row per group: runs, diverged, train and test accuracy, gap.
    Long,
    /// One metric, hidden sizes as rows and etas as columns.
    Pivot,
    /// Both (Markdown and LaTeX only).
    Both,
}

#[derive(clap::Args)]
pub struct ReportArgs {
    /// Results files of `nnsweep run`: one sweep, or its shards (each run is counted once).
    #[arg(required = true, value_name = "RESULTS.csv")]
    files: Vec<PathBuf>,
    /// Group by these columns, comma-separated: hidden, eta, l2, steps, n_train, dataset,
    /// config_hash [default: hidden, eta and every other column that varies].
    #[arg(long, value_name = "KEYS")]
    by: Option<String>,
    #[arg(long, value_enum, default_value = "md")]
    format: FormatArg,
    /// The metric of the pivot table.
    #[arg(long, value_enum, default_value = "gap")]
    metric: MetricArg,
    /// Which tables [default: both for md and latex, long for csv].
    #[arg(long, value_enum)]
    table: Option<TableArg>,
    /// Pool files that come from different configs (different config_hash).
    #[arg(long)]
    force: bool,
}

pub fn report(args: ReportArgs) -> Result<ExitCode> {
    let loaded = report::load(&args.files, args.force)?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    let by = match &args.by {
        Some(list) => GroupKey::parse_list(list).map_err(|e| BadInput(format!("--by: {e}")))?,
        None => Vec::new(),
    };
    if !by.is_empty() {
        for k in GroupKey::varying(&loaded.records) {
            if !by.contains(&k) && !matches!(k, GroupKey::Hidden | GroupKey::Eta) {
                eprintln!(
                    "warning: {} varies but is not in --by: each group pools runs of different {}",
                    k.name(),
                    k.name()
                );
            }
        }
    }
    let summary = report::summarize(&loaded.records, &by);
    let format = match args.format {
        FormatArg::Md => Format::Markdown,
        FormatArg::Csv => Format::Csv,
        FormatArg::Latex => Format::Latex,
    };
    let metric = match args.metric {
        MetricArg::Gap => Metric::Gap,
        MetricArg::TestAcc => Metric::TestAcc,
        MetricArg::TrainAcc => Metric::TrainAcc,
    };
    let tables = match (args.table, args.format) {
        (Some(TableArg::Long), _) | (None, FormatArg::Csv) => Tables::Long,
        (Some(TableArg::Pivot), _) => Tables::Pivot,
        (Some(TableArg::Both), _) | (None, _) => Tables::Both,
    };
    if tables != Tables::Long && summary.pivots(metric).is_empty() {
        let msg = "the pivot table needs both hidden and eta in --by";
        if tables == Tables::Pivot {
            return Err(BadInput(msg.into()).into());
        }
        eprintln!("note: {msg}; showing the long table only");
    }
    let text = report::render(&summary, format, metric, tables).map_err(BadInput)?;
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}
