#!/usr/bin/env bash
# nnsweep side by side with the lecture's algorithm in NumPy (examples/compare.rs: MNIST-small,
# circles) and in PyTorch (examples/large.rs: 8 000 MNIST images, the 18-run sweep); prints the
# tables of bench/README.md.
#
#   bash bench/compare.sh [--only small|large] [--quick] [--repeats N] [--sweep-repeats N]
#
# --quick (fewer steps) and --repeats go to both; --sweep-repeats to the large one only.
# NumPy and PyTorch come from pip into a venv made here once (target/bench-venv, or
# $NNSWEEP_BENCH_VENV); MNIST from $NNSWEEP_MNIST_DIR (default /work/shared/data/mnist).
set -euo pipefail
cd "$(dirname "$0")/.."
only=""
small_args=()
large_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --only) only="$2"; shift 2 ;;
        --sweep-repeats) large_args+=("$1" "$2"); shift 2 ;;
        --repeats) small_args+=("$1" "$2"); large_args+=("$1" "$2"); shift 2 ;;
        *) small_args+=("$1"); large_args+=("$1"); shift ;;
    esac
done
venv="${NNSWEEP_BENCH_VENV:-target/bench-venv}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet numpy joblib threadpoolctl
fi
# PyTorch: PyPI's Linux x86_64 wheel is the CUDA build, and its declared dependencies are
# 5.4 GB installed (triton alone 1 GB). Its CPU kernels (MKL, AVX-512) need none of them, but
# importing it loads the CUDA libraries it is linked with; so: the wheel without its
# dependencies, plus exactly the wheels of the libraries it links (4.1 GB), pinned to the
# versions torch 2.15.0 declares. Elsewhere (aarch64: a CPU wheel) the plain install.
torch_pins=(torch==2.15.0 nvidia-cuda-runtime==13.2.86 nvidia-cuda-cupti==13.2.86
    nvidia-cuda-nvrtc==13.2.86 nvidia-cublas==13.4.1.3 nvidia-cufft==12.2.0.57
    nvidia-cusparse==12.7.10.12 nvidia-nvjitlink==13.5.37 nvidia-cufile==1.17.1.22
    nvidia-cudnn-cu13==9.26.0.51 nvidia-cusparselt-cu13==0.8.1 nvidia-nccl-cu13==2.30.7
    nvidia-nvshmem-cu13==3.7.2)
if [ "$only" != small ] && ! "$venv/bin/python" -c 'import torch' 2>/dev/null; then
    echo "installing PyTorch 2.15.0 (CPU use) into $venv: about 4 GB"
    if [ "$(uname -m)" = x86_64 ]; then
        "$venv/bin/pip" install --quiet --no-deps "${torch_pins[@]}" || true
        "$venv/bin/pip" install --quiet filelock typing-extensions sympy networkx jinja2 fsspec || true
    else
        "$venv/bin/pip" install --quiet torch==2.15.0 || true
    fi
    # Without it the NumPy rows still run; the PyTorch cells say "not run" and why.
    "$venv/bin/python" -c 'import torch' 2>&1 | tail -1 | sed 's/^/PyTorch could not be installed: /' || true
fi
cargo build --release --example compare --example large
# Some machines set these for old OpenBLAS builds; the benchmark unsets them for NumPy's runs
# only (they slow its newer OpenBLAS) and prints which kernel each side ran.
echo "OPENBLAS variables here: $(env | grep '^OPENBLAS_' | tr '\n' ' ' || true)"
if [ "$only" != large ]; then
    target/release/examples/compare --python "$venv/bin/python" ${small_args[@]+"${small_args[@]}"}
    echo
fi
if [ "$only" != small ]; then
    target/release/examples/large --python "$venv/bin/python" ${large_args[@]+"${large_args[@]}"}
fi
