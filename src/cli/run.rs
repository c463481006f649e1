//! `nnsweep run`: train a sweep, stream rows to CSV, end with the overfitting table.
//!
//! Batch-job duties live here too: resuming a results file (`--fresh`, `--force`), one shard of
//! a job array (`--shard`, or the batch system's variables: `nnsweep::batch`), and a clean stop on SIGTERM, SIGINT or
//! SIGUSR1 (`--grace`, exit code 3).

use std::collections::HashSet;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};
use nnsweep::config::Config;
use nnsweep::layout::SweepFiles;
use nnsweep::model_file;
use nnsweep::plan::{self, RunSpec, Shard};
use nnsweep::report::{self, Metric, Tables};
use nnsweep::results::{read_records, CurvesWriter, ResultsWriter};
use nnsweep::runner::{self, Control};
use nnsweep::signals::{self, Watcher};
use nnsweep::{batch, data, estimate};

use super::progress::{human, Progress};
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
    /// ($SLURM_CPUS_PER_TASK, $NCPUS, $PBS_NUM_PPN, $LSB_DJOB_NUMPROC, $NSLOTS), else all cores].
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
    let config = Config::load(&args.config.config)?;
    let dataset = data::load(&config.data)?;
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
    let planned = plan::expand(&config, &dataset)
        .map_err(|e| BadInput(format!("{}: {e}", config.path.display())))?;
    let all_runs = planned.len();
    let runs = plan::select(planned, shard);
    let out = args.out.unwrap_or_else(|| {
        let file = match shard {
            Some(shard) => format!("{}.{}.csv", config.name, shard.file_tag()),
            None => format!("{}.csv", config.name),
        };
        Path::new("results").join(file)
    });
    let files = SweepFiles::of_results(&out);
    let curves_path = files.curves();
    if args.fresh {
        for path in [out.as_path(), files.dir()] {
            if let Some(moved) = move_aside(path)? {
                eprintln!(
                    "--fresh: moved {} to {} (kept, not deleted)",
                    path.display(),
                    moved.display()
                );
            }
        }
    }
    let done = runs_already_done(&out, &hash, args.force)?;
    let todo: Vec<RunSpec> = runs
        .iter()
        .filter(|r| !done.contains(&r.id))
        .cloned()
        .collect();
    // Not capped at the number of runs: threads without a run of their own help the others
    // (runner::run_all).
    let threads = placement.threads;

    let mut writer = ResultsWriter::append(&out)
        .with_context(|| format!("cannot open results file {}", out.display()))?;
    let mut curves = match config.train.log_every {
        0 => None,
        _ => Some(
            CurvesWriter::append(&curves_path)
                .with_context(|| format!("cannot open {}", curves_path.display()))?,
        ),
    };
    for (path, dropped) in [
        (&out, writer.dropped()),
        (
            &curves_path,
            curves.as_ref().map_or(0, CurvesWriter::dropped),
        ),
    ] {
        if dropped > 0 {
            eprintln!(
                "{}: cut off a partial last line ({dropped} bytes) left by an interrupted run",
                path.display()
            );
        }
    }

    let control = Arc::new(Control::default());
    // The ETA's cost model: a few steps of each network shape timed, in a small share of what
    // the sweep will take (at most 0.3 s).
    let rough = todo.iter().map(|r| r.flops()).sum::<f64>() / 1e9 / threads as f64;
    let budget = Duration::from_secs_f64((0.05 * rough).clamp(0.005, 0.3));
    let model = estimate::CostModel::measure(&todo, &dataset, budget);
    let mut progress = Progress::new(todo.len(), estimate::Eta::new(&model, &todo, threads));
    let printer = progress.printer();
    let watcher = Watcher::install(Arc::clone(&control), args.grace, move |s| {
        printer.line(&format!("nnsweep: {s}"))
    })
    .context("cannot catch SIGTERM, SIGINT and SIGUSR1")?;
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
    });
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

/// Ids of the runs a previous `run` of this config already wrote to `out`. Rows of another
/// config are an error, unless `force`: then they are left in the file and do not count.
fn runs_already_done(out: &Path, hash: &str, force: bool) -> Result<HashSet<String>> {
    if !out.exists() {
        return Ok(HashSet::new());
    }
    let records = read_records(out)?;
    let others = records.iter().filter(|r| r.config_hash != hash).count();
    if let Some(other) = records.iter().find(|r| r.config_hash != hash) {
        if !force {
            return Err(BadInput(format!(
                "{} holds results of another config (config hash {}, this one is {}): its data \
                 or training settings differ, so its runs cannot be continued. Start over with \
                 --fresh (the old file is kept under another name), write elsewhere with --out, \
                 or append anyway with --force.",
                out.display(),
                other.config_hash,
                hash
            ))
            .into());
        }
        eprintln!(
            "--force: {} holds {others} rows of another config (hash {}); appending this \
             config's runs (hash {}) beside them",
            out.display(),
            other.config_hash,
            hash
        );
    }
    Ok(records
        .into_iter()
        .filter(|r| r.config_hash == hash)
        .map(|r| r.run_id)
        .collect())
}

/// Renames `path` (when it exists) to `<path>.old-<UTC time>` and returns the new name. The
/// time goes after the extension so that globs such as `results/x.shard-*.csv` skip old files.
fn move_aside(path: &Path) -> Result<Option<PathBuf>> {
    if !path.exists() {
        return Ok(None);
    }
    let stamp = utc_stamp(SystemTime::now());
    let mut target = PathBuf::from(format!("{}.old-{stamp}", path.display()));
    let mut n = 1;
    while target.exists() {
        target = PathBuf::from(format!("{}.old-{stamp}-{n}", path.display()));
        n += 1;
    }
    std::fs::rename(path, &target).with_context(|| {
        format!(
            "--fresh: cannot move {} to {}",
            path.display(),
            target.display()
        )
    })?;
    Ok(Some(target))
}

/// `20250314T092653Z`.
fn utc_stamp(time: SystemTime) -> String {
    let secs = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a civil date (H. Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
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
    fn utc_stamps_are_civil_dates() {
        let at = |s: u64| utc_stamp(SystemTime::UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "19700101T000000Z");
        assert_eq!(at(951_782_400), "20000229T000000Z");
        assert_eq!(at(1_709_251_199), "20240229T235959Z");
        assert_eq!(at(1_735_689_600 + 3_661), "20250101T010101Z");
    }

    #[test]
    fn arguments_are_quoted_for_the_shell_when_needed() {
        assert_eq!(quote("configs/a.toml"), "configs/a.toml");
        assert_eq!(quote("0/3"), "0/3");
        assert_eq!(quote("my file"), "'my file'");
        assert_eq!(quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn moving_aside_keeps_the_file_under_a_new_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        assert_eq!(move_aside(&path).unwrap(), None);
        std::fs::write(&path, "one").unwrap();
        let first = move_aside(&path).unwrap().unwrap();
        std::fs::write(&path, "two").unwrap();
        let second = move_aside(&path).unwrap().unwrap();
        assert_ne!(first, second);
        assert!(!path.exists());
        assert_eq!(std::fs::read_to_string(first).unwrap(), "one");
        assert_eq!(std::fs::read_to_string(&second).unwrap(), "two");
        assert!(second.to_string_lossy().contains("r.csv.old-"));
    }
}
