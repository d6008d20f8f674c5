import Analysis
import CKernels
import Foundation
import TensorCore
import TestSupport
import XCTest

/// The grid passes of FFT t-SNE (`tsne_grid_kernels.c`) composed with `FourierTransform` as
/// `InterpolatedRepulsion` composes them: the kernels' spectra recovered from their packed real
/// transforms by parity, against the 2-D DFTs written out in Double; and the product's
/// instruction-set variants against each other, bit for bit.
final class TSNEGridKernelTests: XCTestCase {
  let nodes = 10
  var side: Int { 2 * nodes }
  let stride = 32
  let h: Float = 0.7

  /// The circulant offset of index t (t < nodes: t; t > nodes: t − side; nodes: none).
  func offset(_ t: Int) -> Int? { t == nodes ? nil : (t < nodes ? t : t - side) }

  /// The 2-D DFT `X[fx, fy] = Σ x[x, y] e^(−2πi(fx·x + fy·y)/side)` of a real grid f(x, y), in Double.
  func dft(_ f: (Int, Int) -> Double) -> [[(re: Double, im: Double)]] {
    let values = (0..<side).map { x in (0..<side).map { y in f(x, y) } }
    return (0..<side).map { fx in
      (0..<side).map { fy in
        var (re, im) = (0.0, 0.0)
        for x in 0..<side {
          for y in 0..<side where values[x][y] != 0 {
            let angle = -2 * Double.pi * Double((fx * x + fy * y) % side) / Double(side)
            re += values[x][y] * cos(angle)
            im += values[x][y] * sin(angle)
          }
        }
        return (re, im)
      }
    }
  }

  /// The pipeline up to the product: W's half spectrum (side × stride, rows fx) and M (side ×
  /// stride) from the charges `w` (nodes × nodes, row y) and the kernel grid.
  func spectra(charges w: [Float]) throws -> (wRe: [Float], wIm: [Float], mRe: [Float], mIm: [Float]) {
    let fft = try FourierTransform(length: side)
    var scratch = [Float](repeating: 0, count: fft.scratchCount)
    var (gRe, gIm) = ([Float](repeating: 0, count: side * stride), [Float](repeating: 0, count: side * stride))
    for y in 0..<nodes { for x in 0..<nodes { gRe[y * stride + x] = w[y * nodes + x] } }
    var (rRe, rIm) = ([Float](repeating: 0, count: side * stride), [Float](repeating: 0, count: side * stride))
    latentlab_tsne_kernel_grid(Int32(nodes), Int32(side), h, 0, Int32(side), Int32(stride), &rRe, &rIm, Int64(stride))
    fft.transformColumns(re: &gRe, im: &gIm, rowStride: stride, scratch: &scratch)
    fft.transformColumns(re: &rRe, im: &rIm, rowStride: stride, scratch: &scratch)
    var (pRe, pIm) = ([Float](repeating: 0, count: side * stride), [Float](repeating: 0, count: side * stride))
    latentlab_tsne_pack_kernel_rows(Int32(nodes), Int32(side), 0, Int32(side / 2), rRe, rIm, Int64(stride), &pRe, &pIm, Int64(stride))
    var (wRe, wIm) = ([Float](repeating: 0, count: side * stride), [Float](repeating: 0, count: side * stride))
    var (mRe, mIm) = ([Float](repeating: 0, count: side * stride), [Float](repeating: 0, count: side * stride))
    fft.transformRows(
      re: gRe, im: gIm, rowStride: stride, rows: nodes + 1, intoRe: &wRe, im: &wIm, stride: stride, scratch: &scratch)
    fft.transformRows(re: pRe, im: pIm, rowStride: stride, rows: side / 2, intoRe: &mRe, im: &mIm, stride: stride, scratch: &scratch)
    return (wRe, wIm, mRe, mIm)
  }

  /// Oracle: the DFTs of W, K, Kx and Ky in Double. The product T = (Ŵ·(K̂x + i·K̂y))* at every
  /// frequency within 1e-5 of the largest |T|, and Σ |Ŵ|²·K̂ within 1e-5 relative: the
  /// parities that separate the packed transforms hold.
  func testTheProductMatchesTheSpectraOfTheKernels() throws {
    var g = SeededGenerator(seed: 11, streamName: "test/grid-spectra")
    let w = (0..<(nodes * nodes)).map { _ in g.nextUniform(0, 1) }
    let s = try spectra(charges: w)
    var (tRe, tIm) = ([Float](repeating: 0, count: side * stride), [Float](repeating: 0, count: side * stride))
    var scratch = [Float](repeating: 0, count: 6 * side)
    let z = latentlab_tsne_spectrum_product(
      Int32(nodes), Int32(side), 0, Int32(side), s.wRe, s.wIm, Int64(stride), s.mRe, s.mIm, Int64(stride), &tRe, &tIm,
      Int64(stride), &scratch, 0)

    let kernel = { (x: Int, y: Int) -> (k: Double, kx: Double, ky: Double) in
      guard let ox = self.offset(x), let oy = self.offset(y) else { return (0, 0, 0) }
      let (dx, dy) = (Double(ox) * Double(self.h), Double(oy) * Double(self.h))
      let k = 1 / (1 + dx * dx + dy * dy)
      return (k, dx * k * k, dy * k * k)
    }
    let wHat = dft { x, y in x < self.nodes && y < self.nodes ? Double(w[y * self.nodes + x]) : 0 }
    let kHat = dft { kernel($0, $1).k }
    let kxHat = dft { kernel($0, $1).kx }
    let kyHat = dft { kernel($0, $1).ky }
    var expectedZ = 0.0
    var largest = 0.0
    var worst = 0.0
    for fx in 0..<side {
      for fy in 0..<side {
        let (wr, wi) = wHat[fx][fy]
        expectedZ += (wr * wr + wi * wi) * kHat[fx][fy].re
        // S = K̂x + i·K̂y; T = (Ŵ·S)*.
        let sr = kxHat[fx][fy].re - kyHat[fx][fy].im, si = kxHat[fx][fy].im + kyHat[fx][fy].re
        let (er, ei) = (wr * sr - wi * si, -(wr * si + wi * sr))
        largest = max(largest, hypot(er, ei))
        worst = max(worst, hypot(Double(tRe[fx * stride + fy]) - er, Double(tIm[fx * stride + fy]) - ei))
      }
    }
    XCTAssertLessThan(worst, 1e-5 * largest, "T against the DFTs")
    XCTAssertEqual(z, expectedZ, accuracy: 1e-5 * abs(expectedZ), "Σ |Ŵ|²·K̂")
  }

  /// Every width the CPU runs gives the product and Z the same bits as the portable loop.
  func testTheProductIsTheSameOnEveryWidth() throws {
    var g = SeededGenerator(seed: 12, streamName: "test/grid-product")
    let s = try spectra(charges: (0..<(nodes * nodes)).map { _ in g.nextUniform(0, 1) })
    var results: [[UInt32]] = []
    for isa in InstructionSet.allCases where isa <= InstructionSet.cpuBest {
      var (tRe, tIm) = ([Float](repeating: 0, count: side * stride), [Float](repeating: 0, count: side * stride))
      var scratch = [Float](repeating: 0, count: 6 * side)
      let z = latentlab_tsne_spectrum_product(
        Int32(nodes), Int32(side), 0, Int32(side), s.wRe, s.wIm, Int64(stride), s.mRe, s.mIm, Int64(stride), &tRe, &tIm,
        Int64(stride), &scratch, FourierTransformCode.of(isa))
      results.append((tRe + tIm).map(\.bitPattern) + [UInt32(truncatingIfNeeded: z.bitPattern), UInt32(z.bitPattern >> 32)])
    }
    for other in results.dropFirst() { XCTAssertEqual(results[0], other) }
    if InstructionSet.cpuBest == .portable { print("TSNEGridKernelTests: only the portable width runs on this CPU") }
  }
}

/// The `isa` code the C kernels take (0 portable, 1 AVX2, 2 AVX-512).
enum FourierTransformCode {
  static func of(_ isa: InstructionSet) -> Int32 {
    switch isa {
    case .portable: return 0
    case .avx2: return 1
    case .avx512: return 2
    }
  }
}
