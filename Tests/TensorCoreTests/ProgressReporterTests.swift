import TensorCore
import XCTest

final class ProgressReporterTests: XCTestCase {
  func testPlainModeWritesAShortLogWithRateAndETA() {
    var lines: [String] = []
    var time = 0.0
    let p = ProgressReporter(
      label: "epoch 1", total: 100, unit: "img", interactive: false,
      write: { lines.append($0) }, clock: { time })
    for _ in 0..<100 {
      time += 0.5
      p.advance()
    }
    // Nine intermediate lines (10% … 90%) and the final summary.
    XCTAssertEqual(lines.count, 10)
    XCTAssertTrue(lines[0].hasPrefix("epoch 1 [##"), lines[0])
    XCTAssertTrue(lines[0].contains("10/100 10% 2.0 img/s ETA 0:45"), lines[0])
    XCTAssertEqual(lines.last, "epoch 1: 100/100 img in 0:50 (2.0 img/s)\n")
    XCTAssertFalse(lines.joined().contains("\r"))
  }

  func testInteractiveModeRedrawsInPlace() {
    var out = ""
    var time = 0.0
    let p = ProgressReporter(label: "t", total: 4, interactive: true, write: { out += $0 }, clock: { time })
    for _ in 0..<4 {
      time += 1
      p.advance()
    }
    XCTAssertTrue(out.hasPrefix("\r"))
    XCTAssertTrue(out.contains("ETA"))
    XCTAssertTrue(out.hasSuffix("t: 4/4 it in 0:04 (1.0 it/s)\u{1B}[K\n"))
  }

  func testFormatting() {
    XCTAssertEqual(ProgressReporter.formatDuration(59.4), "0:59")
    XCTAssertEqual(ProgressReporter.formatDuration(3725), "1:02:05")
    XCTAssertEqual(ProgressReporter.formatRate(12345.6), "12346")
    XCTAssertEqual(ProgressReporter.formatRate(3.14), "3.1")
  }
}
