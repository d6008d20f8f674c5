/// A problem reading an IDX file (the format of the MNIST family of data sets).
public enum IDXError: Error, CustomStringConvertible, Equatable {
  /// No file at the path (for a data set, `alternatives` lists every name tried).
  case fileNotFound(path: String, alternatives: [String])
  /// The file exists but could not be opened or read.
  case unreadable(path: String, reason: String)
  /// The first two bytes are not zero, or the dimension count is zero.
  case badMagic(path: String, found: UInt32)
  /// The third byte names no IDX element type.
  case unknownElementType(path: String, code: UInt8)
  /// The payload does not hold exactly the bytes the dimensions call for.
  /// `atLeast`: the file holds more than `foundBytes`; `atMost`: it can hold at most that many
  /// (a compressed file's bound, checked before reading).
  case sizeMismatch(path: String, dimensions: [Int], expectedBytes: Int, foundBytes: Int, atLeast: Bool, atMost: Bool)
  /// The file ends inside the header (the dimension sizes).
  case truncatedHeader(path: String, expectedBytes: Int, foundBytes: Int)
  /// The gzip stream ends before its end marker.
  case truncatedGzip(path: String)
  /// The gzip stream is damaged (zlib's own words in `reason`).
  case corruptGzip(path: String, reason: String)

  public var description: String {
    switch self {
    case .fileNotFound(let path, let alternatives):
      let tried = alternatives.count > 1 ? " (tried \(alternatives.joined(separator: ", ")))" : ""
      return "\(path): no such file\(tried)"
    case .unreadable(let path, let reason):
      return "\(path): cannot read: \(reason)"
    case .badMagic(let path, let found):
      let hex = String(found, radix: 16)
      return "\(path): not an IDX file: magic number 0x\(String(repeating: "0", count: max(0, 8 - hex.count)) + hex)"
        + ", expected 0x0000TTNN (two zero bytes, an element type TT in 08 09 0B 0C 0D 0E, a dimension count NN >= 1)"
    case .unknownElementType(let path, let code):
      return "\(path): unknown IDX element type 0x\(String(code, radix: 16)), expected one of"
        + " 0x08 (uint8) 0x09 (int8) 0x0B (int16) 0x0C (int32) 0x0D (float32) 0x0E (float64)"
    case .sizeMismatch(let path, let dims, let expected, let found, let atLeast, let atMost):
      let bound = atLeast ? "at least " : atMost ? "at most " : ""
      let need = expected == .max ? "more than \(Int.max)" : "\(expected)"
      return "\(path): dimensions \(dims) call for \(need) payload bytes, the file holds \(bound)\(found)"
    case .truncatedHeader(let path, let expected, let found):
      return "\(path): the file ends inside the IDX header: expected \(expected) header bytes, found \(found)"
    case .truncatedGzip(let path):
      return "\(path): truncated gzip stream (the file ends before the compressed data does)"
    case .corruptGzip(let path, let reason):
      return "\(path): corrupt gzip stream: \(reason)"
    }
  }
}
