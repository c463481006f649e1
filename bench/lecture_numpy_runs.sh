#!/usr/bin/env bash
# Writes tests/fixtures/lecture_numpy/{circles,mnist_small}.jsonl: the lecture's NumPy code
# (bench/lecture_numpy.py) with NumPy's legacy RNG for the weights and scikit-learn's circles,
# run for run as nnsweep's `[train] rng = "numpy"`, `[data] rng = "sklearn"` must reproduce
# (tests/lecture_numpy.rs). About 5 minutes on one core (MNIST-small: 3 × 20 000 steps).
#
#   bash bench/lecture_numpy_runs.sh [PYTHON]
#
# PYTHON defaults to a venv made in target/lecture-venv with the pinned versions below.
set -euo pipefail
cd "$(dirname "$0")/.."
py="${1:-}"
if [ -z "$py" ]; then
  py=target/lecture-venv/bin/python
  if [ ! -x "$py" ]; then
    python3 -m venv target/lecture-venv
    target/lecture-venv/bin/pip install -q numpy==2.1.3 scikit-learn==1.5.2 scipy==1.17.1 \
      joblib==1.6.0 threadpoolctl==3.8.0
  fi
fi
out=tests/fixtures/lecture_numpy
mkdir -p "$out"
export OPENBLAS_NUM_THREADS=1
versions=$("$py" -c 'import numpy, sklearn, platform; print(f"numpy {numpy.__version__}, scikit-learn {sklearn.__version__}, {platform.machine()}")')
echo "# bench/lecture_numpy.py seeds --rng numpy --data circles --data-rng sklearn (500 points, noise 0.1, factor 0.8, 20 % test, data seed 0) --hidden 10 --eta 5e-3 --steps 10000; $versions" > "$out/circles.jsonl.tmp"
"$py" bench/lecture_numpy.py seeds --rng numpy --data circles --data-rng sklearn --data-seed 0 \
  --hidden 10 --eta 5e-3 --steps 10000 --seed-list 0,1,2,3,4 >> "$out/circles.jsonl.tmp"
mv "$out/circles.jsonl.tmp" "$out/circles.jsonl"
echo "# bench/lecture_numpy.py seeds --rng numpy --data mnist-pkl (data/mnist-small.pkl.gz, first 500 train / 100 test) --hidden 30 --eta 5e-4 --steps 20000; $versions" > "$out/mnist_small.jsonl.tmp"
"$py" bench/lecture_numpy.py seeds --rng numpy --data mnist-pkl \
  --hidden 30 --eta 5e-4 --steps 20000 --seed-list 0,1,2 >> "$out/mnist_small.jsonl.tmp"
mv "$out/mnist_small.jsonl.tmp" "$out/mnist_small.jsonl"
cat "$out/circles.jsonl" "$out/mnist_small.jsonl"
