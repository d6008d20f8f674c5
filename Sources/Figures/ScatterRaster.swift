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
