//! A network as the engines train it, in precision `T`: the f64 [`Network`] converted once,
//! and converted back for the outcome.

use ndarray::{Array1, Array2, ArrayView2};

use super::engine::Engine;
use super::kernels::Real;
use super::network::Network;
use super::{direct, gram};

#[derive(Debug, Clone)]
pub(super) struct Model<T> {
    /// Direct engine: the first layer's weights. Gram engine: A (m×n), with w1 = c·w1(0) + A·Xᵀ.
    pub first: Array2<T>,
    /// The Gram engine's c: the product of the L2 decays so far.
    pub c: T,
    /// Weights of the layers after the first.
    pub rest: Vec<Array2<T>>,
    pub biases: Vec<Array1<T>>,
    /// Direct or Gram (never Auto).
    pub engine: Engine,
}

impl<T: Real> Model<T> {
    /// `init` as `engine` holds it, for `n` training samples.
    pub fn new(init: &Network, engine: Engine, n: usize) -> Model<T> {
        let mut model = Model::direct(init);
        if engine == Engine::Gram {
            model.first = gram::initial_coefficients(init, n);
            model.engine = Engine::Gram;
        }
        model
    }

    pub fn direct(net: &Network) -> Model<T> {
        Model {
            first: direct::initial_weights(net),
            c: T::one(),
            rest: net.weights[1..]
                .iter()
                .map(|w| w.mapv(T::from_f64))
                .collect(),
            biases: net.biases.iter().map(|b| b.mapv(T::from_f64)).collect(),
            engine: Engine::Direct,
        }
    }

    /// `self ← other` without allocating (shapes are equal).
    pub fn copy_from(&mut self, other: &Model<T>) {
        self.first.assign(&other.first);
        self.c = other.c;
        for (a, b) in self.rest.iter_mut().zip(&other.rest) {
            a.assign(b);
        }
        for (a, b) in self.biases.iter_mut().zip(&other.biases) {
            a.assign(b);
        }
    }

    /// The f64 network this model stands for (`x`: the training samples, for the Gram engine).
    pub fn to_network(&self, init: &Network, x: ArrayView2<'_, f64>) -> Network {
        let first = match self.engine {
            Engine::Gram => gram::first_weights(init, &self.first, self.c, x),
            Engine::Auto | Engine::Direct => self.first.mapv(T::to_f64),
        };
        let mut weights = vec![first];
        weights.extend(self.rest.iter().map(|w| w.mapv(T::to_f64)));
        Network {
            weights,
            biases: self.biases.iter().map(|b| b.mapv(T::to_f64)).collect(),
            functions: init.functions,
        }
    }
}
