//! Mini-batch gradient descent: the training samples reshuffled at each epoch and taken
//! `batch` at a time, one update per batch (the last batch of an epoch holds what is left).
//!
//! The order of epoch `e` is a Fisher–Yates shuffle of 0..n drawn from ChaCha8 keyed by the
//! run's seed (and a tag that keeps it apart from the weights' and dropout's streams), stream
//! number `e`: it depends on the run alone, never on threads, shards or the other runs. The
//! draw is written out here (a multiply-high of 64 random bits, no rejection: a bias below
//! n/2⁶⁴), so no library's choice of algorithm can change a run's numbers.
//!
//! Each batch's inputs are gathered into buffers made once per run: the batch's columns of X
//! for the direct engine, of G = XᵀX and of w1(0)·X for the Gram engine (whose update then
//! touches only the batch's columns of A). The step loop allocates nothing.

use ndarray::{Array2, ArrayView2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::backprop::Workspace;
use super::engine::{FirstInput, Parallelism};
use super::inputs::Precise;
use super::model::Model;
use super::recipe::Recipe;

/// Where a batch's first-layer inputs are gathered from: the training samples (d×n), or the
/// Gram engine's G (n×n) and w1(0)·X (m×n).
#[derive(Clone, Copy)]
pub(super) enum Source<'v, T> {
    Direct(ArrayView2<'v, T>),
    Gram {
        g: ArrayView2<'v, T>,
        p0: ArrayView2<'v, T>,
    },
}

/// One batch size's buffers: the batch's sample indices, gathered inputs and passes.
struct Buffers<T> {
    idx: Vec<usize>,
    /// The batch's columns of X (direct) or of G (Gram).
    x: Array2<T>,
    /// The batch's columns of w1(0)·X (Gram only).
    p0: Option<Array2<T>>,
    work: Workspace<T>,
}

/// A run's mini-batches and their buffers.
pub(super) struct Batches<T> {
    order: Vec<usize>,
    batch: usize,
    per_epoch: usize,
    seed: u64,
    full: Buffers<T>,
    /// The last batch of an epoch when `batch` does not divide n.
    tail: Option<Buffers<T>>,
}

impl<T: Precise> Batches<T> {
    pub fn new(
        recipe: &Recipe,
        source: Source<'_, T>,
        labels: &[u8],
        parallelism: Parallelism,
    ) -> Batches<T> {
        let (n, batch) = (recipe.n_train(), recipe.batch());
        let buffers = |size: usize| {
            let rows = match source {
                Source::Direct(x) => x.nrows(),
                Source::Gram { g, .. } => g.nrows(),
            };
            let p0 = match source {
                Source::Direct(_) => None,
                Source::Gram { p0, .. } => Some(Array2::zeros((p0.nrows(), size))),
            };
            let mut work = Workspace::new(recipe.sizes(), &labels[..size], parallelism)
                .with_functions(recipe.functions(), recipe.cost());
            if recipe.dropout() > 0.0 {
                work = work.with_dropout();
            }
            Buffers {
                idx: vec![0; size],
                x: Array2::zeros((rows, size)),
                p0,
                work,
            }
        };
        Batches {
            order: (0..n).collect(),
            batch,
            per_epoch: n.div_ceil(batch),
            seed: recipe.seed(),
            full: buffers(batch),
            tail: (!n.is_multiple_of(batch)).then(|| buffers(n % batch)),
        }
    }

    /// Update `step` (from 1): the next batch's forward pass, backpropagation and update.
    pub fn step(
        &mut self,
        step: usize,
        net: &mut Model<T>,
        source: Source<'_, T>,
        labels: &[u8],
        recipe: &Recipe,
    ) {
        let (epoch, k) = ((step - 1) / self.per_epoch, (step - 1) % self.per_epoch);
        if k == 0 {
            shuffle(&mut self.order, self.seed, epoch as u64);
        }
        let start = k * self.batch;
        let end = (start + self.batch).min(self.order.len());
        let buf = if end - start == self.batch {
            &mut self.full
        } else {
            self.tail
                .as_mut()
                .expect("a tail batch when batch does not divide n")
        };
        buf.idx.copy_from_slice(&self.order[start..end]);
        let Buffers { idx, x, p0, work } = buf;
        let input = match source {
            Source::Direct(all) => {
                gather(all, idx, x);
                FirstInput::Direct(x.view())
            }
            Source::Gram { g, p0: all_p0 } => {
                let p0 = p0.as_mut().expect("Gram buffers");
                gather(g, idx, x);
                gather(all_p0, idx, p0);
                FirstInput::Gram {
                    g: x.view(),
                    packed: None,
                    p0: p0.view(),
                    cols: Some(idx),
                }
            }
        };
        work.set_labels(idx.iter().map(|&i| labels[i]));
        if recipe.dropout() > 0.0 {
            let mut rng = super::train::dropout_stream(recipe.seed(), step);
            work.draw_masks(recipe.dropout(), &mut rng);
            work.forward_masked(net, input);
        } else {
            work.forward(net, input);
        }
        work.backpropagate(net);
        work.update(net, input, recipe.eta(), recipe.l2());
    }
}

/// `out[:, j] ← all[:, idx[j]]`, row by row.
fn gather<T: Copy>(all: ArrayView2<'_, T>, idx: &[usize], out: &mut Array2<T>) {
    for (mut row, from) in out.rows_mut().into_iter().zip(all.rows()) {
        for (o, &i) in row.iter_mut().zip(idx) {
            *o = from[i];
        }
    }
}

/// The batch order stream of a run's epoch; see the module doc.
fn batch_stream(seed: u64, epoch: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(b"batches!");
    let mut rng = ChaCha8Rng::from_seed(key);
    rng.set_stream(epoch);
    rng
}

/// `order ← ` epoch `epoch`'s permutation of 0..n (from the identity, so that it depends on
/// the seed and the epoch only).
pub(super) fn shuffle(order: &mut [usize], seed: u64, epoch: u64) {
    let mut rng = batch_stream(seed, epoch);
    for (i, o) in order.iter_mut().enumerate() {
        *o = i;
    }
    for i in (1..order.len()).rev() {
        let j = ((u128::from(rng.next_u64()) * (i as u128 + 1)) >> 64) as usize;
        order.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_epoch_is_a_permutation_fixed_by_the_seed_and_the_epoch() {
        let mut a = vec![0; 50];
        let mut b = vec![0; 50];
        shuffle(&mut a, 3, 7);
        shuffle(&mut b, 3, 7);
        assert_eq!(a, b);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        assert_ne!(a, (0..50).collect::<Vec<_>>());
        shuffle(&mut b, 3, 8);
        assert_ne!(a, b, "another epoch, another order");
        shuffle(&mut b, 4, 7);
        assert_ne!(a, b, "another seed, another order");
        // The first place takes every value about equally often.
        let mut counts = [0usize; 5];
        let mut o = vec![0; 5];
        for epoch in 0..5000 {
            shuffle(&mut o, 1, epoch);
            counts[o[0]] += 1;
        }
        assert!(
            counts.iter().all(|&c| (850..1150).contains(&c)),
            "{counts:?}"
        );
    }
}
