//! `C = A·G` with G packed once: the Gram engine's one large product per step (G = XᵀX), and
//! the direct engine's first layer on large training sets (G = X for `w1·X`, G = Xᵀ for
//! `δ1·Xᵀ`; `direct.rs`).
//!
//! G is the same at every step of every run on the same samples, yet BLAS repacks it into its
//! panel layout at each call: 13 % of a Gram step with OpenBLAS (profiled with `perf`), as much
//! as all the elementwise work. Here G is packed once, in panels of four vectors' width (32
//! columns in f64, 64 in f32: k rows of W contiguous values, zero-padded), and an AVX-512
//! kernel keeps a 6-row block of C in 24 registers while it runs down a chunk of k rows that
//! stays in cache for every row block of every job ([`Packed::mul_many`]: the fused runs of
//! `fusion.rs`). Each element of C is one chain of fused multiply-adds in the order of k (a
//! chain paused at the end of a chunk is stored and resumed exactly), so the result depends
//! only on the inputs: not on the chunking, the other jobs, or the thread.
//!
//! On processors with AVX-512F, f64 and f32; elsewhere [`Packed::new`] gives `None` and the
//! engines keep calling BLAS.

use ndarray::ArrayView2;

use super::engine::Parallelism;

/// Rows of C computed together.
const R: usize = 6;

/// The element types with a packed kernel: f64 (8 lanes a vector) and f32 (16).
pub trait Element: Copy + Default + Send + Sync + 'static {
    /// Lanes of one AVX-512 vector; a panel is four vectors wide.
    const LANES: usize;
    #[cfg(target_arch = "x86_64")]
    type V: Copy;
    #[cfg(target_arch = "x86_64")]
    unsafe fn vzero() -> Self::V;
    #[cfg(target_arch = "x86_64")]
    unsafe fn load(p: *const Self) -> Self::V;
    #[cfg(target_arch = "x86_64")]
    unsafe fn splat(v: Self) -> Self::V;
    /// `a·b + c`, fused.
    #[cfg(target_arch = "x86_64")]
    unsafe fn fmadd(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    #[cfg(target_arch = "x86_64")]
    unsafe fn store(p: *mut Self, v: Self::V);
}

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

impl Element for f64 {
    const LANES: usize = 8;
    #[cfg(target_arch = "x86_64")]
    type V = __m512d;
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn vzero() -> __m512d {
        _mm512_setzero_pd()
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load(p: *const f64) -> __m512d {
        _mm512_loadu_pd(p)
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn splat(v: f64) -> __m512d {
        _mm512_set1_pd(v)
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn fmadd(a: __m512d, b: __m512d, c: __m512d) -> __m512d {
        _mm512_fmadd_pd(a, b, c)
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn store(p: *mut f64, v: __m512d) {
        _mm512_storeu_pd(p, v)
    }
}

impl Element for f32 {
    const LANES: usize = 16;
    #[cfg(target_arch = "x86_64")]
    type V = __m512;
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn vzero() -> __m512 {
        _mm512_setzero_ps()
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load(p: *const f32) -> __m512 {
        _mm512_loadu_ps(p)
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn splat(v: f32) -> __m512 {
        _mm512_set1_ps(v)
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn fmadd(a: __m512, b: __m512, c: __m512) -> __m512 {
        _mm512_fmadd_ps(a, b, c)
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: __m512) {
        _mm512_storeu_ps(p, v)
    }
}

/// G packed for [`Packed::mul`].
#[derive(Debug)]
pub struct Packed<T> {
    k: usize,
    n: usize,
    panels: Vec<T>,
}

impl<T: Element> Packed<T> {
    /// Columns of one panel: four vectors.
    const W: usize = 4 * T::LANES;

    /// Packs `g` (k×n), or `None` where there is no kernel for this processor.
    pub fn new(g: ArrayView2<'_, T>) -> Option<Packed<T>> {
        if !available() {
            return None;
        }
        let w = Self::W;
        let (k, n) = g.dim();
        let count = n.div_ceil(w);
        let mut panels = vec![T::default(); count * k * w];
        for p in 0..count {
            for kk in 0..k {
                for c in 0..w.min(n - p * w) {
                    panels[(p * k + kk) * w + c] = g[[kk, p * w + c]];
                }
            }
        }
        Some(Packed { k, n, panels })
    }

    /// `c ← a·G`, with `a` (m×k) and `c` (m×n) row-major and contiguous; with
    /// `Parallelism::Pool`, panels are split over the caller's rayon pool.
    pub fn mul(&self, a: &[T], c: &mut [T], parallelism: Parallelism) {
        // One job on the stack: a run's step allocates nothing.
        let job = self.job(&mut Job { a, c });
        self.panels(
            std::slice::from_ref(&job),
            0..self.n.div_ceil(Self::W),
            parallelism == Parallelism::Pool,
        );
    }

    fn job(&self, job: &mut Job<'_, T>) -> JobPtr<T> {
        let m = job.a.len() / self.k.max(1);
        assert_eq!(job.a.len(), m * self.k, "a is m×k");
        assert_eq!(job.c.len(), m * self.n, "c is m×n");
        JobPtr {
            a: job.a.as_ptr(),
            m,
            c: Out(job.c.as_mut_ptr()),
        }
    }

    /// `c ← a·G` for every job, G streamed once for all of them: each chunk of a panel is
    /// read from memory once and used by every job while it is in cache (the fused runs of
    /// a sweep). Each element of each `c` is the same chain of fused multiply-adds as [`mul`]
    /// alone gives, so what a job is computed with changes none of its bits.
    ///
    /// [`mul`]: Packed::mul
    pub fn mul_many(&self, jobs: &mut [Job<'_, T>], parallelism: Parallelism) {
        let specs: Vec<JobPtr<T>> = jobs.iter_mut().map(|job| self.job(job)).collect();
        let split = parallelism == Parallelism::Pool;
        self.panels(&specs, 0..self.n.div_ceil(Self::W), split);
    }

    /// The columns of panels `range`. When told to `split` (the caller is a worker of the
    /// runner's pool), halves go to `join`: at the end of a sweep, workers with no run left take
    /// panels of the runs still going, and while every worker is busy the split costs a few
    /// pushes a step. Each panel is computed by one thread in one fixed order, so which thread
    /// it was changes no bit.
    fn panels(&self, jobs: &[JobPtr<T>], range: std::ops::Range<usize>, split: bool) {
        if split && range.len() > 2 {
            let mid = range.start + range.len() / 2;
            rayon::join(
                || self.panels(jobs, range.start..mid, split),
                || self.panels(jobs, mid..range.end, split),
            );
            return;
        }
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a `Packed` exists only where `available()` said AVX-512F is there;
        // `mul_many` checked every job's lengths, and panels write disjoint columns of each c.
        unsafe {
            mul_avx512(self, jobs, range)
        }
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("no packed kernel on this architecture")
    }
}

/// One product of [`Packed::mul_many`]: `c ← a·G`.
pub struct Job<'j, T> {
    pub a: &'j [T],
    pub c: &'j mut [T],
}

/// A job as the threads computing its panels share it.
struct JobPtr<T> {
    a: *const T,
    m: usize,
    c: Out<T>,
}

// SAFETY: `a` is only read; the threads sharing a `JobPtr` write disjoint columns of `c`, and
// `mul_many` (which borrows both for its whole call) outlives them (join).
unsafe impl<T: Sync> Send for JobPtr<T> {}
unsafe impl<T: Sync> Sync for JobPtr<T> {}

/// C's storage, shared by the threads that write its panels (disjoint columns).
struct Out<T>(*mut T);

impl<T> Out<T> {
    /// Through a method, so that closures capture the `Out` (which is `Send`), not the pointer.
    fn get(self) -> *mut T {
        self.0
    }
}

impl<T> Clone for Out<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Out<T> {}
// SAFETY: the threads sharing an `Out` write disjoint elements, and `mul` outlives them (join).
unsafe impl<T: Send> Send for Out<T> {}
unsafe impl<T: Send> Sync for Out<T> {}

pub(super) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Rows of G a panel chunk holds: 256 rows of 32 f64 or 64 f32 is 64 KB, which stays in L2
/// while every row block of every job runs down it.
const KC: usize = 256;

/// Rows of G prefetched ahead of the one being read.
const PF: usize = 8;

/// # Safety
/// The processor has AVX-512F; each job's `a` holds m×k and its `c` m×n elements, and no other
/// thread writes the columns of `panels`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn mul_avx512<T: Element>(
    p: &Packed<T>,
    jobs: &[JobPtr<T>],
    panels: std::ops::Range<usize>,
) {
    let w = Packed::<T>::W;
    for panel in panels {
        let g = &p.panels[panel * p.k * w..(panel + 1) * p.k * w];
        let j = panel * w;
        if j + w <= p.n {
            // A whole panel: chunk by chunk of G, each used by every row block of every job;
            // a chain of fused multiply-adds paused at the end of a chunk is stored in C and
            // resumed from there, bit for bit.
            let mut k0 = 0;
            while k0 < p.k {
                let k1 = (k0 + KC).min(p.k);
                for job in jobs {
                    rows(p, job, g, k0..k1, job.c.get().add(j), p.n);
                }
                k0 = k1;
            }
        } else {
            // The last, narrower panel: all of k at once into a tile, then its columns.
            let mut tile = [T::default(); R * 64];
            for job in jobs {
                let mut i = 0;
                while i < job.m {
                    let r = R.min(job.m - i);
                    let one = JobPtr {
                        a: job.a.add(i * p.k),
                        m: r,
                        c: job.c,
                    };
                    rows(p, &one, g, 0..p.k, tile.as_mut_ptr(), w);
                    for q in 0..r {
                        std::ptr::copy_nonoverlapping(
                            tile.as_ptr().add(q * w),
                            job.c.get().add((i + q) * p.n + j),
                            p.n - j,
                        );
                    }
                    i += r;
                }
            }
        }
    }
}

/// Every row of `job` for rows `ks` of G (one panel `g`), into `dst` (row r at `dst + r·ld`).
///
/// # Safety
/// AVX-512F; `job.a` holds m×k values; `dst` has `job.m` rows of W values `ld` apart.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn rows<T: Element>(
    p: &Packed<T>,
    job: &JobPtr<T>,
    g: &[T],
    ks: std::ops::Range<usize>,
    dst: *mut T,
    ld: usize,
) {
    let mut i = 0;
    while i + R <= job.m {
        block::<T, R>(p.k, job.a, i, g, ks.clone(), dst, ld);
        i += R;
    }
    let ks = ks.clone();
    match job.m - i {
        1 => block::<T, 1>(p.k, job.a, i, g, ks, dst, ld),
        2 => block::<T, 2>(p.k, job.a, i, g, ks, dst, ld),
        3 => block::<T, 3>(p.k, job.a, i, g, ks, dst, ld),
        4 => block::<T, 4>(p.k, job.a, i, g, ks, dst, ld),
        5 => block::<T, 5>(p.k, job.a, i, g, ks, dst, ld),
        _ => {}
    }
}

/// Rows `i..i + ROWS` of a job (of `k` columns at `a`), the W columns of one panel `g`, rows
/// `ks` of G: 4·ROWS accumulators in registers, started from zero at row 0 of G and from
/// `dst` (the sums so far) after it.
///
/// # Safety
/// AVX-512F; `a` points at a job's m×k values with `i + ROWS ≤ m`; `dst` has m rows of W
/// values `ld` apart.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn block<T: Element, const ROWS: usize>(
    k: usize,
    a: *const T,
    i: usize,
    g: &[T],
    ks: std::ops::Range<usize>,
    dst: *mut T,
    ld: usize,
) {
    let lanes = T::LANES;
    let w = 4 * lanes;
    let dp = dst.add(i * ld);
    let mut acc = [[T::vzero(); 4]; ROWS];
    if ks.start > 0 {
        for (r, acc) in acc.iter_mut().enumerate() {
            for (q, v) in acc.iter_mut().enumerate() {
                *v = T::load(dp.add(r * ld + q * lanes));
            }
        }
    }
    let ap = a.add(i * k);
    let gp = g.as_ptr();
    for kk in ks {
        let gk = gp.add(kk * w);
        // The panel's row PF ahead, four cache lines (W values are 256 bytes in f64 and f32):
        // the first row block of a chunk reads it from memory, and the hardware prefetcher
        // alone left the core waiting (a single-run product of 784×8 000 f32 took 4.3–5.0 ms
        // without, 2.8–3.4 with, interleaved on this project's 2-core Xeon; 8 rows ahead
        // was as good as 16–64).
        let ahead = gk.wrapping_add(PF * w) as *const i8;
        for line in 0..4 {
            _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(64 * line));
        }
        let g0 = T::load(gk);
        let g1 = T::load(gk.add(lanes));
        let g2 = T::load(gk.add(2 * lanes));
        let g3 = T::load(gk.add(3 * lanes));
        for (r, acc) in acc.iter_mut().enumerate() {
            let av = T::splat(*ap.add(r * k + kk));
            acc[0] = T::fmadd(av, g0, acc[0]);
            acc[1] = T::fmadd(av, g1, acc[1]);
            acc[2] = T::fmadd(av, g2, acc[2]);
            acc[3] = T::fmadd(av, g3, acc[3]);
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        for (q, v) in acc.iter().enumerate() {
            T::store(dp.add(r * ld + q * lanes), *v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn the_packed_product_is_the_product() {
        for (m, k, n) in [(30, 50, 70), (7, 33, 32), (1, 5, 3), (13, 64, 65)] {
            let a = Array2::from_shape_fn((m, k), |(i, j)| ((i * 7 + j * 3) % 11) as f64 - 5.0);
            let g = Array2::from_shape_fn((k, n), |(i, j)| ((i * 5 + j * 13) % 17) as f64 / 8.0);
            let Some(p) = Packed::new(g.view()) else {
                return; // no AVX-512 here: the engine uses BLAS
            };
            let mut c = vec![f64::NAN; m * n];
            p.mul(a.as_slice().unwrap(), &mut c, Parallelism::Sequential);
            let expect = a.dot(&g);
            // Small integers and eighths: every sum is exact, whatever the order.
            assert_eq!(c, expect.into_raw_vec_and_offset().0, "{m}×{k}×{n}");
            let (a32, g32) = (a.mapv(|v| v as f32), g.mapv(|v| v as f32));
            let p32 = Packed::new(g32.view()).expect("f64 had a kernel");
            let mut c32 = vec![f32::NAN; m * n];
            p32.mul(a32.as_slice().unwrap(), &mut c32, Parallelism::Pool);
            assert_eq!(c32, a32.dot(&g32).into_raw_vec_and_offset().0);
        }
    }

    /// Several jobs streamed together give each the bits it gets alone, on any split, with
    /// k past one chunk (the paused chains resume exactly).
    #[test]
    fn jobs_computed_together_get_their_bits_alone() {
        let (k, n) = (2 * KC + 37, 100);
        let g = Array2::from_shape_fn((k, n), |(i, j)| {
            ((i * 31 + j * 17) % 101) as f64 / 37.0 - 1.3
        });
        let Some(p) = Packed::new(g.view()) else {
            eprintln!("SKIPPED: no AVX-512F here, no packed kernel to test (the engine uses BLAS)");
            return;
        };
        let mats: Vec<Array2<f64>> = [10, 3, 7, 1]
            .iter()
            .map(|&m| {
                Array2::from_shape_fn((m, k), |(i, j)| ((i * 13 + j * 7) % 29) as f64 / 11.0 - 1.1)
            })
            .collect();
        let alone: Vec<Vec<f64>> = mats
            .iter()
            .map(|a| {
                let mut c = vec![f64::NAN; a.nrows() * n];
                p.mul(a.as_slice().unwrap(), &mut c, Parallelism::Sequential);
                c
            })
            .collect();
        for (a, c) in mats.iter().zip(&alone) {
            let expect = a.dot(&g);
            let err = c
                .iter()
                .zip(expect.iter())
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f64::max);
            assert!(err < 1e-11, "packed against ndarray: {err}");
        }
        for parallelism in [Parallelism::Sequential, Parallelism::Pool] {
            let mut outs: Vec<Vec<f64>> =
                mats.iter().map(|a| vec![f64::NAN; a.nrows() * n]).collect();
            let mut jobs: Vec<Job<'_, f64>> = mats
                .iter()
                .zip(outs.iter_mut())
                .map(|(a, c)| Job {
                    a: a.as_slice().unwrap(),
                    c,
                })
                .collect();
            p.mul_many(&mut jobs, parallelism);
            for (got, want) in outs.iter().zip(&alone) {
                assert!(got
                    .iter()
                    .map(|v| v.to_bits())
                    .eq(want.iter().map(|v| v.to_bits())));
            }
        }
    }
}
