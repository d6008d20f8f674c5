#!/usr/bin/env python3
"""Independent NumPy reference for LatentLab's Conv2d, ConvTranspose2d and Linear.

Each layer is written here from its PyTorch definition, with explicit loops over the kernel
window (no im2col, nothing shared with the Swift code), in float64. For each case the script
draws inputs, weights, bias and an output gradient (float32), computes the forward output and
the gradients of input, weight and bias, and writes everything to
Fixtures/golden/nn/<case>/*.npy, plus Fixtures/golden/nn/cases.json describing the cases.

Run from the package root:  python3 Fixtures/generators/nn_reference.py
"""
import json
import os

import numpy as np

OUT = os.path.join("Fixtures", "golden", "nn")


def conv2d_forward(x, w, b, stride, padding):
    n, cin, h, wd = x.shape
    cout, _, kh, kw = w.shape
    ho = (h + 2 * padding - kh) // stride + 1
    wo = (wd + 2 * padding - kw) // stride + 1
    xp = np.zeros((n, cin, h + 2 * padding, wd + 2 * padding))
    xp[:, :, padding:padding + h, padding:padding + wd] = x
    y = np.zeros((n, cout, ho, wo))
    for a in range(kh):
        for c in range(kw):
            window = xp[:, :, a:a + stride * ho:stride, c:c + stride * wo:stride]  # [n, cin, ho, wo]
            y += np.einsum("nihw,oi->nohw", window, w[:, :, a, c])
    return y + b[None, :, None, None]


def conv2d_backward(x, w, dy, stride, padding):
    n, cin, h, wd = x.shape
    cout, _, kh, kw = w.shape
    _, _, ho, wo = dy.shape
    xp = np.zeros((n, cin, h + 2 * padding, wd + 2 * padding))
    xp[:, :, padding:padding + h, padding:padding + wd] = x
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for a in range(kh):
        for c in range(kw):
            window = xp[:, :, a:a + stride * ho:stride, c:c + stride * wo:stride]
            dw[:, :, a, c] = np.einsum("nohw,nihw->oi", dy, window)
            dxp[:, :, a:a + stride * ho:stride, c:c + stride * wo:stride] += np.einsum("nohw,oi->nihw", dy, w[:, :, a, c])
    dx = dxp[:, :, padding:padding + h, padding:padding + wd]
    return dx, dw, dy.sum(axis=(0, 2, 3))


def conv_transpose2d_forward(x, w, b, stride, padding, output_padding):
    n, cin, h, wd = x.shape
    _, cout, kh, kw = w.shape
    ho = (h - 1) * stride - 2 * padding + kh + output_padding
    wo = (wd - 1) * stride - 2 * padding + kw + output_padding
    full = np.zeros((n, cout, (h - 1) * stride + kh + output_padding, (wd - 1) * stride + kw + output_padding))
    for i in range(h):
        for j in range(wd):
            # every input pixel scatters x[n, c, i, j] * w[c, o, :, :] at (i*s, j*s)
            full[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw] += np.einsum("nc,coab->noab", x[:, :, i, j], w)
    y = full[:, :, padding:padding + ho, padding:padding + wo]
    return y + b[None, :, None, None]


def conv_transpose2d_backward(x, w, dy, stride, padding, output_padding):
    n, cin, h, wd = x.shape
    _, cout, kh, kw = w.shape
    _, _, ho, wo = dy.shape
    full = np.zeros((n, cout, (h - 1) * stride + kh + output_padding, (wd - 1) * stride + kw + output_padding))
    full[:, :, padding:padding + ho, padding:padding + wo] = dy
    dx = np.zeros_like(x)
    dw = np.zeros_like(w)
    for i in range(h):
        for j in range(wd):
            patch = full[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]  # [n, cout, kh, kw]
            dx[:, :, i, j] = np.einsum("noab,coab->nc", patch, w)
            dw += np.einsum("nc,noab->coab", x[:, :, i, j], patch)
    return dx, dw, dy.sum(axis=(0, 2, 3))


CASES = [
    {"name": "conv2d_s2_p1", "layer": "conv2d", "n": 2, "cin": 3, "h": 7, "w": 6, "cout": 4, "k": 3, "stride": 2, "padding": 1},
    {"name": "conv2d_s1_p0_batch1", "layer": "conv2d", "n": 1, "cin": 1, "h": 5, "w": 5, "cout": 2, "k": 3, "stride": 1, "padding": 0},
    {"name": "conv2d_seed_conv3", "layer": "conv2d", "n": 3, "cin": 17, "h": 7, "w": 7, "cout": 32, "k": 3, "stride": 2, "padding": 1},
    {"name": "conv2d_seed_conv3_p0", "layer": "conv2d", "n": 2, "cin": 17, "h": 7, "w": 7, "cout": 32, "k": 3, "stride": 2, "padding": 0},
    {"name": "convT_s2_p1_op1", "layer": "conv_transpose2d", "n": 2, "cin": 4, "h": 4, "w": 4, "cout": 3, "k": 3, "stride": 2, "padding": 1, "output_padding": 1},
    {"name": "convT_s1_p0_batch1", "layer": "conv_transpose2d", "n": 1, "cin": 2, "h": 3, "w": 5, "cout": 2, "k": 3, "stride": 1, "padding": 0, "output_padding": 0},
    {"name": "convT_seed_deconv3", "layer": "conv_transpose2d", "n": 2, "cin": 32, "h": 4, "w": 4, "cout": 17, "k": 3, "stride": 2, "padding": 1, "output_padding": 0},
    {"name": "convT_odd_s2_p0_op1", "layer": "conv_transpose2d", "n": 3, "cin": 3, "h": 3, "w": 2, "cout": 2, "k": 3, "stride": 2, "padding": 0, "output_padding": 1},
    {"name": "linear", "layer": "linear", "n": 5, "in": 7, "out": 3},
    {"name": "linear_batch1", "layer": "linear", "n": 1, "in": 512, "out": 69},
]


def main():
    rng = np.random.default_rng(20261125)
    os.makedirs(OUT, exist_ok=True)
    for case in CASES:
        f32 = lambda *shape: rng.uniform(-1, 1, size=shape).astype(np.float32)
        if case["layer"] == "linear":
            x, w, b = f32(case["n"], case["in"]), f32(case["out"], case["in"]), f32(case["out"])
            y = x.astype(np.float64) @ w.astype(np.float64).T + b
            dy = f32(*y.shape)
            dx = dy.astype(np.float64) @ w.astype(np.float64)
            dw = dy.astype(np.float64).T @ x.astype(np.float64)
            db = dy.astype(np.float64).sum(axis=0)
        elif case["layer"] == "conv2d":
            x = f32(case["n"], case["cin"], case["h"], case["w"])
            w, b = f32(case["cout"], case["cin"], case["k"], case["k"]), f32(case["cout"])
            y = conv2d_forward(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), case["stride"], case["padding"])
            dy = f32(*y.shape)
            dx, dw, db = conv2d_backward(x.astype(np.float64), w.astype(np.float64), dy.astype(np.float64), case["stride"], case["padding"])
        else:
            x = f32(case["n"], case["cin"], case["h"], case["w"])
            w, b = f32(case["cin"], case["cout"], case["k"], case["k"]), f32(case["cout"])
            args = (case["stride"], case["padding"], case["output_padding"])
            y = conv_transpose2d_forward(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), *args)
            dy = f32(*y.shape)
            dx, dw, db = conv_transpose2d_backward(x.astype(np.float64), w.astype(np.float64), dy.astype(np.float64), *args)
        folder = os.path.join(OUT, case["name"])
        os.makedirs(folder, exist_ok=True)
        for name, array, dtype in [("x", x, "<f4"), ("weight", w, "<f4"), ("bias", b, "<f4"), ("dy", dy, "<f4"),
                                   ("y", y, "<f8"), ("dx", dx, "<f8"), ("dweight", dw, "<f8"), ("dbias", db, "<f8")]:
            np.save(os.path.join(folder, name + ".npy"), np.ascontiguousarray(array, dtype=dtype))
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(CASES, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
