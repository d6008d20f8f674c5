import Experiments
import Models
import NN
import TensorCore
import XCTest

/// A model whose code is an image's first two pixels and whose decoding writes a code into the
/// first two pixels of a blank image: what `Generation` does with codes is then visible.
final class PixelCodeModel: TrainableModel {
  let kind = ModelKind.autoencoder
  let config = AutoencoderConfig(channels: [1, 1, 1], hidden: 1, latent: 2)
  var parallel = DeterministicParallel(threads: 1)
  var execution = ModelExecution.reference
  var namedParameters: [NamedParameter<Float>] { [] }
  var lossDescription: String { "none" }
  func trainingStep(inputs: Tensor, labels: [Int32]) throws -> BatchResult { BatchResult(loss: 0, count: 0) }
  func evaluationStep(inputs: Tensor, labels: [Int32]) throws -> BatchResult { BatchResult(loss: 0, count: 0) }
  func encode(_ images: Tensor) throws -> Tensor {
    let n = images.shape[0]
    return Tensor(shape: [n, 2], scalars: (0..<n).flatMap { [images.scalars[$0 * 784], images.scalars[$0 * 784 + 1]] })
  }
  func decode(_ codes: Tensor) throws -> Tensor {
    let n = codes.shape[0]
    var pixels = [Float](repeating: 0, count: n * 784)
    for i in 0..<n { (pixels[i * 784], pixels[i * 784 + 1]) = (codes.scalars[2 * i], codes.scalars[2 * i + 1]) }
    return Tensor(shape: [n, 1, 28, 28], scalars: pixels)
  }
}

/// `Generation`: decoded points lie in the codes' box; interpolations run from one code to the
/// other with the originals at the ends; the draws are seeded.
final class GenerationTests: XCTestCase {
  /// Images whose codes (first two pixels) span [0.2, 0.6] × [−1, 3].
  func images() -> Tensor {
    var pixels = [Float](repeating: 0.5, count: 3 * 784)
    for (i, (a, b)) in [(0.2, 3.0), (0.6, -1.0), (0.4, 0.0)].enumerated() { (pixels[i * 784], pixels[i * 784 + 1]) = (Float(a), Float(b)) }
    return Tensor(shape: [3, 1, 28, 28], scalars: pixels)
  }

  func testGridPointsLieInsideTheCodesBox() throws {
    let model = PixelCodeModel()
    var g = SeededGenerator(seed: 1, streamName: "noise/generate")
    let grid = try Generation.grid(model, spanning: images(), count: 50, generator: &g)
    let codes = try model.encode(grid)
    for i in 0..<50 {
      XCTAssertTrue((0.2...0.6).contains(codes.scalars[2 * i]) && (-1...3).contains(codes.scalars[2 * i + 1]), "point \(i)")
    }
    var h = SeededGenerator(seed: 1, streamName: "noise/generate")
    XCTAssertEqual(try Generation.grid(model, spanning: images(), count: 50, generator: &h), grid)
  }

  func testInterpolationRunsFromOneCodeToTheOther() throws {
    let pair = images().slice(outer: 0..<2)
    let line = try Generation.interpolation(PixelCodeModel(), between: pair, steps: 5)
    XCTAssertEqual(line.count, 7, "the two originals and five decoded points")
    XCTAssertEqual(line[0], Array(pair.scalars[0..<784]))
    XCTAssertEqual(line[6], Array(pair.scalars[784..<1568]))
    XCTAssertEqual(line[1][0], 0.2)
    XCTAssertEqual(line[3][0], 0.4, accuracy: 1e-6)
    XCTAssertEqual(line[5][1], -1)
    XCTAssertThrowsError(try Generation.interpolation(PixelCodeModel(), between: pair, steps: 1))
  }

  func testAClassifierCannotGenerate() throws {
    let classifier = try ModelFactory.make(.classifier, config: .seed, seed: 0)
    var g = SeededGenerator(seed: 1, streamName: "noise/generate")
    XCTAssertThrowsError(try Generation.grid(classifier, spanning: images(), count: 2, generator: &g)) {
      XCTAssertTrue("\($0)".contains("classifier: has no decoder"), "\($0)")
    }
  }
}
