//! NumPy's legacy random stream (`np.random.seed`, `np.random.RandomState`), reproduced draw for
//! draw, so a run can be compared with the lecture's Python one number at a time.
//!
//! NEP 19 froze this stream: NumPy promises that `RandomState(seed)` gives the same numbers in
//! every future version. What is reproduced here, each from NumPy's C source
//! (`numpy/random/src/mt19937/mt19937.{c,h}`, `legacy/legacy-distributions.c`,
//! `distributions/distributions.c`, `mtrand.pyx`):
//!
//! - the Mersenne Twister MT19937, seeded as `mt19937_seed` does for an integer seed (Knuth's
//!   `init_genrand` recurrence, the whole key from the one 32-bit seed);
//! - `random_sample`: a 53-bit double from two 32-bit draws, `(a >> 5, b >> 6)`;
//! - the legacy Gaussian (`legacy_gauss`): Marsaglia's polar method on two such doubles, whose
//!   second value is cached and returned by the next call, *across* calls (so `randn(3, 3)`
//!   then `randn(2)` share a pair). The `ziggurat` of `np.random.default_rng` is another
//!   stream altogether and is not reproduced;
//! - `random_interval` (masked rejection on 32-bit draws), hence `shuffle` and `permutation`
//!   of a 1-D array exactly as `RandomState.shuffle` runs its Fisher–Yates loop.
//!
//! `randint` is not here: scikit-learn's `make_circles`, `make_moons`, `shuffle` and
//! `train_test_split` never call it (they shuffle an `arange`).
//!
//! The MT19937 core is written out rather than taken from a crate (such as `rand_mt`): it is
//! forty lines, and everything around it (the seeding variant, the 53-bit double, the Gaussian
//! cache, the bounded draw) is NumPy's own and would have to be written here anyway.
//! The one platform dependence is the natural logarithm in the Gaussian: NumPy calls the C
//! library's `log`, as `f64::ln` does; on glibc both are the same function.

/// Words of MT19937 state.
const N: usize = 624;
/// MT19937's middle word offset.
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// `np.random.RandomState(seed)`: MT19937 plus the cached Gaussian of the legacy stream.
#[derive(Clone)]
pub struct RandomState {
    key: [u32; N],
    pos: usize,
    /// The second value of the last polar pair, returned by the next Gaussian draw.
    gauss: Option<f64>,
}

impl std::fmt::Debug for RandomState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RandomState")
            .field("pos", &self.pos)
            .field("gauss", &self.gauss)
            .finish_non_exhaustive()
    }
}

impl RandomState {
    /// `np.random.seed(seed)` / `np.random.RandomState(seed)` for an integer seed. NumPy
    /// refuses seeds outside `0..=2³²−1`, which is why this takes a `u32`.
    pub fn new(seed: u32) -> RandomState {
        // mt19937_seed: key[0] = seed, key[i] = 1812433253·(key[i−1] ⊕ key[i−1]≫30) + i.
        let mut key = [0u32; N];
        let mut s = seed;
        for (pos, k) in key.iter_mut().enumerate() {
            *k = s;
            s = 1_812_433_253u32
                .wrapping_mul(s ^ (s >> 30))
                .wrapping_add(pos as u32 + 1);
        }
        RandomState {
            key,
            pos: N,
            gauss: None,
        }
    }

    /// Refills the key with the next 624 words (`mt19937_gen`).
    fn generate(&mut self) {
        let twist = |a: u32, b: u32, c: u32| {
            let y = (a & UPPER_MASK) | (b & LOWER_MASK);
            c ^ (y >> 1) ^ ((y & 1).wrapping_neg() & MATRIX_A)
        };
        for i in 0..N {
            self.key[i] = twist(self.key[i], self.key[(i + 1) % N], self.key[(i + M) % N]);
        }
        self.pos = 0;
    }

    /// The next tempered 32-bit word (`mt19937_next32`).
    pub fn next_u32(&mut self) -> u32 {
        if self.pos == N {
            self.generate();
        }
        let mut y = self.key[self.pos];
        self.pos += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `random_sample()`: a double in [0, 1) with 53 random bits, the high 27 from one word
    /// and the low 26 from the next (`mt19937_next_double`).
    pub fn random_sample(&mut self) -> f64 {
        let a = self.next_u32() >> 5;
        let b = self.next_u32() >> 6;
        (f64::from(a) * 67_108_864.0 + f64::from(b)) / 9_007_199_254_740_992.0
    }

    /// `standard_normal()` / one entry of `randn(...)`: the legacy polar method, the cached
    /// value first (`legacy_gauss`).
    pub fn standard_normal(&mut self) -> f64 {
        if let Some(cached) = self.gauss.take() {
            return cached;
        }
        let (x1, x2, r2) = loop {
            let x1 = 2.0 * self.random_sample() - 1.0;
            let x2 = 2.0 * self.random_sample() - 1.0;
            // Two products and a sum, rounded each (NumPy's x86-64 wheels do not contract
            // them into a fused multiply-add, and Rust never does).
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                break (x1, x2, r2);
            }
        };
        let f = (-2.0 * r2.ln() / r2).sqrt();
        self.gauss = Some(f * x1);
        f * x2
    }

    /// `normal(loc, scale)`: `loc + scale · gauss` (`legacy_normal`).
    pub fn normal(&mut self, loc: f64, scale: f64) -> f64 {
        loc + scale * self.standard_normal()
    }

    /// A uniform integer in `0..=max` (`random_interval`): the smallest all-ones mask that
    /// covers `max`, and 32-bit draws (64-bit beyond 2³²−1) rejected until one fits.
    pub fn interval(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        let mask = u64::MAX >> max.leading_zeros();
        loop {
            let value = if max <= u64::from(u32::MAX) {
                u64::from(self.next_u32()) & mask
            } else {
                // next_uint64 of MT19937: the first word is the high half.
                ((u64::from(self.next_u32()) << 32) | u64::from(self.next_u32())) & mask
            };
            if value <= max {
                return value;
            }
        }
    }

    /// `shuffle(x)` of a 1-D array: Fisher–Yates from the last element down, element `i`
    /// swapped with `interval(i)`.
    pub fn shuffle<T>(&mut self, x: &mut [T]) {
        for i in (1..x.len()).rev() {
            let j = self.interval(i as u64) as usize;
            x.swap(i, j);
        }
    }

    /// `permutation(n)`: `arange(n)` shuffled.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut p: Vec<usize> = (0..n).collect();
        self.shuffle(&mut p);
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first outputs of the reference `mt19937ar.c` after `init_genrand(5489)`: the seeding
    /// and the generator are MT19937's, not a variant.
    #[test]
    fn the_reference_mt19937_stream() {
        let mut rs = RandomState::new(5489);
        let first: Vec<u32> = (0..3).map(|_| rs.next_u32()).collect();
        assert_eq!(first, [3_499_211_612, 581_869_302, 3_890_346_734]);
        // The 10 000th output of the default seed, as in the C++ standard ([rand.predef]).
        let mut rs = RandomState::new(5489);
        let last = (0..10_000).map(|_| rs.next_u32()).last();
        assert_eq!(last, Some(4_123_659_995));
    }

    #[test]
    fn the_gaussian_pair_is_split_across_calls() {
        let mut a = RandomState::new(3);
        let pair = (a.standard_normal(), a.standard_normal());
        let mut b = RandomState::new(3);
        assert_eq!(b.standard_normal(), pair.0);
        // The cached second value does not consume the bit stream.
        let pos = b.pos;
        assert_eq!(b.standard_normal(), pair.1);
        assert_eq!(b.pos, pos);
    }

    #[test]
    fn interval_stays_in_range_and_shuffle_permutes() {
        let mut rs = RandomState::new(0);
        for max in [1u64, 2, 3, 7, 8, 1000, u64::from(u32::MAX) + 5] {
            for _ in 0..50 {
                assert!(rs.interval(max) <= max);
            }
        }
        assert_eq!(rs.interval(0), 0);
        let mut p = rs.permutation(100);
        p.sort_unstable();
        assert_eq!(p, (0..100).collect::<Vec<_>>());
        assert!(rs.permutation(0).is_empty());
        assert_eq!(rs.permutation(1), vec![0]);
    }
}
