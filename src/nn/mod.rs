//! The engine: the lecture's networks and their training. It knows nothing of TOML, CSV or
//! terminals; it takes arrays and returns numbers.

pub mod init;
pub mod kernels;
pub mod network;
mod packed;
pub mod train;

pub use init::WeightRng;
pub use network::{flops_per_step, n_params, Network};
pub use train::{
    step_flops, train, train_shared, Abandoned, CurvePoint, Engine, Outcome, Precision,
    SharedInputs, TrainData, TrainSpec,
};
