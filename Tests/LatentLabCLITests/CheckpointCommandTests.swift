import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// Checkpoints through the command line: byte-reproducible files, bit-identical resume, crash
/// safety under SIGKILL, and the evaluate, inspect and diff commands.
final class CheckpointCommandTests: XCTestCase {
  var directory: String!

  override func setUpWithError() throws {
    guard FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist") else {
      throw XCTSkip("dataset-fashion-mnist is not installed")
    }
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-cli-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { if let directory { try? FileManager.default.removeItem(atPath: directory) } }

  func sha256(_ path: String) throws -> String {
    let r = Process()
    r.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    r.arguments = [path]
    let pipe = Pipe()
    r.standardOutput = pipe
    try r.run()
    let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    r.waitUntilExit()
    return String(out.prefix(64))
  }

  func train(_ out: String, epochs: Int, seed: Int = 4, extra: [String] = []) throws -> CommandResult {
    try runLatentLab(
      ["train", "autoencoder", "--subset", "1200", "--epochs", "\(epochs)", "--seed", "\(seed)", "--out", directory + "/" + out]
        + extra)
  }

  func testSameSeedSameFileAndResumeIsBitIdentical() throws {
    XCTAssertEqual(try train("a", epochs: 3).status, 0)
    XCTAssertEqual(try train("b", epochs: 3, extra: ["--threads", "1"]).status, 0)
    let a = try sha256(directory + "/a/checkpoint.h5")
    XCTAssertEqual(a, try sha256(directory + "/b/checkpoint.h5"), "same seed and settings, any thread count: same bytes")

    // Interrupted after one epoch, then resumed to three: the same file as the uninterrupted run.
    XCTAssertEqual(try train("c", epochs: 1).status, 0)
    let resumed = try runLatentLab(["train", "autoencoder", "--resume", directory + "/c", "--epochs", "3"])
    XCTAssertEqual(resumed.status, 0, resumed.stderr)
    XCTAssertTrue(resumed.stdout.contains("resuming autoencoder from epoch 1 of 3"), resumed.stdout)
    XCTAssertEqual(a, try sha256(directory + "/c/checkpoint.h5"))
    let history = try String(contentsOfFile: directory + "/c/history.jsonl", encoding: .utf8).split(separator: "\n")
    XCTAssertEqual(history.count, 3)

    // Another seed gives another model; diff says where.
    XCTAssertEqual(try train("d", epochs: 1, seed: 5).status, 0)
    let same = try runLatentLab(["diff", directory + "/a/checkpoint.h5", directory + "/c/checkpoint.h5"])
    XCTAssertEqual(same.status, 0, same.stdout)
    XCTAssertTrue(same.stdout.contains("agree"), same.stdout)
    let other = try runLatentLab(["diff", directory + "/a/checkpoint.h5", directory + "/d/checkpoint.h5", "--atol", "1e-6"])
    XCTAssertEqual(other.status, 1, other.stdout)
    XCTAssertTrue(other.stdout.contains("/state_dict/encoder.cnn.0.weight:"), other.stdout)
    XCTAssertTrue(other.stdout.contains("/ @seed: 4 vs 5"), other.stdout)
    XCTAssertTrue(other.stdout.contains("/history/epoch: int64 [3] vs int64 [1]"), other.stdout)
  }

  func testKilledWriterLeavesThePreviousCheckpointIntact() throws {
    XCTAssertEqual(try train("run", epochs: 1).status, 0)
    let folder = directory + "/run"
    let before = try sha256(folder + "/checkpoint.h5")

    // Resume to two epochs with the writer stalled half-way through the temporary file, then kill it.
    let process = Process()
    process.executableURL = Bundle.main.bundleURL.appendingPathComponent("latentlab")
    process.arguments = ["train", "autoencoder", "--resume", folder, "--epochs", "2"]
    var environment = ProcessInfo.processInfo.environment
    environment["LATENTLAB_TEST_STALL_CHECKPOINT_WRITE"] = "60"
    process.environment = environment
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    let deadline = Date().addingTimeInterval(60)
    var temporary: String?
    while Date() < deadline, temporary == nil {
      temporary = try FileManager.default.contentsOfDirectory(atPath: folder).first { $0.contains(".tmp-") }
      if temporary == nil { Thread.sleep(forTimeInterval: 0.05) }
    }
    let tempName = try XCTUnwrap(temporary, "the writer never started its temporary file")
    Thread.sleep(forTimeInterval: 0.3)  // well inside the stall
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    XCTAssertEqual(process.terminationReason, .uncaughtSignal)

    XCTAssertEqual(try sha256(folder + "/checkpoint.h5"), before, "the previous checkpoint is untouched")
    XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/" + tempName), "the partial file stays aside")
    let inspect = try runLatentLab(["inspect", folder + "/checkpoint.h5"])
    XCTAssertTrue(inspect.stdout.contains("verdict: valid LatentLab checkpoint"), inspect.stdout)
    XCTAssertTrue(inspect.stdout.contains("epoch 1,"), inspect.stdout)
    let partial = try runLatentLab(["inspect", folder + "/" + tempName])
    // Either libhdf5 cannot even open it, or the reader finds it incomplete: never valid.
    XCTAssertFalse(partial.stdout.contains("verdict: valid"), partial.stdout)
    XCTAssertTrue(
      partial.status != 0 || partial.stdout.contains("/progress: missing (the file is incomplete)"),
      partial.stdout + partial.stderr)

    // And the run can still be resumed to the end.
    let resumed = try runLatentLab(["train", "autoencoder", "--resume", folder, "--epochs", "2"])
    XCTAssertEqual(resumed.status, 0, resumed.stderr)
    let evaluated = try runLatentLab(["evaluate", folder + "/checkpoint.h5", "--json"])
    XCTAssertEqual(evaluated.status, 0, evaluated.stderr)
    let metrics = try JSONSerialization.jsonObject(with: Data(evaluated.stdout.utf8)) as! [String: Double]
    XCTAssertGreaterThan(metrics["test_mse"]!, 0)
  }

  func testInspectJSONAndErrors() throws {
    XCTAssertEqual(try train("i", epochs: 1).status, 0)
    let r = try runLatentLab(["inspect", directory + "/i/checkpoint.h5", "--json"])
    XCTAssertEqual(r.status, 0, r.stderr)
    let report = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
    XCTAssertEqual(report["valid"] as? Bool, true)
    let objects = report["objects"] as! [[String: Any]]
    let conv = try XCTUnwrap(objects.first { ($0["path"] as? String) == "/state_dict/decoder.cnn.0.weight" })
    XCTAssertEqual(conv["shape"] as? [Int], [32, 17, 3, 3])
    XCTAssertEqual(conv["type"] as? String, "float32")

    let missing = try runLatentLab(["evaluate", directory + "/nothing.h5"])
    XCTAssertNotEqual(missing.status, 0)
    XCTAssertTrue(missing.stderr.contains("nothing.h5"), missing.stderr)
    let wrongKind = try runLatentLab(["train", "vae", "--resume", directory + "/i"])
    XCTAssertNotEqual(wrongKind.status, 0)
    XCTAssertTrue(wrongKind.stderr.contains("holds a model of kind autoencoder, not vae"), wrongKind.stderr)
  }
}
