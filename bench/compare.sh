#!/usr/bin/env bash
# nnsweep against the lecture's NumPy code, side by side in one run; prints the table of
# bench/README.md. Arguments go to the benchmark: --repeats N (default 3), --quick (steps / 10).
# NumPy comes from pip into a venv made here once (target/bench-venv, or $NNSWEEP_BENCH_VENV);
# MNIST from $NNSWEEP_MNIST_DIR (default /work/shared/data/mnist: the IDX files).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${NNSWEEP_BENCH_VENV:-target/bench-venv}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet numpy joblib threadpoolctl
fi
cargo build --release --example compare
# Some machines set these for old OpenBLAS builds; the benchmark unsets them for NumPy's runs
# only (they slow its newer OpenBLAS) and prints which kernel each side ran.
echo "OPENBLAS variables here: $(env | grep '^OPENBLAS_' | tr '\n' ' ' || true)"
exec target/release/examples/compare --python "$venv/bin/python" "$@"
