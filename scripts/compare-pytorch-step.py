#!/usr/bin/env python3
"""Time PyTorch on the benchmark's autoencoder step, for a same-hour comparison with `make bench`.

This machine's speed drifts by up to half over the day, so the anchors in
../shared/bench-anchors.md (measured at some hour) say little about a figure measured at another.
This runs the step `latentlab-bench train.threads1 …` times, in PyTorch, on the same 250 test
images: the seed autoencoder (encoder Conv2d 1→8→17→32, kernel 3, stride 2, padding 1, ReLUs,
Linear 512→69, ReLU, Linear 69→4; decoder Linear 4→69, ReLU, Linear 69→512, ReLU,
ConvTranspose2d 32→17→8→1 with output_padding 0, 1, 1, ReLUs and a sigmoid), MSE (mean),
Adam (lr 3e-3, weight_decay 1e-4); forward + backward + step, median of 40 steps after 5, and
inference (encode + decode under no_grad), median of 60; with 1 and 2 threads.
With `--latentlab PATH` (default .build/release/latentlab-bench) it alternates the two, so that
both see the same machine: `--rounds N` rounds, each PyTorch then LatentLab.

With `--isa avx2` both sides run their AVX2 code on a CPU that has more: LatentLab through
`LATENTLAB_ISA=avx2`, PyTorch through `ATEN_CPU_CAPABILITY=avx2`, `ONEDNN_MAX_CPU_ISA=AVX2` and
`MKL_ENABLE_INSTRUCTIONS=AVX2` (read when torch loads, so the script restarts itself with them):
what an AVX2-only CPU such as an AMD EPYC runs, measured on an AVX-512 machine. At the end it
prints each figure's range, the ratios' range and median, and how many rounds met the issue's
goals (2.5x training, 3.5x inference). With `--json` the last line is the same as one JSON
object ({"pytorch": version, "capability": ..., "latentlab_path": ..., "figures":
{"train.threads1": {"goal", "rounds", "met", "latentlab": [min, max], "pytorch": [min, max],
"ratio": [min, max], "ratio_median"}, ...}}): what `make bench`'s `pytorch.compare` case reads.

PyTorch is a tool for checking, never a dependency (`python3 -m pip install torch`).
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import time

# What each side reads to run its AVX2 code only (PyTorch's before `import torch`).
AVX2_ENVIRONMENT = {
    "LATENTLAB_ISA": "avx2", "ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2",
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",
}
# The goals of issue 15: training at least 2.5x PyTorch, inference at least 3.5x.
GOALS = {"train": 2.5, "infer": 3.5}


def restart_for_isa(argv):
    """With `--isa avx2`, runs this script again with AVX2_ENVIRONMENT set (once)."""
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--isa")
    known, _ = early.parse_known_args(argv[1:])
    if known.isa == "avx2" and any(os.environ.get(k) != v for k, v in AVX2_ENVIRONMENT.items()):
        os.execve(sys.executable, [sys.executable] + argv, {**os.environ, **AVX2_ENVIRONMENT})


restart_for_isa(sys.argv)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

DATA = os.environ.get("LATENTLAB_DATA", "/usr/share/datasets/fashion-mnist")


def test_images(n):
    with gzip.open(os.path.join(DATA, "t10k-images-idx3-ubyte.gz")) as f:
        b = f.read()
    pixels = np.frombuffer(b, dtype=np.uint8, offset=16).reshape(-1, 1, 28, 28)[:n]
    return torch.from_numpy(pixels.astype(np.float32) / 255.0)


def seed_autoencoder():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 17, 3, 2, 1), nn.ReLU(),
        nn.Conv2d(17, 32, 3, 2, 1), nn.ReLU(), nn.Flatten(),
        nn.Linear(512, 69), nn.ReLU(), nn.Linear(69, 4),
        nn.Linear(4, 69), nn.ReLU(), nn.Linear(69, 512), nn.ReLU(), nn.Unflatten(1, (32, 4, 4)),
        nn.ConvTranspose2d(32, 17, 3, 2, 1, 0), nn.ReLU(), nn.ConvTranspose2d(17, 8, 3, 2, 1, 1), nn.ReLU(),
        nn.ConvTranspose2d(8, 1, 3, 2, 1, 1), nn.Sigmoid(),
    )


def pytorch_rates(threads, x):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = seed_autoencoder()
    assert model(x).shape == x.shape
    adam = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    loss = nn.MSELoss()

    def step():
        adam.zero_grad(set_to_none=False)
        loss(model(x), x).backward()
        adam.step()

    def median_seconds(run, warmup, count):
        for _ in range(warmup):
            run()
        times = []
        for _ in range(count):
            t0 = time.perf_counter()
            run()
            times.append(time.perf_counter() - t0)
        return float(np.median(times))

    train = x.shape[0] / median_seconds(step, 5, 40)
    with torch.no_grad():
        infer = x.shape[0] / median_seconds(lambda: model(x), 5, 60)
    return train, infer


def latentlab_rates(path):
    """LatentLab's rates, each case in its own process (`--case`: figures as JSON lines, and
    no `.bench/latest.json` written, which a `make bench` running this script is writing)."""
    figure = {}
    for case in ("train.threads1", "train.threads2", "infer.threads1", "infer.threads2"):
        out = subprocess.run([path, "--case", case], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("{"):
                f = json.loads(line)
                figure[f["name"]] = f["value"]
    return {t: (figure[f"autoencoder.train.threads{t}"], figure[f"autoencoder.infer.threads{t}"]) for t in (1, 2)}


def statistics(rows):
    """Per figure ("train.threads1", ...): the goal, the rounds, both sides' ranges, the
    ratios' range and median, and how many rounds met the goal: what the summary prints and
    `--json` reports."""
    figures = {}
    for threads in (1, 2):
        for k, what in ((0, "train"), (1, "infer")):
            ours = [r[("LatentLab", threads)][k] for r in rows]
            theirs = [r[("PyTorch", threads)][k] for r in rows]
            ratios = [a / b for a, b in zip(ours, theirs)]
            figures[f"{what}.threads{threads}"] = {
                "goal": GOALS[what], "rounds": len(ratios), "met": sum(q >= GOALS[what] for q in ratios),
                "latentlab": [min(ours), max(ours)], "pytorch": [min(theirs), max(theirs)],
                "ratio": [min(ratios), max(ratios)], "ratio_median": float(np.median(ratios))}
    return figures


def summary(figures):
    """One line per figure of `statistics`."""
    return [f"{key.replace('.threads', ' ')} thread(s): LatentLab {f['latentlab'][0]:.0f}-{f['latentlab'][1]:.0f}, "
            f"PyTorch {f['pytorch'][0]:.0f}-{f['pytorch'][1]:.0f}; ratio {f['ratio'][0]:.2f}-{f['ratio'][1]:.2f}x, "
            f"median {f['ratio_median']:.2f}x; {f['met']} of {f['rounds']} rounds at >= {f['goal']}x"
            for key, f in figures.items()]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--latentlab", default=".build/release/latentlab-bench")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pytorch-only", action="store_true")
    parser.add_argument("--isa", choices=["native", "avx2"], default="native",
                        help="avx2: both sides run their AVX2 code (see the module's documentation)")
    parser.add_argument("--json", action="store_true",
                        help="end with the summary as one line of JSON (for latentlab-bench)")
    args = parser.parse_args()
    if args.isa == "avx2" and torch.backends.cpu.get_cpu_capability() != "AVX2":
        sys.exit(f"--isa avx2: PyTorch runs {torch.backends.cpu.get_cpu_capability()} code despite "
                 "ATEN_CPU_CAPABILITY=avx2; nothing was measured")
    x = test_images(250)
    print(f"PyTorch {torch.__version__} (CPU capability {torch.backends.cpu.get_cpu_capability()}), LatentLab "
          f"path {os.environ.get('LATENTLAB_ISA', 'native')}; images/s, batch 250 "
          "(train = forward + backward + Adam)")
    rows = []
    for r in range(args.rounds):
        stamp = time.strftime("%H:%M:%S")
        row = {}
        for threads in (1, 2):
            row[("PyTorch", threads)] = pytorch_rates(threads, x)
            train, infer = row[("PyTorch", threads)]
            print(f"{stamp} round {r} PyTorch   {threads} thread(s): train {train:8.0f}  infer {infer:8.0f}", flush=True)
        if args.pytorch_only:
            continue
        ours = latentlab_rates(args.latentlab)
        for threads in (1, 2):
            row[("LatentLab", threads)] = ours[threads]
            train, infer = ours[threads]
            print(f"{stamp} round {r} LatentLab {threads} thread(s): train {train:8.0f}  infer {infer:8.0f}", flush=True)
        rows.append(row)
    if rows:
        figures = statistics(rows)
        print("\n".join(summary(figures)))
        if args.json:
            print(json.dumps({"pytorch": torch.__version__, "capability": torch.backends.cpu.get_cpu_capability(),
                              "latentlab_path": os.environ.get("LATENTLAB_ISA", "native"), "figures": figures}))


if __name__ == "__main__":
    main()
