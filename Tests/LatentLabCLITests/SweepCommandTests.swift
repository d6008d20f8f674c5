import Foundation
import TestSupport
import XCTest

/// A three-seed quick sweep end to end: each seed's reproduction in its folder, and the
/// sweep's numbers checked against those runs' own reports (the per-seed rows exactly, the
/// means recomputed), and a re-run that redoes nothing. Then the same sweep on a shared
/// storage with a second worker process serving every seed's study: the same rows, bit for bit.
final class SweepCommandTests: XCTestCase {
  func testAQuickSweepSummarisesItsSeedsRuns() throws {
    guard FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist") else {
      throw XCTSkip("dataset-fashion-mnist is not installed")
    }
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("sweep-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: out) }
    let r = try runLatentLab(["sweep", "--preset", "quick", "--seeds", "1-3", "--out", out])
    XCTAssertEqual(r.status, 0, r.stderr)
    let summary = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/sweep.json"))) as? [String: Any])
    let seeds = try XCTUnwrap(summary["seeds"] as? [[String: Any]])
    XCTAssertEqual(seeds.compactMap { $0["seed"] as? Int }, [1, 2, 3])
    var published: [Double] = []
    for row in seeds {
      let seed = try XCTUnwrap(row["seed"] as? Int)
      let own = try XCTUnwrap(
        JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/seed-\(seed)/report.json"))) as? NSDictionary)
      XCTAssertEqual(row["numbers"] as? NSDictionary, own, "seed \(seed): the sweep's row is that run's report")
      published.append(try XCTUnwrap((own["published"] as? [String: Double])?["autoencoder_test_mse"]))
    }
    let statistics = try XCTUnwrap(summary["statistics"] as? [String: [String: Any]])
    let mean = try XCTUnwrap(statistics["published_autoencoder_test_mse"]?["mean"] as? Double)
    XCTAssertEqual(mean, published.reduce(0, +) / 3, accuracy: 1e-12)
    let found = try XCTUnwrap(summary["search_found_it"] as? Int)
    XCTAssertTrue((0...3).contains(found))
    for file in ["sweep.md", "sweep.html", "published_autoencoder_test_mse.svg"] {
      XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + file), file)
    }
    let again = try runLatentLab(["sweep", "--preset", "quick", "--seeds", "1-3", "--out", out])
    XCTAssertEqual(again.status, 0, again.stderr)
    XCTAssertFalse(again.stdout.contains("== search"), "a finished sweep redoes nothing")

    let shared = out + "/shared"
    let sweep = try RunningLatentLab(
      ["sweep", "--preset", "quick", "--seeds", "1-3", "--out", shared, "--storage", shared + "/studies", "--threads", "1"])
    XCTAssertTrue(sweep.waitForStandardOutput(containing: "other machines may run"), sweep.stdout + sweep.stderr)
    let worker = try runLatentLab(["worker", "--storage", shared + "/studies", "--study", "quick-seed*", "--threads", "1"])
    XCTAssertEqual(worker.status, 0, worker.stderr)
    XCTAssertTrue(worker.stdout.contains("3 studies finished"), worker.stdout)
    let swept = sweep.finish()
    XCTAssertEqual(swept.status, 0, swept.stderr)
    let sharedSummary = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: shared + "/sweep.json"))) as? [String: Any])
    XCTAssertEqual(
      withoutWallTimes(sharedSummary["seeds"] as Any) as? NSArray, withoutWallTimes(summary["seeds"] as Any) as? NSArray,
      "two workers, one storage: the same rows (wall times aside)")
  }

  /// `value` with every `seconds` entry of every dictionary in it removed.
  func withoutWallTimes(_ value: Any) -> Any {
    if let dictionary = value as? [String: Any] {
      return dictionary.filter { $0.key != "seconds" }.mapValues(withoutWallTimes) as NSDictionary
    }
    if let array = value as? [Any] { return array.map(withoutWallTimes) as NSArray }
    return value
  }
}
