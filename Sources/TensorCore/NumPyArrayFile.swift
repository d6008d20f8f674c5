import Foundation

/// An error reading or writing a NumPy `.npy` file.
public enum NumPyArrayFileError: Error, CustomStringConvertible, Equatable {
  case unreadable(path: String, reason: String)
  case badMagic(path: String)
  case badHeader(path: String, reason: String)
  case unsupportedType(path: String, descr: String)
  case sizeMismatch(path: String, shape: [Int], expectedBytes: Int, foundBytes: Int)
  case unwritable(path: String, reason: String)

  public var description: String {
    switch self {
    case .unreadable(let path, let reason): return "\(path): cannot read: \(reason)"
    case .badMagic(let path):
      return "\(path): not a NumPy .npy file (expected the magic bytes \\x93NUMPY)"
    case .badHeader(let path, let reason): return "\(path): malformed .npy header: \(reason)"
    case .unsupportedType(let path, let descr):
      return "\(path): unsupported dtype '\(descr)' (expected one of <f4 <f8 <i8 <u8 |u1 <i4)"
    case .sizeMismatch(let path, let shape, let expected, let found):
      return "\(path): shape \(shape) needs \(expected) bytes of data, the file holds \(found)"
    case .unwritable(let path, let reason): return "\(path): cannot write: \(reason)"
    }
  }
}

/// An array stored in NumPy's `.npy` format (version 1.0/2.0, little-endian, C order).
///
/// The format LatentLab uses for golden files and the NumPy reference fixtures, and one of
/// the inputs `embed --input` accepts. Spec: numpy.lib.format ("NEP 1").
public struct NumPyArray: Equatable, Sendable {
  /// The element types LatentLab reads and writes, by their NumPy `descr`.
  public enum DType: String, Sendable {
    case float32 = "<f4"
    case float64 = "<f8"
    case int64 = "<i8"
    case int32 = "<i4"
    case uint64 = "<u8"
    case uint8 = "|u1"

    /// Bytes per element.
    public var size: Int {
      switch self {
      case .float32, .int32: return 4
      case .float64, .int64, .uint64: return 8
      case .uint8: return 1
      }
    }
  }

  /// The dimensions, outermost first (empty for a scalar).
  public var shape: [Int]
  /// The element type.
  public var dtype: DType
  /// The raw little-endian element bytes in C order.
  public var bytes: [UInt8]

  /// An array from raw bytes. - Precondition: the byte count fits shape and dtype.
  public init(shape: [Int], dtype: DType, bytes: [UInt8]) {
    precondition(shape.reduce(1, *) * dtype.size == bytes.count, "NumPyArray: size mismatch")
    self.shape = shape
    self.dtype = dtype
    self.bytes = bytes
  }

  /// A float32 array.
  public init(shape: [Int], floats: [Float]) {
    self.init(shape: shape, dtype: .float32, bytes: NumPyArray.littleEndianBytes(floats.map { $0.bitPattern }))
  }

  /// A float64 array.
  public init(shape: [Int], doubles: [Double]) {
    self.init(shape: shape, dtype: .float64, bytes: NumPyArray.littleEndianBytes(doubles.map { $0.bitPattern }))
  }

  /// A uint64 array.
  public init(shape: [Int], uint64s: [UInt64]) {
    self.init(shape: shape, dtype: .uint64, bytes: NumPyArray.littleEndianBytes(uint64s))
  }

  /// A float32 array holding a tensor.
  public init(_ tensor: Tensor) { self.init(shape: tensor.shape, floats: tensor.scalars) }

  /// A float64 array holding a double-precision tensor.
  public init(_ tensor: TensorOf<Double>) { self.init(shape: tensor.shape, doubles: tensor.scalars) }

  /// The number of elements.
  public var count: Int { shape.reduce(1, *) }

  /// The elements as `Double` (exact for every supported type but large 64-bit integers).
  public func doubles() -> [Double] {
    var out = [Double](repeating: 0, count: count)
    bytes.withUnsafeBytes { raw in
      for i in 0..<count {
        switch dtype {
        case .float32: out[i] = Double(Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian))
        case .float64: out[i] = Double(bitPattern: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self).littleEndian)
        case .int64: out[i] = Double(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
        case .int32: out[i] = Double(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
        case .uint64: out[i] = Double(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))
        case .uint8: out[i] = Double(raw[i])
        }
      }
    }
    return out
  }

  /// The elements as `Float` (rounded from the stored type where it is wider).
  public func floats() -> [Float] {
    if dtype == .float32 {
      return bytes.withUnsafeBytes { raw in
        (0..<count).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self).littleEndian) }
      }
    }
    return doubles().map { Float($0) }
  }

  /// The elements as raw 64-bit words. - Precondition: dtype `<u8` or `<i8`.
  public func uint64s() -> [UInt64] {
    precondition(dtype == .uint64 || dtype == .int64, "NumPyArray: not a 64-bit integer array")
    return bytes.withUnsafeBytes { raw in
      (0..<count).map { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self)) }
    }
  }

  /// The array as a float32 tensor of the same shape.
  public func tensor() -> Tensor { Tensor(shape: shape, scalars: floats()) }

  /// The array as a float64 tensor of the same shape.
  public func doubleTensor() -> TensorOf<Double> { TensorOf<Double>(shape: shape, scalars: doubles()) }

  private static func littleEndianBytes(_ words: [UInt32]) -> [UInt8] {
    var out = [UInt8]()
    out.reserveCapacity(words.count * 4)
    for w in words { withUnsafeBytes(of: w.littleEndian) { out.append(contentsOf: $0) } }
    return out
  }

  private static func littleEndianBytes(_ words: [UInt64]) -> [UInt8] {
    var out = [UInt8]()
    out.reserveCapacity(words.count * 8)
    for w in words { withUnsafeBytes(of: w.littleEndian) { out.append(contentsOf: $0) } }
    return out
  }

  // MARK: - Reading

  /// Reads a `.npy` file.
  public static func read(path: String) throws -> NumPyArray {
    let data: Data
    do {
      data = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
      throw NumPyArrayFileError.unreadable(path: path, reason: (error as NSError).localizedDescription)
    }
    return try parse([UInt8](data), path: path)
  }

  /// Parses the bytes of a `.npy` file; `path` only names the source in errors.
  public static func parse(_ file: [UInt8], path: String) throws -> NumPyArray {
    let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
    guard file.count >= 10, Array(file[0..<6]) == magic else { throw NumPyArrayFileError.badMagic(path: path) }
    let major = file[6]
    let headerLength: Int
    let headerStart: Int
    switch major {
    case 1:
      headerLength = Int(file[8]) | Int(file[9]) << 8
      headerStart = 10
    case 2, 3:
      guard file.count >= 12 else { throw NumPyArrayFileError.badHeader(path: path, reason: "file ends inside the header length") }
      headerLength = Int(file[8]) | Int(file[9]) << 8 | Int(file[10]) << 16 | Int(file[11]) << 24
      headerStart = 12
    default:
      throw NumPyArrayFileError.badHeader(path: path, reason: "unknown format version \(major)")
    }
    guard headerStart + headerLength <= file.count else {
      throw NumPyArrayFileError.badHeader(path: path, reason: "file ends inside the header")
    }
    let header = String(decoding: file[headerStart..<(headerStart + headerLength)], as: UTF8.self)
    let descr = try headerValue("descr", in: header, path: path)
      .trimmingCharacters(in: CharacterSet(charactersIn: "'\" "))
    let fortran = try headerValue("fortran_order", in: header, path: path)
    guard fortran.trimmingCharacters(in: .whitespaces) == "False" else {
      throw NumPyArrayFileError.badHeader(path: path, reason: "fortran_order is \(fortran); only C order is read")
    }
    let shapeText = try headerValue("shape", in: header, path: path)
    let shape = try shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "() "))
      .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
      .map { (s: String) -> Int in
        guard let v = Int(s), v >= 0 else {
          throw NumPyArrayFileError.badHeader(path: path, reason: "shape \(shapeText) is not a tuple of sizes")
        }
        return v
      }
    let normalised = descr == "<u1" || descr == "|i1" ? "|u1" : descr
    guard let dtype = DType(rawValue: normalised) else {
      throw NumPyArrayFileError.unsupportedType(path: path, descr: descr)
    }
    let dataStart = headerStart + headerLength
    let found = file.count - dataStart
    // The product is checked for overflow: a header may claim any sizes.
    var expected = dtype.size
    for size in shape {
      let (product, overflow) = expected.multipliedReportingOverflow(by: size)
      guard !overflow else {
        throw NumPyArrayFileError.badHeader(path: path, reason: "shape \(shapeText) holds more elements than memory can")
      }
      expected = product
    }
    guard found == expected else {
      throw NumPyArrayFileError.sizeMismatch(path: path, shape: shape, expectedBytes: expected, foundBytes: found)
    }
    return NumPyArray(shape: shape, dtype: dtype, bytes: Array(file[dataStart...]))
  }

  /// The text of `'key': value` in a header dictionary, up to the next top-level comma.
  private static func headerValue(_ key: String, in header: String, path: String) throws -> String {
    guard let keyRange = header.range(of: "'\(key)'") else {
      throw NumPyArrayFileError.badHeader(path: path, reason: "no '\(key)' entry")
    }
    var rest = header[keyRange.upperBound...].drop { $0 == " " }
    guard rest.first == ":" else { throw NumPyArrayFileError.badHeader(path: path, reason: "no ':' after '\(key)'") }
    rest = rest.dropFirst().drop { $0 == " " }
    var depth = 0
    var value = ""
    for ch in rest {
      if ch == "(" { depth += 1 }
      if ch == ")" { depth -= 1 }
      if (ch == "," && depth == 0) || ch == "}" { break }
      value.append(ch)
    }
    return value
  }

  // MARK: - Writing

  /// The bytes of this array as a version 1.0 `.npy` file.
  public func fileBytes() -> [UInt8] {
    let shapeText = shape.isEmpty ? "()" : shape.count == 1 ? "(\(shape[0]),)"
      : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    var header = "{'descr': '\(dtype.rawValue)', 'fortran_order': False, 'shape': \(shapeText), }"
    // Pad with spaces so that the data starts on a 64-byte boundary, ending in a newline.
    let unpadded = 10 + header.utf8.count + 1
    header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
    var out: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0]
    let n = header.utf8.count
    out += [UInt8(n & 0xFF), UInt8(n >> 8)]
    out += Array(header.utf8)
    out += bytes
    return out
  }

  /// Writes a `.npy` file atomically (a temporary file in the same folder, then renamed),
  /// creating the folder if needed.
  public func write(path: String) throws {
    let url = URL(fileURLWithPath: path)
    do {
      try FileManager.default.createDirectory(
        at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      try Data(fileBytes()).write(to: url, options: .atomic)
    } catch {
      throw NumPyArrayFileError.unwritable(path: path, reason: (error as NSError).localizedDescription)
    }
  }
}
