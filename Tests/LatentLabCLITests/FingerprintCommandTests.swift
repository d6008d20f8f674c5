import Foundation
import TensorCore
import TestSupport
import XCTest

/// `latentlab fingerprint` gives the committed bytes under every code path this CPU runs
/// (`LATENTLAB_ISA`) and whatever OpenBLAS kernel table the environment asks for
/// (`OPENBLAS_CORETYPE`, which LatentLab overrides with its pinned table; without the pin,
/// `Haswell` and `SkylakeX` give other `sgemm` bits). Oracle: `Fixtures/fingerprint/*.txt`,
/// exact. A path the CPU lacks is skipped with a message.
final class FingerprintCommandTests: XCTestCase {
  func fingerprint(_ environment: [String: String]) throws -> [String] {
    let r = try runLatentLab(["fingerprint"], environment: environment)
    XCTAssertEqual(r.status, 0, "\(environment): \(r.stderr)")
    return Array(r.stdout.split(separator: "\n").map(String.init).dropFirst())
  }

  func golden(_ name: String) throws -> [String] {
    try GoldenLines("fingerprint/\(name).txt", recordMode: false).read()
  }

  func testEveryPathAndKernelTableGivesThePublishedBytes() throws {
    let avx2 = try golden("avx2")
    XCTAssertEqual(try fingerprint(["LATENTLAB_ISA": "portable"]), try golden("portable"), "portable")
    guard InstructionSet.cpuBest >= .avx2 else {
      throw XCTSkip("this CPU lacks AVX2: only the portable path runs here")
    }
    for coreType in ["Haswell", "SkylakeX", "Zen", "Prescott"] {
      XCTAssertEqual(try fingerprint(["LATENTLAB_ISA": "avx2", "OPENBLAS_CORETYPE": coreType]), avx2, "avx2, \(coreType)")
    }
    guard InstructionSet.cpuBest >= .avx512 else {
      print("fingerprint: this CPU lacks AVX-512; the avx512 path was not run")
      return
    }
    XCTAssertEqual(try fingerprint(["LATENTLAB_ISA": "avx512", "OPENBLAS_CORETYPE": "SkylakeX"]), avx2, "avx512")
  }

  /// glibc picks its `exp`, `log`, `sin` and `cos` by CPU: versions with fused multiply-adds
  /// where the CPU has FMA, others without, which differ in a last bit for some arguments.
  /// `GLIBC_TUNABLES=glibc.cpu.hwcaps=-FMA,-AVX2,-AVX` makes glibc pick as on a CPU without
  /// them (LatentLab's own path choice reads the CPU itself, so it does not move): the bytes
  /// must not change. They did, before t-SNE's affinities took `RepeatableMath`'s exp and log.
  func testGlibcsMathForCPUsWithoutFMAGivesThePublishedBytes() throws {
    let withoutFMA = "glibc.cpu.hwcaps=-FMA,-AVX2,-AVX"
    XCTAssertEqual(
      try fingerprint(["LATENTLAB_ISA": "portable", "GLIBC_TUNABLES": withoutFMA]), try golden("portable"), "portable")
    guard InstructionSet.cpuBest >= .avx2 else { throw XCTSkip("this CPU lacks AVX2: only the portable path runs here") }
    XCTAssertEqual(try fingerprint(["GLIBC_TUNABLES": withoutFMA]), try golden("avx2"), InstructionSet.cpuBest.rawValue)
  }

  func testAnUnknownOrMissingPathIsAUsageError() throws {
    let unknown = try runLatentLab(["fingerprint"], environment: ["LATENTLAB_ISA": "sse9"])
    XCTAssertEqual(unknown.status, 64)
    XCTAssertTrue(unknown.stderr.contains("LATENTLAB_ISA=sse9: expected portable, avx2 or avx512"), unknown.stderr)
    guard InstructionSet.cpuBest < .avx512 else { return }
    let missing = try runLatentLab(["fingerprint"], environment: ["LATENTLAB_ISA": "avx512"])
    XCTAssertEqual(missing.status, 64)
    XCTAssertTrue(missing.stderr.contains("this CPU runs at most"), missing.stderr)
  }
}
