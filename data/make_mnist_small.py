"""Makes data/mnist-small.pkl.gz: the lecture's small MNIST set in the course's pickle layout.

    python3 data/make_mnist_small.py /path/to/mnist      (needs numpy, any version)

/path/to/mnist holds the official MNIST IDX files (train-images-idx3-ubyte.gz or the
project's train-images-first10k-idx3-ubyte.gz, train-labels-..., t10k-images-...,
t10k-labels-...). The output is a gzip'd pickle of (training, validation, test), each
(x float32 n×784 = pixel/256, y int64 labels), written byte for byte as Python 2's cPickle wrote
the course's mnist.pkl.gz (tests/fixtures/py2pickle.py), so both Python 2 and 3 (with
encoding='latin1') and any numpy load it as the course's loader does:

    training   = official training images 0-499     (the lecture's first 500)
    validation = official training images 500-599   (the course's own validation split is
                 training images 50 000-59 999, not included here)
    test       = official test images 0-99           (the lecture's first 100)

If mnist-py2.pkl.gz (the course layout) is in the same folder, the arrays are checked against it.
"""
import gzip
import os
import pickle
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "fixtures"))
import py2pickle  # noqa: E402
from mnist_idx import find, read_idx  # noqa: E402


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "../../shared/data/mnist")
    tr_img = read_idx(find(src, "train-images*idx3-ubyte*"))
    tr_lab = read_idx(find(src, "train-labels*idx1-ubyte*"))
    te_img = read_idx(find(src, "t10k-images-idx3-ubyte*"))
    te_lab = read_idx(find(src, "t10k-labels-idx1-ubyte*"))

    def part(img, lab, lo, hi):
        x = (img[lo:hi].reshape(hi - lo, 784).astype(np.float32) / np.float32(256)).astype(np.float32)
        return x, lab[lo:hi].astype(np.int64)

    layout = (part(tr_img, tr_lab, 0, 500), part(tr_img, tr_lab, 500, 600), part(te_img, te_lab, 0, 100))

    course = os.path.join(src, "mnist-py2.pkl.gz")
    if os.path.exists(course):
        (cx, cy), _, (tx, ty) = pickle.load(gzip.open(course), encoding="latin1")
        assert np.array_equal(cx[:600], np.concatenate([layout[0][0], layout[1][0]]))
        assert np.array_equal(cy[:600], np.concatenate([layout[0][1], layout[1][1]]))
        assert np.array_equal(tx[:100], layout[2][0]) and np.array_equal(ty[:100], layout[2][1])
        print("same arrays as", course)

    data = py2pickle.dumps(layout)
    back = pickle.loads(data, encoding="latin1")
    assert all(np.array_equal(a, b) for p, q in zip(back, layout) for a, b in zip(p, q))
    out = os.path.join(HERE, "mnist-small.pkl.gz")
    with open(out, "wb") as f:
        f.write(gzip.compress(data, compresslevel=9, mtime=0))
    for name, (x, y) in zip(["training", "validation", "test"], layout):
        print(name, x.shape, "label counts", np.bincount(y, minlength=10).tolist(), "first labels", y[:10].tolist())
    print("wrote", out, os.path.getsize(out), "bytes")


if __name__ == "__main__":
    main()
