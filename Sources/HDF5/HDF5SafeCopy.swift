import CHDF5
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Reads an untrusted HDF5 file in a child process (`latentlab-hdf5-copy`), which copies every
/// object it can read into a fresh file, written by libhdf5 itself and so well-formed, for
/// this process to read instead (see `HDF5File.open`).
///
/// The copy keeps every group, dataset (type, shape, filters and raw chunks as stored, so
/// Fletcher-32 is still verified on reading), named type and attribute; what the child cannot
/// read is left out and listed. The child is `latentlab-hdf5-copy` beside the running
/// executable (SwiftPM builds it beside `latentlab` and the test bundle); without it, files
/// are parsed in this process, as libhdf5 users usually do.
public enum HDF5SafeCopy {
  /// The child's executable name.
  public static let executableName = "latentlab-hdf5-copy"

  /// The child beside this process's executable, if it is there.
  static let executable: String? = {
    guard let me = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
    let candidate = URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent(executableName).path
    return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
  }()

  /// The child's exit statuses besides 0 (copied; standard output lists what was left out).
  public enum ExitStatus: Int32 {
    case usage = 64
    case notHDF5 = 3
    case cannotOpen = 4
    case cannotWrite = 5
  }

  /// The last few copies made, by the identity of the file copied (device, inode, size,
  /// change time): `inspect` and `diff` open the same file several times. The copies are
  /// removed when they leave the cache and when the process exits.
  private static let lock = NSLock()
  nonisolated(unsafe) private static var cache: [(identity: String, path: String, damage: [String])] = []
  private static let cacheSize = 8
  private static let cleanUpAtExit: Void = {
    atexit {
      HDF5SafeCopy.lock.withLock { for entry in HDF5SafeCopy.cache { unlink(entry.path) } }
    }
  }()

  /// A copy of `path` made by the child, shared by every open of the unchanged file; nil when
  /// there is no child to run.
  /// - Throws: `HDF5Error` naming `path` when the child crashed (libhdf5 on a malformed file),
  ///   or could not open or copy the file.
  static func copy(of path: String) throws -> (path: String, damage: [String])? {
    var status = stat()
    guard stat(path, &status) == 0 else { return try make(of: path) }
    let identity = "\(status.st_dev):\(status.st_ino):\(status.st_size):\(status.st_ctim.tv_sec).\(status.st_ctim.tv_nsec)"
    if let hit = lock.withLock({ cache.first { $0.identity == identity } }) { return (hit.path, hit.damage) }
    guard let made = try make(of: path) else { return nil }
    _ = cleanUpAtExit
    lock.withLock {
      cache.append((identity, made.path, made.damage))
      if cache.count > cacheSize { unlink(cache.removeFirst().path) }
    }
    return made
  }

  /// Copies `path` in the child into a new temporary file; nil when there is no child to run.
  private static func make(of path: String) throws -> (path: String, damage: [String])? {
    guard let executable else { return nil }
    let copy = NSTemporaryDirectory() + "/latentlab-hdf5-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString).h5"
    guard let (status, signal, text) = run(executable, [path, copy]) else { return nil }
    let lines = text.split(separator: "\n").map(String.init)
    func fail(_ error: HDF5Error) -> HDF5Error {
      try? FileManager.default.removeItem(atPath: copy)
      return error
    }
    if let signal {
      throw fail(HDF5Error.callFailed(
        file: path, object: "/", operation: "read the file",
        detail: "libhdf5 crashed on it (signal \(signal)): the file is damaged or malformed"))
    }
    switch ExitStatus(rawValue: status) {
    case nil where status == 0:
      return (copy, lines)
    case .notHDF5?:
      throw fail(HDF5Error.typeMismatch(file: path, object: "/", expected: HDF5Error.anHDF5File, found: "another kind of file"))
    default:
      throw fail(HDF5Error.callFailed(
        file: path, object: "/", operation: "open file", detail: lines.first ?? "status \(status)"))
    }
  }

  /// Runs `executable` with `arguments` (standard error discarded, no backtrace on a crash):
  /// its exit status, or the signal that ended it, and its standard output; nil if it could
  /// not start. posix_spawn and waitpid directly: Foundation's Process waits on a run loop,
  /// which took up to a second a call here.
  private static func run(_ executable: String, _ arguments: [String]) -> (status: Int32, signal: Int32?, output: String)? {
    // Close-on-exec: a child another thread spawns meanwhile must not hold the write end, or
    // the read below would wait for that child too. dup2 clears the flag on the copy.
    var pipe: [Int32] = [0, 0]
    guard Glibc.pipe(&pipe) == 0 else { return nil }
    for end in pipe { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, pipe[1], STDOUT_FILENO)
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0)
    let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
    let environment = ProcessInfo.processInfo.environment.filter { $0.key != "SWIFT_BACKTRACE" }
    let variables: [String] = environment.map { "\($0.key)=\($0.value)" } + ["SWIFT_BACKTRACE=enable=no"]
    let envp: [UnsafeMutablePointer<CChar>?] = variables.map { strdup($0) } + [nil]
    defer { (argv + envp).forEach { free($0) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, executable, &actions, nil, argv, envp)
    close(pipe[1])
    guard spawned == 0 else {
      close(pipe[0])
      return nil
    }
    var output = [UInt8]()
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
      let n = buffer.withUnsafeMutableBytes { read(pipe[0], $0.baseAddress, $0.count) }
      if n > 0 { output += buffer[0..<n] } else if n == 0 || errno != EINTR { break }
    }
    close(pipe[0])
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let text = String(decoding: output, as: UTF8.self)
    // WIFSIGNALED / WTERMSIG / WEXITSTATUS, which Swift does not import (macros).
    let signal = status & 0x7f
    if signal != 0 && signal != 0x7f { return (0, signal, text) }
    return ((status >> 8) & 0xff, nil, text)
  }
}

extension HDF5File {
  /// Copies every object of the file at `source` that libhdf5 reads into a new file at
  /// `destination` (what the child `latentlab-hdf5-copy` runs); returns what it left out, as
  /// `path: reason` lines. Each member of a group is copied whole (`H5Ocopy`: attributes,
  /// members, raw chunks); a member that fails is copied level by level to find what failed.
  public static func copyReadableContents(from source: String, to destination: String) throws -> [String] {
    let from = try HDF5File.open(path: source, trusted: true)
    let to = try HDF5File.create(path: destination)
    var damage: [String] = []
    HDF5Library.locked {
      to.copyAttributes(of: "/", from: from, damage: &damage)
      to.copyMembers(of: "/", from: from, damage: &damage)
    }
    try to.close()
    try from.close()
    return damage
  }

  private func copyMembers(of group: String, from source: HDF5File, damage: inout [String]) {
    let names: [String]
    do { names = try source.memberNames(of: group) } catch {
      damage.append("\(group): members: \(error)")
      return
    }
    let prefix = group == "/" ? "/" : group + "/"
    for name in names {
      let member = prefix + name
      if H5Ocopy(source.id, member, id, member, latentlab_H5P_DEFAULT(), latentlab_H5P_DEFAULT()) >= 0 { continue }
      let reason = HDF5Library.takeError()
      // Whole, it failed: a group is copied level by level, to keep what reads.
      guard (try? source.kind(of: member)) == .group else {
        damage.append("\(member): \(reason)")
        continue
      }
      do {
        try createGroup(member)
      } catch {
        damage.append("\(member): \(error)")
        continue
      }
      copyAttributes(of: member, from: source, damage: &damage)
      copyMembers(of: member, from: source, damage: &damage)
    }
  }

  /// Copies an object's attributes (any type; variable-length data through libhdf5's own
  /// conversion to memory and back).
  private func copyAttributes(of object: String, from source: HDF5File, damage: inout [String]) {
    let names: [String]
    do { names = try source.attributeNames(on: object) } catch {
      damage.append("\(object): attributes: \(error)")
      return
    }
    for name in names {
      guard let failure = copyAttribute(name, of: object, from: source) else { continue }
      damage.append("\(object): attribute \(name): \(failure)")
    }
  }

  /// Copies one attribute; returns why not, or nil.
  private func copyAttribute(_ name: String, of object: String, from source: HDF5File) -> String? {
    let attribute = H5Aopen_by_name(source.id, object, name, latentlab_H5P_DEFAULT(), latentlab_H5P_DEFAULT())
    guard attribute >= 0 else { return HDF5Library.takeError() }
    defer { H5Aclose(attribute) }
    let type = H5Aget_type(attribute)
    guard type >= 0 else { return HDF5Library.takeError() }
    defer { H5Tclose(type) }
    let space = H5Aget_space(attribute)
    guard space >= 0 else { return HDF5Library.takeError() }
    defer { H5Sclose(space) }
    let memory = H5Tget_native_type(type, H5T_DIR_ASCEND)
    guard memory >= 0 else { return HDF5Library.takeError() }
    defer { H5Tclose(memory) }
    let elements = H5Sget_simple_extent_npoints(space)
    let size = H5Tget_size(memory)
    guard elements >= 0, size > 0, elements <= Int64(1 << 24) / Int64(size) else { return "an attribute of \(elements) elements" }
    var buffer = [UInt8](repeating: 0, count: Int(elements) * size)
    let read = buffer.withUnsafeMutableBytes { H5Aread(attribute, memory, $0.baseAddress) }
    guard read >= 0 else { return HDF5Library.takeError() }
    let hasVariableLength = H5Tdetect_class(type, H5T_VLEN) > 0 || H5Tis_variable_str(type) > 0
    defer {
      if hasVariableLength { buffer.withUnsafeMutableBytes { _ = H5Dvlen_reclaim(memory, space, latentlab_H5P_DEFAULT(), $0.baseAddress) } }
    }
    let created = H5Acreate_by_name(id, object, name, type, space, latentlab_H5P_DEFAULT(), latentlab_H5P_DEFAULT(), latentlab_H5P_DEFAULT())
    guard created >= 0 else { return HDF5Library.takeError() }
    defer { H5Aclose(created) }
    let written = buffer.withUnsafeBytes { H5Awrite(created, memory, $0.baseAddress) }
    return written >= 0 ? nil : HDF5Library.takeError()
  }
}
