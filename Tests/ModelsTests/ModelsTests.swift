import Foundation
import Models
import NN
import TensorCore
import TestSupport
import XCTest

/// Small synthetic images: a bright square whose position depends on the class, plus noise,
/// so that the models have something learnable and the tests stay fast.
func syntheticImages(count: Int, seed: UInt64) -> LabeledTensor {
  var g = SeededGenerator(seed: seed, streamName: "test/synthetic")
  var pixels = [Float](repeating: 0, count: count * 784)
  var labels: [Int32] = []
  for i in 0..<count {
    let label = Int32(i % 10)
    labels.append(label)
    let (r0, c0) = (2 + Int(label) / 5 * 12, 2 + Int(label) % 5 * 5)
    for r in 0..<784 { pixels[i * 784 + r] = 0.1 * g.nextFloat() }
    for r in r0..<(r0 + 10) { for c in c0..<(c0 + 5) { pixels[i * 784 + r * 28 + c] = 0.9 } }
  }
  return LabeledTensor(inputs: Tensor(shape: [count, 1, 28, 28], scalars: pixels), labels: labels)
}

final class AutoencoderConfigTests: XCTestCase {
  func testSeedConfigRestoresEverySizeForBothConv3Paddings() throws {
    XCTAssertEqual(AutoencoderConfig.seed.encoderSizes, [28, 14, 7, 4])
    XCTAssertEqual(try AutoencoderConfig.seed.decoderOutputPaddings(), [0, 1, 1])
    var p0 = AutoencoderConfig.seed
    p0.conv3Padding = 0
    XCTAssertEqual(p0.encoderSizes, [28, 14, 7, 3])
    XCTAssertEqual(try p0.decoderOutputPaddings(), [0, 1, 1])
    for config in [AutoencoderConfig.seed, p0] {
      var g = SeededGenerator(seed: 0, stream: .initialization)
      let model = try Autoencoder(config: config, generator: &g)
      XCTAssertEqual(try model.reconstruct(Tensor.zeros([3, 1, 28, 28])).shape, [3, 1, 28, 28])
      XCTAssertEqual(try model.encode(Tensor.zeros([3, 1, 28, 28])).shape, [3, 4])
    }
  }

  func testInvalidConfigsAreRejectedWithTheField() {
    let cases: [(AutoencoderConfig, String)] = [
      (AutoencoderConfig(channels: [8, 17], hidden: 69, latent: 4), "channels"),
      (AutoencoderConfig(channels: [8, 0, 32], hidden: 69, latent: 4), "channels[1] = 0"),
      (AutoencoderConfig(channels: [8, 17, 32], hidden: 0, latent: 4), "hidden = 0"),
      (AutoencoderConfig(channels: [8, 17, 32], hidden: 69, latent: 0), "latent = 0"),
      (AutoencoderConfig(channels: [8, 17, 32], hidden: 69, latent: 4, conv3Padding: 2), "conv3Padding = 2, expected 0 or 1"),
      (AutoencoderConfig(channels: [8, 17, 32], hidden: 69, latent: 4, outputActivation: "tanh"), "outputActivation"),
    ]
    for (config, mention) in cases {
      XCTAssertThrowsError(try config.validate()) { error in
        XCTAssertTrue("\(error)".contains(mention), "\(error) should mention \(mention)")
      }
    }
  }

  func testConfigIsCodable() throws {
    let data = try JSONEncoder().encode(AutoencoderConfig.seed)
    XCTAssertEqual(try JSONDecoder().decode(AutoencoderConfig.self, from: data), .seed)
  }
}

final class AutoencoderTests: XCTestCase {
  /// The anchor (`bench-anchors.md`): PyTorch's module of the seed configuration has 84,329
  /// parameters.
  func testParameterCountAndNamesMatchThePyTorchModule() throws {
    var g = SeededGenerator(seed: 0, stream: .initialization)
    let model = try Autoencoder(config: .seed, generator: &g)
    XCTAssertEqual(model.namedParameters.reduce(0) { $0 + $1.parameter.count }, 84_329)
    XCTAssertEqual(model.namedParameters.map(\.name), [
      "encoder.cnn.0.weight", "encoder.cnn.0.bias", "encoder.cnn.2.weight", "encoder.cnn.2.bias",
      "encoder.cnn.4.weight", "encoder.cnn.4.bias", "encoder.lin.0.weight", "encoder.lin.0.bias",
      "encoder.lin.2.weight", "encoder.lin.2.bias",
      "decoder.lin.0.weight", "decoder.lin.0.bias", "decoder.lin.2.weight", "decoder.lin.2.bias",
      "decoder.cnn.0.weight", "decoder.cnn.0.bias", "decoder.cnn.2.weight", "decoder.cnn.2.bias",
      "decoder.cnn.4.weight", "decoder.cnn.4.bias",
    ])
    XCTAssertEqual(model.namedParameters[14].parameter.value.shape, [32, 17, 3, 3])
  }

  func train(threads: Int, seed: UInt64, epochs: Int = 2, history: String? = nil) throws -> (Autoencoder, [EpochRecord]) {
    let data = syntheticImages(count: 300, seed: 1)
    var g = SeededGenerator(seed: seed, stream: .initialization)
    let model = try Autoencoder(config: .seed, generator: &g)
    model.parallel = DeterministicParallel(threads: threads)
    let options = TrainingOptions(
      epochs: epochs, batchSize: 50, optimizer: OptimizerSettings(kind: "adam", learningRate: 0.003, weightDecay: 1e-4),
      seed: seed)
    let trainer = Trainer(options: options, historyPath: history, showsProgress: false)
    let result = try trainer.fit(model, train: data, validation: syntheticImages(count: 100, seed: 2))
    return (model, result)
  }

  func testTrainingLowersTheLossAndWritesHistory() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("history-\(UUID().uuidString).jsonl").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    let (_, history) = try train(threads: 1, seed: 3, epochs: 3, history: path)
    XCTAssertEqual(history.count, 3)
    XCTAssertLessThan(history[2].trainLoss, history[0].trainLoss)
    XCTAssertNotNil(history[0].validationLoss)
    let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
    XCTAssertEqual(lines.count, 3)
    let first = try JSONDecoder().decode(EpochRecord.self, from: Data(lines[0].utf8))
    XCTAssertEqual(first.epoch, 1)
    XCTAssertEqual(first.trainLoss, history[0].trainLoss)
    XCTAssertTrue(lines[0].contains("\"validation_loss\""))
  }

  func testSameSeedSameBitsWhateverTheThreadCount() throws {
    let (a, ha) = try train(threads: 1, seed: 5)
    let (b, hb) = try train(threads: 2, seed: 5)
    let (c, _) = try train(threads: 1, seed: 6)
    XCTAssertEqual(ha.map(\.trainLoss), hb.map(\.trainLoss))
    for (pa, pb) in zip(a.namedParameters, b.namedParameters) {
      XCTAssertEqual(pa.parameter.value.scalars.map(\.bitPattern), pb.parameter.value.scalars.map(\.bitPattern), pa.name)
    }
    XCTAssertNotEqual(a.namedParameters[0].parameter.value, c.namedParameters[0].parameter.value)
  }

  func testDivergenceStopsWithEpochAndStep() throws {
    var g = SeededGenerator(seed: 0, stream: .initialization)
    let model = try Autoencoder(config: .seed, generator: &g)
    let options = TrainingOptions(
      epochs: 2, batchSize: 50, optimizer: OptimizerSettings(kind: "sgd", learningRate: 1e30), seed: 0)
    XCTAssertThrowsError(
      try Trainer(options: options, showsProgress: false).fit(model, train: syntheticImages(count: 200, seed: 1), validation: nil)
    ) { error in
      guard case .diverged(let epoch, let step, let loss)? = error as? TrainingError else { return XCTFail("\(error)") }
      XCTAssertEqual(epoch, 1)
      XCTAssertGreaterThan(step, 1)
      XCTAssertFalse(loss.isFinite)
      XCTAssertTrue("\(error)".contains("epoch 1, step \(step)"))
    }
  }

  func testBadOptionsAreErrors() throws {
    var g = SeededGenerator(seed: 0, stream: .initialization)
    let model = try Autoencoder(config: .seed, generator: &g)
    let data = syntheticImages(count: 20, seed: 1)
    let bad = TrainingOptions(epochs: 0, batchSize: 10, optimizer: OptimizerSettings(kind: "adam", learningRate: 0.1), seed: 0)
    XCTAssertThrowsError(try Trainer(options: bad, showsProgress: false).fit(model, train: data, validation: nil)) {
      XCTAssertTrue("\($0)".contains("epochs = 0"), "\($0)")
    }
    XCTAssertThrowsError(try OptimizerSettings(kind: "adagrad", learningRate: 0.1).make([])) {
      XCTAssertTrue("\($0)".contains("adam, sgd or rmsprop"), "\($0)")
    }
    XCTAssertThrowsError(try model.encode(Tensor.zeros([2, 1, 32, 32]))) {
      XCTAssertTrue("\($0)".contains("[N, 1, 28, 28]"), "\($0)")
    }
  }
}

final class VariationalAutoencoderTests: XCTestCase {
  func makeVAE(seed: UInt64 = 0) throws -> VariationalAutoencoder {
    var g = SeededGenerator(seed: seed, stream: .initialization)
    return try VariationalAutoencoder(
      config: .seed, generator: &g, noise: SeededGenerator(seed: seed, stream: .noise))
  }

  func testNamesShapesAndGeneration() throws {
    let vae = try makeVAE()
    let names = vae.namedParameters.map(\.name)
    XCTAssertTrue(names.contains("encoder.mu.weight") && names.contains("encoder.logvar.bias"))
    XCTAssertFalse(names.contains("encoder.lin.2.weight"), "the VAE's heads replace the latent layer")
    let (mu, lv) = try vae.posterior(Tensor.zeros([5, 1, 28, 28]))
    XCTAssertEqual(mu.shape, [5, 4])
    XCTAssertEqual(lv.shape, [5, 4])
    var prior = SeededGenerator(seed: 1, stream: .noise)
    let images = try vae.generate(count: 6, generator: &prior)
    XCTAssertEqual(images.shape, [6, 1, 28, 28])
    XCTAssertTrue(images.scalars.allSatisfy { $0 > 0 && $0 < 1 })
  }

  /// Oracle: central differences of the training loss (with the same ε each time) for the
  /// parameters the reparameterisation routes through: the μ and log σ² heads' biases.
  /// Float32 model, h = 1e-2: tolerance 3% relative + 1e-4 absolute.
  func testReparameterisedGradientMatchesFiniteDifferences() throws {
    let vae = try makeVAE(seed: 4)
    let data = syntheticImages(count: 8, seed: 3)
    let noise = vae.noise
    func loss() throws -> Double {
      vae.noise = noise
      return try vae.trainingStep(inputs: data.inputs, labels: data.labels).loss
    }
    for p in vae.namedParameters { p.parameter.zeroGradient() }
    _ = try loss()
    let names = ["encoder.mu.bias", "encoder.logvar.bias"]
    let parameters = names.map { name in vae.namedParameters.first { $0.name == name }!.parameter }
    // Read every analytic gradient before the finite differences, whose steps accumulate more.
    let analyticGradients = parameters.map { $0.gradient.scalars.map(Double.init) }
    for (name, (p, analytic)) in zip(names, zip(parameters, analyticGradients)) {
      var numeric: [Double] = []
      for i in 0..<p.count {
        let saved = p.value.scalars[i]
        p.value.scalars[i] = saved + 0.01
        let plus = try loss()
        p.value.scalars[i] = saved - 0.01
        let minus = try loss()
        p.value.scalars[i] = saved
        numeric.append((plus - minus) / 0.02)
      }
      assertClose(analytic, numeric, atol: 1e-6, rtol: 0.03, name)
    }
  }

  func testTrainingLowersTheLossAndIsSeeded() throws {
    func run(_ seed: UInt64) throws -> [EpochRecord] {
      let vae = try makeVAE(seed: seed)
      let options = TrainingOptions(
        epochs: 3, batchSize: 100, optimizer: OptimizerSettings(kind: "adam", learningRate: 0.003), seed: seed)
      return try Trainer(options: options, showsProgress: false).fit(
        vae, train: syntheticImages(count: 300, seed: 1), validation: syntheticImages(count: 50, seed: 2))
    }
    let a = try run(2)
    XCTAssertLessThan(a[2].trainLoss, a[0].trainLoss)
    XCTAssertEqual(a.map(\.trainLoss), try run(2).map(\.trainLoss))
  }
}

final class LatentClassifierTests: XCTestCase {
  /// Codes in 4-D drawn around one centre per class: a learnable problem for the head alone.
  func clusteredCodes(count: Int, seed: UInt64) -> LabeledTensor {
    var g = SeededGenerator(seed: seed, streamName: "test/codes")
    var values: [Float] = []
    var labels: [Int32] = []
    for i in 0..<count {
      let label = i % 10
      labels.append(Int32(label))
      for d in 0..<4 { values.append(Float((label >> (d % 4)) & 1) * 2 + Float(label) * 0.3 * Float(d) + Float(g.nextNormal()) * 0.1) }
    }
    return LabeledTensor(inputs: Tensor(shape: [count, 4], scalars: values), labels: labels)
  }

  func testEncoderIsFrozenAndCodesAreItsOutputs() throws {
    var g = SeededGenerator(seed: 0, stream: .initialization)
    let autoencoder = try Autoencoder(config: .seed, generator: &g)
    var h = SeededGenerator(seed: 0, streamName: "init/classifier")
    let classifier = try LatentClassifier(encoder: autoencoder.encoder, generator: &h)
    XCTAssertTrue(autoencoder.encoder.namedParameters.allSatisfy { $0.parameter.isFrozen })
    XCTAssertEqual(classifier.namedParameters.map(\.name), [
      "head.0.weight", "head.0.bias", "head.2.weight", "head.2.bias", "head.4.weight", "head.4.bias",
    ])
    XCTAssertEqual(classifier.head.namedParameters[4].parameter.value.shape, [10, 60])
    let images = syntheticImages(count: 300, seed: 1)
    let codes = try classifier.codes(of: images.inputs, batchSize: 128)
    XCTAssertEqual(codes.shape, [300, 4])
    XCTAssertEqual(codes.slice(outer: 128..<256), try autoencoder.encode(images.inputs.slice(outer: 128..<256)))
    // Training the whole autoencoder now changes its decoder but not the frozen encoder.
    let encoderBefore = autoencoder.encoder.namedParameters.map { $0.parameter.value }
    let decoderBefore = autoencoder.decoder.namedParameters.map { $0.parameter.value }
    _ = try Trainer(
      options: TrainingOptions(epochs: 1, batchSize: 100, optimizer: OptimizerSettings(kind: "adam", learningRate: 0.01), seed: 0),
      showsProgress: false
    ).fit(autoencoder, train: images, validation: nil)
    XCTAssertEqual(autoencoder.encoder.namedParameters.map { $0.parameter.value }, encoderBefore)
    XCTAssertNotEqual(autoencoder.decoder.namedParameters.map { $0.parameter.value }, decoderBefore)
  }

  func testHeadLearnsAndPredictsWhatItsAccuracySays() throws {
    var g = SeededGenerator(seed: 0, stream: .initialization)
    let autoencoder = try Autoencoder(config: .seed, generator: &g)
    var h = SeededGenerator(seed: 0, streamName: "init/classifier")
    let classifier = try LatentClassifier(encoder: autoencoder.encoder, generator: &h)
    let train = clusteredCodes(count: 1000, seed: 1)
    let test = clusteredCodes(count: 500, seed: 2)
    let history = try Trainer(
      options: TrainingOptions(
        epochs: 20, batchSize: 50, optimizer: OptimizerSettings(kind: "adam", learningRate: 0.01, weightDecay: 1e-5), seed: 0),
      showsProgress: false
    ).fit(classifier, train: train, validation: test)
    XCTAssertLessThan(history.last!.trainLoss, history.first!.trainLoss)
    XCTAssertGreaterThan(history.last!.validationAccuracy!, 0.9)
    let predicted = try classifier.predict(codes: test.inputs)
    XCTAssertEqual(predicted.count, 500)
    XCTAssertTrue(predicted.allSatisfy { (0..<10).contains($0) })
    let accuracy = Double(zip(predicted, test.labels).filter { $0 == $1 }.count) / 500
    XCTAssertEqual(accuracy, history.last!.validationAccuracy!, accuracy: 1e-12)
  }
}
