#!/usr/bin/env bash
# make checkpoints: trains the seed report's published configuration (N_C 8/17/32, N_H1 69,
# L 4, Adam lr 0.003, L2 1e-4; the train commands' defaults) from seed 0 on all 60,000
# training images, and writes Checkpoints/{autoencoder,classifier,vae}.h5 with their test
# metrics in Checkpoints/metrics.json. Run from the package root after a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release/latentlab
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
THREADS=${THREADS:-2}

# The classifier records the path of its encoder's checkpoint: train it against the shipped one.
$BIN train autoencoder --seed 0 --validation-fraction 0 --threads "$THREADS" --out "$WORK/autoencoder"
cp "$WORK/autoencoder/checkpoint.h5" Checkpoints/autoencoder.h5
$BIN train classifier --encoder Checkpoints/autoencoder.h5 --seed 0 --validation-fraction 0 --threads "$THREADS" \
  --out "$WORK/classifier"
cp "$WORK/classifier/checkpoint.h5" Checkpoints/classifier.h5
$BIN train vae --seed 0 --validation-fraction 0 --threads "$THREADS" --out "$WORK/vae"
cp "$WORK/vae/checkpoint.h5" Checkpoints/vae.h5

for model in autoencoder classifier vae; do
  $BIN evaluate "Checkpoints/$model.h5" --json --threads "$THREADS" > "$WORK/$model.json"
done
python3 - "$WORK" > Checkpoints/metrics.json.tmp <<'PY'
import json, sys
metrics = {m: json.load(open(f"{sys.argv[1]}/{m}.json")) for m in ("autoencoder", "classifier", "vae")}
print(json.dumps(metrics, indent=2, sort_keys=True))
PY
mv Checkpoints/metrics.json.tmp Checkpoints/metrics.json
sha256sum Checkpoints/*.h5
cat Checkpoints/metrics.json
