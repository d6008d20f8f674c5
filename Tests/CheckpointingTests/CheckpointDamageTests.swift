import Checkpointing
import Foundation
import HDF5
import Models
import NN
import TensorCore
import TestSupport
import XCTest

/// Zeroes a checkpoint's user block: the file another HDF5 writer would have made.
func removeSeal(_ path: String) throws {
  let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
  defer { try? handle.close() }
  try handle.write(contentsOf: Data(count: CheckpointSeal.userBlockSize))
}

/// Damage is found wherever it is: every 97th byte of a small checkpoint flipped, one copy at a
/// time, through the reader (what `evaluate` and `train --resume` call), `inspect` and `diff`.
/// Oracle: the original checkpoint, read before any damage. A copy must be rejected with an
/// error naming it, or read back exactly equal to the original (a byte the content does not
/// use); never a crash, never a silently different checkpoint.
final class CheckpointDamageTests: XCTestCase {
  var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("damage-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

  func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

  /// A small autoencoder's checkpoint with every part of the format: parameters, Adam state,
  /// random streams and two epochs of history.
  func smallCheckpoint() throws -> Checkpoint {
    let config = AutoencoderConfig(channels: [2, 3, 4], hidden: 5, latent: 2, conv3Padding: 1)
    var g = SeededGenerator(seed: 11, stream: .initialization)
    let model = try Autoencoder(config: config, generator: &g)
    let adam = try Adam(parameters: model.namedParameters, learningRate: 0.01)
    for p in model.namedParameters { p.parameter.gradient.fill(0.25) }
    adam.step()
    return Checkpoint(
      model: .autoencoder, config: config, training: #"{"epochs":2,"optimizer":{"kind":"adam","lr":0.01}}"#, seed: 11,
      datasetSHA256: ["train-images-idx3-ubyte": String(repeating: "ab", count: 32)], stateDict: model.stateDictTensors(),
      optimizer: OptimizerCheckpoint(settings: OptimizerSettings(kind: "adam", learningRate: 0.01), state: adam.state),
      rng: ["shuffle": [1, 2, 3, 4]], epoch: 2, step: 8,
      history: [
        EpochRecord(epoch: 1, trainLoss: 0.5, validationLoss: 0.6, trainAccuracy: nil),
        EpochRecord(epoch: 2, trainLoss: 0.25, validationLoss: 0.3, trainAccuracy: nil),
      ])
  }

  /// The model and its training state: parameters, optimizer, random streams, history, progress.
  func assertSameModel(_ a: Checkpoint, _ b: Checkpoint, _ message: String) {
    XCTAssertEqual(a.stateDict.map(\.name), b.stateDict.map(\.name), message)
    XCTAssertEqual(a.stateDict.map(\.tensor), b.stateDict.map(\.tensor), message)
    XCTAssertEqual(a.optimizer, b.optimizer, message)
    XCTAssertEqual(a.rng, b.rng, message)
    XCTAssertEqual(a.history, b.history, message)
    XCTAssertEqual([a.epoch, a.step], [b.epoch, b.step], message)
    XCTAssertEqual(a.config, b.config, message)
  }

  /// The descriptive strings (`training`, `dataset_sha256`, `software`): in the global heap,
  /// which HDF5 does not checksum.
  func sameStrings(_ a: Checkpoint, _ b: Checkpoint) -> Bool {
    a.training == b.training && a.datasetSHA256 == b.datasetSHA256 && a.software == b.software
  }

  /// Flips every 97th byte of `original`, one copy at a time; returns how many copies were
  /// rejected, read back identical, and read back with the same model but other strings.
  func flipEvery97thByte(of original: String, sealed: Bool) throws -> (rejected: Int, intact: Int, strings: Int) {
    let bytes = try Data(contentsOf: URL(fileURLWithPath: original))
    let reference = try CheckpointReader.read(original)
    let copy = path("copy.h5")
    var rejected = 0, intact = 0, strings = 0
    for offset in stride(from: 0, to: bytes.count, by: 97) {
      var damaged = bytes
      damaged[offset] ^= 0xFF
      try damaged.write(to: URL(fileURLWithPath: copy))
      let at = "byte \(offset) of \(bytes.count) flipped (\(sealed ? "sealed" : "unsealed"))"
      let inspection = CheckpointInspection(copy)
      let comparison = HDF5Comparison(copy, original)
      do {
        let read = try CheckpointReader.read(copy)
        assertSameModel(read, reference, at)
        if sameStrings(read, reference) {
          XCTAssertEqual(inspection.verdict, .valid, "\(at): \(inspection.summary)")
          XCTAssertEqual(comparison.outcome, .agree, "\(at): \(comparison.differences) \(comparison.damage)")
          intact += 1
        } else {
          XCTAssertFalse(sealed, "\(at): a sealed file read back with other strings")
          // Without a seal only diff against the original can tell.
          XCTAssertEqual(comparison.outcome, .differ, at)
          strings += 1
        }
      } catch {
        XCTAssertTrue("\(error)".contains(copy), "\(at): the error names the file: \(error)")
        XCTAssertNotEqual(inspection.verdict, .valid, at)
        XCTAssertFalse(inspection.problems.isEmpty, at)
        XCTAssertNotEqual(comparison.outcome, .agree, "\(at): diff must not agree on a file it rejects")
        if sealed {
          XCTAssertEqual(inspection.verdict, .damaged, "\(at): \(inspection.summary)")
          XCTAssertEqual(comparison.outcome, .damaged, at)
        }
        rejected += 1
      }
    }
    return (rejected, intact, strings)
  }

  func testEvery97thByteFlippedIsRejectedOrHarmless() throws {
    try CheckpointWriter.write(try smallCheckpoint(), to: path("original.h5"))
    let sealed = try flipEvery97thByte(of: path("original.h5"), sealed: true)
    print("damage test, sealed checkpoint: \(sealed.rejected) copies rejected, \(sealed.intact) read back identical")
    // Only the seal's signature can change without detection: the file then reads as unsealed.
    XCTAssertLessThanOrEqual(sealed.intact, 1)
    XCTAssertEqual(sealed.strings, 0)

    // The same file without its seal: HDF5's own checksums (format 1.10 metadata, Fletcher-32
    // data) and the reader's validation must still let no different checkpoint through.
    try FileManager.default.copyItem(atPath: path("original.h5"), toPath: path("unsealed.h5"))
    try removeSeal(path("unsealed.h5"))
    let unsealed = try flipEvery97thByte(of: path("unsealed.h5"), sealed: false)
    print(
      "damage test, unsealed copy: \(unsealed.rejected) copies rejected, \(unsealed.intact) read back identical,"
        + " \(unsealed.strings) with the same model but a changed string (what the seal is for)")
    XCTAssertGreaterThan(unsealed.rejected, 0)
  }

  func testInspectionListsEveryProblem() throws {
    var c = try smallCheckpoint()
    c.stateDict.remove(at: 1)
    c.stateDict[0].tensor = Tensor.zeros([2, 1, 3, 2])
    try CheckpointWriter.write(c, to: path("two-problems.h5"))
    let inspection = CheckpointInspection(path("two-problems.h5"))
    XCTAssertEqual(inspection.verdict, .invalid)
    XCTAssertEqual(inspection.seal, "intact")
    XCTAssertTrue(inspection.problems.contains { $0.contains("encoder.cnn.0.weight: shape [2, 1, 3, 2]") }, "\(inspection.problems)")
    XCTAssertTrue(inspection.problems.contains { $0.contains("encoder.cnn.0.bias: missing") }, "\(inspection.problems)")
  }

  func testTruncatedFileIsDamaged() throws {
    try CheckpointWriter.write(try smallCheckpoint(), to: path("original.h5"))
    let bytes = try Data(contentsOf: URL(fileURLWithPath: path("original.h5")))
    for keep in [0, 100, 600, bytes.count / 2, bytes.count - 1] {
      try bytes.prefix(keep).write(to: URL(fileURLWithPath: path("cut.h5")))
      XCTAssertThrowsError(try CheckpointReader.read(path("cut.h5")), "\(keep) bytes") { error in
        XCTAssertTrue(CheckpointError.isDamage(error), "\(keep) bytes: \(error)")
      }
      XCTAssertEqual(CheckpointInspection(path("cut.h5")).verdict, .damaged, "\(keep) bytes")
      XCTAssertEqual(HDF5Comparison(path("cut.h5"), path("original.h5")).outcome, .damaged, "\(keep) bytes")
    }
  }
}
