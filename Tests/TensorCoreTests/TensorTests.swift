import TensorCore
import TestSupport
import XCTest

final class TensorTests: XCTestCase {
  func testShapeAndIndexingAreRowMajor() {
    var t = Tensor(shape: [2, 3, 4, 5], scalars: (0..<120).map(Float.init))
    XCTAssertEqual(t.count, 120)
    XCTAssertEqual(t[1, 2, 3, 4], 119)
    XCTAssertEqual(t[0, 1, 0, 0], 20)
    t[1, 0, 0, 1] = -1
    XCTAssertEqual(t.scalars[61], -1)
    XCTAssertTrue(t.shape4 == (2, 3, 4, 5))
  }

  func testValueSemantics() {
    let a = Tensor(shape: [3], scalars: [1, 2, 3])
    var b = a
    b[0] = 10
    XCTAssertEqual(a.scalars, [1, 2, 3])
    XCTAssertEqual(b.scalars, [10, 2, 3])
  }

  func testReshapeKeepsElements() {
    let a = Tensor(shape: [2, 6], scalars: (0..<12).map(Float.init))
    let b = a.reshaped([3, 2, 2])
    XCTAssertEqual(b.shape, [3, 2, 2])
    XCTAssertEqual(b.scalars, a.scalars)
    XCTAssertEqual(a.slice(outer: 1..<2).scalars, (6..<12).map(Float.init))
  }

  func testUninitializedInitialiserKeepsWrittenValues() {
    let t = Tensor(shape: [4, 3]) { buffer in
      for i in buffer.indices { buffer[i] = Float(i) * 0.5 }
    }
    XCTAssertEqual(t.scalars, (0..<12).map { Float($0) * 0.5 })
  }

  /// Oracle: a triple loop in Double.
  func testMatmulMatchesNaiveProduct() {
    var g = SeededGenerator(seed: 1, streamName: "test/matmul")
    let (m, k, n) = (7, 13, 5)
    let a = Tensor(shape: [m, k], scalars: (0..<(m * k)).map { _ in g.nextUniform(-1, 1) })
    let b = Tensor(shape: [k, n], scalars: (0..<(k * n)).map { _ in g.nextUniform(-1, 1) })
    var expected = [Double](repeating: 0, count: m * n)
    for i in 0..<m {
      for j in 0..<n {
        for p in 0..<k { expected[i * n + j] += Double(a[i, p]) * Double(b[p, j]) }
      }
    }
    assertClose(a.matmul(b).scalars.map(Double.init), expected, atol: 1e-5, rtol: 1e-5)
  }

  func testElementwiseArithmetic() {
    let a = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])
    let b = Tensor(shape: [2, 2], scalars: [0.5, 0.5, -1, 2])
    XCTAssertEqual((a + b).scalars, [1.5, 2.5, 2, 6])
    XCTAssertEqual((a - b).scalars, [0.5, 1.5, 4, 2])
    XCTAssertEqual((a * 2).scalars, [2, 4, 6, 8])
    XCTAssertEqual(a.sum(), 10)
    XCTAssertEqual(a.mean(), 2.5)
    XCTAssertEqual(a.maxAbsDifference(b), 4)
  }
}
