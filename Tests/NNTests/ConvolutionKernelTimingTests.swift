import NN
import TensorCore
import XCTest

/// `ConvolutionKernelTiming` times the convolutions that run on the direct kernels, and only
/// those, and reports a layer's own shape errors.
final class ConvolutionKernelTimingTests: XCTestCase {
  func testTimesDirectConvolutionsOnly() throws {
    var g = SeededGenerator(seed: 1, stream: .initialization)
    let conv = try Conv2d(inputChannels: 3, outputChannels: 5, kernelSize: 3, stride: 2, padding: 1, generator: &g)
    let linear = try Linear(inputFeatures: 4, outputFeatures: 2, generator: &g)
    XCTAssertNil(try ConvolutionKernelTiming.bestSeconds(of: linear, imageShape: [4], calls: 3))
    XCTAssertNil(try ConvolutionKernelTiming.bestSeconds(of: ReLU(), imageShape: [3, 9, 9], calls: 3))
    guard ConvolutionAlgorithm.directLanesAvailable else { return }
    let times = try XCTUnwrap(ConvolutionKernelTiming.bestSeconds(of: conv, imageShape: [3, 9, 9], calls: 3))
    for t in [times.forward, times.weightGradient, times.inputGradient] {
      XCTAssertTrue(t > 0 && t < 1, "\(t) s per call")
    }
    XCTAssertThrowsError(try ConvolutionKernelTiming.bestSeconds(of: conv, imageShape: [4, 9, 9], calls: 3))
    conv.algorithm = .im2colGEMM
    XCTAssertNil(try ConvolutionKernelTiming.bestSeconds(of: conv, imageShape: [3, 9, 9], calls: 3))
  }
}
