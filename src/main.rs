//! The `nnsweep` command line: argument parsing and the mapping of errors to exit codes.
//! Everything else lives in the library.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    restore_sigpipe();
    // Before any product: one BLAS thread per run, the runs themselves are spread over the cores.
    nnsweep::blas::set_threads(1);
    cli::main()
}

/// Dies quietly when stdout or stderr is a closed pipe (`nnsweep report x.csv | head`), as Unix
/// tools do, instead of panicking on the failed write. Rust ignores SIGPIPE by default; rows a
/// sweep already wrote are on disk, and the next `run` resumes.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to its default, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
