import Foundation
import TensorCore

/// A problem with a data set beyond the file format: what the files hold, or how they agree.
public enum DatasetError: Error, CustomStringConvertible, Equatable {
  /// A file's SHA-256 is not the published one.
  case checksumMismatch(path: String, expected: String, found: String)
  /// An IDX file holds another element type or shape than the data set's.
  case unexpectedLayout(path: String, expected: String, found: String)
  /// Images and labels differ in count.
  case countMismatch(imagesPath: String, images: Int, labelsPath: String, labels: Int)
  /// A label lies outside the class range.
  case labelOutOfRange(path: String, index: Int, value: Int, classes: Int)

  public var description: String {
    switch self {
    case .checksumMismatch(let path, let expected, let found):
      return "\(path): SHA-256 of the decompressed file is \(found), expected \(expected)"
        + " (a damaged or different copy of the data set)"
    case .unexpectedLayout(let path, let expected, let found):
      return "\(path): expected \(expected), found \(found)"
    case .countMismatch(let imagesPath, let images, let labelsPath, let labels):
      return "\(labelsPath): holds \(labels) labels, but \(imagesPath) holds \(images) images"
        + " (expected one label per image)"
    case .labelOutOfRange(let path, let index, let value, let classes):
      return "\(path): label \(index) is \(value), expected a class in 0...\(classes - 1)"
    }
  }
}

/// Images with their class labels, as loaded from a data set.
public struct LabeledImages: Sendable {
  /// `[N, 1, H, W]`, pixels scaled to [0, 1] (byte / 255, as torchvision's `ToTensor`).
  public var images: Tensor
  /// One class index per image.
  public var labels: [Int32]
  /// The SHA-256 of each decompressed file, by file name (without `.gz`).
  public var checksums: [String: String]

  /// The number of images.
  public var count: Int { labels.count }

  /// The number of images of each class, indexed by class.
  public func classCounts(classes: Int) -> [Int] {
    var counts = [Int](repeating: 0, count: classes)
    for l in labels where Int(l) < classes { counts[Int(l)] += 1 }
    return counts
  }

  /// The images and labels at `indices`, in that order.
  public func subset(_ indices: [Int]) -> LabeledImages {
    let (_, c, h, w) = images.shape4
    let plane = c * h * w
    var out = Tensor.zeros([indices.count, c, h, w])
    images.withUnsafeBufferPointer { src in
      out.withUnsafeMutableBufferPointer { dst in
        for (row, i) in indices.enumerated() {
          precondition(i >= 0 && i < count, "LabeledImages.subset: index \(i) out of 0..<\(count)")
          (dst.baseAddress! + row * plane).update(from: src.baseAddress! + i * plane, count: plane)
        }
      }
    }
    return LabeledImages(images: out, labels: indices.map { labels[$0] }, checksums: checksums)
  }
}

/// Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017): 70,000 grey 28×28 images of clothes in ten
/// classes, 60,000 for training and 10,000 for testing, in IDX files.
public enum FashionMNIST {
  /// The ten class names, by label.
  public static let classNames = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
  ]

  /// Where Debian's `dataset-fashion-mnist` package installs the files.
  public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"

  /// The environment variable that overrides the default directory.
  public static let environmentVariable = "LATENTLAB_DATA"

  /// Image side, in pixels.
  public static let side = 28

  /// The SHA-256 of each decompressed file of the published data set.
  public static let publishedChecksums: [String: String] = [
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
  ]

  /// The two splits of the data set.
  public enum Split: String, CaseIterable, Sendable {
    case train
    case test

    /// The file name (without `.gz`) of the images.
    public var imagesFile: String { self == .train ? "train-images-idx3-ubyte" : "t10k-images-idx3-ubyte" }
    /// The file name (without `.gz`) of the labels.
    public var labelsFile: String { self == .train ? "train-labels-idx1-ubyte" : "t10k-labels-idx1-ubyte" }
  }

  /// The data directory: `explicit` (the `--data` flag) if given, else `$LATENTLAB_DATA`, else
  /// the Debian default.
  public static func directory(explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
    if let explicit, !explicit.isEmpty { return explicit }
    if let env = environment[environmentVariable], !env.isEmpty { return env }
    return defaultDirectory
  }

  /// The path of a data file in `directory`: the raw file if present, else its `.gz`.
  /// - Throws: `IDXError.fileNotFound` naming both paths tried.
  public static func locate(_ name: String, in directory: String) throws -> String {
    let raw = (directory as NSString).appendingPathComponent(name)
    let gz = raw + ".gz"
    let fm = FileManager.default
    if fm.fileExists(atPath: raw) { return raw }
    if fm.fileExists(atPath: gz) { return gz }
    throw IDXError.fileNotFound(path: raw, alternatives: [raw, gz])
  }

  /// Loads one split.
  ///
  /// Images stream from the (possibly gzip-compressed) file straight into the float tensor, so
  /// the peak memory is the tensor plus fixed buffers. Each decompressed file's SHA-256 is
  /// checked against `expectedChecksums` (the published values by default; pass `nil` to skip
  /// the check, for data sets built for tests).
  ///
  /// - Throws: `IDXError` for a missing or malformed file; `DatasetError` for a checksum
  ///   mismatch, a layout other than `[N, 28, 28]` uint8 images and `[N]` uint8 labels, counts
  ///   that differ, or a label outside 0...9.
  public static func load(
    _ split: Split, directory: String,
    expectedChecksums: [String: String]? = publishedChecksums
  ) throws -> LabeledImages {
    let imagesPath = try locate(split.imagesFile, in: directory)
    let labelsPath = try locate(split.labelsFile, in: directory)

    // Labels first: they are small, and a count mismatch is found before decoding images.
    let labelsIDX = try IDXReader.read(path: labelsPath)
    guard labelsIDX.elementType == .uint8, labelsIDX.dimensions.count == 1 else {
      throw DatasetError.unexpectedLayout(
        path: labelsPath, expected: "labels of shape [N] and type uint8",
        found: "shape \(labelsIDX.dimensions) of type \(labelsIDX.elementType)")
    }
    let imagesHeader = try IDXReader.readHeader(path: imagesPath)
    guard imagesHeader.elementType == .uint8, imagesHeader.dimensions.count == 3,
      imagesHeader.dimensions[1] == side, imagesHeader.dimensions[2] == side
    else {
      throw DatasetError.unexpectedLayout(
        path: imagesPath, expected: "images of shape [N, 28, 28] and type uint8",
        found: "shape \(imagesHeader.dimensions) of type \(imagesHeader.elementType)")
    }
    guard imagesHeader.dimensions[0] == labelsIDX.dimensions[0] else {
      throw DatasetError.countMismatch(
        imagesPath: imagesPath, images: imagesHeader.dimensions[0],
        labelsPath: labelsPath, labels: labelsIDX.dimensions[0])
    }
    let n = imagesHeader.dimensions[0]
    var labels = [Int32](repeating: 0, count: n)
    for (i, b) in labelsIDX.payload.enumerated() {
      guard b < classNames.count else {
        throw DatasetError.labelOutOfRange(path: labelsPath, index: i, value: Int(b), classes: classNames.count)
      }
      labels[i] = Int32(b)
    }

    let scale = (0..<256).map { Float($0) / 255 }
    var imagesSHA = ""
    var written = 0
    let images = try Tensor(shape: [n, 1, side, side]) { dst in
      try scale.withUnsafeBufferPointer { table in
        imagesSHA = try IDXReader.stream(path: imagesPath, begin: { _ in }) { chunk, offset in
          let out = dst.baseAddress! + offset
          let bytes = chunk.bindMemory(to: UInt8.self)
          for i in 0..<bytes.count { out[i] = table[Int(bytes[i])] }
          written = offset + bytes.count
        }.sha256
      }
      precondition(written == dst.count, "FashionMNIST: the reader checks the payload size")
    }

    let checksums = [split.imagesFile: imagesSHA, split.labelsFile: labelsIDX.sha256]
    if let expectedChecksums {
      for (name, path) in [(split.imagesFile, imagesPath), (split.labelsFile, labelsPath)] {
        if let expected = expectedChecksums[name], expected != checksums[name] {
          throw DatasetError.checksumMismatch(path: path, expected: expected, found: checksums[name]!)
        }
      }
    }
    return LabeledImages(images: images, labels: labels, checksums: checksums)
  }
}
