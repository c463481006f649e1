//! What a run needs in memory, computed before anything is allocated, and what the machine has.
//!
//! `plan` and `run` call [`check_runs`] after reading the config and the data's header and before
//! training: a sweep that cannot fit is refused (exit 2) naming the key and the figures,
//! instead of aborting mid-way. Every product is checked: a size that overflows `u64` is
//! "too big" too, never a wrapped number.
//!
//! The estimate follows the engine's buffers (`nn::train`): the network's weights several times
//! (the initial f64 ones, the training copy, the gradients, the best model kept), activations
//! and deltas for every training sample, the targets, activations for the test samples, a
//! converted copy of the data in f32, the Gram products (n×n and n×n_test) when that engine
//! applies, and X and Xᵀ packed when the direct engine's packed kernel does. It is an upper bound within a small factor, not an exact count.

use crate::config::Config;
use crate::data::{DataSource, Dataset};
use crate::nn::{Engine, Precision};
use crate::plan::RunSpec;

/// What a sweep needs: the largest run, the data, and the runs at once on `threads` threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepMemory {
    pub per_run: u64,
    pub data: u64,
    /// The data plus the largest runs that can be in flight at once.
    pub at_once: u64,
    pub threads: usize,
    pub available: Option<u64>,
}

/// Refuses generated data too big to hold, before generating it (`data.samples`).
pub fn check_source(config: &Config) -> Result<(), TooBig> {
    let DataSource::Synthetic(spec) = &config.data else {
        // File data: every reader checks its header against the bytes present.
        return Ok(());
    };
    let needed = data_bytes(2, spec.samples).unwrap_or(u64::MAX);
    let available = available();
    if needed > available.unwrap_or(u64::MAX) || needed == u64::MAX {
        return Err(TooBig {
            what: format!("{}: data.samples = {}", config.path.display(), spec.samples),
            needed,
            per: "for the data".into(),
            available,
            fix: "use fewer samples (the lecture uses 500)".into(),
        });
    }
    Ok(())
}

/// Checks that each run, and the runs in flight at once on `threads` threads, fit in the
/// memory this process may use; returns the figures for `plan` to print.
pub fn check_runs(
    config: &Config,
    runs: &[RunSpec],
    data: &Dataset,
    threads: usize,
) -> Result<SweepMemory, TooBig> {
    let d = data.n_features();
    let (n_all, n_test) = (data.train.len(), data.test.len());
    let data_b = data_bytes(d, n_all.saturating_add(n_test)).unwrap_or(u64::MAX);
    let available = available();
    let mut sizes: Vec<(u64, &RunSpec)> = runs
        .iter()
        .map(|r| {
            let b = run_bytes(
                r.layer_sizes(),
                r.n_train(n_all),
                n_test,
                r.recipe.engine(),
                r.recipe.precision(),
            );
            (b.unwrap_or(u64::MAX), r)
        })
        .collect();
    sizes.sort_by_key(|s| std::cmp::Reverse(s.0));
    let Some(&(per_run, biggest)) = sizes.first() else {
        return Ok(SweepMemory {
            per_run: 0,
            data: data_b,
            at_once: data_b,
            threads,
            available,
        });
    };
    let limit = available.unwrap_or(u64::MAX);
    let what = || {
        format!(
            "{}: grid.hidden = {:?} (run {}, {} training samples of {d} features)",
            config.path.display(),
            biggest.recipe.hidden(),
            biggest.id,
            biggest.n_train(n_all)
        )
    };
    if per_run == u64::MAX || per_run.saturating_add(data_b) > limit {
        return Err(TooBig {
            what: what(),
            needed: per_run,
            per: "per run".into(),
            available,
            fix: "use smaller hidden layers or fewer training samples (grid.train_size)".into(),
        });
    }
    let in_flight = threads.clamp(1, sizes.len());
    let at_once = sizes[..in_flight]
        .iter()
        .fold(data_b, |sum, (b, _)| sum.saturating_add(*b));
    if at_once > limit {
        let mut fits = 0;
        let mut sum = data_b;
        for (b, _) in &sizes {
            sum = sum.saturating_add(*b);
            if sum > limit {
                break;
            }
            fits += 1;
        }
        return Err(TooBig {
            what: what(),
            needed: at_once,
            per: format!("for {in_flight} runs at once, with the data"),
            available,
            fix: format!("train fewer at once: pass --threads {}", fits.max(1)),
        });
    }
    Ok(SweepMemory {
        per_run,
        data: data_b,
        at_once,
        threads: in_flight,
        available,
    })
}

/// The bytes of one run, or `None` when a product overflows (which is "too big" as well).
/// `engine` is the run's resolved engine ([`crate::nn::Recipe::engine`]: decided once, when the
/// plan is made); `Auto` counts as Direct.
pub fn run_bytes(
    sizes: &[usize],
    n_train: usize,
    n_test: usize,
    engine: Engine,
    precision: Precision,
) -> Option<u64> {
    let elem: u64 = match precision {
        Precision::F64 => 8,
        Precision::F32 => 4,
    };
    let (n, nt) = (n_train as u64, n_test as u64);
    let mut params: u64 = 0;
    let mut neurons: u64 = 0;
    for w in sizes.windows(2) {
        let (fan_in, m) = (w[0] as u64, w[1] as u64);
        params = params.checked_add(m.checked_mul(fan_in)?.checked_add(m)?)?;
        neurons = neurons.checked_add(m)?;
    }
    let d = *sizes.first()? as u64;
    let k = *sizes.last()? as u64;
    let weights = params.checked_mul(8 + elem + elem + 8)?;
    // Activations and deltas per layer and sample, the one-hot targets, the test activations.
    let train = neurons.checked_mul(n)?.checked_mul(2 * elem)?;
    let targets = k.checked_mul(n)?.checked_mul(elem)?;
    let test = neurons.checked_mul(nt)?.checked_mul(elem)?;
    let converted = match precision {
        Precision::F64 => 0,
        Precision::F32 => d.checked_mul(n.checked_add(nt)?)?.checked_mul(elem)?,
    };
    let gram = if sizes.len() > 2 && engine == Engine::Gram {
        let m1 = sizes[1] as u64;
        let nn = n.checked_mul(n)?.checked_mul(2)?; // XᵀX and its packed copy
        let cross = n.checked_mul(nt)?;
        let first = m1.checked_mul(n.checked_add(nt)?)?;
        nn.checked_add(cross)?
            .checked_add(first)?
            .checked_mul(elem)?
    } else {
        0
    };
    // X and Xᵀ packed for the direct engine's kernel (shared by the sweep; counted per run).
    let packed = if engine != Engine::Gram && crate::nn::packs_first_layer(d as usize, n_train) {
        d.checked_mul(n)?.checked_mul(2 * elem)?
    } else {
        0
    };
    [weights, train, targets, test, converted, gram, packed]
        .into_iter()
        .try_fold(0u64, u64::checked_add)
}

/// The bytes of a dataset of `n` samples of `d` features (f64) with one label byte each.
pub fn data_bytes(d: usize, n: usize) -> Option<u64> {
    (d as u64)
        .checked_mul(8)?
        .checked_add(1)?
        .checked_mul(n as u64)
}

/// Memory this process may use: the smallest of the memory available now, the cgroup's limit
/// and the address-space limit (`ulimit -v`); `None` when none of them can be read.
pub fn available() -> Option<u64> {
    let mut limits = Vec::new();
    if let Ok(text) = std::fs::read_to_string("/proc/meminfo") {
        let field = |name: &str| {
            text.lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
                .map(|kb| kb.saturating_mul(1024))
        };
        if let Some(b) = field("MemAvailable:").or_else(|| field("MemTotal:")) {
            limits.push(b);
        }
    }
    if let Ok(text) = std::fs::read_to_string("/sys/fs/cgroup/memory.max") {
        if let Ok(b) = text.trim().parse::<u64>() {
            limits.push(b);
        }
    }
    #[cfg(unix)]
    {
        let mut rl = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct we pass and reads nothing else.
        let ok = unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut rl) } == 0;
        if ok && rl.rlim_cur != libc::RLIM_INFINITY {
            #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 on every Unix
            limits.push(rl.rlim_cur as u64);
        }
    }
    limits.into_iter().min()
}

/// A sweep, a run or a dataset that does not fit in memory: the key to change and the figures.
#[derive(Debug, thiserror::Error)]
#[error("{what} needs {} {per}; {}. {fix}", human(*.needed), have(*.available))]
pub struct TooBig {
    /// The setting responsible, e.g. `grid.hidden = [1000000000]` (with the config's name).
    pub what: String,
    /// Bytes needed; `u64::MAX` when the size overflows.
    pub needed: u64,
    /// `"per run"`, `"for the data"`, `"for 8 runs at once"`.
    pub per: String,
    pub available: Option<u64>,
    /// What to do.
    pub fix: String,
}

impl crate::exit::ExitStatus for TooBig {
    fn exit_code(&self) -> u8 {
        crate::exit::BAD_INPUT
    }
}

fn have(available: Option<u64>) -> String {
    match available {
        Some(b) => format!("this machine has {} available", human(b)),
        None => "and the size overflows".into(),
    }
}

/// `16 GB`, `1.5 MB`, `more than 18 EB` for an overflow.
pub fn human(bytes: u64) -> String {
    if bytes == u64::MAX {
        return "more than 18 EB (the size overflows)".into();
    }
    let units = ["B", "KB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1000.0 && i + 1 < units.len() {
        v /= 1000.0;
        i += 1;
    }
    if i == 0 {
        format!("{bytes} B")
    } else if v < 10.0 {
        format!("{v:.1} {}", units[i])
    } else {
        format!("{v:.0} {}", units[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lecture_run_is_small_and_counts_its_buffers() {
        // 2-10-2 on 400 circles, f64: weights 52 params × 32 B, acts+deltas 12 × 400 × 16 B,
        // targets 2 × 400 × 8, test 12 × 100 × 8.
        let b = run_bytes(&[2, 10, 2], 400, 100, Engine::Direct, Precision::F64).unwrap();
        assert_eq!(b, 52 * 32 + 12 * 400 * 16 + 2 * 400 * 8 + 12 * 100 * 8);
        let gram = run_bytes(&[784, 30, 10], 500, 100, Engine::Gram, Precision::F64).unwrap();
        assert!(gram > 2 * 500 * 500 * 8, "{gram}");
    }

    #[test]
    fn overflowing_sizes_are_none_not_wrapped() {
        let huge = 1_000_000_000_000_000_000usize;
        assert_eq!(
            run_bytes(
                &[2, huge, huge, 2],
                400,
                100,
                Engine::Direct,
                Precision::F64
            ),
            None
        );
        assert_eq!(
            run_bytes(&[2, 10, 2], usize::MAX, 1, Engine::Direct, Precision::F64),
            None
        );
        let big = run_bytes(
            &[2, 1_000_000_000, 2],
            400,
            100,
            Engine::Direct,
            Precision::F64,
        );
        assert!(big.unwrap() > 6_000_000_000_000);
        assert_eq!(data_bytes(usize::MAX, 2), None);
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human(512), "512 B");
        assert_eq!(human(16_000_000_000), "16 GB");
        assert_eq!(human(1_500_000), "1.5 MB");
        assert!(human(u64::MAX).contains("overflows"));
        assert!(available().is_some());
    }
}
