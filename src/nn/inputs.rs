//! The samples a run reads, in its precision, and what runs on the same samples share.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use ndarray::{ArrayView2, CowArray, Ix2};

use super::direct::PackedX;
use super::fusion::Fusable;
use super::gram::Gram;
use super::kernels::Real;

/// What runs on the same samples share, made by the first run that needs it: the samples in
/// f32 for f32 runs, and the Gram engine's `G = XᵀX` and `XᵀS` for each evaluated set S
/// (2·n²·d FLOPs, as much as 30 steps of an MNIST-small run, and 2 MB each). One per sweep:
/// entries are found by the address and shape of the samples, which must outlive it (the
/// lifetime says so).
#[derive(Default)]
pub struct SharedInputs<'a> {
    pub(super) f64: Mutex<Vec<(InputsKey, Arc<Inputs<'a, f64>>)>>,
    pub(super) f32: Mutex<Vec<(InputsKey, Arc<Inputs<'a, f32>>)>>,
}

impl SharedInputs<'_> {
    pub fn new() -> Self {
        Self::default()
    }
}

/// Address, shape and strides of every set of samples of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct InputsKey(Vec<usize>);

impl InputsKey {
    fn of(x: &ArrayView2<'_, f64>, evals: &[ArrayView2<'_, f64>]) -> InputsKey {
        let mut key = Vec::with_capacity(5 * (1 + evals.len()));
        for v in std::iter::once(x).chain(evals) {
            let s = v.strides();
            key.extend([
                v.as_ptr() as usize,
                v.nrows(),
                v.ncols(),
                s[0] as usize,
                s[1] as usize,
            ]);
        }
        InputsKey(key)
    }
}

/// A run's samples in its precision (borrowed in f64), and their Gram products once asked for.
pub(super) struct Inputs<'a, T> {
    pub x: CowArray<'a, T, Ix2>,
    /// The evaluated sets, in the order the run gave them.
    pub evals: Vec<CowArray<'a, T, Ix2>>,
    gram: OnceLock<(Gram<T>, Vec<Gram<T>>)>,
    /// The training samples packed for the direct engine's kernel, once asked for.
    packed_x: OnceLock<Option<PackedX<T>>>,
}

impl<T: Precise> Inputs<'_, T> {
    /// X and Xᵀ packed (`None` where there is no packed kernel).
    pub fn packed_x(&self) -> Option<&PackedX<T>> {
        self.packed_x
            .get_or_init(|| PackedX::new(self.x.view()))
            .as_ref()
    }

    /// `XᵀX` (packed) and `XᵀS` for each evaluated set S.
    pub fn gram(&self) -> &(Gram<T>, Vec<Gram<T>>) {
        self.gram.get_or_init(|| {
            let x = self.x.view();
            let train = Gram::of(x, x, true);
            let evals = self
                .evals
                .iter()
                .map(|s| Gram::of(x, s.view(), false))
                .collect();
            (train, evals)
        })
    }
}

/// The two precisions, with where their shared inputs live.
pub(super) trait Precise: Real + Fusable {
    fn cow(v: ArrayView2<'_, f64>) -> CowArray<'_, Self, Ix2>;
    #[allow(clippy::type_complexity)]
    fn slot<'c, 'a>(
        shared: &'c SharedInputs<'a>,
    ) -> &'c Mutex<Vec<(InputsKey, Arc<Inputs<'a, Self>>)>>;
}

impl Precise for f64 {
    fn cow(v: ArrayView2<'_, f64>) -> CowArray<'_, f64, Ix2> {
        CowArray::from(v)
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
    fn slot<'c, 'a>(
        shared: &'c SharedInputs<'a>,
    ) -> &'c Mutex<Vec<(InputsKey, Arc<Inputs<'a, f32>>)>> {
        &shared.f32
    }
}

/// The inputs of samples `x` and evaluated sets `evals`, from `shared` or made there.
pub(super) fn shared_inputs<'a, T: Precise>(
    shared: &SharedInputs<'a>,
    x: ArrayView2<'a, f64>,
    evals: &[ArrayView2<'a, f64>],
) -> Arc<Inputs<'a, T>> {
    let key = InputsKey::of(&x, evals);
    let mut slot = T::slot(shared)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some((_, inputs)) = slot.iter().find(|(k, _)| *k == key) {
        return Arc::clone(inputs);
    }
    let inputs = Arc::new(Inputs {
        x: T::cow(x),
        evals: evals.iter().map(|&s| T::cow(s)).collect(),
        gram: OnceLock::new(),
        packed_x: OnceLock::new(),
    });
    slot.push((key, Arc::clone(&inputs)));
    inputs
}
