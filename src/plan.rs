//! From a validated config to the list of runs: every combination of the grid's axes, in a
//! fixed order, each with an id made of its parameters.
//!
//! Ids depend only on a run's own parameters, never on its position in the grid, so adding a
//! seed or an eta to a sweep keeps the ids of the runs already done (resume and merged shards
//! rely on that).
//!
//! A sweep spread over several jobs runs one [`Shard`] of the plan in each: [`select`] keeps the
//! runs of one shard, interleaved by grid position (`crate::batch` finds a job array's shard).

use crate::config::{Config, Grid};
use crate::data::augment::{image_side, Augment, NotSquare};
use crate::data::Dataset;
use crate::nn::{n_params, Activation, Cost, Init, Output, Recipe, RecipeError, Select};

/// One network to train: a point of the grid, with its checked recipe.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    /// Position in the expanded grid (the order runs are listed and sharded in).
    pub index: usize,
    pub id: String,
    /// Train on the first `n` training samples only; `None`: all of them.
    pub train_size: Option<usize>,
    /// How those training samples are expanded before training.
    pub augment: Augment,
    /// Everything the engine needs, checked, with the engine resolved for this run's samples
    /// and the sweep-wide settings (`[train] engine`, `precision`, `log_every`) in it.
    pub recipe: Recipe,
}

impl RunSpec {
    /// Hidden sizes as the CSV shows them: "30", "30x30".
    pub fn hidden_label(&self) -> String {
        hidden_label(self.recipe.hidden())
    }

    /// Layer sizes from input to output.
    pub fn layer_sizes(&self) -> &[usize] {
        self.recipe.sizes()
    }

    /// Number of training samples this run takes out of `available`, before augmentation.
    pub fn n_train(&self, available: usize) -> usize {
        self.train_size.map_or(available, |n| n.min(available))
    }

    /// Number of weights and biases.
    pub fn n_params(&self) -> usize {
        n_params(self.recipe.sizes())
    }

    /// Floating-point operations of the whole run's training steps, with the engine it uses.
    pub fn flops(&self) -> f64 {
        self.recipe.flops()
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

/// Why a plan cannot be made from a config and its data.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Recipe(#[from] RecipeError),
    #[error(transparent)]
    Augment(#[from] NotSquare),
    /// Said here rather than by the recipe's check, which knows nothing of the config's keys.
    #[error(
        "select = \"validation\" needs validation data, and this sweep has none: add \
         [data] validation = N (mnist: the file's own validation images) or \
         validation_fraction = F (circles, moons, csv: carved from the training part)"
    )]
    NoValidation,
}

/// Every run of the sweep: the runs of `[grid]`, then those of each `[[variant]]` not already
/// planned (same id), each grid with hidden sizes outermost and seeds innermost, so that the
/// runs of one table cell are neighbours in the results file. Each run's recipe is checked
/// here, and its engine resolved, once, for the samples of `data` it will train on.
pub fn expand(config: &Config, data: &Dataset) -> Result<Vec<RunSpec>, PlanError> {
    let mut runs = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for grid in std::iter::once(&config.grid).chain(&config.variants) {
        for run in expand_grid(config, grid, data)? {
            if seen.insert(run.id.clone()) {
                runs.push(RunSpec {
                    index: runs.len(),
                    ..run
                });
            }
        }
    }
    Ok(runs)
}

/// The runs of one grid (indices to be set by [`expand`]).
fn expand_grid(config: &Config, grid: &Grid, data: &Dataset) -> Result<Vec<RunSpec>, PlanError> {
    let train = &config.train;
    fn axis<T: Clone>(swept: &Option<Vec<T>>, default: T) -> Vec<T> {
        swept.clone().unwrap_or_else(|| vec![default])
    }
    let steps = axis(&grid.steps, train.steps);
    let l2s = axis(&grid.l2, train.l2);
    let dropouts = axis(&grid.dropout, train.dropout);
    let augments = axis(&grid.augment, train.augment);
    let selects = axis(&grid.select, train.select);
    let patiences: Vec<Option<usize>> = match &grid.patience {
        Some(p) => p.iter().copied().map(Some).collect(),
        None => vec![train.patience],
    };
    // The next lecture's axes, as one list of combinations (outermost: cost).
    let mut next = Vec::new();
    for &cost in &axis(&grid.cost, train.cost) {
        for &output in &axis(&grid.output, train.output) {
            for &activation in &axis(&grid.activation, train.activation) {
                for &init in &axis(&grid.init, train.init) {
                    let batches: Vec<Option<usize>> = match &grid.batch_size {
                        Some(b) => b.iter().copied().map(Some).collect(),
                        None => vec![train.batch_size],
                    };
                    for batch_size in batches {
                        next.push((cost, output, activation, init, batch_size));
                    }
                }
            }
        }
    }
    let sizes: Vec<Option<usize>> = match &grid.train_size {
        Some(sizes) => sizes.iter().copied().map(Some).collect(),
        None => vec![None],
    };
    let (d, k) = (data.n_features(), data.n_classes);
    let (n_eval, n_val) = (data.n_eval(), data.n_val());
    if augments.contains(&Augment::Shift) {
        image_side(d)?;
    }
    if n_val == 0 && selects.contains(&Select::Validation) {
        return Err(PlanError::NoValidation);
    }
    let mut runs = Vec::new();
    for hidden in &grid.hidden {
        let mut layers = vec![d];
        layers.extend(hidden);
        layers.push(k);
        for &eta in &grid.eta {
            for &l2 in &l2s {
                for &steps in &steps {
                    for &train_size in &sizes {
                        for &dropout in &dropouts {
                            for &augment in &augments {
                                for &select in &selects {
                                    for (&patience, &next) in patiences
                                        .iter()
                                        .flat_map(|p| next.iter().map(move |n| (p, n)))
                                    {
                                        let (cost, output, activation, init, batch_size) = next;
                                        for &seed in &grid.seed {
                                            let n_train = train_size
                                                .map_or(data.train.len(), |n| {
                                                    n.min(data.train.len())
                                                });
                                            let recipe = Recipe::params(&layers)
                                                .cost(cost)
                                                .output(output)
                                                .activation(activation)
                                                .init(init)
                                                .batch_size(batch_size)
                                                .eval_every(train.eval_every)
                                                .eta(eta)
                                                .l2(l2)
                                                .steps(steps)
                                                .seed(seed)
                                                .log_every(train.log_every)
                                                .engine(train.engine)
                                                .precision(train.precision)
                                                .dropout(dropout)
                                                .select(select)
                                                .patience(patience)
                                                .weight_rng(train.rng)
                                                .check_with_validation(
                                                    augment.expanded(n_train),
                                                    n_eval,
                                                    n_val,
                                                )?;
                                            let id = run_id(&recipe, train_size, augment);
                                            runs.push(RunSpec {
                                                index: 0,
                                                id,
                                                train_size,
                                                augment,
                                                recipe,
                                            });
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(runs)
}

/// One share of a sweep split over several jobs (a SLURM job array, say): shard `index` of
/// `count` holds the runs whose position in the grid is `index` modulo `count`.
///
/// Interleaving (rather than cutting the grid into blocks) gives each shard its share of every
/// network size, so shards take about the same time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 0-based.
    pub index: usize,
    pub count: usize,
}

/// A shard that cannot be, with what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ShardError(pub String);

impl Shard {
    /// Shard `index` of `count`; needs `count >= 1` and `index < count`.
    pub fn new(index: usize, count: usize) -> Result<Shard, ShardError> {
        if count == 0 {
            return Err(ShardError(
                "a sweep cannot be split into 0 shards: N in I/N must be at least 1".into(),
            ));
        }
        if index >= count {
            return Err(ShardError(format!(
                "shard {index}/{count} does not exist: shards are numbered from 0, so I must be \
                 below N (0/{count} to {}/{count})",
                count - 1
            )));
        }
        Ok(Shard { index, count })
    }

    /// `"I/N"`, as `--shard` takes it: `"0/4"` is the first of four shards.
    pub fn parse(text: &str) -> Result<Shard, ShardError> {
        let bad = || {
            ShardError(format!(
                "`{text}` is not a shard: write I/N, e.g. 0/4 for the first of 4 shards"
            ))
        };
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let i = i.trim().parse().map_err(|_| bad())?;
        let n = n.trim().parse().map_err(|_| bad())?;
        Shard::new(i, n)
    }

    /// Whether `run` belongs to this shard.
    pub fn contains(&self, run: &RunSpec) -> bool {
        run.index % self.count == self.index
    }

    /// `shard-0-of-4`: what a shard's results file is called after.
    pub fn file_tag(&self) -> String {
        format!("shard-{}-of-{}", self.index, self.count)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for Shard {
    type Err = ShardError;
    fn from_str(s: &str) -> Result<Shard, ShardError> {
        Shard::parse(s)
    }
}

/// The runs of `runs` that belong to `shard` (all of them for `None`), in the same order and
/// keeping their grid indices.
pub fn select(runs: Vec<RunSpec>, shard: Option<Shard>) -> Vec<RunSpec> {
    match shard {
        None => runs,
        Some(shard) => runs.into_iter().filter(|r| shard.contains(r)).collect(),
    }
}

/// `h30x30_eta0.0005_l2=0_steps20000_seed2`, with `_n500` before the seed when the training
/// size is swept, and the remedies' parts when not at their default (`_drop0.2`, `_shift`,
/// `_selval`, `_pat500`), then the next lecture's (`_ce`, `_softmax`, `_tanh`/`_relu`,
/// `_scaled`/`_he`, `_b10`), so the ids of sweeps without them are those of 0.1. Rust prints
/// floats in their shortest exact form, so ids round-trip.
fn run_id(recipe: &Recipe, train_size: Option<usize>, augment: Augment) -> String {
    let mut extra = String::new();
    if let Some(n) = train_size {
        extra += &format!("_n{n}");
    }
    if recipe.dropout() != 0.0 {
        extra += &format!("_drop{}", recipe.dropout());
    }
    if augment != Augment::None {
        extra += &format!("_{}", augment.name());
    }
    if recipe.select() != Select::Train {
        extra += "_selval";
    }
    if let Some(p) = recipe.patience() {
        extra += &format!("_pat{p}");
    }
    if recipe.cost() == Cost::CrossEntropy {
        extra += "_ce";
    }
    if recipe.output() != Output::default() {
        extra += &format!("_{}", recipe.output().name());
    }
    if recipe.activation() != Activation::default() {
        extra += &format!("_{}", recipe.activation().name());
    }
    if recipe.init() != Init::default() {
        extra += &format!("_{}", recipe.init().name());
    }
    if let Some(b) = recipe.batch_size() {
        extra += &format!("_b{b}");
    }
    format!(
        "h{}_eta{}_l2={}_steps{}{extra}_seed{}",
        hidden_label(recipe.hidden()),
        recipe.eta(),
        recipe.l2(),
        recipe.steps(),
        recipe.seed()
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

    /// The runs of `config`, planned on its (generated) data.
    fn expand(config: &Config) -> Vec<RunSpec> {
        let data = crate::data::load(&config.data).unwrap();
        super::expand(config, &data).unwrap()
    }

    #[test]
    fn the_grid_expands_to_every_combination_in_a_fixed_order() {
        let runs = expand(&config(
            "hidden = [2, [3, 4]]\neta = [0.1, 0.2]\nseed = [0, 1, 2]",
        ));
        assert_eq!(runs.len(), 12);
        assert_eq!(runs[0].id, "h2_eta0.1_l2=0_steps100_seed0");
        assert_eq!(runs[1].recipe.seed(), 1);
        assert_eq!(runs[3].recipe.eta(), 0.2);
        assert_eq!(runs[0].recipe.sizes(), &[2, 2, 2]);
        assert_eq!(runs[0].recipe.n_train(), 400);
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
    fn the_next_lectures_axes_expand_and_mark_their_ids_only_when_not_default() {
        let runs = expand(&config(
            "hidden = [5]\neta = [0.1]\nseed = [0]\ncost = [\"quadratic\", \"cross_entropy\"]\n\
             output = [\"sigmoid\", \"softmax\"]\nactivation = [\"sigmoid\", \"tanh\", \"relu\"]\n\
             init = [\"normal\", \"he\"]\nbatch_size = [10]",
        ));
        assert_eq!(runs.len(), 2 * 2 * 3 * 2);
        assert_eq!(runs[0].id, "h5_eta0.1_l2=0_steps100_b10_seed0");
        assert!(runs
            .iter()
            .any(|r| r.id == "h5_eta0.1_l2=0_steps100_ce_softmax_relu_he_b10_seed0"));
        let ce = runs
            .iter()
            .find(|r| r.id.contains("_ce_softmax_tanh_b10"))
            .unwrap();
        assert_eq!(ce.recipe.cost(), Cost::CrossEntropy);
        assert_eq!(ce.recipe.output(), Output::Softmax);
        assert_eq!(ce.recipe.activation(), Activation::Tanh);
        assert_eq!(ce.recipe.init(), Init::Normal);
        assert_eq!(ce.recipe.batch(), 10);
        assert!(ce.recipe.is_mini_batch());
        // An epoch of 400 samples in batches of 10: 40 updates between evaluations.
        assert_eq!(ce.recipe.eval_every(), 40);
        let ids: std::collections::HashSet<_> = runs.iter().map(|r| &r.id).collect();
        assert_eq!(ids.len(), runs.len());
        // The lecture's values written out leave the ids of 0.1.
        let lecture = expand(&config(
            "hidden = [5]\neta = [0.1]\nseed = [0]\ncost = [\"quadratic\"]\noutput = [\"sigmoid\"]",
        ));
        assert_eq!(lecture[0].id, "h5_eta0.1_l2=0_steps100_seed0");
        assert!(!lecture[0].recipe.is_mini_batch());
        assert_eq!(lecture[0].recipe.eval_every(), 1);
    }

    #[test]
    fn shards_interleave_and_together_hold_every_run_once() {
        let runs = expand(&config(
            "hidden = [2, 3]\neta = [0.1, 0.2, 0.3]\nseed = [0, 1]",
        ));
        assert_eq!(runs.len(), 12);
        for count in 1..=14 {
            let mut seen: Vec<usize> = Vec::new();
            for index in 0..count {
                let shard = Shard::new(index, count).unwrap();
                let share = select(runs.clone(), Some(shard));
                // Interleaved: sizes differ by at most one, every k-th run.
                assert!(share.len() == 12 / count || share.len() == 12 / count + 1);
                assert!(share.iter().all(|r| r.index % count == index));
                seen.extend(share.iter().map(|r| r.index));
            }
            seen.sort_unstable();
            assert_eq!(seen, (0..12).collect::<Vec<_>>(), "{count} shards");
        }
        assert_eq!(select(runs.clone(), None), runs);
    }

    #[test]
    fn shards_parse_and_refuse_what_cannot_be() {
        assert_eq!(Shard::parse("0/4"), Ok(Shard { index: 0, count: 4 }));
        assert_eq!(Shard::parse(" 3 / 4 ").unwrap().to_string(), "3/4");
        assert_eq!(Shard::parse("2/3").unwrap().file_tag(), "shard-2-of-3");
        for bad in ["4/4", "0/0", "1", "a/3", "-1/3", "1/3/4", ""] {
            let e = Shard::parse(bad).unwrap_err().to_string();
            assert!(e.contains("shard") || e.contains("I/N"), "{bad}: {e}");
        }
        assert!(Shard::parse("4/4").unwrap_err().0.contains("0/4 to 3/4"));
    }

    #[test]
    fn sizes_and_flops_follow_the_data() {
        let split = |n| crate::data::Split::new(ndarray::Array2::zeros((784, n)), vec![0; n]);
        let data = Dataset {
            name: "zeros".into(),
            n_classes: 10,
            train: split(500),
            validation: None,
            test: split(100),
        };
        let run =
            &super::expand(&config("hidden = [30]\neta = [0.1]\nseed = [0]"), &data).unwrap()[0];
        assert_eq!(run.layer_sizes(), &[784, 30, 10]);
        assert_eq!(run.n_params(), 23_860);
        // 500 samples of 784 inputs: the Gram engine, 15.9 MFLOP a step instead of 47.9.
        assert_eq!(run.recipe.engine(), crate::nn::Engine::Gram);
        assert!((run.flops() / 100.0 / 1e6 - 15.90).abs() < 0.01);
        let mut config = config("hidden = [30]\neta = [0.1]\nseed = [0]");
        config.train.engine = crate::nn::Engine::Direct;
        let direct = &super::expand(&config, &data).unwrap()[0];
        assert!((direct.flops() / 100.0 / 1e6 - 47.94).abs() < 0.01);
    }
}
