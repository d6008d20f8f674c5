#!/usr/bin/env python3
"""LatentLab checkpoints from and for NumPy + h5py (the interoperability tests).

  check   CHECKPOINT INPUTS.npy OUTPUTS.npy
      Reads a checkpoint written by LatentLab, checks its root attributes, runs the
      autoencoder's forward pass in NumPy (float64) on INPUTS and compares it with OUTPUTS
      (LatentLab's): exit 0 when the largest difference is at most 1e-5.
  write   CHECKPOINT INPUTS.npy EXPECTED.npy
      Writes an autoencoder checkpoint with h5py from NumPy-drawn weights (the seed
      configuration), random inputs, and the outputs NumPy computes for them.

The layers come from Fixtures/generators/nn_reference.py (loops over the kernel window, no
code shared with LatentLab). Needs numpy and h5py only.
"""
import json
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "generators"))
from nn_reference import conv2d_forward, conv_transpose2d_forward  # noqa: E402

SEED_CONFIG = {"channels": [8, 17, 32], "hidden": 69, "latent": 4, "conv3Padding": 1, "outputActivation": "sigmoid"}


def relu(x):
    return np.maximum(x, 0)


def forward(state, config, x):
    """The autoencoder of a LatentLab config, in float64."""
    s = {k: v.astype(np.float64) for k, v in state.items()}
    p3 = config["conv3Padding"]
    h = relu(conv2d_forward(x, s["encoder.cnn.0.weight"], s["encoder.cnn.0.bias"], 2, 1))
    h = relu(conv2d_forward(h, s["encoder.cnn.2.weight"], s["encoder.cnn.2.bias"], 2, 1))
    h = relu(conv2d_forward(h, s["encoder.cnn.4.weight"], s["encoder.cnn.4.bias"], 2, p3))
    shape = h.shape
    h = h.reshape(h.shape[0], -1)
    h = relu(h @ s["encoder.lin.0.weight"].T + s["encoder.lin.0.bias"])
    z = h @ s["encoder.lin.2.weight"].T + s["encoder.lin.2.bias"]
    h = relu(z @ s["decoder.lin.0.weight"].T + s["decoder.lin.0.bias"])
    h = relu(h @ s["decoder.lin.2.weight"].T + s["decoder.lin.2.bias"])
    h = h.reshape(shape)
    h = relu(conv_transpose2d_forward(h, s["decoder.cnn.0.weight"], s["decoder.cnn.0.bias"], 2, p3, 0))
    h = relu(conv_transpose2d_forward(h, s["decoder.cnn.2.weight"], s["decoder.cnn.2.bias"], 2, 1, 1))
    h = conv_transpose2d_forward(h, s["decoder.cnn.4.weight"], s["decoder.cnn.4.bias"], 2, 1, 1)
    return 1 / (1 + np.exp(-h))


def check(path, inputs_path, outputs_path):
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "latentlab-checkpoint", f.attrs["format"]
        assert int(f.attrs["format_version"]) == 1
        assert f.attrs["model"] == "autoencoder", f.attrs["model"]
        config = json.loads(f.attrs["config"])
        state = {name: np.asarray(d) for name, d in f["state_dict"].items()}
        assert all(v.dtype == np.float32 for v in state.values())
        assert f["state_dict"]["encoder.cnn.0.weight"].fletcher32
    x = np.load(inputs_path).astype(np.float64)
    expected = np.load(outputs_path).astype(np.float64)
    y = forward(state, config, x)
    diff = float(np.max(np.abs(y - expected)))
    print(f"max abs difference NumPy vs LatentLab: {diff:.3g}")
    return 0 if diff <= 1e-5 else 1


def write(path, inputs_path, expected_path):
    rng = np.random.default_rng(12345)
    c, hidden, latent = SEED_CONFIG["channels"], SEED_CONFIG["hidden"], SEED_CONFIG["latent"]
    shapes = {
        "encoder.cnn.0.weight": (c[0], 1, 3, 3), "encoder.cnn.0.bias": (c[0],),
        "encoder.cnn.2.weight": (c[1], c[0], 3, 3), "encoder.cnn.2.bias": (c[1],),
        "encoder.cnn.4.weight": (c[2], c[1], 3, 3), "encoder.cnn.4.bias": (c[2],),
        "encoder.lin.0.weight": (hidden, c[2] * 16), "encoder.lin.0.bias": (hidden,),
        "encoder.lin.2.weight": (latent, hidden), "encoder.lin.2.bias": (latent,),
        "decoder.lin.0.weight": (hidden, latent), "decoder.lin.0.bias": (hidden,),
        "decoder.lin.2.weight": (c[2] * 16, hidden), "decoder.lin.2.bias": (c[2] * 16,),
        "decoder.cnn.0.weight": (c[2], c[1], 3, 3), "decoder.cnn.0.bias": (c[1],),
        "decoder.cnn.2.weight": (c[1], c[0], 3, 3), "decoder.cnn.2.bias": (c[0],),
        "decoder.cnn.4.weight": (c[0], 1, 3, 3), "decoder.cnn.4.bias": (1,),
    }
    state = {k: rng.uniform(-0.3, 0.3, size=v).astype(np.float32) for k, v in shapes.items()}
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "latentlab-checkpoint"
        f.attrs["format_version"] = np.int64(1)
        f.attrs["model"] = "autoencoder"
        f.attrs["config"] = json.dumps(SEED_CONFIG)
        f.attrs["training"] = json.dumps({"note": "weights drawn by NumPy"})
        f.attrs["seed"] = np.int64(0)
        f.attrs["dataset_sha256"] = json.dumps({})
        f.attrs["software"] = "numpy " + np.__version__
        g = f.create_group("state_dict")
        for name, value in state.items():
            g.create_dataset(name, data=value, fletcher32=True, chunks=value.shape)
        f.create_group("rng")
        f.create_group("history")
        progress = f.create_group("progress")
        progress.attrs["epoch"] = np.int64(0)
        progress.attrs["step"] = np.int64(0)
    x = rng.uniform(0, 1, size=(5, 1, 28, 28)).astype(np.float32)
    np.save(inputs_path, x)
    np.save(expected_path, forward(state, SEED_CONFIG, x.astype(np.float64)))
    return 0


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    sys.exit({"check": check, "write": write}[command](*args))
