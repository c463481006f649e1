//! The engine: the lecture's networks and their training. It knows nothing of TOML, CSV or
//! terminals; it takes arrays and a checked [`Recipe`] and returns numbers.
//!
//! One file per concern: `recipe` (the checked recipe), `engine` (Direct / Gram and the choice,
//! how a run may use threads), `direct` and `gram` (each engine's first layer), `model` (the
//! network as an engine holds it), `backprop` (forward and backward passes), `select` (which
//! model is kept), `inputs` (samples shared by the runs of a sweep), `train` (the step loop),
//! `batches` (mini-batches), `functions` (the next lecture's cost, output, activation and
//! init), `kernels`, `passes` and `packed` (the vectorised inner loops), `fusion` (runs that
//! step together, sharing each step's pass over the samples), `network` (the f64 network),
//! `bench` (closures that time the engine's pieces).

mod backprop;
mod batches;
mod bench;
mod direct;
mod engine;
mod functions;
mod fusion;
mod gram;
pub mod init;
mod inputs;
pub mod kernels;
mod model;
pub mod network;
#[cfg(test)]
mod next_tests;
mod packed;
mod passes;
mod recipe;
mod select;
#[cfg(test)]
mod test_data;
pub mod train;

pub use backprop::cost_and_gradient;
pub use bench::{first_layer_for_bench, step_for_bench};
pub use direct::{packs_first_layer, PACKED_FROM};
pub use engine::{step_flops, Engine, Parallelism};
pub use functions::{Activation, Cost, Functions, Init, Output};
pub use fusion::{FusedGroup, FusionKey, Membership, FUSED_ROWS};
pub use init::WeightRng;
pub use inputs::SharedInputs;
pub use network::{flops_per_step, n_params, Network};
pub use passes::VectorPath;
pub use recipe::{Precision, Recipe, RecipeError, RecipeParams, Select};
pub use train::{train, train_with, Abandoned, Context, CurvePoint, Outcome, TrainData};
