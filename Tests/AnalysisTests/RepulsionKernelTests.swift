import CKernels
import XCTest

/// The Barnes-Hut group walk (`latentlab_repulsion_group`), AVX2 and portable, against sums
/// written out by hand on a tree small enough to build by hand: a root over four leaves.
/// With θ = 0 no cell is summarised, so both must give the exact sums (to 1e-12).
final class RepulsionKernelTests: XCTestCase {
  let points: [(Double, Double)] = [(0, 0), (1, 0), (0, 2), (3, 1)]

  func tree() -> [ll_quad_node] {
    let cx = points.map(\.0).reduce(0, +) / 4, cy = points.map(\.1).reduce(0, +) / 4
    var nodes = [ll_quad_node(massX: cx, massY: cy, widthSquared: 16, count: 4, firstChild: 1)]
    for p in points { nodes.append(ll_quad_node(massX: p.0, massY: p.1, widthSquared: 4, count: 1, firstChild: 0)) }
    return nodes
  }

  /// Σ over the other points j of q², q² (x − xj), and Σ q, q = 1/(1 + |x − xj|²).
  func exact(_ x: (Double, Double)) -> (Double, Double, Double) {
    var (fx, fy, z) = (0.0, 0.0, 0.0)
    for p in points where p != x {
      let (dx, dy) = (x.0 - p.0, x.1 - p.1)
      let q = 1 / (1 + dx * dx + dy * dy)
      (fx, fy, z) = (fx + q * q * dx, fy + q * q * dy, z + q)
    }
    return (fx, fy, z)
  }

  func testBothPathsGiveTheExactSumsWhenNothingIsSummarised() {
    let nodes = tree()
    let px = points.map(\.0), py = points.map(\.1)
    for vectorised: Int32 in [0, latentlab_avx2_fma_available()] {
      var fx = [Double](repeating: .nan, count: 4), fy = fx, z = fx
      var stack = [Int32](repeating: 0, count: 64)
      latentlab_repulsion_group(nodes, px, py, 4, 0, &stack, &fx, &fy, &z, vectorised)
      for (i, p) in points.enumerated() {
        let e = exact(p)
        XCTAssertEqual(fx[i], e.0, accuracy: 1e-12, "fx of point \(i), vectorised \(vectorised)")
        XCTAssertEqual(fy[i], e.1, accuracy: 1e-12, "fy of point \(i), vectorised \(vectorised)")
        XCTAssertEqual(z[i], e.2, accuracy: 1e-12, "z of point \(i), vectorised \(vectorised)")
      }
    }
  }

  /// A far point summarises the root (width 4 < 0.5 · distance ≈ 100): one term of mass 4.
  func testAFarPointSeesTheRootAsOneCell() {
    let nodes = tree()
    let far = (100.0, 0.0)
    let (cx, cy) = (nodes[0].massX, nodes[0].massY)
    let d2 = (far.0 - cx) * (far.0 - cx) + (far.1 - cy) * (far.1 - cy)
    let q = 1 / (1 + d2)
    for vectorised: Int32 in [0, latentlab_avx2_fma_available()] {
      var fx = [Double](repeating: .nan, count: 1), fy = fx, z = fx
      var stack = [Int32](repeating: 0, count: 64)
      latentlab_repulsion_group(nodes, [far.0], [far.1], 1, 0.25, &stack, &fx, &fy, &z, vectorised)
      XCTAssertEqual(z[0], 4 * q, accuracy: 1e-15)
      XCTAssertEqual(fx[0], 4 * q * q * (far.0 - cx), accuracy: 1e-15)
      XCTAssertEqual(fy[0], 4 * q * q * (far.1 - cy), accuracy: 1e-15)
    }
  }
}
