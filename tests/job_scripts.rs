//! The job scripts of configs/{slurm,pbs,lsf,sge}: `bash -n`, the directives that make them
//! work (array, afterok merge, the signal before the limit), and, without a batch system, each
//! script run as its scheduler would run it: the array tasks' scripts with the variables that
//! scheduler sets, then the merge script, whose merged results must hold every planned run
//! once. The submit scripts run against stand-in qsub/bsub/sbatch that record their arguments.
//! A real SLURM and a real Grid Engine run them in tests/slurm/run.sh and tests/gridengine/run.sh.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::batch::{ids, plan_ids, sorted, whole_rows, Sweep};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn script(rel: &str) -> PathBuf {
    repo().join("configs").join(rel)
}

fn text(rel: &str) -> String {
    std::fs::read_to_string(script(rel)).unwrap()
}

const SCRIPTS: [&str; 12] = [
    "slurm/sweep.sbatch",
    "slurm/merge.sbatch",
    "slurm/submit.sh",
    "pbs/sweep.pbs",
    "pbs/merge.pbs",
    "pbs/submit.sh",
    "lsf/sweep.lsf",
    "lsf/merge.lsf",
    "lsf/submit.sh",
    "sge/sweep.sge",
    "sge/merge.sge",
    "sge/submit.sh",
];

#[test]
fn every_job_script_parses_and_merges_in_one_marked_line() {
    for rel in SCRIPTS {
        let out = Command::new("bash")
            .arg("-n")
            .arg(script(rel))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "bash -n {rel}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let body = text(rel);
        assert!(body.starts_with("#!/bin/bash\n"), "{rel}");
        if rel.contains("/merge.") {
            let marked: Vec<_> = body
                .lines()
                .filter(|l| l.starts_with("# ---- MERGE"))
                .collect();
            assert_eq!(marked.len(), 1, "{rel}: one marked merge line");
        }
        if rel.ends_with("submit.sh") {
            let mode = std::fs::metadata(script(rel)).unwrap().permissions().mode();
            assert!(mode & 0o111 != 0, "{rel} is not executable");
        }
    }
}

/// The lines of `rel` that start with `prefix` (the scheduler's directives).
fn directives(rel: &str, prefix: &str) -> Vec<String> {
    text(rel)
        .lines()
        .filter(|l| l.starts_with(prefix))
        .map(|l| l[prefix.len()..].trim().to_string())
        .collect()
}

#[test]
fn the_directives_ask_for_the_signal_before_the_limit_and_the_merge_after_success() {
    let slurm = directives("slurm/sweep.sbatch", "#SBATCH");
    for want in ["--signal=B:USR1@120", "--requeue", "--open-mode=append"] {
        assert!(slurm.iter().any(|d| d == want), "sweep.sbatch lacks {want}");
    }
    assert!(text("slurm/submit.sh").contains("--dependency=\"afterok:$array\""));

    let pbs = directives("pbs/sweep.pbs", "#PBS");
    assert!(pbs.iter().any(|d| d.starts_with("-l walltime=")), "{pbs:?}");
    assert!(pbs.contains(&"-r y".to_string()), "{pbs:?}");
    assert!(text("pbs/sweep.pbs").contains("timeout --preserve-status --signal=USR1"));
    let submit = text("pbs/submit.sh");
    assert!(submit.contains("-W depend=\"$after:$array\""));
    assert!(submit.contains("array_option=(-J \"$range\") after=afterok"));
    assert!(submit.contains("NNSWEEP_ARRAY=$range"));

    let lsf = directives("lsf/sweep.lsf", "#BSUB");
    for want in ["-wa USR1", "-wt 2"] {
        assert!(
            lsf.iter().any(|d| d == want),
            "sweep.lsf lacks {want}: {lsf:?}"
        );
    }
    assert!(lsf.iter().any(|d| d.starts_with("-W ")), "{lsf:?}");
    let submit = text("lsf/submit.sh");
    assert!(submit.contains("-w \"done($array)\" -ti"));
    assert!(submit.contains("-J \"nnsweep[$range]\""));

    // Grid Engine: USR1 at s_rt, KILL at h_rt; the gap must exceed nnsweep's default grace.
    let sge = directives("sge/sweep.sge", "#$");
    let limits = sge
        .iter()
        .find_map(|d| d.strip_prefix("-l "))
        .expect("an -l line");
    let seconds = |key: &str| -> u64 {
        let v = limits
            .split(',')
            .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
            .unwrap();
        v.split(':')
            .fold(0, |acc, p| acc * 60 + p.parse::<u64>().unwrap())
    };
    assert!(seconds("h_rt") >= seconds("s_rt") + 60, "{limits}");
    assert!(sge.contains(&"-cwd".to_string()) && sge.contains(&"-S /bin/bash".to_string()));
    assert!(text("sge/submit.sh").contains("-hold_jid \"$array\""));
}

/// A folder with stand-ins for the scheduler's commands: each logs its arguments to
/// `<dir>/log` and prints what the real one prints on submission.
fn fake_scheduler(dir: &Path) -> PathBuf {
    let bin = dir.join("fake-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let write = |name: &str, body: &str| {
        let path = bin.join(name);
        std::fs::write(&path, format!("#!/bin/bash\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    let log = dir.join("log");
    let log = log.display();
    // PBS Pro: "qsub" prints "<n>[].server" for an array, "<n>.server" otherwise.
    write(
        "qsub",
        &format!(
            "echo \"qsub $*\" >>{log}; n=$(wc -l <{log}); \
             case \" $* \" in *\" -J \"*) echo \"$n[].server\";; \
             *\" -t \"*) echo \"$n.1-3:1\";; *) echo \"$n.server\";; esac"
        ),
    );
    write(
        "qstat",
        "case \"$*\" in --version) echo 'pbs_version = 2022.1.0';; \
         -f*) echo '    Resource_List.walltime = 00:10:00';; esac",
    );
    write(
        "bsub",
        &format!(
            "echo \"bsub $* <$(grep -m1 '^#BSUB -J' | cut -d' ' -f3)\" >>{log}; \
             echo \"Job <$(wc -l <{log})> is submitted to queue <normal>.\""
        ),
    );
    bin
}

/// Copies the configs folder's scripts and a small sweep into `dir`, as a user's checkout.
fn checkout(dir: &Path) -> PathBuf {
    for sub in ["pbs", "lsf", "sge"] {
        let to = dir.join("configs").join(sub);
        std::fs::create_dir_all(&to).unwrap();
        for entry in std::fs::read_dir(script(sub)).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
    Sweep::fast("jobs").write(dir)
}

/// `bash SCRIPT ARGS` in `dir`, in a clean environment (no batch variables of the machine
/// running the tests) with the stand-in scheduler commands first on PATH.
fn bash(dir: &Path, bin: &Path, script: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("bash");
    cmd.current_dir(dir)
        .env_clear()
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .env("NNSWEEP", env!("CARGO_BIN_EXE_nnsweep"))
        .arg(dir.join(script))
        .args(args);
    cmd
}

fn ok(mut cmd: Command, what: &str) -> String {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{what}: {stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned() + &stderr
}

/// Runs the array's task scripts with `vars(k)` as the scheduler would set them, then the
/// merge, and checks the merged results.
fn array_then_merge(
    dir: &Path,
    bin: &Path,
    sweep: (&str, &[&str]),
    vars: impl Fn(usize) -> Vec<(String, String)>,
    merge: (&str, &[&str], Vec<(String, String)>),
) {
    for k in 0..3 {
        let mut cmd = bash(dir, bin, sweep.0, sweep.1);
        cmd.envs(vars(k));
        let log = ok(cmd, &format!("{} task {k}", sweep.0));
        if sweep.0.ends_with(".pbs") {
            // The stand-in qstat says walltime 00:10:00: USR1 from `timeout` 120 s before it.
            assert!(
                log.contains("(walltime 00:10:00, USR1 after 480 s)"),
                "{log}"
            );
        }
        assert!(log.contains(&format!("shard {k}/3: 4 of 12 runs")), "{log}");
    }
    let mut cmd = bash(dir, bin, merge.0, merge.1);
    cmd.envs(merge.2);
    let log = ok(cmd, merge.0);
    assert!(
        log.contains("merged 3 shards into results/jobs.csv: 12 runs"),
        "{log}"
    );
    let rows = whole_rows(&dir.join("results/jobs.csv"));
    assert_eq!(ids(&rows), sorted(plan_ids(&dir.join("jobs.toml"))));
    assert!(dir.join("results/jobs/summary.md").exists());
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn pbs_scripts_submit_run_each_subjob_and_merge() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    checkout(d);
    let bin = fake_scheduler(d);
    let out = ok(
        bash(d, &bin, "configs/pbs/submit.sh", &["jobs.toml", "3"]),
        "submit",
    );
    assert!(out.contains("array job 1[].server"), "{out}");
    let log = std::fs::read_to_string(d.join("log")).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert!(
        lines[0].starts_with("qsub -J 0-2 -v NNSWEEP_CONFIG=jobs.toml,NNSWEEP_ARRAY=0-2,"),
        "{log}"
    );
    assert!(
        lines[1].starts_with(
            "qsub -W depend=afterok:1[].server -v NNSWEEP_CONFIG=jobs.toml,NNSWEEP_TASKS=3"
        ),
        "{log}"
    );
    let config = |extra: &[(&str, &str)]| {
        let mut v = pairs(&[("NNSWEEP_CONFIG", "jobs.toml"), ("PBS_O_WORKDIR", ".")]);
        v.extend(pairs(extra));
        v
    };
    array_then_merge(
        d,
        &bin,
        ("configs/pbs/sweep.pbs", &[]),
        |k| {
            let mut v = config(&[
                ("PBS_JOBID", "1[].server"),
                ("NNSWEEP_ARRAY", "0-2"),
                ("NCPUS", "1"),
            ]);
            v.push(("PBS_ARRAY_INDEX".into(), k.to_string()));
            v
        },
        (
            "configs/pbs/merge.pbs",
            &[],
            config(&[("NNSWEEP_TASKS", "3"), ("PBS_JOBID", "2.server")]),
        ),
    );
}

#[test]
fn lsf_scripts_submit_run_each_element_and_merge() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    checkout(d);
    let bin = fake_scheduler(d);
    ok(
        bash(
            d,
            &bin,
            "configs/lsf/submit.sh",
            &["jobs.toml", "3", "-n", "1"],
        ),
        "submit",
    );
    let log = std::fs::read_to_string(d.join("log")).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines[0], "bsub -J nnsweep[1-3] -n 1 <nnsweep", "{log}");
    assert_eq!(lines[1], "bsub -w done(1) -ti <nnsweep-merge", "{log}");
    let env = pairs(&[
        ("NNSWEEP_CONFIG", "jobs.toml"),
        ("LSB_JOBID", "1"),
        ("LSB_DJOB_NUMPROC", "1"),
    ]);
    array_then_merge(
        d,
        &bin,
        ("configs/lsf/sweep.lsf", &[]),
        |k| {
            let mut v = env.clone();
            v.extend(pairs(&[
                ("LSB_JOBINDEX_END", "3"),
                ("NNSWEEP_ARRAY", "1-3"),
            ]));
            v.push(("LSB_JOBINDEX".into(), (k + 1).to_string()));
            v
        },
        ("configs/lsf/merge.lsf", &[], {
            let mut v = env.clone();
            v.extend(pairs(&[("NNSWEEP_TASKS", "3"), ("LSB_JOBINDEX", "0")]));
            v
        }),
    );
}

#[test]
fn grid_engine_scripts_run_each_task_and_merge() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    checkout(d);
    let bin = fake_scheduler(d);
    ok(
        bash(d, &bin, "configs/sge/submit.sh", &["jobs.toml", "3"]),
        "submit",
    );
    let log = std::fs::read_to_string(d.join("log")).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert!(
        lines[0].starts_with("qsub -terse -t 1-3 -v NNSWEEP "),
        "{log}"
    );
    assert!(
        lines[0].ends_with("configs/sge/sweep.sge jobs.toml"),
        "{log}"
    );
    assert!(
        lines[1].starts_with("qsub -terse -hold_jid 1 -v NNSWEEP "),
        "{log}"
    );
    assert!(
        lines[1].ends_with("configs/sge/merge.sge jobs.toml 3"),
        "{log}"
    );
    array_then_merge(
        d,
        &bin,
        ("configs/sge/sweep.sge", &["jobs.toml"]),
        |k| {
            let mut v = pairs(&[
                ("JOB_ID", "1"),
                ("SGE_TASK_FIRST", "1"),
                ("SGE_TASK_LAST", "3"),
                ("SGE_TASK_STEPSIZE", "1"),
                ("NSLOTS", "1"),
            ]);
            v.push(("SGE_TASK_ID".into(), (k + 1).to_string()));
            v
        },
        (
            "configs/sge/merge.sge",
            &["jobs.toml", "3"],
            pairs(&[
                ("JOB_ID", "2"),
                ("SGE_TASK_ID", "undefined"),
                ("NSLOTS", "1"),
            ]),
        ),
    );
}
