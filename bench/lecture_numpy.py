"""The lecture's algorithm in NumPy, kept as the lecture writes it, to time nnsweep against.

Full-batch gradient descent, sigmoid everywhere, quadratic cost summed over samples, one
forward pass per step (its activations serve the accuracy of the current model and the
backward pass), the best model by training accuracy kept as a real copy.

    python lecture_numpy.py run --data mnist --steps 20000 --eta 5e-4 --hidden 30
    python lecture_numpy.py sweep --data mnist --steps 2000 --jobs 2 --etas 5e-4,1e-3,2e-3 --seeds 8

Prints one JSON object per line: training seconds (the step loop only, no import or data
loading), accuracies, and the BLAS threadpoolctl found.

Run for run with nnsweep's `[train] rng = "numpy"` and `[data] rng = "sklearn"` (issue 12):

    python lecture_numpy.py seeds --rng numpy --data circles --data-rng sklearn \
        --hidden 10 --eta 5e-3 --steps 10000 --seed-list 0,1,2,3,4
    python lecture_numpy.py seeds --rng numpy --data mnist-pkl --hidden 30 --eta 5e-4 \
        --steps 20000 --seed-list 0,1,2

`--rng numpy` draws the initial weights as the lecture's build_model does (np.random.seed(seed),
then np.random.randn(m1, d), np.random.randn(m2, m1), biases zero); `--data-rng sklearn` makes
the circles with sklearn's make_circles and train_test_split (random_state = the data seed);
`--data mnist-pkl` reads the shipped data/mnist-small.pkl.gz as the course's loader does.
`seeds` prints one JSON line per seed (bench/lecture_numpy_runs.sh writes the committed ones).
"""

import argparse
import gzip
import json
import os
import pickle
import time

import numpy as np

MNIST = os.environ.get("NNSWEEP_MNIST_DIR", "/work/shared/data/mnist")
MNIST_PKL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "mnist-small.pkl.gz")


def idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def mnist_small(n_train=500, n_test=100):
    """First 500 training and first 100 test images, one image per column, pixels in [0, 1]."""
    xtr = idx(f"{MNIST}/train-images-first10k-idx3-ubyte.gz")[:n_train]
    ytr = idx(f"{MNIST}/train-labels-first10k-idx1-ubyte.gz")[:n_train]
    xte = idx(f"{MNIST}/t10k-images-idx3-ubyte.gz")[:n_test]
    yte = idx(f"{MNIST}/t10k-labels-idx1-ubyte.gz")[:n_test]
    col = lambda x: (x.reshape(len(x), -1).T / 255.0).copy()
    return col(xtr), ytr.astype(int), col(xte), yte.astype(int)


def mnist_pkl(path=MNIST_PKL, n_train=500, n_test=100):
    """The course's loader on a pickle in its layout: the first n_train training and n_test test
    images, one image per column (float32 pixel/256 in the file, float64 here: exact)."""
    with gzip.open(path, "rb") as f:
        training, _validation, test = pickle.load(f, encoding="latin1")
    x, y = training[0][:n_train].T.astype(np.float64), training[1][:n_train].astype(int)
    xt, yt = test[0][:n_test].T.astype(np.float64), test[1][:n_test].astype(int)
    return x, y, xt, yt


def circles_sklearn(n=500, noise=0.1, factor=0.8, test_fraction=0.2, seed=0):
    """The lecture's circles: sklearn's make_circles, then train_test_split, both seeded."""
    from sklearn.datasets import make_circles
    from sklearn.model_selection import train_test_split

    x, y = make_circles(n, noise=noise, factor=factor, random_state=seed)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_fraction, random_state=seed)
    return x_tr.T.copy(), y_tr, x_te.T.copy(), y_te


def circles(n=500, noise=0.1, factor=0.8, test_fraction=0.2, seed=0):
    """sklearn's make_circles and train_test_split, redone in NumPy (sklearn is not needed)."""
    rng = np.random.default_rng(seed)
    n_out, n_in = n // 2, n - n // 2
    t_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    x = np.vstack([np.c_[np.cos(t_out), np.sin(t_out)], factor * np.c_[np.cos(t_in), np.sin(t_in)]])
    y = np.r_[np.zeros(n_out, int), np.ones(n_in, int)]
    x += rng.normal(scale=noise, size=x.shape)
    order = rng.permutation(n)
    n_test = int(np.ceil(n * test_fraction))
    te, tr = order[:n_test], order[n_test:]
    return x[tr].T.copy(), y[tr], x[te].T.copy(), y[te]


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


class Network:
    def __init__(self, sizes, seed, rng="default"):
        if rng == "numpy":
            # The lecture's build_model: the legacy global stream, one randn per layer.
            np.random.seed(seed)
            self.weights = [np.random.randn(m, n) for n, m in zip(sizes[:-1], sizes[1:])]
        else:
            gen = np.random.default_rng(seed)
            self.weights = [gen.standard_normal((m, n)) for n, m in zip(sizes[:-1], sizes[1:])]
        self.biases = [np.zeros((m, 1)) for m in sizes[1:]]

    def copy(self):
        other = Network.__new__(Network)
        other.weights = [w.copy() for w in self.weights]
        other.biases = [b.copy() for b in self.biases]
        return other

    def feedforward(self, x):
        activations = [x]
        for w, b in zip(self.weights, self.biases):
            activations.append(sigmoid(w @ activations[-1] + b))
        return activations

    def predict(self, x):
        return np.argmax(self.feedforward(x)[-1], axis=0)

    def backprop_update(self, activations, y_onehot, eta):
        """One gradient-descent update from the activations of the forward pass."""
        a = activations[-1]
        delta = (a - y_onehot) * a * (1 - a)
        for l in range(len(self.weights) - 1, -1, -1):
            grad_w = delta @ activations[l].T
            grad_b = delta.sum(axis=1, keepdims=True)
            if l > 0:
                a_prev = activations[l]
                delta = (self.weights[l].T @ delta) * a_prev * (1 - a_prev)
            self.weights[l] -= eta * grad_w
            self.biases[l] -= eta * grad_b


def train_run(data, hidden, eta, steps, seed, rng="default"):
    x, y, xt, yt = data
    n_classes = int(max(y.max(), yt.max())) + 1
    onehot = np.eye(n_classes)[:, y]
    net = Network([x.shape[0], hidden, n_classes], seed, rng)
    best, best_acc, best_step = net.copy(), -1.0, 0
    started, cpu = time.perf_counter(), time.process_time()
    for step in range(steps + 1):
        # One forward pass per step: the accuracy of the model after `step` updates, and the
        # activations its update needs.
        activations = net.feedforward(x)
        acc = np.mean(np.argmax(activations[-1], axis=0) == y)
        if acc > best_acc:
            best, best_acc, best_step = net.copy(), acc, step  # a real copy, not an alias
        if step < steps:
            net.backprop_update(activations, onehot, eta)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "seed": seed,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "steps": steps,
        "best_train_acc": float(best_acc),
        "best_step": best_step,
        "best_test_acc": float(np.mean(best.predict(xt) == yt)),
        "final_train_acc": float(acc),
        "final_test_acc": float(np.mean(net.predict(xt) == yt)),
    }


def blas_info():
    try:
        from threadpoolctl import threadpool_info

        info = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        return [
            {k: i.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
            for i in info
        ]
    except ImportError:
        return "threadpoolctl not installed"


def load(name, data_rng="numpy", data_seed=0):
    if name == "mnist":
        return mnist_small()
    if name == "mnist-pkl":
        return mnist_pkl()
    if data_rng == "sklearn":
        return circles_sklearn(seed=data_seed)
    return circles(seed=data_seed)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["run", "sweep", "seeds"])
    p.add_argument("--data", choices=["mnist", "mnist-pkl", "circles"], default="mnist")
    p.add_argument("--data-rng", choices=["numpy", "sklearn"], default="numpy")
    p.add_argument("--data-seed", type=int, default=0)
    p.add_argument("--rng", choices=["default", "numpy"], default="default")
    p.add_argument("--seed-list", default="0")
    p.add_argument("--steps", type=int, default=20000)
    p.add_argument("--eta", type=float, default=5e-4)
    p.add_argument("--hidden", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--etas", default="5e-4,1e-3,2e-3")
    p.add_argument("--seeds", type=int, default=8)
    p.add_argument("--jobs", type=int, default=os.cpu_count())
    args = p.parse_args()
    data = load(args.data, args.data_rng, args.data_seed)
    if args.mode == "run":
        out = train_run(data, args.hidden, args.eta, args.steps, args.seed, args.rng)
        out["blas"] = blas_info()
        print(json.dumps(out), flush=True)
        return
    if args.mode == "seeds":
        for seed in map(int, args.seed_list.split(",")):
            out = train_run(data, args.hidden, args.eta, args.steps, seed, args.rng)
            out.update(hidden=args.hidden, eta=args.eta, data=args.data, n_train=len(data[1]),
                       n_test=len(data[3]))
            print(json.dumps(out), flush=True)
        return
    from joblib import Parallel, delayed

    grid = [(float(e), s) for e in args.etas.split(",") for s in range(args.seeds)]
    started = time.perf_counter()
    results = Parallel(n_jobs=args.jobs)(
        delayed(train_run)(data, args.hidden, eta, args.steps, seed) for eta, seed in grid
    )
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "runs": len(results), "jobs": args.jobs}), flush=True)


if __name__ == "__main__":
    main()
