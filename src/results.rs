//! One CSV row per finished run: the record, and how rows are written and read back.
//!
//! Rows are appended whole and flushed as each run ends, so a killed job loses at most the
//! runs in flight. `report` and `plot` read only these files, so they work on merged shards
//! and on old runs alike.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::nn::CurvePoint;

/// Everything one finished run reports. Field order is the CSV column order.
///
/// Accuracies are fractions in [0, 1]; the printed tables show percent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Stable id derived from the run's parameters: the same config always gives the same ids.
    pub run_id: String,
    pub dataset: String,
    pub n_train: usize,
    pub n_test: usize,
    /// Hidden layer sizes joined by "x": "30", "30x30".
    pub hidden: String,
    /// Number of weights and biases in the network.
    pub n_params: usize,
    pub eta: f64,
    pub l2: f64,
    pub seed: u64,
    pub steps: usize,
    /// Step at which the best training accuracy was first reached (0 = the initial weights).
    pub best_step: usize,
    /// Best training accuracy over all steps.
    pub train_acc: f64,
    /// Test accuracy of the best model (the one kept by training accuracy).
    pub test_acc: f64,
    /// `train_acc - test_acc`: the overfitting gap.
    pub gap: f64,
    pub final_train_acc: f64,
    pub final_test_acc: f64,
    /// Quadratic cost of the final model, summed over training samples.
    pub final_cost: f64,
    /// True when the cost became NaN or infinite; the figures are then those reached before.
    pub diverged: bool,
    /// Wall-clock seconds of this run: the only column that depends on the machine.
    pub seconds: f64,
    /// Hash of the settings that determine a result besides the grid parameters ([data], [train]).
    pub config_hash: String,
}

/// Appends records to a CSV file, one whole line per record, flushed at once.
pub struct ResultsWriter {
    path: PathBuf,
    out: BufWriter<File>,
    dropped: u64,
}

impl ResultsWriter {
    /// Opens `path` for appending, creating it (and its folder) with a header when it is new or
    /// empty. A partial last line (a job killed while writing) is cut off first, or the next row
    /// would be glued to it: see [`ResultsWriter::dropped`].
    pub fn append(path: &Path) -> std::io::Result<Self> {
        let (file, dropped) = open_for_append(path)?;
        let needs_header = file.metadata()?.len() == 0;
        let mut writer = ResultsWriter {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
            dropped,
        };
        if needs_header {
            writer.write_line(&header_line())?;
        }
        Ok(writer)
    }

    /// Where the rows go.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes of a partial last line cut off when the file was opened (0: the file was whole).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Writes one record as one line and flushes it to the operating system.
    pub fn write(&mut self, record: &RunRecord) -> std::io::Result<()> {
        self.write_line(&record_line(record)?)
    }

    fn write_line(&mut self, line: &str) -> std::io::Result<()> {
        // One write_all of a whole line, then flush: a kill between rows never leaves half a row
        // from us (a kill inside the write syscall itself is handled by the reader).
        self.out.write_all(line.as_bytes())?;
        self.out.flush()
    }
}

/// Appends learning-curve points (`run_id,step,train_acc,test_acc,cost`), one line each.
///
/// A run's points are written just before its results row; a run killed in between is trained
/// again on resume and writes its points again, so readers keep the last point of a
/// `(run_id, step)`.
pub struct CurvesWriter {
    out: BufWriter<File>,
    dropped: u64,
}

impl CurvesWriter {
    /// Opens `path` for appending like [`ResultsWriter::append`], partial last line cut off.
    pub fn append(path: &Path) -> std::io::Result<Self> {
        let (file, dropped) = open_for_append(path)?;
        let mut out = BufWriter::new(file);
        if out.get_ref().metadata()?.len() == 0 {
            out.write_all(format!("{}\n", CURVE_COLUMNS.join(",")).as_bytes())?;
        }
        Ok(CurvesWriter { out, dropped })
    }

    /// Bytes of a partial last line cut off when the file was opened.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Writes all points of one run and flushes them.
    pub fn write(&mut self, run_id: &str, curve: &[CurvePoint]) -> std::io::Result<()> {
        for p in curve {
            writeln!(
                self.out,
                "{run_id},{},{},{},{}",
                p.step, p.train_acc, p.test_acc, p.cost
            )?;
        }
        self.out.flush()
    }
}

/// Opens (creating it and its folder) a line-oriented file for appending, after cutting off a
/// last line that lacks its newline. Returns the file and how many bytes were cut.
fn open_for_append(path: &Path) -> std::io::Result<(File, u64)> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .create(true)
        .append(true)
        .open(path)?;
    let len = file.metadata()?.len();
    let whole = whole_lines_len(&mut file, len)?;
    if whole < len {
        file.set_len(whole)?;
    }
    Ok((file, len - whole))
}

/// Length of the file up to and including its last newline, read backwards in blocks so a
/// long file is not read whole.
fn whole_lines_len(file: &mut File, len: u64) -> std::io::Result<u64> {
    const BLOCK: u64 = 64 * 1024;
    let mut end = len;
    let mut buf = vec![0; BLOCK as usize];
    while end > 0 {
        let start = end.saturating_sub(BLOCK);
        let block = &mut buf[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(block)?;
        if let Some(i) = block.iter().rposition(|&b| b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

fn header_line() -> String {
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(vec![]);
    w.write_record(COLUMNS)
        .expect("writing to a Vec cannot fail");
    String::from_utf8(w.into_inner().expect("in-memory")).expect("ASCII header")
}

fn record_line(record: &RunRecord) -> std::io::Result<String> {
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(vec![]);
    w.serialize(record).map_err(std::io::Error::other)?;
    let bytes = w
        .into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    String::from_utf8(bytes).map_err(std::io::Error::other)
}

/// The CSV columns, in order (the fields of [`RunRecord`]).
pub const COLUMNS: &[&str] = &[
    "run_id",
    "dataset",
    "n_train",
    "n_test",
    "hidden",
    "n_params",
    "eta",
    "l2",
    "seed",
    "steps",
    "best_step",
    "train_acc",
    "test_acc",
    "gap",
    "final_train_acc",
    "final_test_acc",
    "final_cost",
    "diverged",
    "seconds",
    "config_hash",
];

/// Why a results file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read results file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: line {line}: {message}. Is this a results file written by `nnsweep run`?")]
    Row {
        path: PathBuf,
        line: u64,
        message: String,
    },
}

/// Reads every whole record of a results file.
///
/// A last line without its newline is the trace of a run killed while writing: it is skipped,
/// since the run will be redone on resume. Any other malformed row is an error.
pub fn read_records(path: &Path) -> Result<Vec<RunRecord>, ReadError> {
    let bytes = std::fs::read(path).map_err(|source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let whole = match bytes.iter().rposition(|&b| b == b'\n') {
        Some(last_newline) => &bytes[..=last_newline],
        None => &bytes[..0],
    };
    let mut reader = csv::ReaderBuilder::new().from_reader(whole);
    let mut records = Vec::new();
    for row in reader.deserialize::<RunRecord>() {
        let record = row.map_err(|e| ReadError::Row {
            path: path.to_path_buf(),
            line: e.position().map_or(0, |p| p.line()),
            message: e.to_string(),
        })?;
        records.push(record);
    }
    Ok(records)
}

/// One row of a sweep's curves file (`results/<name>/curves.csv`), as [`CurvesWriter`] writes it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CurveRow {
    pub run_id: String,
    pub step: usize,
    pub train_acc: f64,
    pub test_acc: f64,
    pub cost: f64,
}

/// The curves file's columns, in order.
pub const CURVE_COLUMNS: &[&str] = &["run_id", "step", "train_acc", "test_acc", "cost"];

/// Why a curves file could not be read; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum CurvesError {
    #[error(
        "cannot read curves file {path}: {source}. Curves are written by `nnsweep run` when \
         [train] log_every is set"
    )]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is not a curves file: expected the columns run_id,step,train_acc,test_acc,cost"
    )]
    NotCurves { path: PathBuf },
    #[error("{path}: line {line}: {message}")]
    Row {
        path: PathBuf,
        line: u64,
        message: String,
    },
}

/// Reads a curves file written by [`CurvesWriter`], checking its header so that a results file
/// passed by mistake is named. A last line without its newline is a row cut by a kill: skipped,
/// as results rows are.
pub fn read_curves(path: &Path) -> Result<Vec<CurveRow>, CurvesError> {
    let bytes = std::fs::read(path).map_err(|source| CurvesError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let whole = match bytes.iter().rposition(|&b| b == b'\n') {
        Some(i) => &bytes[..=i],
        None => &bytes[..0],
    };
    let mut rdr = csv::Reader::from_reader(whole);
    let row_error = |e: csv::Error| CurvesError::Row {
        path: path.to_path_buf(),
        line: e.position().map_or(0, |p| p.line()),
        message: e.to_string(),
    };
    let headers = rdr.headers().map_err(row_error)?.clone();
    if headers.iter().collect::<Vec<_>>() != CURVE_COLUMNS {
        return Err(CurvesError::NotCurves {
            path: path.to_path_buf(),
        });
    }
    rdr.deserialize().map(|r| r.map_err(row_error)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample(run_id: &str) -> RunRecord {
        RunRecord {
            run_id: run_id.into(),
            dataset: "circles".into(),
            n_train: 400,
            n_test: 100,
            hidden: "10".into(),
            n_params: 52,
            eta: 5e-3,
            l2: 0.0,
            seed: 1,
            steps: 100,
            best_step: 90,
            train_acc: 0.875,
            test_acc: 0.83,
            gap: 0.045,
            final_train_acc: 0.87,
            final_test_acc: 0.82,
            final_cost: 12.5,
            diverged: false,
            seconds: 0.25,
            config_hash: "abc".into(),
        }
    }

    #[test]
    fn columns_match_the_record_fields() {
        let line = header_line();
        assert_eq!(line.trim_end(), COLUMNS.join(","));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let mut w = ResultsWriter::append(&path).unwrap();
        w.write(&sample("a")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut rdr = csv::Reader::from_reader(text.as_bytes());
        let headers: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(headers, COLUMNS);
    }

    #[test]
    fn rows_round_trip_and_appending_keeps_one_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/r.csv");
        ResultsWriter::append(&path)
            .unwrap()
            .write(&sample("a"))
            .unwrap();
        ResultsWriter::append(&path)
            .unwrap()
            .write(&sample("b"))
            .unwrap();
        let records = read_records(&path).unwrap();
        assert_eq!(records, vec![sample("a"), sample("b")]);
    }

    #[test]
    fn a_partial_last_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        ResultsWriter::append(&path)
            .unwrap()
            .write(&sample("a"))
            .unwrap();
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"b,circles,400,10").unwrap();
        let records = read_records(&path).unwrap();
        assert_eq!(records, vec![sample("a")]);
    }

    #[test]
    fn appending_after_a_kill_cuts_the_partial_line_off_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        ResultsWriter::append(&path)
            .unwrap()
            .write(&sample("a"))
            .unwrap();
        let whole = std::fs::read(&path).unwrap();
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"b,circles,400,10").unwrap();
        let mut w = ResultsWriter::append(&path).unwrap();
        assert_eq!(w.dropped(), 16);
        assert_eq!(std::fs::read(&path).unwrap(), whole);
        w.write(&sample("c")).unwrap();
        assert_eq!(read_records(&path).unwrap(), vec![sample("a"), sample("c")]);
        // A whole file is left alone; a file cut inside its header starts over.
        assert_eq!(ResultsWriter::append(&path).unwrap().dropped(), 0);
        std::fs::write(&path, b"run_id,data").unwrap();
        assert_eq!(ResultsWriter::append(&path).unwrap().dropped(), 11);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("{}\n", COLUMNS.join(",")));
    }

    #[test]
    fn the_last_newline_is_found_across_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.csv");
        let mut text = "x\n".repeat(3);
        text.push_str(&"y".repeat(200_000));
        std::fs::write(&path, &text).unwrap();
        let w = CurvesWriter::append(&path).unwrap();
        assert_eq!(w.dropped(), 200_000);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "x\nx\nx\n");
    }

    #[test]
    fn a_malformed_row_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        std::fs::write(&path, format!("{}\nnot,a,row\n", COLUMNS.join(","))).unwrap();
        let err = read_records(&path).unwrap_err().to_string();
        assert!(err.contains("r.csv"), "{err}");
        assert!(err.contains("line 2"), "{err}");
    }
}
