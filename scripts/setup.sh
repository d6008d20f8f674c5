#!/usr/bin/env bash
# Installs what LatentLab needs and is missing: Debian's -dev packages and the data set
# (apt), strace for the crash-safety tests, PostgreSQL's server for the study engine's tests
# (they start their own, on loopback, in a temporary folder), and NumPy + h5py + optuna for
# the interoperability tests (pip). Does nothing when all is there.
set -euo pipefail

APT_PACKAGES=(libopenblas-dev libhdf5-dev zlib1g-dev libsqlite3-dev libpq-dev postgresql dataset-fashion-mnist strace)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! python3 -c 'import numpy, h5py' 2>/dev/null; then
  echo "setup: installing numpy and h5py"
  python3 -m pip install --quiet --disable-pip-version-check numpy h5py
fi

# optuna 5 and optuna-dashboard read the studies `latentlab export --optuna-journal` writes (tested).
if ! python3 -c 'import optuna, optuna_dashboard, sys; sys.exit(int(optuna.__version__.split(".")[0]) < 5)' 2>/dev/null; then
  echo "setup: installing optuna and optuna-dashboard"
  python3 -m pip install --quiet --disable-pip-version-check "optuna>=5" optuna-dashboard
fi
