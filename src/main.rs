//! The `nnsweep` command line: argument parsing and the mapping of errors to exit codes.
//! Everything else lives in the library.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    // Before any product: one BLAS thread per run, the runs themselves are spread over the cores.
    nnsweep::blas::set_threads(1);
    cli::main()
}
