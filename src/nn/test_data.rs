//! Data for the engine's unit tests.

use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Uniform};

/// `n` samples of `d` features uniform in [-1, 1], seeded, labelled round-robin over
/// `classes`: every class present whatever the seed.
pub(crate) fn random_data(d: usize, n: usize, classes: u8, seed: u64) -> (Array2<f64>, Vec<u8>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let u = Uniform::new(-1.0, 1.0).unwrap();
    let x = Array2::from_shape_simple_fn((d, n), || u.sample(&mut rng));
    let labels = (0..n).map(|j| (j % classes as usize) as u8).collect();
    (x, labels)
}
