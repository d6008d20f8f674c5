#!/usr/bin/env bash
# make fuzz: runs every reader's fuzz target for FUZZ_SECONDS (default 60) with libFuzzer
# (FUZZ_TARGETS="checkpoint npy" for some of them).
#
# Every module is compiled with -sanitize=fuzzer (coverage for libFuzzer) into .build-fuzz;
# SwiftPM links executables with its own entry point, so the driver's objects are linked a
# second time here, without it, so that libFuzzer's main runs. Inputs start from the seed
# corpus Fixtures/fuzz/<target>; new ones go to .fuzz/corpus/<target>, crashes to
# .fuzz/crashes/<target>. Where libFuzzer cannot be built, a seeded mutation loop runs.
set -uo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${FUZZ_SECONDS:-60}
# shellcheck disable=SC2206
TARGETS=(${FUZZ_TARGETS:-idx idx-gzip npy csv-matrix hdf5-matrix labels study-jsonl study-json run-json checkpoint})
SCRATCH=.build-fuzz
BINARY=$SCRATCH/latentlab-libfuzzer

build_libfuzzer() {
  swift build -c release --product LatentLabFuzz --scratch-path "$SCRATCH" \
    -Xswiftc -sanitize=fuzzer -Xswiftc -DLATENTLAB_LIBFUZZER || return 1
  local objects="$SCRATCH/x86_64-unknown-linux-gnu/release/LatentLabFuzz.product/Objects.LinkFileList"
  # shellcheck disable=SC2046
  swiftc -emit-executable -o "$BINARY" -sanitize=fuzzer -Xlinker --gc-sections "@$objects" \
    $(pkg-config --libs openblas hdf5) -lz -L "$SCRATCH/x86_64-unknown-linux-gnu/release" || return 1
  # Untrusted HDF5 files are read in a child process (HDF5SafeCopy), as for users.
  swift build -c release --product latentlab-hdf5-copy && cp .build/release/latentlab-hdf5-copy "$SCRATCH/"
}

if build_libfuzzer > .fuzz-build.log 2>&1; then
  crashed=0
  for t in "${TARGETS[@]}"; do
    mkdir -p ".fuzz/corpus/$t" ".fuzz/crashes/$t"
    # Swift's own backtracer would take the crash from libFuzzer, which then keeps no input.
    SWIFT_BACKTRACE=enable=no LATENTLAB_FUZZ_TARGET=$t "$BINARY" ".fuzz/corpus/$t" "Fixtures/fuzz/$t" \
      -max_total_time="$SECONDS_EACH" -rss_limit_mb=4096 -max_len=65536 -timeout=20 -print_final_stats=1 \
      -artifact_prefix=".fuzz/crashes/$t/" > ".fuzz/$t.log" 2>&1
    status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' ".fuzz/$t.log")
    if [ $status -eq 0 ]; then
      echo "$t: ${runs:-?} executions in ${SECONDS_EACH} s, no crash"
    else
      crashed=1
      echo "$t: CRASH after ${runs:-?} executions: $(ls ".fuzz/crashes/$t" | head -1) (log: .fuzz/$t.log)"
    fi
  done
  exit $crashed
else
  echo "libFuzzer build failed (see .fuzz-build.log); running the seeded mutation loop instead"
  swift build -c release --product LatentLabFuzz || exit 1
  for t in "${TARGETS[@]}"; do
    .build/release/LatentLabFuzz mutate "$t" "Fixtures/fuzz/$t" --seconds "$SECONDS_EACH" || exit 1
  done
fi
