import CKernels
import TensorCore

/// A chain of layers that runs a batch one chunk of 32 images at a time through every layer,
/// forward, through the loss and backward, before the next chunk.
///
/// Called layer by layer, a training step sweeps the whole batch through each layer in turn:
/// the backward pass then reads activations that the rest of the batch pushed out of the
/// cache. Here a chunk's activations are still in cache when its backward pass needs them:
/// each worker keeps one chunk's activations and gradients (its slot) and reuses them for its
/// next chunk, and there is one parallel region per step. The arithmetic is the layers' own:
/// convolutions and their activations run as `LaneSegment`s (per-chunk parameter-gradient
/// partials, added in chunk order), linear layers' outputs and input gradients as one GEMM per
/// chunk, and their weight gradients over the whole batch after the chunks, as the layer does
/// on its own (its inputs and output gradients are the only rows kept for the whole batch). So
/// the result is the same for any thread count, and bit-identical to calling the layers one by
/// one when the linear layers take the same 32-row chunks (`Linear.fixedRowsPerChunk`).
///
/// The chain takes `Sequential`s, `Linear`, `ReLU`, `Flatten` and `Unflatten` (convolutions
/// inside a `Sequential`, in runs a lane segment takes); `make` returns nil for anything else,
/// or on a CPU without AVX2, and the caller keeps calling its layers one by one.
public final class ChunkedChain {
  /// One step of the chain.
  private enum Step {
    case segment(LaneSegment)
    case linear(Linear)
    /// `ReLU` on rows, in place.
    case relu
    /// `Flatten`/`Unflatten`: the same scalars under another shape.
    case reshape(any Layer<Float>)

    /// The same kind of step on the same objects.
    func isSame(as other: Step) -> Bool {
      switch (self, other) {
      case (.segment(let a), .segment(let b)): return a === b
      case (.linear(let a), .linear(let b)): return a === b
      case (.relu, .relu): return true
      case (.reshape(let a), .reshape(let b)): return a === b
      default: return false
      }
    }
  }

  private let steps: [Step]
  /// Which buffer holds each boundary (`0` is the chain's input, never written; a ReLU and a
  /// reshape write into their input's buffer).
  private let bufferOfBoundary: [Int]
  private let activations: [LaneBuffer]
  private let gradients: [LaneBuffer]
  /// Each boundary's shape for the current batch (`[N, …]`).
  private var shapes: [[Int]] = []
  /// Whether a buffer keeps the whole batch's rows rather than one chunk per slot: the inputs
  /// of linear layers (activations) and their outputs (gradients), which their weight
  /// gradients read over the whole batch after the chunks are done.
  private let activationKeepsBatch: [Bool]
  private let gradientKeepsBatch: [Bool]
  /// Each chunk's share of the loss (written by the chunks of a parallel region).
  private let lossPartials = PartialsBuffer<Double>()

  private init(steps: [Step]) {
    self.steps = steps
    var buffers = [0]
    var next = 1
    for step in steps {
      switch step {
      case .segment, .linear:
        buffers.append(next)
        next += 1
      case .relu where buffers[buffers.count - 1] == 0:
        // The chain's input is the caller's: a ReLU on it writes elsewhere.
        buffers.append(next)
        next += 1
      case .relu, .reshape:
        buffers.append(buffers[buffers.count - 1])
      }
    }
    bufferOfBoundary = buffers
    var activationKeepsBatch = [Bool](repeating: false, count: next)
    var gradientKeepsBatch = [Bool](repeating: false, count: next)
    for (i, step) in steps.enumerated() {
      if case .linear = step {
        activationKeepsBatch[buffers[i]] = true
        gradientKeepsBatch[buffers[i + 1]] = true
      }
    }
    self.activationKeepsBatch = activationKeepsBatch
    self.gradientKeepsBatch = gradientKeepsBatch
    activations = (0..<next).map { _ in LaneBuffer() }
    gradients = (0..<next).map { _ in LaneBuffer() }
  }

  /// The chain of `parts` in order, or nil when a part is not one the chain runs, a
  /// convolution falls outside a lane segment, or the CPU lacks AVX2 and FMA.
  public static func make(_ parts: [any Layer<Float>]) -> ChunkedChain? {
    guard avx2KernelsAvailable else { return nil }
    var steps: [Step] = []
    guard walk(parts, { steps.append($0); return true }), !steps.isEmpty else { return nil }
    return ChunkedChain(steps: steps)
  }

  /// Whether `make(parts)` would build this chain now (the same segments and layers): a
  /// layer's configuration may have changed what runs on lanes since.
  public func matches(_ parts: [any Layer<Float>]) -> Bool {
    var i = 0
    let complete = Self.walk(parts) { step in
      defer { i += 1 }
      return i < steps.count && steps[i].isSame(as: step)
    }
    return complete && i == steps.count
  }

  /// Calls `visit` with the steps of `parts` in order; false as soon as `visit` returns false
  /// or a part cannot run in a chain.
  private static func walk(_ parts: [any Layer<Float>], _ visit: (Step) -> Bool) -> Bool {
    func step(for layer: any Layer<Float>) -> Step? {
      switch layer {
      case let linear as Linear: return .linear(linear)
      case is ReLU: return .relu
      case is Flatten, is Unflatten: return .reshape(layer)
      default: return nil
      }
    }
    for part in parts {
      guard let sequential = part as? Sequential else {
        guard let s = step(for: part), visit(s) else { return false }
        continue
      }
      var i = 0
      while i < sequential.layers.count {
        if let segment = sequential.laneSegment(startingAt: i) {
          guard visit(.segment(segment)) else { return false }
          i = segment.range.upperBound
        } else {
          guard let s = step(for: sequential.layers[i]), visit(s) else { return false }
          i += 1
        }
      }
    }
    return true
  }

  /// One training pass over the batch `x`: each chunk runs forward, then `loss`, then backward;
  /// parameter gradients are added to the parameters' (`zeroGradients` first, as usual).
  ///
  /// `loss(rows, output, outputGradient)` gets the chunk's rows of the batch, its outputs and
  /// the place for their gradient (both `rows.count × features`, the chunk's own rows), and
  /// returns the chunk's share of the loss. The returned loss is the sum of the shares in
  /// chunk order. It runs concurrently for different chunks.
  /// - Throws: the first layer's shape error for an `x` the chain cannot take.
  public func trainingPass(
    _ x: TensorOf<Float>, parallel: DeterministicParallel,
    loss: (_ rows: Range<Int>, _ output: UnsafePointer<Float>, _ outputGradient: UnsafeMutablePointer<Float>) -> Double
  ) throws -> Double {
    try beginForward(x.shape, parallel: parallel)
    for step in steps { if case .segment(let segment) = step { try segment.beginBackward() } }
    let total = withoutActuallyEscaping(loss) { run(x, parallel: parallel, output: nil, loss: $0, backward: true) }
    let n = x.shape[0]
    x.withUnsafeBufferPointer { xb in
      let whole = ChunkPlace(rows: 0..<n, input: xb.baseAddress!)
      for (i, step) in steps.enumerated() {
        switch step {
        case .segment(let segment): segment.endBackward()
        case .linear(let linear):
          linear.accumulateParameterGradients(
            outputGradient: gradient(i + 1, whole)!, input: activation(i, whole), batch: n)
        case .relu, .reshape: break
        }
      }
    }
    return total
  }

  /// The chain's output for the batch `x`, each chunk through every layer in turn.
  /// - Throws: the first layer's shape error for an `x` the chain cannot take.
  public func forward(_ x: TensorOf<Float>, parallel: DeterministicParallel) throws -> TensorOf<Float> {
    try beginForward(x.shape, parallel: parallel)
    var output = TensorOf<Float>.zeros(shapes[steps.count])
    output.withUnsafeMutableBufferPointer { yb in
      _ = run(x, parallel: parallel, output: yb.baseAddress!, loss: nil, backward: false)
    }
    return output
  }

  /// The loss over the batch `x` without a backward pass: the sum, in chunk order, of
  /// `loss(rows, output, scratch)` over the chunks (as `trainingPass` calls it; the gradient it
  /// writes is dropped).
  /// - Throws: the first layer's shape error for an `x` the chain cannot take.
  public func loss(
    _ x: TensorOf<Float>, parallel: DeterministicParallel,
    loss: (_ rows: Range<Int>, _ output: UnsafePointer<Float>, _ outputGradient: UnsafeMutablePointer<Float>) -> Double
  ) throws -> Double {
    try beginForward(x.shape, parallel: parallel)
    return withoutActuallyEscaping(loss) { run(x, parallel: parallel, output: nil, loss: $0, backward: false) }
  }

  /// The parallel region of a pass, after `beginForward`: each chunk forward, its output rows
  /// copied to `ys` and its `loss` share taken when given, and its backward pass when
  /// `backward`. Returns the sum of the loss shares in chunk order (0 without `loss`).
  private func run(
    _ x: TensorOf<Float>, parallel: DeterministicParallel, output ys: UnsafeMutablePointer<Float>?,
    loss: ((Range<Int>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Double)?, backward: Bool
  ) -> Double {
    let n = x.shape[0]
    let chunks = BatchChunking.chunkCount(n)
    let last = steps.count
    let outputWidth = width(last)
    x.withUnsafeBufferPointer { xb in
      let xs = xb.baseAddress!
      parallel.forEachChunk(count: chunks, chunks: chunks) { c, _ in
        let place = ChunkPlace(chunk: c, batch: n, slots: slots, input: xs)
        forwardChunk(place)
        let out = activation(last, place)
        if let loss, let outputGradient = gradient(last, place) {
          lossPartials.pointer[c] = loss(place.rows, out, outputGradient)
        }
        if let ys { (ys + place.rows.lowerBound * outputWidth).update(from: out, count: place.rows.count * outputWidth) }
        if backward { backwardChunk(place) }
      }
    }
    return loss == nil ? 0 : (0..<chunks).reduce(0) { $0 + lossPartials.pointer[$1] }
  }

  // MARK: Plumbing

  /// Where a chunk's rows live: the chain's input at their place in the batch, everything else
  /// in the chunk's slot (`c % slots`, the worker that runs it), reused by the next chunk.
  private struct ChunkPlace {
    let chunk: Int
    let rows: Range<Int>
    let slot: Int
    let input: UnsafePointer<Float>

    init(chunk c: Int, batch n: Int, slots: Int, input: UnsafePointer<Float>) {
      chunk = c
      rows = LaneConvolution.chunk(c, batch: n).images
      slot = c % slots
      self.input = input
    }

    /// The whole batch, for the buffers that keep it (where its rows start).
    init(rows: Range<Int>, input: UnsafePointer<Float>) {
      chunk = 0
      self.rows = rows
      slot = 0
      self.input = input
    }
  }

  /// Chunk slots: one per worker of the current pass.
  private var slots = 1

  /// Shapes, buffers and packed weights for a batch of `shape`, with one slot per worker.
  private func beginForward(_ shape: [Int], parallel: DeterministicParallel) throws {
    let n = shape[0]
    let chunks = BatchChunking.chunkCount(n)
    // DeterministicParallel runs chunk c on worker c % workers.
    slots = max(1, min(parallel.threadCount, chunks))
    shapes.removeAll(keepingCapacity: true)
    shapes.append(shape)
    var current = shape
    for step in steps {
      switch step {
      case .segment(let segment): current = try segment.beginForward(inputShape: current, slots: slots)
      case .linear(let linear): current = try linear.outputShape(for: current)
      case .relu: break
      case .reshape(let layer): current = try layer.outputShape(for: current)
      }
      shapes.append(current)
    }
    widths.removeAll(keepingCapacity: true)
    for shape in shapes { widths.append(shape.dropFirst().reduce(1, *)) }
    for boundary in 1..<shapes.count where bufferOfBoundary[boundary] != 0 {
      let buffer = bufferOfBoundary[boundary]
      let chunkRows = slots * BatchChunking.itemsPerChunk
      activations[buffer].reserve((activationKeepsBatch[buffer] ? n : chunkRows) * width(boundary))
      gradients[buffer].reserve((gradientKeepsBatch[buffer] ? n : chunkRows) * width(boundary))
    }
    lossPartials.reserve(chunks)
  }

  /// Scalars per row at each boundary.
  private var widths: [Int] = []

  /// Scalars per row at a boundary.
  @inline(__always)
  private func width(_ boundary: Int) -> Int { widths[boundary] }

  /// The chunk's activations at a boundary.
  @inline(__always)
  private func activation(_ boundary: Int, _ place: ChunkPlace) -> UnsafeMutablePointer<Float> {
    let buffer = bufferOfBoundary[boundary]
    let w = width(boundary)
    if buffer == 0 { return UnsafeMutablePointer(mutating: place.input) + place.rows.lowerBound * w }
    let row = activationKeepsBatch[buffer] ? place.rows.lowerBound : place.slot * BatchChunking.itemsPerChunk
    return activations[buffer].pointer + row * w
  }

  /// The chunk's gradient at a boundary (nil at the chain's input: nothing upstream needs it).
  @inline(__always)
  private func gradient(_ boundary: Int, _ place: ChunkPlace) -> UnsafeMutablePointer<Float>? {
    let buffer = bufferOfBoundary[boundary]
    guard buffer != 0 else { return nil }
    let row = gradientKeepsBatch[buffer] ? place.rows.lowerBound : place.slot * BatchChunking.itemsPerChunk
    return gradients[buffer].pointer + row * width(boundary)
  }

  private func forwardChunk(_ place: ChunkPlace) {
    let rows = place.rows.count
    for (i, step) in steps.enumerated() {
      let src = activation(i, place)
      let dst = activation(i + 1, place)
      switch step {
      case .segment(let segment): segment.forwardChunk(place.chunk, input: src, output: dst)
      case .linear(let linear): linear.forwardRows(src, rows: rows, into: dst)
      case .relu: latentlab_relu_forward(src, dst, rows * width(i))
      case .reshape: break
      }
    }
  }

  private func backwardChunk(_ place: ChunkPlace) {
    let rows = place.rows.count
    for (i, step) in steps.enumerated().reversed() {
      let dx = gradient(i, place)
      let dy = gradient(i + 1, place)!
      switch step {
      case .segment(let segment):
        if let dx, !segment.firstComputesInputGradient {
          // The first convolution skips its input gradient: zeros, as the layer hands back.
          dx.update(repeating: 0, count: rows * width(i))
          segment.backwardChunk(place.chunk, outputGradient: dy, inputGradient: nil)
        } else {
          segment.backwardChunk(place.chunk, outputGradient: dy, inputGradient: dx)
        }
      case .linear(let linear):
        if let dx { linear.inputGradientRows(dy, rows: rows, into: dx) }
      case .relu:
        guard let dx else { continue }
        latentlab_relu_backward(activation(i + 1, place), dy, dx, rows * width(i))
      case .reshape: break
      }
    }
  }
}
