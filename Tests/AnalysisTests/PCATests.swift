import Analysis
import TensorCore
import TestSupport
import XCTest

/// Oracle: `Fixtures/generators/pca_reference.py` (NumPy SVD of the centred data, scikit-learn's
/// sign convention). Tolerances: components and ratios 1e-4, coordinates 1e-3 absolute
/// (float32 inputs, float64 arithmetic on both sides).
final class PCATests: XCTestCase {
  func golden(_ c: String, _ name: String) throws -> NumPyArray {
    try NumPyArray.read(path: Fixture.path("golden/pca/\(c)/\(name).npy"))
  }

  func testMatchesTheNumPyReference() throws {
    for (name, k) in [("small", 6), ("images", 10)] {
      let data = try golden(name, "data").tensor()
      let pca = try PCA(fitting: data, componentCount: k)
      assertClose(pca.mean, try golden(name, "mean").doubles(), atol: 1e-5, rtol: 0, "\(name) mean")
      assertClose(pca.components.flatMap { $0 }, try golden(name, "components").doubles(), atol: 1e-4, rtol: 0, "\(name) components")
      assertClose(pca.explainedVarianceRatio, try golden(name, "variance_ratio").doubles(), atol: 1e-5, rtol: 1e-4, "\(name) ratios")
      let z = try pca.transform(data)
      assertClose(z.scalars.map(Double.init), try golden(name, "transformed").doubles(), atol: 1e-3, rtol: 1e-4, "\(name) transform")
    }
  }

  func testInverseTransformOfAllComponentsRestoresTheData() throws {
    let data = try golden("small", "data").tensor()
    let pca = try PCA(fitting: data)
    let back = try pca.inverseTransform(try pca.transform(data))
    assertClose(back.scalars.map(Double.init), data.scalars.map(Double.init), atol: 1e-4, rtol: 0)
    XCTAssertEqual(pca.explainedVarianceRatio.reduce(0, +), 1, accuracy: 1e-9)
    XCTAssertEqual(pca.explainedVariance, pca.explainedVariance.sorted(by: >))
    for c in pca.components {
      XCTAssertEqual(c.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-9)
      XCTAssertGreaterThan(c.max()!, -c.min()!, "largest-magnitude loading positive")
    }
  }

  func testBadInputsAreErrors() {
    XCTAssertThrowsError(try PCA(fitting: Tensor.zeros([1, 3]))) { XCTAssertTrue("\($0)".contains("N >= 2"), "\($0)") }
    XCTAssertThrowsError(try PCA(fitting: Tensor.zeros([5, 3]), componentCount: 4)) { XCTAssertTrue("\($0)".contains("1...3"), "\($0)") }
    XCTAssertThrowsError(try PCA(fitting: Tensor(shape: [2, 2], scalars: [1, .nan, 3, 4]))) { XCTAssertTrue("\($0)".contains("finite"), "\($0)") }
    XCTAssertThrowsError(try PCA(fitting: Tensor.zeros([4, 3])).transform(Tensor.zeros([2, 4])))
  }
}

final class ConfusionMatrixTests: XCTestCase {
  /// Hand-computed: 3 classes, truth [0,0,0,1,1,2], predicted [0,0,1,1,2,2].
  func testMetrics() throws {
    let m = try ConfusionMatrix(classNames: ["a", "b", "c"], truth: [0, 0, 0, 1, 1, 2], predicted: [0, 0, 1, 1, 2, 2])
    XCTAssertEqual(m.counts, [[2, 1, 0], [0, 1, 1], [0, 0, 1]])
    XCTAssertEqual(m.accuracy, 4.0 / 6.0, accuracy: 1e-12)
    assertClose(m.precision, [1, 0.5, 0.5], atol: 1e-12, rtol: 0)
    assertClose(m.recall, [2.0 / 3.0, 0.5, 1], atol: 1e-12, rtol: 0)
    assertClose(m.f1, [0.8, 0.5, 2.0 / 3.0], atol: 1e-12, rtol: 0)
    assertClose(m.rowNormalized.flatMap { $0 }, [2.0 / 3, 1.0 / 3, 0, 0, 0.5, 0.5, 0, 0, 1], atol: 1e-12, rtol: 0)
    XCTAssertThrowsError(try ConfusionMatrix(classNames: ["a"], truth: [0], predicted: [1]))
    XCTAssertThrowsError(try ConfusionMatrix(classNames: ["a"], truth: [0, 0], predicted: [0]))
  }
}
