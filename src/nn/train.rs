//! Full-batch gradient descent with backpropagation, exactly as the lecture states it, keeping
//! a true copy of the best model by training accuracy.
//!
//! Every buffer is allocated once per run in a [`Workspace`]; the step loop allocates nothing.
//! Activations are stored, not pre-activations: σ'(z) = a(1 − a) needs only `a`.

use std::sync::atomic::{AtomicBool, Ordering};

use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, ArrayView2, Axis, Zip};

use super::network::{sigmoid_with_bias, Network};

/// One training run's hyper-parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainSpec {
    /// Layer sizes, input first, output (number of classes) last.
    pub sizes: Vec<usize>,
    pub eta: f64,
    /// L2 penalty: each update is `w ← w − eta·(l2·w + ∂C/∂w)`; biases are not penalised.
    pub l2: f64,
    pub steps: usize,
    /// Seed of the initial weights.
    pub seed: u64,
    /// Record a learning-curve point every this many steps (and at steps 0 and the last); 0: none.
    pub log_every: usize,
}

/// The samples a run trains and is tested on, one per column.
#[derive(Debug, Clone, Copy)]
pub struct TrainData<'a> {
    pub x: ArrayView2<'a, f64>,
    pub labels: &'a [u8],
    pub test_x: ArrayView2<'a, f64>,
    pub test_labels: &'a [u8],
}

/// Accuracy and cost of the model after some step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurvePoint {
    pub step: usize,
    pub train_acc: f64,
    pub test_acc: f64,
    pub cost: f64,
}

/// What a finished run reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The step after which the best training accuracy was first reached (0: the initial weights).
    pub best_step: usize,
    pub best_train_acc: f64,
    /// Test accuracy of the best model.
    pub best_test_acc: f64,
    /// Figures of the model after the last step; NaN when the run diverged.
    pub final_train_acc: f64,
    pub final_test_acc: f64,
    pub final_cost: f64,
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

/// Trains one network. Checks `abandon` after every step, so a shutdown is never kept waiting.
pub fn train(
    spec: &TrainSpec,
    data: TrainData<'_>,
    abandon: &AtomicBool,
) -> Result<Outcome, Abandoned> {
    let n_classes = *spec.sizes.last().expect("at least two layers");
    let mut net = Network::init(&spec.sizes, spec.seed);
    let mut best = net.clone();
    let mut work = Workspace::new(&spec.sizes, data.x.ncols());
    let mut test_work = Workspace::new(&spec.sizes, data.test_x.ncols());
    let test_accuracy = |net: &Network, test_work: &mut Workspace| {
        test_work.forward(net, data.test_x);
        test_work.evaluate(data.test_labels, n_classes).0
    };

    work.forward(&net, data.x);
    let (mut acc, mut cost) = work.evaluate(data.labels, n_classes);
    let (mut best_acc, mut best_step) = (acc, 0);
    let mut curve = Vec::new();
    let mut record = |step: usize, acc: f64, cost: f64, net: &Network, tw: &mut Workspace| {
        if spec.log_every > 0 && (step % spec.log_every == 0 || step == spec.steps) {
            curve.push(CurvePoint {
                step,
                train_acc: acc,
                test_acc: test_accuracy(net, tw),
                cost,
            });
        }
    };
    record(0, acc, cost, &net, &mut test_work);

    let mut diverged = false;
    for step in 1..=spec.steps {
        if abandon.load(Ordering::Relaxed) {
            return Err(Abandoned);
        }
        work.backpropagate(&net, data.labels);
        work.update(&mut net, data.x, spec.eta, spec.l2);
        work.forward(&net, data.x);
        (acc, cost) = work.evaluate(data.labels, n_classes);
        if !cost.is_finite() {
            diverged = true;
            break;
        }
        if acc > best_acc {
            best_acc = acc;
            best_step = step;
            best.clone_from(&net);
        }
        record(step, acc, cost, &net, &mut test_work);
    }

    let best_test_acc = test_accuracy(&best, &mut test_work);
    let (final_train_acc, final_test_acc, final_cost) = if diverged {
        (f64::NAN, f64::NAN, f64::NAN)
    } else {
        (acc, test_accuracy(&net, &mut test_work), cost)
    };
    Ok(Outcome {
        best_step,
        best_train_acc: best_acc,
        best_test_acc,
        final_train_acc,
        final_test_acc,
        final_cost,
        diverged,
        curve,
        best,
    })
}

/// The quadratic cost and its gradient with respect to every weight and bias, for checking
/// backpropagation against finite differences (and for anyone who wants the gradient itself).
pub fn cost_and_gradient(
    net: &Network,
    x: ArrayView2<'_, f64>,
    labels: &[u8],
) -> (f64, Vec<Array2<f64>>, Vec<Array1<f64>>) {
    let sizes = net.sizes();
    let mut work = Workspace::new(&sizes, x.ncols());
    work.forward(net, x);
    let (_, cost) = work.evaluate(labels, *sizes.last().unwrap());
    work.backpropagate(net, labels);
    let grad_w = (0..net.weights.len())
        .map(|l| work.deltas[l].dot(&work.layer_input(x, l).t()))
        .collect();
    let grad_b = work.deltas.iter().map(|d| d.sum_axis(Axis(1))).collect();
    (cost, grad_w, grad_b)
}

/// Buffers for one network on one set of samples: the activations and deltas of every layer.
struct Workspace {
    /// `acts[l]` is the output of layer `l` (`sizes[l+1] × n`).
    acts: Vec<Array2<f64>>,
    /// `deltas[l]` is ∂C/∂z of layer `l`, same shape as `acts[l]`.
    deltas: Vec<Array2<f64>>,
}

impl Workspace {
    fn new(sizes: &[usize], n: usize) -> Workspace {
        let shapes = || sizes[1..].iter().map(|&m| Array2::zeros((m, n)));
        Workspace {
            acts: shapes().collect(),
            deltas: shapes().collect(),
        }
    }

    /// The input of layer `l`: the samples for the first layer, else the previous activations.
    fn layer_input<'a>(&'a self, x: ArrayView2<'a, f64>, l: usize) -> ArrayView2<'a, f64> {
        if l == 0 {
            x
        } else {
            self.acts[l - 1].view()
        }
    }

    fn forward(&mut self, net: &Network, x: ArrayView2<'_, f64>) {
        for l in 0..net.weights.len() {
            let (before, rest) = self.acts.split_at_mut(l);
            let input = if l == 0 { x } else { before[l - 1].view() };
            general_mat_mul(1.0, &net.weights[l], &input, 0.0, &mut rest[0]);
            sigmoid_with_bias(&mut rest[0], &net.biases[l]);
        }
    }

    /// Training accuracy (argmax, first index on ties) and quadratic cost ½ Σ (a − y)²,
    /// summed over samples, of the last forward pass.
    fn evaluate(&self, labels: &[u8], n_classes: usize) -> (f64, f64) {
        let out = self.acts.last().expect("at least one layer");
        debug_assert_eq!(out.nrows(), n_classes);
        let mut correct = 0usize;
        let mut cost = 0.0;
        for (column, &label) in out.columns().into_iter().zip(labels) {
            let mut predicted = 0;
            for (i, &a) in column.iter().enumerate() {
                if a > column[predicted] {
                    predicted = i;
                }
                let y = f64::from(u8::from(usize::from(label) == i));
                cost += (a - y) * (a - y);
            }
            correct += usize::from(predicted == usize::from(label));
        }
        (correct as f64 / labels.len() as f64, 0.5 * cost)
    }

    /// δ_M = (a_M − y) ∘ σ'(z_M); δ_l = (w_{l+1}ᵀ δ_{l+1}) ∘ σ'(z_l), with σ' = a(1 − a).
    fn backpropagate(&mut self, net: &Network, labels: &[u8]) {
        let last = self.acts.len() - 1;
        Zip::indexed(&mut self.deltas[last])
            .and(&self.acts[last])
            .for_each(|(i, j), delta, &a| {
                let y = f64::from(u8::from(usize::from(labels[j]) == i));
                *delta = (a - y) * a * (1.0 - a);
            });
        for l in (0..last).rev() {
            let (lower, upper) = self.deltas.split_at_mut(l + 1);
            general_mat_mul(1.0, &net.weights[l + 1].t(), &upper[0], 0.0, &mut lower[l]);
            Zip::from(&mut lower[l])
                .and(&self.acts[l])
                .for_each(|delta, &a| *delta *= a * (1.0 - a));
        }
    }

    /// `w ← (1 − eta·l2)·w − eta·δ·inputᵀ` straight into the weights (BLAS's beta does the
    /// decay, so no gradient buffer is needed), and `b ← b − eta·Σ_cols δ`.
    /// Runs after all deltas are computed, since they need the weights before the update.
    fn update(&self, net: &mut Network, x: ArrayView2<'_, f64>, eta: f64, l2: f64) {
        for l in 0..net.weights.len() {
            let input = self.layer_input(x, l);
            general_mat_mul(
                -eta,
                &self.deltas[l],
                &input.t(),
                1.0 - eta * l2,
                &mut net.weights[l],
            );
            for (b, row) in net.biases[l].iter_mut().zip(self.deltas[l].rows()) {
                *b -= eta * row.sum();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Uniform};

    fn random_data(d: usize, n: usize, classes: u8, seed: u64) -> (Array2<f64>, Vec<u8>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let u = Uniform::new(-1.0, 1.0).unwrap();
        let x = Array2::from_shape_simple_fn((d, n), || u.sample(&mut rng));
        let labels = (0..n).map(|j| (j % classes as usize) as u8).collect();
        (x, labels)
    }

    fn cost(net: &Network, x: &Array2<f64>, labels: &[u8]) -> f64 {
        cost_and_gradient(net, x.view(), labels).0
    }

    /// Central differences against backpropagation, on every weight and bias.
    fn check_gradient(sizes: &[usize]) {
        let (x, labels) = random_data(sizes[0], 7, *sizes.last().unwrap() as u8, 3);
        let mut net = Network::init(sizes, 5);
        for b in &mut net.biases {
            b.mapv_inplace(|_| 0.1);
        }
        let (_, grad_w, grad_b) = cost_and_gradient(&net, x.view(), &labels);
        let h = 1e-6;
        // Relative error of the whole gradient, ‖numeric − analytic‖ / (‖numeric‖ + ‖analytic‖):
        // per-entry ratios blow up on entries that are almost zero, where both are noise.
        let (mut diff2, mut numeric2, mut analytic2) = (0.0, 0.0, 0.0);
        let mut compare = |numeric: f64, analytic: f64| {
            diff2 += (numeric - analytic) * (numeric - analytic);
            numeric2 += numeric * numeric;
            analytic2 += analytic * analytic;
        };
        for l in 0..net.weights.len() {
            for idx in 0..net.weights[l].len() {
                let (r, c) = (idx / net.weights[l].ncols(), idx % net.weights[l].ncols());
                let mut plus = net.clone();
                plus.weights[l][[r, c]] += h;
                let mut minus = net.clone();
                minus.weights[l][[r, c]] -= h;
                let numeric = (cost(&plus, &x, &labels) - cost(&minus, &x, &labels)) / (2.0 * h);
                compare(numeric, grad_w[l][[r, c]]);
            }
            for (i, &analytic) in grad_b[l].iter().enumerate() {
                let mut plus = net.clone();
                plus.biases[l][i] += h;
                let mut minus = net.clone();
                minus.biases[l][i] -= h;
                let numeric = (cost(&plus, &x, &labels) - cost(&minus, &x, &labels)) / (2.0 * h);
                compare(numeric, analytic);
            }
        }
        let worst = diff2.sqrt() / (numeric2.sqrt() + analytic2.sqrt());
        assert!(worst < 1e-6, "worst relative error {worst}");
    }

    #[test]
    fn backprop_matches_finite_differences_with_one_hidden_layer() {
        check_gradient(&[4, 5, 3]);
    }

    #[test]
    fn backprop_matches_finite_differences_with_two_hidden_layers() {
        check_gradient(&[3, 6, 4, 2]);
    }

    fn spec(steps: usize, l2: f64) -> TrainSpec {
        TrainSpec {
            sizes: vec![2, 4, 2],
            eta: 0.05,
            l2,
            steps,
            seed: 11,
            log_every: 0,
        }
    }

    #[test]
    fn one_step_is_one_gradient_descent_update() {
        let (x, labels) = random_data(2, 9, 2, 1);
        let never = AtomicBool::new(false);
        let data = TrainData {
            x: x.view(),
            labels: &labels,
            test_x: x.view(),
            test_labels: &labels,
        };
        for l2 in [0.0, 0.3] {
            let start = Network::init(&[2, 4, 2], 11);
            let (_, gw, gb) = cost_and_gradient(&start, x.view(), &labels);
            let mut expected = start.clone();
            for l in 0..2 {
                expected.weights[l] = &start.weights[l] * (1.0 - 0.05 * l2) - &gw[l] * 0.05;
                expected.biases[l] = &start.biases[l] - &gb[l] * 0.05;
            }
            // With the improvement check removed from the picture: train one step, then compare
            // the final model, which after one step is what the best-copy logic may or may not keep.
            let mut work = Workspace::new(&[2, 4, 2], 9);
            let mut net = start.clone();
            work.forward(&net, x.view());
            work.backpropagate(&net, &labels);
            work.update(&mut net, x.view(), 0.05, l2);
            for l in 0..2 {
                let diff = (&net.weights[l] - &expected.weights[l]).mapv(f64::abs);
                assert!(diff.iter().all(|&d| d < 1e-14), "layer {l}, l2 {l2}");
                let diff = (&net.biases[l] - &expected.biases[l]).mapv(f64::abs);
                assert!(diff.iter().all(|&d| d < 1e-14));
            }
            assert!(train(&spec(1, l2), data, &never).is_ok());
        }
    }

    #[test]
    fn the_best_model_is_a_true_copy_and_reproduces_its_accuracy() {
        let (x, labels) = random_data(2, 40, 2, 4);
        let (tx, tl) = random_data(2, 20, 2, 5);
        let data = TrainData {
            x: x.view(),
            labels: &labels,
            test_x: tx.view(),
            test_labels: &tl,
        };
        let mut s = spec(300, 0.0);
        s.eta = 0.5;
        let out = train(&s, data, &AtomicBool::new(false)).unwrap();
        let accuracy = |net: &Network, x: &Array2<f64>, l: &[u8]| {
            let p = net.predict(x.view());
            p.iter().zip(l).filter(|(a, b)| a == b).count() as f64 / l.len() as f64
        };
        assert_eq!(accuracy(&out.best, &x, &labels), out.best_train_acc);
        assert_eq!(accuracy(&out.best, &tx, &tl), out.best_test_acc);
        assert!(out.best_train_acc >= out.final_train_acc);
        // The lecture's shallow copy would make the best model the last one: ours must not be,
        // unless the last step happened to be the best.
        if out.best_step < s.steps {
            let final_net = {
                let mut again = s.clone();
                again.steps = out.best_step;
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
            test_x: x.view(),
            test_labels: &labels,
        };
        let mut s = spec(25, 0.0);
        s.log_every = 10;
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
            test_x: x.view(),
            test_labels: &labels,
        };
        let out = train(&spec(50, 0.0), data, &AtomicBool::new(false)).unwrap();
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
            test_x: x.view(),
            test_labels: &labels,
        };
        assert_eq!(
            train(&spec(1_000_000, 0.0), data, &AtomicBool::new(true)),
            Err(Abandoned)
        );
    }
}
