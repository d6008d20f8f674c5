import Analysis
import TensorCore
import TestSupport
import XCTest

/// `FourierTransform` against the DFT written out in Double (`X[k] = Σₜ x[t] e^(−2πi·k·t/N)`),
/// and its instruction-set variants and row form against each other, bit for bit.
final class FourierTransformTests: XCTestCase {
  let batch = FourierTransform.batch

  /// A grid of `rows` × `stride` floats per part, uniform in [−1, 1) (seeded).
  func grid(rows: Int, stride: Int, seed: UInt64) -> ([Float], [Float]) {
    var g = SeededGenerator(seed: seed, streamName: "test/fft")
    let re = (0..<(rows * stride)).map { _ in g.nextUniform(-1, 1) }
    let im = (0..<(rows * stride)).map { _ in g.nextUniform(-1, 1) }
    return (re, im)
  }

  /// The columns of (re, im) transformed in place.
  func columns(_ fft: FourierTransform, _ re: [Float], _ im: [Float], stride: Int, isa: InstructionSet = .portable) -> ([Float], [Float]) {
    var (re, im) = (re, im)
    var scratch = [Float](repeating: 0, count: fft.scratchCount)
    re.withUnsafeMutableBufferPointer { r in
      im.withUnsafeMutableBufferPointer { i in
        fft.transformColumns(re: r.baseAddress!, im: i.baseAddress!, rowStride: stride, scratch: &scratch, instructionSet: isa)
      }
    }
    return (re, im)
  }

  /// Oracle: the direct DFT in Double; tolerance: the RMS error of each column within 1e-6 of
  /// its output's RMS (single precision, about log₂ N roundings per value).
  func testMatchesTheDirectDFT() throws {
    for n in [1, 2, 3, 4, 5, 6, 8, 9, 12, 15, 16, 25, 30, 60, 96, 100, 150, 216, 600] {
      let fft = try FourierTransform(length: n)
      let stride = batch + 8  // rows longer than the batch: the row stride is honoured
      let (re, im) = grid(rows: n, stride: stride, seed: UInt64(n))
      let (outRe, outIm) = columns(fft, re, im, stride: stride)
      for b in [0, 7, batch - 1] {
        var error = 0.0, size = 0.0
        for k in 0..<n {
          var (sr, si) = (0.0, 0.0)
          for t in 0..<n {
            let angle = -2 * Double.pi * Double((k * t) % n) / Double(n)
            let (xr, xi) = (Double(re[t * stride + b]), Double(im[t * stride + b]))
            sr += xr * cos(angle) - xi * sin(angle)
            si += xr * sin(angle) + xi * cos(angle)
          }
          error += pow(Double(outRe[k * stride + b]) - sr, 2) + pow(Double(outIm[k * stride + b]) - si, 2)
          size += sr * sr + si * si
        }
        XCTAssertLessThan((error / size).squareRoot(), 1e-6, "length \(n), column \(b)")
      }
      // The padding past the batch is untouched.
      XCTAssertEqual(outRe[batch], re[batch], "length \(n)")
    }
    XCTAssertThrowsError(try FourierTransform(length: 14)) { XCTAssertTrue("\($0)".contains("product of 2, 3 and 5"), "\($0)") }
  }

  /// Every width the CPU runs (portable, AVX2, AVX-512) gives the same bits; the row form
  /// equals the column form of the transposed grid, bit for bit, with zeros past `rows`.
  func testEveryWidthAndTheRowFormGiveTheSameBits() throws {
    let widths = InstructionSet.allCases.filter { $0 <= InstructionSet.cpuBest }
    if widths.count < 3 { print("FourierTransformTests: this CPU runs only \(widths.map(\.rawValue))") }
    for n in [600, 1296, 75] {
      let fft = try FourierTransform(length: n)
      let (re, im) = grid(rows: n, stride: batch, seed: 9)
      let portable = columns(fft, re, im, stride: batch)
      for isa in widths {
        let other = columns(fft, re, im, stride: batch, isa: isa)
        XCTAssertEqual(other.0.map(\.bitPattern), portable.0.map(\.bitPattern), "\(isa), length \(n)")
        XCTAssertEqual(other.1.map(\.bitPattern), portable.1.map(\.bitPattern), "\(isa), length \(n)")
        // Rows: the transpose of the grid, `rows` rows of length n, into 32 columns (a full
        // batch, a multiple of four, and one that leaves single rows; lengths that are and
        // are not multiples of four).
        for rows in [batch, 20, 23] {
          var rowRe = [Float](repeating: 0, count: rows * n), rowIm = rowRe
          for t in 0..<n { for b in 0..<rows { (rowRe[b * n + t], rowIm[b * n + t]) = (re[t * batch + b], im[t * batch + b]) } }
          var outRe = [Float](repeating: .nan, count: n * batch), outIm = outRe
          var scratch = [Float](repeating: 0, count: fft.scratchCount)
          fft.transformRows(
            re: rowRe, im: rowIm, rowStride: n, rows: rows, intoRe: &outRe, im: &outIm, stride: batch, scratch: &scratch,
            instructionSet: isa)
          for k in 0..<n {
            for b in 0..<rows {
              XCTAssertEqual(outRe[k * batch + b].bitPattern, portable.0[k * batch + b].bitPattern, "rows \(rows), \(isa), k \(k), b \(b)")
              XCTAssertEqual(outIm[k * batch + b].bitPattern, portable.1[k * batch + b].bitPattern, "rows \(rows), \(isa), k \(k), b \(b)")
            }
            for b in rows..<batch {
              XCTAssertEqual(outRe[k * batch + b], 0, "rows past \(rows), \(isa)")  // ±0: the transform of zeros
              XCTAssertEqual(outIm[k * batch + b], 0, "rows past \(rows), \(isa)")
            }
          }
        }
      }
    }
  }
}
