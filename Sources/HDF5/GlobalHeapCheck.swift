import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Checks the structure of every global heap collection in a file before libhdf5 reads it.
///
/// libhdf5 (1.10) trusts the object sizes inside a global heap collection (where
/// variable-length strings live; the format gives the collection no checksum) and copies that
/// many bytes: one damaged size field crashes the process. This check walks each collection
/// the way the format defines it (HDF5 File Format Specification, III.E "Global Heap"):
/// `GCOL`, version 1, three reserved bytes, the collection size (8 bytes); then objects of
/// index (2 bytes), reference count (2), reserved (4), size (8) and data padded to a multiple
/// of 8, until the free-space object of index 0; and refuses a collection whose objects do
/// not fit in it. Collections are found by their signature; 8-byte lengths and offsets are
/// assumed (every file LatentLab writes, and h5py's default).
enum GlobalHeapCheck {
  static let signature: [UInt8] = Array("GCOL".utf8)

  /// Throws `HDF5Error.callFailed` naming the offset of the first damaged collection.
  static func verify(_ path: String) throws {
    let data: Data
    do {
      data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
    } catch {
      throw HDF5Error.callFailed(file: path, object: "/", operation: "read", detail: "\(error.localizedDescription)")
    }
    try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
      let bytes = raw.bindMemory(to: UInt8.self)
      var start = 0
      while start + 16 <= bytes.count {
        guard let found = find(signature, in: bytes, from: start) else { return }
        start = found + 4
        guard found + 16 <= bytes.count, bytes[found + 4] == 1 else { continue }
        let size = Int(truncatingIfNeeded: readUInt64(bytes, found + 8))
        func damaged(_ reason: String) -> HDF5Error {
          .callFailed(
            file: path, object: "global heap collection at byte \(found)", operation: "check",
            detail: "damaged: \(reason)")
        }
        guard size >= 16, size <= bytes.count - found else {
          throw damaged("its size \(size) does not fit in the file (\(bytes.count - found) bytes from it)")
        }
        var offset = found + 16
        let end = found + size
        while offset + 16 <= end {
          let index = Int(bytes[offset]) | Int(bytes[offset + 1]) << 8
          let objectSize = readUInt64(bytes, offset + 8)
          // The free-space object (index 0) counts its own header; the others do not.
          let room = end - offset - (index == 0 ? 0 : 16)
          guard objectSize <= UInt64(room) else {
            throw damaged("object \(index) at byte \(offset) claims \(objectSize) bytes, \(room) remain")
          }
          if index == 0 { break }
          offset += 16 + (Int(objectSize) + 7) / 8 * 8
        }
      }
    }
  }

  private static func readUInt64(_ bytes: UnsafeBufferPointer<UInt8>, _ at: Int) -> UInt64 {
    (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) }
  }

  private static func find(_ needle: [UInt8], in bytes: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
    guard let base = bytes.baseAddress, !needle.isEmpty else { return nil }
    var at = from
    while at + needle.count <= bytes.count {
      // memchr finds the first byte fast; the rest is compared in place.
      guard let hit = memchr(base + at, Int32(needle[0]), bytes.count - needle.count + 1 - at) else { return nil }
      let index = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
      if memcmp(base + index, needle, needle.count) == 0 { return index }
      at = index + 1
    }
    return nil
  }
}
