import Foundation
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// What a run of the `latentlab` binary printed and returned.
struct CommandResult {
  var status: Int32
  var stdout: String
  var stderr: String
}

/// Runs the `latentlab` executable built beside the test bundle, with `LATENTLAB_DATA` removed
/// from the environment unless given.
func runLatentLab(_ arguments: [String], environment: [String: String] = [:]) throws -> CommandResult {
  let binary = Bundle.main.bundleURL.appendingPathComponent("latentlab")
  guard FileManager.default.isExecutableFile(atPath: binary.path) else {
    XCTFail("no latentlab binary at \(binary.path); build the package first")
    return CommandResult(status: -1, stdout: "", stderr: "")
  }
  let process = Process()
  process.executableURL = binary
  process.arguments = arguments
  var env = ProcessInfo.processInfo.environment
  env.removeValue(forKey: "LATENTLAB_DATA")
  for (k, v) in environment { env[k] = v }
  process.environment = env
  let out = Pipe()
  let err = Pipe()
  process.standardOutput = out
  process.standardError = err
  try process.run()
  // Read standard error on another thread so that neither pipe fills up and blocks the child.
  final class Collected: @unchecked Sendable { var data = Data() }
  let errors = Collected()
  let group = DispatchGroup()
  group.enter()
  DispatchQueue.global().async {
    errors.data = err.fileHandleForReading.readDataToEndOfFile()
    group.leave()
  }
  let outData = out.fileHandleForReading.readDataToEndOfFile()
  group.wait()
  process.waitUntilExit()
  return CommandResult(
    status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
    stderr: String(decoding: errors.data, as: UTF8.self))
}

/// A `latentlab` process running in the background, whose standard error the test reads as
/// it comes, to act at a point it chooses (no sleeping, no polling).
final class RunningLatentLab {
  let process = Process()
  private let errors = Pipe()
  private let output = Pipe()
  /// Standard error read so far.
  private(set) var stderr = ""
  /// Standard output read so far (by `waitForStandardOutput`).
  private(set) var stdout = ""

  /// Starts `latentlab` with `arguments`, or, with `launcher`, runs `launcher + [binary] + arguments`.
  init(_ arguments: [String], launcher: [String] = []) throws {
    let binary = Bundle.main.bundleURL.appendingPathComponent("latentlab").path
    if launcher.isEmpty {
      process.executableURL = URL(fileURLWithPath: binary)
      process.arguments = arguments
    } else {
      process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
      process.arguments = launcher + [binary] + arguments
    }
    var env = ProcessInfo.processInfo.environment
    env.removeValue(forKey: "LATENTLAB_DATA")
    process.environment = env
    process.standardError = errors
    process.standardOutput = output
    try process.run()
  }

  /// Blocks until standard error holds `text`; false when the process ended first.
  func waitForStandardError(containing text: String) -> Bool {
    while !stderr.contains(text) {
      let chunk = errors.fileHandleForReading.availableData
      if chunk.isEmpty { return false }
      stderr += String(decoding: chunk, as: UTF8.self)
    }
    return true
  }

  /// Blocks until standard output holds `text`; false when the process ended first. (Reading
  /// one pipe while the other fills could block the child: use with commands whose standard
  /// error stays small, or after their standard error has been read.)
  func waitForStandardOutput(containing text: String) -> Bool {
    while !stdout.contains(text) {
      let chunk = output.fileHandleForReading.availableData
      if chunk.isEmpty { return false }
      stdout += String(decoding: chunk, as: UTF8.self)
    }
    return true
  }

  /// Sends `signal` to the process.
  func send(_ signal: Int32) { kill(process.processIdentifier, signal) }

  /// Waits for the end; returns the exit status and everything printed.
  func finish() -> CommandResult {
    let rest = errors.fileHandleForReading.readDataToEndOfFile()
    stderr += String(decoding: rest, as: UTF8.self)
    let out = output.fileHandleForReading.readDataToEndOfFile()
    stdout += String(decoding: out, as: UTF8.self)
    process.waitUntilExit()
    return CommandResult(status: process.terminationStatus, stdout: stdout, stderr: stderr)
  }
}

/// A test of the built binary on the real data set, each test in a fresh folder (`directory`),
/// removed afterwards; skipped where Debian's dataset-fashion-mnist is not installed.
class LatentLabCommandTestCase: XCTestCase {
  var directory: String!

  override func setUpWithError() throws {
    guard FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist") else {
      throw XCTSkip("dataset-fashion-mnist is not installed")
    }
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("\(Self.self)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { if let directory { try? FileManager.default.removeItem(atPath: directory) } }
}
