//! The 2-D toy datasets of the lecture, generated as scikit-learn's `make_circles` and
//! `make_moons` do: points on two curves, shuffled, Gaussian noise added, then a seeded
//! shuffled train/test split as `train_test_split` makes.
//!
//! Two streams draw the randomness ([`DataRng`]). nnsweep's own (ChaCha8, the default) gives
//! other numbers than scikit-learn but the same distribution, which is what the lecture's
//! figures depend on. `Sklearn` replays scikit-learn's functions step by step on NumPy's
//! legacy stream ([`crate::numpy_random`]), so the points, their order and the split are those
//! of `make_circles(n, noise=…, factor=…, random_state=seed)` / `make_moons(…)` followed by
//! `train_test_split(X, y, test_size=…, random_state=seed)` (scikit-learn 1.5, and every
//! version since 0.24 whose code reads the same), to the last bit where the C library's
//! `cos`/`sin` are NumPy's (glibc: yes, see `tests/numpy_streams.rs`).

use ndarray::Array2;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use super::{Dataset, Split};
use crate::numpy_random::RandomState;

/// Which curves to sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    /// Two concentric circles; the inner one has radius `factor` (0 < factor < 1).
    Circles { factor: f64 },
    /// Two interleaving half circles.
    Moons,
}

/// Which random stream draws the points' order, their noise and the split (`[data] rng`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DataRng {
    /// nnsweep's own generator (ChaCha8): scikit-learn's distribution, other numbers.
    #[default]
    Nnsweep,
    /// scikit-learn's functions on NumPy's legacy `RandomState(seed)`: the very numbers the
    /// lecture's Python gets. The seed must fit in 32 bits, as NumPy requires.
    Sklearn,
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
    /// The stream the seed starts.
    pub rng: DataRng,
    /// Fraction of the training points moved to a validation split (seeded by `seed`).
    pub validation_fraction: Option<super::ValidationFraction>,
}

impl SyntheticSpec {
    /// Number of test points: `ceil(samples * test_fraction)`, as `train_test_split` rounds
    /// (the product in floating point, so 100 × 0.07 = 7.000000000000001 gives 8).
    pub fn n_test(&self) -> usize {
        (self.samples as f64 * self.test_fraction).ceil() as usize
    }
}

/// Generates the dataset. Same spec, same points, on every machine.
///
/// # Panics
/// With `rng = Sklearn` and a seed above 2³²−1: NumPy refuses such seeds, and so does the
/// config reader (with the file, the line and the fix) before it builds a spec.
pub fn generate(spec: &SyntheticSpec) -> Dataset {
    let (train, test) = match spec.rng {
        DataRng::Nnsweep => nnsweep_points(spec),
        DataRng::Sklearn => {
            let seed = u32::try_from(spec.seed)
                .expect("the config refuses scikit-learn data seeds beyond 32 bits");
            sklearn_points(spec, seed)
        }
    };
    let name = match spec.shape {
        Shape::Circles { .. } => "circles",
        Shape::Moons => "moons",
    };
    Dataset {
        name: name.to_string(),
        n_classes: 2,
        train: to_split(&train),
        validation: None,
        test: to_split(&test),
    }
}

/// A point and its label.
type Point = ([f64; 2], u8);

/// nnsweep's own stream: (train, test).
fn nnsweep_points(spec: &SyntheticSpec) -> (Vec<Point>, Vec<Point>) {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let n_out = spec.samples / 2;
    let n_in = spec.samples - n_out;
    let mut points: Vec<Point> = Vec::with_capacity(spec.samples);
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
    (train.to_vec(), test.to_vec())
}

/// `np.linspace(0, stop, num, endpoint)` as NumPy computes it: `i · (stop / div)` (not
/// `stop · i / div`, which rounds differently), the last value set to `stop` when the endpoint
/// is kept, and `i · stop` when there is no step (`num = 1` with the endpoint).
fn linspace(stop: f64, num: usize, endpoint: bool) -> Vec<f64> {
    let div = if endpoint { num.saturating_sub(1) } else { num };
    let mut y: Vec<f64> = if div > 0 {
        let step = stop / div as f64;
        (0..num).map(|i| i as f64 * step + 0.0).collect()
    } else {
        (0..num).map(|i| i as f64 * stop + 0.0).collect()
    };
    if endpoint && num > 1 {
        y[num - 1] = stop;
    }
    y
}

/// scikit-learn's `make_circles`/`make_moons` then `train_test_split`, each on its own
/// `RandomState(seed)` as `random_state=seed` makes them: (train, test) in the order
/// scikit-learn returns them.
fn sklearn_points(spec: &SyntheticSpec, seed: u32) -> (Vec<Point>, Vec<Point>) {
    use std::f64::consts::PI;
    let n_out = spec.samples / 2;
    let n_in = spec.samples - n_out;
    // The outer curve's points, then the inner one's (np.append), labels 0 then 1.
    let mut points: Vec<Point> = Vec::with_capacity(spec.samples);
    match spec.shape {
        Shape::Circles { factor } => {
            points.extend(
                linspace(2.0 * PI, n_out, false)
                    .into_iter()
                    .map(|t| ([t.cos(), t.sin()], 0)),
            );
            points.extend(
                linspace(2.0 * PI, n_in, false)
                    .into_iter()
                    .map(|t| ([t.cos() * factor, t.sin() * factor], 1)),
            );
        }
        Shape::Moons => {
            points.extend(
                linspace(PI, n_out, true)
                    .into_iter()
                    .map(|t| ([t.cos(), t.sin()], 0)),
            );
            points.extend(
                linspace(PI, n_in, true)
                    .into_iter()
                    .map(|t| ([1.0 - t.cos(), 1.0 - t.sin() - 0.5], 1)),
            );
        }
    }
    // make_*: check_random_state(seed); utils.shuffle (resample without replacement: an
    // arange shuffled in place); then X += normal(scale=noise, size=(n, 2)), row by row. The
    // noise is drawn even when it is 0 (scikit-learn tests `noise is not None`).
    let mut rs = RandomState::new(seed);
    let mut order: Vec<usize> = (0..points.len()).collect();
    rs.shuffle(&mut order);
    let mut points: Vec<Point> = order.iter().map(|&i| points[i]).collect();
    for (p, _) in &mut points {
        p[0] += rs.normal(0.0, spec.noise);
        p[1] += rs.normal(0.0, spec.noise);
    }
    // train_test_split: n_test = ceil(test_size · n), n_train = n − n_test; ShuffleSplit with a
    // fresh RandomState(seed): test = permutation[:n_test], train = permutation[n_test:].
    let n_test = spec.n_test().min(points.len());
    let permutation = RandomState::new(seed).permutation(points.len());
    let pick = |idx: &[usize]| idx.iter().map(|&i| points[i]).collect::<Vec<_>>();
    (pick(&permutation[n_test..]), pick(&permutation[..n_test]))
}

fn to_split(points: &[Point]) -> Split {
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
            rng: DataRng::Nnsweep,
            validation_fraction: None,
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
            rng: DataRng::Nnsweep,
            validation_fraction: None,
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

    #[test]
    fn sklearn_stream_follows_linspace_and_keeps_all_points() {
        assert_eq!(linspace(std::f64::consts::PI, 1, true), vec![0.0]);
        assert_eq!(linspace(2.0, 3, true), vec![0.0, 1.0, 2.0]);
        assert_eq!(linspace(3.0, 3, false), vec![0.0, 1.0, 2.0]);
        assert!(linspace(1.0, 0, false).is_empty());
        let mut spec = circles(5);
        spec.rng = DataRng::Sklearn;
        spec.noise = 0.0;
        let d = generate(&spec);
        assert_eq!((d.train.len(), d.test.len()), (400, 100));
        for (j, &label) in d.test.labels.iter().enumerate() {
            let r = d.test.x[[0, j]].hypot(d.test.x[[1, j]]);
            assert!((r - if label == 0 { 1.0 } else { 0.8 }).abs() < 1e-12);
        }
        assert_ne!(generate(&spec), generate(&circles(5)));
    }
}
