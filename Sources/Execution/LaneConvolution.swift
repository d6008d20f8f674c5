import CKernels
import NN
import TensorCore

/// A convolution-like linear map between images, run by the direct lane kernels: Conv2d and
/// ConvTranspose2d differ only in which axis tables and weight strides they hand over.
///
/// The map is `y[a] = bias[a] + Σ_b Σ_taps W(a, b, ky, kx) · x[b]`, where `W(a, b, ky, kx) =
/// weight[a · forwardStrides.a + b · forwardStrides.b + ky·k + kx]` and the taps come from
/// `forwardRows`/`forwardColumns`; its input gradient is the same kind of gather with the
/// backward tables and strides. Images are cut into chunks of `BatchChunking.itemsPerChunk`
/// (a multiple of 8) from the start of the batch, each chunk a whole number of lane groups,
/// so that chunk `c`'s partial weight gradient is the same whatever thread computes it.
///
/// Its entry points take one chunk already in the lane layout: `ExecutionPlan` keeps every
/// run of convolutions and activations in that layout from one conversion to the next.
package final class LaneConvolution {
  package let inputChannels: Int
  package let outputChannels: Int
  package let kernelSize: Int
  package let inputSize: (height: Int, width: Int)
  package let outputSize: (height: Int, width: Int)
  private let forwardRows: LaneAxis
  private let forwardColumns: LaneAxis
  private let backwardRows: LaneAxis
  private let backwardColumns: LaneAxis
  private let forwardStrides: (a: Int, b: Int)
  private let backwardStrides: (a: Int, b: Int)
  /// A·B·k·k.
  let weightCount: Int

  // Written by `pack…` before a parallel region, read by every chunk in it.
  private let packedForward: UnsafeMutablePointer<Float>
  private let packedBackward: UnsafeMutablePointer<Float>
  private let biasCopy: UnsafeMutablePointer<Float>
  private var hasBias = false
  // Per-chunk partial gradients: [chunks, weightCount] and [chunks, A].
  private var partialChunks = 0
  private var weightPartials: UnsafeMutablePointer<Float>
  private var biasPartials: UnsafeMutablePointer<Float>

  init(
    inputChannels: Int, outputChannels: Int, kernelSize: Int, inputSize: (Int, Int), outputSize: (Int, Int),
    forwardRows: LaneAxis, forwardColumns: LaneAxis, backwardRows: LaneAxis, backwardColumns: LaneAxis,
    forwardStrides: (a: Int, b: Int), backwardStrides: (a: Int, b: Int)
  ) {
    self.inputChannels = inputChannels
    self.outputChannels = outputChannels
    self.kernelSize = kernelSize
    self.inputSize = inputSize
    self.outputSize = outputSize
    self.forwardRows = forwardRows
    self.forwardColumns = forwardColumns
    self.backwardRows = backwardRows
    self.backwardColumns = backwardColumns
    self.forwardStrides = forwardStrides
    self.backwardStrides = backwardStrides
    weightCount = inputChannels * outputChannels * kernelSize * kernelSize
    packedForward = .allocate(capacity: weightCount)
    packedBackward = .allocate(capacity: weightCount)
    biasCopy = .allocate(capacity: outputChannels)
    weightPartials = .allocate(capacity: 1)
    biasPartials = .allocate(capacity: 1)
    precondition(BatchChunking.itemsPerChunk % Int(LL_LANES) == 0, "chunks must be whole lane groups")
  }

  deinit {
    packedForward.deallocate()
    packedBackward.deallocate()
    biasCopy.deallocate()
    weightPartials.deallocate()
    biasPartials.deallocate()
  }

  /// The plan of a `Conv2d` (`transposed` false: weight `[Cout, Cin, k, k]`, forward gathers)
  /// or of a `ConvTranspose2d` (`transposed` true: weight `[Cin, Cout, k, k]`, forward scatters,
  /// the adjoint of the convolution with the same kernel, stride and padding). Either way the
  /// input gradient walks the other direction, and `W(a, b)` is read with a = output channel
  /// forward and a = input channel backward.
  package convenience init(
    inputChannels: Int, outputChannels: Int, kernelSize k: Int, stride: Int, padding: Int,
    inputSize: (height: Int, width: Int), outputSize: (height: Int, width: Int), transposed: Bool
  ) {
    let (inH, inW, outH, outW) = (inputSize.height, inputSize.width, outputSize.height, outputSize.width)
    let forward = transposed ? LaneAxis.scattering : LaneAxis.gathering
    let backward = transposed ? LaneAxis.gathering : LaneAxis.scattering
    // The weight's second dimension (Cin for Conv2d, Cout for ConvTranspose2d) times k·k is
    // the stride of its first; k·k the stride of its second.
    let outer = (transposed ? outputChannels : inputChannels) * k * k
    let (forwardStrides, backwardStrides) = transposed ? ((k * k, outer), (outer, k * k)) : ((outer, k * k), (k * k, outer))
    self.init(
      inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: k,
      inputSize: (inH, inW), outputSize: (outH, outW),
      forwardRows: forward(inH, outH, k, stride, padding), forwardColumns: forward(inW, outW, k, stride, padding),
      backwardRows: backward(outH, inH, k, stride, padding), backwardColumns: backward(outW, inW, k, stride, padding),
      forwardStrides: forwardStrides, backwardStrides: backwardStrides)
  }

  /// Whether this plan serves an input of `height × width`.
  package func matches(height: Int, width: Int) -> Bool { inputSize == (height, width) }

  /// Scalars per input image (`B·H·W`) and per output image (`A·H'·W'`).
  package var inputImageSize: Int { inputChannels * inputSize.height * inputSize.width }
  package var outputImageSize: Int { outputChannels * outputSize.height * outputSize.width }
  private static let lanes = Int(LL_LANES)
  /// The register width the forward kernel runs at: 2 (two lane groups to an AVX-512
  /// register) on the `avx512` path, else 1 (AVX2). The same bits either way.
  package static let width: Int32 = InstructionSet.selected == .avx512 ? 2 : 1
  /// The largest kernel the direct kernels take; larger ones use im2col + GEMM.
  package static let maximumKernelSize = Int(LL_MAX_KERNEL)

  /// Lane groups for a batch of `n` images.
  package static func laneGroups(_ n: Int) -> Int { (n + lanes - 1) / lanes }

  /// Chunk `c` of a batch of `n`: images `32c ..< min(32c + 32, n)`, which are lane groups
  /// `firstGroup ..< firstGroup + groups` (the last possibly partial).
  package static func chunk(_ c: Int, batch n: Int) -> (images: Range<Int>, firstGroup: Int, groups: Int) {
    let per = BatchChunking.itemsPerChunk
    let images = (c * per)..<min(c * per + per, n)
    return (images, images.lowerBound / lanes, laneGroups(images.count))
  }

  // MARK: One chunk in the lane layout

  /// Packs the weight (and copies the bias) for `forwardLanes`; call before the parallel region.
  package func packForward(weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?) {
    latentlab_pack_conv_weight(
      weight, forwardStrides.a, forwardStrides.b, Int32(outputChannels), Int32(inputChannels), Int32(kernelSize),
      packedForward)
    hasBias = bias != nil
    if let bias { biasCopy.update(from: bias, count: outputChannels) }
  }

  /// Packs the weight for the input gradient of `backwardLanes`, and sizes the per-chunk
  /// partial gradients for `chunks` chunks; call before the parallel region.
  package func prepareBackward(weight: UnsafePointer<Float>, chunks: Int) {
    latentlab_pack_conv_weight(
      weight, backwardStrides.a, backwardStrides.b, Int32(inputChannels), Int32(outputChannels), Int32(kernelSize),
      packedBackward)
    if chunks > partialChunks {
      weightPartials.deallocate()
      biasPartials.deallocate()
      weightPartials = .allocate(capacity: chunks * weightCount)
      biasPartials = .allocate(capacity: chunks * outputChannels)
      partialChunks = chunks
    }
  }

  /// `y = W ∗ x + bias` for `groups` lane groups: `x [groups][B][H][W][8]` → `y [groups][A][H'][W'][8]`,
  /// or `y = ReLU(W ∗ x + bias)` with `relu` (the bits of `latentlab_relu_forward` after it).
  /// Every lane is computed, the padding lanes of a partial group too. `width`: the register
  /// width (`LaneConvolution.width`; 2 needs AVX-512F), which never changes a bit.
  package func forwardLanes(
    _ x: UnsafePointer<Float>, groups: Int, into y: UnsafeMutablePointer<Float>, relu: Bool = false,
    width: Int32 = LaneConvolution.width
  ) {
    latentlab_lane_conv(
      x, Int32(groups), Int32(inputChannels), packedForward, hasBias ? UnsafePointer(biasCopy) : nil, y,
      Int32(outputChannels), forwardRows.table, forwardColumns.table, relu ? LL_STORE_RELU : LL_STORE_SUM, nil, width)
  }

  /// The backward pass of chunk `chunk` (lane groups `groups`): its partial weight and bias
  /// gradients when `parameterGradients` (the bias's only when `bias`), and the input gradient
  /// into `dx` when given. `x` is the chunk's forward input, `dy` its output gradient; `width`
  /// as `forwardLanes` (the weight gradient takes two input channels to a register at 2).
  /// With `reluOutput` (the input `x` as the output of a ReLU), `dx` is carried on through
  /// that ReLU: zero where `reluOutput ≤ 0`, the bits of `latentlab_relu_backward` after it.
  package func backwardLanes(
    _ dy: UnsafePointer<Float>, input x: UnsafePointer<Float>, groups: Int, chunk: Int, parameterGradients: Bool,
    bias: Bool, inputGradient dx: UnsafeMutablePointer<Float>?, throughReLU reluOutput: UnsafePointer<Float>? = nil,
    width: Int32 = LaneConvolution.width
  ) {
    let (a, b, g) = (Int32(outputChannels), Int32(inputChannels), Int32(groups))
    if parameterGradients {
      latentlab_lane_conv_weight_gradient(
        dy, x, g, a, b, weightPartials + chunk * weightCount, forwardStrides.a, forwardStrides.b,
        forwardRows.table, forwardColumns.table, width)
      if bias {
        latentlab_lane_bias_gradient(
          dy, g, a, Int32(outputSize.height * outputSize.width), biasPartials + chunk * outputChannels)
      }
    }
    if let dx {
      latentlab_lane_conv(
        dy, g, a, packedBackward, nil, dx, b, backwardRows.table, backwardColumns.table,
        reluOutput == nil ? LL_STORE_SUM : LL_STORE_GATED, reluOutput, width)
    }
  }

  /// Adds the partial gradients of chunks `0..<chunks`, in chunk order, to `weight`'s and
  /// `bias`'s gradients (frozen parameters are left alone).
  package func reducePartials(chunks: Int, into weight: ParameterOf<Float>, bias: ParameterOf<Float>?) {
    precondition(chunks <= partialChunks, "more chunks than partials were prepared for")
    reduceChunkPartials(UnsafePointer(weightPartials), chunks: chunks, into: weight)
    if let bias { reduceChunkPartials(UnsafePointer(biasPartials), chunks: chunks, into: bias) }
  }
}
