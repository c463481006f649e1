//! Helpers for the batch tests (tests/batch.rs): small circles sweeps of a chosen length in
//! a temp folder, the real binary as a child process to signal, and checks on results files.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use nnsweep::config::Config;
use nnsweep::results::{read_records, RunRecord};

/// A small circles sweep: `hidden.len() × etas.len() × seeds` runs of `steps` steps.
#[derive(Clone)]
pub struct Sweep {
    pub name: &'static str,
    pub steps: usize,
    pub hidden: Vec<usize>,
    pub etas: Vec<f64>,
    pub seeds: usize,
    /// Changes the data, hence the config hash.
    pub noise: f64,
    pub log_every: usize,
}

impl Sweep {
    /// 12 runs of 300 steps: a fraction of a second in all.
    pub fn fast(name: &'static str) -> Sweep {
        Sweep {
            name,
            steps: 300,
            hidden: vec![2, 4, 8],
            etas: vec![5e-3, 1e-2],
            seeds: 2,
            noise: 0.1,
            log_every: 100,
        }
    }

    /// 32 runs of a few thousand steps: long enough to interrupt in the middle.
    pub fn slow(name: &'static str) -> Sweep {
        Sweep {
            name,
            steps: 3000,
            hidden: vec![8, 16],
            etas: vec![5e-3, 1e-2],
            seeds: 8,
            noise: 0.1,
            log_every: 1000,
        }
    }

    pub fn runs(&self) -> usize {
        self.hidden.len() * self.etas.len() * self.seeds
    }

    /// Writes `<name>.toml` into `dir` and returns its path.
    pub fn write(&self, dir: &Path) -> PathBuf {
        let list = |v: Vec<String>| v.join(", ");
        let text = format!(
            "name = \"{}\"\n\n[data]\nkind = \"circles\"\nsamples = 500\nnoise = {}\n\n\
             [train]\nsteps = {}\nlog_every = {}\n\n[grid]\nhidden = [{}]\neta = [{}]\nseed = [{}]\n",
            self.name,
            self.noise,
            self.steps,
            self.log_every,
            list(self.hidden.iter().map(|h| h.to_string()).collect()),
            list(self.etas.iter().map(|e| format!("{e:e}")).collect()),
            list((0..self.seeds).map(|s| s.to_string()).collect()),
        );
        let path = dir.join(format!("{}.toml", self.name));
        std::fs::write(&path, text).unwrap();
        path
    }
}

/// The run ids `nnsweep plan` lists for a config, in plan order.
pub fn plan_ids(config: &Path) -> Vec<String> {
    let config = Config::load(config).unwrap();
    let data = nnsweep::data::load(&config.data).unwrap();
    nnsweep::plan::expand(&config, &data)
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect()
}

/// The real binary as a plain child process (to spawn and signal), run in `dir`, with no
/// batch-system variables from the environment.
pub fn process(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nnsweep"));
    cmd.current_dir(dir);
    for var in nnsweep::batch::VARIABLES {
        cmd.env_remove(var);
    }
    cmd
}

/// Rows of a results file, after checking that every line is whole (ends with a newline, has
/// every column) and that no run appears twice.
pub fn whole_rows(path: &Path) -> Vec<RunRecord> {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        text.ends_with('\n'),
        "{}: last line is not whole",
        path.display()
    );
    for (i, line) in text.lines().enumerate() {
        assert_eq!(
            line.split(',').count(),
            nnsweep::results::all_columns().count(),
            "{} line {}: {line:?}",
            path.display(),
            i + 1
        );
    }
    let rows = read_records(path).unwrap();
    let mut ids: Vec<&str> = rows.iter().map(|r| r.run_id.as_str()).collect();
    ids.sort_unstable();
    let n = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), n, "{}: a run appears twice", path.display());
    rows
}

/// Sorted run ids of some rows.
pub fn ids(rows: &[RunRecord]) -> Vec<String> {
    let mut ids: Vec<String> = rows.iter().map(|r| r.run_id.clone()).collect();
    ids.sort();
    ids
}

/// Sorted copy of a list of ids.
pub fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

/// A sweep running in the background, its stderr read line by line.
pub struct Running {
    pub child: Child,
    lines: Receiver<String>,
    pub stderr: Vec<String>,
}

impl Running {
    pub fn start(mut cmd: Command) -> Running {
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr: ChildStderr = child.stderr.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            stderr: Vec::new(),
        }
    }

    /// Waits (at most `timeout`) for a stderr line containing `needle`.
    pub fn wait_for_line(&mut self, needle: &str, timeout: Duration) {
        let end = Instant::now() + timeout;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(needle);
                    self.stderr.push(line);
                    if found {
                        return;
                    }
                }
                Err(_) => panic!(
                    "no line with {needle:?} within {timeout:?}; stderr so far:\n{}",
                    self.stderr.join("\n")
                ),
            }
        }
    }

    /// Waits (at most `timeout`) until a run is being trained: the worker threads
    /// (`nnsweep-worker-*`) have used 50 ms of CPU in all, which only training does (a worker
    /// reaches its first run in microseconds). The banner line is printed before the workers
    /// start: a stop signal sent a fixed time after it could land before the run started (on
    /// a loaded machine) and leave it "not started" instead of "abandoned".
    #[cfg(target_os = "linux")]
    pub fn wait_for_training(&self, timeout: Duration) {
        let end = Instant::now() + timeout;
        // SAFETY: sysconf only reads a configuration value.
        let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
        let tasks = format!("/proc/{}/task", self.child.id());
        loop {
            let mut ticks = 0;
            for task in std::fs::read_dir(&tasks).into_iter().flatten().flatten() {
                let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
                if !comm.starts_with("nnsweep-worker") {
                    continue;
                }
                // utime and stime are fields 14 and 15; the name (field 2) ends with ')'.
                let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
                let fields: Vec<&str> = stat
                    .rsplit_once(')')
                    .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
                if let Some(times) = fields.get(11..13) {
                    ticks += times.iter().map(|f| f.parse::<u64>().unwrap()).sum::<u64>();
                }
            }
            if ticks * 1000 >= 50 * ticks_per_second {
                return;
            }
            assert!(
                Instant::now() < end,
                "no run in training after {timeout:?} (worker threads used {ticks} ticks)"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args(["-s", name, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -s {name} failed");
    }

    /// Waits for the process to end (at most `timeout`, else kills it and fails) and returns
    /// its exit code and how long that took.
    pub fn wait(&mut self, timeout: Duration) -> (Option<i32>, Duration) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // The reader thread ends (and the channel closes) at the pipe's end, which the
                // exit closed: no line is lost to a reader starved for a while on a loaded
                // machine, as a 2 s limit allowed. The limit only guards against a hang.
                while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(60)) {
                    self.stderr.push(line);
                }
                return (status.code(), start.elapsed());
            }
            if start.elapsed() > timeout {
                self.child.kill().ok();
                panic!(
                    "still running after {timeout:?}; stderr:\n{}",
                    self.stderr.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn stderr_text(&self) -> String {
        self.stderr.join("\n")
    }
}

/// Waits until `path` holds at least `n` whole rows.
pub fn wait_for_rows(path: &Path, n: usize, timeout: Duration) {
    let end = Instant::now() + timeout;
    loop {
        if path.exists() && read_records(path).map_or(0, |r| r.len()) >= n {
            return;
        }
        assert!(
            Instant::now() < end,
            "{} has fewer than {n} rows after {timeout:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}
