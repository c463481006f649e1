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

use crate::data::augment::{self, Augment};
use crate::data::{Dataset, Split};
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
///
/// A finished run is handed over before more than `threads` further runs finish: a worker
/// waits with its finished run until this thread takes it (a rendezvous channel), so a slow
/// `on_finished` holds the workers back instead of piling up a backlog, and after a stop at
/// most `threads` runs that had already finished are still handed over.
///
/// Fails (before any run starts) when the worker threads cannot be created.
pub fn run_all<'a>(
    runs: &'a [RunSpec],
    data: &Dataset,
    threads: usize,
    control: &Control,
    mut on_finished: impl FnMut(Finished<'a>),
) -> Result<Tally, rayon::ThreadPoolBuildError> {
    // One worker loop per thread of the pool, even with fewer runs than threads: the workers
    // without a run help the others with their Gram products (see nn's packed kernel).
    let threads = threads.max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("nnsweep-worker-{i}"))
        .build()?;
    let next = AtomicUsize::new(0);
    let units = units(runs);
    // Expanded training sets, made once per training size (before `shared`, which borrows them).
    let augmented = augmented_sets(runs, data);
    let shared = nn::SharedInputs::new();
    let (sender, receiver) = mpsc::sync_channel::<Finished<'a>>(0);
    let mut tally = Tally::default();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            // `broadcast` runs the loop once on each worker, from that worker's own queue: a
            // worker waiting in a product's `join` may take other jobs, but never a second loop.
            pool.broadcast(|_| {
                let sender = sender.clone();
                let train = |spec: &'a RunSpec, member: Option<&nn::Membership<'_>>| {
                    let started = Instant::now();
                    let outcome = train_one(spec, data, &augmented, &shared, control, member);
                    Finished {
                        spec,
                        outcome,
                        seconds: started.elapsed().as_secs_f64(),
                    }
                };
                loop {
                    if control.stop_starting.load(Ordering::SeqCst) {
                        break;
                    }
                    let Some(unit) = units.get(next.fetch_add(1, Ordering::SeqCst)) else {
                        break;
                    };
                    if let [i] = unit[..] {
                        if sender.send(train(&runs[i], None)).is_err() {
                            break;
                        }
                        continue;
                    }
                    // A group: one thread per member, stepping together (see nn's fusion).
                    let group = nn::FusedGroup::new(unit.len());
                    std::thread::scope(|members| {
                        for &i in unit {
                            // Made here: if the thread cannot start, dropping it leaves.
                            let member = group.member();
                            let (sender, train) = (sender.clone(), &train);
                            let spawned = std::thread::Builder::new()
                                .name(format!("nnsweep-worker-f{i}"))
                                .spawn_scoped(members, move || {
                                    // One member at a time: the group takes this worker's core.
                                    member.enter();
                                    let finished = train(&runs[i], Some(&member));
                                    drop(member);
                                    let _ = sender.send(finished);
                                });
                            if let Err(e) = spawned {
                                eprintln!("nnsweep: no thread for run {}: {e}", runs[i].id);
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
    Ok(tally)
}

/// What the workers take, one at a time, longest first: a run alone, or a group of runs fused
/// (same fusion key and training samples, at most `FUSED_ROWS` first-layer rows together),
/// each group where its longest run falls in the order.
fn units(runs: &[RunSpec]) -> Vec<Vec<usize>> {
    let mut units: Vec<Vec<usize>> = Vec::new();
    // Groups still taking members: their key, their place in `units`, their rows so far.
    let mut open: Vec<((nn::FusionKey, Augment), usize, usize)> = Vec::new();
    for i in longest_first(runs) {
        let recipe = &runs[i].recipe;
        let Some(key) = recipe.fusion_key().map(|k| (k, runs[i].augment)) else {
            units.push(vec![i]);
            continue;
        };
        let rows = recipe.sizes()[1];
        match open
            .iter_mut()
            .find(|(k, _, r)| *k == key && r + rows <= nn::FUSED_ROWS)
        {
            Some((_, unit, r)) => {
                units[*unit].push(i);
                *r += rows;
            }
            None => {
                open.push((key, units.len(), rows));
                units.push(vec![i]);
            }
        }
    }
    units
}

/// Positions in `runs`, the most FLOPs first; a stable sort keeps plan order among equals.
fn longest_first(runs: &[RunSpec]) -> Vec<usize> {
    let flops: Vec<f64> = runs.iter().map(RunSpec::flops).collect();
    let mut order: Vec<usize> = (0..runs.len()).collect();
    order.sort_by(|&a, &b| flops[b].total_cmp(&flops[a]));
    order
}

/// The training sets of the runs with `augment = "shift"`, by training size: each made once
/// and shared by every run of that size. Plans check that the data are square images.
fn augmented_sets(runs: &[RunSpec], data: &Dataset) -> Vec<(usize, Split)> {
    let mut sets: Vec<(usize, Split)> = Vec::new();
    for run in runs.iter().filter(|r| r.augment == Augment::Shift) {
        let n = run.n_train(data.train.len());
        if sets.iter().all(|(m, _)| *m != n) {
            let (x, labels) = data.train.head(n);
            let set = augment::shift(x, labels).expect("the plan checked the images are square");
            sets.push((n, set));
        }
    }
    sets
}

fn train_one<'d>(
    spec: &RunSpec,
    data: &'d Dataset,
    augmented: &'d [(usize, Split)],
    shared: &nn::SharedInputs<'d>,
    control: &Control,
    member: Option<&nn::Membership<'_>>,
) -> Result<Outcome, Abandoned> {
    let n = spec.n_train(data.train.len());
    let (x, labels) = match spec.augment {
        Augment::None => data.train.head(n),
        Augment::Shift => {
            let set = &augmented
                .iter()
                .find(|(m, _)| *m == n)
                .expect("made for every size")
                .1;
            (set.x.view(), &set.labels[..])
        }
    };
    let train_data = TrainData {
        x,
        labels,
        validation: data
            .validation
            .as_ref()
            .map(|v| (v.x.view(), &v.labels[..])),
        test_x: data.test.x.view(),
        test_labels: &data.test.labels,
    };
    let context = nn::Context {
        shared,
        abandon: &control.abandon,
        // A fused run's thread is not one of the pool's: its products are the group's.
        parallelism: match member {
            None => nn::Parallelism::Pool,
            Some(_) => nn::Parallelism::Sequential,
        },
        group: member,
    };
    nn::train_with(&spec.recipe, train_data, context)
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
        n_train: spec.recipe.n_train(),
        n_test: data.test.len(),
        hidden: spec.hidden_label(),
        n_params: spec.n_params(),
        eta: spec.recipe.eta(),
        l2: spec.recipe.l2(),
        seed: spec.recipe.seed(),
        steps: spec.recipe.steps(),
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
        n_val: data.validation.as_ref().map(Split::len),
        dropout: spec.recipe.dropout(),
        augment: spec.augment.name().into(),
        select: spec.recipe.select().name().into(),
        patience: spec.recipe.patience(),
        val_acc: outcome.best_val_acc,
        final_val_acc: outcome.final_val_acc,
        stopped_step: Some(outcome.stopped_step),
        cost: spec.recipe.cost().name().into(),
        output: spec.recipe.output().name().into(),
        activation: spec.recipe.activation().name().into(),
        init: spec.recipe.init().name().into(),
        batch_size: spec.recipe.batch_size(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synthetic::{generate, Shape, SyntheticSpec};
    use crate::nn::{Engine, Recipe};

    fn circles() -> Dataset {
        generate(&SyntheticSpec {
            shape: Shape::Circles { factor: 0.5 },
            samples: 60,
            noise: 0.1,
            test_fraction: 0.25,
            seed: 0,
            rng: Default::default(),
            validation_fraction: None,
        })
    }

    /// A run of `hidden` units and `steps` steps on `data`, planned as `plan` would.
    fn run(data: &Dataset, index: usize, hidden: usize, steps: usize, engine: Engine) -> RunSpec {
        let recipe = Recipe::params(&[data.n_features(), hidden, data.n_classes])
            .eta(0.01)
            .steps(steps)
            .seed(index as u64)
            .log_every(10)
            .engine(engine)
            .check(data.train.len(), data.test.len())
            .unwrap();
        RunSpec {
            index,
            id: format!("r{index}"),
            train_size: None,
            augment: crate::data::augment::Augment::None,
            recipe,
        }
    }

    #[test]
    fn the_longest_runs_start_first_and_equals_keep_plan_order() {
        let data = circles();
        let a = Engine::Auto;
        let runs = [
            run(&data, 0, 2, 10, a),
            run(&data, 1, 8, 10, a),
            run(&data, 2, 2, 30, a),
            run(&data, 3, 8, 10, a),
        ];
        assert_eq!(longest_first(&runs), vec![1, 3, 2, 0]);
        let mut seen = Vec::new();
        let tally = run_all(&runs, &data, 2, &Control::default(), |f| {
            seen.push(f.spec.index)
        })
        .unwrap();
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
            validation: None,
            test: crate::data::Split::new(x, labels),
        };
        let runs: Vec<RunSpec> = (0..2)
            .map(|i| run(&data, i, 40, 60, Engine::Gram))
            .collect();
        assert_eq!(runs[0].recipe.engine(), Engine::Gram);
        let outcomes = |threads| {
            let mut out = vec![None, None];
            run_all(&runs, &data, threads, &Control::default(), |f| {
                out[f.spec.index] = Some(f.outcome.unwrap());
            })
            .unwrap();
            out
        };
        let alone = outcomes(1);
        assert!(alone.iter().all(Option::is_some));
        assert_eq!(outcomes(4), alone);
        assert_eq!(outcomes(2), alone);
    }

    #[test]
    fn a_slow_writer_holds_the_workers_back_and_a_stop_leaves_no_backlog() {
        let data = circles();
        let runs: Vec<RunSpec> = (0..60).map(|i| run(&data, i, 2, 1, Engine::Auto)).collect();
        for threads in [1, 3] {
            let control = Control::default();
            let mut handed = 0;
            let tally = run_all(&runs, &data, threads, &control, |_| {
                handed += 1;
                if handed == 1 {
                    // A stop as `--grace 0` makes it, while this (slow) writer still holds the
                    // first run: 60 one-step runs would all finish meanwhile with an unbounded
                    // channel.
                    control.stop_starting.store(true, Ordering::SeqCst);
                    control.abandon.store(true, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(300));
                }
            })
            .unwrap();
            assert!(
                handed <= 1 + threads,
                "{threads} threads: {handed} runs handed over after the stop"
            );
            assert_eq!(tally.finished + tally.abandoned, handed);
            assert!(tally.not_started >= 60 - 1 - threads);
        }
    }

    #[test]
    fn remedies_give_the_same_numbers_on_any_thread_count() {
        use crate::data::augment::Augment;
        use crate::nn::Select;
        use ndarray::Array2;
        // 3×3 images, a validation split: dropout, augmentation and validation selection.
        let images = |n: usize, salt: usize| {
            let x = Array2::from_shape_fn((9, n), |(i, j)| {
                ((i * 7 + j * 13 + salt) % 11) as f64 / 11.0
            });
            let labels: Vec<u8> = (0..n).map(|j| ((j * 5 + salt) % 3) as u8).collect();
            crate::data::Split::new(x, labels)
        };
        let data = Dataset {
            name: "tiny".into(),
            n_classes: 3,
            train: images(30, 0),
            validation: Some(images(10, 1)),
            test: images(10, 2),
        };
        let mut runs = Vec::new();
        for (i, (dropout, augment, select)) in [
            (0.0, Augment::None, Select::Train),
            (0.3, Augment::None, Select::Validation),
            (0.0, Augment::Shift, Select::Train),
            (0.5, Augment::Shift, Select::Validation),
        ]
        .into_iter()
        .enumerate()
        {
            let n = augment.expanded(30);
            let recipe = Recipe::params(&[9, 6, 3])
                .eta(0.05)
                .steps(80)
                .seed(i as u64)
                .dropout(dropout)
                .select(select)
                .patience(Some(50))
                .check_with_validation(n, 20, 10)
                .unwrap();
            runs.push(RunSpec {
                index: i,
                id: format!("r{i}"),
                train_size: None,
                augment,
                recipe,
            });
        }
        let outcomes = |threads| {
            let mut out = vec![None; runs.len()];
            run_all(&runs, &data, threads, &Control::default(), |f| {
                out[f.spec.index] = Some(f.outcome.unwrap());
            })
            .unwrap();
            out
        };
        let one = outcomes(1);
        assert!(one.iter().all(Option::is_some));
        assert_eq!(outcomes(3), one);
        let rec = record(&runs[3], &data, one[3].as_ref().unwrap(), 0.0, "h");
        assert_eq!((rec.n_train, rec.n_val), (150, Some(10)));
        assert_eq!(
            (rec.augment.as_str(), rec.select.as_str()),
            ("shift", "validation")
        );
        assert!(rec.val_acc.is_some() && rec.stopped_step.is_some());
    }

    /// An outcome as text (NaN equal to NaN), with the bits of its kept network.
    fn bits(o: &Outcome) -> (String, Vec<u64>) {
        let mut shown = o.clone();
        let net = std::mem::replace(
            &mut shown.best,
            crate::nn::Network {
                weights: vec![],
                biases: vec![],
                functions: o.best.functions,
            },
        );
        let weights = net.weights.iter().flat_map(|w| w.iter());
        let biases = net.biases.iter().flat_map(|b| b.iter());
        (
            format!("{shown:?}"),
            weights.chain(biases).map(|v| v.to_bits()).collect(),
        )
    }

    /// Runs fused in groups give, row for row and bit for bit, what each gives trained alone
    /// on one thread: on 1 and 2 threads, with members leaving early (patience, divergence)
    /// and runs that cannot join (dropout: another step shape; f32: another precision).
    #[test]
    fn fused_runs_give_the_numbers_they_give_alone() {
        use crate::nn::{Precision, RecipeParams};
        use ndarray::Array2;
        // Enough samples × inputs for the packed first layer.
        let (d, n) = (64, 600);
        let x = Array2::from_shape_fn((d, n), |(i, j)| {
            (((i * 37 + j * 11) % 53) as f64 / 53.0) * if (i + j) % 3 == 0 { 1.0 } else { 0.5 }
        });
        let labels: Vec<u8> = (0..n).map(|j| ((j * 7 / 5) % 3) as u8).collect();
        assert!(d * n >= nn::PACKED_FROM);
        let data = Dataset {
            name: "fused".into(),
            n_classes: 3,
            train: crate::data::Split::new(x.clone(), labels.clone()),
            validation: None,
            test: crate::data::Split::new(
                x.slice(ndarray::s![.., ..90]).to_owned(),
                labels[..90].to_vec(),
            ),
        };
        let spec = |index: usize, hidden: usize, f: &dyn Fn(RecipeParams) -> RecipeParams| {
            let params = Recipe::params(&[d, hidden, 3])
                .eta(0.002)
                .steps(40)
                .seed(index as u64)
                .log_every(7);
            RunSpec {
                index,
                id: format!("r{index}"),
                train_size: None,
                augment: crate::data::augment::Augment::None,
                recipe: f(params).check(n, 90).unwrap(),
            }
        };
        let runs = vec![
            spec(0, 10, &|p| p),
            spec(1, 10, &|p| p.eta(0.004)),
            spec(2, 4, &|p| p.patience(Some(3)).eta(1e-5)),
            spec(3, 20, &|p| p.eta(1e10).l2(1.0)),
            spec(4, 10, &|p| p.dropout(0.3)),
            spec(5, 10, &|p| p.precision(Precision::F32)),
            spec(6, 10, &|p| p.precision(Precision::F32).seed(9)),
        ];
        if !runs[0].recipe.packs_first_layer() {
            eprintln!(
                "SKIPPED: no packed kernel on this processor (no AVX-512F): nothing is fused"
            );
            return;
        }
        let groups = units(&runs);
        let sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
        assert!(
            sizes.contains(&4) && sizes.contains(&2),
            "groups {groups:?}"
        );
        let alone: Vec<Outcome> = runs
            .iter()
            .map(|r| {
                let (x, labels) = data.train.head(n);
                let train_data = TrainData {
                    x,
                    labels,
                    validation: None,
                    test_x: data.test.x.view(),
                    test_labels: &data.test.labels,
                };
                nn::train(&r.recipe, train_data, &AtomicBool::new(false)).unwrap()
            })
            .collect();
        assert!(alone[2].stopped_step < 40, "patience stops run 2 early");
        assert!(alone[3].diverged, "run 3 diverges");
        for threads in [1, 2] {
            let mut out: Vec<Option<Outcome>> = vec![None; runs.len()];
            run_all(&runs, &data, threads, &Control::default(), |f| {
                out[f.spec.index] = Some(f.outcome.unwrap());
            })
            .unwrap();
            for (i, (got, want)) in out.iter().zip(&alone).enumerate() {
                let got = got.as_ref().expect("every run finished");
                assert_eq!(bits(got), bits(want), "run {i} on {threads} threads");
            }
        }
    }
}
