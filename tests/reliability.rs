//! Issue 11 through the real binary: one test per class of careless or hostile input (data
//! loss, duplicates, memory, panics, degenerate data, signals, lost work). Each asserts the
//! promised behaviour: a clear error with its exit code, files left byte for byte unchanged,
//! no run trained twice.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{circles_config, nnsweep, write};
use nnsweep::results::read_records;
use predicates::prelude::*;
use predicates::str::contains;

const GRID: &str = "hidden = [3]\neta = [0.05]\nseed = [0, 1]";

#[test]
fn data_loss_a_file_nnsweep_did_not_write_is_refused_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "s.toml", &circles_config("s", 20, GRID));
    let columns = nnsweep::results::COLUMNS.join(",");
    let swapped = columns.replace("train_acc,test_acc", "test_acc,train_acc");
    for (name, text) in [
        ("p.txt", "notes".to_string()),
        ("swapped.csv", format!("{swapped}\n")),
        ("extra.csv", format!("{columns},extra\n")),
    ] {
        let path = write(dir.path(), name, &text);
        nnsweep(dir.path())
            .args(["run", "s.toml", "--out", name])
            .assert()
            .code(2)
            .stderr(contains(name));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "{name}");
    }
    // A results file with a UTF-8 BOM (saved by an editor) is resumed by `run` and read by
    // `report` alike.
    nnsweep(dir.path())
        .args(["run", "s.toml", "--out", "bom.csv"])
        .assert()
        .success();
    let mut with_bom = b"\xEF\xBB\xBF".to_vec();
    with_bom.extend(std::fs::read(dir.path().join("bom.csv")).unwrap());
    std::fs::write(dir.path().join("bom.csv"), &with_bom).unwrap();
    let more = circles_config("s", 20, "hidden = [3]\neta = [0.05]\nseed = [0, 1, 2]");
    write(dir.path(), "s.toml", &more);
    nnsweep(dir.path())
        .args(["run", "s.toml", "--out", "bom.csv"])
        .assert()
        .success()
        .stderr(contains("1 to train"));
    assert_eq!(read_records(&dir.path().join("bom.csv")).unwrap().len(), 3);
    nnsweep(dir.path())
        .args(["report", "bom.csv"])
        .assert()
        .success();
}

#[test]
fn duplicates_two_runs_on_one_results_file_train_each_run_once() {
    let dir = tempfile::tempdir().unwrap();
    let grid = "hidden = [8]\neta = [0.05]\nseed = [0, 1, 2, 3]";
    let config = circles_config("s", 20_000, grid).replace("log_every = 0", "log_every = 5000");
    write(dir.path(), "s.toml", &config);
    let bin = assert_cmd::cargo::cargo_bin("nnsweep");
    let start = || {
        Command::new(&bin)
            .current_dir(dir.path())
            .args(["run", "s.toml", "--threads", "1"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let first = start();
    // Wait until the first holds the lock and has named itself in the sweep's folder. Not
    // until the file exists: it is created empty, then written, and a second run started in
    // between read no pid.
    let lock = dir.path().join("results/s/lock");
    let holder = format!("pid {}", first.id());
    let until = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(&lock).is_ok_and(|t| t.contains(&holder)) {
        assert!(Instant::now() < until, "the first run never took the lock");
        std::thread::sleep(Duration::from_millis(10));
    }
    let second = start().wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&holder), "{stderr}");
    let first = first.wait_with_output().unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let ids: Vec<String> = read_records(&dir.path().join("results/s.csv"))
        .unwrap()
        .into_iter()
        .map(|r| r.run_id)
        .collect();
    assert_eq!(ids.len(), 4, "{ids:?}");
    let curves = std::fs::read_to_string(dir.path().join("results/s/curves.csv")).unwrap();
    assert_eq!(curves.matches("run_id").count(), 1, "{curves}");
}

/// Runs the binary with its address space capped (setrlimit), as a small cluster node would.
fn capped(dir: &Path, args: &[&str], bytes: u64) -> std::process::Output {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("nnsweep"));
    cmd.current_dir(dir).args(args);
    // SAFETY: setrlimit is async-signal-safe and touches only this child's limits.
    unsafe {
        cmd.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: bytes as libc::rlim_t,
                rlim_max: bytes as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.output().unwrap()
}

#[test]
fn memory_size_and_pickle_bombs_are_refused_in_a_capped_child() {
    let dir = tempfile::tempdir().unwrap();
    let cap = 3 << 30;
    // A sane sweep runs under the cap: the cap itself is not what fails the others.
    write(dir.path(), "ok.toml", &circles_config("ok", 10, GRID));
    let out = capped(dir.path(), &["plan", "ok.toml"], cap);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("memory:"));
    let cases = [
        (
            "wide.toml",
            circles_config("w", 10, "hidden = [1000000000]\neta = [0.1]\nseed = [0]"),
            "grid.hidden",
        ),
        (
            "huge.toml",
            circles_config(
                "h",
                10,
                "hidden = [[1000000000000000000, 1000000000000000000]]\neta = [0.1]\nseed = [0]",
            ),
            "overflows",
        ),
        (
            "many.toml",
            circles_config("m", 10, GRID).replace("samples = 200", "samples = 1000000000000"),
            "data.samples",
        ),
    ];
    for (name, text, key) in &cases {
        write(dir.path(), name, text);
        for command in ["plan", "run"] {
            let out = capped(dir.path(), &[command, name], cap);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{command} {name}: {stderr}");
            assert!(stderr.contains(key) && stderr.contains("needs"), "{stderr}");
        }
    }
    // 29 nested tuples of 1000 memo references each: a few hundred bytes gzip'd.
    let mut p = b"\x80\x02Nq\x00".to_vec();
    for level in 1..=29u8 {
        p.push(b'(');
        for _ in 0..1000 {
            p.extend([b'h', level - 1]);
        }
        p.extend([b't', b'q', level]);
    }
    p.push(b'.');
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut gz, &p).unwrap();
    let gz = gz.finish().unwrap();
    assert!(gz.len() < 1000, "{}", gz.len());
    std::fs::write(dir.path().join("bomb.pkl.gz"), &gz).unwrap();
    let mnist =
        "name = \"b\"\n[data]\nkind = \"mnist\"\npath = \"bomb.pkl.gz\"\n[train]\nsteps = 1\n\
                 [grid]\nhidden = [3]\neta = [0.1]\nseed = [0]\n";
    write(dir.path(), "bomb.toml", mnist);
    let out = capped(dir.path(), &["plan", "bomb.toml"], cap);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("bomb.pkl.gz") && stderr.contains("would take more"),
        "{stderr}"
    );
}

#[test]
fn panics_absurd_thread_counts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "s.toml", &circles_config("s", 10, GRID));
    nnsweep(dir.path())
        .args(["run", "s.toml", "--threads", "100000"])
        .assert()
        .code(2)
        .stderr(contains("--threads"));
    assert!(!dir.path().join("results/s.csv").exists());
}

#[test]
fn wrong_result_degenerate_data_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let csv = |name: &str, rows: &str| {
        write(dir.path(), name, &format!("a,b,label\n{rows}"));
        write(
            dir.path(),
            "t.toml",
            &format!(
                "name = \"t\"\n[data]\nkind = \"csv\"\npath = \"{name}\"\nlabel_column = \
                 \"label\"\n[train]\nsteps = 5\n[grid]\nhidden = [3]\neta = [0.1]\nseed = [0]\n"
            ),
        );
    };
    csv("one.csv", &"0.1,0.2,1\n0.3,0.4,1\n".repeat(10));
    nnsweep(dir.path())
        .args(["run", "t.toml"])
        .assert()
        .code(2)
        .stderr(contains("one.csv").and(contains("two")));
    assert!(!dir.path().join("results/t.csv").exists());
}

/// Waits until process `pid` catches `signal` (its bit in /proc/PID/status's SigCgt mask).
fn wait_for_handler(pid: u32, signal: i32) {
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let caught = status
            .lines()
            .find_map(|l| l.strip_prefix("SigCgt:"))
            .map(|mask| u64::from_str_radix(mask.trim(), 16).unwrap())
            .unwrap();
        if caught & (1 << (signal - 1)) != 0 {
            return;
        }
        assert!(
            Instant::now() < until,
            "the child never installed its handler"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn signals_a_stop_while_the_data_load_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    // The data come through a pipe: loading waits until the test writes them, so the signal
    // lands during the load every time.
    let fifo = dir.path().join("slow.csv");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo reads the NUL-terminated path we own.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    write(
        dir.path(),
        "t.toml",
        "name = \"t\"\n[data]\nkind = \"csv\"\npath = \"slow.csv\"\nlabel_column = \"label\"\n\
         [train]\nsteps = 5\n[grid]\nhidden = [3]\neta = [0.1]\nseed = [0]\n",
    );
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("nnsweep"))
        .current_dir(dir.path())
        .args(["run", "t.toml"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A fixed sleep raced the child's start on a loaded machine (SIGUSR1's default action kills):
    // wait until the process has its handler, as the kernel reports it.
    wait_for_handler(child.id(), libc::SIGUSR1);
    // SAFETY: kill sends a signal to the child we started.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGUSR1) }, 0);
    // The data go in once the child has taken the signal in (it says so after noting it), not
    // after a fixed sleep: a load ended before the signal was noted goes on to train.
    let mut stderr = String::new();
    let mut lines = BufReader::new(child.stderr.take().unwrap());
    while !stderr.contains("SIGUSR1: stopping") {
        assert!(
            lines.read_line(&mut stderr).unwrap() > 0,
            "the child ended before it noted SIGUSR1: {stderr}"
        );
    }
    std::fs::write(&fifo, "a,b,label\n0,1,0\n1,0,1\n0,0,0\n1,1,1\n0.5,0.5,0\n").unwrap();
    lines.read_to_string(&mut stderr).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("SIGUSR1"), "{stderr}");
    assert!(!dir.path().join("results/t.csv").exists());
}

#[test]
fn lost_work_a_failed_write_names_its_file_and_long_model_names_are_found_by_plan() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "s.toml",
        &circles_config("s", 10, GRID).replace("log_every = 0", "log_every = 5"),
    );
    // The curves file cannot be written (a folder stands in its place): the message names it.
    std::fs::create_dir_all(dir.path().join("results/s/curves.csv")).unwrap();
    nnsweep(dir.path())
        .args(["run", "s.toml"])
        .assert()
        .code(2)
        .stderr(contains("results/s/curves.csv"));
    // A device is not a results file: refused at once (reading /dev/zero would never end).
    nnsweep(dir.path())
        .args(["run", "s.toml", "--out", "/dev/zero"])
        .timeout(Duration::from_secs(20))
        .assert()
        .code(2)
        .stderr(contains("/dev/zero").and(contains("not a regular file")));
    let deep = vec!["10"; 100].join(", ");
    let config = circles_config(
        "d",
        10,
        &format!("hidden = [[{deep}]]\neta = [0.1]\nseed = [0]"),
    ) + "[output]\nsave_models = true\n";
    write(dir.path(), "d.toml", &config);
    for command in ["plan", "run"] {
        nnsweep(dir.path())
            .args([command, "d.toml"])
            .assert()
            .code(2)
            .stderr(contains("save_models").and(contains("255")));
    }
    assert!(!dir.path().join("results/d.csv").exists());
}
