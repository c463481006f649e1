//! Trains the runs of a plan in parallel and hands each finished run to the caller, in the
//! caller's thread, as soon as it ends (so rows are written while the sweep goes on).
//!
//! The runner knows nothing of backprop (it calls `nn::train`) nor of files (the caller writes).
//! Workers take runs from one shared counter, longest first (by FLOPs, plan order among equals),
//! so a sweep does not end with one core busy on a long run started last; a stop request keeps
//! any new run from starting. Which worker trains a run, and when, changes none of its numbers.

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
    // With fewer runs than threads, the threads without a run of their own help the others
    // with their Gram products (see nn's packed kernel).
    let pool_threads = threads.max(1);
    let threads = threads.clamp(1, runs.len().max(1));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(pool_threads)
        .thread_name(|i| format!("nnsweep-worker-{i}"))
        .build()
        .expect("creating worker threads");
    let next = AtomicUsize::new(0);
    let order = longest_first(runs, data);
    let shared = nn::SharedInputs::new();
    let ready = AtomicUsize::new(0);
    let (sender, receiver) = mpsc::channel::<Finished<'a>>();
    let mut tally = Tally::default();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            pool.scope(|workers| {
                for _ in 0..threads {
                    let sender = sender.clone();
                    let (next, order, shared) = (&next, &order, &shared);
                    let ready = &ready;
                    workers.spawn(move |_| {
                        // Every worker holds its loop before any trains: a worker waiting in a
                        // product's `join` (see nn's packed kernel) may run queued jobs, and must
                        // not pick up a whole loop of runs that way.
                        ready.fetch_add(1, Ordering::SeqCst);
                        while ready.load(Ordering::SeqCst) < threads {
                            std::thread::yield_now();
                        }
                        loop {
                            if control.stop_starting.load(Ordering::SeqCst) {
                                break;
                            }
                            let Some(&i) = order.get(next.fetch_add(1, Ordering::SeqCst)) else {
                                break;
                            };
                            let spec = &runs[i];
                            let started = Instant::now();
                            let outcome =
                                train_one(spec, data, shared, log_every, &control.abandon);
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

/// Positions in `runs`, the most FLOPs first; a stable sort keeps plan order among equals.
fn longest_first(runs: &[RunSpec], data: &Dataset) -> Vec<usize> {
    let (d, k, n) = (data.n_features(), data.n_classes, data.train.len());
    let flops: Vec<f64> = runs.iter().map(|r| r.flops(d, k, n)).collect();
    let mut order: Vec<usize> = (0..runs.len()).collect();
    order.sort_by(|&a, &b| flops[b].total_cmp(&flops[a]));
    order
}

fn train_one<'d>(
    spec: &RunSpec,
    data: &'d Dataset,
    shared: &nn::SharedInputs<'d>,
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
    nn::train_shared(&train_spec, train_data, shared, abandon)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synthetic::{generate, Shape, SyntheticSpec};
    use crate::nn::{Engine, Precision};

    #[test]
    fn the_longest_runs_start_first_and_equals_keep_plan_order() {
        let data = generate(&SyntheticSpec {
            shape: Shape::Circles { factor: 0.5 },
            samples: 60,
            noise: 0.1,
            test_fraction: 0.25,
            seed: 0,
            rng: Default::default(),
        });
        let run = |index: usize, hidden: usize, steps: usize| RunSpec {
            index,
            id: format!("r{index}"),
            hidden: vec![hidden],
            eta: 0.1,
            l2: 0.0,
            steps,
            train_size: None,
            seed: 0,
            engine: Engine::Auto,
            precision: Precision::F64,
        };
        let runs = [run(0, 2, 10), run(1, 8, 10), run(2, 2, 30), run(3, 8, 10)];
        assert_eq!(longest_first(&runs, &data), vec![1, 3, 2, 0]);
        let mut seen = Vec::new();
        let tally = run_all(&runs, &data, 2, 0, &Control::default(), |f| {
            seen.push(f.spec.index)
        });
        assert_eq!(tally.finished, 4);
        seen.sort_unstable();
        assert_eq!(seen, vec![0, 1, 2, 3]);
    }

    #[test]
    fn threads_without_a_run_help_and_change_no_number() {
        use ndarray::Array2;
        // More inputs than samples: the Gram engine, whose products idle workers share.
        let (d, n) = (300, 120);
        let x = Array2::from_shape_fn((d, n), |(i, j)| ((i * 7 + j * 13) % 29) as f64 / 29.0);
        let labels: Vec<u8> = (0..n).map(|j| (j % 3) as u8).collect();
        let data = Dataset {
            name: "gram".into(),
            n_classes: 3,
            train: crate::data::Split::new(x.clone(), labels.clone()),
            test: crate::data::Split::new(x, labels),
        };
        let runs: Vec<RunSpec> = (0..2)
            .map(|seed| RunSpec {
                index: seed,
                id: format!("s{seed}"),
                hidden: vec![40],
                eta: 0.01,
                l2: 0.0,
                steps: 60,
                train_size: None,
                seed: seed as u64,
                engine: Engine::Gram,
                precision: Precision::F64,
            })
            .collect();
        let outcomes = |threads| {
            let mut out = vec![None, None];
            run_all(&runs, &data, threads, 10, &Control::default(), |f| {
                out[f.spec.index] = Some(f.outcome.unwrap());
            });
            out
        };
        let alone = outcomes(1);
        assert!(alone.iter().all(Option::is_some));
        assert_eq!(outcomes(4), alone);
        assert_eq!(outcomes(2), alone);
    }
}
