import Experiments
import Foundation
import XCTest

/// The pipeline's guards, before any data is read: a folder holding another run is refused
/// and left as it was; bad settings are errors. (The whole pipeline runs end to end in
/// `ReproduceCommandTests`.)
final class ReproducePipelineTests: XCTestCase {
  func testAFolderHoldingAnotherRunIsRefusedAndLeftAlone() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pipeline-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let other = #"{"preset": "seed", "seed": 3, "software": "0.0.1"}"#
    try other.write(toFile: folder + "/run.json", atomically: true, encoding: .utf8)
    let pipeline = ReproducePipeline(preset: .quick, seed: 0, threads: 1, data: "/nonexistent", out: folder, log: { _ in })
    XCTAssertThrowsError(try pipeline.run()) { error in
      XCTAssertTrue("\(error)".contains("holds a run of preset seed, seed 3"), "\(error)")
      XCTAssertTrue("\(error)".contains("nothing was changed"), "\(error)")
    }
    XCTAssertEqual(try String(contentsOfFile: folder + "/run.json", encoding: .utf8), other)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), ["run.json"])
  }

  func testBadSettingsAreErrors() {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pipeline-\(UUID().uuidString)").path
    XCTAssertThrowsError(try ReproducePipeline(preset: .quick, seed: 0, threads: 0, data: nil, out: folder, log: { _ in }).run()) {
      XCTAssertTrue("\($0)".contains("--threads must be at least 1"), "\($0)")
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: folder), "nothing written")
  }
}
