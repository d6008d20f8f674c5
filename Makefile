# LatentLab: the two set-up commands are `make reproduce` and `make test`.
# Both install what is missing (scripts/setup.sh) before building.

SWIFT ?= swift
RELEASE_BIN := .build/release

.PHONY: all setup build build-release test reproduce bench fuzz checkpoints fixtures fingerprint-emulated clean

all: build

## setup: install missing system packages, the data set and the Python test tools
setup:
	@bash scripts/setup.sh

build: setup
	$(SWIFT) build

build-release: setup
	$(SWIFT) build -c release

## test: the whole test suite (LATENTLAB_RECORD=1 make test rewrites golden files)
## (the tests run on the build just made: `swift test` without --skip-build would rebuild
## every module with testability on, and `make reproduce` would then rebuild them again)
## (scripts/run-tests.sh keeps the output in .build/test-output.txt and, when a test fails,
## repeats the failed tests and their errors at the end, where a CI log's tail shows them)
test: setup
	$(SWIFT) build -c release --build-tests
	SWIFT=$(SWIFT) bash scripts/run-tests.sh

## reproduce: the main job: the seed study from one seed (search, retrain, embeddings,
## generation, classifier, VAE), with its report in runs/seed/report.html
SEED ?= 0
reproduce: build-release
	$(RELEASE_BIN)/latentlab data verify
	$(RELEASE_BIN)/latentlab reproduce --preset seed --seed $(SEED) --out runs/seed
	@echo "report: runs/seed/report.html (and runs/seed/report.md)"

## bench: the performance figures, one per line, also in .bench/latest.json
bench: build-release
	$(RELEASE_BIN)/latentlab-bench

## checkpoints: retrain the shipped models in Checkpoints/ (published configuration, seed 0,
## all 60,000 training images) and record their test metrics
checkpoints: build-release
	bash scripts/make-checkpoints.sh

## fuzz: every reader fuzzed for FUZZ_SECONDS each (default 60) with libFuzzer, from the seed
## corpus in Fixtures/fuzz; crashes go to .fuzz/crashes/<target> (keep each, once fixed, as
## Fixtures/fuzz/<target>/crash-<name>, which make test replays)
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz: setup
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_TARGETS="$(FUZZ_TARGETS)" bash scripts/fuzz.sh

## fingerprint-emulated: `latentlab fingerprint` under qemu-user as an AMD EPYC (avx2) and as a
## CPU without AVX or FMA (portable), against the committed fingerprints (about 4 minutes;
## needs Debian's qemu-user, which setup does not install)
fingerprint-emulated: build-release
	bash scripts/fingerprint-emulated.sh

## fixtures: regenerate the NumPy-made fixtures and golden files (review the diff!)
fixtures: setup
	python3 Fixtures/generators/seeded_generator.py
	python3 Fixtures/generators/idx_fixtures.py
	python3 Fixtures/generators/nn_reference.py
	python3 Fixtures/generators/pca_reference.py
	python3 Fixtures/generators/fuzz_corpus.py

clean:
	rm -rf .build .bench .build-fuzz .fuzz
