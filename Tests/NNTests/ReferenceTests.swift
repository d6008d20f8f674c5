import Foundation
import NN
import TensorCore
import TestSupport
import XCTest

/// Oracle: `Fixtures/generators/nn_reference.py`, an independent NumPy implementation (explicit
/// loops over the kernel window, float64) of Conv2d, ConvTranspose2d and Linear.
/// Tolerance: atol 2e-5 + rtol 1e-4 (float32 arithmetic against a float64 reference).
final class ReferenceTests: XCTestCase {
  struct Case: Decodable {
    var name: String
    var layer: String
    var n: Int
    var cin: Int?
    var cout: Int?
    var h: Int?
    var w: Int?
    var k: Int?
    var stride: Int?
    var padding: Int?
    var output_padding: Int?
    var `in`: Int?
    var out: Int?
  }

  func load(_ c: Case, _ name: String) throws -> NumPyArray {
    try NumPyArray.read(path: Fixture.path("golden/nn/\(c.name)/\(name).npy"))
  }

  func testLayersMatchTheNumPyReference() throws {
    let json = try Data(contentsOf: URL(fileURLWithPath: Fixture.path("golden/nn/cases.json")))
    let cases = try JSONDecoder().decode([Case].self, from: json)
    XCTAssertGreaterThanOrEqual(cases.count, 10)
    for c in cases {
      var g = SeededGenerator(seed: 0, stream: .initialization)
      let layer: any Layer<Float>
      let weight: Parameter
      let bias: Parameter
      switch c.layer {
      case "conv2d":
        let l = try Conv2d(
          inputChannels: c.cin!, outputChannels: c.cout!, kernelSize: c.k!, stride: c.stride!, padding: c.padding!,
          generator: &g)
        (layer, weight, bias) = (l, l.weight, l.bias!)
      case "conv_transpose2d":
        let l = try ConvTranspose2d(
          inputChannels: c.cin!, outputChannels: c.cout!, kernelSize: c.k!, stride: c.stride!, padding: c.padding!,
          outputPadding: c.output_padding!, generator: &g)
        (layer, weight, bias) = (l, l.weight, l.bias!)
      default:
        let l = try Linear(inputFeatures: c.in!, outputFeatures: c.out!, generator: &g)
        (layer, weight, bias) = (l, l.weight, l.bias!)
      }
      let w = try load(c, "weight").tensor()
      XCTAssertEqual(w.shape, weight.value.shape, "\(c.name): weight layout must be PyTorch's")
      weight.value = w
      bias.value = try load(c, "bias").tensor()
      let y = try layer.forward(try load(c, "x").tensor())
      let expectedY = try load(c, "y")
      XCTAssertEqual(y.shape, expectedY.shape, c.name)
      assertClose(y.scalars.map(Double.init), expectedY.doubles(), atol: 2e-5, rtol: 1e-4, "\(c.name) forward")
      let dx = try layer.backward(try load(c, "dy").tensor())
      assertClose(dx.scalars.map(Double.init), try load(c, "dx").doubles(), atol: 2e-5, rtol: 1e-4, "\(c.name) dx")
      assertClose(
        weight.gradient.scalars.map(Double.init), try load(c, "dweight").doubles(), atol: 2e-5, rtol: 1e-4,
        "\(c.name) dweight")
      assertClose(
        bias.gradient.scalars.map(Double.init), try load(c, "dbias").doubles(), atol: 2e-5, rtol: 1e-4, "\(c.name) dbias")
    }
  }
}
