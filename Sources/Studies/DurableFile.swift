import Foundation

/// Writes whole files so that a reader sees the old file or the new one, never a part.
public enum DurableFile {
  /// Writes `text` to a temporary name beside `path`, syncs it, renames it into place and syncs the folder.
  /// - Throws: `StudyError.storage` naming `path` and why it cannot be written.
  public static func write(_ text: String, to path: String) throws {
    let url = URL(fileURLWithPath: path)
    let folder = url.deletingLastPathComponent().path
    let temporary = folder + "/." + url.lastPathComponent + ".\(getpid()).tmp"
    func fail(_ why: String) -> StudyError { StudyError.storage("\(path): cannot write: \(why)") }
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { throw fail(String(cString: strerror(errno))) }
    var ok = true
    var reason = ""
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
      let n = bytes[offset...].withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
      if n <= 0 {
        (ok, reason) = (false, String(cString: strerror(errno)))
        break
      }
      offset += n
    }
    if ok && fsync(fd) != 0 { (ok, reason) = (false, String(cString: strerror(errno))) }
    close(fd)
    guard ok, rename(temporary, path) == 0 else {
      if ok { reason = String(cString: strerror(errno)) }
      unlink(temporary)
      throw fail(reason)
    }
    let folderFD = open(folder, O_RDONLY)
    if folderFD >= 0 {
      fsync(folderFD)
      close(folderFD)
    }
  }
}
