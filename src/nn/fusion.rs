//! Runs fused: the runs of a sweep that train on the same packed samples step together, and
//! each step's first-layer products of all of them stream the samples once.
//!
//! With many samples and few hidden units, a first-layer product is bound by reading X (d×n)
//! from memory, not by arithmetic: 10 rows of W against 8 000 MNIST images read 25 MB (f32)
//! for 125 MFLOP. A group of runs (seeds and etas of one hidden size, say) reads it once per
//! step for all of them ([`Packed::mul_many`]), each chunk of X used by every run while it is
//! in cache.
//!
//! Each run keeps its own thread and its own step loop; at a product it hands its operands to
//! the group and waits. When every member still training has handed one, the last to arrive
//! computes all of them (one `mul_many` per packed matrix) and wakes the others. Members take
//! turns between products (one runs while the others wait), so that a group uses the one core
//! of the worker that started it, as a run alone would. A product's
//! rows never mix, and `mul_many` gives each job the bits `mul` gives it alone, so a run's
//! numbers do not depend on its group, nor on who computed them. A member leaves when its run
//! ends (finished, diverged, out of patience, abandoned, or panicked: its [`Membership`] is a
//! guard), and the others go on without it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};

use super::engine::Parallelism;
use super::packed::{Element, Job, Packed};
use super::recipe::Precision;

/// A group of runs stepping together; see the module doc. Made by whoever starts the runs
/// (the runner), with the number of members; each member's thread holds a [`Membership`].
pub struct FusedGroup {
    state: Mutex<State>,
    woken: Condvar,
}

impl std::fmt::Debug for FusedGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FusedGroup")
            .field("active", &self.lock().active)
            .finish()
    }
}

struct State {
    /// Members still training.
    active: usize,
    pending: Vec<Request>,
    /// Rounds of products computed so far: a member waits for the round it joined to end.
    round: u64,
    /// Whether a member is running its own part of a step: one at a time, so that a group
    /// takes the one core of the worker that started it, not one per member.
    busy: bool,
}

/// A member's product waiting for the others: `c ← a·G` with G `packed`.
pub(super) enum Request {
    F64(Operands<f64>),
    F32(Operands<f32>),
}

pub(super) struct Operands<T> {
    packed: *const Packed<T>,
    a: *const T,
    a_len: usize,
    c: *mut T,
    c_len: usize,
}

// SAFETY: the pointers come from a member that is blocked in `FusedGroup::product` until its
// round ends, borrowing `packed` and `a` shared and `c` exclusively for that whole time; the
// one thread computing the round is the only other one to touch them.
unsafe impl Send for Request {}

/// The element types a group computes in.
pub(super) trait Fusable: Element {
    fn request(operands: Operands<Self>) -> Request;
}

impl Fusable for f64 {
    fn request(operands: Operands<f64>) -> Request {
        Request::F64(operands)
    }
}

impl Fusable for f32 {
    fn request(operands: Operands<f32>) -> Request {
        Request::F32(operands)
    }
}

impl FusedGroup {
    /// A group of `members` runs, all of which will take part (each leaves when it ends).
    pub fn new(members: usize) -> FusedGroup {
        FusedGroup {
            state: Mutex::new(State {
                active: members,
                pending: Vec::new(),
                round: 0,
                busy: false,
            }),
            woken: Condvar::new(),
        }
    }

    /// A member's place, held by its thread while its run trains (see [`Membership`]).
    pub fn member(&self) -> Membership<'_> {
        Membership {
            group: self,
            entered: AtomicBool::new(false),
            left: AtomicBool::new(false),
        }
    }

    /// Waits for the group's turn (no other member running its part), then takes it.
    fn take_turn<'s>(
        &'s self,
        mut state: std::sync::MutexGuard<'s, State>,
    ) -> std::sync::MutexGuard<'s, State> {
        while state.busy {
            state = self
                .woken
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        state.busy = true;
        state
    }

    /// `c ← a·G` once every member still training has asked for its product of this round.
    pub(super) fn product<T: Fusable>(&self, packed: &Packed<T>, a: &[T], c: &mut [T]) {
        let request = T::request(Operands {
            packed,
            a: a.as_ptr(),
            a_len: a.len(),
            c: c.as_mut_ptr(),
            c_len: c.len(),
        });
        let mut state = self.lock();
        state.pending.push(request);
        let round = state.round;
        if state.pending.len() >= state.active {
            // The last to ask computes the round, and keeps the turn.
            self.compute(state);
            return;
        }
        // The turn goes to another member while this one waits for the round.
        state.busy = false;
        self.woken.notify_all();
        while state.round == round {
            state = self
                .woken
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        drop(self.take_turn(state));
    }

    /// A member stops taking part (`had_turn`: it was running, and gives the turn back).
    fn leave(&self, had_turn: bool) {
        let mut state = self.lock();
        state.active -= 1;
        if had_turn {
            state.busy = false;
            self.woken.notify_all();
        }
        if state.active > 0 && state.pending.len() >= state.active {
            self.compute(state);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Computes the round's products (the lock released: every member is waiting) and wakes
    /// their owners.
    fn compute(&self, mut state: std::sync::MutexGuard<'_, State>) {
        let pending = std::mem::take(&mut state.pending);
        drop(state);
        let (mut f64s, mut f32s) = (Vec::new(), Vec::new());
        for request in pending {
            match request {
                Request::F64(o) => f64s.push(o),
                Request::F32(o) => f32s.push(o),
            }
        }
        // SAFETY: see `Request`'s Send: every owner waits until `round` moves on, below.
        unsafe {
            compute_all(&f64s);
            compute_all(&f32s);
        }
        let mut state = self.lock();
        state.round += 1;
        drop(state);
        self.woken.notify_all();
    }
}

/// One `mul_many` per packed matrix among `requests`, in order of first appearance.
///
/// # Safety
/// Every request's pointers are valid as `Request` says, and no two requests share a `c`.
unsafe fn compute_all<T: Element>(requests: &[Operands<T>]) {
    let mut done = vec![false; requests.len()];
    for first in 0..requests.len() {
        if done[first] {
            continue;
        }
        let packed = requests[first].packed;
        let mut jobs = Vec::new();
        for (r, flag) in requests.iter().zip(done.iter_mut()) {
            if std::ptr::eq(r.packed, packed) {
                *flag = true;
                jobs.push(Job {
                    a: std::slice::from_raw_parts(r.a, r.a_len),
                    c: std::slice::from_raw_parts_mut(r.c, r.c_len),
                });
            }
        }
        (*packed).mul_many(&mut jobs, Parallelism::Sequential);
    }
}

/// A member's place in a [`FusedGroup`]. The run gives it up when its step loop ends (before
/// its last evaluations, which the others need not wait for); dropping it gives it up too (a
/// run that ended early, abandoned, or panicked), so that the others never wait for it.
pub struct Membership<'g> {
    pub(super) group: &'g FusedGroup,
    entered: AtomicBool,
    left: AtomicBool,
}

impl Membership<'_> {
    /// Waits for the group's turn: called by the member's thread before its run starts. From
    /// then on the member runs only while no other does (it gives the turn up while waiting
    /// for a product, and for good when it leaves).
    pub fn enter(&self) {
        let state = self.group.lock();
        drop(self.group.take_turn(state));
        self.entered.store(true, Ordering::SeqCst);
    }

    /// Leaves the group, once however often called.
    pub fn leave(&self) {
        if !self.left.swap(true, Ordering::SeqCst) {
            self.group.leave(self.entered.load(Ordering::SeqCst));
        }
    }
}

impl Drop for Membership<'_> {
    fn drop(&mut self) {
        self.leave();
    }
}

/// What runs must share to be fused (besides their samples, which the runner matches): the
/// precision, the training samples' count, and whether dropout adds a product to each step,
/// so that every member asks for the same products in the same order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FusionKey {
    pub(super) precision: Precision,
    pub(super) n_train: usize,
    pub(super) dropout: bool,
}

/// Rows of the first layer (hidden units) a group gathers at most: past that a step's products
/// are bound by arithmetic, not by reading X, and a group only ties its members' pace together.
pub const FUSED_ROWS: usize = 64;

/// `c ← a·G`: with the `group` when the run is fused, else alone.
pub(super) fn product<T: Fusable>(
    group: Option<&FusedGroup>,
    packed: &Packed<T>,
    a: &[T],
    c: &mut [T],
    parallelism: Parallelism,
) {
    match group {
        Some(group) => group.product(packed, a, c),
        None => packed.mul(a, c, parallelism),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// Three members asking for products in step: every round computes all three (the group
    /// counts one round per step), one runs at a time between products, one leaving early
    /// holds nobody up, and each gets the bits it gets alone.
    #[test]
    fn members_are_computed_together_and_get_their_bits_alone() {
        let (k, n) = (300, 70);
        let g = Array2::from_shape_fn((k, n), |(i, j)| ((i * 7 + j * 3) % 13) as f64 / 9.0 - 0.6);
        let Some(packed) = Packed::new(g.view()) else {
            eprintln!("SKIPPED: no AVX-512F here, no packed kernel (nothing is fused)");
            return;
        };
        let a: Vec<Array2<f64>> = (0..3)
            .map(|r| Array2::from_shape_fn((4 + r, k), |(i, j)| ((i + j * r) % 5) as f64 - 2.1))
            .collect();
        let alone: Vec<Vec<f64>> = a
            .iter()
            .map(|a| {
                let mut c = vec![0.0; a.nrows() * n];
                packed.mul(a.as_slice().unwrap(), &mut c, Parallelism::Sequential);
                c
            })
            .collect();
        let group = FusedGroup::new(3);
        let steps = [5, 2, 5];
        let running = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for (r, a) in a.iter().enumerate() {
                let (group, packed, alone) = (&group, &packed, &alone[r]);
                let member = group.member();
                let running = &running;
                s.spawn(move || {
                    member.enter();
                    for _ in 0..steps[r] {
                        // One member at a time runs its own part of a step.
                        assert_eq!(running.fetch_add(1, Ordering::SeqCst), 0);
                        std::thread::sleep(std::time::Duration::from_millis(2));
                        running.fetch_sub(1, Ordering::SeqCst);
                        let mut c = vec![f64::NAN; a.nrows() * n];
                        group.product(packed, a.as_slice().unwrap(), &mut c);
                        assert!(c
                            .iter()
                            .map(|v| v.to_bits())
                            .eq(alone.iter().map(|v| v.to_bits())));
                    }
                    drop(member);
                });
            }
        });
        assert_eq!(
            group.lock().round,
            5,
            "one round per step, every member in it"
        );
        assert_eq!(group.lock().active, 0);
        assert!(!group.lock().busy, "the turn was given back");
    }
}
