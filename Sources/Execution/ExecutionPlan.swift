import CKernels
import NN
import TensorCore

/// A model's layers compiled once into the fast way to run them: a batch goes through one
/// chunk of 32 images at a time, forward, through the loss and backward, before the next.
///
/// The layers stay the reference (`forward`/`backward` over a whole batch, im2col + GEMM);
/// the plan runs the same maps with other kernels: runs of convolutions and activations stay in
/// the lane layout of `CKernels`' direct convolutions (eight images side by side) from one
/// conversion to the next, dense layers are one GEMM per chunk. Each worker keeps one chunk's
/// activations and gradients (its slot) and reuses them for its next chunk, so a chunk's
/// backward pass reads what its forward pass left in cache, and there is one parallel region
/// per pass, whose workers claim the next chunk as they finish one (a slow core takes fewer).
///
/// Determinism: chunks are fixed by the batch size (`BatchChunking.itemsPerChunk`), parameter
/// gradients are per-chunk partials added in chunk order (convolutions) or one pass over the
/// whole batch after the chunks (dense layers: their inputs and output gradients are the only
/// rows kept for the whole batch), and losses are per-chunk sums added in chunk order. So every
/// result is the same, bit for bit, with any number of threads; and a pass that stops at a mark
/// and one that starts there compute the same rows as one that goes through it.
///
/// Hooks for what differs between models: the `ChunkLoss` at the end, a `LatentStep` between
/// encoder and decoder, and marks where passes start or stop (a frozen encoder's codes).
public final class ExecutionPlan {
  /// Whether this CPU runs the plan's kernels (AVX2 and FMA).
  public static let isSupported = InstructionSet.usesAVX2Kernels

  private let steps: [PlanStep]
  private let shapes: [[Int]]
  private let layouts: [PlanLayout]
  private let marks: [String: Int]
  /// Where a pass may start or stop: the input, the marks and the output.
  private let passBoundaries: Set<Int>
  /// Scalars per item at each boundary.
  private let widths: [Int]
  /// The boundary whose storage each boundary shares (itself, or its input's for a reshape or
  /// an in-place activation).
  private let roots: [Int]
  /// Whether a root's activations (inputs of dense steps) or gradients (their output
  /// gradients) are kept for the whole batch rather than one chunk per slot.
  private let activationKeepsBatch: [Bool]
  private let gradientKeepsBatch: [Bool]
  private let activations: [AlignedBuffer]
  /// The convolutions whose stores apply the ReLU after them (steps i with a ReLU at i + 1 that
  /// works in place: no pass starts or stops between them), and whose input gradients carry
  /// on through a ReLU before them (at i − 1, in place); those ReLU steps then do nothing.
  /// The kernels' stores apply the same compare and mask as the ReLU kernels: the same bits.
  private let reluFollows: [Bool]
  private let reluPrecedes: [Bool]
  /// Which of `gradients` holds each root's gradients.
  private let gradientBuffers: [Int]
  /// Scalars per row of each gradient buffer's chunk slots.
  private let gradientSlotWidths: [Int]
  private let gradients: [AlignedBuffer]
  private let lossPartials = PartialsBuffer<Double>()
  private let latentPartials = PartialsBuffer<Double>()
  private let correctPartials = PartialsBuffer<Int>()
  /// Which boundaries need a gradient in the current backward pass.
  private var wantsGradient: [Bool] = []
  private var needsParameterGradients: [Bool] = []

  /// Compiles `parts` for inputs of item shape `inputShape` (`[1, 28, 28]` for images).
  /// - Throws: `PlanError.unsupportedCPU` without AVX2 and FMA; `PlanError.unsupportedLayer`
  ///   naming the first layer it cannot run; the layers' shape errors.
  public init(_ parts: [PlanPart], inputShape: [Int]) throws {
    guard Self.isSupported else { throw PlanError.unsupportedCPU }
    let table = try PlanLayoutTable(parts, inputShape: inputShape)
    steps = table.steps
    shapes = table.shapes
    layouts = table.layouts
    marks = table.marks
    widths = shapes.map { $0.reduce(1, *) }
    let entries = Set([0] + marks.values)
    passBoundaries = entries.union([steps.count])
    var roots = [0]
    for (i, step) in steps.enumerated() {
      let input = roots[i]
      if case .reshape = step {
        roots.append(input)
      } else if step.isInPlace && !entries.contains(input) {
        roots.append(input)
      } else {
        roots.append(i + 1)
      }
    }
    for (name, boundary) in marks where roots[boundary] != boundary { throw PlanError.invalidMark(name) }
    self.roots = roots
    let planSteps = table.steps
    func isConvolution(_ i: Int) -> Bool {
      if case .convolution = planSteps[i] { return true }
      return false
    }
    func isInPlaceReLU(_ i: Int) -> Bool {
      guard i >= 0, i < planSteps.count, case .relu = planSteps[i] else { return false }
      return roots[i + 1] == roots[i]
    }
    reluFollows = planSteps.indices.map { isConvolution($0) && isInPlaceReLU($0 + 1) }
    reluPrecedes = planSteps.indices.map { isConvolution($0) && isInPlaceReLU($0 - 1) }
    var activationKeepsBatch = [Bool](repeating: false, count: shapes.count)
    var gradientKeepsBatch = [Bool](repeating: false, count: shapes.count)
    for (i, step) in steps.enumerated() {
      switch step {
      case .linear, .latent:
        activationKeepsBatch[roots[i]] = true
        gradientKeepsBatch[roots[i + 1]] = true
      default: break
      }
    }
    self.activationKeepsBatch = activationKeepsBatch
    self.gradientKeepsBatch = gradientKeepsBatch
    // A chunk's gradients live from the step that writes them to the step before, so two
    // buffers taken in turn hold all of them (an in-place step writes over its own); only
    // the rows a dense step's weight gradient reads after the chunks keep their own.
    var gradientBuffers = [Int](repeating: 0, count: shapes.count)
    var (turn, own, previousRoot) = (0, 2, -1)
    for b in shapes.indices.reversed() where roots[b] != previousRoot {
      previousRoot = roots[b]
      if gradientKeepsBatch[roots[b]] {
        gradientBuffers[roots[b]] = own
        own += 1
      } else {
        gradientBuffers[roots[b]] = turn
        turn = 1 - turn
      }
    }
    self.gradientBuffers = gradientBuffers
    // A shared buffer's slots are as wide as the widest gradient it holds, so that one
    // worker's slot never reaches into another's.
    var slotWidths = [Int](repeating: 0, count: own)
    for b in shapes.indices where roots[b] == b { slotWidths[gradientBuffers[b]] = max(slotWidths[gradientBuffers[b]], widths[b]) }
    gradientSlotWidths = slotWidths
    activations = shapes.indices.map { _ in AlignedBuffer() }
    gradients = (0..<own).map { _ in AlignedBuffer() }
  }

  /// The last boundary: the plan's output.
  public var end: Int { steps.count }

  /// The boundary of a mark, or nil.
  public func boundary(named name: String) -> Int? { marks[name] }

  // MARK: Passes

  /// The values at boundary `to` (the output by default) for `x` given at boundary `from`
  /// (the input by default), each chunk through every step in between.
  /// - Throws: `PlanError` for a wrong input shape or a pass that does not start and end at
  ///   the input, a mark or the output.
  public func forward(_ x: Tensor, from: Int = 0, to: Int? = nil, parallel: DeterministicParallel) throws -> Tensor {
    let pass = try begin(x, from: from, to: to ?? end, parallel: parallel, loss: false, backward: false)
    var output = Tensor.zeros([pass.n] + shapes[pass.end])
    let width = widths[pass.end]
    x.withUnsafeBufferPointer { xb in
      output.withUnsafeMutableBufferPointer { yb in
        let (xs, ys) = (xb.baseAddress!, yb.baseAddress!)
        parallel.forEachChunkOnWorkers(count: pass.chunks, chunks: pass.chunks, schedule: .claimed) { w, c, _ in
          let place = ChunkPlace(chunk: c, worker: w, pass: pass, input: xs)
          _ = forwardChunk(place, pass: pass, training: false)
          (ys + place.rows.lowerBound * width).update(from: activation(pass.end, place, pass), count: place.rows.count * width)
        }
      }
    }
    return output
  }

  /// One training pass over `x` given at boundary `from`: each chunk forward to the output,
  /// through `loss`, and backward to `from`; parameter gradients (of every step after `from`
  /// whose parameters are not frozen) are added to the parameters' gradients. With
  /// `computingInputGradient`, the totals also carry the loss's gradient with respect to `x`
  /// (what saliency maps need, and how a step is checked against its layer's `backward`).
  /// - Throws: as `forward`.
  public func trainingPass(
    _ x: Tensor, from: Int = 0, loss: some ChunkLoss, parallel: DeterministicParallel,
    computingInputGradient: Bool = false
  ) throws -> PassTotals {
    var pass = try begin(x, from: from, to: end, parallel: parallel, loss: true, backward: true)
    var inputGradient = computingInputGradient ? Tensor.zeros(x.shape) : nil
    var totals = withOptionalMutablePointer(&inputGradient) { dx in
      pass.inputGradient = dx
      prepareBackward(pass)
      return run(x, pass: pass, loss: loss, training: true, parallel: parallel)
    }
    totals.inputGradient = inputGradient
    pass.inputGradient = nil  // the tensor's address was valid only inside the closure
    x.withUnsafeBufferPointer { xb in
      let whole = ChunkPlace(wholeBatchOf: pass, input: xb.baseAddress!)
      for i in pass.start..<pass.end where needsParameterGradients[i] {
        switch steps[i] {
        case .convolution(let plan, let weight, let bias):
          plan.reducePartials(chunks: pass.chunks, into: weight, bias: bias)
        case .linear(let linear):
          linear.accumulateParameterGradients(
            outputGradient: gradient(i + 1, whole, pass)!, input: activation(i, whole, pass), batch: pass.n)
        case .latent(let step):
          step.endBackward(input: activation(i, whole, pass), batch: pass.n)
        default: break
        }
      }
    }
    return totals
  }

  /// The loss of `x` given at boundary `from` without a backward pass (a latent step in its
  /// evaluation mode: the VAE decodes the posterior mean).
  /// - Throws: as `forward`.
  public func evaluationPass(
    _ x: Tensor, from: Int = 0, loss: some ChunkLoss, parallel: DeterministicParallel
  ) throws -> PassTotals {
    let pass = try begin(x, from: from, to: end, parallel: parallel, loss: true, backward: false)
    return run(x, pass: pass, loss: loss, training: false, parallel: parallel)
  }

  /// The parallel region of a pass with a loss: each chunk forward, its loss share, and its
  /// backward pass when `training`. Totals are added in chunk order.
  private func run(
    _ x: Tensor, pass: Pass, loss: some ChunkLoss, training: Bool, parallel: DeterministicParallel
  ) -> PassTotals {
    x.withUnsafeBufferPointer { xb in
      let xs = xb.baseAddress!
      parallel.forEachChunkOnWorkers(count: pass.chunks, chunks: pass.chunks, schedule: .claimed) { w, c, _ in
        let place = ChunkPlace(chunk: c, worker: w, pass: pass, input: xs)
        latentPartials.pointer[c] = forwardChunk(place, pass: pass, training: training)
        let share = loss.share(
          rows: place.rows, output: activation(pass.end, place, pass), gradient: gradient(pass.end, place, pass)!)
        lossPartials.pointer[c] = share.sum
        correctPartials.pointer[c] = share.correct
        if training { backwardChunk(place, pass: pass) }
      }
    }
    var totals = PassTotals(lossSum: 0, latentSum: 0, correct: 0, inputGradient: nil)
    for c in 0..<pass.chunks {
      totals.lossSum += lossPartials.pointer[c]
      totals.latentSum += latentPartials.pointer[c]
      totals.correct += correctPartials.pointer[c]
    }
    return totals
  }

  // MARK: Chunks

  /// Chunk `c`'s forward pass through the pass's steps; returns its latent-step share.
  private func forwardChunk(_ place: ChunkPlace, pass: Pass, training: Bool) -> Double {
    let rows = place.rows.count
    let groups = LaneConvolution.laneGroups(rows)
    var latentShare = 0.0
    for i in pass.start..<pass.end {
      let src = activation(i, place, pass)
      let dst = activation(i + 1, place, pass)
      let lanes = layouts[i + 1] == .lanes
      let count = lanes ? groups * widths[i + 1] * Self.lanes : rows * widths[i + 1]
      switch steps[i] {
      case .toLanes: latentlab_to_lanes(src, Int32(rows), widths[i], dst)
      case .fromLanes: latentlab_from_lanes(src, Int32(rows), widths[i], dst)
      case .convolution(let plan, _, _): plan.forwardLanes(src, groups: groups, into: dst, relu: reluFollows[i])
      case .linear(let linear): linear.forwardRows(src, rows: rows, into: dst)
      case .relu: if i == 0 || !reluFollows[i - 1] { latentlab_relu_forward(src, dst, count) }
      case .sigmoid: latentlab_sigmoid_forward(src, dst, count)
      case .reshape: break
      case .latent(let step): latentShare += step.forwardRows(place.rows, input: src, output: dst, training: training)
      }
      // A conversion to lanes leaves the padding lanes zero already.
      if lanes, !steps[i].isConversion { zeroPaddingLanes(dst, groups: groups, images: rows, size: widths[i + 1]) }
    }
    return latentShare
  }

  /// Chunk `c`'s backward pass, from the output gradient the loss wrote back to the pass's start.
  private func backwardChunk(_ place: ChunkPlace, pass: Pass) {
    let rows = place.rows.count
    let groups = LaneConvolution.laneGroups(rows)
    for i in (pass.start..<pass.end).reversed() {
      guard let dy = gradient(i + 1, place, pass) else { continue }
      let dx = wantsGradient[i] ? gradient(i, place, pass) : nil
      let lanes = layouts[i] == .lanes
      let count = lanes ? groups * widths[i] * Self.lanes : rows * widths[i]
      switch steps[i] {
      case .toLanes:
        if let dx { latentlab_from_lanes(dy, Int32(rows), widths[i], dx) }
      case .fromLanes:
        if let dx { latentlab_to_lanes(dy, Int32(rows), widths[i], dx) }
      case .convolution(let plan, _, let bias):
        let x = activation(i, place, pass)
        plan.backwardLanes(
          dy, input: x, groups: groups, chunk: place.chunk, parameterGradients: needsParameterGradients[i],
          bias: bias != nil, inputGradient: dx, throughReLU: reluPrecedes[i] ? UnsafePointer(x) : nil)
      case .linear(let linear):
        if let dx { linear.inputGradientRows(dy, rows: rows, into: dx) }
      case .relu:
        if let dx, i + 1 == steps.count || !reluPrecedes[i + 1] {
          latentlab_relu_backward(activation(i + 1, place, pass), dy, dx, count)
        }
      case .sigmoid:
        if let dx { latentlab_sigmoid_backward(activation(i + 1, place, pass), dy, dx, count) }
      case .reshape: break
      case .latent(let step): step.backwardRows(place.rows, outputGradient: dy, inputGradient: dx)
      }
      if lanes, let dx, !steps[i].isConversion { zeroPaddingLanes(dx, groups: groups, images: rows, size: widths[i]) }
    }
  }

  // MARK: Plumbing

  private static let lanes = Int(LL_LANES)

  /// A pass's extent and batch.
  private struct Pass {
    let start: Int
    let end: Int
    let n: Int
    let chunks: Int
    /// Chunk slots: one per worker of the pass's parallel region.
    let slots: Int
    /// Where the gradient with respect to the pass's input goes, when asked for (`[n, …]`).
    var inputGradient: UnsafeMutablePointer<Float>?
  }

  /// Where a chunk's rows live: the pass's input at their place in the batch, everything else
  /// in the slot of the worker running it, or at their place in a buffer that keeps the batch.
  /// A slot is scratch only (what a chunk leaves behind is per chunk), so the chunks may be
  /// claimed by whichever worker is free: the bits do not depend on who ran what.
  private struct ChunkPlace {
    let chunk: Int
    let rows: Range<Int>
    let slot: Int
    let input: UnsafePointer<Float>

    init(chunk c: Int, worker: Int, pass: Pass, input: UnsafePointer<Float>) {
      chunk = c
      let per = BatchChunking.itemsPerChunk
      rows = (c * per)..<min(c * per + per, pass.n)
      slot = worker
      self.input = input
    }

    /// The whole batch, for the buffers that keep it.
    init(wholeBatchOf pass: Pass, input: UnsafePointer<Float>) {
      chunk = 0
      rows = 0..<pass.n
      slot = 0
      self.input = input
    }
  }

  /// Checks a pass and sizes its buffers for `x`'s batch; packs the convolutions' and dense
  /// layers' weights.
  private func begin(
    _ x: Tensor, from start: Int, to stop: Int, parallel: DeterministicParallel, loss: Bool, backward: Bool
  ) throws -> Pass {
    guard passBoundaries.contains(start), passBoundaries.contains(stop), start <= stop else {
      throw PlanError.invalidPass("a pass runs from the input or a mark to a later mark or the output, not \(start) to \(stop)")
    }
    guard x.rank >= 1, Array(x.shape.dropFirst()) == shapes[start] else {
      let name = marks.first { $0.value == start }.map { "mark \"\($0.key)\"" } ?? "the input"
      throw PlanError.inputMismatch(boundary: name, expected: shapes[start], given: x.shape)
    }
    let n = x.shape[0]
    let chunks = BatchChunking.chunkCount(n)
    let pass = Pass(start: start, end: stop, n: n, chunks: chunks, slots: max(1, min(parallel.threadCount, chunks)))
    let chunkRows = pass.slots * BatchChunking.itemsPerChunk
    for b in (start + 1)..<(stop + 1) where roots[b] != start {
      let r = roots[b]
      activations[r].reserve((activationKeepsBatch[r] ? n : chunkRows) * widths[r])
      if backward || (loss && b == stop) {
        let buffer = gradientBuffers[r]
        gradients[buffer].reserve(gradientKeepsBatch[r] ? n * widths[r] : chunkRows * gradientSlotWidths[buffer])
      }
    }
    lossPartials.reserve(chunks)
    latentPartials.reserve(chunks)
    correctPartials.reserve(chunks)
    for i in start..<stop {
      switch steps[i] {
      case .convolution(let plan, let weight, let bias):
        weight.value.withUnsafeBufferPointer { wb in
          withOptionalPointer(bias?.value) { plan.packForward(weight: wb.baseAddress!, bias: $0) }
        }
      case .linear(let linear): linear.packForward()
      case .latent(let step): step.beginPass(batch: n, training: backward)
      default: break
      }
    }
    return pass
  }

  /// Which steps compute parameter gradients and which boundaries need a gradient: a boundary
  /// does when a step between the pass's start and it has parameters that are not frozen (or
  /// the caller asked for the input's gradient).
  private func prepareBackward(_ pass: Pass) {
    needsParameterGradients = steps.map { step in step.parameters.contains { !$0.isFrozen } }
    wantsGradient = [Bool](repeating: false, count: shapes.count)
    // The input's gradient, when asked for, needs every gradient between it and the output.
    var upstreamTrains = pass.inputGradient != nil
    for b in pass.start...pass.end {
      wantsGradient[b] = roots[b] == pass.start ? pass.inputGradient != nil : upstreamTrains
      if b < pass.end { upstreamTrains = upstreamTrains || needsParameterGradients[b] }
    }
    for i in pass.start..<pass.end {
      if case .convolution(let plan, let weight, _) = steps[i] {
        weight.value.withUnsafeBufferPointer { plan.prepareBackward(weight: $0.baseAddress!, chunks: pass.chunks) }
      }
    }
  }

  /// The chunk's values at a boundary.
  @inline(__always)
  private func activation(_ boundary: Int, _ place: ChunkPlace, _ pass: Pass) -> UnsafeMutablePointer<Float> {
    let r = roots[boundary]
    let w = widths[boundary]
    if r == pass.start { return UnsafeMutablePointer(mutating: place.input) + place.rows.lowerBound * w }
    let row = activationKeepsBatch[r] ? place.rows.lowerBound : place.slot * BatchChunking.itemsPerChunk
    return activations[r].pointer + row * w
  }

  /// The chunk's gradient at a boundary (at the pass's input: nil unless the caller asked for it).
  @inline(__always)
  private func gradient(_ boundary: Int, _ place: ChunkPlace, _ pass: Pass) -> UnsafeMutablePointer<Float>? {
    let r = roots[boundary]
    guard r != pass.start else { return pass.inputGradient.map { $0 + place.rows.lowerBound * widths[boundary] } }
    let buffer = gradientBuffers[r]
    if gradientKeepsBatch[r] { return gradients[buffer].pointer + place.rows.lowerBound * widths[boundary] }
    return gradients[buffer].pointer + place.slot * BatchChunking.itemsPerChunk * gradientSlotWidths[buffer]
  }

  /// Calls `body` with a pointer to the tensor's scalars, or nil when there is no tensor.
  private func withOptionalMutablePointer<R>(_ tensor: inout Tensor?, _ body: (UnsafeMutablePointer<Float>?) throws -> R) rethrows -> R {
    guard tensor != nil else { return try body(nil) }
    return try tensor!.withUnsafeMutableBufferPointer { try body($0.baseAddress) }
  }

  /// Zeroes the lanes past the last image of a chunk's last lane group (when it is partial),
  /// as a fresh conversion leaves them: a bias or a sigmoid would make them non-zero, and the
  /// weight-gradient kernels sum over every lane.
  @inline(__always)
  private func zeroPaddingLanes(_ lanes: UnsafeMutablePointer<Float>, groups: Int, images: Int, size: Int) {
    let valid = images % Self.lanes
    guard valid != 0 else { return }
    latentlab_zero_padding_lanes(lanes + (groups - 1) * size * Self.lanes, size, Int32(valid))
  }
}
