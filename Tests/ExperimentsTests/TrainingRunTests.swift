import Checkpointing
import Experiments
import Foundation
import Models
import XCTest

/// A training run (a VAE; a classifier on a frozen encoder) stopped at an epoch's end by
/// `continues`, found again by `savedEpoch` (and only when the checkpoint is this run's), and
/// continued. Oracle: the same run trained in one
/// go in another folder; tolerance: none, the same checkpoint bytes.
final class TrainingRunTests: XCTestCase {
  func run(in folder: String, seed: UInt64 = 5, epochs: Int = 3, config: AutoencoderConfig? = nil) -> TrainingRun {
    TrainingRun(
      kind: .vae, config: config ?? AutoencoderConfig(channels: [4, 6, 8], hidden: 12, latent: 2),
      record: TrainingRecord(
        epochs: epochs, batchSize: 100, optimizer: OptimizerSettings(kind: "adam", learningRate: 1e-3), validationFraction: 0,
        subset: 400, loss: VAELossSettings().normalisation, vae: VAELossSettings()),
      seed: seed, threads: 1, data: nil, out: folder)
  }

  func testAPausedRunContinuesFromItsEpochToTheBytesOfOneRun() throws {
    guard FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist") else {
      throw XCTSkip("dataset-fashion-mnist is not installed")
    }
    let files = FileManager.default
    let base = files.temporaryDirectory.appendingPathComponent("training-run-\(UUID().uuidString)").path
    defer { try? files.removeItem(atPath: base) }
    let whole = run(in: base + "/whole")
    XCTAssertNil(whole.savedEpoch(), "an empty folder has nothing to continue")
    XCTAssertEqual(try whole.run(), .finished)

    var paused = run(in: base + "/paused")
    var asked = 0
    paused.continues = {
      asked += 1
      return false
    }
    XCTAssertEqual(try paused.run(), .paused(epoch: 1))
    XCTAssertEqual(asked, 1)
    XCTAssertFalse(files.fileExists(atPath: base + "/paused/metrics.json"), "a paused run is not evaluated")

    // Another seed, target, or configuration is another run: nothing to continue.
    XCTAssertNil(run(in: base + "/paused", seed: 6).savedEpoch())
    XCTAssertNil(run(in: base + "/paused", epochs: 4).savedEpoch())
    XCTAssertNil(run(in: base + "/paused", config: AutoencoderConfig(channels: [4, 6, 8], hidden: 12, latent: 3)).savedEpoch())
    let saved = try XCTUnwrap(run(in: base + "/paused").savedEpoch())
    XCTAssertEqual(saved.epoch, 1)

    // Trained on other data files: refused, naming the checkpoint.
    var otherData = saved
    otherData.datasetSHA256["train-images-idx3-ubyte"] = String(repeating: "0", count: 64)
    XCTAssertThrowsError(try run(in: base + "/paused").run(resume: otherData)) { error in
      XCTAssertTrue("\(error)".contains("\(base)/paused/checkpoint.h5: trained on other data files"), "\(error)")
    }

    // Asked after epoch 2 (not after the last), then continued without asking: one run's bytes.
    var second = run(in: base + "/paused")
    asked = 0
    second.continues = {
      asked += 1
      return true
    }
    XCTAssertEqual(try second.run(resume: saved), .finished)
    XCTAssertEqual(asked, 1, "asked after epoch 2 only")
    for file in ["checkpoint.h5", "samples.png", "reconstructions.png"] {
      XCTAssertEqual(
        try Data(contentsOf: URL(fileURLWithPath: base + "/paused/" + file)),
        try Data(contentsOf: URL(fileURLWithPath: base + "/whole/" + file)), file)
    }

    // The classifier on a frozen encoder (its checkpoint carries the encoder) the same way.
    var encoder = run(in: base + "/encoder", epochs: 1)
    encoder.kind = .autoencoder
    encoder.record.vae = nil
    try encoder.run()
    func classifier(_ folder: String) -> TrainingRun {
      var r = run(in: base + "/" + folder)
      r.kind = .classifier
      r.record.vae = nil
      r.record.validationFraction = 0.1
      r.record.encoderCheckpoint = base + "/encoder/checkpoint.h5"
      return r
    }
    XCTAssertEqual(try classifier("classifier-whole").run(), .finished)
    var pausedClassifier = classifier("classifier")
    pausedClassifier.continues = { false }
    XCTAssertEqual(try pausedClassifier.run(), .paused(epoch: 1))
    let savedClassifier = try XCTUnwrap(classifier("classifier").savedEpoch())
    XCTAssertEqual(try classifier("classifier").run(resume: savedClassifier), .finished)
    XCTAssertEqual(
      try Data(contentsOf: URL(fileURLWithPath: base + "/classifier/checkpoint.h5")),
      try Data(contentsOf: URL(fileURLWithPath: base + "/classifier-whole/checkpoint.h5")), "classifier")

    // A checkpoint that cannot be read is no run's.
    let path = base + "/paused/checkpoint.h5"
    let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path))
    XCTAssertNil(run(in: base + "/paused").savedEpoch())
  }
}
