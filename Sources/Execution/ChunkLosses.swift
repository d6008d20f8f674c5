import NN
import TensorCore

/// The mean squared error against targets, as a plan's loss: each chunk's squared errors
/// summed in `Double` (`MSELoss.squaredErrorSum`), with the gradient of the whole batch's mean.
/// The batch's loss is the plan's `lossSum` times `scale`.
public struct SquaredErrorChunks: ChunkLoss {
  /// The targets, `[N, width]` row-major (the input images, for an autoencoder).
  public let targets: Tensor
  /// Scalars per row.
  public let width: Int
  /// `1 / (N · width)`: the mean over the whole batch.
  public let scale: Double

  public init(targets: Tensor) {
    self.targets = targets
    width = targets.shape.dropFirst().reduce(1, *)
    scale = 1 / Double(max(1, targets.count))
  }

  public func share(rows: Range<Int>, output: UnsafePointer<Float>, gradient: UnsafeMutablePointer<Float>) -> LossShare {
    targets.withUnsafeBufferPointer { t in
      LossShare(
        sum: MSELoss.squaredErrorSum(
          output, t.baseAddress! + rows.lowerBound * width, count: rows.count * width, scale: scale, gradient: gradient))
    }
  }
}

/// The cross-entropy of logits against labels, as a plan's loss
/// (`CrossEntropyLoss.negativeLogLikelihoodSum` per chunk), counting correct predictions
/// (the first largest logit, as `argmax`). The batch's loss is the plan's `lossSum` times
/// `scale`.
public struct CrossEntropyChunks: ChunkLoss {
  /// One label per row, each in `0..<classes` (checked by `init`).
  public let labels: [Int32]
  public let classes: Int
  /// `1 / N`.
  public let scale: Double

  /// - Throws: `LossError.labelOutOfRange` for a label outside `0..<classes`.
  public init(labels: [Int32], classes: Int) throws {
    if let bad = labels.first(where: { $0 < 0 || Int($0) >= classes }) {
      throw LossError.labelOutOfRange(loss: "CrossEntropyLoss", label: Int(bad), classes: classes)
    }
    self.labels = labels
    self.classes = classes
    scale = 1 / Double(max(1, labels.count))
  }

  public func share(rows: Range<Int>, output: UnsafePointer<Float>, gradient: UnsafeMutablePointer<Float>) -> LossShare {
    labels.withUnsafeBufferPointer { l in
      let sum = CrossEntropyLoss.negativeLogLikelihoodSum(
        output, labels: l.baseAddress! + rows.lowerBound, rows: rows.count, classes: classes, scale: scale,
        gradient: gradient)
      var correct = 0
      for r in 0..<rows.count {
        let z = output + r * classes
        var best = 0
        for j in 1..<max(classes, 1) where z[j] > z[best] { best = j }
        if best == Int(l[rows.lowerBound + r]) { correct += 1 }
      }
      return LossShare(sum: sum, correct: correct)
    }
  }
}
