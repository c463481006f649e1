//! One training step on the lecture's shapes, per engine and precision, and the sigmoid kernel
//! against libm's `exp`. Generated data of the right shapes: the step's cost does not depend on
//! the values. `cargo bench --bench step`; the whole comparison with NumPy is `bench/compare.sh`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ndarray::linalg::general_mat_mul;
use ndarray::Array2;
use nnsweep::nn::kernels::activate;
use nnsweep::nn::{
    step_flops, step_for_bench, Activation, Cost, Engine, Init, Output, Precision, Recipe,
};

/// Pixel-like inputs in [0, 1] and labels cycling over the classes.
fn data(d: usize, n: usize, classes: usize) -> (Array2<f64>, Vec<u8>) {
    let x = Array2::from_shape_fn((d, n), |(i, j)| ((i * 31 + j * 17) % 256) as f64 / 255.0);
    let labels = (0..n).map(|j| (j % classes) as u8).collect();
    (x, labels)
}

fn steps(c: &mut Criterion) {
    nnsweep::blas::set_threads(1);
    let cases = [
        ("mnist-small 784-30-10 n500", vec![784, 30, 10], 500, 5e-4),
        ("circles 2-10-2 n400", vec![2, 10, 2], 400, 5e-3),
    ];
    let mut group = c.benchmark_group("step");
    for (name, sizes, n, eta) in cases {
        let (x, labels) = data(sizes[0], n, sizes[2]);
        for (engine, precision) in [
            (Engine::Direct, Precision::F64),
            (Engine::Gram, Precision::F64),
            (Engine::Gram, Precision::F32),
        ] {
            if sizes[0] < 10 && engine == Engine::Gram {
                continue;
            }
            let spec = Recipe::params(&sizes)
                .eta(eta)
                .steps(1000)
                .engine(engine)
                .precision(precision)
                .check(n, n)
                .expect("a valid recipe");
            group.throughput(Throughput::Elements(step_flops(&sizes, n, engine) as u64));
            let mut step = step_for_bench(&spec, &x, &labels);
            group.bench_function(format!("{name} {engine:?} {precision:?}"), |b| {
                b.iter(|| black_box(step()))
            });
        }
    }
    // The next lecture's network on MNIST-small (a full-batch step: what a mini-batch step
    // does on fewer columns).
    let (x, labels) = data(784, 500, 10);
    let spec = Recipe::params(&[784, 30, 10])
        .eta(1e-3)
        .steps(1000)
        .cost(Cost::CrossEntropy)
        .output(Output::Softmax)
        .activation(Activation::Tanh)
        .init(Init::Scaled)
        .check(500, 500)
        .expect("a valid recipe");
    let mut step = step_for_bench(&spec, &x, &labels);
    let name = format!(
        "mnist-small 784-30-10 n500 cross-entropy softmax tanh {:?}",
        spec.engine()
    );
    group.bench_function(name, |b| b.iter(|| black_box(step())));
    group.finish();
}

/// The products of one MNIST-small step alone, on the same shapes: the step's ceiling.
fn products(c: &mut Criterion) {
    nnsweep::blas::set_threads(1);
    let m = |r, c| Array2::<f64>::from_elem((r, c), 0.5);
    let (w1, x, w2, a1, d2, d1) = (
        m(30, 784),
        m(784, 500),
        m(10, 30),
        m(30, 500),
        m(10, 500),
        m(30, 500),
    );
    let (a, g) = (m(30, 500), m(500, 500));
    let (mut z1, mut z2, mut gw1, mut gw2) = (m(30, 500), m(10, 500), m(30, 784), m(10, 30));
    let mut group = c.benchmark_group("products");
    group.throughput(Throughput::Elements(
        step_flops(&[784, 30, 10], 500, Engine::Direct) as u64,
    ));
    group.bench_function("mnist-small direct shapes", |b| {
        b.iter(|| {
            general_mat_mul(1.0, &w1, &x, 0.0, &mut z1);
            general_mat_mul(1.0, &w2, &a1, 0.0, &mut z2);
            general_mat_mul(1.0, &w2.t(), &d2, 0.0, &mut z1);
            general_mat_mul(1.0, &d2, &a1.t(), 1.0, &mut gw2);
            general_mat_mul(1.0, &d1, &x.t(), 1.0, &mut gw1);
            black_box(z1[[0, 0]])
        })
    });
    group.throughput(Throughput::Elements(
        step_flops(&[784, 30, 10], 500, Engine::Gram) as u64,
    ));
    group.bench_function("mnist-small Gram shapes", |b| {
        b.iter(|| {
            general_mat_mul(1.0, &a, &g, 0.0, &mut z1);
            general_mat_mul(1.0, &w2, &a1, 0.0, &mut z2);
            general_mat_mul(1.0, &w2.t(), &d2, 0.0, &mut z1);
            general_mat_mul(1.0, &d2, &a1.t(), 1.0, &mut gw2);
            black_box(z1[[0, 0]])
        })
    });
    group.finish();
}

/// The 20 000 sigmoids of an MNIST-small step (30×500 hidden, 10×500 output).
fn sigmoid(c: &mut Criterion) {
    let z: Vec<f64> = (0..20_000).map(|i| (i % 200) as f64 * 0.1 - 10.0).collect();
    let bias = vec![0.1; 40];
    let mut group = c.benchmark_group("sigmoid 20000");
    group.bench_function("kernel (polynomial exp)", |b| {
        let mut buf = z.clone();
        b.iter(|| {
            buf.copy_from_slice(&z);
            activate(&mut buf, &bias, None);
            black_box(buf[7])
        })
    });
    group.bench_function("libm exp", |b| {
        let mut buf = z.clone();
        b.iter(|| {
            buf.copy_from_slice(&z);
            for (row, &b) in buf.chunks_exact_mut(500).zip(&bias) {
                for v in row {
                    *v = 1.0 / (1.0 + (-(*v + b)).exp());
                }
            }
            black_box(buf[7])
        })
    });
    let z32: Vec<f32> = z.iter().map(|&v| v as f32).collect();
    let bias32 = vec![0.1_f32; 40];
    group.bench_function("kernel f32", |b| {
        let mut buf = z32.clone();
        b.iter(|| {
            buf.copy_from_slice(&z32);
            activate(&mut buf, &bias32, None);
            black_box(buf[7])
        })
    });
    group.finish();
}

criterion_group!(benches, steps, products, sigmoid);
criterion_main!(benches);
