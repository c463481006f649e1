//! `nnsweep run`: train a sweep, stream rows to CSV, end with the overfitting table.

use std::collections::HashSet;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use nnsweep::config::Config;
use nnsweep::data;
use nnsweep::model_file;
use nnsweep::plan::{self, RunSpec};
use nnsweep::report::{self, Metric, Tables};
use nnsweep::results::{read_records, CurvesWriter, ResultsWriter};
use nnsweep::runner::{self, Control};

use super::progress::{human, Progress};
use super::{BadInput, ConfigArg};

#[derive(clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Results file (CSV) to append to [default: results/<name>.csv]. Learning curves go
    /// beside it (<name>.curves.csv), and the summary tables (<name>.summary.md/.csv/.tex).
    #[arg(long, value_name = "PATH")]
    out: Option<PathBuf>,
    /// How many runs to train at once [default: all cores].
    #[arg(long, value_name = "N")]
    threads: Option<NonZeroUsize>,
}

pub fn run(args: RunArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let config = Config::load(&args.config.config)?;
    let dataset = data::load(&config.data)?;
    config.check_against_data(dataset.train.len())?;
    let runs = plan::expand(&config);
    let out = args
        .out
        .unwrap_or_else(|| Path::new("results").join(format!("{}.csv", config.name)));
    let done = runs_already_done(&out, &config)?;
    let todo: Vec<RunSpec> = runs
        .iter()
        .filter(|r| !done.contains(&r.id))
        .cloned()
        .collect();
    let threads = args.threads.map_or_else(
        || std::thread::available_parallelism().map_or(1, NonZeroUsize::get),
        NonZeroUsize::get,
    );

    eprintln!(
        "nnsweep {}: {} ({}), {} runs, {} to train ({} already in {}), {} threads, config hash {}",
        env!("CARGO_PKG_VERSION"),
        config.name,
        dataset.name,
        runs.len(),
        todo.len(),
        runs.len() - todo.len(),
        out.display(),
        threads.min(todo.len().max(1)),
        config.hash
    );

    let mut writer = ResultsWriter::append(&out)
        .with_context(|| format!("cannot open results file {}", out.display()))?;
    let curves_path = sibling(&out, "curves.csv");
    let mut curves = match config.train.log_every {
        0 => None,
        _ => Some(
            CurvesWriter::append(&curves_path)
                .with_context(|| format!("cannot open {}", curves_path.display()))?,
        ),
    };
    let control = Control::default();
    let mut progress = Progress::new(todo.len());
    let mut write_error: Option<anyhow::Error> = None;
    let tally = runner::run_all(
        &todo,
        &dataset,
        threads,
        config.train.log_every,
        &control,
        |finished| {
            let Ok(outcome) = &finished.outcome else {
                return;
            };
            let record = runner::record(
                finished.spec,
                &dataset,
                outcome,
                finished.seconds,
                &config.hash,
            );
            // Curves and model first: a run whose row is written has them on disk (resume
            // skips it).
            let written = curves
                .as_mut()
                .map_or(Ok(()), |c| c.write(&record.run_id, &outcome.curve))
                .and_then(|()| save_model(&config, &out, &dataset, &finished, &outcome.best))
                .and_then(|()| writer.write(&record));
            if let Err(e) = written {
                control
                    .stop_starting
                    .store(true, std::sync::atomic::Ordering::SeqCst);
                write_error.get_or_insert(
                    anyhow::Error::new(e).context(format!("cannot write to {}", out.display())),
                );
                return;
            }
            progress.finished(&format!(
                "{}: train {:.1} %, test {:.1} %{} ({})",
                record.run_id,
                100.0 * record.train_acc,
                100.0 * record.test_acc,
                if record.diverged { ", diverged" } else { "" },
                human(record.seconds)
            ));
        },
    );
    progress.finish();
    if let Some(e) = write_error {
        return Err(e);
    }
    eprintln!(
        "done: {} runs trained in {} on {} threads; results in {}",
        tally.finished,
        human(started.elapsed().as_secs_f64()),
        threads.min(todo.len().max(1)),
        out.display()
    );

    let loaded = report::load(std::slice::from_ref(&out), false)?;
    let summary = report::summarize(&loaded.records, &[]);
    println!(
        "{}",
        report::to_markdown(&summary, Metric::Gap, Tables::Long)
    );
    let written = report::write_summaries(&out)?;
    eprintln!(
        "tables: {}",
        written
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(ExitCode::SUCCESS)
}

/// With `[output] save_models`, the run's best model and the samples it trained on.
fn save_model(
    config: &Config,
    out: &Path,
    dataset: &data::Dataset,
    finished: &runner::Finished<'_>,
    best: &nnsweep::nn::Network,
) -> std::io::Result<()> {
    if !config.output.save_models {
        return Ok(());
    }
    let (x, labels) = dataset
        .train
        .head(finished.spec.n_train(dataset.train.len()));
    model_file::save_run(out, &finished.spec.id, best, x, labels).map(|_| ())
}

/// Ids of the runs a previous `run` of this config already wrote to `out`.
fn runs_already_done(out: &Path, config: &Config) -> Result<HashSet<String>> {
    if !out.exists() {
        return Ok(HashSet::new());
    }
    let records = read_records(out)?;
    if let Some(other) = records.iter().find(|r| r.config_hash != config.hash) {
        return Err(BadInput(format!(
            "{} holds results of another config (config hash {}, this one is {}): its data or \
             training settings differ, so its runs cannot be continued. Write elsewhere with \
             --out, or move the old file away.",
            out.display(),
            other.config_hash,
            config.hash
        ))
        .into());
    }
    Ok(records.into_iter().map(|r| r.run_id).collect())
}

/// `results/x.csv` → `results/x.<suffix>`.
fn sibling(results: &Path, suffix: &str) -> PathBuf {
    results.with_extension(suffix)
}
