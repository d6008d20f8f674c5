import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// Checkpoints through the command line: byte-reproducible files, bit-identical resume, crash
/// safety under SIGKILL, and the evaluate, inspect and diff commands.
final class CheckpointCommandTests: LatentLabCommandTestCase {
  func sha256(_ path: String) throws -> String { String(try runChildProcess("sha256sum", [path]).output.prefix(64)) }

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

  /// Whether strace can trace here (ptrace allowed): it kills or fails a chosen system call.
  func straceWorks() -> Bool { (try? runChildProcess("strace", ["-o", "/dev/null", "/bin/true"]).status) == 0 }

  func testKilledWriterLeavesThePreviousCheckpointIntact() throws {
    guard straceWorks() else { throw XCTSkip("strace (make test installs it) cannot trace here") }
    XCTAssertEqual(try train("run", epochs: 1).status, 0)
    let folder = directory + "/run"
    let before = try sha256(folder + "/checkpoint.h5")

    // Resume to two epochs, killed by SIGKILL at the 50th of the writer's ~100 pwrite calls:
    // half-way through the temporary file (strace injects the signal; no hook in the product).
    let killed = try RunningLatentLab(
      ["train", "autoencoder", "--resume", folder, "--epochs", "2"],
      launcher: ["strace", "-f", "-o", "/dev/null", "-e", "trace=pwrite64", "-e", "inject=pwrite64:signal=KILL:when=50"]
    ).finish()
    // strace ends as its tracee did: killed by SIGKILL.
    XCTAssertEqual(killed.status, SIGKILL, killed.stderr)

    XCTAssertEqual(try sha256(folder + "/checkpoint.h5"), before, "the previous checkpoint is untouched")
    let tempName = try XCTUnwrap(
      try FileManager.default.contentsOfDirectory(atPath: folder).first { $0.contains(".tmp-") }, "the partial file stays aside")
    let inspect = try runLatentLab(["inspect", folder + "/checkpoint.h5"])
    XCTAssertEqual(inspect.status, 0, inspect.stdout)
    XCTAssertTrue(inspect.stdout.contains("verdict: valid LatentLab checkpoint"), inspect.stdout)
    XCTAssertTrue(inspect.stdout.contains("epoch 1,"), inspect.stdout)
    let partial = try runLatentLab(["inspect", folder + "/" + tempName])
    // Unsealed and unfinished: libhdf5 cannot open it, or the reader finds it incomplete.
    XCTAssertFalse(partial.stdout.contains("verdict: valid"), partial.stdout)
    XCTAssertTrue([1, 2].contains(partial.status), partial.stdout + partial.stderr)

    // And the run can still be resumed to the end.
    let resumed = try runLatentLab(["train", "autoencoder", "--resume", folder, "--epochs", "2"])
    XCTAssertEqual(resumed.status, 0, resumed.stderr)
    let evaluated = try runLatentLab(["evaluate", folder + "/checkpoint.h5", "--json"])
    XCTAssertEqual(evaluated.status, 0, evaluated.stderr)
    let metrics = try JSONSerialization.jsonObject(with: Data(evaluated.stdout.utf8)) as! [String: Double]
    XCTAssertGreaterThan(metrics["test_mse"]!, 0)
  }

  func testFullDiskLeavesThePreviousCheckpointAndNoTemporaryFile() throws {
    XCTAssertEqual(try train("run", epochs: 1).status, 0)
    let folder = directory + "/run"
    let before = try sha256(folder + "/checkpoint.h5")
    // A file-size limit of 600 KiB: the second epoch's checkpoint (about 1 MB) cannot be written.
    let limited = try RunningLatentLab(
      ["train", "autoencoder", "--resume", folder, "--epochs", "2"], launcher: ["bash", "-c", "ulimit -f 600; exec \"$@\"", "bash"]
    ).finish()
    XCTAssertEqual(limited.status, 1, limited.stderr)
    XCTAssertTrue(limited.stderr.contains("\(folder)/checkpoint.h5: cannot write the checkpoint"), limited.stderr)
    XCTAssertTrue(limited.stderr.contains("File too large"), limited.stderr)
    XCTAssertEqual(try sha256(folder + "/checkpoint.h5"), before, "the previous checkpoint is untouched")
    XCTAssertEqual(
      try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.contains(".tmp-") }, [], "no temporary file left")
    // The history logged for the epoch that could not be saved is dropped on resuming.
    let resumed = try runLatentLab(["train", "autoencoder", "--resume", folder, "--epochs", "2"])
    XCTAssertEqual(resumed.status, 0, resumed.stderr)
    let history = try String(contentsOfFile: folder + "/history.jsonl", encoding: .utf8).split(separator: "\n")
    XCTAssertEqual(history.count, 2, "\(history)")
  }

  func testInterruptedTrainingSaysHowToContinueAndResumesBitIdentically() throws {
    // 20,000 images: about a second an epoch, so the signal lands inside epoch 2.
    let arguments = ["train", "autoencoder", "--subset", "20000", "--epochs", "3", "--seed", "4"]
    let run = try RunningLatentLab(arguments + ["--out", directory + "/stopped"])
    XCTAssertTrue(run.waitForStandardError(containing: "epoch 2/3 ["), run.stderr)
    run.send(SIGINT)
    let stopped = run.finish()
    XCTAssertEqual(stopped.status, 130, stopped.stderr)
    let command = "latentlab train autoencoder --resume \(directory!)/stopped"
    XCTAssertTrue(stopped.stderr.contains("interrupted by SIGINT. Kept \(directory!)/stopped/checkpoint.h5 (epoch 1 of 3)"), stopped.stderr)
    XCTAssertTrue(stopped.stderr.contains("continue with: \(command)"), stopped.stderr)

    let continued = try runLatentLab(Array(command.split(separator: " ").dropFirst().map(String.init)))
    XCTAssertEqual(continued.status, 0, continued.stderr)
    XCTAssertEqual(try runLatentLab(arguments + ["--out", directory + "/whole"]).status, 0)
    XCTAssertEqual(try sha256(directory + "/stopped/checkpoint.h5"), try sha256(directory + "/whole/checkpoint.h5"))
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
