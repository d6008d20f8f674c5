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
    let stages = [
      ("published/autoencoder", #"{"test_mse": 0.0241}"#), ("published/classifier", #"{"test_accuracy": 0.7512}"#),
      ("published/vae", #"{"test_mse": 0.0262}"#),
      ("autoencoder", #"{"test_mse": 0.0642}"#), ("classifier", #"{"test_accuracy": 0.2935}"#), ("vae", #"{"test_mse": 0.0246}"#),
    ]
    for (stage, json) in stages + [("published/embedding", "{}")] {
      try FileManager.default.createDirectory(atPath: "\(folder!)/\(stage)", withIntermediateDirectories: true)
      try json.write(toFile: "\(folder!)/\(stage)/metrics.json", atomically: true, encoding: .utf8)
    }
    // The published arm's embedding stage as the pipeline records it; the winner's predates
    // the timings.
    try #"{"pca_points": "60000", "pca_seconds": "0.41", "tsne_points": "60000", "tsne_algorithm": "fft", "tsne_threads": "1", "tsne_final_threads": "2", "tsne_seconds": "33.0", "tsne_neighbour_seconds": "4.7", "tsne_affinity_seconds": "1.1", "tsne_kl": "2.4400", "tsne_knn10_accuracy": "0.7900"}"#
      .write(toFile: "\(folder!)/published/embedding/done.json", atomically: true, encoding: .utf8)
    for arm in report().arms {
      for (path, _) in StudyReport.figures(for: arm) {
        try FileManager.default.createDirectory(
          atPath: (folder + "/" + path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let body = path.hasSuffix(".svg") ? "<?xml version=\"1.0\"?><svg></svg>" : "PNG"
        try body.write(toFile: folder + "/" + path, atomically: true, encoding: .utf8)
      }
    }
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

  /// Three trials: two no better than the mean image (its MSE 0.12), the best (trial 3) better.
  func report() -> StudyReport {
    func trial(_ i: Int, _ mean: Double, _ l2: Double) -> TrialResult {
      TrialResult(
        trial: i, parameters: TrialParameters(config: .seed, optimizer: OptimizerSettings(kind: "adam", learningRate: 1e-2, weightDecay: l2)),
        foldMSE: [mean, mean], meanMSE: mean, seconds: 1, status: "ok")
    }
    let trials = [trial(0, 0.128, 2e-2), trial(1, 0.125, 5e-3), trial(2, 0.0647, 9.9e-4)]
    return StudyReport(
      folder: folder, preset: .quick, seed: 5, trials: trials, best: trials[2], checksums: ["a": "b"], meanImageMSE: 0.12)
  }

  func testTheReportAnswersWhetherTheNumbersHold() throws {
    let html = try report().write(seconds: 12)
    let numbers = try JSONDecoder().decode(
      StudyReport.Numbers.self, from: Data(contentsOf: URL(fileURLWithPath: folder + "/report.json")))
    XCTAssertEqual(numbers.published.classifierTestAccuracy, 0.7512)
    XCTAssertEqual(numbers.searchWinner.autoencoderTestMSE, 0.0642)
    XCTAssertEqual(numbers.bestTrial, 3)
    XCTAssertEqual(numbers.collapsedTrials, 2)
    let md = try String(contentsOfFile: folder + "/report.md", encoding: .utf8)
    XCTAssertTrue(
      md.contains("| classifier test accuracy | \(SeedReport.classifierTestAccuracy.written) | ≥ 74% | 75.1% | meets | 29.3% | misses |"), md)
    XCTAssertTrue(md.contains("| autoencoder test MSE (mean over pixels) | about 0.02 | ≤ 0.025 | 0.0241 | meets | 0.0642 | misses |"), md)
    XCTAssertTrue(md.contains("the published configuration reproduces all three figures"), md)
    XCTAssertTrue(md.contains("the search winner (trial 3) meets 1 of 3"), md)
    XCTAssertTrue(md.contains("2 of 3 search trials learned no more than the mean image"), md)
    XCTAssertTrue(md.contains("with L2 2.0e-02, 5.0e-03; the others drew L2 9.9e-04"), md)
    XCTAssertTrue(md.contains("Search: 3 random trials"), "the prose reads the preset")
    XCTAssertTrue(md.contains("VAE: 5 epochs, batch 500"), "the prose reads the preset")
    XCTAssertTrue(md.contains("](published/embedding/tsne.svg)") && md.contains("](embedding/tsne.svg)"), "both arms' figures")
    XCTAssertTrue(
      md.contains(
        "published configuration: PCA of 60000 codes in 0.41 s, t-SNE of 60000 by FFT interpolation in 33.0 s on 1 thread, 2 by its end (exact neighbours 4.7 s, affinities 1.1 s; KL 2.4400, 10-NN 0.7900)"
      ), md)
    XCTAssertTrue(md.contains("embedding timings not recorded"), "a folder without them says so")
    XCTAssertTrue(FileManager.default.fileExists(atPath: html))
  }

  func testAStageThatDidNotFinishIsNamed() throws {
    try FileManager.default.removeItem(atPath: folder + "/published/vae/metrics.json")
    XCTAssertThrowsError(try report().write(seconds: 1)) {
      XCTAssertTrue("\($0)".contains("published/vae/metrics.json: no number test_mse"), "\($0)")
    }
  }
}
