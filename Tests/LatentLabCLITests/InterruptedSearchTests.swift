import Foundation
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// A search stopped by SIGTERM, then refused its storage by a file-size limit, then finished:
/// nothing kept is lost or half-written, and the finished study equals one run without
/// interruption (oracle: that run's trial records, wall times aside).
final class InterruptedSearchTests: LatentLabCommandTestCase {
  /// The trial records of a study folder, without their wall times.
  func records(_ folder: String) throws -> [NSDictionary] {
    let text = try String(contentsOfFile: folder + "/study.jsonl", encoding: .utf8)
    XCTAssertTrue(text.isEmpty || text.hasSuffix("\n"), "only whole lines: \(text)")
    return try text.split(separator: "\n").map { line in
      let record = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
      return record.filter { $0.key != "seconds" } as NSDictionary
    }
  }

  func testStoppedAndFullSearchesLoseNothingAndFinishTheSame() throws {
    let folder = directory + "/stopped"
    // One worker (one thread): trial 2's first fold starts once trial 1's record is written.
    // (With two, trials 1 and 2 run side by side; ReproduceCommandTests interrupts that.)
    let arguments = ["search", "--preset", "quick", "--threads", "1", "--out", folder]
    let run = try RunningLatentLab(arguments)
    XCTAssertTrue(run.waitForStandardError(containing: "trial 2/3 fold 1/3"), run.stderr)
    run.send(SIGTERM)
    let stopped = run.finish()
    XCTAssertEqual(stopped.status, 143, stopped.stderr)
    XCTAssertTrue(stopped.stderr.contains("interrupted by SIGTERM. Kept 1 finished trial(s) in \(folder)/study.jsonl"), stopped.stderr)
    XCTAssertTrue(stopped.stderr.contains("continue with: latentlab search --preset quick --threads 1 --out \(folder)"), stopped.stderr)
    XCTAssertEqual(try records(folder).count, 1)

    // 1 KiB per file: the study's database cannot grow, so nothing can be claimed or recorded.
    let limited = try RunningLatentLab(arguments, launcher: ["bash", "-c", "ulimit -f 1; exec \"$@\"", "bash"]).finish()
    XCTAssertNotEqual(limited.status, 0, limited.stderr)
    XCTAssertTrue(limited.stderr.contains("\(folder)/studies.sqlite: "), limited.stderr)
    XCTAssertEqual(try records(folder).count, 1, "the study is as the stopped run left it")

    let finished = try runLatentLab(arguments)
    XCTAssertEqual(finished.status, 0, finished.stderr)
    XCTAssertTrue(finished.stdout.contains("resuming the study: 1 of 3 trials already finished"), finished.stdout)
    XCTAssertEqual(try runLatentLab(["search", "--preset", "quick", "--out", directory + "/whole"]).status, 0)
    XCTAssertEqual(try records(folder), try records(directory + "/whole"))
  }
}
