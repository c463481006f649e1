//! The engine: the lecture's networks and their training. It knows nothing of TOML, CSV or
//! terminals; it takes arrays and returns numbers.

pub mod network;
pub mod train;

pub use network::{flops_per_step, n_params, Network};
pub use train::{train, Abandoned, CurvePoint, Outcome, TrainData, TrainSpec};
