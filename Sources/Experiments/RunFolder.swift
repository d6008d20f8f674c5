import Foundation
import Models

/// Writes `value` as pretty JSON to `path` atomically (temporary file, then rename).
public func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
  do {
    try encoder.encode(value).write(to: URL(fileURLWithPath: path), options: .atomic)
  } catch {
    throw TrainingError.cannotWrite(path: path, reason: "\(error)")
  }
}

public func prepareRunFolder(_ path: String) throws {
  do {
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  } catch {
    throw TrainingError.cannotWrite(path: path, reason: "\(error)")
  }
}

public func format(_ x: Double, _ digits: Int = 4) -> String { String(format: "%.\(digits)f", x) }
