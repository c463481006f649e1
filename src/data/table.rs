//! A user's own table (`[data] kind = "csv"`): a CSV file with a header row, numeric feature
//! columns and one integer label column named in the config.
//!
//! With `test_path`, that file is the test split (it must have the same columns); without it,
//! a seeded shuffle holds out `ceil(n * test_fraction)` rows for testing, as the synthetic
//! datasets and scikit-learn's `train_test_split` do. Labels are integers 0 to 255; the
//! number of classes is the largest label + 1. Features are used as written (no scaling).

use std::path::{Path, PathBuf};

use ndarray::Array2;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::error::DataError;
use super::{Dataset, Split};

/// What to load.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSpec {
    /// The CSV file (the training split when `test_path` is set).
    pub path: PathBuf,
    /// An optional CSV file of test rows with the same columns.
    pub test_path: Option<PathBuf>,
    /// Name of the label column (in the header row).
    pub label_column: String,
    /// Fraction of rows held out for testing when there is no `test_path`.
    pub test_fraction: f64,
    /// Seed of that hold-out shuffle, and of the validation split.
    pub seed: u64,
    /// Fraction of the training rows moved to a validation split.
    pub validation_fraction: Option<super::ValidationFraction>,
}

/// Rows of one file: features row-major, labels, and the feature column names.
struct Rows {
    features: Vec<f64>,
    labels: Vec<u8>,
    columns: Vec<String>,
}

const HINT: &str =
    "Set `path` (and optionally `test_path`) in the `[data]` section of your config \
                    to a CSV file with a header row.";

fn read_rows(path: &Path, label_column: &str) -> Result<Rows, DataError> {
    let csv_err = |message: String| DataError::Csv {
        path: path.to_path_buf(),
        message,
    };
    let file = std::fs::File::open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            DataError::NotFound {
                path: path.to_path_buf(),
                hint: HINT.into(),
            }
        } else {
            DataError::Io {
                path: path.to_path_buf(),
                source: e,
            }
        }
    })?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(file);
    let header = rdr
        .headers()
        .map_err(|e| csv_err(format!("cannot read the header row: {e}")))?
        .clone();
    let Some(label_at) = header.iter().position(|h| h == label_column) else {
        return Err(csv_err(format!(
            "no column named `{label_column}` (the header has: {}); set `label_column` to the \
             column that holds the class labels",
            header.iter().collect::<Vec<_>>().join(", ")
        )));
    };
    let columns: Vec<String> = header
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != label_at)
        .map(|(_, h)| h.to_string())
        .collect();
    if columns.is_empty() {
        return Err(csv_err("no feature column besides the label column".into()));
    }
    let mut features = Vec::new();
    let mut labels = Vec::new();
    for (r, rec) in rdr.records().enumerate() {
        let line = r + 2;
        let rec = rec.map_err(|e| csv_err(format!("line {line}: {e}")))?;
        if rec.len() != header.len() {
            return Err(csv_err(format!(
                "line {line} has {} fields, the header {}",
                rec.len(),
                header.len()
            )));
        }
        for (i, field) in rec.iter().enumerate() {
            if i == label_at {
                let label: u8 = field.parse().map_err(|_| {
                    csv_err(format!(
                        "line {line}: label `{field}` in column `{label_column}` is not an integer \
                         from 0 to 255; labels must be class numbers 0, 1, 2, …"
                    ))
                })?;
                labels.push(label);
            } else {
                let v: f64 = field.parse().map_err(|_| {
                    csv_err(format!(
                        "line {line}: `{field}` in column `{}` is not a number",
                        &header[i]
                    ))
                })?;
                if !v.is_finite() {
                    return Err(csv_err(format!(
                        "line {line}: `{field}` in column `{}` is not finite",
                        &header[i]
                    )));
                }
                features.push(v);
            }
        }
    }
    if labels.is_empty() {
        return Err(csv_err("no data rows after the header".into()));
    }
    Ok(Rows {
        features,
        labels,
        columns,
    })
}

/// Columns `idx` of row-major `rows` (d features each) as a d×n matrix.
fn columns(rows: &Rows, idx: &[usize]) -> Split {
    let d = rows.columns.len();
    let x = Array2::from_shape_fn((d, idx.len()), |(j, c)| rows.features[idx[c] * d + j]);
    Split::new(x, idx.iter().map(|&i| rows.labels[i]).collect())
}

/// Loads the table(s) as `spec` says. The dataset is named after the file's stem.
pub fn load(spec: &TableSpec) -> Result<Dataset, DataError> {
    let train_rows = read_rows(&spec.path, &spec.label_column)?;
    let (train, test) = match &spec.test_path {
        Some(tp) => {
            let test_rows = read_rows(tp, &spec.label_column)?;
            if test_rows.columns != train_rows.columns {
                return Err(DataError::Csv {
                    path: tp.clone(),
                    message: format!(
                        "its feature columns ({}) differ from those of {} ({}); both files need the same columns",
                        test_rows.columns.join(", "),
                        spec.path.display(),
                        train_rows.columns.join(", ")
                    ),
                });
            }
            let all = |r: &Rows| (0..r.labels.len()).collect::<Vec<_>>();
            (
                columns(&train_rows, &all(&train_rows)),
                columns(&test_rows, &all(&test_rows)),
            )
        }
        None => {
            let n = train_rows.labels.len();
            let f = spec.test_fraction;
            if !(f > 0.0 && f < 1.0) {
                return Err(DataError::Request {
                    path: spec.path.clone(),
                    message: format!(
                        "test_fraction = {f}: without `test_path`, set it between 0 and 1 (e.g. 0.2)"
                    ),
                });
            }
            let n_test = (n as f64 * f).ceil() as usize;
            if n_test >= n {
                return Err(DataError::Request {
                    path: spec.path.clone(),
                    message: format!(
                        "only {n} rows: test_fraction = {f} leaves none for training; add rows or lower it"
                    ),
                });
            }
            let mut order: Vec<usize> = (0..n).collect();
            order.shuffle(&mut ChaCha8Rng::seed_from_u64(spec.seed));
            let (test_idx, train_idx) = order.split_at(n_test);
            (
                columns(&train_rows, train_idx),
                columns(&train_rows, test_idx),
            )
        }
    };
    let n_classes = train
        .labels
        .iter()
        .chain(&test.labels)
        .copied()
        .max()
        .unwrap_or(0) as usize
        + 1;
    let name = spec
        .path
        .file_stem()
        .map_or("csv".into(), |s| s.to_string_lossy().into_owned());
    Ok(Dataset {
        name,
        n_classes,
        train,
        validation: None,
        test,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::File::create(&p)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        p
    }

    fn spec(path: PathBuf) -> TableSpec {
        TableSpec {
            path,
            test_path: None,
            label_column: "y".into(),
            test_fraction: 0.25,
            seed: 1,
            validation_fraction: None,
        }
    }

    #[test]
    fn splits_by_fraction_and_by_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "pts.csv", "a,y,b\n1,0,2\n3,1,4\n5,2,6\n7,0,8\n");
        let ds = load(&spec(p.clone())).unwrap();
        assert_eq!(
            (
                ds.name.as_str(),
                ds.n_classes,
                ds.train.len(),
                ds.test.len()
            ),
            ("pts", 3, 3, 1)
        );
        assert_eq!(ds.n_features(), 2);
        // Every column keeps its (a, b) pair and label.
        for s in [&ds.train, &ds.test] {
            for c in 0..s.len() {
                let (a, b) = (s.x[[0, c]], s.x[[1, c]]);
                assert_eq!(b, a + 1.0);
                assert_eq!(s.labels[c], [0, 1, 2, 0][((a - 1.0) / 2.0) as usize]);
            }
        }
        let t = write(dir.path(), "t.csv", "a,y,b\n9,1,10\n");
        let ds = load(&TableSpec {
            test_path: Some(t),
            ..spec(p)
        })
        .unwrap();
        assert_eq!((ds.train.len(), ds.test.len()), (4, 1));
    }

    #[test]
    fn errors_name_the_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "bad.csv", "a,y\n1,0\nx,1\n");
        let e = load(&spec(p)).unwrap_err().to_string();
        assert!(
            e.contains("bad.csv") && e.contains("line 3") && e.contains("`a`"),
            "{e}"
        );
        let p = write(dir.path(), "lab.csv", "a,y\n1,-1\n");
        assert!(load(&spec(p))
            .unwrap_err()
            .to_string()
            .contains("not an integer from 0 to 255"));
        let p = write(dir.path(), "nolab.csv", "a,b\n1,0\n");
        assert!(load(&spec(p))
            .unwrap_err()
            .to_string()
            .contains("no column named `y`"));
        let e = load(&spec(dir.path().join("missing.csv"))).unwrap_err();
        assert!(matches!(e, DataError::NotFound { .. }));
    }
}
