import CKernels
import Execution
import NN
import TensorCore
import TestSupport
import XCTest

/// The lane kernels at both register widths, against each other, bit for bit: AVX-512 (two lane
/// groups to a register; the weight gradient's input channels two to a register, two registers
/// at a time, then a pair or a single one: 1, 2, 3, 5, 7, 8 and 17 channels here) and AVX2, for the
/// forward map, the input gradient (the forward kernel on the backward tables) and the weight
/// and bias gradients of convolutions and transposed convolutions over
/// the shapes of `PlanConvolutionTests`, with 1, 2, 3 and 5 lane groups (a lone last group
/// runs at the AVX2 width). The oracle of the values themselves is `PlanConvolutionTests`.
final class LaneConvolutionWidthTests: XCTestCase {
  func testBothWidthsGiveTheSameBits() throws {
    try XCTSkipUnless(InstructionSet.cpuBest == .avx512, "this CPU lacks AVX-512F: only the AVX2 width runs")
    let shapes = PlanConvolutionTests.shapes
    for (i, s) in shapes.enumerated() {
      for transposed in [false, true] {
        var g = SeededGenerator(seed: UInt64(i), streamName: "test/lane-width")
        let (lanes, weight, bias) = s.laneConvolution(transposed: transposed, &g)
        for groups in [1, 2, 3, 5] {
          let x = (0..<(groups * lanes.inputImageSize * 8)).map { _ in g.nextFloat() * 2 - 1 }
          let dy = (0..<(groups * lanes.outputImageSize * 8)).map { _ in g.nextFloat() * 2 - 1 }
          var results: [[UInt32]] = []
          for width: Int32 in [1, 2] {
            var y = [Float](repeating: .nan, count: dy.count)
            var dx = [Float](repeating: .nan, count: x.count)
            lanes.forwardLanes(x, groups: groups, into: &y, width: width)
            lanes.backwardLanes(
              dy, input: x, groups: groups, chunk: 0, parameterGradients: true, bias: true, inputGradient: &dx, width: width)
            let dw = Parameter(Tensor(shape: [weight.count], scalars: weight))
            let db = Parameter(Tensor(shape: [bias.count], scalars: bias))
            lanes.reducePartials(chunks: 1, into: dw, bias: db)
            results.append((y + dx + dw.gradient.scalars + db.gradient.scalars).map(\.bitPattern))
          }
          let name = "\(transposed ? "convT" : "conv")\(i), \(groups) groups"
          XCTAssertFalse(results[0].contains(Float.nan.bitPattern), "\(name): every output written")
          XCTAssertEqual(zip(results[0], results[1]).filter { $0 != $1 }.count, 0, "\(name): elements whose bits differ")
        }
      }
    }
  }
}
