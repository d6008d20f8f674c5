import CKernels
import TensorCore

/// Which algorithm `Conv2d` and `ConvTranspose2d` use for `Float`.
public enum ConvolutionAlgorithm: String, Sendable, CaseIterable {
  /// Direct AVX2 kernels over eight images side by side (`LaneConvolution`); the default on
  /// CPUs with AVX2 and FMA. Chosen on a CPU without them, the layers use im2col + GEMM.
  case directLanes
  /// im2col (or col2im) plus one OpenBLAS GEMM per chunk of images: the reference path, and
  /// the only one for `Double`.
  case im2colGEMM

  /// `directLanes` when this CPU runs the kernels, else `im2colGEMM`.
  public static let preferred: ConvolutionAlgorithm = avx2KernelsAvailable ? .directLanes : .im2colGEMM

  /// Whether the direct kernels can run on this CPU.
  public static var directLanesAvailable: Bool { avx2KernelsAvailable }
}

/// Whether this CPU has AVX2 and FMA, which `CKernels`' convolution and activation kernels need
/// (checked once; without them NN runs its portable code).
let avx2KernelsAvailable = latentlab_avx2_fma_available() == 1

/// The taps of one spatial axis of a convolution, as the C kernels read them (`ll_axis`):
/// for each output position the (kernel index, input position) pairs it reads, and for each
/// kernel index the (output, input) positions it joins.
final class LaneAxis {
  let outputCount: Int
  let inputCount: Int
  let kernelSize: Int
  private let storage: UnsafeMutablePointer<Int32>
  /// The C view of the tables (read-only for the kernels, shared by threads).
  let table: UnsafeMutablePointer<ll_axis>

  /// The axis where output `o` reads input `o·stride − padding + kk` (Conv2d's forward pass).
  static func gathering(input: Int, output: Int, kernel: Int, stride: Int, padding: Int) -> LaneAxis {
    LaneAxis(input: input, output: output, kernel: kernel, stride: stride) { o, kk in
      let i = o * stride - padding + kk
      return i >= 0 && i < input ? i : nil
    }
  }

  /// The axis where input `i` reaches output `i·stride − padding + kk` (ConvTranspose2d's
  /// forward pass, Conv2d's input gradient).
  static func scattering(input: Int, output: Int, kernel: Int, stride: Int, padding: Int) -> LaneAxis {
    LaneAxis(input: input, output: output, kernel: kernel, stride: stride) { o, kk in
      let t = o + padding - kk
      guard t >= 0, t % stride == 0 else { return nil }
      let i = t / stride
      return i < input ? i : nil
    }
  }

  private init(input: Int, output: Int, kernel: Int, stride: Int, source: (_ o: Int, _ kk: Int) -> Int?) {
    outputCount = output
    inputCount = input
    kernelSize = kernel
    typealias Tap = (o: Int, kk: Int, i: Int)
    var taps: [Tap] = []
    for o in 0..<output {
      for kk in 0..<kernel {
        if let i = source(o, kk) { taps.append((o, kk, i)) }
      }
    }
    let t = taps.count
    // Output positions that read the same kernel indices in the same order are computed
    // two at a time (stride 2: o and o + 1 for a gather, o and o + 2 for a scatter).
    let kernelsOf = (0..<output).map { o in taps.filter { $0.o == o }.map(\.kk) }
    var used = [Bool](repeating: false, count: output)
    var blocks: [(Int32, Int32)] = []
    for o in 0..<output where !used[o] {
      used[o] = true
      var partner: Int32 = -1
      for q in (o + 1)..<min(output, o + 1 + max(kernel, 2)) where !used[q] && kernelsOf[q] == kernelsOf[o] {
        used[q] = true
        partner = Int32(q)
        break
      }
      blocks.append((Int32(o), partner))
    }
    // Runs of up to eight positions at a constant step whose taps read the same kernel
    // indices at inputs a constant delta apart (for a single output channel).
    let inputsOf = (0..<output).map { o in taps.filter { $0.o == o }.map(\.i) }
    var inRun = [Bool](repeating: false, count: output)
    var runs: [(first: Int32, length: Int32, step: Int32, delta: Int32)] = []
    for o in 0..<output where !inRun[o] {
      inRun[o] = true
      var best: (length: Int, step: Int, delta: Int) = (1, 1, 0)
      for step in 1...max(1, stride) where o + step < output && !inRun[o + step] && kernelsOf[o + step] == kernelsOf[o] {
        let deltas = zip(inputsOf[o + step], inputsOf[o]).map { $0 - $1 }
        guard let delta = deltas.first, deltas.allSatisfy({ $0 == delta }) else { continue }
        var length = 2
        while length < 8, o + length * step < output, !inRun[o + length * step],
          kernelsOf[o + length * step] == kernelsOf[o],
          zip(inputsOf[o + length * step], inputsOf[o]).allSatisfy({ $0 - $1 == length * delta })
        {
          length += 1
        }
        if length > best.length { best = (length, step, delta) }
      }
      for q in 1..<best.length { inRun[o + q * best.step] = true }
      runs.append((Int32(o), Int32(best.length), Int32(best.step), Int32(best.delta)))
    }
    // tapStart, tapKernel, tapInput, pairStart, pairOutput, pairInput, blockFirst,
    // blockSecond and the four run arrays in one allocation.
    let total = (output + 1) + 2 * t + (kernel + 1) + 2 * t + 2 * blocks.count + 4 * runs.count
    storage = .allocate(capacity: max(total, 1))
    let tapStart = storage
    let tapKernel = tapStart + (output + 1)
    let tapInput = tapKernel + t
    let pairStart = tapInput + t
    let pairOutput = pairStart + (kernel + 1)
    let pairInput = pairOutput + t
    // The taps grouped by `key` (0..<groups), in compressed rows: `start[g]..<start[g + 1]`
    // index `first` and `second`.
    func fillRows(
      groups: Int, key: (Tap) -> Int, start: UnsafeMutablePointer<Int32>, first: UnsafeMutablePointer<Int32>,
      _ firstValue: (Tap) -> Int, second: UnsafeMutablePointer<Int32>, _ secondValue: (Tap) -> Int
    ) {
      var next = 0
      for g in 0..<groups {
        start[g] = Int32(next)
        for tap in taps where key(tap) == g {
          first[next] = Int32(firstValue(tap))
          second[next] = Int32(secondValue(tap))
          next += 1
        }
      }
      start[groups] = Int32(next)
    }
    fillRows(groups: output, key: \.o, start: tapStart, first: tapKernel, \.kk, second: tapInput, \.i)
    fillRows(groups: kernel, key: \.kk, start: pairStart, first: pairOutput, \.o, second: pairInput, \.i)
    let blockFirst = pairInput + t
    let blockSecond = blockFirst + blocks.count
    for (b, block) in blocks.enumerated() {
      blockFirst[b] = block.0
      blockSecond[b] = block.1
    }
    let wideFirst = blockSecond + blocks.count
    let wideLength = wideFirst + runs.count
    let wideStep = wideLength + runs.count
    let wideDelta = wideStep + runs.count
    for (r, run) in runs.enumerated() {
      (wideFirst[r], wideLength[r], wideStep[r], wideDelta[r]) = (run.first, run.length, run.step, run.delta)
    }
    table = .allocate(capacity: 1)
    table.initialize(to: ll_axis(
      outputCount: Int32(output), inputCount: Int32(input), kernelSize: Int32(kernel),
      tapStart: tapStart, tapKernel: tapKernel, tapInput: tapInput,
      pairStart: pairStart, pairOutput: pairOutput, pairInput: pairInput,
      blockCount: Int32(blocks.count), blockFirst: blockFirst, blockSecond: blockSecond,
      wideCount: Int32(runs.count), wideFirst: wideFirst, wideLength: wideLength, wideStep: wideStep,
      wideDelta: wideDelta))
  }

  deinit {
    table.deallocate()
    storage.deallocate()
  }
}

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
/// Two ways in: `forward`/`backward` take NCHW batches (a layer called on its own), and
/// `forwardLanes`/`backwardLanes` take one chunk already in the lane layout (a `LaneSegment`,
/// which keeps a run of layers in that layout). Both run the same kernels on the same lanes.
final class LaneConvolution {
  let inputChannels: Int
  let outputChannels: Int
  let kernelSize: Int
  let inputSize: (height: Int, width: Int)
  let outputSize: (height: Int, width: Int)
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

  // The NCHW entry's lane buffers.
  private var batch = 0
  private let laneInput = LaneBuffer()  // cached for the weight gradient
  private let laneOutput = LaneBuffer()  // the output, then the output gradient
  private let laneInputGradient = LaneBuffer()

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
  convenience init(
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
  func matches(height: Int, width: Int) -> Bool { inputSize == (height, width) }

  /// Scalars per input image (`B·H·W`) and per output image (`A·H'·W'`).
  var inputImageSize: Int { inputChannels * inputSize.height * inputSize.width }
  var outputImageSize: Int { outputChannels * outputSize.height * outputSize.width }
  private static let lanes = Int(LL_LANES)
  /// The largest kernel the direct kernels take; larger ones use im2col + GEMM.
  static let maximumKernelSize = Int(LL_MAX_KERNEL)

  /// Lane groups for a batch of `n` images.
  static func laneGroups(_ n: Int) -> Int { (n + lanes - 1) / lanes }

  /// Chunk `c` of a batch of `n`: images `32c ..< min(32c + 32, n)`, which are lane groups
  /// `firstGroup ..< firstGroup + groups` (the last possibly partial).
  static func chunk(_ c: Int, batch n: Int) -> (images: Range<Int>, firstGroup: Int, groups: Int) {
    let per = BatchChunking.itemsPerChunk
    let images = (c * per)..<min(c * per + per, n)
    return (images, images.lowerBound / lanes, laneGroups(images.count))
  }

  // MARK: One chunk in the lane layout

  /// Packs the weight (and copies the bias) for `forwardLanes`; call before the parallel region.
  func packForward(weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?) {
    latentlab_pack_conv_weight(
      weight, forwardStrides.a, forwardStrides.b, Int32(outputChannels), Int32(inputChannels), Int32(kernelSize),
      packedForward)
    hasBias = bias != nil
    if let bias { biasCopy.update(from: bias, count: outputChannels) }
  }

  /// Packs the weight for the input gradient of `backwardLanes`, and sizes the per-chunk
  /// partial gradients for `chunks` chunks; call before the parallel region.
  func prepareBackward(weight: UnsafePointer<Float>, chunks: Int) {
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

  /// `y = W ∗ x + bias` for `groups` lane groups: `x [groups][B][H][W][8]` → `y [groups][A][H'][W'][8]`.
  /// Every lane is computed, the padding lanes of a partial group too.
  func forwardLanes(_ x: UnsafePointer<Float>, groups: Int, into y: UnsafeMutablePointer<Float>) {
    latentlab_lane_conv(
      x, Int32(groups), Int32(inputChannels), packedForward, hasBias ? UnsafePointer(biasCopy) : nil, y,
      Int32(outputChannels), forwardRows.table, forwardColumns.table)
  }

  /// The backward pass of chunk `chunk` (lane groups `groups`): its partial weight and bias
  /// gradients when `parameterGradients` (the bias's only when `bias`), and the input gradient
  /// into `dx` when given. `x` is the chunk's forward input, `dy` its output gradient.
  func backwardLanes(
    _ dy: UnsafePointer<Float>, input x: UnsafePointer<Float>, groups: Int, chunk: Int, parameterGradients: Bool,
    bias: Bool, inputGradient dx: UnsafeMutablePointer<Float>?
  ) {
    let (a, b, g) = (Int32(outputChannels), Int32(inputChannels), Int32(groups))
    if parameterGradients {
      latentlab_lane_conv_weight_gradient(
        dy, x, g, a, b, weightPartials + chunk * weightCount, forwardStrides.a, forwardStrides.b,
        forwardRows.table, forwardColumns.table)
      if bias {
        latentlab_lane_bias_gradient(
          dy, g, a, Int32(outputSize.height * outputSize.width), biasPartials + chunk * outputChannels)
      }
    }
    if let dx {
      latentlab_lane_conv(dy, g, a, packedBackward, nil, dx, b, backwardRows.table, backwardColumns.table)
    }
  }

  /// Adds the partial gradients of chunks `0..<chunks`, in chunk order, to `weight`'s and
  /// `bias`'s gradients (frozen parameters are left alone).
  func reducePartials<Scalar>(chunks: Int, into weight: ParameterOf<Scalar>, bias: ParameterOf<Scalar>?) {
    precondition(Scalar.self == Float.self && chunks <= partialChunks, "partials of the lane kernels are Float")
    reduceChunkPartials(UnsafeRawPointer(weightPartials).assumingMemoryBound(to: Scalar.self), chunks: chunks, into: weight)
    if let bias {
      reduceChunkPartials(UnsafeRawPointer(biasPartials).assumingMemoryBound(to: Scalar.self), chunks: chunks, into: bias)
    }
  }

  // MARK: NCHW batches

  /// `y = forward(x)` for NCHW `x [n, B, H, W]` into NCHW `y [n, A, H', W']`.
  func forward(
    _ x: UnsafePointer<Float>, batch n: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    into y: UnsafeMutablePointer<Float>, parallel: DeterministicParallel
  ) {
    batch = n
    let groups = Self.laneGroups(n)
    let (inSize, outSize) = (inputImageSize, outputImageSize)
    laneInput.reserve(groups * inSize * Self.lanes)
    laneOutput.reserve(groups * outSize * Self.lanes)
    packForward(weight: weight, bias: bias)
    let chunks = BatchChunking.chunkCount(n)
    let (li, lo) = (laneInput.pointer, laneOutput.pointer)
    parallel.forEachChunk(count: chunks, chunks: chunks) { c, _ in
      let (images, firstGroup, chunkGroups) = Self.chunk(c, batch: n)
      let xl = li + firstGroup * inSize * Self.lanes
      let yl = lo + firstGroup * outSize * Self.lanes
      latentlab_to_lanes(x + images.lowerBound * inSize, Int32(images.count), inSize, xl)
      forwardLanes(xl, groups: chunkGroups, into: yl)
      latentlab_from_lanes(yl, Int32(images.count), outSize, y + images.lowerBound * outSize)
    }
  }

  /// The backward pass of the last `forward`: the per-chunk weight and bias gradients when
  /// `parameterGradients` (then `reducePartials`), and the input gradient into `dx` when given.
  func backward(
    _ dy: UnsafePointer<Float>, weight: UnsafePointer<Float>, parameterGradients: Bool, bias: Bool,
    inputGradient dx: UnsafeMutablePointer<Float>?, parallel: DeterministicParallel
  ) {
    let n = batch
    let groups = Self.laneGroups(n)
    let (inSize, outSize) = (inputImageSize, outputImageSize)
    let chunks = BatchChunking.chunkCount(n)
    prepareBackward(weight: weight, chunks: chunks)
    if dx != nil { laneInputGradient.reserve(groups * inSize * Self.lanes) }
    let (li, ldy, ldx) = (laneInput.pointer, laneOutput.pointer, laneInputGradient.pointer)
    parallel.forEachChunk(count: chunks, chunks: chunks) { c, _ in
      let (images, firstGroup, chunkGroups) = Self.chunk(c, batch: n)
      let xl = li + firstGroup * inSize * Self.lanes
      let dyl = ldy + firstGroup * outSize * Self.lanes
      latentlab_to_lanes(dy + images.lowerBound * outSize, Int32(images.count), outSize, dyl)
      let dxl = dx == nil ? nil : ldx + firstGroup * inSize * Self.lanes
      backwardLanes(
        dyl, input: xl, groups: chunkGroups, chunk: c, parameterGradients: parameterGradients, bias: bias,
        inputGradient: dxl)
      if let dx, let dxl {
        latentlab_from_lanes(dxl, Int32(images.count), inSize, dx + images.lowerBound * inSize)
      }
    }
  }
}

extension LaneConvolution {
  /// `forward` on a layer's own tensors: `output` (already shaped) receives the result.
  /// - Precondition: `Scalar` is `Float` (the kernels' type).
  func forward<Scalar: BLASScalar>(
    _ x: TensorOf<Scalar>, weight: ParameterOf<Scalar>, bias: ParameterOf<Scalar>?, into output: inout TensorOf<Scalar>,
    parallel: DeterministicParallel
  ) {
    precondition(Scalar.self == Float.self, "the lane kernels run in Float")
    x.withUnsafeBufferPointer { xb in
      weight.value.withUnsafeBufferPointer { wb in
        output.withUnsafeMutableBufferPointer { yb in
          withOptionalPointer(bias?.value) { biasPointer in
            forward(
              asFloat(xb.baseAddress!), batch: x.shape[0], weight: asFloat(wb.baseAddress!),
              bias: biasPointer.map(asFloat), into: asMutableFloat(yb.baseAddress!), parallel: parallel)
          }
        }
      }
    }
  }

  /// `backward` on a layer's own tensors: adds the weight and bias gradients (per-chunk
  /// partials added in chunk order) unless both are frozen, and writes `inputGradient`
  /// (already shaped) when `wantInput`. - Precondition: `Scalar` is `Float`.
  func backward<Scalar: BLASScalar>(
    _ dy: TensorOf<Scalar>, weight: ParameterOf<Scalar>, bias: ParameterOf<Scalar>?, wantInput: Bool,
    inputGradient: inout TensorOf<Scalar>, parallel: DeterministicParallel
  ) {
    precondition(Scalar.self == Float.self, "the lane kernels run in Float")
    let needsParameterGradients = !weight.isFrozen || !(bias?.isFrozen ?? true)
    dy.withUnsafeBufferPointer { dyb in
      weight.value.withUnsafeBufferPointer { wb in
        inputGradient.withUnsafeMutableBufferPointer { dxb in
          backward(
            asFloat(dyb.baseAddress!), weight: asFloat(wb.baseAddress!), parameterGradients: needsParameterGradients,
            bias: bias != nil, inputGradient: wantInput ? asMutableFloat(dxb.baseAddress!) : nil, parallel: parallel)
        }
      }
    }
    if needsParameterGradients {
      reducePartials(chunks: BatchChunking.chunkCount(batch), into: weight, bias: bias)
    }
  }
}
