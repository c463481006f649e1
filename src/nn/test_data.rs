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

/// Samples in [0, 1] labelled by a random linear rule: learnable, with more inputs than
/// samples when `d > n`, the regime the Gram engine is for.
pub(crate) fn linear_rule_data(
    d: usize,
    n: usize,
    classes: usize,
    seed: u64,
) -> (Array2<f64>, Vec<u8>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let u = Uniform::new(0.0, 1.0).unwrap();
    let x = Array2::from_shape_simple_fn((d, n), || u.sample(&mut rng));
    let mut rule = ChaCha8Rng::seed_from_u64(1000);
    let r = Array2::from_shape_simple_fn((classes, d), || u.sample(&mut rule) - 0.5);
    let labels = super::network::argmax_columns(r.dot(&x).view());
    (x, labels)
}

/// ‖a − b‖ / ‖b‖ (Frobenius).
pub(crate) fn relative(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    (a - b).mapv(|v| v * v).sum().sqrt() / b.mapv(|v| v * v).sum().sqrt()
}
