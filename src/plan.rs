//! From a validated config to the list of runs: every combination of the grid's axes, in a
//! fixed order, each with an id made of its parameters.
//!
//! Ids depend only on a run's own parameters, never on its position in the grid, so adding a
//! seed or an eta to a sweep keeps the ids of the runs already done (resume and merged shards
//! rely on that).

use crate::config::Config;
use crate::nn::{flops_per_step, n_params, TrainSpec};

/// One network to train: a point of the grid.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    /// Position in the expanded grid (the order runs are listed and sharded in).
    pub index: usize,
    pub id: String,
    pub hidden: Vec<usize>,
    pub eta: f64,
    pub l2: f64,
    pub steps: usize,
    /// Train on the first `n` training samples only; `None`: all of them.
    pub train_size: Option<usize>,
    pub seed: u64,
}

impl RunSpec {
    /// Hidden sizes as the CSV shows them: "30", "30x30".
    pub fn hidden_label(&self) -> String {
        hidden_label(&self.hidden)
    }

    /// Layer sizes from input to output.
    pub fn layer_sizes(&self, n_features: usize, n_classes: usize) -> Vec<usize> {
        let mut sizes = Vec::with_capacity(self.hidden.len() + 2);
        sizes.push(n_features);
        sizes.extend(&self.hidden);
        sizes.push(n_classes);
        sizes
    }

    /// What the engine needs to train this run.
    pub fn train_spec(&self, n_features: usize, n_classes: usize, log_every: usize) -> TrainSpec {
        TrainSpec {
            sizes: self.layer_sizes(n_features, n_classes),
            eta: self.eta,
            l2: self.l2,
            steps: self.steps,
            seed: self.seed,
            log_every,
        }
    }

    /// Number of training samples this run uses out of `available`.
    pub fn n_train(&self, available: usize) -> usize {
        self.train_size.map_or(available, |n| n.min(available))
    }

    /// Number of weights and biases.
    pub fn n_params(&self, n_features: usize, n_classes: usize) -> usize {
        n_params(&self.layer_sizes(n_features, n_classes))
    }

    /// Floating-point operations of the whole run's training steps.
    pub fn flops(&self, n_features: usize, n_classes: usize, n_train: usize) -> f64 {
        let sizes = self.layer_sizes(n_features, n_classes);
        flops_per_step(&sizes, self.n_train(n_train)) * self.steps as f64
    }
}

/// "30", "30x30".
pub fn hidden_label(hidden: &[usize]) -> String {
    hidden
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join("x")
}

/// Every run of the grid, hidden sizes outermost and seeds innermost, so that the runs of one
/// table cell are neighbours in the results file.
pub fn expand(config: &Config) -> Vec<RunSpec> {
    let grid = &config.grid;
    let steps = grid
        .steps
        .clone()
        .unwrap_or_else(|| vec![config.train.steps]);
    let l2s = grid.l2.clone().unwrap_or_else(|| vec![config.train.l2]);
    let sizes: Vec<Option<usize>> = match &grid.train_size {
        Some(sizes) => sizes.iter().copied().map(Some).collect(),
        None => vec![None],
    };
    let mut runs = Vec::new();
    for hidden in &grid.hidden {
        for &eta in &grid.eta {
            for &l2 in &l2s {
                for &steps in &steps {
                    for &train_size in &sizes {
                        for &seed in &grid.seed {
                            let mut run = RunSpec {
                                index: runs.len(),
                                id: String::new(),
                                hidden: hidden.clone(),
                                eta,
                                l2,
                                steps,
                                train_size,
                                seed,
                            };
                            run.id = run_id(&run);
                            runs.push(run);
                        }
                    }
                }
            }
        }
    }
    runs
}

/// `h30x30_eta0.0005_l2=0_steps20000_seed2` (with `_n500` before the seed when the training
/// size is swept). Rust prints floats in their shortest exact form, so ids round-trip.
fn run_id(run: &RunSpec) -> String {
    let size = run.train_size.map(|n| format!("_n{n}")).unwrap_or_default();
    format!(
        "h{}_eta{}_l2={}_steps{}{}_seed{}",
        run.hidden_label(),
        run.eta,
        run.l2,
        run.steps,
        size,
        run.seed
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn config(grid: &str) -> Config {
        let text = format!(
            "name = \"t\"\n[data]\nkind = \"circles\"\n[train]\nsteps = 100\n[grid]\n{grid}\n"
        );
        Config::parse(&text, Path::new("t.toml")).unwrap()
    }

    #[test]
    fn the_grid_expands_to_every_combination_in_a_fixed_order() {
        let runs = expand(&config(
            "hidden = [2, [3, 4]]\neta = [0.1, 0.2]\nseed = [0, 1, 2]",
        ));
        assert_eq!(runs.len(), 12);
        assert_eq!(runs[0].id, "h2_eta0.1_l2=0_steps100_seed0");
        assert_eq!(runs[1].seed, 1);
        assert_eq!(runs[3].eta, 0.2);
        assert_eq!(runs[11].id, "h3x4_eta0.2_l2=0_steps100_seed2");
        assert!(runs.iter().enumerate().all(|(i, r)| r.index == i));
    }

    #[test]
    fn ids_are_unique_and_survive_a_larger_grid() {
        let small = expand(&config("hidden = [5]\neta = [0.1]\nseed = [0, 1]"));
        let large = expand(&config(
            "hidden = [5, 6]\neta = [0.1, 0.3]\nseed = [0, 1, 2]\nl2 = [0, 0.01]\nsteps = [100, 200]\ntrain_size = [50, 100]",
        ));
        let ids: std::collections::HashSet<_> = large.iter().map(|r| r.id.clone()).collect();
        assert_eq!(ids.len(), large.len());
        assert_eq!(large.len(), 2 * 2 * 3 * 2 * 2 * 2);
        // The small grid's runs, in a larger grid that adds only seeds, keep their ids.
        let more_seeds = expand(&config("hidden = [5]\neta = [0.1]\nseed = [0, 1, 2]"));
        assert_eq!(small[..], more_seeds[..2]);
        assert!(large
            .iter()
            .any(|r| r.id == "h6_eta0.3_l2=0.01_steps200_n50_seed2"));
    }

    #[test]
    fn sizes_and_flops_follow_the_data() {
        let run = &expand(&config("hidden = [30]\neta = [0.1]\nseed = [0]"))[0];
        assert_eq!(run.layer_sizes(784, 10), vec![784, 30, 10]);
        assert_eq!(run.n_params(784, 10), 23_860);
        assert!((run.flops(784, 10, 500) / 100.0 / 1e6 - 47.94).abs() < 0.01);
    }
}
