import Checkpointing
import Foundation
import HDF5
import Models
import NN
import TensorCore
import TestSupport
import XCTest

final class CheckpointTests: XCTestCase {
  var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

  func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

  func model(_ kind: ModelKind, seed: UInt64 = 1) throws -> any TrainableModel {
    var g = SeededGenerator(seed: seed, stream: .initialization)
    switch kind {
    case .autoencoder: return try Autoencoder(config: .seed, generator: &g)
    case .vae: return try VariationalAutoencoder(config: .seed, generator: &g, noise: SeededGenerator(seed: seed, stream: .noise))
    case .classifier:
      return try LatentClassifier(encoder: try ConvEncoder(config: .seed, latentHead: true, generator: &g), generator: &g)
    }
  }

  func sampleCheckpoint(_ kind: ModelKind, _ m: any TrainableModel) throws -> Checkpoint {
    let adam = try Adam(parameters: m.namedParameters, learningRate: 0.01)
    for p in m.namedParameters { p.parameter.gradient.fill(0.5) }
    adam.step()
    return Checkpoint(
      model: kind, config: .seed, training: #"{"epochs":2}"#, seed: 7, datasetSHA256: ["a": "b"],
      stateDict: m.stateDictTensors(),
      optimizer: OptimizerCheckpoint(settings: OptimizerSettings(kind: "adam", learningRate: 0.01), state: adam.state),
      rng: ["shuffle": [1, 2, 3, 4]], epoch: 1, step: 12,
      history: [EpochRecord(epoch: 1, trainLoss: 0.5, validationLoss: nil, trainAccuracy: kind == .classifier ? 0.25 : nil)])
  }

  func testEveryModelKindRoundTrips() throws {
    for kind in ModelKind.allCases {
      let m = try model(kind)
      let c = try sampleCheckpoint(kind, m)
      try CheckpointWriter.write(c, to: path("\(kind).h5"))
      let back = try CheckpointReader.read(path("\(kind).h5"))
      XCTAssertEqual(back.model, kind)
      XCTAssertEqual(back.config, .seed)
      XCTAssertEqual(back.seed, 7)
      XCTAssertEqual(back.training, #"{"epochs":2}"#)
      XCTAssertEqual(back.datasetSHA256, ["a": "b"])
      XCTAssertEqual(back.stateDict.map(\.name), c.stateDict.map(\.name))
      XCTAssertEqual(back.stateDict.map(\.tensor), c.stateDict.map(\.tensor))
      XCTAssertEqual(back.optimizer, c.optimizer)
      XCTAssertEqual(back.rng, ["shuffle": [1, 2, 3, 4]])
      XCTAssertEqual(back.epoch, 1)
      XCTAssertEqual(back.step, 12)
      XCTAssertEqual(back.history, c.history)
      // Restoring into a fresh model of another seed gives the saved parameters.
      let fresh = try model(kind, seed: 99)
      try back.restore(into: fresh)
      XCTAssertEqual(fresh.stateDict.map(\.parameter.value), m.stateDict.map(\.parameter.value))
    }
    let names = try CheckpointReader.read(path("classifier.h5")).stateDict.map(\.name)
    XCTAssertTrue(names.contains("encoder.cnn.0.weight") && names.contains("head.4.bias"), "\(names)")
  }

  func testWritingTwiceGivesTheSameBytesAndLeavesNoTemporaryFile() throws {
    let c = try sampleCheckpoint(.autoencoder, try model(.autoencoder))
    try CheckpointWriter.write(c, to: path("one.h5"))
    // Write again in a later second of the wall clock: a timestamp anywhere would show.
    let second = Int(Date().timeIntervalSince1970)
    while Int(Date().timeIntervalSince1970) == second { usleep(10_000) }
    try CheckpointWriter.write(c, to: path("two.h5"))
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("one.h5"))), try Data(contentsOf: URL(fileURLWithPath: path("two.h5"))))
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted(), ["one.h5", "two.h5"])
  }

  func assertReadFails(_ file: String, mentions: String, line: UInt = #line) {
    XCTAssertThrowsError(try CheckpointReader.read(file), line: line) { error in
      XCTAssertTrue("\(error)".contains(file), "names the file: \(error)", line: line)
      XCTAssertTrue("\(error)".contains(mentions), "\(error) should mention \(mentions)", line: line)
    }
  }

  func testValidationNamesWhatDoesNotMatch() throws {
    let m = try model(.autoencoder)
    let good = try sampleCheckpoint(.autoencoder, m)
    func variant(_ name: String, _ change: (inout Checkpoint) -> Void) throws -> String {
      var c = good
      change(&c)
      try CheckpointWriter.write(c, to: path(name))
      return path(name)
    }
    assertReadFails(try variant("shape.h5") { $0.stateDict[2].tensor = Tensor.zeros([17, 8, 3, 2]) },
      mentions: "/state_dict/encoder.cnn.2.weight: shape [17, 8, 3, 2], expected [17, 8, 3, 3]")
    assertReadFails(try variant("missing.h5") { $0.stateDict.remove(at: 5) }, mentions: "encoder.cnn.4.bias: missing")
    assertReadFails(try variant("extra.h5") { $0.stateDict.append(("encoder.extra", Tensor.zeros([1]))) },
      mentions: "encoder.extra: not a parameter of this autoencoder")
    assertReadFails(try variant("kind.h5") { $0.model = .vae }, mentions: "encoder.lin.2.bias: not a parameter of this vae")

    for (name, attribute, value, mention) in [
      ("format.h5", "format", "something-else", "not a LatentLab checkpoint"),
      ("model.h5", "model", "gan", "\"gan\", expected autoencoder, vae or classifier"),
      ("config.h5", "config", #"{"channels":[8,17,32],"hidden":69,"latent":4,"conv3Padding":3,"outputActivation":"sigmoid"}"#,
       "conv3Padding = 3, expected 0 or 1"),
    ] {
      try CheckpointWriter.write(good, to: path(name))
      let file = try HDF5File.open(path: path(name), writable: true)
      try file.setAttribute(attribute, value)
      try file.close()
      // Edited in place, the file no longer matches its seal.
      assertReadFails(path(name), mentions: "the file is damaged:")
      // Without the seal (as another program would write it), the reader says what is wrong.
      try removeSeal(path(name))
      assertReadFails(path(name), mentions: mention)
    }
    try CheckpointWriter.write(good, to: path("v2.h5"))
    let file = try HDF5File.open(path: path("v2.h5"), writable: true)
    try file.setAttribute("format_version", Int64(2))
    try file.close()
    try removeSeal(path("v2.h5"))
    assertReadFails(path("v2.h5"), mentions: "format_version 2; this LatentLab reads version 1 (the file comes from a newer LatentLab)")
    try "not hdf5".write(toFile: path("text.h5"), atomically: true, encoding: .utf8)
    assertReadFails(path("text.h5"), mentions: "expected an HDF5 file")
  }
}

/// Oracle: NumPy and h5py (`Fixtures/interop/autoencoder_numpy.py`), in both directions.
/// Tolerance: max abs difference 1e-5 between LatentLab's float32 and NumPy's float64.
final class InteropTests: XCTestCase {
  var directory: URL!

  override func setUpWithError() throws {
    let probe = Process()
    probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    probe.arguments = ["python3", "-c", "import numpy, h5py"]
    try probe.run()
    probe.waitUntilExit()
    guard probe.terminationStatus == 0 else { throw XCTSkip("python3 with numpy and h5py is needed (make test installs them)") }
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("interop-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { if let directory { try? FileManager.default.removeItem(at: directory) } }

  func python(_ arguments: [String]) throws -> ChildProcessResult {
    try runChildProcess("python3", [Fixture.path("interop/autoencoder_numpy.py")] + arguments)
  }

  func testNumPyReproducesLatentLabOutputsFromItsCheckpoint() throws {
    var g = SeededGenerator(seed: 3, stream: .initialization)
    let model = try Autoencoder(config: .seed, generator: &g)
    var data = SeededGenerator(seed: 3, streamName: "test/interop")
    let x = Tensor(shape: [6, 1, 28, 28], scalars: (0..<(6 * 784)).map { _ in data.nextFloat() })
    let y = try model.reconstruct(x)
    let checkpoint = directory.appendingPathComponent("swift.h5").path
    try CheckpointWriter.write(
      Checkpoint(
        model: .autoencoder, config: .seed, training: "{}", seed: 3, datasetSHA256: [:], stateDict: model.stateDictTensors()),
      to: checkpoint)
    try NumPyArray(x).write(path: directory.appendingPathComponent("x.npy").path)
    try NumPyArray(y).write(path: directory.appendingPathComponent("y.npy").path)
    let r = try python(["check", checkpoint, directory.appendingPathComponent("x.npy").path, directory.appendingPathComponent("y.npy").path])
    XCTAssertEqual(r.status, 0, r.output)
    XCTAssertTrue(r.output.contains("max abs difference"), r.output)
  }

  func testLatentLabLoadsACheckpointWrittenByH5py() throws {
    let checkpoint = directory.appendingPathComponent("numpy.h5").path
    let inputs = directory.appendingPathComponent("x.npy").path
    let expected = directory.appendingPathComponent("y.npy").path
    let r = try python(["write", checkpoint, inputs, expected])
    XCTAssertEqual(r.status, 0, r.output)
    let saved = try CheckpointReader.read(checkpoint)
    XCTAssertEqual(saved.model, .autoencoder)
    var g = SeededGenerator(seed: 0, stream: .initialization)
    let model = try Autoencoder(config: saved.config, generator: &g)
    try saved.restore(into: model, path: checkpoint)
    let y = try model.reconstruct(try NumPyArray.read(path: inputs).tensor())
    let want = try NumPyArray.read(path: expected)
    XCTAssertEqual(y.shape, want.shape)
    assertClose(y.scalars.map(Double.init), want.doubles(), atol: 1e-5, rtol: 0)
  }
}
