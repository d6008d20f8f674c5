import CZlib
import Figures
import Foundation
import TestSupport
import XCTest

#if canImport(FoundationXML)
  import FoundationXML
#endif

/// An independent PNG reader for the tests: checks the signature, every chunk's CRC-32, the
/// header, inflates the image data with zlib and undoes filter type 0.
func decodePNG(_ bytes: [UInt8]) throws -> (width: Int, height: Int, channels: Int, pixels: [UInt8]) {
  struct Bad: Error { var reason: String }
  guard bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else { throw Bad(reason: "signature") }
  func u32(_ i: Int) -> Int { Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3]) }
  var i = 8
  var width = 0, height = 0, channels = 0
  var idat = [UInt8]()
  var sawEnd = false
  while i < bytes.count {
    let length = u32(i)
    let type = String(decoding: bytes[(i + 4)..<(i + 8)], as: UTF8.self)
    let body = Array(bytes[(i + 4)..<(i + 8 + length)])
    let crc = body.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }
    guard UInt32(crc) == UInt32(u32(i + 8 + length)) else { throw Bad(reason: "CRC of \(type)") }
    let data = Array(body.dropFirst(4))
    switch type {
    case "IHDR":
      width = Int(data[0]) << 24 | Int(data[1]) << 16 | Int(data[2]) << 8 | Int(data[3])
      height = Int(data[4]) << 24 | Int(data[5]) << 16 | Int(data[6]) << 8 | Int(data[7])
      guard data[8] == 8 else { throw Bad(reason: "bit depth") }
      channels = data[9] == 0 ? 1 : data[9] == 2 ? 3 : 0
    case "IDAT": idat += data
    case "IEND": sawEnd = true
    default: break
    }
    i += 12 + length
  }
  guard sawEnd, channels > 0 else { throw Bad(reason: "no IEND or unknown colour type") }
  var size = uLongf(height * (1 + width * channels))
  var raw = [UInt8](repeating: 0, count: Int(size))
  guard uncompress(&raw, &size, idat, uLong(idat.count)) == Z_OK, Int(size) == raw.count else { throw Bad(reason: "inflate") }
  var pixels = [UInt8]()
  for y in 0..<height {
    let row = y * (1 + width * channels)
    guard raw[row] == 0 else { throw Bad(reason: "filter type \(raw[row])") }
    pixels += raw[(row + 1)..<(row + 1 + width * channels)]
  }
  return (width, height, channels, pixels)
}

final class FiguresTests: XCTestCase {
  func testPNGEncodingDecodesToTheSamePixels() throws {
    var grey = try PNGImage(width: 7, height: 5, channels: 1, fill: 0)
    for y in 0..<5 { for x in 0..<7 { grey.set(x: x, y: y, [UInt8(x * 30 + y)]) } }
    let g = try decodePNG(try grey.encoded())
    XCTAssertEqual(g.width, 7)
    XCTAssertEqual(g.height, 5)
    XCTAssertEqual(g.channels, 1)
    XCTAssertEqual(g.pixels, grey.pixels)
    var rgb = try PNGImage(width: 3, height: 2, channels: 3)
    rgb.set(x: 1, y: 1, [255, 0, 10])
    let c = try decodePNG(try rgb.encoded())
    XCTAssertEqual(c.channels, 3)
    XCTAssertEqual(Array(c.pixels[12..<15]), [255, 0, 10])
    XCTAssertThrowsError(try PNGImage(width: 0, height: 2, channels: 1))
  }

  func testImageGridPlacesEveryTile() throws {
    let images: [[Float]] = (0..<5).map { i in [Float](repeating: Float(i) / 4, count: 4) }
    let png = try ImageGrid.render(images, side: 2, columns: 3, scale: 2, gap: 1)
    XCTAssertEqual(png.width, 3 * 4 + 4)
    XCTAssertEqual(png.height, 2 * 4 + 3)
    let decoded = try decodePNG(try png.encoded())
    // Tile 4 (second row, second column) is white; the gap is mid-grey.
    XCTAssertEqual(decoded.pixels[(1 + 4 + 1 + 1) * png.width + (1 + 4 + 1 + 1)], 255)
    XCTAssertEqual(decoded.pixels[0], 128)
    XCTAssertEqual(decoded.pixels[1 * png.width + 1], 0)  // tile 0 is black
  }

  func wellFormed(_ svg: String) -> Bool {
    XMLParser(data: Data(svg.utf8)).parse()
  }

  func testSVGPlotsAreWellFormedWithRealText() {
    let points = (0..<30).map { (Double($0), Double($0 % 7)) }
    let labels = (0..<30).map { $0 % 3 }
    let scatter = SVGPlot.scatter(
      points: points, labels: labels, classNames: ["T-shirt/top", "Trouser", "A & B"], title: "t-SNE <test>",
      xLabel: "dim 1", yLabel: "dim 2")
    XCTAssertTrue(wellFormed(scatter))
    XCTAssertEqual(scatter.components(separatedBy: "<circle").count - 1, 30)
    XCTAssertTrue(scatter.contains(">T-shirt/top</text>") && scatter.contains(">A &amp; B</text>"))
    XCTAssertTrue(scatter.contains("t-SNE &lt;test&gt;"))
    let lines = SVGPlot.lines(
      series: [("train", [1, 2, 3], [0.5, 0.3, 0.2]), ("validation", [1, 2, 3], [0.6, .nan, 0.25])],
      title: "loss", xLabel: "epoch", yLabel: "MSE")
    XCTAssertTrue(wellFormed(lines))
    XCTAssertEqual(lines.components(separatedBy: "<polyline").count - 1, 2)
    let heat = SVGPlot.heatmap(
      values: [[0.9, 0.1], [0.2, 0.8]], cellText: [["90", "10"], ["20", "80"]], rowLabels: ["a", "b"],
      columnLabels: ["a", "b"], title: "confusion", xLabel: "predicted", yLabel: "true")
    XCTAssertTrue(wellFormed(heat))
    XCTAssertTrue(heat.contains(">80</text>"))
  }

  func testScatterRasterColoursEachPointByItsClassAndWritesItsText() throws {
    let png = try ScatterRaster.render(
      points: [(0, 0), (1, 1)], labels: [0, 1], classNames: ["a", "b"], title: "AB", xLabel: "x", yLabel: "y",
      size: 100)
    let decoded = try decodePNG(try png.encoded())
    XCTAssertEqual(decoded.channels, 3)
    func pixel(_ x: Int, _ y: Int) -> [UInt8] { Array(decoded.pixels[((y * decoded.width + x) * 3)..<((y * decoded.width + x) * 3 + 3)]) }
    let (left, top) = (70, 44)  // the plot area's corner
    XCTAssertEqual(pixel(left + 10, top + 90), [0x1f, 0x77, 0xb4], "class 0 at the bottom left, in the palette's first colour")
    XCTAssertEqual(pixel(left + 90, top + 10), [0xff, 0x7f, 0x0e], "class 1 at the top right")
    XCTAssertEqual(pixel(left + 50, top + 50), [255, 255, 255])
    // The title, at scale 2 from (left, 14): every pixel of "A" then "B" as the glyphs say.
    for (i, character) in "AB".enumerated() {
      let glyph = BitmapFont.glyph(character)
      for r in 0..<7 {
        for c in 0..<5 {
          let expected: [UInt8] = glyph[r][c] ? [40, 40, 40] : [255, 255, 255]
          let x = left + (i * BitmapFont.cellWidth + c) * 2, y = 14 + r * 2
          XCTAssertEqual(pixel(x, y), expected, "title \(character) row \(r) column \(c)")
          XCTAssertEqual(pixel(x + 1, y + 1), expected)
        }
      }
    }
    // Legend names beside their swatches, axis labels and tick values: ink in each region.
    func inkCount(_ xs: Range<Int>, _ ys: Range<Int>) -> Int {
      xs.reduce(0) { n, x in n + ys.filter { pixel(x, $0) == [40, 40, 40] }.count }
    }
    XCTAssertGreaterThan(inkCount((left + 136)..<(left + 150), (top + 10)..<(top + 24)), 5, "legend name a")
    XCTAssertGreaterThan(inkCount((left + 40)..<(left + 60), (top + 128)..<(top + 142)), 5, "x label")
    XCTAssertGreaterThan(inkCount((left - 44)..<(left - 30), (top + 40)..<(top + 60)), 5, "y label")
    XCTAssertGreaterThan(inkCount(left..<(left + 20), (top + 109)..<(top + 116)), 3, "x tick value 0")
    XCTAssertThrowsError(try ScatterRaster.render(points: [], labels: [], classNames: ["a"]))
  }

  /// Oracle: the definition (10^n ≤ x < 10^(n+1), 10^n the correctly rounded decimal) on
  /// powers of ten, their neighbours, and `pow(10, floor(log10(x)))` away from them.
  func testDecadeIsTheGreatestPowerOfTenNotAbove() {
    for n in -300...300 {
      let p = Double("1e\(n)")!
      XCTAssertEqual(SVGPlot.decade(notAbove: p), p, "10^\(n)")
      XCTAssertEqual(SVGPlot.decade(notAbove: p.nextUp), p, "just above 10^\(n)")
      if n > -300 { XCTAssertEqual(SVGPlot.decade(notAbove: p.nextDown), Double("1e\(n - 1)")!, "just below 10^\(n)") }
    }
    var state: UInt64 = 7
    for _ in 0..<10_000 {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      let x = Foundation.pow(10, -20 + 40 * Double(state >> 11) * 0x1p-53)
      let expected = Foundation.pow(10, Foundation.floor(Foundation.log10(x)))
      if abs(x / expected - 1) > 1e-12, abs(x / expected - 10) > 1e-12 { XCTAssertEqual(SVGPlot.decade(notAbove: x), expected, "\(x)") }
    }
    XCTAssertEqual(SVGPlot.decade(notAbove: .greatestFiniteMagnitude), 1e308)
    XCTAssertEqual(SVGPlot.decade(notAbove: .infinity), .infinity)
    XCTAssertEqual(SVGPlot.decade(notAbove: 0), 0)
    XCTAssertTrue(SVGPlot.decade(notAbove: -5).isNaN)
    XCTAssertTrue(SVGPlot.decade(notAbove: .nan).isNaN)
  }

  func testBitmapFontHasOneDistinctGlyphPerPrintableCharacter() {
    let printable = (32...126).map { Character(UnicodeScalar(UInt8($0))) }
    let glyphs = printable.map { BitmapFont.glyph($0) }
    XCTAssertEqual(Set(glyphs.map { $0.flatMap { $0 }.map { $0 ? "#" : "." }.joined() }).count, 95)
    XCTAssertEqual(glyphs[0].flatMap { $0 }.filter { $0 }.count, 0, "space is blank")
    XCTAssertEqual(BitmapFont.glyph("é"), BitmapFont.glyph("?"), "outside ASCII: a question mark")
    XCTAssertEqual(BitmapFont.width(of: "abc", scale: 2), (3 * 6 - 1) * 2)
    // "I" is a vertical bar with serifs: column 2 inked on every row.
    XCTAssertTrue(BitmapFont.glyph("I").allSatisfy { $0[2] })
  }
}
