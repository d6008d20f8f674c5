import NN
import TensorCore
import XCTest

/// Same seed, same bits: a training step of the seed autoencoder gives bit-identical parameters
/// with 1 thread and with 2 (the batch of 150 spans five convolution chunks, the last one
/// partial, and two dense-layer chunks).
final class DeterminismTests: XCTestCase {
  func seedAutoencoder(_ g: inout SeededGenerator) throws -> Sequential {
    try Sequential([
      try Conv2d(inputChannels: 1, outputChannels: 8, kernelSize: 3, stride: 2, padding: 1, generator: &g), ReLU(),
      try Conv2d(inputChannels: 8, outputChannels: 17, kernelSize: 3, stride: 2, padding: 1, generator: &g), ReLU(),
      try Conv2d(inputChannels: 17, outputChannels: 32, kernelSize: 3, stride: 2, padding: 1, generator: &g), ReLU(),
      Flatten(),
      try Linear(inputFeatures: 512, outputFeatures: 69, generator: &g), ReLU(),
      try Linear(inputFeatures: 69, outputFeatures: 4, generator: &g),
      try Linear(inputFeatures: 4, outputFeatures: 69, generator: &g), ReLU(),
      try Linear(inputFeatures: 69, outputFeatures: 512, generator: &g), ReLU(),
      try Unflatten(itemShape: [32, 4, 4]),
      try ConvTranspose2d(inputChannels: 32, outputChannels: 17, kernelSize: 3, stride: 2, padding: 1, generator: &g), ReLU(),
      try ConvTranspose2d(
        inputChannels: 17, outputChannels: 8, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1, generator: &g), ReLU(),
      try ConvTranspose2d(
        inputChannels: 8, outputChannels: 1, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1, generator: &g),
      Sigmoid(),
    ])
  }

  func trainedParameters(threads: Int, steps: Int) throws -> [[UInt32]] {
    var g = SeededGenerator(seed: 2024, stream: .initialization)
    let net = try seedAutoencoder(&g)
    net.parallel = DeterministicParallel(threads: threads)
    let adam = try Adam(parameters: net.namedParameters, learningRate: 3e-3, weightDecay: 1e-4)
    var data = SeededGenerator(seed: 2024, streamName: "test/data")
    let x = Tensor(shape: [150, 1, 28, 28], scalars: (0..<(150 * 784)).map { _ in data.nextFloat() })
    var grad = Tensor.zeros([0])
    let mse = MSELoss()
    for _ in 0..<steps {
      adam.zeroGradients()
      let y = try net.forward(x)
      _ = try mse(y, x, gradient: &grad)
      _ = try net.backward(grad)
      adam.step()
    }
    return net.namedParameters.map { $0.parameter.value.scalars.map(\.bitPattern) }
  }

  func testTrainingStepsAreBitIdenticalWithOneAndTwoThreads() throws {
    let one = try trainedParameters(threads: 1, steps: 2)
    let two = try trainedParameters(threads: 2, steps: 2)
    XCTAssertEqual(one.count, 20)
    for (i, (a, b)) in zip(one, two).enumerated() {
      XCTAssertEqual(a, b, "parameter \(i) differs between 1 and 2 threads")
    }
    // And training did change the parameters (the comparison is not vacuous).
    let untrained = try trainedParameters(threads: 1, steps: 0)
    XCTAssertNotEqual(one[0], untrained[0])
  }
}
