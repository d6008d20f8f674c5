#!/usr/bin/env python3
"""Seed corpus for the fuzz targets (Sources/FuzzTargets): small valid inputs of every reader
and a few invalid ones, under Fixtures/fuzz/<target>/.

Run from the package root:  python3 Fixtures/generators/fuzz_corpus.py
Names: valid-* must be accepted by the reader, invalid-* rejected with an error, crash-* (inputs
that once crashed a reader, kept as regression fixtures) read or rejected without crashing; the
crash-* files written here are crafted reproductions, the others are the fuzzer's own finds.
The study and checkpoint seeds come from LatentLab itself (see Fixtures/fuzz/README.md).
"""
import gzip
import io
import json
import os
import struct

import h5py
import numpy as np

OUT = os.path.join("Fixtures", "fuzz")


def write(target, name, data):
    os.makedirs(os.path.join(OUT, target), exist_ok=True)
    with open(os.path.join(OUT, target, name), "wb") as f:
        f.write(data)


def idx(array, code):
    header = struct.pack(">HBB", 0, code, array.ndim) + b"".join(struct.pack(">I", n) for n in array.shape)
    return header + array.tobytes()


def gz(data):
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as f:
        f.write(data)
    return buffer.getvalue()


def npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def hdf5(build, **options):
    buffer = io.BytesIO()
    with h5py.File(buffer, "w", **options) as f:
        build(f)
    return buffer.getvalue()


rng = np.random.default_rng(0)
images = rng.integers(0, 256, size=(2, 4, 4), dtype=np.uint8)
write("idx", "valid-images", idx(images, 0x08))
write("idx", "valid-int16", idx(np.arange(6, dtype=">i2").reshape(2, 3), 0x0B))
write("idx", "valid-float64", idx(np.linspace(0, 1, 4, dtype=">f8"), 0x0E))
write("idx", "invalid-truncated", idx(images, 0x08)[:-3])
write("idx", "invalid-magic", b"\x01\x02" + idx(images, 0x08)[2:])
write("idx-gzip", "valid-images.gz", gz(idx(images, 0x08)))
write("idx-gzip", "valid-labels.gz", gz(idx(np.array([3, 1, 4], dtype=np.uint8), 0x08)))
write("idx-gzip", "invalid-truncated.gz", gz(idx(images, 0x08))[:-6])

matrix = rng.normal(size=(5, 3)).astype(np.float32)
write("npy", "valid-float32.npy", npy(matrix))
write("npy", "valid-int64-labels.npy", npy(np.array([0, 3, 9], dtype=np.int64)))
write("npy", "valid-float64.npy", npy(matrix.astype(np.float64)))
write("npy", "invalid-shape.npy", npy(matrix).replace(b"(5, 3)", b"(9, 3)"))

write("csv-matrix", "valid-header.csv", b"a,b,c\n1,2,3\n4.5,-6,7e-3\n")
write("csv-matrix", "valid-plain.csv", b"0.1,0.2\n0.3,0.4\n0.5,0.6\n")
write("csv-matrix", "invalid-ragged.csv", b"1,2\n3\n")

write("hdf5-matrix", "valid-earliest.h5", hdf5(lambda f: f.create_dataset("matrix", data=matrix)))
write("hdf5-matrix", "valid-v110.h5",
      hdf5(lambda f: f.create_dataset("matrix", data=matrix.astype(np.float64), chunks=(5, 3), fletcher32=True),
           libver=("v110", "v110")))
write("hdf5-matrix", "valid-int.h5", hdf5(lambda f: f.create_dataset("matrix", data=np.arange(6).reshape(3, 2))))
write("hdf5-matrix", "invalid-1d.h5", hdf5(lambda f: f.create_dataset("matrix", data=np.arange(6))))

write("labels", "valid-header.txt", b"label\n1\n2\n9\n")
write("labels", "valid-plain.txt", b"0\n1\n")
write("labels", "invalid-word.txt", b"1\ntwo\n")

write("run-json", "valid-run.json", json.dumps({"preset": "quick", "seed": 0, "software": "0.1.0"}).encode())
write("run-json", "invalid-seed.json", json.dumps({"preset": "quick", "seed": -1, "software": "0.1.0"}).encode())

# Crafted reproductions of crashes (each an error now).
header = npy(np.zeros(2, dtype=np.float32)).replace(b"(2,)", b"(4611686018427387904, 4)")
write("npy", "crash-overflowing-shape.npy", header)
# (the npy target also runs the label reader: Int(_:) trapped on NaN and on 1e300)
write("npy", "crash-non-integer-labels.npy", npy(np.array([1.0, np.nan, 1e300], dtype=np.float64)))
write("hdf5-matrix", "crash-huge-unwritten.h5",
      hdf5(lambda f: f.create_dataset("matrix", shape=(10**7, 10**7), dtype="f4", chunks=(100, 100))))
