import CZlib

/// An 8-bit image, grey or RGB, rows top to bottom, and its PNG encoding.
public struct PNGImage: Equatable, Sendable {
  public let width: Int
  public let height: Int
  /// 1 (grey) or 3 (RGB).
  public let channels: Int
  /// `height · width · channels` bytes, row-major.
  public var pixels: [UInt8]

  /// A blank image filled with `value` in every channel.
  public init(width: Int, height: Int, channels: Int, fill value: UInt8 = 255) throws {
    guard width > 0, height > 0, channels == 1 || channels == 3 else {
      throw FigureError.invalidImage(reason: "\(width)x\(height) with \(channels) channels (expected positive sizes, 1 or 3 channels)")
    }
    self.width = width
    self.height = height
    self.channels = channels
    pixels = [UInt8](repeating: value, count: width * height * channels)
  }

  /// Sets one pixel (silently ignores coordinates outside the image, for drawing).
  public mutating func set(x: Int, y: Int, _ color: [UInt8]) {
    guard x >= 0, y >= 0, x < width, y < height else { return }
    let o = (y * width + x) * channels
    for c in 0..<channels { pixels[o + c] = color[min(c, color.count - 1)] }
  }

  /// The PNG file (PNG 1.2 / ISO 15948): signature, IHDR, one zlib-compressed IDAT with filter
  /// type 0 on every row, IEND; each chunk with its CRC-32.
  public func encoded() throws -> [UInt8] {
    var raw = [UInt8]()
    raw.reserveCapacity(height * (1 + width * channels))
    let stride = width * channels
    for y in 0..<height {
      raw.append(0)
      raw.append(contentsOf: pixels[(y * stride)..<((y + 1) * stride)])
    }
    var bound = compressBound(uLong(raw.count))
    var compressed = [UInt8](repeating: 0, count: Int(bound))
    let status = compress2(&compressed, &bound, raw, uLong(raw.count), 9)
    guard status == Z_OK else { throw FigureError.compressionFailed(status: status) }
    compressed.removeSubrange(Int(bound)...)

    var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    var header = [UInt8]()
    header += PNGImage.bigEndian(UInt32(width))
    header += PNGImage.bigEndian(UInt32(height))
    header += [8, channels == 1 ? 0 : 2, 0, 0, 0]  // bit depth, colour type, compression, filter, interlace
    PNGImage.appendChunk("IHDR", header, to: &png)
    PNGImage.appendChunk("IDAT", compressed, to: &png)
    PNGImage.appendChunk("IEND", [], to: &png)
    return png
  }

  static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }

  static func appendChunk(_ type: String, _ data: [UInt8], to png: inout [UInt8]) {
    png += bigEndian(UInt32(data.count))
    let typeBytes = Array(type.utf8)
    let body = typeBytes + data
    png += body
    let crc = body.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }
    png += bigEndian(UInt32(crc))
  }
}
