//! Full-batch gradient descent with backpropagation, exactly as the lecture states it, keeping
//! a true copy of the best model by training accuracy.
//!
//! Every buffer is allocated once per run in a [`Workspace`]; the step loop allocates nothing.
//! Activations are stored, not pre-activations: σ'(z) = a(1 − a) needs only `a`.
//!
//! Two engines take the same steps. `Direct` keeps the first layer's weights `w1` (m×d).
//! `Gram` uses that gradient descent only ever adds `δ·Xᵀ` to them: `w1(t) = c(t)·w1(0) + A(t)·Xᵀ`
//! with A of size m×n and c the product of the L2 decays, so `w1·X = c·w1(0)·X + A·(XᵀX)`.
//! With `w1(0)·X` and `G = XᵀX` computed once, the first layer costs one m×n×n product per step
//! instead of two m×d×n ones: three times fewer FLOPs on MNIST-small (n = 500 < d = 784). The
//! arithmetic is the same; only the rounding differs (tests hold the two engines to 1e-8).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, ArrayView2, Axis, CowArray, Ix2, Zip};

use super::kernels::{activate, gram_first_layer, times_sigmoid_prime, Real};
use super::network::{flops_per_step, Network};
use super::packed::{Element, Packed};

/// How the first layer is computed; see the module doc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Engine {
    /// Whichever of the two takes fewer FLOPs over the run.
    #[default]
    Auto,
    Direct,
    Gram,
}

impl Engine {
    /// The engine `Auto` stands for with these sizes, `n` training and `n_test` test samples.
    pub fn resolve(self, sizes: &[usize], n: usize, n_test: usize, steps: usize) -> Engine {
        match self {
            Engine::Auto => {
                let (d, m) = (sizes[0] as f64, sizes[1] as f64);
                let (n, n_test, steps) = (n as f64, n_test as f64, steps as f64);
                let direct = steps * 4.0 * m * n * d;
                // Set-up: w1(0)·X and w1(0)·X_test per run, G and XᵀX_test (counted as if no
                // other run shared them).
                let setup = 2.0 * (m + n) * d * (n + n_test);
                let gram = steps * 2.0 * m * n * n + setup;
                if gram < direct {
                    Engine::Gram
                } else {
                    Engine::Direct
                }
            }
            engine => engine,
        }
    }
}

/// The floating-point type a run trains in. Models come out in f64 either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// The lecture's (NumPy's) precision.
    #[default]
    F64,
    /// Twice the BLAS rate; accuracies within a point or two of f64's on the lecture's data.
    F32,
}

/// FLOPs of one training step on `n` samples with a resolved engine: matrix products only,
/// a multiply-add counted as two.
pub fn step_flops(sizes: &[usize], n: usize, engine: Engine) -> f64 {
    let direct = flops_per_step(sizes, n);
    match engine {
        Engine::Gram => {
            let (d, m, n) = (sizes[0] as f64, sizes[1] as f64, n as f64);
            direct - 4.0 * m * n * d + 2.0 * m * n * n
        }
        Engine::Auto | Engine::Direct => direct,
    }
}

/// One training run's hyper-parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainSpec {
    /// Layer sizes, input first, output (number of classes) last.
    pub sizes: Vec<usize>,
    pub eta: f64,
    /// L2 penalty: each update is `w ← w − eta·(l2·w + ∂C/∂w)`; biases are not penalised.
    pub l2: f64,
    pub steps: usize,
    /// Seed of the initial weights.
    pub seed: u64,
    /// Record a learning-curve point every this many steps (and at steps 0 and the last); 0: none.
    pub log_every: usize,
    pub engine: Engine,
    pub precision: Precision,
}

/// The samples a run trains and is tested on, one per column.
#[derive(Debug, Clone, Copy)]
pub struct TrainData<'a> {
    pub x: ArrayView2<'a, f64>,
    pub labels: &'a [u8],
    pub test_x: ArrayView2<'a, f64>,
    pub test_labels: &'a [u8],
}

/// Accuracy and cost of the model after some step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurvePoint {
    pub step: usize,
    pub train_acc: f64,
    pub test_acc: f64,
    pub cost: f64,
}

/// What a finished run reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The step after which the best training accuracy was first reached (0: the initial weights).
    pub best_step: usize,
    pub best_train_acc: f64,
    /// Test accuracy of the best model.
    pub best_test_acc: f64,
    /// Figures of the model after the last step; NaN when the run diverged.
    pub final_train_acc: f64,
    pub final_test_acc: f64,
    pub final_cost: f64,
    /// The cost became NaN or infinite; training stopped there, the best model is kept.
    pub diverged: bool,
    pub curve: Vec<CurvePoint>,
    /// A true copy of the best model, not a reference to weights that kept changing.
    pub best: Network,
}

/// The run was told to stop before it finished (a shutdown past its grace time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("run abandoned before it finished")]
pub struct Abandoned;

/// What runs on the same samples share, made by the first run that needs it: the samples in
/// f32 for f32 runs, and the Gram engine's `G = XᵀX` and `XᵀX_test` (2·n²·d FLOPs, as much as
/// 30 steps of an MNIST-small run, and 2 MB each). One per sweep: entries are found by the
/// address and shape of the samples, which must outlive it (the lifetime says so).
#[derive(Default)]
pub struct SharedInputs<'a> {
    f64: Mutex<Vec<(InputsKey, Arc<Inputs<'a, f64>>)>>,
    f32: Mutex<Vec<(InputsKey, Arc<Inputs<'a, f32>>)>>,
}

impl SharedInputs<'_> {
    pub fn new() -> Self {
        Self::default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct InputsKey([usize; 10]);

impl InputsKey {
    fn of(data: &TrainData<'_>) -> InputsKey {
        let part = |v: &ArrayView2<'_, f64>| {
            let s = v.strides();
            [
                v.as_ptr() as usize,
                v.nrows(),
                v.ncols(),
                s[0] as usize,
                s[1] as usize,
            ]
        };
        let (a, b) = (part(&data.x), part(&data.test_x));
        InputsKey([a[0], a[1], a[2], a[3], a[4], b[0], b[1], b[2], b[3], b[4]])
    }
}

/// A run's samples in its precision (borrowed in f64), and their Gram products once asked for.
struct Inputs<'a, T> {
    x: CowArray<'a, T, Ix2>,
    test_x: CowArray<'a, T, Ix2>,
    gram: OnceLock<Gram<T>>,
}

/// The Gram engine's products of the samples.
struct Gram<T> {
    /// `XᵀX` (n×n), and packed for the kernel of `packed` where there is one.
    g: Array2<T>,
    packed: Option<Packed<T>>,
    /// `XᵀX_test` (n×n_test).
    h: Array2<T>,
}

impl<T: Precise> Inputs<'_, T> {
    fn gram(&self) -> &Gram<T> {
        self.gram.get_or_init(|| {
            let n = self.x.ncols();
            let mut g = Array2::zeros((n, n));
            general_mat_mul(T::one(), &self.x.t(), &self.x, T::zero(), &mut g);
            let mut h = Array2::zeros((n, self.test_x.ncols()));
            general_mat_mul(T::one(), &self.x.t(), &self.test_x, T::zero(), &mut h);
            Gram {
                packed: T::pack(&g),
                g,
                h,
            }
        })
    }
}

/// The two precisions, with where their shared inputs live.
trait Precise: Real + Element {
    fn cow(v: ArrayView2<'_, f64>) -> CowArray<'_, Self, Ix2>;
    /// `g` packed for [`Packed::mul`], where that kernel exists for this type and processor.
    fn pack(g: &Array2<Self>) -> Option<Packed<Self>>;
    #[allow(clippy::type_complexity)]
    fn slot<'c, 'a>(
        shared: &'c SharedInputs<'a>,
    ) -> &'c Mutex<Vec<(InputsKey, Arc<Inputs<'a, Self>>)>>;
}

impl Precise for f64 {
    fn cow(v: ArrayView2<'_, f64>) -> CowArray<'_, f64, Ix2> {
        CowArray::from(v)
    }
    fn pack(g: &Array2<f64>) -> Option<Packed<f64>> {
        Packed::new(g.view())
    }
    fn slot<'c, 'a>(
        shared: &'c SharedInputs<'a>,
    ) -> &'c Mutex<Vec<(InputsKey, Arc<Inputs<'a, f64>>)>> {
        &shared.f64
    }
}

impl Precise for f32 {
    fn cow(v: ArrayView2<'_, f64>) -> CowArray<'_, f32, Ix2> {
        CowArray::from(v.mapv(|x| x as f32))
    }
    fn pack(g: &Array2<f32>) -> Option<Packed<f32>> {
        Packed::new(g.view())
    }
    fn slot<'c, 'a>(
        shared: &'c SharedInputs<'a>,
    ) -> &'c Mutex<Vec<(InputsKey, Arc<Inputs<'a, f32>>)>> {
        &shared.f32
    }
}

fn shared_inputs<'a, T: Precise>(
    shared: &SharedInputs<'a>,
    data: &TrainData<'a>,
) -> Arc<Inputs<'a, T>> {
    let key = InputsKey::of(data);
    let mut slot = T::slot(shared)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some((_, inputs)) = slot.iter().find(|(k, _)| *k == key) {
        return Arc::clone(inputs);
    }
    let inputs = Arc::new(Inputs {
        x: T::cow(data.x),
        test_x: T::cow(data.test_x),
        gram: OnceLock::new(),
    });
    slot.push((key, Arc::clone(&inputs)));
    inputs
}

/// Trains one network. Checks `abandon` after every step, so a shutdown is never kept waiting.
pub fn train(
    spec: &TrainSpec,
    data: TrainData<'_>,
    abandon: &AtomicBool,
) -> Result<Outcome, Abandoned> {
    train_shared(spec, data, &SharedInputs::new(), abandon)
}

/// [`train`], with the products of the samples shared with the other runs of a sweep.
pub fn train_shared<'a>(
    spec: &TrainSpec,
    data: TrainData<'a>,
    shared: &SharedInputs<'a>,
    abandon: &AtomicBool,
) -> Result<Outcome, Abandoned> {
    train_with_final(spec, data, shared, abandon).map(|(outcome, _)| outcome)
}

/// The outcome, and the model after the last step (for comparing engines).
fn train_with_final<'a>(
    spec: &TrainSpec,
    data: TrainData<'a>,
    shared: &SharedInputs<'a>,
    abandon: &AtomicBool,
) -> Result<(Outcome, Network), Abandoned> {
    match spec.precision {
        Precision::F64 => train_in::<f64>(spec, data, shared, abandon),
        Precision::F32 => train_in::<f32>(spec, data, shared, abandon),
    }
}

fn train_in<'a, T: Precise>(
    spec: &TrainSpec,
    data: TrainData<'a>,
    shared: &SharedInputs<'a>,
    abandon: &AtomicBool,
) -> Result<(Outcome, Network), Abandoned> {
    let (n, n_test) = (data.x.ncols(), data.test_x.ncols());
    let engine = spec.engine.resolve(&spec.sizes, n, n_test, spec.steps);
    let inputs = shared_inputs::<T>(shared, &data);
    let init = Network::init(&spec.sizes, spec.seed);
    let mut net = Model::<T>::new(&init, engine, n);

    // w1(0)·X and w1(0)·X_test for the Gram engine.
    let projections = (engine == Engine::Gram).then(|| {
        let w0 = init.weights[0].mapv(T::from_f64);
        let mut p = Array2::zeros((w0.nrows(), n));
        general_mat_mul(T::one(), &w0, &inputs.x, T::zero(), &mut p);
        let mut q = Array2::zeros((w0.nrows(), n_test));
        general_mat_mul(T::one(), &w0, &inputs.test_x, T::zero(), &mut q);
        (p, q)
    });
    let (train_in, test_in) = match &projections {
        None => (
            FirstInput::Direct(inputs.x.view()),
            FirstInput::Direct(inputs.test_x.view()),
        ),
        Some((p, q)) => {
            let gram = inputs.gram();
            (
                FirstInput::Gram {
                    g: gram.g.view(),
                    packed: gram.packed.as_ref(),
                    p0: p.view(),
                },
                FirstInput::Gram {
                    g: gram.h.view(),
                    packed: None,
                    p0: q.view(),
                },
            )
        }
    };

    let mut best = net.clone();
    let mut work = Workspace::new(&spec.sizes, data.labels);
    let mut test_work = Workspace::new(&spec.sizes, data.test_labels);
    let test_accuracy = |net: &Model<T>, test_work: &mut Workspace<T>| {
        test_work.forward(net, test_in);
        test_work.evaluate().0
    };

    work.forward(&net, train_in);
    let (mut acc, mut cost) = work.evaluate();
    let (mut best_acc, mut best_step) = (acc, 0);
    let mut curve = Vec::new();
    let mut record = |step: usize, acc: f64, cost: f64, net: &Model<T>, tw: &mut Workspace<T>| {
        if spec.log_every > 0 && (step.is_multiple_of(spec.log_every) || step == spec.steps) {
            curve.push(CurvePoint {
                step,
                train_acc: acc,
                test_acc: test_accuracy(net, tw),
                cost,
            });
        }
    };
    record(0, acc, cost, &net, &mut test_work);

    let mut diverged = false;
    for step in 1..=spec.steps {
        if abandon.load(Ordering::Relaxed) {
            return Err(Abandoned);
        }
        work.backpropagate(&net);
        work.update(&mut net, train_in, spec.eta, spec.l2);
        work.forward(&net, train_in);
        (acc, cost) = work.evaluate();
        if !cost.is_finite() {
            diverged = true;
            break;
        }
        if acc > best_acc {
            best_acc = acc;
            best_step = step;
            best.copy_from(&net);
        }
        record(step, acc, cost, &net, &mut test_work);
    }

    let best_test_acc = test_accuracy(&best, &mut test_work);
    let (final_train_acc, final_test_acc, final_cost) = if diverged {
        (f64::NAN, f64::NAN, f64::NAN)
    } else {
        (acc, test_accuracy(&net, &mut test_work), cost)
    };
    let outcome = Outcome {
        best_step,
        best_train_acc: best_acc,
        best_test_acc,
        final_train_acc,
        final_test_acc,
        final_cost,
        diverged,
        curve,
        best: best.to_network(&init, data.x),
    };
    Ok((outcome, net.to_network(&init, data.x)))
}

/// One training step (backward, update, forward, accuracy) of a network on `x`, as a closure
/// for `benches/step.rs` to time; not part of the API.
#[doc(hidden)]
pub fn step_for_bench(spec: &TrainSpec, x: &Array2<f64>, labels: &[u8]) -> Box<dyn FnMut() -> f64> {
    match spec.precision {
        Precision::F64 => step_closure::<f64>(spec, x, labels),
        Precision::F32 => step_closure::<f32>(spec, x, labels),
    }
}

type BenchGram<T> = Option<(Array2<T>, Option<Packed<T>>, Array2<T>)>;

fn first_input<'v, T>(x: &'v Array2<T>, gram: &'v BenchGram<T>) -> FirstInput<'v, T> {
    match gram {
        None => FirstInput::Direct(x.view()),
        Some((g, packed, p)) => FirstInput::Gram {
            g: g.view(),
            packed: packed.as_ref(),
            p0: p.view(),
        },
    }
}

fn step_closure<T: Precise + 'static>(
    spec: &TrainSpec,
    x: &Array2<f64>,
    labels: &[u8],
) -> Box<dyn FnMut() -> f64> {
    let n = x.ncols();
    let engine = spec.engine.resolve(&spec.sizes, n, n, spec.steps);
    let x = x.mapv(T::from_f64);
    let labels = labels.to_vec();
    let init = Network::init(&spec.sizes, spec.seed);
    let mut net = Model::<T>::new(&init, engine, n);
    let gram = (engine == Engine::Gram).then(|| {
        let mut g = Array2::zeros((n, n));
        general_mat_mul(T::one(), &x.t(), &x, T::zero(), &mut g);
        let w0 = init.weights[0].mapv(T::from_f64);
        let mut p = Array2::zeros((w0.nrows(), n));
        general_mat_mul(T::one(), &w0, &x, T::zero(), &mut p);
        let packed = T::pack(&g);
        (g, packed, p)
    });
    let mut work = Workspace::new(&spec.sizes, &labels);
    let (eta, l2) = (spec.eta, spec.l2);
    work.forward(&net, first_input(&x, &gram));
    Box::new(move || {
        let input = first_input(&x, &gram);
        work.backpropagate(&net);
        work.update(&mut net, input, eta, l2);
        work.forward(&net, input);
        work.evaluate().1
    })
}

/// The quadratic cost and its gradient with respect to every weight and bias, for checking
/// backpropagation against finite differences (and for anyone who wants the gradient itself).
pub fn cost_and_gradient(
    net: &Network,
    x: ArrayView2<'_, f64>,
    labels: &[u8],
) -> (f64, Vec<Array2<f64>>, Vec<Array1<f64>>) {
    let sizes = net.sizes();
    let mut work = Workspace::new(&sizes, labels);
    let model = Model::direct(net);
    work.forward(&model, FirstInput::Direct(x));
    let (_, cost) = work.evaluate();
    work.backpropagate(&model);
    let grad_w = (0..net.weights.len())
        .map(|l| {
            let input = if l == 0 { x } else { work.acts[l - 1].view() };
            work.deltas[l].dot(&input.t())
        })
        .collect();
    let grad_b = work.deltas.iter().map(|d| d.sum_axis(Axis(1))).collect();
    (cost, grad_w, grad_b)
}

/// A network as the engines train it, in precision `T`.
#[derive(Debug, Clone)]
struct Model<T> {
    /// Direct engine: the first layer's weights. Gram engine: A (m×n), with w1 = c·w1(0) + A·Xᵀ.
    first: Array2<T>,
    /// The Gram engine's c: the product of the L2 decays so far.
    c: T,
    /// Weights of the layers after the first.
    rest: Vec<Array2<T>>,
    biases: Vec<Array1<T>>,
    /// Direct or Gram (never Auto).
    engine: Engine,
}

impl<T: Real> Model<T> {
    fn new(init: &Network, engine: Engine, n: usize) -> Model<T> {
        let mut model = Model::direct(init);
        if engine == Engine::Gram {
            model.first = Array2::zeros((init.weights[0].nrows(), n));
            model.engine = Engine::Gram;
        }
        model
    }

    fn direct(net: &Network) -> Model<T> {
        Model {
            first: net.weights[0].mapv(T::from_f64),
            c: T::one(),
            rest: net.weights[1..]
                .iter()
                .map(|w| w.mapv(T::from_f64))
                .collect(),
            biases: net.biases.iter().map(|b| b.mapv(T::from_f64)).collect(),
            engine: Engine::Direct,
        }
    }

    /// `self ← other` without allocating (shapes are equal).
    fn copy_from(&mut self, other: &Model<T>) {
        self.first.assign(&other.first);
        self.c = other.c;
        for (a, b) in self.rest.iter_mut().zip(&other.rest) {
            a.assign(b);
        }
        for (a, b) in self.biases.iter_mut().zip(&other.biases) {
            a.assign(b);
        }
    }

    /// The f64 network this model stands for; the Gram engine's w1 is `c·w1(0) + A·Xᵀ`.
    fn to_network(&self, init: &Network, x: ArrayView2<'_, f64>) -> Network {
        let first = match self.engine {
            Engine::Gram => {
                let mut w1 = init.weights[0].clone();
                let a = self.first.mapv(T::to_f64);
                general_mat_mul(1.0, &a, &x.t(), self.c.to_f64(), &mut w1);
                w1
            }
            Engine::Auto | Engine::Direct => self.first.mapv(T::to_f64),
        };
        let mut weights = vec![first];
        weights.extend(self.rest.iter().map(|w| w.mapv(T::to_f64)));
        Network {
            weights,
            biases: self.biases.iter().map(|b| b.mapv(T::to_f64)).collect(),
        }
    }
}

/// Where the first layer's products come from.
#[derive(Debug, Clone, Copy)]
enum FirstInput<'v, T> {
    /// The samples, d×n.
    Direct(ArrayView2<'v, T>),
    /// `g`: Xᵀ·samples (n_train×n), also `packed` where there is a kernel for it;
    /// `p0`: w1(0)·samples (m×n).
    Gram {
        g: ArrayView2<'v, T>,
        packed: Option<&'v Packed<T>>,
        p0: ArrayView2<'v, T>,
    },
}

/// Buffers for one network on one set of samples: the activations and deltas of every layer.
struct Workspace<T> {
    /// `acts[l]` is the output of layer `l` (`sizes[l+1] × n`).
    acts: Vec<Array2<T>>,
    /// `deltas[l]` is ∂C/∂z of layer `l`, same shape as `acts[l]` (for the Gram engine's first
    /// layer, `w2ᵀδ2` before σ': see `update`).
    deltas: Vec<Array2<T>>,
    /// `sums[l]`: the row sums of `deltas[l]`, the bias gradient, made in the pass that makes δ.
    sums: Vec<Array1<T>>,
    /// One-hot targets, like the outputs (classes × n), and each sample's class: in T, so that
    /// the passes over the outputs are all float and vectorise.
    targets: Array2<T>,
    classes: Vec<T>,
    /// Per sample: the largest output so far and its class, for `evaluate`.
    best: Vec<T>,
    arg: Vec<T>,
}

/// A workspace buffer as one slice (they are allocated in standard layout).
fn flat<T>(a: &Array2<T>) -> &[T] {
    a.as_slice().expect("workspace buffers are contiguous")
}

fn flat_mut<T>(a: &mut Array2<T>) -> &mut [T] {
    a.as_slice_mut().expect("workspace buffers are contiguous")
}

impl<T: Precise> Workspace<T> {
    fn new(sizes: &[usize], labels: &[u8]) -> Workspace<T> {
        let n = labels.len();
        let shapes = || sizes[1..].iter().map(|&m| Array2::zeros((m, n)));
        let k = *sizes.last().expect("at least two layers");
        Workspace {
            acts: shapes().collect(),
            deltas: shapes().collect(),
            sums: sizes[1..].iter().map(|&m| Array1::zeros(m)).collect(),
            targets: Array2::from_shape_fn((k, n), |(i, j)| {
                if usize::from(labels[j]) == i {
                    T::one()
                } else {
                    T::zero()
                }
            }),
            classes: labels.iter().map(|&l| T::from_f64(f64::from(l))).collect(),
            best: vec![T::zero(); n],
            arg: vec![T::zero(); n],
        }
    }

    fn forward(&mut self, net: &Model<T>, input: FirstInput<'_, T>) {
        let bias0 = net.biases[0].as_slice().expect("contiguous");
        let z0 = &mut self.acts[0];
        match input {
            FirstInput::Direct(x) => {
                general_mat_mul(T::one(), &net.first, &x, T::zero(), z0);
                activate(flat_mut(z0), bias0, None);
            }
            FirstInput::Gram { g, packed, p0 } => {
                match packed {
                    Some(packed) => packed.mul(flat(&net.first), flat_mut(z0)),
                    None => general_mat_mul(T::one(), &net.first, &g, T::zero(), z0),
                }
                let p0 = p0.to_slice().expect("projections are contiguous");
                activate(flat_mut(z0), bias0, Some((net.c, p0)));
            }
        }
        for l in 1..self.acts.len() {
            let (before, rest) = self.acts.split_at_mut(l);
            general_mat_mul(
                T::one(),
                &net.rest[l - 1],
                &before[l - 1],
                T::zero(),
                &mut rest[0],
            );
            activate(
                flat_mut(&mut rest[0]),
                net.biases[l].as_slice().expect("contiguous"),
                None,
            );
        }
    }

    /// Training accuracy (argmax, first index on ties) and quadratic cost ½ Σ (a − y)²,
    /// summed over samples, of the last forward pass. Row by row (the outputs are stored
    /// class-major), keeping each column's best so far, so that the passes vectorise.
    fn evaluate(&mut self) -> (f64, f64) {
        let out = flat(self.acts.last().expect("at least one layer"));
        let n = self.classes.len();
        let (best, arg) = (&mut self.best, &mut self.arg);
        let mut cost = 0.0;
        let rows = out
            .chunks_exact(n.max(1))
            .zip(flat(&self.targets).chunks_exact(n.max(1)));
        for (i, (row, y)) in rows.enumerate() {
            if i == 0 {
                best.copy_from_slice(row);
                arg.fill(T::zero());
            } else {
                let class = T::from_f64(i as f64);
                for ((b, k), &a) in best.iter_mut().zip(arg.iter_mut()).zip(row) {
                    let better = a > *b;
                    *b = if better { a } else { *b };
                    *k = if better { class } else { *k };
                }
            }
            let mut acc = [T::zero(); 8];
            let body = n / 8 * 8;
            for (a, y) in row[..body].chunks_exact(8).zip(y[..body].chunks_exact(8)) {
                for l in 0..8 {
                    let e = a[l] - y[l];
                    acc[l] = acc[l] + e * e;
                }
            }
            let mut sum: f64 = acc.iter().map(|v| v.to_f64()).sum();
            for (&a, &y) in row[body..].iter().zip(&y[body..]) {
                sum += ((a - y) * (a - y)).to_f64();
            }
            cost += sum;
        }
        let correct = arg
            .iter()
            .zip(&self.classes)
            .filter(|(k, c)| k == c)
            .count();
        (correct as f64 / n as f64, 0.5 * cost)
    }

    /// δ_M = (a_M − y) ∘ σ'(z_M); δ_l = (w_{l+1}ᵀ δ_{l+1}) ∘ σ'(z_l), with σ' = a(1 − a).
    fn backpropagate(&mut self, net: &Model<T>) {
        let last = self.acts.len() - 1;
        Zip::from(&mut self.deltas[last])
            .and(&self.acts[last])
            .and(&self.targets)
            .for_each(|d, &a, &y| *d = (a - y) * a * (T::one() - a));
        for (sum, row) in self.sums[last].iter_mut().zip(self.deltas[last].rows()) {
            *sum = row.sum();
        }
        for l in (0..last).rev() {
            let (lower, upper) = self.deltas.split_at_mut(l + 1);
            general_mat_mul(
                T::one(),
                &net.rest[l].t(),
                &upper[0],
                T::zero(),
                &mut lower[l],
            );
            // The Gram engine's first layer takes σ' in `update`, fused with A's update.
            if l > 0 || net.engine != Engine::Gram {
                let sums = self.sums[l].as_slice_mut().expect("contiguous");
                times_sigmoid_prime(flat_mut(&mut lower[l]), flat(&self.acts[l]), sums);
            }
        }
    }

    /// `w ← (1 − eta·l2)·w − eta·δ·inputᵀ` straight into the weights (BLAS's beta does the
    /// decay, so no gradient buffer is needed), and `b ← b − eta·Σ_cols δ`. The Gram engine's
    /// first layer: `A ← (1 − eta·l2)·A − eta·δ`, `c ← (1 − eta·l2)·c`.
    /// Runs after all deltas are computed, since they need the weights before the update.
    fn update(&mut self, net: &mut Model<T>, input: FirstInput<'_, T>, eta: f64, l2: f64) {
        let decay = T::from_f64(1.0 - eta * l2);
        let eta = T::from_f64(eta);
        match input {
            FirstInput::Direct(x) => {
                general_mat_mul(-eta, &self.deltas[0], &x.t(), decay, &mut net.first);
            }
            FirstInput::Gram { .. } => {
                let a = net.first.as_slice_mut().expect("contiguous");
                let sums = self.sums[0].as_slice_mut().expect("contiguous");
                let (g, act) = (flat_mut(&mut self.deltas[0]), flat(&self.acts[0]));
                gram_first_layer(a, g, act, decay, eta, sums);
                net.c = net.c * decay;
            }
        }
        for l in 1..self.deltas.len() {
            general_mat_mul(
                -eta,
                &self.deltas[l],
                &self.acts[l - 1].t(),
                decay,
                &mut net.rest[l - 1],
            );
        }
        for (b, sums) in net.biases.iter_mut().zip(&self.sums) {
            Zip::from(b).and(sums).for_each(|b, &s| *b = *b - eta * s);
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Uniform};

    fn random_data(d: usize, n: usize, classes: u8, seed: u64) -> (Array2<f64>, Vec<u8>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let u = Uniform::new(-1.0, 1.0).unwrap();
        let x = Array2::from_shape_simple_fn((d, n), || u.sample(&mut rng));
        let labels = (0..n).map(|j| (j % classes as usize) as u8).collect();
        (x, labels)
    }

    fn cost(net: &Network, x: &Array2<f64>, labels: &[u8]) -> f64 {
        cost_and_gradient(net, x.view(), labels).0
    }

    /// Central differences against backpropagation, on every weight and bias.
    fn check_gradient(sizes: &[usize]) {
        let (x, labels) = random_data(sizes[0], 7, *sizes.last().unwrap() as u8, 3);
        let mut net = Network::init(sizes, 5);
        for b in &mut net.biases {
            b.mapv_inplace(|_| 0.1);
        }
        let (_, grad_w, grad_b) = cost_and_gradient(&net, x.view(), &labels);
        let h = 1e-6;
        // Relative error of the whole gradient, ‖numeric − analytic‖ / (‖numeric‖ + ‖analytic‖):
        // per-entry ratios blow up on entries that are almost zero, where both are noise.
        let (mut diff2, mut numeric2, mut analytic2) = (0.0, 0.0, 0.0);
        let mut compare = |numeric: f64, analytic: f64| {
            diff2 += (numeric - analytic) * (numeric - analytic);
            numeric2 += numeric * numeric;
            analytic2 += analytic * analytic;
        };
        for l in 0..net.weights.len() {
            for idx in 0..net.weights[l].len() {
                let (r, c) = (idx / net.weights[l].ncols(), idx % net.weights[l].ncols());
                let mut plus = net.clone();
                plus.weights[l][[r, c]] += h;
                let mut minus = net.clone();
                minus.weights[l][[r, c]] -= h;
                let numeric = (cost(&plus, &x, &labels) - cost(&minus, &x, &labels)) / (2.0 * h);
                compare(numeric, grad_w[l][[r, c]]);
            }
            for (i, &analytic) in grad_b[l].iter().enumerate() {
                let mut plus = net.clone();
                plus.biases[l][i] += h;
                let mut minus = net.clone();
                minus.biases[l][i] -= h;
                let numeric = (cost(&plus, &x, &labels) - cost(&minus, &x, &labels)) / (2.0 * h);
                compare(numeric, analytic);
            }
        }
        let worst = diff2.sqrt() / (numeric2.sqrt() + analytic2.sqrt());
        assert!(worst < 1e-6, "worst relative error {worst}");
    }

    #[test]
    fn backprop_matches_finite_differences_with_one_hidden_layer() {
        check_gradient(&[4, 5, 3]);
    }

    #[test]
    fn backprop_matches_finite_differences_with_two_hidden_layers() {
        check_gradient(&[3, 6, 4, 2]);
    }

    fn spec(steps: usize, l2: f64) -> TrainSpec {
        TrainSpec {
            sizes: vec![2, 4, 2],
            eta: 0.05,
            l2,
            steps,
            seed: 11,
            log_every: 0,
            engine: Engine::Auto,
            precision: Precision::F64,
        }
    }

    #[test]
    fn one_step_is_one_gradient_descent_update() {
        let (x, labels) = random_data(2, 9, 2, 1);
        let never = AtomicBool::new(false);
        let data = TrainData {
            x: x.view(),
            labels: &labels,
            test_x: x.view(),
            test_labels: &labels,
        };
        for l2 in [0.0, 0.3] {
            let start = Network::init(&[2, 4, 2], 11);
            let (_, gw, gb) = cost_and_gradient(&start, x.view(), &labels);
            let mut expected = start.clone();
            for l in 0..2 {
                expected.weights[l] = &start.weights[l] * (1.0 - 0.05 * l2) - &gw[l] * 0.05;
                expected.biases[l] = &start.biases[l] - &gb[l] * 0.05;
            }
            // With the improvement check removed from the picture: train one step, then compare
            // the final model, which after one step is what the best-copy logic may or may not keep.
            let mut work = Workspace::new(&[2, 4, 2], &labels);
            let mut model = Model::<f64>::direct(&start);
            let input = FirstInput::Direct(x.view());
            work.forward(&model, input);
            work.backpropagate(&model);
            work.update(&mut model, input, 0.05, l2);
            let net = model.to_network(&start, x.view());
            for l in 0..2 {
                let diff = (&net.weights[l] - &expected.weights[l]).mapv(f64::abs);
                assert!(diff.iter().all(|&d| d < 1e-14), "layer {l}, l2 {l2}");
                let diff = (&net.biases[l] - &expected.biases[l]).mapv(f64::abs);
                assert!(diff.iter().all(|&d| d < 1e-14));
            }
            assert!(train(&spec(1, l2), data, &never).is_ok());
        }
    }

    #[test]
    fn the_best_model_is_a_true_copy_and_reproduces_its_accuracy() {
        let (x, labels) = random_data(2, 40, 2, 4);
        let (tx, tl) = random_data(2, 20, 2, 5);
        let data = TrainData {
            x: x.view(),
            labels: &labels,
            test_x: tx.view(),
            test_labels: &tl,
        };
        let mut s = spec(300, 0.0);
        s.eta = 0.5;
        let out = train(&s, data, &AtomicBool::new(false)).unwrap();
        let accuracy = |net: &Network, x: &Array2<f64>, l: &[u8]| {
            let p = net.predict(x.view());
            p.iter().zip(l).filter(|(a, b)| a == b).count() as f64 / l.len() as f64
        };
        assert_eq!(accuracy(&out.best, &x, &labels), out.best_train_acc);
        assert_eq!(accuracy(&out.best, &tx, &tl), out.best_test_acc);
        assert!(out.best_train_acc >= out.final_train_acc);
        // The lecture's shallow copy would make the best model the last one: ours must not be,
        // unless the last step happened to be the best.
        if out.best_step < s.steps {
            let final_net = {
                let mut again = s.clone();
                again.steps = out.best_step;
                train(&again, data, &AtomicBool::new(false)).unwrap()
            };
            assert_eq!(final_net.final_train_acc, out.best_train_acc);
        }
    }

    #[test]
    fn same_spec_same_result_and_curves_at_the_asked_steps() {
        let (x, labels) = random_data(2, 30, 2, 8);
        let data = TrainData {
            x: x.view(),
            labels: &labels,
            test_x: x.view(),
            test_labels: &labels,
        };
        let mut s = spec(25, 0.0);
        s.log_every = 10;
        let a = train(&s, data, &AtomicBool::new(false)).unwrap();
        let b = train(&s, data, &AtomicBool::new(false)).unwrap();
        assert_eq!(a, b);
        let steps: Vec<usize> = a.curve.iter().map(|p| p.step).collect();
        assert_eq!(steps, vec![0, 10, 20, 25]);
        assert_eq!(a.curve.last().unwrap().cost, a.final_cost);
    }

    #[test]
    fn a_diverging_run_is_flagged_and_keeps_its_best() {
        let (mut x, labels) = random_data(2, 10, 2, 2);
        x[[0, 0]] = f64::NAN;
        let data = TrainData {
            x: x.view(),
            labels: &labels,
            test_x: x.view(),
            test_labels: &labels,
        };
        let out = train(&spec(50, 0.0), data, &AtomicBool::new(false)).unwrap();
        assert!(out.diverged);
        assert!(out.final_cost.is_nan());
        assert!(out.best_train_acc.is_finite());
    }

    #[test]
    fn an_abandoned_run_stops() {
        let (x, labels) = random_data(2, 10, 2, 2);
        let data = TrainData {
            x: x.view(),
            labels: &labels,
            test_x: x.view(),
            test_labels: &labels,
        };
        assert_eq!(
            train(&spec(1_000_000, 0.0), data, &AtomicBool::new(true)),
            Err(Abandoned)
        );
    }

    /// Samples in [0, 1] labelled by a random linear rule: learnable, with more inputs than
    /// samples when `d > n`, the regime the Gram engine is for.
    fn linear_rule_data(d: usize, n: usize, classes: usize, seed: u64) -> (Array2<f64>, Vec<u8>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let u = Uniform::new(0.0, 1.0).unwrap();
        let x = Array2::from_shape_simple_fn((d, n), || u.sample(&mut rng));
        let mut rule = ChaCha8Rng::seed_from_u64(1000);
        let r = Array2::from_shape_simple_fn((classes, d), || u.sample(&mut rule) - 0.5);
        let labels = crate::nn::network::argmax_columns(r.dot(&x).view());
        (x, labels)
    }

    fn relative(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
        (a - b).mapv(|v| v * v).sum().sqrt() / b.mapv(|v| v * v).sum().sqrt()
    }

    #[test]
    fn both_engines_take_the_same_steps() {
        let (x, labels) = linear_rule_data(40, 24, 3, 1);
        let (tx, tl) = linear_rule_data(40, 10, 3, 2);
        let data = TrainData {
            x: x.view(),
            labels: &labels,
            test_x: tx.view(),
            test_labels: &tl,
        };
        assert_eq!(Engine::Auto.resolve(&[40, 8, 3], 24, 10, 100), Engine::Gram);
        assert_eq!(
            Engine::Auto.resolve(&[2, 8, 3], 24, 10, 100),
            Engine::Direct
        );
        for l2 in [0.0, 0.5] {
            let run = |engine| {
                let s = TrainSpec {
                    sizes: vec![40, 8, 3],
                    eta: 0.05,
                    l2,
                    steps: 100,
                    seed: 3,
                    log_every: 0,
                    engine,
                    precision: Precision::F64,
                };
                train_with_final(&s, data, &SharedInputs::new(), &AtomicBool::new(false)).unwrap()
            };
            let (direct, direct_net) = run(Engine::Direct);
            let (gram, gram_net) = run(Engine::Gram);
            let start = Network::init(&[40, 8, 3], 3);
            assert!(
                relative(&direct_net.weights[0], &start.weights[0]) > 1e-3,
                "it trained"
            );
            for l in 0..2 {
                let w = relative(&gram_net.weights[l], &direct_net.weights[l]);
                assert!(w < 1e-8, "l2 {l2}, layer {l}: weights differ by {w}");
                let b = (&gram_net.biases[l] - &direct_net.biases[l])
                    .mapv(f64::abs)
                    .sum()
                    / direct_net.biases[l].mapv(f64::abs).sum();
                assert!(b < 1e-8, "l2 {l2}, layer {l}: biases differ by {b}");
            }
            assert_eq!(gram.best_train_acc, direct.best_train_acc);
            assert_eq!(gram.final_test_acc, direct.final_test_acc);
        }
    }

    fn full_run(engine: Engine, precision: Precision) -> Outcome {
        let (x, labels) = linear_rule_data(150, 200, 4, 5);
        let (tx, tl) = linear_rule_data(150, 100, 4, 6);
        let data = TrainData {
            x: x.view(),
            labels: &labels,
            test_x: tx.view(),
            test_labels: &tl,
        };
        let s = TrainSpec {
            sizes: vec![150, 12, 4],
            eta: 0.01,
            l2: 0.0,
            steps: 1500,
            seed: 7,
            log_every: 500,
            engine,
            precision,
        };
        train(&s, data, &AtomicBool::new(false)).unwrap()
    }

    #[test]
    fn engines_and_precisions_agree_on_a_full_run() {
        let direct = full_run(Engine::Direct, Precision::F64);
        let gram = full_run(Engine::Gram, Precision::F64);
        let gram32 = full_run(Engine::Auto, Precision::F32);
        let direct32 = full_run(Engine::Direct, Precision::F32);
        assert!(
            direct.best_train_acc > 0.6,
            "it learns: {}",
            direct.best_train_acc
        );
        for (name, out, points) in [
            ("gram", &gram, 1.0),
            ("gram f32", &gram32, 2.0),
            ("direct f32", &direct32, 2.0),
        ] {
            for (a, b) in [
                (out.best_train_acc, direct.best_train_acc),
                (out.best_test_acc, direct.best_test_acc),
                (out.final_train_acc, direct.final_train_acc),
                (out.final_test_acc, direct.final_test_acc),
            ] {
                assert!((a - b).abs() * 100.0 <= points, "{name}: {a} vs {b}");
            }
        }
        assert_eq!(gram.curve.len(), direct.curve.len());
    }

    #[test]
    fn sharing_the_inputs_changes_no_number() {
        let (x, labels) = linear_rule_data(30, 20, 3, 8);
        let data = TrainData {
            x: x.view(),
            labels: &labels,
            test_x: x.view(),
            test_labels: &labels,
        };
        let shared = SharedInputs::new();
        for precision in [Precision::F64, Precision::F32] {
            let s = TrainSpec {
                sizes: vec![30, 5, 3],
                eta: 0.1,
                l2: 0.0,
                steps: 50,
                seed: 1,
                log_every: 10,
                engine: Engine::Gram,
                precision,
            };
            let never = AtomicBool::new(false);
            let alone = train(&s, data, &never).unwrap();
            let first = train_shared(&s, data, &shared, &never).unwrap();
            let again = train_shared(&s, data, &shared, &never).unwrap();
            assert_eq!(alone, first);
            assert_eq!(alone, again);
        }
        assert_eq!(shared.f64.lock().unwrap().len(), 1);
        assert_eq!(shared.f32.lock().unwrap().len(), 1);
    }
}
