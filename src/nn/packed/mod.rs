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
            kernel::mul_avx512(self, jobs, range)
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

mod kernel;

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn the_packed_product_is_the_product() {
        for (m, k, n) in [
            (30, 50, 70),
            (7, 33, 32),
            (1, 5, 3),
            (13, 64, 65),
            (50, 300, 45),
        ] {
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
        let (k, n) = (2 * kernel::KC + 37, 100);
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
