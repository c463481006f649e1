//! The step loop: full-batch gradient descent with backpropagation, exactly as the lecture
//! states it (or mini-batches, `batches.rs`), keeping a true copy of the best model by
//! training accuracy, evaluated every `eval_every` updates.
//!
//! Each concern has its file: the recipe (`recipe.rs`), the engines and the choice between them
//! (`engine.rs`, `direct.rs`, `gram.rs`), the passes (`backprop.rs`), model selection
//! (`select.rs`), the samples shared by the runs of a sweep (`inputs.rs`).

use std::sync::atomic::{AtomicBool, Ordering};

use ndarray::ArrayView2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::backprop::Workspace;
use super::batches::{Batches, Source};
use super::engine::{Engine, FirstInput, Parallelism};
use super::fusion::Membership;
use super::gram;
use super::inputs::{shared_inputs, Precise, SharedInputs};
use super::model::Model;
use super::network::Network;
use super::recipe::{Precision, Recipe, Select};
use super::select::Selection;

/// The samples a run trains on, may select its model on, and is tested on, one per column.
#[derive(Debug, Clone, Copy)]
pub struct TrainData<'a> {
    pub x: ArrayView2<'a, f64>,
    pub labels: &'a [u8],
    /// Validation samples and labels: what `select = Validation` picks the model on.
    pub validation: Option<(ArrayView2<'a, f64>, &'a [u8])>,
    pub test_x: ArrayView2<'a, f64>,
    pub test_labels: &'a [u8],
}

/// Accuracy and cost of the model after some step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurvePoint {
    pub step: usize,
    pub train_acc: f64,
    /// None when the run has no validation samples.
    pub val_acc: Option<f64>,
    pub test_acc: f64,
    pub cost: f64,
}

/// What a finished run reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The step after which the kept model's selecting accuracy was first reached (0: the
    /// initial weights).
    pub best_step: usize,
    /// Training accuracy of the kept model (the best one when selecting on training data).
    pub best_train_acc: f64,
    /// Validation accuracy of the kept model, when there are validation samples.
    pub best_val_acc: Option<f64>,
    /// Test accuracy of the kept model.
    pub best_test_acc: f64,
    /// Figures of the model after the last step; NaN when the run diverged.
    pub final_train_acc: f64,
    pub final_val_acc: Option<f64>,
    pub final_test_acc: f64,
    pub final_cost: f64,
    /// The last step taken: `steps`, or earlier when patience ran out or the run diverged.
    pub stopped_step: usize,
    /// The cost became NaN or infinite; training stopped there, the best model is kept.
    pub diverged: bool,
    pub curve: Vec<CurvePoint>,
    /// A true copy of the best model, not a reference to weights that kept changing.
    pub best: Network,
}

/// The run was told to stop before it finished (a shutdown past its grace time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("run abandoned before it finished")]
pub struct Abandoned;

/// What a run gets from whoever runs it, besides its recipe and data.
#[derive(Clone, Copy)]
pub struct Context<'c, 'a> {
    /// Products of the samples shared with the other runs of a sweep.
    pub shared: &'c SharedInputs<'a>,
    /// Checked after every step: once set, the run gives up with [`Abandoned`].
    pub abandon: &'c AtomicBool,
    pub parallelism: Parallelism,
    /// The run's place in a group of fused runs (`None`: alone). Only runs with the same
    /// [`Recipe::fusion_key`] and samples may share a group: each must ask for its products.
    pub group: Option<&'c Membership<'c>>,
}

/// Trains one network alone on this thread. Checks `abandon` after every step, so a shutdown
/// is never kept waiting.
pub fn train(
    recipe: &Recipe,
    data: TrainData<'_>,
    abandon: &AtomicBool,
) -> Result<Outcome, Abandoned> {
    train_alone_final(recipe, data, abandon).map(|(outcome, _)| outcome)
}

/// [`train`], with the model after the last step too (for comparing engines).
pub(super) fn train_alone_final(
    recipe: &Recipe,
    data: TrainData<'_>,
    abandon: &AtomicBool,
) -> Result<(Outcome, Network), Abandoned> {
    let shared = SharedInputs::new();
    let context = Context {
        shared: &shared,
        abandon,
        parallelism: Parallelism::Sequential,
        group: None,
    };
    train_with_final(recipe, data, context)
}

/// [`train`], with the products of the samples shared with the other runs of a sweep and the
/// parallelism the caller allows.
pub fn train_with<'a>(
    recipe: &Recipe,
    data: TrainData<'a>,
    context: Context<'_, 'a>,
) -> Result<Outcome, Abandoned> {
    train_with_final(recipe, data, context).map(|(outcome, _)| outcome)
}

/// The outcome, and the model after the last step (for comparing engines).
pub(super) fn train_with_final<'a>(
    recipe: &Recipe,
    data: TrainData<'a>,
    context: Context<'_, 'a>,
) -> Result<(Outcome, Network), Abandoned> {
    assert_eq!(
        data.x.ncols(),
        recipe.n_train(),
        "the recipe was checked for another number of training samples"
    );
    match recipe.precision() {
        Precision::F64 => train_in::<f64>(recipe, data, context),
        Precision::F32 => train_in::<f32>(recipe, data, context),
    }
}

fn train_in<'a, T: Precise>(
    recipe: &Recipe,
    data: TrainData<'a>,
    context: Context<'_, 'a>,
) -> Result<(Outcome, Network), Abandoned> {
    let n = data.x.ncols();
    let engine = recipe.engine();
    // Evaluated sets: the test set first, then the validation set when there is one.
    let mut evals = vec![data.test_x];
    evals.extend(data.validation.map(|(x, _)| x));
    let inputs = shared_inputs::<T>(context.shared, data.x, &evals);
    let init = super::init::initial_network(recipe);
    let mut net = Model::<T>::new(&init, engine, n);

    // w1(0)·X and w1(0)·S of each evaluated set S for the Gram engine.
    let projections = (engine == Engine::Gram).then(|| {
        let evals: Vec<_> = inputs
            .evals
            .iter()
            .map(|s| gram::projection(&init, s.view()))
            .collect();
        (gram::projection(&init, inputs.x.view()), evals)
    });
    let packed = recipe
        .packs_first_layer()
        .then(|| inputs.packed_x())
        .flatten();
    // A member of a group that does not take part would keep the others waiting.
    assert!(
        context.group.is_none() || (packed.is_some() && recipe.fusion_key().is_some()),
        "only runs with a fusion key are fused"
    );
    let (train_in, eval_ins): (FirstInput<'_, T>, Vec<FirstInput<'_, T>>) = match &projections {
        None => (
            match packed {
                Some(packed) => FirstInput::Packed {
                    x: inputs.x.view(),
                    packed,
                    group: context.group.map(|m| m.group),
                },
                None => FirstInput::Direct(inputs.x.view()),
            },
            inputs
                .evals
                .iter()
                .map(|s| FirstInput::Direct(s.view()))
                .collect(),
        ),
        Some((p, qs)) => {
            let (g, gs) = inputs.gram();
            let evals = gs
                .iter()
                .zip(qs)
                .map(|(h, q)| FirstInput::Gram {
                    g: h.g.view(),
                    packed: None,
                    p0: q.view(),
                    cols: None,
                })
                .collect();
            (
                FirstInput::Gram {
                    g: g.g.view(),
                    packed: g.packed.as_ref(),
                    p0: p.view(),
                    cols: None,
                },
                evals,
            )
        }
    };
    let (test_in, val_in) = (eval_ins[0], eval_ins.get(1).copied());

    let sizes = recipe.sizes();
    let (functions, cost) = (recipe.functions(), recipe.cost());
    let workspace = |labels: &[u8]| {
        Workspace::new(sizes, labels, context.parallelism).with_functions(functions, cost)
    };
    let mut work = workspace(data.labels);
    if recipe.dropout() > 0.0 {
        work = work.with_dropout();
    }
    let mut test_work = workspace(data.test_labels);
    let mut val_work = data.validation.map(|(_, labels)| workspace(labels));
    let accuracy = |net: &Model<T>, work: &mut Workspace<T>, input: FirstInput<'_, T>| {
        work.forward(net, input);
        work.evaluate().0
    };
    let by_validation = recipe.select() == Select::Validation;
    let (log_every, steps, eval_every) = (recipe.log_every(), recipe.steps(), recipe.eval_every());
    // Whether the evaluation at `step` is a curve point: the first evaluation at or after each
    // multiple of `log_every` (every multiple when evaluating every step, as the lecture), and
    // the last step. Evaluations come every `eval_every` steps, so the previous one was
    // `step − eval_every`.
    let logged = |step: usize| {
        log_every > 0
            && (step.is_multiple_of(log_every)
                || step == steps
                || step / log_every > step.saturating_sub(eval_every) / log_every)
    };
    // The validation accuracy of `net` at `step`, computed only when it selects or is logged.
    let mut validation = |net: &Model<T>, step: usize| match (&mut val_work, val_in) {
        (Some(work), Some(input)) if by_validation || logged(step) => {
            Some(accuracy(net, work, input))
        }
        _ => None,
    };
    // The selecting accuracy: validation's when selecting on it, else the training one.
    let selecting = |acc: f64, val: Option<f64>| match (by_validation, val) {
        (true, Some(val)) => val,
        _ => acc,
    };

    // Mini-batches: their own buffers; `work` then only evaluates the whole training set.
    let mut batches = recipe.is_mini_batch().then(|| {
        Batches::new(
            recipe,
            batch_source(train_in),
            data.labels,
            context.parallelism,
        )
    });

    work.forward(&net, train_in);
    let (mut acc, mut cost) = work.evaluate();
    let mut val = validation(&net, 0);
    let mut selection = Selection::new(&net, selecting(acc, val), acc);
    let mut curve = Vec::new();
    let mut record = |step: usize,
                      (acc, val, cost): (f64, Option<f64>, f64),
                      net: &Model<T>,
                      tw: &mut Workspace<T>| {
        if logged(step) {
            curve.push(CurvePoint {
                step,
                train_acc: acc,
                val_acc: val,
                test_acc: accuracy(net, tw, test_in),
                cost,
            });
        }
    };
    record(0, (acc, val, cost), &net, &mut test_work);

    let mut diverged = false;
    let mut stopped_step = steps;
    for step in 1..=steps {
        if context.abandon.load(Ordering::Relaxed) {
            return Err(Abandoned);
        }
        let evaluating = step.is_multiple_of(eval_every) || step == steps;
        if let Some(batches) = batches.as_mut() {
            batches.step(step, &mut net, batch_source(train_in), data.labels, recipe);
            if !evaluating {
                continue;
            }
        } else {
            if recipe.dropout() > 0.0 {
                work.draw_masks(recipe.dropout(), &mut dropout_stream(recipe.seed(), step));
                work.forward_masked(&net, train_in);
            }
            work.backpropagate(&net);
            work.update(&mut net, train_in, recipe.eta(), recipe.l2());
        }
        // A full batch's forward pass is also the next step's.
        work.forward(&net, train_in);
        if !evaluating {
            continue;
        }
        (acc, cost) = work.evaluate();
        if !cost.is_finite() {
            diverged = true;
            stopped_step = step;
            break;
        }
        val = validation(&net, step);
        selection.consider(step, selecting(acc, val), acc, &net);
        record(step, (acc, val, cost), &net, &mut test_work);
        if recipe
            .patience()
            .is_some_and(|p| step - selection.best_step >= p)
        {
            stopped_step = step;
            break;
        }
    }

    // The last product with the group is behind: the others need not wait for the rest.
    if let Some(member) = context.group {
        member.leave();
    }
    let best_test_acc = accuracy(&selection.best, &mut test_work, test_in);
    let mut val_accuracy = |net: &Model<T>| {
        val_work
            .as_mut()
            .zip(val_in)
            .map(|(work, input)| accuracy(net, work, input))
    };
    let best_val_acc = val_accuracy(&selection.best);
    let (final_train_acc, final_val_acc, final_test_acc, final_cost) = if diverged {
        let nan = f64::NAN;
        (nan, best_val_acc.map(|_| nan), nan, nan)
    } else {
        let val = val_accuracy(&net);
        (acc, val, accuracy(&net, &mut test_work, test_in), cost)
    };
    let outcome = Outcome {
        best_step: selection.best_step,
        best_train_acc: selection.best_train_acc,
        best_val_acc,
        best_test_acc,
        final_train_acc,
        final_val_acc,
        final_test_acc,
        final_cost,
        stopped_step,
        diverged,
        curve,
        best: selection.best.to_network(&init, data.x),
    };
    Ok((outcome, net.to_network(&init, data.x)))
}

/// Where a mini-batch gathers its first-layer inputs from: the training set's input.
fn batch_source<T>(input: FirstInput<'_, T>) -> Source<'_, T> {
    match input {
        FirstInput::Direct(x) | FirstInput::Packed { x, .. } => Source::Direct(x),
        FirstInput::Gram { g, p0, .. } => Source::Gram { g, p0 },
    }
}

/// The dropout masks' random stream of a run's step: ChaCha8 keyed by the run's seed (and a
/// tag that keeps it apart from the weights' stream), stream number the step. Masks thus depend
/// on the run and the step only, never on threads or on the other runs.
pub(super) fn dropout_stream(seed: u64, step: usize) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(b"dropout!");
    let mut rng = ChaCha8Rng::from_seed(key);
    rng.set_stream(step as u64);
    rng
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::backprop::cost_and_gradient;
    use crate::nn::recipe::{RecipeParams, Select};
    use crate::nn::test_data::{linear_rule_data, random_data, relative};
    use ndarray::Array2;

    fn spec(steps: usize, l2: f64) -> RecipeParams {
        Recipe::params(&[2, 4, 2])
            .eta(0.05)
            .l2(l2)
            .steps(steps)
            .seed(11)
    }

    fn context<'c, 'a>(shared: &'c SharedInputs<'a>, abandon: &'c AtomicBool) -> Context<'c, 'a> {
        Context {
            shared,
            abandon,
            parallelism: Parallelism::Sequential,
            group: None,
        }
    }

    #[test]
    fn one_step_is_one_gradient_descent_update() {
        let (x, labels) = random_data(2, 9, 2, 1);
        let never = AtomicBool::new(false);
        let data = TrainData {
            x: x.view(),
            labels: &labels,
            validation: None,
            test_x: x.view(),
            test_labels: &labels,
        };
        for l2 in [0.0, 0.3] {
            let start = Network::init(&[2, 4, 2], 11);
            let (_, gw, gb) = cost_and_gradient(&start, x.view(), &labels, Default::default());
            let mut expected = start.clone();
            for l in 0..2 {
                expected.weights[l] = &start.weights[l] * (1.0 - 0.05 * l2) - &gw[l] * 0.05;
                expected.biases[l] = &start.biases[l] - &gb[l] * 0.05;
            }
            // With the improvement check removed from the picture: train one step, then compare
            // the final model, which after one step is what the best-copy logic may or may not keep.
            let mut work = Workspace::new(&[2, 4, 2], &labels, Parallelism::Sequential);
            let mut model = Model::<f64>::direct(&start);
            let input = FirstInput::Direct(x.view());
            work.forward(&model, input);
            work.backpropagate(&model);
            work.update(&mut model, input, 0.05, l2);
            let net = model.to_network(&start, x.view());
            for l in 0..2 {
                let diff = (&net.weights[l] - &expected.weights[l]).mapv(f64::abs);
                assert!(diff.iter().all(|&d| d < 1e-14), "layer {l}, l2 {l2}");
                let diff = (&net.biases[l] - &expected.biases[l]).mapv(f64::abs);
                assert!(diff.iter().all(|&d| d < 1e-14));
            }
            assert!(train(&spec(1, l2).check(9, 9).unwrap(), data, &never).is_ok());
        }
    }

    #[test]
    fn the_best_model_is_a_true_copy_and_reproduces_its_accuracy() {
        let (x, labels) = random_data(2, 40, 2, 4);
        let (tx, tl) = random_data(2, 20, 2, 5);
        let data = TrainData {
            x: x.view(),
            labels: &labels,
            validation: None,
            test_x: tx.view(),
            test_labels: &tl,
        };
        let s = spec(300, 0.0).eta(0.5);
        let out = train(
            &s.clone().check(40, 20).unwrap(),
            data,
            &AtomicBool::new(false),
        )
        .unwrap();
        let accuracy = |net: &Network, x: &Array2<f64>, l: &[u8]| {
            let p = net.predict(x.view());
            p.iter().zip(l).filter(|(a, b)| a == b).count() as f64 / l.len() as f64
        };
        assert_eq!(accuracy(&out.best, &x, &labels), out.best_train_acc);
        assert_eq!(accuracy(&out.best, &tx, &tl), out.best_test_acc);
        assert!(out.best_train_acc >= out.final_train_acc);
        // The lecture's shallow copy would make the best model the last one: ours must not be,
        // unless the last step happened to be the best.
        if out.best_step > 0 && out.best_step < 300 {
            let final_net = {
                let again = s.steps(out.best_step).check(40, 20).unwrap();
                train(&again, data, &AtomicBool::new(false)).unwrap()
            };
            assert_eq!(final_net.final_train_acc, out.best_train_acc);
        }
    }

    #[test]
    fn same_spec_same_result_and_curves_at_the_asked_steps() {
        let (x, labels) = random_data(2, 30, 2, 8);
        let data = TrainData {
            x: x.view(),
            labels: &labels,
            validation: None,
            test_x: x.view(),
            test_labels: &labels,
        };
        let s = spec(25, 0.0).log_every(10).check(30, 30).unwrap();
        let a = train(&s, data, &AtomicBool::new(false)).unwrap();
        let b = train(&s, data, &AtomicBool::new(false)).unwrap();
        assert_eq!(a, b);
        let steps: Vec<usize> = a.curve.iter().map(|p| p.step).collect();
        assert_eq!(steps, vec![0, 10, 20, 25]);
        assert_eq!(a.curve.last().unwrap().cost, a.final_cost);
    }

    #[test]
    fn a_diverging_run_is_flagged_and_keeps_its_best() {
        let (mut x, labels) = random_data(2, 10, 2, 2);
        x[[0, 0]] = f64::NAN;
        let data = TrainData {
            x: x.view(),
            labels: &labels,
            validation: None,
            test_x: x.view(),
            test_labels: &labels,
        };
        let out = train(
            &spec(50, 0.0).check(10, 10).unwrap(),
            data,
            &AtomicBool::new(false),
        )
        .unwrap();
        assert!(out.diverged);
        assert!(out.final_cost.is_nan());
        assert!(out.best_train_acc.is_finite());
    }

    #[test]
    fn an_abandoned_run_stops() {
        let (x, labels) = random_data(2, 10, 2, 2);
        let data = TrainData {
            x: x.view(),
            labels: &labels,
            validation: None,
            test_x: x.view(),
            test_labels: &labels,
        };
        assert_eq!(
            train(
                &spec(1_000_000, 0.0).check(10, 10).unwrap(),
                data,
                &AtomicBool::new(true)
            ),
            Err(Abandoned)
        );
    }

    #[test]
    fn both_engines_take_the_same_steps() {
        let (x, labels) = linear_rule_data(40, 24, 3, 1);
        let (tx, tl) = linear_rule_data(40, 10, 3, 2);
        let data = TrainData {
            x: x.view(),
            labels: &labels,
            validation: None,
            test_x: tx.view(),
            test_labels: &tl,
        };
        assert_eq!(Engine::Auto.resolve(&[40, 8, 3], 24, 10, 100), Engine::Gram);
        assert_eq!(
            Engine::Auto.resolve(&[2, 8, 3], 24, 10, 100),
            Engine::Direct
        );
        for l2 in [0.0, 0.5] {
            let run = |engine| {
                let s = Recipe::params(&[40, 8, 3])
                    .eta(0.05)
                    .l2(l2)
                    .steps(100)
                    .seed(3)
                    .engine(engine)
                    .check(24, 10)
                    .unwrap();
                train_alone_final(&s, data, &AtomicBool::new(false)).unwrap()
            };
            let (direct, direct_net) = run(Engine::Direct);
            let (gram, gram_net) = run(Engine::Gram);
            let start = Network::init(&[40, 8, 3], 3);
            assert!(
                relative(&direct_net.weights[0], &start.weights[0]) > 1e-3,
                "it trained"
            );
            for l in 0..2 {
                let w = relative(&gram_net.weights[l], &direct_net.weights[l]);
                assert!(w < 1e-8, "l2 {l2}, layer {l}: weights differ by {w}");
                let b = (&gram_net.biases[l] - &direct_net.biases[l])
                    .mapv(f64::abs)
                    .sum()
                    / direct_net.biases[l].mapv(f64::abs).sum();
                assert!(b < 1e-8, "l2 {l2}, layer {l}: biases differ by {b}");
            }
            assert_eq!(gram.best_train_acc, direct.best_train_acc);
            assert_eq!(gram.final_test_acc, direct.final_test_acc);
        }
    }

    fn full_run(engine: Engine, precision: Precision) -> Outcome {
        let (x, labels) = linear_rule_data(150, 200, 4, 5);
        let (tx, tl) = linear_rule_data(150, 100, 4, 6);
        let data = TrainData {
            x: x.view(),
            labels: &labels,
            validation: None,
            test_x: tx.view(),
            test_labels: &tl,
        };
        let s = Recipe::params(&[150, 12, 4])
            .eta(0.01)
            .steps(1500)
            .seed(7)
            .log_every(500)
            .engine(engine)
            .precision(precision)
            .check(200, 100)
            .unwrap();
        train(&s, data, &AtomicBool::new(false)).unwrap()
    }

    #[test]
    fn engines_and_precisions_agree_on_a_full_run() {
        let direct = full_run(Engine::Direct, Precision::F64);
        let gram = full_run(Engine::Gram, Precision::F64);
        let gram32 = full_run(Engine::Auto, Precision::F32);
        let direct32 = full_run(Engine::Direct, Precision::F32);
        assert!(
            direct.best_train_acc > 0.6,
            "it learns: {}",
            direct.best_train_acc
        );
        for (name, out, points) in [
            ("gram", &gram, 1.0),
            ("gram f32", &gram32, 2.0),
            ("direct f32", &direct32, 2.0),
        ] {
            for (a, b) in [
                (out.best_train_acc, direct.best_train_acc),
                (out.best_test_acc, direct.best_test_acc),
                (out.final_train_acc, direct.final_train_acc),
                (out.final_test_acc, direct.final_test_acc),
            ] {
                assert!((a - b).abs() * 100.0 <= points, "{name}: {a} vs {b}");
            }
        }
        assert_eq!(gram.curve.len(), direct.curve.len());
    }

    #[test]
    fn sharing_the_inputs_changes_no_number() {
        let (x, labels) = linear_rule_data(30, 20, 3, 8);
        let data = TrainData {
            x: x.view(),
            labels: &labels,
            validation: None,
            test_x: x.view(),
            test_labels: &labels,
        };
        let shared = SharedInputs::new();
        for precision in [Precision::F64, Precision::F32] {
            let s = Recipe::params(&[30, 5, 3])
                .eta(0.1)
                .steps(50)
                .seed(1)
                .log_every(10)
                .engine(Engine::Gram)
                .precision(precision)
                .check(20, 20)
                .unwrap();
            let never = AtomicBool::new(false);
            let alone = train(&s, data, &never).unwrap();
            let first = train_with(&s, data, context(&shared, &never)).unwrap();
            let again = train_with(&s, data, context(&shared, &never)).unwrap();
            assert_eq!(alone, first);
            assert_eq!(alone, again);
        }
        assert_eq!(shared.f64.lock().unwrap().len(), 1);
        assert_eq!(shared.f32.lock().unwrap().len(), 1);
    }

    /// The Gram engine stays exact with each remedy: dropout on hidden units, validation-based
    /// selection with patience, and shifted images all keep w1 in the span of the training
    /// inputs. 4×4 "images", fewer samples than inputs (and more, once shifted).
    #[test]
    fn gram_and_direct_agree_to_1e8_after_100_steps_with_each_remedy() {
        let (x, labels) = linear_rule_data(16, 12, 3, 21);
        let (vx, vl) = linear_rule_data(16, 8, 3, 22);
        let (tx, tl) = linear_rule_data(16, 9, 3, 23);
        let shifted = crate::data::augment::shift(x.view(), &labels).unwrap();
        let plain = Recipe::params(&[16, 7, 3])
            .eta(0.05)
            .l2(0.01)
            .steps(100)
            .seed(4);
        let cases: [(&str, RecipeParams, bool); 4] = [
            ("dropout", plain.clone().dropout(0.3), false),
            (
                "select validation",
                plain.clone().select(Select::Validation),
                false,
            ),
            (
                "patience",
                plain
                    .clone()
                    .select(Select::Validation)
                    .patience(Some(1000)),
                false,
            ),
            ("augment shift", plain.clone(), true),
        ];
        for (name, params, augment) in cases {
            let (x, labels) = if augment {
                (shifted.x.view(), &shifted.labels[..])
            } else {
                (x.view(), &labels[..])
            };
            let data = TrainData {
                x,
                labels,
                validation: Some((vx.view(), &vl)),
                test_x: tx.view(),
                test_labels: &tl,
            };
            let run = |engine| {
                let r = params
                    .clone()
                    .engine(engine)
                    .check_with_validation(x.ncols(), 17, 8)
                    .unwrap();
                train_alone_final(&r, data, &AtomicBool::new(false)).unwrap()
            };
            let (direct, direct_net) = run(Engine::Direct);
            let (gram, gram_net) = run(Engine::Gram);
            for l in 0..2 {
                let w = relative(&gram_net.weights[l], &direct_net.weights[l]);
                assert!(w < 1e-8, "{name}, layer {l}: weights differ by {w}");
            }
            assert_eq!(gram.stopped_step, direct.stopped_step, "{name}");
            assert_eq!(gram.best_val_acc, direct.best_val_acc, "{name}");
            assert!(direct.best_val_acc.is_some(), "{name}");
        }
        // Dropout changes the run (its masks are drawn), and the same run again is the same.
        let data = TrainData {
            x: x.view(),
            labels: &labels,
            validation: None,
            test_x: tx.view(),
            test_labels: &tl,
        };
        let never = AtomicBool::new(false);
        let with = train(
            &plain.clone().dropout(0.3).check(12, 9).unwrap(),
            data,
            &never,
        )
        .unwrap();
        let again = train(
            &plain.clone().dropout(0.3).check(12, 9).unwrap(),
            data,
            &never,
        )
        .unwrap();
        let without = train(&plain.clone().check(12, 9).unwrap(), data, &never).unwrap();
        assert_eq!(with, again);
        assert_ne!(with.final_cost, without.final_cost);
    }

    #[test]
    fn validation_selects_the_kept_model_and_patience_stops_the_run() {
        let (x, labels) = random_data(2, 40, 2, 4);
        let (vx, vl) = random_data(2, 20, 2, 5);
        let data = TrainData {
            x: x.view(),
            labels: &labels,
            validation: Some((vx.view(), &vl)),
            test_x: vx.view(),
            test_labels: &vl,
        };
        let never = AtomicBool::new(false);
        let by_val = spec(300, 0.0).eta(0.5).select(Select::Validation);
        let out = train(
            &by_val.clone().check_with_validation(40, 40, 20).unwrap(),
            data,
            &never,
        )
        .unwrap();
        // The test set here is the validation set: the kept model is the best on it.
        assert_eq!(out.best_val_acc, Some(out.best_test_acc));
        assert!(out.best_test_acc >= out.final_test_acc);
        assert_eq!(out.stopped_step, 300);
        let patient = by_val
            .patience(Some(5))
            .check_with_validation(40, 40, 20)
            .unwrap();
        let stopped = train(&patient, data, &never).unwrap();
        assert!(stopped.stopped_step < 300, "{}", stopped.stopped_step);
        assert_eq!(stopped.stopped_step - stopped.best_step, 5);
        assert!(spec(10, 0.0)
            .select(Select::Validation)
            .check(40, 20)
            .is_err());
    }
}
