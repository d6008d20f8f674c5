import CKernels
import TensorCore

/// What one layer does when a `LaneSegment` runs it on lane tensors (eight images innermost,
/// the layout of `CKernels`' convolution kernels).
enum LaneStage {
  /// A `Conv2d` or `ConvTranspose2d`: its plan, its parameters (as `Float`), and whether its
  /// backward pass computes the input gradient.
  case convolution(LaneConvolution, weight: ParameterOf<Float>, bias: ParameterOf<Float>?, computesInputGradient: Bool)
  /// `ReLU`, run in place.
  case relu
  /// `Sigmoid`, run in place.
  case sigmoid

  var isConvolution: Bool {
    if case .convolution = self { return true }
    return false
  }
}

/// A layer that can run inside a `LaneSegment`.
protocol LaneLayer: AnyObject {
  /// Whether the layer runs on lanes in its current configuration (`Float`, the direct
  /// algorithm, a kernel the lane kernels take), and whether it is a convolution that skips
  /// its input gradient (which can only start a segment); nil when it cannot.
  var laneRole: (convolution: Bool, skipsInputGradient: Bool)? { get }

  /// The stage for an input of `shape`; throws the layer's own shape errors.
  func laneStage(for shape: [Int]) throws -> LaneStage
}

/// `Conv2d` and `ConvTranspose2d`: layers whose `Float` work a `LaneConvolution` plan does.
protocol LaneConvolutionLayer: LaneLayer, Layer {
  /// Whether the forward pass is the transposed map (weight `[Cin, Cout, k, k]`).
  static var isTransposed: Bool { get }
  var inputChannels: Int { get }
  var outputChannels: Int { get }
  var kernelSize: Int { get }
  var stride: Int { get }
  var padding: Int { get }
  var algorithm: ConvolutionAlgorithm { get }
  var computesInputGradient: Bool { get }
  var weight: ParameterOf<Scalar> { get }
  var bias: ParameterOf<Scalar>? { get }
  /// The plan for the last input size.
  var lanes: LaneConvolution? { get set }
}

extension LaneConvolutionLayer {
  /// Whether the layer runs on the direct lane kernels now: `Float`, a CPU with AVX2 and FMA
  /// (an explicit `.directLanes` elsewhere falls back to im2col rather than trap), the direct
  /// algorithm, and a kernel they take.
  var runsOnLaneKernels: Bool {
    Scalar.self == Float.self && avx2KernelsAvailable && algorithm == .directLanes
      && kernelSize <= LaneConvolution.maximumKernelSize
  }

  /// The layer's plan for an input of `height × width` (built once per size).
  func lanePlan(height: Int, width: Int, outHeight: Int, outWidth: Int) -> LaneConvolution {
    if let lanes, lanes.matches(height: height, width: width) { return lanes }
    let plan = LaneConvolution(
      inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: kernelSize, stride: stride,
      padding: padding, inputSize: (height, width), outputSize: (outHeight, outWidth), transposed: Self.isTransposed)
    lanes = plan
    return plan
  }

  var laneRole: (convolution: Bool, skipsInputGradient: Bool)? {
    runsOnLaneKernels ? (true, !computesInputGradient) : nil
  }

  func laneStage(for shape: [Int]) throws -> LaneStage {
    let out = try outputShape(for: shape)
    return .convolution(
      lanePlan(height: shape[2], width: shape[3], outHeight: out[2], outWidth: out[3]),
      weight: weight as! ParameterOf<Float>, bias: bias.map { $0 as! ParameterOf<Float> },
      computesInputGradient: computesInputGradient)
  }
}

/// A run of layers of a `Sequential` (convolutions and elementwise activations) computed in
/// the lane layout from its first input to its last output.
///
/// Layer by layer, each convolution converts its input to lanes and its output back to NCHW,
/// in both passes. A segment converts once at each end and runs every layer on a chunk of 32
/// images before the next chunk (one parallel region per pass, the chunk's activations still
/// in cache). The arithmetic is the layers' own, lane for lane, and the padding lanes of a
/// partial last group are reset to zero after every layer, as a fresh conversion leaves them:
/// the results are bit-identical to running the layers one by one.
final class LaneSegment {
  /// The positions of the segment's layers in their `Sequential`.
  let range: Range<Int>
  private let layers: [any LaneLayer]
  private var stages: [LaneStage] = []
  private var needsParameterGradients: [Bool] = []
  /// Scalars per image at each boundary: `sizes[0]` the input, `sizes[i + 1]` layer i's output.
  private var sizes: [Int] = []
  /// Which activation buffer holds each boundary (an activation writes over its input).
  private var bufferOfBoundary: [Int] = []
  private var activations: [LaneBuffer] = []
  /// The largest boundary (scalars per image) each activation buffer holds.
  private var bufferSizes: [Int] = []
  private let gradientA = LaneBuffer()
  private let gradientB = LaneBuffer()
  private var inputShape: [Int] = []
  private var output = TensorOf<Float>.zeros([0])
  private var inputGradient = TensorOf<Float>.zeros([0])
  private var inputGradientIsZero = false
  private var hasForward = false
  private static let lanes = Int(LL_LANES)

  init(range: Range<Int>, layers: [any LaneLayer]) {
    self.range = range
    self.layers = layers
  }

  /// The segment's output (NCHW) for NCHW `x`; throws the first layer's shape error that fits.
  func forward(_ x: TensorOf<Float>, parallel: DeterministicParallel) throws -> TensorOf<Float> {
    let outShape = try beginForward(inputShape: x.shape)
    output.ensureShape(outShape)
    let chunks = BatchChunking.chunkCount(x.shape[0])
    x.withUnsafeBufferPointer { xb in
      output.withUnsafeMutableBufferPointer { yb in
        let (xs, ys) = (xb.baseAddress!, yb.baseAddress!)
        let (inSize, outSize) = (sizes[0], sizes[sizes.count - 1])
        parallel.forEachChunk(count: chunks, chunks: chunks) { c, _ in
          let images = LaneConvolution.chunk(c, batch: x.shape[0]).images
          forwardChunk(c, input: xs + images.lowerBound * inSize, output: ys + images.lowerBound * outSize)
        }
      }
    }
    return output
  }

  /// Prepares a forward pass over a batch of `inputShape` (NCHW): stages, buffers, packed
  /// weights. Returns the output shape. Chunks then run with `forwardChunk`, in any order and
  /// concurrently.
  ///
  /// With `slots`, the segment keeps the activations of only `slots` chunks, chunk `c` in slot
  /// `c % slots` (the worker `DeterministicParallel` runs it on): for a caller that runs each
  /// chunk's backward pass right after its forward pass, so that every chunk reuses the same
  /// cache-warm memory. Without, it keeps the whole batch's.
  func beginForward(inputShape shape: [Int], slots: Int? = nil) throws -> [Int] {
    try prepare(inputShape: shape)
    self.slots = slots
    let groups = storedGroups
    for (b, buffer) in activations.enumerated() { buffer.reserve(groups * bufferSizes[b] * Self.lanes) }
    for stage in stages {
      if case .convolution(let plan, let weight, let bias, _) = stage {
        weight.value.withUnsafeBufferPointer { wb in
          withOptionalPointer(bias?.value) { plan.packForward(weight: wb.baseAddress!, bias: $0) }
        }
      }
    }
    hasForward = true
    return [shape[0]] + layersOutputShape
  }

  /// Chunk `c` (32 images, `BatchChunking`) of the forward pass: reads the chunk's images
  /// (NCHW) at `xs`, keeps the activations the backward pass needs, and writes the chunk's
  /// outputs (NCHW) at `ys`.
  func forwardChunk(_ c: Int, input xs: UnsafePointer<Float>, output ys: UnsafeMutablePointer<Float>) {
    let n = inputShape[0]
    let (inSize, outSize) = (sizes[0], sizes[sizes.count - 1])
    let (images, chunkFirstGroup, chunkGroups) = LaneConvolution.chunk(c, batch: n)
    let firstGroup = storageGroup(chunk: c, firstGroup: chunkFirstGroup)
    latentlab_to_lanes(xs, Int32(images.count), inSize, laneChunk(boundary: 0, firstGroup: firstGroup))
    for (i, stage) in stages.enumerated() {
      let src = laneChunk(boundary: i, firstGroup: firstGroup)
      let dst = laneChunk(boundary: i + 1, firstGroup: firstGroup)
      let count = chunkGroups * sizes[i + 1] * Self.lanes
      switch stage {
      case .convolution(let plan, _, _, _): plan.forwardLanes(src, groups: chunkGroups, into: dst)
      case .relu: latentlab_relu_forward(src, dst, count)
      case .sigmoid: latentlab_sigmoid_forward(src, dst, count)
      }
      zeroPaddingLanes(dst, groups: chunkGroups, images: images.count, size: sizes[i + 1])
    }
    latentlab_from_lanes(laneChunk(boundary: stages.count, firstGroup: firstGroup), Int32(images.count), outSize, ys)
  }

  /// The input gradient (NCHW) for the output gradient `dy` of the last `forward`; adds the
  /// convolutions' parameter gradients (per-chunk partials, added in chunk order).
  func backward(_ dy: TensorOf<Float>, parallel: DeterministicParallel) throws -> TensorOf<Float> {
    // After a chain's forward pass (`slots`), only that chain's chunks may run backward.
    guard hasForward, slots == nil, dy.shape == [inputShape[0]] + layersOutputShape else {
      throw LayerError.backwardBeforeForward(layer: "Sequential layers \(range.lowerBound)...\(range.upperBound - 1)")
    }
    try beginBackward()
    // A first convolution that skips its input gradient hands back zeros, as the layer does.
    let returnsInputGradient = firstComputesInputGradient
    if inputGradient.shape != inputShape {
      inputGradient = TensorOf.zeros(inputShape)
      inputGradientIsZero = true
    }
    if !returnsInputGradient && !inputGradientIsZero {
      inputGradient.fill(0)
      inputGradientIsZero = true
    }
    let chunks = BatchChunking.chunkCount(inputShape[0])
    dy.withUnsafeBufferPointer { dyb in
      inputGradient.withUnsafeMutableBufferPointer { dxb in
        let (dys, dxs) = (dyb.baseAddress!, dxb.baseAddress!)
        let (inSize, outSize) = (sizes[0], sizes[sizes.count - 1])
        parallel.forEachChunk(count: chunks, chunks: chunks) { c, _ in
          let images = LaneConvolution.chunk(c, batch: inputShape[0]).images
          backwardChunk(
            c, outputGradient: dys + images.lowerBound * outSize,
            inputGradient: returnsInputGradient ? dxs + images.lowerBound * inSize : nil)
        }
      }
    }
    endBackward()
    if returnsInputGradient { inputGradientIsZero = false }
    return inputGradient
  }

  /// Whether the first layer computes an input gradient (a first convolution may skip it).
  var firstComputesInputGradient: Bool {
    if case .convolution(_, _, _, false)? = stages.first { return false }
    return true
  }

  /// Prepares the backward pass of the last forward: gradient buffers and the weights in the
  /// backward kernels' layout. Chunks then run with `backwardChunk`; `endBackward` adds the
  /// parameter gradients.
  /// - Throws: `LayerError.backwardBeforeForward` when no forward pass is pending.
  func beginBackward() throws {
    guard hasForward else {
      throw LayerError.backwardBeforeForward(layer: "Sequential layers \(range.lowerBound)...\(range.upperBound - 1)")
    }
    let groups = storedGroups
    let largest = sizes.max() ?? 0
    gradientA.reserve(groups * largest * Self.lanes)
    gradientB.reserve(groups * largest * Self.lanes)
    let chunks = BatchChunking.chunkCount(inputShape[0])
    for (i, stage) in stages.enumerated() {
      needsParameterGradients[i] = false
      if case .convolution(let plan, let weight, let bias, _) = stage {
        needsParameterGradients[i] = !weight.isFrozen || !(bias?.isFrozen ?? true)
        weight.value.withUnsafeBufferPointer { plan.prepareBackward(weight: $0.baseAddress!, chunks: chunks) }
      }
    }
  }

  /// Chunk `c` of the backward pass: reads the chunk's output gradient (NCHW) at `dys`,
  /// writes the convolutions' per-chunk parameter-gradient partials and, when `dxs` is given,
  /// the chunk's input gradient (NCHW) there (a first convolution that skips its input
  /// gradient must not be given one).
  func backwardChunk(_ c: Int, outputGradient dys: UnsafePointer<Float>, inputGradient dxs: UnsafeMutablePointer<Float>?) {
    let n = inputShape[0]
    let largest = sizes.max() ?? 0
    let (inSize, outSize) = (sizes[0], sizes[sizes.count - 1])
    let (images, chunkFirstGroup, chunkGroups) = LaneConvolution.chunk(c, batch: n)
    let firstGroup = storageGroup(chunk: c, firstGroup: chunkFirstGroup)
    let offset = firstGroup * largest * Self.lanes
    var (current, spare) = (gradientA.pointer + offset, gradientB.pointer + offset)
    latentlab_to_lanes(dys, Int32(images.count), outSize, current)
    for (i, stage) in stages.enumerated().reversed() {
      let wantsInputGradient = i > 0 || dxs != nil
      let count = chunkGroups * sizes[i + 1] * Self.lanes
      switch stage {
      case .convolution(let plan, _, let bias, _):
        plan.backwardLanes(
          current, input: laneChunk(boundary: i, firstGroup: firstGroup), groups: chunkGroups, chunk: c,
          parameterGradients: needsParameterGradients[i], bias: bias != nil,
          inputGradient: wantsInputGradient ? spare : nil)
        swap(&current, &spare)
      case .relu:
        latentlab_relu_backward(laneChunk(boundary: i + 1, firstGroup: firstGroup), current, current, count)
      case .sigmoid:
        let y = laneChunk(boundary: i + 1, firstGroup: firstGroup)
        for q in 0..<count { current[q] = current[q] * y[q] * (1 - y[q]) }
      }
      if wantsInputGradient { zeroPaddingLanes(current, groups: chunkGroups, images: images.count, size: sizes[i]) }
    }
    if let dxs { latentlab_from_lanes(current, Int32(images.count), inSize, dxs) }
  }

  /// Adds the per-chunk parameter-gradient partials of every chunk, in chunk order, and ends
  /// the pass (the next backward needs a new forward).
  func endBackward() {
    let chunks = BatchChunking.chunkCount(inputShape[0])
    for (i, stage) in stages.enumerated() where needsParameterGradients[i] {
      if case .convolution(let plan, let weight, let bias, _) = stage {
        plan.reducePartials(chunks: chunks, into: weight, bias: bias)
      }
    }
    hasForward = false
  }

  // MARK: Plumbing

  /// The number of chunk slots `beginForward` was given (nil: the whole batch is kept).
  private var slots: Int?

  /// Lane groups the activation and gradient buffers hold.
  private var storedGroups: Int {
    if let slots { return slots * LaneConvolution.laneGroups(BatchChunking.itemsPerChunk) }
    return LaneConvolution.laneGroups(inputShape[0])
  }

  /// Where chunk `c`'s lane groups are kept: its slot's, or its own place in the batch.
  @inline(__always)
  private func storageGroup(chunk c: Int, firstGroup: Int) -> Int {
    guard let slots else { return firstGroup }
    return (c % slots) * LaneConvolution.laneGroups(BatchChunking.itemsPerChunk)
  }

  private var layersOutputShape: [Int] = []

  /// Builds the stages and buffer plan for an input shape (each forward: a layer's
  /// configuration may have changed; the plans themselves are cached by the layers).
  private func prepare(inputShape shape: [Int]) throws {
    stages.removeAll(keepingCapacity: true)
    sizes.removeAll(keepingCapacity: true)
    bufferOfBoundary.removeAll(keepingCapacity: true)
    var current = shape
    sizes.append(shape.dropFirst().reduce(1, *))
    bufferOfBoundary.append(0)
    var bufferCount = 1
    for layer in layers {
      let stage = try layer.laneStage(for: current)
      switch stage {
      case .convolution(let plan, _, _, _):
        current = [current[0], plan.outputChannels, plan.outputSize.height, plan.outputSize.width]
        bufferOfBoundary.append(bufferCount)
        bufferCount += 1
      case .relu, .sigmoid:
        bufferOfBoundary.append(bufferOfBoundary[bufferOfBoundary.count - 1])
      }
      stages.append(stage)
      sizes.append(current.dropFirst().reduce(1, *))
    }
    while activations.count < bufferCount { activations.append(LaneBuffer()) }
    bufferSizes.removeAll(keepingCapacity: true)
    bufferSizes.append(contentsOf: repeatElement(0, count: activations.count))
    for (boundary, buffer) in bufferOfBoundary.enumerated() { bufferSizes[buffer] = max(bufferSizes[buffer], sizes[boundary]) }
    if needsParameterGradients.count != stages.count {
      needsParameterGradients = [Bool](repeating: false, count: stages.count)
    }
    layersOutputShape = Array(current.dropFirst())
    inputShape = shape
    hasForward = false
  }

  /// Where boundary `boundary`'s lanes of the chunk starting at lane group `firstGroup` live.
  @inline(__always)
  private func laneChunk(boundary: Int, firstGroup: Int) -> UnsafeMutablePointer<Float> {
    activations[bufferOfBoundary[boundary]].pointer + firstGroup * sizes[boundary] * Self.lanes
  }

  /// Zeroes the lanes past the last image of a chunk's last lane group (when it is partial).
  @inline(__always)
  private func zeroPaddingLanes(_ lanes: UnsafeMutablePointer<Float>, groups: Int, images: Int, size: Int) {
    let valid = images % Self.lanes
    guard valid != 0 else { return }
    latentlab_zero_padding_lanes(lanes + (groups - 1) * size * Self.lanes, size, Int32(valid))
  }
}

/// A growable scalar buffer whose address stays put between `reserve`s (the chunks of a
/// parallel region write into it through that address), aligned to 64 bytes.
///
/// The alignment matters: every lane vector sits a multiple of 32 bytes from the start, so
/// with an aligned start no 32-byte load straddles two cache lines. With Swift's default
/// 16-byte alignment half of them do, and the weight-gradient kernel ran 20–25% slower.
final class LaneBuffer {
  private(set) var pointer: UnsafeMutablePointer<Float>
  private var capacity = 0
  private static let alignment = 64

  init() { pointer = Self.allocate(1) }
  deinit { UnsafeMutableRawPointer(pointer).deallocate() }

  /// Makes room for `count` scalars (contents are not kept).
  func reserve(_ count: Int) {
    guard count > capacity else { return }
    UnsafeMutableRawPointer(pointer).deallocate()
    pointer = Self.allocate(count)
    capacity = count
  }

  private static func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
    UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Float>.stride, alignment: alignment)
      .bindMemory(to: Float.self, capacity: count)
  }
}
