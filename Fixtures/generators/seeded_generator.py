#!/usr/bin/env python3
"""Independent reference for LatentLab's SeededGenerator, and the golden files that pin it.

Written from the published algorithms, not from the Swift code:
  - SplitMix64 (Steele, Lea, Flood, OOPSLA 2014), as in Vigna's splitmix64.c;
  - xoshiro256** 1.0 (Blackman and Vigna, ACM TOMS 47(4), 2021), as in xoshiro256starstar.c;
  - FNV-1a 64-bit over the stream name's UTF-8 bytes;
  - the conversions documented in Sources/TensorCore/SeededGenerator.swift
    (53-bit doubles, 24-bit floats, Box-Muller, Lemire's bounded integers, Fisher-Yates).

Run from the package root:  python3 Fixtures/generators/seeded_generator.py
It rewrites Fixtures/golden/rng/*.npy (NumPy only).
"""
import math
import os

import numpy as np

MASK = (1 << 64) - 1


def fnv1a64(name: str) -> int:
    h = 0xCBF29CE484222325
    for b in name.encode("utf-8"):
        h ^= b
        h = (h * 0x100000001B3) & MASK
    return h


def splitmix64(state: int):
    state = (state + 0x9E3779B97F4A7C15) & MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return state, z ^ (z >> 31)


def rotl(x: int, k: int) -> int:
    return ((x << k) | (x >> (64 - k))) & MASK


class Xoshiro256StarStar:
    def __init__(self, seed: int, stream: str):
        sm = (seed ^ fnv1a64(stream)) & MASK
        self.s = []
        for _ in range(4):
            sm, v = splitmix64(sm)
            self.s.append(v)
        if not any(self.s):
            self.s[0] = 1

    def next(self) -> int:
        s = self.s
        result = (rotl((s[1] * 5) & MASK, 7) * 9) & MASK
        t = (s[1] << 17) & MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def double(self) -> float:
        return (self.next() >> 11) * 2.0**-53

    def float32(self) -> np.float32:
        return np.float32((self.next() >> 40) * 2.0**-24)

    def normal(self) -> float:
        u1 = self.double()
        u2 = self.double()
        return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)

    def below(self, bound: int) -> int:
        m = self.next() * bound
        low = m & MASK
        if low < bound:
            threshold = ((1 << 64) - bound) % bound
            while low < threshold:
                m = self.next() * bound
                low = m & MASK
        return m >> 64

    def permutation(self, n: int):
        p = list(range(n))
        for i in range(n - 1, 0, -1):
            j = self.below(i + 1)
            p[i], p[j] = p[j], p[i]
        return p


def main():
    out = os.path.join("Fixtures", "golden", "rng")
    os.makedirs(out, exist_ok=True)
    seed = 42
    for stream in ["init", "shuffle", "noise", "search", "tsne"]:
        g = Xoshiro256StarStar(seed, stream)
        np.save(os.path.join(out, f"seed42_{stream}_uint64.npy"),
                np.array([g.next() for _ in range(16)], dtype="<u8"))
    g = Xoshiro256StarStar(seed, "init")
    np.save(os.path.join(out, "seed42_init_float.npy"),
            np.array([g.float32() for _ in range(16)], dtype="<f4"))
    g = Xoshiro256StarStar(seed, "noise")
    np.save(os.path.join(out, "seed42_noise_normal.npy"),
            np.array([g.normal() for _ in range(16)], dtype="<f8"))
    g = Xoshiro256StarStar(seed, "shuffle")
    np.save(os.path.join(out, "seed42_shuffle_permutation20.npy"),
            np.array(g.permutation(20), dtype="<i8"))
    g = Xoshiro256StarStar(0, "init")
    np.save(os.path.join(out, "seed0_init_uint64.npy"),
            np.array([g.next() for _ in range(16)], dtype="<u8"))


if __name__ == "__main__":
    main()
