import Foundation
import XCTest

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
