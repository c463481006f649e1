//! Exit codes, decided by the error's own type: each error type says whether the input is at
//! fault ([`ExitStatus`]), and the command line looks the code up once, on the outermost error
//! of a chain that knows it.
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | done |
//! | 1 | not the input's fault: a disk full, an I/O error, a bug; trying again may work |
//! | 2 | the input's fault: a config, data, results or model file, or the arguments; fix it |
//! | 3 | stopped by SIGTERM, SIGINT or SIGUSR1; the same command resumes |

use std::io::ErrorKind;

/// Something went wrong that is not the input's fault (a disk full, a bug).
pub const FAILURE: u8 = 1;
/// The input is wrong: a config, a data or results file, or the arguments.
pub const BAD_INPUT: u8 = 2;
/// Stopped by SIGTERM, SIGINT or SIGUSR1 before every run was done; rows of finished runs
/// are on disk and the same command resumes.
pub const INTERRUPTED: u8 = 3;

/// An error that knows its exit code.
pub trait ExitStatus {
    /// [`FAILURE`], [`BAD_INPUT`] or [`INTERRUPTED`].
    fn exit_code(&self) -> u8;
}

/// The exit code of a failed write: the input's fault when the path itself cannot be written
/// (a name too long, a folder where a file should be, no permission, a read-only mount),
/// otherwise not (a disk full, a quota, an I/O error).
pub fn write_code(error: &std::io::Error) -> u8 {
    match error.kind() {
        ErrorKind::PermissionDenied
        | ErrorKind::ReadOnlyFilesystem
        | ErrorKind::NotADirectory
        | ErrorKind::IsADirectory
        | ErrorKind::InvalidFilename
        | ErrorKind::InvalidInput => BAD_INPUT,
        _ => FAILURE,
    }
}

/// The exit code of an error chain: that of the outermost error whose type knows it, else
/// [`FAILURE`]. The one list of error types of the crate is here, and only to find them in a
/// chain; each type decides its code itself.
pub fn code_of(chain: &mut dyn Iterator<Item = &(dyn std::error::Error + 'static)>) -> u8 {
    for cause in chain {
        if let Some(code) = known(cause) {
            return code;
        }
    }
    FAILURE
}

fn known(e: &(dyn std::error::Error + 'static)) -> Option<u8> {
    macro_rules! try_types {
        ($($t:ty),* $(,)?) => {
            $(if let Some(e) = e.downcast_ref::<$t>() {
                return Some(e.exit_code());
            })*
        };
    }
    try_types!(
        crate::config::ConfigError,
        crate::data::DataError,
        crate::results::ReadError,
        crate::results::OpenError,
        crate::results::CurvesError,
        crate::sweep::SweepError,
        crate::model_file::ModelError,
        crate::report::ReportError,
        crate::plot::PlotError,
        crate::memory::TooBig,
        crate::signals::Stopped,
        InputError,
    );
    e.downcast_ref::<std::io::Error>().map(|_| FAILURE)
}

/// An error in what the user asked for (arguments, environment), found by the command line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

impl ExitStatus for InputError {
    fn exit_code(&self) -> u8 {
        BAD_INPUT
    }
}

// The report and plot modules' errors are answered here, beside the others, so that their
// owners' files need no change; each arm says why.

impl ExitStatus for crate::report::ReportError {
    fn exit_code(&self) -> u8 {
        use crate::report::ReportError::*;
        match self {
            Read(e) => e.exit_code(),
            Open(e) => e.exit_code(),
            // Writing the summaries failed: a disk full is not the input's fault.
            Write { error, .. } => write_code(error),
            // `merge` refusing to write over a file it did not create.
            NotResults { .. } | Empty { .. } | MixedConfigs { .. } | Target { .. } => BAD_INPUT,
        }
    }
}

impl ExitStatus for crate::plot::PlotError {
    fn exit_code(&self) -> u8 {
        match self {
            crate::plot::PlotError::Input(_) => BAD_INPUT,
            crate::plot::PlotError::Draw { .. } => FAILURE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(e: anyhow::Error) -> u8 {
        code_of(&mut e.chain())
    }

    #[test]
    fn each_error_type_decides_and_the_outermost_wins() {
        let disk_full = std::io::Error::from(ErrorKind::StorageFull);
        let write = crate::report::ReportError::Write {
            path: "s.md".into(),
            error: disk_full,
        };
        assert_eq!(code(write.into()), FAILURE);
        assert_eq!(code(InputError("x".into()).into()), BAD_INPUT);
        let too_long = std::io::Error::from(ErrorKind::InvalidFilename);
        let e = crate::sweep::SweepError::Write {
            path: "m".into(),
            source: too_long,
        };
        assert_eq!(code(e.into()), BAD_INPUT);
        let e = anyhow::Error::new(std::io::Error::from(ErrorKind::StorageFull))
            .context("writing r.csv");
        assert_eq!(code(e), FAILURE);
        let bad_rows = crate::results::ReadError::Header {
            path: "r.csv".into(),
            found: "x".into(),
        };
        assert_eq!(
            code(crate::report::ReportError::Read(bad_rows).into()),
            BAD_INPUT
        );
        assert_eq!(code(anyhow::anyhow!("a bug")), FAILURE);
    }
}
