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
    /// Hash of the settings that determine a result besides the grid parameters (`[data]`, `[train]`).
    pub config_hash: String,
    // The overfitting lab's columns ([`LAB_COLUMNS`]), after 0.1's: files written before them
    // read with their defaults.
    /// Validation samples (empty: the sweep has no validation data).
    #[serde(default)]
    pub n_val: Option<usize>,
    /// Probability of dropping a hidden unit at a training step (0: no dropout).
    #[serde(default)]
    pub dropout: f64,
    /// "none", or "shift": each training image and its four one-pixel shifts.
    #[serde(default = "lecture_augment")]
    pub augment: String,
    /// Which accuracy picked the kept model: "train" (the lecture's) or "validation".
    #[serde(default = "lecture_select")]
    pub select: String,
    /// Steps without improvement after which the run stopped (empty: never).
    #[serde(default)]
    pub patience: Option<usize>,
    /// Validation accuracy of the kept model (empty without validation data).
    #[serde(default)]
    pub val_acc: Option<f64>,
    #[serde(default)]
    pub final_val_acc: Option<f64>,
    /// The last step the run took: `steps`, or earlier by patience or divergence.
    #[serde(default)]
    pub stopped_step: Option<usize>,
    // The next lecture's columns ([`NEXT_COLUMNS`]): files written before them read with the
    // lecture's values.
    /// "quadratic" (the lecture's) or "cross_entropy".
    #[serde(default = "lecture_cost")]
    pub cost: String,
    /// The output function: "sigmoid" (the lecture's) or "softmax".
    #[serde(default = "lecture_sigmoid")]
    pub output: String,
    /// The hidden activation: "sigmoid" (the lecture's), "tanh" or "relu".
    #[serde(default = "lecture_sigmoid")]
    pub activation: String,
    /// The initial weights' scale: "normal" (the lecture's), "scaled" or "he".
    #[serde(default = "lecture_init")]
    pub init: String,
    /// Samples per update (empty: the whole training set, the lecture's).
    #[serde(default)]
    pub batch_size: Option<usize>,
}

fn lecture_cost() -> String {
    "quadratic".into()
}

fn lecture_sigmoid() -> String {
    "sigmoid".into()
}

fn lecture_init() -> String {
    "normal".into()
}

fn lecture_augment() -> String {
    "none".into()
}

fn lecture_select() -> String {
    "train".into()
}

/// Appends records to a CSV file, one whole line per record, flushed at once.
pub struct ResultsWriter {
    path: PathBuf,
    out: BufWriter<File>,
    dropped: u64,
}

impl ResultsWriter {
    /// Opens `path` for appending, creating it (and its folder) with a header when it is new or
    /// empty. A file that does not start with this header (names and order; a UTF-8 BOM
    /// before it is allowed) is refused byte for byte unchanged. A partial last line (a job
    /// killed while writing) is cut off first, or the next row would be glued to it: see
    /// [`ResultsWriter::dropped`].
    pub fn append(path: &Path) -> Result<Self, OpenError> {
        let header = header_line();
        let (file, dropped) = open_for_append(path, &header, "results")?;
        let needs_header = file.metadata().map_err(io_error(path))?.len() == 0;
        let mut writer = ResultsWriter {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
            dropped,
        };
        if needs_header {
            writer.write_line(&header).map_err(io_error(path))?;
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

/// Appends learning-curve points (`run_id,step,train_acc,val_acc,test_acc,cost`), one line
/// each; `val_acc` is empty when the sweep has no validation data.
///
/// A run's points are written just before its results row; a run killed in between is trained
/// again on resume and writes its points again, so readers keep the last point of a
/// `(run_id, step)`.
pub struct CurvesWriter {
    out: BufWriter<File>,
    dropped: u64,
}

impl CurvesWriter {
    /// Opens `path` for appending like [`ResultsWriter::append`]: header checked, partial last
    /// line cut off.
    pub fn append(path: &Path) -> Result<Self, OpenError> {
        let header = format!("{}\n", CURVE_COLUMNS.join(","));
        let (file, dropped) = open_for_append(path, &header, "learning-curves")?;
        let mut out = BufWriter::new(file);
        let empty = out.get_ref().metadata().map_err(io_error(path))?.len() == 0;
        if empty {
            out.write_all(header.as_bytes()).map_err(io_error(path))?;
            out.flush().map_err(io_error(path))?;
        }
        Ok(CurvesWriter { out, dropped })
    }

    /// Opens like [`CurvesWriter::append`], then drops the points of every run not in `keep`
    /// (runs that wrote their points but not their row before a kill or a failed write: they
    /// will be trained again and write their points again, which must not be doubled).
    /// Returns the writer and how many lines were dropped.
    pub fn append_keeping(
        path: &Path,
        keep: &std::collections::HashSet<String>,
    ) -> Result<(Self, usize), OpenError> {
        let writer = CurvesWriter::append(path)?;
        let text = std::fs::read(path).map_err(io_error(path))?;
        let mut lines = text.split_inclusive(|&b| b == b'\n');
        let header = lines.next().unwrap_or(&[]);
        let mut kept = header.to_vec();
        let mut dropped = 0;
        for line in lines {
            let id = line.split(|&b| b == b',').next().unwrap_or(&[]);
            if std::str::from_utf8(id).is_ok_and(|id| keep.contains(id)) {
                kept.extend_from_slice(line);
            } else {
                dropped += 1;
            }
        }
        if dropped == 0 {
            return Ok((writer, 0));
        }
        drop(writer);
        // A new file renamed over the old one: a kill leaves either whole file, never half.
        let mut tmp = path.as_os_str().to_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        std::fs::write(&tmp, &kept)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(io_error(path))?;
        let mut writer = CurvesWriter::append(path)?;
        writer.dropped = 0;
        Ok((writer, dropped))
    }

    /// Bytes of a partial last line cut off when the file was opened.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Writes all points of one run and flushes them.
    pub fn write(&mut self, run_id: &str, curve: &[CurvePoint]) -> std::io::Result<()> {
        for p in curve {
            let row = CurveRow {
                run_id: run_id.to_string(),
                step: p.step,
                train_acc: p.train_acc,
                val_acc: p.val_acc,
                test_acc: p.test_acc,
                cost: p.cost,
            };
            self.out.write_all(row.line().as_bytes())?;
        }
        self.out.flush()
    }
}

/// The columns of a learning-curves file, in order.
pub const CURVE_COLUMNS: &[&str] = &["run_id", "step", "train_acc", "val_acc", "test_acc", "cost"];

/// The columns of curves files written before validation data existed: read (their points have
/// no validation accuracy), never appended to, so that no file mixes the two layouts.
pub const CURVE_COLUMNS_WITHOUT_VAL: &[&str] = &["run_id", "step", "train_acc", "test_acc", "cost"];

/// The UTF-8 byte order mark some editors put first: every reader skips it.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Why a results or curves file cannot be appended to.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The file is not one nnsweep wrote: it is left byte for byte as it was.
    #[error(
        "{path} is not a {what} file written by nnsweep ({found}); it was left unchanged. \
         Point --out at a new file, or at a results file of this sweep"
    )]
    NotOurs {
        path: PathBuf,
        what: &'static str,
        found: String,
    },
    /// A curves file without the `val_acc` column (written before validation data existed):
    /// read by `plot` and `merge`, but not appended to in the newer layout.
    #[error(
        "{path} is a learning-curves file without the val_acc column (written by an earlier \
         nnsweep): it was left unchanged, not mixed with rows of the new layout. Start over with \
         --fresh (the old sweep folder is kept under another name), or write elsewhere with \
         --out; plot and merge still read it"
    )]
    OlderCurves { path: PathBuf },
    /// A results file of an older nnsweep (0.1's 20 columns, or those and the overfitting
    /// lab's, before the next lecture's): read by `report`, `plot` and `merge`, but not
    /// appended to in the newer layout.
    #[error(
        "{path} is a results file of an older nnsweep (fewer columns than the {n} this version \
         writes): it was left unchanged. Finish that sweep with the nnsweep that started it, or \
         start over with --fresh (the old file is kept under another name); report, plot and \
         merge still read it"
    )]
    OlderVersion { path: PathBuf, n: usize },
    /// The file or its folder cannot be created, read or written.
    #[error("cannot write to {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> OpenError + '_ {
    move |source| OpenError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Opens (creating it and its folder) a line-oriented file for appending, after checking it
/// starts with `header` (a whole line, `\n` included) and cutting off a last line that lacks
/// its newline. Returns the file and how many bytes were cut.
///
/// Nothing is changed in a file that does not start with the header. The one exception to
/// "starts with the header" is a file that holds only the beginning of it, without a newline:
/// that is our own header, cut by a kill, and it is cut off like any partial line.
fn open_for_append(
    path: &Path,
    header: &str,
    what: &'static str,
) -> Result<(File, u64), OpenError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io_error(path))?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .create(true)
        .append(true)
        .open(path)
        .map_err(io_error(path))?;
    let len = file.metadata().map_err(io_error(path))?.len();
    check_header(&mut file, len, header.as_bytes()).map_err(|found| match found {
        Found::Io(source) => OpenError::Io {
            path: path.to_path_buf(),
            source,
        },
        Found::Other(_) if what == "results" && is_older_results(path) => OpenError::OlderVersion {
            path: path.to_path_buf(),
            n: all_columns().count(),
        },
        Found::Other(_)
            if what == "learning-curves" && first_line_is(path, CURVE_COLUMNS_WITHOUT_VAL) =>
        {
            OpenError::OlderCurves {
                path: path.to_path_buf(),
            }
        }
        Found::Other(found) => OpenError::NotOurs {
            path: path.to_path_buf(),
            what,
            found,
        },
    })?;
    let whole = whole_lines_len(&mut file, len).map_err(io_error(path))?;
    if whole < len {
        file.set_len(whole).map_err(io_error(path))?;
    }
    Ok((file, len - whole))
}

/// True when the file's first line is an older version's results header (after an optional
/// BOM).
fn is_older_results(path: &Path) -> bool {
    older_headers().iter().any(|h| first_line_is(path, h))
}

/// True when the file's first line is exactly these columns (after an optional BOM).
fn first_line_is(path: &Path, columns: &[&str]) -> bool {
    let mut start = Vec::new();
    let read = File::open(path).and_then(|f| f.take(4096).read_to_end(&mut start));
    let start = start.strip_prefix(BOM).unwrap_or(&start);
    let first = start.split(|&b| b == b'\n').next().unwrap_or(&[]);
    read.is_ok() && first == columns.join(",").as_bytes()
}

enum Found {
    Io(std::io::Error),
    Other(String),
}

/// Checks that a file of `len` bytes starts with `header` (after an optional BOM).
fn check_header(file: &mut File, len: u64, header: &[u8]) -> Result<(), Found> {
    if len == 0 {
        return Ok(());
    }
    let want = BOM.len() + header.len();
    let mut start = vec![0; want.min(len as usize)];
    file.seek(SeekFrom::Start(0)).map_err(Found::Io)?;
    file.read_exact(&mut start).map_err(Found::Io)?;
    let text = start.strip_prefix(BOM).unwrap_or(&start);
    if text.starts_with(header) {
        return Ok(());
    }
    // Only the start of our header and no newline: a header cut by a kill.
    let cut_header = header.starts_with(text) && (len as usize) < want && !text.contains(&b'\n');
    if cut_header {
        return Ok(());
    }
    let first_line = text.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let mut shown = String::from_utf8_lossy(first_line).into_owned();
    if shown.len() > 80 {
        let mut end = 80;
        while !shown.is_char_boundary(end) {
            end -= 1;
        }
        shown.truncate(end);
        shown.push_str("...");
    }
    Err(Found::Other(format!(
        "its first line is {shown:?}, not nnsweep's header {:?}",
        String::from_utf8_lossy(header).trim_end()
    )))
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
    w.write_record(all_columns())
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

/// The overfitting lab's columns, written after [`COLUMNS`] (the columns every results file
/// has, since 0.1): validation data, the remedies' axes, and where runs stopped.
pub const LAB_COLUMNS: &[&str] = &[
    "n_val",
    "dropout",
    "augment",
    "select",
    "patience",
    "val_acc",
    "final_val_acc",
    "stopped_step",
];

/// The next lecture's columns, written after [`LAB_COLUMNS`]: its axes (issue 10).
pub const NEXT_COLUMNS: &[&str] = &["cost", "output", "activation", "init", "batch_size"];

/// Every column a results file of this version has, in order: [`COLUMNS`], [`LAB_COLUMNS`],
/// then [`NEXT_COLUMNS`]. What reads columns by name (report's axes) goes through this.
pub fn all_columns() -> impl Iterator<Item = &'static str> + Clone {
    COLUMNS
        .iter()
        .chain(LAB_COLUMNS)
        .chain(NEXT_COLUMNS)
        .copied()
}

/// The headers of the older versions' results files, which are read (with the lecture's
/// values in the columns they lack) but not appended to.
fn older_headers() -> [Vec<&'static str>; 2] {
    [
        COLUMNS.to_vec(),
        COLUMNS.iter().chain(LAB_COLUMNS).copied().collect(),
    ]
}

/// Why a results file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read results file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}: its header is not nnsweep's results header (found `{found}`, expected the \
         columns {}, in this order). Is this a results file written by `nnsweep run`?",
        COLUMNS.join(",")
    )]
    Header { path: PathBuf, found: String },
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
    let bytes = bytes.strip_prefix(BOM).unwrap_or(&bytes);
    let whole = match bytes.iter().rposition(|&b| b == b'\n') {
        Some(last_newline) => &bytes[..=last_newline],
        None => &bytes[..0],
    };
    let mut reader = csv::ReaderBuilder::new().from_reader(whole);
    if !whole.is_empty() {
        let headers = reader.headers().map_err(|e| ReadError::Row {
            path: path.to_path_buf(),
            line: 1,
            message: e.to_string(),
        })?;
        // 0.1's columns, the overfitting lab's after them, and the next lecture's after those.
        let known = older_headers()
            .iter()
            .any(|h| headers.iter().eq(h.iter().copied()))
            || headers.iter().eq(all_columns());
        if !known {
            return Err(ReadError::Header {
                path: path.to_path_buf(),
                found: headers.iter().collect::<Vec<_>>().join(","),
            });
        }
    }
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

impl crate::exit::ExitStatus for ReadError {
    /// A results file that cannot be read or parsed is the input's fault.
    fn exit_code(&self) -> u8 {
        crate::exit::BAD_INPUT
    }
}

impl crate::exit::ExitStatus for OpenError {
    fn exit_code(&self) -> u8 {
        match self {
            OpenError::NotOurs { .. }
            | OpenError::OlderVersion { .. }
            | OpenError::OlderCurves { .. } => crate::exit::BAD_INPUT,
            OpenError::Io { source, .. } => crate::exit::write_code(source),
        }
    }
}

/// One row of a sweep's curves file (`results/<name>/curves.csv`), as [`CurvesWriter`] writes it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CurveRow {
    pub run_id: String,
    pub step: usize,
    pub train_acc: f64,
    /// None when the sweep has no validation data (an empty field), or the file predates it.
    #[serde(default)]
    pub val_acc: Option<f64>,
    pub test_acc: f64,
    pub cost: f64,
}

impl CurveRow {
    /// The row as a line of the current layout ([`CURVE_COLUMNS`]), newline included: what
    /// [`CurvesWriter`] writes and `merge` copies (floats in Rust's shortest exact text).
    pub fn line(&self) -> String {
        let val = self.val_acc.map_or_else(String::new, |v| v.to_string());
        format!(
            "{},{},{},{val},{},{}\n",
            self.run_id, self.step, self.train_acc, self.test_acc, self.cost
        )
    }
}

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
        "{path} is not a curves file: expected the columns \
         run_id,step,train_acc,val_acc,test_acc,cost"
    )]
    NotCurves { path: PathBuf },
    #[error("{path}: line {line}: {message}")]
    Row {
        path: PathBuf,
        line: u64,
        message: String,
    },
}

impl crate::exit::ExitStatus for CurvesError {
    fn exit_code(&self) -> u8 {
        crate::exit::BAD_INPUT
    }
}

/// Reads a curves file written by [`CurvesWriter`] (or before `val_acc` existed: its points
/// read without validation accuracy), checking its header so that a results file passed by
/// mistake is named. A last line without its newline is a row cut by a kill: skipped,
/// as results rows are.
pub fn read_curves(path: &Path) -> Result<Vec<CurveRow>, CurvesError> {
    let bytes = std::fs::read(path).map_err(|source| CurvesError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    // A BOM is accepted here as by every other reader of ours.
    let bytes = bytes.strip_prefix(BOM).unwrap_or(&bytes);
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
    let columns = headers.iter().collect::<Vec<_>>();
    if columns != CURVE_COLUMNS && columns != CURVE_COLUMNS_WITHOUT_VAL {
        return Err(CurvesError::NotCurves {
            path: path.to_path_buf(),
        });
    }
    rdr.deserialize().map(|r| r.map_err(row_error)).collect()
}

/// A row of a circles run with the lecture's settings in every later column, for the tests
/// of the modules that read, merge or write rows.
#[cfg(test)]
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
        n_val: None,
        dropout: 0.0,
        augment: "none".into(),
        select: "train".into(),
        patience: None,
        val_acc: None,
        final_val_acc: None,
        stopped_step: None,
        cost: "quadratic".into(),
        output: "sigmoid".into(),
        activation: "sigmoid".into(),
        init: "normal".into(),
        batch_size: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_match_the_record_fields() {
        let line = header_line();
        let all: Vec<&str> = all_columns().collect();
        assert_eq!(
            all.len(),
            COLUMNS.len() + LAB_COLUMNS.len() + NEXT_COLUMNS.len()
        );
        assert_eq!(line.trim_end(), all.join(","));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let mut w = ResultsWriter::append(&path).unwrap();
        w.write(&sample("a")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut rdr = csv::Reader::from_reader(text.as_bytes());
        let headers: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(headers, all);
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
        assert_eq!(text, header_line());
    }

    #[test]
    fn the_last_newline_is_found_across_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.csv");
        let header = format!("{}\n", CURVE_COLUMNS.join(","));
        let mut text = format!("{header}{}", "x\n".repeat(3));
        text.push_str(&"y".repeat(200_000));
        std::fs::write(&path, &text).unwrap();
        let w = CurvesWriter::append(&path).unwrap();
        assert_eq!(w.dropped(), 200_000);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{header}x\nx\nx\n")
        );
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

    #[test]
    fn a_file_without_our_header_is_refused_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.txt");
        let swapped = COLUMNS
            .join(",")
            .replace("train_acc,test_acc", "test_acc,train_acc");
        let extra = format!("{},extra", COLUMNS.join(","));
        for text in [
            "notes".to_string(),
            "notes\nmore notes\npartial".to_string(),
            format!("{swapped}\n"),
            format!("{extra}\n"),
        ] {
            std::fs::write(&path, &text).unwrap();
            let e = ResultsWriter::append(&path).err().expect("refused");
            assert!(matches!(e, OpenError::NotOurs { .. }), "{e}");
            assert!(e.to_string().contains("p.txt"), "{e}");
            assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
            assert!(CurvesWriter::append(&path).is_err());
            assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        }
        std::fs::write(&path, format!("{swapped}\n")).unwrap();
        let e = read_records(&path).unwrap_err().to_string();
        assert!(e.contains("not nnsweep's results header"), "{e}");
    }

    #[test]
    fn a_results_file_of_version_0_1_is_named_as_such_and_left_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.csv");
        let text = format!(
            "{}\nr1,circles,400,100,10,52,0.005,0,0,10,3,0.9,0.8,0.1,0.9,0.8,1,false,1,h\n",
            COLUMNS.join(",")
        );
        std::fs::write(&path, &text).unwrap();
        let e = ResultsWriter::append(&path).err().expect("refused");
        assert!(matches!(e, OpenError::OlderVersion { .. }), "{e}");
        assert!(
            e.to_string().contains("older nnsweep") && e.to_string().contains("--fresh"),
            "{e}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        assert_eq!(
            read_records(&path).unwrap().len(),
            1,
            "still read by report"
        );
    }

    #[test]
    fn a_results_file_of_the_lab_layout_is_read_with_the_lectures_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lab.csv");
        let header: Vec<&str> = COLUMNS.iter().chain(LAB_COLUMNS).copied().collect();
        let text = format!(
            "{}\nr1,circles,400,100,10,52,0.005,0,0,10,3,0.9,0.8,0.1,0.9,0.8,1,false,1,h,,0,none,train,,,,10\n",
            header.join(",")
        );
        std::fs::write(&path, &text).unwrap();
        let records = read_records(&path).unwrap();
        assert_eq!(records.len(), 1);
        let r = &records[0];
        assert_eq!(
            (
                r.cost.as_str(),
                r.output.as_str(),
                r.activation.as_str(),
                r.init.as_str()
            ),
            ("quadratic", "sigmoid", "sigmoid", "normal")
        );
        assert_eq!(r.batch_size, None);
        let e = ResultsWriter::append(&path).err().expect("refused");
        assert!(matches!(e, OpenError::OlderVersion { .. }), "{e}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }

    #[test]
    fn a_bom_is_accepted_by_the_writer_and_the_reader_alike() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let mut text = BOM.to_vec();
        text.extend(header_line().as_bytes());
        std::fs::write(&path, &text).unwrap();
        ResultsWriter::append(&path)
            .unwrap()
            .write(&sample("a"))
            .unwrap();
        assert_eq!(read_records(&path).unwrap(), vec![sample("a")]);
        assert!(std::fs::read(&path).unwrap().starts_with(BOM));
    }

    #[test]
    fn curve_points_round_trip_with_and_without_validation_accuracy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("curves.csv");
        let point = |step, val_acc| CurvePoint {
            step,
            train_acc: 0.75,
            val_acc,
            test_acc: 0.1 + 0.2,
            cost: 1.5,
        };
        let mut w = CurvesWriter::append(&path).unwrap();
        w.write("a", &[point(0, Some(0.625)), point(10, Some(1.0 / 3.0))])
            .unwrap();
        w.write("b", &[point(0, None)]).unwrap();
        drop(w);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("run_id,step,train_acc,val_acc,test_acc,cost\n")
                && text.contains("\nb,0,0.75,,0.30000000000000004,1.5\n"),
            "{text}"
        );
        let rows = read_curves(&path).unwrap();
        let vals: Vec<Option<f64>> = rows.iter().map(|r| r.val_acc).collect();
        assert_eq!(vals, vec![Some(0.625), Some(1.0 / 3.0), None]);
        assert_eq!(rows[0].test_acc, 0.1 + 0.2, "bit for bit");
    }

    #[test]
    fn a_curves_file_without_val_acc_is_read_but_never_appended_to() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("curves.csv");
        let text = format!("{}\nr1,0,0.5,0.25,3\n", CURVE_COLUMNS_WITHOUT_VAL.join(","));
        std::fs::write(&path, &text).unwrap();
        let rows = read_curves(&path).unwrap();
        assert_eq!((rows[0].val_acc, rows[0].test_acc), (None, 0.25));
        for opened in [
            CurvesWriter::append(&path).err(),
            CurvesWriter::append_keeping(&path, &Default::default()).err(),
        ] {
            let e = opened.expect("refused");
            assert!(matches!(e, OpenError::OlderCurves { .. }), "{e}");
            let m = e.to_string();
            assert!(m.contains("curves.csv") && m.contains("val_acc") && m.contains("--fresh"));
            assert_eq!(
                crate::exit::ExitStatus::exit_code(&e),
                crate::exit::BAD_INPUT
            );
        }
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            text,
            "left unchanged"
        );
    }
}
