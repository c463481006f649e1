//! What a sweep will cost, from measurement: a few training steps of each distinct network
//! shape are timed on this machine, with the engine and precision each run will use, and a run
//! then costs `per_step × steps` core-seconds (a mini-batch run, whose updates are smaller and
//! whose evaluations are separate passes: `per_step` for each full step's worth of its FLOPs).
//! `plan` prints that per run and for the
//! sweep (core-seconds, wall time on `threads` threads for each shard, the `--time` to ask
//! for); `run`'s ETA divides the remaining cost by the throughput it measures.
//!
//! Why not FLOPs at a fixed rate: a 2-10-2 network on 400 samples reaches a few GFLOP/s where a
//! 784-300-10 one reaches tens: the overheads of small matrices dominate small networks, and
//! only a clock sees them.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::data::Dataset;
use crate::nn::{self, Cost, Engine, Functions, Precision, Recipe};
use crate::plan::{RunSpec, Shard};

/// The rate `--no-measure` assumes (what one recent x86 core reaches in f64 on large
/// products; see bench/README.md). Small networks are much slower than that.
pub const ASSUMED_FLOPS: f64 = 4e10;

/// `--time` is the longest shard's predicted wall time times this, plus [`TIME_SLACK`].
pub const TIME_MARGIN: f64 = 1.5;
/// Seconds added to `--time`: the 120 s stop before the limit in the job scripts, and start-up.
pub const TIME_SLACK: f64 = 180.0;

/// What decides the cost of a run's full-batch step: its layer sizes, training samples,
/// engine, precision and functions (a tanh or a softmax costs more than a sigmoid).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shape {
    sizes: Vec<usize>,
    n_train: usize,
    engine: Engine,
    precision: Precision,
    l2: bool,
    functions: Functions,
    cost: Cost,
}

impl Shape {
    fn of(run: &RunSpec) -> Shape {
        let r = &run.recipe;
        Shape {
            sizes: r.sizes().to_vec(),
            n_train: r.n_train(),
            engine: r.engine(),
            precision: r.precision(),
            l2: r.l2() > 0.0,
            functions: r.functions(),
            cost: r.cost(),
        }
    }
}

/// One shape's measured cost, in seconds of one core. A run's fixed costs (initial weights,
/// workspaces, the Gram products shared by the runs of a sweep) are left out: a few
/// milliseconds against steps that number in the thousands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepCost {
    /// Each full-batch gradient-descent step.
    pub per_step: f64,
    /// That step's floating-point operations: a run costs `per_step` for each `step_flops`
    /// of [`Recipe::flops`], which counts a mini-batch run's smaller updates and its
    /// evaluation passes. (A full-batch run's `flops()` is `steps × step_flops`, so its cost
    /// is `per_step × steps` exactly.)
    pub step_flops: f64,
}

/// Seconds of one core for each run of a sweep.
#[derive(Debug, Clone)]
pub struct CostModel {
    /// A few shapes per sweep: a list is enough.
    costs: Vec<(Shape, StepCost)>,
    /// Shapes timed (all of them, unless one could not be set up).
    pub measured: usize,
    /// Wall time the measurement took.
    pub took: Duration,
    /// FLOPs per second over the measured shapes; [`ASSUMED_FLOPS`] when nothing was measured.
    pub flop_rate: f64,
}

impl CostModel {
    /// Costs at a fixed FLOP rate, without timing anything (`plan --no-measure`).
    pub fn assumed() -> CostModel {
        CostModel {
            costs: Vec::new(),
            measured: 0,
            took: Duration::ZERO,
            flop_rate: ASSUMED_FLOPS,
        }
    }

    /// Times a few steps of each distinct shape of `runs` on this thread, within about
    /// `budget` in all (a shape whose single step takes longer, or that comes when the budget
    /// is spent, is timed by one step).
    pub fn measure(runs: &[RunSpec], data: &Dataset, budget: Duration) -> CostModel {
        let started = Instant::now();
        let mut shapes: Vec<(Shape, &RunSpec)> = Vec::new();
        for run in runs {
            let shape = Shape::of(run);
            if !shapes.iter().any(|(s, _)| *s == shape) {
                shapes.push((shape, run));
            }
        }
        let mut costs = Vec::new();
        let (mut flops, mut seconds) = (0.0, 0.0);
        for (i, (shape, run)) in shapes.iter().enumerate() {
            // Past the budget, a shape still gets one timed step (milliseconds): noisier, but
            // far nearer than a FLOP rate carried over from other shapes.
            let left = budget.saturating_sub(started.elapsed());
            let share = left / (shapes.len() - i) as u32;
            if let Some(cost) = time_shape(run, data, share) {
                flops += cost.step_flops;
                seconds += cost.per_step;
                costs.push((shape.clone(), cost));
            }
        }
        let measured = costs.len();
        CostModel {
            costs,
            measured,
            took: started.elapsed(),
            flop_rate: if seconds > 0.0 {
                flops / seconds
            } else {
                ASSUMED_FLOPS
            },
        }
    }

    /// Predicted seconds of one core for `run`.
    pub fn run_seconds(&self, run: &RunSpec) -> f64 {
        let shape = Shape::of(run);
        match self.costs.iter().find(|(s, _)| *s == shape) {
            Some((_, c)) if c.step_flops > 0.0 => c.per_step * run.recipe.flops() / c.step_flops,
            Some((_, c)) => c.per_step * run.recipe.steps() as f64,
            None => run.recipe.flops() / self.flop_rate,
        }
    }
}

/// A step's cost for `run`'s shape: the engine's own step (backward pass, update, forward
/// pass, accuracy: what a run repeats `steps` times) on this thread, set up once outside the
/// clock, then timed in batches that fill `share`; the median batch.
///
/// Steps are timed on this thread's CPU clock, not the wall clock: what is predicted is
/// core-seconds, and on a shared machine a wall clock also counts the time the thread waited
/// for a core. One such wait of 100 ms in a single timed step made a 0.85 core-s run look like
/// 13. A shape too slow to batch gets two timed steps and the cheaper counts, since the first
/// also pays for touching fresh workspace memory.
fn time_shape(run: &RunSpec, data: &Dataset, share: Duration) -> Option<StepCost> {
    let started = Instant::now();
    let share = share.as_secs_f64();
    let r = &run.recipe;
    let recipe = Recipe::params(r.sizes())
        .eta(r.eta())
        .l2(r.l2())
        .seed(r.seed())
        .steps(1)
        .engine(r.engine())
        .precision(r.precision())
        .cost(r.cost())
        .output(r.output())
        .activation(r.activation())
        .check(r.n_train(), r.n_eval())
        .ok()?;
    let step_flops = recipe.flops();
    let (x, labels) = data.train.head(r.n_train());
    let x = x.to_owned();
    let mut step = nn::step_for_bench(&recipe, &x, labels);
    let mut timed = |b: usize| {
        let clock = CpuClock::start();
        for _ in 0..b {
            std::hint::black_box(step());
        }
        clock.seconds() / b as f64
    };
    let first = timed(1);
    let left = share - started.elapsed().as_secs_f64();
    if first * 4.0 > left {
        // Past a whole share, a second step would only double an overrun.
        let per_step = if first > share {
            first
        } else {
            first.min(timed(1))
        };
        return Some(StepCost {
            per_step,
            step_flops,
        });
    }
    // Five batches of b steps in most of what is left.
    let b = ((0.8 * left / 5.0 / first) as usize).clamp(1, 100_000);
    let mut per_step: Vec<f64> = (0..5).map(|_| timed(b)).collect();
    per_step.sort_by(f64::total_cmp);
    Some(StepCost {
        per_step: per_step[2],
        step_flops,
    })
}

/// The calling thread's CPU time (wall time where the platform has no such clock).
struct CpuClock {
    #[cfg(unix)]
    start: f64,
    #[cfg(not(unix))]
    start: Instant,
}

impl CpuClock {
    fn start() -> CpuClock {
        #[cfg(unix)]
        let start = thread_cpu_seconds();
        #[cfg(not(unix))]
        let start = Instant::now();
        CpuClock { start }
    }

    fn seconds(&self) -> f64 {
        #[cfg(unix)]
        return thread_cpu_seconds() - self.start;
        #[cfg(not(unix))]
        return self.start.elapsed().as_secs_f64();
    }
}

#[cfg(unix)]
fn thread_cpu_seconds() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into the struct we own. The calling thread's
    // CPU clock always exists (POSIX), so the call does not fail.
    unsafe {
        libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t);
    }
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// Wall time of runs costing `costs` seconds each on `threads` threads that take the longest
/// run first, each the next run when it is free (as `runner::run_all` does).
pub fn makespan(costs: &[f64], threads: usize) -> f64 {
    let mut sorted = costs.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let mut busy = vec![0.0f64; threads.max(1)];
    for cost in sorted {
        let (i, _) = busy
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(b.1))
            .unwrap_or((0, &0.0));
        busy[i] += cost;
    }
    busy.into_iter().fold(0.0, f64::max)
}

/// A sweep's predicted cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// Seconds of one core for every run.
    pub core_seconds: f64,
    /// Wall time of the slowest shard on `threads` threads.
    pub wall_seconds: f64,
    /// What to ask the batch system for: `wall × TIME_MARGIN + TIME_SLACK`, whole minutes.
    pub ask_seconds: f64,
}

/// The cost of `runs` split into `shards` shards (interleaved, as `plan::select`), each on
/// `threads` threads.
pub fn estimate(model: &CostModel, runs: &[RunSpec], shards: usize, threads: usize) -> Estimate {
    let shards = shards.max(1);
    let costs: Vec<f64> = runs.iter().map(|r| model.run_seconds(r)).collect();
    let wall = (0..shards)
        .map(|k| {
            let shard = Shard::new(k, shards).expect("k < shards");
            let mine: Vec<f64> = runs
                .iter()
                .zip(&costs)
                .filter(|(r, _)| shard.contains(r))
                .map(|(_, c)| *c)
                .collect();
            makespan(&mine, threads)
        })
        .fold(0.0, f64::max);
    Estimate {
        core_seconds: costs.iter().sum(),
        wall_seconds: wall,
        ask_seconds: ((wall * TIME_MARGIN + TIME_SLACK) / 60.0).ceil() * 60.0,
    }
}

/// `01:05:00`, as `--time`, `-l walltime` and `h_rt` take it.
pub fn hms(seconds: f64) -> String {
    let s = seconds.max(0.0).ceil() as u64;
    format!("{:02}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
}

/// The ETA of a sweep in progress: the remaining runs' predicted cost divided by the
/// throughput measured so far (predicted core-seconds of the finished runs per second they
/// actually took, on `threads` threads).
#[derive(Debug, Clone)]
pub struct Eta {
    threads: usize,
    /// Predicted seconds of each run not finished yet, by run id.
    remaining: HashMap<String, f64>,
    predicted_done: f64,
    actual_done: f64,
}

impl Eta {
    pub fn new(model: &CostModel, runs: &[RunSpec], threads: usize) -> Eta {
        Eta {
            threads: threads.max(1),
            remaining: runs
                .iter()
                .map(|r| (r.id.clone(), model.run_seconds(r)))
                .collect(),
            predicted_done: 0.0,
            actual_done: 0.0,
        }
    }

    /// Run `id` finished after `seconds` of wall time.
    pub fn finished(&mut self, id: &str, seconds: f64) {
        if let Some(predicted) = self.remaining.remove(id) {
            self.predicted_done += predicted;
            self.actual_done += seconds;
        }
    }

    /// Seconds left, once a run has finished (the throughput is unknown before).
    pub fn seconds_left(&self) -> Option<f64> {
        if self.predicted_done <= 0.0 || self.actual_done <= 0.0 {
            return None;
        }
        // Actual seconds per predicted second, as measured on this machine now.
        let scale = self.actual_done / self.predicted_done;
        let left: Vec<f64> = self.remaining.values().map(|c| c * scale).collect();
        Some(makespan(&left, self.threads))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_run_first_makespan() {
        assert_eq!(makespan(&[], 4), 0.0);
        // Longest first, as the runner does: 3+2+2 | 3+2, not the best split 3+3 | 2+2+2.
        assert_eq!(makespan(&[3.0, 3.0, 2.0, 2.0, 2.0], 2), 7.0);
        // One long run bounds the wall time, whatever the thread count.
        assert_eq!(makespan(&[10.0, 1.0, 1.0], 8), 10.0);
        assert_eq!(makespan(&[1.0; 8], 1), 8.0);
    }

    #[test]
    fn time_to_ask_for_has_the_stated_margin() {
        assert_eq!(hms(3725.2), "01:02:06");
        assert_eq!(hms(0.0), "00:00:00");
        // 100 s of wall time: 150 + 180 = 330 s, rounded up to 6 min.
        let model = CostModel::assumed();
        let e = estimate(&model, &[], 1, 1);
        assert_eq!(e.ask_seconds, 180.0);
        assert_eq!(
            ((100.0 * TIME_MARGIN + TIME_SLACK) / 60.0f64).ceil() * 60.0,
            360.0
        );
    }

    #[test]
    fn the_eta_scales_the_remaining_cost_by_the_measured_throughput() {
        let mut eta = Eta {
            threads: 2,
            remaining: [("a", 4.0), ("b", 2.0), ("c", 2.0), ("d", 1.0)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            predicted_done: 0.0,
            actual_done: 0.0,
        };
        assert_eq!(eta.seconds_left(), None);
        // The longest run took twice its prediction: everything left is twice as long too.
        eta.finished("a", 8.0);
        // b, c, d: 4, 4, 2 s on 2 threads.
        assert_eq!(eta.seconds_left(), Some(6.0));
        eta.finished("b", 4.0);
        eta.finished("c", 4.0);
        eta.finished("d", 2.0);
        assert_eq!(eta.seconds_left(), Some(0.0));
        eta.finished("unknown", 1.0);
    }
}
