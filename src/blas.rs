//! The BLAS thread count. Each run is single-threaded work that rayon spreads over the cores;
//! if OpenBLAS also spawned a thread per core inside every product, the runs would fight over
//! the cores (25–30 % of throughput lost with two runs on two cores, measured here).

#[cfg(feature = "openblas")]
extern "C" {
    fn openblas_set_num_threads(num_threads: std::os::raw::c_int);
}

/// Sets how many threads OpenBLAS uses for one product. Must be called before the first
/// product: setting `OPENBLAS_NUM_THREADS` from inside the program is too late.
pub fn set_threads(threads: usize) {
    #[cfg(feature = "openblas")]
    {
        let n = std::os::raw::c_int::try_from(threads.max(1)).unwrap_or(1);
        // SAFETY: a plain setter of OpenBLAS's global thread count, valid at any time.
        unsafe { openblas_set_num_threads(n) };
    }
    #[cfg(not(feature = "openblas"))]
    let _ = threads; // matrixmultiply runs single-threaded without its `threading` feature
}
