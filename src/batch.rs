//! Which batch system runs this process, and what it gave the job: the task's place in a job
//! array (a [`Shard`] of the sweep) and the CPU count (the default thread count).
//!
//! Each system says it in its own variables, numbered its own way (checked against each
//! system's documentation; the notes in `configs/*/README.md` quote them):
//!
//! | system | array task | array range | CPUs |
//! |---|---|---|---|
//! | SLURM | `SLURM_ARRAY_TASK_ID` | `SLURM_ARRAY_TASK_COUNT`, `_MIN`, `_MAX`, `_STEP` | `SLURM_CPUS_PER_TASK` |
//! | PBS Pro | `PBS_ARRAY_INDEX` | none: `NNSWEEP_ARRAY` | `NCPUS` |
//! | Torque | `PBS_ARRAYID` | none: `NNSWEEP_ARRAY` | `PBS_NUM_PPN` |
//! | LSF | `LSB_JOBINDEX` (0: no array) | `LSB_JOBINDEX_END`, `LSB_JOBINDEX_STEP`; first index 1 unless `NNSWEEP_ARRAY` | `LSB_DJOB_NUMPROC` |
//! | Grid Engine | `SGE_TASK_ID` (`undefined`: no array) | `SGE_TASK_FIRST`, `_LAST`, `_STEPSIZE` | `NSLOTS` |
//!
//! Every range is inclusive at both ends and stepped; task ids need not start at 0 or 1, but
//! they must be an evenly spaced range (a list such as `1,5,7` cannot say which share is
//! whose). PBS and Torque do not tell a task the array's size, and LSF not its first index,
//! so the submit scripts pass the range they asked for in `NNSWEEP_ARRAY` (`first-last[:step]`,
//! the syntax of `qsub -J`/`-t` and `bsub -J name[...]`); where the system does tell, the two
//! must agree.
//!
//! Everything here reads variables through a function (`std::env::var(..).ok()` in the
//! binary), so tests give it any environment.

use std::fmt;
use std::num::NonZeroUsize;

use crate::plan::Shard;

/// The array range a submit script passes for the systems that do not tell it.
pub const NNSWEEP_ARRAY: &str = "NNSWEEP_ARRAY";

/// Every variable this module reads (tests clear them all from a child's environment).
pub const VARIABLES: [&str; 26] = [
    "SLURM_JOB_ID",
    "SLURM_ARRAY_TASK_ID",
    "SLURM_ARRAY_TASK_COUNT",
    "SLURM_ARRAY_TASK_MIN",
    "SLURM_ARRAY_TASK_MAX",
    "SLURM_ARRAY_TASK_STEP",
    "SLURM_CPUS_PER_TASK",
    "PBS_JOBID",
    "PBS_ARRAY_INDEX",
    "NCPUS",
    "PBS_ARRAYID",
    "PBS_NUM_PPN",
    "LSB_JOBID",
    "LSB_JOBINDEX",
    "LSB_JOBINDEX_END",
    "LSB_JOBINDEX_STEP",
    "LSB_DJOB_NUMPROC",
    "JOB_ID",
    "SGE_TASK_ID",
    "SGE_TASK_FIRST",
    "SGE_TASK_LAST",
    "SGE_TASK_STEPSIZE",
    "NSLOTS",
    NNSWEEP_ARRAY,
    // Not read for the shard, but they mark a batch job (resume hints).
    "PBS_ENVIRONMENT",
    "LSB_JOBNAME",
];

/// A batch system nnsweep knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    Slurm,
    PbsPro,
    Torque,
    Lsf,
    GridEngine,
}

impl fmt::Display for System {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            System::Slurm => "SLURM",
            System::PbsPro => "PBS Pro",
            System::Torque => "Torque",
            System::Lsf => "LSF",
            System::GridEngine => "Grid Engine",
        })
    }
}

/// A batch variable set in a way nnsweep cannot use; the message names the variable and says
/// what to do (bad input: exit code 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BatchError(pub String);

/// What the batch system (or the command line) decided: the shard, the thread count, and the
/// words the first log line says about where they came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub shard: Option<Shard>,
    pub threads: usize,
    /// The system found, if any.
    pub system: Option<System>,
    /// e.g. "shard from Grid Engine (SGE_TASK_ID=2 SGE_TASK_FIRST=1 SGE_TASK_LAST=3
    /// SGE_TASK_STEPSIZE=1), threads from NSLOTS=1".
    pub source: String,
}

/// Decides the shard and the thread count once: `--shard` and `--threads` win; else the batch
/// system's variables; else the whole sweep on every core (`cores`).
pub fn place(
    shard_flag: Option<Shard>,
    threads_flag: Option<NonZeroUsize>,
    cores: usize,
    var: impl Fn(&str) -> Option<String>,
) -> Result<Placement, BatchError> {
    let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
    let system = detect(&var)?;
    let mut said = Vec::new();
    let shard = match (shard_flag, system) {
        (Some(shard), _) => {
            said.push("shard from --shard".to_string());
            Some(shard)
        }
        (None, Some(system)) => match array_task(system, &var)? {
            Some((shard, used)) => {
                said.push(format!("shard from {system} ({})", used.join(" ")));
                Some(shard)
            }
            None => None,
        },
        (None, None) => None,
    };
    let threads = match (threads_flag, system) {
        (Some(n), _) => {
            said.push("threads from --threads".to_string());
            n.get()
        }
        (None, Some(system)) => match cpus(system, &var)? {
            Some((n, used)) => {
                said.push(format!("threads from {used}"));
                n
            }
            None => {
                said.push(format!(
                    "{system} job without a CPU count: threads = all cores"
                ));
                cores
            }
        },
        (None, None) => cores,
    };
    let source = match (system, said.is_empty()) {
        (None, true) => "no batch system".to_string(),
        (None, false) => said.join(", "),
        (Some(system), true) => format!("{system} job"),
        (Some(system), false) => format!("{system} job: {}", said.join(", ")),
    };
    Ok(Placement {
        shard,
        threads,
        system,
        source,
    })
}

/// The batch system whose variables are set; two at once is an error (which one to trust?).
pub fn detect(var: &impl Fn(&str) -> Option<String>) -> Result<Option<System>, BatchError> {
    let has = |name: &str| var(name).is_some();
    let mut found: Vec<(System, &str)> = Vec::new();
    // SLURM as before this module: any variable nnsweep reads from it.
    if let Some(name) = ["SLURM_JOB_ID", "SLURM_ARRAY_TASK_ID", "SLURM_CPUS_PER_TASK"]
        .into_iter()
        .find(|n| has(n))
    {
        found.push((System::Slurm, name));
    }
    // PBS Pro and Torque both set PBS_JOBID; the array and CPU variables tell them apart.
    if has("PBS_JOBID") {
        let pro = ["PBS_ARRAY_INDEX", "NCPUS"].into_iter().find(|n| has(n));
        let torque = ["PBS_ARRAYID", "PBS_NUM_PPN"].into_iter().find(|n| has(n));
        match (pro, torque) {
            (Some(p), Some(t)) if has("PBS_ARRAY_INDEX") || has("PBS_ARRAYID") => {
                return Err(BatchError(format!(
                    "both {p} (PBS Pro) and {t} (Torque) are set: nnsweep cannot tell which \
                     PBS runs this job; unset the other one's variables, or pass --shard I/N \
                     and --threads N"
                )))
            }
            // Torque may also export NCPUS; PBS_NUM_PPN is Torque's own.
            (_, Some(t)) => found.push((System::Torque, t)),
            (Some(p), None) => found.push((System::PbsPro, p)),
            (None, None) => found.push((System::PbsPro, "PBS_JOBID")),
        }
    }
    if has("LSB_JOBID") {
        found.push((System::Lsf, "LSB_JOBID"));
    }
    // Grid Engine sets SGE_TASK_ID in every job ("undefined" outside an array).
    if has("SGE_TASK_ID") {
        found.push((System::GridEngine, "SGE_TASK_ID"));
    }
    match found[..] {
        [] => Ok(None),
        [(system, _)] => Ok(Some(system)),
        [(a, va), (b, vb), ..] => Err(BatchError(format!(
            "variables of two batch systems are set ({va}: {a}, {vb}: {b}): nnsweep cannot tell \
             which one runs this job; unset the other one's variables, or pass --shard I/N and \
             --threads N"
        ))),
    }
}

/// An array's task ids: `first`, `first + step`, ..., up to `last` (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub first: usize,
    pub last: usize,
    pub step: usize,
}

impl Range {
    /// Checks `first <= last` and `step >= 1`; `what` names the variables, for the message.
    pub fn new(first: usize, last: usize, step: usize, what: &str) -> Result<Range, BatchError> {
        if step == 0 || last < first {
            return Err(BatchError(format!(
                "{what} is not an array range (first {first}, last {last}, step {step}): \
                 pass --shard I/N explicitly"
            )));
        }
        Ok(Range { first, last, step })
    }

    /// `first-last[:step]` or a single `id` (qsub -J / -t, bsub -J name[...] syntax), from
    /// the variable `name`.
    pub fn parse(name: &str, text: &str) -> Result<Range, BatchError> {
        let bad = || {
            BatchError(format!(
                "{name}={text} is not an array range: write first-last or first-last:step, \
                 e.g. {name}=0-3, as given to the job array"
            ))
        };
        let (span, step) = match text.trim().split_once(':') {
            Some((span, step)) => (span, step.trim().parse().map_err(|_| bad())?),
            None => (text.trim(), 1),
        };
        let (first, last) = match span.split_once('-') {
            Some((a, b)) => (
                a.trim().parse().map_err(|_| bad())?,
                b.trim().parse().map_err(|_| bad())?,
            ),
            None => {
                let one = span.parse().map_err(|_| bad())?;
                (one, one)
            }
        };
        Range::new(first, last, step, &format!("{name}={text}")).map_err(|_| bad())
    }

    /// Number of tasks.
    pub fn count(&self) -> usize {
        (self.last - self.first) / self.step + 1
    }

    /// The highest task id (below or at `last` when the step does not land on it).
    pub fn highest(&self) -> usize {
        self.first + (self.count() - 1) * self.step
    }

    /// Task `id`'s shard: its place in the range, of `count()`.
    pub fn shard_of(&self, id: usize, what: &str) -> Result<Shard, BatchError> {
        if id < self.first || id > self.last || !(id - self.first).is_multiple_of(self.step) {
            return Err(BatchError(format!(
                "{what}: task {id} is not in the array's range {}-{}:{}, so it cannot tell which \
                 share of the sweep is its own; pass --shard I/N explicitly",
                self.first, self.last, self.step
            )));
        }
        Shard::new((id - self.first) / self.step, self.count()).map_err(|e| BatchError(e.0))
    }
}

/// A variable's value as a task id or count; `None` when unset.
fn number(var: &impl Fn(&str) -> Option<String>, name: &str) -> Result<Option<usize>, BatchError> {
    var(name)
        .map(|v| {
            v.trim().parse().map_err(|_| {
                BatchError(format!(
                    "{name}={v} is not a whole number; pass --shard I/N (and --threads N) \
                     explicitly"
                ))
            })
        })
        .transpose()
}

fn required(
    var: &impl Fn(&str) -> Option<String>,
    name: &str,
    because: &str,
) -> Result<usize, BatchError> {
    number(var, name)?.ok_or_else(|| {
        BatchError(format!(
            "{because} but {name} is not set (or is \"undefined\"): pass --shard I/N explicitly"
        ))
    })
}

/// `NNSWEEP_ARRAY`, when the submit script set it.
fn declared(var: &impl Fn(&str) -> Option<String>) -> Result<Option<Range>, BatchError> {
    var(NNSWEEP_ARRAY)
        .map(|v| Range::parse(NNSWEEP_ARRAY, &v))
        .transpose()
}

/// "NAME=value" for the log line.
fn shown(var: &impl Fn(&str) -> Option<String>, names: &[&str]) -> Vec<String> {
    names
        .iter()
        .filter_map(|n| var(n).map(|v| format!("{n}={}", v.trim())))
        .collect()
}

/// The shard of this array task and the variables it came from; `None` outside an array.
pub fn array_task(
    system: System,
    var: &impl Fn(&str) -> Option<String>,
) -> Result<Option<(Shard, Vec<String>)>, BatchError> {
    let shard = match system {
        System::Slurm => slurm(var)?,
        System::PbsPro => told_by_script(var, "PBS_ARRAY_INDEX", "PBS Pro", "qsub -J")?,
        System::Torque => told_by_script(var, "PBS_ARRAYID", "Torque", "qsub -t")?,
        System::Lsf => lsf(var)?,
        System::GridEngine => grid_engine(var)?,
    };
    let names: &[&str] = match system {
        System::Slurm => &[
            "SLURM_ARRAY_TASK_ID",
            "SLURM_ARRAY_TASK_COUNT",
            "SLURM_ARRAY_TASK_MIN",
            "SLURM_ARRAY_TASK_MAX",
            "SLURM_ARRAY_TASK_STEP",
        ],
        System::PbsPro => &["PBS_ARRAY_INDEX", NNSWEEP_ARRAY],
        System::Torque => &["PBS_ARRAYID", NNSWEEP_ARRAY],
        System::Lsf => &[
            "LSB_JOBINDEX",
            "LSB_JOBINDEX_END",
            "LSB_JOBINDEX_STEP",
            NNSWEEP_ARRAY,
        ],
        System::GridEngine => &[
            "SGE_TASK_ID",
            "SGE_TASK_FIRST",
            "SGE_TASK_LAST",
            "SGE_TASK_STEPSIZE",
        ],
    };
    Ok(shard.map(|s| (s, shown(var, names))))
}

/// SLURM: `SLURM_ARRAY_TASK_ID`, and `SLURM_ARRAY_TASK_COUNT` or `_MIN`/`_MAX` (with
/// `_STEP`). `--array=1-8` gives shards 0/8 to 7/8; `--array=0-8:4` tasks 0, 4, 8 → 0/3..2/3.
fn slurm(var: &impl Fn(&str) -> Option<String>) -> Result<Option<Shard>, BatchError> {
    let Some(id) = number(var, "SLURM_ARRAY_TASK_ID")? else {
        return Ok(None);
    };
    let min = number(var, "SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
    let step = number(var, "SLURM_ARRAY_TASK_STEP")?.unwrap_or(1);
    let count = number(var, "SLURM_ARRAY_TASK_COUNT")?;
    let range = match (number(var, "SLURM_ARRAY_TASK_MAX")?, count) {
        (Some(max), _) => Range::new(min, max, step, "SLURM_ARRAY_TASK_MIN/_MAX/_STEP")?,
        (None, Some(count)) if count >= 1 => Range::new(
            min,
            min + (count - 1) * step.max(1),
            step,
            "SLURM_ARRAY_TASK_MIN/_COUNT/_STEP",
        )?,
        (None, _) => {
            return Err(BatchError(
                "SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor \
                 SLURM_ARRAY_TASK_MAX: pass --shard I/N explicitly"
                    .into(),
            ))
        }
    };
    // A list such as --array=1,5,7: MIN 1, MAX 7, COUNT 3 is no evenly spaced range.
    if let Some(count) = count {
        if count != range.count() {
            return Err(BatchError(format!(
                "SLURM_ARRAY_TASK_COUNT={count} but SLURM_ARRAY_TASK_MIN/_MAX/_STEP span {} \
                 tasks ({}-{}:{}): this job array's task ids are not an evenly spaced range, so \
                 the task cannot tell which share of the sweep is its own; submit with \
                 --array=0-{} or pass --shard I/N explicitly",
                range.count(),
                range.first,
                range.last,
                range.step,
                count.max(1) - 1
            )));
        }
    }
    range
        .shard_of(id, "SLURM_ARRAY_TASK_ID")
        .map(Some)
        .map_err(|e| BatchError(format!("{e} (submit with --array=0-N-1)")))
}

/// PBS Pro and Torque give a subjob its index only: the range comes from `NNSWEEP_ARRAY`.
fn told_by_script(
    var: &impl Fn(&str) -> Option<String>,
    index: &str,
    system: &str,
    option: &str,
) -> Result<Option<Shard>, BatchError> {
    let Some(id) = number(var, index)? else {
        return Ok(None);
    };
    let Some(range) = declared(var)? else {
        return Err(BatchError(format!(
            "{index}={id} is set but {system} does not tell a job array's size: submit with \
             configs/pbs/submit.sh (which passes the range given to {option} as \
             {NNSWEEP_ARRAY}=first-last), add `-v {NNSWEEP_ARRAY}=0-N-1` to qsub, or pass \
             --shard I/N explicitly"
        )));
    };
    range
        .shard_of(id, &format!("{index} with {NNSWEEP_ARRAY}"))
        .map(Some)
}

/// LSF: `LSB_JOBINDEX` (0 in a job that is not an array), `LSB_JOBINDEX_END` (the highest
/// index) and `LSB_JOBINDEX_STEP`. LSF does not say the first index: `NNSWEEP_ARRAY` if set,
/// else 1 (bsub's default, `-J "name[1-N]"`).
fn lsf(var: &impl Fn(&str) -> Option<String>) -> Result<Option<Shard>, BatchError> {
    let id = match number(var, "LSB_JOBINDEX")? {
        None | Some(0) => return Ok(None),
        Some(id) => id,
    };
    let end = number(var, "LSB_JOBINDEX_END")?;
    let step = number(var, "LSB_JOBINDEX_STEP")?;
    let range = match declared(var)? {
        Some(range) => {
            if let Some(end) = end.filter(|&e| e != range.highest()) {
                return Err(BatchError(format!(
                    "LSB_JOBINDEX_END={end} disagrees with {NNSWEEP_ARRAY}={}-{}:{} (highest \
                     index {}): submit with configs/lsf/submit.sh, or pass --shard I/N",
                    range.first,
                    range.last,
                    range.step,
                    range.highest()
                )));
            }
            if let Some(step) = step.filter(|&s| s != range.step) {
                return Err(BatchError(format!(
                    "LSB_JOBINDEX_STEP={step} disagrees with {NNSWEEP_ARRAY}={}-{}:{}: submit \
                     with configs/lsf/submit.sh, or pass --shard I/N",
                    range.first, range.last, range.step
                )));
            }
            range
        }
        None => {
            let end = end.ok_or_else(|| {
                BatchError(format!(
                    "LSB_JOBINDEX={id} is set but LSB_JOBINDEX_END is not: nnsweep cannot tell \
                     the array's size; set {NNSWEEP_ARRAY}=first-last or pass --shard I/N"
                ))
            })?;
            Range::new(
                1,
                end,
                step.unwrap_or(1),
                "LSB_JOBINDEX_END/LSB_JOBINDEX_STEP",
            )?
        }
    };
    range
        .shard_of(
            id,
            "LSB_JOBINDEX (the array starts at 1 unless NNSWEEP_ARRAY says otherwise)",
        )
        .map(Some)
}

/// Grid Engine: `SGE_TASK_ID`, `SGE_TASK_FIRST`, `SGE_TASK_LAST`, `SGE_TASK_STEPSIZE` (all
/// "undefined" in a job that is not an array; `qsub -t 1-3` gives 1..3, first 1, last 3, step 1).
fn grid_engine(var: &impl Fn(&str) -> Option<String>) -> Result<Option<Shard>, BatchError> {
    let defined = |name: &str| var(name).filter(|v| v.trim() != "undefined");
    let Some(id) = number(&defined, "SGE_TASK_ID")? else {
        return Ok(None);
    };
    let because = format!("SGE_TASK_ID={id} is set");
    let range = Range::new(
        required(&defined, "SGE_TASK_FIRST", &because)?,
        required(&defined, "SGE_TASK_LAST", &because)?,
        required(&defined, "SGE_TASK_STEPSIZE", &because)?,
        "SGE_TASK_FIRST/_LAST/_STEPSIZE",
    )?;
    range.shard_of(id, "SGE_TASK_ID").map(Some)
}

/// The CPUs the job was given, and "NAME=value"; `None` when the system does not say.
pub fn cpus(
    system: System,
    var: &impl Fn(&str) -> Option<String>,
) -> Result<Option<(usize, String)>, BatchError> {
    let name = match system {
        System::Slurm => "SLURM_CPUS_PER_TASK",
        System::PbsPro => "NCPUS",
        System::Torque => "PBS_NUM_PPN",
        System::Lsf => "LSB_DJOB_NUMPROC",
        System::GridEngine => "NSLOTS",
    };
    let Some(text) = var(name) else {
        return Ok(None);
    };
    let n = text
        .trim()
        .parse::<NonZeroUsize>()
        .map_err(|_| {
            BatchError(format!(
                "{name}={text} is not a number of CPUs ({system}); pass --threads N"
            ))
        })?
        .get();
    Ok(Some((n, format!("{name}={n}"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    fn shard(pairs: &[(&str, &str)]) -> Result<Option<Shard>, BatchError> {
        place(None, None, 7, env(pairs)).map(|p| p.shard)
    }

    fn s(index: usize, count: usize) -> Option<Shard> {
        Some(Shard::new(index, count).unwrap())
    }

    #[test]
    fn no_batch_variables_no_shard_and_every_core() {
        let p = place(None, None, 7, env(&[])).unwrap();
        assert_eq!((p.shard, p.threads, p.system), (None, 7, None));
        assert_eq!(p.source, "no batch system");
    }

    #[test]
    fn slurm_array_variables_give_the_shard() {
        let zero_based = [
            ("SLURM_ARRAY_TASK_ID", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_MAX", "2"),
        ];
        assert_eq!(shard(&zero_based), Ok(s(2, 3)));
        // --array=1-4, only MIN/MAX known.
        let one_based = [
            ("SLURM_ARRAY_TASK_ID", "1"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_MAX", "4"),
        ];
        assert_eq!(shard(&one_based), Ok(s(0, 4)));
        // --array=0-8:4 → tasks 0, 4, 8.
        let stepped = [
            ("SLURM_ARRAY_TASK_ID", "8"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_MAX", "8"),
            ("SLURM_ARRAY_TASK_STEP", "4"),
        ];
        assert_eq!(shard(&stepped), Ok(s(2, 3)));
        // Only ID and COUNT: ids from 0.
        let counted = [
            ("SLURM_ARRAY_TASK_ID", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ];
        assert_eq!(shard(&counted), Ok(s(1, 3)));
        // --array=1,5,7: a list, not a range.
        let list = [
            ("SLURM_ARRAY_TASK_ID", "5"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_MAX", "7"),
        ];
        let e = shard(&list).unwrap_err().0;
        assert!(
            e.contains("SLURM_ARRAY_TASK_COUNT=3") && e.contains("--shard I/N"),
            "{e}"
        );
        assert!(shard(&[("SLURM_ARRAY_TASK_ID", "1")]).is_err());
        let e = shard(&[
            ("SLURM_ARRAY_TASK_ID", "x"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ])
        .unwrap_err()
        .0;
        assert!(e.starts_with("SLURM_ARRAY_TASK_ID=x"), "{e}");
    }

    /// The same 4-task array, in each system's words, gives the same four shards.
    #[test]
    fn every_system_maps_the_same_array_to_the_same_shards() {
        for k in 0..4usize {
            let want = Ok(s(k, 4));
            let id0 = k.to_string();
            let id1 = (k + 1).to_string();
            let slurm = [
                ("SLURM_ARRAY_TASK_ID", id0.as_str()),
                ("SLURM_ARRAY_TASK_COUNT", "4"),
                ("SLURM_ARRAY_TASK_MIN", "0"),
                ("SLURM_ARRAY_TASK_MAX", "3"),
            ];
            assert_eq!(shard(&slurm), want);
            let pbs_pro = [
                ("PBS_JOBID", "7[1].server"),
                ("PBS_ARRAY_INDEX", id0.as_str()),
                (NNSWEEP_ARRAY, "0-3"),
            ];
            assert_eq!(shard(&pbs_pro), want);
            let torque = [
                ("PBS_JOBID", "7[1].server"),
                ("PBS_ARRAYID", id1.as_str()),
                ("PBS_NUM_PPN", "2"),
                (NNSWEEP_ARRAY, "1-4"),
            ];
            assert_eq!(shard(&torque), want);
            let lsf = [
                ("LSB_JOBID", "42"),
                ("LSB_JOBINDEX", id1.as_str()),
                ("LSB_JOBINDEX_END", "4"),
            ];
            assert_eq!(shard(&lsf), want);
            let sge = [
                ("JOB_ID", "6"),
                ("SGE_TASK_ID", id1.as_str()),
                ("SGE_TASK_FIRST", "1"),
                ("SGE_TASK_LAST", "4"),
                ("SGE_TASK_STEPSIZE", "1"),
            ];
            assert_eq!(shard(&sge), want);
        }
        // Stepped ranges: SGE -t 2-10:4 (tasks 2, 6, 10), LSF [1-9:4] (1, 5, 9).
        let sge = |id: &str| {
            shard(&[
                ("SGE_TASK_ID", id),
                ("SGE_TASK_FIRST", "2"),
                ("SGE_TASK_LAST", "10"),
                ("SGE_TASK_STEPSIZE", "4"),
            ])
        };
        assert_eq!(sge("6"), Ok(s(1, 3)));
        assert!(sge("4").unwrap_err().0.contains("SGE_TASK_ID"));
        let lsf = [
            ("LSB_JOBID", "1"),
            ("LSB_JOBINDEX", "9"),
            ("LSB_JOBINDEX_END", "9"),
            ("LSB_JOBINDEX_STEP", "4"),
        ];
        assert_eq!(shard(&lsf), Ok(s(2, 3)));
    }

    #[test]
    fn jobs_that_are_not_arrays_have_no_shard_but_a_cpu_count() {
        // Grid Engine's "undefined" (seen on a real one: the -hold_jid merge job).
        let sge = [
            ("JOB_ID", "7"),
            ("SGE_TASK_ID", "undefined"),
            ("SGE_TASK_FIRST", "undefined"),
            ("SGE_TASK_LAST", "undefined"),
            ("SGE_TASK_STEPSIZE", "undefined"),
            ("NSLOTS", "1"),
        ];
        let p = place(None, None, 7, env(&sge)).unwrap();
        assert_eq!((p.shard, p.threads), (None, 1));
        assert_eq!(p.source, "Grid Engine job: threads from NSLOTS=1");
        let lsf = [
            ("LSB_JOBID", "3"),
            ("LSB_JOBINDEX", "0"),
            ("LSB_DJOB_NUMPROC", "4"),
        ];
        let p = place(None, None, 7, env(&lsf)).unwrap();
        assert_eq!((p.shard, p.threads), (None, 4));
        let pbs = [("PBS_JOBID", "3.server"), ("NCPUS", "8")];
        let p = place(None, None, 7, env(&pbs)).unwrap();
        assert_eq!(
            (p.shard, p.threads, p.system),
            (None, 8, Some(System::PbsPro))
        );
        let torque = [
            ("PBS_JOBID", "3.server"),
            ("PBS_NUM_PPN", "6"),
            ("NCPUS", "6"),
        ];
        let p = place(None, None, 7, env(&torque)).unwrap();
        assert_eq!((p.threads, p.system), (6, Some(System::Torque)));
    }

    #[test]
    fn inconsistent_variables_are_errors_that_name_the_variable() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("PBS_JOBID", "1"), ("PBS_ARRAY_INDEX", "2")],
                "NNSWEEP_ARRAY",
            ),
            (
                &[
                    ("PBS_JOBID", "1"),
                    ("PBS_ARRAY_INDEX", "4"),
                    (NNSWEEP_ARRAY, "0-3"),
                ],
                "PBS_ARRAY_INDEX",
            ),
            (
                &[
                    ("PBS_JOBID", "1"),
                    ("PBS_ARRAYID", "1"),
                    (NNSWEEP_ARRAY, "1-x"),
                ],
                "NNSWEEP_ARRAY=1-x",
            ),
            (
                &[("LSB_JOBID", "1"), ("LSB_JOBINDEX", "2")],
                "LSB_JOBINDEX_END",
            ),
            (
                &[
                    ("LSB_JOBID", "1"),
                    ("LSB_JOBINDEX", "2"),
                    ("LSB_JOBINDEX_END", "4"),
                    (NNSWEEP_ARRAY, "0-3"),
                ],
                "LSB_JOBINDEX_END=4",
            ),
            (
                &[
                    ("SGE_TASK_ID", "2"),
                    ("SGE_TASK_FIRST", "1"),
                    ("SGE_TASK_LAST", "undefined"),
                    ("SGE_TASK_STEPSIZE", "1"),
                ],
                "SGE_TASK_LAST",
            ),
            (
                &[
                    ("SGE_TASK_ID", "5"),
                    ("SGE_TASK_FIRST", "1"),
                    ("SGE_TASK_LAST", "3"),
                    ("SGE_TASK_STEPSIZE", "1"),
                ],
                "SGE_TASK_ID",
            ),
            (&[("SGE_TASK_ID", "undefined"), ("NSLOTS", "0")], "NSLOTS=0"),
            (
                &[("SLURM_ARRAY_TASK_ID", "1"), ("LSB_JOBID", "3")],
                "two batch systems",
            ),
        ];
        for (pairs, needle) in cases {
            let e = place(None, None, 7, env(pairs)).unwrap_err().0;
            assert!(e.contains(needle), "{pairs:?}: {e}");
        }
    }

    #[test]
    fn the_command_line_overrides_the_batch_system() {
        let bad = [
            ("SGE_TASK_ID", "9"),
            ("SGE_TASK_FIRST", "1"),
            ("SGE_TASK_LAST", "3"),
            ("SGE_TASK_STEPSIZE", "1"),
            ("NSLOTS", "4"),
        ];
        let flag = Shard::new(1, 2).ok();
        let p = place(flag, NonZeroUsize::new(3), 7, env(&bad)).unwrap();
        assert_eq!((p.shard, p.threads), (flag, 3));
        assert_eq!(
            p.source,
            "Grid Engine job: shard from --shard, threads from --threads"
        );
        let good = [
            ("SGE_TASK_ID", "2"),
            ("SGE_TASK_FIRST", "1"),
            ("SGE_TASK_LAST", "3"),
            ("SGE_TASK_STEPSIZE", "1"),
            ("NSLOTS", "4"),
        ];
        let p = place(None, None, 7, env(&good)).unwrap();
        assert_eq!((p.shard, p.threads), (s(1, 3), 4));
        assert_eq!(
            p.source,
            "Grid Engine job: shard from Grid Engine (SGE_TASK_ID=2 SGE_TASK_FIRST=1 \
             SGE_TASK_LAST=3 SGE_TASK_STEPSIZE=1), threads from NSLOTS=4"
        );
    }

    #[test]
    fn ranges_parse_like_the_submit_options() {
        let r = |t: &str| Range::parse(NNSWEEP_ARRAY, t);
        assert_eq!(r("0-3").unwrap().count(), 4);
        assert_eq!(r("1-9:4").unwrap().highest(), 9);
        assert_eq!(r("1-10:4").unwrap().highest(), 9);
        assert_eq!(r("5").unwrap().count(), 1);
        for bad in ["", "3-1", "1-4:0", "a-b", "1,2,3", "-1-3"] {
            assert!(r(bad).is_err(), "{bad}");
        }
    }
}
