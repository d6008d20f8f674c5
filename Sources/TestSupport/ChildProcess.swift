import Foundation

/// What a helper program run by a test printed (standard output and error together) and returned.
public struct ChildProcessResult {
  public var status: Int32
  public var output: String
}

/// Runs `executable` (looked up on the PATH) with `arguments` and waits for it.
public func runChildProcess(_ executable: String, _ arguments: [String]) throws -> ChildProcessResult {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
  process.arguments = [executable] + arguments
  let pipe = Pipe()
  process.standardOutput = pipe
  process.standardError = pipe
  try process.run()
  let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
  process.waitUntilExit()
  return ChildProcessResult(status: process.terminationStatus, output: output)
}
