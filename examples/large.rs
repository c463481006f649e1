//! nnsweep against the lecture's algorithm in PyTorch on a large training set (issue 14):
//! the first 8 000 MNIST training images, 784-m-10, 200 full-batch steps.
//!
//!     bash bench/compare.sh            # sets up NumPy and PyTorch in a venv, then runs this
//!     cargo run --release --example large -- --python PATH [--repeats 3] [--sweep-repeats 1] [--quick]
//!
//! Times one run on one core for m = 10, 30, 100 in f64 and f32, nnsweep through `nn::train`
//! (engine auto) against `bench/lecture_torch.py run` (1 torch thread), interleaved round by
//! round (nnsweep, PyTorch, nnsweep, ...); and the 18-run sweep (hidden 10/30/100 × 2 etas × 3
//! seeds) on all cores: nnsweep's `runner::run_all` in a child process against PyTorch's vmap
//! ensemble (torch threads = all cores) and PyTorch under joblib (1 thread per run). Prints the
//! medians with CPU/wall (well below 1: another process had the core), each nnsweep run's
//! GFLOP/s against the single-core peak measured in the same run (the higher of nnsweep's BLAS
//! and PyTorch's MKL on a 2000³ product), the rate of the direct engine's first-layer products
//! at m = 10 with the bound that this core's read bandwidth sets on them, and the issue's
//! targets. Without PyTorch (no `--python`, or `import torch` fails there) its cells say
//! why they were not run. `--quick`: 20 steps, a 1000³ peak; for trying it.

mod bench_common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use bench_common::{
    blas_name, cpu_model, gemm_rate, json_number, loadavg, median, mnist_dir, mnist_split,
    peak_rss_kb, prescott_warning, thread_cpu,
};
use ndarray::Array2;
use nnsweep::data::Dataset;
use nnsweep::nn::{self, Engine, Precision, Recipe, TrainData};
use nnsweep::plan::RunSpec;
use nnsweep::runner::{self, Control};

const N_TRAIN: usize = 8_000;
const N_TEST: usize = 100;
const HIDDEN: [usize; 3] = [10, 30, 100];
/// Both learn at every hidden size within 200 steps (every run's best training accuracy above
/// 30 %: lowest 39 % nnsweep, 31 % PyTorch); 2e-3 stalls at m = 100 and larger ones diverge,
/// which would time saturated sigmoids (and f32 subnormals) instead of learning.
const SWEEP_ETAS: [f64; 2] = [5e-4, 1e-3];
const SWEEP_SEEDS: u64 = 3;
/// The single runs' learning rate.
const ETA: f64 = 1e-3;
const PRECISIONS: [Precision; 2] = [Precision::F64, Precision::F32];

struct Args {
    python: Option<PathBuf>,
    repeats: usize,
    sweep_repeats: usize,
    quick: bool,
    child_sweep: Option<(usize, Precision)>,
}

fn precision(name: &str) -> Option<Precision> {
    match name {
        "f64" => Some(Precision::F64),
        "f32" => Some(Precision::F32),
        _ => None,
    }
}

fn name(p: Precision) -> &'static str {
    match p {
        Precision::F64 => "f64",
        Precision::F32 => "f32",
    }
}

fn args() -> Args {
    let mut a = Args {
        python: None,
        repeats: 3,
        sweep_repeats: 1,
        quick: false,
        child_sweep: None,
    };
    let mut it = std::env::args().skip(1);
    let number = |v: Option<String>, what: &str| {
        v.and_then(|v| v.parse().ok()).unwrap_or_else(|| {
            eprintln!("{what} wants a number; see the doc at the top of examples/large.rs");
            std::process::exit(2)
        })
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--python" => a.python = it.next().map(PathBuf::from),
            "--repeats" => a.repeats = number(it.next(), "--repeats"),
            "--sweep-repeats" => a.sweep_repeats = number(it.next(), "--sweep-repeats"),
            "--quick" => a.quick = true,
            "--child-sweep" => {
                let threads = number(it.next(), "--child-sweep");
                let p = it.next().as_deref().and_then(precision);
                a.child_sweep = Some((threads, p.unwrap_or(Precision::F64)));
            }
            other => {
                eprintln!("unknown argument {other}; see the doc at the top of examples/large.rs");
                std::process::exit(2);
            }
        }
    }
    a
}

fn mnist_large() -> Dataset {
    Dataset {
        name: "mnist-8000".into(),
        n_classes: 10,
        train: mnist_split(
            "train-images-first10k-idx3-ubyte.gz",
            "train-labels-first10k-idx1-ubyte.gz",
            N_TRAIN,
        ),
        validation: None,
        test: mnist_split(
            "t10k-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz",
            N_TEST,
        ),
    }
}

fn recipe(
    data: &Dataset,
    hidden: usize,
    eta: f64,
    seed: u64,
    steps: usize,
    p: Precision,
) -> Recipe {
    Recipe::params(&[data.n_features(), hidden, data.n_classes])
        .eta(eta)
        .steps(steps)
        .seed(seed)
        .engine(Engine::Auto)
        .precision(p)
        .check(data.train.len(), data.test.len())
        .expect("a valid recipe")
}

/// GFLOP/s of the direct engine's first-layer products for `m` units on `x`: one call is one
/// forward `w1·X` and one gradient `δ1·Xᵀ` product, as the engine makes them (4·m·d·n FLOP).
fn first_layer_rate(x: &Array2<f64>, m: usize, p: Precision, calls: usize) -> f64 {
    let mut products = nn::first_layer_for_bench(x, m, p);
    products();
    let mut times: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..calls {
                products();
            }
            t.elapsed().as_secs_f64()
        })
        .collect();
    4.0 * (m * x.nrows() * x.ncols()) as f64 * calls as f64 / median(&mut times) / 1e9
}

/// This core's read bandwidth, GB/s, over `bytes` read again and again (512 MiB in all): the
/// median of 5 sums, eight independent accumulators so that the adds are not what limits it.
fn read_bandwidth(bytes: usize) -> f64 {
    let v = vec![1.0f64; bytes / 8];
    let passes = ((1usize << 29) / bytes).max(1);
    let mut times: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..passes {
                let acc = v.chunks_exact(8).fold([0.0f64; 8], |mut acc, c| {
                    for (a, x) in acc.iter_mut().zip(c) {
                        *a += x;
                    }
                    acc
                });
                std::hint::black_box(acc);
            }
            t.elapsed().as_secs_f64()
        })
        .collect();
    (v.len() * 8 * passes) as f64 / median(&mut times) / 1e9
}

/// One timed run through the library, as `nnsweep run` trains it: wall and CPU seconds and
/// the best training accuracy.
fn time_run(data: &Dataset, spec: &Recipe) -> (f64, f64, f64) {
    let train = TrainData {
        x: data.train.x.view(),
        labels: &data.train.labels,
        validation: None,
        test_x: data.test.x.view(),
        test_labels: &data.test.labels,
    };
    let (cpu, t) = (thread_cpu(), Instant::now());
    let out = nn::train(spec, train, &AtomicBool::new(false)).expect("not abandoned");
    (
        t.elapsed().as_secs_f64(),
        thread_cpu() - cpu,
        out.best_train_acc,
    )
}

fn sweep_runs(data: &Dataset, steps: usize, p: Precision) -> Vec<RunSpec> {
    let mut runs = Vec::new();
    for hidden in HIDDEN {
        for eta in SWEEP_ETAS {
            for seed in 0..SWEEP_SEEDS {
                runs.push(RunSpec {
                    index: runs.len(),
                    id: format!("h{hidden}_eta{eta}_seed{seed}"),
                    train_size: None,
                    augment: nnsweep::data::augment::Augment::None,
                    recipe: recipe(data, hidden, eta, seed, steps, p),
                });
            }
        }
    }
    runs
}

/// The sweep in a child process (so that its peak RSS is the sweep's own): one JSON line.
fn child_sweep(threads: usize, p: Precision, steps: usize) {
    let data = mnist_large();
    let runs = sweep_runs(&data, steps, p);
    let mut lowest = f64::INFINITY;
    let t = Instant::now();
    let tally = runner::run_all(&runs, &data, threads, &Control::default(), |f| {
        if let Ok(o) = &f.outcome {
            lowest = lowest.min(o.best_train_acc);
        }
    })
    .expect("creating the worker threads");
    let seconds = t.elapsed().as_secs_f64();
    println!(
        "{{\"seconds\": {seconds}, \"runs\": {}, \"rss_kb\": {}, \"min_best_train_acc\": {lowest}}}",
        tally.finished,
        peak_rss_kb()
    );
}

/// (seconds, peak RSS KiB, lowest best training accuracy) of nnsweep's sweep.
fn sweep(threads: usize, p: Precision, quick: bool) -> (f64, f64, f64) {
    let mut cmd = Command::new(std::env::current_exe().expect("own path"));
    cmd.args(["--child-sweep", &threads.to_string(), name(p)]);
    if quick {
        cmd.arg("--quick");
    }
    let out = cmd.output().expect("running the sweep");
    let text = String::from_utf8_lossy(&out.stdout);
    (
        json_number(&text, "seconds"),
        json_number(&text, "rss_kb"),
        json_number(&text, "min_best_train_acc"),
    )
}

/// Runs `bench/lecture_torch.py` with `args`: its stdout, or why it failed.
fn torch(python: &Path, args: &[String]) -> Result<String, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/lecture_torch.py");
    let out = Command::new(python)
        .arg(script)
        .args(args)
        .env("NNSWEEP_MNIST_DIR", mnist_dir())
        .output()
        .map_err(|e| format!("{}: {e}", python.display()))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(err.lines().last().unwrap_or("failed").trim().to_string())
    }
}

/// Median of the first field and of CPU/wall over the rounds: "s (cpu/wall)".
fn cell(v: &[(f64, f64, f64)]) -> (f64, String) {
    if v.is_empty() {
        return (f64::NAN, "not run".into());
    }
    let t = median(&mut v.iter().map(|x| x.0).collect::<Vec<_>>());
    let c = median(&mut v.iter().map(|x| x.1 / x.0).collect::<Vec<_>>());
    (t, format!("{t:.2} ({c:.2})"))
}

fn acc(v: &[(f64, f64, f64)]) -> String {
    if v.is_empty() {
        return "–".into();
    }
    format!(
        "{:.1} %",
        100.0 * median(&mut v.iter().map(|x| x.2).collect::<Vec<_>>())
    )
}

fn main() {
    nnsweep::blas::set_threads(1);
    let a = args();
    let steps = if a.quick { 20 } else { 200 };
    if let Some((threads, p)) = a.child_sweep {
        child_sweep(threads, p, steps);
        return;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let load_before = loadavg();
    let data = mnist_large();

    // PyTorch: there, importable, and which build; or why not.
    let torch_info = match &a.python {
        None => Err("no --python given".to_string()),
        Some(py) => torch(py, &["info".into()]),
    };
    if let Err(why) = &torch_info {
        eprintln!("PyTorch not run: {why}");
    }

    // The peak: nnsweep's BLAS on a large product, and PyTorch's (MKL) on the same; the
    // higher of the two is the machine's single-core peak the GFLOP/s are set against.
    let big = if a.quick { 1000 } else { 2000 };
    let blas64 = gemm_rate::<f64>(&[(big, big, big, false, false)], 3, 1);
    let blas32 = gemm_rate::<f32>(&[(big, big, big, false, false)], 3, 1);
    let (mkl64, mkl32) = match (&a.python, &torch_info) {
        (Some(py), Ok(_)) => torch(py, &["peak".into(), format!("--size={big}")]).map_or(
            (f64::NAN, f64::NAN),
            |out| {
                (
                    json_number(&out, "mm_f64_gflops"),
                    json_number(&out, "mm_f32_gflops"),
                )
            },
        ),
        _ => (f64::NAN, f64::NAN),
    };
    let (peak64, peak32) = (blas64.max(mkl64), blas32.max(mkl32));
    let calls = if a.quick { 5 } else { 20 };
    let first = PRECISIONS.map(|p| first_layer_rate(&data.train.x, HIDDEN[0], p, calls));
    // From memory (512 MiB), and over X's own size in f32 (which the L3 cache may hold).
    let x_bytes = data.n_features() * N_TRAIN * 4;
    let (from_memory, bandwidth) = (read_bandwidth(1 << 29), read_bandwidth(x_bytes));

    // [hidden][precision] → rounds of (wall, cpu, best train acc).
    let mut ours = vec![vec![Vec::new(); 2]; HIDDEN.len()];
    let mut theirs = vec![vec![Vec::new(); 2]; HIDDEN.len()];
    // [precision] → rounds of (seconds, rss or NaN, lowest accuracy).
    let mut sweeps = [Vec::new(), Vec::new()];
    let mut vmap = [Vec::new(), Vec::new()];
    let mut joblib = [Vec::new(), Vec::new()];
    let torch_args = |mode: &str, p: Precision, extra: Vec<String>| {
        let mut v = vec![
            mode.to_string(),
            format!("--dtype={}", name(p)),
            format!("--n={N_TRAIN}"),
            format!("--steps={steps}"),
        ];
        v.extend(extra);
        v
    };
    let run_torch = |args: Vec<String>| match (&a.python, &torch_info) {
        (Some(py), Ok(_)) => match torch(py, &args) {
            Ok(out) => Some(out),
            Err(why) => {
                eprintln!("PyTorch {}: {why}", args.join(" "));
                None
            }
        },
        _ => None,
    };
    for r in 0..a.repeats {
        eprintln!("round {} of {}, load {}", r + 1, a.repeats, loadavg());
        for (i, &hidden) in HIDDEN.iter().enumerate() {
            for (j, &p) in PRECISIONS.iter().enumerate() {
                let spec = recipe(&data, hidden, ETA, 0, steps, p);
                ours[i][j].push(time_run(&data, &spec));
                let extra = vec![format!("--hidden={hidden}"), format!("--eta={ETA}")];
                if let Some(out) = run_torch(torch_args("run", p, extra)) {
                    theirs[i][j].push((
                        json_number(&out, "seconds"),
                        json_number(&out, "cpu_seconds"),
                        json_number(&out, "best_train_acc"),
                    ));
                }
                eprintln!(
                    "  m = {hidden} {}: nnsweep {:.2} s, PyTorch {:.2} s",
                    name(p),
                    ours[i][j].last().map_or(f64::NAN, |v| v.0),
                    theirs[i][j].last().map_or(f64::NAN, |v| v.0)
                );
            }
        }
        if r >= a.sweep_repeats {
            continue;
        }
        for (j, &p) in PRECISIONS.iter().enumerate() {
            sweeps[j].push(sweep(cores, p, a.quick));
            let grid = vec![
                format!("--etas={}", SWEEP_ETAS.map(|e| e.to_string()).join(",")),
                format!("--seeds={SWEEP_SEEDS}"),
                format!("--hiddens={}", HIDDEN.map(|h| h.to_string()).join(",")),
                format!("--jobs={cores}"),
            ];
            for (variant, into) in [("vmap", &mut vmap[j]), ("joblib", &mut joblib[j])] {
                let mut extra = grid.clone();
                extra.push(format!("--variant={variant}"));
                if let Some(out) = run_torch(torch_args("sweep", p, extra)) {
                    into.push((
                        json_number(&out, "seconds"),
                        f64::NAN,
                        json_number(&out, "min_best_train_acc"),
                    ));
                }
            }
            eprintln!(
                "  sweep {}: nnsweep {:.1} s, vmap {:.1} s, joblib {:.1} s",
                name(p),
                sweeps[j].last().map_or(f64::NAN, |v| v.0),
                vmap[j].last().map_or(f64::NAN, |v| v.0),
                joblib[j].last().map_or(f64::NAN, |v| v.0)
            );
        }
    }

    // The tables.
    println!(
        "nnsweep vs the lecture's algorithm in PyTorch, n = {N_TRAIN} MNIST training images, 784-m-10, {steps} steps, eta {ETA}: medians of {} interleaved rounds{}",
        a.repeats,
        if a.quick { " (QUICK: 20 steps)" } else { "" }
    );
    println!(
        "machine: {}, {cores} cores; load average before {load_before}, after {}",
        cpu_model(),
        loadavg()
    );
    println!(
        "nnsweep BLAS: {}; elementwise path: {}",
        blas_name(),
        nn::kernels::vector_path()
    );
    match &torch_info {
        Ok(info) => println!("PyTorch: {}", info.trim()),
        Err(why) => println!("PyTorch: not run: {why}"),
    }
    println!(
        "single-core {big}³ product: nnsweep's BLAS dgemm {blas64:.1} GFLOP/s, sgemm {blas32:.1}; PyTorch (MKL) f64 {mkl64:.1}, f32 {mkl32:.1}; peak = the higher"
    );
    if let Some(warning) = prescott_warning() {
        println!("{warning}");
    }
    println!();
    println!("| hidden m | nnsweep f64 s (cpu/wall) | PyTorch f64 | ratio | nnsweep f32 | PyTorch f32 | ratio | nnsweep GFLOP/s (f32, f64) | % of peak (f32, f64) | best train acc f32, nnsweep / PyTorch |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    // [hidden][precision] ratio PyTorch / nnsweep.
    let mut ratios = vec![[f64::NAN; 2]; HIDDEN.len()];
    for (i, &hidden) in HIDDEN.iter().enumerate() {
        let sizes = [data.n_features(), hidden, data.n_classes];
        let engine = recipe(&data, hidden, ETA, 0, steps, Precision::F64).engine();
        let flops = nn::step_flops(&sizes, N_TRAIN, engine) * steps as f64;
        let mut row = format!("| {hidden} |");
        let mut rates = [0.0; 2];
        for j in 0..2 {
            let (t, ours_cell) = cell(&ours[i][j]);
            let (tt, theirs_cell) = cell(&theirs[i][j]);
            ratios[i][j] = tt / t;
            rates[j] = flops / t / 1e9;
            let ratio = if tt.is_nan() {
                "–".into()
            } else {
                format!("{:.2}×", tt / t)
            };
            row += &format!(" {ours_cell} | {theirs_cell} | {ratio} |");
        }
        println!(
            "{row} {:.1}, {:.1} | {:.0} %, {:.0} % | {} / {} |",
            rates[1],
            rates[0],
            100.0 * rates[1] / peak32,
            100.0 * rates[0] / peak64,
            acc(&ours[i][1]),
            acc(&theirs[i][1])
        );
    }
    if let Err(why) = &torch_info {
        println!("(PyTorch not run: {why})");
    }
    println!(
        "first-layer products at m = {} (w1·X and δ1·Xᵀ as the direct engine makes them, packed: {}): f32 {:.1} GFLOP/s = {:.0} % of peak, f64 {:.1} GFLOP/s = {:.0} %",
        HIDDEN[0],
        nn::packs_first_layer(data.n_features(), N_TRAIN),
        first[1],
        100.0 * first[1] / peak32,
        first[0],
        100.0 * first[0] / peak64
    );
    // Each product streams X (d×n) once from memory at 2·m FLOP per value of X: with X read
    // twice per call, the rate cannot pass 2·m·bandwidth / (bytes per value).
    let bound = |bytes: f64| 2.0 * HIDDEN[0] as f64 * bandwidth / bytes;
    println!(
        "memory: one core reads {from_memory:.1} GB/s from 512 MiB, {bandwidth:.1} GB/s over X's {} MB (f32); X read twice per call at that rate bounds the first layer at m = {} to {:.1} GFLOP/s f32 = {:.0} % of peak, {:.1} f64 = {:.0} %",
        x_bytes / 1_000_000,
        HIDDEN[0],
        bound(4.0),
        100.0 * bound(4.0) / peak32,
        bound(8.0),
        100.0 * bound(8.0) / peak64
    );
    let runs = HIDDEN.len() * SWEEP_ETAS.len() * SWEEP_SEEDS as usize;
    let med = |v: &[(f64, f64, f64)], k: usize| {
        median(&mut v.iter().map(|x| [x.0, x.1, x.2][k]).collect::<Vec<_>>())
    };
    println!();
    println!("| sweep: {runs} runs × {steps} steps, {cores} cores | f64 s | f32 s | nnsweep's speed-up f64 | f32 | lowest best train acc f64, f32 |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut sweep_ratios = [[f64::NAN; 2]; 2]; // [vmap, joblib][precision]
    let nn_s = [med(&sweeps[0], 0), med(&sweeps[1], 0)];
    for (k, (label, v)) in [
        (
            format!(
                "nnsweep runner, {cores} threads (peak RSS f64 {:.0} MiB, f32 {:.0} MiB)",
                med(&sweeps[0], 1) / 1024.0,
                med(&sweeps[1], 1) / 1024.0
            ),
            &sweeps,
        ),
        (format!("PyTorch vmap ensemble, {cores} threads"), &vmap),
        (
            format!("PyTorch + joblib, {cores} processes × 1 thread"),
            &joblib,
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let s = [med(&v[0], 0), med(&v[1], 0)];
        let cells = s.map(|s| {
            if s.is_nan() {
                "not run".to_string()
            } else {
                format!("{s:.1}")
            }
        });
        let speedup = if k == 0 {
            ["1.00×".to_string(), "1.00×".to_string()]
        } else {
            sweep_ratios[k - 1] = [s[0] / nn_s[0], s[1] / nn_s[1]];
            sweep_ratios[k - 1].map(|r| {
                if r.is_nan() {
                    "–".into()
                } else {
                    format!("{r:.2}×")
                }
            })
        };
        if v[0].is_empty() && v[1].is_empty() {
            println!("| {label} | not run | not run | | | |");
            continue;
        }
        println!(
            "| {label} | {} | {} | {} | {} | {:.1} %, {:.1} % |",
            cells[0],
            cells[1],
            speedup[0],
            speedup[1],
            100.0 * med(&v[0], 2),
            100.0 * med(&v[1], 2)
        );
    }
    println!();
    let verdict = |r: f64, target: f64| {
        if r.is_nan() {
            "not measured".to_string()
        } else if r >= target {
            format!("{r:.2}× met")
        } else {
            format!("{r:.2}× NOT met")
        }
    };
    let per_m = |j: usize, target: f64| {
        HIDDEN
            .iter()
            .zip(&ratios)
            .map(|(m, r)| format!("m = {m} {}", verdict(r[j], target)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "targets: one run f32 ≥ 1.3× PyTorch: {}; f64 ≥ 1.2×: {}; first layer at m = {} ≥ 80 % of peak: f32 {:.0} % {}, f64 {:.0} % {}; sweep ≥ 1.5× vmap f32: {}; ≥ 1.4× vmap f64: {}",
        per_m(1, 1.3),
        per_m(0, 1.2),
        HIDDEN[0],
        100.0 * first[1] / peak32,
        if first[1] >= 0.8 * peak32 { "met" } else { "NOT met" },
        100.0 * first[0] / peak64,
        if first[0] >= 0.8 * peak64 { "met" } else { "NOT met" },
        verdict(sweep_ratios[0][1], 1.5),
        verdict(sweep_ratios[0][0], 1.4)
    );
}
