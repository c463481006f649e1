//! One trained network in a small, versioned text file that a person can read.
//!
//! Text rather than binary because the networks are small (a few thousand numbers at most for
//! the course's sizes), because a student can open one and see the weights, and because Rust
//! prints an f64 in its shortest form that parses back to the very same bits: nothing is lost.
//!
//! ```text
//! nnsweep-model 2
//! run_id h10-e0.005-s1
//! sizes 2 10 2
//! weights 1 10 2        ← layer 1: 10 rows of 2 numbers follow
//! …
//! biases 1 10           ← one line of 10 numbers follows
//! …
//! points 400 2          ← optional: the training points, "x1 x2 label" per line
//! …
//! test_points 100 2     ← optional (format 2): the test points, the same way
//! …
//! end
//! ```
//!
//! The training and test points are kept for 2-D data only, so that the decision-boundary chart
//! can be drawn from this file alone, years later: regenerating them from the config would need
//! that file unchanged and the same random-number streams from every future version of `rand`,
//! and a silent difference would put points that the model never saw under its regions.
//!
//! Format 1 (nnsweep 0.1) had no `test_points` section; it is still read, with no test points.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ndarray::{Array1, Array2, ArrayView2};

use crate::nn::Network;

/// The format version this build writes; it reads this one and every earlier one.
pub const VERSION: u32 = 2;
/// The first format with the `test_points` section.
const TEST_POINTS_SINCE: u32 = 2;
const MAGIC: &str = "nnsweep-model";

/// Labelled samples stored d×n, as the engine keeps them.
#[derive(Debug, Clone, PartialEq)]
pub struct Points {
    pub x: Array2<f64>,
    pub labels: Vec<u8>,
}

/// A trained network and what is needed to show it.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedModel {
    pub run_id: String,
    pub network: Network,
    /// The training points, when the input is 2-D.
    pub points: Option<Points>,
    /// The test points, when the input is 2-D (none in a format 1 file).
    pub test_points: Option<Points>,
}

/// Samples as the engine holds them: d×n features and one label per column.
pub type Samples<'a> = (ArrayView2<'a, f64>, &'a [u8]);

impl SavedModel {
    /// Keeps the training and test points only when they are 2-D (see the module
    /// documentation).
    pub fn new(run_id: &str, network: Network, train: Samples<'_>, test: Samples<'_>) -> Self {
        let keep = |(x, labels): Samples<'_>| {
            (x.nrows() == 2).then(|| Points {
                x: x.to_owned(),
                labels: labels.to_vec(),
            })
        };
        SavedModel {
            run_id: run_id.to_string(),
            network,
            points: keep(train),
            test_points: keep(test),
        }
    }

    /// The file's text.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let sizes = self.network.sizes();
        let join = |it: &mut dyn Iterator<Item = String>| it.collect::<Vec<_>>().join(" ");
        let _ = writeln!(out, "{MAGIC} {VERSION}");
        let _ = writeln!(out, "run_id {}", self.run_id);
        let _ = writeln!(
            out,
            "sizes {}",
            join(&mut sizes.iter().map(|s| s.to_string()))
        );
        for (l, (w, b)) in self
            .network
            .weights
            .iter()
            .zip(&self.network.biases)
            .enumerate()
        {
            let _ = writeln!(out, "weights {} {} {}", l + 1, w.nrows(), w.ncols());
            for row in w.rows() {
                let _ = writeln!(out, "{}", join(&mut row.iter().map(|v| v.to_string())));
            }
            let _ = writeln!(out, "biases {} {}", l + 1, b.len());
            let _ = writeln!(out, "{}", join(&mut b.iter().map(|v| v.to_string())));
        }
        for (word, points) in [("points", &self.points), ("test_points", &self.test_points)] {
            let Some(p) = points else { continue };
            let _ = writeln!(out, "{word} {} {}", p.labels.len(), p.x.nrows());
            for (col, label) in p.x.columns().into_iter().zip(&p.labels) {
                let _ = writeln!(
                    out,
                    "{} {label}",
                    join(&mut col.iter().map(|v| v.to_string()))
                );
            }
        }
        out.push_str("end\n");
        out
    }
}

/// Writes `model` to `path`, creating its folder.
pub fn save(path: &Path, model: &SavedModel) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, model.to_text())
}

/// The folder of a sweep's models: `results/x.csv` → `results/x/models`.
pub fn models_dir_for(results_csv: &Path) -> PathBuf {
    crate::layout::SweepFiles::of_results(results_csv).models_dir()
}

/// Saves the best model of a finished run where `nnsweep run` keeps it (`[output] save_models`).
/// `train` is the samples the run trained on and `test` the dataset's test split, both kept
/// when they are 2-D.
pub fn save_run(
    results_csv: &Path,
    run_id: &str,
    network: &Network,
    train: Samples<'_>,
    test: Samples<'_>,
) -> std::io::Result<PathBuf> {
    let path = path_for(&models_dir_for(results_csv), run_id);
    save(
        &path,
        &SavedModel::new(run_id, network.clone(), train, test),
    )?;
    Ok(path)
}

/// Where `nnsweep run` puts the model of a run: `<dir>/<run_id>.model`.
pub fn path_for(models_dir: &Path, run_id: &str) -> PathBuf {
    models_dir.join(format!("{run_id}.model"))
}

/// Why a model file could not be read; the message names the file and the line.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot read model file {path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: line {line}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

/// Reads a model file written by [`save`].
pub fn load(path: &Path) -> Result<SavedModel, ModelError> {
    let text = std::fs::read_to_string(path).map_err(|error| ModelError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    parse(&text).map_err(|(line, message)| ModelError::Parse {
        path: path.to_path_buf(),
        line,
        message,
    })
}

struct Lines<'a> {
    inner: std::iter::Enumerate<std::str::Lines<'a>>,
    last: usize,
}

impl<'a> Lines<'a> {
    fn next(&mut self, what: &str) -> Result<(usize, &'a str), (usize, String)> {
        match self.inner.next() {
            Some((i, l)) => {
                self.last = i + 1;
                Ok((i + 1, l.trim()))
            }
            None => Err((
                self.last + 1,
                format!("the file ends where {what} was expected (truncated?)"),
            )),
        }
    }

    /// A header line `word a b …`: returns the numbers after `word`.
    fn header(&mut self, word: &str, count: usize) -> Result<(usize, Vec<usize>), (usize, String)> {
        let (n, line) = self.next(&format!("a \"{word}\" line"))?;
        let mut parts = line.split_whitespace();
        if parts.next() != Some(word) {
            return Err((
                n,
                format!("expected a line starting with \"{word}\", found {line:?}"),
            ));
        }
        let nums = parts
            .map(|p| p.parse::<usize>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| {
                (
                    n,
                    format!("\"{word}\" must be followed by whole numbers: {line:?}"),
                )
            })?;
        if nums.len() != count {
            return Err((
                n,
                format!("\"{word}\" takes {count} numbers, found {line:?}"),
            ));
        }
        Ok((n, nums))
    }

    fn numbers(&mut self, count: usize, what: &str) -> Result<Vec<f64>, (usize, String)> {
        let (n, line) = self.next(what)?;
        let values = line
            .split_whitespace()
            .map(|p| {
                p.parse::<f64>()
                    .map_err(|_| (n, format!("{p:?} is not a number")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if values.len() != count {
            return Err((
                n,
                format!("{what}: expected {count} numbers, found {}", values.len()),
            ));
        }
        Ok(values)
    }
}

/// Checks, before allocating, that `rows × cols` numbers can be in the file at all: each takes
/// at least two bytes (a digit and a separator), so a header asking for more than the bytes
/// present is refused instead of allocating what it asks (a hand-edited `sizes 2 100000000000 2`).
fn fits(
    text: &str,
    rows: usize,
    cols: usize,
    line: usize,
    what: &str,
) -> Result<(), (usize, String)> {
    match rows.checked_mul(cols) {
        Some(cells) if cells <= text.len() / 2 + 1 => Ok(()),
        _ => Err((
            line,
            format!(
                "{what} of {rows} × {cols} numbers cannot be in a file of {} bytes: the sizes \
                 line is wrong (was the file edited or cut?)",
                text.len()
            ),
        )),
    }
}

fn parse(text: &str) -> Result<SavedModel, (usize, String)> {
    let mut lines = Lines {
        inner: text.lines().enumerate(),
        last: 0,
    };
    let (n, first) = lines.next("the header")?;
    let mut parts = first.split_whitespace();
    if parts.next() != Some(MAGIC) {
        return Err((
            n,
            format!("not an nnsweep model file (it should start with \"{MAGIC}\")"),
        ));
    }
    let version = match parts.next().and_then(|v| v.parse::<u32>().ok()) {
        Some(v @ 1..=VERSION) => v,
        Some(v) => {
            return Err((
                n,
                format!(
                    "model format {v}, but this nnsweep reads formats 1 to {VERSION}: use the \
                     nnsweep that wrote it"
                ),
            ))
        }
        None => {
            return Err((
                n,
                "the format version is missing after the magic word".into(),
            ))
        }
    };
    let (n, line) = lines.next("the run_id line")?;
    let run_id = line
        .strip_prefix("run_id ")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or((n, format!("expected \"run_id <id>\", found {line:?}")))?
        .to_string();
    let (n, line) = lines.next("the sizes line")?;
    let sizes = line
        .strip_prefix("sizes ")
        .and_then(|s| {
            s.split_whitespace()
                .map(|p| p.parse::<usize>().ok().filter(|&v| v > 0))
                .collect::<Option<Vec<_>>>()
        })
        .filter(|s| s.len() >= 2)
        .ok_or((
            n,
            format!("expected \"sizes\" and at least two positive layer sizes, found {line:?}"),
        ))?;
    let mut weights = Vec::new();
    let mut biases = Vec::new();
    for (l, pair) in sizes.windows(2).enumerate() {
        let (rows, cols) = (pair[1], pair[0]);
        let (n, dims) = lines.header("weights", 3)?;
        if dims != [l + 1, rows, cols] {
            return Err((
                n,
                format!(
                    "expected \"weights {} {rows} {cols}\" (from the sizes line), found {dims:?}",
                    l + 1
                ),
            ));
        }
        fits(text, rows, cols, n, "weights")?;
        let mut w = Array2::zeros((rows, cols));
        for r in 0..rows {
            let values = lines.numbers(
                cols,
                &format!("row {} of the layer {} weights", r + 1, l + 1),
            )?;
            w.row_mut(r).assign(&Array1::from(values));
        }
        let (n, dims) = lines.header("biases", 2)?;
        if dims != [l + 1, rows] {
            return Err((
                n,
                format!("expected \"biases {} {rows}\", found {dims:?}", l + 1),
            ));
        }
        let b = lines.numbers(rows, &format!("the layer {} biases", l + 1))?;
        weights.push(w);
        biases.push(Array1::from(b));
    }
    // The optional sections, in this order, then "end".
    let mut sections: Vec<&str> = vec!["points"];
    if version >= TEST_POINTS_SINCE {
        sections.push("test_points");
    }
    let expected = |from: usize| {
        sections[from..]
            .iter()
            .map(|w| format!("\"{w} <n> <d>\""))
            .chain(std::iter::once("\"end\"".to_string()))
            .collect::<Vec<_>>()
            .join(" or ")
    };
    let mut found: [Option<Points>; 2] = [None, None];
    let mut next = 0;
    let (mut n, mut line) = lines.next(&expected(next))?;
    while line != "end" {
        let word = line.split_whitespace().next().unwrap_or("");
        let Some(k) = sections[next..].iter().position(|w| *w == word) else {
            let why = if word == "test_points" && version < TEST_POINTS_SINCE {
                format!(
                    " (test points came with format {TEST_POINTS_SINCE}; this file says \
                     format {version})"
                )
            } else {
                String::new()
            };
            return Err((
                n,
                format!("expected {}, found {line:?}{why}", expected(next)),
            ));
        };
        next += k;
        found[next] = Some(points_section(&mut lines, text, n, line, &sizes)?);
        next += 1;
        (n, line) = lines.next(&expected(next))?;
    }
    let [points, test_points] = found;
    Ok(SavedModel {
        run_id,
        network: Network { weights, biases },
        points,
        test_points,
    })
}

/// One points section whose header `line` (line `n`: `<word> <count> <d>`) was just read:
/// `count` lines of `d` coordinates and a label, checked against the network's `sizes`.
fn points_section(
    lines: &mut Lines<'_>,
    text: &str,
    n: usize,
    line: &str,
    sizes: &[usize],
) -> Result<Points, (usize, String)> {
    let mut parts = line.split_whitespace();
    let word = parts.next().unwrap_or("");
    let dims = parts
        .map(|p| p.parse::<usize>().ok())
        .collect::<Option<Vec<_>>>()
        .filter(|d| d.len() == 2)
        .ok_or((
            n,
            format!("expected \"{word} <n> <d>\" (two whole numbers), found {line:?}"),
        ))?;
    let (count, d) = (dims[0], dims[1]);
    if d != sizes[0] {
        return Err((
            n,
            format!("{word}: {d} coordinates but the network takes {}", sizes[0]),
        ));
    }
    fits(text, d.saturating_add(1), count, n, word)?;
    let mut x = Array2::zeros((d, count));
    let mut labels = Vec::with_capacity(count);
    let n_out = *sizes.last().expect("two sizes at least");
    for i in 0..count {
        let values = lines.numbers(
            d + 1,
            &format!("{word}: point {} (coordinates then label)", i + 1),
        )?;
        let label = values[d];
        if label.fract() != 0.0 || label < 0.0 || label >= n_out as f64 {
            return Err((
                lines.last,
                format!("{word}: label {label} is not a class of this {n_out}-output network"),
            ));
        }
        x.column_mut(i).assign(&Array1::from(values[..d].to_vec()));
        labels.push(label as u8);
    }
    Ok(Points { x, labels })
}

impl crate::exit::ExitStatus for ModelError {
    /// A model file that cannot be read or parsed is the input's fault.
    fn exit_code(&self) -> u8 {
        crate::exit::BAD_INPUT
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn model(points: bool) -> SavedModel {
        let network = Network {
            weights: vec![
                array![[0.1, -2.5], [1.0 / 3.0, 1e-300], [f64::MAX, -0.0]],
                array![[1.0, 2.0, 3.0], [-1.0, -2.0, -3.0]],
            ],
            biases: vec![array![0.0, 0.5, -0.25], array![1.0, std::f64::consts::PI]],
        };
        let x = array![[0.5, -1.0, 0.25], [1.5, 2.0, -0.125]];
        let test = array![[0.75, -3.5], [1e-7, 2.5]];
        let mut m = SavedModel::new(
            "h3-e0.1-s7",
            network,
            (x.view(), &[0, 1, 1]),
            (test.view(), &[1, 0]),
        );
        if !points {
            m.points = None;
            m.test_points = None;
        }
        m
    }

    #[test]
    fn a_model_round_trips_bit_for_bit() {
        let dir = tempfile::tempdir().unwrap();
        for with_points in [true, false] {
            let m = model(with_points);
            let path = path_for(dir.path(), &m.run_id);
            save(&path, &m).unwrap();
            assert_eq!(load(&path).unwrap(), m);
        }
    }

    #[test]
    fn a_model_with_training_points_only_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = model(true);
        m.test_points = None;
        let path = path_for(dir.path(), &m.run_id);
        save(&path, &m).unwrap();
        assert_eq!(load(&path).unwrap(), m);
    }

    #[test]
    fn points_are_kept_for_2d_inputs_only() {
        let net = Network::init(&[3, 2, 2], 1);
        let x = Array2::zeros((3, 4));
        let m = SavedModel::new("a", net, (x.view(), &[0; 4]), (x.view(), &[0; 4]));
        assert!(m.points.is_none() && m.test_points.is_none());
    }

    #[test]
    fn format_1_files_are_read_without_test_points() {
        // Format 1 as nnsweep 0.1 wrote it: the same sections, no test points.
        let v2 = model(true).to_text();
        let cut = v2.find("test_points").unwrap();
        let v1 = format!("{}end\n", &v2[..cut]).replace("nnsweep-model 2", "nnsweep-model 1");
        let m = parse(&v1).unwrap();
        assert_eq!(m.points, model(true).points);
        assert!(m.test_points.is_none());
        // A test_points section in a format 1 file is not format 1: refused, saying why.
        let mixed = v2.replace("nnsweep-model 2", "nnsweep-model 1");
        let (line, message) = parse(&mixed).unwrap_err();
        assert_eq!(line, 19, "{message}");
        assert!(message.contains("format 2"), "{message}");
    }

    #[test]
    fn test_points_beyond_the_bytes_present_are_refused_before_allocating() {
        let v2 = model(true).to_text();
        let text = v2.replace("test_points 2 2", "test_points 99999999999999 2");
        let (line, message) = parse(&text).unwrap_err();
        assert_eq!(line, 19, "{message}");
        assert!(message.contains("cannot be in a file"), "{message}");
    }

    #[test]
    fn sizes_beyond_the_bytes_present_are_refused_before_allocating() {
        for sizes in ["sizes 2 100000000000 2", "sizes 2 18446744073709551615 2"] {
            let text = format!(
                "nnsweep-model 1\nrun_id a\n{sizes}\nweights 1 {} 2\n",
                &sizes[8..sizes.len() - 2]
            );
            let (line, message) = parse(&text).unwrap_err();
            assert_eq!(line, 4, "{message}");
            assert!(message.contains("cannot be in a file"), "{message}");
        }
    }

    #[test]
    fn damaged_files_name_the_line_and_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.model");
        let good = model(true).to_text();
        let cases = [
            (
                good.replace("nnsweep-model 2", "nnsweep-model 3"),
                "line 1",
                "format 3",
            ),
            ("hello\n".to_string(), "line 1", "not an nnsweep model"),
            (
                good.replace("0.1 -2.5", "0.1"),
                "line 5",
                "expected 2 numbers",
            ),
            (
                good.replace("biases 2 2", "biases 2 3"),
                "line 13",
                "biases 2 2",
            ),
            (
                good.lines().take(8).collect::<Vec<_>>().join("\n"),
                "line 9",
                "truncated",
            ),
            (good.replace("-0.125 1", "-0.125 7"), "line 18", "label 7"),
            // The test points: their header, a short line, a bad label, order, the end.
            (
                good.replace("test_points 2 2", "test_points 2 3"),
                "line 19",
                "3 coordinates",
            ),
            (
                good.replace("2.5 0", "2.5"),
                "line 21",
                "expected 3 numbers",
            ),
            (
                good.replace("2.5 0", "2.5 2"),
                "line 21",
                "test_points: label 2",
            ),
            (
                good.replace("2.5 0\nend", "2.5 0\n0 0 0\nend"),
                "line 22",
                "expected \"end\"",
            ),
            (
                good.replace("test_points", "test_pts"),
                "line 19",
                "expected \"test_points <n> <d>\" or \"end\"",
            ),
            (good.replace("\nend\n", "\n"), "line 22", "truncated"),
        ];
        for (text, line, words) in cases {
            std::fs::write(&path, text).unwrap();
            let err = load(&path).unwrap_err().to_string();
            assert!(
                err.contains("m.model") && err.contains(&format!("{line}:")) && err.contains(words),
                "{err}"
            );
        }
    }
}
