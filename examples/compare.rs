//! nnsweep against the lecture's NumPy code, side by side in one run on one machine.
//!
//!     bash bench/compare.sh            # sets up NumPy in a venv, then runs this
//!     cargo run --release --example compare -- --python PATH [--repeats 3] [--quick]
//!
//! Times one run on one core (MNIST-small: 500/100 images, 784-30-10, eta 5e-4, 20 000 steps;
//! circles: 2-10-2, eta 5e-3, 10 000 steps) for each engine and precision, a sweep of 24
//! MNIST-small runs × 2 000 steps on one core and on all cores, the same work in
//! `bench/lecture_numpy.py` (with joblib for the sweep), and the single-core dgemm rate on large
//! and on the step's own shapes. Repeats are interleaved (nnsweep, NumPy, nnsweep, ...) so that
//! load from other processes falls on both alike; the table shows medians. Wall-clock seconds,
//! with CPU/wall beside them: well below 1 means another process took the core.
//!
//! MNIST comes from the IDX files in `$NNSWEEP_MNIST_DIR` (default /work/shared/data/mnist).

mod bench_common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use bench_common::{
    blas_name, cpu_model, gemm_rate, json_number, loadavg, median, mnist_dir, mnist_split,
    peak_rss_kb, prescott_warning, thread_cpu,
};
use nnsweep::data::synthetic::{self, Shape, SyntheticSpec};
use nnsweep::data::Dataset;
use nnsweep::nn::{self, Engine, Precision, Recipe, TrainData};
use nnsweep::plan::RunSpec;
use nnsweep::runner::{self, Control};

const SWEEP_ETAS: [f64; 3] = [5e-4, 1e-3, 2e-3];
const SWEEP_SEEDS: u64 = 8;

struct Args {
    python: Option<PathBuf>,
    repeats: usize,
    quick: bool,
    child_sweep: Option<usize>,
}

fn args() -> Args {
    let mut a = Args {
        python: None,
        repeats: 3,
        quick: false,
        child_sweep: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--python" => a.python = it.next().map(PathBuf::from),
            "--repeats" => a.repeats = it.next().and_then(|v| v.parse().ok()).unwrap_or(3),
            "--quick" => a.quick = true,
            "--child-sweep" => a.child_sweep = it.next().and_then(|v| v.parse().ok()),
            other => {
                eprintln!(
                    "unknown argument {other}; see the doc at the top of examples/compare.rs"
                );
                std::process::exit(2);
            }
        }
    }
    a
}

fn mnist_small() -> Dataset {
    Dataset {
        name: "mnist-small".into(),
        n_classes: 10,
        train: mnist_split(
            "train-images-first10k-idx3-ubyte.gz",
            "train-labels-first10k-idx1-ubyte.gz",
            500,
        ),
        validation: None,
        test: mnist_split(
            "t10k-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz",
            100,
        ),
    }
}

fn circles() -> Dataset {
    synthetic::generate(&SyntheticSpec {
        shape: Shape::Circles { factor: 0.8 },
        samples: 500,
        noise: 0.1,
        test_fraction: 0.2,
        seed: 0,
        rng: Default::default(),
        validation_fraction: None,
    })
}

struct Workload {
    label: &'static str,
    data: Dataset,
    hidden: usize,
    eta: f64,
    steps: usize,
    engine: Engine,
    precision: Precision,
    numpy: Option<&'static str>,
}

/// The checked recipe of a workload, its engine resolved.
fn recipe(w: &Workload) -> Recipe {
    Recipe::params(&[w.data.n_features(), w.hidden, w.data.n_classes])
        .eta(w.eta)
        .steps(w.steps)
        .engine(w.engine)
        .precision(w.precision)
        .check(w.data.train.len(), w.data.test.len())
        .expect("a valid recipe")
}

/// One timed run: wall and CPU seconds, and the outcome's best training accuracy.
fn time_run(w: &Workload) -> (f64, f64, f64) {
    let spec = recipe(w);
    let data = TrainData {
        x: w.data.train.x.view(),
        labels: &w.data.train.labels,
        validation: None,
        test_x: w.data.test.x.view(),
        test_labels: &w.data.test.labels,
    };
    let (cpu, t) = (thread_cpu(), Instant::now());
    let out = nn::train(&spec, data, &AtomicBool::new(false)).expect("not abandoned");
    (
        t.elapsed().as_secs_f64(),
        thread_cpu() - cpu,
        out.best_train_acc,
    )
}

fn numpy(python: &Path, args: &[String]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/lecture_numpy.py");
    let out = Command::new(python)
        .arg(script)
        .args(args)
        .env("OPENBLAS_NUM_THREADS", "1")
        .env("NNSWEEP_MNIST_DIR", mnist_dir())
        // Set on some machines for old OpenBLAS builds; they slow a current NumPy's own one.
        .env_remove("OPENBLAS_CORETYPE")
        .env_remove("OPENBLAS_L2_SIZE")
        .output()
        .expect("running the NumPy script");
    if !out.status.success() {
        panic!(
            "NumPy script failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn sweep_runs(data: &Dataset, steps: usize) -> Vec<RunSpec> {
    let mut runs = Vec::new();
    for eta in SWEEP_ETAS {
        for seed in 0..SWEEP_SEEDS {
            let recipe = Recipe::params(&[data.n_features(), 30, data.n_classes])
                .eta(eta)
                .steps(steps)
                .seed(seed)
                .check(data.train.len(), data.test.len())
                .expect("a valid recipe");
            runs.push(RunSpec {
                index: runs.len(),
                id: format!("h30_eta{eta}_seed{seed}"),
                train_size: None,
                augment: nnsweep::data::augment::Augment::None,
                recipe,
            });
        }
    }
    runs
}

/// In a child process, so that its peak RSS is the sweep's own.
fn child_sweep(threads: usize, steps: usize) {
    let data = mnist_small();
    let runs = sweep_runs(&data, steps);
    let t = Instant::now();
    let tally = runner::run_all(&runs, &data, threads, &Control::default(), |_| {})
        .expect("creating the worker threads");
    let seconds = t.elapsed().as_secs_f64();
    let rss_kb = peak_rss_kb();
    println!(
        "{{\"seconds\": {seconds}, \"runs\": {}, \"rss_kb\": {rss_kb}}}",
        tally.finished
    );
}

fn sweep(threads: usize, steps: usize, quick: bool) -> (f64, f64) {
    let mut cmd = Command::new(std::env::current_exe().expect("own path"));
    cmd.args(["--child-sweep", &threads.to_string()]);
    if quick {
        cmd.arg("--quick");
    }
    let out = cmd.output().expect("running the sweep");
    let text = String::from_utf8_lossy(&out.stdout);
    let _ = steps;
    (json_number(&text, "seconds"), json_number(&text, "rss_kb"))
}

fn main() {
    nnsweep::blas::set_threads(1);
    let a = args();
    let scale = if a.quick { 10 } else { 1 };
    let sweep_steps = 2_000 / scale;
    if let Some(threads) = a.child_sweep {
        child_sweep(threads, sweep_steps);
        return;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let load_before = loadavg();
    let (mnist, circ) = (mnist_small(), circles());

    // The peak: large products, then the step's own shapes.
    let big = if a.quick { 1000 } else { 2000 };
    let peak64 = gemm_rate::<f64>(&[(big, big, big, false, false)], 3, 1);
    let peak32 = gemm_rate::<f32>(&[(big, big, big, false, false)], 3, 1);
    // MNIST direct step: w1·X, w2·a1, w2ᵀ·δ2, δ2·a1ᵀ, δ1·Xᵀ.
    let direct_shapes = [
        (30, 784, 500, false, false),
        (10, 30, 500, false, false),
        (30, 10, 500, true, false),
        (10, 500, 30, false, true),
        (30, 500, 784, false, true),
    ];
    let gram_shapes = [
        (30, 500, 500, false, false),
        (10, 30, 500, false, false),
        (30, 10, 500, true, false),
        (10, 500, 30, false, true),
    ];
    let shapes64 = gemm_rate::<f64>(&direct_shapes, 5, 200 / scale);
    let gram64 = gemm_rate::<f64>(&gram_shapes, 5, 200 / scale);
    let gram32 = gemm_rate::<f32>(&gram_shapes, 5, 200 / scale);

    let mnist_steps = 20_000 / scale;
    let circles_steps = 10_000 / scale;
    let mk = |label, data: &Dataset, hidden, eta, steps, engine, precision, numpy| Workload {
        label,
        data: data.clone(),
        hidden,
        eta,
        steps,
        engine,
        precision,
        numpy,
    };
    let workloads = [
        mk(
            "MNIST-small f64, engine auto",
            &mnist,
            30,
            5e-4,
            mnist_steps,
            Engine::Auto,
            Precision::F64,
            Some("mnist"),
        ),
        mk(
            "MNIST-small f32, engine auto",
            &mnist,
            30,
            5e-4,
            mnist_steps,
            Engine::Auto,
            Precision::F32,
            None,
        ),
        mk(
            "MNIST-small f64, engine direct",
            &mnist,
            30,
            5e-4,
            mnist_steps,
            Engine::Direct,
            Precision::F64,
            None,
        ),
        mk(
            "circles f64",
            &circ,
            10,
            5e-3,
            circles_steps,
            Engine::Auto,
            Precision::F64,
            Some("circles"),
        ),
    ];

    let mut ours: Vec<Vec<(f64, f64, f64)>> = vec![Vec::new(); workloads.len()];
    let mut theirs: Vec<Vec<(f64, f64, f64)>> = vec![Vec::new(); workloads.len()];
    let mut sweeps: [Vec<(f64, f64)>; 2] = [Vec::new(), Vec::new()];
    let mut joblib: Vec<f64> = Vec::new();
    let mut numpy_blas = String::from("(NumPy not run)");
    for r in 0..a.repeats {
        eprintln!("round {} of {}, load {}", r + 1, a.repeats, loadavg());
        for (i, w) in workloads.iter().enumerate() {
            ours[i].push(time_run(w));
            if let (Some(py), Some(data)) = (&a.python, w.numpy) {
                let out = numpy(
                    py,
                    &[
                        "run".into(),
                        format!("--data={data}"),
                        format!("--steps={}", w.steps),
                        format!("--eta={}", w.eta),
                        format!("--hidden={}", w.hidden),
                    ],
                );
                if let Some(i) = out.find("\"blas\"") {
                    numpy_blas = out[i + 8..].trim().trim_end_matches('}').to_string();
                }
                theirs[i].push((
                    json_number(&out, "seconds"),
                    json_number(&out, "cpu_seconds"),
                    json_number(&out, "best_train_acc"),
                ));
            }
            eprintln!("  {}: {:.2} s", w.label, ours[i].last().unwrap().0);
        }
        sweeps[0].push(sweep(1, sweep_steps, a.quick));
        sweeps[1].push(sweep(cores, sweep_steps, a.quick));
        if let Some(py) = &a.python {
            let out = numpy(
                py,
                &[
                    "sweep".into(),
                    "--data=mnist".into(),
                    format!("--steps={sweep_steps}"),
                    format!("--jobs={cores}"),
                    format!("--etas={}", SWEEP_ETAS.map(|e| e.to_string()).join(",")),
                    format!("--seeds={SWEEP_SEEDS}"),
                ],
            );
            joblib.push(json_number(&out, "seconds"));
        }
    }

    // The table.
    let model = cpu_model();
    println!(
        "nnsweep vs the lecture's NumPy code: medians of {} interleaved rounds{}",
        a.repeats,
        if a.quick { " (QUICK: steps / 10)" } else { "" }
    );
    println!(
        "machine: {model}, {cores} cores; load average before {load_before}, after {}",
        loadavg()
    );
    println!(
        "nnsweep BLAS: {}; elementwise path: {}",
        blas_name(),
        nnsweep::nn::kernels::vector_path()
    );
    println!("NumPy BLAS: {numpy_blas}");
    println!("single-core peak: dgemm {big}³ {peak64:.1} GFLOP/s, sgemm {peak32:.1} GFLOP/s");
    if let Some(warning) = prescott_warning() {
        println!("{warning}");
    }
    println!("single-core dgemm on the step's shapes: direct {shapes64:.1} GFLOP/s, Gram {gram64:.1} GFLOP/s (sgemm {gram32:.1})");
    println!();
    println!("| one run, one core | engine | nnsweep s | cpu/wall | NumPy s | cpu/wall | speed-up | GFLOP/s | % of BLAS on its shapes | % of peak | best train acc nnsweep / NumPy |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut speedups = Vec::new();
    for (i, w) in workloads.iter().enumerate() {
        let mut wall: Vec<f64> = ours[i].iter().map(|v| v.0).collect();
        let mut cpu: Vec<f64> = ours[i].iter().map(|v| v.1 / v.0).collect();
        let t = median(&mut wall);
        let n = w.data.train.len();
        let sizes = [w.data.n_features(), w.hidden, w.data.n_classes];
        let engine = recipe(w).engine();
        let gflops = nn::step_flops(&sizes, n, engine) * w.steps as f64 / t / 1e9;
        let reference = match (engine, w.precision) {
            (Engine::Gram, Precision::F32) => gram32,
            (Engine::Gram, _) => gram64,
            (_, Precision::F32) => f64::NAN, // not measured: the f32 rows use the Gram engine
            _ => shapes64,
        };
        // Rows without a NumPy run of their own compare with NumPy's run on the same data.
        let np_runs = if theirs[i].is_empty() {
            theirs
                .iter()
                .zip(&workloads)
                .find(|(t, o)| !t.is_empty() && o.data.name == w.data.name)
                .map_or(&[][..], |(t, _)| &t[..])
        } else {
            &theirs[i][..]
        };
        let np_median = |f: &dyn Fn(&(f64, f64, f64)) -> f64| {
            median(&mut np_runs.iter().map(f).collect::<Vec<_>>())
        };
        let np = np_median(&|v| v.0);
        let acc = median(&mut ours[i].iter().map(|v| v.2).collect::<Vec<_>>());
        speedups.push(np / t);
        println!(
            "| {} | {:?} | {t:.3} | {:.2} | {np:.3} | {:.2} | {:.1}× | {gflops:.1} | {:.0} % | {:.0} % | {:.1} % / {:.1} % |",
            w.label,
            engine,
            median(&mut cpu),
            np_median(&|v| v.1 / v.0),
            np / t,
            100.0 * gflops / reference,
            100.0 * gflops
                / match w.precision {
                    Precision::F64 => peak64,
                    Precision::F32 => peak32,
                },
            100.0 * acc,
            100.0 * np_median(&|v| v.2),
        );
    }
    let mut s1: Vec<f64> = sweeps[0].iter().map(|v| v.0).collect();
    let mut s2: Vec<f64> = sweeps[1].iter().map(|v| v.0).collect();
    let mut rss: Vec<f64> = sweeps[1].iter().map(|v| v.1 / 1024.0).collect();
    let (s1, s2, rss) = (median(&mut s1), median(&mut s2), median(&mut rss));
    let jl = median(&mut joblib);
    let runs = SWEEP_ETAS.len() as f64 * SWEEP_SEEDS as f64;
    println!();
    println!("| sweep: 24 MNIST-small runs × {sweep_steps} steps | seconds | runs/min | vs 1 core | vs NumPy+joblib | peak RSS |");
    println!("|---|---:|---:|---:|---:|---:|");
    println!(
        "| nnsweep, 1 core | {s1:.2} | {:.0} | 1.00× | {:.1}× | |",
        60.0 * runs / s1,
        jl / s1
    );
    println!(
        "| nnsweep, {cores} cores | {s2:.2} | {:.0} | {:.2}× | {:.1}× | {rss:.0} MiB |",
        60.0 * runs / s2,
        s1 / s2,
        jl / s2
    );
    println!(
        "| NumPy + joblib, {cores} processes | {jl:.2} | {:.0} | | 1.0× | |",
        60.0 * runs / jl
    );
    println!();
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    println!("targets: MNIST f64 ≥ 3.5×: {:.1}× {}; f32 ≥ 6×: {:.1}× {}; circles ≥ 8×: {:.1}× {}; 2-core sweep ≥ 1.8× 1-core: {:.2}× {}; ≥ 4× NumPy+joblib: {:.1}× {}",
        speedups[0], verdict(speedups[0] >= 3.5),
        speedups[1], verdict(speedups[1] >= 6.0),
        speedups[3], verdict(speedups[3] >= 8.0),
        s1 / s2, verdict(s1 / s2 >= 1.8),
        jl / s2, verdict(jl / s2 >= 4.0));
}
