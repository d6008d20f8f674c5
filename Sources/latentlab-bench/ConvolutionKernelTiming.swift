import CKernels
import Execution
import NN
import TensorCore

/// The direct convolution kernels of one layer timed on their own, for benchmarks.
///
/// A training step's time drifts with this machine's speed by up to half within minutes, which
/// hides a kernel change of 10%. The best time of many calls on one chunk (32 images, the unit
/// every pass works in) is stable to a few per cent: the measure `make bench` reports per kernel.
enum ConvolutionKernelTiming {
  /// The best seconds per call, over `calls` calls each, of a `Conv2d`'s or `ConvTranspose2d`'s
  /// three kernels on one chunk of 32 images of `imageShape` `[C, H, W]`: forward (with bias),
  /// weight gradient (with the bias gradient) and input gradient. Nil when the layer does not
  /// take (not a convolution, or a kernel larger than theirs); the caller checks for AVX2.
  /// - Throws: the layer's shape error for a wrong `imageShape`.
  static func bestSeconds(
    of layer: any Layer<Float>, imageShape: [Int], calls: Int
  ) throws -> (forward: Double, weightGradient: Double, inputGradient: Double)? {
    let images = BatchChunking.itemsPerChunk
    let (weight, bias, kernelSize, stride, padding, transposed): (ParameterOf<Float>, ParameterOf<Float>?, Int, Int, Int, Bool)
    switch layer {
    case let c as Conv2d: (weight, bias, kernelSize, stride, padding, transposed) = (c.weight, c.bias, c.kernelSize, c.stride, c.padding, false)
    case let c as ConvTranspose2d:
      (weight, bias, kernelSize, stride, padding, transposed) = (c.weight, c.bias, c.kernelSize, c.stride, c.padding, true)
    default: return nil
    }
    guard kernelSize <= LaneConvolution.maximumKernelSize else { return nil }
    let out = Array(try layer.outputShape(for: [images] + imageShape).dropFirst())
    let plan = LaneConvolution(
      inputChannels: imageShape[0], outputChannels: out[0], kernelSize: kernelSize, stride: stride, padding: padding,
      inputSize: (imageShape[1], imageShape[2]), outputSize: (out[1], out[2]), transposed: transposed)
    let groups = LaneConvolution.laneGroups(images)
    let lanes = Int(LL_LANES)
    let (x, y, dx) = (AlignedBuffer(), AlignedBuffer(), AlignedBuffer())
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
