// swift-tools-version:6.0
// LatentLab: reproducible research on small neural networks.
// Licensed under the Apache License, Version 2.0 (see LICENSE). Every library it links is
// compatible: OpenBLAS (BSD-3-Clause), libhdf5 (BSD-style), zlib (zlib), SQLite (public domain),
// libpq (PostgreSQL licence), swift-argument-parser (Apache-2.0).
import PackageDescription

let package = Package(
  name: "LatentLab",
  products: [
    .executable(name: "latentlab", targets: ["LatentLabCLI"]),
    .executable(name: "latentlab-bench", targets: ["LatentLabBench"]),
    .executable(name: "latentlab-hdf5-copy", targets: ["LatentLabHDF5Copy"]),
    .library(name: "TensorCore", targets: ["TensorCore"]),
    .library(name: "Datasets", targets: ["Datasets"]),
    .library(name: "NN", targets: ["NN"]),
    .library(name: "Execution", targets: ["Execution"]),
    .library(name: "Models", targets: ["Models"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2")
  ],
  targets: [
    // MARK: - System libraries (Debian -dev packages)

    // OpenBLAS's CBLAS interface (libopenblas-dev).
    .systemLibrary(
      name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
      providers: [.apt(["libopenblas-dev"])]),
    // The few LAPACK routines we call, declared against OpenBLAS's bundled LAPACK.
    .systemLibrary(
      name: "CLAPACK", path: "Sources/CLAPACK", pkgConfig: "openblas",
      providers: [.apt(["libopenblas-dev"])]),
    // libhdf5 (serial) plus a shim exposing its macros as functions.
    .systemLibrary(
      name: "CHDF5", path: "Sources/CHDF5", pkgConfig: "hdf5",
      providers: [.apt(["libhdf5-dev"])]),
    // zlib, for gzip-compressed IDX files and PNG.
    .systemLibrary(
      name: "CZlib", path: "Sources/CZlib",
      providers: [.apt(["zlib1g-dev"])]),
    // SQLite, the embedded study storage (libsqlite3-dev).
    .systemLibrary(
      name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
      providers: [.apt(["libsqlite3-dev"])]),
    // libpq, PostgreSQL's client library, for studies shared by many machines (libpq-dev).
    .systemLibrary(
      name: "CPostgres", path: "Sources/CPostgres", pkgConfig: "libpq",
      providers: [.apt(["libpq-dev"])]),

    // MARK: - C kernels

    // SHA-256 with the x86 SHA extensions, for checking the data files quickly.
    .target(name: "CSHA256", path: "Sources/CSHA256"),
    // AVX2 kernels: NN's direct convolutions over eight images side by side and its
    // activations; Analysis's Barnes-Hut repulsion over groups of points.
    .target(name: "CKernels", path: "Sources/CKernels"),

    // MARK: - Library modules, bottom up

    .target(name: "TensorCore", dependencies: ["CBLAS", "CKernels"]),
    .target(name: "Datasets", dependencies: ["TensorCore", "CZlib", "CSHA256"]),
    .target(name: "NN", dependencies: ["TensorCore", "CKernels"]),
    // The fast way to run a model: its layers compiled into one chunked plan.
    .target(name: "Execution", dependencies: ["NN", "TensorCore", "CKernels"]),
    .target(name: "Models", dependencies: ["NN", "Execution", "Datasets"]),
    .target(name: "HDF5", dependencies: ["CHDF5"]),
    .target(name: "Analysis", dependencies: ["TensorCore", "CLAPACK", "CKernels"]),
    .target(name: "Figures", dependencies: ["TensorCore", "CZlib"]),
    // The study engine: numbered trials in a storage, claimed by workers under leases.
    .target(name: "Studies", dependencies: ["TensorCore", "CSQLite", "CPostgres"]),
    .target(name: "Experiments", dependencies: ["Models", "Analysis", "Checkpointing", "Figures", "Studies"]),
    .target(name: "Checkpointing", dependencies: ["HDF5", "Models", "Datasets"]),

    // MARK: - Executables

    .executableTarget(
      name: "LatentLabCLI",
      dependencies: [
        "TensorCore", "Datasets", "NN", "Models", "HDF5", "Checkpointing", "Analysis", "Figures", "Studies", "Experiments",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    // Reads untrusted HDF5 files in a child process, so that a libhdf5 crash is not ours (HDF5SafeCopy).
    .executableTarget(name: "LatentLabHDF5Copy", dependencies: ["HDF5"], path: "Sources/latentlab-hdf5-copy"),
    // The fuzzing driver (`make fuzz`): libFuzzer when built with -sanitize=fuzzer, else a
    // corpus replayer and seeded mutation loop. Not a product: it ships with nothing.
    .executableTarget(name: "LatentLabFuzz", dependencies: ["FuzzTargets", "TensorCore"], path: "Sources/latentlab-fuzz"),
    .executableTarget(
      name: "LatentLabBench",
      // TestSupport: the study engine's case starts a PostgreSQL server of its own, as the tests do.
      dependencies: ["TensorCore", "Datasets", "NN", "Execution", "Models", "Analysis", "Experiments", "CKernels", "Studies", "TestSupport"],
      path: "Sources/latentlab-bench"),

    // MARK: - Tests

    .target(name: "TestSupport", dependencies: ["TensorCore"]),
    // Every reader of files users bring, as a fuzz target (for the driver and the corpus replay test).
    .target(name: "FuzzTargets", dependencies: ["Checkpointing", "Datasets", "Experiments", "TensorCore"]),
    .testTarget(name: "FuzzTargetsTests", dependencies: ["FuzzTargets", "TestSupport"]),
    .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "TestSupport", "CKernels"]),
    .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "TestSupport"]),
    .testTarget(name: "NNTests", dependencies: ["NN", "TestSupport", "CKernels"]),
    .testTarget(name: "ExecutionTests", dependencies: ["Execution", "NN", "TestSupport"]),
    .testTarget(name: "ModelsTests", dependencies: ["Models", "TestSupport"]),
    .testTarget(name: "HDF5Tests", dependencies: ["HDF5", "TestSupport"]),
    .testTarget(name: "AnalysisTests", dependencies: ["Analysis", "TestSupport", "CKernels"]),
    .testTarget(name: "FiguresTests", dependencies: ["Figures", "TestSupport", "CZlib"]),
    .testTarget(name: "StudiesTests", dependencies: ["Studies", "TestSupport"]),
    .testTarget(name: "ExperimentsTests", dependencies: ["Experiments", "Studies", "TestSupport"]),
    .testTarget(name: "CheckpointingTests", dependencies: ["Checkpointing", "TestSupport"]),
    .testTarget(name: "TestSupportTests", dependencies: ["TestSupport"]),
    .testTarget(name: "LatentLabCLITests", dependencies: ["LatentLabCLI", "TestSupport", "TensorCore"]),
  ],
  swiftLanguageModes: [.v5]
)
