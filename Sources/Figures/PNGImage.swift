import CZlib

/// A problem making a figure.
public enum FigureError: Error, CustomStringConvertible, Equatable {
  case invalidImage(reason: String)
  case compressionFailed(status: Int32)
  case cannotWrite(path: String, reason: String)

  public var description: String {
    switch self {
    case .invalidImage(let reason): return "invalid image: \(reason)"
    case .compressionFailed(let status): return "PNG compression failed (zlib status \(status))"
    case .cannotWrite(let path, let reason): return "\(path): cannot write: \(reason)"
    }
  }
}

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

/// Grids of grey images, for reconstructions, generated samples and interpolations.
public enum ImageGrid {
  /// Tiles `images` (`[N, 1, H, W]`, values in [0, 1], clamped) `columns` to a row, each
  /// pixel drawn as `scale × scale`, with `gap` pixels of mid-grey between tiles.
  public static func render(_ images: [[Float]], side: Int, columns: Int, scale: Int = 2, gap: Int = 2) throws -> PNGImage {
    guard !images.isEmpty, columns > 0, scale > 0, images.allSatisfy({ $0.count == side * side }) else {
      throw FigureError.invalidImage(reason: "\(images.count) images of side \(side) in \(columns) columns")
    }
    let rows = (images.count + columns - 1) / columns
    let tile = side * scale
    var png = try PNGImage(
      width: columns * tile + (columns + 1) * gap, height: rows * tile + (rows + 1) * gap, channels: 1, fill: 128)
    for (index, image) in images.enumerated() {
      let (r, c) = (index / columns, index % columns)
      let (x0, y0) = (gap + c * (tile + gap), gap + r * (tile + gap))
      for y in 0..<side {
        for x in 0..<side {
          let v = UInt8((min(max(image[y * side + x], 0), 1) * 255).rounded())
          for dy in 0..<scale { for dx in 0..<scale { png.set(x: x0 + x * scale + dx, y: y0 + y * scale + dy, [v]) } }
        }
      }
    }
    return png
  }
}

/// Scatter plots as PNG: coloured points on white in a frame, with a legend of colour swatches
/// in the order of the SVG's legend (PNG carries no text; the SVG beside it has the labels).
public enum ScatterRaster {
  /// `points` coloured by `labels` (indices into `SVGPlot.palette`), `size × size` pixels of
  /// plot plus a legend column of `classes` swatches.
  public static func render(points: [(Double, Double)], labels: [Int], classes: Int, size: Int = 600) throws -> PNGImage {
    guard !points.isEmpty, points.count == labels.count else {
      throw FigureError.invalidImage(reason: "\(points.count) points for \(labels.count) labels")
    }
    let legend = 40
    var png = try PNGImage(width: size + legend, height: size, channels: 3)
    let colors = SVGPlot.palette.map { hex -> [UInt8] in
      let v = Int(hex.dropFirst(), radix: 16) ?? 0
      return [UInt8(v >> 16), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }
    let xs = points.map(\.0), ys = points.map(\.1)
    let (x0, x1, y0, y1) = (xs.min()!, xs.max()!, ys.min()!, ys.max()!)
    let margin = 10.0
    let span = Double(size) - 2 * margin
    for i in 0..<size {
      for frame in [0, size - 1] {
        png.set(x: i, y: frame, [60, 60, 60])
        png.set(x: frame, y: i, [60, 60, 60])
      }
    }
    for (p, l) in zip(points, labels) {
      let px = Int(margin + (x1 > x0 ? (p.0 - x0) / (x1 - x0) : 0.5) * span)
      let py = Int(margin + (y1 > y0 ? (y1 - p.1) / (y1 - y0) : 0.5) * span)
      let color = colors[((l % colors.count) + colors.count) % colors.count]
      for dy in -1...1 { for dx in -1...1 { png.set(x: px + dx, y: py + dy, color) } }
    }
    for c in 0..<min(classes, colors.count) {
      for dy in 0..<14 { for dx in 0..<14 { png.set(x: size + 13 + dx, y: 20 + c * 22 + dy, colors[c]) } }
    }
    return png
  }
}
