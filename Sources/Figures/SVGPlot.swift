import Foundation

/// Plots as SVG documents: real text, one file a person opens in a browser.
public enum SVGPlot {
  /// Ten distinguishable colours (matplotlib's "tab10").
  public static let palette = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
  ]

  /// `text` with XML's special characters escaped.
  public static func escape(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
  }

  static func number(_ x: Double) -> String { String(format: "%.2f", x) }

  /// Round tick values covering `low...high` (about five).
  static func ticks(_ low: Double, _ high: Double) -> [Double] {
    guard high > low else { return [low] }
    let raw = (high - low) / 5
    let magnitude = decade(notAbove: raw)
    let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
    var t = ceil(low / step) * step
    var out: [Double] = []
    while t <= high + step * 1e-9 { out.append(t); t += step }
    return out
  }

  /// The greatest power of ten not above `x`, each 10^n read from its decimal spelling
  /// (correctly rounded): no `pow` or `log10`, whose last bits glibc lets vary by CPU. As
  /// `pow(10, floor(log10(x)))` elsewhere: +∞ for +∞, 0 for 0, NaN for NaN and negative x.
  public static func decade(notAbove x: Double) -> Double {
    guard x.isFinite, x > 0 else { return x > 0 ? x : (x == 0 ? 0 : .nan) }
    func power(_ n: Int) -> Double { Double("1e\(n)")! }
    var n = Int((Double(x.exponent) * 0.30103).rounded(.down))  // log10(2): within one of the answer
    while power(n) > x { n -= 1 }
    while power(n + 1) <= x { n += 1 }
    return power(n)
  }

  static func tickLabel(_ v: Double) -> String {
    if v == 0 { return "0" }
    if abs(v) >= 1000 || abs(v) < 0.01 { return String(format: "%.1e", v) }
    return String(format: "%g", (v * 1000).rounded() / 1000)
  }

  /// Frame, ticks and labels of a plot area; returns the SVG and the mapping to pixels.
  static func axes(
    title: String, xLabel: String, yLabel: String, xRange: (Double, Double), yRange: (Double, Double),
    width: Double, height: Double, left: Double = 70, right: Double, top: Double = 40, bottom: Double = 55
  ) -> (svg: String, x: (Double) -> Double, y: (Double) -> Double) {
    let (x0, x1) = xRange.0 == xRange.1 ? (xRange.0 - 1, xRange.1 + 1) : xRange
    let (y0, y1) = yRange.0 == yRange.1 ? (yRange.0 - 1, yRange.1 + 1) : yRange
    let px = { (v: Double) in left + (v - x0) / (x1 - x0) * (width - left - right) }
    let py = { (v: Double) in height - bottom - (v - y0) / (y1 - y0) * (height - top - bottom) }
    var s = "<rect x=\"\(number(left))\" y=\"\(number(top))\" width=\"\(number(width - left - right))\""
      + " height=\"\(number(height - top - bottom))\" fill=\"none\" stroke=\"#333\"/>\n"
    for t in ticks(x0, x1) {
      s += "<line x1=\"\(number(px(t)))\" y1=\"\(number(height - bottom))\" x2=\"\(number(px(t)))\" y2=\"\(number(height - bottom + 5))\" stroke=\"#333\"/>"
      s += "<text x=\"\(number(px(t)))\" y=\"\(number(height - bottom + 18))\" text-anchor=\"middle\">\(tickLabel(t))</text>\n"
    }
    for t in ticks(y0, y1) {
      s += "<line x1=\"\(number(left - 5))\" y1=\"\(number(py(t)))\" x2=\"\(number(left))\" y2=\"\(number(py(t)))\" stroke=\"#333\"/>"
      s += "<text x=\"\(number(left - 8))\" y=\"\(number(py(t) + 4))\" text-anchor=\"end\">\(tickLabel(t))</text>\n"
    }
    s += "<text x=\"\(number(width / 2))\" y=\"22\" text-anchor=\"middle\" font-size=\"16\">\(escape(title))</text>\n"
    s += "<text x=\"\(number(left + (width - left - right) / 2))\" y=\"\(number(height - 12))\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
    s += "<text transform=\"translate(18 \(number(top + (height - top - bottom) / 2))) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))</text>\n"
    return (s, px, py)
  }

  static func document(width: Double, height: Double, _ body: String) -> String {
    """
    <?xml version="1.0" encoding="UTF-8"?>
    <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">
    <rect width="100%" height="100%" fill="white"/>
    \(body)</svg>

    """
  }

  /// A scatter plot of 2-D points coloured by class, with a legend of the class names.
  public static func scatter(
    points: [(Double, Double)], labels: [Int], classNames: [String], title: String, xLabel: String, yLabel: String
  ) -> String {
    let (width, height) = (760.0, 600.0)
    let xs = points.map(\.0), ys = points.map(\.1)
    let (plot, px, py) = axes(
      title: title, xLabel: xLabel, yLabel: yLabel, xRange: (xs.min() ?? 0, xs.max() ?? 1),
      yRange: (ys.min() ?? 0, ys.max() ?? 1), width: width, height: height, right: 150)
    var body = plot
    // One group per class, so a reader can toggle or restyle a class.
    for (c, name) in classNames.enumerated() {
      body += "<g fill=\"\(palette[c % palette.count])\" fill-opacity=\"0.6\"><title>\(escape(name))</title>\n"
      for (p, l) in zip(points, labels) where l == c {
        body += "<circle cx=\"\(number(px(p.0)))\" cy=\"\(number(py(p.1)))\" r=\"1.6\"/>"
      }
      body += "\n</g>\n"
    }
    for (c, name) in classNames.enumerated() {
      let y = 50 + Double(c) * 20
      body += "<rect x=\"\(number(width - 140))\" y=\"\(number(y - 9))\" width=\"12\" height=\"12\" fill=\"\(palette[c % palette.count])\"/>"
      body += "<text x=\"\(number(width - 122))\" y=\"\(number(y + 1))\">\(escape(name))</text>\n"
    }
    return document(width: width, height: height, body)
  }

  /// Line plots of several named series over a shared x axis (training curves).
  public static func lines(series: [(name: String, x: [Double], y: [Double])], title: String, xLabel: String, yLabel: String) -> String {
    let (width, height) = (760.0, 460.0)
    let finite = series.flatMap { zip($0.x, $0.y).filter { $0.1.isFinite } }
    let (plot, px, py) = axes(
      title: title, xLabel: xLabel, yLabel: yLabel, xRange: (finite.map(\.0).min() ?? 0, finite.map(\.0).max() ?? 1),
      yRange: (min(0, finite.map(\.1).min() ?? 0), finite.map(\.1).max() ?? 1), width: width, height: height, right: 170)
    var body = plot
    for (i, s) in series.enumerated() {
      let color = palette[i % palette.count]
      let pts = zip(s.x, s.y).filter { $0.1.isFinite }.map { "\(number(px($0.0))),\(number(py($0.1)))" }
      body += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(pts.joined(separator: " "))\"/>\n"
      for p in pts { body += "<circle cx=\"\(p.split(separator: ",")[0])\" cy=\"\(p.split(separator: ",")[1])\" r=\"3\" fill=\"\(color)\"/>" }
      let y = 50 + Double(i) * 20
      body += "\n<rect x=\"\(number(width - 160))\" y=\"\(number(y - 9))\" width=\"12\" height=\"12\" fill=\"\(color)\"/>"
      body += "<text x=\"\(number(width - 142))\" y=\"\(number(y + 1))\">\(escape(s.name))</text>\n"
    }
    return document(width: width, height: height, body)
  }

  /// A heatmap of a matrix with row and column labels and each cell's value written in it
  /// (the confusion matrix: counts shaded by row-normalised rate).
  public static func heatmap(
    values: [[Double]], cellText: [[String]], rowLabels: [String], columnLabels: [String], title: String,
    xLabel: String, yLabel: String
  ) -> String {
    let rows = values.count, cols = values.first?.count ?? 0
    let cell = 46.0, left = 120.0, top = 50.0
    let width = left + Double(cols) * cell + 90, height = top + Double(rows) * cell + 110
    let maxValue = max(values.flatMap { $0 }.max() ?? 1, 1e-12)
    var body = "<text x=\"\(number(width / 2))\" y=\"24\" text-anchor=\"middle\" font-size=\"16\">\(escape(title))</text>\n"
    for r in 0..<rows {
      for c in 0..<cols {
        let t = values[r][c] / maxValue
        let shade = Int(255 - t * 200)
        let fill = String(format: "#%02x%02x%02x", shade, shade, 255)
        let (x, y) = (left + Double(c) * cell, top + Double(r) * cell)
        body += "<rect x=\"\(number(x))\" y=\"\(number(y))\" width=\"\(number(cell))\" height=\"\(number(cell))\" fill=\"\(fill)\" stroke=\"white\"/>"
        body += "<text x=\"\(number(x + cell / 2))\" y=\"\(number(y + cell / 2 + 4))\" text-anchor=\"middle\" font-size=\"11\""
          + " fill=\"\(t > 0.6 ? "white" : "black")\">\(escape(cellText[r][c]))</text>\n"
      }
      body += "<text x=\"\(number(left - 6))\" y=\"\(number(top + Double(r) * cell + cell / 2 + 4))\" text-anchor=\"end\">\(escape(rowLabels[r]))</text>\n"
    }
    for c in 0..<cols {
      let x = left + Double(c) * cell + cell / 2, y = top + Double(rows) * cell + 10
      body += "<text transform=\"translate(\(number(x)) \(number(y))) rotate(45)\" text-anchor=\"start\">\(escape(columnLabels[c]))</text>\n"
    }
    body += "<text x=\"\(number(left + Double(cols) * cell / 2))\" y=\"\(number(height - 8))\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
    body += "<text transform=\"translate(14 \(number(top + Double(rows) * cell / 2))) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))</text>\n"
    return document(width: width, height: height, body)
  }
}

/// Writes a figure's bytes or text to a file atomically, creating the folder.
public enum FigureFile {
  public static func write(_ bytes: [UInt8], to path: String) throws {
    let url = URL(fileURLWithPath: path)
    do {
      try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      try Data(bytes).write(to: url, options: .atomic)
    } catch {
      throw FigureError.cannotWrite(path: path, reason: "\(error)")
    }
  }

  public static func write(_ text: String, to path: String) throws { try write(Array(text.utf8), to: path) }
}
