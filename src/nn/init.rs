//! Where a network's initial weights come from (`[train] rng`).
//!
//! Both streams draw the lecture's initialisation (weights N(0, 1), biases 0); they differ in
//! which numbers they draw. nnsweep's own (ChaCha8, [`Network::init`]) is the default. NumPy's
//! is the lecture's `build_model` to the last bit:
//!
//! ```python
//! np.random.seed(seed)
//! W1 = np.random.randn(m1, d)     # then randn(m2, m1), ... in layer order
//! b1 = np.zeros((m1, 1))
//! ```
//!
//! `randn` fills each matrix in row-major (C) order from the legacy Gaussian, whose cached
//! second value carries over from one layer's call to the next when a layer has an odd number
//! of weights ([`crate::numpy_random`]).

use ndarray::{Array1, Array2};

use super::{Init, Network, Recipe};
use crate::numpy_random::RandomState;

/// The stream a run's seed starts for its initial weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WeightRng {
    /// nnsweep's own generator (ChaCha8), layer by layer, row by row.
    #[default]
    Chacha,
    /// `np.random.seed(seed)` then `np.random.randn(m_{l+1}, m_l)` per layer. NumPy's seeds
    /// are 0 to 2³²−1.
    Numpy,
}

/// A seed the chosen stream cannot take (NumPy's are 32-bit).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "seed {seed} is beyond NumPy's seeds (0 to 4294967295, as np.random.seed accepts); \
     use a smaller seed or rng = \"chacha\""
)]
pub struct SeedOutOfRange {
    pub seed: u64,
}

impl WeightRng {
    /// Checks that `seed` can start this stream.
    pub fn check_seed(self, seed: u64) -> Result<(), SeedOutOfRange> {
        match self {
            WeightRng::Chacha => Ok(()),
            WeightRng::Numpy => u32::try_from(seed)
                .map(|_| ())
                .map_err(|_| SeedOutOfRange { seed }),
        }
    }

    /// The initial network of layer sizes `sizes` (input first) for `seed`.
    pub fn init(self, sizes: &[usize], seed: u64) -> Result<Network, SeedOutOfRange> {
        match self {
            WeightRng::Chacha => Ok(Network::init(sizes, seed)),
            WeightRng::Numpy => {
                let seed = u32::try_from(seed).map_err(|_| SeedOutOfRange { seed })?;
                Ok(numpy_init(sizes, seed))
            }
        }
    }
}

/// The initial network of a checked recipe, from the stream it names, scaled as its `init`
/// says (N(0, 1) weights scaled by √(1/fan_in) or √(2/fan_in); the lecture's are left
/// untouched, bit for bit), with the recipe's functions.
pub fn initial_network(recipe: &Recipe) -> Network {
    let mut net = recipe
        .weight_rng()
        .init(recipe.sizes(), recipe.seed())
        .expect("Recipe::check refuses a seed its weight stream cannot take");
    if recipe.init() != Init::Normal {
        for w in &mut net.weights {
            let scale = recipe.init().scale(w.ncols());
            w.mapv_inplace(|v| v * scale);
        }
    }
    net.functions = recipe.functions();
    net
}

/// The lecture's `build_model`: `np.random.seed(seed)`, then `randn(sizes[l+1], sizes[l])` for
/// each layer in order, biases zero.
///
/// # Panics
/// If `sizes` has fewer than two entries (an input and an output layer), as [`Network::init`].
pub fn numpy_init(sizes: &[usize], seed: u32) -> Network {
    assert!(
        sizes.len() >= 2,
        "a network needs an input and an output layer"
    );
    let mut rs = RandomState::new(seed);
    let weights = sizes
        .windows(2)
        .map(|w| Array2::from_shape_simple_fn((w[1], w[0]), || rs.standard_normal()))
        .collect();
    let biases = sizes[1..].iter().map(|&m| Array1::zeros(m)).collect();
    Network {
        weights,
        biases,
        functions: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_weights_are_randn_in_c_order_across_layers() {
        let net = numpy_init(&[3, 5, 2], 7);
        let mut rs = RandomState::new(7);
        let expected: Vec<f64> = (0..3 * 5 + 5 * 2).map(|_| rs.standard_normal()).collect();
        let got: Vec<f64> = net.weights.iter().flat_map(|w| w.iter().copied()).collect();
        assert_eq!(got, expected);
        assert_eq!(net.weights[0].dim(), (5, 3));
        assert!(net.biases.iter().all(|b| b.iter().all(|&v| v == 0.0)));
    }

    #[test]
    fn streams_dispatch_and_numpy_seeds_are_checked() {
        let sizes = [2, 4, 2];
        assert_eq!(
            WeightRng::Chacha.init(&sizes, 3).unwrap(),
            Network::init(&sizes, 3)
        );
        assert_eq!(
            WeightRng::Numpy.init(&sizes, 3).unwrap(),
            numpy_init(&sizes, 3)
        );
        assert_ne!(numpy_init(&sizes, 3), Network::init(&sizes, 3));
        let too_big = u64::from(u32::MAX) + 1;
        let e = WeightRng::Numpy.init(&sizes, too_big).unwrap_err();
        assert_eq!(e, SeedOutOfRange { seed: too_big });
        assert!(e.to_string().contains("4294967295"));
        assert!(WeightRng::Numpy.check_seed(u64::from(u32::MAX)).is_ok());
        assert!(WeightRng::Chacha.check_seed(u64::MAX).is_ok());
    }

    #[test]
    fn a_recipe_carries_its_stream_to_the_initial_network() {
        let params = || Recipe::params(&[3, 5, 2]).eta(0.1).steps(1).seed(7);
        let numpy = params().weight_rng(WeightRng::Numpy).check(4, 0).unwrap();
        assert_eq!(numpy.weight_rng(), WeightRng::Numpy);
        assert_eq!(initial_network(&numpy), numpy_init(&[3, 5, 2], 7));
        let chacha = params().check(4, 0).unwrap();
        assert_eq!(chacha.weight_rng(), WeightRng::Chacha);
        assert_eq!(initial_network(&chacha), Network::init(&[3, 5, 2], 7));
    }
}
