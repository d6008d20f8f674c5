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

/// Scatter plots as PNG: coloured points in a frame, with the title, the axis labels, the
/// axis ranges and a legend of the class names written in `BitmapFont` (the SVG beside it
/// carries the same text as real text).
public enum ScatterRaster {
  /// `points` coloured by `labels` (indices into `SVGPlot.palette`): a `size × size` plot
  /// area, the title above it, the x label below, the y label turned along the left side,
  /// the minimum, middle and maximum of each axis at its ticks, and a legend of `classNames`.
  public static func render(
    points: [(Double, Double)], labels: [Int], classNames: [String], title: String = "", xLabel: String = "",
    yLabel: String = "", size: Int = 600
  ) throws -> PNGImage {
    guard !points.isEmpty, points.count == labels.count else {
      throw FigureError.invalidImage(reason: "\(points.count) points for \(labels.count) labels")
    }
    let ink: [UInt8] = [40, 40, 40]
    let text = 2  // text scale: 10 × 14 pixel letters
    let legendWidth = 30 + BitmapFont.width(of: classNames.max { $0.count < $1.count } ?? "", scale: text) + 20
    let (left, top, bottom) = (70, 44, 70)
    let width = max(left + size + legendWidth, left + BitmapFont.width(of: title, scale: text) + 10)
    var png = try PNGImage(width: width, height: top + size + bottom, channels: 3)
    let colors = SVGPlot.palette.map { hex -> [UInt8] in
      let v = Int(hex.dropFirst(), radix: 16) ?? 0
      return [UInt8(v >> 16), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }
    let xs = points.map(\.0), ys = points.map(\.1)
    let (x0, x1, y0, y1) = (xs.min()!, xs.max()!, ys.min()!, ys.max()!)
    let margin = 10.0
    let span = Double(size) - 2 * margin
    // Frame.
    for i in 0..<size {
      for frame in [0, size - 1] {
        png.set(x: left + i, y: top + frame, ink)
        png.set(x: left + frame, y: top + i, ink)
      }
    }
    for (p, l) in zip(points, labels) {
      let px = left + Int(margin + (x1 > x0 ? (p.0 - x0) / (x1 - x0) : 0.5) * span)
      let py = top + Int(margin + (y1 > y0 ? (y1 - p.1) / (y1 - y0) : 0.5) * span)
      let color = colors[((l % colors.count) + colors.count) % colors.count]
      for dy in -1...1 { for dx in -1...1 { png.set(x: px + dx, y: py + dy, color) } }
    }
    // Ticks at the minimum, middle and maximum of each axis, with their values.
    for (k, fraction) in [0.0, 0.5, 1.0].enumerated() {
      let offset = Int(margin + fraction * span)
      let xValue = tickLabel(x0 + fraction * (x1 - x0)), yValue = tickLabel(y1 - fraction * (y1 - y0))
      for t in 0..<6 {
        png.set(x: left + offset, y: top + size + t, ink)
        png.set(x: left - 1 - t, y: top + offset, ink)
      }
      let xw = BitmapFont.width(of: xValue)
      let xAt = k == 0 ? left + offset - 2 : k == 2 ? left + offset - xw + 2 : left + offset - xw / 2
      BitmapFont.draw(xValue, into: &png, x: xAt, y: top + size + 9, color: ink)
      let yw = BitmapFont.width(of: yValue)
      let yAt = k == 0 ? top + offset + yw - 2 : k == 2 ? top + offset + 2 : top + offset + yw / 2
      BitmapFont.draw(yValue, into: &png, x: left - 17, y: yAt, color: ink, vertical: true)
    }
    BitmapFont.draw(title, into: &png, x: left, y: 14, scale: text, color: ink)
    BitmapFont.draw(
      xLabel, into: &png, x: left + (size - BitmapFont.width(of: xLabel, scale: text)) / 2, y: top + size + 28,
      scale: text, color: ink)
    BitmapFont.draw(
      yLabel, into: &png, x: left - 44, y: top + (size + BitmapFont.width(of: yLabel, scale: text)) / 2, scale: text,
      color: ink, vertical: true)
    for (c, name) in classNames.enumerated() {
      let y = top + 10 + c * 26
      for dy in 0..<14 { for dx in 0..<14 { png.set(x: left + size + 14 + dx, y: y + dy, colors[c % colors.count]) } }
      BitmapFont.draw(name, into: &png, x: left + size + 36, y: y, scale: text, color: ink)
    }
    return png
  }

  /// An axis value in at most four significant digits.
  static func tickLabel(_ value: Double) -> String {
    let magnitude = abs(value)
    if magnitude != 0 && (magnitude < 0.01 || magnitude >= 100_000) { return String(format: "%.2e", value) }
    var s = String(format: "%.4g", value)
    if s == "-0" { s = "0" }
    return s
  }
}
