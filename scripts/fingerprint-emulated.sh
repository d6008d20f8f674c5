#!/usr/bin/env bash
# `latentlab fingerprint` on CPUs this machine is not, under qemu-user's emulation (TCG: AVX2
# and FMA, no AVX-512), against the committed fingerprints: an AMD EPYC (path avx2) and a CPU
# without AVX or FMA (path portable, and glibc's math without FMA). About 4 minutes; not part
# of `make test`. Needs Debian's qemu-user (apt-get install qemu-user) and a release build.
# Usage: scripts/fingerprint-emulated.sh [CPU:GOLDEN ...]   (default: EPYC-Rome-v2:avx2 Nehalem:portable)
set -uo pipefail
cd "$(dirname "$0")/.."

QEMU=$(command -v qemu-x86_64 || true)
if [ -z "$QEMU" ]; then
  echo "fingerprint-emulated: qemu-x86_64 not found (Debian: apt-get install qemu-user)" >&2
  exit 2
fi
BIN=.build/release/latentlab
if [ ! -x "$BIN" ]; then
  echo "fingerprint-emulated: $BIN not found (make build-release first)" >&2
  exit 2
fi

cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(EPYC-Rome-v2:avx2 Nehalem:portable)
failed=0
for c in "${cases[@]}"; do
  cpu=${c%%:*} golden=Fixtures/fingerprint/${c#*:}.txt
  if [ ! -f "$golden" ]; then
    echo "fingerprint-emulated: $golden: no such golden file (expected avx2 or portable after the colon)" >&2
    exit 2
  fi
  start=$(date +%s)
  # TCG warns once per CPU feature it cannot emulate; those lines say nothing about the run.
  out=$("$QEMU" -cpu "$cpu" "$BIN" fingerprint 2> >(grep -v "TCG doesn't support" >&2))
  status=$?
  seconds=$(($(date +%s) - start))
  if [ $status -ne 0 ]; then
    echo "$cpu: latentlab fingerprint failed (exit $status)"
    failed=1
  elif diff <(echo "$out" | tail -n +2) "$golden" > /dev/null; then
    echo "$cpu: $(echo "$out" | head -1); the committed $golden, in ${seconds} s"
  else
    echo "$cpu: $(echo "$out" | head -1); DIFFERS from $golden (${seconds} s):"
    diff <(echo "$out" | tail -n +2) "$golden" | sed 's/^/   /'
    failed=1
  fi
done
exit $failed
