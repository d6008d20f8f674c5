# LatentLab: the two set-up commands are `make reproduce` and `make test`.
# Both install what is missing (scripts/setup.sh) before building.

SWIFT ?= swift
RELEASE_BIN := .build/release

.PHONY: all setup build build-release test reproduce bench fixtures clean

all: build

## setup: install missing system packages, the data set and the Python test tools
setup:
	@bash scripts/setup.sh

build: setup
	$(SWIFT) build

build-release: setup
	$(SWIFT) build -c release

## test: the whole test suite (LATENTLAB_RECORD=1 make test rewrites golden files)
test: setup
	$(SWIFT) build -c release --build-tests
	$(SWIFT) test -c release --disable-swift-testing

## reproduce: the main job: verify the data, then train the seed study's three models into
## runs/seed/ (the search, the figures and the report are still to come)
SEED ?= 0
reproduce: build-release
	$(RELEASE_BIN)/latentlab data verify
	$(RELEASE_BIN)/latentlab train autoencoder --seed $(SEED) --out runs/seed/autoencoder
	$(RELEASE_BIN)/latentlab train classifier --seed $(SEED) --out runs/seed/classifier
	$(RELEASE_BIN)/latentlab train vae --seed $(SEED) --out runs/seed/vae
	@echo "results: runs/seed/*/metrics.json, per-epoch curves: runs/seed/*/history.jsonl"

## bench: the performance figures, one per line, also in .bench/latest.json
bench: build-release
	$(RELEASE_BIN)/latentlab-bench

## fixtures: regenerate the NumPy-made fixtures and golden files (review the diff!)
fixtures: setup
	python3 Fixtures/generators/seeded_generator.py
	python3 Fixtures/generators/idx_fixtures.py

clean:
	rm -rf .build .bench
