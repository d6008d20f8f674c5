import Foundation
import TensorCore
import TestSupport
import XCTest

/// The trained models in `Checkpoints/` (`make checkpoints`): each loads and evaluates to the
/// metrics recorded beside it, and retraining from seed 0 gives the same model.
///
/// Tolerances: evaluation, 1e-6 relative on MSE and 5 test images (0.0005) on accuracy.
/// Retraining on the `avx2`/`avx512` paths, which made the files: the autoencoder's bytes and
/// the classifier's parameters exactly (same seed, same bytes on every CPU of the path); the
/// metrics within 2% and 1 point on the `portable` path, whose sums run in another order.
final class ShippedCheckpointTests: LatentLabCommandTestCase {
  var checkpoints: String { Fixture.packageRoot + "/Checkpoints" }

  func recorded() throws -> [String: [String: Any]] {
    let data = try Data(contentsOf: URL(fileURLWithPath: checkpoints + "/metrics.json"))
    return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: [String: Any]])
  }

  func evaluate(_ path: String) throws -> [String: Any] {
    let r = try runLatentLab(["evaluate", path, "--json"])
    XCTAssertEqual(r.status, 0, r.stderr)
    return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
  }

  func sha256(_ path: String) throws -> String { String(try runChildProcess("sha256sum", [path]).output.prefix(64)) }

  func testEachShippedModelEvaluatesToItsRecordedMetrics() throws {
    let expected = try recorded()
    for model in ["autoencoder", "classifier", "vae"] {
      let path = checkpoints + "/\(model).h5"
      let inspect = try runLatentLab(["inspect", path])
      XCTAssertEqual(inspect.status, 0, "\(model): \(inspect.stdout)")
      XCTAssertTrue(inspect.stdout.contains("verdict: valid LatentLab checkpoint, format version 1: \(model),"), inspect.stdout)
      let got = try evaluate(path)
      let want = try XCTUnwrap(expected[model])
      if let mse = want["test_mse"] as? Double {
        XCTAssertEqual(try XCTUnwrap(got["test_mse"] as? Double), mse, accuracy: mse * 1e-6, model)
      }
      if let accuracy = want["test_accuracy"] as? Double {
        XCTAssertEqual(try XCTUnwrap(got["test_accuracy"] as? Double), accuracy, accuracy: 0.0005, model)
      }
    }
    // The seed report's figures, with the tolerances of the reproduction (autoencoder MSE at
    // most 0.025, classifier at least 74%, VAE MSE at most 0.03).
    XCTAssertLessThanOrEqual(try XCTUnwrap(expected["autoencoder"]?["test_mse"] as? Double), 0.025)
    XCTAssertGreaterThanOrEqual(try XCTUnwrap(expected["classifier"]?["test_accuracy"] as? Double), 0.74)
    XCTAssertLessThanOrEqual(try XCTUnwrap(expected["vae"]?["test_mse"] as? Double), 0.03)
  }

  func testRetrainingFromSeed0GivesTheShippedModels() throws {
    let expected = try recorded()
    let trained = try runLatentLab(
      ["train", "autoencoder", "--seed", "0", "--validation-fraction", "0", "--out", directory + "/autoencoder"])
    XCTAssertEqual(trained.status, 0, trained.stderr)
    let autoencoder = directory + "/autoencoder/checkpoint.h5"
    // Same seed, same bytes, on every CPU of the path (README, Determinism).
    let exact = InstructionSet.selected >= .avx2
    if exact {
      XCTAssertEqual(
        try sha256(autoencoder), try sha256(checkpoints + "/autoencoder.h5"),
        "retrained autoencoder: other bytes than Checkpoints/autoencoder.h5 on \(InstructionSet.cpuModel)")
    }
    let mse = try XCTUnwrap(expected["autoencoder"]?["test_mse"] as? Double)
    XCTAssertEqual(try XCTUnwrap(try evaluate(autoencoder)["test_mse"] as? Double), mse, accuracy: mse * 0.02)

    let classifier = try runLatentLab(
      ["train", "classifier", "--encoder", checkpoints + "/autoencoder.h5", "--seed", "0", "--validation-fraction", "0",
       "--out", directory + "/classifier"])
    XCTAssertEqual(classifier.status, 0, classifier.stderr)
    let accuracy = try XCTUnwrap(expected["classifier"]?["test_accuracy"] as? Double)
    XCTAssertEqual(
      try XCTUnwrap(try evaluate(directory + "/classifier/checkpoint.h5")["test_accuracy"] as? Double), accuracy,
      accuracy: 0.01)
    // The classifier's file records its encoder's path; its parameters must agree.
    let diff = try runLatentLab(
      ["diff", directory + "/classifier/checkpoint.h5", checkpoints + "/classifier.h5", "--ignore-attribute", "training",
       "--rtol", "0", "--atol", "0"])
    if exact {
      XCTAssertEqual(diff.status, 0, "retrained classifier against Checkpoints/classifier.h5, exactly: \(diff.stdout)")
    } else {
      XCTAssertNotEqual(diff.status, 2, diff.stdout)
    }
  }
}
