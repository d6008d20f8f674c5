import CKernels
import TensorCore

/// The direct convolution kernels of one layer timed on their own, for benchmarks.
///
/// A training step's time drifts with this machine's speed by up to half within minutes, which
/// hides a kernel change of 10%. The best time of many calls on one chunk (32 images, the unit
/// every pass works in) is stable to a few per cent: the measure `make bench` reports per kernel.
public enum ConvolutionKernelTiming {
  /// The best seconds per call, over `calls` calls each, of a `Conv2d`'s or `ConvTranspose2d`'s
  /// three kernels on one chunk of 32 images of `imageShape` `[C, H, W]`: forward (with bias),
  /// weight gradient (with the bias gradient) and input gradient. Nil when the layer does not
  /// run on the direct kernels (not a convolution, `Double`, im2col, no AVX2).
  /// - Throws: the layer's shape error for a wrong `imageShape`.
  public static func bestSeconds(
    of layer: any Layer<Float>, imageShape: [Int], calls: Int
  ) throws -> (forward: Double, weightGradient: Double, inputGradient: Double)? {
    guard let convolution = layer as? any LaneConvolutionLayer, convolution.laneRole != nil else { return nil }
    let images = BatchChunking.itemsPerChunk
    guard case .convolution(let plan, let weight, let bias, _) = try convolution.laneStage(for: [images] + imageShape)
    else { return nil }
    let groups = LaneConvolution.laneGroups(images)
    let lanes = Int(LL_LANES)
    let (x, y, dx) = (LaneBuffer(), LaneBuffer(), LaneBuffer())
    x.reserve(groups * plan.inputImageSize * lanes)
    y.reserve(groups * plan.outputImageSize * lanes)
    dx.reserve(groups * plan.inputImageSize * lanes)
    var g = SeededGenerator(seed: 0, streamName: "bench/kernels")
    for i in 0..<(groups * plan.inputImageSize * lanes) { x.pointer[i] = g.nextUniform(-1, 1) }
    weight.value.withUnsafeBufferPointer { wb in
      withOptionalPointer(bias?.value) { plan.packForward(weight: wb.baseAddress!, bias: $0) }
      plan.prepareBackward(weight: wb.baseAddress!, chunks: 1)
    }
    func best(_ body: () -> Void) -> Double {
      let clock = ContinuousClock()
      var fastest = Double.infinity
      for _ in 0..<calls {
        let d = clock.measure(body)
        fastest = min(fastest, Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)
      }
      return fastest
    }
    let forward = best { plan.forwardLanes(x.pointer, groups: groups, into: y.pointer) }
    let weightGradient = best {
      plan.backwardLanes(
        y.pointer, input: x.pointer, groups: groups, chunk: 0, parameterGradients: true, bias: bias != nil,
        inputGradient: nil)
    }
    let inputGradient = best {
      plan.backwardLanes(
        y.pointer, input: x.pointer, groups: groups, chunk: 0, parameterGradients: false, bias: false,
        inputGradient: dx.pointer)
    }
    return (forward, weightGradient, inputGradient)
  }
}
