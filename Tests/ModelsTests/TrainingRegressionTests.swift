import Models
import NN
import TensorCore
import TestSupport
import XCTest

/// Regression guard: a short, fixed training run of the seed autoencoder must keep giving the
/// same losses and parameters. Golden file: `Fixtures/golden/models/autoencoder_training*.npy`,
/// recorded by this test under `LATENTLAB_RECORD=1` (rewrite it only on purpose, and say why in
/// the commit). Tolerance: atol 1e-5 + rtol 1e-4, room for another CPU's BLAS kernels; a change
/// of the algorithm, the initialisation or the data order moves these numbers far more.
final class TrainingRegressionTests: XCTestCase {
  func testShortAutoencoderRunMatchesItsGoldenFile() throws {
    var g = SeededGenerator(seed: 11, stream: .initialization)
    let model = try Autoencoder(config: .seed, generator: &g)
    model.parallel = DeterministicParallel(threads: 2)
    let options = TrainingOptions(
      epochs: 3, batchSize: 50, optimizer: OptimizerSettings(kind: "adam", learningRate: 0.003, weightDecay: 1e-4), seed: 11)
    let history = try Trainer(options: options, showsProgress: false)
      .fit(model, train: syntheticImages(count: 300, seed: 5), validation: syntheticImages(count: 100, seed: 6))
    let losses = history.flatMap { [$0.trainLoss, $0.validationLoss!] }
    assertMatchesGolden(
      NumPyArray(shape: [losses.count], doubles: losses), GoldenFile(named: "models/autoencoder_training_losses"),
      atol: 1e-5, rtol: 1e-4)
    // The first conv's weights and the last transposed conv's, after training.
    let first = model.namedParameters.first { $0.name == "encoder.cnn.0.weight" }!.parameter.value
    let last = model.namedParameters.first { $0.name == "decoder.cnn.4.weight" }!.parameter.value
    assertMatchesGolden(first, GoldenFile(named: "models/autoencoder_training_conv1"), atol: 1e-5, rtol: 1e-4)
    assertMatchesGolden(last, GoldenFile(named: "models/autoencoder_training_deconv1"), atol: 1e-5, rtol: 1e-4)
  }
}
