import CKernels
import Foundation
import TensorCore

/// A plan for complex discrete Fourier transforms of one length `N = 2^a · 3^b · 5^c`,
/// applied to batches of `LL_FFT_BATCH` columns of a split-complex single-precision grid.
///
/// `X[k] = Σₜ x[t] · e^(−2πi·k·t/N)` (NumPy's `fft.fft`, unnormalised), by self-sorting
/// (Stockham) stages of radix 4, then 2, 3 and 5. The twiddles `e^(−2πi·j/N)` are computed in
/// Double and rounded once to Float. Every column is transformed by the same sequence of
/// single IEEE-754 operations whatever the instruction set, so the bits do not depend on the
/// CPU (see `latentlab_fft_columns`).
public struct FourierTransform: Sendable {
  /// The transform length.
  public let length: Int
  let stages: [ll_fft_stage]
  let twiddleRe: [Float]
  let twiddleIm: [Float]

  /// Columns transformed together (the innermost, contiguous dimension of a grid).
  public static let batch = Int(LL_FFT_BATCH)

  /// A plan for `length`, which must have no prime factor above 5.
  public init(length: Int) throws {
    guard length >= 1, FourierTransform.isSmooth(length) else {
      throw AnalysisError.invalidInput(what: "FFT length", expected: "a positive product of 2, 3 and 5", found: "\(length)")
    }
    self.length = length
    var radices: [Int] = []
    var rest = length
    while rest % 4 == 0 { radices.append(4); rest /= 4 }
    for p in [2, 3, 5] { while rest % p == 0 { radices.append(p); rest /= p } }
    var stages: [ll_fft_stage] = []
    var re: [Float] = []
    var im: [Float] = []
    var s = 1
    for p in radices where p > 1 {
      let n = length / s
      let m = n / p
      stages.append(ll_fft_stage(radix: Int32(p), m: Int32(m), s: Int32(s), twiddleOffset: Int32(re.count)))
      for i in 0..<m {
        for r in 1..<p {
          // ω_n^(i·r) = e^(−2πi·(i·r mod n)/n), reduced first so the angle stays small.
          let angle = -2 * Double.pi * Double((i * r) % n) / Double(n)
          re.append(Float(RepeatableMath.cos(angle)))
          im.append(Float(RepeatableMath.sin(angle)))
        }
      }
      s *= p
    }
    self.stages = stages
    twiddleRe = re
    twiddleIm = im
  }

  /// Whether `n` has no prime factor above 5.
  public static func isSmooth(_ n: Int) -> Bool {
    guard n >= 1 else { return false }
    var rest = n
    for p in [2, 3, 5] { while rest % p == 0 { rest /= p } }
    return rest == 1
  }

  /// The smallest integer at least `n` with no prime factor above 5.
  public static func smoothSize(atLeast n: Int) -> Int {
    var candidate = max(n, 1)
    while !isSmooth(candidate) { candidate += 1 }
    return candidate
  }

  /// Floats of scratch one call of `transformColumns` or `transformRows` needs.
  public var scratchCount: Int { 6 * length * FourierTransform.batch }

  /// Transforms, in place, the `LL_FFT_BATCH` columns starting at `re`/`im` along their
  /// `length` rows (row `t` of column `b` at `t · rowStride + b`).
  public func transformColumns(
    re: UnsafeMutablePointer<Float>, im: UnsafeMutablePointer<Float>, rowStride: Int, scratch: UnsafeMutablePointer<Float>,
    instructionSet: InstructionSet = .selected
  ) {
    if stages.isEmpty { return }
    stages.withUnsafeBufferPointer { st in
      twiddleRe.withUnsafeBufferPointer { wr in
        twiddleIm.withUnsafeBufferPointer { wi in
          latentlab_fft_columns(
            st.baseAddress!, Int32(st.count), wr.baseAddress!, wi.baseAddress!, re, im, Int64(rowStride), scratch,
            FourierTransform.code(instructionSet))
        }
      }
    }
  }

  /// Transforms the first `rows` (at most `LL_FFT_BATCH`) rows of a grid along the row,
  /// writing each row's spectrum as a column of the destination: frequency k of row b at
  /// `dstRe[k · dstStride + b]` (a transpose fused with the transform; the `LL_FFT_BATCH −
  /// rows` columns after them get zeros). Needs `length == 1` or `length >= 2` stages.
  public func transformRows(
    re: UnsafePointer<Float>, im: UnsafePointer<Float>, rowStride: Int, rows: Int, intoRe dstRe: UnsafeMutablePointer<Float>,
    im dstIm: UnsafeMutablePointer<Float>, stride dstStride: Int, scratch: UnsafeMutablePointer<Float>,
    instructionSet: InstructionSet = .selected
  ) {
    precondition(rows >= 0 && rows <= FourierTransform.batch, "FourierTransform: at most \(FourierTransform.batch) rows")
    stages.withUnsafeBufferPointer { st in
      twiddleRe.withUnsafeBufferPointer { wr in
        twiddleIm.withUnsafeBufferPointer { wi in
          latentlab_fft_rows(
            st.baseAddress, Int32(st.count), wr.baseAddress, wi.baseAddress, re, im, Int64(rowStride), Int32(rows), dstRe,
            dstIm, Int64(dstStride), scratch, FourierTransform.code(instructionSet))
        }
      }
    }
  }

  /// The width the batched loops run at: 0 portable, 1 AVX2, 2 AVX-512 (same bits for each).
  static func code(_ instructionSet: InstructionSet) -> Int32 {
    switch instructionSet {
    case .portable: return 0
    case .avx2: return 1
    case .avx512: return 2
    }
  }
}
