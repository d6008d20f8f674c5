import Foundation
import TestSupport
import XCTest

/// End-to-end runs of `latentlab train` on small subsets of the real data.
final class TrainCommandTests: XCTestCase {

  func temporaryFolder() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("latentlab-run-\(UUID().uuidString)").path
  }

  func requireData() throws {
    guard FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist") else {
      throw XCTSkip("dataset-fashion-mnist is not installed")
    }
  }

  func testAutoencoderRunWritesHistoryConfigAndMetrics() throws {
    try requireData()
    let out = temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: out) }
    let r = try runLatentLab([
      "train", "autoencoder", "--subset", "1000", "--epochs", "2", "--seed", "3", "--threads", "1", "--out", out,
    ])
    XCTAssertEqual(r.status, 0, r.stderr)
    XCTAssertTrue(r.stdout.contains("autoencoder: test MSE"), r.stdout)
    let history = try String(contentsOfFile: out + "/history.jsonl", encoding: .utf8).split(separator: "\n")
    XCTAssertEqual(history.count, 2)
    let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/metrics.json"))) as! [String: Double]
    let mse = try XCTUnwrap(metrics["test_mse"])
    XCTAssertTrue(mse > 0 && mse < 0.2, "test MSE \(mse) after two small epochs")
    let config = try String(contentsOfFile: out + "/config.json", encoding: .utf8)
    XCTAssertTrue(config.contains("\"conv3Padding\" : 1") && config.contains("\"train_images\" : 900"), config)
    XCTAssertTrue(config.contains("c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"), config)

    // The same seed gives the same history, bit for bit, with 2 threads.
    let again = temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: again) }
    let r2 = try runLatentLab([
      "train", "autoencoder", "--subset", "1000", "--epochs", "2", "--seed", "3", "--threads", "2", "--out", again,
    ])
    XCTAssertEqual(r2.status, 0, r2.stderr)
    let losses = { (path: String) throws -> [Double] in
      try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
        (try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["train_loss"] as! Double
      }
    }
    XCTAssertEqual(try losses(out + "/history.jsonl"), try losses(again + "/history.jsonl"))
  }

  func testClassifierRunReportsAccuracyAndConfusionMatrix() throws {
    try requireData()
    let out = temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: out) }
    let r = try runLatentLab([
      "train", "classifier", "--subset", "1000", "--ae-epochs", "1", "--epochs", "3", "--out", out,
    ])
    XCTAssertEqual(r.status, 0, r.stderr)
    XCTAssertTrue(r.stdout.contains("classifier: test accuracy"), r.stdout)
    XCTAssertTrue(r.stdout.contains("Ankle boot"), r.stdout)
    let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/metrics.json"))) as! [String: Any]
    let matrix = try XCTUnwrap(metrics["confusion_matrix"] as? [[Int]])
    XCTAssertEqual(matrix.joined().reduce(0, +), 10_000)
  }

  func testBadOptionsAndDivergenceExitNonZero() throws {
    try requireData()
    let unknown = try runLatentLab(["train", "autoencoder", "--optimizer", "adagrad", "--subset", "100"])
    XCTAssertNotEqual(unknown.status, 0)
    XCTAssertTrue(unknown.stderr.contains("optimizer = \"adagrad\", expected adam, sgd or rmsprop"), unknown.stderr)
    let padding = try runLatentLab(["train", "vae", "--conv3-padding", "2"])
    XCTAssertNotEqual(padding.status, 0)
    XCTAssertTrue(padding.stderr.contains("conv3Padding = 2, expected 0 or 1"), padding.stderr)
    let channels = try runLatentLab(["train", "autoencoder", "--channels", "8,17"])
    XCTAssertNotEqual(channels.status, 0)
    XCTAssertTrue(channels.stderr.contains("--channels must be three integers"), channels.stderr)

    let out = temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: out) }
    let diverged = try runLatentLab([
      "train", "autoencoder", "--optimizer", "sgd", "--lr", "1e30", "--subset", "500", "--epochs", "1", "--out", out,
    ])
    XCTAssertNotEqual(diverged.status, 0)
    XCTAssertTrue(diverged.stderr.contains("training diverged"), diverged.stderr)
    XCTAssertTrue(diverged.stderr.contains("epoch 1, step"), diverged.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/metrics.json"), "no results of a diverged run")
  }
}
