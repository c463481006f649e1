//! The 2-D toy datasets of the lecture, generated as scikit-learn's `make_circles` and
//! `make_moons` do: points on two curves, shuffled, Gaussian noise added, then a seeded
//! shuffled train/test split as `train_test_split` makes.
//!
//! The numbers differ from scikit-learn's (another random generator) but the distribution is
//! the same, which is what the lecture's figures depend on.

use ndarray::Array2;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use super::{Dataset, Split};

/// Which curves to sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    /// Two concentric circles; the inner one has radius `factor` (0 < factor < 1).
    Circles { factor: f64 },
    /// Two interleaving half circles.
    Moons,
}

/// Parameters of a synthetic dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticSpec {
    pub shape: Shape,
    /// Total number of points, train and test together.
    pub samples: usize,
    /// Standard deviation of the Gaussian noise added to each coordinate.
    pub noise: f64,
    /// Fraction of the points held out for testing.
    pub test_fraction: f64,
    /// Seed of the points, the noise and the split (not of the networks' weights).
    pub seed: u64,
}

impl SyntheticSpec {
    /// Number of test points: `ceil(samples * test_fraction)`, as `train_test_split` rounds.
    pub fn n_test(&self) -> usize {
        (self.samples as f64 * self.test_fraction).ceil() as usize
    }
}

/// Generates the dataset. Same spec, same points, on every machine.
pub fn generate(spec: &SyntheticSpec) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let n_out = spec.samples / 2;
    let n_in = spec.samples - n_out;
    let mut points: Vec<([f64; 2], u8)> = Vec::with_capacity(spec.samples);
    match spec.shape {
        Shape::Circles { factor } => {
            // scikit-learn: linspace(0, 2π, n, endpoint=False) on each circle.
            let circle = |n: usize, radius: f64, label: u8, points: &mut Vec<_>| {
                for i in 0..n {
                    let t = 2.0 * std::f64::consts::PI * i as f64 / n as f64;
                    points.push(([radius * t.cos(), radius * t.sin()], label));
                }
            };
            circle(n_out, 1.0, 0, &mut points);
            circle(n_in, factor, 1, &mut points);
        }
        Shape::Moons => {
            // scikit-learn: linspace(0, π, n) with both ends on each half circle.
            let angle = |i: usize, n: usize| {
                if n <= 1 {
                    0.0
                } else {
                    std::f64::consts::PI * i as f64 / (n - 1) as f64
                }
            };
            for i in 0..n_out {
                let t = angle(i, n_out);
                points.push(([t.cos(), t.sin()], 0));
            }
            for i in 0..n_in {
                let t = angle(i, n_in);
                points.push(([1.0 - t.cos(), 1.0 - t.sin() - 0.5], 1));
            }
        }
    }
    points.shuffle(&mut rng);
    if spec.noise > 0.0 {
        let normal = Normal::new(0.0, spec.noise).expect("noise is validated finite and >= 0");
        for (p, _) in &mut points {
            p[0] += normal.sample(&mut rng);
            p[1] += normal.sample(&mut rng);
        }
    }
    // The split is a second, independent shuffle, as train_test_split does after make_*.
    points.shuffle(&mut rng);
    let n_test = spec.n_test().min(points.len());
    let (test, train) = points.split_at(n_test);
    let name = match spec.shape {
        Shape::Circles { .. } => "circles",
        Shape::Moons => "moons",
    };
    Dataset {
        name: name.to_string(),
        n_classes: 2,
        train: to_split(train),
        validation: None,
        test: to_split(test),
    }
}

fn to_split(points: &[([f64; 2], u8)]) -> Split {
    let mut x = Array2::zeros((2, points.len()));
    for (j, (p, _)) in points.iter().enumerate() {
        x[[0, j]] = p[0];
        x[[1, j]] = p[1];
    }
    Split::new(x, points.iter().map(|&(_, label)| label).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn circles(seed: u64) -> SyntheticSpec {
        SyntheticSpec {
            shape: Shape::Circles { factor: 0.8 },
            samples: 500,
            noise: 0.1,
            test_fraction: 0.2,
            seed,
        }
    }

    #[test]
    fn circles_have_the_asked_sizes_and_balanced_classes() {
        let d = generate(&circles(0));
        assert_eq!(d.train.len(), 400);
        assert_eq!(d.test.len(), 100);
        assert_eq!(d.n_features(), 2);
        let ones = d
            .train
            .labels
            .iter()
            .chain(&d.test.labels)
            .filter(|&&l| l == 1)
            .count();
        assert_eq!(ones, 250);
    }

    #[test]
    fn noiseless_circles_lie_on_their_radius() {
        let mut spec = circles(3);
        spec.noise = 0.0;
        let d = generate(&spec);
        for (j, &label) in d.train.labels.iter().enumerate() {
            let r = d.train.x[[0, j]].hypot(d.train.x[[1, j]]);
            let expected = if label == 0 { 1.0 } else { 0.8 };
            assert!((r - expected).abs() < 1e-12, "radius {r} for label {label}");
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_points_and_another_seed_does_not() {
        assert_eq!(generate(&circles(7)), generate(&circles(7)));
        assert_ne!(generate(&circles(7)).train.x, generate(&circles(8)).train.x);
    }

    #[test]
    fn noiseless_moons_lie_on_their_half_circles() {
        let spec = SyntheticSpec {
            shape: Shape::Moons,
            samples: 101,
            noise: 0.0,
            test_fraction: 0.0,
            seed: 1,
        };
        let d = generate(&spec);
        assert_eq!(d.train.len(), 101);
        for (j, &label) in d.train.labels.iter().enumerate() {
            let (x, y) = (d.train.x[[0, j]], d.train.x[[1, j]]);
            let r = if label == 0 {
                x.hypot(y)
            } else {
                (x - 1.0).hypot(y - 0.5)
            };
            assert!((r - 1.0).abs() < 1e-12);
            assert!(if label == 0 {
                y >= -1e-12
            } else {
                y <= 0.5 + 1e-12
            });
        }
    }
}
