//! MNIST, from the course's `mnist.pkl.gz` or from the official IDX files.
//!
//! * A file (gzip'd or not, told by its magic bytes, not its name) is read as the course's
//!   pickle: a tuple `(training, validation, test)`, each a tuple `(x, y)` of numpy arrays,
//!   x n×784 pixels and y n labels. Float pixels are used as stored (the course's are
//!   pixel/256); byte pixels are scaled to [0, 1] (/255). The pickle is read by our own
//!   [`pickle`] reader, which never runs code from the file.
//! * A folder is searched for the four IDX files (`train-images-idx3-ubyte`,
//!   `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each
//!   gzip'd or not); their byte pixels are scaled to [0, 1] (/255). Their validation part is
//!   training images 50 000–59 999, as the course's file made it: asking for validation images
//!   needs the full training file, and training then takes from images 0–49 999 only.
//!
//! As the course's loader does, `train` and `test` take the first N samples of each split;
//! `subset = Random` takes N at random (seeded) instead, kept in file order.
//!
//! `validation = Some(N)` loads N validation images beside the training and test images: what
//! `select = "validation"` may choose the model on, while the test set stays held out. None: no
//! validation split (and the dataset hashes as it did before validation data existed).

use std::io::Read;
use std::path::{Path, PathBuf};

use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::error::{DataError, MNIST_HINT};
use super::pickle::{self, Kind, NdArray, Object};
use super::{idx, Dataset, Split};

/// Decompressed inputs larger than this are refused (the full MNIST pickle is ~220 MB).
pub const MAX_DECOMPRESSED: u64 = 4 << 30;

/// Which samples of a split to take when only N are asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Subset {
    /// The first N, as the course's loader does.
    #[default]
    First,
    /// N at random (seeded by `MnistSpec::seed`), kept in file order.
    Random,
}

/// What to load.
#[derive(Debug, Clone, PartialEq)]
pub struct MnistSpec {
    /// A `.pkl`/`.pkl.gz` file in the course's layout, or a folder holding the four IDX files.
    pub path: PathBuf,
    /// Number of training images (all when None).
    pub train: Option<usize>,
    /// Number of test images (all when None).
    pub test: Option<usize>,
    /// Number of validation images (none when None).
    pub validation: Option<usize>,
    pub subset: Subset,
    /// Seed of `Subset::Random`.
    pub seed: u64,
}

/// Number of classes: the digits 0 to 9.
pub const N_CLASSES: usize = 10;

/// Loads MNIST as `spec` says. Name "mnist", 10 classes.
pub fn load(spec: &MnistSpec) -> Result<Dataset, DataError> {
    let path = &spec.path;
    let meta = std::fs::metadata(path).map_err(|e| not_found_or_io(path, e))?;
    if meta.is_dir() {
        return load_idx_folder(spec);
    }
    let bytes = read_maybe_gzip(path, MNIST_HINT)?;
    if bytes.len() >= 4 && bytes[..3] == [0, 0, 8] {
        return Err(DataError::Layout {
            path: path.clone(),
            message: "this is a single IDX file; set `path` to the folder that holds the four \
                      MNIST IDX files (train/t10k images and labels)"
                .into(),
        });
    }
    let obj = pickle::parse(&bytes).map_err(|source| DataError::Pickle {
        path: path.clone(),
        source,
    })?;
    let [train, valid, test] = course_layout(path, obj)?;
    let validation = spec.validation.map(|n| Held {
        count: Some(n),
        ..valid
    });
    assemble(
        spec,
        Held {
            count: spec.train,
            ..train
        },
        validation,
        Held {
            count: spec.test,
            ..test
        },
    )
}

/// One split as found in a file, before subsetting.
struct Held<'a> {
    split: &'static str,
    pixels: Pixels<'a>,
    labels: Vec<u8>,
    count: Option<usize>,
}

/// Where a split's pixels come from.
enum Pixels<'a> {
    /// A numpy array n×d (or n×rows×cols in C order).
    Array(NdArray<'a>),
    /// IDX bytes, n×d row-major.
    Bytes(&'a [u8], usize),
}

impl Pixels<'_> {
    fn n_features(&self) -> usize {
        match self {
            Pixels::Array(a) => a.shape[1..].iter().product(),
            Pixels::Bytes(_, d) => *d,
        }
    }

    /// Copies the samples `idx` into a d×len matrix (one sample per column).
    fn columns(&self, idx: &[usize]) -> Array2<f64> {
        let d = self.n_features();
        let n = idx.len();
        let mut out = vec![0.0; d * n];
        // Blocks of samples keep the rows being read in cache while the output is written
        // row by row (feature-major).
        const BLOCK: usize = 256;
        for start in (0..n).step_by(BLOCK) {
            let block = &idx[start..(start + BLOCK).min(n)];
            match self {
                Pixels::Bytes(data, _) => {
                    for j in 0..d {
                        let row = &mut out[j * n + start..];
                        for (c, &i) in block.iter().enumerate() {
                            row[c] = data[i * d + j] as f64 / 255.0;
                        }
                    }
                }
                Pixels::Array(a) => {
                    let rows = a.shape[0];
                    // x / 1.0 is exact; byte pixels are divided as IDX bytes are.
                    let divisor = if a.dtype.kind == Kind::Float {
                        1.0
                    } else {
                        255.0
                    };
                    for j in 0..d {
                        let row = &mut out[j * n + start..];
                        for (c, &i) in block.iter().enumerate() {
                            let off = if a.fortran_order {
                                j * rows + i
                            } else {
                                i * d + j
                            };
                            row[c] = a.f64_at(off) / divisor;
                        }
                    }
                }
            }
        }
        Array2::from_shape_vec((d, n), out).expect("d*n values")
    }
}

fn assemble(
    spec: &MnistSpec,
    train: Held<'_>,
    validation: Option<Held<'_>>,
    test: Held<'_>,
) -> Result<Dataset, DataError> {
    let path = &spec.path;
    for other in std::iter::once(&test).chain(&validation) {
        if train.pixels.n_features() != other.pixels.n_features() {
            return Err(DataError::Layout {
                path: path.clone(),
                message: format!(
                    "{} images have {} pixels but {} images have {}",
                    train.split,
                    train.pixels.n_features(),
                    other.split,
                    other.pixels.n_features()
                ),
            });
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let mut split = |h: &Held<'_>, key: &str| -> Result<Split, DataError> {
        let have = h.labels.len();
        let want = h.count.unwrap_or(have);
        if want > have {
            return Err(DataError::Request {
                path: path.clone(),
                message: format!(
                    "`{key} = {want}` asks for more {} images than the file holds ({have}); \
                     lower it or use a bigger file",
                    h.split
                ),
            });
        }
        let idx: Vec<usize> = match spec.subset {
            Subset::First => (0..want).collect(),
            Subset::Random => {
                let mut v = rand::seq::index::sample(&mut rng, have, want).into_vec();
                v.sort_unstable();
                v
            }
        };
        let labels = idx.iter().map(|&i| h.labels[i]).collect();
        Ok(Split::new(h.pixels.columns(&idx), labels))
    };
    // Drawn in this order (train, test, validation), so that `subset = "random"` picks the
    // same training and test images whether or not validation images are asked for.
    let train_split = split(&train, "train")?;
    let test_split = split(&test, "test")?;
    let validation = validation.map(|v| split(&v, "validation")).transpose()?;
    Ok(Dataset {
        name: "mnist".into(),
        n_classes: N_CLASSES,
        train: train_split,
        validation,
        test: test_split,
    })
}

/// Checks the course's layout: `(training, validation, test)`, each `(x, y)`.
fn course_layout<'a>(path: &Path, obj: Object<'a>) -> Result<[Held<'a>; 3], DataError> {
    const EXPECTED: &str = "the course's layout is a tuple (training, validation, test), each a \
                            tuple (x, y) of numpy arrays: x n×784 pixels, y n integer labels";
    let layout = |message: String| DataError::Layout {
        path: path.to_path_buf(),
        message,
    };
    let Object::Tuple(parts) = obj else {
        return Err(layout(format!(
            "the pickle holds {}; {EXPECTED}",
            obj.describe()
        )));
    };
    if parts.len() != 3 {
        return Err(layout(format!(
            "the pickle holds a tuple of {}; {EXPECTED}",
            parts.len()
        )));
    }
    let mut out = Vec::with_capacity(3);
    for (part, split) in parts.into_iter().zip(["training", "validation", "test"]) {
        let Object::Tuple(xy) = part else {
            return Err(layout(format!(
                "the {split} part is {}; {EXPECTED}",
                part.describe()
            )));
        };
        let Ok::<[Object<'a>; 2], _>([x, y]) = xy.try_into() else {
            return Err(layout(format!(
                "the {split} part is not a pair (x, y); {EXPECTED}"
            )));
        };
        let x = match x {
            Object::Array(a) if a.shape.len() == 2 || (a.shape.len() > 2 && !a.fortran_order) => a,
            other => {
                return Err(layout(format!(
                    "the {split} images x are {}; expected a 2-D numpy array n×784",
                    other.describe()
                )))
            }
        };
        let y = match y {
            Object::Array(a) if a.shape.len() == 1 && a.dtype.kind != Kind::Float => a,
            other => {
                return Err(layout(format!(
                    "the {split} labels y are {}; expected a 1-D numpy array of integers",
                    other.describe()
                )))
            }
        };
        if x.shape[0] != y.shape[0] {
            return Err(layout(format!(
                "the {split} part has {} images in x but {} labels in y; x and y must have one row per image",
                x.shape[0], y.shape[0]
            )));
        }
        let labels = (0..y.len())
            .map(|i| {
                let v = y.i64_at(i);
                match v {
                    Some(v @ 0..=9) => Ok(v as u8),
                    _ => Err(DataError::Label {
                        path: path.to_path_buf(),
                        split,
                        index: i,
                        label: v.map_or("not an integer".into(), |v| v.to_string()),
                    }),
                }
            })
            .collect::<Result<Vec<u8>, _>>()?;
        out.push(Held {
            split,
            pixels: Pixels::Array(x),
            labels,
            count: None,
        });
    }
    Ok(out
        .try_into()
        .unwrap_or_else(|_| unreachable!("three parts")))
}

/// Images in the full IDX training file, and where its validation part starts (the course's
/// file took training images 50 000–59 999 as its validation set).
const IDX_TRAIN_ALL: usize = 60_000;
const IDX_VALIDATION_START: usize = 50_000;

/// The four files of an IDX folder.
const IDX_ROLES: [(&str, &[&str], &str); 4] = [
    ("train", &["train"], "images"),
    ("train", &["train"], "labels"),
    ("test", &["t10k", "test"], "images"),
    ("test", &["t10k", "test"], "labels"),
];

/// Finds the file of one role: the standard name (`train-images-idx3-ubyte`, with `.gz`, or
/// `.idx3` instead of `-idx3`) first, else the only file whose name starts with one of
/// `prefixes` and contains `kind` and `idx`.
fn find_idx_file(dir: &Path, prefixes: &[&str], kind: &str) -> Result<PathBuf, DataError> {
    let rank = if kind == "images" { "idx3" } else { "idx1" };
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|source| DataError::Io {
            path: dir.to_path_buf(),
            source,
        })?
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_type()
                .map(|t| t.is_file() || t.is_symlink())
                .unwrap_or(false)
        })
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    for p in prefixes {
        for sep in ["-", "."] {
            for ext in ["", ".gz"] {
                let std_name = format!("{p}-{kind}{sep}{rank}-ubyte{ext}");
                if names.contains(&std_name) {
                    return Ok(dir.join(std_name));
                }
            }
        }
    }
    let candidates: Vec<&String> = names
        .iter()
        .filter(|n| {
            let l = n.to_lowercase();
            prefixes.iter().any(|p| l.starts_with(p)) && l.contains(kind) && l.contains(rank)
        })
        .collect();
    match candidates.as_slice() {
        [one] => Ok(dir.join(one)),
        [] => Err(DataError::NotFound {
            path: dir.join(format!("{}-{kind}-{rank}-ubyte.gz", prefixes[0])),
            hint: format!(
                "The folder has no {} {kind} IDX file. {MNIST_HINT}",
                if prefixes[0] == "train" {
                    "training"
                } else {
                    "test"
                }
            ),
        }),
        many => Err(DataError::Layout {
            path: dir.to_path_buf(),
            message: format!(
                "several files could be the {} {kind}: {}; keep one of them in the folder",
                prefixes[0],
                many.iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}

fn load_idx_folder(spec: &MnistSpec) -> Result<Dataset, DataError> {
    let dir = &spec.path;
    let mut files = Vec::with_capacity(4);
    for (_, prefixes, kind) in IDX_ROLES {
        let p = find_idx_file(dir, prefixes, kind)?;
        let bytes = read_maybe_gzip(&p, MNIST_HINT)?;
        files.push((p, bytes));
    }
    let mut parsed = Vec::with_capacity(4);
    for ((p, bytes), (_, _, kind)) in files.iter().zip(IDX_ROLES) {
        let idx = idx::parse(bytes).map_err(|message| DataError::Idx {
            path: p.clone(),
            message,
        })?;
        let (magic, what) = if kind == "images" {
            (idx::MAGIC_IMAGES, "images (magic 2051, three dimensions)")
        } else {
            (idx::MAGIC_LABELS, "labels (magic 2049, one dimension)")
        };
        if idx.magic != magic {
            return Err(DataError::Idx {
                path: p.clone(),
                message: format!(
                    "IDX magic number {} where MNIST {what} was expected",
                    idx.magic
                ),
            });
        }
        parsed.push(idx);
    }
    let mut helds = Vec::with_capacity(2);
    for (pair, (split, count)) in parsed
        .chunks(2)
        .zip([("training", spec.train), ("test", spec.test)])
    {
        let (images, labels) = (&pair[0], &pair[1]);
        let k = if split == "training" { 0 } else { 2 };
        if images.dims[0] != labels.dims[0] {
            return Err(DataError::Layout {
                path: files[k].0.clone(),
                message: format!(
                    "holds {} images but {} holds {} labels; the {split} images and labels files must \
                     come from the same set",
                    images.dims[0],
                    files[k + 1].0.display(),
                    labels.dims[0]
                ),
            });
        }
        let labels = labels
            .data
            .iter()
            .enumerate()
            .map(|(i, &l)| {
                if l <= 9 {
                    Ok(l)
                } else {
                    Err(DataError::Label {
                        path: files[k + 1].0.clone(),
                        split,
                        index: i,
                        label: l.to_string(),
                    })
                }
            })
            .collect::<Result<Vec<u8>, _>>()?;
        let d = images.dims[1] * images.dims[2];
        helds.push(Held {
            split,
            pixels: Pixels::Bytes(images.data, d),
            labels,
            count,
        });
    }
    let test = helds.pop().expect("two splits");
    let mut train = helds.pop().expect("two splits");
    let validation = match spec.validation {
        None => None,
        Some(count) => {
            let Pixels::Bytes(data, d) = train.pixels else {
                unreachable!("IDX pixels are bytes")
            };
            if train.labels.len() != IDX_TRAIN_ALL {
                return Err(DataError::Request {
                    path: files[0].0.clone(),
                    message: format!(
                        "`validation = {count}` takes training images 50000 to 59999 of the full \
                         training file (60000 images), but this one holds {}; use the full \
                         file or remove `validation`",
                        train.labels.len()
                    ),
                });
            }
            let (fit, held) = data.split_at(IDX_VALIDATION_START * d);
            let labels = train.labels.split_off(IDX_VALIDATION_START);
            train.pixels = Pixels::Bytes(fit, d);
            Some(Held {
                split: "validation",
                pixels: Pixels::Bytes(held, d),
                labels,
                count: Some(count),
            })
        }
    };
    assemble(spec, train, validation, test)
}

fn not_found_or_io(path: &Path, e: std::io::Error) -> DataError {
    if e.kind() == std::io::ErrorKind::NotFound {
        DataError::NotFound {
            path: path.to_path_buf(),
            hint: MNIST_HINT.into(),
        }
    } else {
        DataError::Io {
            path: path.to_path_buf(),
            source: e,
        }
    }
}

/// Reads a file whole, gunzipping it when it starts with gzip's magic bytes (1f 8b).
/// `hint` says, when the file is missing, where it comes from and how to point at it.
pub fn read_maybe_gzip(path: &Path, hint: &str) -> Result<Vec<u8>, DataError> {
    // A device or a pipe may never end (/dev/zero): only regular files are read whole.
    if let Ok(meta) = std::fs::metadata(path) {
        if !meta.is_file() {
            return Err(DataError::Request {
                path: path.to_path_buf(),
                message: "is not a regular file (a device, a pipe or a folder); point `path` at \
                          the data file itself"
                    .into(),
            });
        }
    }
    let raw = std::fs::read(path).map_err(|e| match not_found_or_io(path, e) {
        DataError::NotFound { path, .. } => DataError::NotFound {
            path,
            hint: hint.into(),
        },
        other => other,
    })?;
    if raw.len() < 2 || raw[..2] != [0x1f, 0x8b] {
        return Ok(raw);
    }
    let mut out = Vec::new();
    // Grown with try_reserve inside read_to_end: a bomb under a memory cap is an error here,
    // not an abort.
    let mut dec = flate2::read::MultiGzDecoder::new(&raw[..]).take(MAX_DECOMPRESSED + 1);
    if let Err(e) = dec.read_to_end(&mut out) {
        let message = if e.kind() == std::io::ErrorKind::UnexpectedEof {
            "the gzip data ends early: the file is truncated; copy or download it again".to_string()
        } else if e.kind() == std::io::ErrorKind::OutOfMemory {
            format!(
                "decompresses to more than the memory this process may use ({} so far), far \
                 more than any MNIST file",
                crate::memory::human(out.len() as u64)
            )
        } else {
            format!("the gzip data is corrupt ({e}); copy or download the file again")
        };
        return Err(DataError::Gzip {
            path: path.to_path_buf(),
            message,
        });
    }
    if out.len() as u64 > MAX_DECOMPRESSED {
        return Err(DataError::Gzip {
            path: path.to_path_buf(),
            message: format!(
                "decompresses to more than {} GiB, far more than any MNIST file",
                MAX_DECOMPRESSED >> 30
            ),
        });
    }
    Ok(out)
}
