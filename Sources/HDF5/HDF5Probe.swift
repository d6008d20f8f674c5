import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Reads a file's whole structure and data in a child process (`latentlab-hdf5-probe`) before
/// this process hands it to libhdf5.
///
/// libhdf5 1.10 crashes on some malformed files: fuzzing found a crash in a damaged local heap
/// (the old group format, which has no checksums) within seconds, and such bugs are libhdf5's,
/// beyond this package's reach. Whatever libhdf5 does in the probe, it does in the probe's
/// process; a crash there becomes an `HDF5Error` naming the file. Files LatentLab sealed and
/// whose seal verified skip the probe (nothing in them can differ from what LatentLab wrote).
///
/// The probe is the executable `latentlab-hdf5-probe` beside the running one (SwiftPM builds
/// it beside `latentlab` and the test bundle). Without it, files are opened unprotected.
public enum HDF5Probe {
  /// The probe's name.
  public static let executableName = "latentlab-hdf5-probe"

  /// The probe beside this process's executable, if it is there.
  static let executable: String? = {
    guard let me = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
    let candidate = URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent(executableName).path
    return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
  }()

  /// Files already probed in this process, by identity (device, inode, size, change time).
  private static let lock = NSLock()
  nonisolated(unsafe) private static var passed: Set<String> = []

  /// Probes the file at `path`.
  /// - Throws: `HDF5Error.callFailed` when the probe was killed by a signal (libhdf5 crashed
  ///   on the file); errors the probe meets are not reported here, the caller meets them too.
  static func check(_ path: String) throws {
    guard let executable else { return }
    var status = stat()
    guard stat(path, &status) == 0 else { return }
    let identity = "\(status.st_dev):\(status.st_ino):\(status.st_size):\(status.st_ctim.tv_sec).\(status.st_ctim.tv_nsec)"
    if lock.withLock({ passed.contains(identity) }) { return }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = [path]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    var environment = ProcessInfo.processInfo.environment
    environment["SWIFT_BACKTRACE"] = "enable=no"  // a crash there is expected, and reported here
    process.environment = environment
    do {
      try process.run()
    } catch {
      return  // the probe could not start: open unprotected, as without it
    }
    process.waitUntilExit()
    if process.terminationReason == .uncaughtSignal {
      throw HDF5Error.callFailed(
        file: path, object: "/", operation: "read the file's structure",
        detail: "libhdf5 crashed on it (signal \(process.terminationStatus)): the file is damaged or malformed")
    }
    lock.withLock { _ = passed.insert(identity) }
  }
}
