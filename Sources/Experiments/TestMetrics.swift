import Analysis
import Datasets
import Models

/// A model's figures on the test set.
public struct TestMetrics: Codable {
  public var testMSE: Double?
  public var testAccuracy: Double?
  public var confusionMatrix: [[Int]]?
  public var classNames: [String]?

  enum CodingKeys: String, CodingKey {
    case testMSE = "test_mse"
    case testAccuracy = "test_accuracy"
    case confusionMatrix = "confusion_matrix"
    case classNames = "class_names"
  }

  public static func measure(_ model: any TrainableModel, on test: LabeledTensor) throws -> TestMetrics {
    if let predicted = try model.predictedClasses(test.inputs) {
      let confusion = try ConfusionMatrix(classNames: FashionMNIST.classNames, truth: test.labels, predicted: predicted)
      return TestMetrics(
        testAccuracy: confusion.accuracy, confusionMatrix: confusion.counts, classNames: FashionMNIST.classNames)
    }
    return TestMetrics(testMSE: try Evaluation.run(model, on: test).loss)
  }

  public func summary(kind: ModelKind) -> String {
    switch kind {
    case .autoencoder:
      return "autoencoder: test MSE \(format(testMSE ?? .nan)) (seed report: \(SeedReport.autoencoderTestMSE.written))"
    case .vae:
      return "vae: test MSE of the decoded mean \(format(testMSE ?? .nan)) (seed report: \(SeedReport.vaeTestMSE.written))"
    case .classifier:
      return "classifier: test accuracy \(format((testAccuracy ?? .nan) * 100, 1))% (seed report: \(SeedReport.classifierTestAccuracy.written))"
    }
  }

  public static func table(_ matrix: [[Int]]) -> String {
    var lines = ["confusion matrix (rows: true class, columns: predicted):"]
    for (i, row) in matrix.enumerated() {
      lines.append("  " + FashionMNIST.classNames[i].padding(toLength: 12, withPad: " ", startingAt: 0)
        + row.map { String($0).leftPadded(5) }.joined())
    }
    return lines.joined(separator: "\n")
  }
}
