import Experiments
import TensorCore
import TestSupport
import XCTest

/// The fingerprint of this build on this machine's path equals the committed one, exactly:
/// `Fixtures/fingerprint/avx2.txt` (paths `avx2` and `avx512`, which run the same kernels) or
/// `portable.txt`. The machines that run `make test` differ in CPU, so this is what catches a
/// path whose bits drift between them. Record mode: `LATENTLAB_RECORD=1` (on purpose only,
/// and say why in the commit). Needs the Fashion-MNIST files `make test` installs.
final class FingerprintTests: XCTestCase {
  /// The golden file for a path.
  static func golden(for path: InstructionSet) -> GoldenLines {
    GoldenLines("fingerprint/\(path == .portable ? "portable" : "avx2").txt")
  }

  func testThisMachinesFingerprintIsThePublishedOne() throws {
    let fingerprint = try Fingerprint.compute(data: nil)
    if let problem = Self.golden(for: InstructionSet.selected).check(fingerprint.lines) {
      XCTFail("path \(fingerprint.path) on \(InstructionSet.cpuModel): \(problem)")
    }
  }

  /// The README publishes the combined values users compare `latentlab fingerprint` with.
  func testTheREADMEPublishesTheFingerprints() throws {
    let readme = try String(contentsOfFile: Fixture.packageRoot + "/README.md", encoding: .utf8)
    for path in [InstructionSet.avx2, .portable] {
      let combined = try XCTUnwrap(try Self.golden(for: path).read().last?.split(separator: " ").last)
      XCTAssertTrue(readme.contains(String(combined)), "README lacks the \(path) fingerprint \(combined)")
    }
  }
}
