import TensorCore

/// The mini-batches of one epoch: consecutive slices of an index order.
///
/// For a shuffled epoch, pass an order drawn from the `shuffle` stream
/// (`EpochOrder.shuffled`). The last batch is smaller when the count does not divide evenly,
/// unless `dropLast` drops it.
public struct MiniBatches: Sequence, Sendable {
  /// The indices in visiting order.
  public let order: [Int]
  /// The batch size.
  public let batchSize: Int
  /// Whether a final, smaller batch is left out.
  public let dropLast: Bool

  /// Batches of `batchSize` over `order`. - Precondition: `batchSize >= 1`.
  public init(order: [Int], batchSize: Int, dropLast: Bool = false) {
    precondition(batchSize >= 1, "MiniBatches: batch size must be at least 1, got \(batchSize)")
    self.order = order
    self.batchSize = batchSize
    self.dropLast = dropLast
  }

  /// The number of batches.
  public var count: Int {
    dropLast ? order.count / batchSize : (order.count + batchSize - 1) / batchSize
  }

  public func makeIterator() -> Iterator { Iterator(batches: self) }

  /// Yields each batch's indices as a slice of `order`.
  public struct Iterator: IteratorProtocol {
    let batches: MiniBatches
    var position = 0

    public mutating func next() -> ArraySlice<Int>? {
      guard position < batches.count else { return nil }
      let start = position * batches.batchSize
      let end = Swift.min(start + batches.batchSize, batches.order.count)
      position += 1
      return batches.order[start..<end]
    }
  }
}

/// The order in which an epoch visits a set of indices.
public enum EpochOrder {
  /// `indices` shuffled by Fisher–Yates with `generator` (the `shuffle` stream).
  public static func shuffled(_ indices: [Int], generator: inout SeededGenerator) -> [Int] {
    var order = indices
    generator.shuffle(&order)
    return order
  }
}

extension LabeledImages {
  /// Copies the images at `indices` into `batch` (reusing its storage when the batch size is
  /// unchanged, so a training loop allocates nothing per step) and their labels into `labels`.
  public func gather(_ indices: ArraySlice<Int>, into batch: inout Tensor, labels batchLabels: inout [Int32]) {
    let (_, c, h, w) = images.shape4
    let plane = c * h * w
    if batch.shape != [indices.count, c, h, w] { batch = Tensor.zeros([indices.count, c, h, w]) }
    batchLabels.removeAll(keepingCapacity: true)
    images.withUnsafeBufferPointer { src in
      batch.withUnsafeMutableBufferPointer { dst in
        for (row, i) in indices.enumerated() {
          precondition(i >= 0 && i < count, "LabeledImages.gather: index \(i) out of 0..<\(count)")
          (dst.baseAddress! + row * plane).update(from: src.baseAddress! + i * plane, count: plane)
          batchLabels.append(labels[i])
        }
      }
    }
  }
}
