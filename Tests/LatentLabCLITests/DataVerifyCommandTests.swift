import Foundation
import TestSupport
import XCTest

/// End-to-end tests of the built `latentlab` binary.
final class DataVerifyCommandTests: XCTestCase {
  func latentlab(_ arguments: [String], environment: [String: String] = [:]) throws -> CommandResult {
    try runLatentLab(arguments, environment: environment)
  }

  func testHelpNamesTheCommands() throws {
    let r = try latentlab(["--help"])
    XCTAssertEqual(r.status, 0)
    XCTAssertTrue(r.stdout.contains("data"), r.stdout)
    XCTAssertTrue(r.stdout.contains("LATENTLAB_DATA"), r.stdout)
    let verify = try latentlab(["data", "verify", "--help"])
    XCTAssertEqual(verify.status, 0)
    XCTAssertTrue(verify.stdout.contains("--data <dir>"), verify.stdout)
  }

  func testBadMagicExitsNonZeroNamingTheFile() throws {
    let dir = Fixture.path("idx/bad-magic-set")
    let r = try latentlab(["data", "verify", "--data", dir])
    XCTAssertNotEqual(r.status, 0)
    XCTAssertTrue(r.stderr.contains("\(dir)/train-images-idx3-ubyte: not an IDX file"), r.stderr)
  }

  func testMissingFilesAndChecksumMismatchAreReported() throws {
    let missing = try latentlab(["data", "verify"], environment: ["LATENTLAB_DATA": "/nonexistent/dir"])
    XCTAssertNotEqual(missing.status, 0)
    XCTAssertTrue(missing.stderr.contains("/nonexistent/dir/train-images-idx3-ubyte: no such file"), missing.stderr)

    // The tiny fixture is well-formed but is not the published data set.
    let tiny = Fixture.path("idx/tiny")
    let r = try latentlab(["data", "verify", "--data", tiny])
    XCTAssertNotEqual(r.status, 0)
    XCTAssertTrue(r.stderr.contains("\(tiny)/train-images-idx3-ubyte.gz: SHA-256"), r.stderr)
    XCTAssertTrue(r.stderr.contains("expected c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"), r.stderr)
  }

  func testVerifiesTheRealDataSet() throws {
    guard FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist") else {
      throw XCTSkip("dataset-fashion-mnist is not installed")
    }
    let r = try latentlab(["data", "verify"])
    XCTAssertEqual(r.status, 0, r.stderr)
    XCTAssertTrue(r.stdout.contains("train: 60000 images of 1x28x28, 60000 labels"), r.stdout)
    XCTAssertTrue(r.stdout.contains("test: 10000 images"), r.stdout)
    XCTAssertTrue(r.stdout.contains("c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"), r.stdout)
    XCTAssertTrue(r.stdout.contains("All four files verified."), r.stdout)
  }
}
