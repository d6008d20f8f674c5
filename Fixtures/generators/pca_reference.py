#!/usr/bin/env python3
"""NumPy reference for LatentLab's PCA: SVD of the centred data (not an eigendecomposition, so
the reference shares no algorithm with the Swift code), scikit-learn's sign convention (each
component's largest-magnitude loading positive), variances S^2 / (N - 1).

Run from the package root:  python3 Fixtures/generators/pca_reference.py
Writes Fixtures/golden/pca/<case>/{data,mean,components,variance_ratio,transformed}.npy.
"""
import os

import numpy as np


def reference(x):
    mean = x.mean(axis=0)
    xc = x - mean
    _, s, vt = np.linalg.svd(xc, full_matrices=False)
    largest = np.argmax(np.abs(vt), axis=1)
    signs = np.sign(vt[np.arange(vt.shape[0]), largest])
    vt = vt * signs[:, None]
    variance = s**2 / (x.shape[0] - 1)
    return mean, vt, variance / variance.sum(), xc @ vt.T


def main():
    rng = np.random.default_rng(2026)
    cases = {
        # Correlated 6-D data with clearly separated variances.
        "small": rng.normal(size=(300, 6)) @ np.diag([5, 3, 2, 1, 0.5, 0.1]) @ np.linalg.qr(rng.normal(size=(6, 6)))[0],
        # Image-sized rows: 784 columns, 300 rows of smooth random images.
        "images": np.clip(rng.normal(0.3, 0.2, size=(300, 784)) + np.repeat(rng.normal(size=(300, 1)), 784, axis=1) * 0.1, 0, 1),
    }
    for name, x in cases.items():
        x = x.astype(np.float32)
        mean, vt, ratio, transformed = reference(x.astype(np.float64))
        k = 6 if name == "small" else 10
        folder = os.path.join("Fixtures", "golden", "pca", name)
        os.makedirs(folder, exist_ok=True)
        np.save(os.path.join(folder, "data.npy"), x)
        np.save(os.path.join(folder, "mean.npy"), mean)
        np.save(os.path.join(folder, "components.npy"), vt[:k])
        np.save(os.path.join(folder, "variance_ratio.npy"), ratio[:k])
        np.save(os.path.join(folder, "transformed.npy"), transformed[:, :k])


if __name__ == "__main__":
    main()
