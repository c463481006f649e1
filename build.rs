//! Fails early, with a sentence saying what to install, when the system OpenBLAS is missing.
//!
//! Without this check the only symptom is a linker error (`unable to find library -lopenblas`)
//! after minutes of compiling, which tells a student nothing about what to do.

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=LIBRARY_PATH");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo:rerun-if-env-changed=NNSWEEP_SKIP_OPENBLAS_CHECK");
    let wants_openblas = std::env::var_os("CARGO_FEATURE_OPENBLAS").is_some();
    let on_linux = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux");
    if !wants_openblas || !on_linux || std::env::var_os("NNSWEEP_SKIP_OPENBLAS_CHECK").is_some() {
        return;
    }
    let found_by_pkg_config = pkg_config::Config::new()
        .cargo_metadata(false)
        .probe("openblas")
        .is_ok();
    if found_by_pkg_config || library_dirs().iter().any(|dir| has_openblas(dir)) {
        return;
    }
    panic!(
        "\n\nnnsweep needs the OpenBLAS library, and it was not found (neither by pkg-config nor \
         in LIBRARY_PATH or the usual library folders).\n\
         - Debian/Ubuntu: sudo apt-get install libopenblas-dev pkg-config\n\
         - Fedora/RHEL:   sudo dnf install openblas-devel pkgconf\n\
         - On a cluster:  module load openblas   (then build again in the same shell)\n\
         - Or build without it (pure Rust matrix products, about 20 % slower):\n\
           cargo build --release --no-default-features\n\
         If OpenBLAS is installed somewhere this check does not look, set \
         NNSWEEP_SKIP_OPENBLAS_CHECK=1.\n\n"
    );
}

fn library_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("LIBRARY_PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    for dir in [
        "/usr/lib",
        "/usr/lib64",
        "/usr/local/lib",
        "/usr/local/lib64",
        "/lib",
        "/lib64",
    ] {
        dirs.push(PathBuf::from(dir));
    }
    // Debian's multiarch folders, e.g. /usr/lib/x86_64-linux-gnu.
    if let Ok(entries) = std::fs::read_dir("/usr/lib") {
        dirs.extend(
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().ends_with("-linux-gnu")),
        );
    }
    dirs
}

fn has_openblas(dir: &Path) -> bool {
    ["libopenblas.so", "libopenblas.a"]
        .iter()
        .any(|name| dir.join(name).exists())
}
