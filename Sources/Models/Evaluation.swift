import Datasets
import TensorCore

/// Metrics of a model on a data set.
public struct EvaluationResult: Codable, Equatable, Sendable {
  /// The mean loss per item.
  public var loss: Double
  /// The fraction classified correctly (classifiers only).
  public var accuracy: Double?
  public var count: Int
}

/// Evaluation over a whole data set in batches.
public enum Evaluation {
  /// The item-weighted mean loss (and accuracy) of `model` on `data`.
  public static func run(_ model: any TrainableModel, on data: LabeledTensor, batchSize: Int = 1000) throws -> EvaluationResult {
    var batch = Tensor.zeros([0])
    var labels: [Int32] = []
    var lossSum = 0.0
    var correct = 0
    var hasAccuracy = false
    for indices in MiniBatches(order: Array(0..<data.count), batchSize: batchSize) {
      data.gather(indices, into: &batch, labels: &labels)
      let result = try model.evaluationStep(inputs: batch, labels: labels)
      lossSum += result.loss * Double(result.count)
      if let c = result.correct {
        correct += c
        hasAccuracy = true
      }
    }
    let n = Double(max(data.count, 1))
    return EvaluationResult(loss: lossSum / n, accuracy: hasAccuracy ? Double(correct) / n : nil, count: data.count)
  }
}
