import Foundation
import FuzzTargets
import TestSupport
import XCTest

/// Replays the committed fuzz corpus (`Fixtures/fuzz/<target>/`) through every reader, in
/// seconds: `valid-*` inputs must be accepted (so each target really reaches its reader),
/// `invalid-*` rejected with an error, and `crash-*` inputs (found by `make fuzz`, since fixed)
/// read without crashing. A crash ends the test process: the failure names no line, the log
/// names the input last replayed.
final class CorpusReplayTests: XCTestCase {
  func testEveryCorpusInputIsReadOrRejectedWithoutCrashing() throws {
    for target in FuzzTarget.allCases {
      let folder = Fixture.path("fuzz/\(target.rawValue)")
      let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
      XCTAssertTrue(names.contains { $0.hasPrefix("valid-") }, "\(target.rawValue): the corpus needs a valid input")
      for name in names {
        let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name))
        let accepted = target.run(data)
        if name.hasPrefix("valid-") { XCTAssertTrue(accepted, "\(target.rawValue)/\(name) should be accepted") }
        if name.hasPrefix("invalid-") { XCTAssertFalse(accepted, "\(target.rawValue)/\(name) should be rejected") }
      }
    }
  }
}
