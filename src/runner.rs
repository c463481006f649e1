//! Trains the runs of a plan in parallel and hands each finished run to the caller, in the
//! caller's thread, as soon as it ends (so rows are written while the sweep goes on).
//!
//! The runner knows nothing of backprop (it calls `nn::train`) nor of files (the caller writes).
//! Workers take runs in plan order from one shared counter, so runs start in the order given,
//! and a stop request keeps any new run from starting.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use crate::data::Dataset;
use crate::nn::{self, Abandoned, Outcome, TrainData};
use crate::plan::RunSpec;
use crate::results::RunRecord;

/// Flags another thread (a signal handler, say) sets to wind a sweep down.
#[derive(Debug, Default)]
pub struct Control {
    /// No new run starts once set; runs in flight go on.
    pub stop_starting: AtomicBool,
    /// Runs in flight give up at their next step once set.
    pub abandon: AtomicBool,
}

/// A run that ended, one way or the other.
#[derive(Debug)]
pub struct Finished<'a> {
    pub spec: &'a RunSpec,
    pub outcome: Result<Outcome, Abandoned>,
    /// Wall-clock seconds the run took.
    pub seconds: f64,
}

/// How a sweep ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub finished: usize,
    pub abandoned: usize,
    pub not_started: usize,
}

/// Trains `runs` on `threads` worker threads, calling `on_finished` for each in this thread.
pub fn run_all<'a>(
    runs: &'a [RunSpec],
    data: &Dataset,
    threads: usize,
    log_every: usize,
    control: &Control,
    mut on_finished: impl FnMut(Finished<'a>),
) -> Tally {
    let threads = threads.clamp(1, runs.len().max(1));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("nnsweep-worker-{i}"))
        .build()
        .expect("creating worker threads");
    let next = AtomicUsize::new(0);
    let (sender, receiver) = mpsc::channel::<Finished<'a>>();
    let mut tally = Tally::default();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            pool.scope(|workers| {
                for _ in 0..threads {
                    let sender = sender.clone();
                    let next = &next;
                    workers.spawn(move |_| loop {
                        if control.stop_starting.load(Ordering::SeqCst) {
                            break;
                        }
                        let Some(spec) = runs.get(next.fetch_add(1, Ordering::SeqCst)) else {
                            break;
                        };
                        let started = Instant::now();
                        let outcome = train_one(spec, data, log_every, &control.abandon);
                        let seconds = started.elapsed().as_secs_f64();
                        if sender
                            .send(Finished {
                                spec,
                                outcome,
                                seconds,
                            })
                            .is_err()
                        {
                            break;
                        }
                    });
                }
            });
            drop(sender);
        });
        for finished in receiver {
            match finished.outcome {
                Ok(_) => tally.finished += 1,
                Err(Abandoned) => tally.abandoned += 1,
            }
            on_finished(finished);
        }
    });
    tally.not_started = runs.len() - tally.finished - tally.abandoned;
    tally
}

fn train_one(
    spec: &RunSpec,
    data: &Dataset,
    log_every: usize,
    abandon: &AtomicBool,
) -> Result<Outcome, Abandoned> {
    let (x, labels) = data.train.head(spec.n_train(data.train.len()));
    let train_spec = spec.train_spec(data.n_features(), data.n_classes, log_every);
    let train_data = TrainData {
        x,
        labels,
        test_x: data.test.x.view(),
        test_labels: &data.test.labels,
    };
    nn::train(&train_spec, train_data, abandon)
}

/// The results row of a finished run.
pub fn record(
    spec: &RunSpec,
    data: &Dataset,
    outcome: &Outcome,
    seconds: f64,
    config_hash: &str,
) -> RunRecord {
    RunRecord {
        run_id: spec.id.clone(),
        dataset: data.name.clone(),
        n_train: spec.n_train(data.train.len()),
        n_test: data.test.len(),
        hidden: spec.hidden_label(),
        n_params: spec.n_params(data.n_features(), data.n_classes),
        eta: spec.eta,
        l2: spec.l2,
        seed: spec.seed,
        steps: spec.steps,
        best_step: outcome.best_step,
        train_acc: outcome.best_train_acc,
        test_acc: outcome.best_test_acc,
        gap: outcome.best_train_acc - outcome.best_test_acc,
        final_train_acc: outcome.final_train_acc,
        final_test_acc: outcome.final_test_acc,
        final_cost: outcome.final_cost,
        diverged: outcome.diverged,
        seconds,
        config_hash: config_hash.to_string(),
    }
}
