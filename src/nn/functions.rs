//! The choices of the next lecture (the book's chapter 3): the cost, the output layer, the
//! hidden layers' activation and the initial weights' scale. Each defaults to the lecture's
//! (quadratic cost, sigmoid outputs and hidden units, N(0, 1) weights), whose numbers stay
//! exactly what they were.
//!
//! Costs are summed over samples, like the lecture's, so an `eta` means the same per sample
//! with any batch size: a mean-cost learning rate (Keras', scikit-learn's) is `eta·n` for a
//! full batch of `n` samples and `eta·batch` for mini-batches.

/// The cost the gradient descends, summed over samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Cost {
    /// ½ Σ (a − y)²: the lecture's.
    #[default]
    Quadratic,
    /// With sigmoid outputs, the book's per-output −Σ [y ln a + (1 − y) ln(1 − a)]; with
    /// softmax outputs, the multiclass log-likelihood −Σ ln a_y.
    CrossEntropy,
}

/// The output layer's function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Output {
    /// σ(z) per output: the lecture's.
    #[default]
    Sigmoid,
    /// e^z / Σ e^z per sample: outputs that sum to one.
    Softmax,
}

/// The hidden layers' function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Activation {
    /// σ(z): the lecture's.
    #[default]
    Sigmoid,
    Tanh,
    /// max(z, 0); its derivative at 0 is taken as 0.
    Relu,
}

/// The scale of the initial weights, drawn from the run's weight stream (biases stay 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Init {
    /// N(0, 1): the lecture's.
    #[default]
    Normal,
    /// N(0, 1/fan_in): the book's, which keeps hidden units out of saturation.
    Scaled,
    /// N(0, 2/fan_in): He et al.'s, for ReLU.
    He,
}

impl Cost {
    pub const ALL: [Cost; 2] = [Cost::Quadratic, Cost::CrossEntropy];
    /// As configs and results files write it.
    pub fn name(self) -> &'static str {
        match self {
            Cost::Quadratic => "quadratic",
            Cost::CrossEntropy => "cross_entropy",
        }
    }
}

impl Output {
    pub const ALL: [Output; 2] = [Output::Sigmoid, Output::Softmax];
    pub fn name(self) -> &'static str {
        match self {
            Output::Sigmoid => "sigmoid",
            Output::Softmax => "softmax",
        }
    }
}

impl Activation {
    pub const ALL: [Activation; 3] = [Activation::Sigmoid, Activation::Tanh, Activation::Relu];
    pub fn name(self) -> &'static str {
        match self {
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
        }
    }
}

impl Init {
    pub const ALL: [Init; 3] = [Init::Normal, Init::Scaled, Init::He];
    pub fn name(self) -> &'static str {
        match self {
            Init::Normal => "normal",
            Init::Scaled => "scaled",
            Init::He => "he",
        }
    }

    /// The factor a N(0, 1) weight of a layer with `fan_in` inputs is multiplied by; exactly
    /// 1 for the lecture's, so its weights keep their bits.
    pub fn scale(self, fan_in: usize) -> f64 {
        match self {
            Init::Normal => 1.0,
            Init::Scaled => (1.0 / fan_in as f64).sqrt(),
            Init::He => (2.0 / fan_in as f64).sqrt(),
        }
    }
}

/// What a forward pass computes: the hidden activation and the output function (the cost
/// only matters to training, so a saved network carries these two).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Functions {
    pub activation: Activation,
    pub output: Output,
}

impl Functions {
    /// Whether this is the lecture's network (sigmoid everywhere).
    pub fn is_lecture(self) -> bool {
        self == Functions::default()
    }
}
