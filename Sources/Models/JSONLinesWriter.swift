import Foundation

/// Appends JSON lines to a file, one `fsync` per line, so an interrupted run keeps its history
/// and a reader never meets half a record: a line that cannot be written whole (a full disk, a
/// file-size limit) is cut off again before the error is thrown.
public final class JSONLinesWriter {
  public let path: String
  private let handle: FileHandle
  private var end: UInt64

  /// Creates (or truncates) the file, or with `append` adds to what it holds.
  public convenience init(path: String, append: Bool = false) throws {
    try self.init(path: path, keepingLines: append ? nil : 0)
  }

  /// Opens the file keeping its first `keepingLines` complete lines (all complete lines when
  /// nil); a last line without its newline, left by a crash, is dropped.
  public init(path: String, keepingLines: Int?) throws {
    self.path = path
    let url = URL(fileURLWithPath: path)
    do {
      try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      if !FileManager.default.fileExists(atPath: path) {
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
          throw TrainingError.cannotWrite(path: path, reason: "cannot create the file")
        }
      }
      handle = try FileHandle(forUpdating: url)
      let text = try handle.readToEnd() ?? Data()
      var keep = 0
      var lines = 0
      for (i, byte) in text.enumerated() where byte == 0x0A {
        if let limit = keepingLines, lines == limit { break }
        lines += 1
        keep = i + 1
      }
      end = UInt64(keep)
      try handle.truncate(atOffset: end)
      try handle.seek(toOffset: end)
    } catch let error as TrainingError {
      throw error
    } catch {
      throw TrainingError.cannotWrite(path: path, reason: "\(error)")
    }
  }

  deinit { try? handle.close() }

  /// Writes one value as a line, whole or not at all.
  public func append<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    do {
      var data = try encoder.encode(value)
      data.append(0x0A)
      try handle.write(contentsOf: data)
      try handle.synchronize()
      end += UInt64(data.count)
    } catch {
      try? handle.truncate(atOffset: end)
      try? handle.seek(toOffset: end)
      throw TrainingError.cannotWrite(path: path, reason: "\(error)")
    }
  }
}
