"""The lecture's algorithm in PyTorch (CPU), to time nnsweep against on large training sets.

The same algorithm as bench/lecture_numpy.py: sigmoid layers, quadratic cost ½Σ(a−y)² summed
over the samples, full-batch gradient descent, one forward pass per step whose activations give
the current model's training accuracy and feed the update, the best model by training accuracy
kept as a real copy (clone). Samples are columns (d × n), as in the lecture.

The gradient is the lecture's hand-written backprop, written with PyTorch's fused in-place
operations (addmm/baddbmm with alpha, sigmoid_, mul_): it makes the same products as autograd
would (autograd also skips the product for X, which needs no gradient), but without building a
graph each step, and it keeps the update order of the lecture's code (each layer's delta uses
its weights before their update). `--grad autograd` runs the same step through autograd instead
(cost.backward(), then an in-place update under no_grad), to check that it is not faster.

    python lecture_torch.py info
    python lecture_torch.py peak [--size 2000]
    python lecture_torch.py run --dtype f32 --hidden 30 --eta 2e-5 --steps 200 [--n 8000]
    python lecture_torch.py sweep --variant vmap|joblib --dtype f64 --steps 200 \
        --hiddens 10,30,100 --etas 1e-5,3e-5 --seeds 3 [--jobs 2]

`run` uses one thread (torch.set_num_threads(1)) and times the step loop only. `sweep` trains
hiddens × etas × seeds runs: `vmap` stacks the runs of one hidden size and steps them together
through torch.func.vmap of the same per-run step (the vmapped products fold the runs into one
product with the shared X), with torch's threads = all cores; `joblib` runs each run as `run`
does (1 thread) in a pool of `--jobs` processes, warmed up (torch imported, data loaded) before
the clock starts. Data: the first n MNIST training images (and 100 test images) from the IDX
files in $NNSWEEP_MNIST_DIR, pixels / 255. Prints one JSON object per line.
"""

import argparse
import gzip
import json
import os
import time

import numpy as np
import torch

MNIST = os.environ.get("NNSWEEP_MNIST_DIR", "/work/shared/data/mnist")
DTYPES = {"f32": torch.float32, "f64": torch.float64}
N_TEST = 100


def idx(path, n):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)[:n]


_CACHE = {}


def mnist(n, dtype):
    """The first n training and N_TEST test images, one image per column, pixels / 255."""
    key = (n, dtype)
    if key not in _CACHE:
        col = lambda x: torch.from_numpy((x.reshape(len(x), -1).T / 255.0).astype(np.float64)).to(DTYPES[dtype]).contiguous()
        xtr = idx(f"{MNIST}/train-images-first10k-idx3-ubyte.gz", n)
        ytr = idx(f"{MNIST}/train-labels-first10k-idx1-ubyte.gz", n)
        xte = idx(f"{MNIST}/t10k-images-idx3-ubyte.gz", N_TEST)
        yte = idx(f"{MNIST}/t10k-labels-idx1-ubyte.gz", N_TEST)
        if len(ytr) < n:
            raise SystemExit(f"{MNIST}: only {len(ytr)} training images, {n} asked")
        lab = lambda y: torch.from_numpy(y.astype(np.int64))
        _CACHE[key] = (col(xtr), lab(ytr), col(xte), lab(yte))
    return _CACHE[key]


def initial(sizes, seed, dtype):
    """Standard normal weights (torch's generator, seeded), zero biases, as the lecture."""
    gen = torch.Generator().manual_seed(seed)
    ws = [torch.randn(m, k, generator=gen, dtype=torch.float64).to(DTYPES[dtype]) for k, m in zip(sizes[:-1], sizes[1:])]
    bs = [torch.zeros(m, 1, dtype=DTYPES[dtype]) for m in sizes[1:]]
    return ws, bs


def predict(ws, bs, x):
    a = x
    for w, b in zip(ws, bs):
        a = torch.sigmoid(torch.addmm(b, w, a))
    return a.argmax(0)


def train_run(n, hidden, eta, steps, seed, dtype, grad="manual"):
    """One run, the lecture's loop; the step loop alone is timed."""
    x, y, xt, yt = mnist(n, dtype)
    n_classes = 10
    onehot = torch.zeros(n_classes, n, dtype=x.dtype)
    onehot[y, torch.arange(n)] = 1
    ws, bs = initial([x.shape[0], hidden, n_classes], seed, dtype)
    if grad == "autograd":
        for p in ws + bs:
            p.requires_grad_(True)
    best = ([w.detach().clone() for w in ws], [b.detach().clone() for b in bs])
    best_acc, best_step, acc = -1.0, 0, 0.0
    started, cpu = time.perf_counter(), time.process_time()
    for step in range(steps + 1):
        # One forward pass per step: the accuracy of the model after `step` updates, and the
        # activations its update needs.
        if grad == "manual":
            acts = [x]
            for w, b in zip(ws, bs):
                acts.append(torch.addmm(b, w, acts[-1]).sigmoid_())
            out = acts[-1]
        else:
            a = x
            for w, b in zip(ws, bs):
                a = torch.sigmoid(torch.addmm(b, w, a))
            out = a
        acc = float((out.detach().argmax(0) == y).sum()) / n
        if acc > best_acc:
            best_acc, best_step = acc, step
            best = ([w.detach().clone() for w in ws], [b.detach().clone() for b in bs])
        if step == steps:
            break
        if grad == "manual":
            a = acts[-1]
            delta = (a - onehot).mul_(a).mul_(1 - a)
            for l in range(len(ws) - 1, -1, -1):
                a_prev = acts[l]
                if l > 0:
                    # The next delta with the weights before this layer's update.
                    nxt = torch.mm(ws[l].t(), delta).mul_(a_prev).mul_(1 - a_prev)
                ws[l].addmm_(delta, a_prev.t(), alpha=-eta)
                bs[l].sub_(delta.sum(1, keepdim=True), alpha=eta)
                if l > 0:
                    delta = nxt
        else:
            cost = 0.5 * ((out - onehot) ** 2).sum()
            cost.backward()
            with torch.no_grad():
                for p in ws + bs:
                    p.sub_(p.grad, alpha=eta)
                    p.grad = None
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    with torch.no_grad():
        best_test = float((predict(*best, xt) == yt).float().mean())
        final_test = float((predict([w.detach() for w in ws], [b.detach() for b in bs], xt) == yt).float().mean())
    return {
        "hidden": hidden, "eta": eta, "seed": seed, "dtype": dtype, "n": n, "grad": grad,
        "seconds": seconds, "cpu_seconds": cpu, "steps": steps,
        "best_train_acc": best_acc, "best_step": best_step, "best_test_acc": best_test,
        "final_train_acc": acc, "final_test_acc": final_test,
    }


def one_thread_run(*args):
    torch.set_num_threads(1)
    return train_run(*args)


def vmap_group(n, hidden, etas, seeds, steps, dtype):
    """The runs of one hidden size (etas × seeds), stepped together by torch.func.vmap of the
    per-run step: the same algorithm and numbers per run as `run` (up to summation order)."""
    x, y, xt, yt = mnist(n, dtype)
    onehot = torch.zeros(10, n, dtype=x.dtype)
    onehot[y, torch.arange(n)] = 1
    grid = [(e, s) for e in etas for s in seeds]
    inits = [initial([x.shape[0], hidden, 10], s, dtype) for _, s in grid]
    w1, w2 = (torch.stack([ws[i] for ws, _ in inits]) for i in (0, 1))
    b1, b2 = (torch.stack([bs[i] for _, bs in inits]) for i in (0, 1))
    eta = torch.tensor([e for e, _ in grid], dtype=x.dtype)

    def forward(w1, b1, w2, b2):
        a1 = torch.sigmoid(w1 @ x + b1)
        a2 = torch.sigmoid(w2 @ a1 + b2)
        return a1, a2, (a2.argmax(0) == y).sum()

    def step(w1, b1, w2, b2, eta):
        a1, a2, correct = forward(w1, b1, w2, b2)
        d2 = (a2 - onehot) * a2 * (1 - a2)
        d1 = (w2.t() @ d2) * a1 * (1 - a1)
        return (w1 - eta * (d1 @ x.t()), b1 - eta * d1.sum(1, keepdim=True),
                w2 - eta * (d2 @ a1.t()), b2 - eta * d2.sum(1, keepdim=True), correct)

    vstep = torch.func.vmap(step)
    vforward = torch.func.vmap(forward)
    r = len(grid)
    best = [w1.clone(), b1.clone(), w2.clone(), b2.clone()]
    best_acc = torch.full((r,), -1.0, dtype=torch.float64)
    best_step = torch.zeros(r, dtype=torch.int64)
    for t in range(steps + 1):
        if t < steps:
            nw1, nb1, nw2, nb2, correct = vstep(w1, b1, w2, b2, eta)
        else:
            correct = vforward(w1, b1, w2, b2)[2]
        acc = correct.to(torch.float64) / n
        better = acc > best_acc
        if bool(better.any()):
            idx_ = better.nonzero().squeeze(1)
            for kept, cur in zip(best, (w1, b1, w2, b2)):
                kept[idx_] = cur[idx_]  # a copy of the improved runs' current weights
            best_acc = torch.where(better, acc, best_acc)
            best_step[idx_] = t
        if t < steps:
            w1, b1, w2, b2 = nw1, nb1, nw2, nb2
    out = []
    for i, (e, s) in enumerate(grid):
        out.append({"hidden": hidden, "eta": e, "seed": s, "best_train_acc": float(best_acc[i]),
                    "best_step": int(best_step[i]), "final_train_acc": float(acc[i]),
                    "best_test_acc": float((predict([best[0][i], best[2][i]], [best[1][i], best[3][i]], xt) == yt).float().mean())})
    return out


def warm(n, dtype):
    torch.set_num_threads(1)
    mnist(n, dtype)
    return os.getpid()


def peak(size):
    """Single-thread GFLOP/s of PyTorch's (MKL's) size³ product, f64 and f32: median of 3."""
    torch.set_num_threads(1)
    out = {}
    for name, dt in DTYPES.items():
        a, b = torch.ones(size, size, dtype=dt), torch.ones(size, size, dtype=dt)
        a @ b
        mid = sorted(timed(lambda: a @ b) for _ in range(3))[1]
        out[f"mm_{name}_gflops"] = 2 * size**3 / mid / 1e9
    return out


def timed(f):
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def info():
    return {"torch": torch.__version__, "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "blas": "mkl" if torch.backends.mkl.is_available() else "other",
            "mkldnn": torch.backends.mkldnn.is_available(), "cores": os.cpu_count()}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["info", "peak", "run", "sweep"])
    p.add_argument("--size", type=int, default=2000, help="peak: the product's size")
    p.add_argument("--dtype", choices=list(DTYPES), default="f64")
    p.add_argument("--n", type=int, default=8000)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--hidden", type=int, default=30)
    p.add_argument("--eta", type=float, default=2e-5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--grad", choices=["manual", "autograd"], default="manual")
    p.add_argument("--variant", choices=["vmap", "joblib"], default="vmap")
    p.add_argument("--hiddens", default="10,30,100")
    p.add_argument("--etas", default="1e-5,3e-5")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--jobs", type=int, default=os.cpu_count())
    p.add_argument("--each", action="store_true", help="sweep: print each run's accuracies too")
    args = p.parse_args()
    if args.mode == "info":
        print(json.dumps(info()), flush=True)
        return
    if args.mode == "peak":
        print(json.dumps(peak(args.size)), flush=True)
        return
    if args.mode == "run":
        torch.set_num_threads(1)
        out = train_run(args.n, args.hidden, args.eta, args.steps, args.seed, args.dtype, args.grad)
        out.update(info(), threads=torch.get_num_threads())
        print(json.dumps(out), flush=True)
        return
    hiddens = [int(h) for h in args.hiddens.split(",")]
    etas = [float(e) for e in args.etas.split(",")]
    seeds = list(range(args.seeds))
    # Largest runs first, as nnsweep's scheduler does.
    hiddens.sort(reverse=True)
    if args.variant == "vmap":
        torch.set_num_threads(args.jobs)
        mnist(args.n, args.dtype)
        started = time.perf_counter()
        runs = [r for h in hiddens for r in vmap_group(args.n, h, etas, seeds, args.steps, args.dtype)]
        seconds = time.perf_counter() - started
    else:
        from joblib import Parallel, delayed

        with Parallel(n_jobs=args.jobs) as pool:
            pids = set(pool(delayed(warm)(args.n, args.dtype) for _ in range(4 * args.jobs)))
            started = time.perf_counter()
            runs = pool(delayed(one_thread_run)(args.n, h, e, args.steps, s, args.dtype)
                        for h in hiddens for e in etas for s in seeds)
            seconds = time.perf_counter() - started
    if args.each:
        for r in runs:
            print(json.dumps(r), flush=True)
    print(json.dumps({"variant": args.variant, "dtype": args.dtype, "seconds": seconds, "runs": len(runs),
                      "jobs": args.jobs, "threads": torch.get_num_threads(),
                      "min_best_train_acc": min(r["best_train_acc"] for r in runs)}), flush=True)


if __name__ == "__main__":
    main()
