import Experiments
import Foundation
import Models
import XCTest

/// `StudyReport` on a run folder made by hand: the numbers it reads, the seed report's figures
/// beside them (from `SeedReport`), the preset's settings in its prose, and a clear error for a
/// stage that did not finish.
final class ReportTests: XCTestCase {
  var folder: String!

  override func setUpWithError() throws {
    folder = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString)").path
    for (stage, json) in [
      ("autoencoder", #"{"test_mse": 0.0239}"#), ("classifier", #"{"test_accuracy": 0.754}"#), ("vae", #"{"test_mse": 0.0263}"#),
    ] {
      try FileManager.default.createDirectory(atPath: "\(folder!)/\(stage)", withIntermediateDirectories: true)
      try json.write(toFile: "\(folder!)/\(stage)/metrics.json", atomically: true, encoding: .utf8)
    }
    for (path, _) in StudyReport.figures {
      try FileManager.default.createDirectory(
        atPath: (folder + "/" + path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
      let body = path.hasSuffix(".svg") ? "<?xml version=\"1.0\"?><svg></svg>" : "PNG"
      try body.write(toFile: folder + "/" + path, atomically: true, encoding: .utf8)
    }
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

  func report() -> StudyReport {
    let best = TrialResult(
      trial: 0, parameters: TrialParameters(config: .seed, optimizer: Preset.seed.autoencoder.optimizer),
      foldMSE: [0.03, 0.03], meanMSE: 0.03, seconds: 1, status: "ok")
    return StudyReport(folder: folder, preset: .quick, seed: 5, trials: [best], best: best, checksums: ["a": "b"])
  }

  func testTheReportSetsTheNumbersBesideTheSeedReports() throws {
    let html = try report().write(seconds: 12)
    let numbers = try JSONDecoder().decode(
      StudyReport.Numbers.self, from: Data(contentsOf: URL(fileURLWithPath: folder + "/report.json")))
    XCTAssertEqual(numbers.classifierTestAccuracy, 0.754)
    XCTAssertEqual(numbers.bestTrial, 1)
    let md = try String(contentsOfFile: folder + "/report.md", encoding: .utf8)
    XCTAssertTrue(md.contains("| classifier test accuracy | \(SeedReport.classifierTestAccuracy.written) | 75.4% | +0.4 points |"), md)
    XCTAssertTrue(md.contains("| autoencoder test MSE (mean over pixels) | about 0.02 | 0.0239 | +0.0039 |"), md)
    XCTAssertTrue(md.contains("Search: 3 random trials"), "the prose reads the preset")
    XCTAssertTrue(md.contains("VAE: 5 epochs, batch 500"), "the prose reads the preset")
    XCTAssertTrue(FileManager.default.fileExists(atPath: html))
  }

  func testAStageThatDidNotFinishIsNamed() throws {
    try FileManager.default.removeItem(atPath: folder + "/vae/metrics.json")
    XCTAssertThrowsError(try report().write(seconds: 1)) {
      XCTAssertTrue("\($0)".contains("vae/metrics.json: no number test_mse"), "\($0)")
    }
  }
}
