//! Forward and backward passes of the lecture's networks (sigmoid layers, quadratic cost summed
//! over samples) and of the next lecture's (cross-entropy, softmax outputs, tanh and ReLU hidden
//! units), in buffers allocated once per run: the step loop allocates nothing.
//! Activations are stored, not pre-activations: every hidden f'(z) is a function of `a` (σ' =
//! a(1 − a), tanh' = 1 − a², ReLU' = 1 where a > 0, else 0). The output layer's pre-activations are kept only
//! for the cross-entropy, whose cost is computed from them so that it stays finite when an
//! output saturates.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, ArrayView2, Axis, Zip};

use super::engine::{Engine, FirstInput, Parallelism};
use super::functions::{Cost, Functions};
use super::inputs::Precise;
use super::kernels::times_prime;
use super::model::Model;
use super::network::Network;
use super::passes::{self, dispatch, Func};
use super::{direct, gram};

/// Buffers for one network on one set of samples: the activations and deltas of every layer.
pub(super) struct Workspace<T> {
    /// `acts[l]` is the output of layer `l` (`sizes[l+1] × n`).
    pub acts: Vec<Array2<T>>,
    /// `deltas[l]` is ∂C/∂z of layer `l`, same shape as `acts[l]` (for the Gram engine's first
    /// layer, `w2ᵀδ2` before σ': see `update`).
    pub deltas: Vec<Array2<T>>,
    /// `sums[l]`: the row sums of `deltas[l]`, the bias gradient, made in the pass that makes δ.
    sums: Vec<Array1<T>>,
    /// One-hot targets, like the outputs (classes × n), and each sample's class: in T, so that
    /// the passes over the outputs are all float and vectorise.
    targets: Array2<T>,
    classes: Vec<T>,
    /// Per sample: the largest output so far and its class, for `evaluate`.
    best: Vec<T>,
    arg: Vec<T>,
    /// Whether the first layer's product may be split over the caller's pool.
    parallelism: Parallelism,
    /// Inverted dropout on the hidden layers of training passes, when the recipe asks for it.
    dropout: Option<Dropout<T>>,
    /// The hidden and output functions, and the cost.
    functions: Functions,
    cost: Cost,
    /// The output layer's pre-activations (cross-entropy only).
    zout: Option<Array2<T>>,
    /// Per-sample scratch for softmax and its costs (length n each), and a zero bias.
    scratch: [Vec<T>; 2],
    zero_bias: Vec<T>,
    /// `δ1·Xᵀ` (m×d) for the packed first layer, made at its first update.
    first_grad: Option<Array2<T>>,
}

/// Dropout's masks and the masked activations of each hidden layer (`sizes[l+1] × n`): a mask
/// entry is 0 (dropped) or 1/(1 − p) (kept, scaled so that evaluation needs no scaling).
struct Dropout<T> {
    masks: Vec<Array2<T>>,
    masked: Vec<Array2<T>>,
    /// Whether the last forward pass applied the masks (a training pass).
    applied: bool,
}

/// A workspace buffer as one slice (they are allocated in standard layout).
fn flat<T>(a: &Array2<T>) -> &[T] {
    a.as_slice().expect("workspace buffers are contiguous")
}

fn flat_mut<T>(a: &mut Array2<T>) -> &mut [T] {
    a.as_slice_mut().expect("workspace buffers are contiguous")
}

impl<T: Precise> Workspace<T> {
    pub fn new(sizes: &[usize], labels: &[u8], parallelism: Parallelism) -> Workspace<T> {
        let n = labels.len();
        let shapes = || sizes[1..].iter().map(|&m| Array2::zeros((m, n)));
        let k = *sizes.last().expect("at least two layers");
        Workspace {
            acts: shapes().collect(),
            deltas: shapes().collect(),
            sums: sizes[1..].iter().map(|&m| Array1::zeros(m)).collect(),
            targets: Array2::from_shape_fn((k, n), |(i, j)| {
                if usize::from(labels[j]) == i {
                    T::one()
                } else {
                    T::zero()
                }
            }),
            classes: labels.iter().map(|&l| T::from_f64(f64::from(l))).collect(),
            best: vec![T::zero(); n],
            arg: vec![T::zero(); n],
            parallelism,
            dropout: None,
            functions: Functions::default(),
            cost: Cost::Quadratic,
            zout: None,
            scratch: [vec![T::zero(); n], vec![T::zero(); n]],
            zero_bias: vec![T::zero(); k],
            first_grad: None,
        }
    }

    /// Sets the hidden and output functions and the cost (the lecture's by default).
    pub fn with_functions(mut self, functions: Functions, cost: Cost) -> Self {
        self.functions = functions;
        self.cost = cost;
        self.zout = (cost == Cost::CrossEntropy)
            .then(|| Array2::zeros(self.acts.last().expect("an output layer").dim()));
        self
    }

    /// Replaces the samples' labels (a mini-batch's), same count: targets rewritten in place.
    pub fn set_labels(&mut self, labels: impl ExactSizeIterator<Item = u8>) {
        assert_eq!(labels.len(), self.classes.len());
        let n = self.classes.len();
        let targets = flat_mut(&mut self.targets);
        targets.fill(T::zero());
        for (j, (label, class)) in labels.zip(self.classes.iter_mut()).enumerate() {
            *class = T::from_f64(f64::from(label));
            targets[usize::from(label) * n + j] = T::one();
        }
    }

    /// Makes room for dropout masks on the hidden layers; see [`Workspace::draw_masks`].
    pub fn with_dropout(mut self) -> Self {
        let hidden = &self.acts[..self.acts.len() - 1];
        self.dropout = Some(Dropout {
            masks: hidden.iter().map(|a| Array2::zeros(a.dim())).collect(),
            masked: hidden.iter().map(|a| Array2::zeros(a.dim())).collect(),
            applied: false,
        });
        self
    }

    /// Draws new masks: each hidden unit of each sample dropped with probability `p`, from
    /// `rng` (the run's stream for this step, so masks depend only on the run and the step).
    pub fn draw_masks(&mut self, p: f64, rng: &mut rand_chacha::ChaCha8Rng) {
        use rand_distr::{Distribution, StandardUniform};
        let dropout = self
            .dropout
            .as_mut()
            .expect("a workspace made with_dropout");
        let kept = T::from_f64(1.0 / (1.0 - p));
        for mask in &mut dropout.masks {
            for m in mask.iter_mut() {
                let u: f64 = StandardUniform.sample(rng);
                *m = if u < p { T::zero() } else { kept };
            }
        }
    }

    /// Sets the masks (for tests holding them fixed).
    #[cfg(test)]
    pub fn set_masks(&mut self, masks: &[Array2<T>]) {
        let dropout = self
            .dropout
            .as_mut()
            .expect("a workspace made with_dropout");
        for (m, given) in dropout.masks.iter_mut().zip(masks) {
            m.assign(given);
        }
    }

    /// A training pass: [`forward`](Self::forward) with the hidden activations masked.
    pub fn forward_masked(&mut self, net: &Model<T>, input: FirstInput<'_, T>) {
        self.forward_with(net, input, true);
    }

    /// An evaluation pass (no dropout): every layer's activations of the samples.
    pub fn forward(&mut self, net: &Model<T>, input: FirstInput<'_, T>) {
        self.forward_with(net, input, false);
    }

    fn forward_with(&mut self, net: &Model<T>, input: FirstInput<'_, T>, masked: bool) {
        let bias0 = net.biases[0].as_slice().expect("contiguous");
        let f0 = self.layer_func(0);
        let z0 = &mut self.acts[0];
        match input {
            FirstInput::Direct(x) => direct::forward(f0, &net.first, x, bias0, z0),
            FirstInput::Packed { packed, group, .. } => {
                direct::forward_packed(f0, &net.first, packed, group, self.parallelism, bias0, z0)
            }
            FirstInput::Gram { g, packed, p0, .. } => gram::forward(
                f0,
                &net.first,
                net.c,
                g,
                packed,
                p0,
                bias0,
                z0,
                self.parallelism,
            ),
        }
        let last_func = self.layer_func(self.acts.len() - 1);
        let hidden_func = Func::Hidden(self.functions.activation);
        let mut dropout = self.dropout.as_mut().filter(|_| masked);
        for l in 1..self.acts.len() {
            let (before, rest) = self.acts.split_at_mut(l);
            let input = match dropout.as_deref_mut() {
                Some(d) => {
                    Zip::from(&mut d.masked[l - 1])
                        .and(&before[l - 1])
                        .and(&d.masks[l - 1])
                        .for_each(|o, &a, &m| *o = a * m);
                    &d.masked[l - 1]
                }
                None => &before[l - 1],
            };
            general_mat_mul(T::one(), &net.rest[l - 1], input, T::zero(), &mut rest[0]);
            dispatch(passes::Activate {
                f: if rest.len() == 1 {
                    last_func
                } else {
                    hidden_func
                },
                z: flat_mut(&mut rest[0]),
                bias: net.biases[l].as_slice().expect("contiguous"),
                extra: None,
            });
        }
        self.finish_output();
        if let Some(d) = self.dropout.as_mut() {
            d.applied = masked;
        }
    }

    /// Accuracy (argmax, first index on ties) and cost, summed over samples, of the last
    /// forward pass: quadratic ½ Σ (a − y)², or the cross-entropy from the kept
    /// pre-activations. Row by row (the outputs are stored class-major), keeping each column's
    /// best so far, so that the passes vectorise.
    pub fn evaluate(&mut self) -> (f64, f64) {
        let quadratic = self.cost == Cost::Quadratic;
        let out = flat(self.acts.last().expect("at least one layer"));
        let n = self.classes.len();
        let (best, arg) = (&mut self.best, &mut self.arg);
        let mut cost = 0.0;
        let rows = out
            .chunks_exact(n.max(1))
            .zip(flat(&self.targets).chunks_exact(n.max(1)));
        for (i, (row, y)) in rows.enumerate() {
            if i == 0 {
                best.copy_from_slice(row);
                arg.fill(T::zero());
            } else {
                let class = T::from_f64(i as f64);
                for ((b, k), &a) in best.iter_mut().zip(arg.iter_mut()).zip(row) {
                    let better = a > *b;
                    *b = if better { a } else { *b };
                    *k = if better { class } else { *k };
                }
            }
            if !quadratic {
                continue;
            }
            let mut acc = [T::zero(); 8];
            let body = n / 8 * 8;
            for (a, y) in row[..body].chunks_exact(8).zip(y[..body].chunks_exact(8)) {
                for l in 0..8 {
                    let e = a[l] - y[l];
                    acc[l] = acc[l] + e * e;
                }
            }
            let mut sum: f64 = acc.iter().map(|v| v.to_f64()).sum();
            for (&a, &y) in row[body..].iter().zip(&y[body..]) {
                sum += ((a - y) * (a - y)).to_f64();
            }
            cost += sum;
        }
        let correct = arg
            .iter()
            .zip(&self.classes)
            .filter(|(k, c)| k == c)
            .count();
        let cost = self.output_cost(cost);
        (correct as f64 / n as f64, cost)
    }

    /// δ_M = ∂C/∂z_M: (a_M − y) ∘ σ'(z_M) for the lecture's quadratic cost and sigmoid outputs,
    /// a_M − y for the cross-entropy with either output (its point: no σ' to slow learning),
    /// and (a − y) through softmax's Jacobian for the quadratic cost with softmax outputs.
    /// δ_l = (w_{l+1}ᵀ δ_{l+1}) ∘ f'(z_l); after a masked pass, δ_l = (w_{l+1}ᵀ δ_{l+1}) ∘
    /// mask_l ∘ f'(z_l) (the mask is the derivative of the masked activation with respect to
    /// the unmasked one).
    pub fn backpropagate(&mut self, net: &Model<T>) {
        let last = self.acts.len() - 1;
        self.output_delta();
        for (sum, row) in self.sums[last].iter_mut().zip(self.deltas[last].rows()) {
            *sum = row.sum();
        }
        for l in (0..last).rev() {
            let (lower, upper) = self.deltas.split_at_mut(l + 1);
            general_mat_mul(
                T::one(),
                &net.rest[l].t(),
                &upper[0],
                T::zero(),
                &mut lower[l],
            );
            if let Some(d) = self.dropout.as_ref().filter(|d| d.applied) {
                Zip::from(&mut lower[l])
                    .and(&d.masks[l])
                    .for_each(|g, &m| *g = *g * m);
            }
            // The Gram engine's first layer takes f' in `update`, fused with A's update.
            if l > 0 || net.engine != Engine::Gram {
                let sums = self.sums[l].as_slice_mut().expect("contiguous");
                let f = self.functions.activation;
                times_prime(f, flat_mut(&mut lower[l]), flat(&self.acts[l]), sums);
            }
        }
    }

    /// `w ← (1 − eta·l2)·w − eta·δ·inputᵀ` and `b ← b − eta·Σ_cols δ`, the first layer by its
    /// engine. Runs after all deltas are computed, since they need the weights before the update.
    pub fn update(&mut self, net: &mut Model<T>, input: FirstInput<'_, T>, eta: f64, l2: f64) {
        let decay = T::from_f64(1.0 - eta * l2);
        let eta = T::from_f64(eta);
        match input {
            FirstInput::Direct(x) => direct::update(&mut net.first, &self.deltas[0], x, eta, decay),
            FirstInput::Packed { packed, group, .. } => {
                let dim = net.first.dim();
                direct::update_packed(
                    &mut net.first,
                    &self.deltas[0],
                    packed,
                    group,
                    self.parallelism,
                    self.first_grad.get_or_insert_with(|| Array2::zeros(dim)),
                    eta,
                    decay,
                )
            }
            FirstInput::Gram { cols, .. } => gram::update(
                self.functions.activation,
                &mut net.first,
                &mut net.c,
                &mut self.deltas[0],
                &self.acts[0],
                self.sums[0].as_slice_mut().expect("contiguous"),
                cols,
                eta,
                decay,
            ),
        }
        for l in 1..self.deltas.len() {
            let input = match &self.dropout {
                Some(d) if d.applied => &d.masked[l - 1],
                _ => &self.acts[l - 1],
            };
            general_mat_mul(
                -eta,
                &self.deltas[l],
                &input.t(),
                decay,
                &mut net.rest[l - 1],
            );
        }
        for (b, sums) in net.biases.iter_mut().zip(&self.sums) {
            Zip::from(b).and(sums).for_each(|b, &s| *b = *b - eta * s);
        }
    }
}

/// The cost (of the network's functions) and its gradient with respect to every weight and
/// bias, for checking backpropagation against finite differences (and for anyone who wants the
/// gradient itself).
pub fn cost_and_gradient(
    net: &Network,
    x: ArrayView2<'_, f64>,
    labels: &[u8],
    cost: Cost,
) -> (f64, Vec<Array2<f64>>, Vec<Array1<f64>>) {
    let sizes = net.sizes();
    let mut work =
        Workspace::new(&sizes, labels, Parallelism::Sequential).with_functions(net.functions, cost);
    let model = Model::direct(net);
    work.forward(&model, FirstInput::Direct(x));
    let (_, cost) = work.evaluate();
    work.backpropagate(&model);
    let grad_w = (0..net.weights.len())
        .map(|l| {
            let input = if l == 0 { x } else { work.acts[l - 1].view() };
            work.deltas[l].dot(&input.t())
        })
        .collect();
    let grad_b = work.deltas.iter().map(|d| d.sum_axis(Axis(1))).collect();
    (cost, grad_w, grad_b)
}

mod output;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::test_data::random_data;
    use crate::nn::Functions;
    use ndarray::Array2;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Uniform};

    /// Cost and gradient of a training pass with dropout `masks` held fixed.
    fn masked_cost_and_gradient(
        net: &Network,
        x: &Array2<f64>,
        labels: &[u8],
        masks: &[Array2<f64>],
        cost: Cost,
    ) -> (f64, Vec<Array2<f64>>, Vec<Array1<f64>>) {
        let sizes = net.sizes();
        let mut work = Workspace::<f64>::new(&sizes, labels, Parallelism::Sequential)
            .with_functions(net.functions, cost)
            .with_dropout();
        work.set_masks(masks);
        let model = Model::direct(net);
        work.forward_masked(&model, FirstInput::Direct(x.view()));
        let (_, cost) = work.evaluate();
        work.backpropagate(&model);
        let masked = &work.dropout.as_ref().unwrap().masked;
        let grad_w = (0..net.weights.len())
            .map(|l| {
                let input = if l == 0 {
                    x.view()
                } else {
                    masked[l - 1].view()
                };
                work.deltas[l].dot(&input.t())
            })
            .collect();
        let grad_b = work.deltas.iter().map(|d| d.sum_axis(Axis(1))).collect();
        (cost, grad_w, grad_b)
    }

    /// Cost and gradient, with dropout masks when given.
    fn both(
        net: &Network,
        x: &Array2<f64>,
        labels: &[u8],
        masks: Option<&[Array2<f64>]>,
        cost: Cost,
    ) -> (f64, Vec<Array2<f64>>, Vec<Array1<f64>>) {
        match masks {
            Some(m) => masked_cost_and_gradient(net, x, labels, m, cost),
            None => cost_and_gradient(net, x.view(), labels, cost),
        }
    }

    /// Central differences against backpropagation, on every weight and bias.
    fn check_gradient(sizes: &[usize]) {
        check_gradient_with(sizes, None);
    }

    fn check_gradient_with(sizes: &[usize], masks: Option<&[Array2<f64>]>) {
        check_gradient_of(sizes, masks, Functions::default(), Cost::Quadratic);
    }

    fn check_gradient_of(
        sizes: &[usize],
        masks: Option<&[Array2<f64>]>,
        functions: Functions,
        cost_kind: Cost,
    ) {
        let (x, labels) = random_data(sizes[0], 7, *sizes.last().unwrap() as u8, 3);
        let mut net = Network::init(sizes, 5);
        net.functions = functions;
        for b in &mut net.biases {
            b.mapv_inplace(|_| 0.1);
        }
        let cost = |net: &Network, x: &Array2<f64>, labels: &[u8]| {
            both(net, x, labels, masks, cost_kind).0
        };
        let (_, grad_w, grad_b) = both(&net, &x, &labels, masks, cost_kind);
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
        assert!(
            worst < 1e-6,
            "{functions:?} {cost_kind:?} {sizes:?}: worst relative error {worst}"
        );
        assert!(analytic2 > 1e-12, "a gradient to compare: {analytic2}");
    }

    /// Every cost × output × hidden activation, with one and two hidden layers (and with
    /// dropout masks fixed, for one of them).
    #[test]
    fn backprop_matches_finite_differences_for_every_cost_output_and_activation() {
        use crate::nn::{Activation, Output};
        let mut checked = 0;
        for cost in Cost::ALL {
            for output in Output::ALL {
                for activation in Activation::ALL {
                    let functions = Functions { activation, output };
                    for sizes in [&[4, 5, 3][..], &[3, 6, 4, 2][..]] {
                        check_gradient_of(sizes, None, functions, cost);
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 2 * 2 * 3 * 2);
    }

    #[test]
    fn backprop_matches_finite_differences_with_one_hidden_layer() {
        check_gradient(&[4, 5, 3]);
    }

    #[test]
    fn backprop_matches_finite_differences_with_two_hidden_layers() {
        check_gradient(&[3, 6, 4, 2]);
    }

    #[test]
    fn backprop_with_dropout_matches_finite_differences_with_the_masks_fixed() {
        let sizes = [3, 6, 5, 2];
        let mut rng = ChaCha8Rng::seed_from_u64(17);
        let u = Uniform::new(0.0, 1.0).unwrap();
        let p = 0.4;
        let masks: Vec<Array2<f64>> = sizes[1..sizes.len() - 1]
            .iter()
            .map(|&m| {
                Array2::from_shape_simple_fn((m, 7), || {
                    if u.sample(&mut rng) < p {
                        0.0
                    } else {
                        1.0 / (1.0 - p)
                    }
                })
            })
            .collect();
        let dropped = masks.iter().flatten().filter(|&&m| m == 0.0).count();
        assert!(dropped > 5 && dropped < 60, "{dropped} units dropped");
        check_gradient_with(&sizes, Some(&masks));
        let next = Functions {
            activation: crate::nn::Activation::Relu,
            output: crate::nn::Output::Softmax,
        };
        check_gradient_of(&sizes, Some(&masks), next, Cost::CrossEntropy);
        // The masks matter: the same network without them has another gradient.
        let (x, labels) = random_data(3, 7, 2, 3);
        let net = Network::init(&sizes, 5);
        let with = both(&net, &x, &labels, Some(&masks), Cost::Quadratic).1;
        let without = both(&net, &x, &labels, None, Cost::Quadratic).1;
        assert!((&with[0] - &without[0]).mapv(f64::abs).sum() > 1e-3);
    }
}
