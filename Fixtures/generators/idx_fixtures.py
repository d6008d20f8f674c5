#!/usr/bin/env python3
"""Crafted IDX files for the Datasets tests: every element type, and every kind of bad input.

Run from the package root:  python3 Fixtures/generators/idx_fixtures.py
It rewrites Fixtures/idx/ (NumPy and the standard library only). gzip members are written with
mtime 0 so the files are the same bytes on every run.
"""
import gzip
import io
import json
import os
import struct

import numpy as np

OUT = os.path.join("Fixtures", "idx")
TYPES = {  # IDX type code, big-endian NumPy dtype
    "uint8": (0x08, ">u1"),
    "int8": (0x09, ">i1"),
    "int16": (0x0B, ">i2"),
    "int32": (0x0C, ">i4"),
    "float32": (0x0D, ">f4"),
    "float64": (0x0E, ">f8"),
}


def idx_bytes(array: np.ndarray, code: int) -> bytes:
    header = struct.pack(">BBBB", 0, 0, code, array.ndim)
    header += b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.tobytes()


def gz(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as f:
        f.write(data)
    return buf.getvalue()


def write(path: str, data: bytes):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def main():
    # Every element type: a [2, 3] array of known values, raw and gzip; the expected values
    # (as float64) go to a JSON file the Swift test reads.
    values = {
        "uint8": [[0, 1, 2], [127, 128, 255]],
        "int8": [[-128, -1, 0], [1, 64, 127]],
        "int16": [[-32768, -2, 0], [3, 1000, 32767]],
        "int32": [[-2147483648, -5, 0], [7, 65536, 2147483647]],
        "float32": [[-1.5, 0.0, 0.25], [3.0e-8, 1.0e20, -7.125]],
        "float64": [[-1.5, 0.0, 1.0 / 3.0], [1e-300, 1e300, -7.125]],
    }
    expected = {}
    for name, (code, dtype) in TYPES.items():
        arr = np.array(values[name], dtype=dtype)
        data = idx_bytes(arr, code)
        write(os.path.join(OUT, "types", f"{name}.idx"), data)
        write(os.path.join(OUT, "types", f"{name}.idx.gz"), gz(data))
        expected[name] = {"shape": list(arr.shape), "values": [float(v) for v in arr.astype("<f8").ravel()]}
    with open(os.path.join(OUT, "types", "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")

    # A tiny Fashion-MNIST-shaped data set: 12 training and 6 test images (gzip for train,
    # raw for test, so both paths are exercised).
    rng = np.random.default_rng(7)
    train_images = rng.integers(0, 256, size=(12, 28, 28), dtype=np.uint8)
    train_images[0, 0, :4] = [0, 1, 128, 255]  # pixels the test checks exactly
    train_labels = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1], dtype=np.uint8)
    test_images = rng.integers(0, 256, size=(6, 28, 28), dtype=np.uint8)
    test_labels = np.array([9, 8, 7, 6, 5, 4], dtype=np.uint8)
    tiny = os.path.join(OUT, "tiny")
    write(os.path.join(tiny, "train-images-idx3-ubyte.gz"), gz(idx_bytes(train_images, 0x08)))
    write(os.path.join(tiny, "train-labels-idx1-ubyte.gz"), gz(idx_bytes(train_labels, 0x08)))
    write(os.path.join(tiny, "t10k-images-idx3-ubyte"), idx_bytes(test_images, 0x08))
    write(os.path.join(tiny, "t10k-labels-idx1-ubyte"), idx_bytes(test_labels, 0x08))

    # Bad inputs, one file each.
    bad = os.path.join(OUT, "bad")
    good = idx_bytes(train_labels, 0x08)
    write(os.path.join(bad, "bad-magic.idx"), b"\x01\x02" + good[2:])
    write(os.path.join(bad, "unknown-type.idx"), b"\x00\x00\x07\x01" + good[4:])
    write(os.path.join(bad, "short-payload.idx"), good[:-3])      # dims call for 3 more bytes
    write(os.path.join(bad, "long-payload.idx"), good + b"\x00")  # one byte too many
    # A header that claims 2^31 - 1 images in a file of a few bytes: must fail before allocating.
    write(os.path.join(bad, "huge-dimensions.idx"), struct.pack(">BBBBIII", 0, 0, 8, 3, 2**31 - 1, 28, 28) + b"\x00" * 16)
    write(os.path.join(bad, "truncated-header.idx"), idx_bytes(train_images, 0x08)[:9])
    compressed = gz(idx_bytes(train_images, 0x08))
    write(os.path.join(bad, "truncated.idx.gz"), compressed[: len(compressed) // 2])
    corrupt = bytearray(compressed)
    corrupt[-8] ^= 0xFF  # the gzip trailer's CRC-32 no longer matches the data
    write(os.path.join(bad, "corrupt.idx.gz"), bytes(corrupt))

    # Data sets whose files are each well-formed but do not agree.
    mismatch = os.path.join(OUT, "count-mismatch")
    write(os.path.join(mismatch, "t10k-images-idx3-ubyte"), idx_bytes(test_images, 0x08))
    write(os.path.join(mismatch, "t10k-labels-idx1-ubyte"), idx_bytes(test_labels[:5], 0x08))
    out_of_range = os.path.join(OUT, "label-out-of-range")
    write(os.path.join(out_of_range, "t10k-images-idx3-ubyte"), idx_bytes(test_images, 0x08))
    write(os.path.join(out_of_range, "t10k-labels-idx1-ubyte"),
          idx_bytes(np.array([1, 2, 10, 3, 4, 5], dtype=np.uint8), 0x08))
    bad_magic_set = os.path.join(OUT, "bad-magic-set")  # a full set whose training images are damaged
    write(os.path.join(bad_magic_set, "train-images-idx3-ubyte"), b"\x08\x03" + idx_bytes(train_images, 0x08)[2:])
    write(os.path.join(bad_magic_set, "train-labels-idx1-ubyte"), idx_bytes(train_labels, 0x08))
    write(os.path.join(bad_magic_set, "t10k-images-idx3-ubyte"), idx_bytes(test_images, 0x08))
    write(os.path.join(bad_magic_set, "t10k-labels-idx1-ubyte"), idx_bytes(test_labels, 0x08))

if __name__ == "__main__":
    main()
