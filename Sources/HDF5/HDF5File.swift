import CHDF5
import Foundation

/// A failure in an HDF5 operation, naming the file and object it concerns.
public enum HDF5Error: Error, CustomStringConvertible, Equatable {
  /// A libhdf5 call failed; `detail` is libhdf5's own innermost message.
  case callFailed(file: String, object: String, operation: String, detail: String)
  /// The object does not exist.
  case notFound(file: String, object: String)
  /// The object holds another type than the one asked for.
  case typeMismatch(file: String, object: String, expected: String, found: String)
  /// The data does not fit the shape.
  case shapeMismatch(file: String, object: String, expected: String, found: String)

  /// The `object` of `notFound` when the file itself is missing.
  public static let wholeFile = "(the file itself)"
  /// The `expected` of `typeMismatch` when a file is not HDF5 at all.
  public static let anHDF5File = "an HDF5 file"

  public var description: String {
    switch self {
    case .callFailed(let file, let object, let operation, let detail):
      return "\(file): \(object): \(operation) failed" + (detail.isEmpty ? "" : ": \(detail)")
    case .notFound(let file, let object):
      return "\(file): no object \(object)"
    case .typeMismatch(let file, let object, let expected, let found):
      return "\(file): \(object): expected \(expected), found \(found)"
    case .shapeMismatch(let file, let object, let expected, let found):
      return "\(file): \(object): expected \(expected), found \(found)"
    }
  }
}

/// Serialises every libhdf5 call: the serial library is not thread-safe.
public enum HDF5Library {
  static let lock = NSRecursiveLock()
  private static let initialized: Void = {
    // No library shutdown at process exit: a file whose write failed (a full disk) cannot be
    // closed, and libhdf5's exit handler crashes closing it again. Files LatentLab writes
    // are closed (and synced) explicitly; nothing is left for the exit handler to do.
    H5dont_atexit()
    H5open()
    _ = latentlab_h5_silence_errors()
  }()

  /// Runs `body` holding the library lock, after one-time initialisation.
  static func locked<R>(_ body: () throws -> R) rethrows -> R {
    lock.lock()
    defer { lock.unlock() }
    _ = initialized
    return try body()
  }

  /// libhdf5's innermost error message, clearing its error stack.
  static func takeError() -> String {
    var buffer = [CChar](repeating: 0, count: 512)
    latentlab_h5_take_error(&buffer)
    return String(cString: buffer)
  }

  /// The number of HDF5 objects (files, groups, datasets, attributes, types, spaces) open in
  /// the process: 0 when nothing leaks.
  public static var openObjectCount: Int {
    locked { Int(H5Fget_obj_count(hid_t(latentlab_H5F_OBJ_ALL()), latentlab_H5F_OBJ_ALL())) }
  }
}

/// The scalar types LatentLab stores, with their HDF5 native types.
public protocol HDF5Scalar {
  /// The HDF5 memory type.
  static var nativeType: hid_t { get }
  /// A name for messages (`float32`, …).
  static var typeName: String { get }
  /// The HDF5 class and size that a stored dataset must have to read as this type exactly.
  static var storedClass: H5T_class_t { get }
  static var storedSize: Int { get }
}

extension Float: HDF5Scalar {
  public static var nativeType: hid_t { latentlab_H5T_NATIVE_FLOAT() }
  public static var typeName: String { "float32" }
  public static var storedClass: H5T_class_t { H5T_FLOAT }
  public static var storedSize: Int { 4 }
}

extension Double: HDF5Scalar {
  public static var nativeType: hid_t { latentlab_H5T_NATIVE_DOUBLE() }
  public static var typeName: String { "float64" }
  public static var storedClass: H5T_class_t { H5T_FLOAT }
  public static var storedSize: Int { 8 }
}

extension Int64: HDF5Scalar {
  public static var nativeType: hid_t { latentlab_H5T_NATIVE_INT64() }
  public static var typeName: String { "int64" }
  public static var storedClass: H5T_class_t { H5T_INTEGER }
  public static var storedSize: Int { 8 }
}

extension UInt64: HDF5Scalar {
  public static var nativeType: hid_t { latentlab_H5T_NATIVE_UINT64() }
  public static var typeName: String { "uint64" }
  public static var storedClass: H5T_class_t { H5T_INTEGER }
  public static var storedSize: Int { 8 }
}

extension UInt8: HDF5Scalar {
  public static var nativeType: hid_t { latentlab_H5T_NATIVE_UINT8() }
  public static var typeName: String { "uint8" }
  public static var storedClass: H5T_class_t { H5T_INTEGER }
  public static var storedSize: Int { 1 }
}

/// An attribute's value as LatentLab reads it.
public enum HDF5AttributeValue: Equatable, CustomStringConvertible {
  case string(String)
  case int(Int64)
  case double(Double)
  /// Another type: its description (class and element count) and its bytes in the native
  /// memory type, so two values compare exactly.
  case other(description: String, bytes: [UInt8])

  public var description: String {
    switch self {
    case .string(let s): return s
    case .int(let i): return String(i)
    case .double(let d): return String(d)
    case .other(let s, _): return "<\(s)>"
    }
  }
}

/// A whole dataset's values, in the form that compares them faithfully: floats as `Double`
/// (exact for float32 and float64), integers as 64-bit integers of their sign (exact),
/// strings as strings, and any other fixed-size type as its bytes in the native memory type.
public enum HDF5DatasetValues: Equatable {
  case floats([Double])
  case signedIntegers([Int64])
  case unsignedIntegers([UInt64])
  case strings([String])
  case bytes([UInt8], elementSize: Int)

  /// The number of elements.
  public var count: Int {
    switch self {
    case .floats(let v): return v.count
    case .signedIntegers(let v): return v.count
    case .unsignedIntegers(let v): return v.count
    case .strings(let v): return v.count
    case .bytes(let v, let size): return size == 0 ? 0 : v.count / size
    }
  }
}

/// What a path in a file names.
public enum HDF5ObjectKind: String, Equatable {
  case group, dataset, other
}

/// An open HDF5 file: datasets and attributes addressed by absolute paths (`/state_dict/w`).
///
/// Every call's status is checked and turned into an `HDF5Error` naming the file, the object
/// and libhdf5's own message; libhdf5's error printing is off. Handles are opened and closed
/// within each call, and the file itself is closed by `close()` or on deinit, so nothing
/// leaks. Objects are created without timestamps (`H5Pset_obj_track_times(false)`), so the
/// same content gives the same bytes.
public final class HDF5File {
  /// The file's path, as given (what every error names).
  public let path: String
  private(set) var id: hid_t
  /// Whether the file accepts writes.
  public let isWritable: Bool
  /// What could not be read of an untrusted file (see `open`): `path: reason` lines; such
  /// objects are absent from this view of it.
  public let damage: [String]

  private init(path: String, id: hid_t, writable: Bool, damage: [String] = []) {
    self.path = path
    self.id = id
    isWritable = writable
    self.damage = damage
  }

  deinit { try? close() }

  /// Creates a file, replacing any file at `path`.
  ///
  /// The file uses HDF5's 1.10 file format, pinned (`H5Pset_libver_bounds(V110, V110)`): its
  /// superblock (version 3), object headers (version 2) and single-chunk indexes carry
  /// Jenkins lookup3 checksums that libhdf5 verifies on every read, so damaged metadata is an
  /// error, not a silently different object; pinning both bounds keeps the bytes the same
  /// whichever libhdf5 writes them. Readable by libhdf5 1.10 and later (h5py, HDF5.jl).
  /// - Parameter userBlockSize: bytes reserved at the start of the file for the caller
  ///   (0, or a power of two of at least 512); libhdf5 skips them when it reads.
  public static func create(path: String, userBlockSize: Int = 0) throws -> HDF5File {
    try HDF5Library.locked {
      func fail(_ operation: String) -> HDF5Error {
        HDF5Error.callFailed(file: path, object: "/", operation: operation, detail: HDF5Library.takeError())
      }
      let access = H5Pcreate(latentlab_H5P_FILE_ACCESS())
      guard access >= 0 else { throw fail("create file access list") }
      defer { H5Pclose(access) }
      guard H5Pset_libver_bounds(access, H5F_LIBVER_V110, H5F_LIBVER_V110) >= 0 else { throw fail("set format bounds") }
      let creation = H5Pcreate(latentlab_H5P_FILE_CREATE())
      guard creation >= 0 else { throw fail("create file creation list") }
      defer { H5Pclose(creation) }
      // The root group is created with the file: no timestamps on it either.
      guard H5Pset_obj_track_times(creation, false) >= 0 else { throw fail("turn off time tracking") }
      if userBlockSize > 0 {
        guard H5Pset_userblock(creation, hsize_t(userBlockSize)) >= 0 else { throw fail("reserve a user block") }
      }
      let id = H5Fcreate(path, latentlab_H5F_ACC_TRUNC(), creation, access)
      guard id >= 0 else { throw fail("create file") }
      return HDF5File(path: path, id: id, writable: true)
    }
  }

  /// Opens an existing file: read-only unless `writable`; parsed here only when `trusted`.
  ///
  /// libhdf5 1.10 has memory-safety bugs on malformed files (fuzzing found a null-pointer
  /// copy from a damaged local heap and uninitialised memory freed from a damaged link table,
  /// the latter crashing only in some processes), so a file this process did not write, or
  /// whose seal did not verify, is not parsed here: `HDF5SafeCopy` reads it in a child
  /// process, which copies every object it can read into a fresh file that this view then
  /// reads, and lists what it could not (`damage`). A crash there is an error naming the file.
  /// - Parameter trusted: true only for a file whose bytes are known to be a well-formed
  ///   file's (a verified seal, a file this process wrote); writable files are always trusted.
  public static func open(path: String, writable: Bool = false, trusted: Bool = false) throws -> HDF5File {
    guard FileManager.default.fileExists(atPath: path) else {
      throw HDF5Error.notFound(file: path, object: HDF5Error.wholeFile)
    }
    if !trusted && !writable, let copy = try HDF5SafeCopy.copy(of: path) {
      do {
        return HDF5File(path: path, id: try openDirectly(copy.path, writable: false), writable: false, damage: copy.damage)
      } catch {
        throw HDF5Error.callFailed(file: path, object: "/", operation: "open the isolated copy", detail: "\(error)")
      }
    }
    return HDF5File(path: path, id: try openDirectly(path, writable: writable), writable: writable)
  }

  /// H5Fopen on `path`, after checking it is HDF5 at all.
  private static func openDirectly(_ path: String, writable: Bool) throws -> hid_t {
    try HDF5Library.locked {
      guard H5Fis_hdf5(path) > 0 else {
        _ = HDF5Library.takeError()
        throw HDF5Error.typeMismatch(file: path, object: "/", expected: HDF5Error.anHDF5File, found: "another kind of file")
      }
      let id = H5Fopen(path, writable ? latentlab_H5F_ACC_RDWR() : latentlab_H5F_ACC_RDONLY(), latentlab_H5P_DEFAULT())
      guard id >= 0 else {
        throw HDF5Error.callFailed(file: path, object: "/", operation: "open file", detail: HDF5Library.takeError())
      }
      return id
    }
  }

  /// Writes buffered data to the file.
  public func flush() throws {
    try HDF5Library.locked {
      try check(H5Fflush(id, H5F_SCOPE_GLOBAL), "/", "flush")
    }
  }

  /// Closes the file (idempotent).
  public func close() throws {
    try HDF5Library.locked {
      guard id >= 0 else { return }
      let status = H5Fclose(id)
      id = -1
      try check(status, "/", "close file")
    }
  }

  // MARK: - Helpers

  func check(_ status: herr_t, _ object: String, _ operation: String) throws {
    if status < 0 {
      throw HDF5Error.callFailed(file: path, object: object, operation: operation, detail: HDF5Library.takeError())
    }
  }

  func check(_ handle: hid_t, _ object: String, _ operation: String) throws -> hid_t {
    if handle < 0 {
      throw HDF5Error.callFailed(file: path, object: object, operation: operation, detail: HDF5Library.takeError())
    }
    return handle
  }

  private func openFile() throws -> hid_t {
    guard id >= 0 else { throw HDF5Error.callFailed(file: path, object: "/", operation: "use", detail: "the file is closed") }
    return id
  }

  /// An object-creation property list with time tracking off.
  private func creationList(_ cls: hid_t) throws -> hid_t {
    let plist = try check(H5Pcreate(cls), "/", "create property list")
    if H5Pset_obj_track_times(plist, false) < 0 {
      H5Pclose(plist)
      try check(herr_t(-1), "/", "turn off time tracking")
    }
    return plist
  }

  // MARK: - Structure

  /// Whether `path` (absolute) names an object; every component is checked.
  /// - Throws: `HDF5Error.callFailed` when a group on the way cannot be read.
  public func exists(_ objectPath: String) throws -> Bool {
    try HDF5Library.locked {
      let file = try openFile()
      if objectPath == "/" { return true }
      var prefix = ""
      for part in objectPath.split(separator: "/") {
        prefix += "/" + part
        let status = H5Lexists(file, prefix, latentlab_H5P_DEFAULT())
        // Negative: the group holding the link could not be read (damaged), not "absent".
        try check(status, prefix, "look up")
        if status == 0 { return false }
      }
      return true
    }
  }

  /// What `objectPath` is.
  public func kind(of objectPath: String) throws -> HDF5ObjectKind {
    try HDF5Library.locked {
      guard try exists(objectPath) else { throw HDF5Error.notFound(file: path, object: objectPath) }
      let object = try check(H5Oopen(try openFile(), objectPath, latentlab_H5P_DEFAULT()), objectPath, "open")
      defer { H5Oclose(object) }
      switch H5Iget_type(object) {
      case H5I_GROUP: return .group
      case H5I_DATASET: return .dataset
      default: return .other
      }
    }
  }

  /// Creates a group (its parent must exist).
  public func createGroup(_ groupPath: String) throws {
    try HDF5Library.locked {
      let plist = try creationList(latentlab_H5P_GROUP_CREATE())
      defer { H5Pclose(plist) }
      let group = try check(
        H5Gcreate2(try openFile(), groupPath, latentlab_H5P_DEFAULT(), plist, latentlab_H5P_DEFAULT()), groupPath,
        "create group")
      H5Gclose(group)
    }
  }

  /// The names of a group's members, in name order, with their kinds.
  public func children(of groupPath: String) throws -> [(name: String, kind: HDF5ObjectKind)] {
    try HDF5Library.locked {
      let prefix = groupPath.hasSuffix("/") ? groupPath : groupPath + "/"
      return try memberNames(of: groupPath).map { ($0, try kind(of: prefix + $0)) }
    }
  }

  /// The names of a group's members, in name order (their objects are not opened).
  public func memberNames(of groupPath: String) throws -> [String] {
    try HDF5Library.locked {
      let group = try check(H5Gopen2(try openFile(), groupPath, latentlab_H5P_DEFAULT()), groupPath, "open group")
      defer { H5Gclose(group) }
      final class Names { var list: [String] = [] }
      let names = Names()
      let status = withExtendedLifetime(names) {
        latentlab_H5Literate(
          group,
          { _, name, _, data in
            Unmanaged<Names>.fromOpaque(data!).takeUnretainedValue().list.append(String(cString: name!))
            return 0
          }, Unmanaged.passUnretained(names).toOpaque())
      }
      try check(status, groupPath, "list members")
      return names.list
    }
  }

  // MARK: - Datasets

  /// Writes a dataset of `shape` (row-major values). With `fletcher32`, the data is stored in
  /// one chunk with the Fletcher-32 checksum filter, which libhdf5 verifies on every read.
  public func write<T: HDF5Scalar>(_ datasetPath: String, _ values: [T], shape: [Int], fletcher32: Bool = false) throws {
    guard values.count == shape.reduce(1, *) else {
      throw HDF5Error.shapeMismatch(
        file: path, object: datasetPath, expected: "\(shape.reduce(1, *)) values for shape \(shape)",
        found: "\(values.count) values")
    }
    try HDF5Library.locked {
      let dims = shape.map { hsize_t($0) }
      let space = try check(
        shape.isEmpty ? H5Screate(H5S_SCALAR) : H5Screate_simple(Int32(shape.count), dims, nil), datasetPath, "create dataspace")
      defer { H5Sclose(space) }
      let plist = try creationList(latentlab_H5P_DATASET_CREATE())
      defer { H5Pclose(plist) }
      if fletcher32 && !shape.isEmpty && !shape.contains(0) {
        try check(H5Pset_chunk(plist, Int32(shape.count), dims), datasetPath, "set chunking")
        try check(H5Pset_fletcher32(plist), datasetPath, "set the Fletcher-32 filter")
      }
      let dataset = try check(
        H5Dcreate2(try openFile(), datasetPath, T.nativeType, space, latentlab_H5P_DEFAULT(), plist, latentlab_H5P_DEFAULT()),
        datasetPath, "create dataset")
      defer { H5Dclose(dataset) }
      try values.withUnsafeBytes { raw in
        try check(
          H5Dwrite(dataset, T.nativeType, latentlab_H5S_ALL(), latentlab_H5S_ALL(), latentlab_H5P_DEFAULT(), raw.baseAddress),
          datasetPath, "write")
      }
    }
  }

  /// A dataset's shape.
  public func shape(of datasetPath: String) throws -> [Int] {
    try withDataset(datasetPath) { dataset, _ in try shape(ofDataset: dataset, datasetPath) }
  }

  private func shape(ofDataset dataset: hid_t, _ object: String) throws -> [Int] {
    let space = try check(H5Dget_space(dataset), object, "get dataspace")
    defer { H5Sclose(space) }
    let rank = H5Sget_simple_extent_ndims(space)
    guard rank >= 0 else { throw HDF5Error.callFailed(file: path, object: object, operation: "get rank", detail: HDF5Library.takeError()) }
    var dims = [hsize_t](repeating: 0, count: Int(rank))
    if rank > 0 { try check(H5Sget_simple_extent_dims(space, &dims, nil), object, "get dimensions") }
    return dims.map { Int($0) }
  }

  /// The number of elements of `shape`, checked before anything is allocated: a damaged or
  /// hostile file may claim any sizes, and reading them must be an error, not a crash.
  ///
  /// The bound is what the file could hold: its size times 1,100 (deflate's largest ratio is
  /// about 1,032), and never more than this machine's memory. A larger dataset can only be an
  /// unwritten one (all fill value) or a damaged one; neither is read whole.
  /// - Throws: `HDF5Error.shapeMismatch` naming the shape and the bound.
  private func elementCount(_ shape: [Int], size: Int, _ object: String) throws -> Int {
    var status = stat()
    let fileSize = stat(path, &status) == 0 ? UInt64(max(status.st_size, 0)) : 0
    let bound = min(ProcessInfo.processInfo.physicalMemory, fileSize * 1100 + (1 << 20))
    var bytes = max(size, 1)
    for n in shape {
      let (product, overflow) = bytes.multipliedReportingOverflow(by: n)
      guard !overflow, n >= 0, UInt64(product) <= bound else {
        throw HDF5Error.shapeMismatch(
          file: path, object: object, expected: "at most \(bound) bytes of data (what a file of \(fileSize) bytes can hold)",
          found: "shape \(shape) of \(size)-byte elements")
      }
      bytes = product
    }
    return bytes / max(size, 1)
  }

  /// A description of a stored type (`float32`, `int64`, `string`, …).
  private func typeName(_ type: hid_t) -> String {
    let size = H5Tget_size(type)
    switch H5Tget_class(type) {
    case H5T_FLOAT: return "float\(size * 8)"
    case H5T_INTEGER: return (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + "\(size * 8)"
    case H5T_STRING: return "string"
    default: return "another type (class \(H5Tget_class(type).rawValue))"
    }
  }

  /// Opens the dataset at `datasetPath` and its stored type for `body`, holding the lock.
  private func withDataset<R>(_ datasetPath: String, _ body: (_ dataset: hid_t, _ type: hid_t) throws -> R) throws -> R {
    try HDF5Library.locked {
      guard try exists(datasetPath) else { throw HDF5Error.notFound(file: path, object: datasetPath) }
      let dataset = try check(H5Dopen2(try openFile(), datasetPath, latentlab_H5P_DEFAULT()), datasetPath, "open dataset")
      defer { H5Dclose(dataset) }
      let type = try check(H5Dget_type(dataset), datasetPath, "get type")
      defer { H5Tclose(type) }
      return try body(dataset, type)
    }
  }

  /// The stored element type of a dataset, as a name (`float32`, `int64`, …).
  public func typeName(of datasetPath: String) throws -> String {
    try withDataset(datasetPath) { _, type in typeName(type) }
  }

  /// Reads a dataset whose stored type is exactly `T` (no silent conversion).
  /// - Throws: `HDF5Error.typeMismatch` naming both types otherwise.
  public func read<T: HDF5Scalar>(_ datasetPath: String, as: T.Type = T.self) throws -> (values: [T], shape: [Int]) {
    try withDataset(datasetPath) { dataset, type in
      let found = typeName(type)
      guard H5Tget_class(type) == T.storedClass, H5Tget_size(type) == T.storedSize, found == T.typeName else {
        throw HDF5Error.typeMismatch(file: path, object: datasetPath, expected: T.typeName, found: found)
      }
      let shape = try shape(ofDataset: dataset, datasetPath)
      var values = [T](unsafeUninitializedCapacity: try elementCount(shape, size: T.storedSize, datasetPath)) { buffer, count in
        count = buffer.count
      }
      try values.withUnsafeMutableBytes { raw in
        try check(
          H5Dread(dataset, T.nativeType, latentlab_H5S_ALL(), latentlab_H5S_ALL(), latentlab_H5P_DEFAULT(), raw.baseAddress),
          datasetPath, "read (a checksum failure means the stored data is damaged)")
      }
      return (values, shape)
    }
  }

  // MARK: - Attributes

  private func withNewAttribute(
    _ name: String, on objectPath: String, type: hid_t, _ body: (hid_t) throws -> herr_t
  ) throws {
    let file = try openFile()
    let object = "\(objectPath) attribute \(name)"
    if H5Aexists_by_name(file, objectPath, name, latentlab_H5P_DEFAULT()) > 0 {
      try check(H5Adelete_by_name(file, objectPath, name, latentlab_H5P_DEFAULT()), object, "replace attribute")
    }
    _ = HDF5Library.takeError()
    let space = try check(H5Screate(H5S_SCALAR), object, "create dataspace")
    defer { H5Sclose(space) }
    let attribute = try check(
      H5Acreate_by_name(file, objectPath, name, type, space, latentlab_H5P_DEFAULT(), latentlab_H5P_DEFAULT(), latentlab_H5P_DEFAULT()),
      object, "create attribute")
    defer { H5Aclose(attribute) }
    try check(try body(attribute), object, "write attribute")
  }

  /// Sets a UTF-8 string attribute (variable length: h5py reads it as `str`).
  public func setAttribute(_ name: String, _ value: String, on objectPath: String = "/") throws {
    try HDF5Library.locked {
      let type = try check(H5Tcopy(latentlab_H5T_C_S1()), objectPath, "copy string type")
      defer { H5Tclose(type) }
      H5Tset_size(type, latentlab_H5T_VARIABLE())
      H5Tset_cset(type, H5T_CSET_UTF8)
      try withNewAttribute(name, on: objectPath, type: type) { attribute in
        value.withCString { cString in
          var pointer: UnsafePointer<CChar>? = cString
          return H5Awrite(attribute, type, &pointer)
        }
      }
    }
  }

  /// Sets a 64-bit integer attribute.
  public func setAttribute(_ name: String, _ value: Int64, on objectPath: String = "/") throws {
    try HDF5Library.locked {
      try withNewAttribute(name, on: objectPath, type: latentlab_H5T_NATIVE_INT64()) { attribute in
        var v = value
        return H5Awrite(attribute, latentlab_H5T_NATIVE_INT64(), &v)
      }
    }
  }

  /// Sets a 64-bit float attribute.
  public func setAttribute(_ name: String, _ value: Double, on objectPath: String = "/") throws {
    try HDF5Library.locked {
      try withNewAttribute(name, on: objectPath, type: latentlab_H5T_NATIVE_DOUBLE()) { attribute in
        var v = value
        return H5Awrite(attribute, latentlab_H5T_NATIVE_DOUBLE(), &v)
      }
    }
  }

  /// The names of an object's attributes, in name order.
  public func attributeNames(on objectPath: String = "/") throws -> [String] {
    try HDF5Library.locked {
      let object = try check(H5Oopen(try openFile(), objectPath, latentlab_H5P_DEFAULT()), objectPath, "open")
      defer { H5Oclose(object) }
      final class Names { var list: [String] = [] }
      let names = Names()
      var index: hsize_t = 0
      let status = withExtendedLifetime(names) {
        H5Aiterate2(
          object, H5_INDEX_NAME, H5_ITER_INC, &index,
          { _, name, _, data in
            Unmanaged<Names>.fromOpaque(data!).takeUnretainedValue().list.append(String(cString: name!))
            return 0
          }, Unmanaged.passUnretained(names).toOpaque())
      }
      try check(status, objectPath, "list attributes")
      return names.list
    }
  }

  /// An attribute's value (strings, scalar integers and floats; other types described).
  public func attribute(_ name: String, on objectPath: String = "/") throws -> HDF5AttributeValue {
    try HDF5Library.locked {
      let file = try openFile()
      let object = "\(objectPath) attribute \(name)"
      guard H5Aexists_by_name(file, objectPath, name, latentlab_H5P_DEFAULT()) > 0 else {
        _ = HDF5Library.takeError()
        throw HDF5Error.notFound(file: path, object: object)
      }
      let attribute = try check(
        H5Aopen_by_name(file, objectPath, name, latentlab_H5P_DEFAULT(), latentlab_H5P_DEFAULT()), object, "open attribute")
      defer { H5Aclose(attribute) }
      let type = try check(H5Aget_type(attribute), object, "get type")
      defer { H5Tclose(type) }
      let space = try check(H5Aget_space(attribute), object, "get dataspace")
      defer { H5Sclose(space) }
      let elements = H5Sget_simple_extent_npoints(space)
      let cls = H5Tget_class(type)
      if cls == H5T_STRING && elements == 1 {
        if H5Tis_variable_str(type) > 0 {
          let memory = try check(H5Tcopy(latentlab_H5T_C_S1()), object, "copy string type")
          defer { H5Tclose(memory) }
          H5Tset_size(memory, latentlab_H5T_VARIABLE())
          H5Tset_cset(memory, H5Tget_cset(type))
          var pointer: UnsafeMutablePointer<CChar>? = nil
          try check(H5Aread(attribute, memory, &pointer), object, "read attribute")
          defer { if let pointer { H5free_memory(pointer) } }
          return .string(pointer.map { String(cString: $0) } ?? "")
        }
        let size = H5Tget_size(type)
        var buffer = [CChar](repeating: 0, count: size + 1)
        try check(H5Aread(attribute, type, &buffer), object, "read attribute")
        return .string(String(cString: buffer))
      }
      if cls == H5T_INTEGER && elements == 1 {
        var v: Int64 = 0
        try check(H5Aread(attribute, latentlab_H5T_NATIVE_INT64(), &v), object, "read attribute")
        return .int(v)
      }
      if cls == H5T_FLOAT && elements == 1 {
        var v: Double = 0
        try check(H5Aread(attribute, latentlab_H5T_NATIVE_DOUBLE(), &v), object, "read attribute")
        return .double(v)
      }
      let description = "\(typeName(type)) x \(elements)"
      let count = try elementCount([Int(elements)], size: H5Tget_size(type), object)
      return .other(description: description, bytes: try nativeBytes(count: count, type: type, object: object) { memory, buffer in
        H5Aread(attribute, memory, buffer)
      })
    }
  }

  /// Reads `count` elements of a stored `type` through `read` into bytes of the native memory
  /// type. Types holding variable-length data (whose bytes would be pointers) are refused.
  private func nativeBytes(
    count: Int, type: hid_t, object: String, _ read: (hid_t, UnsafeMutableRawPointer?) -> herr_t
  ) throws -> [UInt8] {
    if H5Tdetect_class(type, H5T_VLEN) > 0 || H5Tis_variable_str(type) > 0 {
      _ = HDF5Library.takeError()
      throw HDF5Error.typeMismatch(
        file: path, object: object, expected: "a fixed-size type", found: "\(typeName(type)) holding variable-length data")
    }
    _ = HDF5Library.takeError()
    let memory = try check(H5Tget_native_type(type, H5T_DIR_ASCEND), object, "find the native type")
    defer { H5Tclose(memory) }
    let size = H5Tget_size(memory)
    var bytes = [UInt8](repeating: 0, count: size * count)
    if !bytes.isEmpty {
      try bytes.withUnsafeMutableBytes { raw in try check(read(memory, raw.baseAddress), object, "read") }
    }
    return bytes
  }

  /// Reads a whole dataset of any type (see `HDF5DatasetValues`), verifying its checksum
  /// filter where it has one.
  /// - Throws: `HDF5Error` when the data cannot be read (a Fletcher-32 failure, damaged
  ///   metadata, an I/O error) or its type holds variable-length data other than strings.
  public func readValues(_ datasetPath: String) throws -> (values: HDF5DatasetValues, shape: [Int]) {
    try withDataset(datasetPath) { dataset, type in
      let shape = try shape(ofDataset: dataset, datasetPath)
      let count = try elementCount(shape, size: max(H5Tget_size(type), 8), datasetPath)
      let operation = "read (a checksum failure means the stored data is damaged)"
      func read<T>(_ memory: hid_t, _ zero: T) throws -> [T] {
        var values = [T](repeating: zero, count: count)
        if count > 0 {
          try values.withUnsafeMutableBytes { raw in
            try check(
              H5Dread(dataset, memory, latentlab_H5S_ALL(), latentlab_H5S_ALL(), latentlab_H5P_DEFAULT(), raw.baseAddress),
              datasetPath, operation)
          }
        }
        return values
      }
      switch H5Tget_class(type) {
      case H5T_FLOAT where H5Tget_size(type) <= 8:
        return (.floats(try read(latentlab_H5T_NATIVE_DOUBLE(), 0.0)), shape)
      case H5T_INTEGER where H5Tget_size(type) <= 8:
        if H5Tget_sign(type) == H5T_SGN_NONE {
          return (.unsignedIntegers(try read(latentlab_H5T_NATIVE_UINT64(), UInt64(0))), shape)
        }
        return (.signedIntegers(try read(latentlab_H5T_NATIVE_INT64(), Int64(0))), shape)
      case H5T_STRING:
        if H5Tis_variable_str(type) > 0 {
          let memory = try check(H5Tcopy(latentlab_H5T_C_S1()), datasetPath, "copy string type")
          defer { H5Tclose(memory) }
          H5Tset_size(memory, latentlab_H5T_VARIABLE())
          H5Tset_cset(memory, H5Tget_cset(type))
          var pointers = try read(memory, UnsafeMutablePointer<CChar>?.none)
          defer {
            for i in pointers.indices { if let p = pointers[i] { H5free_memory(p) } }
            pointers.removeAll()
          }
          return (.strings(pointers.map { $0.map { String(cString: $0) } ?? "" }), shape)
        }
        let size = H5Tget_size(type)
        var buffer = [UInt8](repeating: 0, count: size * count)
        if count > 0 {
          try buffer.withUnsafeMutableBytes { raw in
            try check(
              H5Dread(dataset, type, latentlab_H5S_ALL(), latentlab_H5S_ALL(), latentlab_H5P_DEFAULT(), raw.baseAddress),
              datasetPath, operation)
          }
        }
        let strings = (0..<count).map { i -> String in
          let bytes = buffer[(i * size)..<((i + 1) * size)].prefix { $0 != 0 }
          return String(decoding: bytes, as: UTF8.self)
        }
        return (.strings(strings), shape)
      default:
        let bytes = try nativeBytes(count: count, type: type, object: datasetPath) { memory, buffer in
          H5Dread(dataset, memory, latentlab_H5S_ALL(), latentlab_H5S_ALL(), latentlab_H5P_DEFAULT(), buffer)
        }
        return (.bytes(bytes, elementSize: count == 0 ? 0 : bytes.count / count), shape)
      }
    }
  }
}
