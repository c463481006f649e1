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
    /// One self-contained page (inline CSS and SVG charts), for a class or a colleague; use
    /// with --out PAGE.html.
    Html,
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
    /// Validation accuracy of the kept model (sweeps with validation data).
    #[value(name = "val_acc")]
    ValAcc,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum TableArg {
    /// One row per group: runs, diverged, train and test accuracy, gap.
    Long,
    /// One metric, hidden sizes (or --rows) as rows and etas (or --cols) as columns.
    Pivot,
    /// Both (Markdown and LaTeX only).
    Both,
}

#[derive(clap::Args)]
pub struct ReportArgs {
    /// Results files of `nnsweep run`: one sweep, or its shards (each run is counted once).
    #[arg(required = true, value_name = "RESULTS.csv")]
    files: Vec<PathBuf>,
    /// Group by these axes, comma-separated: any axis column of the results file (hidden, eta,
    /// l2, steps, n_train, dataset, config_hash, ...) [default: hidden, eta and every other
    /// axis that varies].
    #[arg(long, value_name = "KEYS")]
    by: Option<String>,
    /// The pivot's rows: any axis [default: hidden].
    #[arg(long, value_name = "AXIS", default_value = "hidden")]
    rows: String,
    /// The pivot's columns: any axis [default: eta].
    #[arg(long, value_name = "AXIS", default_value = "eta")]
    cols: String,
    /// Only the runs with these values, e.g. n_train=500,l2=0.
    #[arg(long = "where", value_name = "KEY=VALUE,...")]
    where_: Option<String>,
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
    /// Write the report to this file instead of printing it.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// HTML: the sweep file, shown as written on the page.
    #[arg(long, value_name = "CONFIG")]
    config: Option<PathBuf>,
}

pub fn report(args: ReportArgs) -> Result<ExitCode> {
    let mut loaded = report::load(&args.files, args.force)?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    if let Some(w) = &args.where_ {
        loaded.records = report::filter(&loaded.records, w, "--where").map_err(BadInput)?;
    }
    let axis = |flag: &str, s: &str| -> Result<GroupKey, BadInput> {
        s.parse().map_err(|e| BadInput(format!("{flag}: {e}")))
    };
    let (rows, cols) = (axis("--rows", &args.rows)?, axis("--cols", &args.cols)?);
    if rows == cols {
        return Err(BadInput(format!(
            "--rows and --cols are both {}: the pivot needs two different axes",
            rows.name()
        ))
        .into());
    }
    let mut by = match &args.by {
        Some(list) => GroupKey::parse_list(list).map_err(|e| BadInput(format!("--by: {e}")))?,
        None => GroupKey::varying(&loaded.records),
    };
    let pivot_asked = args.by.is_none() || args.table.is_some_and(|t| !matches!(t, TableArg::Long));
    for k in [rows, cols] {
        if pivot_asked && !by.contains(&k) {
            by.push(k);
        }
    }
    if args.by.is_some() {
        for k in GroupKey::varying(&loaded.records) {
            if !by.contains(&k) && k != GroupKey::HIDDEN && k != GroupKey::ETA {
                eprintln!(
                    "warning: {} varies but is not in --by: each group pools runs of different {}",
                    k.name(),
                    k.name()
                );
            }
        }
    }
    let summary = report::summarize(&loaded.records, &by).with_pivot(rows, cols);
    let format = match args.format {
        FormatArg::Md => Format::Markdown,
        FormatArg::Csv => Format::Csv,
        FormatArg::Latex => Format::Latex,
        FormatArg::Html => Format::Html,
    };
    if args.config.is_some() && format != Format::Html {
        return Err(
            BadInput("--config is for --format html (the sweep file on the page)".into()).into(),
        );
    }
    let metric = match args.metric {
        MetricArg::Gap => Metric::Gap,
        MetricArg::TestAcc => Metric::TestAcc,
        MetricArg::TrainAcc => Metric::TrainAcc,
        MetricArg::ValAcc => Metric::ValAcc,
    };
    if metric == Metric::ValAcc && !summary.has_validation() {
        return Err(BadInput(
            "--metric val_acc: these results have no validation accuracy (no val_acc values)"
                .into(),
        )
        .into());
    }
    let tables = match (args.table, args.format) {
        (Some(TableArg::Long), _) | (None, FormatArg::Csv) => Tables::Long,
        (Some(TableArg::Pivot), _) => Tables::Pivot,
        (Some(TableArg::Both), _) | (None, _) => Tables::Both,
    };
    if tables != Tables::Long && summary.pivots(metric).is_empty() {
        let msg = format!(
            "the pivot table needs both {} and {} in --by",
            rows.name(),
            cols.name()
        );
        if tables == Tables::Pivot {
            return Err(BadInput(msg).into());
        }
        eprintln!("note: {msg}; showing the long table only");
    }
    let text = if format == Format::Html {
        let sweep_text = match &args.config {
            Some(p) => Some(
                std::fs::read_to_string(p)
                    .map_err(|e| BadInput(format!("--config: cannot read {}: {e}", p.display())))?,
            ),
            None => None,
        };
        report::Page {
            records: &loaded.records,
            sources: &args.files,
            // Curves and models live in one sweep's folder: shards each have their own.
            sweep: (args.files.len() == 1)
                .then(|| nnsweep::layout::SweepFiles::of_results(&args.files[0])),
            sweep_text,
        }
        .render(&summary, metric)
    } else {
        report::render(&summary, format, metric, tables).map_err(BadInput)?
    };
    match &args.out {
        Some(path) => {
            if args.files.iter().any(|f| f == path) {
                return Err(BadInput(format!(
                    "--out {} is one of the results files read: choose another file",
                    path.display()
                ))
                .into());
            }
            std::fs::write(path, text)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
