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
//! functions tanh softmax ← optional: hidden activation and output (absent: the lecture's sigmoids)
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
//! The `functions` line is written only for a network that is not the lecture's (issue 10), so
//! the files of sigmoid networks are unchanged, and older nnsweeps refuse the others (at the
//! line) rather than predict with the wrong functions.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ndarray::{Array2, ArrayView2};

use crate::nn::{Functions, Network};

mod parse;
use parse::parse;

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
        let f: Functions = self.network.functions;
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
            functions: Functions::default(),
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
        // The next lecture's functions are kept; the lecture's leave no line.
        assert!(!model(false).to_text().contains("functions"));
        let mut m = model(false);
        m.network.functions = Functions {
            activation: crate::nn::Activation::Tanh,
            output: crate::nn::Output::Softmax,
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
