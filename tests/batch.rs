//! Batch-job behaviour through the real binary: kills, signals, resume, shards, and results
//! files of another config. Small circles sweeps in temp folders; nothing from /work/shared.

mod common;

use std::io::Write;
use std::time::Duration;

use common::batch::{
    ids, plan_ids, process as nnsweep, sorted, wait_for_rows, whole_rows, Running, Sweep,
};

const LONG: Duration = Duration::from_secs(120);

#[test]
fn a_sweep_killed_with_sigkill_resumes_with_every_run_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = Sweep::slow("killed");
    let config = sweep.write(dir.path());
    let out = dir.path().join("results/killed.csv");
    let mut run = Running::start({
        let mut c = nnsweep(dir.path());
        c.args(["run", "killed.toml", "--threads", "2"]);
        c
    });
    wait_for_rows(&out, 3, LONG);
    run.child.kill().unwrap();
    run.wait(LONG);
    let before = nnsweep::results::read_records(&out).unwrap();
    assert!(
        before.len() < sweep.runs(),
        "the sweep ended before the kill"
    );
    // A kill inside a write leaves a partial last line: it must not be glued to the next row.
    let mut f = std::fs::OpenOptions::new().append(true).open(&out).unwrap();
    f.write_all(b"h8_eta0.01_l2=0_steps3000_seed7,circles,40")
        .unwrap();
    drop(f);

    let again = nnsweep(dir.path())
        .args(["run", "killed.toml", "--threads", "2"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("cut off a partial last line"), "{stderr}");
    assert!(
        stderr.contains(&format!("{} already in", before.len())),
        "{stderr}"
    );
    let after = whole_rows(&out);
    assert_eq!(ids(&after), sorted(plan_ids(&config)));
    // Rows written before the kill are kept as they were.
    assert_eq!(after[..before.len()], before[..]);
}

#[test]
fn sigterm_exits_3_with_rows_flushed_and_the_same_command_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = Sweep::slow("termed");
    let config = sweep.write(dir.path());
    let out = dir.path().join("results/termed.csv");
    let mut run = Running::start({
        let mut c = nnsweep(dir.path());
        c.args(["run", "termed.toml", "--threads", "2"]);
        c
    });
    wait_for_rows(&out, 2, LONG);
    run.signal("TERM");
    let (code, _) = run.wait(LONG);
    let stderr = run.stderr_text();
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("SIGTERM: stopping"), "{stderr}");
    assert!(stderr.contains("stopped by SIGTERM"), "{stderr}");
    assert!(
        stderr.contains("to resume, run again: nnsweep run termed.toml --threads 2"),
        "{stderr}"
    );
    // With the default grace, the runs in flight finished and wrote their rows.
    assert!(stderr.contains(", 0 abandoned"), "{stderr}");
    let first = whole_rows(&out);
    assert!(first.len() >= 2 && first.len() < sweep.runs(), "{stderr}");

    let again = nnsweep(dir.path())
        .args(["run", "termed.toml", "--threads", "2"])
        .output()
        .unwrap();
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(ids(&whole_rows(&out)), sorted(plan_ids(&config)));
}

/// How soon a process must end once its run is abandoned: far less than the run's own time
/// (`one_long_run`: 50 million steps, about 3 hours in the test profile by `nnsweep plan`), far
/// more than a step and the exit take on a loaded, cold machine.
const ABANDONED_WITHIN: Duration = Duration::from_secs(60);

/// One run long enough (minutes) that only abandoning it ends the process quickly.
fn one_long_run(dir: &std::path::Path) -> Sweep {
    let sweep = Sweep {
        steps: 50_000_000,
        hidden: vec![8],
        etas: vec![5e-3],
        seeds: 1,
        ..Sweep::fast("long")
    };
    sweep.write(dir);
    sweep
}

#[test]
fn grace_0_abandons_the_runs_in_flight_at_once() {
    let dir = tempfile::tempdir().unwrap();
    one_long_run(dir.path());
    let mut run = Running::start({
        let mut c = nnsweep(dir.path());
        c.args(["run", "long.toml", "--grace", "0"]);
        c
    });
    run.wait_for_line("nnsweep 0.", LONG);
    // Not a fixed sleep: on a loaded machine the signal could come before the worker took the
    // run, which then counts as "not started", not "abandoned".
    run.wait_for_training(LONG);
    run.signal("TERM");
    let (code, took) = run.wait(LONG);
    let stderr = run.stderr_text();
    assert_eq!(code, Some(3), "{stderr}");
    // The run needs many minutes; abandoning it takes a step. The bound allows a slow machine.
    assert!(took < ABANDONED_WITHIN, "took {took:?}: {stderr}");
    assert!(stderr.contains("1 abandoned"), "{stderr}");
    assert!(whole_rows(&dir.path().join("results/long.csv")).is_empty());
}

#[test]
fn a_second_sigint_abandons_without_waiting_for_the_grace_time() {
    let dir = tempfile::tempdir().unwrap();
    one_long_run(dir.path());
    let mut run = Running::start({
        let mut c = nnsweep(dir.path());
        c.args(["run", "long.toml", "--grace", "600"]);
        c
    });
    run.wait_for_line("nnsweep 0.", LONG);
    // A first SIGINT before the worker took the run would end the sweep with the run not
    // started, before the second SIGINT.
    run.wait_for_training(LONG);
    run.signal("INT");
    run.wait_for_line("SIGINT: stopping", LONG);
    run.signal("INT");
    let (code, took) = run.wait(LONG);
    let stderr = run.stderr_text();
    assert_eq!(code, Some(3), "{stderr}");
    assert!(took < ABANDONED_WITHIN, "took {took:?}: {stderr}");
    assert!(stderr.contains("SIGINT again"), "{stderr}");
}

#[test]
fn shards_together_equal_the_unsharded_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = Sweep::fast("sharded");
    let config = sweep.write(dir.path());
    let whole = nnsweep(dir.path())
        .args(["run", "sharded.toml", "--out", "all.csv", "--threads", "2"])
        .output()
        .unwrap();
    assert!(whole.status.success());
    let all = whole_rows(&dir.path().join("all.csv"));
    assert_eq!(ids(&all), sorted(plan_ids(&config)));

    // Shard 0 by --shard, shard 1 from a SLURM job array's variables, shard 2 by --shard.
    let mut shard_rows = Vec::new();
    for i in 0..3 {
        let mut cmd = nnsweep(dir.path());
        cmd.args(["run", "sharded.toml"]);
        if i == 1 {
            cmd.env("SLURM_ARRAY_TASK_ID", "11")
                .env("SLURM_ARRAY_TASK_MIN", "10")
                .env("SLURM_ARRAY_TASK_MAX", "12")
                .env("SLURM_ARRAY_TASK_COUNT", "3")
                .env("SLURM_CPUS_PER_TASK", "1");
        } else {
            cmd.args(["--shard", &format!("{i}/3")]);
        }
        let output = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        assert!(
            stderr.contains(&format!("shard {i}/3: 4 of 12 runs")),
            "{stderr}"
        );
        if i == 1 {
            assert!(stderr.contains(", 1 threads"), "{stderr}");
        }
        let rows = whole_rows(
            &dir.path()
                .join(format!("results/sharded.shard-{i}-of-3.csv")),
        );
        let plan = plan_ids(&config);
        assert!(rows
            .iter()
            .all(|r| plan.iter().position(|id| *id == r.run_id).unwrap() % 3 == i));
        shard_rows.extend(rows);
    }
    let mut sharded = shard_rows.clone();
    let mut unsharded = all.clone();
    for r in sharded.iter_mut().chain(unsharded.iter_mut()) {
        r.seconds = 0.0;
    }
    sharded.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    unsharded.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    assert_eq!(sharded, unsharded);

    let report = nnsweep(dir.path())
        .args(["report"])
        .args((0..3).map(|i| format!("results/sharded.shard-{i}-of-3.csv")))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&report.stderr);
    assert!(report.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&report.stdout);
    assert!(stdout.contains("over 12 runs"), "{stdout}");
}

#[test]
fn impossible_shards_are_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    Sweep::fast("bad").write(dir.path());
    let by_flag = nnsweep(dir.path())
        .args(["run", "bad.toml", "--shard", "3/3"])
        .output()
        .unwrap();
    assert_eq!(by_flag.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&by_flag.stderr).contains("0/3 to 2/3"));
    let by_slurm = nnsweep(dir.path())
        .args(["run", "bad.toml"])
        .env("SLURM_ARRAY_TASK_ID", "4")
        .env("SLURM_ARRAY_TASK_COUNT", "3")
        .env("SLURM_ARRAY_TASK_MIN", "0")
        .env("SLURM_ARRAY_TASK_MAX", "4")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&by_slurm.stderr);
    assert_eq!(by_slurm.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--shard I/N"), "{stderr}");
    assert!(!dir.path().join("results").exists());
}

#[test]
fn another_configs_results_are_refused_unless_forced_and_fresh_keeps_them_aside() {
    let dir = tempfile::tempdir().unwrap();
    let first = Sweep::fast("same");
    first.write(dir.path());
    assert!(nnsweep(dir.path())
        .args(["run", "same.toml"])
        .output()
        .unwrap()
        .status
        .success());
    let out = dir.path().join("results/same.csv");
    let original = std::fs::read(&out).unwrap();

    // Same name, other data: another config hash.
    let second = Sweep {
        noise: 0.2,
        ..first.clone()
    };
    let config = second.write(dir.path());
    let refused = nnsweep(dir.path())
        .args(["run", "same.toml"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("another config"), "{stderr}");
    assert!(stderr.contains("--force"), "{stderr}");
    assert_eq!(std::fs::read(&out).unwrap(), original);

    let forced = nnsweep(dir.path())
        .args(["run", "same.toml", "--force"])
        .output()
        .unwrap();
    assert!(
        forced.status.success(),
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );
    let rows = whole_rows_by_hash(&out);
    assert_eq!(rows.len(), 2, "two config hashes in the file");
    assert!(rows.values().all(|ids| *ids == sorted(plan_ids(&config))));
    let mixed = std::fs::read(&out).unwrap();

    let fresh = nnsweep(dir.path())
        .args(["run", "same.toml", "--fresh"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&fresh.stderr);
    assert!(fresh.status.success(), "{stderr}");
    assert!(stderr.contains("--fresh: moved"), "{stderr}");
    let kept: Vec<_> = std::fs::read_dir(dir.path().join("results"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".old-"))
        .collect();
    assert_eq!(kept.len(), 2, "results and curves kept aside: {kept:?}");
    let old = kept
        .iter()
        .find(|n| n.starts_with("same.csv.old-"))
        .unwrap();
    assert_eq!(
        std::fs::read(dir.path().join("results").join(old)).unwrap(),
        mixed
    );
    assert_eq!(whole_rows_by_hash(&out).len(), 1);
    assert_eq!(ids(&whole_rows(&out)), sorted(plan_ids(&config)));
}

/// Sorted run ids of a results file, by config hash.
fn whole_rows_by_hash(path: &std::path::Path) -> std::collections::BTreeMap<String, Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.ends_with('\n'));
    let mut by = std::collections::BTreeMap::<String, Vec<String>>::new();
    for r in nnsweep::results::read_records(path).unwrap() {
        by.entry(r.config_hash).or_default().push(r.run_id);
    }
    by.values_mut().for_each(|v| v.sort());
    by
}

/// One 3-task array in the words of each batch system nnsweep knows.
fn array_task(system: &str, k: usize) -> Vec<(&'static str, String)> {
    let (id0, id1) = (k.to_string(), (k + 1).to_string());
    let v = |pairs: &[(&'static str, &str)]| {
        pairs
            .iter()
            .map(|(n, v)| (*n, v.to_string()))
            .collect::<Vec<_>>()
    };
    match system {
        "SLURM" => v(&[
            ("SLURM_JOB_ID", "10"),
            ("SLURM_ARRAY_TASK_ID", &id0),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_MAX", "2"),
            ("SLURM_CPUS_PER_TASK", "1"),
        ]),
        // qsub -J 0-2 -v NNSWEEP_ARRAY=0-2 (configs/pbs/submit.sh)
        "PBS Pro" => v(&[
            ("PBS_JOBID", "10[0].server"),
            ("PBS_ARRAY_INDEX", &id0),
            ("NNSWEEP_ARRAY", "0-2"),
            ("NCPUS", "1"),
        ]),
        // qsub -t 1-3 -v NNSWEEP_ARRAY=1-3
        "Torque" => v(&[
            ("PBS_JOBID", "10[1].server"),
            ("PBS_ARRAYID", &id1),
            ("NNSWEEP_ARRAY", "1-3"),
            ("PBS_NUM_PPN", "1"),
        ]),
        // bsub -J "x[1-3]"
        "LSF" => v(&[
            ("LSB_JOBID", "10"),
            ("LSB_JOBINDEX", &id1),
            ("LSB_JOBINDEX_END", "3"),
            ("LSB_JOBINDEX_STEP", "1"),
            ("LSB_DJOB_NUMPROC", "1"),
        ]),
        // qsub -t 1-3 (what a real Grid Engine set, tests/gridengine/run.sh)
        "Grid Engine" => v(&[
            ("JOB_ID", "10"),
            ("SGE_TASK_ID", &id1),
            ("SGE_TASK_FIRST", "1"),
            ("SGE_TASK_LAST", "3"),
            ("SGE_TASK_STEPSIZE", "1"),
            ("NSLOTS", "1"),
        ]),
        _ => unreachable!(),
    }
}

#[test]
fn every_batch_systems_array_variables_give_the_same_shards_as_slurms() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = Sweep::fast("arrays");
    let config = sweep.write(dir.path());
    let plan = plan_ids(&config);
    let mut by_system = Vec::new();
    for system in ["SLURM", "PBS Pro", "Torque", "LSF", "Grid Engine"] {
        let mut shards = Vec::new();
        for k in 0..3 {
            let out = format!("{system}-{k}.csv").replace(' ', "_");
            let output = nnsweep(dir.path())
                .args(["run", "arrays.toml", "--out", &out])
                .envs(array_task(system, k))
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(output.status.success(), "{system} task {k}: {stderr}");
            let first = stderr.lines().next().unwrap();
            // The first log line says the shard, the threads, and which variables said so.
            assert!(
                first.contains(&format!("shard {k}/3: 4 of 12 runs")),
                "{first}"
            );
            assert!(first.contains(", 1 threads"), "{first}");
            assert!(
                first.contains(&format!("{system} job: shard from {system} (")),
                "{first}"
            );
            let rows = whole_rows(&dir.path().join(&out));
            assert!(rows
                .iter()
                .all(|r| plan.iter().position(|id| *id == r.run_id).unwrap() % 3 == k));
            shards.push(ids(&rows));
        }
        by_system.push((system, shards));
    }
    let (_, slurm) = &by_system[0];
    assert_eq!(
        sorted(slurm.concat()),
        sorted(plan.clone()),
        "SLURM's shards hold every run once"
    );
    for (system, shards) in &by_system[1..] {
        assert_eq!(shards, slurm, "{system}'s shards differ from SLURM's");
    }
}

#[test]
fn inconsistent_batch_variables_are_bad_input_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    Sweep::fast("incons").write(dir.path());
    let cases: [(&[(&str, &str)], &str); 3] = [
        (
            &[("PBS_JOBID", "1[2]"), ("PBS_ARRAY_INDEX", "2")],
            "NNSWEEP_ARRAY",
        ),
        (
            &[
                ("JOB_ID", "4"),
                ("SGE_TASK_ID", "7"),
                ("SGE_TASK_FIRST", "1"),
                ("SGE_TASK_LAST", "3"),
                ("SGE_TASK_STEPSIZE", "1"),
            ],
            "SGE_TASK_ID",
        ),
        (
            &[
                ("LSB_JOBID", "4"),
                ("LSB_JOBINDEX", "0"),
                ("LSB_DJOB_NUMPROC", "two"),
            ],
            "LSB_DJOB_NUMPROC=two",
        ),
    ];
    for (vars, needle) in cases {
        let output = nnsweep(dir.path())
            .args(["run", "incons.toml"])
            .envs(vars.iter().copied())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{vars:?}: {stderr}");
        assert!(stderr.contains(needle), "{vars:?}: {stderr}");
    }
    // --shard and --threads override whatever the batch system says.
    let output = nnsweep(dir.path())
        .args(["run", "incons.toml", "--shard", "1/2", "--threads", "1"])
        .envs(cases[1].0.iter().copied())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("shard 1/2: 6 of 12 runs"), "{stderr}");
    assert!(!dir.path().join("results/incons.csv").exists());
}
