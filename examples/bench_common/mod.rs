//! What the benchmarks `compare` (nnsweep against the lecture's NumPy code) and `large`
//! (against PyTorch on 8 000 images) share: MNIST from the IDX files, CPU time, medians, the
//! single-core GEMM rate, the scripts' JSON lines and the BLAS nnsweep was built with.

use std::ffi::CStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, LinalgScalar};
use nnsweep::data::Split;

#[cfg(feature = "openblas")]
extern "C" {
    fn openblas_get_config() -> *const std::os::raw::c_char;
    fn openblas_get_corename() -> *const std::os::raw::c_char;
}

pub fn blas_name() -> String {
    #[cfg(feature = "openblas")]
    // SAFETY: both return pointers to static NUL-terminated strings.
    unsafe {
        format!(
            "{} (kernel {})",
            CStr::from_ptr(openblas_get_config())
                .to_string_lossy()
                .trim(),
            CStr::from_ptr(openblas_get_corename()).to_string_lossy()
        )
    }
    #[cfg(not(feature = "openblas"))]
    String::from("matrixmultiply (pure Rust)")
}

/// Debian's OpenBLAS 0.3.21 falls back to its Prescott (SSE3) kernel on processors it does not
/// know (Intel family 6 model 207 among them), at a fifth of the AVX-512 kernel's rate: then
/// its "peak" is not the machine's, which the tables must say.
pub fn prescott_warning() -> Option<&'static str> {
    (blas_name().contains("Prescott") && nnsweep::nn::kernels::vector_path().contains("avx512"))
        .then_some("WARNING: OpenBLAS runs its Prescott (SSE3) kernel on this AVX-512 processor: it does not know the model and fell back (OPENBLAS_CORETYPE=SkylakeX selects the AVX-512 kernel); its GEMM rates are not the machine's peak")
}

pub fn mnist_dir() -> PathBuf {
    std::env::var_os("NNSWEEP_MNIST_DIR")
        .map_or_else(|| PathBuf::from("/work/shared/data/mnist"), PathBuf::from)
}

/// The first `n` items of a gzipped IDX file, as bytes, and the size of one item.
pub fn idx(path: &Path, n: usize) -> (Vec<u8>, usize) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut raw)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let dims = usize::from(raw[3]);
    let shape: Vec<usize> = (0..dims)
        .map(|i| u32::from_be_bytes(raw[4 + 4 * i..8 + 4 * i].try_into().unwrap()) as usize)
        .collect();
    let item: usize = shape[1..].iter().product();
    let start = 4 + 4 * dims;
    (raw[start..start + n.min(shape[0]) * item].to_vec(), item)
}

/// The first `n` images of an MNIST IDX pair, one image per column, pixels in [0, 1].
pub fn mnist_split(images: &str, labels: &str, n: usize) -> Split {
    let dir = mnist_dir();
    let (pixels, d) = idx(&dir.join(images), n);
    let (labels, _) = idx(&dir.join(labels), n);
    let x = Array2::from_shape_fn((d, labels.len()), |(i, j)| {
        f64::from(pixels[j * d + i]) / 255.0
    });
    Split::new(x, labels)
}

/// CPU seconds this thread has used (from /proc, 10 ms resolution; 0 where there is none).
pub fn thread_cpu() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/thread-self/stat") else {
        return 0.0;
    };
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0 // utime, stime: fields 14 and 15 of stat
}

pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        f64::NAN
    } else if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        0.5 * (v[v.len() / 2 - 1] + v[v.len() / 2])
    }
}

/// GFLOP/s of `c ← a·b` (or with transposes) on one core: the median of `reps` timings.
pub fn gemm_rate<T: LinalgScalar>(
    shapes: &[(usize, usize, usize, bool, bool)],
    reps: usize,
    inner: usize,
) -> f64 {
    let mats: Vec<_> = shapes
        .iter()
        .map(|&(m, k, n, ta, tb)| {
            let a = if ta {
                Array2::<T>::ones((k, m))
            } else {
                Array2::ones((m, k))
            };
            let b = if tb {
                Array2::<T>::ones((n, k))
            } else {
                Array2::ones((k, n))
            };
            (a, b, Array2::<T>::zeros((m, n)), ta, tb)
        })
        .collect();
    let flops: f64 = shapes
        .iter()
        .map(|&(m, k, n, _, _)| 2.0 * (m * k * n) as f64)
        .sum::<f64>()
        * inner as f64;
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            let mut mats = mats.clone();
            let t = Instant::now();
            for _ in 0..inner {
                for (a, b, c, ta, tb) in &mut mats {
                    match (*ta, *tb) {
                        (false, false) => general_mat_mul(T::one(), a, b, T::zero(), c),
                        (true, false) => general_mat_mul(T::one(), &a.t(), b, T::zero(), c),
                        (false, true) => general_mat_mul(T::one(), a, &b.t(), T::zero(), c),
                        (true, true) => general_mat_mul(T::one(), &a.t(), &b.t(), T::zero(), c),
                    }
                }
            }
            t.elapsed().as_secs_f64()
        })
        .collect();
    flops / median(&mut times) / 1e9
}

/// A number after `"key":` in a script's JSON line (the last one).
pub fn json_number(text: &str, key: &str) -> f64 {
    let pat = format!("\"{key}\": ");
    text.rfind(&pat)
        .and_then(|i| {
            let rest = &text[i + pat.len()..];
            let end = rest.find([',', '}']).unwrap_or(rest.len());
            rest[..end].trim().parse().ok()
        })
        .unwrap_or(f64::NAN)
}

/// The processor's model name, from /proc/cpuinfo.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default()
}

pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Peak resident memory of this process (VmHWM), KiB.
pub fn peak_rss_kb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(f64::NAN)
}
