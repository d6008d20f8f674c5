import Datasets
import Foundation
import TensorCore
import TestSupport
import XCTest

final class FashionMNISTTests: XCTestCase {
  let tiny = Fixture.path("idx/tiny")

  func testLoadsTheTinySetWithScaledPixels() throws {
    let train = try FashionMNIST.load(.train, directory: tiny, expectedChecksums: nil)
    XCTAssertEqual(train.images.shape, [12, 1, 28, 28])
    XCTAssertEqual(train.labels, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1])
    // The generator sets the first four pixels of image 0 to 0, 1, 128, 255.
    XCTAssertEqual(Array(train.images.scalars[0..<4]), [0, Float(1) / 255, Float(128) / 255, 1])
    XCTAssertTrue(train.images.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
    XCTAssertEqual(train.classCounts(classes: 10), [2, 2, 1, 1, 1, 1, 1, 1, 1, 1])
    // Test split is stored raw (not gzip) in the fixture.
    let test = try FashionMNIST.load(.test, directory: tiny, expectedChecksums: nil)
    XCTAssertEqual(test.count, 6)
    let raw = try IDXReader.read(path: Fixture.path("idx/tiny/t10k-images-idx3-ubyte"))
    XCTAssertEqual(test.images.scalars, raw.payload.map { Float($0) / 255 })
    XCTAssertEqual(test.checksums["t10k-images-idx3-ubyte"], raw.sha256)
  }

  func testChecksumMismatchNamesFileExpectedAndFound() throws {
    let wrong = String(repeating: "0", count: 64)
    XCTAssertThrowsError(
      try FashionMNIST.load(.test, directory: tiny, expectedChecksums: ["t10k-images-idx3-ubyte": wrong])
    ) { error in
      guard case .checksumMismatch(let path, let expected, let found)? = error as? DatasetError else {
        return XCTFail("expected a checksum mismatch, got \(error)")
      }
      XCTAssertEqual(path, Fixture.path("idx/tiny/t10k-images-idx3-ubyte"))
      XCTAssertEqual(expected, wrong)
      XCTAssertEqual(found.count, 64)
      XCTAssertTrue("\(error)".contains(wrong))
    }
    // The published checksums reject the tiny set.
    XCTAssertThrowsError(try FashionMNIST.load(.test, directory: tiny)) { error in
      XCTAssertTrue(error is DatasetError, "\(error)")
    }
  }

  func testCountMismatchOutOfRangeLabelsBadMagicAndMissingFiles() {
    let mismatch = Fixture.path("idx/count-mismatch")
    XCTAssertThrowsError(try FashionMNIST.load(.test, directory: mismatch, expectedChecksums: nil)) { error in
      XCTAssertEqual(
        error as? DatasetError,
        .countMismatch(
          imagesPath: mismatch + "/t10k-images-idx3-ubyte", images: 6,
          labelsPath: mismatch + "/t10k-labels-idx1-ubyte", labels: 5))
    }
    let range = Fixture.path("idx/label-out-of-range")
    XCTAssertThrowsError(try FashionMNIST.load(.test, directory: range, expectedChecksums: nil)) { error in
      XCTAssertEqual(
        error as? DatasetError, .labelOutOfRange(path: range + "/t10k-labels-idx1-ubyte", index: 2, value: 10, classes: 10))
    }
    let badMagic = Fixture.path("idx/bad-magic-set")
    XCTAssertThrowsError(try FashionMNIST.load(.train, directory: badMagic, expectedChecksums: nil)) { error in
      guard case .badMagic(let path, _)? = error as? IDXError else { return XCTFail("\(error)") }
      XCTAssertEqual(path, badMagic + "/train-images-idx3-ubyte")
    }
    let empty = Fixture.path("idx/types")
    XCTAssertThrowsError(try FashionMNIST.load(.train, directory: empty)) { error in
      let raw = empty + "/train-images-idx3-ubyte"
      XCTAssertEqual(error as? IDXError, .fileNotFound(path: raw, alternatives: [raw, raw + ".gz"]))
      XCTAssertTrue("\(error)".contains(".gz"))
    }
  }

  func testDirectoryPrecedenceFlagThenEnvironmentThenDefault() {
    XCTAssertEqual(FashionMNIST.directory(explicit: "/a", environment: ["LATENTLAB_DATA": "/b"]), "/a")
    XCTAssertEqual(FashionMNIST.directory(explicit: nil, environment: ["LATENTLAB_DATA": "/b"]), "/b")
    XCTAssertEqual(FashionMNIST.directory(explicit: nil, environment: [:]), "/usr/share/datasets/fashion-mnist")
    XCTAssertEqual(FashionMNIST.classNames.count, 10)
  }

  /// The real test split from the system package, checked against the published checksums.
  func testRealTestSplitVerifies() throws {
    let directory = FashionMNIST.directory(explicit: nil)
    guard FileManager.default.fileExists(atPath: directory) else {
      throw XCTSkip("no Fashion-MNIST at \(directory) (make test installs dataset-fashion-mnist)")
    }
    let test = try FashionMNIST.load(.test, directory: directory)
    XCTAssertEqual(test.images.shape, [10_000, 1, 28, 28])
    XCTAssertEqual(test.classCounts(classes: 10), [Int](repeating: 1000, count: 10))
    XCTAssertEqual(test.checksums, [
      "t10k-images-idx3-ubyte": FashionMNIST.publishedChecksums["t10k-images-idx3-ubyte"]!,
      "t10k-labels-idx1-ubyte": FashionMNIST.publishedChecksums["t10k-labels-idx1-ubyte"]!,
    ])
    // The first test image is an ankle boot (label 9) in every copy of the data set.
    XCTAssertEqual(test.labels[0], 9)
  }
}
