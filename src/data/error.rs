//! Errors of the data loaders: each names the file, says what is wrong with it and how to fix it.

use std::path::PathBuf;

use super::pickle::PickleError;

/// Where the course's MNIST file comes from and how to point nnsweep at it.
pub const MNIST_HINT: &str = "The course's file is mnist.pkl.gz (the layout of \
neuralnetworksanddeeplearning.com's data/mnist.pkl.gz); the official IDX files \
(train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, \
t10k-labels-idx1-ubyte.gz) come from the MNIST database. Set `path` in the `[data]` section of \
your config to that .pkl.gz file or to a folder holding the four IDX files; a sample of the first \
500 training and 100 test images ships with nnsweep as data/mnist-small.pkl.gz.";

/// A data file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The path does not exist.
    #[error("{}: no such file or folder. {hint}", path.display())]
    NotFound { path: PathBuf, hint: String },

    /// The file exists but reading it failed.
    #[error("{}: cannot read it: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Gzip data that is cut short or corrupt.
    #[error("{}: {message}", path.display())]
    Gzip { path: PathBuf, message: String },

    /// The pickle reader refused the file or found it broken.
    #[error("{}: {source}", path.display())]
    Pickle {
        path: PathBuf,
        #[source]
        source: PickleError,
    },

    /// A malformed IDX file.
    #[error("{}: {message}", path.display())]
    Idx { path: PathBuf, message: String },

    /// The file parsed but does not hold what the loader needs (tuple layout, shapes,
    /// lengths, labels, counts).
    #[error("{}: {message}", path.display())]
    Layout { path: PathBuf, message: String },

    /// An MNIST label outside 0–9.
    #[error("{}: {split} label {index} is {label}, outside 0–9; MNIST labels are the digits 0 to 9: is this an MNIST file?", path.display())]
    Label {
        path: PathBuf,
        split: &'static str,
        index: usize,
        label: String,
    },

    /// A CSV table that cannot be used.
    #[error("{}: {message}", path.display())]
    Csv { path: PathBuf, message: String },

    /// A request the data cannot satisfy (more samples than the file holds, …).
    #[error("{}: {message}", path.display())]
    Request { path: PathBuf, message: String },
}

impl DataError {
    /// The file the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            DataError::NotFound { path, .. }
            | DataError::Io { path, .. }
            | DataError::Gzip { path, .. }
            | DataError::Pickle { path, .. }
            | DataError::Idx { path, .. }
            | DataError::Layout { path, .. }
            | DataError::Label { path, .. }
            | DataError::Csv { path, .. }
            | DataError::Request { path, .. } => path,
        }
    }
}

impl crate::exit::ExitStatus for DataError {
    /// Every data error is the input's: the file named is missing, unreadable or wrong.
    fn exit_code(&self) -> u8 {
        crate::exit::BAD_INPUT
    }
}
