#!/usr/bin/env python3
"""Cross-check LatentLab's t-SNE against scikit-learn's on the same input and machine.

Builds the benchmark's 10k input independently (Fashion-MNIST test images scaled to [0, 1],
centred on the training mean, projected on the training set's first 50 principal components,
in NumPy float64), runs scikit-learn's Barnes-Hut TSNE (perplexity 30, PCA init, learning rate
"auto", angle 0.5, 2 threads) and `latentlab embed --input ... --method tsne` on it, and prints
seconds, final KL and the leave-one-out 10-nearest-neighbour accuracy of both (computed here,
in NumPy, the same way for both: majority of the 10 nearest other points, ties to the smallest
label).

scikit-learn is a tool for checking, never a dependency: `python3 -m pip install scikit-learn`.
Usage: scripts/compare-tsne-sklearn.py [path/to/latentlab] (default .build/release/latentlab)
"""
import gzip
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

DATA = os.environ.get("LATENTLAB_DATA", "/usr/share/datasets/fashion-mnist")


def idx(name):
    with gzip.open(os.path.join(DATA, name)) as f:
        b = f.read()
    nd = b[3]
    dims = [int.from_bytes(b[4 + 4 * i : 8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(b, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)


def knn_accuracy(embedding, labels, k=10):
    e = embedding.astype(np.float64)
    n, correct = len(e), 0
    for start in range(0, n, 1000):
        d = ((e[start : start + 1000, None, :] - e[None, :, :]) ** 2).sum(-1)
        for r in range(d.shape[0]):
            d[r, start + r] = np.inf
        nearest = np.argsort(d, axis=1, kind="stable")[:, :k]
        for r in range(d.shape[0]):
            if np.bincount(labels[nearest[r]], minlength=10).argmax() == labels[start + r]:
                correct += 1
    return correct / n


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else ".build/release/latentlab"
    train = idx("train-images-idx3-ubyte.gz").reshape(60000, 784) / 255.0
    test = idx("t10k-images-idx3-ubyte.gz").reshape(10000, 784) / 255.0
    labels = idx("t10k-labels-idx1-ubyte.gz").astype(np.int64)
    mean = train.mean(0)
    _, _, vt = np.linalg.svd(train - mean, full_matrices=False)
    x = ((test - mean) @ vt[:50].T).astype(np.float32)

    from sklearn.manifold import TSNE

    start = time.time()
    tsne = TSNE(n_components=2, perplexity=30, init="pca", learning_rate="auto", method="barnes_hut",
                angle=0.5, n_jobs=2, random_state=0)
    e = tsne.fit_transform(x)
    seconds = time.time() - start
    print(f"scikit-learn: {seconds:.1f} s, KL {tsne.kl_divergence_:.4f}, 10-NN {knn_accuracy(e, labels):.4f}")

    with tempfile.TemporaryDirectory() as folder:
        np.save(os.path.join(folder, "x.npy"), x)
        np.savetxt(os.path.join(folder, "labels.csv"), labels, fmt="%d")
        start = time.time()
        run = subprocess.run([binary, "embed", "--input", os.path.join(folder, "x.npy"), "--labels",
                        os.path.join(folder, "labels.csv"), "--method", "tsne", "--threads", "2",
                        "--out", os.path.join(folder, "out")], check=True, capture_output=True, text=True)
        seconds = time.time() - start
        ours = np.loadtxt(os.path.join(folder, "out", "tsne.csv"), delimiter=",", skiprows=1)
        print(f"LatentLab: {seconds:.1f} s (whole command), 10-NN "
              f"{knn_accuracy(ours[:, :2], ours[:, 2].astype(np.int64)):.4f}; {run.stdout.strip().splitlines()[-1]}")


if __name__ == "__main__":
    main()
