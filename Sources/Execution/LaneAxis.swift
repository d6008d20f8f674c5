import CKernels

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
    // Runs of up to LL_MAX_RUN positions at a constant step whose taps read the same kernel
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
        while length < Int(LL_MAX_RUN), o + length * step < output, !inRun[o + length * step],
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
