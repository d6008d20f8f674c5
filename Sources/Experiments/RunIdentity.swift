import Foundation

/// What identifies a pipeline run: a folder holding another is refused.
public struct RunIdentity: Codable, Equatable, Sendable {
  public var preset: String
  public var seed: UInt64
  public var software: String

  /// Reads a run folder's `run.json`.
  /// - Throws: `ExperimentError.invalid` naming the file when it cannot be read or is not a run record.
  public static func read(_ path: String) throws -> RunIdentity {
    do {
      return try JSONDecoder().decode(RunIdentity.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    } catch {
      throw ExperimentError.invalid("\(path): not a LatentLab run record (\(error.localizedDescription))")
    }
  }
}
