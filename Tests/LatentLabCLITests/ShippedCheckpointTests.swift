import Foundation
import TestSupport
import XCTest

/// The trained models in `Checkpoints/` (`make checkpoints`): each loads and evaluates to the
/// metrics recorded beside it, and retraining from seed 0 gives the same model.
///
/// Tolerances: evaluation, 1e-6 relative on MSE and 5 test images (0.0005) on accuracy (OpenBLAS
/// picks its kernels by CPU, so other CPUs may differ in the last bits). Retraining: the same
/// bytes are reported, and asserted on the test MSE within 2% and the accuracy within 1
/// point, until the same bytes hold on every CPU type.
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
    let same = try sha256(autoencoder) == (try sha256(checkpoints + "/autoencoder.h5"))
    print("retrained autoencoder: \(same ? "the same bytes as" : "other bytes than") Checkpoints/autoencoder.h5")
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
      ["diff", directory + "/classifier/checkpoint.h5", checkpoints + "/classifier.h5", "--ignore-attribute", "training"])
    print("retrained classifier against Checkpoints/classifier.h5: diff exit \(diff.status)")
    XCTAssertNotEqual(diff.status, 2, diff.stdout)
  }
}
