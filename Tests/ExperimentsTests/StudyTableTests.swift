import Experiments
import Foundation
import Models
import XCTest

/// The study's pure parts: choosing the best trial, the trial table, reading `study.jsonl`.
final class StudyTableTests: XCTestCase {
  func trial(_ i: Int, _ mean: Double) -> TrialResult {
    TrialResult(
      trial: i, parameters: SearchSpace.seed.sample(count: i + 1, seed: 0)[i],
      foldMSE: [mean, mean], meanMSE: mean, seconds: 1, status: mean.isFinite ? "ok" : "fold 1: diverged")
  }

  func testTheBestTrialHasTheLowestFiniteMeanAndTiesGoToTheFirst() {
    XCTAssertEqual(Study.best([trial(0, 0.03), trial(1, 0.02), trial(2, .infinity)])?.trial, 1)
    XCTAssertEqual(Study.best([trial(0, 0.02), trial(1, 0.02)])?.trial, 0)
    XCTAssertNil(Study.best([trial(0, .infinity)]))
  }

  func testTheTableMarksTheBestAndTheDiverged() {
    let table = Study.table([trial(0, 0.03), trial(1, 0.02), trial(2, .infinity)]).split(separator: "\n")
    XCTAssertEqual(table.count, 5)
    XCTAssertTrue(table[3].hasPrefix("| 2 (best) |"), String(table[3]))
    XCTAssertTrue(table[4].contains("diverged, diverged") && table[4].contains("| – |"), String(table[4]))
  }

  func testReadingTrialsDropsACutLineAndNamesABadOne() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("trials-\(UUID().uuidString).jsonl").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    let encoder = JSONEncoder()
    let lines = try [trial(0, 0.03), trial(1, .infinity)].map { String(decoding: try encoder.encode($0), as: UTF8.self) }
    try (lines.joined(separator: "\n") + "\n{\"trial\": 2, \"param").write(toFile: path, atomically: true, encoding: .utf8)
    let read = try Study.readTrials(path)
    XCTAssertEqual(read.map(\.trial), [0, 1])
    XCTAssertEqual(read[1].meanMSE, .infinity, "a diverged trial's null comes back as infinity")
    try (lines[0] + "\nnot json\n").write(toFile: path, atomically: true, encoding: .utf8)
    XCTAssertThrowsError(try Study.readTrials(path)) { XCTAssertTrue("\($0)".contains("line 2 is not a trial record"), "\($0)") }
  }
}
