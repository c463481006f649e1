//! `nnsweep run`: train a sweep, stream rows to CSV, end with the overfitting table.
//!
//! Batch-job duties live here too: resuming a results file (`--fresh`, `--force`), one shard of
//! a job array (`--shard`, or the batch system's variables: `nnsweep::batch`), and a clean stop on SIGTERM, SIGINT or
//! SIGUSR1 (`--grace`, exit code 3).

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use nnsweep::config::Config;
use nnsweep::layout::SweepFiles;
use nnsweep::memory;
use nnsweep::plan::{self, RunSpec, Shard};
use nnsweep::report::{self, Metric, Tables};
use nnsweep::results::read_records;
use nnsweep::runner::{self, Control};
use nnsweep::signals::{self, Stopped, Watcher};
use nnsweep::sweep::{self, Session};
use nnsweep::{batch, data, estimate};

use super::progress::{human, Printer, Progress};
use super::{exit, BadInput, ConfigArg};

#[derive(clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Results file (CSV) to append to [default: results/<name>.csv, or
    /// results/<name>.shard-I-of-N.csv for a shard]. Everything else of the sweep goes in the
    /// folder of the same name beside it: <stem>/curves.csv, <stem>/summary.md/.csv/.tex and
    /// <stem>/models/.
    #[arg(long, value_name = "PATH")]
    out: Option<PathBuf>,
    /// How many runs to train at once [default: the CPUs the batch system gave the job
    /// ($SLURM_CPUS_PER_TASK, $NCPUS, $PBS_NUM_PPN, $LSB_DJOB_NUMPROC, $NSLOTS), else all cores;
    /// at most 4 times the cores].
    #[arg(long, value_name = "N")]
    threads: Option<NonZeroUsize>,
    /// Train only shard I of N (0-based): the runs whose position in the plan is I modulo N.
    /// In a job array it defaults to the task's place in the array, from the batch system's
    /// variables (SLURM, PBS Pro, Torque, LSF, Grid Engine); this flag overrides them.
    #[arg(long, value_name = "I/N")]
    shard: Option<Shard>,
    /// Start over: move the results file, its curves file and its saved models aside (renamed
    /// with a timestamp, never deleted) instead of resuming them.
    #[arg(long)]
    fresh: bool,
    /// Append to a results file that holds runs of another config (another config hash);
    /// only this config's runs count as done.
    #[arg(long)]
    force: bool,
    /// On SIGTERM, SIGINT or SIGUSR1, seconds the runs in flight get to finish before they are
    /// abandoned. No new run starts after the signal; a second SIGINT or SIGTERM abandons at once.
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = parse_grace)]
    grace: Duration,
}

fn parse_grace(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("`{text}` is not a number of seconds (0 or more)"))
}

pub fn run(args: RunArgs) -> Result<ExitCode> {
    let started = Instant::now();
    // The stop handler goes first: a signal while the data load (a big pickle takes seconds)
    // or while planning ends with exit 3 and a word, not with the signal's default death.
    let control = Arc::new(Control::default());
    let printer: Arc<Mutex<Option<Printer>>> = Arc::new(Mutex::new(None));
    let watcher = {
        let printer = Arc::clone(&printer);
        Watcher::install(Arc::clone(&control), args.grace, move |s| {
            let line = format!("nnsweep: {s}");
            match &*printer.lock().unwrap_or_else(|e| e.into_inner()) {
                Some(p) => p.line(&line),
                None => eprintln!("{line}"),
            }
        })
        .context("cannot catch SIGTERM, SIGINT and SIGUSR1")?
    };
    let stopped = || watcher.received().map(Stopped);
    let config = Config::load(&args.config.config)?;
    memory::check_source(&config)?;
    let dataset = data::load(&config.data)?;
    if let Some(stop) = stopped() {
        return Err(stop.into());
    }
    let hash = config.results_hash(&dataset);
    config.check_against_data(dataset.train.len())?;
    // The shard and the thread count, decided once: flags, else the batch system's variables.
    let placement = batch::place(
        args.shard,
        args.threads,
        std::thread::available_parallelism().map_or(1, NonZeroUsize::get),
        |name| std::env::var(name).ok(),
    )
    .map_err(|e| BadInput(e.0))?;
    let shard = placement.shard;
    // Not capped at the number of runs: threads without a run of their own help the others
    // (runner::run_all).
    let threads = super::bounded_threads(
        placement.threads,
        if args.threads.is_some() {
            "--threads"
        } else {
            "the batch system's CPU count"
        },
    )?;
    let planned = plan::expand(&config, &dataset)
        .map_err(|e| BadInput(format!("{}: {e}", config.path.display())))?;
    let all_runs = planned.len();
    let runs = plan::select(planned, shard);
    memory::check_runs(&config, &runs, &dataset, threads)?;
    if config.output.save_models {
        SweepFiles::check_model_names(runs.iter().map(|r| r.id.as_str())).map_err(|e| {
            BadInput(format!(
                "{}: [output] save_models: {e}",
                config.path.display()
            ))
        })?;
    }
    let out = args.out.unwrap_or_else(|| {
        let file = match shard {
            Some(shard) => format!("{}.{}.csv", config.name, shard.file_tag()),
            None => format!("{}.csv", config.name),
        };
        Path::new("results").join(file)
    });
    if let Some(stop) = stopped() {
        return Err(stop.into());
    }
    let files = SweepFiles::of_results(&out);
    let mut session = Session::open(
        files,
        &hash,
        &sweep::Options {
            fresh: args.fresh,
            force: args.force,
            curves: config.train.log_every > 0,
            save_models: config.output.save_models,
        },
    )?;
    for note in session.notes() {
        eprintln!("{note}");
    }
    let todo: Vec<RunSpec> = runs
        .iter()
        .filter(|r| !session.done().contains(&r.id))
        .cloned()
        .collect();

    // The ETA's cost model: a few steps of each network shape timed, in a small share of what
    // the sweep will take (at most 0.3 s).
    let rough = todo.iter().map(|r| r.flops()).sum::<f64>() / 1e9 / threads as f64;
    let budget = Duration::from_secs_f64((0.05 * rough).clamp(0.005, 0.3));
    let model = estimate::CostModel::measure(&todo, &dataset, budget);
    let mut progress = Progress::new(todo.len(), estimate::Eta::new(&model, &todo, threads));
    *printer.lock().unwrap_or_else(|e| e.into_inner()) = Some(progress.printer());
    progress.line(&format!(
        "nnsweep {}: {} ({}), config hash {}, {}: {} runs, {} to train ({} already in {}), \
         {} threads ({})",
        env!("CARGO_PKG_VERSION"),
        config.name,
        dataset.name,
        hash,
        shard.map_or_else(|| "no shard".to_string(), |s| format!("shard {s}")),
        match shard {
            Some(_) => format!("{} of {all_runs}", runs.len()),
            None => all_runs.to_string(),
        },
        todo.len(),
        runs.len() - todo.len(),
        out.display(),
        threads,
        placement.source,
    ));

    let mut write_error: Option<anyhow::Error> = None;
    let tally = runner::run_all(&todo, &dataset, threads, &control, |finished| {
        let Ok(outcome) = &finished.outcome else {
            return;
        };
        let record = runner::record(finished.spec, &dataset, outcome, finished.seconds, &hash);
        let train = dataset
            .train
            .head(finished.spec.n_train(dataset.train.len()));
        let test = (dataset.test.x.view(), dataset.test.labels.as_slice());
        if let Err(e) = session.write_run(&record, &outcome.curve, &outcome.best, train, test) {
            // Fail fast: no new run, and the runs in flight give up at their next step
            // (their work could not be saved anyway).
            control.stop_starting.store(true, Ordering::SeqCst);
            control.abandon.store(true, Ordering::SeqCst);
            write_error.get_or_insert(e.into());
            return;
        }
        progress.finished(
            &record.run_id,
            record.seconds,
            &format!(
                "{}: train {:.1} %, test {:.1} %{} ({})",
                record.run_id,
                100.0 * record.train_acc,
                100.0 * record.test_acc,
                if record.diverged { ", diverged" } else { "" },
                human(record.seconds)
            ),
        );
    })
    .with_context(|| format!("cannot create {threads} worker threads; pass a smaller --threads"))?;
    progress.finish();
    if let Some(e) = write_error {
        return Err(e);
    }
    let remaining = tally.abandoned + tally.not_started;
    let elapsed = human(started.elapsed().as_secs_f64());
    if let (Some(signal), true) = (watcher.received(), remaining > 0) {
        eprintln!(
            "stopped by {}: {} of {} runs done ({} this time), {} abandoned, {} not started: \
             {remaining} remaining, after {elapsed} on {threads} threads; results in {}",
            signals::name(signal),
            runs.len() - remaining,
            runs.len(),
            tally.finished,
            tally.abandoned,
            tally.not_started,
            out.display()
        );
        match placement.system {
            Some(_) => eprintln!(
                "to resume, submit this job again: it runs `{}` and skips the runs already done",
                resume_command()
            ),
            None => eprintln!("to resume, run again: {}", resume_command()),
        }
        return Ok(ExitCode::from(exit::INTERRUPTED));
    }
    eprintln!(
        "done: all {} runs{} in {} ({} trained this time, in {elapsed} on {threads} threads)",
        runs.len(),
        shard.map_or_else(String::new, |s| format!(" of shard {s}")),
        out.display(),
        tally.finished,
    );
    drop(watcher);

    let records = read_records(&out)?;
    let mixed = records.iter().any(|r| r.config_hash != hash);
    let ours: Vec<_> = records
        .into_iter()
        .filter(|r| r.config_hash == hash)
        .collect();
    if ours.is_empty() {
        eprintln!("no run of this config in {}: no tables", out.display());
        return Ok(ExitCode::SUCCESS);
    }
    let loaded = report::merge(vec![(out.clone(), ours)], false)?;
    let summary = report::summarize(&loaded.records, &[]);
    println!(
        "{}",
        report::to_markdown(&summary, Metric::Gap, Tables::Long)
    );
    if mixed {
        eprintln!(
            "{} mixes configs (--force): table files not written; use `nnsweep report --force`",
            out.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let written = report::write_summaries_with(&out, Some(config.source().to_string()))?;
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

/// The command line that resumes this sweep: this one, less `--fresh`.
fn resume_command() -> String {
    std::env::args()
        .enumerate()
        .filter(|(_, a)| a != "--fresh")
        .map(|(i, a)| {
            if i == 0 {
                "nnsweep".to_string()
            } else {
                quote(&a)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn quote(arg: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c);
    if !arg.is_empty() && arg.chars().all(plain) {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_quoted_for_the_shell_when_needed() {
        assert_eq!(quote("configs/a.toml"), "configs/a.toml");
        assert_eq!(quote("0/3"), "0/3");
        assert_eq!(quote("my file"), "'my file'");
        assert_eq!(quote("it's"), r"'it'\''s'");
    }
}
