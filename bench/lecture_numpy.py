"""The lecture's algorithm in NumPy, kept as the lecture writes it, to time nnsweep against.

Full-batch gradient descent, sigmoid everywhere, quadratic cost summed over samples, one
forward pass per step (its activations serve the accuracy of the current model and the
backward pass), the best model by training accuracy kept as a real copy.

    python lecture_numpy.py run --data mnist --steps 20000 --eta 5e-4 --hidden 30
    python lecture_numpy.py sweep --data mnist --steps 2000 --jobs 2 --etas 5e-4,1e-3,2e-3 --seeds 8

Prints one JSON object per line: training seconds (the step loop only, no import or data
loading), accuracies, and the BLAS threadpoolctl found.
"""

import argparse
import gzip
import json
import os
import time

import numpy as np

MNIST = os.environ.get("NNSWEEP_MNIST_DIR", "/work/shared/data/mnist")


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
    def __init__(self, sizes, seed):
        rng = np.random.default_rng(seed)
        self.weights = [rng.standard_normal((m, n)) for n, m in zip(sizes[:-1], sizes[1:])]
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


def train_run(data, hidden, eta, steps, seed):
    x, y, xt, yt = data
    n_classes = int(max(y.max(), yt.max())) + 1
    onehot = np.eye(n_classes)[:, y]
    net = Network([x.shape[0], hidden, n_classes], seed)
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


def load(name):
    return mnist_small() if name == "mnist" else circles()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["run", "sweep"])
    p.add_argument("--data", choices=["mnist", "circles"], default="mnist")
    p.add_argument("--steps", type=int, default=20000)
    p.add_argument("--eta", type=float, default=5e-4)
    p.add_argument("--hidden", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--etas", default="5e-4,1e-3,2e-3")
    p.add_argument("--seeds", type=int, default=8)
    p.add_argument("--jobs", type=int, default=os.cpu_count())
    args = p.parse_args()
    data = load(args.data)
    if args.mode == "run":
        out = train_run(data, args.hidden, args.eta, args.steps, args.seed)
        out["blas"] = blas_info()
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
