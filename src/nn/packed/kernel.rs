//! The AVX-512 kernel of [`Packed::mul_many`]: whole panels in chunks of k that stay in cache
//! for every row block of every job, the last (narrower) panel through a tile.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use super::{Element, JobPtr, Packed, R};

/// Rows of G a panel chunk holds: 256 rows of 32 f64 or 64 f32 is 64 KB, which stays in L2
/// while every row block of every job runs down it.
pub(super) const KC: usize = 256;

/// Rows of G prefetched ahead of the one being read (see `block`).
const PF: usize = 32;

/// # Safety
/// The processor has AVX-512F; each job's `a` holds m×k and its `c` m×n elements, and no other
/// thread writes the columns of `panels`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn mul_avx512<T: Element>(
    p: &Packed<T>,
    jobs: &[JobPtr<T>],
    panels: std::ops::Range<usize>,
) {
    let w = Packed::<T>::W;
    let panel_of = |panel: usize| &p.panels[panel * p.k * w..(panel + 1) * p.k * w];
    // Whole panels go chunk by chunk of G, each chunk used by every row block of every job; a
    // chain of fused multiply-adds paused at the end of a chunk is stored in C and resumed
    // from there, bit for bit. The order keeps the smaller of A and C in cache: with k at most
    // n (w1·X: A is m×d), a panel's chunks one after the other, A read again for each panel;
    // with k above n (δ1·Xᵀ: A is m×n_samples, larger than L2 for 100 rows of 8 000 samples,
    // C is m×d), a chunk of every panel before the next chunk, so that A's chunk stays in L2
    // while the panels go by (100 rows of 8 000 × 784 f32: the gradient product went from 71–79 to 79–100 GFLOP/s).
    let whole = panels.start..panels.end.min(p.n / w);
    let chunks = || (0..p.k).step_by(KC).map(|k0| k0..(k0 + KC).min(p.k));
    let chunk = |panel: usize, ks: std::ops::Range<usize>| {
        let (g, j) = (panel_of(panel), panel * w);
        // The first job's first row block reads the chunk from memory: it alone prefetches.
        if let Some((first, others)) = jobs.split_first() {
            rows::<T, true>(p, first, g, ks.clone(), first.c.get().add(j), p.n);
            for job in others {
                rows::<T, false>(p, job, g, ks.clone(), job.c.get().add(j), p.n);
            }
        }
    };
    if p.k <= p.n {
        for panel in whole.clone() {
            chunks().for_each(|ks| chunk(panel, ks));
        }
    } else {
        for ks in chunks() {
            whole.clone().for_each(|panel| chunk(panel, ks.clone()));
        }
    }
    if panels.end > whole.end.max(panels.start) {
        tail(p, jobs, panel_of(panels.end - 1), (panels.end - 1) * w);
    }
}

/// Rows of a job the last panel's tile holds at once.
const TAIL_ROWS: usize = 8 * R;

/// The last, narrower panel (columns `j..n`): chunk by chunk as the whole panels, into a tile
/// of up to [`TAIL_ROWS`] rows, whose first `n − j` columns are then copied into C.
///
/// # Safety
/// As for [`mul_avx512`]; `g` is the last panel, starting at column `j`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn tail<T: Element>(p: &Packed<T>, jobs: &[JobPtr<T>], g: &[T], j: usize) {
    let w = Packed::<T>::W;
    let mut tile = [T::default(); TAIL_ROWS * 64];
    for job in jobs {
        let mut i = 0;
        while i < job.m {
            let r = TAIL_ROWS.min(job.m - i);
            let part = JobPtr {
                a: job.a.add(i * p.k),
                m: r,
                c: job.c,
            };
            let mut k0 = 0;
            while k0 < p.k {
                let k1 = (k0 + KC).min(p.k);
                rows::<T, true>(p, &part, g, k0..k1, tile.as_mut_ptr(), w);
                k0 = k1;
            }
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

/// Every row of `job` for rows `ks` of G (one panel `g`), into `dst` (row r at `dst + r·ld`);
/// the first row block prefetches G's rows ahead when `PF_FIRST` (the others find them in
/// cache: a prefetch there would only take a slot of the loop).
///
/// # Safety
/// AVX-512F; `job.a` holds m×k values; `dst` has `job.m` rows of W values `ld` apart.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn rows<T: Element, const PF_FIRST: bool>(
    p: &Packed<T>,
    job: &JobPtr<T>,
    g: &[T],
    ks: std::ops::Range<usize>,
    dst: *mut T,
    ld: usize,
) {
    if job.m > R && job.m <= 2 * R {
        // Every row at once, half a panel at a time (2·m accumulators): each line of G is read
        // by one pass only, not from memory by a first row block and again from L2 by the
        // next (10 rows of 784×8 000 f32: 1.62–1.65 ms against 1.82–1.89, interleaved).
        for half in 0..2 {
            let (g, dst) = (&g[half * 2 * T::LANES..], dst.add(half * 2 * T::LANES));
            match job.m {
                7 => block::<T, 7, 2, PF_FIRST>(p.k, job.a, 0, g, ks.clone(), dst, ld),
                8 => block::<T, 8, 2, PF_FIRST>(p.k, job.a, 0, g, ks.clone(), dst, ld),
                9 => block::<T, 9, 2, PF_FIRST>(p.k, job.a, 0, g, ks.clone(), dst, ld),
                10 => block::<T, 10, 2, PF_FIRST>(p.k, job.a, 0, g, ks.clone(), dst, ld),
                11 => block::<T, 11, 2, PF_FIRST>(p.k, job.a, 0, g, ks.clone(), dst, ld),
                _ => block::<T, 12, 2, PF_FIRST>(p.k, job.a, 0, g, ks.clone(), dst, ld),
            }
        }
        return;
    }
    let mut i = 0;
    if i + R <= job.m {
        block::<T, R, 4, PF_FIRST>(p.k, job.a, i, g, ks.clone(), dst, ld);
        i += R;
    }
    while i + R <= job.m {
        block::<T, R, 4, false>(p.k, job.a, i, g, ks.clone(), dst, ld);
        i += R;
    }
    let ks = ks.clone();
    // The last rows: the first block too when there are fewer than R.
    if i == 0 {
        last_rows::<T, PF_FIRST>(p.k, job, i, g, ks, dst, ld);
    } else {
        last_rows::<T, false>(p.k, job, i, g, ks, dst, ld);
    }
}

/// Rows `i..job.m` (fewer than R) in one block.
///
/// # Safety
/// As for [`block`].
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn last_rows<T: Element, const PREFETCH: bool>(
    k: usize,
    job: &JobPtr<T>,
    i: usize,
    g: &[T],
    ks: std::ops::Range<usize>,
    dst: *mut T,
    ld: usize,
) {
    match job.m - i {
        1 => block::<T, 1, 4, PREFETCH>(k, job.a, i, g, ks, dst, ld),
        2 => block::<T, 2, 4, PREFETCH>(k, job.a, i, g, ks, dst, ld),
        3 => block::<T, 3, 4, PREFETCH>(k, job.a, i, g, ks, dst, ld),
        4 => block::<T, 4, 4, PREFETCH>(k, job.a, i, g, ks, dst, ld),
        5 => block::<T, 5, 4, PREFETCH>(k, job.a, i, g, ks, dst, ld),
        _ => {}
    }
}

/// Rows `i..i + ROWS` of a job (of `k` columns at `a`), `NV` vectors' columns of a panel (all
/// four, or two: `g` and `dst` then start at the half; rows stay W apart in `g`), rows `ks` of
/// G: NV·ROWS accumulators in registers, started from zero at row 0 of G and from `dst` (the
/// sums so far) after it.
///
/// # Safety
/// AVX-512F; `a` points at a job's m×k values with `i + ROWS ≤ m`; `dst` has m rows of NV
/// vectors `ld` apart; `g` has k rows of NV vectors W apart.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn block<T: Element, const ROWS: usize, const NV: usize, const PREFETCH: bool>(
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
    let mut acc = [[T::vzero(); NV]; ROWS];
    if ks.start > 0 {
        for (r, acc) in acc.iter_mut().enumerate() {
            for (q, v) in acc.iter_mut().enumerate() {
                *v = T::load(dp.add(r * ld + q * lanes));
            }
        }
    }
    let ap = a.add(i * k);
    let gp = g.as_ptr();
    let mut gv = [T::vzero(); NV];
    for kk in ks {
        let gk = gp.add(kk * w);
        // The panel's row PF ahead, NV cache lines (a vector is 64 bytes in f64 and f32):
        // the first row block of a chunk reads it from memory, and the hardware prefetcher
        // alone left the core waiting. On the project's 2-core Xeon, interleaved, a 10-row
        // product with 784×8 000 f32 took 4.3–5.0 ms without, 2.8–3.4 with 8 rows ahead,
        // and 32 rows (8 KB) beat 8 and 16 by another 5–15 %.
        if PREFETCH {
            let ahead = gk.wrapping_add(PF * w) as *const i8;
            for line in 0..NV {
                _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(64 * line));
            }
        }
        for (q, v) in gv.iter_mut().enumerate() {
            *v = T::load(gk.add(q * lanes));
        }
        for (r, acc) in acc.iter_mut().enumerate() {
            let av = T::splat(*ap.add(r * k + kk));
            for (a, &g) in acc.iter_mut().zip(&gv) {
                *a = T::fmadd(av, g, *a);
            }
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        for (q, v) in acc.iter().enumerate() {
            T::store(dp.add(r * ld + q * lanes), *v);
        }
    }
}
