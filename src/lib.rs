//! nnsweep: train grids of small fully connected sigmoid networks (the lecture's algorithm,
//! kept exact) in parallel, and tabulate how they overfit.
//!
//! Data flow, in one direction: `config` (TOML) → `plan` (runs) → `runner` trains each run with
//! `nn` on a shared `data::Dataset` → `results` (CSV rows) → `report` tables.
//! The engine (`nn`) knows nothing of TOML, CSV or terminals.

// Links the BLAS implementation that ndarray's `blas` feature calls into.
#[cfg(feature = "openblas")]
extern crate blas_src;

pub mod batch;
pub mod blas;
pub mod config;
pub mod data;
pub mod estimate;
pub mod exit;
pub mod layout;
pub mod memory;
pub mod model_file;
pub mod nn;
pub mod numpy_random;
pub mod plan;
pub mod plot;
pub mod report;
pub mod results;
pub mod runner;
pub mod signals;
pub mod sweep;
