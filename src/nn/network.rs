//! A fully connected network in the lecture's column convention:
//! `z_l = w_l · a_{l-1} + b_l`, `a_l = f(z_l)`, one sample per column; f is the sigmoid in the
//! lecture, and the recipe's hidden activation and output function otherwise.

use ndarray::{Array1, Array2, ArrayView2, Zip};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::functions::{Functions, Output};
use super::kernels;
use super::passes::{dispatch, Activate, Func, Softmax};

/// Weights and biases of every layer; layer `l` maps `sizes[l]` inputs to `sizes[l+1]` outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    /// `weights[l]` is `sizes[l+1] × sizes[l]`.
    pub weights: Vec<Array2<f64>>,
    /// `biases[l]` has `sizes[l+1]` entries.
    pub biases: Vec<Array1<f64>>,
    /// The hidden layers' activation and the output function (the lecture's: sigmoids).
    pub functions: Functions,
}

impl Network {
    /// The lecture's initialisation: weights drawn from N(0, 1), biases 0.
    ///
    /// The weights come from ChaCha8 seeded with `seed`, layer by layer, row by row, so a seed
    /// gives the same network on every machine, thread count and rayon schedule.
    pub fn init(sizes: &[usize], seed: u64) -> Network {
        assert!(
            sizes.len() >= 2,
            "a network needs an input and an output layer"
        );
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let weights = sizes
            .windows(2)
            .map(|w| Array2::from_shape_simple_fn((w[1], w[0]), || StandardNormal.sample(&mut rng)))
            .collect();
        let biases = sizes[1..].iter().map(|&m| Array1::zeros(m)).collect();
        Network {
            weights,
            biases,
            functions: Functions::default(),
        }
    }

    /// Layer sizes, input first.
    pub fn sizes(&self) -> Vec<usize> {
        let mut sizes = vec![self.weights[0].ncols()];
        sizes.extend(self.weights.iter().map(|w| w.nrows()));
        sizes
    }

    /// Output activations for the samples in the columns of `x`, by the kernels training uses
    /// (so a saved model predicts exactly what training measured).
    pub fn forward(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        let mut a = x.to_owned();
        let last = self.weights.len() - 1;
        for (l, (w, b)) in self.weights.iter().zip(&self.biases).enumerate() {
            let mut z = w.dot(&a);
            let bias = b.as_slice().expect("biases are contiguous");
            let zs = z.as_slice_mut().expect("a new array is contiguous");
            if l < last {
                kernels::activate_as(self.functions.activation, zs, bias, None);
            } else {
                match self.functions.output {
                    Output::Sigmoid => kernels::activate(zs, bias, None),
                    Output::Softmax => {
                        dispatch(Activate {
                            f: Func::Identity,
                            z: zs,
                            bias,
                            extra: None,
                        });
                        let (mut max, mut sum) = (vec![0.0; a.ncols()], vec![0.0; a.ncols()]);
                        dispatch(Softmax {
                            z: zs,
                            max: &mut max,
                            sum: &mut sum,
                        });
                    }
                }
            }
            a = z;
        }
        a
    }

    /// Predicted class of each column of `x` (the output neuron with the largest activation).
    pub fn predict(&self, x: ArrayView2<'_, f64>) -> Vec<u8> {
        argmax_columns(self.forward(x).view())
    }
}

/// Number of weights and biases of a network with these layer sizes.
pub fn n_params(sizes: &[usize]) -> usize {
    sizes.windows(2).map(|w| w[1] * w[0] + w[1]).sum()
}

/// Floating-point operations of one training step on `n` samples: the forward products,
/// the backward deltas (none is needed for the input layer) and the weight gradients,
/// counting a multiply-add as two.
pub fn flops_per_step(sizes: &[usize], n: usize) -> f64 {
    let products: f64 = sizes.windows(2).map(|w| (w[0] * w[1]) as f64).sum();
    let first = (sizes[0] * sizes[1]) as f64;
    2.0 * n as f64 * (2.0 * products + (products - first))
}

/// The logistic function, with the `exp` training uses (see `kernels`).
pub fn sigmoid(z: f64) -> f64 {
    kernels::sigmoid(z)
}

/// Index of the largest entry of each column; the first one wins a tie, as numpy's argmax.
pub fn argmax_columns(a: ArrayView2<'_, f64>) -> Vec<u8> {
    let mut best = vec![0u8; a.ncols()];
    let mut best_value = a.row(0).to_owned();
    for (i, row) in a.rows().into_iter().enumerate().skip(1) {
        Zip::from(&mut best)
            .and(&mut best_value)
            .and(&row)
            .for_each(|best, best_value, &v| {
                if v > *best_value {
                    *best_value = v;
                    *best = i as u8;
                }
            });
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn init_follows_the_lecture() {
        let net = Network::init(&[3, 5, 2], 1);
        assert_eq!(net.sizes(), vec![3, 5, 2]);
        assert!(net.biases.iter().all(|b| b.iter().all(|&v| v == 0.0)));
        let w: Vec<f64> = net.weights.iter().flat_map(|w| w.iter().copied()).collect();
        let mean = w.iter().sum::<f64>() / w.len() as f64;
        assert!(mean.abs() < 0.6, "N(0,1) weights, mean {mean}");
        assert_eq!(Network::init(&[3, 5, 2], 1), net);
        assert_ne!(Network::init(&[3, 5, 2], 2), net);
    }

    #[test]
    fn weights_of_many_draws_are_standard_normal() {
        let net = Network::init(&[100, 100, 2], 9);
        let w = &net.weights[0];
        let n = w.len() as f64;
        let mean = w.sum() / n;
        let var = w.mapv(|v| (v - mean).powi(2)).sum() / (n - 1.0);
        assert!(
            mean.abs() < 0.05 && (var - 1.0).abs() < 0.05,
            "{mean} {var}"
        );
    }

    #[test]
    fn forward_matches_a_hand_computation() {
        let net = Network {
            weights: vec![array![[1.0, -1.0]], array![[2.0], [-2.0]]],
            biases: vec![array![0.5], array![0.0, 1.0]],
            functions: Functions::default(),
        };
        let x = array![[1.0, 0.0], [2.0, 0.0]];
        let out = net.forward(x.view());
        let h0 = sigmoid(1.0 - 2.0 + 0.5);
        let h1 = sigmoid(0.5);
        assert!((out[[0, 0]] - sigmoid(2.0 * h0)).abs() < 1e-15);
        assert!((out[[1, 1]] - sigmoid(-2.0 * h1 + 1.0)).abs() < 1e-15);
        assert_eq!(net.predict(x.view()), vec![0, 0]);
    }

    #[test]
    fn argmax_takes_the_first_of_equal_values() {
        let a = array![[0.1, 0.9, 0.5], [0.7, 0.2, 0.5], [0.7, 0.0, 0.1]];
        assert_eq!(argmax_columns(a.view()), vec![1, 0, 0]);
    }

    #[test]
    fn counts_match_the_lecture_sizes() {
        assert_eq!(n_params(&[784, 30, 10]), 784 * 30 + 30 + 30 * 10 + 10);
        let mflop = flops_per_step(&[784, 30, 10], 500) / 1e6;
        assert!((mflop - 47.94).abs() < 0.01, "{mflop}");
    }
}
