//! Forward and backward passes of the lecture's networks (sigmoid layers, quadratic cost summed
//! over samples), in buffers allocated once per run: the step loop allocates nothing.
//! Activations are stored, not pre-activations: σ'(z) = a(1 − a) needs only `a`.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, ArrayView2, Axis, Zip};

use super::engine::{Engine, FirstInput, Parallelism};
use super::inputs::Precise;
use super::kernels::{activate, times_sigmoid_prime};
use super::model::Model;
use super::network::Network;
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
        }
    }

    pub fn forward(&mut self, net: &Model<T>, input: FirstInput<'_, T>) {
        let bias0 = net.biases[0].as_slice().expect("contiguous");
        let z0 = &mut self.acts[0];
        match input {
            FirstInput::Direct(x) => direct::forward(&net.first, x, bias0, z0),
            FirstInput::Gram { g, packed, p0 } => gram::forward(
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
        for l in 1..self.acts.len() {
            let (before, rest) = self.acts.split_at_mut(l);
            general_mat_mul(
                T::one(),
                &net.rest[l - 1],
                &before[l - 1],
                T::zero(),
                &mut rest[0],
            );
            activate(
                flat_mut(&mut rest[0]),
                net.biases[l].as_slice().expect("contiguous"),
                None,
            );
        }
    }

    /// Accuracy (argmax, first index on ties) and quadratic cost ½ Σ (a − y)², summed over
    /// samples, of the last forward pass. Row by row (the outputs are stored class-major),
    /// keeping each column's best so far, so that the passes vectorise.
    pub fn evaluate(&mut self) -> (f64, f64) {
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
        (correct as f64 / n as f64, 0.5 * cost)
    }

    /// δ_M = (a_M − y) ∘ σ'(z_M); δ_l = (w_{l+1}ᵀ δ_{l+1}) ∘ σ'(z_l), with σ' = a(1 − a).
    pub fn backpropagate(&mut self, net: &Model<T>) {
        let last = self.acts.len() - 1;
        Zip::from(&mut self.deltas[last])
            .and(&self.acts[last])
            .and(&self.targets)
            .for_each(|d, &a, &y| *d = (a - y) * a * (T::one() - a));
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
            // The Gram engine's first layer takes σ' in `update`, fused with A's update.
            if l > 0 || net.engine != Engine::Gram {
                let sums = self.sums[l].as_slice_mut().expect("contiguous");
                times_sigmoid_prime(flat_mut(&mut lower[l]), flat(&self.acts[l]), sums);
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
            FirstInput::Gram { .. } => gram::update(
                &mut net.first,
                &mut net.c,
                &mut self.deltas[0],
                &self.acts[0],
                self.sums[0].as_slice_mut().expect("contiguous"),
                eta,
                decay,
            ),
        }
        for l in 1..self.deltas.len() {
            general_mat_mul(
                -eta,
                &self.deltas[l],
                &self.acts[l - 1].t(),
                decay,
                &mut net.rest[l - 1],
            );
        }
        for (b, sums) in net.biases.iter_mut().zip(&self.sums) {
            Zip::from(b).and(sums).for_each(|b, &s| *b = *b - eta * s);
        }
    }
}

/// The quadratic cost and its gradient with respect to every weight and bias, for checking
/// backpropagation against finite differences (and for anyone who wants the gradient itself).
pub fn cost_and_gradient(
    net: &Network,
    x: ArrayView2<'_, f64>,
    labels: &[u8],
) -> (f64, Vec<Array2<f64>>, Vec<Array1<f64>>) {
    let sizes = net.sizes();
    let mut work = Workspace::new(&sizes, labels, Parallelism::Sequential);
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
}
