import Foundation
import HDF5
import Models
import NN
import TensorCore

#if canImport(Glibc)
  import Glibc
#endif

/// Writes checkpoints crash-safely: into a temporary file in the destination's folder, which
/// is flushed, sealed (`CheckpointSeal`), fsynced and renamed over the destination (then the
/// folder is fsynced). A crash leaves the previous checkpoint intact, and at worst a stray
/// `.<name>.tmp-<pid>` file that no reader takes for a checkpoint; a failed write (a full
/// disk, a file-size limit) removes its temporary file and names the path.
///
/// Every dataset carries the Fletcher-32 filter and the file HDF5's 1.10 format (checksummed
/// metadata), and the seal covers every byte, so damage anywhere is found on reading.
public enum CheckpointWriter {
  /// Writes `checkpoint` to `path` (replacing it atomically).
  public static func write(_ checkpoint: Checkpoint, to path: String) throws {
    let url = URL(fileURLWithPath: path)
    let folder = url.deletingLastPathComponent().path
    let temporary = folder + "/." + url.lastPathComponent + ".tmp-\(getpid())"
    do {
      try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
      let file = try HDF5File.create(path: temporary, userBlockSize: CheckpointSeal.userBlockSize)
      try writeContents(checkpoint, to: file)
      try file.flush()
      try file.close()
      try CheckpointSeal.seal(temporary)
      try fsyncPath(temporary)
      guard rename(temporary, path) == 0 else {
        throw CheckpointError.cannotWrite(path: path, reason: "rename failed: \(String(cString: strerror(errno)))")
      }
      try fsyncPath(folder)
    } catch {
      try? FileManager.default.removeItem(atPath: temporary)
      if error is CheckpointError { throw error }
      throw CheckpointError.cannotWrite(path: path, reason: "\(error)")
    }
  }

  private static func fsyncPath(_ path: String) throws {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw CheckpointError.cannotWrite(path: path, reason: "open for fsync: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    guard fsync(fd) == 0 else { throw CheckpointError.cannotWrite(path: path, reason: "fsync: \(String(cString: strerror(errno)))") }
  }

  /// Compact JSON with sorted keys: the form of the checkpoint's JSON attributes.
  public static func json<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
  }

  private static func writeContents(_ c: Checkpoint, to file: HDF5File) throws {
    guard c.seed <= UInt64(Int64.max) else {
      throw CheckpointError.invalidField(path: file.path, field: "seed", reason: "\(c.seed) does not fit int64")
    }
    try file.setAttribute("format", Checkpoint.formatName)
    try file.setAttribute("format_version", Checkpoint.formatVersion)
    try file.setAttribute("model", c.model.rawValue)
    try file.setAttribute("config", try json(c.config))
    try file.setAttribute("training", c.training)
    try file.setAttribute("seed", Int64(c.seed))
    try file.setAttribute("dataset_sha256", try json(c.datasetSHA256))
    try file.setAttribute("software", "latentlab \(c.software)")

    try file.createGroup("/state_dict")
    for (name, tensor) in c.stateDict {
      try file.write("/state_dict/\(name)", tensor.scalars, shape: tensor.shape, fletcher32: true)
    }

    if let optimizer = c.optimizer {
      try file.createGroup("/optimizer")
      try file.setAttribute("kind", optimizer.settings.kind, on: "/optimizer")
      try file.setAttribute("settings", try json(optimizer.settings), on: "/optimizer")
      for name in optimizer.state.buffers.keys.sorted() {
        let group = "/optimizer/\(name)"
        try file.createGroup(group)
        try file.setAttribute("step", Int64(optimizer.state.steps[name] ?? 0), on: group)
        for (buffer, tensor) in optimizer.state.buffers[name]!.sorted(by: { $0.key < $1.key }) {
          try file.write("\(group)/\(buffer)", tensor.scalars, shape: tensor.shape, fletcher32: true)
        }
      }
    }

    try file.createGroup("/rng")
    for (stream, words) in c.rng.sorted(by: { $0.key < $1.key }) {
      try file.write("/rng/\(stream)", words, shape: [words.count], fletcher32: true)
    }

    // Per-epoch curves; NaN where a value does not apply. Wall times are left out on
    // purpose: they would make the same run's files differ.
    try file.createGroup("/history")
    let n = c.history.count
    try file.write("/history/epoch", c.history.map { Int64($0.epoch) }, shape: [n], fletcher32: true)
    try file.write("/history/train_loss", c.history.map(\.trainLoss), shape: [n], fletcher32: true)
    try file.write("/history/validation_loss", c.history.map { $0.validationLoss ?? .nan }, shape: [n], fletcher32: true)
    if c.history.contains(where: { $0.trainAccuracy != nil }) {
      try file.write("/history/train_accuracy", c.history.map { $0.trainAccuracy ?? .nan }, shape: [n], fletcher32: true)
      try file.write(
        "/history/validation_accuracy", c.history.map { $0.validationAccuracy ?? .nan }, shape: [n], fletcher32: true)
    }

    // Written last: a file without /progress is incomplete, and readers refuse it.
    try file.createGroup("/progress")
    try file.setAttribute("epoch", Int64(c.epoch), on: "/progress")
    try file.setAttribute("step", Int64(c.step), on: "/progress")
  }
}
