#!/usr/bin/env python3
"""Cross-check LatentLab's t-SNE against scikit-learn's and openTSNE's on the same input and machine.

Builds the benchmark's input independently (Fashion-MNIST images scaled to [0, 1], centred on
the training mean, projected on the training set's first 50 principal components, in NumPy
float64): the 10,000 test images, or with --points 60000 the 60,000 training images. Then runs,
one after the other in this process's run (2 threads each):

- scikit-learn's Barnes-Hut TSNE (perplexity 30, PCA init, learning rate "auto", angle 0.5);
- openTSNE's FFT-interpolated TSNE (`negative_gradient_method="fft"`, its defaults otherwise:
  perplexity 30, PCA init, learning rate "auto");
- `latentlab embed --input ... --method tsne --algorithm fft` and `--algorithm bh`;

and prints seconds, final KL and the leave-one-out 10-nearest-neighbour accuracy of each
(computed here, in NumPy, the same way for all: majority of the 10 nearest other points, ties
to the smallest label), with LatentLab's time as a fraction of openTSNE's.

scikit-learn and openTSNE are tools for checking, never dependencies:
`python3 -m pip install scikit-learn openTSNE`.
Usage: scripts/compare-tsne-sklearn.py [--points 10000|60000] [--skip sklearn,opentsne,bh]
       [--rounds R] [path/to/latentlab] (default .build/release/latentlab)
With --rounds R > 1, openTSNE FFT and LatentLab FFT alternate R times (the others run once).
"""
import argparse
import gzip
import os
import subprocess
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
        nearest = np.argpartition(d, k, axis=1)[:, :k]
        # argpartition leaves the k nearest unordered; ties at the k-th are rare in floats.
        for r in range(d.shape[0]):
            if np.bincount(labels[nearest[r]], minlength=10).argmax() == labels[start + r]:
                correct += 1
    return correct / n


def report(name, seconds, kl, accuracy, extra=""):
    print(f"{name}: {seconds:.1f} s, KL {kl:.4f}, 10-NN {accuracy:.4f}{extra}", flush=True)


def run_sklearn(x, labels):
    from sklearn.manifold import TSNE

    start = time.time()
    tsne = TSNE(n_components=2, perplexity=30, init="pca", learning_rate="auto", method="barnes_hut",
                angle=0.5, n_jobs=2, random_state=0)
    e = tsne.fit_transform(x)
    report("scikit-learn Barnes-Hut", time.time() - start, tsne.kl_divergence_, knn_accuracy(e, labels))


def run_opentsne(x, labels):
    from openTSNE import TSNE

    start = time.time()
    e = TSNE(n_jobs=2, negative_gradient_method="fft", random_state=0).fit(x.astype(np.float64))
    seconds = time.time() - start
    report("openTSNE FFT", seconds, e.kl_divergence, knn_accuracy(np.asarray(e), labels))
    return seconds


def run_latentlab(binary, folder, algorithm):
    start = time.time()
    run = subprocess.run([binary, "embed", "--input", os.path.join(folder, "x.npy"), "--labels",
                          os.path.join(folder, "labels.csv"), "--method", "tsne", "--algorithm", algorithm,
                          "--threads", "2", "--out", os.path.join(folder, algorithm)],
                         check=True, capture_output=True, text=True)
    seconds = time.time() - start
    ours = np.loadtxt(os.path.join(folder, algorithm, "tsne.csv"), delimiter=",", skiprows=1)
    summary = run.stdout.strip().splitlines()[-1]
    kl = float(summary.split("KL divergence ")[1].split(",")[0])
    name = "LatentLab FFT" if algorithm == "fft" else "LatentLab Barnes-Hut"
    report(name, seconds, kl, knn_accuracy(ours[:, :2], ours[:, 2].astype(np.int64)),
           f" (whole command; {summary.split('(', 1)[1].rstrip(')')}")
    return seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=10000, choices=[10000, 60000])
    parser.add_argument("--skip", default="", help="comma-separated: sklearn, opentsne, bh")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("binary", nargs="?", default=".build/release/latentlab")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))

    train = idx("train-images-idx3-ubyte.gz").reshape(60000, 784) / 255.0
    mean = train.mean(0)
    _, _, vt = np.linalg.svd(train - mean, full_matrices=False)
    if args.points == 60000:
        images, labels = train, idx("train-labels-idx1-ubyte.gz").astype(np.int64)
    else:
        images = idx("t10k-images-idx3-ubyte.gz").reshape(10000, 784) / 255.0
        labels = idx("t10k-labels-idx1-ubyte.gz").astype(np.int64)
    x = ((images - mean) @ vt[:50].T).astype(np.float32)
    print(f"{args.points} points, PCA-50, 2 threads; {os.cpu_count()} CPUs", flush=True)

    with tempfile.TemporaryDirectory() as folder:
        np.save(os.path.join(folder, "x.npy"), x)
        np.savetxt(os.path.join(folder, "labels.csv"), labels, fmt="%d")
        if "sklearn" not in skip:
            run_sklearn(x, labels)
        if "bh" not in skip:
            run_latentlab(args.binary, folder, "bh")
        for r in range(args.rounds):
            theirs = run_opentsne(x, labels) if "opentsne" not in skip else None
            ours = run_latentlab(args.binary, folder, "fft")
            if theirs:
                print(f"round {r + 1}: LatentLab FFT / openTSNE FFT time = {ours / theirs:.2f}", flush=True)


if __name__ == "__main__":
    main()
