import CKernels
import Execution
import NN
import TensorCore
import TestSupport
import XCTest

/// A lane convolution that applies ReLU as it stores (`forwardLanes(relu:)`) or carries its
/// input gradient through a ReLU (`backwardLanes(throughReLU:)`), against the convolution
/// followed by the ReLU kernels themselves (`latentlab_relu_forward`, `latentlab_relu_backward`),
/// bit for bit, at every register width this CPU has, over the shapes of `PlanConvolutionTests`.
/// Inputs hold NaNs (which ReLU passes on) and the gates hold +0, −0 and NaN, where the masks'
/// comparison decides.
final class LaneConvolutionStoreModeTests: XCTestCase {
  func testFusedReLUGivesTheBitsOfTheReLUKernels() throws {
    let widths: [Int32] = InstructionSet.cpuBest == .avx512 ? [1, 2] : [1]
    for (i, s) in PlanConvolutionTests.shapes.enumerated() {
      for transposed in [false, true] {
        var g = SeededGenerator(seed: UInt64(i), streamName: "test/lane-store-mode")
        let (lanes, _, _) = s.laneConvolution(transposed: transposed, &g)
        for groups in [1, 2, 3] {
          var x = (0..<(groups * lanes.inputImageSize * 8)).map { _ in g.nextFloat() * 2 - 1 }
          x[x.count / 3] = .nan
          let dy = (0..<(groups * lanes.outputImageSize * 8)).map { _ in g.nextFloat() * 2 - 1 }
          // The gate: ReLU's output where the input gradient arrives (x's layout).
          var gate = (0..<x.count).map { _ in g.nextFloat() * 2 - 1 }
          for (q, special) in [Float(0), -0.0, .nan].enumerated() { gate[(q + 1) * gate.count / 4] = special }
          for width in widths {
            let name = "\(transposed ? "convT" : "conv")\(i), \(groups) groups, width \(width)"
            var separate = [Float](repeating: 1, count: dy.count)
            var fused = [Float](repeating: 1, count: dy.count)
            lanes.forwardLanes(x, groups: groups, into: &separate, width: width)
            XCTAssertTrue(separate.contains { $0 < 0 } && separate.contains(where: \.isNaN), "\(name): ReLU has work")
            latentlab_relu_forward(separate, &separate, separate.count)
            lanes.forwardLanes(x, groups: groups, into: &fused, relu: true, width: width)
            XCTAssertEqual(differingBits(separate, fused), 0, "\(name), forward: elements whose bits differ")

            var dxSeparate = [Float](repeating: 1, count: x.count)
            var dxFused = [Float](repeating: 1, count: x.count)
            lanes.backwardLanes(
              dy, input: x, groups: groups, chunk: 0, parameterGradients: false, bias: false, inputGradient: &dxSeparate,
              width: width)
            latentlab_relu_backward(gate, dxSeparate, &dxSeparate, dxSeparate.count)
            lanes.backwardLanes(
              dy, input: x, groups: groups, chunk: 0, parameterGradients: false, bias: false, inputGradient: &dxFused,
              throughReLU: gate, width: width)
            XCTAssertEqual(differingBits(dxSeparate, dxFused), 0, "\(name), input gradient: elements whose bits differ")
          }
        }
      }
    }
  }

  private func differingBits(_ a: [Float], _ b: [Float]) -> Int {
    zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count
  }
}
