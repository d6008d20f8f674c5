import Datasets
import TensorCore

/// Inputs (any shape `[N, ...]`) with their labels: what the trainer iterates over.
public struct LabeledTensor: Sendable {
  public var inputs: Tensor
  public var labels: [Int32]

  public init(inputs: Tensor, labels: [Int32]) {
    precondition(inputs.shape.first == labels.count, "LabeledTensor: \(inputs.shape) inputs for \(labels.count) labels")
    self.inputs = inputs
    self.labels = labels
  }

  public init(_ images: LabeledImages) { self.init(inputs: images.images, labels: images.labels) }

  public var count: Int { labels.count }

  /// Copies the rows at `indices` into `batch` (reusing its storage when the size is
  /// unchanged) and their labels into `batchLabels`.
  public func gather(_ indices: ArraySlice<Int>, into batch: inout Tensor, labels batchLabels: inout [Int32]) {
    let row = inputs.shape.dropFirst().reduce(1, *)
    let shape = [indices.count] + inputs.shape.dropFirst()
    if batch.shape != shape { batch = Tensor.zeros(shape) }
    batchLabels.removeAll(keepingCapacity: true)
    inputs.withUnsafeBufferPointer { src in
      batch.withUnsafeMutableBufferPointer { dst in
        for (r, i) in indices.enumerated() {
          (dst.baseAddress! + r * row).update(from: src.baseAddress! + i * row, count: row)
          batchLabels.append(labels[i])
        }
      }
    }
  }

  /// The rows at `indices`.
  public func subset(_ indices: [Int]) -> LabeledTensor {
    var batch = Tensor.zeros([0])
    var batchLabels: [Int32] = []
    gather(indices[...], into: &batch, labels: &batchLabels)
    return LabeledTensor(inputs: batch, labels: batchLabels)
  }

  /// A seeded split into training and validation parts (`validationFraction` of the rows,
  /// rounded, drawn by a permutation from `generator`).
  public func split(validationFraction: Double, generator: inout SeededGenerator) -> (train: LabeledTensor, validation: LabeledTensor?) {
    let held = Int((Double(count) * validationFraction).rounded())
    guard held > 0 else { return (self, nil) }
    let order = generator.permutation(count)
    return (subset(Array(order[held...]).sorted()), subset(Array(order[..<held]).sorted()))
  }
}
