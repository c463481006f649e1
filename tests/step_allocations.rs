//! The step loop allocates nothing: a run of many steps makes exactly as many allocations as
//! a run of few (everything is allocated once, before the first step), for full batches and
//! mini-batches, both engines, the next lecture's functions and dropout.
//!
//! Counted by a global allocator of this test binary alone, per thread. The matrix products
//! go through OpenBLAS, which keeps its own buffers; ndarray hands products whose dimensions
//! are all 7 or less, and every product of a build without BLAS, to `matrixmultiply`, which
//! allocates a packing buffer per product. So the shapes here keep a dimension above 7 in
//! every product (the tail batch of 4 included), and a build without BLAS says it skipped.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::AtomicBool;

use ndarray::Array2;
use nnsweep::nn::{train, Activation, Cost, Engine, Init, Output, Recipe, TrainData};

struct Counting;

thread_local! {
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

fn note() {
    let _ = COUNT.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every method forwards to the system allocator unchanged; allocations are only
// counted, in a thread-local that allocates nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through this allocator, with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: as for `dealloc`; the caller's contract for `realloc` is passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn allocations(f: impl FnOnce()) -> usize {
    let before = COUNT.with(|c| c.get());
    f();
    COUNT.with(|c| c.get()) - before
}

#[test]
fn the_step_loop_allocates_nothing() {
    if !cfg!(feature = "openblas") {
        eprintln!("SKIPPED: built without OpenBLAS, whose products allocate nothing per call");
        return;
    }
    let (d, n) = (20, 34);
    let x = Array2::from_shape_fn((d, n), |(i, j)| ((i * 7 + j * 3) % 11) as f64 / 11.0);
    let labels: Vec<u8> = (0..n).map(|j| (j % 3) as u8).collect();
    let data = TrainData {
        x: x.view(),
        labels: &labels,
        validation: None,
        test_x: x.view(),
        test_labels: &labels,
    };
    let never = AtomicBool::new(false);
    for engine in [Engine::Direct, Engine::Gram] {
        for batch in [None, Some(10)] {
            for dropout in [0.0, 0.3] {
                let params = |steps| {
                    Recipe::params(&[d, 12, 3])
                        .eta(0.05)
                        .l2(0.01)
                        .steps(steps)
                        .seed(1)
                        .engine(engine)
                        .batch_size(batch)
                        .dropout(dropout)
                        .cost(Cost::CrossEntropy)
                        .output(Output::Softmax)
                        .activation(Activation::Tanh)
                        .init(Init::Scaled)
                        .check(n, n)
                        .unwrap()
                };
                let (few, many) = (params(10), params(400));
                // Once to warm up whatever the library initialises on first use.
                train(&few, data, &never).unwrap();
                let a = allocations(|| drop(train(&few, data, &never).unwrap()));
                let b = allocations(|| drop(train(&many, data, &never).unwrap()));
                assert_eq!(
                    a, b,
                    "{engine:?}, batch {batch:?}, dropout {dropout}: 10 steps allocate {a} \
                     times, 400 steps {b}"
                );
            }
        }
    }
}
