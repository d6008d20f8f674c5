import Datasets
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The SHA-256 seal in a checkpoint's 512-byte HDF5 user block: every byte after the user
/// block, hashed, so that damage anywhere in the file is found before libhdf5 parses it.
///
/// HDF5's own checksums cover the superblock, object headers, chunk indexes and (Fletcher-32)
/// the datasets, but not the global heap that holds variable-length strings (`config`,
/// `training`, …) nor unused space; the seal covers all of it. libhdf5, h5py and other
/// HDF5 readers skip the user block, so a sealed file is an ordinary HDF5 file to them.
///
/// Layout (ASCII, then zero bytes to 512):
/// ```
/// latentlab-seal 1
/// sha256 <64 lowercase hex digits of bytes 512..<end>
/// bytes <decimal count of bytes after the user block>
/// ```
/// A file whose user block does not begin with `latentlab-seal ` is unsealed (written by another
/// program, or by LatentLab before seals): it is read with HDF5's checksums alone.
public enum CheckpointSeal {
  /// The user block's size: HDF5's smallest.
  public static let userBlockSize = 512
  static let magic = "latentlab-seal "
  static let header = "latentlab-seal 1\n"

  /// What a file's user block says.
  public enum Status: Equatable, Sendable {
    /// The seal is present and every byte matches it.
    case intact
    /// The file has no seal (another writer); nothing was checked.
    case unsealed
  }

  /// Writes the seal of the file at `path`, whose first `userBlockSize` bytes were reserved.
  public static func seal(_ path: String) throws {
    let fd = open(path, O_RDWR)
    guard fd >= 0 else { throw CheckpointError.cannotWrite(path: path, reason: "open to seal: \(errnoText())") }
    defer { close(fd) }
    let (digest, count) = try hash(fd, path: path) { reason in CheckpointError.cannotWrite(path: path, reason: reason) }
    var block = Array((header + "sha256 \(digest)\nbytes \(count)\n").utf8)
    block += [UInt8](repeating: 0, count: userBlockSize - block.count)
    let written = block.withUnsafeBytes { pwrite(fd, $0.baseAddress, userBlockSize, 0) }
    guard written == userBlockSize else {
      throw CheckpointError.cannotWrite(path: path, reason: "writing the seal: \(written < 0 ? errnoText() : "short write")")
    }
  }

  /// Checks the seal of the file at `path`.
  /// - Throws: `CheckpointError.damaged` when the seal is malformed or any byte after the user
  ///   block differs from what it records; `CheckpointError.unreadable` when the file cannot
  ///   be read.
  @discardableResult
  public static func verify(_ path: String) throws -> Status {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw CheckpointError.unreadable(path: path, reason: errnoText()) }
    defer { close(fd) }
    var block = [UInt8](repeating: 0, count: userBlockSize)
    let got = block.withUnsafeMutableBytes { pread(fd, $0.baseAddress, userBlockSize, 0) }
    guard got >= 0 else { throw CheckpointError.unreadable(path: path, reason: errnoText()) }
    guard got >= magic.utf8.count, block.starts(with: Array(magic.utf8)) else { return .unsealed }
    func damaged(_ reason: String) -> CheckpointError { .damaged(path: path, reason: reason) }
    guard got == userBlockSize else { throw damaged("the file ends inside its seal (\(got) of \(userBlockSize) bytes)") }
    let end = block.firstIndex(of: 0) ?? userBlockSize
    guard block[end...].allSatisfy({ $0 == 0 }) else { throw damaged("the seal's padding holds non-zero bytes") }
    let lines = String(decoding: block[..<end], as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
    guard lines.count == 4, lines[0] + "\n" == header, lines[3].isEmpty,
      lines[1].hasPrefix("sha256 "), lines[2].hasPrefix("bytes "),
      let expectedCount = Int(lines[2].dropFirst("bytes ".count))
    else { throw damaged("the seal in the first \(userBlockSize) bytes is malformed") }
    let expectedDigest = String(lines[1].dropFirst("sha256 ".count))
    let (digest, count) = try hash(fd, path: path) { reason in CheckpointError.unreadable(path: path, reason: reason) }
    guard count == expectedCount else {
      throw damaged("\(count) bytes follow the seal, it records \(expectedCount) (truncated or extended)")
    }
    guard digest == expectedDigest else {
      throw damaged(
        "the SHA-256 of its content is \(digest.prefix(16))…, its seal records \(expectedDigest.prefix(16))… "
          + "(changed after it was written: damaged, or edited by another program)")
    }
    return .intact
  }

  /// The SHA-256 (hex) and length of everything after the user block.
  private static func hash(_ fd: Int32, path: String, _ failure: (String) -> CheckpointError) throws -> (String, Int) {
    var sha = SHA256()
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    var offset = off_t(userBlockSize)
    while true {
      let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) }
      guard n >= 0 else { throw failure("reading: \(errnoText())") }
      if n == 0 { break }
      buffer.withUnsafeBytes { sha.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
      offset += off_t(n)
    }
    return (sha.hexDigest(), Int(offset) - userBlockSize)
  }

  private static func errnoText() -> String { String(cString: strerror(errno)) }
}
