import Foundation
import TestSupport
import XCTest

/// The main job end to end with `--preset quick`: every stage of both arms, the report, re-runs
/// that skip finished stages, and a folder of another run refused.
final class ReproduceCommandTests: XCTestCase {
  func testQuickPresetProducesTheReportAndResumes() throws {
    guard FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist") else {
      throw XCTSkip("dataset-fashion-mnist is not installed")
    }
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("reproduce-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: out) }
    let r = try runLatentLab(["reproduce", "--preset", "quick", "--seed", "1", "--out", out])
    XCTAssertEqual(r.status, 0, r.stderr)
    XCTAssertTrue(r.stdout.contains("The report is \(out)/report.html"), r.stdout)

    // The numbers: finite and within loose bounds for 6,000 images and a few epochs. With so
    // little training the searched encoder can stay near the mean image (test MSE ~0.09), and
    // the classifier on its codes near chance, so the classifier's bound is only "not below
    // chance"; the models' own tests check that they learn.
    let numbers = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/report.json"))) as? [String: Any])
    for arm in ["published", "search_winner"] {
      let figures = try XCTUnwrap(numbers[arm] as? [String: Double], arm)
      let ae = try XCTUnwrap(figures["autoencoder_test_mse"]), vae = try XCTUnwrap(figures["vae_test_mse"])
      let accuracy = try XCTUnwrap(figures["classifier_test_accuracy"])
      XCTAssertTrue(ae > 0 && ae < 0.12, "\(arm): autoencoder test MSE \(ae)")
      XCTAssertTrue(vae > 0 && vae < 0.15, "\(arm): VAE test MSE \(vae)")
      XCTAssertTrue(accuracy >= 0.09 && accuracy <= 1, "\(arm): classifier accuracy \(accuracy) (chance: 0.10)")
    }
    // The published configuration learns more than the mean image even on the quick preset's
    // 6,000 images and 4 epochs (seed 1: MSE 0.058 against the mean image's 0.087, and a
    // classifier at 53% where chance is 10%).
    let published = try XCTUnwrap(numbers["published"] as? [String: Double])
    let meanImage = try XCTUnwrap(numbers["mean_image_mse"] as? Double)
    XCTAssertLessThan(try XCTUnwrap(published["autoencoder_test_mse"]), 0.8 * meanImage)
    XCTAssertGreaterThan(try XCTUnwrap(published["classifier_test_accuracy"]), 0.3)

    // Every file the report links exists; the HTML is self-contained.
    let markdown = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
    let links = markdown.components(separatedBy: "](").dropFirst().map { String($0.prefix { $0 != ")" }) }
    XCTAssertGreaterThanOrEqual(links.count, 22, "both arms' figures")
    for link in links { XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + link), link) }
    let html = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
    XCTAssertTrue(html.contains("data:image/png;base64,") && html.contains("<svg"))
    XCTAssertFalse(html.contains("src=\"autoencoder/"), "figures are inlined, not linked")
    XCTAssertTrue(markdown.contains("| classifier test accuracy | 75% | ≥ 74% |"), markdown)
    XCTAssertTrue(markdown.contains("From seed 1, the published configuration"), markdown)
    XCTAssertTrue(markdown.contains("PCA of 6000 codes in "), "the report says how long the PCA took")
    XCTAssertTrue(markdown.contains("t-SNE of 1000 by Barnes-Hut in "), "the quick preset keeps its small map")

    // A re-run skips every stage and rewrites only the report.
    let again = try runLatentLab(["reproduce", "--preset", "quick", "--seed", "1", "--out", out])
    XCTAssertEqual(again.status, 0, again.stderr)
    XCTAssertFalse(again.stdout.contains("== search"), again.stdout)
    XCTAssertFalse(again.stdout.contains(": autoencoder,"), again.stdout)

    // Another seed, or an unknown preset, is refused and nothing is lost.
    let before = try Data(contentsOf: URL(fileURLWithPath: out + "/autoencoder/checkpoint.h5"))
    let other = try runLatentLab(["reproduce", "--preset", "quick", "--seed", "2", "--out", out])
    XCTAssertNotEqual(other.status, 0)
    XCTAssertTrue(other.stderr.contains("holds a run of preset quick, seed 1"), other.stderr)
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out + "/autoencoder/checkpoint.h5")), before)
    let unknown = try runLatentLab(["reproduce", "--preset", "full", "--out", out])
    XCTAssertNotEqual(unknown.status, 0)
    XCTAssertTrue(unknown.stderr.contains("unknown preset \"full\"; expected seed or quick"), unknown.stderr)
  }

  /// One thread runs every stage in turn; two run the published arm beside the search and the
  /// winner's embedding beside its classifier and VAE, each stage on fewer threads; five give
  /// the published arm the two threads beyond the quick search's three workers, and split an
  /// arm's stages 2 + 3. Oracle: the one-thread run, in the same folder; tolerance: none,
  /// every checkpoint, map and figure the same bytes, and the same files.
  func testMoreThreadsGiveTheFilesOfOneThread() throws {
    guard FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist") else {
      throw XCTSkip("dataset-fashion-mnist is not installed")
    }
    let base = FileManager.default.temporaryDirectory.appendingPathComponent("reproduce-lanes-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: base) }
    let out = base + "/run", files = FileManager.default
    var runs: [String: [String: Data]] = [:]
    for threads in ["1", "2", "5"] {
      let r = try runLatentLab(["reproduce", "--preset", "quick", "--seed", "3", "--threads", threads, "--out", out])
      XCTAssertEqual(r.status, 0, r.stderr)
      let kept = base + "/threads" + threads
      try files.moveItem(atPath: out, toPath: kept)
      let results = try XCTUnwrap(files.subpathsOfDirectory(atPath: kept)).filter {
        ["h5", "csv", "png", "svg"].contains(($0 as NSString).pathExtension)
      }
      runs[threads] = try Dictionary(uniqueKeysWithValues: results.map { ($0, try Data(contentsOf: URL(fileURLWithPath: kept + "/" + $0))) })
    }
    let one = try XCTUnwrap(runs["1"])
    XCTAssertGreaterThanOrEqual(one.count, 25, "both arms' checkpoints, maps and figures")
    for threads in ["2", "5"] {
      let other = try XCTUnwrap(runs[threads])
      XCTAssertEqual(Set(one.keys), Set(other.keys), "\(threads) threads")
      for (path, bytes) in one.sorted(by: { $0.key < $1.key }) { XCTAssertEqual(other[path], bytes, "\(threads) threads: \(path)") }
    }
  }

  /// A t-SNE method other than bh, fft or auto is a usage error (exit 64) before anything runs.
  func testAnUnknownTSNEAlgorithmIsAUsageError() throws {
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("reproduce-bad-\(UUID().uuidString)").path
    let r = try runLatentLab(["reproduce", "--preset", "quick", "--tsne-algorithm", "fast", "--out", out])
    XCTAssertEqual(r.status, 64, r.stderr)
    XCTAssertTrue(r.stderr.contains("--tsne-algorithm must be bh, fft or auto, got fast"), r.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing was created")
  }

  /// Ctrl-C in the search stage: exit 130, what was kept and the command that continues;
  /// that command then finishes the run, resuming the study where it stopped.
  func testInterruptedRunSaysHowToContinueAndContinues() throws {
    guard FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist") else {
      throw XCTSkip("dataset-fashion-mnist is not installed")
    }
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("reproduce-stop-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: out) }
    // One thread, so one search worker: trial 2 starts only after trial 1 is recorded (with two,
    // trials 1 and 2 run side by side and how many are finished at the signal is a race).
    let arguments = ["reproduce", "--preset", "quick", "--seed", "2", "--threads", "1", "--out", out]
    let run = try RunningLatentLab(arguments)
    XCTAssertTrue(run.waitForStandardError(containing: "trial 2/3 fold 1/3"), run.stderr)
    run.send(SIGINT)
    let stopped = run.finish()
    XCTAssertEqual(stopped.status, 130, stopped.stderr)
    XCTAssertTrue(
      stopped.stderr.contains("interrupted by SIGINT. Every finished stage, search trial and training epoch is kept in \(out);"
        + " continue with: latentlab reproduce --preset quick --seed 2 --threads 1 --out \(out)"), stopped.stderr)
    let continued = try runLatentLab(arguments)
    XCTAssertEqual(continued.status, 0, continued.stderr)
    XCTAssertTrue(continued.stdout.contains("resuming the study: 1 of 3 trials already finished"), continued.stdout)
    XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/report.html"))
  }

  /// With two threads the search runs two single-thread workers side by side: Ctrl-C after a
  /// trial is recorded stops both (exit 130), the held trial goes back, and the same command
  /// finishes the study from what was recorded, with the results of an uninterrupted run.
  func testTwoSearchWorkersStopTogetherAndTheStudyResumes() throws {
    guard FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist") else {
      throw XCTSkip("dataset-fashion-mnist is not installed")
    }
    let base = FileManager.default.temporaryDirectory.appendingPathComponent("search-two-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: base) }
    let arguments = ["search", "--preset", "quick", "--seed", "2", "--threads", "2", "--out", base + "/a"]
    let run = try RunningLatentLab(arguments)
    XCTAssertTrue(run.waitForStandardOutput(containing: ": mean validation MSE"), run.stdout)
    run.send(SIGINT)
    let stopped = run.finish()
    XCTAssertEqual(stopped.status, 130, stopped.stderr)
    let continued = try runLatentLab(arguments)
    XCTAssertEqual(continued.status, 0, continued.stderr)
    XCTAssertTrue(continued.stdout.contains("resuming the study:"), continued.stdout)
    let whole = try runLatentLab(["search", "--preset", "quick", "--seed", "2", "--threads", "1", "--out", base + "/b"])
    XCTAssertEqual(whole.status, 0, whole.stderr)
    // Each trial's number and fold MSEs from study.jsonl (its seconds differ from run to run).
    let results = try [base + "/a", base + "/b"].map { folder in
      try String(contentsOfFile: folder + "/study.jsonl", encoding: .utf8).split(separator: "\n").map { line in
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        return "\(object["trial"] ?? "?") \(object["foldMSE"] ?? "?")"
      }
    }
    XCTAssertEqual(results[0].count, 3)
    XCTAssertEqual(results[0], results[1], "two workers, interrupted and resumed, against one worker straight through")
  }
}
