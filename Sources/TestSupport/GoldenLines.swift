import Foundation

/// A golden text file of exact lines (no tolerance: hashes, fingerprints) under `Fixtures/`,
/// rewritten from the computed lines under `LATENTLAB_RECORD=1`.
public struct GoldenLines {
  public let path: String
  public let recordMode: Bool

  /// The golden file `Fixtures/<relative>`; record mode from the environment unless given.
  public init(_ relative: String, recordMode: Bool? = nil) {
    path = Fixture.path(relative)
    self.recordMode = recordMode ?? GoldenFile.recordModeFromEnvironment
  }

  /// The file's lines (without the trailing newline).
  public func read() throws -> [String] {
    try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
  }

  /// Nil when `lines` equal the file's (or were recorded into it), else what differs.
  public func check(_ lines: [String]) -> String? {
    if recordMode {
      do {
        try FileManager.default.createDirectory(
          atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return nil
      } catch {
        return "could not record \(path): \(error)"
      }
    }
    guard let expected = try? read() else { return "\(path): missing (record it with LATENTLAB_RECORD=1)" }
    guard expected != lines else { return nil }
    let differing = zip(expected, lines).filter { $0 != $1 }.map { "expected \($0.0), got \($0.1)" }
    return "\(path): " + (differing.isEmpty ? "\(expected.count) lines expected, \(lines.count) given" : differing.joined(separator: "; "))
  }
}
