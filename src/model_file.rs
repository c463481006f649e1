//! One trained network in a small, versioned text file that a person can read.
//!
//! Text rather than binary because the networks are small (a few thousand numbers at most for
//! the course's sizes), because a student can open one and see the weights, and because Rust
//! prints an f64 in its shortest form that parses back to the very same bits: nothing is lost.
//!
//! ```text
//! nnsweep-model 1
//! run_id h10-e0.005-s1
//! sizes 2 10 2
//! functions tanh softmax ← optional: hidden activation and output (absent: the lecture's sigmoids)
//! weights 1 10 2        ← layer 1: 10 rows of 2 numbers follow
//! …
//! biases 1 10           ← one line of 10 numbers follows
//! …
//! points 400 2          ← optional: the training points, "x1 x2 label" per line
//! …
//! end
//! ```
//!
//! The training points are kept for 2-D data only, so that the decision-boundary chart can be
//! drawn from this file alone, years later: regenerating them from the config would need that
//! file unchanged and the same random-number streams from every future version of `rand`, and a
//! silent difference would put points that the model never saw under its regions.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ndarray::{Array1, Array2, ArrayView2};

use crate::nn::{Activation, Functions, Network, Output};

/// The format version this build writes and reads.
pub const VERSION: u32 = 1;
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
}

impl SavedModel {
    /// Keeps the training points only when they are 2-D (see the module documentation).
    pub fn new(run_id: &str, network: Network, train_x: ArrayView2<f64>, labels: &[u8]) -> Self {
        let points = (train_x.nrows() == 2).then(|| Points {
            x: train_x.to_owned(),
            labels: labels.to_vec(),
        });
        SavedModel {
            run_id: run_id.to_string(),
            network,
            points,
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
        // Only when not the lecture's, so that the files of sigmoid networks stay as they were.
        let f = self.network.functions;
        if !f.is_lecture() {
            let _ = writeln!(out, "functions {} {}", f.activation.name(), f.output.name());
        }
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
        if let Some(p) = &self.points {
            let _ = writeln!(out, "points {} {}", p.labels.len(), p.x.nrows());
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
/// `train_x` and `labels` are the samples the run trained on, kept when they are 2-D.
pub fn save_run(
    results_csv: &Path,
    run_id: &str,
    network: &Network,
    train_x: ArrayView2<f64>,
    labels: &[u8],
) -> std::io::Result<PathBuf> {
    let path = path_for(&models_dir_for(results_csv), run_id);
    save(
        &path,
        &SavedModel::new(run_id, network.clone(), train_x, labels),
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
    inner: std::iter::Peekable<std::iter::Enumerate<std::str::Lines<'a>>>,
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
        inner: text.lines().enumerate().peekable(),
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
    match parts.next().and_then(|v| v.parse::<u32>().ok()) {
        Some(VERSION) => {}
        Some(v) => {
            return Err((
                n,
                format!("model format {v}, but this nnsweep reads format {VERSION}: use the nnsweep that wrote it"),
            ))
        }
        None => return Err((n, "the format version is missing after the magic word".into())),
    }
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
    let mut functions = Functions::default();
    let has_functions = lines
        .inner
        .peek()
        .is_some_and(|(_, l)| l.trim().starts_with("functions"));
    if has_functions {
        let (n, line) = lines.next("the functions line")?;
        functions = line
            .strip_prefix("functions ")
            .and_then(parse_functions)
            .ok_or((
                n,
                format!(
                    "expected \"functions <sigmoid|tanh|relu> <sigmoid|softmax>\", found {line:?}"
                ),
            ))?;
    }
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
    let (n, line) = lines.next("\"points\" or \"end\"")?;
    let points = if line == "end" {
        None
    } else {
        let mut parts = line.split_whitespace();
        let dims = (parts.next() == Some("points"))
            .then(|| {
                parts
                    .map(|p| p.parse::<usize>().ok())
                    .collect::<Option<Vec<_>>>()
            })
            .flatten()
            .filter(|d| d.len() == 2)
            .ok_or((
                n,
                format!("expected \"points <n> <d>\" or \"end\", found {line:?}"),
            ))?;
        let (count, d) = (dims[0], dims[1]);
        if d != sizes[0] {
            return Err((
                n,
                format!(
                    "points have {d} coordinates but the network takes {}",
                    sizes[0]
                ),
            ));
        }
        fits(text, d.saturating_add(1), count, n, "points")?;
        let mut x = Array2::zeros((d, count));
        let mut labels = Vec::with_capacity(count);
        let n_out = *sizes.last().expect("two sizes at least");
        for i in 0..count {
            let values =
                lines.numbers(d + 1, &format!("point {} (coordinates then label)", i + 1))?;
            let label = values[d];
            if label.fract() != 0.0 || label < 0.0 || label >= n_out as f64 {
                return Err((
                    lines.last,
                    format!("label {label} is not a class of this {n_out}-output network"),
                ));
            }
            x.column_mut(i).assign(&Array1::from(values[..d].to_vec()));
            labels.push(label as u8);
        }
        let (n, line) = lines.next("\"end\"")?;
        if line != "end" {
            return Err((
                n,
                format!("expected \"end\" after the points, found {line:?}"),
            ));
        }
        Some(Points { x, labels })
    };
    Ok(SavedModel {
        run_id,
        network: Network {
            weights,
            biases,
            functions,
        },
        points,
    })
}

/// `tanh softmax` and the like: a hidden activation and an output function.
fn parse_functions(text: &str) -> Option<Functions> {
    let mut parts = text.split_whitespace();
    let (a, o) = (parts.next()?, parts.next()?);
    let activation = Activation::ALL.into_iter().find(|x| x.name() == a)?;
    let output = Output::ALL.into_iter().find(|x| x.name() == o)?;
    parts
        .next()
        .is_none()
        .then_some(Functions { activation, output })
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
            functions: Functions::default(),
            weights: vec![
                array![[0.1, -2.5], [1.0 / 3.0, 1e-300], [f64::MAX, -0.0]],
                array![[1.0, 2.0, 3.0], [-1.0, -2.0, -3.0]],
            ],
            biases: vec![array![0.0, 0.5, -0.25], array![1.0, std::f64::consts::PI]],
        };
        let x = array![[0.5, -1.0, 0.25], [1.5, 2.0, -0.125]];
        let mut m = SavedModel::new("h3-e0.1-s7", network, x.view(), &[0, 1, 1]);
        if !points {
            m.points = None;
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
        // The next lecture's functions are kept; the lecture's leave no line.
        assert!(!model(false).to_text().contains("functions"));
        let mut m = model(false);
        m.network.functions = Functions {
            activation: Activation::Tanh,
            output: Output::Softmax,
        };
        assert!(m.to_text().contains("\nfunctions tanh softmax\n"));
        assert_eq!(parse(&m.to_text()).unwrap(), m);
        let bad = m.to_text().replace("functions tanh", "functions tan");
        assert!(parse(&bad)
            .unwrap_err()
            .1
            .contains("functions <sigmoid|tanh|relu>"));
    }

    #[test]
    fn points_are_kept_for_2d_inputs_only() {
        let net = Network::init(&[3, 2, 2], 1);
        let x = Array2::zeros((3, 4));
        assert!(SavedModel::new("a", net, x.view(), &[0; 4])
            .points
            .is_none());
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
                good.replace("nnsweep-model 1", "nnsweep-model 2"),
                "line 1",
                "format 2",
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
