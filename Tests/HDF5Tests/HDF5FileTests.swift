import Foundation
import HDF5
import TestSupport
import XCTest

final class HDF5FileTests: XCTestCase {
  var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("hdf5-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

  func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

  func writeSample(_ path: String) throws {
    let file = try HDF5File.create(path: path)
    try file.createGroup("/g")
    try file.write("/g/f32", [1.5, -2, 3.25, 0, 1e-30, 7] as [Float], shape: [2, 3], fletcher32: true)
    try file.write("/g/f64", [Double.pi], shape: [1])
    try file.write("/i64", [Int64.min, -1, 0, Int64.max], shape: [2, 1, 2])
    try file.write("/u8", [0, 255, 7] as [UInt8], shape: [3])
    try file.write("/u64", [UInt64.max, 1], shape: [2])
    try file.write("/scalar", [42] as [Int64], shape: [])
    try file.setAttribute("format", "latentlab-checkpoint")
    try file.setAttribute("version", Int64(1))
    try file.setAttribute("rate", 0.25, on: "/g")
    try file.setAttribute("unicode", "σ² ✓", on: "/g/f32")
    try file.close()
  }

  func testEveryTypeAndAttributeRoundTrips() throws {
    let p = path("a.h5")
    try writeSample(p)
    let file = try HDF5File.open(path: p)
    let f32 = try file.read("/g/f32", as: Float.self)
    XCTAssertEqual(f32.values, [1.5, -2, 3.25, 0, 1e-30, 7])
    XCTAssertEqual(f32.shape, [2, 3])
    XCTAssertEqual(try file.read("/g/f64", as: Double.self).values, [.pi])
    XCTAssertEqual(try file.read("/i64", as: Int64.self).values, [Int64.min, -1, 0, Int64.max])
    XCTAssertEqual(try file.read("/i64", as: Int64.self).shape, [2, 1, 2])
    XCTAssertEqual(try file.read("/u8", as: UInt8.self).values, [0, 255, 7])
    XCTAssertEqual(try file.read("/u64", as: UInt64.self).values, [UInt64.max, 1])
    XCTAssertEqual(try file.read("/scalar", as: Int64.self).shape, [])
    XCTAssertEqual(try file.attribute("format"), .string("latentlab-checkpoint"))
    XCTAssertEqual(try file.attribute("version"), .int(1))
    XCTAssertEqual(try file.attribute("rate", on: "/g"), .double(0.25))
    XCTAssertEqual(try file.attribute("unicode", on: "/g/f32"), .string("σ² ✓"))
    XCTAssertEqual(try file.attributeNames(), ["format", "version"])
    XCTAssertEqual(try file.children(of: "/").map(\.name), ["g", "i64", "scalar", "u64", "u8"])
    XCTAssertEqual(try file.children(of: "/").first?.kind, .group)
    XCTAssertEqual(try file.kind(of: "/g/f32"), .dataset)
    XCTAssertEqual(try file.typeName(of: "/g/f64"), "float64")
    XCTAssertTrue(try file.exists("/g/f32"))
    XCTAssertFalse(try file.exists("/g/nope/deeper"))
  }

  func testErrorsNameTheFileAndObject() throws {
    let p = path("b.h5")
    try writeSample(p)
    let file = try HDF5File.open(path: p)
    XCTAssertThrowsError(try file.read("/g/f32", as: Double.self)) { error in
      XCTAssertEqual(error as? HDF5Error, .typeMismatch(file: p, object: "/g/f32", expected: "float64", found: "float32"))
    }
    XCTAssertThrowsError(try file.read("/missing", as: Float.self)) {
      XCTAssertEqual($0 as? HDF5Error, .notFound(file: p, object: "/missing"))
    }
    XCTAssertThrowsError(try file.attribute("nope")) { XCTAssertTrue("\($0)".contains("attribute nope"), "\($0)") }
    XCTAssertThrowsError(try file.write("/x", [1, 2, 3] as [Float], shape: [2])) {
      XCTAssertTrue("\($0)".contains("2 values for shape [2]"), "\($0)")
    }
    // A read-only file refuses writes with libhdf5's reason.
    XCTAssertThrowsError(try file.write("/x", [1] as [Float], shape: [1])) { error in
      guard case .callFailed(let f, let object, _, _)? = error as? HDF5Error else { return XCTFail("\(error)") }
      XCTAssertEqual(f, p)
      XCTAssertEqual(object, "/x")
    }
    let text = path("not.h5")
    try "hello".write(toFile: text, atomically: true, encoding: .utf8)
    XCTAssertThrowsError(try HDF5File.open(path: text)) { XCTAssertTrue("\($0)".contains("expected an HDF5 file"), "\($0)") }
    XCTAssertThrowsError(try HDF5File.open(path: path("absent.h5"))) { XCTAssertTrue("\($0)".contains("absent.h5"), "\($0)") }
  }

  func testFletcher32DetectsDamage() throws {
    let p = path("c.h5")
    let file = try HDF5File.create(path: p)
    let values = (0..<1000).map { Float($0) * 0.5 + 1000 }
    try file.write("/w", values, shape: [1000], fletcher32: true)
    try file.close()
    var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: p)))
    // Find the stored data (the first four floats) and flip a byte inside it.
    let needle = values.prefix(4).flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
    let offset = try XCTUnwrap((0...(bytes.count - needle.count)).first { Array(bytes[$0..<($0 + needle.count)]) == needle })
    bytes[offset + 2] ^= 0xFF
    try Data(bytes).write(to: URL(fileURLWithPath: p))
    XCTAssertThrowsError(try HDF5File.open(path: p).read("/w", as: Float.self)) { error in
      XCTAssertTrue("\(error)".contains("/w"), "\(error)")
    }
  }

  func testSameContentSameBytesAndNoHandleLeaks() throws {
    try writeSample(path("one.h5"))
    // Write again in a later second of the wall clock: a timestamp, if any were written, would differ.
    let second = Int(Date().timeIntervalSince1970)
    while Int(Date().timeIntervalSince1970) == second { usleep(10_000) }
    try writeSample(path("two.h5"))
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("one.h5"))), try Data(contentsOf: URL(fileURLWithPath: path("two.h5"))))
    let before = HDF5Library.openObjectCount
    for i in 0..<300 {
      let file = try HDF5File.open(path: path(i % 2 == 0 ? "one.h5" : "two.h5"))
      _ = try file.read("/g/f32", as: Float.self)
      _ = try file.attribute("format")
      _ = try file.children(of: "/g")
      _ = try? file.read("/missing", as: Float.self)
      try file.close()
    }
    XCTAssertEqual(HDF5Library.openObjectCount, before)
    XCTAssertEqual(before, 0)
  }

  /// Oracle: the fuzzer's find (`Fixtures/fuzz/hdf5-matrix/crash-local-heap.h5`), on which
  /// libhdf5 1.10.8 crashes in-process; the isolated child must take the crash.
  func testAFileLibHDF5CrashesOnIsAnErrorNamingIt() throws {
    let crash = Fixture.path("fuzz/hdf5-matrix/crash-local-heap.h5")
    XCTAssertThrowsError(try HDF5File.open(path: crash).readValues("/matrix")) { error in
      XCTAssertTrue("\(error)".contains("\(crash): /: read the file failed: libhdf5 crashed on it"), "\(error)")
    }
  }

  /// A 10^7 x 10^7 float dataset never written (h5py, fill value only): refused before any
  /// allocation, with the shape in the message.
  func testADatasetLargerThanItsFileCanHoldIsRefused() throws {
    let file = try HDF5File.open(path: Fixture.path("fuzz/hdf5-matrix/crash-huge-unwritten.h5"))
    XCTAssertThrowsError(try file.readValues("/matrix")) { error in
      XCTAssertTrue("\(error)".contains("found shape [10000000, 10000000] of"), "\(error)")
    }
    XCTAssertThrowsError(try file.read("/matrix", as: Float.self))
  }
}
