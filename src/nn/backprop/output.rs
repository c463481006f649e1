//! The output stage of the passes: the output function (fused into the last product's pass
//! for the lecture's network, applied after it otherwise), the cost, and the output delta.

use ndarray::Zip;

use super::{flat, flat_mut, Workspace};
use crate::nn::functions::{Activation, Cost, Output};
use crate::nn::inputs::Precise;
use crate::nn::passes::{self, dispatch, Func};

impl<T: Precise> Workspace<T> {
    /// The lecture's output stage (quadratic cost, sigmoid outputs), fused into the product's
    /// pass; the others take the pre-activations first.
    fn lecture_output(&self) -> bool {
        self.cost == Cost::Quadratic && self.functions.output == Output::Sigmoid
    }

    /// The function fused into layer `l`'s pass.
    pub(super) fn layer_func(&self, l: usize) -> Func {
        if l + 1 < self.acts.len() {
            Func::Hidden(self.functions.activation)
        } else if self.lecture_output() {
            Func::Hidden(Activation::Sigmoid)
        } else {
            Func::Identity
        }
    }

    /// The output function on the output layer's pre-activations (kept for the cross-entropy),
    /// unless it was fused into the layer's pass.
    pub(super) fn finish_output(&mut self) {
        if self.lecture_output() {
            return;
        }
        let out = self.acts.last_mut().expect("an output layer");
        if let Some(z) = self.zout.as_mut() {
            z.assign(out);
        }
        let z = out
            .as_slice_mut()
            .expect("workspace buffers are contiguous");
        match self.functions.output {
            Output::Sigmoid => dispatch(passes::Activate {
                f: Func::Hidden(Activation::Sigmoid),
                z,
                bias: &self.zero_bias,
                extra: None,
            }),
            Output::Softmax => {
                let [max, sum] = &mut self.scratch;
                dispatch(passes::Softmax { z, max, sum })
            }
        }
    }

    /// The cost of the last forward pass, summed over samples: `quadratic` is ½ Σ (a − y)²
    /// when the cost is quadratic (computed with the accuracy); the cross-entropy comes from
    /// the kept pre-activations.
    pub(super) fn output_cost(&mut self, quadratic: f64) -> f64 {
        match (&self.zout, self.functions.output) {
            (None, _) => 0.5 * quadratic,
            (Some(z), Output::Sigmoid) => dispatch(passes::SigmoidCrossEntropy {
                z: flat(z),
                y: flat(&self.targets),
            }),
            (Some(z), Output::Softmax) => {
                let [max, sum] = &mut self.scratch;
                dispatch(passes::SoftmaxCrossEntropy {
                    z: flat(z),
                    y: flat(&self.targets),
                    max,
                    sum,
                })
            }
        }
    }

    /// δ_M = ∂C/∂z_M into the last delta buffer (see `backpropagate`).
    pub(super) fn output_delta(&mut self) {
        let last = self.acts.len() - 1;
        match (self.cost, self.functions.output) {
            (Cost::Quadratic, Output::Sigmoid) => Zip::from(&mut self.deltas[last])
                .and(&self.acts[last])
                .and(&self.targets)
                .for_each(|d, &a, &y| *d = (a - y) * a * (T::one() - a)),
            (Cost::CrossEntropy, _) => Zip::from(&mut self.deltas[last])
                .and(&self.acts[last])
                .and(&self.targets)
                .for_each(|d, &a, &y| *d = a - y),
            (Cost::Quadratic, Output::Softmax) => passes::softmax_quadratic_delta(
                flat_mut(&mut self.deltas[last]),
                flat(&self.acts[last]),
                flat(&self.targets),
                &mut self.scratch[0],
            ),
        }
    }
}
